"""The in-memory vector index of one scope: derived from SQLite, never trusted over it.

It holds the scope's normalised vectors as a float32 matrix together with the columns that
common filters need (state, kind, layer, event time, speaker), so a filtered search is one
matrix-vector product and a mask. Rows are kept in pk order, and rows only ever join a scope
with a larger pk, so an index is brought up to date by appending the rows past its last pk
(capacity doubles), by reading its filter columns again when one of its rows changed them, and
is built again only when a row left the scope or its vector changed (the store tells which by
the scope's epochs, ``schema.V5``). Past ``ANN_MIN_ROWS`` rows an HNSW index (usearch, see
``ann``) proposes candidates, which are rescored exactly from the matrix; exact search is the
fallback when filters leave too few of them. ``snapshots`` keeps an index on disk between
processes.

The graph holds the index's first ``linked`` rows, linked one at a time in pk order, so the same
rows make the same graph whatever happened in between. Rows past them wait, and every search
scores them exactly beside the graph: a process that loads a snapshot saved before the scope's
last rows joined searches those at once (linking them cost about 0.6 ms a row at 1,000,000)
and links them a few at a time as the scope changes (``LINK_STEP``).
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from memstrata.stores.sqlite import ann as ann_module
from memstrata.types import KINDS, LAYERS, STATES, Filters, Scope

STATE_CODE = {name: i for i, name in enumerate(STATES)}
KIND_CODE = {name: i for i, name in enumerate(KINDS)}
LAYER_CODE = {name: i for i, name in enumerate(LAYERS)}

#: Scopes with at least this many vectors get an approximate (HNSW) index.
ANN_MIN_ROWS = 20_000
#: How many ANN candidates to fetch per requested hit, before filtering and exact rescoring.
ANN_OVERSAMPLE = 4
#: The graph is asked when at least this share of the rows is kept: with fewer, its candidates
#: rarely hold enough kept rows and the search would end exact anyway.
ANN_MIN_SHARE = 0.5
#: An exact search of at most this share of the rows gathers them first (copying a row costs
#: about what scoring five does: at 100,000 MiniLM rows, 1,000 kept take 0.6 ms, against 20 ms
#: for all of them).
GATHER_MAX_SHARE = 0.2
#: How many gathered rows are copied and scored at a time (``_gathered_scores``). Copied all at
#: once, a speaker's 11,000 rows among 1,000,000 (17 MB) leave the cache before they are
#: scored: 2.2 ms, against 1.0 a block at a time. Measured with OpenBLAS, blocks also scored
#: every row the same with one thread or two, where one product of all the rows did not (the
#: threads split the rows where they will).
GATHER_BLOCK = 1024
#: How many waiting rows a refresh links into the graph beside the rows it appends: at
#: 1,000,000 rows about 40 ms, so a process that loaded a snapshot 2,000 rows behind links them
#: over its next 30 or so refreshes.
LINK_STEP = 64
#: pk, embedding, state, kind, layer, when, actor
Row = tuple[int, bytes, str, str, str, int | None, str | None]
#: pk, state, kind, layer, when, actor: what a filter reads of a row
Columns = tuple[int, str, str, str, int | None, str | None]
#: The index's arrays of those columns, in that order.
COLUMNS = ("state", "kind", "layer", "when", "actor")

#: How many masks of coded columns an index keeps (``ScopeVectors._coded_mask``): a search
#: asks for one of a few.
_MASKS = 8

#: How many bytes of vector indexes a store keeps in memory by default (``VectorCache``).
DEFAULT_CACHE_BYTES = 512 * 1024 * 1024


def _among(codes: npt.NDArray[np.uint8], wanted: list[int]) -> npt.NDArray[np.bool_]:
    """``np.isin`` for small codes, by table lookup (several times faster on 100,000 rows)."""
    table = np.zeros(256, dtype=bool)
    table[wanted] = True
    return table[codes]


def needs_sql(filters: Filters) -> bool:
    """Whether a filter can only be answered by SQL (not by the index's own columns). Reading
    memory as current (``Filters.current_at``) is not: it leaves out a few memories the index
    keeps (``stale_sql``), unless it asks for archived memories (or any), which an expiry
    adds."""
    return (
        bool(filters.metadata)
        or filters.where is not None
        or (filters.current_at is not None and (not filters.states or "archived" in filters.states))
    )


def stale_sql(where: str) -> str:
    """The memories of ``where`` (the scope of ``m``) that reading as current at
    ``Filters.current_at`` leaves out of active ones: facts whose validity has ended, and
    active memories that have expired. Both are found by partial indexes, so a scope without
    them costs two index probes. Its parameters: the scope's, then the time twice."""
    return (
        f"SELECT m.pk FROM memories m WHERE {where} AND m.kind = 'fact' "
        "AND m.valid_to IS NOT NULL AND m.valid_to <= ? "
        f"UNION SELECT m.pk FROM memories m WHERE {where} AND m.state = 'active' "
        "AND m.expires_at IS NOT NULL AND m.expires_at <= ?"
    )


@dataclass
class ScopeVectors:
    #: The scope's change counter when the index was last brought up to date.
    stamp: int
    #: The scope's epochs (``schema.V5``) the rows and vectors, and the columns, are current at.
    vectors_stamp: Hashable = ()
    columns_stamp: Hashable = ()
    dim: int = 0
    size: int = 0
    pks: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    matrix: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    state: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros(0, np.uint8))
    kind: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros(0, np.uint8))
    layer: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros(0, np.uint8))
    when: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    #: Each row's speaker, as a number (0: none) in ``actors``.
    actor: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    actors: dict[str, int] = field(default_factory=dict)
    ann: Any = None
    #: How many of the first rows the graph holds: the rest wait, searched exactly.
    linked: int = 0
    #: What the copy on disk holds (``snapshots``): its rows, and its columns' stamp.
    saved_size: int = 0
    saved_columns: Hashable = None
    #: The masks of the coded columns (``_coded_mask``) by what they asked, with the rows and
    #: the columns they were made for.
    _masks: dict[Hashable, tuple[int, tuple[npt.NDArray[Any], ...], npt.NDArray[np.bool_]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def build(cls, stamp: int, rows: Sequence[Row], *, stored: np.dtype[Any]) -> ScopeVectors:
        """An index of ``rows``, whose vectors are kept as ``stored`` values."""
        index = cls(stamp=stamp)
        index.append(rows, stored=stored)
        return index

    @property
    def nbytes(self) -> int:
        """Memory held: the arrays, and the graph's copy of the vectors with its links."""
        arrays = (self.pks.nbytes + self.matrix.nbytes + self.when.nbytes + self.actor.nbytes
                  + (3 + _MASKS) * len(self.pks))  # fmt: skip
        per_row = self.dim + 2 * ann_module.CONNECTIVITY * 4
        graph = 0 if self.ann is None else self.linked * per_row
        return int(arrays + graph)

    @property
    def last_pk(self) -> int:
        """The largest pk held (0: none): rows past it are the scope's new ones."""
        return int(self.pks[self.size - 1]) if self.size else 0

    def _grow(self, needed: int) -> None:
        capacity = len(self.pks)
        if needed <= capacity:
            return
        new = max(needed, capacity * 2, 64)

        def grown(array: np.ndarray, shape: tuple[int, ...]) -> Any:
            out = np.zeros(shape, dtype=array.dtype)
            out[: self.size] = array[: self.size]
            return out

        self.pks = grown(self.pks, (new,))
        self.matrix = grown(self.matrix, (new, self.dim))
        self.state = grown(self.state, (new,))
        self.kind = grown(self.kind, (new,))
        self.layer = grown(self.layer, (new,))
        self.when = grown(self.when, (new,))
        self.actor = grown(self.actor, (new,))

    def append(self, rows: Sequence[Row], *, stored: np.dtype[Any], wait: bool = False) -> None:
        """Add ``rows`` (in pk order, past ``last_pk``), whose vectors are kept as ``stored``
        values. A graph links them, and up to ``LINK_STEP`` rows that were waiting, unless
        ``wait``: then they wait too (searched exactly until a later append links them)."""
        if not rows:
            return
        if self.dim == 0:
            self.dim = len(rows[0][1]) // stored.itemsize
            self.matrix = np.zeros((0, self.dim), np.float32)
        start, end = self.size, self.size + len(rows)
        self._grow(end)
        # Column by column: a cold scope's 500 rows make its index in about 0.4 ms this way,
        # against 0.5 a row at a time (docs/benchmarks.md, "Servers under load", ninth pass).
        pks, vectors, *columns = zip(*rows, strict=True)
        self.pks[start:end] = pks
        block = np.frombuffer(b"".join(vectors), dtype=stored)
        self.matrix[start:end] = block.reshape(len(rows), self.dim)  # as float32
        for name, values in zip(COLUMNS, self._codes(columns), strict=True):
            getattr(self, name)[start:end] = values
        self.size = end
        if self.ann is not None:
            if not wait:
                self.link(len(rows) + LINK_STEP)
        elif self.size >= ANN_MIN_ROWS:
            self._build_ann()

    def link(self, count: int) -> None:
        """Link the next ``count`` waiting rows (fewer if fewer wait) into the graph."""
        start = self.linked
        end = min(self.size, start + count)
        if self.ann is None or end <= start:
            return
        # In one thread: rows inserted by several at once are linked in whichever order the
        # threads reach them, and the same rows would make another graph each run.
        self.ann.add(self.pks[start:end], self.matrix[start:end], threads=1)
        self.linked = end

    def _codes(self, columns: Sequence[Sequence[Any]]) -> list[npt.NDArray[Any]]:
        """The filter columns (``COLUMNS``: state, kind, layer, when, actor, each a column of
        the rows), coded as the index holds them. A speaker new to the index takes the next
        number, in the order the rows name them."""
        states, kinds, layers, whens, speakers = columns
        n = len(states)
        actors = self.actors
        for name in dict.fromkeys(speakers):
            if name is not None and name not in actors:
                actors[name] = len(actors) + 1
        actor_code: dict[str | None, int] = {None: 0}
        actor_code.update(actors)
        return [
            np.fromiter(map(STATE_CODE.__getitem__, states), np.uint8, n),
            np.fromiter(map(KIND_CODE.__getitem__, kinds), np.uint8, n),
            np.fromiter(map(LAYER_CODE.__getitem__, layers), np.uint8, n),
            np.fromiter((w or 0 for w in whens) if None in whens else whens, np.int64, n),
            np.fromiter(map(actor_code.__getitem__, speakers), np.int32, n),
        ]

    def recolumn(self, rows: Sequence[Columns]) -> bool:
        """Take the filter columns of the rows held again (``rows`` in pk order); ``False``,
        changing nothing, when they are not exactly the rows held. Each column is replaced
        whole, so a search running meanwhile reads either the old or the new one."""
        n = self.size
        if len(rows) != n:
            return False
        if not n:
            return True
        pks, *columns = zip(*rows, strict=True)
        if not np.array_equal(np.fromiter(pks, np.int64, n), self.pks[:n]):
            return False
        for name, values in zip(COLUMNS, self._codes(columns), strict=True):
            column = np.zeros(len(self.pks), values.dtype)
            column[:n] = values
            setattr(self, name, column)
        return True

    def _build_ann(self) -> None:
        index = ann_module.new_index(self.dim)
        if index is not None:
            index.add(self.pks[: self.size], self.matrix[: self.size])
        self.ann, self.linked = index, self.size if index is not None else 0

    def mask(
        self,
        filters: Filters,
        allowed_pks: set[int] | None = None,
        blocked_pks: set[int] | None = None,
    ) -> npt.NDArray[np.bool_]:
        n = self.size
        keep = self._coded_mask(filters, n).copy()
        if filters.since is not None:
            keep &= self.when[:n] >= int(filters.since.timestamp() * 1_000_000)
        if filters.until is not None:
            keep &= self.when[:n] <= int(filters.until.timestamp() * 1_000_000)
        if filters.actor is not None:
            keep &= self.actor[:n] == self.actors.get(filters.actor, -1)
        if allowed_pks is not None:
            keep &= np.isin(self.pks[:n], np.fromiter(allowed_pks, np.int64, len(allowed_pks)))
        if blocked_pks:
            keep &= ~np.isin(self.pks[:n], np.fromiter(blocked_pks, np.int64, len(blocked_pks)))
        return keep

    def _coded_mask(self, filters: Filters, n: int) -> npt.NDArray[np.bool_]:
        """The first ``n`` rows' mask of the filters on coded columns (states, kinds, layers),
        kept for the next search with the same ones (at 1,000,000 rows it takes about 1 ms;
        most searches ask for the same states). It is made again once rows were appended or
        a column replaced (``recolumn``), so it is always the index's as it is."""
        asked = (filters.states, filters.kinds, filters.layers)
        columns = (self.state, self.kind, self.layer)
        found = self._masks.get(asked)
        if found is not None and found[0] == n and all(map(operator.is_, found[1], columns)):
            return found[2]
        keep = np.ones(n, dtype=bool)
        if filters.states:
            keep &= _among(self.state[:n], [STATE_CODE[s] for s in filters.states])
        if filters.kinds:
            keep &= _among(self.kind[:n], [KIND_CODE[k] for k in filters.kinds])
        if filters.layers:
            keep &= _among(self.layer[:n], [LAYER_CODE[x] for x in filters.layers])
        if len(self._masks) >= _MASKS:
            self._masks.clear()
        self._masks[asked] = (n, columns, keep)
        return keep

    def search(
        self, vector: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_], k: int
    ) -> list[tuple[int, float]]:
        """The ``k`` best (pk, cosine) among kept rows, best first. The graph answers when
        most rows are kept; a filter that keeps few (a speaker, a time window) is answered
        exactly, from the kept rows alone when they are few enough to gather."""
        kept = int(np.count_nonzero(keep))
        k = min(k, kept)
        if k <= 0:
            return []
        n = len(keep)
        if self.ann is not None and kept >= n * ANN_MIN_SHARE:
            found = self._ann_search(vector, keep, k)
            if found is not None:
                return found
        if kept <= n * GATHER_MAX_SHARE:
            rows = np.flatnonzero(keep)
            scores = _gathered_scores(self.matrix, rows, vector)
        else:
            rows = np.arange(n)
            scores = np.where(keep, self.matrix[:n] @ vector, -np.inf)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return _pairs(self.pks[rows[top]], scores[top])

    def _ann_search(
        self, vector: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_], k: int
    ) -> list[tuple[int, float]] | None:
        """The graph's candidates among the linked rows, and every waiting row, scored
        exactly; ``None`` when the graph proposes fewer than ``k`` kept rows."""
        n = len(keep)  # the rows the mask was made for (rows appended since are not in it)
        linked = min(self.linked, n)  # rows linked meanwhile are scored among the waiting
        width = ann_module.expansion_search(linked)
        if self.ann.expansion_search != width:  # the graph grew (or was just built or loaded)
            self.ann.expansion_search = width
        matches = self.ann.search(vector, k * ANN_OVERSAMPLE)
        keys = np.asarray(matches.keys, dtype=np.int64)
        rows = np.searchsorted(self.pks[:linked], keys)
        inside = rows < linked
        rows, keys = rows[inside], keys[inside]
        rows = rows[self.pks[rows] == keys]  # a key the graph holds but the rows do not: skipped
        rows = rows[keep[rows]]
        if len(rows) < k:
            return None
        if linked < n:
            rows = np.concatenate([rows, linked + np.flatnonzero(keep[linked:n])])
        scores = _gathered_scores(self.matrix, rows, vector)
        order = np.argsort(-scores, kind="stable")[:k]
        return _pairs(self.pks[rows[order]], scores[order])


