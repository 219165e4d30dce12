"""Per-question features of every unit (sentence) of a search's candidates, and the linear
ranker.

Each feature is a column over the candidates' units, normalised per question (z-scores), so one set
of weights works for short and long conversations alike. The features say how well a memory matches
the question by keywords (BM25, with pseudo-relevance feedback), by meaning (vector cosine, of what
the question asks of the people it names, their names aside), through its session (a session that
matches as a whole lends weight to its turns) and through its neighbours (the answer often follows
the turn that matches), whether its dates fall in the question's time window, whether it was said
by a person the question names (and in the first person) or by another who calls them "you",
whether that person speaks there with the people they speak with most (``paired``: a name may be
several people's), and whether it is a procedure when the question asks how to do something. A
unit's score is a weighted sum of its features (and of products of pairs of them, ``PRODUCTS``, for
weights that name them).

The ranker weighs in two passes (``unit_scores``). The first (``FIRST_WEIGHTS``) scores each
unit on its own features; the second (``DEFAULT_WEIGHTS``) weighs them again beside two columns
the first gives (``standing``): the unit's own first score and its memory's best, each
standardised over the search's candidates. The second pass places each memory (at its best
unit's second score); within a memory the first pass orders the units, each its first-pass
distance below the memory's best.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from memstrata import people
from memstrata.read.lexical import query_terms
from memstrata.read.temporal import parse_query_time
from memstrata.terms import FIRST_PERSON, SECOND_PERSON

if TYPE_CHECKING:
    from memstrata.read.candidates import Candidates as ScopeIndex

Array = npt.NDArray[Any]

FEATURES = (
    "bm25", "bm_rel", "cov", "prf", "t_bm25", "dense", "cos", "s_bm25", "s_dense", "win",
    "tp1", "tmax", "time", "when_time", "spk_named", "other_named", "spec_spk", "list_spk",
    "self_spk", "addressed", "spk_pair", "loglen", "is_q", "photo", "how_procedure",
)  # fmt: skip

#: The features of who said a memory, of the people a question names (0 where it names none).
SPEAKER = ("spk_named", "other_named", "spec_spk", "list_spk", "self_spk", "addressed", "spk_pair")

#: The columns the first pass gives the second (``standing``): a unit's own first score and
#: its memory's best, each standardised over the search's candidates.
SECOND = ("first", "standing")

#: The features of how well a unit matches the question: by keywords, by meaning, through its
#: session and through its neighbours.
MATCH = (
    "bm25", "bm_rel", "cov", "prf", "t_bm25", "dense", "cos", "s_bm25", "s_dense", "win", "tp1",
    "tmax",
)  # fmt: skip

#: Products of two features that a model may weigh too (a weight named ``"a*b"`` weighs feature
#: ``a`` times feature ``b``): each pair of match features, since one kind of match may count
#: for more or less when another agrees (a keyword match when the meaning matches too), and each
#: match feature with whether a person the question names said the unit. ``scripts/fit_ranker.py
#: --products`` fits them; ``DEFAULT_WEIGHTS`` does not weigh them (see docs/benchmarks.md,
#: "Seventh pass" and "Eighth pass": a model with them ranked better held out, and misranked
#: tiny scopes and exact lookups among near-copies).
PRODUCTS = (
    *(f"{a}*{b}" for a, b in itertools.combinations(MATCH, 2)),
    *(f"{a}*spk_named" for a in MATCH),
)

#: The first pass's weights: a logistic model (is this unit's memory evidence for the
#: question?) over the features alone, fitted with ``scripts/fit_ranker.py`` as
#: ``DEFAULT_WEIGHTS`` is.
FIRST_WEIGHTS: Mapping[str, float] = {
    "bm25": -0.3653, "bm_rel": -1.1288, "cov": 2.3157, "prf": 0.2556, "t_bm25": 0.3811,
    "dense": 0.7783, "cos": -0.9633, "s_bm25": 0.226, "s_dense": -0.1506, "win": 0.0226,
    "tp1": 0.1188, "tmax": 0.1378, "time": 1.0917, "when_time": 0.9135, "spk_named": -2.2317,
    "other_named": -2.3637, "spec_spk": 0.6013, "list_spk": 1.281, "self_spk": 0.2697,
    "addressed": -1.5664, "spk_pair": 1.5965, "loglen": 0.1957, "is_q": -0.3285, "photo": 0.1494,
    "how_procedure": 1.0,
}  # fmt: skip

#: The second pass's weights (the ranker's): a logistic model (is this unit's memory evidence
#: for the question?) over the features and the first pass's columns (``SECOND``), fitted with
#: ``scripts/fit_ranker.py`` on the eight conversations of the LoCoMo and REALTALK development
#: slices, over the candidates the read engine gathers for each question, each conversation
#: asked both in a scope of its own and among 100,000 distractor memories (``--scale``, the
#: stores ``memstrata eval scale --keep`` keeps), so that the weights hold in a large scope too.
#: Scored leave-one-conversation-out (each conversation ranked by weights fitted on the other
#: seven) and packed as the ``default`` retriever packs (``--alpha 2.0 --cohesion 0.75 --reach
#: 3``), they reach 93.5 recall within 4,000 characters and 80.3 recall@10 on LoCoMo, 87.2 and
#: 72.9 on REALTALK; among the distractors 90.5 / 77.2 and 78.3 / 64.3; see
#: docs/benchmarks.md ("Quality at scale", thirty-fourth pass). ``how_procedure`` alone is set by
#: hand: no development conversation holds a procedure, so no fit can weigh it
#: (``scripts/fit_ranker.py`` leaves it out); a way of doing something that reflection wrote
#: (``write.procedures``) answers "how do I ..." by design.
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "bm25": -0.2573, "bm_rel": -1.1686, "cov": 2.0068, "prf": 0.1465, "t_bm25": 0.2038,
    "dense": 0.2271, "cos": -0.0284, "s_bm25": -0.0544, "s_dense": 0.0217, "win": 0.0191,
    "tp1": 0.0647, "tmax": 0.0948, "time": 0.8278, "when_time": 0.4261, "spk_named": -1.909,
    "other_named": -1.4172, "spec_spk": 0.6476, "list_spk": 1.4402, "self_spk": 0.2926,
    "addressed": -1.867, "spk_pair": 1.0706, "loglen": 0.2267, "is_q": -0.1103, "photo": 0.0608,
    "first": -0.5749, "standing": 1.5021, "how_procedure": 1.0,
}  # fmt: skip

#: Keywords, meaning, the session and the neighbours, equally trusted: no data behind them.
HAND_WEIGHTS: Mapping[str, float] = {
    "bm25": 1.0, "t_bm25": 1.0, "dense": 1.0, "s_bm25": 1.0, "s_dense": 1.0, "win": 0.6,
}  # fmt: skip

#: Questions that ask how to do something (not "how did it go", "how long", "how many").
_HOW_TO = re.compile(
    r"\b(how (?:do|can|should|would|could) (?:i|we|you|one)\b|how to\b|"
    r"what(?:'s| is| are) the (?:steps|way|process|procedure)\b)",
    re.IGNORECASE,
)
_SPECULATIVE = re.compile(r"\b(would|might|likely|could|probably|considered)\b", re.IGNORECASE)
#: Questions that say their answer is a list gathered across the conversation.
_LIST = re.compile(
    r"\b(how many|both|all|in common|what (?:\w+ )?(?:activities|things|events|items|books|"
    r"types|kinds|ways|places|hobbies|pets|instruments|sports|games|countries|cities|changes))\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9+']+")
#: What may follow the plural a question asks for: an auxiliary ("What movies did …", "Which
#: activities does …"), or the question's end where it asks what things are ("What are Kate's
#: hobbies?", not "What does Kate think about dogs?").
_AFTER_PLURAL = frozenset(
    {"do", "does", "did", "has", "have", "had", "are", "were", "can", "could", "would", "will"}
)
_IRREGULAR_PLURALS = frozenset({"people", "children", "men", "women"})


def asks_for_many(question: str) -> bool:
    """Whether a question's answer is a list gathered across the conversation: it says so
    ("how many", "both", "in common": ``_LIST``), or what it asks for is plural, a plural
    among the five words after its first "what" or "which" and followed by an auxiliary, or
    ending a question that asks what things are ("What movies did Paola watch?", "What are
    Kate's hobbies?"; not "What happens when …", whose "happens" is followed by neither).
    English only, as the rest."""
    if _LIST.search(question):
        return True
    words = _WORD.findall(question.lower())
    for i, word in enumerate(words):
        if word in ("what", "which"):
            after = [*words[i + 1 : i + 7], ""][:6]  # five words, and the one after each
            end = "" if after[0] in ("are", "were") else None
            return any(
                _plural(w) and (n in _AFTER_PLURAL or n == end)
                for w, n in itertools.pairwise(after)
            )
    return False


def _plural(word: str) -> bool:
    bare = word.strip("'")
    if bare in _IRREGULAR_PLURALS:
        return True
    return len(bare) > 3 and bare.endswith("s") and not bare.endswith(("ss", "us", "is", "ous"))


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
    """Every feature of every unit of the candidates for ``query`` (columns over units).

    Unit features read the unit's own words; memory features (``t_bm25``, the vector, the
    speaker, ...) are the same for every unit of a memory; session features for every unit of
    a session."""
    cols = index.arrays()
    unit_of = cols.unit_of
    n = len(unit_of)
    zero = np.zeros(n, dtype=np.float32)
    out: dict[str, Array] = {}
    terms = query_terms(query)
    bm = index.unit_lexical.score(terms)
    out["bm25"] = zscore(bm)
    out["bm_rel"] = (bm / max(float(bm.max()), 1e-9)).astype(np.float32)
    out["cov"] = index.unit_lexical.coverage(terms)
    memory_bm = zscore(index.lexical.score(terms))
    out["t_bm25"] = memory_bm[unit_of]
    sessions = cols.session_of
    out["s_bm25"] = zscore(index.sessions.score(terms))[sessions][unit_of]
    if vector is not None and index.dim:
        # ``cos`` is the question's own cosine; the match by meaning (``dense``, the session's,
        # the neighbours') is of what it asks of the people it names, their names aside: a
        # name pulls a vector towards every text that says it, and the speaker features say
        # who is named.
        out["cos"] = (index.vectors @ vector).astype(np.float32)[unit_of]
        asked = vector if index.unnamed is None else index.unnamed
        memory_dense = zscore((index.vectors @ asked).astype(np.float32))
        out["dense"] = memory_dense[unit_of]
        session_cos = (index.session_vectors @ asked).astype(np.float32)
        out["s_dense"] = zscore(session_cos)[sessions][unit_of]
    else:
        out["dense"] = out["cos"] = out["s_dense"] = zero
        memory_dense = np.zeros(len(index), dtype=np.float32)
    base = out["bm25"] + out["dense"]
    out["prf"] = zscore(index.unit_lexical.score([], _expanded(index, terms, base, prf)))
    before = _neighbour(base, cols.unit_prev, 0.0)
    after = _neighbour(base, cols.unit_next, 0.0)
    out["win"] = (before + after) / 2
    # An answer often follows the message that matches: the match of the neighbouring memories.
    half = (memory_bm + memory_dense) / 2
    low = float(half.min())
    prev, nxt = cols.prev, cols.next
    prev2 = np.where(prev >= 0, prev[np.maximum(prev, 0)], -1)
    p1 = _neighbour(half, prev, low)
    out["tp1"] = p1[unit_of]
    out["tmax"] = np.maximum.reduce([p1, _neighbour(half, prev2, low), _neighbour(half, nxt, low)])[
        unit_of
    ]
    when = parse_query_time(query, now)
    if when.window:
        out["time"] = _in_window(index, when.window.start, when.window.end)[unit_of]
    else:
        out["time"] = zero
    out["when_time"] = cols.has_time[unit_of] if when.asks_when else zero
    named = _named_speakers(index, query)
    if named:
        said = np.isin(cols.actor_of, list(named)).astype(np.float32)[unit_of]
        out["spk_named"], out["other_named"] = said, 1 - said
        out["spec_spk"] = said * (1.0 if _SPECULATIVE.search(query) else 0.0)
        out["list_spk"] = said * (1.0 if asks_for_many(query) else 0.0)
        person = cols.unit_person
        out["self_spk"] = said * (person & FIRST_PERSON > 0)
        out["addressed"] = (1 - said) * (person & SECOND_PERSON > 0)
        out["spk_pair"] = paired(cols.actor_of, cols.session_of, named)[unit_of]
    else:
        for name in SPEAKER:
            out[name] = zero
    out["loglen"] = cols.unit_log_cost - 5.0
    out["is_q"] = cols.is_question[unit_of]
    out["photo"] = cols.photo[unit_of]
    out["how_procedure"] = cols.procedure[unit_of] if _HOW_TO.search(query) else zero
    return out


def paired(actor_of: Array, session_of: Array, named: set[int]) -> Array:
    """Per memory (``actor_of``: each one's speaker, -1 for none; ``session_of``: its
    session) said by one of the ``named`` speakers: in how many of the candidates' sessions
    that person speaks with whom they speak with in the memory's session, as a share of how
    many they share with the one they speak with most. 0 where no one else speaks in its
    session among the candidates; 1 for all of a person's memories where they speak with no
    one among the candidates (nothing tells their namesakes apart); 0 for other memories.

    A name may be several people's, and the one a question means is the one who talks, again
    and again, with the same people: among 100,000 other chats whose speakers share the dev
    speakers' first names, a named person's own memories score a median of 1 here, their
    namesakes' 0.06 to 0.14 (docs/benchmarks.md, thirty-fourth pass)."""
    out = np.zeros(len(actor_of), dtype=np.float32)
    spoken = actor_of >= 0
    if not spoken.any():
        return out
    together = np.zeros((int(session_of.max()) + 1, int(actor_of.max()) + 1), dtype=bool)
    together[session_of[spoken], actor_of[spoken]] = True
    for person in named:
        said = actor_of == person
        # How many sessions the person shares with each other speaker.
        shared = together[together[:, person]].sum(axis=0).astype(np.float32)
        shared[person] = 0
        most = float(shared.max())
        if most > 0:
            out[said] = (together * shared).max(axis=1)[session_of[said]] / most
        else:
            out[said] = 1.0
    return out


