"""The pure parts of the scale, cold-start and load benchmarks: ids, distractors, figures."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from memstrata.embedders.hashing import HashingEmbedder
from memstrata.evals.chats import chat_messages, duplicate_share
from memstrata.evals.coldstart import medians, proc_status
from memstrata.evals.distractors import (
    compose,
    distractor_batches,
    first_names,
    other_batches,
    shift_years,
    take,
)
from memstrata.evals.embedcache import CachingEmbedder, text_key
from memstrata.evals.load import scope_batches, summary_ms
from memstrata.evals.locomo import load_locomo, unmatched_evidence
from memstrata.evals.machine import cpu_model
from memstrata.evals.metrics import QuestionOutcome, summarize
from memstrata.evals.runner import attainable_recall
from memstrata.evals.scale import categories, merge, prefixed, size_figures
from memstrata.evals.stores import recipe_key

TINY = Path(__file__).parents[1] / "fixtures" / "locomo_tiny.json"


# -- one scope for many conversations ---------------------------------------------------------


def test_merged_ids_are_prefixed_and_evidence_follows() -> None:
    convs = load_locomo(TINY)
    merged = merge(convs, scope="one")
    assert merged.sample_id == "one"
    ids = [t.id for t in merged.turns]
    assert len(ids) == len(set(ids)) == sum(len(c.turns) for c in convs)
    assert "tiny-1:D1:1" in ids and "tiny-2:D1:1" in ids
    by_question = {q.question: q.gold.evidence for q in merged.questions}
    assert by_question["What does Di bake?"] == ("tiny-2:D1:2", "tiny-2:D1:1")
    assert by_question["Would Ada enjoy gardening?"] == ()
    # A malformed entry stays malformed: it names no turn before or after.
    assert by_question["What did the kitten do to the tomatoes?"] == ("tiny-1:D1:1; D2:2",)
    assert len(unmatched_evidence([merged])) == len(unmatched_evidence(convs))
    assert attainable_recall([merged]) == attainable_recall(convs)
    assert [q.gold.category for q in merged.questions] == [
        q.gold.category for c in convs for q in c.questions
    ]
    assert categories(convs) == (1, 2, 3, 4, 5)


def test_merged_sessions_never_run_together() -> None:
    convs = load_locomo(TINY)  # both conversations start with session 1
    merged = merge(convs)
    sessions = {(t.id.split(":")[0], t.id.split(":")[1]): t.session for t in merged.turns}
    assert len(set(sessions.values())) == len(sessions) == 3
    assert prefixed("conv-26", "D3:5") == "conv-26:D3:5"


# -- synthetic chats ----------------------------------------------------------------------------


def test_chat_stream_is_deterministic_and_prefix_stable() -> None:
    first = chat_messages(3_000, seed=5, names=["Caroline"])
    assert first == chat_messages(3_000, seed=5, names=["Caroline"])
    longer = [m for s in chat_messages(5_000, seed=5, names=["Caroline"]) for m in s]
    assert [m for s in first for m in s] == longer[:3_000]
    assert chat_messages(200, seed=6) != chat_messages(200, seed=5)
    assert chat_messages(0) == []


def test_chats_are_varied_dated_and_grouped_in_sessions() -> None:
    sessions = chat_messages(20_000, seed=0, names=["Caroline", "Jon"])
    messages = [m for s in sessions for m in s]
    texts = [m.text for m in messages]
    assert len(messages) == 20_000
    assert duplicate_share(texts) < 0.03
    assert len({m.id for m in messages}) == len(messages)
    years = {m.timestamp.year for m in messages}
    assert min(years) == 2015 and max(years) == 2026 and len(years) == 12
    assert sum("[photo: " in t for t in texts) > 500
    assert sum(t.rstrip().endswith("?") for t in texts) > 1_000
    assert sum(bool(re.search(r"[\U0001F300-\U0001FAFF]", t)) for t in texts) > 1_000
    assert sum(t[:1].islower() for t in texts) > 1_000  # people type in lower case too
    speakers = [m.speaker for m in messages]
    assert 0.01 < speakers.count("Caroline") / len(speakers) < 0.2
    assert sum("Jon" in t for t in texts) > 50  # talked about, not only talking
    for session in sessions:
        assert len({m.speaker for m in session}) <= 2
        gaps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(session)]
        assert all(timedelta(0) < g <= timedelta(minutes=12) for g in gaps)
        assert len({m.session for m in session}) == 1


def test_duplicate_share_counts_repeats() -> None:
    assert duplicate_share(["a", "b", "a", "a"]) == 0.5
    assert duplicate_share([]) == 0.0


# -- distractors --------------------------------------------------------------------------------


def test_other_chats_move_by_whole_years_and_keep_speakers() -> None:
    convs = load_locomo(TINY)
    batches = other_batches(convs, seed=3)
    assert batches == other_batches(convs, seed=3)
    messages = [m for b in batches for m in b]
    assert len(messages) == sum(len(c.turns) for c in convs)
    assert messages[0]["id"] == "other:tiny-1:D1:1"
    originals = [t for c in convs for t in c.turns]
    assert [m["speaker"] for m in messages] == [t.speaker for t in originals]
    assert [m["text"] for m in messages] == [t.text for t in originals]
    for conv in convs:
        moved = [m for m in messages if m["id"].startswith(f"other:{conv.sample_id}:")]
        shift = moved[0]["timestamp"].year - conv.turns[0].timestamp.year
        assert 2015 <= moved[0]["timestamp"].year <= 2026
        for m, t in zip(moved, conv.turns, strict=True):
            assert m["timestamp"] == shift_years(t.timestamp, shift)
    assert [len(b) for b in batches] == [3, 3, 2]  # one batch per session


def test_shift_years_and_take() -> None:
    leap = datetime(2020, 2, 29, 9, 0, tzinfo=UTC)
    assert shift_years(leap, 1) == datetime(2021, 2, 28, 9, 0, tzinfo=UTC)
    assert shift_years(leap, 4) == datetime(2024, 2, 29, 9, 0, tzinfo=UTC)
    batches = [[{"id": 1}, {"id": 2}], [{"id": 3}, {"id": 4}]]
    assert take(batches, 3) == [[{"id": 1}, {"id": 2}], [{"id": 3}]]
    assert take(batches, 0) == []


def test_distractors_use_other_turns_first_then_synthetic() -> None:
    convs = load_locomo(TINY)  # 8 turns
    assert compose(5, 8).other_turns == 5 and compose(5, 8).synthetic == 0
    assert compose(100, 8).other_turns == 8 and compose(100, 8).synthetic == 92
    with pytest.raises(ValueError):
        compose(-1, 0)
    batches, composition = distractor_batches(100, convs, seed=1, names=["Ada"])
    ids = [m["id"] for b in batches for m in b]
    assert len(ids) == len(set(ids)) == composition.total == 100
    assert all(i.startswith("other:") for i in ids[:8])
    assert all(i.startswith("syn-") for i in ids[8:])
    assert first_names(convs) == ["Ada", "Bo", "Cy", "Di"]


# -- figures ------------------------------------------------------------------------------------


def test_size_figures_follow_the_official_aggregation() -> None:
    outcomes = [
        QuestionOutcome(1, ("a",), (("a",), ("b",)), (10, 10), latency_s=0.010),
        QuestionOutcome(1, ("c",), (("b",),), (10,), latency_s=0.020),
        QuestionOutcome(2, (), (("b",),), (10,), latency_s=0.030),
    ]
    figures = size_figures(summarize(outcomes, (1, 10), 15, (1, 2)))
    budget = figures["budget_recall"]
    assert budget == {"overall": pytest.approx(1 / 3, abs=1e-4), "1": 0.5, "2": 0.0}
    assert figures["recall"]["10"]["1"] == 0.5
    assert figures["search_ms"] == {"p50": 20.0, "p95": 29.0}
    assert figures["questions"] == 3


def test_latency_summaries_and_medians() -> None:
    assert summary_ms([0.001, 0.002, 0.003]) == {"count": 3, "p50": 2.0, "p95": 2.9, "max": 3.0}
    assert summary_ms([])["p50"] is None
    runs = [{"start_ms": 1.0, "open_ms": 5.0}, {"start_ms": 3.0, "open_ms": 1.0}, {"start_ms": 2.0}]
    assert medians(runs) == {"start_ms": 2.0}


def test_proc_status_and_cpu_model_are_read_from_their_text() -> None:
    status = "Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t4\n"
    assert proc_status(status) == {"VmHWM": 200.0, "VmRSS": 100.0}
    assert cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"


def test_scope_batches_fill_each_scope_evenly() -> None:
    batches = scope_batches(3, 150)
    per_scope: dict[str, int] = {}
    for scope, batch in batches:
        assert len(batch) <= 100
        per_scope[scope] = per_scope.get(scope, 0) + len(batch)
    assert per_scope == {"load-0": 150, "load-1": 150, "load-2": 150}


def test_recipes_name_stores_by_content() -> None:
    assert recipe_key({"n": 1, "seed": 2}) == recipe_key({"seed": 2, "n": 1})
    assert recipe_key({"n": 1, "seed": 2}) != recipe_key({"n": 2, "seed": 2})


# -- the vector cache ---------------------------------------------------------------------------


def test_cached_vectors_survive_a_reopen_and_queries_pass_through(tmp_path: Path) -> None:
    inner = HashingEmbedder(64)
    cache = CachingEmbedder(inner, tmp_path)
    texts = ["one text", "another text", "one text"]
    first = cache.embed(texts)
    assert np.array_equal(first, inner.embed(texts))
    assert (cache.hits, cache.misses) == (1, 2)
    cache.close()
    again = CachingEmbedder(inner, tmp_path)
    assert len(again) == 2
    assert np.array_equal(again.embed(texts), first)
    assert (again.hits, again.misses) == (3, 0)
    again.embed(["a question"], "query")
    assert (again.hits, again.misses) == (3, 0)
    assert text_key(inner.name, "document", "x") != text_key(inner.name, "query", "x")


def test_a_damaged_shard_is_embedded_again(tmp_path: Path) -> None:
    inner = HashingEmbedder(64)
    cache = CachingEmbedder(inner, tmp_path)
    cache.embed(["kept text"])
    cache.close()
    for shard in tmp_path.rglob("*.npz"):
        shard.write_bytes(b"not a shard")
    fresh = CachingEmbedder(inner, tmp_path)
    assert len(fresh) == 0
    assert np.array_equal(fresh.embed(["kept text"]), inner.embed(["kept text"]))


def test_a_cached_store_keeps_its_scope_s_graph_for_every_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's copy of a cached store loads the graph saved with it, not one of its own: a graph
    built anew in each run (with every core) differs from run to run, and so would the hits."""
    from memstrata import Memory
    from memstrata.evals.stores import copy_store, keep_index
    from memstrata.stores.sqlite import SQLiteStore, ann, snapshots, vectors
    from memstrata.types import Filters, Scope

    monkeypatch.setattr(vectors, "ANN_MIN_ROWS", 300)
    monkeypatch.setattr(snapshots, "MIN_ROWS", 200)
    embedder = HashingEmbedder(dim=32)
    source = tmp_path / "cached.db"
    with Memory(str(source), embedder=embedder) as memory:
        memory.add([f"note {i} about the harbour, the ferry and day {i % 37}" for i in range(400)],
                   user_id="scale")  # fmt: skip
    assert keep_index(source, Scope(user_id="scale"), embedder)
    assert not keep_index(source, Scope(user_id="scale"), embedder)  # saved already
    assert any(p.is_dir() for p in Path(f"{source}.ann").glob("*-v2-400-*"))

    def refuse(dim: int) -> None:
        raise AssertionError("the copy should have loaded the saved graph")

    monkeypatch.setattr(ann, "new_index", refuse)
    probe = embedder.embed(["the ferry"], kind="query")[0]
    for run in ("a", "b"):
        copy = copy_store(source, tmp_path / f"run-{run}.db")
        store = SQLiteStore(copy)
        try:
            found = store.vector_keys(Scope(user_id="scale"), probe, Filters(), limit=5)
        finally:
            store.close()
        assert len(found) == 5