def _gathered_scores(
    matrix: npt.NDArray[np.float32], rows: npt.NDArray[np.int64], vector: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """The cosines of ``rows`` of ``matrix`` with ``vector``, ``GATHER_BLOCK`` rows at a time:
    each block is copied and scored while it is in the processor's cache."""
    out = np.empty(len(rows), np.float32)
    for start in range(0, len(rows), GATHER_BLOCK):
        block = rows[start : start + GATHER_BLOCK]
        out[start : start + len(block)] = matrix[block] @ vector
    return out


def _pairs(pks: npt.NDArray[np.int64], scores: npt.NDArray[Any]) -> list[tuple[int, float]]:
    """(pk, score) pairs as Python numbers, converted a column at a time (the pks may be a
    memory map, whose every element read costs a Python call)."""
    return list(zip(np.asarray(pks).tolist(), np.asarray(scores).tolist(), strict=True))


class VectorCache:
    """The scopes' vector indexes of one store, within a bound in bytes: the least recently
    used go first (one index larger than the bound is kept alone until the next)."""

    def __init__(self, limit: int = DEFAULT_CACHE_BYTES) -> None:
        self.limit = limit
        self._items: OrderedDict[Scope, tuple[ScopeVectors, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, scope: Scope) -> ScopeVectors | None:
        with self._lock:
            found = self._items.get(scope)
            if found is None:
                return None
            self._items.move_to_end(scope)
            return found[0]

    def put(self, scope: Scope, index: ScopeVectors) -> None:
        with self._lock:
            self._drop(scope)
            size = index.nbytes
            self._items[scope] = (index, size)
            self._bytes += size
            while self._bytes > self.limit and len(self._items) > 1:
                oldest = next(iter(self._items))
                self._drop(oldest)

    def _drop(self, scope: Scope) -> None:
        found = self._items.pop(scope, None)
        if found is not None:
            self._bytes -= found[1]
