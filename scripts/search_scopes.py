"""In-process search time over a store of many scopes, such as the one ``memstrata bench serve``
fills and caches, on a copy (the store given is never opened)::

    python scripts/search_scopes.py ~/.cache/memstrata/bench/stores/serve-200x500-<hash>.db
    python scripts/search_scopes.py STORE --profile      # where a search's time goes
    python scripts/search_scopes.py STORE --profile --sort cumulative --rows 80
    python scripts/search_scopes.py STORE --threads 16 --parallel 2   # as a busy server
    python scripts/search_scopes.py --postgres --scopes 20               # PostgreSQL (pgserver)
    python scripts/search_scopes.py STORE --rest      # and through `memstrata serve`, one client

Copies the SQLite store to a temporary folder, opens the copy (a store of an older schema is
migrated then, timed as ``open``), and prints its bytes per memory (the file, and its pages in
use). Then ``--searches`` synthetic questions, each in a scope ``load-<i>`` drawn at random: the
first ``--warmup`` of them untimed, then all of them timed, twice (the second pass asks the same
questions of the same scopes again). With ``--threads T`` each pass is asked by T threads
at once, of a ``Memory`` that runs at most ``--parallel`` searches at a time. Last, the
process's resident memory (run it with ``MALLOC_ARENA_MAX=2`` to see it as ``memstrata serve``
holds it). With ``--rest``, the same searches are then asked, one at a time by one client,
of a ``memstrata serve`` on the copy (its own process, with ``--embedder``): the difference is
what a request's path around the search costs. With ``--postgres`` there is no STORE: a
throwaway PostgreSQL (the ``pgserver`` wheel) is filled with ``--scopes`` scopes of 500
synthetic messages (``memstrata bench serve``'s), then asked.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shutil
import sqlite3
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from memstrata import Memory
from memstrata.evals.load import postgres, scope_batches, scope_name, start_server, stop_server
from memstrata.evals.synthetic import synthetic_queries


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("store", type=Path, nargs="?",
                   help="a SQLite store filled by `memstrata bench serve`")  # fmt: skip
    p.add_argument("--postgres", action="store_true", help="fill and ask a throwaway PostgreSQL")
    p.add_argument("--scopes", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--searches", type=int, default=200)
    p.add_argument("--embedder", default="hashing:256")
    p.add_argument("--profile", action="store_true", help="profile the first pass")
    p.add_argument("--sort", choices=("tottime", "cumulative"), default="tottime",
                   help="the profile's order: own time, or with what it calls")  # fmt: skip
    p.add_argument("--rows", type=int, default=25, help="the profile's rows")
    p.add_argument("--threads", type=int, default=1, help="threads asking at once")
    p.add_argument("--parallel", type=int, default=1, help="Memory(parallel_searches=…)")
    p.add_argument("--rest", action="store_true",
                   help="then the same searches through `memstrata serve`, one client")  # fmt: skip
    args = p.parse_args()
    if (args.store is None) == (not args.postgres):
        p.error("name a STORE, or --postgres")
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        if args.postgres:
            target: str | Path = stack.enter_context(postgres(Path(folder)))
            with Memory(target, embedder=args.embedder) as memory:
                for scope, batch in scope_batches(args.scopes, 500):
                    memory.add(batch, user_id=scope)
        else:
            target = Path(folder) / "store.db"
            shutil.copyfile(args.store, target)
        started = time.perf_counter()
        with Memory(target, embedder=args.embedder, parallel_searches=args.parallel) as memory:
            print(f"open: {time.perf_counter() - started:.1f} s")
            if isinstance(target, Path):
                print_size(target)
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
                ask(memory, timed, args.threads)
                elapsed = time.perf_counter() - started
                if profiler is not None and label == "first pass":
                    profiler.disable()
                print(f"{label}: {elapsed / len(timed) * 1000:.1f} ms a search, "
                      f"{len(timed) / elapsed:.1f} searches a second")  # fmt: skip
            print(f"resident: {resident_mb():.0f} MB")
            if profiler is not None:
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.rows)
        if args.rest and isinstance(target, Path):
            print_rest(target, args.embedder, timed, Path(folder) / "serve.log")


def print_rest(store: Path, embedder: str, timed: list[tuple[str, str]], log: Path) -> None:
    """The searches of ``timed`` through a server on ``store``, one at a time, twice; and a
    request that does no work (``/healthz``), as often."""
    server = start_server(str(store), embedder, log)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for label in ("first pass", "second pass"):
                started = time.perf_counter()
                for scope, question in timed:
                    body = {"user_id": scope, "query": question, "limit": 10}
                    client.post("/v1/memories/search", json=body).raise_for_status()
                elapsed = time.perf_counter() - started
                print(f"over REST, {label}: {elapsed / len(timed) * 1000:.1f} ms a search")
            started = time.perf_counter()
            for _ in timed:
                client.get("/healthz").raise_for_status()
            elapsed = time.perf_counter() - started
            print(f"over REST, a request that does no work: {elapsed / len(timed) * 1000:.2f} ms")
    finally:
        stop_server(server)


def resident_mb() -> float:
    """This process's resident memory (Linux; 0 elsewhere)."""
    status = Path("/proc/self/status")
    if not status.exists():
        return 0.0
    line = next(x for x in status.read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def print_size(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        memories = conn.execute("SELECT count(*) FROM memories").fetchone()[0]
        pragmas = ("page_count", "freelist_count", "page_size")
        pages, free, size = (conn.execute(f"PRAGMA {n}").fetchone()[0] for n in pragmas)
    print(f"{memories} memories: {path.stat().st_size / memories:.0f} bytes a memory "
          f"(file), {(pages - free) * size / memories:.0f} (pages in use)")  # fmt: skip


def ask(memory: Memory, timed: list[tuple[str, str]], threads: int) -> None:
    """Every (scope, question) of ``timed``, dealt to ``threads`` threads asking at once."""

    def run(part: list[tuple[str, str]]) -> None:
        for scope, question in part:
            memory.search(question, user_id=scope, limit=10)

    if threads == 1:  # in this thread, so that a profile of this thread sees the searches
        run(timed)
        return
    workers = [threading.Thread(target=run, args=(timed[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