def _expanded(index: ScopeIndex, terms: list[str], base: Array, prf: PRF) -> dict[str, float]:
    weights = {t: 1.0 for t in terms}
    if prf.docs <= 0 or not len(base):
        return weights
    found: dict[str, float] = {}
    lexical = index.unit_lexical
    top = min(prf.docs, len(base))
    docs = np.argpartition(-base, top - 1)[:top]
    lexical.known(t for doc in docs for t in lexical.counts(int(doc)))
    for doc in docs:
        for term in lexical.counts(int(doc)):
            found[term] = found.get(term, 0.0) + lexical.weight(int(doc), term)
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
    hit = (cols.span_day <= high) & (cols.span_day >= low)
    out = np.zeros(len(index), dtype=np.float32)
    out[cols.span_of[hit]] = 1.0
    return out


def _named_speakers(index: ScopeIndex, query: str) -> set[int]:
    """The speakers (as numbers) the question names, by their label or another name they go
    by (``people.named``): among the scope's speakers as the search read them, else among the
    candidates'."""
    named = set(index.named if index.named is not None
                else people.named(query, index.actors, index.aliases))  # fmt: skip
    return {i for i, name in enumerate(index.actors) if name in named}


def unit_scores(
    columns: Mapping[str, Array],
    weights: Mapping[str, float],
    unit_of: npt.NDArray[np.int64],
    first: Mapping[str, float] = FIRST_WEIGHTS,
) -> Array:
    """Each unit's score under ``weights`` (``unit_of``: each unit's memory). Weights that
    weigh the first pass's columns (``SECOND``) make them a second pass: ``first`` scores the
    units, the second pass weighs ``columns`` with the columns the first gives (``standing``)
    and places each memory at its best unit's second score, and each unit keeps its first-pass
    distance below its memory's best (the first pass orders a memory's own units)."""
    n = len(unit_of)
    if not n or not any(weights.get(name) for name in SECOND):
        return linear_scores(columns, weights, n)
    scores = linear_scores(columns, first, n)
    best = best_of(scores, unit_of)
    second = linear_scores({**columns, **standing(scores, best, unit_of)}, weights, n)
    return placed(scores, best, second, unit_of)


