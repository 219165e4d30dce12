"""Benchmark stores: filled once through ``Memory.add``, kept in a cache, copied for each run.

Filling a store with 100,000 messages costs minutes even with cached vectors, so a filled store
is kept under ``<cache>/stores/<label>-<hash of its recipe>.db`` beside a JSON file that holds
the recipe and how the fill went. A run works on a copy (``copy_store``), because searching
writes to a store (kept searches) and a run adds its own messages. A store is SQLite here: one
file, its write-ahead log, and the saved vector indexes beside it (``<db>.ann/``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from memstrata.evals.progress import progress_bar
from memstrata.ports import Embedder
from memstrata.types import AddResult, Filters, Scope

#: Sizes above this take an hour or more to ingest and several GB of memory: they need ``--large``.
LARGE = 200_000

Batch = Sequence[Mapping[str, Any]]


def refuse_large(sizes: Sequence[int], large: bool, command: str, option: str) -> bool:
    """Say on stderr, and return True, when a size above ``LARGE`` lacks ``--large``."""
    above = [n for n in sizes if n > LARGE]
    if above and not large:
        print(
            f"{command}: {option} {above[0]:,} is above {LARGE:,}; it takes hours and several "
            "GB of memory, so add --large to run it",
            file=sys.stderr,
        )
    return bool(above) and not large


#: A recipe's version: bump it when the same recipe would fill a store differently.
RECIPE_VERSION = 1


def _companions(path: Path) -> list[Path]:
    """The files of a SQLite store besides the database: its log, shared memory, graphs."""
    return [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", ".ann")]


def copy_store(source: Path, target: Path) -> Path:
    """Copy a closed store (the database and what lies beside it) to ``target``."""
    remove_store(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    for part, dest in zip(_companions(source), _companions(target), strict=True):
        if part.is_dir():
            shutil.copytree(part, dest)
        elif part.exists():
            shutil.copyfile(part, dest)
    return target


def remove_store(path: Path) -> None:
    for part in (path, *_companions(path)):
        if part.is_dir():
            shutil.rmtree(part)
        elif part.exists():
            part.unlink()


def recipe_key(recipe: Mapping[str, Any]) -> str:
    """A short hash of a recipe (pure): equal recipes name the same cached store."""
    text = json.dumps({**recipe, "recipe_version": RECIPE_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fill(
    path: str | Path,
    batches: Sequence[tuple[str, Batch]],
    embedder: Embedder,
    *,
    desc: str = "fill",
    progress: bool = False,
) -> dict[str, Any]:
    """Add each ``(user_id, messages)`` batch to the store at ``path`` through ``Memory.add``."""
    from memstrata.memory import Memory

    total = sum(len(b) for _, b in batches)
    added = 0
    started = time.perf_counter()
    with Memory(str(path), embedder=embedder) as memory:
        bar = progress_bar(total, desc, progress, unit="msg")  # once the store is open
        for user_id, batch in batches:
            if not batch:
                continue
            result: AddResult = memory.add(list(batch), user_id=user_id)
            added += len(result.added)
            if bar is not None:
                bar.update(len(batch))
    if bar is not None:
        bar.close()
    return {"messages": total, "memories": added, "fill_s": round(time.perf_counter() - started, 3)}


def cached_store(
    cache: Path,
    label: str,
    recipe: Mapping[str, Any],
    build: Callable[[Path], Mapping[str, Any]],
    *,
    rebuild: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """The cached store made by ``recipe``, built by ``build(path)`` when missing.

    Returns its path and its record: the recipe, what ``build`` reported, and ``cached`` (True
    when it was there already). A build runs in a temporary name and is moved into place only
    when it finished. A store kept by an earlier memstrata is upgraded in place first, as a
    user's store is when opened, so no timing includes its migration.
    """
    folder = cache / "stores"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{label}-{recipe_key(recipe)}.db"
    record_path = path.with_suffix(".json")
    if not rebuild and path.exists() and record_path.exists():
        record = json.loads(record_path.read_text(encoding="utf-8"))
        upgrade(path)
        return path, {**record, "cached": True}
    building = folder / f".{path.name}.{os.getpid()}.building"
    remove_store(building)
    try:
        report = dict(build(building))
        remove_store(path)
        copy_store(building, path)
    finally:
        remove_store(building)
    record = {"recipe": dict(recipe), **report}
    record_path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"cached the store at {path}", file=sys.stderr)
    return path, {**record, "cached": False}


def upgrade(path: Path) -> None:
    """Open the SQLite store at ``path`` writable once: its schema and figures become current."""
    from memstrata.stores.sqlite import SQLiteStore

    SQLiteStore(path).close()


def keep_index(path: Path, scope: Scope, embedder: Embedder) -> bool:
    """Build the vector index of ``scope`` in the closed SQLite store at ``path`` and save it
    beside it (``<db>.ann/``, ``stores.sqlite.snapshots``), unless one is there already; returns
    whether it built one. One search builds it, with a query ``embedder`` (the store's) embeds.

    Every run's copy then loads this one graph and inserts its own rows into it in one thread, so
    two runs of a recipe search the same graph. Without it each run built the scope's graph anew
    with every core, in whichever order the threads reached the rows, and some hits differed
    from run to run."""
    from memstrata.stores.sqlite import SQLiteStore

    if Path(f"{path}.ann").is_dir():
        return False
    probe = embedder.embed(["a probe"], kind="query")[0]
    store = SQLiteStore(path)
    try:
        store.vector_keys(scope, probe, Filters(), limit=1)
    finally:
        store.close()
    return Path(f"{path}.ann").is_dir()


def cache_arguments(p: argparse.ArgumentParser) -> None:
    """``--cache DIR``, ``--rebuild`` and ``--quiet``, as every benchmark command takes them."""
    p.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="where vectors and filled stores are kept between runs (default: bench/ in the "
        "user cache directory)",
    )
    p.add_argument("--rebuild", action="store_true", help="fill the cached stores again")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
