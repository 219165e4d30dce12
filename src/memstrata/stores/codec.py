"""Conversions shared by the stores: times as integer microseconds, records as JSON snapshots,
and the JSON Lines export format.

An export is a header line, then one item per line: messages first, then memories. Since format
2 an item also carries what the LLM write path keeps beside it, each key only when there is
something to carry (format 1 files have none of them and still import):

- a message item's ``status``: ``{"status", "attempts", "prompt_version", "error", "at"}``, how
  the write path went for it (``mark_messages``);
- a memory item's ``graph``: ``{"entities": [{"key", "name"}], "relations": [{"subject_key",
  "subject", "predicate", "object_key", "object"}]}``, what ``put_graph`` was given for it
  (each entity with the name its scope knows it by);
- a memory item's ``links``: ``[{"target", "kind", "score", "at"}]``, the links whose source it
  is, so each link is written once.

Format 3 adds, after the memories, a ``settings`` item for each scope of the export that has
settings of its own: ``{"type": "settings", "scope": {"user_id", "agent_id", "run_id"},
"extraction": {...}, "feedback": {...}}``, each of the last two only when there is one (what
they hold: ``write.carried``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, get_args

from memstrata.errors import InvalidInputError
from memstrata.ports import Entity, Link, Triple
from memstrata.types import (
    KINDS,
    STATES,
    HistoryEvent,
    MemoryRecord,
    Message,
    Operation,
    Scope,
    as_utc,
    check_id,
    check_metadata,
    check_text,
)

#: The format ``export`` writes; see the module's docstring.
EXPORT_FORMAT = 3
#: The formats ``import`` reads: 1 is 2 without links, entity graph and message status; 2 is
#: 3 without settings items.
READ_FORMATS = (1, 2, 3)
#: The operations a history row may name.
OPERATIONS: tuple[str, ...] = get_args(Operation)
#: What a relation of a memory item's ``graph`` holds, in order.
RELATION_FIELDS = ("subject_key", "subject", "predicate", "object_key", "object")


def to_micros(value: datetime | None) -> int | None:
    if value is None:
        return None
    return int(value.timestamp() * 1_000_000)


def from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1_000_000, UTC)


#: 1 January 1970's ordinal, and a day in microseconds (``day_of_micros``).
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_DAY = 86_400_000_000


def day_of_micros(value: int) -> int:
    """The day (its ordinal) of a time as ``to_micros`` wrote it: ``from_micros(value)``'s
    ``toordinal()``, without making the datetime."""
    return _EPOCH_DAY + value // _DAY


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def record_json(record: MemoryRecord) -> str:
    return dumps(record.to_dict())


def record_from_json(text: str, tenant: str) -> MemoryRecord:
    return MemoryRecord.from_dict(json.loads(text), tenant=tenant)


def message_to_dict(scope: Scope, message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        **scope.as_dict(),
        "role": message.role,
        "speaker": message.speaker,
        "text": message.text,
        "timestamp": iso(message.timestamp),
        "metadata": dict(message.metadata),
    }


def message_from_dict(data: Mapping[str, Any], tenant: str) -> tuple[Scope, Message]:
    """A message of an export, held to what ``Memory.add`` accepts of one."""
    scope = Scope(
        user_id=data.get("user_id"),
        agent_id=data.get("agent_id"),
        run_id=data.get("run_id"),
        tenant=tenant,
    )
    speaker = data.get("speaker")
    message = Message(
        id=check_id(data.get("id"), "message id"),
        text=check_text(data.get("text"), "message text"),
        role=check_id(data.get("role") or "user", "role"),
        speaker=None if speaker is None else check_id(speaker, "speaker"),
        timestamp=as_utc(data.get("timestamp")),
        metadata=check_metadata(data.get("metadata"), "message metadata"),
    )
    return scope, message


def history_from_dict(data: Mapping[str, Any]) -> HistoryEvent:
    try:
        at = as_utc(data["at"], "history time")
        assert at is not None
        if data["op"] not in OPERATIONS:
            raise InvalidInputError(f"unknown history operation {data['op']!r}")
        if data.get("state") not in (None, *STATES):
            raise InvalidInputError(f"unknown state {data.get('state')!r} in a history row")
        return HistoryEvent(
            memory_id=check_id(data["memory_id"], "memory_id"),
            version=int(data["version"]),
            op=data["op"],
            at=at,
            reason=data.get("reason"),
            prompt_version=data.get("prompt_version"),
            text=data.get("text"),
            previous_text=data.get("previous_text"),
            state=data.get("state"),
        )
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(f"history row is malformed: {exc!r}") from None


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class StatusRow:
    """How the LLM write path went for one message, as an export item's ``status`` holds it."""

    status: str
    attempts: int
    at: datetime
    prompt_version: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "attempts": self.attempts,
                "prompt_version": self.prompt_version, "error": self.error,
                "at": self.at.isoformat()}  # fmt: skip


