"""How a ``Memory`` retrieves and how its LLM write path runs: the options a caller passes.

``Retrieval`` weighs the read path's signals (``PRESETS`` names the ready-made ones);
``PipelineConfig`` tunes the LLM write path. Both are plain values, checked when built.
"""

from __future__ import annotations

from dataclasses import dataclass

from memstrata.errors import ConfigurationError, InvalidInputError

#: The most similar memories one consolidation decision is shown.
MAX_SIMILAR = 10


@dataclass(frozen=True, slots=True)
class Retrieval:
    """Which signals a search uses and how much each counts in the fusion."""

    keyword: float = 1.0
    vector: float = 1.0
    #: Memories naming the entities the query names (or their neighbours in the graph); only
    #: stores with an entity index, and only once the LLM write path has registered entities.
    entity: float = 1.0
    rrf_k: float = 60.0
    #: How many candidates each signal contributes, at least (more when ``limit`` is larger).
    candidates: int = 50
    #: Weight of retention (MemoryBank's forgetting curve) in the reranker's starting model.
    retention_weight: float = 0.0
    #: How many fused hits the (learned) reranker reorders before the list is cut to ``limit``.
    rerank_depth: int = 50
    #: ``"rrf"``: fuse the store's keyword, vector (and entity) rankings. ``"features"``: score
    #: every memory of the scope on per-question features (``read.features``), in memory.
    ranker: str = "rrf"
    #: Feature weights of the ``"features"`` ranker (default ``read.features.DEFAULT_WEIGHTS``).
    weights: tuple[tuple[str, float], ...] = ()
    #: How much the ``"features"`` ranker prefers short units of similar score when it packs a
    #: context budget (``search(budget=...)``).
    alpha: float = 0.0

    @property
    def uses_vectors(self) -> bool:
        """Whether ranking reads the query's embedding."""
        return self.ranker == "features" or self.vector > 0

    @property
    def signals(self) -> tuple[str, ...]:
        return tuple(name for name in ("keyword", "vector", "entity") if getattr(self, name) > 0)


PRESETS: dict[str, Retrieval] = {
    "bm25": Retrieval(vector=0.0, entity=0.0),
    "dense": Retrieval(keyword=0.0, entity=0.0),
    "hybrid": Retrieval(),
    "default": Retrieval(ranker="features", alpha=2.0),
}


def preset(name: str) -> Retrieval:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown retriever {name!r}; choose one of {', '.join(sorted(PRESETS))}"
        ) from None


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """How the LLM write path runs.

    ``batch_size``: most messages per extraction call. ``wait_for_full_batch``: ``add`` leaves
    a part-filled batch for later messages of the scope (``reprocess`` takes it anyway).
    ``duplicate_threshold``: vector cosine from which a new fact is a near-duplicate of a
    stored one (no model asked). ``review_threshold``: cosine from which a similar memory is
    shown to the consolidation prompt even without a shared subject or entity.
    ``max_similar``: most memories shown per decision. ``link_threshold`` / ``max_links``:
    which related memories a new note links to. ``evolve_links``: let a new note extend the
    context line of the notes it links to (as new versions). ``known_entities``: how many of
    the scope's entity names the extraction prompt is shown, for consistent naming.
    """

    batch_size: int = 10
    wait_for_full_batch: bool = True
    duplicate_threshold: float = 0.95
    review_threshold: float = 0.75
    max_similar: int = 5
    link_threshold: float = 0.5
    max_links: int = 3
    evolve_links: bool = False
    known_entities: int = 30

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not 1 <= self.batch_size <= 100:
            raise InvalidInputError("batch_size must be an integer from 1 to 100")
        if not 1 <= self.max_similar <= MAX_SIMILAR:
            raise InvalidInputError(f"max_similar must be from 1 to {MAX_SIMILAR}")
        for name in ("duplicate_threshold", "review_threshold", "link_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInputError(f"{name} must be from 0 to 1")
