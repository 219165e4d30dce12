"""Fusing ranked lists from several retrieval signals into one (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from memstrata.types import Signal


@dataclass(frozen=True, slots=True)
class Fused:
    id: str
    score: float
    signals: Mapping[str, Signal]


def rrf(
    rankings: Mapping[str, Sequence[tuple[str, float]]],
    weights: Mapping[str, float] | None = None,
    k: float = 60.0,
) -> list[Fused]:
    """Reciprocal rank fusion: ``score(d) = Σ_s w_s / (k + rank_s(d))``, ranks counted from 1.

    ``rankings`` maps a signal name to its ``(id, raw score)`` list, best first. Ties are broken
    by the best single rank, then by id, so the output is deterministic.
    """
    weights = weights or {}
    scores: dict[str, float] = {}
    found: dict[str, dict[str, Signal]] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        if weight == 0:
            continue
        seen: set[str] = set()
        for rank, (doc_id, raw) in enumerate(ranking, start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
            found.setdefault(doc_id, {})[name] = Signal(rank=rank, score=raw)
    best_rank = {d: min(s.rank for s in sig.values()) for d, sig in found.items()}
    order = sorted(scores, key=lambda d: (-scores[d], best_rank[d], d))
    return [Fused(id=d, score=scores[d], signals=found[d]) for d in order]
