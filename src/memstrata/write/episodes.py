"""Segment: messages in, episode memories out (no LLM, nothing said is lost)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from memstrata.errors import InvalidInputError
from memstrata.lifecycle.strength import initial_strength
from memstrata.types import (
    KINDS,
    MAX_ID_CHARS,
    MemoryKind,
    MemoryRecord,
    Message,
    Scope,
    check_id,
    check_metadata,
    check_text,
    new_id,
)
from memstrata.write.guard import scan
from memstrata.write.keys import make_keys


def prepare_messages(
    messages: Sequence[Message], *, now: datetime, timestamp: datetime | None = None
) -> list[Message]:
    """Give every message an id and a time, and check them all before anything is written.

    A message without a timestamp takes ``timestamp`` (the call's), else ``now``.
    """
    out: list[Message] = []
    seen: set[str] = set()
    for message in messages:
        check_text(message.text, "message text")
        message_id = message.id if message.id is not None else new_id()
        check_id(message_id, "message id")
        if message_id in seen:
            raise InvalidInputError(f"message id {message_id!r} appears twice in one call")
        seen.add(message_id)
        out.append(
            replace(
                message,
                id=message_id,
                speaker=message.speaker or message.role,
                timestamp=message.timestamp or timestamp or now,
            )
        )
    return out


def episode_text(message: Message) -> str:
    """What an episode says: the message text, as it was said."""
    return message.text


def episode_records(
    scope: Scope,
    messages: Sequence[Message],
    *,
    now: datetime,
    metadata: Mapping[str, Any] | None = None,
) -> list[MemoryRecord]:
    """One ``episode`` memory per message, its ``sources`` the message id."""
    records = []
    for message in messages:
        assert message.id is not None
        assert message.timestamp is not None
        keys = make_keys(message.text, message.timestamp, known=[message.speaker or ""])
        records.append(
            MemoryRecord(
                id=new_id(),
                scope=scope,
                kind="episode",
                text=episode_text(message),
                sources=(message.id,),
                keys=tuple(dict.fromkeys((*keys.date_keys, *keys.entities))),
                entities=keys.entities,
                actor=message.speaker,
                valid_from=message.timestamp,
                recorded_at=now,
                strength=initial_strength(0.5),
                metadata={**(metadata or {}), **message.metadata, "role": message.role},
            )
        )
    return records


#: The kinds of memory that restate what was said: each must cite the messages it came from
#: (DESIGN §3, provenance), and none may carry an instruction to an assistant. ``working``
#: (a goal an agent sets itself, see ``WorkingMemory``) and ``procedure`` (how to do something,
#: as the agent or application states it) are not derived: they are the caller's own words,
#: orders to itself by nature, and may cite sources but need not.
DERIVED_KINDS: frozenset[str] = frozenset({"fact", "summary", "thought"})


def check_name(value: object, what: str) -> str | None:
    """An actor's or subject's name: ``None``, or a string of at most ``MAX_ID_CHARS`` that
    encodes as UTF-8 and holds no NUL (it may be empty, as the server's schema allows)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > MAX_ID_CHARS:
        raise InvalidInputError(f"{what} is longer than {MAX_ID_CHARS} characters")
    return check_text(value, what) if value.strip() else value


def check_derived(kind: str, text: str, sources: Sequence[str]) -> None:
    """Raise ``InvalidInputError`` unless a memory of ``kind`` may say ``text`` citing
    ``sources``: a derived memory cites at least one message and gives no orders to an
    assistant (such words are kept only as a quoted episode)."""
    if kind in DERIVED_KINDS and not sources:
        raise InvalidInputError(
            f"a {kind} is derived from messages: give the ids of the stored messages it comes "
            "from in sources (use add() for text you state yourself)"
        )
    check_derived_text(kind, text)


def check_derived_text(kind: str, text: str) -> None:
    """Raise ``InvalidInputError`` when a derived memory's ``text`` gives orders to an
    assistant (``write.guard.scan``)."""
    hits = scan(text) if kind in DERIVED_KINDS else ()
    if hits:
        codes = ", ".join(sorted({h.pattern for h in hits}))
        raise InvalidInputError(
            f"the text of this {kind} gives orders to an assistant ({codes}: "
            f"{hits[0].matched[:80]!r}); a derived memory never does. Store the words with "
            "add(), which keeps them as a quotation flagged 'instruction'"
        )


def derived_record(
    scope: Scope,
    text: str,
    *,
    kind: MemoryKind,
    now: datetime,
    sources: Sequence[str] = (),
    actor: str | None = None,
    subject: str | None = None,
    keys: Sequence[str] = (),
    entities: Sequence[str] = (),
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    importance: float = 0.5,
    metadata: Mapping[str, Any] | None = None,
) -> MemoryRecord:
    """A memory that is not a message itself (a fact, summary, thought, ...), checked: the
    rules of ``check_derived`` for the derived kinds, and the limits ``add`` keeps."""
    if kind not in KINDS or kind == "episode":
        raise InvalidInputError(
            f"kind must be one of {', '.join(k for k in KINDS if k != 'episode')}; "
            "episodes come from messages (use add)"
        )
    text = check_text(text)
    if isinstance(sources, str | bytes):
        raise InvalidInputError("sources must be a list of message ids, not one string")
    sources = [check_id(s, "source id") for s in sources]
    check_derived(kind, text, sources)
    if isinstance(importance, bool) or not isinstance(importance, int | float):
        raise InvalidInputError("importance must be a number from 0 to 1")
    if not 0.0 <= float(importance) <= 1.0:
        raise InvalidInputError("importance must be a number from 0 to 1")
    if valid_from and valid_to and valid_to < valid_from:
        raise InvalidInputError("valid_to is before valid_from")
    check_metadata(metadata)
    return MemoryRecord(
        id=new_id(),
        scope=scope,
        kind=kind,
        text=text,
        sources=tuple(sources),
        keys=tuple(check_text(k, "key") for k in keys),
        entities=tuple(check_text(e, "entity") for e in entities),
        actor=check_name(actor, "actor"),
        subject=check_name(subject, "subject"),
        valid_from=valid_from,
        valid_to=valid_to,
        recorded_at=now,
        importance=float(importance),
        strength=initial_strength(float(importance)),
        metadata=dict(metadata or {}),
    )
