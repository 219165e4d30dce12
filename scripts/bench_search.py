"""The search half of ``memstrata bench``, over a store a bench run left behind.

A 1,000,000-memory ingest takes about two hours here; this re-measures search on that store
(after a change to the read path, say) without ingesting again. It times the same 200
questions the same way as the bench (one untimed pass, then with query embedding, then with the
query vectors computed beforehand) and scores the store's vector search against exact search
over the vectors the store holds, which are the vectors the bench's ingest produced::

    memstrata bench --n 1000000 --large --json --store /data/bench1m.db   # once
    python scripts/bench_search.py /data/bench1m.db
    python scripts/bench_search.py /data/bench1m.db --expansion 200   # another graph walk
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from memstrata.bench import (
    _percentiles,
    _Precomputed,
    machine,
    recall_at_k,
    synthetic_queries,
    time_searches,
)
from memstrata.embedders import make_embedder
from memstrata.memory import Memory
from memstrata.stores.sqlite import ann
from memstrata.types import Filters, Scope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="the store a `memstrata bench --store` run filled")
    parser.add_argument("--queries", type=int, default=200, help="search queries timed")
    parser.add_argument(
        "--expansion", type=int, metavar="N",
        help="keep N candidates while walking the graph (default: the library's rule)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.expansion is not None:
        width = args.expansion
        ann.expansion_search = lambda rows: width

    embedder = make_embedder("minilm")
    qs = synthetic_queries(args.queries)
    embedder.embed(qs[:1], "query")
    load_before = [round(x, 2) for x in os.getloadavg()]
    mem = Memory(args.store, embedder=embedder)
    users = [s.user_id for s in mem.store.exact_scopes() if (s.user_id or "").startswith("bench-")]
    if len(users) != 1:
        raise SystemExit(f"expected one bench scope in {args.store}, found {users}")
    user = users[0]
    started = time.perf_counter()
    mem.search(qs[0], user_id=user, limit=10)
    first_search_ms = (time.perf_counter() - started) * 1000

    precomputed = _Precomputed(embedder, qs)
    fast = Memory(mem.store, embedder=precomputed)

    time_searches(fast, user, qs)  # untimed: the first meeting of each query word
    with_embed = time_searches(mem, user, qs)
    no_embed = time_searches(fast, user, qs)

    # The exact side: every vector of the scope, in row order, as the store holds them.
    store = mem.store
    scope = Scope(user_id=user, tenant=mem.tenant)
    store.vector_search(scope, precomputed.vectors[qs[0]], Filters(), limit=1)
    [index] = [v for k, v in store._indexes.items() if k == scope]  # type: ignore[attr-defined]
    documents = index.matrix[: index.size]
    row_of = {int(pk): i for i, pk in enumerate(index.pks[: index.size])}
    tie_aware, strict = [], []
    for q in qs[:100]:
        vector = precomputed.vectors[q]
        found = store.vector_search(scope, vector, Filters(), limit=10)
        pks = dict(store._conn.execute(  # type: ignore[attr-defined]
            f"SELECT id, pk FROM memories WHERE id IN ({', '.join('?' * len(found))})",
            [r.id for r, _ in found],
        ).fetchall())  # fmt: skip
        a, s = recall_at_k(documents, vector, [row_of[pks[r.id]] for r, _ in found])
        tie_aware.append(a)
        strict.append(s)
    print(json.dumps({
        "n": int(index.size),
        "store": type(store).__name__,
        "first_search_ms": first_search_ms,
        "search_ms": _percentiles(with_embed),
        "search_ms_no_embed": _percentiles(no_embed),
        "ann_recall_at_10": float(np.mean(tie_aware)),
        "ann_recall_at_10_strict": float(np.mean(strict)),
        "vector_index": store.vector_index_settings(),  # type: ignore[attr-defined]
        "expansion_search": ann.expansion_search(int(index.size)),
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "machine": machine(),
    }))  # fmt: skip
    mem.close()


if __name__ == "__main__":
    main()
