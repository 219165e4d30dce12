"""How long the read engine takes to rank in a store a ``memstrata eval scale --keep DIR`` run
kept, in process: every fifth question of DATASET, each asked once untimed and once timed, with
its query embedded beforehand (so the figures leave the embedding out, about 7 ms with MiniLM)::

    python scripts/time_rank.py /tmp/kept/scale-locomo-dev-100000.db \
        ../shared/data/locomo/locomo-dev.json

Prints the p50 and p95 of ``read.engine.rank`` with the library's budgeted packing (4,000
characters), in wall-clock time and in the CPU time of the thread that ranks (which other work
on a shared machine disturbs less), and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime

import numpy as np

from memstrata import Memory
from memstrata.evals.locomo import load_locomo
from memstrata.evals.scale import SCOPE, merge
from memstrata.read.engine import rank
from memstrata.types import Filters, Scope


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="a store that `memstrata eval scale --keep` kept")
    parser.add_argument("dataset", help="the LoCoMo-format file whose questions it was asked")
    parser.add_argument("--every", type=int, default=5, help="time every n-th question")
    args = parser.parse_args()
    questions = merge(load_locomo(args.dataset)).questions[:: args.every]
    before = os.getloadavg()[0]
    with Memory(args.store, embedder="minilm") as mem:
        assert mem.embedder is not None
        vectors = mem.embedder.embed([q.question for q in questions], kind="query")
        scope, active, now = Scope(user_id=SCOPE), Filters(states=("active",)), datetime.now(UTC)
        times, cpu = [], []
        for timed in (False, True):
            for question, vector in zip(questions, vectors, strict=True):
                start, start_cpu = time.perf_counter(), time.thread_time()
                rank(mem.store, vector, scope, question.question, active, limit=50, now=now,
                     budget=4000, alpha=2.0, cohesion=0.5)  # fmt: skip
                if timed:
                    times.append(1000 * (time.perf_counter() - start))
                    cpu.append(1000 * (time.thread_time() - start_cpu))
    p50, p95 = np.percentile(times, [50, 95])
    c50, c95 = np.percentile(cpu, [50, 95])
    print(f"{len(times)} searches: p50 {p50:.1f} ms, p95 {p95:.1f} ms; CPU p50 {c50:.1f} ms, "
          f"p95 {c95:.1f} ms; load {before:.2f} -> {os.getloadavg()[0]:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
