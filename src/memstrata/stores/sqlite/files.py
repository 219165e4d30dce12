"""The SQLite file itself: opening it (read-only when it cannot be written) and telling a
damaged file from a busy, full or read-only one when a query fails."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from memstrata.errors import CorruptStoreError, ReadOnlyStoreError, StoreError


def why_read_only(target: Path) -> str | None:
    """Why a store at ``target`` can only be read (its file or its directory is not writable),
    or None; a store that is not there and cannot be made there is a ``StoreError``."""
    directory = target.parent
    if not directory.is_dir():
        raise StoreError(
            f"cannot open the SQLite store at {target}: the directory {directory} does not "
            "exist; create it first, or give another path"
        )
    if not os.access(directory, os.W_OK):
        if not target.exists():
            raise StoreError(
                f"cannot create a SQLite store at {target}: the directory {directory} is not "
                "writable"
            )
        return f"its directory {directory} is not writable"
    if target.exists() and not os.access(target, os.W_OK):
        return "its file is not writable"
    return None


def connect(path: str, *, timeout: float, read_only: bool) -> sqlite3.Connection:
    """A connection in autocommit mode: in WAL mode for writing, or read-only (the file must
    exist then; nothing is created)."""

    def open_(name: str, *, uri: bool = False) -> sqlite3.Connection:
        return sqlite3.connect(name, timeout=timeout, isolation_level=None,
                               check_same_thread=False, uri=uri)  # fmt: skip

    if not read_only:
        conn = open_(path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn
    target = Path(path)
    if not target.is_file():
        raise StoreError("there is no store there (a read-only store is never created)")
    ro = f"{target.absolute().as_uri()}?mode=ro"
    conn = open_(ro, uri=True)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if os.access(target.parent, os.W_OK):
            raise
    # A WAL file whose shared-memory file cannot be made beside it: read the file as it is
    # (without a write-ahead log that a crashed writer left, which needs that file).
    return open_(f"{ro}&immutable=1", uri=True)


def reader(path: str, *, timeout: float) -> sqlite3.Connection:
    """Another connection to a writable store's file, for reads (in autocommit mode)."""
    return sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)


def failure(
    conn: sqlite3.Connection, exc: sqlite3.DatabaseError, path: str, timeout: float
) -> tuple[StoreError, str | None]:
    """The error to raise for a failed query, and the damage ``PRAGMA quick_check`` found, if
    the file is damaged (the store refuses writes from then on: ``damaged``)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreError(
            f"the SQLite store at {path} stayed locked by another process for {timeout:g} s "
            f"({exc}); try again"
        ), None
    if name.startswith("SQLITE_READONLY"):
        return ReadOnlyStoreError(
            f"the SQLite store at {path} cannot be written ({exc}); make its file and "
            "directory writable, or open it read-only (sqlite:///path?mode=ro)"
        ), None
    if name.startswith("SQLITE_FULL"):
        return StoreError(f"the disk holding {path} is full ({exc}); free some space"), None
    try:
        found = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
    except sqlite3.DatabaseError as failed:
        found = [str(failed)]
    if found == ["ok"]:
        return StoreError(f"the SQLite store at {path} failed: {exc}"), None
    check = "; ".join(found)
    damage = check if check == str(exc) else f"{exc}; quick_check: {check}"
    return damaged(path, damage), damage


def damaged(path: str, damage: str) -> CorruptStoreError:
    return CorruptStoreError(
        f"the SQLite store at {path} is damaged ({damage}), so it refuses every write: "
        "restore it from a backup, or copy what can still be read into a new store "
        f"(`memstrata export`, or `sqlite3 {path} .recover`)"
    )
