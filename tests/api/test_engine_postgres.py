"""The read engine on PostgreSQL: another process's writes are found on the next search, and a
write to one scope moves only that scope's change counter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("psycopg")
pytest.importorskip("pgserver")

from postgres_helpers import fresh_database

from memstrata import Memory
from memstrata.types import Scope

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> str:
    return fresh_database("engine")


ADD = """
    import sys
    from memstrata import Memory
    with Memory(sys.argv[1], embedder="hashing") as mem:
        mem.add({"text": sys.argv[3]}, user_id=sys.argv[2])
"""


def add_elsewhere(url: str, user: str, text: str) -> None:
    subprocess.run([sys.executable, "-c", textwrap.dedent(ADD), url, user, text], check=True,
                   timeout=120)  # fmt: skip


def test_another_process_writes_are_found_on_the_next_search(pg_url: str) -> None:
    with Memory(pg_url, embedder="hashing") as mem:
        mem.add([{"text": f"small talk number {i}"} for i in range(50)], user_id="u")
        mem.add([{"text": f"other talk number {i}"} for i in range(50)], user_id="w")
        mem.search("talk", user_id="u")
        before = {s: mem.store.scope_stats(Scope(user_id=s), []).changes for s in ("u", "w")}
        add_elsewhere(pg_url, "u", "We saw a quetzal in the cloud forest.")
        hits = mem.search("quetzal", user_id="u", limit=1).hits
        assert "quetzal" in hits[0].record.text
        after = {s: mem.store.scope_stats(Scope(user_id=s), []).changes for s in ("u", "w")}
        assert after["u"] > before["u"] and after["w"] == before["w"]
