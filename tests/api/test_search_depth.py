"""A search whose reranker has learned nothing finds no more memories than it returns: the
feature ranker's shorter lists start its longer ones, and a memory that is no longer current
gives its place to the next."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from memstrata import Memory
from memstrata.read.candidates import Candidates
from memstrata.read.engine import gather, score
from memstrata.read.features import DEFAULT_WEIGHTS
from memstrata.types import Filters, Scope

U = {"user_id": "u"}


def ids(mem: Memory, query: str, limit: int) -> list[str]:
    return [hit.id for hit in mem.search(query, limit=limit, **U).hits]


def test_a_shorter_search_is_the_start_of_a_longer_one(tmp_path: Path) -> None:
    with Memory(tmp_path / "m.db", embedder="hashing") as mem:
        # Memories that score alike: the same words, each alone in a session of its own.
        for i in range(12):
            end = ".!?"[i % 3]
            message = {"speaker": "Ana", "text": f"Tea in the garden{end}"}
            mem.add({**message, "metadata": {"session": f"s{i}"}}, **U)
        mem.add([f"note {i} about the tea we had" for i in range(30)], **U)
        longest = ids(mem, "tea in the garden", 50)
        assert len(longest) == 42
        for limit in range(1, 43):
            assert ids(mem, "tea in the garden", limit) == longest[:limit]


def test_a_memory_no_longer_current_gives_its_place_to_the_next(tmp_path: Path) -> None:
    with Memory(tmp_path / "m.db", embedder="hashing") as mem:
        mem.add([f"a walk in the park, day {i}" for i in range(8)], **U)
        before = ids(mem, "walk in the park", 5)
        # The best is retired: believed until a moment ago, though valid for a while yet.
        scope, now = Scope(**U), mem.clock.now()
        best = mem.store.get(scope, before[0])
        retired = replace(best, valid_to=now + timedelta(days=1), expired_at=now)
        mem.store.update(scope, retired, at=now, expected_version=best.version, op="INVALIDATE")
        after = ids(mem, "walk in the park", 5)
        assert len(after) == 5 and before[0] not in after
        assert after == ids(mem, "walk in the park", 50)[:5]


def test_a_memory_gone_before_its_record_is_read_gives_its_place_to_the_next(
    tmp_path: Path,
) -> None:
    with Memory(tmp_path / "m.db", embedder="hashing") as mem:
        mem.add([f"a walk in the park, day {i}" for i in range(8)], **U)
        scope, now, question = Scope(**U), mem.clock.now(), "walk in the park"
        assert mem.embedder is not None
        vector = mem.embedder.embed([question], kind="query")[0]
        active = Filters(states=("active",))
        # The same candidates twice: one ranked now, one after the best is deleted (between
        # gathering the candidates and reading the records of the best).
        now_, later = (gather(mem.store, vector, scope, question, active, now)[0] for _ in "ab")
        assert now_ is not None and later is not None

        def ranked(found: Candidates) -> list[str]:
            hits = score(found, question, vector, now, limit=5, weights=DEFAULT_WEIGHTS,
                         alpha=0.0, budget=None)  # fmt: skip
            return [hit.id for hit in hits]

        before = ranked(now_)
        mem.delete(before[0], **U)
        after = ranked(later)
        assert len(after) == 5 and before[0] not in after and after[:4] == before[1:]
