"""The default ranker: every unit (sentence) of the scope scored by a linear model over its
features; a memory ranks by its best unit.

The scope's ``ScopeIndex`` is cached per store and scope while the store's stamp holds. Filters
are applied as a mask before ranking. With a context budget the units are packed instead
(``read.pack``): among units of similar score the shorter ones go first
(``score - alpha * log(cost)``), so the budget holds more of what answers.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime

import numpy as np
import numpy.typing as npt

from memstrata.ports import Searchable, Vector
from memstrata.read.features import DEFAULT_WEIGHTS, features, linear_scores
from memstrata.read.index import ScopeIndex
from memstrata.read.pack import pack
from memstrata.types import Filters, Hit, MemoryRecord, Scope, Signal

_CACHE: weakref.WeakKeyDictionary[object, dict[Scope, ScopeIndex]] = weakref.WeakKeyDictionary()
#: One lock per store guards its cached indexes: appends, rebuilds and the reads of a ranking
#: never interleave (threads of one process share the cache).
_LOCKS: weakref.WeakKeyDictionary[object, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()


def _lock(store: Searchable) -> threading.RLock:
    with _LOCKS_LOCK:
        lock = _LOCKS.get(store)
        if lock is None:
            lock = _LOCKS[store] = threading.RLock()
        return lock


#: Scopes with more memories than this are ranked by fusing the store's own keyword and vector
#: searches (which have indexes for any size) instead of scoring every memory in memory.
FULL_SCAN_LIMIT = 50_000


def scope_index(store: Searchable, scope: Scope) -> ScopeIndex | None:
    """The current index of ``scope``: cached, rebuilt when the store has changed; ``None``
    for a scope too large to hold (``FULL_SCAN_LIMIT``)."""
    per_store = _CACHE.setdefault(store, {})
    key = scope
    cached = per_store.get(key)
    if cached is not None and cached.stamp == store.stamp():
        return cached
    if store.count(scope, Filters(states=())) > FULL_SCAN_LIMIT:
        per_store.pop(key, None)
        return None
    index = ScopeIndex.build(store, scope)
    per_store[key] = index
    return index


@contextmanager
def adding(
    store: Searchable, records: Sequence[MemoryRecord], vectors: Sequence[Vector] | None
) -> Iterator[None]:
    """Wrap the store write that adds ``records``: the cached indexes that were current before
    it are extended in place after it, instead of being rebuilt at the next search. The write
    runs under the store's index lock, so concurrent adds cannot make each other's stamps stale.
    """
    with _lock(store):
        before = store.stamp() if _CACHE.get(store) else None
        yield
        if before is not None:
            _extend(store, before, records, vectors)


def _extend(
    store: Searchable,
    before: Hashable,
    records: Sequence[MemoryRecord],
    vectors: Sequence[Vector] | None,
) -> None:
    per_store = _CACHE.get(store)
    if not per_store or not records:
        return
    after = store.stamp()
    for key, index in list(per_store.items()):
        if index.stamp != before:
            continue
        matching = [
            (record, None if vectors is None else vectors[i])
            for i, record in enumerate(records)
            if key.covers(record.scope)
        ]
        index.append(matching)
        index.stamp = after


def allowed(index: ScopeIndex, filters: Filters) -> npt.NDArray[np.bool_]:
    """The filter as a mask over the index's memories."""
    cols = index.arrays()
    keep = np.ones(len(index), dtype=bool)
    for values, column in (
        (filters.states, cols.state),
        (filters.kinds, cols.kind),
        (filters.layers, cols.layer),
    ):
        if values:
            keep &= np.isin(column, list(values))
    if filters.since is not None:
        keep &= cols.when >= filters.since.timestamp()
    if filters.until is not None:
        keep &= cols.when <= filters.until.timestamp()
    if filters.actor is not None or filters.metadata:
        keep &= np.fromiter((_matches(r, filters) for r in index.records), bool, len(index))
    return keep


