"""Rows and records: the column lists, each record and event as parameters and back, and the
statements that write them (built once per dialect)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from memstrata.ports import ApiKey, Columns, Link, Vector
from memstrata.stores.sql.dialect import Dialect, Row, marks
from memstrata.terms import Brief, Briefs
from memstrata.types import HistoryEvent, MemoryRecord, Message, Scope

NAMES = (
    "id", "tenant", "user_id", "agent_id", "run_id", "kind", "text", "sources", "keys",
    "entities", "actor", "subject", "valid_from", "valid_to", "recorded_at", "expired_at",
    "version", "supersedes", "state", "importance", "strength", "recall_count", "last_recalled",
    "layer", "metadata", "expires_at",
)  # fmt: skip
COLUMNS = ", ".join(NAMES)
_WIDTH = len(NAMES)
#: The columns of ``memories m``, in ``NAMES`` order (``record``).
SELECT = ", ".join(f"m.{c}" for c in NAMES)
HISTORY = "id, memory_id, version, op, at, reason, prompt_version, text, previous_text, state"
API_KEY = "id, tenant, key_hash, created_at, name, revoked_at"
#: The columns of ``messages m`` that make a ``Message`` (``message``).
MESSAGE = "m.id, m.role, m.speaker, m.text, m.ts, m.metadata"
SCOPE_COLUMNS = "tenant, user_id, agent_id, run_id"


@functools.lru_cache(maxsize=4096)
def scope(tenant: str, user_id: str | None, agent_id: str | None, run_id: str | None) -> Scope:
    """Scopes are frozen: one instance per scope serves every row read (and is checked once)."""
    return Scope(user_id=user_id, agent_id=agent_id, run_id=run_id, tenant=tenant)


def record_params(d: Dialect, record: MemoryRecord) -> tuple[Any, ...]:
    """A record as the parameters of ``COLUMNS``."""
    s = record.scope
    return (
        record.id, s.tenant, s.user_id, s.agent_id, s.run_id, record.kind, record.text,
        d.strings(record.sources), d.strings(record.keys), d.strings(record.entities),
        record.actor, record.subject, d.time(record.valid_from), d.time(record.valid_to),
        d.time(record.recorded_at), d.time(record.expired_at), record.version, record.supersedes,
        record.state, record.importance, record.strength, record.recall_count,
        d.time(record.last_recalled), record.layer, d.json(dict(record.metadata)),
        d.time(record.expires_at),
    )  # fmt: skip


def record(d: Dialect, row: Row) -> MemoryRecord:
    """A row that starts with the columns of ``SELECT``, as a record (a search reads hundreds:
    an unset time, as most are, does not go through the dialect)."""
    time_of, strings_of = d.time_of, d.strings_of
    (id_, tenant, user_id, agent_id, run_id, kind, text, sources, keys, entities, actor, subject,
     valid_from, valid_to, recorded_at, expired_at, version, supersedes, state, importance,
     strength, recall_count, last_recalled, layer, metadata, expires_at) = row[:_WIDTH]  # fmt: skip
    recorded = time_of(recorded_at)
    assert recorded is not None
    return MemoryRecord(
        id=id_,
        scope=scope(tenant, user_id, agent_id, run_id),
        kind=kind,
        text=text,
        sources=strings_of(sources),
        keys=strings_of(keys),
        entities=strings_of(entities),
        actor=actor,
        subject=subject,
        valid_from=None if valid_from is None else time_of(valid_from),
        valid_to=None if valid_to is None else time_of(valid_to),
        recorded_at=recorded,
        expired_at=None if expired_at is None else time_of(expired_at),
        version=version,
        supersedes=supersedes,
        state=state,
        importance=importance,
        strength=strength,
        recall_count=recall_count,
        last_recalled=None if last_recalled is None else time_of(last_recalled),
        layer=layer,
        metadata=d.json_of(metadata),
        expires_at=None if expires_at is None else time_of(expires_at),
    )


#: The columns of ``memories m`` that make a ``Brief`` (``brief``): a search reads hundreds
#: of memories' and the whole record of a few.
BRIEF_NAMES = ("id", "text", "kind", "actor", "sources", "keys", "valid_from", "recorded_at")
BRIEF = ", ".join(f"m.{c}" for c in BRIEF_NAMES)
#: The columns of ``BRIEF`` in a row of ``SELECT``.
BRIEF_IN_SELECT = operator.itemgetter(*(NAMES.index(name) for name in BRIEF_NAMES))


def brief(d: Dialect, row: Row) -> Brief:
    """What the ranker reads of a row that starts with the columns of ``BRIEF``."""
    id_, text, kind, actor, sources, keys, valid_from, recorded_at = row[: len(BRIEF_NAMES)]
    at = d.time_of(recorded_at if valid_from is None else valid_from)
    assert at is not None
    return Brief(id_, text, kind, actor, d.strings_of(sources), d.strings_of(keys), at)


class Briefed:
    """Reads rows that hold a vector at ``vector`` and ``BRIEF``'s columns from ``start``
    (``ports.RowReader``): one row's when asked, or a search's candidates' at once, as columns,
    without a ``Brief`` for each."""

    def __init__(self, d: Dialect, *, vector: int, start: int) -> None:
        self._d, self._vector, self._start = d, vector, start

    def brief(self, row: Row) -> Brief:
        return brief(self._d, row[self._start :])

    def vector(self, row: Row) -> Vector | None:
        return self._d.vector_of(row[self._vector])

    def columns(self, rows: Sequence[Row]) -> Columns:
        d = self._d
        if not rows:
            return Columns.of([], [])
        columns = list(zip(*rows, strict=True))
        ids, texts, kinds, actors, sources, keys, valid_from, recorded_at = columns[
            self._start : self._start + len(BRIEF_NAMES)
        ]
        moments = [
            at if valid is None else valid
            for valid, at in zip(valid_from, recorded_at, strict=True)
        ]
        briefs = Briefs(ids, texts, kinds, actors, [d.strings_of(v) for v in sources],
                        [d.strings_of(v) for v in keys], d.days_of(moments))  # fmt: skip
        return Columns(briefs, d.matrix_of(columns[self._vector]))


def snapshot(d: Dialect, value: Any, tenant: str) -> MemoryRecord:
    """A version as ``memory_versions.record`` holds it."""
    return MemoryRecord.from_dict(d.json_of(value), tenant=tenant)


def history_event(d: Dialect, row: Row) -> HistoryEvent:
    """A row of ``HISTORY`` as an event."""
    at = d.time_of(row[4])
    assert at is not None
    return HistoryEvent(
        id=row[0], memory_id=row[1], version=row[2], op=row[3], at=at, reason=row[5],
        prompt_version=row[6], text=row[7], previous_text=row[8], state=row[9],
    )  # fmt: skip


def history_params(d: Dialect, scope: Scope, event: HistoryEvent) -> tuple[Any, ...]:
    """An event of a memory of ``scope`` as the parameters of ``Statements.insert_history``."""
    user = (scope.user_id,) if d.by_user else ()
    e = event
    return (scope.tenant, e.memory_id, *user, e.version, e.op, d.time(e.at), e.reason,
            e.prompt_version, e.text, e.previous_text, e.state)  # fmt: skip


def version_params(d: Dialect, owner: MemoryRecord, snapshot: MemoryRecord) -> tuple[Any, ...]:
    """An older version (``snapshot``) of the memory ``owner`` as the parameters of
    ``Statements.insert_version``."""
    s = owner.scope
    user = (s.user_id,) if d.by_user else ()
    return (s.tenant, owner.id, snapshot.version, *user, d.json(snapshot.to_dict()))


def message_params(d: Dialect, scope: Scope, message: Message, at: datetime) -> tuple[Any, ...]:
    """A message received at ``at`` as the parameters of ``INSERT_MESSAGE``."""
    return (scope.tenant, scope.user_id, scope.agent_id, scope.run_id, message.id, message.role,
            message.speaker, message.text, d.time(message.timestamp),
            d.json(dict(message.metadata)), d.time(at))  # fmt: skip


def message(d: Dialect, row: Row) -> Message:
    """A row of ``MESSAGE`` as a message."""
    return Message(id=row[0], role=row[1], speaker=row[2], text=row[3],
                   timestamp=d.time_of(row[4]), metadata=d.json_of(row[5]))  # fmt: skip


def api_key(d: Dialect, row: Row) -> ApiKey:
    """A row of ``API_KEY`` as a key."""
    created_at = d.time_of(row[3])
    assert created_at is not None
    return ApiKey(id=row[0], tenant=row[1], key_hash=row[2], created_at=created_at, name=row[4],
                  revoked_at=d.time_of(row[5]))  # fmt: skip


def link(d: Dialect, row: Row) -> Link:
    """A row of ``source, target, kind, score, at`` as a link."""
    return Link(row[0], row[1], row[2], row[3], d.time_of(row[4]))


def link_params(
    d: Dialect, tenant: str, links: Sequence[Link], at: datetime
) -> list[tuple[Any, ...]]:
    """The parameters of ``INSERT_LINK``; a link without a time is made at ``at``."""
    return [(tenant, x.source, x.target, x.kind, float(x.score), d.time(x.at or at)) for x in links]


INSERT_MESSAGE = (
    f"INSERT INTO messages ({SCOPE_COLUMNS}, id, role, speaker, text, ts, metadata, recorded_at) "
    f"VALUES ({marks(11)})"
)
INSERT_LINK = (
    f"INSERT INTO links (tenant, source, target, kind, score, at) VALUES ({marks(6)}) "
    "ON CONFLICT DO NOTHING"
)
INSERT_ENTITY = (
    f"INSERT INTO entities ({SCOPE_COLUMNS}, key, name) VALUES ({marks(6)}) ON CONFLICT DO NOTHING"
)
INSERT_MENTION = (
    f"INSERT INTO entity_mentions (tenant, memory_id, key) VALUES ({marks(3)}) "
    "ON CONFLICT DO NOTHING"
)
INSERT_RELATION = (
    "INSERT INTO relations (tenant, memory_id, subject_key, subject, predicate, object_key, "
    f"object) VALUES ({marks(7)}) ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class Statements:
    """The statements that write memories, versions and history in one dialect
    (``update_memory`` ends in ``WHERE pk = ?``, for ``where.user_sql`` to follow)."""

    insert_memory: str
    update_memory: str
    insert_version: str
    insert_history: str

    @classmethod
    def of(cls, d: Dialect) -> Statements:
        user = ", user_id" if d.by_user else ""
        return cls(
            insert_memory=f"INSERT INTO memories ({COLUMNS}, embedding{d.index_columns}) "
            f"VALUES ({marks(len(NAMES) + 1)}{d.index_values})",
            update_memory=f"UPDATE memories SET ({COLUMNS}, embedding{d.index_columns}) = "
            f"({marks(len(NAMES))}, coalesce(?, embedding){d.index_values}) "
            "WHERE pk = ?",
            insert_version=f"INSERT INTO memory_versions (tenant, memory_id, version{user}, "
            f"record) VALUES ({marks(4 + d.by_user)})",
            insert_history=f"INSERT INTO history (tenant, memory_id{user}, version, op, at, "
            f"reason, prompt_version, text, previous_text, state) VALUES ({marks(10 + d.by_user)})",
        )
