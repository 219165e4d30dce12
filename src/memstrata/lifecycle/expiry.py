"""Expiry: a memory may carry ``expires_at`` (given on a write, or from a time-to-live per kind),
after which it is not recalled. Nothing is deleted: an expired memory reads as archived at once
(``where.current_state``, applied by every read of current memory: ``Filters.current_at``),
``maintain`` archives it for real (a change in the feed), and ``restore`` brings it back
(clearing an expiry that has passed, in a new version). See docs/expiry.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from memstrata.errors import InvalidInputError
from memstrata.ports import Records
from memstrata.types import KINDS, Filters, MemoryRecord, Scope
from memstrata.where import current_state, expired, parse

#: Default time-to-live per kind (``Memory(ttl=…)``, ``MEMSTRATA_TTL``): none.
TTL = Mapping[str, timedelta]


def check_ttl(ttl: Mapping[str, timedelta | float] | None) -> dict[str, timedelta]:
    """A time-to-live per kind, each a ``timedelta`` or seconds, positive."""
    out: dict[str, timedelta] = {}
    for kind, value in (ttl or {}).items():
        if kind not in KINDS:
            raise InvalidInputError(f"ttl: unknown kind {kind!r}; expected one of {KINDS}")
        span = value if isinstance(value, timedelta) else timedelta(seconds=float(value))
        if span <= timedelta(0):
            raise InvalidInputError(f"ttl for {kind} must be positive")
        out[kind] = span
    return out


def stamp(
    records: Sequence[MemoryRecord], expires_at: datetime | None, ttl: TTL, now: datetime
) -> list[MemoryRecord]:
    """New records with their expiry: ``expires_at`` when given, else now plus the kind's
    time-to-live, else none."""
    out = []
    for record in records:
        when = expires_at
        if when is None and record.kind in ttl:
            when = now + ttl[record.kind]
        out.append(record if when is None else replace(record, expires_at=when))
    return out


def view(record: MemoryRecord, now: datetime) -> MemoryRecord:
    """``record`` as it reads at ``now``: archived once it has expired."""
    state = current_state(record, now)
    return record if state == record.state else replace(record, state="archived")


def due(store: Records, scope: Scope, now: datetime) -> list[str]:
    """The active memories of ``scope`` that have expired by ``now``."""
    flt = Filters(where=parse({"expires_at": {"<=": now.isoformat()}}))
    ids: list[str] = []
    cursor = None
    while True:
        page = store.list(scope, flt, limit=500, cursor=cursor)
        ids += [r.id for r in page.records]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def archive_due(store: Records, scope: Scope, now: datetime, *, dry_run: bool) -> list[str]:
    """Archive the memories of ``scope`` that have expired (restorable); return their ids."""
    ids = due(store, scope, now)
    if not dry_run:
        for start in range(0, len(ids), 500):
            store.set_states(scope, ids[start : start + 500], "archived", at=now,
                             reason="expired")  # fmt: skip
    return ids


def unexpire(store: Records, scope: Scope, ids: Sequence[str], now: datetime) -> None:
    """Clear the passed expiry of these memories (a new version each), so that a restore
    brings them back for good."""
    stale = [(replace(r, expires_at=None), r.version)
             for r in store.get_many(scope, list(ids)) if expired(r, now)]  # fmt: skip
    if stale:
        store.update_many(scope, stale, at=now, reason="restored after expiry")
