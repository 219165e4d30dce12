"""A fresh PostgreSQL database for an API test, on the session's one server (the same data
directory as tests/contract, so it starts once per test process)."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest


def postgres_server() -> Any:
    pgserver = pytest.importorskip("pgserver")
    pytest.importorskip("psycopg")
    path = Path(tempfile.gettempdir()) / f"memstrata-pg-{os.getpid()}"
    path.mkdir(exist_ok=True)
    return pgserver.get_server(path, cleanup_mode="delete")


def fresh_database(prefix: str) -> str:
    """The URL of a new, empty database named ``PREFIX_<random>``."""
    import psycopg

    server = postgres_server()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return str(server.get_uri(name))
