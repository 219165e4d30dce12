"""SQL shared by the PostgreSQL store's modules: column lists, row conversions, and the WHERE
fragments for scopes and filters (the same semantics as the SQLite store's)."""

from __future__ import annotations

import builtins
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from memstrata.ports import ApiKey
from memstrata.stores.postgres.schema import TEXT_SEARCH_CONFIG
from memstrata.types import Filters, HistoryEvent, MemoryRecord, Operation, Scope

Conn = psycopg.Connection[Any]

NAMES = (
    "id", "tenant", "user_id", "agent_id", "run_id", "kind", "text", "sources", "keys",
    "entities", "actor", "subject", "valid_from", "valid_to", "recorded_at", "expired_at",
    "version", "supersedes", "state", "importance", "strength", "recall_count", "last_recalled",
    "layer", "metadata",
)  # fmt: skip
COLUMNS = ", ".join(NAMES)
SELECT = ", ".join(f"m.{c}" for c in NAMES)
VALUES = ", ".join(["%s"] * len(NAMES))
SEARCH = (
    f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', %s), 'A') || "
    f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', %s), 'B')"
)
INSERT_MEMORY = (
    f"INSERT INTO memories ({COLUMNS}, embedding, search) VALUES ({VALUES}, %s, {SEARCH})"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (tenant, user_id, agent_id, run_id, id, role, speaker, text, ts, "
    "metadata, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
INSERT_VERSION = (
    "INSERT INTO memory_versions (tenant, memory_id, version, user_id, record) "
    "VALUES (%s, %s, %s, %s, %s)"
)
INSERT_HISTORY = (
    "INSERT INTO history (tenant, memory_id, user_id, version, op, at, reason, prompt_version, "
    "text, previous_text, state) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
HISTORY_COLUMNS = (
    "id, memory_id, version, op, at, reason, prompt_version, text, previous_text, state"
)
API_KEY_COLUMNS = "id, tenant, key_hash, created_at, name, revoked_at"
STATE_OPS: dict[str, Operation] = {"deleted": "DELETE", "active": "RESTORE", "archived": "ARCHIVE"}
#: Keyword weights {D, C, B, A}: the text is weighted A, the keys B (as bm25(1.0, 0.5) in SQLite).
RANK_WEIGHTS = "{0, 0, 0.5, 1.0}"
_WORD = re.compile(r"\w+")
BATCH = 500


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def record_params(record: MemoryRecord) -> tuple[Any, ...]:
    s = record.scope
    return (
        record.id, s.tenant, s.user_id, s.agent_id, s.run_id, record.kind, record.text,
        list(record.sources), list(record.keys), list(record.entities), record.actor,
        record.subject, record.valid_from, record.valid_to, record.recorded_at, record.expired_at,
        record.version, record.supersedes, record.state, record.importance, record.strength,
        record.recall_count, record.last_recalled, record.layer, Jsonb(dict(record.metadata)),
    )  # fmt: skip


def search_params(record: MemoryRecord) -> tuple[str, str]:
    return fold(record.text), fold(" ".join(record.keys))


def as_vector(value: Any) -> np.ndarray[Any, np.dtype[np.float32]] | None:
    if value is None:
        return None
    return np.asarray(value, dtype=np.float32).reshape(-1)


def row_record(row: Sequence[Any]) -> MemoryRecord:
    recorded_at = utc(row[14])
    assert recorded_at is not None
    return MemoryRecord(
        id=row[0],
        scope=Scope(user_id=row[2], agent_id=row[3], run_id=row[4], tenant=row[1]),
        kind=row[5],
        text=row[6],
        sources=tuple(row[7]),
        keys=tuple(row[8]),
        entities=tuple(row[9]),
        actor=row[10],
        subject=row[11],
        valid_from=utc(row[12]),
        valid_to=utc(row[13]),
        recorded_at=recorded_at,
        expired_at=utc(row[15]),
        version=row[16],
        supersedes=row[17],
        state=row[18],
        importance=row[19],
        strength=row[20],
        recall_count=row[21],
        last_recalled=utc(row[22]),
        layer=row[23],
        metadata=row[24],
    )


def history_event(r: Sequence[Any]) -> HistoryEvent:
    at = utc(r[4])
    assert at is not None
    return HistoryEvent(
        id=r[0], memory_id=r[1], version=r[2], op=r[3], at=at, reason=r[5],
        prompt_version=r[6], text=r[7], previous_text=r[8], state=r[9],
    )  # fmt: skip


def last_change(conn: Conn, record: MemoryRecord) -> datetime | None:
    """The time of the memory's latest history row."""
    user, uparams = user_sql(record.scope.user_id)
    row = conn.execute(
        f"SELECT max(at) FROM history WHERE tenant = %s AND {user} AND memory_id = %s",
        [record.scope.tenant, *uparams, record.id],
    ).fetchone()
    return None if row is None else utc(row[0])


def api_key_row(r: Sequence[Any]) -> ApiKey:
    created_at = utc(r[3])
    assert created_at is not None
    return ApiKey(id=r[0], tenant=r[1], key_hash=r[2], created_at=created_at, name=r[4],
                  revoked_at=utc(r[5]))  # fmt: skip


def fold(text: str) -> str:
    """Text with its diacritics removed (as SQLite's ``remove_diacritics``), for indexing."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tsquery_words(text: str) -> list[str]:
    """The distinct words of ``text`` a keyword search may ask for (the same words as SQLite's
    ``query_words``, diacritics folded), sorted."""
    return sorted({w for w in _WORD.findall(fold(text).lower()) if len(w) > 1 or w.isdigit()})


def tsquery_text(words: Sequence[str]) -> str | None:
    """A ``to_tsquery`` OR-query of ``words``, each quoted."""
    if not words:
        return None
    return " | ".join(f"'{w}'" for w in words)


def user_sql(user_id: str | None, alias: str = "") -> tuple[str, list[Any]]:
    """``user_id = %s`` or ``user_id IS NULL``: forms that let PostgreSQL prune partitions and
    Citus route a statement to one shard (``IS NOT DISTINCT FROM`` does neither)."""
    column = f"{alias}.user_id" if alias else "user_id"
    return (f"{column} IS NULL", []) if user_id is None else (f"{column} = %s", [user_id])


def scope_sql(scope: Scope, alias: str = "m") -> tuple[str, list[Any]]:
    """The WHERE fragment that confines a query to a scope (tenant plus every given id)."""
    clauses = [f"{alias}.tenant = %s"]
    params: builtins.list[Any] = [scope.tenant]
    for name, value in scope.as_dict().items():
        clauses.append(f"{alias}.{name} = %s")
        params.append(value)
    return " AND ".join(clauses), params


def metadata_candidates(value: str | int | float | bool) -> builtins.list[Jsonb]:
    """The JSON values SQLite's ``json_extract(...) = ?`` treats as equal to ``value``.

    SQLite reads JSON ``true``/``false`` as 1/0 and binds a bool as 1/0, so booleans and the
    numbers 1 and 0 match each other; numbers compare by value.
    """
    if isinstance(value, bool):
        return [Jsonb(value), Jsonb(int(value))]
    out = [Jsonb(value)]
    if isinstance(value, int | float) and value in (0, 1):
        out.append(Jsonb(bool(value)))
    return out


def filters_sql(filters: Filters, alias: str = "m") -> tuple[str, list[Any]]:
    clauses: builtins.list[str] = []
    params: builtins.list[Any] = []
    for column, values in (
        ("state", filters.states),
        ("kind", filters.kinds),
        ("layer", filters.layers),
    ):
        if values:
            clauses.append(f"{alias}.{column} = ANY(%s)")
            params.append(list(values))
    when = f"coalesce({alias}.valid_from, {alias}.recorded_at)"
    if filters.since is not None:
        clauses.append(f"{when} >= %s")
        params.append(filters.since)
    if filters.until is not None:
        clauses.append(f"{when} <= %s")
        params.append(filters.until)
    if filters.actor is not None:
        clauses.append(f"{alias}.actor = %s")
        params.append(filters.actor)
    for key, value in filters.metadata.items():
        path = f"({alias}.metadata -> %s)"
        if value is None:
            clauses.append(f"({path} IS NULL OR {path} = 'null'::jsonb)")
            params.extend([key, key])
        else:
            candidates = metadata_candidates(value)
            clauses.append(f"{path} IN ({', '.join(['%s'] * len(candidates))})")
            params.extend([key, *candidates])
    return (" AND ".join(clauses) or "TRUE"), params
