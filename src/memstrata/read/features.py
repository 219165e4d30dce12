"""Per-question features of every memory in a scope, and the linear ranker over them.

Each feature is a column over the scope's memories, normalised per question (z-scores), so one
set of weights works for short and long conversations alike. The features say how well a memory
matches the question by keywords (BM25, with pseudo-relevance feedback), by meaning (vector
cosine), through its session (a session that matches as a whole lends weight to its turns) and
through its neighbours (the answer often follows the turn that matches), whether its dates fall
in the question's time window, and whether it was said by a person the question names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from memstrata.read.index import ScopeIndex
from memstrata.read.lexical import query_terms
from memstrata.read.temporal import parse_query_time

Array = npt.NDArray[Any]

FEATURES = (
    "bm25", "dense", "prf", "s_bm25", "s_dense", "win", "nb_prev", "nb_next", "nb_prev2",
    "nb_max", "time", "when_time", "spk_named", "other_named", "spec_spk", "loglen", "is_q",
    "cov", "rr_bm25", "rr_dense", "cos", "bm_rel",
)  # fmt: skip

#: Weights of a logistic model (is this memory evidence for the question?) fitted with
#: ``scripts/fit_ranker.py`` on the four LoCoMo conversations of the development slice. Scored
#: leave-one-conversation-out (each conversation ranked by weights fitted on the other three),
#: they reach 86.2 recall within 4,000 characters against 85.4 for hand-set weights
#: (``HAND_WEIGHTS``); see docs/benchmarks.md.
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "bm25": 0.0138, "dense": 0.5012, "prf": 0.1457, "s_bm25": 0.4932, "s_dense": 0.0047,
    "win": 0.0931, "nb_max": 0.1449, "time": 0.2124, "when_time": 0.9093, "spk_named": 1.2498,
    "spec_spk": 0.6486, "loglen": 1.0833, "is_q": -0.8859, "cov": 2.5348,
}  # fmt: skip

#: Keywords, meaning, the session and the neighbours, equally trusted: no data behind them.
HAND_WEIGHTS: Mapping[str, float] = {
    "bm25": 1.0, "dense": 1.0, "s_bm25": 1.0, "s_dense": 1.0, "win": 0.6,
}  # fmt: skip

_SPECULATIVE = re.compile(r"\b(would|might|likely|could|probably|considered)\b", re.IGNORECASE)


def zscore(x: Array) -> Array:
    sd = float(x.std())
    return np.asarray((x - x.mean()) / (sd if sd > 1e-9 else 1.0), dtype=np.float32)


def reciprocal_rank(x: Array, k: float = 10.0) -> Array:
    order = np.argsort(-x, kind="stable")
    ranks = np.empty(len(x), dtype=np.float32)
    ranks[order] = np.arange(1, len(x) + 1)
    return (k / (k + ranks)).astype(np.float32)


def _neighbour(values: Array, links: npt.NDArray[np.int64], missing: float) -> Array:
    return np.where(links >= 0, values[np.maximum(links, 0)], missing).astype(np.float32)


@dataclass(frozen=True, slots=True)
class PRF:
    """Pseudo-relevance feedback: expand the query with the top documents' strongest terms."""

    docs: int = 5
    terms: int = 10
    weight: float = 0.5


