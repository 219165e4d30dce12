"""The tables of the LLM write path and of memory at a past time, for the PostgreSQL store:
history-only events, message status, links between memories (A-MEM), the entity graph, and
``as_of``. Each function runs inside the caller's transaction; the semantics are the SQLite
store's, which the contract suite checks on both."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from memstrata.errors import InvalidInputError, NotFoundError
from memstrata.ports import Entity, Link, MessageStatus, PendingMessage, Triple
from memstrata.stores import timeline
from memstrata.stores.postgres.sql import (
    INSERT_HISTORY,
    SELECT,
    Conn,
    filters_sql,
    last_change,
    row_record,
    scope_sql,
    user_sql,
    utc,
)
from memstrata.types import (
    Filters,
    HistoryEvent,
    MemoryRecord,
    MemoryState,
    Message,
    Operation,
    Scope,
)

#: The tables that hold a memory's links and graph, erased with it.
MEMORY_TABLES = ("entity_mentions", "relations")
#: The tables keyed by scope, erased with a scope's messages.
SCOPE_TABLES = ("message_status", "entities")

#: A message's row of ``message_status`` (if any), by its exact scope and id.
STATUS_JOIN = (
    "LEFT JOIN message_status s ON s.tenant = m.tenant "
    "AND s.user_id IS NOT DISTINCT FROM m.user_id "
    "AND s.agent_id IS NOT DISTINCT FROM m.agent_id "
    "AND s.run_id IS NOT DISTINCT FROM m.run_id AND s.message_id = m.id"
)
#: Writing an exported status: one already there is kept, as the message is.
INSERT_STATUS = (
    "INSERT INTO message_status (tenant, user_id, agent_id, run_id, message_id, status, "
    "attempts, prompt_version, error, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT ON CONSTRAINT message_status_scope_id DO NOTHING"
)
INSERT_ENTITY = (
    "INSERT INTO entities (tenant, user_id, agent_id, run_id, key, name) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
INSERT_MENTION = (
    "INSERT INTO entity_mentions (tenant, memory_id, key) VALUES (%s, %s, %s) "
    "ON CONFLICT DO NOTHING"
)
INSERT_RELATION = (
    "INSERT INTO relations (tenant, memory_id, subject_key, subject, predicate, object_key, "
    "object) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
INSERT_LINK = (
    "INSERT INTO links (tenant, source, target, kind, score, at) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


def graph_rows(
    own: Scope, memory_id: str, entities: Sequence[Entity], relations: Sequence[Triple]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of ``INSERT_ENTITY``, ``INSERT_MENTION`` and ``INSERT_RELATION`` for what a
    memory names and states (entities registered under the memory's own scope)."""
    return (
        [(own.tenant, own.user_id, own.agent_id, own.run_id, e.key, e.name) for e in entities],
        [(own.tenant, memory_id, e.key) for e in entities],
        [(own.tenant, memory_id, t.subject_key, t.subject, t.predicate, t.object_key, t.object)
         for t in relations],
    )  # fmt: skip


def link_rows(tenant: str, links: Sequence[Link], at: datetime) -> list[tuple[Any, ...]]:
    """The rows of ``INSERT_LINK``; a link without a time of its own is made at ``at``."""
    return [(tenant, x.source, x.target, x.kind, float(x.score), x.at or at) for x in links]


