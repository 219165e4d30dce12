"""A SQLite store made before the scopes' epochs (schema 4) keeps its vector indexes exact."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from memstrata.stores.sqlite import SQLiteStore
from memstrata.types import Filters, MemoryRecord, Scope

T0 = datetime(2026, 1, 1, tzinfo=UTC)
U = Scope(user_id="u")


def test_a_store_of_the_previous_schema_gets_its_epochs(
    tmp_path: Path, sqlite_back_to: Callable[[Path, int], None]
) -> None:
    vectors = np.eye(4, dtype=np.float32)
    path = tmp_path / "old.db"
    store = SQLiteStore(path)
    records = [MemoryRecord(id=f"m{i}", scope=U, kind="episode", text=f"memory {i}",
                            recorded_at=T0) for i in range(3)]  # fmt: skip
    store.add([], records, vectors=vectors[:3], at=T0)
    store.close()
    sqlite_back_to(path, 4)
    reopened = SQLiteStore(path)
    try:
        assert reopened.vector_search(U, vectors[1], Filters(), limit=1)[0][0].id == "m1"
        other = SQLiteStore(path)
        other.purge(U, "m1")  # another process: only the epochs tell the first one
        other.close()
        found = reopened.vector_search(U, vectors[1], Filters(states=()), limit=3)
        assert "m1" not in [r.id for r, _ in found]
    finally:
        reopened.close()
