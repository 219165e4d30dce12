"""A small reranker that learns from feedback (RMM's retrospective reflection), pure functions.

Each hit is described by named features: the fused score's rank, the reciprocal rank of each
signal that found it (for the fusion retrievers only), its kind, importance, retention, and how
much it answered questions like this one before (``asked``, from ``read.lessons``). The reranker
scores ``w · f``; its starting weights keep the fused order (only the ``fused`` feature counts).
Feedback says which returned memories an answer used; each feedback takes one step on the pairwise
logistic loss of its (used, unused) pairs, so that used memories score above unused ones next
time, pulled back toward the starting weights so that noise cannot undo the ranker below.

Feedback never teaches the weight of a feature that says how much a memory was used whatever
the question (``UNLEARNED``): a memory used for one question would rise for every other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from memstrata.lifecycle.strength import retention
from memstrata.read.engine import EXPLAINED
from memstrata.types import Hit

Features = dict[str, float]

#: Signals of the default ranker, whose weights were fitted on labelled data: feedback does not
#: re-weigh them (learnt from a few hundred answers in other scopes, that lost 1 to 2 points on
#: a held-out conversation), it learns what describes the memory itself.
FITTED_SIGNALS = frozenset(EXPLAINED)

#: Features feedback does not weigh: they keep the starting weights. ``retention`` grows with
#: every use of a memory, whatever the question; ``used_before`` (its past uses) was a feature
#: of earlier versions, whose saved searches and models may still name it.
UNLEARNED = frozenset({"retention", "used_before"})


def hit_features(hit: Hit, rank: int, now: datetime, asked: float = 0.0) -> Features:
    """The features of the hit at ``rank`` (from 1) of a fused list; ``asked`` is how much it
    answered questions like this one before (``read.lessons.Lessons.asked``)."""
    record = hit.record
    out: Features = {"fused": 1.0 / rank}
    if not FITTED_SIGNALS.intersection(hit.signals):
        # Fusion's signals are not weighed by a fitted model: feedback may weigh them.
        for name, signal in hit.signals.items():
            out[f"rr_{name}"] = 1.0 / signal.rank
    out[f"kind_{record.kind}"] = 1.0
    out["importance"] = record.importance
    out["retention"] = retention(record, now)
    if asked > 0.0:
        out["asked"] = asked
    return out


@dataclass
class LinearReranker:
    """``score = Σ weights[name] · features[name]``; unknown features weigh 0."""

    weights: dict[str, float] = field(default_factory=lambda: {"fused": 1.0})
    updates: int = 0

    @property
    def keeps_order(self) -> bool:
        """Whether it ranks hits as they came (only the fused rank weighs, and for it): then
        a search needs no more hits than it returns."""
        others = any(weight for name, weight in self.weights.items() if name != "fused")
        return self.weights.get("fused", 0.0) > 0 and not others

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
        l2: float = 0.01,
        prior: Mapping[str, float] | None = None,
    ) -> int:
        """One step on the pairwise logistic loss of one feedback (used beat unused), averaged
        over its pairs, with an L2 pull toward ``prior`` (the starting weights): a feedback is
        one piece of evidence however many hits it names, and what is not learnt stays as the
        ranker below had it. Returns the number of pairs seen."""
        pairs = [(good, bad) for good in used for bad in unused]
        if not pairs:
            return 0
        gradient: dict[str, float] = {}
        for good, bad in pairs:
            margin = self.score(good) - self.score(bad)
            slope = 1.0 / (1.0 + math.exp(min(margin, 50.0)))  # of log(1 + e^-margin)
            for name in (set(good) | set(bad)) - UNLEARNED:
                diff = good.get(name, 0.0) - bad.get(name, 0.0)
                gradient[name] = gradient.get(name, 0.0) + slope * diff / len(pairs)
        anchor = prior if prior is not None else {}
        for name in (set(gradient) | set(self.weights)) - UNLEARNED:
            weight = self.weights.get(name, 0.0)
            pull = l2 * (weight - anchor.get(name, 0.0))
            self.weights[name] = weight + rate * (gradient.get(name, 0.0) - pull)
        self.updates += len(pairs)
        return len(pairs)

    def to_dict(self) -> dict[str, object]:
        return {"weights": dict(sorted(self.weights.items())), "updates": self.updates}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> LinearReranker:
        weights = data.get("weights")
        updates = data.get("updates", 0)
        if not isinstance(weights, Mapping) or not isinstance(updates, int):
            return cls()
        return cls(weights={str(k): float(v) for k, v in weights.items()}, updates=updates)

    def anchored(self, base: Mapping[str, float]) -> LinearReranker:
        """This model with the ``UNLEARNED`` weights of ``base``, whatever it was saved with
        (a model saved by an earlier version may have learnt them)."""
        weights = {n: w for n, w in self.weights.items() if n not in UNLEARNED}
        weights.update({n: w for n, w in base.items() if n in UNLEARNED})
        return LinearReranker(weights=weights, updates=self.updates)

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
