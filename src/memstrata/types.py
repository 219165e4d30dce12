"""The nouns of memstrata: scopes, messages, memory records, hits and history events.

Every type here is a frozen dataclass; changing a memory means building a new record
(``dataclasses.replace``) and handing it to the store, which keeps the old version.
Times are timezone-aware UTC ``datetime`` values.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args

from memstrata.errors import InvalidInputError, ScopeRequiredError
from memstrata.parts import Part, parse_parts, render

MemoryKind = Literal["episode", "fact", "summary", "thought", "procedure", "working"]
MemoryState = Literal["active", "archived", "deleted"]
Layer = Literal["short", "mid", "long"]
#: The roles of chat messages, as OpenAI-compatible APIs name them.
Role = Literal["user", "assistant", "system", "developer", "tool"]
Operation = Literal[
    "ADD", "UPDATE", "DELETE", "RESTORE", "ARCHIVE", "INVALIDATE", "NOOP", "PURGE", "IMPORT"
]

KINDS: tuple[str, ...] = get_args(MemoryKind)
STATES: tuple[str, ...] = get_args(MemoryState)
LAYERS: tuple[str, ...] = get_args(Layer)

#: The longest text one message or memory may hold, in characters.
MAX_TEXT_CHARS = 32_000
#: The longest scope id, message id or speaker name, in characters.
MAX_ID_CHARS = 256

DEFAULT_TENANT = "default"
#: How long a search is kept so that ``feedback`` can refer to it, by default.
KEEP_SEARCHES = timedelta(days=30)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A time-ordered 128-bit id in UUIDv7 layout, as 32 hex digits.

    Ids sort by creation time, which keeps B-tree inserts local and makes listings stable.
    """
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return f"{value:032x}"


def check_text(text: object, what: str = "text") -> str:
    """Validate user text: a non-blank, encodable string within MAX_TEXT_CHARS."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{what} is not valid UTF-8: {exc.reason}") from None
    if not isinstance(text, str):
        raise InvalidInputError(f"{what} must be a string, not {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"{what} is not valid UTF-8 (it holds a lone surrogate or undecodable bytes)"
        ) from None
    if "\x00" in text:
        raise InvalidInputError(f"{what} contains a NUL character")
    if not text.strip():
        raise InvalidInputError(f"{what} is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInputError(
            f"{what} is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}"
        )
    return text


def check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{what} must be a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise InvalidInputError(f"{what} is longer than {MAX_ID_CHARS} characters")
    check_text(value, what)
    return value


def check_metadata(value: object, what: str = "metadata") -> dict[str, Any]:
    """Validate metadata: a mapping with string keys that encodes as UTF-8 JSON."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{what} must be a mapping")
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise InvalidInputError(f"{what} must be JSON with valid UTF-8 text: {exc}") from None
    if not all(isinstance(k, str) for k in value):
        raise InvalidInputError(f"{what} keys must be strings")
    return dict(value)


