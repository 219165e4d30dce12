"""The SQLite file itself: opening it (read-only when it cannot be written), copying its
write-ahead log into it (``Checkpoints``), and telling a damaged file from a busy, full or
read-only one when a query fails."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import suppress
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


#: How long the writes must pause before a store's thread copies the write-ahead log into the
#: file (a quiet moment: the copy then takes no page the next write would change again).
CHECKPOINT_AFTER = 1.0
#: How long the thread waits for that pause under steady writes before it copies the log all
#: the same: about as often as SQLite's own checkpoint under a server's load, but in the thread.
CHECKPOINT_EVERY = 10.0
#: How long the log may grow before a commit copies it after all (SQLite's own checkpoint),
#: should the thread fall behind or not run: 10,000 pages, about 40 MB.
CHECKPOINT_BACKSTOP = 10_000
#: How long the thread waits for another write before it ends (the next write starts another):
#: a store that is never closed keeps no thread, nor its connection, for long.
CHECKPOINT_IDLE = 30.0


class Checkpoints:
    """A writable store's checkpoints, in a thread of its own. SQLite's automatic checkpoint
    runs in the commit that takes the write-ahead log past 1,000 pages, and that commit then
    waits for the disk: about a second, once in some 600 kept searches, on a 2 GB file
    (docs/benchmarks.md). The store's writing connection leaves it to ``CHECKPOINT_BACKSTOP``
    pages (``quiet``), and this thread copies the log into the file once the writes pause for
    ``CHECKPOINT_AFTER`` seconds, or ``CHECKPOINT_EVERY`` seconds after the first write it has
    not copied, whichever comes first, on a connection of its own, waiting for no reader or
    writer (``wal_checkpoint(PASSIVE)``). (Copying a second after every write made a server
    copy its hot pages again and again: a sixth fewer searches a second.) The thread starts
    with a write, again in a forked process, and ends ``CHECKPOINT_IDLE`` seconds after the
    last; ``close`` copies what the store wrote since, and ends it."""

    def __init__(self, path: str, *, timeout: float) -> None:
        self._path, self._timeout = path, timeout
        self._pending = False
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    @staticmethod
    def quiet(conn: sqlite3.Connection) -> None:
        """Only the backstop's checkpoint in ``conn``'s commits."""
        conn.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_BACKSTOP}")

    def wrote(self) -> None:
        """A write was committed: the log is copied into the file at the next pause."""
        with self._lock:  # as the thread decides to end: it ends, or it sees this write
            self._pending = True
            self._wake.set()
            running = self._thread is not None and self._pid == os.getpid()
            if not running and not self._closed.is_set():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name=f"memstrata-checkpoint:{self._path}", daemon=True
                )
                self._thread.start()

    def _pause(self) -> None:
        """Wait until the writes pause for ``CHECKPOINT_AFTER`` seconds, ``CHECKPOINT_EVERY``
        seconds have passed, or the store closes."""
        deadline = time.monotonic() + CHECKPOINT_EVERY
        while not self._closed.is_set():
            self._wake.clear()
            left = deadline - time.monotonic()
            if left <= 0 or not self._wake.wait(min(CHECKPOINT_AFTER, left)):
                return

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                if not self._wake.wait(CHECKPOINT_IDLE):
                    with self._lock:  # no write for a while: end, unless one came just now
                        if not self._wake.is_set():
                            self._thread = None
                            return
                self._pause()
                closing = self._closed.is_set()
                if self._pending:
                    self._pending = False
                    with suppress(sqlite3.Error):  # busy or gone: the next write tries again
                        conn = conn or reader(self._path, timeout=self._timeout)
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                if closing:
                    return
        finally:
            if conn is not None:
                conn.close()

    def close(self) -> None:
        """Copy what was written since the last checkpoint, and end the thread."""
        self._closed.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and self._pid == os.getpid():
            thread.join(timeout=self._timeout)


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
