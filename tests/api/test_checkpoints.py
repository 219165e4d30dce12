"""A writable SQLite store copies its write-ahead log into its file in a thread of its own, when
the writes pause (or now and then under steady writes): no commit waits for the disk to take
the log's pages (SQLite's automatic checkpoint made the commit that passed 1,000 pages do it,
about a second on a large file; the store's writing connection leaves it to a backstop at
10,000)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from memstrata import Memory
from memstrata.stores.sqlite import files

NOTES = [f"note {i}: the dog walked along the river before work, " * 8 for i in range(150)]


def soon(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    """Whether ``condition`` holds within ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def checkpointers(path: Path) -> int:
    """The threads that copy the log of the store at ``path`` (other tests' stores aside)."""
    return sum(t.name == f"memstrata-checkpoint:{path}" for t in threading.enumerate())


def test_writes_reach_the_file_soon_though_the_log_is_far_from_full(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Memory(path, embedder="hashing") as mem:
        mem.add("Ada moved to Lisbon in May", user_id="ada")
        assert soon(lambda: path.stat().st_size > 0)
        before = path.stat().st_size
        mem.add(NOTES, user_id="ada")  # well under SQLite's 1,000 pages of log
        assert soon(lambda: path.stat().st_size > before)
        kept = len(mem.list(user_id="ada", limit=500).records)
    assert soon(lambda: checkpointers(path) == 0)  # closing the store ends its thread
    with Memory(path, embedder="hashing") as again:
        assert len(again.list(user_id="ada", limit=500).records) == kept > 100


def test_a_store_that_only_reads_keeps_no_thread(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Memory(path, embedder="hashing") as mem:
        mem.add("Ada moved to Lisbon in May", user_id="ada")
    assert soon(lambda: checkpointers(path) == 0)
    with Memory(f"sqlite://{path}?mode=ro", embedder="hashing") as reader:
        assert reader.search("Lisbon", user_id="ada")
        assert checkpointers(path) == 0


def test_a_store_closing_copies_what_it_wrote_while_another_holds_the_file(
    tmp_path: Path,
) -> None:
    """A short-lived writer (a CLI call) beside a long-lived process (a server) that holds the
    file open: the writer's close is not the file's last, which SQLite would checkpoint."""
    path = tmp_path / "m.db"
    with Memory(path, embedder="hashing") as first:
        first.add("Ada moved to Lisbon in May", user_id="ada")
    holder = sqlite3.connect(path)
    try:
        assert holder.execute("SELECT count(*) FROM memories").fetchone() == (1,)
        before = path.stat().st_size
        with Memory(path, embedder="hashing") as writer:
            writer.add(NOTES, user_id="bo")
        assert path.stat().st_size > before  # at once: well within a second of the write
    finally:
        holder.close()


def test_a_store_left_open_keeps_no_thread_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread ends a while after the last write (here a fifth of a second, not 30 s), and
    the next write starts another."""
    monkeypatch.setattr(files, "CHECKPOINT_IDLE", 0.2)
    path = tmp_path / "m.db"
    mem = Memory(path, embedder="hashing")
    try:
        mem.add("Ada moved to Lisbon in May", user_id="ada")
        assert soon(lambda: checkpointers(path) == 0)
        before = path.stat().st_size
        mem.add(NOTES, user_id="ada")
        assert checkpointers(path) == 1
        assert soon(lambda: path.stat().st_size > before)
        assert soon(lambda: checkpointers(path) == 0)
    finally:
        mem.close()


def test_steady_writes_reach_the_file_without_a_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes that never pause for ``CHECKPOINT_AFTER`` are copied ``CHECKPOINT_EVERY`` after
    the first (here half a second), not only once they stop."""
    monkeypatch.setattr(files, "CHECKPOINT_AFTER", 60.0)
    monkeypatch.setattr(files, "CHECKPOINT_EVERY", 0.5)
    path = tmp_path / "m.db"
    with Memory(path, embedder="hashing") as mem:
        mem.add("Ada moved to Lisbon in May", user_id="ada")
        before = path.stat().st_size
        grew = False
        deadline = time.monotonic() + 20
        for note in NOTES:
            mem.add(note, user_id="ada")
            if path.stat().st_size > before:
                grew = True
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert grew
