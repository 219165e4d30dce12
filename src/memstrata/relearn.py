"""``memstrata relearn``: count again who is who, and what people say about themselves, from
the memories a store holds.

Beside its memories a scope keeps a people table (the names each speaker answers to) and its
profile ledgers, each folded in as messages arrive (``write.ledgers``). They stay as they were
counted: after an upgrade whose rules count them differently, a scope still holds the old
counts, and new messages are counted by the new rules on top of them. This erases each
scope's tables and folds its memories in again, oldest first, as an import does. Memories,
their vectors and everything else are untouched. Run it while nothing else writes to the
scopes it counts.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from memstrata.errors import InvalidInputError
from memstrata.ports import Scans, StoredSettings, Transfer
from memstrata.types import MemoryRecord, Scope
from memstrata.write import ledgers

#: Memories folded in at once: a scope is never held whole.
BATCH = 5000
#: What ``memstrata relearn --help`` says.
DESCRIPTION = (
    "Count each scope's people table (the names each speaker answers to) and its profiles again "
    "from the memories it holds, oldest first, as an import counts them: after an upgrade "
    "whose rules count them otherwise. Memories and their vectors are untouched. Run it while "
    "nothing else writes to those scopes. Without a scope, every scope of the tenant."
)


class Relearnable(Transfer, Scans, StoredSettings, Protocol):
    """What relearning uses of a store: its scopes, their memories, and their settings."""


def relearn(
    store: Relearnable,
    *,
    tenant: str | None = None,
    within: Scope | None = None,
    progress: Callable[[Scope, int], None] | None = None,
) -> int:
    """Count the people tables and profiles of every scope of ``store`` again (of ``tenant``
    only, and only the scopes ``within`` covers, when given); return how many scopes were
    counted. ``progress`` is told each scope and the memories it read."""
    scopes = [s for s in store.exact_scopes(tenant) if within is None or within.covers(s)]
    for scope in scopes:
        ledgers.forget(store, [scope])
        count = 0
        # Its episodes first, then the relations its other memories state, as an import
        # learns them; a batch at a time, as the adds did.
        for episodes in _batches(store, scope, lambda r: r.kind == "episode"):
            ledgers.learn(store, scope, episodes)
            count += len(episodes)
        for others in _batches(store, scope, lambda r: r.kind != "episode"):
            ledgers.learn_facts(store, scope, others)
            count += len(others)
        if progress is not None:
            progress(scope, count)
    return len(scopes)


def _batches(
    store: Relearnable, scope: Scope, wanted: Callable[[MemoryRecord], bool]
) -> Iterator[list[MemoryRecord]]:
    """The ``wanted`` memories of exactly ``scope`` (its scan holds the scopes under it too),
    oldest first, ``BATCH`` at a time."""
    chosen = (r for r, _ in store.scan(scope) if r.scope == scope and wanted(r))
    while batch := list(itertools.islice(chosen, BATCH)):
        yield batch


def register(sub: Any, common: argparse.ArgumentParser, scoped: argparse.ArgumentParser) -> None:
    from memstrata.cli import scope_flags

    p = sub.add_parser(
        "relearn",
        parents=[common],
        help="count who is who and the profiles again from the memories (after an upgrade)",
        description=DESCRIPTION,
    )
    scope_flags(p, "scope (optional)")
    p.add_argument("--all-tenants", action="store_true", help="every tenant of the store")
    p.set_defaults(handler=_command)


def _command(args: argparse.Namespace) -> int:
    from memstrata.settings import Settings
    from memstrata.stores import open_store

    settings = Settings.from_env().with_overrides(db=args.db, tenant=args.tenant)
    if args.all_tenants and (args.tenant or args.user or args.agent or args.run):
        raise InvalidInputError("--all-tenants counts every scope: give no tenant or scope")
    given = {"user_id": args.user, "agent_id": args.agent, "run_id": args.run}
    within = Scope(tenant=settings.tenant, **given) if any(given.values()) else None
    tenant = None if args.all_tenants else settings.tenant
    store = open_store(settings.db)
    try:
        lines: list[dict[str, Any]] = []
        count = relearn(
            store,
            tenant=tenant,
            within=within,
            progress=lambda scope, n: lines.append(
                {"tenant": scope.tenant, "scope": scope.as_dict(), "memories": n}
            ),
        )
    finally:
        store.close()
    if args.json:
        json.dump({"scopes": count, "counted": lines}, sys.stdout)
        sys.stdout.write("\n")
    else:
        for line in lines:
            print(f"{line['tenant']} {json.dumps(line['scope'])}: {line['memories']} memories")
        print(f"counted {count} scopes again")
    return 0