def export_graph(
    conn: Conn, tenant: str, records: Mapping[str, MemoryRecord]
) -> dict[str, tuple[list[Link], list[Entity], list[Triple]]]:
    """For each memory: the links whose source it is (whether or not the other end is here
    yet), the entities it names (under the name its scope knows each by) and its relations."""
    ids = list(records)
    out: dict[str, tuple[list[Link], list[Entity], list[Triple]]] = {i: ([], [], []) for i in ids}
    for r in conn.execute(
        "SELECT source, target, kind, score, at FROM links WHERE tenant = %s AND source = ANY(%s)",
        (tenant, ids),
    ):
        out[r[0]][0].append(Link(r[0], r[1], r[2], r[3], utc(r[4])))
    mentions = conn.execute(
        "SELECT memory_id, key FROM entity_mentions WHERE tenant = %s AND memory_id = ANY(%s)",
        (tenant, ids),
    ).fetchall()
    wanted: dict[tuple[str | None, str | None, str | None], set[str]] = {}
    for memory_id, key in mentions:
        s = records[memory_id].scope
        wanted.setdefault((s.user_id, s.agent_id, s.run_id), set()).add(key)
    names: dict[tuple[str | None, str | None, str | None, str], str] = {}
    for exact, keys in wanted.items():  # one lookup per exact scope, by the unique index
        clauses: builtins.list[str] = []
        params: builtins.list[str] = []
        for column, value in zip(("user_id", "agent_id", "run_id"), exact, strict=True):
            clauses.append(f"{column} IS NULL" if value is None else f"{column} = %s")
            params.extend(() if value is None else (value,))
        for key, name in conn.execute(
            f"SELECT key, name FROM entities WHERE tenant = %s AND {' AND '.join(clauses)} "
            "AND key = ANY(%s)",
            [tenant, *params, sorted(keys)],
        ):
            names[(*exact, key)] = name
    for memory_id, key in mentions:
        s = records[memory_id].scope
        name = names.get((s.user_id, s.agent_id, s.run_id, key), key)
        out[memory_id][1].append(Entity(key=key, name=name))
    for r in conn.execute(
        "SELECT subject_key, subject, predicate, object_key, object, memory_id FROM relations "
        "WHERE tenant = %s AND memory_id = ANY(%s)",
        (tenant, ids),
    ):
        out[r[5]][2].append(Triple(*r))
    return out


def current(conn: Conn, scope: Scope, memory_id: str, *, lock: bool = False) -> MemoryRecord:
    where, params = scope_sql(scope)
    row = conn.execute(
        f"SELECT {SELECT} FROM memories m WHERE {where} AND m.id = %s"
        + (" FOR UPDATE" if lock else ""),
        [*params, memory_id],
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no memory {memory_id!r} in scope {scope}")
    return row_record(row)


def erase_memories(conn: Conn, tenant: str, ids: builtins.list[str]) -> None:
    """Delete the links and graph rows of memories being erased."""
    for table in MEMORY_TABLES:
        conn.execute(
            f"DELETE FROM {table} WHERE tenant = %s AND memory_id = ANY(%s)", (tenant, ids)
        )
    conn.execute(
        "DELETE FROM links WHERE tenant = %s AND (source = ANY(%s) OR target = ANY(%s))",
        (tenant, ids, ids),
    )


def erase_scope(conn: Conn, scope: Scope) -> None:
    where, params = scope_sql(scope)
    for table in SCOPE_TABLES:
        conn.execute(f"DELETE FROM {table} m WHERE {where}", params)


def add_event(
    conn: Conn,
    scope: Scope,
    memory_id: str,
    op: Operation,
    *,
    at: datetime,
    reason: str | None,
    prompt_version: str | None,
    text: str | None,
) -> HistoryEvent:
    record = current(conn, scope, memory_id, lock=True)
    at = timeline.change_time(at, record.recorded_at, last_change(conn, record))
    s = record.scope
    row = conn.execute(
        INSERT_HISTORY + " RETURNING id",
        (s.tenant, record.id, s.user_id, record.version, op, at, reason, prompt_version, text,
         None, record.state),
    ).fetchone()  # fmt: skip
    assert row is not None
    return HistoryEvent(
        memory_id=record.id, version=record.version, op=op, at=at, reason=reason,
        prompt_version=prompt_version, text=text, state=record.state, id=row[0],
    )  # fmt: skip


def mark_messages(
    conn: Conn,
    scope: Scope,
    ids: Sequence[str],
    status: MessageStatus,
    *,
    at: datetime,
    prompt_version: str | None,
    error: str | None,
) -> None:
    if status not in ("done", "failed"):
        raise InvalidInputError(f"unknown message status {status!r}")
    rows = [
        (scope.tenant, scope.user_id, scope.agent_id, scope.run_id, message_id, status,
         prompt_version, error, at)
        for message_id in dict.fromkeys(ids)
    ]  # fmt: skip
    if not rows:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO message_status (tenant, user_id, agent_id, run_id, message_id, status, "
            "attempts, prompt_version, error, at) VALUES (%s, %s, %s, %s, %s, %s, 1, %s, %s, %s) "
            "ON CONFLICT ON CONSTRAINT message_status_scope_id DO UPDATE SET "
            "status = excluded.status, attempts = message_status.attempts + 1, "
            "prompt_version = excluded.prompt_version, error = excluded.error, at = excluded.at",
            rows,
        )


def pending_messages(
    conn: Conn, scope: Scope, *, include_failed: bool, exact: bool, limit: int
) -> builtins.list[PendingMessage]:
    if exact:
        user, uparams = user_sql(scope.user_id, "m")
        where = (
            f"m.tenant = %s AND {user} AND m.agent_id IS NOT DISTINCT FROM %s "
            "AND m.run_id IS NOT DISTINCT FROM %s"
        )
        params: builtins.list[Any] = [scope.tenant, *uparams, scope.agent_id, scope.run_id]
    else:
        where, params = scope_sql(scope)
    wanted = "s.status IS NULL" + (" OR s.status = 'failed'" if include_failed else "")
    rows = conn.execute(
        "SELECT m.tenant, m.user_id, m.agent_id, m.run_id, m.id, m.role, m.speaker, m.text, "
        f"m.ts, m.metadata, s.status, s.attempts FROM messages m {STATUS_JOIN} "
        f"WHERE {where} AND ({wanted}) ORDER BY m.pk LIMIT %s",
        [*params, limit],
    ).fetchall()
    return [
        PendingMessage(
            scope=Scope(tenant=r[0], user_id=r[1], agent_id=r[2], run_id=r[3]),
            message=Message(
                id=r[4], role=r[5], speaker=r[6], text=r[7], timestamp=utc(r[8]), metadata=r[9]
            ),
            status="failed" if r[10] == "failed" else "new",
            attempts=r[11] or 0,
        )
        for r in rows
    ]


def add_links(conn: Conn, scope: Scope, links: Sequence[Link], at: datetime) -> None:
    where, params = scope_sql(scope)
    in_scope = f"EXISTS (SELECT 1 FROM memories m WHERE {where} AND m.id = %s)"
    rows = [
        [scope.tenant, link.source, link.target, link.kind, float(link.score),
         link.at or at, *params, link.source, *params, link.target]
        for link in links
    ]  # fmt: skip
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO links (tenant, source, target, kind, score, at) "
            f"SELECT %s, %s, %s, %s, %s, %s WHERE {in_scope} AND {in_scope} "
            "ON CONFLICT DO NOTHING",
            rows,
        )


