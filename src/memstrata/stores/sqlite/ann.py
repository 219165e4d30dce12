"""The HNSW index (usearch) of a scope's vectors: its parameters, and how to make one.

Building the graph for 100,000 vectors takes tens of seconds on two cores, so it is saved with
the rest of the scope's index between processes (``snapshots``). The graph only proposes
candidates: their cosines are computed again from the exact vectors, so even a stale graph
could cost recall, never return a wrong score or a row that is not there.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from pathlib import Path
from typing import Any

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


def _usearch() -> Any:
    """usearch's ``Index``, loaded after onnxruntime when that is installed: onnxruntime's
    extension (MiniLM's runtime), loaded after usearch's, crashes the process in its static
    initialisers (a segmentation fault in libstdc++, usearch 2.26 and onnxruntime 1.32 on
    Linux), and a search of a large scope may make its graph before the query's embedder is
    loaded. Loaded first, onnxruntime is unharmed. Raises ``ImportError`` without usearch."""
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime  # noqa: F401
    from usearch.index import Index

    return Index


def new_index(dim: int) -> Any | None:
    """An empty HNSW index for ``dim``-dimensional unit vectors, or ``None`` without usearch."""
    try:
        Index = _usearch()
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


def restore(path: Path) -> Any | None:
    try:
        return _usearch().restore(str(path))
    except Exception as exc:  # a truncated or foreign file: rebuild instead
        logger.warning("ignoring the vector index file %s: %s", path, exc)
        return None
