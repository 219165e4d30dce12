"""How long the read engine takes to rank in a store a ``memstrata eval scale --keep DIR`` run
kept, in process: every fifth question of DATASET, each asked once untimed and once timed, with
its query embedded beforehand (so the figures leave the embedding out, about 2.5 ms with MiniLM
on the 2-core machine of docs/benchmarks.md)::

    python scripts/time_rank.py /tmp/kept/scale-locomo-dev-100000.db \
        ../shared/data/locomo/locomo-dev.json

Prints the p50 and p95 of ``read.engine.rank`` with the library's budgeted packing (4,000
characters), in wall-clock time and in the CPU time of the thread that ranks (which other work
on a shared machine disturbs less), and the load average before and after. With ``--parts``,
also the milliseconds a timed search spends in each of the store's calls and the engine's
steps (timers wrapped around them; a part called within another counts in both). The garbage
collector is tuned as ``memstrata eval`` and the servers tune it (``settings.quiet_collector``)
unless ``--default-gc``. With ``--search``, what is timed is the public call instead,
``Memory.search(question, budget=4000)``, as ``eval scale`` times it: the query's embedding
included (its CPU time, in a thread of its own, is not in the CPU figures then).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from memstrata import Memory
from memstrata.evals.locomo import load_locomo
from memstrata.evals.scale import SCOPE, merge
from memstrata.options import preset
from memstrata.read import engine
from memstrata.read.engine import rank
from memstrata.settings import quiet_collector
from memstrata.types import Filters, Scope

#: The library's default retriever: its packing is the one timed.
DEFAULT = preset("default")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="a store that `memstrata eval scale --keep` kept")
    parser.add_argument("dataset", help="the LoCoMo-format file whose questions it was asked")
    parser.add_argument("--every", type=int, default=5, help="time every n-th question")
    parser.add_argument("--parts", action="store_true", help="time each part of a search too")
    parser.add_argument("--default-gc", action="store_true", help="CPython's own collector")
    parser.add_argument("--search", action="store_true",
                        help="time Memory.search, the query's embedding included")  # fmt: skip
    args = parser.parse_args()
    if not args.default_gc:
        quiet_collector()
    questions = merge(load_locomo(args.dataset)).questions[:: args.every]
    before = os.getloadavg()[0]
    with Memory(args.store, embedder="minilm") as mem:
        assert mem.embedder is not None
        vectors = mem.embedder.embed([q.question for q in questions], kind="query")
        scope, active, now = Scope(user_id=SCOPE), Filters(states=("active",)), datetime.now(UTC)
        parts: Counter[str] = Counter()
        if args.parts:
            for name in STORE_PARTS:
                setattr(mem.store, name, timed_part(getattr(mem.store, name), name, parts))
            for name in ENGINE_PARTS:
                if hasattr(engine, name):  # an older engine may lack one
                    setattr(engine, name, timed_part(getattr(engine, name), name, parts))
        times, cpu = [], []
        for timed in (False, True):
            parts.clear()
            for question, vector in zip(questions, vectors, strict=True):
                start, start_cpu = time.perf_counter(), time.thread_time()
                if args.search:
                    mem.search(question.question, user_id=SCOPE, budget=4000)
                else:
                    rank(mem.store, vector, scope, question.question, active, limit=50, now=now,
                         budget=4000, alpha=DEFAULT.alpha, cohesion=DEFAULT.cohesion,
                         reach=DEFAULT.cohesion_reach)  # fmt: skip
                if timed:
                    times.append(1000 * (time.perf_counter() - start))
                    cpu.append(1000 * (time.thread_time() - start_cpu))
    p50, p95 = np.percentile(times, [50, 95])
    c50, c95 = np.percentile(cpu, [50, 95])
    print(f"{len(times)} searches: p50 {p50:.1f} ms, p95 {p95:.1f} ms; CPU p50 {c50:.1f} ms, "
          f"p95 {c95:.1f} ms; load {before:.2f} -> {os.getloadavg()[0]:.2f}")  # fmt: skip
    for name, seconds in parts.most_common():
        print(f"  {name:14s} {1000 * seconds / len(times):6.1f} ms a search")
    return 0


#: The store's calls and the engine's steps that ``--parts`` times.
STORE_PARTS = ("scope_stats", "keyword_keys", "vector_keys", "placed", "sessions", "get_setting")
ENGINE_PARTS = ("build", "spread", "features", "pack", "_hits")


def timed_part(call: Callable[..., Any], name: str, parts: Counter[str]) -> Callable[..., Any]:
    """``call``, adding the seconds each call takes to ``parts[name]``."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            parts[name] += time.perf_counter() - start

    return timed


if __name__ == "__main__":
    raise SystemExit(main())
