"""The store contract runs every test on each store: SQLite in a temporary file, and PostgreSQL
started once per test session from the ``pgserver`` wheel (PostgreSQL 16 with pgvector).

PostgreSQL will not run as root; under root, pgserver creates a ``pgserver`` system user, hands it
the data directory and runs the server as that user, on a Unix socket inside that directory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memstrata.ports import Store
from memstrata.stores.sqlite import SQLiteStore

#: Every table a test may write; emptied between tests instead of creating a database each time.
PG_TABLES = (
    "memories", "messages", "memory_versions", "history", "api_keys", "searches", "meta",
    "message_status", "links", "entities", "entity_mentions", "relations", "scope_stats",
    "scope_terms", "scope_sessions", "scope_speakers", "memory_terms",
)  # fmt: skip


def postgres_server() -> Any:
    """The session's PostgreSQL server (one per test process, removed when the process ends)."""
    pgserver = pytest.importorskip("pgserver")
    pytest.importorskip("psycopg")
    path = Path(tempfile.gettempdir()) / f"memstrata-pg-{os.getpid()}"
    path.mkdir(exist_ok=True)
    server = pgserver.get_server(path, cleanup_mode="delete")
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):  # a throwaway server
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")
    return server


def create_database(server: Any, name: str) -> str:
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return str(server.get_uri(name))


def empty_database(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        for table in PG_TABLES:
            conn.execute(f"DELETE FROM {table}")


@pytest.fixture(scope="session")
def pg_contract_urls() -> list[str]:
    """Two databases with the schema in place, emptied by each test that opens them."""
    from memstrata.stores.postgres import PostgresStore

    server = postgres_server()
    urls = [create_database(server, name) for name in ("contract", "contract_b")]
    for url in urls:
        PostgresStore(url).close()
    return urls


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A new, empty database of its own for one test."""
    name = "pg_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    return create_database(postgres_server(), name)


Opener = Callable[[str], Store]


@pytest.fixture
def open_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens an empty store of the named backend ("sqlite" or "postgres"); closes it after.

    A test may open two stores of each backend (two files, or two databases).
    """
    opened: list[Store] = []
    postgres_opened = 0

    def open_(name: str) -> Store:
        nonlocal postgres_opened
        store: Store
        if name == "sqlite":
            store = SQLiteStore(tmp_path / f"contract-{len(opened)}.db")
        else:
            from memstrata.stores.postgres import PostgresStore

            url = request.getfixturevalue("pg_contract_urls")[postgres_opened]
            postgres_opened += 1
            empty_database(url)
            store = PostgresStore(url, pool_size=4)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, open_backend: Opener) -> Store:
    return open_backend(backend)
