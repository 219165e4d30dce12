"""A scope's vector index on disk between processes: ``<db>.ann/<scope key>-v2-<rows>-<tag>/``.

Without it, a new process's first search of a large scope reads every vector of the scope from
SQLite (a third of a second at 20,000 rows, most of a minute at 1,000,000) and builds its HNSW
graph again (tens of seconds at 100,000 rows). A snapshot holds the index's arrays as ``.npy``
files, which a process opens memory-mapped (the operating system reads them as searches touch
them), the graph, and the scope's epochs they are current at (``schema.V5``). The arrays keep
room past their rows (``room``: as many as join before the snapshot is saved again), so rows
added since the save join a mapped index copy-on-write, without a copy of the rest; they wait
outside the graph (``vectors``: searched exactly, linked a few at a time as the scope changes).
The graph may itself hold fewer rows than the arrays (``linked`` in ``meta.json``): the rest
wait in the next process too.

It is derived data, never trusted over SQLite: the store uses a snapshot only while the scope's
vector epochs equal the snapshot's, reads the filter columns again when the column epochs
moved, and appends the rows past its last pk (``vectors``). A snapshot is written in a
directory of its own and renamed into place whole, so a reader never sees half of one; a
damaged or foreign one is ignored, and replaced by the next save.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np

from memstrata.stores.sqlite import ann
from memstrata.stores.sqlite.vectors import COLUMNS, ScopeVectors

logger = logging.getLogger(__name__)

#: Part of every name: snapshots of another layout are ignored (and replaced).
FORMAT = "v2"
#: Smaller scopes are read from SQLite, which takes a few milliseconds, and never saved.
MIN_ROWS = 5_000
#: A snapshot is saved again once this many rows (or a tenth of it) were added since.
RESAVE_ROWS = 2_000
ARRAYS = ("pks", "matrix", *COLUMNS)
GRAPH = "graph.usearch"


def room(saved: int) -> int:
    """How many rows may join a snapshot of ``saved`` rows before it is saved again (pure):
    the room its arrays keep for them."""
    return max(RESAVE_ROWS, saved // 10)


def due(index: ScopeVectors) -> bool:
    """Whether ``index`` differs enough from its copy on disk to be saved (pure)."""
    if index.size < MIN_ROWS:
        return False
    if index.saved_size == 0 or index.saved_columns != index.columns_stamp:
        return True
    return index.size - index.saved_size >= room(index.saved_size)


def _stamp(value: Any) -> Hashable:
    """A stamp read back from JSON: pairs of (exact scope, epoch)."""
    return tuple(tuple(int(x) for x in pair) for pair in value)


class Snapshots:
    """The saved indexes of one database's scopes, in one directory."""

    def __init__(self, directory: Path, *, writable: bool = True) -> None:
        self.directory = directory
        #: False for a read-only store: its snapshots are used, never written.
        self.writable = writable

    def _saved(self, key: str) -> list[Path]:
        """The key's snapshots, newest first."""
        if not self.directory.is_dir():
            return []
        found = [p for p in self.directory.glob(f"{key}-{FORMAT}-*") if p.is_dir()]
        return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)

    def load(self, key: str, stamp: int, vectors: Hashable) -> ScopeVectors | None:
        """The newest readable snapshot of ``key`` whose rows and vectors are current at the
        scope's vector epochs ``vectors``, as an index at change counter ``stamp``. A stale
        one is passed over on its ``meta.json`` alone."""
        for path in self._saved(key):
            try:
                index = _read(path, stamp, vectors)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.warning("ignoring the vector index snapshot %s: %s", path, exc)
                continue
            if index is not None:
                return index
        return None

    def save(self, key: str, index: ScopeVectors) -> Path | None:
        """Save ``index`` as the snapshot of ``key``, replacing older ones; a failure is logged,
        not raised (the snapshot is only a cache)."""
        if not self.writable:
            return None
        n = index.size
        name = f"{key}-{FORMAT}-{n}-{os.urandom(4).hex()}"
        target = self.directory / name
        tmp = self.directory / f".{name}.{os.getpid()}.tmp"
        meta = {"format": FORMAT, "size": n, "dim": index.dim, "actors": index.actors,
                "vectors": index.vectors_stamp, "columns": index.columns_stamp,
                "graph": index.ann is not None, "linked": index.linked}  # fmt: skip
        try:
            tmp.mkdir(parents=True)
            for array in ARRAYS:
                _write(tmp / f"{array}.npy", getattr(index, array)[:n], n + room(n))
            if index.ann is not None:
                index.ann.save(str(tmp / GRAPH))
            (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            os.rename(tmp, target)
        except OSError as exc:
            logger.warning("cannot save the vector index to %s: %s", target, exc)
            shutil.rmtree(tmp, ignore_errors=True)
            return None
        for old in [*self._saved(key), *self.directory.glob(f"{key}-v1-*.usearch")]:
            if old == target:
                continue
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
        index.saved_size, index.saved_columns = n, index.columns_stamp
        return target


def _write(path: Path, values: np.ndarray, rows: int) -> None:
    """``values`` as a ``.npy`` file of ``rows`` rows: the rows past them are zeros, left
    unwritten (a sparse file where the file system allows), the room for rows to join."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=values.dtype,
                                    shape=(rows, *values.shape[1:]))  # fmt: skip
    out[: len(values)] = values
    out.flush()
    del out


def _read(path: Path, stamp: int, vectors: Hashable) -> ScopeVectors | None:
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT or _stamp(meta["vectors"]) != vectors:
        return None
    n, dim = int(meta["size"]), int(meta["dim"])
    # Copy-on-write: rows appended into the room past ``n`` are the process's own pages,
    # never the file's.
    arrays = {name: np.load(path / f"{name}.npy", mmap_mode="c") for name in ARRAYS}
    rows = len(arrays["pks"])
    if rows < n or any(len(a) != rows for a in arrays.values()):
        return None
    if arrays["matrix"].shape[1:] != (dim,):
        return None
    graph, linked = None, 0
    if meta["graph"]:
        linked = int(meta.get("linked", n))  # older snapshots linked every row
        graph = ann.restore(path / GRAPH)
        if graph is None or len(graph) != linked or linked > n or graph.ndim != dim:
            return None
        if str(graph.dtype).split(".")[-1].lower() != ann.DTYPE:
            return None
    columns = _stamp(meta["columns"])
    return ScopeVectors(
        stamp=stamp, vectors_stamp=vectors, columns_stamp=columns, dim=dim,
        size=n, **arrays, actors={str(k): int(v) for k, v in meta["actors"].items()},
        ann=graph, linked=linked, saved_size=n, saved_columns=columns,
    )  # fmt: skip
