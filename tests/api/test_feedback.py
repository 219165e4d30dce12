"""Feedback, the learned reranker and maintenance through the public API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memstrata import InvalidInputError, Memory, NotFoundError
from memstrata.ports import FixedClock
from memstrata.read.learning import setting_keys
from memstrata.types import Scope

NOTES = [
    "Ada's cat sleeps on the piano all afternoon.",
    "Ada adopted a grey cat from the shelter last spring.",
    "The cat food Ada buys comes from the corner shop.",
    "Ada thinks cats are better company than dogs.",
    "Ada's neighbour also has a cat, a ginger one.",
    "Ada moved to Lisbon in May and loves the light there.",
    "Ada's flat in Lisbon looks over the river.",
    "Ada works as a nurse at the hospital.",
    "Ada plays chess on Sunday mornings.",
    "Ada's brother lives in Porto.",
    "She answers to Mochi, after the rice cake.",
]
ASKED = "what is the name of Ada's cat"
PARAPHRASE = "what is Ada's cat called"
UNRELATED = "where does Ada live"


def ids(mem: Memory, query: str) -> list[str]:
    return [h.id for h in mem.search(query, user_id="ada")]


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


def test_feedback_lifts_a_memory_for_its_question_and_paraphrases_only(db_path: Path) -> None:
    with Memory(db_path, embedder="minilm") as mem:
        mem.add([{"speaker": "Ada", "text": t} for t in NOTES], user_id="ada")
        target = ids(mem, ASKED)[6]  # seventh for the question feedback comes from
        before = {q: ids(mem, q) for q in (PARAPHRASE, UNRELATED)}
        assert before[PARAPHRASE].index(target) > 0 and target in before[UNRELATED]
        for _ in range(15):
            result = mem.search(ASKED, user_id="ada")
            mem.feedback(result.search_id, used=[target], user_id="ada")
        assert ids(mem, ASKED)[0] == target
        assert ids(mem, PARAPHRASE)[0] == target
        assert ids(mem, UNRELATED) == before[UNRELATED]  # an unrelated question: as it was


def test_without_an_embedder_feedback_lifts_a_memory_for_the_same_question_only(
    db_path: Path,
) -> None:
    with Memory(db_path, embedder=None) as mem:
        mem.add([{"speaker": "Ada", "text": t} for t in NOTES], user_id="ada")
        target = ids(mem, ASKED)[6]
        unrelated = ids(mem, UNRELATED)
        for _ in range(15):
            result = mem.search(ASKED, user_id="ada")
            mem.feedback(result.search_id, used=[target], user_id="ada")
        assert ids(mem, "What is the name of Ada's cat?")[0] == target  # the same words
        assert ids(mem, UNRELATED) == unrelated


def test_a_model_saved_by_an_earlier_version_loads_and_no_longer_lifts_used_memories(
    mem: Memory,
) -> None:
    mem.add([{"speaker": "Ada", "text": t} for t in NOTES], user_id="ada")
    unrelated = ids(mem, UNRELATED)
    target = unrelated[-1]
    for _ in range(3):  # used often: its strength and recall count grow
        result = mem.search(ASKED, user_id="ada")
        mem.feedback(result.search_id, used=[target], user_id="ada")
    assert mem.get(target, user_id="ada").recall_count == 3
    # What the earlier reranker saved after learning that used memories win everywhere.
    old = {"weights": {"fused": 0.9, "kind_episode": 0.0, "importance": 0.0, "retention": 2.0,
                       "used_before": 5.0}, "updates": 120}  # fmt: skip
    for key in setting_keys(Scope(user_id="ada")):
        mem.store.put_setting(key, json.dumps(old))
    assert ids(mem, UNRELATED) == unrelated
    result = mem.search(ASKED, user_id="ada")
    assert mem.feedback(result.search_id, used=[target], user_id="ada").pairs > 0


def test_a_search_is_kept_as_columns_of_its_hits_features(mem: Memory) -> None:
    mem.add([{"speaker": "Ada", "text": t} for t in NOTES], user_id="ada")
    result = mem.search(ASKED, user_id="ada", budget=4000)
    kept = mem.store.load_search(Scope(user_id="ada"), result.search_id)
    assert kept is not None and kept["query"] == ASKED
    assert kept["ids"] == [h.id for h in result]
    assert len(kept["values"]) == len(result) and "hits" not in kept
    assert all(len(row) == len(kept["names"]) for row in kept["values"])
    assert {"fused", "importance", "retention"} <= set(kept["names"])
    # Six significant digits: "0.999996" where Python writes "0.9999957782579857".
    assert all(v is None or len(repr(v)) <= 9 for row in kept["values"] for v in row)
    used = result.hits[-1].id
    assert mem.feedback(result.search_id, used=[used], user_id="ada").pairs == len(result) - 1


def test_feedback_reads_a_search_kept_as_an_earlier_version_kept_it(mem: Memory) -> None:
    mem.add([{"speaker": "Ada", "text": t} for t in NOTES], user_id="ada")
    found = mem.search(ASKED, user_id="ada")
    hits = [{"id": h.id, "features": {"fused": 1.0 / i, "kind_episode": 1.0, "importance": 0.5,
                                      "retention": 0.9999957782579857}}
            for i, h in enumerate(found, start=1)]  # fmt: skip
    at = datetime.now(UTC)
    mem.store.save_search(Scope(user_id="ada"), "earlier", at, {"query": ASKED, "hits": hits})
    outcome = mem.feedback("earlier", used=[found.hits[-1].id], user_id="ada")
    assert outcome.used == 1 and outcome.unused == len(found) - 1 and outcome.pairs > 0
    with pytest.raises(InvalidInputError):
        mem.feedback("earlier", used=["not-returned"], user_id="ada")


def test_searches_are_kept_as_long_as_asked_and_pruned_as_they_are_saved(db_path: Path) -> None:
    from memstrata.read.learning import PRUNE_SEARCHES_EVERY

    clock = FixedClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    ada = Scope(user_id="ada")
    with Memory(db_path, embedder="hashing", clock=clock, keep_searches=timedelta(days=2)) as mem:
        mem.add(NOTES, user_id="ada")
        first = mem.search(ASKED, user_id="ada").search_id
        clock.at += timedelta(days=1)
        second = mem.search(ASKED, user_id="ada").search_id
        clock.at += timedelta(days=1, hours=1)
        assert mem.store.load_search(ada, first) is not None  # nothing prunes in between
    # A Memory prunes on its first save, then every PRUNE_SEARCHES_EVERY saves.
    with Memory(db_path, embedder="hashing", clock=clock, keep_searches=timedelta(days=2)) as mem:
        third = mem.search(UNRELATED, user_id="ada").search_id
        assert mem.store.load_search(ada, first) is None
        assert mem.store.load_search(ada, second) is not None
        with pytest.raises(NotFoundError):
            mem.feedback(first, used=[], user_id="ada")
        clock.at += timedelta(days=2, minutes=1)
        for _ in range(PRUNE_SEARCHES_EVERY - 1):
            mem.search(UNRELATED, user_id="ada", limit=1)
        assert mem.store.load_search(ada, second) is not None
        mem.search(UNRELATED, user_id="ada", limit=1)
        assert mem.store.load_search(ada, second) is None
        assert mem.store.load_search(ada, third) is None


def test_a_memory_that_keeps_no_searches_says_why_feedback_cannot_refer_to_one(
    db_path: Path,
) -> None:
    with Memory(db_path, embedder="hashing", keep_searches=timedelta(0)) as mem:
        mem.add(NOTES, user_id="ada")
        result = mem.search(ASKED, user_id="ada")
        assert (
            len(result) > 0
            and mem.store.load_search(Scope(user_id="ada"), result.search_id) is None
        )
        with pytest.raises(NotFoundError, match="keep_searches"):
            mem.feedback(result.search_id, used=[result[0].id], user_id="ada")
    with pytest.raises(InvalidInputError, match="keep_searches"):
        Memory(db_path, embedder="hashing", keep_searches=timedelta(days=-1))


def test_the_setting_for_how_long_searches_are_kept(tmp_path: Path) -> None:
    from memstrata.errors import ConfigurationError
    from memstrata.settings import Settings

    env = {"MEMSTRATA_DB": str(tmp_path / "m.db")}
    assert Settings.from_env(env).keep_searches == timedelta(days=30)
    for text, kept in (
        ("12h", timedelta(hours=12)),
        ("0", timedelta(0)),
        ("2w", timedelta(days=14)),
    ):
        settings = Settings.from_env({**env, "MEMSTRATA_KEEP_SEARCHES": text})
        assert settings.keep_searches == kept
    with Memory.from_settings(settings, embedder="hashing") as mem:
        assert mem.keep_searches == timedelta(days=14)
    with pytest.raises(ConfigurationError, match="MEMSTRATA_KEEP_SEARCHES"):
        Settings.from_env({**env, "MEMSTRATA_KEEP_SEARCHES": "a month"})