def _matches(record: MemoryRecord, filters: Filters) -> bool:
    if filters.actor is not None and record.actor != filters.actor:
        return False
    return all(record.metadata.get(k) == v for k, v in filters.metadata.items())


def rank(
    store: Searchable,
    vector: Vector | None,
    scope: Scope,
    query: str,
    filters: Filters,
    *,
    limit: int,
    now: datetime,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    alpha: float = 0.0,
    budget: int | None = None,
) -> list[Hit] | None:
    """The ``limit`` best memories of ``scope`` for ``query`` (with ``budget``: the memories
    and sentences that fit in that many characters of context, see ``read.pack``); ``None``
    when the scope is too large for the in-memory ranker (the caller falls back to fusion).
    ``vector`` is the query's embedding (``None`` without an embedder)."""
    with _lock(store):
        index = scope_index(store, scope)
        if index is None:
            return None
        if not len(index):
            return []
        return _rank(index, query, vector, filters, limit, now, weights, alpha, budget)


def _rank(
    index: ScopeIndex,
    query: str,
    vector: Vector | None,
    filters: Filters,
    limit: int,
    now: datetime,
    weights: Mapping[str, float],
    alpha: float,
    budget: int | None,
) -> list[Hit]:
    columns = features(index, query, vector, now)
    cols = index.arrays()
    unit_of = cols.unit_of
    score = linear_scores(columns, weights, len(unit_of))
    score = np.where(allowed(index, filters)[unit_of], score, -np.inf)
    if budget is not None:
        key = score - np.float32(alpha) * cols.unit_log_cost
        packed = pack(key, score, unit_of, cols.unit_cost, cols.unit_length, budget, limit,
                      cols.unit_group)  # fmt: skip
        chosen: list[tuple[int, float, tuple[int, ...] | None]]
        chosen = [(p.memory, p.score, p.units) for p in packed]
    else:
        # A memory is as good as its best unit.
        best = np.full(len(index), -np.inf, dtype=np.float32)
        np.maximum.at(best, unit_of, score)
        count = min(limit, int(np.isfinite(best).sum()))
        if count <= 0:
            return []
        top = np.argpartition(-best, count - 1)[:count]
        top = top[np.argsort(-best[top], kind="stable")]
        chosen = [(int(i), float(best[i]), None) for i in top]
    return _hits(index, columns, weights, score, chosen)


def _hits(
    index: ScopeIndex,
    columns: Mapping[str, npt.NDArray[np.float32]],
    weights: Mapping[str, float],
    score: npt.NDArray[np.float32],
    chosen: Sequence[tuple[int, float, tuple[int, ...] | None]],
) -> list[Hit]:
    """Hits for the chosen memories, each explained by the signals of its best unit."""
    mask = np.isfinite(score)
    spans = [index.units_of(memory) for memory, _, _ in chosen]
    best = np.asarray(
        [span.start + int(np.argmax(score[span.start : span.stop])) for span in spans], np.int64
    )
    explained = [name for name in EXPLAINED if weights.get(name) and name in columns]
    ranks = {name: _ranks(columns[name][mask], columns[name][best]) for name in explained}
    hits = []
    for j, (memory, value, units) in enumerate(chosen):
        signals = {
            name: Signal(rank=int(ranks[name][j]), score=float(columns[name][best[j]]))
            for name in explained
        }
        record = index.records[memory]
        excerpt = None
        if units is not None:
            joined = " ".join(index.unit_text[u] for u in units)
            excerpt = None if joined == record.text else joined
        hits.append(Hit(record=record, score=value, signals=signals, excerpt=excerpt))
    return hits


#: The signals a hit's explanation lists: the graded ones (binary features have no useful rank).
EXPLAINED = ("bm25", "t_bm25", "dense", "prf", "cov", "s_bm25", "s_dense", "tmax", "win")


def _ranks(
    column: npt.NDArray[np.float32], values: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    """The rank (from 1) that each of ``values`` has in ``column``, best (largest) first."""
    ascending = np.sort(column)
    return np.asarray(len(column) - np.searchsorted(ascending, values, side="right") + 1)
