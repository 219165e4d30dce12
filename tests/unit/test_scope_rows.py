"""The rows of a table of exact scopes (``scope_stats``) that lie within a scope are sought
through its index: the clause selects what ``scope_sql`` selects, without reading every scope
of the tenant (a search asks for them several times)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memstrata import Memory
from memstrata.stores.sql.where import scope_rows_sql, scope_sql
from memstrata.stores.sqlite.dialect import SQLiteDialect
from memstrata.types import Scope

SQLITE = SQLiteDialect()
SCOPES = [
    Scope(user_id="ann"),
    Scope(user_id="ann", agent_id="helper"),
    Scope(user_id="bob", agent_id="helper", run_id="r1"),
    Scope(agent_id="helper"),
    Scope(run_id="r1"),
    Scope(user_id="ann", tenant="other"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scopes") / "m.db"
    for tenant in ("default", "other"):
        with Memory(path, embedder="hashing:64", tenant=tenant) as memory:
            for scope in SCOPES:
                if scope.tenant == tenant:
                    memory.add([f"a note for {scope}"], **scope.as_dict())
            for i in range(30):  # other users
                memory.add([f"note {i}"], user_id=f"u{i}")
    return path


def ids(conn: sqlite3.Connection, where: str, params: list[object]) -> set[int]:
    return {r[0] for r in conn.execute(f"SELECT m.id FROM scope_stats m WHERE {where}", params)}


@pytest.mark.parametrize("scope", SCOPES, ids=str)
def test_the_clause_selects_the_scopes_the_plain_one_does(store: Path, scope: Scope) -> None:
    with sqlite3.connect(store) as conn:
        found = ids(conn, *scope_rows_sql(SQLITE, scope))
        assert found == ids(conn, *scope_sql(scope))
        assert found


def test_a_user_s_scopes_are_sought_by_user_not_read_tenant_wide(store: Path) -> None:
    with sqlite3.connect(store) as conn:
        for scope in (Scope(user_id="ann"), Scope(user_id="ann", agent_id="helper")):
            where, params = scope_rows_sql(SQLITE, scope)
            plan = " ".join(
                str(row[-1])
                for row in conn.execute(
                    f"EXPLAIN QUERY PLAN SELECT m.id FROM scope_stats m WHERE {where}", params
                )
            )
            assert "USING INDEX scope_stats_by_scope (tenant=? AND <expr>=?" in plan, plan
