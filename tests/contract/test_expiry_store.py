"""``expires_at`` on each store: kept with the record and its versions, and a SQLite store made
before the column existed is upgraded in place when opened."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from memstrata.ports import Store
from memstrata.stores.sqlite import SQLiteStore, schema
from memstrata.types import Filters, MemoryRecord, Scope

T0 = datetime(2026, 1, 2, tzinfo=UTC)
U = Scope(user_id="u")


def test_expires_at_round_trips_with_its_versions(store: Store) -> None:
    record = MemoryRecord(id="m", scope=U, kind="working", text="t", recorded_at=T0,
                          expires_at=T0 + timedelta(days=1))  # fmt: skip
    store.add([], [record], at=T0)
    assert store.get(U, "m").expires_at == T0 + timedelta(days=1)
    store.update(U, replace(record, expires_at=None), at=T0 + timedelta(hours=1),
                 expected_version=1)  # fmt: skip
    assert [v.expires_at for v in store.versions(U, "m")] == [T0 + timedelta(days=1), None]
    later = Filters(current_at=T0 + timedelta(days=2))
    assert [r.id for r in store.list(U, later).records] == ["m"]  # no longer expires


def test_a_store_made_before_expiry_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = SQLiteStore(path)
    store.add([], [MemoryRecord(id="old", scope=U, kind="episode", text="kept", recorded_at=T0)],
              at=T0)  # fmt: skip
    store.close()
    with sqlite3.connect(path) as conn:  # back to schema version 3, as it was made before
        conn.execute("DROP INDEX memories_expiring")
        conn.execute("DROP INDEX memories_ending")
        conn.execute("ALTER TABLE memories DROP COLUMN expires_at")
        conn.execute("DROP TABLE memory_terms")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    conn.close()
    store = SQLiteStore(path)
    try:
        assert store.get(U, "old").text == "kept" and store.get(U, "old").expires_at is None
        record = MemoryRecord(id="m", scope=U, kind="episode", text="t", recorded_at=T0,
                              expires_at=T0 + timedelta(days=1))  # fmt: skip
        store.add([], [record], at=T0)
        assert store.get(U, "m").expires_at == T0 + timedelta(days=1)
        later = Filters(current_at=T0 + timedelta(days=2))
        assert [r.id for r in store.list(U, later).records] == ["old"]
    finally:
        store.close()
    with sqlite3.connect(path) as check:
        version = check.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    check.close()
    assert version == (str(schema.LATEST),) and schema.LATEST == 5


def test_vector_search_reads_memory_as_current(store: Store) -> None:
    """Expired memories and ended facts leave the vector search of current memory; asked for
    archived memories, it finds the expired ones."""
    day = timedelta(days=1)
    memories = [
        MemoryRecord(id="live", scope=U, kind="episode", text="a", recorded_at=T0),
        MemoryRecord(id="gone", scope=U, kind="episode", text="b", recorded_at=T0,
                     expires_at=T0 + day),
        MemoryRecord(id="ended", scope=U, kind="fact", text="c", recorded_at=T0,
                     valid_from=T0, valid_to=T0 + day),
        MemoryRecord(id="kept", scope=U, kind="episode", text="d", recorded_at=T0,
                     expires_at=T0 + 9 * day),
    ]  # fmt: skip
    store.add([], memories, at=T0, vectors=[[1.0, float(i), 0.0] for i in range(4)])
    query = [1.0, 1.0, 0.0]

    def found(flt: Filters) -> set[str]:
        return {r.id for r, _ in store.vector_search(U, query, flt, limit=10)}

    now = T0 + 2 * day
    assert found(Filters()) == {"live", "gone", "ended", "kept"}
    assert found(Filters(current_at=now)) == {"live", "kept"}
    assert found(Filters(states=("archived",), current_at=now)) == {"gone"}
    assert found(Filters(states=(), current_at=now)) == {"live", "gone", "kept"}
    assert {r.id for r, _ in store.keyword_search(U, "a b c d", Filters(current_at=now),
                                                  limit=10)} <= {"live", "kept"}  # fmt: skip
