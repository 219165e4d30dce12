"""What the read engine reads instead of a scan (``ScopeFigures``), on every store: the write
path keeps it true through adds, updates, state changes, re-embedding, imports and purges, each
memory's stored terms with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from memstrata.errors import NotFoundError
from memstrata.ports import Columns, Placed, Store, records_of
from memstrata.terms import terms_of
from memstrata.types import Filters, MemoryRecord, Scope

Opener = Callable[[str], Store]  # the open_backend fixture

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
U = Scope(user_id="u")
OTHER = Scope(user_id="w")
ALL = Filters(states=("active", "archived", "deleted"))


def rec(memory_id: str, text: str, minutes: float, scope: Scope = U, **fields: Any) -> MemoryRecord:
    at = T0 + timedelta(minutes=minutes)
    fields.setdefault("kind", "episode")
    return MemoryRecord(id=memory_id, scope=scope, text=text, valid_from=at, recorded_at=at,
                        **fields)  # fmt: skip


def vec(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def conversation(store: Store) -> list[MemoryRecord]:
    """Two sessions: three turns, then two turns a day later."""
    records = [
        rec("a", "I adopted a puppy named Biscuit.", 0, actor="Ana"),
        rec("b", "What breed is Biscuit?", 1, actor="Ben"),
        rec("c", "A beagle. She loves the park.", 2, actor="Ana"),
        rec("d", "I started pottery classes.", 60 * 24, actor="Ben"),
        rec("e", "Pottery sounds relaxing.", 60 * 24 + 1, actor="Ana"),
    ]
    vectors = np.stack([vec(1, 0, 0), vec(0, 1, 0), vec(0, 0, 1), vec(1, 1, 0), vec(0, 1, 1)])
    store.add([], records, at=T0 + timedelta(days=2), vectors=vectors)
    return records


def by_id(store: Store, scope: Scope = U, filters: Filters = ALL) -> dict[str, Any]:
    found = store.placed(scope, filters, ids=["a", "b", "c", "d", "e", "x"])
    return {p.record.id: p for p in found}


def test_adds_are_counted_and_placed_in_sessions(store: Store) -> None:
    records = conversation(store)
    stats = store.scope_stats(U, ["biscuit", "beagl", "potteri", "nowher"])
    assert stats.memories == 5 and stats.sessions == 2
    assert stats.tokens == sum(len(terms_of(r).tokens) for r in records)
    assert stats.df == {"biscuit": 2, "beagl": 1, "potteri": 2}
    assert stats.speakers == ("Ana", "Ben")
    assert store.term_counts(U, ["biscuit", "beagl", "potteri", "nowher"]) == stats.df
    assert store.term_counts(OTHER, ["biscuit"]) == {} and store.term_counts(U, []) == {}
    placed = by_id(store)
    keys = {i: p.key for i, p in placed.items()}
    assert placed["a"].prev is None and placed["a"].next == keys["b"]
    assert placed["b"].prev == keys["a"] and placed["c"].next is None
    assert placed["d"].prev is None and placed["e"].prev == keys["d"]
    assert placed["a"].session == placed["c"].session != placed["d"].session
    assert np.allclose(placed["b"].vector, vec(0, 1, 0))
    sessions, members = store.sessions(U, ALL, [placed["a"].session, placed["d"].session],
                                       members=2)  # fmt: skip
    first = sessions[placed["a"].session]
    assert first.size == 3 and np.allclose(first.vector, vec(1, 1, 1))
    assert [m.record.id for m in members] == ["a", "b", "d", "e"]
    assert store.scope_stats(OTHER, ["biscuit"]).memories == 0


def test_session_members_leave_out_those_the_caller_holds(store: Store) -> None:
    conversation(store)
    placed = by_id(store)
    first, second = placed["a"].session, placed["d"].session
    # "a" still counts towards the two members of its session: "c" does not come.
    _, members = store.sessions(U, ALL, [second, first], members=2, known={placed["a"].key})
    assert [m.record.id for m in members] == ["d", "e", "b"]
    store.set_state(U, "b", "archived", at=T0 + timedelta(days=3))
    _, members = store.sessions(U, Filters(states=("active",)), [first], members=2)
    assert [m.record.id for m in members] == ["a", "c"]


def test_the_members_of_many_sessions_come_session_by_session(store: Store) -> None:
    records = [rec(f"m{i}", f"turn {i}", 120 * (i // 2) + i % 2) for i in range(60)]
    store.add([], records, at=T0 + timedelta(days=30))
    placed = {p.record.id: p for p in store.placed(U, ALL, ids=[r.id for r in records])}
    sessions = [placed[f"m{2 * s}"].session for s in reversed(range(30))]
    assert len(set(sessions)) == 30
    stats, members = store.sessions(U, ALL, sessions, members=1)
    assert [m.record.id for m in members] == [f"m{2 * s}" for s in reversed(range(30))]
    assert {s.size for s in stats.values()} == {2}


def test_a_named_session_overrides_the_time_gap(store: Store) -> None:
    store.add([], [rec("a", "one", 0, metadata={"session": "s1"}),
                   rec("b", "two", 1, metadata={"session": "s2"}),
                   rec("c", "three", 600, metadata={"session": "s2"})],
              at=T0 + timedelta(days=1))  # fmt: skip
    placed = {p.record.id: p for p in store.placed(U, ALL, ids=["a", "b", "c"])}
    assert placed["a"].session != placed["b"].session == placed["c"].session
    assert store.scope_stats(U, []).sessions == 2


def test_updates_and_purges_keep_the_figures_true(store: Store) -> None:
    conversation(store)
    old = store.get(U, "b")
    store.update(U, replace(old, text="Which breed is the beagle?"), at=T0 + timedelta(days=3),
                 expected_version=old.version, vector=vec(0, 0, 2))  # fmt: skip
    stats = store.scope_stats(U, ["biscuit", "beagl", "breed"])
    assert stats.df == {"biscuit": 1, "beagl": 2, "breed": 1}
    placed = by_id(store)
    sessions, _ = store.sessions(U, ALL, [placed["a"].session])
    assert np.allclose(sessions[placed["a"].session].vector, vec(1, 0, 3))
    store.purge(U, "b")
    stats = store.scope_stats(U, ["beagl", "breed"])
    assert stats.memories == 4 and stats.df == {"beagl": 1}
    placed = by_id(store)
    assert placed["a"].next == placed["c"].key and placed["c"].prev == placed["a"].key
    sessions, _ = store.sessions(U, ALL, [placed["a"].session])
    assert sessions[placed["a"].session].size == 2


def test_re_embedding_moves_the_session_vectors(store: Store) -> None:
    conversation(store)
    store.put_vectors("default", [("a", vec(0, 0, 5))])
    placed = by_id(store)
    sessions, _ = store.sessions(U, ALL, [placed["a"].session])
    assert np.allclose(sessions[placed["a"].session].vector, vec(0, 1, 6))


def test_the_change_counter_is_per_scope(store: Store) -> None:
    conversation(store)
    store.add([], [rec("x", "elsewhere", 0, scope=OTHER)], at=T0)
    before_u, before_w = (store.scope_stats(s, []).changes for s in (U, OTHER))
    store.add([], [rec("y", "more elsewhere", 1, scope=OTHER)], at=T0)
    assert store.scope_stats(U, []).changes == before_u
    assert store.scope_stats(OTHER, []).changes > before_w
    store.set_state(U, "a", "deleted", at=T0 + timedelta(days=3))
    assert store.scope_stats(U, []).changes > before_u
    # A wider scope sums the exact scopes it covers.
    wide = Scope(user_id="u", agent_id=None)
    assert store.scope_stats(wide, []).memories == 5


def test_placed_keeps_to_the_filters_by_id_and_by_key(store: Store) -> None:
    records = conversation(store)
    store.set_state(U, "b", "deleted", at=T0 + timedelta(days=3))
    active = by_id(store, filters=Filters(states=("active",)))
    assert set(active) == {"a", "c", "d", "e"}
    keys = [p.key for p in by_id(store).values()]
    placed = store.placed(U, Filters(states=("active",)), keys=keys)
    assert {p.record.id: p.record for p in placed} == {r.id: r for r in records if r.id != "b"}
    assert store.placed(OTHER, ALL, keys=keys) == []


def test_the_records_of_placed_memories_are_read_after_and_together(store: Store) -> None:
    """A search reads its candidates' briefs and the whole records of the few it returns,
    later: those read as they are then, and only while they still pass the search's filters."""
    records = {r.id: r for r in conversation(store)}
    active = Filters(states=("active",))
    # In no promised order (PostgreSQL's plan may return another): put in the ids' order.
    found = sorted(store.placed(U, active, ids=["a", "b", "c", "d"]), key=lambda p: p.brief.id)
    assert [p.brief.text for p in found] == [records[i].text for i in "abcd"]
    store.set_state(U, "b", "deleted", at=T0 + timedelta(days=3))
    old = store.get(U, "c")
    changed = replace(old, text="A beagle called Biscuit.")
    store.update(U, changed, at=T0 + timedelta(days=3), expected_version=old.version)
    read = records_of(found)
    assert [r is None for r in read] == [False, True, False, False]
    assert read[0] == records["a"] and read[3] == records["d"]
    assert read[2] is not None and read[2].text == "A beagle called Biscuit."
    with pytest.raises(NotFoundError):
        _ = found[1].record
    # Under filters that take it, it is read as it is now.
    assert records_of(store.placed(U, ALL, ids=["b"])) == [store.get(U, "b")]