def links(conn: Conn, scope: Scope, memory_id: str) -> builtins.list[Link]:
    current(conn, scope, memory_id)
    where, params = scope_sql(scope)
    rows = conn.execute(
        "SELECT l.source, l.target, l.kind, l.score, l.at FROM links l "
        "JOIN memories m ON m.tenant = l.tenant "
        "AND m.id = CASE WHEN l.source = %s THEN l.target ELSE l.source END "
        f"WHERE l.tenant = %s AND (l.source = %s OR l.target = %s) AND {where} "
        'ORDER BY l.at, l.source COLLATE "C", l.target COLLATE "C"',
        [memory_id, scope.tenant, memory_id, memory_id, *params],
    ).fetchall()
    return [Link(r[0], r[1], r[2], r[3], utc(r[4])) for r in rows]


def put_graph(
    conn: Conn,
    scope: Scope,
    memory_id: str,
    entities: Sequence[Entity],
    relations: Sequence[Triple],
) -> None:
    own = current(conn, scope, memory_id, lock=True).scope
    for table in MEMORY_TABLES:
        conn.execute(
            f"DELETE FROM {table} WHERE tenant = %s AND memory_id = %s", (own.tenant, memory_id)
        )
    rows = graph_rows(own, memory_id, entities, relations)
    with conn.cursor() as cur:
        for sql, batch in zip((INSERT_ENTITY, INSERT_MENTION, INSERT_RELATION), rows, strict=True):
            if batch:
                cur.executemany(sql, batch)


def find_entities(
    conn: Conn, scope: Scope, keys: Sequence[str] | None, *, limit: int
) -> builtins.list[Entity]:
    if keys is not None and not keys:
        return []
    ewhere, eparams = scope_sql(scope, "e")
    mwhere, mparams = scope_sql(scope)
    chosen = "" if keys is None else " AND e.key = ANY(%s)"
    rows = conn.execute(
        'SELECT k.key, k.name, k.mentions FROM (SELECT e.key, min(e.name COLLATE "C") AS name, '
        "(SELECT count(DISTINCT em.memory_id) FROM entity_mentions em JOIN memories m "
        "ON m.tenant = em.tenant AND m.id = em.memory_id "
        f"WHERE em.tenant = %s AND em.key = e.key AND {mwhere} AND m.state = 'active') "
        f"AS mentions FROM entities e WHERE {ewhere}{chosen} GROUP BY e.key) k "
        'WHERE k.mentions > 0 ORDER BY k.mentions DESC, k.key COLLATE "C" LIMIT %s',
        [scope.tenant, *mparams, *eparams, *([] if keys is None else [list(keys)]), limit],
    ).fetchall()
    return [Entity(key=r[0], name=r[1], mentions=r[2]) for r in rows]


