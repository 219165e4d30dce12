"""The pure parts of the SQL core both stores share: filters and scopes as SQL in each dialect,
their Python twin (``matches``), memory at a past time, list cursors and the statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memstrata.errors import InvalidInputError
from memstrata.stores import timeline
from memstrata.stores.codec import to_micros
from memstrata.stores.sql import rows
from memstrata.stores.sql.rows import Statements
from memstrata.stores.sql.where import (
    decode_cursor,
    encode_cursor,
    exact_scope_sql,
    filters_sql,
    matches,
    order,
    scope_sql,
    user_sql,
)
from memstrata.stores.sqlite import SQLiteStore
from memstrata.stores.sqlite.dialect import SQLiteDialect
from memstrata.types import Filters, MemoryRecord, Scope

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
SQLITE = SQLiteDialect()


def postgres() -> Any:
    pytest.importorskip("psycopg")
    from memstrata.stores.postgres.dialect import PostgresDialect

    return PostgresDialect()


def rec(
    memory_id: str, version: int, at: datetime, expired: datetime | None = None
) -> MemoryRecord:
    return MemoryRecord(id=memory_id, scope=Scope(user_id="u"), kind="fact", text=memory_id,
                        version=version, recorded_at=at, expired_at=expired)  # fmt: skip


# -- scopes and filters as SQL --------------------------------------------------------------------
def test_a_scope_names_its_tenant_and_each_given_id() -> None:
    assert scope_sql(Scope(user_id="u", run_id="r", tenant="t")) == (
        "m.tenant = ? AND m.user_id = ? AND m.run_id = ?",
        ["t", "u", "r"],
    )
    assert scope_sql(Scope(agent_id="a"), "s") == (
        "s.tenant = ? AND s.agent_id = ?",
        ["default", "a"],
    )


def test_an_exact_scope_names_its_absent_ids_too() -> None:
    scope = Scope(user_id="u", tenant="t")
    assert exact_scope_sql(SQLITE, scope) == (
        "m.tenant = ? AND ifnull(m.user_id, '') = ? AND ifnull(m.agent_id, '') = ? "
        "AND ifnull(m.run_id, '') = ?",
        ["t", "u", "", ""],
    )
    assert exact_scope_sql(postgres(), scope) == (
        "m.tenant = ? AND m.user_id = ? AND m.agent_id IS NULL AND m.run_id IS NULL",
        ["t", "u"],
    )


def test_only_postgresql_names_the_user_of_the_memory_a_statement_touches() -> None:
    assert user_sql(SQLITE, "u") == ("", [])
    assert user_sql(postgres(), "u") == (" AND user_id = ?", ["u"])
    assert user_sql(postgres(), None, "h") == (" AND h.user_id IS NULL", [])


def test_no_filter_is_true() -> None:
    assert filters_sql(SQLITE, Filters(states=())) == ("1 = 1", [])
    assert filters_sql(postgres(), Filters(states=())) == ("1 = 1", [])


def test_filters_in_sqlite() -> None:
    since = T0 - timedelta(days=1)
    flt = Filters(kinds=("fact", "summary"), since=since, until=T0, actor="Ada",
                  metadata={"topic": "work", "done": True, "gone": None})  # fmt: skip
    when = "coalesce(m.valid_from, m.recorded_at)"
    assert filters_sql(SQLITE, flt) == (
        f"m.state IN (?) AND m.kind IN (?, ?) AND {when} >= ? AND {when} <= ? AND m.actor = ? "
        """AND json_extract(m.metadata, '$."topic"') = ? """
        """AND json_extract(m.metadata, '$."done"') = ? """
        """AND json_extract(m.metadata, '$."gone"') IS NULL""",
        ["active", "fact", "summary", to_micros(since), to_micros(T0), "Ada", "work", 1],
    )


def test_filters_in_postgresql() -> None:
    d = postgres()
    from psycopg.types.json import Jsonb

    sql, params = filters_sql(d, Filters(layers=("long",), since=T0, metadata={"n": 1, "x": None}))
    assert sql == (
        "m.state = ANY(?) AND m.layer = ANY(?) AND coalesce(m.valid_from, m.recorded_at) >= ? "
        "AND (m.metadata -> ?) IN (?, ?) "
        "AND ((m.metadata -> ?) IS NULL OR (m.metadata -> ?) = 'null'::jsonb)"
    )
    assert params[:5] == [["active"], ["long"], T0, "n", params[4]]
    assert isinstance(params[4], Jsonb) and params[4].obj == 1
    assert params[5].obj is True  # 1 matches true, as in SQLite
    assert params[6:] == ["x", "x"]


def test_postgresql_statements_take_psycopg_placeholders() -> None:
    d = postgres()
    assert d.sql("SELECT ? WHERE a LIKE 'x%' AND b = ?") == (
        "SELECT %s WHERE a LIKE 'x%%' AND b = %s"
    )
    assert SQLITE.sql("SELECT ?") == "SELECT ?"


def test_text_sorts_by_its_bytes_and_null_first_on_both() -> None:
    assert order(SQLITE, "a", "b") == "a, b"
    assert order(postgres(), "a") == 'a COLLATE "C" NULLS FIRST'


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_each_statement_has_a_placeholder_for_each_parameter(dialect: str) -> None:
    d = SQLITE if dialect == "sqlite" else postgres()
    sql = Statements.of(d)
    record = rec("a", 1, T0)
    memory = (*rows.record_params(d, record), d.vector(None), *d.index_params(record))
    assert sql.insert_memory.count("?") == len(memory)
    assert sql.update_memory.count("?") == len(memory) + 1  # and the pk
    event = timeline_event(record)
    assert sql.insert_history.count("?") == len(rows.history_params(d, record.scope, event))
    assert sql.insert_version.count("?") == len(rows.version_params(d, record, record))


def timeline_event(record: MemoryRecord) -> Any:
    from memstrata.types import HistoryEvent

    return HistoryEvent(memory_id=record.id, version=1, op="ADD", at=T0, state="active")


def test_a_record_reads_back_as_it_was_written_in_sqlite() -> None:
    record = MemoryRecord(id="a", scope=Scope(user_id="u", run_id="r"), kind="episode",
                          text="Ada moved", sources=("m1",), keys=("move",), entities=("Ada",),
                          recorded_at=T0, valid_from=T0 - timedelta(days=3),
                          metadata={"n": 1, "é": "ü"})  # fmt: skip
    assert rows.record(SQLITE, rows.record_params(SQLITE, record)) == record


# -- the Python twin of the filters ------------------------------------------------------------
KINDS = ("fact", "episode", "summary")
STATES = ("active", "archived", "deleted")


@settings(max_examples=60, deadline=None)
@given(
    memories=st.lists(
        st.tuples(st.sampled_from(KINDS), st.sampled_from(STATES), st.integers(0, 5),
                  st.sampled_from([None, "Ada", "Bo"]),
                  st.sampled_from([{}, {"t": "x"}, {"t": "y"}, {"t": None}, {"n": 1}])),
        min_size=1, max_size=8,
    ),
    kinds=st.lists(st.sampled_from(KINDS), max_size=2, unique=True),
    states=st.lists(st.sampled_from(STATES), max_size=2, unique=True),
    since=st.sampled_from([None, 1, 3]),
    actor=st.sampled_from([None, "Ada"]),
    metadata=st.sampled_from([{}, {"t": "x"}, {"t": None}, {"n": 1}, {"n": True}]),
)  # fmt: skip
def test_matches_agrees_with_the_filters_sql(
    memories: list[tuple[Any, ...]],
    kinds: list[Any],
    states: list[Any],
    since: int | None,
    actor: str | None,
    metadata: dict[str, Any],
) -> None:
    store = SQLiteStore(":memory:")
    scope = Scope(user_id="u")
    records = [
        MemoryRecord(id=f"m{i}", scope=scope, kind=k, state=s, text="x", actor=a, metadata=meta,
                     recorded_at=T0 + timedelta(days=day))
        for i, (k, s, day, a, meta) in enumerate(memories)
    ]  # fmt: skip
    store.add([], records, at=T0)
    flt = Filters(kinds=tuple(kinds), states=tuple(states), actor=actor, metadata=metadata,
                  since=None if since is None else T0 + timedelta(days=since))  # fmt: skip
    found = {r.id for r in store.list(scope, flt, limit=100).records}
    assert found == {r.id for r in records if matches(r, flt)}
    store.close()


# -- memory at a past time ------------------------------------------------------------------------
def test_the_version_at_a_time_is_the_last_recorded_by_then_unless_expired() -> None:
    first = rec("a", 1, T0, expired=T0 + timedelta(hours=1))
    second = rec("a", 2, T0 + timedelta(hours=1), expired=T0 + timedelta(hours=3))
    chain = [first, second]
    assert timeline.version_at(chain, T0 - timedelta(seconds=1)) is None  # not yet recorded
    assert timeline.version_at(chain, T0) == first
    assert timeline.version_at(chain, T0 + timedelta(hours=1)) == second  # replaced then
    assert timeline.version_at(chain, T0 + timedelta(hours=2)) == second
    assert timeline.version_at(chain, T0 + timedelta(hours=3)) is None  # retired then
    assert timeline.version_at([], T0) is None


# -- list cursors ---------------------------------------------------------------------------------
def test_a_cursor_is_the_key_a_page_ends_at() -> None:
    assert encode_cursor(42) == "42"
    assert decode_cursor(encode_cursor(42)) == 42
    for bad in ("", "x", "4.2"):
        with pytest.raises(InvalidInputError, match="not valid"):
            decode_cursor(bad)