def features(
    index: ScopeIndex,
    query: str,
    vector: Array | None,
    now: datetime,
    prf: PRF = PRF(),
) -> dict[str, Array]:
    """Every feature of every memory of ``index`` for ``query`` (a dict of columns)."""
    n = len(index)
    zero = np.zeros(n, dtype=np.float32)
    out: dict[str, Array] = {}
    terms = query_terms(query)
    bm = index.lexical.score(terms)
    out["bm25"] = zscore(bm)
    out["bm_rel"] = (bm / max(float(bm.max()), 1e-9)).astype(np.float32)
    out["rr_bm25"] = reciprocal_rank(bm)
    out["cov"] = index.lexical.coverage(terms)
    cols = index.arrays()
    sessions = cols.session_of
    out["s_bm25"] = zscore(index.sessions.score(terms))[sessions]
    if vector is not None and index.dim:
        cos = (index.vectors @ vector).astype(np.float32)
        out["dense"], out["cos"], out["rr_dense"] = zscore(cos), cos, reciprocal_rank(cos)
        out["s_dense"] = zscore((index.session_vectors @ vector).astype(np.float32))[sessions]
    else:
        out["dense"] = out["cos"] = out["rr_dense"] = out["s_dense"] = zero
    base = out["bm25"] + out["dense"]
    out["prf"] = zscore(index.lexical.score([], _expanded(index, terms, base, prf)))
    prev, nxt = cols.prev, cols.next
    prev2 = np.where(prev >= 0, prev[np.maximum(prev, 0)], -1)
    out["nb_prev"] = _neighbour(base, prev, 0.0)
    out["nb_next"] = _neighbour(base, nxt, 0.0)
    out["win"] = (out["nb_prev"] + out["nb_next"]) / 2
    half = base / 2
    low = float(half.min()) if n else 0.0
    out["nb_prev2"] = _neighbour(half, prev2, low)
    out["nb_max"] = np.maximum.reduce(
        [_neighbour(half, prev, low), out["nb_prev2"], _neighbour(half, nxt, low)]
    )
    when = parse_query_time(query, now)
    out["time"] = _in_window(index, when.window.start, when.window.end) if when.window else zero
    out["when_time"] = cols.has_time if when.asks_when else zero
    named = _named_speakers(index, query)
    if named:
        said = np.isin(cols.actor_of, list(named)).astype(np.float32)
        out["spk_named"], out["other_named"] = said, 1 - said
        out["spec_spk"] = said * (1.0 if _SPECULATIVE.search(query) else 0.0)
    else:
        out["spk_named"] = out["other_named"] = out["spec_spk"] = zero
    out["loglen"] = cols.log_length - 5.0
    out["is_q"] = cols.is_question
    return out


def _expanded(index: ScopeIndex, terms: list[str], base: Array, prf: PRF) -> dict[str, float]:
    weights = {t: 1.0 for t in terms}
    if prf.docs <= 0 or not len(base):
        return weights
    found: dict[str, float] = {}
    for doc in np.argsort(-base)[: prf.docs]:
        for term in index.lexical.docs[int(doc)]:
            found[term] = found.get(term, 0.0) + index.lexical.weight(int(doc), term)
    for term in terms:
        found.pop(term, None)
    best = sorted(found.items(), key=lambda kv: -kv[1])[: prf.terms]
    total = sum(v for _, v in best) or 1.0
    for term, value in best:
        weights[term] = weights.get(term, 0.0) + prf.weight * value / total * max(1, len(terms))
    return weights


def _in_window(index: ScopeIndex, start: datetime | None, end: datetime | None) -> Array:
    low = start.date().toordinal() if start else -(10**9)
    high = (end.date().toordinal() - 1) if end else 10**9
    cols = index.arrays()
    hit = (cols.span_low <= high) & (cols.span_high >= low)
    out = np.zeros(len(index), dtype=np.float32)
    out[cols.span_of[hit]] = 1.0
    return out


def _named_speakers(index: ScopeIndex, query: str) -> set[int]:
    """The speakers (as numbers) whose name the question contains as a word."""
    lowered = query.lower()
    return {
        i
        for i, name in enumerate(index.actors)
        if re.search(r"\b" + re.escape(name.lower()) + r"\b", lowered)
    }


def linear_scores(columns: Mapping[str, Array], weights: Mapping[str, float], n: int) -> Array:
    score = np.zeros(n, dtype=np.float32)
    for name, weight in weights.items():
        if weight and name in columns:
            score += np.float32(weight) * columns[name]
    return score
