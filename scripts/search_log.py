"""What the kept searches of a store cost: their bytes, and the time to save one::

    python scripts/search_log.py /tmp/kept/scale-locomo-dev-0.db

Reads the searches STORE kept (``memstrata eval`` keeps one for every question it asks) and
prints their hits and bytes a search as kept, and as ``read.learning.search_payload`` keeps them
now (a store kept by an earlier version holds a list of one object a hit). Then, on a copy of
STORE (written to disk first: a checkpoint would flush a fresh copy), saves each of them three
times in each form, in turn, and prints the ms a save.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memstrata import Memory
from memstrata.evals.stores import copy_store, remove_store
from memstrata.read.learning import returned_hits, search_payload
from memstrata.stores.sqlite.dialect import SQLiteDialect
from memstrata.types import Scope


def columns(kept: dict[str, Any]) -> dict[str, Any]:
    """A kept search in the form ``search_payload`` writes."""
    hits = returned_hits(kept)
    return search_payload(str(kept.get("query", "")), list(hits), list(hits.values()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path, help="a SQLite store that kept searches")
    parser.add_argument("--embedder", default="minilm", help="the store's embedder")
    args = parser.parse_args()
    with sqlite3.connect(f"file:{args.store}?mode=ro", uri=True) as conn:
        kept = [json.loads(p) for (p,) in conn.execute("SELECT payload FROM searches")]
    if not kept:
        parser.error(f"{args.store} kept no searches")
    forms = {"as kept": kept, "as columns": [columns(k) for k in kept]}
    encode = SQLiteDialect().json
    hits = sum(len(returned_hits(k)) for k in kept) / len(kept)
    for name, payloads in forms.items():
        size = sum(len(encode(p)) for p in payloads) / len(payloads)
        print(f"{len(payloads)} searches, {hits:.1f} hits a search, {name}: {size:,.0f} bytes")
    with tempfile.TemporaryDirectory() as folder:
        for round_ in (1, 2):
            for name, payloads in forms.items():
                target = copy_store(args.store, Path(folder) / "store.db")
                with open(target, "rb") as copy:  # the copy on disk before a save is timed
                    os.fsync(copy.fileno())
                with Memory(target, embedder=args.embedder) as memory:
                    store, scope = memory.store, Scope(user_id="search-log")
                    store.save_search(scope, "warm", datetime.now(UTC), payloads[0])
                    start = time.perf_counter()
                    for i in range(3):
                        for j, payload in enumerate(payloads):
                            store.save_search(scope, f"{i}-{j}", datetime.now(UTC), payload)
                    spent = time.perf_counter() - start
                print(f"round {round_}, {name}: {spent / (3 * len(payloads)) * 1000:.3f} ms a save")
                remove_store(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
