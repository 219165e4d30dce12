"""The WHERE fragments every query is confined by (scope and filters), their Python twin for
rows that have no columns (``matches``), sort orders and list cursors. Pure functions: each
returns a fragment written with ``?`` placeholders and its parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memstrata import where
from memstrata.errors import InvalidInputError
from memstrata.stores.sql.dialect import Dialect
from memstrata.types import Filters, MemoryRecord, MemoryState, Scope

SCOPE_FIELDS = ("user_id", "agent_id", "run_id")


def scope_sql(scope: Scope, alias: str = "m") -> tuple[str, list[Any]]:
    """The scope: its tenant, and each of its ids that is given."""
    clauses = [f"{alias}.tenant = ?"]
    params: list[Any] = [scope.tenant]
    for name, value in scope.as_dict().items():
        clauses.append(f"{alias}.{name} = ?")
        params.append(value)
    return " AND ".join(clauses), params


def scope_rows_sql(d: Dialect, scope: Scope, alias: str = "m") -> tuple[str, list[Any]]:
    """``scope_sql`` for a table whose rows each belong to one exact scope (``scope_stats``,
    ``entities``), in the form the backend's index on it serves (``Dialect.exact``; ids are
    never empty, so it selects the same rows). SQLite indexes them on ``ifnull(user_id, '')``…:
    ``user_id = ?`` would read every scope of the tenant."""
    return _exactly(d, scope, alias, list(scope.as_dict()))


def exact_scope_sql(d: Dialect, scope: Scope, alias: str = "m") -> tuple[str, list[Any]]:
    """Exactly the scope: its tenant, and each id equal to the scope's, absent ones absent."""
    return _exactly(d, scope, alias, SCOPE_FIELDS)


def _exactly(d: Dialect, scope: Scope, alias: str, names: Sequence[str]) -> tuple[str, list[Any]]:
    """The scope's tenant, and each of its ids ``names`` (``Dialect.exact``, absent ones too)."""
    clauses = [f"{alias}.tenant = ?"]
    params: list[Any] = [scope.tenant]
    for name in names:
        clause, values = d.exact(f"{alias}.{name}", getattr(scope, name))
        clauses.append(clause)
        params.extend(values)
    return " AND ".join(clauses), params


def user_sql(d: Dialect, user_id: str | None, alias: str = "") -> tuple[str, list[Any]]:
    """`` AND user_id = ?`` (or ``IS NULL``) for a dialect whose statements name the user of
    the memory they touch (``Dialect.by_user``); nothing for the others."""
    if not d.by_user:
        return "", []
    column = f"{alias}.user_id" if alias else "user_id"
    return (f" AND {column} IS NULL", []) if user_id is None else (f" AND {column} = ?", [user_id])