def relations(conn: Conn, scope: Scope, keys: Sequence[str], *, limit: int) -> list[Triple]:
    if not keys:
        return []
    where, params = scope_sql(scope)
    rows = conn.execute(
        "SELECT r.subject_key, r.subject, r.predicate, r.object_key, r.object, r.memory_id "
        "FROM relations r JOIN memories m ON m.tenant = r.tenant AND m.id = r.memory_id "
        f"WHERE {where} AND m.state = 'active' AND m.expired_at IS NULL "
        "AND (r.subject_key = ANY(%s) OR r.object_key = ANY(%s)) ORDER BY m.pk DESC LIMIT %s",
        [*params, list(keys), list(keys), limit],
    ).fetchall()
    return [Triple(*r) for r in rows]


def entity_search(
    conn: Conn, scope: Scope, weights: Mapping[str, float], filters: Filters, *, limit: int
) -> builtins.list[tuple[MemoryRecord, float]]:
    if not weights:
        return []
    where, params = scope_sql(scope)
    fwhere, fparams = filters_sql(filters)
    rows = conn.execute(
        f"SELECT s.score, {SELECT} FROM (SELECT em.memory_id, sum(w.weight) AS score "
        "FROM unnest(%s::text[], %s::float8[]) AS w (key, weight) "
        "JOIN entity_mentions em ON em.tenant = %s AND em.key = w.key GROUP BY em.memory_id) s "
        f"JOIN memories m ON m.tenant = %s AND m.id = s.memory_id WHERE {where} AND {fwhere} "
        "ORDER BY s.score DESC, m.importance DESC, m.pk DESC LIMIT %s",
        [list(weights), [float(v) for v in weights.values()], scope.tenant, scope.tenant,
         *params, *fparams, limit],
    ).fetchall()  # fmt: skip
    return [(row_record(r[1:]), float(r[0])) for r in rows]


def _version_at(versions: Sequence[MemoryRecord], at: datetime) -> MemoryRecord | None:
    """The version that was current at system time ``at`` and not yet expired, if any."""
    for version in reversed(versions):
        if version.recorded_at <= at:
            return version if version.expired_at is None or version.expired_at > at else None
    return None


def _matches(record: MemoryRecord, filters: Filters) -> bool:
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


def as_of(conn: Conn, scope: Scope, at: datetime, filters: Filters) -> builtins.list[MemoryRecord]:
    where, params = scope_sql(scope)
    records = [
        row_record(r)
        for r in conn.execute(
            f"SELECT {SELECT} FROM memories m WHERE {where} ORDER BY m.pk", params
        )
    ]
    older: dict[str, builtins.list[MemoryRecord]] = {}
    for memory_id, snapshot in conn.execute(
        "SELECT v.memory_id, v.record FROM memory_versions v JOIN memories m "
        f"ON m.tenant = v.tenant AND m.id = v.memory_id WHERE {where} ORDER BY v.version",
        params,
    ):
        older.setdefault(memory_id, []).append(MemoryRecord.from_dict(snapshot, scope.tenant))
    states: dict[str, MemoryState] = {}
    for memory_id, state in conn.execute(
        "SELECT h.memory_id, h.state FROM history h JOIN memories m "
        f"ON m.tenant = h.tenant AND m.id = h.memory_id WHERE {where} "
        "AND h.at <= %s AND h.state IS NOT NULL ORDER BY h.at, h.id",
        [*params, at],
    ):
        states[memory_id] = state
    out: builtins.list[MemoryRecord] = []
    for record in records:
        then = _version_at([*older.get(record.id, ()), record], at)
        if then is None:
            continue
        then = replace(then, state=states.get(record.id, then.state))
        if _matches(then, filters):
            out.append(then)
    return out
