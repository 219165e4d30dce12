"""Many writers on one PostgreSQL database: processes adding at once, updates racing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

pytest.importorskip("psycopg")
pytest.importorskip("pgserver")

from postgres_helpers import fresh_database

from memstrata import ConflictError, Memory
from memstrata.stores.postgres import PostgresStore
from memstrata.types import MemoryRecord, Scope

pytestmark = pytest.mark.postgres

U = Scope(user_id="u")


@pytest.fixture
def pg_url() -> str:
    return fresh_database("processes")


WRITER = """
    import sys
    from memstrata import Memory
    url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Memory(url, embedder="hashing") as mem:
        for i in range(n):
            mem.add({"id": f"{name}-{i}", "text": f"message {i} from {name}"}, user_id="u")
        mem.add({"id": "shared", "text": "every writer sends this one"}, user_id="u")
"""


@pytest.mark.slow
def test_four_processes_adding_at_once_lose_nothing(pg_url: str) -> None:
    """Each opens the store on a fresh database (the schema is created once, under a lock)."""
    names = ["alpha", "bravo", "charlie", "delta"]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WRITER), pg_url, name, "150"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    failures = []
    for w in writers:
        _, err = w.communicate(timeout=300)
        if w.returncode != 0:
            failures.append(err)
    # A writer may lose the race for the shared message id: a ConflictError, nothing half-done.
    assert all("ConflictError" in err for err in failures), failures
    assert len(failures) < len(names)
    with Memory(pg_url, embedder="hashing") as mem:
        sources: list[str] = []
        cursor = None
        while True:
            page = mem.list(user_id="u", limit=500, cursor=cursor)
            sources.extend(s for r in page.records for s in r.sources)
            if not (cursor := page.next_cursor):
                break
        assert sorted(sources) == sorted(
            [f"{n}-{i}" for n in names for i in range(150)] + ["shared"]
        )
        found = mem.search("message 149 from charlie", user_id="u", limit=1)
        assert found[0].sources == ("charlie-149",)
        scopes = mem.scopes()
    assert scopes[0]["memories"] == 601


def _race(
    store: PostgresStore, memory_id: str, text: str, barrier: threading.Barrier, out: list[str]
) -> None:
    barrier.wait()
    try:
        new = MemoryRecord(id=memory_id, scope=U, kind="fact", text=text)
        store.update(U, new, expected_version=1, at=new.recorded_at)
        out.append(text)
    except ConflictError:
        out.append("conflict")


def test_of_two_racing_updates_one_wins_and_one_conflicts(pg_url: str) -> None:
    first, second = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        records = [MemoryRecord(id=f"r{i}", scope=U, kind="fact", text="v1") for i in range(10)]
        first.add([], records, at=records[0].recorded_at)
        for record in records:
            barrier = threading.Barrier(2)
            outcomes: list[str] = []
            threads = [
                threading.Thread(target=_race, args=(store, record.id, text, barrier, outcomes))
                for store, text in ((first, "from first"), (second, "from second"))
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(outcomes)[0] == "conflict" and len(set(outcomes)) == 2
            winner = next(o for o in outcomes if o != "conflict")
            current = second.get(U, record.id)
            assert (current.version, current.text) == (2, winner)
            assert [v.text for v in first.versions(U, record.id)] == ["v1", winner]
            assert [e.op for e in first.history(U, record.id)] == ["ADD", "UPDATE"]
    finally:
        first.close()
        second.close()


def test_read_modify_write_with_retries_loses_no_update(pg_url: str) -> None:
    """Four writers each add 1 to a counter 15 times, retrying on conflict: 60 updates land."""
    setup = PostgresStore(pg_url)
    first = MemoryRecord(id="c", scope=U, kind="fact", text="0", metadata={"n": 0})
    setup.add([], [first], at=first.recorded_at)
    stores = [PostgresStore(pg_url, pool_size=2) for _ in range(4)]
    conflicts = []

    def writer(store: PostgresStore) -> None:
        for _ in range(15):
            while True:
                current = store.get(U, "c")
                n = int(current.metadata["n"]) + 1
                new = MemoryRecord(id="c", scope=U, kind="fact", text=str(n), metadata={"n": n})
                try:
                    store.update(U, new, expected_version=current.version, at=new.recorded_at)
                    break
                except ConflictError:
                    conflicts.append(1)

    threads = [threading.Thread(target=writer, args=(s,)) for s in stores]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        final = setup.get(U, "c")
        assert (final.metadata["n"], final.version, final.text) == (60, 61, "60")
        assert [int(v.text) for v in setup.versions(U, "c")] == list(range(61))
        assert len(setup.history(U, "c")) == 61
    finally:
        for s in [setup, *stores]:
            s.close()