def test_the_candidates_columns_read_at_once_are_each_ones_brief_and_vector(
    store: Store,
) -> None:
    """A search reads its candidates' briefs and vectors from their rows all at once
    (``Placed.columns``); they are what each one's own reads, in order, on every store."""
    conversation(store)
    store.add([], [rec("f", "No vector, and a date key.", 5, keys=("2026-01-01", "new year"),
                       sources=("m1", "m2"))], at=T0 + timedelta(days=2))  # fmt: skip
    placed = sorted(store.placed(U, ALL, ids=["e", "a", "f", "c"]), key=lambda p: -p.key)
    read = Placed.columns(placed)
    each = Columns.of([p.brief for p in placed], [p.vector for p in placed])
    assert [list(column) for column in read.briefs] == [list(column) for column in each.briefs]
    assert list(read.briefs.ids) == ["f", "e", "c", "a"]
    assert list(read.briefs.days) == [T0.toordinal(), (T0 + timedelta(days=1)).toordinal(),
                                      T0.toordinal(), T0.toordinal()]  # fmt: skip
    assert read.briefs.keys[0] == ("2026-01-01", "new year")
    assert read.briefs.sources[0] == ("m1", "m2")
    np.testing.assert_array_equal(read.vectors, each.vectors)
    assert read.vectors.shape == (4, 3) and not read.vectors[0].any()
    assert Placed.columns([]).vectors.shape == (0, 0)


