"""Consolidate: what one new fact does to the memories already held, decided by pure rules.

Mem0's ADD / UPDATE / DELETE / NOOP, made non-destructive as in Graphiti:

- an exact duplicate (same normalised text) or a near-duplicate (vector cosine at or above a
  threshold) needs no model: it is a ``NOOP`` (a history row), or, when it cites messages the
  stored fact does not, an update that merges the sources;
- a fact with no related memory is added without asking a model;
- otherwise the ``consolidate`` prompt proposes, and ``plan`` checks the proposal: ``UPDATE``
  writes a new version with the merged text (the old one is kept); ``INVALIDATE`` retires the
  old fact as a new version with ``valid_to`` and ``expired_at`` set and adds the new fact
  with ``supersedes`` pointing at it; ``NOOP`` writes only a history row.

The functions here build the records; ``write/pipeline`` hands them to the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from memstrata.prompts import consolidate as prompt
from memstrata.text import normalize_for_hash
from memstrata.types import Hit, MemoryRecord
from memstrata.write import guard
from memstrata.write.extract import FactDraft

__all__ = [
    "Plan",
    "duplicate_plan",
    "expired",
    "invalidated",
    "merged",
    "plan",
    "prompt_input",
    "text_hash",
    "to_review",
]

Op = Literal["ADD", "UPDATE", "INVALIDATE", "NOOP"]


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with one new fact: ``target`` is the stored memory an UPDATE, INVALIDATE or
    NOOP applies to; ``text`` the merged text of an UPDATE (``None``: keep the text, merge
    the sources); ``asked`` whether a model made the decision."""

    op: Op
    target: MemoryRecord | None = None
    text: str | None = None
    reason: str = ""
    asked: bool = False


def text_hash(text: str) -> str:
    """The exact-duplicate key of a fact: a hash of its normalised text."""
    return hashlib.sha256(normalize_for_hash(text).encode("utf-8")).hexdigest()[:32]


def expired(record: MemoryRecord, now: datetime) -> bool:
    """Whether memstrata has stopped believing this version (an invalidated fact)."""
    return record.expired_at is not None and record.expired_at <= now


def duplicate_plan(draft: FactDraft, existing: MemoryRecord, how: str) -> Plan:
    """A restated fact: a NOOP, or a source merge when it cites messages the memory does not."""
    new_sources = [s for s in draft.sources if s not in existing.sources]
    if new_sources:
        reason = f"{how} of a stored fact; sources merged ({', '.join(new_sources)})"
        return Plan("UPDATE", existing, None, reason)
    return Plan("NOOP", existing, None, f"{how} of a stored fact")


def _norm(name: str | None) -> str:
    return normalize_for_hash(name or "")


def _claims(relations: object) -> set[tuple[str, str]]:
    """``(subject, predicate)`` pairs a fact states: what a contradiction would change."""
    out: set[tuple[str, str]] = set()
    for r in relations if isinstance(relations, list | tuple) else ():
        if isinstance(r, list | tuple) and len(r) == 3:
            out.add((_norm(str(r[0])), _norm(str(r[1]))))
    return out


def to_review(
    draft: FactDraft,
    similar: Sequence[Hit],
    *,
    threshold: float,
    limit: int,
    floor: float = 0.4,
) -> list[MemoryRecord]:
    """The similar memories worth showing to a model, best first, at most ``limit``: those
    that state the same relation of the same subject ("Ana lives_in …"), those whose vector
    cosine is at or above ``threshold``, and those that name an entity the fact names besides
    their common subject, if their cosine is at least ``floor`` (or no vector was compared).
    A fact with none of these is simply added, without a model: a subject alone ("Ana …") is
    shared by most facts of a conversation."""
    subject = _norm(draft.subject)
    names = {_norm(e) for e in draft.entities} - {"", subject}
    claims = _claims(draft.relations)
    out: list[MemoryRecord] = []
    for hit in similar:
        record = hit.record
        vector = hit.signals.get("vector")
        cosine = None if vector is None else vector.score
        others = {_norm(e) for e in record.entities} - {"", _norm(record.subject)}
        related = (
            bool(claims & _claims(record.metadata.get("relations")))
            or (cosine is not None and cosine >= threshold)
            or (bool(names & others) and (cosine is None or cosine >= floor))
        )
        if related:
            out.append(record)
        if len(out) >= limit:
            break
    return out


