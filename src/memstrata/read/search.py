"""The read path: signals in parallel, fused, best first (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

# ``Retrieval`` and its presets are defined in ``options`` and re-exported here.
from memstrata.options import PRESETS as PRESETS
from memstrata.options import Retrieval as Retrieval
from memstrata.options import preset as preset
from memstrata.ports import Embedder, EntityIndex, Searchable
from memstrata.read.embedding import QueryVector, embed_query, embed_records, resolve
from memstrata.read.entities import entity_signal
from memstrata.read.fuse import rrf
from memstrata.read.lexical import BM25
from memstrata.terms import BM25_B, BM25_K1
from memstrata.text import content_terms, stem
from memstrata.types import Filters, Hit, MemoryRecord, Scope, utcnow


def search(
    store: Searchable,
    embedder: Embedder | None,
    scope: Scope,
    query: str,
    filters: Filters,
    *,
    limit: int,
    retrieval: Retrieval,
    now: datetime | None = None,
    budget: int | None = None,
    vector: QueryVector = None,
) -> list[Hit]:
    """The best memories for ``query``; with ``budget``, the feature ranker packs sentences of
    memories into that many characters (other rankers return whole memories: the caller fits
    them, ``read.pack.fit_budget``). ``vector`` is the query's embedding when the caller has
    it already, or is making it (``read.embedding.QueryVector``)."""
    # The query is embedded once, whichever path ranks it.
    if vector is None and embedder is not None and retrieval.uses_vectors:
        vector = embedder.embed([query], kind="query")[0]
    if retrieval.ranker == "features":
        from memstrata.read.engine import rank
        from memstrata.read.features import DEFAULT_WEIGHTS

        weights = dict(retrieval.weights) or DEFAULT_WEIGHTS
        # It embeds the question again without the names it says, when it says any
        # (``read.engine.gather``), while the store searches.
        embed = None if embedder is None or vector is None else partial(embed_query, embedder)
        return rank(store, vector, scope, query, filters, limit=limit, now=now or utcnow(),
                    weights=weights, alpha=retrieval.alpha, cohesion=retrieval.cohesion,
                    reach=retrieval.cohesion_reach, budget=budget, embed=embed)  # fmt: skip
    depth = max(retrieval.candidates, limit)
    rankings: dict[str, list[tuple[str, float]]] = {}
    records: dict[str, MemoryRecord] = {}

    def collect(name: str, found: list[tuple[MemoryRecord, float]]) -> None:
        rankings[name] = [(record.id, score) for record, score in found]
        for record, _ in found:
            records[record.id] = record

    if retrieval.keyword > 0:
        collect("keyword", store.keyword_search(scope, query, filters, limit=depth))
    made = resolve(vector)
    if retrieval.vector > 0 and made is not None:
        collect("vector", store.vector_search(scope, made, filters, limit=depth))
    if retrieval.entity > 0 and isinstance(store, EntityIndex):
        found = entity_signal(store, scope, query, filters, limit=depth)
        if found:
            collect("entity", found)
    weights = {"keyword": retrieval.keyword, "vector": retrieval.vector, "entity": retrieval.entity}
    fused = rrf(rankings, weights, k=retrieval.rrf_k)[:limit]
    return [Hit(record=records[f.id], score=f.score, signals=f.signals) for f in fused]


def search_records(
    records: Sequence[MemoryRecord],
    embedder: Embedder | None,
    query: str,
    *,
    limit: int,
    retrieval: Retrieval,
) -> list[Hit]:
    """The same fusion over records held in memory (past versions, which the store's indexes
    do not cover): BM25 over their text and keys, and the cosine of freshly embedded texts."""
    rankings: dict[str, list[tuple[str, float]]] = {}
    depth = max(retrieval.candidates, limit)
    if retrieval.keyword > 0:
        scores = bm25([f"{r.text} {' '.join(r.keys)}" for r in records], query)
        ranked = sorted((i for i, x in enumerate(scores) if x > 0), key=lambda i: -scores[i])
        rankings["keyword"] = [(records[i].id, scores[i]) for i in ranked[:depth]]
    if retrieval.vector > 0 and embedder is not None and records:
        matrix = embed_records(embedder, records)
        assert matrix is not None
        cosines = matrix @ embedder.embed([query], kind="query")[0]
        ranked = sorted(range(len(records)), key=lambda i: -float(cosines[i]))
        rankings["vector"] = [(records[i].id, float(cosines[i])) for i in ranked[:depth]]
    by_id = {r.id: r for r in records}
    weights = {"keyword": retrieval.keyword, "vector": retrieval.vector}
    fused = rrf(rankings, weights, k=retrieval.rrf_k)[:limit]
    return [Hit(record=by_id[f.id], score=f.score, signals=f.signals) for f in fused]


def bm25(
    documents: Sequence[str], query: str, k1: float = BM25_K1, b: float = BM25_B
) -> list[float]:
    """Okapi BM25 of each document for ``query`` over stemmed content words (pure)."""
    index = BM25(k1, b)
    for document in documents:
        index.add(stem(t) for t in content_terms(document))
    terms = sorted({stem(t) for t in content_terms(query)})
    if not terms:
        return [0.0] * len(documents)
    return [float(x) for x in index.score(terms)]
