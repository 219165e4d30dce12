"""System time as every store writes it (pure functions, shared by the stores).

A store never reads the wall clock: each change is stamped with the time its caller's clock gave
(``at``). Every version keeps ``recorded_at <= expired_at`` and ``valid_from <= valid_to``, and
the changes of one memory stay in time order: a change is never recorded before the last change
of the same memory, so a clock that steps back is held at that time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from memstrata.errors import InvalidInputError
from memstrata.types import MemoryRecord


def check_validity(record: MemoryRecord) -> None:
    """``valid_to`` before ``valid_from`` is bad input."""
    start, end = record.valid_from, record.valid_to
    if start is not None and end is not None and end < start:
        raise InvalidInputError(
            f"memory {record.id!r}: valid_to {end.isoformat()} is before valid_from "
            f"{start.isoformat()}"
        )


def check_new(record: MemoryRecord) -> None:
    """A new memory must be valid and must not expire before it is recorded."""
    check_validity(record)
    if record.expired_at is not None and record.expired_at < record.recorded_at:
        raise InvalidInputError(
            f"memory {record.id!r}: expired_at {record.expired_at.isoformat()} is before "
            f"recorded_at {record.recorded_at.isoformat()}"
        )


def change_time(at: datetime, *earlier: datetime | None) -> datetime:
    """When a change is recorded: ``at``, or the latest of ``earlier`` (the memory's previous
    changes) when the clock is behind it."""
    return max([at, *(t for t in earlier if t is not None)])


def next_version(
    old: MemoryRecord, record: MemoryRecord, at: datetime
) -> tuple[MemoryRecord, MemoryRecord]:
    """The snapshot of ``old`` as it is replaced (expired at ``at``, unless it expired before)
    and ``record`` as the next version, recorded at ``at`` and not expiring before then (a
    change to a retired fact keeps it retired). ``at`` comes from ``change_time``."""
    snapshot = replace(old, expired_at=old.expired_at or at)
    new = replace(record, scope=old.scope, version=old.version + 1, recorded_at=at)
    if new.expired_at is not None and new.expired_at < at:
        new = replace(new, expired_at=at)
    check_validity(new)
    return snapshot, new


def version_at(versions: Sequence[MemoryRecord], at: datetime) -> MemoryRecord | None:
    """Of a memory's ``versions`` (oldest first), the one that was current at system time
    ``at`` and not yet expired then, if any."""
    for version in reversed(versions):
        if version.recorded_at <= at:
            return version if version.expired_at is None or version.expired_at > at else None
    return None
