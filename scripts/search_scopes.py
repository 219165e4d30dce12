"""In-process search time over a store of many scopes, such as the one ``memstrata bench serve``
fills and caches, on a copy (the store given is never opened)::

    python scripts/search_scopes.py ~/.cache/memstrata/bench/stores/serve-200x500-<hash>.db
    python scripts/search_scopes.py STORE --profile      # where a search's time goes

Copies the SQLite store to a temporary folder, opens the copy (a store of an older schema is
migrated then, timed as ``open``), and prints its bytes per memory (the file, and its pages in
use). Then ``--searches`` synthetic questions, each in a scope ``load-<i>`` drawn at random: the
first ``--warmup`` of them untimed, then all of them timed, twice (the second pass asks the same
questions of the same scopes again).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from memstrata import Memory
from memstrata.evals.load import scope_name
from memstrata.evals.synthetic import synthetic_queries


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("store", type=Path, help="a SQLite store filled by `memstrata bench serve`")
    p.add_argument("--scopes", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--searches", type=int, default=200)
    p.add_argument("--embedder", default="hashing:256")
    p.add_argument("--profile", action="store_true", help="profile the first pass")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "store.db"
        shutil.copyfile(args.store, copy)
        started = time.perf_counter()
        with Memory(copy, embedder=args.embedder) as memory:
            print(f"open: {time.perf_counter() - started:.1f} s")
            with sqlite3.connect(copy) as conn:
                memories = conn.execute("SELECT count(*) FROM memories").fetchone()[0]
                pragmas = ("page_count", "freelist_count", "page_size")
                pages, free, size = (conn.execute(f"PRAGMA {n}").fetchone()[0] for n in pragmas)
            print(f"{memories} memories: {copy.stat().st_size / memories:.0f} bytes a memory "
                  f"(file), {(pages - free) * size / memories:.0f} (pages in use)")  # fmt: skip
            rng = random.Random(0)
            questions = synthetic_queries(args.searches, seed=3)
            timed = [(scope_name(rng.randrange(args.scopes)), q) for q in questions]
            for scope, question in timed[: args.warmup]:
                memory.search(question, user_id=scope, limit=10)
            profiler = cProfile.Profile() if args.profile else None
            for label in ("first pass", "second pass"):
                if profiler is not None and label == "first pass":
                    profiler.enable()
                started = time.perf_counter()
                for scope, question in timed:
                    memory.search(question, user_id=scope, limit=10)
                elapsed = time.perf_counter() - started
                if profiler is not None and label == "first pass":
                    profiler.disable()
                print(f"{label}: {elapsed / len(timed) * 1000:.1f} ms a search")
            if profiler is not None:
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
