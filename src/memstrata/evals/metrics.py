"""LoCoMo's retrieval and answer metrics, reproduced from its official evaluation code.

All functions are pure. A search's outcome for one question is a ``QuestionOutcome``: the
question's category and evidence ids, and for each returned hit (best first) its ``sources``
(the message ids it came from) and its text length.

**Per-question recall** (official): with evidence E and retrieved ids R (the sources of the hits
considered), recall = |{e in E : e in R}| / |E|, each evidence entry tested by exact string
equality; a question with no evidence scores 1.

**Malformed evidence.** The real data has evidence entries that name no turn: two ids joined in
one string ("D8:6; D9:17"), zero-padded ids ("D30:05" for turn "D30:5"), a bare "D", and ids past
the end of a session. The official code compares strings exactly and does not repair them, so
such an entry can never be found: it stays in the denominator and caps that question's recall.
We do the same, because the published figures (and every comparison with them) were computed
that way; ``locomo.unmatched_evidence`` lists these entries so a report can state the ceiling.
Duplicated entries count as often as they appear, as in the official code.

**Aggregation** (official): per category, sum the recall of the questions that *have* evidence
and divide by the number of *all* questions of the category (so a question without evidence adds
0, not its per-question 1, to the numerator). Overall: the same sum over all categories divided
by all questions, adversarial (category 5) included.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from memstrata.text import content_terms, stem, tokenize

DEFAULT_KS: tuple[int, ...] = (5, 10, 25, 50)
DEFAULT_BUDGET_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Context:
    """The hits a retriever packed into a budget itself (``search(..., budget=…)``)."""

    sources: tuple[tuple[str, ...], ...]
    lengths: tuple[int, ...]
    texts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QuestionOutcome:
    """What one search returned for one question, with the gold needed to score it. ``context``
    is the retriever's own packed context, when it packs; otherwise the budget takes the
    leading hits."""

    category: int
    evidence: tuple[str, ...]
    sources: tuple[tuple[str, ...], ...]  # per hit, best first
    lengths: tuple[int, ...]  # text length per hit
    latency_s: float = 0.0
    context: Context | None = None
    #: The gold answer (``None`` when the question has none, as adversarial ones) and the text
    #: of each hit, for answer coverage; ``Context.texts`` holds the packed context's.
    answer: str | None = None
    texts: tuple[str, ...] = ()


# -- per question ----------------------------------------------------------------------------


def retrieved_ids(sources: Iterable[Sequence[str]]) -> set[str]:
    """The ids that a list of hits retrieves: the union of their sources."""
    return {source for hit in sources for source in hit}


def question_recall(evidence: Sequence[str], retrieved: Iterable[str]) -> float:
    """Official LoCoMo recall of one question: share of evidence entries among the retrieved ids.

    Exact string match, no repair of malformed entries; no evidence scores 1.
    """
    if not evidence:
        return 1.0
    found = set(retrieved)
    return sum(1 for e in evidence if e in found) / len(evidence)


def budget_count(lengths: Sequence[int], budget_chars: int) -> int:
    """How many leading hits fit: hits in rank order while their summed length stays within.

    The first hit that would overflow the budget ends the context; later, shorter hits are not
    used to fill the gap (a reader takes results in the order given).
    """
    total = 0
    for count, length in enumerate(lengths):
        total += length
        if total > budget_chars:
            return count
    return len(lengths)


def recall_at_k(outcome: QuestionOutcome, k: int) -> float:
    return question_recall(outcome.evidence, retrieved_ids(outcome.sources[:k]))


def budget_recall(outcome: QuestionOutcome, budget_chars: int) -> float:
    hits = outcome.context or outcome
    n = budget_count(hits.lengths, budget_chars)
    return question_recall(outcome.evidence, retrieved_ids(hits.sources[:n]))


def context_chars(outcome: QuestionOutcome, budget_chars: int) -> int:
    """Characters of the context that the budget admits."""
    lengths = (outcome.context or outcome).lengths
    return sum(lengths[: budget_count(lengths, budget_chars)])


def answer_terms(answer: str) -> set[str]:
    """The content words of an answer, stemmed: what a context must hold to support it."""
    return {stem(t) for t in content_terms(answer)}


def answer_coverage(outcome: QuestionOutcome, budget_chars: int) -> float | None:
    """1 when every content word of the gold answer (stemmed, case folded) appears in the
    context the budget admits, else 0; ``None`` for a question with no answer or an answer of
    stop words only (left out of the share). An upper bound on what an answering model could
    draw from the context, measured without one."""
    wanted = answer_terms(outcome.answer or "")
    if not wanted:
        return None
    hits = outcome.context or outcome
    texts = hits.texts[: budget_count(hits.lengths, budget_chars)]
    present = {stem(t) for text in texts for t in tokenize(text)}
    return 1.0 if wanted <= present else 0.0


def aggregate_coverage(outcomes: Iterable[QuestionOutcome], budget_chars: int) -> dict[str, float]:
    """The share of questions with a usable answer that the budget context covers, overall and
    per category (a category with no usable answer is absent)."""
    sums: dict[str, float] = {}
    totals: Counter[str] = Counter()
    for outcome in outcomes:
        covered = answer_coverage(outcome, budget_chars)
        if covered is None:
            continue
        for key in ("overall", str(outcome.category)):
            sums[key] = sums.get(key, 0.0) + covered
            totals[key] += 1
    return {key: sums[key] / totals[key] for key in sorted(totals, key=_category_order)}


def _category_order(key: str) -> tuple[int, str]:
    return (0, "") if key == "overall" else (1, key)


def reciprocal_rank(evidence: Sequence[str], sources: Sequence[Sequence[str]]) -> float | None:
    """1 / rank of the first hit whose sources hold an evidence id; 0 when none does.

    None for a question without evidence: it has nothing to find and is left out of MRR.
    """
    if not evidence:
        return None
    wanted = set(evidence)
    for rank, hit in enumerate(sources, start=1):
        if wanted.intersection(hit):
            return 1.0 / rank
    return 0.0


# -- aggregation -----------------------------------------------------------------------------


def aggregate(
    items: Iterable[tuple[int, bool, float]], categories: Iterable[int] = ()
) -> dict[str, float]:
    """Official LoCoMo aggregation of ``(category, has_evidence, recall)`` triples.

    Returns ``{"overall": r, "1": r1, ...}`` with one entry per category seen (and per category
    in ``categories``, which reads 0 when it has no questions).
    """
    totals: Counter[int] = Counter()
    sums: dict[int, float] = {c: 0.0 for c in categories}
    for category, has_evidence, recall in items:
        totals[category] += 1
        sums.setdefault(category, 0.0)
        if has_evidence:
            sums[category] += recall
    out: dict[str, float] = {}
    n = sum(totals.values())
    out["overall"] = sum(sums.values()) / n if n else 0.0
    for category in sorted(sums):
        out[str(category)] = sums[category] / totals[category] if totals[category] else 0.0
    return out


def aggregate_outcomes(
    outcomes: Sequence[QuestionOutcome],
    score: Callable[[QuestionOutcome], float],
    categories: Iterable[int] = (),
) -> dict[str, float]:
    return aggregate(((o.category, bool(o.evidence), score(o)) for o in outcomes), categories)


def mean_reciprocal_rank(outcomes: Iterable[QuestionOutcome]) -> float:
    """MRR over the questions that have evidence."""
    values = [r for o in outcomes if (r := reciprocal_rank(o.evidence, o.sources)) is not None]
    return sum(values) / len(values) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between order statistics."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class RetrievalSummary:
    recall: Mapping[int, Mapping[str, float]]  # k -> {"overall", "1", ...}
    budget_chars: int
    budget_recall: Mapping[str, float]
    mrr: float
    mean_context_chars: float
    latency_p50_ms: float
    latency_p95_ms: float
    questions: int
    #: Share of questions whose gold answer's content words all appear in the budget context
    #: (``answer_coverage``), overall and per category.
    answer_coverage: Mapping[str, float] = field(default_factory=dict)


def summarize(
    outcomes: Sequence[QuestionOutcome],
    ks: Sequence[int] = DEFAULT_KS,
    budget_chars: int = DEFAULT_BUDGET_CHARS,
    categories: Iterable[int] = (),
) -> RetrievalSummary:
    """Every retrieval figure of a run, from its per-question outcomes."""
    cats = tuple(categories)

    def at_k(k: int) -> Callable[[QuestionOutcome], float]:
        return lambda o: recall_at_k(o, k)

    latencies = [o.latency_s * 1000.0 for o in outcomes]
    chars = [context_chars(o, budget_chars) for o in outcomes]
    return RetrievalSummary(
        recall={k: aggregate_outcomes(outcomes, at_k(k), cats) for k in ks},
        budget_chars=budget_chars,
        budget_recall=aggregate_outcomes(outcomes, lambda o: budget_recall(o, budget_chars), cats),
        mrr=mean_reciprocal_rank(outcomes),
        mean_context_chars=sum(chars) / len(chars) if chars else 0.0,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        questions=len(outcomes),
        answer_coverage=aggregate_coverage(outcomes, budget_chars),
    )


# -- answers (LoCoMo's token F1) -------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
_PUNCTUATION = frozenset(string.punctuation)
Stemmer = Callable[[str], str]


def normalize_answer(text: str) -> str:
    """LoCoMo's answer normalisation: drop commas, lowercase, strip punctuation and the words
    a/an/the/and, collapse whitespace."""
    text = text.replace(",", "").lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _identity(word: str) -> str:
    return word


def token_f1(prediction: str, truth: str, stem: Stemmer = _identity) -> float:
    """LoCoMo's ``f1_score``: token F1 of the normalised, stemmed answers.

    LoCoMo stems with NLTK's Porter stemmer; pass its ``stem`` for the exact figure.
    """
    pred = [stem(w) for w in normalize_answer(prediction).split()]
    gold = [stem(w) for w in normalize_answer(truth).split()]
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred)
    recall = same / len(gold)
    return 2 * precision * recall / (precision + recall)


def multi_answer_f1(prediction: str, truth: str, stem: Stemmer = _identity) -> float:
    """LoCoMo's ``f1`` for multi-hop answers: split both on commas; for each gold part take the
    best F1 against any predicted part; average over the gold parts."""
    predictions = [p.strip() for p in prediction.split(",")]
    truths = [t.strip() for t in truth.split(",")]
    return sum(max(token_f1(p, t, stem) for p in predictions) for t in truths) / len(truths)


ADVERSARIAL_MARKERS = ("no information available", "not mentioned")


def answer_f1(
    prediction: str, category: int, answer: str | None, stem: Stemmer = _identity
) -> float:
    """LoCoMo's per-category answer score.

    Categories 2, 3, 4: token F1 (category 3 against the part of the answer before any ';');
    category 1: multi-answer F1; category 5 (adversarial): 1 when the prediction says the
    information is not available ("no information available" / "not mentioned"), else 0.
    """
    if category == 5:
        lowered = prediction.lower()
        return 1.0 if any(marker in lowered for marker in ADVERSARIAL_MARKERS) else 0.0
    truth = answer or ""
    if category == 3:
        truth = truth.split(";")[0].strip()
    if category == 1:
        return multi_answer_f1(prediction, truth, stem)
    return token_f1(prediction, truth, stem)
