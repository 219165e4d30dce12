"""The HNSW index (usearch) of a scope's vectors, and its copy on disk between processes.

Building the graph for 100,000 vectors takes tens of seconds on two cores, and every process
used to pay it on its first search. So the graph is saved next to the database file, in
``<db>.ann/<scope key>-<rows>-<checksum>.usearch``, and a process that opens the store loads it
instead. The file is derived data, never trusted over SQLite: the name records how many rows
(in pk order) it was built from and a CRC-32 of their pks and vectors, and it is used only when
the scope's vectors read from SQLite start with exactly those rows. Rows added since are added
to the loaded graph; anything else (a purged memory, a changed vector, another embedder, a file
from another version) means a rebuild, which replaces the file. The graph only proposes
candidates: their cosines are computed again from the vectors read from SQLite, so even a
stale graph could cost recall, never return a wrong score or a row that is not there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memstrata.types import Scope

logger = logging.getLogger(__name__)

#: Links per node of the HNSW graph.
CONNECTIVITY = 16
#: Candidate list size while adding (graph quality) and while searching (recall against time).
EXPANSION_ADD = 128
EXPANSION_SEARCH = 200
#: A walk of 200 candidates finds fewer of the true ten in a larger graph: with MiniLM vectors,
#: 0.994 at 100,000 rows but 0.947 at 1,000,000, where 1,300 find 0.994 again (about 2.5 ms
#: more a search). Past about 154,000 rows the walk keeps this many per row, up to the cap.
EXPANSION_PER_ROW = 0.0013
MAX_EXPANSION_SEARCH = 4000
#: How the graph stores its copy of the vectors. Candidates are rescored from the exact float32
#: matrix, so 8-bit copies cost little recall and take a quarter of the memory and disk.
DTYPE = "i8"
#: Part of every file name: files from another layout are ignored (and replaced).
FORMAT = "v1"
SUFFIX = ".usearch"


def new_index(dim: int) -> Any | None:
    """An empty HNSW index for ``dim``-dimensional unit vectors, or ``None`` without usearch."""
    try:
        from usearch.index import Index
    except ImportError:  # the `ann` extra is not installed: exact search only
        return None
    return Index(ndim=dim, metric="ip", dtype=DTYPE, connectivity=CONNECTIVITY,
                 expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)  # fmt: skip


def expansion_search(rows: int) -> int:
    """How many candidates a search of a graph of ``rows`` vectors keeps while it walks."""
    return min(MAX_EXPANSION_SEARCH, max(EXPANSION_SEARCH, round(rows * EXPANSION_PER_ROW)))


def settings() -> dict[str, Any]:
    return {"connectivity": CONNECTIVITY, "expansion_add": EXPANSION_ADD,
            "expansion_search": EXPANSION_SEARCH, "expansion_search_per_row": EXPANSION_PER_ROW,
            "max_expansion_search": MAX_EXPANSION_SEARCH, "dtype": DTYPE}  # fmt: skip


def scope_key(scope: Scope) -> str:
    """A file-name-safe key of a scope (tenant and ids)."""
    text = "\x1f".join(v or "" for v in (scope.tenant, scope.user_id, scope.agent_id, scope.run_id))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def checksum(pks: npt.NDArray[np.int64], matrix: npt.NDArray[np.float32], rows: int) -> int:
    """CRC-32 of the first ``rows`` pks and vectors."""
    crc = zlib.crc32(np.ascontiguousarray(pks[:rows]).data)
    return zlib.crc32(np.ascontiguousarray(matrix[:rows]).data, crc)


class AnnFiles:
    """The saved graphs of one database's scopes, in one directory."""

    def __init__(self, directory: Path, *, writable: bool = True) -> None:
        self.directory = directory
        #: False for a read-only store: its saved graphs are used, never written.
        self.writable = writable

    def _files(self, key: str) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f"{key}-{FORMAT}-*{SUFFIX}"))

    def load(
        self, key: str, pks: npt.NDArray[np.int64], matrix: npt.NDArray[np.float32], size: int
    ) -> tuple[Any, int] | None:
        """The saved graph of ``key`` and how many of the ``size`` rows it holds, if a saved
        graph was built from a prefix of exactly these rows."""
        for path in self._files(key):
            parts = path.name[: -len(SUFFIX)].split("-")
            try:
                rows, crc = int(parts[2]), int(parts[3], 16)
            except (IndexError, ValueError):
                continue
            if not 0 < rows <= size or checksum(pks, matrix, rows) != crc:
                continue
            index = _restore(path)
            if index is None or index.ndim != matrix.shape[1] or len(index) != rows:
                continue
            if str(index.dtype).split(".")[-1].lower() != DTYPE:
                continue
            return index, rows
        return None

    def save(
        self,
        key: str,
        index: Any,
        pks: npt.NDArray[np.int64],
        matrix: npt.NDArray[np.float32],
        rows: int,
    ) -> Path | None:
        """Save ``index`` (built from the first ``rows`` rows) as the graph of ``key``, replacing
        older ones; a failure is logged, not raised (the file is only a cache)."""
        if not self.writable:
            return None
        name = f"{key}-{FORMAT}-{rows}-{checksum(pks, matrix, rows):08x}{SUFFIX}"
        target = self.directory / name
        tmp = self.directory / f".{name}.{os.getpid()}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            index.save(str(tmp))
            os.replace(tmp, target)
        except OSError as exc:
            logger.warning("cannot save the vector index to %s: %s", target, exc)
            tmp.unlink(missing_ok=True)
            return None
        for old in self._files(key):
            if old != target:
                old.unlink(missing_ok=True)
        return target


def _restore(path: Path) -> Any | None:
    try:
        from usearch.index import Index

        return Index.restore(str(path))
    except Exception as exc:  # a truncated or foreign file: rebuild instead
        logger.warning("ignoring the vector index file %s: %s", path, exc)
        return None