def test_the_searches_keys_are_their_results_in_order(store: Store) -> None:
    conversation(store)
    keys = {p.record.id: p.key for p in by_id(store).values()}
    active = Filters(states=("active",))
    for query in ("Biscuit puppy beagle", "pottery", "nothing matches this"):
        found = store.keyword_search(U, query, active, limit=3)
        assert store.keyword_keys(U, query, active, limit=3) == [
            (keys[r.id], score) for r, score in found
        ]
    for filters in (active, replace(active, actor="Ana")):
        found = store.vector_search(U, vec(1, 1, 0), filters, limit=4)
        assert len(found) == (4 if filters.actor is None else 3)
        assert store.vector_keys(U, vec(1, 1, 0), filters, limit=4) == [
            (keys[r.id], score) for r, score in found
        ]
    assert store.keyword_keys(OTHER, "pottery", active, limit=3) == []
    assert store.vector_keys(OTHER, vec(1, 1, 0), active, limit=3) == []


def test_re_embedding_with_another_dimension_sums_the_new_vectors(store: Store) -> None:
    conversation(store)
    store.put_vectors("default", [("a", np.asarray([1, 0], np.float32)),
                                  ("b", np.asarray([0, 1], np.float32))])  # fmt: skip
    placed = by_id(store)
    sessions, _ = store.sessions(U, ALL, [placed["a"].session])
    assert np.allclose(sessions[placed["a"].session].vector, [1, 1])


def assert_terms_stored(placed: list[Placed]) -> None:
    """Each placed memory carries the terms ``terms_of`` makes of its record, as stored."""
    assert placed
    for p in placed:
        assert p.terms is not None and p.terms == terms_of(p.record), p.record.id


def test_each_memory_keeps_its_terms_through_every_write(
    store: Store, backend: str, open_backend: Opener
) -> None:
    conversation(store)
    assert_terms_stored(list(by_id(store).values()))
    placed = by_id(store)
    assert_terms_stored(store.placed(U, ALL, keys=[p.key for p in placed.values()]))
    _, members = store.sessions(U, ALL, [placed["a"].session], members=5)
    assert_terms_stored(members)
    old = store.get(U, "b")
    changed = replace(old, text="Which breed? [photo: a beagle] Cute.", keys=("2023-05-31",),
                      actor="Cleo")  # fmt: skip
    store.update(U, changed, at=T0 + timedelta(days=3), expected_version=old.version)
    after = by_id(store)
    assert after["b"].terms == terms_of(store.get(U, "b")) != placed["b"].terms
    store.set_state(U, "c", "deleted", at=T0 + timedelta(days=3))
    store.set_state(U, "c", "active", at=T0 + timedelta(days=4))
    store.put_vectors("default", [("a", vec(0, 0, 5))])
    assert_terms_stored(list(by_id(store).values()))
    target = open_backend(backend)
    target.import_("default", list(store.export(U, vectors=True)), at=T0 + timedelta(days=5))
    assert_terms_stored(list(by_id(target).values()))
    assert by_id(target)["b"].terms == after["b"].terms
    store.purge(U, "b")
    assert "b" not in by_id(store)
    assert_terms_stored(list(by_id(store).values()))
