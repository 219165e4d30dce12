"""``memstrata bench cold``: what a new process pays before its first answer.

A store with N synthetic chat messages in one scope is filled once through ``Memory.add``
(vectors and the filled store cached, as for ``eval scale``) and copied; then, several times,
a fresh Python process opens it and searches it, and reports each step: starting and importing
memstrata, loading the embedder (one text embedded), opening the store (``Memory(path)``), the
first search (which loads or builds whatever the scope's search needs: the ranker's index, the
vectors, the saved vector graph) and a second search of another question (warm). With
``--store`` the store is one's own (a user's scope of it, ``--scope``), copied first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from memstrata.evals.chats import chat_messages
from memstrata.evals.embedcache import CachingEmbedder, default_cache_dir
from memstrata.evals.machine import load_average, machine
from memstrata.evals.progress import progress_bar
from memstrata.evals.stores import (
    LARGE,
    cache_arguments,
    cached_store,
    copy_store,
    fill,
    refuse_large,
    remove_store,
)

SCOPE = "cold"
#: The questions of every repetition: the first search, then the warm one.
QUESTIONS = ("When did we last go hiking near Lisbon?", "What did Nadia give me for my birthday?")
STEPS = ("start_ms", "embedder_ms", "open_ms", "first_search_ms", "second_search_ms")


def proc_status(text: str) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (MB) from the text of ``/proc/PID/status`` (pure)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM") and value.strip().endswith("kB"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def read_status(pid: int | str = "self") -> dict[str, float]:
    try:
        return proc_status(Path(f"/proc/{pid}/status").read_text(encoding="utf-8"))
    except OSError:
        return {}


def child(store: str, embedder_spec: str, spawned: float, scope: str = SCOPE) -> dict[str, Any]:
    """One cold start, timed step by step, searching the user ``scope`` (runs in the fresh
    process)."""
    start_ms = (time.time() - spawned) * 1000
    from memstrata.embedders import make_embedder
    from memstrata.memory import Memory

    t = time.perf_counter()
    embedder = make_embedder(embedder_spec)
    embedder.embed(["warm up"], "query")
    embedder_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    memory = Memory(store, embedder=embedder)
    open_ms = (time.perf_counter() - t) * 1000
    times, hits = [], []
    for question in QUESTIONS:
        t = time.perf_counter()
        hits.append(len(memory.search(question, user_id=scope, limit=10)))
        times.append((time.perf_counter() - t) * 1000)
    memory.close()
    figures = (start_ms, embedder_ms, open_ms, *times)
    return {
        **{step: round(value, 1) for step, value in zip(STEPS, figures, strict=True)},
        "first_search_hits": hits[0],
        "memory_mb": read_status(),
    }


def _spawn(store: Path, embedder: str, scope: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "memstrata.evals.coldstart", str(store), embedder]
    began = time.perf_counter()
    done = subprocess.run(
        [*command, repr(time.time()), scope],
        capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the cold-start process failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_ms"] = round((time.perf_counter() - began) * 1000, 1)
    return result


def medians(repetitions: list[dict[str, Any]]) -> dict[str, float]:
    """The median of each step over the repetitions (pure)."""
    keys = [*STEPS, "process_ms"]
    return {
        key: round(statistics.median(r[key] for r in repetitions), 1)
        for key in keys
        if repetitions and all(key in r for r in repetitions)
    }


def run_size(n: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from memstrata.embedders import make_embedder

    load_before = load_average()
    embedder = make_embedder(args.embedder)
    recipe = {
        "kind": "cold",
        "n": n,
        "seed": args.seed,
        "embedder": embedder.name,
        "scope": SCOPE,
    }

    def build(path: Path) -> dict[str, Any]:
        caching = CachingEmbedder(embedder, args.cache / "vectors")
        sessions = chat_messages(n, seed=args.seed)
        batches = [(SCOPE, [m.as_message() for m in s]) for s in sessions]
        try:
            return fill(path, batches, caching, desc=f"fill {n:,}", progress=args.progress)
        finally:
            caching.close()

    source, record = cached_store(args.cache, f"cold-{n}", recipe, build, rebuild=args.rebuild)
    return {
        "n": n,
        "store": {k: record.get(k) for k in ("memories", "fill_s", "cached")},
        **_cold_starts(source, SCOPE, args, workdir, f"N={n:,}"),
        "load_average": {"before": load_before, "after": load_average()},
    }


def run_store(source: Path, scope: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Cold starts on a copy of a store of one's own, searching the user ``scope``."""
    from memstrata.memory import Memory
    from memstrata.types import Scope

    load_before = load_average()
    with Memory(f"sqlite:///{source.resolve()}?mode=ro", embedder=None) as memory:
        memories = memory.store.scope_stats(Scope(user_id=scope), []).memories
    return {
        "n": memories,
        "store": {"path": str(source), "scope": scope, "memories": memories},
        **_cold_starts(source, scope, args, workdir, f"{source.name}, {scope}"),
        "load_average": {"before": load_before, "after": load_average()},
    }


