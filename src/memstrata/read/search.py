"""The read path: signals in parallel, fused, best first (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass

from memstrata.errors import ConfigurationError
from memstrata.ports import Embedder, Store
from memstrata.read.fuse import rrf
from memstrata.types import Filters, Hit, MemoryRecord, Scope


@dataclass(frozen=True, slots=True)
class Retrieval:
    """Which signals a search uses and how much each counts in the fusion."""

    keyword: float = 1.0
    vector: float = 1.0
    rrf_k: float = 60.0
    #: How many candidates each signal contributes, at least (more when ``limit`` is larger).
    candidates: int = 50
    #: Weight of retention (MemoryBank's forgetting curve) in the reranker's starting model.
    retention_weight: float = 0.0
    #: How many fused hits the (learned) reranker reorders before the list is cut to ``limit``.
    rerank_depth: int = 50

    @property
    def signals(self) -> tuple[str, ...]:
        return tuple(name for name in ("keyword", "vector") if getattr(self, name) > 0)


PRESETS: dict[str, Retrieval] = {
    "bm25": Retrieval(vector=0.0),
    "dense": Retrieval(keyword=0.0),
    "hybrid": Retrieval(),
    "default": Retrieval(),
}


def preset(name: str) -> Retrieval:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown retriever {name!r}; choose one of {', '.join(sorted(PRESETS))}"
        ) from None


def search(
    store: Store,
    embedder: Embedder | None,
    scope: Scope,
    query: str,
    filters: Filters,
    *,
    limit: int,
    retrieval: Retrieval,
) -> list[Hit]:
    depth = max(retrieval.candidates, limit)
    rankings: dict[str, list[tuple[str, float]]] = {}
    records: dict[str, MemoryRecord] = {}

    def collect(name: str, found: list[tuple[MemoryRecord, float]]) -> None:
        rankings[name] = [(record.id, score) for record, score in found]
        for record, _ in found:
            records[record.id] = record

    if retrieval.keyword > 0:
        collect("keyword", store.keyword_search(scope, query, filters, limit=depth))
    if retrieval.vector > 0 and embedder is not None:
        vector = embedder.embed([query], kind="query")[0]
        collect("vector", store.vector_search(scope, vector, filters, limit=depth))
    weights = {"keyword": retrieval.keyword, "vector": retrieval.vector}
    fused = rrf(rankings, weights, k=retrieval.rrf_k)[:limit]
    return [Hit(record=records[f.id], score=f.score, signals=f.signals) for f in fused]