def as_utc(value: datetime | str | float | int | None, what: str = "timestamp") -> datetime | None:
    try:
        return _as_utc(value, what)
    except (OverflowError, OSError, ValueError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(f"{what} {value!r} is out of range") from None


def _as_utc(value: datetime | str | float | int | None, what: str) -> datetime | None:
    """Coerce a datetime, ISO 8601 string or epoch seconds to an aware UTC datetime.

    A naive datetime is taken to be UTC.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInputError(f"{what} must be a datetime, ISO 8601 string or epoch seconds")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(f"{what} {value!r} is not an ISO 8601 date or time") from None
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{what} must be a datetime, ISO 8601 string or epoch seconds")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose memory this is. At least one of user, agent and run must be given.

    As a *filter* a scope matches every memory whose given fields are equal: a scope with only
    ``user_id`` sees that user's memories of every agent and run. ``tenant`` is the outermost
    boundary (one per API key on the server); the library's default tenant is ``"default"``.
    """

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    tenant: str = DEFAULT_TENANT

    def __post_init__(self) -> None:
        if not (self.user_id or self.agent_id or self.run_id):
            raise ScopeRequiredError(
                "a scope is required: give at least one of user_id, agent_id or run_id"
            )
        for name in ("user_id", "agent_id", "run_id"):
            value = getattr(self, name)
            if value is not None:
                check_id(value, name)
        check_id(self.tenant, "tenant")

    @property
    def key(self) -> tuple[str | None, ...]:
        """The scope as a hashable tuple: tenant, user, agent, run."""
        return (self.tenant, self.user_id, self.agent_id, self.run_id)

    def covers(self, other: Scope) -> bool:
        """Whether a memory stored under ``other`` matches this scope as a filter."""
        return all(
            want is None or want == got for want, got in zip(self.key, other.key, strict=True)
        )

    def as_dict(self) -> dict[str, str]:
        out = {"user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id}
        return {k: v for k, v in out.items() if v}

    def __str__(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.as_dict().items())


@dataclass(frozen=True, slots=True)
class Message:
    """One utterance handed to ``Memory.add``.

    ``id`` is the caller's message id (generated when not given); it becomes the ``sources`` of
    every memory derived from this message. ``speaker`` defaults to the role.
    """

    text: str
    role: str = "user"
    speaker: str | None = None
    id: str | None = None
    timestamp: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: The content parts the text was rendered from (``memstrata.parts``), for a message whose
    #: ``content`` was a list; they are not stored (an image's bytes never are).
    parts: tuple[Part, ...] = field(default=(), repr=False, compare=False)

    def with_parts(self, parts: Sequence[Part]) -> Message:
        """This message with its text and ``attachments`` rendered again from ``parts``."""
        text, attachments = render(parts)
        metadata = {k: v for k, v in self.metadata.items() if k != "attachments"}
        if attachments:
            metadata["attachments"] = attachments
        return replace(self, text=text, metadata=metadata, parts=tuple(parts))

    @classmethod
    def coerce(cls, value: Message | str | Mapping[str, Any]) -> Message:
        if isinstance(value, Message):
            return value
        if isinstance(value, str | bytes):
            return cls(text=check_text(value))
        if isinstance(value, Mapping):
            known = {"text", "content", "role", "speaker", "name", "id", "timestamp", "metadata"}
            unknown = set(value) - known
            if unknown:
                raise InvalidInputError(f"unknown message fields: {', '.join(sorted(unknown))}")
            text = value.get("text")
            content = value.get("content")
            parts: tuple[Part, ...] = ()
            if isinstance(content, list | tuple):
                parsed = parse_parts(content)  # checked even when ``text`` wins over it
                if text is None:
                    if not parsed:
                        raise InvalidInputError("message content is an empty list")
                    parts, text = parsed, render(parsed)[0]
            elif text is None:
                text = content
            speaker = value.get("speaker") or value.get("name")
            metadata = check_metadata(value.get("metadata"), "message metadata")
            if parts and "attachments" in metadata:
                raise InvalidInputError(
                    "message metadata 'attachments' is written by memstrata for a message with "
                    "content parts (one entry per image or audio part); use another key"
                )
            message = cls(
                text=check_text(text, "message text"),
                role=check_id(str(value.get("role") or "user"), "role"),
                speaker=None if speaker is None else check_id(speaker, "speaker"),
                id=value.get("id"),
                timestamp=as_utc(value.get("timestamp")),
                metadata=metadata,
            )
            return message.with_parts(parts) if parts else message
        raise InvalidInputError(
            f"a message must be a string, a mapping or a Message, not {type(value).__name__}"
        )


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """One memory, in one version (DESIGN §3).

    ``id`` is stable across versions; ``version`` counts from 1. Event time (``valid_from``,
    ``valid_to``) says when the thing was true in the world; system time (``recorded_at``,
    ``expired_at``) says when memstrata learnt it and when it stopped believing this version.
    ``expires_at`` is when the memory itself should stop being recalled: from then on it reads
    as archived (``lifecycle.expiry``), and ``maintain`` archives it; nothing is deleted.
    """

    id: str
    scope: Scope
    kind: MemoryKind
    text: str
    sources: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    actor: str | None = None
    subject: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    recorded_at: datetime = field(default_factory=utcnow)
    expired_at: datetime | None = None
    version: int = 1
    supersedes: str | None = None
    state: MemoryState = "active"
    importance: float = 0.5
    strength: float = 1.0
    recall_count: int = 0
    last_recalled: datetime | None = None
    layer: Layer = "short"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None

    @property
    def event_time(self) -> datetime | None:
        """When it happened: the start of its validity in the world."""
        return self.valid_from

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            **self.scope.as_dict(),
            "kind": self.kind,
            "text": self.text,
            "sources": list(self.sources),
            "keys": list(self.keys),
            "entities": list(self.entities),
            "actor": self.actor,
            "subject": self.subject,
            "valid_from": iso(self.valid_from),
            "valid_to": iso(self.valid_to),
            "recorded_at": iso(self.recorded_at),
            "expired_at": iso(self.expired_at),
            "version": self.version,
            "supersedes": self.supersedes,
            "state": self.state,
            "importance": self.importance,
            "strength": self.strength,
            "recall_count": self.recall_count,
            "last_recalled": iso(self.last_recalled),
            "layer": self.layer,
            "metadata": dict(self.metadata),
            "expires_at": iso(self.expires_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], tenant: str = DEFAULT_TENANT) -> MemoryRecord:
        try:
            scope = Scope(
                user_id=data.get("user_id"),
                agent_id=data.get("agent_id"),
                run_id=data.get("run_id"),
                tenant=tenant,
            )
            kind = data["kind"]
            state = data.get("state", "active")
            layer = data.get("layer", "short")
            if kind not in KINDS:
                raise InvalidInputError(f"unknown kind {kind!r}; expected one of {KINDS}")
            if state not in STATES:
                raise InvalidInputError(f"unknown state {state!r}; expected one of {STATES}")
            if layer not in LAYERS:
                raise InvalidInputError(f"unknown layer {layer!r}; expected one of {LAYERS}")
            return cls(
                id=check_id(data["id"], "id"),
                scope=scope,
                kind=kind,
                text=check_text(data["text"]),
                sources=tuple(str(s) for s in data.get("sources") or ()),
                keys=tuple(str(s) for s in data.get("keys") or ()),
                entities=tuple(str(s) for s in data.get("entities") or ()),
                actor=data.get("actor"),
                subject=data.get("subject"),
                valid_from=as_utc(data.get("valid_from")),
                valid_to=as_utc(data.get("valid_to")),
                recorded_at=as_utc(data.get("recorded_at")) or utcnow(),
                expired_at=as_utc(data.get("expired_at")),
                version=int(data.get("version", 1)),
                supersedes=data.get("supersedes"),
                state=state,
                importance=float(data.get("importance", 0.5)),
                strength=float(data.get("strength", 1.0)),
                recall_count=int(data.get("recall_count", 0)),
                last_recalled=as_utc(data.get("last_recalled")),
                layer=layer,
                metadata=dict(data.get("metadata") or {}),
                expires_at=as_utc(data.get("expires_at"), "expires_at"),
            )
        except KeyError as exc:
            raise InvalidInputError(f"memory record is missing the field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InvalidInputError):
                raise
            raise InvalidInputError(f"memory record is malformed: {exc}") from None


#: The operations a change feed reports (a ``NOOP`` changes nothing and is left out).
CHANGE_OPS: tuple[Operation, ...] = (
    "ADD", "UPDATE", "INVALIDATE", "DELETE", "RESTORE", "ARCHIVE", "PURGE", "IMPORT"
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a tenant's change feed: which memory changed how, in which scope, when.
    ``id`` grows with every change; pass the last one seen as ``after`` to resume. The scope
    is ``None`` for a memory purged since (its row is gone)."""

    id: int
    op: Operation
    memory_id: str
    version: int
    at: datetime
    scope: Scope | None
    state: MemoryState | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "op": self.op,
            "memory_id": self.memory_id,
            "version": self.version,
            "at": self.at.isoformat(),
            "scope": None if self.scope is None else self.scope.as_dict(),
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One change to one memory, written in the same transaction as the change."""

    memory_id: str
    version: int
    op: Operation
    at: datetime
    reason: str | None = None
    prompt_version: str | None = None
    text: str | None = None
    previous_text: str | None = None
    state: MemoryState | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "memory_id": self.memory_id,
            "version": self.version,
            "op": self.op,
            "at": self.at.isoformat(),
            "reason": self.reason,
            "prompt_version": self.prompt_version,
            "text": self.text,
            "previous_text": self.previous_text,
            "state": self.state,
        }


MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def human_date(moment: date) -> str:
    """``8 May 2023``: unambiguous, short, and what people search for (English month names,
    whatever the locale)."""
    return f"{moment.day} {MONTH_NAMES[moment.month - 1]} {moment.year}"


def context_line(record: MemoryRecord, text: str | None = None) -> str:
    """A memory as one line of context, with its date and who said it (``text``: part of the
    memory's text in place of all of it)."""
    moment = record.valid_from or record.recorded_at
    who = f"{record.actor}: " if record.actor else ""
    return f"({human_date(moment)}) {who}{record.text if text is None else text}"


@dataclass(frozen=True, slots=True)
class Signal:
    """How one retrieval signal ranked a hit (rank counts from 1)."""

    rank: int
    score: float


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result: the memory, its fused score and which signals found it."""

    record: MemoryRecord
    score: float
    signals: Mapping[str, Signal] = field(default_factory=dict)
    #: The sentences of the memory that a budgeted search chose (``None``: the whole text).
    excerpt: str | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def text(self) -> str:
        return self.record.text

    @property
    def sources(self) -> tuple[str, ...]:
        return self.record.sources

    @property
    def context(self) -> str:
        """The line an agent's prompt carries for this hit: ``(date) speaker: text`` (or the
        excerpt in place of the text)."""
        return context_line(self.record, self.excerpt)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "context": self.context,
            "excerpt": self.excerpt,
            "signals": {k: {"rank": v.rank, "score": v.score} for k, v in self.signals.items()},
            **self.record.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class SearchResult(Sequence[Hit]):
    """The hits of one search, best first; ``search_id`` names it for ``feedback``."""

    hits: tuple[Hit, ...]
    search_id: str
    query: str

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __getitem__(self, index: int) -> Hit:  # type: ignore[override]
        return self.hits[index]


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions applied inside the store, before ranking.

    ``since``/``until`` bound event time (``valid_from``), falling back to ``recorded_at`` for
    memories without an event time. ``metadata`` matches by equality on top-level keys.
    ``where`` is a filter expression over any field and metadata key (docs/filters.md): its
    JSON form, or the tree ``memstrata.where.parse`` makes of it (every store query parses it).

    ``current_at`` reads memory as current at that moment: a memory whose ``expires_at`` has
    come counts as archived whatever its stored state, and a fact whose ``valid_to`` has passed
    is left out (``where.current_state``, ``where.ended``). ``None``: as stored, history
    included. ``Memory`` sets it to its clock's now unless a call asks for ``history``.
    """

    kinds: tuple[MemoryKind, ...] = ()
    states: tuple[MemoryState, ...] = ("active",)
    layers: tuple[Layer, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    actor: str | None = None
    where: Any = None
    current_at: datetime | None = None

    def __post_init__(self) -> None:
        for kind in self.kinds:
            if kind not in KINDS:
                raise InvalidInputError(f"unknown kind {kind!r}; expected one of {KINDS}")
        for state in self.states:
            if state not in STATES:
                raise InvalidInputError(f"unknown state {state!r}; expected one of {STATES}")
        for layer in self.layers:
            if layer not in LAYERS:
                raise InvalidInputError(f"unknown layer {layer!r}; expected one of {LAYERS}")
        for key, value in self.metadata.items():
            if not isinstance(key, str) or not key.replace("_", "").replace("-", "").isalnum():
                raise InvalidInputError(f"metadata filter key {key!r} must be a plain word")
            if not isinstance(value, str | int | float | bool) and value is not None:
                raise InvalidInputError(f"metadata filter on {key!r} must be a scalar")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing; pass ``next_cursor`` back to get the next."""

    records: tuple[MemoryRecord, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AddResult:
    """What ``Memory.add`` stored: new memories, and messages already known (not stored twice)."""

    added: tuple[MemoryRecord, ...]
    duplicates: tuple[str, ...] = ()

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.added]
