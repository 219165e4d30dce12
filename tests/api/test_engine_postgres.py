"""The read engine on PostgreSQL: another process's writes are found on the next search, and a
write to one scope moves only that scope's change counter."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("psycopg")
pytest.importorskip("pgserver")

from memstrata import Memory
from memstrata.types import Scope

pytestmark = pytest.mark.postgres


def postgres_server() -> Any:
    """The session's server: the same data directory as tests/contract, so it starts once."""
    pgserver = pytest.importorskip("pgserver")
    path = Path(tempfile.gettempdir()) / f"memstrata-pg-{os.getpid()}"
    path.mkdir(exist_ok=True)
    return pgserver.get_server(path, cleanup_mode="delete")


@pytest.fixture
def pg_url() -> str:
    import psycopg

    server = postgres_server()
    name = f"engine_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return str(server.get_uri(name))


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
