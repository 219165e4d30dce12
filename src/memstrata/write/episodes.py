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
    MemoryKind,
    MemoryRecord,
    Message,
    Scope,
    check_id,
    check_metadata,
    check_text,
    new_id,
)
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
    """A memory that is not a message itself (a fact, summary, thought, ...), checked."""
    if kind not in KINDS or kind == "episode":
        raise InvalidInputError(
            f"kind must be one of {', '.join(k for k in KINDS if k != 'episode')}; "
            "episodes come from messages (use add)"
        )
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
        text=check_text(text),
        sources=tuple(check_id(s, "source id") for s in sources),
        keys=tuple(check_text(k, "key") for k in keys),
        entities=tuple(check_text(e, "entity") for e in entities),
        actor=actor,
        subject=subject,
        valid_from=valid_from,
        valid_to=valid_to,
        recorded_at=now,
        importance=float(importance),
        strength=initial_strength(float(importance)),
        metadata=dict(metadata or {}),
    )


def index_text(record: MemoryRecord) -> str:
    """The text an embedder sees for a memory: who said it, then what was said."""
    if record.actor:
        return f"{record.actor}: {record.text}"
    return record.text