def filters_sql(d: Dialect, filters: Filters, alias: str = "m") -> tuple[str, list[Any]]:
    """The filters (``Filters``) as one fragment; ``1 = 1`` when there are none."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, values in (
        ("state", stored_states(filters)),
        ("kind", filters.kinds),
        ("layer", filters.layers),
    ):
        if values:
            clause, values_params = d.any_of(f"{alias}.{column}", values)
            clauses.append(clause)
            params.extend(values_params)
    if filters.current_at is not None:
        clause, values_params = current_sql(d, filters, alias)
        clauses.append(clause)
        params.extend(values_params)
    when = f"coalesce({alias}.valid_from, {alias}.recorded_at)"
    if filters.since is not None:
        clauses.append(f"{when} >= ?")
        params.append(d.time(filters.since))
    if filters.until is not None:
        clauses.append(f"{when} <= ?")
        params.append(d.time(filters.until))
    if filters.actor is not None:
        clauses.append(f"{alias}.actor = ?")
        params.append(filters.actor)
    for key, value in filters.metadata.items():
        clause, values_params = d.metadata_equals(f"{alias}.metadata", key, value)
        clauses.append(clause)
        params.extend(values_params)
    if filters.where is not None:
        clause, values_params = expr_sql(d, where.parse(filters.where), alias)
        clauses.append(clause)
        params.extend(values_params)
    return (" AND ".join(clauses) or "1 = 1"), params


def current_sql(d: Dialect, filters: Filters, alias: str = "m") -> tuple[str, list[Any]]:
    """What ``Filters.current_at`` adds to the stored states: a fact whose ``valid_to`` has
    passed is left out, and an active memory whose ``expires_at`` has come reads as archived
    (left out when the filter wants active but not archived memories, let in when it wants
    archived but not active ones)."""
    at = d.time(filters.current_at)
    ended = f"{alias}.kind = 'fact' AND {alias}.valid_to IS NOT NULL AND {alias}.valid_to <= ?"
    expired = (
        f"{alias}.state = 'active' AND {alias}.expires_at IS NOT NULL AND {alias}.expires_at <= ?"
    )
    clause, params = f"NOT ({ended})", [at]
    wanted = set(filters.states)
    if "active" in wanted and "archived" not in wanted:
        clause, params = f"{clause} AND NOT ({expired})", [*params, at]
    elif "archived" in wanted and "active" not in wanted:
        states, sparams = d.any_of(f"{alias}.state", filters.states)
        return f"{clause} AND ({states} OR ({expired}))", [*params, *sparams, at]
    return clause, params


def stored_states(filters: Filters) -> tuple[MemoryState, ...]:
    """The stored states a query asks for: with ``current_at``, an expired active memory reads
    as archived, so a filter that wants archived memories reads active ones too."""
    if filters.current_at is not None and "archived" in filters.states:
        return tuple(dict.fromkeys((*filters.states, "active")))
    return filters.states


_SQL_OPS = {"eq": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def expr_sql(d: Dialect, expr: where.Expr, alias: str = "m") -> tuple[str, list[Any]]:
    """A ``where`` expression (``memstrata.where``) as a predicate over the memories ``alias``
    that is never NULL, with its parameters: every value is bound, never written into the SQL."""
    if isinstance(expr, where.And | where.Or):
        joined = " AND " if isinstance(expr, where.And) else " OR "
        parts = [expr_sql(d, x, alias) for x in expr.items]
        return "(" + joined.join(p[0] for p in parts) + ")", [v for p in parts for v in p[1]]
    if isinstance(expr, where.Not):
        inner, params = expr_sql(d, expr.item, alias)
        return f"NOT {inner}", params
    if expr.field == "metadata":
        return _metadata_sql(d, expr, f"{alias}.metadata")
    column = f"{alias}.{expr.field}"
    if expr.op == "exists":
        return f"({column} IS NOT NULL)", []
    if expr.type == "list":
        return f"({d.list_has(column)})", [expr.value]

    def bound(value: Any) -> Any:
        return d.time(value) if expr.type == "time" else value

    if expr.op == "contains":
        return f"({column} IS NOT NULL AND {d.substring(column)})", [expr.value]
    if expr.op == "in":
        values = [bound(v) for v in expr.value]  # type: ignore[union-attr]
        marks = ", ".join("?" * len(values))
        return f"({column} IS NOT NULL AND {column} IN ({marks}))", values
    op = _SQL_OPS[expr.op]
    return f"({column} IS NOT NULL AND {column} {op} ?)", [bound(expr.value)]


def _metadata_sql(d: Dialect, expr: where.Compare, column: str) -> tuple[str, list[Any]]:
    if expr.op == "exists":
        clause, params = d.json_exists(column, expr.path)
        return f"({clause})", params
    if expr.op == "contains":
        return d.json_contains(column, expr.path, expr.value)  # type: ignore[arg-type]
    if expr.op == "in":
        parts = [d.json_compare(column, expr.path, "=", v) for v in expr.value]  # type: ignore[union-attr,arg-type]
        return "(" + " OR ".join(p[0] for p in parts) + ")", [v for p in parts for v in p[1]]
    return d.json_compare(column, expr.path, _SQL_OPS[expr.op], expr.value)  # type: ignore[arg-type]


def matches(record: MemoryRecord, filters: Filters) -> bool:
    """``filters_sql`` for one record in Python (for versions, which have no columns)."""
    at = filters.current_at
    state = record.state if at is None else where.current_state(record, at)
    if filters.states and state not in filters.states:
        return False
    if at is not None and where.ended(record, at):
        return False
    if filters.kinds and record.kind not in filters.kinds:
        return False
    if filters.layers and record.layer not in filters.layers:
        return False
    when = record.valid_from or record.recorded_at
    if filters.since is not None and when < filters.since:
        return False
    if filters.until is not None and when > filters.until:
        return False
    if filters.actor is not None and record.actor != filters.actor:
        return False
    if filters.where is not None and not where.matches(filters.where, record):
        return False
    return all(record.metadata.get(k) == v for k, v in filters.metadata.items())


def order(d: Dialect, *columns: str) -> str:
    """An ``ORDER BY`` list of text columns: by their bytes, NULL first, on every backend."""
    return ", ".join(f"{c}{d.collate}{d.nulls_first}" for c in columns)


def encode_cursor(pk: int) -> str:
    """The cursor of a listing page that ends at the memory with key ``pk``."""
    return str(pk)


def decode_cursor(cursor: str) -> int:
    """The key a listing resumes below; ``InvalidInputError`` for a cursor no page gave."""
    try:
        pk = int(cursor)
    except ValueError:
        pk = -1
    if not 0 <= pk < 2**63:  # a row key, as the store's integer column holds it
        raise InvalidInputError(f"cursor {cursor!r} is not valid")
    return pk
