"""A small reranker that learns from feedback (RMM's retrospective reflection), pure functions.

Each hit is described by named features: the fused score's rank, the reciprocal rank of each
signal that found it, its kind, importance, retention and how often it was used. The reranker
scores ``w · f``; its starting weights keep the fused order (only the ``fused`` feature counts).
Feedback says which returned memories an answer used; each (used, unused) pair nudges the weights
by a logistic pairwise step, so that used memories score above unused ones next time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from memstrata.lifecycle.strength import retention
from memstrata.types import Hit

Features = dict[str, float]


def hit_features(hit: Hit, rank: int, now: datetime) -> Features:
    """The features of the hit at ``rank`` (from 1) of a fused list."""
    record = hit.record
    out: Features = {"fused": 1.0 / rank}
    for name, signal in hit.signals.items():
        out[f"rr_{name}"] = 1.0 / signal.rank
    out[f"kind_{record.kind}"] = 1.0
    out["importance"] = record.importance
    out["retention"] = retention(record, now)
    out["used_before"] = math.log1p(record.recall_count)
    return out


@dataclass
class LinearReranker:
    """``score = Σ weights[name] · features[name]``; unknown features weigh 0."""

    weights: dict[str, float] = field(default_factory=lambda: {"fused": 1.0})
    updates: int = 0

    def score(self, features: Mapping[str, float]) -> float:
        return sum(self.weights.get(name, 0.0) * value for name, value in features.items())

    def rank(self, candidates: Sequence[Features]) -> list[int]:
        """Indices of ``candidates``, best first (stable for ties)."""
        scores = [self.score(f) for f in candidates]
        return sorted(range(len(candidates)), key=lambda i: (-scores[i], i))

    def learn(
        self,
        used: Sequence[Features],
        unused: Sequence[Features],
        *,
        rate: float = 0.1,
        l2: float = 0.001,
    ) -> int:
        """One pass of pairwise logistic updates; return the number of pairs seen."""
        pairs = 0
        for good in used:
            for bad in unused:
                margin = self.score(good) - self.score(bad)
                step = rate / (1.0 + math.exp(margin))  # the gradient of log(1 + e^-margin)
                for name in set(good) | set(bad):
                    diff = good.get(name, 0.0) - bad.get(name, 0.0)
                    weight = self.weights.get(name, 0.0)
                    self.weights[name] = weight + step * diff - rate * l2 * weight
                pairs += 1
        self.updates += pairs
        return pairs

    def to_dict(self) -> dict[str, object]:
        return {"weights": dict(sorted(self.weights.items())), "updates": self.updates}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> LinearReranker:
        weights = data.get("weights")
        updates = data.get("updates", 0)
        if not isinstance(weights, Mapping) or not isinstance(updates, int):
            return cls()
        return cls(weights={str(k): float(v) for k, v in weights.items()}, updates=updates)

    def blended(self, other: LinearReranker, share: float) -> LinearReranker:
        """``(1 - share) · self + share · other``: a scope's adaptation over the global model."""
        names = set(self.weights) | set(other.weights)
        return LinearReranker(
            weights={
                n: (1 - share) * self.weights.get(n, 0.0) + share * other.weights.get(n, 0.0)
                for n in names
            },
            updates=self.updates + other.updates,
        )