def _cold_starts(
    source: Path, scope: str, args: argparse.Namespace, workdir: Path, label: str
) -> dict[str, Any]:
    """``args.repeat`` fresh processes on one copy of ``source`` (so what the first saves
    beside it, such as a vector snapshot, the next ones find), and their medians."""
    store = copy_store(source, workdir / "cold.db")
    bar = progress_bar(args.repeat, f"cold starts, {label}", args.progress, unit="run")
    repetitions = []
    try:
        for _ in range(args.repeat):
            repetitions.append(_spawn(store, args.embedder, scope))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        remove_store(store)
    return {"repetitions": repetitions, "median": medians(repetitions)}


def run_command(args: argparse.Namespace) -> int:
    """Carry out ``memstrata bench cold``."""
    if args.store is not None and args.sizes:
        print("error: --store times a store of your own, --n fills one: name one of them",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.store is not None and not args.store.is_file():
        print(f"error: no such store: {args.store}", file=sys.stderr)
        return 2
    sizes = sorted(set(args.sizes or [20_000]))
    if refuse_large(sizes, args.large, "memstrata bench cold", "--n"):
        return 2
    args.cache = args.cache or default_cache_dir()
    args.progress = not args.quiet
    where = machine()  # the revision that runs is the one checked out now
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="memstrata-cold-") as tmp:
        if args.store is not None:
            rows = [run_store(args.store, args.scope, args, Path(tmp))]
        else:
            rows = [run_size(n, args, Path(tmp)) for n in sizes]
    report = {
        "sizes": rows,
        "settings": {
            "embedder": args.embedder,
            "repeat": args.repeat,
            "seed": args.seed,
            "questions": list(QUESTIONS),
            "cache": str(args.cache),
        },
        "machine": where,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(report))
        return 0
    for row in rows:
        m = row["median"]
        print(
            f"n={row['n']:,}  median of {len(row['repetitions'])}: start {m['start_ms']:.0f} ms, "
            f"embedder {m['embedder_ms']:.0f} ms, open {m['open_ms']:.0f} ms, first search "
            f"{m['first_search_ms']:.0f} ms, second {m['second_search_ms']:.0f} ms  "
            f"(load {row['load_average']['before']} → {row['load_average']['after']})"
        )
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--n",
        dest="sizes",
        type=int,
        action="append",
        metavar="N",
        help="memories in the scope (repeatable; default 20000)",
    )
    p.add_argument("--large", action="store_true", help=f"allow --n above {LARGE:,}")
    p.add_argument("--repeat", type=int, default=5, help="fresh processes timed (default 5)")
    p.add_argument("--embedder", default="minilm", help="embedder spec (default: minilm)")
    p.add_argument("--seed", type=int, default=0, help="seed of the chat messages (default 0)")
    p.add_argument(
        "--store", type=Path,
        help="time a SQLite store of your own instead (the runs open a copy; not with --n)",
    )  # fmt: skip
    p.add_argument(
        "--scope", default=SCOPE, metavar="USER",
        help=f"with --store: the user whose memories are searched (default {SCOPE})",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object")
    cache_arguments(p)


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2], float(sys.argv[3]), *sys.argv[4:5])))
