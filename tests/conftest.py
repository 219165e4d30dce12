"""Shared fixtures: real stores in temporary files, the hashing embedder, no network."""

from __future__ import annotations

import gc
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from memstrata import Memory


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may only talk to loopback: a connection anywhere else fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        outside = isinstance(host, str) and host not in ("::1", "localhost")
        if outside and self.family in (socket.AF_INET, socket.AF_INET6):
            assert isinstance(host, str)
            if not host.startswith("127."):
                raise OSError(f"tests may not reach {host}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _collector_as_it_was() -> Iterator[None]:
    """A command run in process (``memstrata eval``) may tune the garbage collector for itself
    (``settings.quiet_collector``); the next test gets it back as it was."""
    thresholds = gc.get_threshold()
    yield
    if gc.get_threshold() != thresholds:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memories.db"


@pytest.fixture
def mem(db_path: Path) -> Iterator[Memory]:
    with Memory(db_path, embedder="hashing") as memory:
        yield memory


#: Undoing each SQLite migration, newest first: (the schema it leaves, its statements).
_UNDO = (
    # Vectors as 32-bit floats, as every store kept them.
    (7, ("UPDATE memories SET embedding = memstrata_f32(embedding) WHERE embedding IS NOT NULL "
         "AND (SELECT value FROM meta WHERE key = 'vector_format') = 'float16'",
         "DELETE FROM meta WHERE key = 'vector_format'")),
    # The full-text index's scope column without the speakers' tokens.
    (6, ("UPDATE memories_fts SET scope = substr(scope, 1, instr(scope || ' ', ' ') - 1)",)),
    (5, ("DROP TABLE memory_terms", "DELETE FROM meta WHERE key = 'engine_terms'")),
    (4, ("DROP TRIGGER memories_left", "DROP TRIGGER memories_revectored",
         "DROP TRIGGER memories_refiltered", "ALTER TABLE scope_stats DROP COLUMN vector_epoch",
         "ALTER TABLE scope_stats DROP COLUMN column_epoch")),
    (3, ("DROP INDEX memories_expiring", "DROP INDEX memories_ending",
         "ALTER TABLE memories DROP COLUMN expires_at")),
    # The full-text index as it was: text and keys, no scope column.
    (2, ("CREATE VIRTUAL TABLE fts_old USING fts5(text, keys, "
         "tokenize = 'porter unicode61 remove_diacritics 2')",
         "INSERT INTO fts_old (rowid, text, keys) SELECT rowid, text, keys FROM memories_fts",
         "DROP TABLE memories_fts", "ALTER TABLE fts_old RENAME TO memories_fts")),
    # No figures.
    (1, (*(f"DROP TABLE {t}" for t in ("scope_stats", "scope_terms", "scope_sessions",
                                       "scope_speakers")),
         "DROP INDEX memories_by_session",
         *(f"ALTER TABLE memories DROP COLUMN {c}" for c in ("scope", "session", "prev_pk",
                                                              "next_pk")),
         "DELETE FROM meta WHERE key = 'engine_terms'")),
)  # fmt: skip


def _as_float32(blob: bytes) -> bytes:
    return np.frombuffer(blob, "<f2").astype("<f4").tobytes()


def _back_to(path: Path, version: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.create_function("memstrata_f32", 1, _as_float32, deterministic=True)
        for leaves, statements in _UNDO:
            if leaves < version:
                break
            for statement in statements:
                conn.execute(statement)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    conn.close()


@pytest.fixture
def sqlite_back_to() -> Callable[[Path, int], None]:
    """Take the (closed) SQLite store at a path back to an older schema version, as a file
    made by an older memstrata."""
    return _back_to
