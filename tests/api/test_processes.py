"""Several processes on one SQLite file: persistence, concurrency and crashes."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from memstrata import Memory

pytestmark = pytest.mark.slow


def python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def all_sources(mem: Memory) -> set[str]:
    sources: set[str] = set()
    cursor = None
    while True:
        page = mem.list(user_id="u", limit=1000, cursor=cursor)
        sources.update(s for r in page.records for s in r.sources)
        if not page.next_cursor:
            return sources
        cursor = page.next_cursor


WRITER = """
    import sys
    from memstrata import Memory
    db, name, n, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with Memory(db, embedder="hashing") as mem:
        for start in range(0, n, batch):
            ids = [f"{name}-{i}" for i in range(start, min(n, start + batch))]
            # Dated, so that the date each memory's keywords hold is the same on every day the
            # tests run (a day of the month is a number a search for "w-3" would match).
            mem.add([{"id": i, "text": f"message {i} from {name}",
                      "timestamp": "2026-01-01T12:00:00+00:00"} for i in ids], user_id="u")
            print(" ".join(ids), flush=True)
"""


def test_one_process_writes_another_reads(db_path: Path) -> None:
    writer = python(WRITER, str(db_path), "w", "5", "1")
    assert writer.wait(60) == 0, writer.stderr.read() if writer.stderr else ""
    reader = python(
        """
        import sys
        from memstrata import Memory
        with Memory(sys.argv[1], embedder="hashing") as mem:
            print(mem.search("message w-3", user_id="u", limit=1)[0].sources[0])
            print(len(mem.list(user_id="u").records))
        """,
        str(db_path),
    )
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert out.split() == ["w-3", "5"]


def test_two_processes_adding_at_once_lose_nothing(db_path: Path) -> None:
    Memory(db_path, embedder="hashing").close()  # create the schema first
    writers = [python(WRITER, str(db_path), name, "1000", "1") for name in ("a", "b")]
    for w in writers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    with Memory(db_path, embedder="hashing") as mem:
        sources = all_sources(mem)
    expected = {f"{name}-{i}" for name in ("a", "b") for i in range(1000)}
    assert sources == expected


def test_a_writer_killed_mid_batch_leaves_a_consistent_store(db_path: Path) -> None:
    Memory(db_path, embedder="hashing").close()
    writer = python(WRITER, str(db_path), "k", "100000", "10")
    acknowledged: list[str] = []
    assert writer.stdout is not None
    deadline = time.monotonic() + 120
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        line = writer.stdout.readline()
        if not line:
            break
        acknowledged += line.split()
    writer.send_signal(signal.SIGKILL)
    writer.wait(30)
    assert len(acknowledged) >= 300, writer.stderr.read() if writer.stderr else ""

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        memories = conn.execute("SELECT count(*) FROM memories").fetchone()[0]
        assert memories % 10 == 0  # whole batches only
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == memories
        assert conn.execute("SELECT count(*) FROM history").fetchone()[0] == memories
        assert conn.execute("SELECT count(*) FROM memories_fts").fetchone()[0] == memories
    with Memory(db_path, embedder="hashing") as mem:
        assert set(acknowledged) <= all_sources(mem)