def best_of(scores: Array, unit_of: npt.NDArray[np.int64], size: int | None = None) -> Array:
    """Each memory's best unit score (``unit_of``: each unit's memory; ``size``: how many
    memories, by default as many as the units name); a memory without units gets ``-inf``."""
    best = np.full(int(unit_of.max()) + 1 if size is None else size, -np.inf, dtype=np.float32)
    np.maximum.at(best, unit_of, scores)
    return best


def standing(first: Array, best: Array, unit_of: npt.NDArray[np.int64]) -> dict[str, Array]:
    """The columns the first pass gives the second (``SECOND``): each unit's first score
    (``first``) and its memory's best (``best``), each standardised over the candidates (the
    units; the memories, where one without units stands lowest)."""
    found = np.where(np.isfinite(best), best, first.min()).astype(np.float32)
    return {"first": zscore(first), "standing": zscore(found)[unit_of]}


def placed(first: Array, best: Array, second: Array, unit_of: npt.NDArray[np.int64]) -> Array:
    """Each unit's score after both passes: its memory's best second score (``second``), less
    the unit's distance below its memory's best first score (``first``, ``best``)."""
    return np.asarray(best_of(second, unit_of)[unit_of] - (best[unit_of] - first), np.float32)


def linear_scores(columns: Mapping[str, Array], weights: Mapping[str, float], n: int) -> Array:
    """Each unit's score: the sum of ``weights`` times their features; a weight named
    ``"a*b"`` weighs the product of features ``a`` and ``b``. A name the columns lack weighs
    nothing."""
    score = np.zeros(n, dtype=np.float32)
    for name, weight in weights.items():
        if not weight:
            continue
        a, _, b = name.partition("*")
        if a not in columns or (b and b not in columns):
            continue
        score += np.float32(weight) * (columns[a] * columns[b] if b else columns[a])
    return score
