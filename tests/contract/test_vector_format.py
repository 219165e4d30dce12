"""A SQLite store keeps its vectors as 16-bit floats (half the bytes); one that already held
32-bit vectors when it was upgraded keeps writing and reading those."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from memstrata import Memory
from memstrata.embedders import make_embedder
from memstrata.stores.sqlite import SQLiteStore
from memstrata.types import Filters, MemoryRecord, Scope

T0 = datetime(2026, 1, 1, tzinfo=UTC)
U = Scope(user_id="u")
TEXTS = ("Ana flies to Lisbon on Friday.", "Ben's cat is called Miso.", "The cellar floods.")


def _kept(path: Path) -> tuple[str | None, set[int]]:
    """The store's vector format and the lengths of its vectors, as the file holds them."""
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT value FROM meta WHERE key = 'vector_format'").fetchone()
        lengths = {r[0] for r in db.execute("SELECT length(embedding) FROM memories")}
    db.close()
    return (None if found is None else found[0]), lengths


def _records(start: int, texts: tuple[str, ...]) -> list[MemoryRecord]:
    return [MemoryRecord(id=f"m{start + i}", scope=U, kind="episode", text=text, recorded_at=T0)
            for i, text in enumerate(texts)]  # fmt: skip


def test_a_new_store_keeps_each_vector_in_two_bytes_a_dimension(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    embedder = make_embedder("hashing:64")
    vectors = embedder.embed(list(TEXTS))
    store = SQLiteStore(path)
    try:
        store.add([], _records(0, TEXTS), vectors=vectors, at=T0)
        assert _kept(path) == ("float16", {2 * 64})
        read = {record.id: vector for record, vector in store.scan(U)}
        for i, vector in enumerate(vectors):
            got = read[f"m{i}"]
            assert got is not None and got.dtype == np.float32
            assert np.array_equal(got, vector.astype(np.float16).astype(np.float32))
            assert np.abs(got - vector).max() < 1e-3
        # The search reads the same vectors: each text finds itself first.
        for i, vector in enumerate(vectors):
            assert store.vector_search(U, vector, Filters(), limit=1)[0][0].id == f"m{i}"
    finally:
        store.close()
    with Memory(tmp_path / "api.db", embedder="hashing") as mem:
        mem.add("I moved to Porto in May.", user_id="ana")
        assert mem.search("Where did I move?", user_id="ana").hits
    assert _kept(tmp_path / "api.db")[0] == "float16"


def test_a_store_that_held_32_bit_vectors_keeps_them(
    tmp_path: Path, sqlite_back_to: Callable[[Path, int], None]
) -> None:
    path = tmp_path / "old.db"
    vectors = make_embedder("hashing:64").embed([*TEXTS, "Ana's sister lives in Faro."])
    store = SQLiteStore(path)
    store.add([], _records(0, TEXTS), vectors=vectors[:3], at=T0)
    store.close()
    sqlite_back_to(path, 7)  # as a store made before vectors were kept in 16 bits
    assert _kept(path) == (None, {4 * 64})
    reopened = SQLiteStore(path)
    try:
        assert _kept(path) == ("float32", {4 * 64})
        reopened.add([], _records(3, ("Ana's sister lives in Faro.",)), vectors=vectors[3:],
                     at=T0)  # fmt: skip
        assert _kept(path) == ("float32", {4 * 64})
        read = {record.id: vector for record, vector in reopened.scan(U)}
        # The vector added now is kept to the last bit (the three before were made in 16 bits
        # by this memstrata, then widened to take the file back).
        assert np.array_equal(read["m3"], vectors[3])
        for i, vector in enumerate(vectors):
            assert reopened.vector_search(U, vector, Filters(), limit=1)[0][0].id == f"m{i}"
    finally:
        reopened.close()


def test_a_store_without_vectors_keeps_the_ones_it_gets_in_16_bits(
    tmp_path: Path, sqlite_back_to: Callable[[Path, int], None]
) -> None:
    path = tmp_path / "plain.db"
    store = SQLiteStore(path)
    store.add([], _records(0, TEXTS), at=T0)
    store.close()
    sqlite_back_to(path, 7)
    reopened = SQLiteStore(path)
    try:
        vectors = make_embedder("hashing:64").embed(["Ben's dog is called Tofu."])
        reopened.add([], _records(3, ("Ben's dog is called Tofu.",)), vectors=vectors, at=T0)
        assert _kept(path) == ("float16", {None, 2 * 64})
    finally:
        reopened.close()
