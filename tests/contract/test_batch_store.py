"""A store's batch changes (``update_many``, ``set_states``) are one transaction on each store:
every change lands, or none does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from memstrata.errors import ConflictError, NotFoundError
from memstrata.ports import Store
from memstrata.types import Filters, MemoryRecord, Scope

T0 = datetime(2026, 1, 2, tzinfo=UTC)
U = Scope(user_id="u")
ALL = Filters(states=("active", "archived", "deleted"))


def seed(store: Store) -> list[MemoryRecord]:
    records = [MemoryRecord(id=f"m{i}", scope=U, kind="fact", text=f"fact {i}", recorded_at=T0)
               for i in range(3)]  # fmt: skip
    store.add([], records, at=T0)
    return records


def test_set_states_changes_every_memory_with_its_history(store: Store) -> None:
    seed(store)
    changed = store.set_states(U, ["m0", "m2"], "deleted", at=T0 + timedelta(hours=1), reason="r")
    assert [(r.id, r.state) for r in changed] == [("m0", "deleted"), ("m2", "deleted")]
    assert {r.id for r in store.list(U, Filters()).records} == {"m1"}
    assert [e.op for e in store.history(U, "m2")] == ["ADD", "DELETE"]


def test_set_states_with_a_missing_memory_changes_none(store: Store) -> None:
    seed(store)
    with pytest.raises(NotFoundError):
        store.set_states(U, ["m0", "gone"], "deleted", at=T0 + timedelta(hours=1))
    assert store.count(U, Filters()) == 3


def test_update_many_keeps_old_versions_and_a_conflict_changes_none(store: Store) -> None:
    records = seed(store)
    at = T0 + timedelta(hours=1)
    new = [(replace(r, metadata={"n": i}), r.version) for i, r in enumerate(records[:2])]
    written = store.update_many(U, new, at=at, reason="batch")
    assert [(r.id, r.version, dict(r.metadata)) for r in written] == [
        ("m0", 2, {"n": 0}),
        ("m1", 2, {"n": 1}),
    ]
    assert [v.version for v in store.versions(U, "m0")] == [1, 2]
    stale = [(replace(records[2], metadata={"n": 2}), 1), (replace(records[0], text="x"), 1)]
    with pytest.raises(ConflictError):
        store.update_many(U, stale, at=at + timedelta(hours=1))
    assert store.get(U, "m2").version == 1 and store.get(U, "m0").text == "fact 0"
    assert len(store.list(U, ALL).records) == 3
