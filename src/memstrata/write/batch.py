"""Batch changes: many memories deleted, restored or updated by ids or by a filter, in one
transaction, each as soft and recoverable as its single verb (a delete can be restored until
purged; an update writes a new version and keeps the old one).

A batch first chooses its memories (``choose``); a dry run stops there and reports how many, with
their first ids. A batch never changes more than ``MAX_BATCH`` memories: a filter that matches
more is refused, so a caller narrows it rather than changing an arbitrary part of the match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from memstrata.errors import InvalidInputError, NotFoundError
from memstrata.ports import Store
from memstrata.results import BatchResult
from memstrata.types import (
    Filters,
    MemoryRecord,
    MemoryState,
    Scope,
    check_id,
    check_metadata,
)
from memstrata.where import Expr, current_state, matches

#: The most memories one batch call changes.
MAX_BATCH = 1000
#: The most ids a dry run lists (its count is exact).
SHOWN_IDS = 100
#: The states a filter chooses from when the caller names none, by the state a batch moves to
#: (an update: ``None``).
DEFAULT_STATES: dict[MemoryState | None, tuple[MemoryState, ...]] = {
    "deleted": ("active", "archived"),
    "active": ("deleted", "archived"),
    "archived": ("active",),
    None: ("active",),
}


def check_ids(ids: object) -> list[str]:
    if isinstance(ids, str) or not isinstance(ids, Sequence):
        raise InvalidInputError("ids must be a list of memory ids")
    if not ids:
        raise InvalidInputError("ids is empty: name at least one memory")
    if len(ids) > MAX_BATCH:
        raise InvalidInputError(f"a batch changes at most {MAX_BATCH} memories; got {len(ids)} ids")
    return list(dict.fromkeys(check_id(i, "memory id") for i in ids))


def check_states(states: Sequence[MemoryState] | None) -> tuple[MemoryState, ...] | None:
    """The states a batch chooses among (``None``: its default)."""
    if states is None:
        return None
    if isinstance(states, str) or not isinstance(states, Sequence):
        raise InvalidInputError("states must be a list of states")
    checked = Filters(states=tuple(states)).states
    if not checked:
        raise InvalidInputError("states is empty: name at least one state, or leave it out")
    return checked


def choose(
    store: Store,
    scope: Scope,
    ids: Sequence[str] | None,
    where: Expr | None,
    states: Sequence[MemoryState] | None,
    target: MemoryState | None,
    now: datetime,
) -> tuple[int, list[MemoryRecord]]:
    """The memories a batch changes: ``(count, records)``, the records at most ``MAX_BATCH``.

    By ``ids``: each must be in ``scope`` (``NotFoundError`` naming the missing), narrowed by
    ``where`` and ``states`` when given. By ``where`` alone: the matching memories whose state is
    one of ``states`` (by default, those the batch can move: ``DEFAULT_STATES``), as ``list``
    shows them (facts whose validity has ended are left out). A memory already in the
    ``target`` state is left out: there is nothing to change. A memory that has expired by
    ``now`` counts as archived (``where.current_state``).
    """
    if ids is None and where is None:
        raise InvalidInputError(
            "name the memories to change: ids, or a where filter (docs/filters.md)"
        )
    if ids is not None:
        wanted = check_ids(ids)
        found = {r.id: r for r in store.get_many(scope, wanted)}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFoundError(f"no memories {', '.join(map(repr, missing))} in scope {scope}")
        chosen = [
            found[i]
            for i in wanted
            if (where is None or matches(where, found[i]))
            and (states is None or current_state(found[i], now) in states)
            and current_state(found[i], now) != target
        ]
        return len(chosen), chosen
    allowed = DEFAULT_STATES[target] if states is None else tuple(states)
    moving = tuple(s for s in allowed if s != target)
    if not moving:
        return 0, []
    flt = Filters(states=moving, where=where, current_at=now)
    count = store.count(scope, flt)
    if not count:
        return 0, []
    return count, list(store.list(scope, flt, limit=min(count, MAX_BATCH)).records)


def too_many(count: int) -> InvalidInputError:
    return InvalidInputError(
        f"the filter matches {count} memories; a batch changes at most {MAX_BATCH}: narrow the "
        "filter (dry_run counts without changing anything)"
    )


def set_states(
    store: Store,
    scope: Scope,
    chosen: tuple[int, list[MemoryRecord]],
    state: MemoryState,
    *,
    at: datetime,
    dry_run: bool,
    reason: str | None,
) -> BatchResult:
    count, records = chosen
    if dry_run:
        return BatchResult(count, tuple(r.id for r in records[:SHOWN_IDS]), dry_run=True)
    if count > MAX_BATCH:
        raise too_many(count)
    changed = store.set_states(scope, [r.id for r in records], state, at=at, reason=reason)
    return BatchResult(len(changed), tuple(r.id for r in changed))


def merge_metadata(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with the keys of ``patch`` set; a key set to None is removed."""
    merged = {**current, **patch}
    return check_metadata({k: v for k, v in merged.items() if v is not None})


def updated(record: MemoryRecord, changes: Mapping[str, Any]) -> MemoryRecord:
    """The next version of ``record`` with ``changes`` (``metadata`` is a patch)."""
    fields = dict(changes)
    if "metadata" in fields:
        fields["metadata"] = merge_metadata(record.metadata, fields["metadata"])
    return replace(record, **fields)


def update(
    store: Store,
    scope: Scope,
    chosen: tuple[int, list[MemoryRecord]],
    changes: Mapping[str, Any],
    *,
    at: datetime,
    dry_run: bool,
    reason: str | None,
) -> BatchResult:
    count, records = chosen
    if not changes:
        raise InvalidInputError("update_many needs metadata or validity times to set")
    new = [(updated(r, changes), r.version) for r in records]
    if dry_run:
        return BatchResult(count, tuple(r.id for r in records[:SHOWN_IDS]), dry_run=True)
    if count > MAX_BATCH:
        raise too_many(count)
    written = store.update_many(scope, new, at=at, reason=reason)
    return BatchResult(len(written), tuple(r.id for r in written))