def add_graph(
    item: dict[str, Any],
    links: Iterable[Link],
    entities: Iterable[Entity],
    relations: Iterable[Triple],
) -> dict[str, Any]:
    """Put a memory's ``links`` (those whose source it is) and ``graph`` on its export item,
    each only when not empty, in an order of their own (the same from every store)."""
    out = [{"target": x.target, "kind": x.kind, "score": float(x.score), "at": iso(x.at)}
           for x in links]  # fmt: skip
    if out:
        item["links"] = sorted(out, key=lambda x: (x["target"], x["kind"]))
    names = sorted({e.key: e.name for e in entities}.items())
    triples = sorted({(t.subject_key, t.predicate, t.object_key): t for t in relations}.items())
    if names or triples:
        item["graph"] = {
            "entities": [{"key": key, "name": name} for key, name in names],
            "relations": [{f: getattr(t, f) for f in RELATION_FIELDS} for _, t in triples],
        }
    return item


def _text(data: Mapping[str, Any], key: str, what: str, *, optional: bool = False) -> Any:
    """``data[key]`` if it is a string (any string a store holds: this reads its exports)."""
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} needs a string {key!r}")
    return value


def _objects(value: Any, what: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, Mapping) for x in value):
        raise InvalidInputError(f"{what} must be a list of objects")
    return value


def status_from_item(item: Mapping[str, Any]) -> StatusRow | None:
    """The ``status`` of a message item, checked; None when it has none (never tried)."""
    data = item.get("status")
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise InvalidInputError("a message's 'status' must be an object")
    if data.get("status") not in ("done", "failed"):
        raise InvalidInputError(f"unknown message status {data.get('status')!r}")
    attempts = data.get("attempts", 1)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
        raise InvalidInputError("a message status's 'attempts' must be a whole number >= 0")
    at = as_utc(data.get("at"), "message status time")
    if at is None:
        raise InvalidInputError("a message's 'status' needs its time 'at'")
    return StatusRow(
        status=data["status"],
        attempts=attempts,
        at=at,
        prompt_version=_text(data, "prompt_version", "a message status", optional=True),
        error=_text(data, "error", "a message status", optional=True),
    )


def links_from_item(item: Mapping[str, Any]) -> list[Link]:
    """The ``links`` of a memory item, checked, with the memory as their source."""
    source = check_id(item["record"].get("id"), "memory id")
    out = []
    for data in _objects(item.get("links"), "a memory's 'links'"):
        score = data.get("score", 0.0)
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise InvalidInputError("a link's 'score' must be a number")
        out.append(
            Link(
                source=source,
                target=check_id(data.get("target"), "link target"),
                kind=_text(data, "kind", "a link"),
                score=float(score),
                at=as_utc(data.get("at"), "link time"),
            )
        )
    return out


def graph_from_item(item: Mapping[str, Any]) -> tuple[list[Entity], list[Triple]]:
    """The entities a memory item names and the relations it states, as ``put_graph`` takes
    them (an entity without a ``name`` is named by its key)."""
    graph = item.get("graph")
    if graph is None:
        return [], []
    if not isinstance(graph, Mapping):
        raise InvalidInputError("a memory's 'graph' must be an object")
    entities = []
    for e in _objects(graph.get("entities"), "a graph's 'entities'"):
        key = _text(e, "key", "an entity")
        name = _text(e, "name", "an entity", optional=True)
        entities.append(Entity(key=key, name=key if name is None else name))
    relations = [
        Triple(*(_text(r, f, "a relation") for f in RELATION_FIELDS))
        for r in _objects(graph.get("relations"), "a graph's 'relations'")
    ]
    return entities, relations


def check_export_item(item: Mapping[str, Any], line: int) -> None:
    """Raise ``InvalidInputError`` naming the line when an export item is malformed."""
    kind = item.get("type") if isinstance(item, Mapping) else None
    if kind not in ("header", "message", "memory", "settings"):
        raise InvalidInputError(f"line {line}: unknown item type {kind!r}")
    if kind == "header" and item.get("format") not in READ_FORMATS:
        raise InvalidInputError(
            f"line {line}: export format {item.get('format')!r} is not one of "
            f"{', '.join(map(str, READ_FORMATS))} (a newer memstrata wrote it?)"
        )
    try:
        if kind == "memory":
            record = item.get("record")
            if not isinstance(record, Mapping) or record.get("kind") not in KINDS:
                raise InvalidInputError("a memory item needs a valid 'record'")
            _objects(item.get("versions"), "a memory's 'versions'")
            _objects(item.get("history"), "a memory's 'history'")
            links_from_item(item)
            graph_from_item(item)
        elif kind == "message":
            status_from_item(item)
    except InvalidInputError as exc:
        raise InvalidInputError(f"line {line}: {exc}") from None
