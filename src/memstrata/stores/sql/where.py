"""The WHERE fragments every query is confined by (scope and filters), their Python twin for
rows that have no columns (``matches``), sort orders and list cursors. Pure functions: each
returns a fragment written with ``?`` placeholders and its parameters."""

from __future__ import annotations

from typing import Any

from memstrata.errors import InvalidInputError
from memstrata.stores.sql.dialect import Dialect
from memstrata.types import Filters, MemoryRecord, Scope

SCOPE_FIELDS = ("user_id", "agent_id", "run_id")


def scope_sql(scope: Scope, alias: str = "m") -> tuple[str, list[Any]]:
    """The scope: its tenant, and each of its ids that is given."""
    clauses = [f"{alias}.tenant = ?"]
    params: list[Any] = [scope.tenant]
    for name, value in scope.as_dict().items():
        clauses.append(f"{alias}.{name} = ?")
        params.append(value)
    return " AND ".join(clauses), params


def exact_scope_sql(d: Dialect, scope: Scope, alias: str = "m") -> tuple[str, list[Any]]:
    """Exactly the scope: its tenant, and each id equal to the scope's, absent ones absent."""
    clauses = [f"{alias}.tenant = ?"]
    params: list[Any] = [scope.tenant]
    for name in SCOPE_FIELDS:
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
        ("state", filters.states),
        ("kind", filters.kinds),
        ("layer", filters.layers),
    ):
        if values:
            clause, values_params = d.any_of(f"{alias}.{column}", values)
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
    return (" AND ".join(clauses) or "1 = 1"), params


def matches(record: MemoryRecord, filters: Filters) -> bool:
    """``filters_sql`` for one record in Python (for versions, which have no columns)."""
    if filters.states and record.state not in filters.states:
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
