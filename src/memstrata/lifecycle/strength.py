"""Strength, forgetting and layers (MemoryBank, TradingGPT), as pure functions.

Each memory has a strength ``S`` in days. Its retention after ``Δt`` days without recall is the
Ebbinghaus curve ``R = exp(-Δt · decay(layer) / S)``. A recall that an answer actually used
raises ``S`` (and resets the clock); repeated recalls promote a memory from the short to the mid
to the long layer, whose decay is slower. Retention below a threshold archives a memory: it
leaves default search but is never deleted and can be restored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from memstrata.types import Layer, MemoryRecord

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    """The knobs of forgetting. Defaults forget slowly: an unrecalled memory of importance 0.5
    keeps retention above 0.05 for about three months in the short layer."""

    #: Strength in days of a new memory of importance 0 and 1 (linear in between).
    base_strength: tuple[float, float] = (15.0, 60.0)
    #: Days added to strength by each recall that was used.
    recall_boost: float = 10.0
    #: Multiplier on elapsed time per layer: long-term memories decay ten times slower.
    decay: tuple[tuple[Layer, float], ...] = (("short", 1.0), ("mid", 0.4), ("long", 0.1))
    #: Used recalls needed to reach the mid and the long layer.
    promote_at: tuple[int, int] = (3, 10)
    #: Retention below which ``maintain`` archives a memory.
    archive_below: float = 0.05

    def decay_of(self, layer: Layer) -> float:
        return dict(self.decay)[layer]


DEFAULT_POLICY = LifecyclePolicy()


def initial_strength(importance: float, policy: LifecyclePolicy = DEFAULT_POLICY) -> float:
    low, high = policy.base_strength
    return low + (high - low) * min(1.0, max(0.0, importance))


def last_touched(record: MemoryRecord) -> datetime:
    """When the forgetting clock last started: the last used recall, else when it was stored."""
    return max(record.last_recalled or record.recorded_at, record.recorded_at)


def retention(
    record: MemoryRecord, now: datetime, policy: LifecyclePolicy = DEFAULT_POLICY
) -> float:
    """``exp(-Δt · decay / S)`` with ``Δt`` in days since ``last_touched``; 1.0 in the future."""
    days = max(0.0, (now - last_touched(record)).total_seconds() / SECONDS_PER_DAY)
    strength = max(record.strength, 1e-6)
    return math.exp(-days * policy.decay_of(record.layer) / strength)


def layer_for(recall_count: int, policy: LifecyclePolicy = DEFAULT_POLICY) -> Layer:
    mid, long = policy.promote_at
    if recall_count >= long:
        return "long"
    if recall_count >= mid:
        return "mid"
    return "short"


@dataclass(frozen=True, slots=True)
class Reinforcement:
    strength: float
    recall_count: int
    layer: Layer
    last_recalled: datetime


def reinforce(
    record: MemoryRecord, now: datetime, policy: LifecyclePolicy = DEFAULT_POLICY
) -> Reinforcement:
    """What a used recall does to a memory: stronger, counted, maybe promoted, clock reset."""
    count = record.recall_count + 1
    promoted = layer_for(count, policy)
    order = ("short", "mid", "long")
    layer = promoted if order.index(promoted) > order.index(record.layer) else record.layer
    return Reinforcement(
        strength=record.strength + policy.recall_boost,
        recall_count=count,
        layer=layer,
        last_recalled=now,
    )


def should_archive(
    record: MemoryRecord, now: datetime, policy: LifecyclePolicy = DEFAULT_POLICY
) -> bool:
    return record.state == "active" and retention(record, now, policy) < policy.archive_below
