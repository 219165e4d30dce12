"""Conversions shared by the stores: times as integer microseconds, records as JSON snapshots,
and the JSON Lines export format."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from memstrata.errors import InvalidInputError
from memstrata.types import (
    KINDS,
    HistoryEvent,
    MemoryRecord,
    Message,
    Scope,
    as_utc,
    check_id,
    check_text,
)

EXPORT_FORMAT = 1


def to_micros(value: datetime | None) -> int | None:
    if value is None:
        return None
    return int(value.timestamp() * 1_000_000)


def from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1_000_000, UTC)


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
        "timestamp": message.timestamp.isoformat() if message.timestamp else None,
        "metadata": dict(message.metadata),
    }


def message_from_dict(data: Mapping[str, Any], tenant: str) -> tuple[Scope, Message]:
    scope = Scope(
        user_id=data.get("user_id"),
        agent_id=data.get("agent_id"),
        run_id=data.get("run_id"),
        tenant=tenant,
    )
    message = Message(
        id=check_id(data.get("id"), "message id"),
        text=check_text(data.get("text"), "message text"),
        role=str(data.get("role") or "user"),
        speaker=data.get("speaker"),
        timestamp=as_utc(data.get("timestamp")),
        metadata=dict(data.get("metadata") or {}),
    )
    return scope, message


def history_from_dict(data: Mapping[str, Any]) -> HistoryEvent:
    try:
        at = as_utc(data["at"], "history time")
        assert at is not None
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


def check_export_item(item: Mapping[str, Any], line: int) -> None:
    """Raise ``InvalidInputError`` naming the line when an export item is malformed."""
    kind = item.get("type") if isinstance(item, Mapping) else None
    if kind not in ("header", "message", "memory"):
        raise InvalidInputError(f"line {line}: unknown item type {kind!r}")
    if kind == "header" and item.get("format") != EXPORT_FORMAT:
        raise InvalidInputError(
            f"line {line}: export format {item.get('format')!r} is not {EXPORT_FORMAT}"
        )
    if kind == "memory":
        record = item.get("record")
        if not isinstance(record, Mapping) or record.get("kind") not in KINDS:
            raise InvalidInputError(f"line {line}: a memory item needs a valid 'record'")