def prompt_input(draft: FactDraft, shown: Sequence[MemoryRecord], today: date) -> prompt.Input:
    """The ``consolidate`` prompt's input for one fact and the memories it may touch."""

    def day(value: datetime | None) -> str | None:
        return value.date().isoformat() if value else None

    return prompt.Input(
        fact=draft.text,
        fact_valid_from=day(draft.valid_from),
        memories=[
            prompt.SimilarMemory(id=r.id, text=r.text, valid_from=day(r.valid_from))
            for r in shown[: prompt.MAX_MEMORIES]
        ],
        today=today,
    )


def plan(resolution: prompt.Resolution, draft: FactDraft, shown: Sequence[MemoryRecord]) -> Plan:
    """Turn a checked model decision into a plan, with the rules code keeps for itself:

    - an id the model was not shown cannot be acted on (``resolve`` has made it ADD already);
    - an UPDATE whose merged text is empty, or gives orders to an assistant (the poisoning
      guard), keeps the old text and merges the sources;
    - a fact dated before the memory it would invalidate is older news: it is added, and the
      newer memory stays (an old fact never retires a newer one).
    """
    by_id = {r.id: r for r in shown}
    target = by_id.get(resolution.memory_id or "")
    reason = resolution.reason or f"{resolution.op} proposed by the model"
    if resolution.op == "ADD" or target is None:
        return Plan("ADD", None, None, reason, asked=True)
    if resolution.op == "UPDATE":
        text = (resolution.new_text or "").strip() or None
        if text is not None and guard.is_instruction(text):
            text = None
        return Plan("UPDATE", target, text, reason, asked=True)
    if resolution.op == "INVALIDATE":
        new_start, old_start = draft.valid_from, target.valid_from
        if new_start is not None and old_start is not None and new_start < old_start:
            why = f"{reason}; the new fact predates the memory it contradicts, so both are kept"
            return Plan("ADD", None, None, why, asked=True)
        return Plan("INVALIDATE", target, None, reason, asked=True)
    return Plan("NOOP", target, None, reason, asked=True)


def merged(old: MemoryRecord, draft: FactDraft, text: str | None) -> MemoryRecord:
    """The next version of ``old`` once ``draft`` is folded into it: the merged text (or the
    old one), the union of sources, keys and entities, the higher importance, the earlier
    start, and the draft's relations added to the old ones."""
    metadata = dict(old.metadata)
    relations = [list(r) for r in metadata.get("relations") or [] if isinstance(r, list)]
    for r in draft.relations:
        if list(r) not in relations:
            relations.append(list(r))
    if relations:
        metadata["relations"] = relations
    if text is not None:
        metadata["text_hash"] = text_hash(text)
    starts = [t for t in (old.valid_from, draft.valid_from) if t is not None]
    return replace(
        old,
        text=text or old.text,
        sources=tuple(dict.fromkeys((*old.sources, *draft.sources))),
        keys=tuple(dict.fromkeys((*old.keys, *draft.keywords))),
        entities=tuple(dict.fromkeys((*old.entities, *draft.entities))),
        importance=max(old.importance, draft.importance),
        valid_from=min(starts) if starts else None,
        metadata=metadata,
    )


def invalidated(old: MemoryRecord, *, at: datetime, valid_to: datetime | None) -> MemoryRecord:
    """The retiring version of a contradicted fact: true in the world until ``valid_to`` (the
    new fact's start, when known, else ``at``), and no longer believed from ``at``."""
    end = valid_to or at
    if old.valid_to is not None:
        end = min(end, old.valid_to)
    if old.valid_from is not None and end < old.valid_from:
        end = old.valid_from
    return replace(old, valid_to=end, expired_at=at)
