"""``memstrata reembed``: give every memory of a store a vector from another embedder.

A store records the embedder its vectors came from, and refuses to be searched with another
(vectors of two models are not comparable). After a change of model, this re-embeds every
memory of every tenant, in batches, then records the new embedder. Texts, versions and history
are untouched. Run it while nothing else writes to the store.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, Protocol

from memstrata.ports import Embedder, Scans, StoredSettings, Transfer, Vectors
from memstrata.read.embedding import embedding_text


class Reembeddable(Transfer, Scans, Vectors, StoredSettings, Protocol):
    """What re-embedding uses of a store: every scope, its memories, and their vectors."""


def reembed(
    store: Reembeddable,
    embedder: Embedder,
    *,
    batch_size: int = 256,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Re-embed every memory of ``store`` with ``embedder``; return how many were embedded."""
    done: set[tuple[str, str]] = set()
    for scope in store.exact_scopes():
        pending = [
            record for record, _ in store.scan(scope) if (scope.tenant, record.id) not in done
        ]
        for start in range(0, len(pending), batch_size):
            chunk = pending[start : start + batch_size]
            vectors = embedder.embed([embedding_text(r) for r in chunk], kind="document")
            store.put_vectors(
                scope.tenant, [(r.id, v) for r, v in zip(chunk, vectors, strict=True)]
            )
            done.update((scope.tenant, r.id) for r in chunk)
            if progress is not None:
                progress(len(chunk))
    store.set_embedder_info(embedder.name, embedder.dim)
    return len(done)


def register(sub: Any, common: argparse.ArgumentParser, scoped: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "reembed", parents=[common], help="re-embed every memory with another embedder"
    )
    p.add_argument("--batch-size", type=int, default=256)
    p.set_defaults(handler=_command)


def _command(args: argparse.Namespace) -> int:
    from memstrata.embedders import make_embedder
    from memstrata.settings import Settings
    from memstrata.stores import open_store

    settings = Settings.from_env().with_overrides(db=args.db, embedder=args.embedder)
    embedder = make_embedder(settings.embedder, api_key=settings.embedder_api_key)
    store = open_store(settings.db)
    try:
        before = store.embedder_info()
        count = reembed(store, embedder, batch_size=args.batch_size)
    finally:
        store.close()
    result = {"memories": count, "from": before[0] if before else None, "to": embedder.name}
    if args.json:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"re-embedded {count} memories with {embedder.name}")
    return 0
