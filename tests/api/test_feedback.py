"""Feedback, the learned reranker and maintenance through the public API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memstrata import InvalidInputError, Memory, NotFoundError
from memstrata.ports import FixedClock


def test_feedback_strengthens_used_memories_and_promotes_them(mem: Memory) -> None:
    mem.add(["my cat is called Pixel", "my dog is called Rex", "cats sleep a lot"], user_id="ada")
    result = mem.search("cat", user_id="ada")
    pixel = next(h for h in result if "Pixel" in h.text)
    before = mem.get(pixel.id, user_id="ada")
    outcome = mem.feedback(result.search_id, used=[pixel.id], user_id="ada")
    assert outcome.used == 1 and outcome.unused == len(result) - 1
    after = mem.get(pixel.id, user_id="ada")
    assert after.recall_count == 1 and after.strength > before.strength
    assert after.version == before.version  # bookkeeping, not a new version
    for _ in range(3):
        again = mem.search("cat", user_id="ada")
        mem.feedback(again.search_id, used=[pixel.id], user_id="ada")
    assert mem.get(pixel.id, user_id="ada").layer == "mid"


def test_feedback_teaches_the_reranker(mem: Memory) -> None:
    mem.add(["alpha beta beta beta", "alpha gamma"], user_id="ada")
    first = mem.search("alpha beta", user_id="ada", limit=2)
    wanted = next(h.id for h in first if "gamma" in h.text)
    assert first[0].id != wanted
    for _ in range(30):
        result = mem.search("alpha beta", user_id="ada", limit=2)
        mem.feedback(result.search_id, used=[wanted], user_id="ada")
    assert mem.search("alpha beta", user_id="ada", limit=2)[0].id == wanted


def test_feedback_checks_its_input_and_scope(mem: Memory) -> None:
    mem.add("something", user_id="ada")
    result = mem.search("something", user_id="ada")
    with pytest.raises(InvalidInputError, match="not returned"):
        mem.feedback(result.search_id, used=["made-up-id"], user_id="ada")
    with pytest.raises(NotFoundError):
        mem.feedback(result.search_id, used=[result[0].id], user_id="bob")
    with pytest.raises(NotFoundError):
        mem.feedback("no-such-search", used=[], user_id="ada")


def test_maintain_archives_faded_memories_and_restore_brings_them_back(db_path: Path) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    clock = FixedClock(t0)
    with Memory(db_path, embedder="hashing", clock=clock) as mem:
        old = mem.add("an old passing remark", user_id="ada").added[0]
        clock.at = t0 + timedelta(days=400)
        fresh = mem.add("a fresh remark", user_id="ada").added[0]
        assert mem.maintain(user_id="ada", dry_run=True) == [old.id]
        assert mem.get(old.id, user_id="ada").state == "active"
        assert mem.maintain(user_id="ada") == [old.id]
        assert mem.get(old.id, user_id="ada").state == "archived"
        assert [h.id for h in mem.search("remark", user_id="ada")] == [fresh.id]
        assert mem.search("remark", user_id="ada", states=["archived"])[0].id == old.id
        mem.restore(old.id, user_id="ada")
        assert {h.id for h in mem.search("remark", user_id="ada")} == {old.id, fresh.id}
