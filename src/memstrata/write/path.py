"""The write path (DESIGN §4), in the order it runs: coerce and check the messages, guard them,
turn them into episodes with their keys, give them their expiry (``lifecycle.expiry``), embed
them once, store them, fold them into the scope's people table and profile
(``write.ledgers``), then run the model stage (``write.pipeline``, with a language model
only).

``Memory.add`` and ``Memory.remember`` call it; the stages themselves are the pure functions of
``write.episodes``, ``write.guard`` and ``write.keys``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from memstrata.api import MessageInput, TimeInput
from memstrata.errors import InvalidInputError
from memstrata.lifecycle import expiry
from memstrata.options import Extraction
from memstrata.ports import Clock, Embedder, Store
from memstrata.read.embedding import embed_records
from memstrata.types import (
    AddResult,
    MemoryKind,
    MemoryRecord,
    Message,
    Scope,
    as_utc,
    check_metadata,
)
from memstrata.write import ledgers
from memstrata.write.episodes import derived_record, episode_records, prepare_messages
from memstrata.write.guard import guard_episodes
from memstrata.write.images import caption_images, sees_images
from memstrata.write.pipeline import Pipeline


def coerce(messages: MessageInput | Sequence[MessageInput]) -> list[Message]:
    """Every message of an ``add`` as a ``Message``, checked; ``InvalidInputError`` for the
    first that is not one (nothing is written then)."""
    batch = [messages] if isinstance(messages, str | bytes | Mapping | Message) else messages
    if not isinstance(batch, Sequence) or not batch:
        raise InvalidInputError("add needs at least one message")
    return [Message.coerce(m) for m in batch]


@dataclass
class WritePath:
    """The write path over one store, embedder and clock, with its model stage."""

    store: Store
    embedder: Embedder | None
    clock: Clock
    pipeline: Pipeline
    #: The time-to-live of new memories, per kind (``lifecycle.expiry``).
    ttl: Mapping[str, timedelta] = field(default_factory=dict)

    def embed(self, records: Sequence[MemoryRecord]) -> Any:
        """The records' vectors, in one batch (``None`` without an embedder)."""
        return embed_records(self.embedder, records)

    def add(
        self,
        scope: Scope,
        messages: MessageInput | Sequence[MessageInput],
        *,
        metadata: Mapping[str, Any] | None,
        timestamp: TimeInput,
        extraction: Extraction | None = None,
        expires_at: datetime | None = None,
    ) -> AddResult:
        """Store messages as episodes (those already stored in ``scope`` are reported as
        duplicates), keep the scope's people table and profile up to date, then hand the new
        ones to the model stage (with the call's extraction rules, when given)."""
        batch = coerce(messages)
        check_metadata(metadata)
        now = self.clock.now()
        prepared = prepare_messages(batch, now=now, timestamp=as_utc(timestamp))
        known = self.store.known_messages(scope, [m.id for m in prepared if m.id])
        fresh = [m for m in prepared if m.id not in known]
        if self.pipeline.llm is not None and sees_images(self.pipeline.llm):
            fresh = caption_images(fresh, self.pipeline.llm)
        records = guard_episodes(episode_records(scope, fresh, now=now, metadata=metadata))
        records = expiry.stamp(records, expires_at, self.ttl, now)
        vectors = self.embed(records)
        self.store.add([(scope, m) for m in fresh], records, at=now, vectors=vectors)
        ledgers.learn(self.store, scope, records)
        if self.pipeline.llm is not None:
            self.pipeline.after_add(scope, fresh, extraction)
        return AddResult(
            added=tuple(records), duplicates=tuple(m.id for m in prepared if m.id in known)
        )

    def remember(
        self,
        scope: Scope,
        text: str,
        *,
        kind: MemoryKind,
        sources: Sequence[str],
        actor: str | None,
        subject: str | None,
        keys: Sequence[str],
        entities: Sequence[str],
        valid_from: datetime | None,
        valid_to: datetime | None,
        importance: float,
        metadata: Mapping[str, Any] | None,
        reason: str | None,
        prompt_version: str | None,
        expires_at: datetime | None = None,
    ) -> MemoryRecord:
        """Store a memory that is not a message; its sources must be messages of ``scope``."""
        now = self.clock.now()
        record = derived_record(
            scope, text, kind=kind, now=now, sources=sources, actor=actor, subject=subject,
            keys=keys, entities=entities, valid_from=valid_from, valid_to=valid_to,
            importance=importance, metadata=metadata,
        )  # fmt: skip
        (record,) = expiry.stamp([record], expires_at, self.ttl, now)
        found = {m.id for m in self.store.get_messages(scope, list(record.sources))}
        missing = set(record.sources) - found
        if missing:
            raise InvalidInputError(
                f"unknown source message ids in scope {scope}: {', '.join(sorted(missing))}"
            )
        self.store.add(
            [], [record], at=now, vectors=self.embed([record]), reason=reason,
            prompt_version=prompt_version,
        )  # fmt: skip
        return record
