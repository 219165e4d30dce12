"""Extractive summaries: pick the sentences whose content terms the rest of the text shares.

A sentence's score is how central its terms are: the stems of its content words (stop words
removed, Porter-stemmed) are weighed by how many *other* sentences use them, plus an optional
query's terms, and the sum is divided by the square root of the sentence's term count so long
sentences do not win by length alone (a cosine against the text's centroid, leaving the
sentence itself out). Selection is greedy by score, skips near-repeats, stays within a
character budget, and returns the sentences in their original order.

Everything here is pure and deterministic; the no-LLM path of summaries and working memory.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from memstrata.text import content_terms, split_sentences, stem

__all__ = [
    "Sentence",
    "clip",
    "score_sentences",
    "select",
    "split_sentences",
    "summarize",
    "terms",
]

#: An ellipsis marks text that was cut.
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of the input: its text, which input text it came from, and its score."""

    text: str
    source: int
    position: int
    score: float = 0.0


def terms(text: str) -> frozenset[str]:
    """The stemmed content terms of ``text``."""
    return frozenset(stem(t) for t in content_terms(text))


def score_sentences(
    sentences: Sequence[str], *, query: str | None = None, query_weight: float = 2.0
) -> list[float]:
    """A centrality score for each sentence (see the module docstring); 0 when it shares no
    term with the other sentences or the query."""
    sets = [terms(s) for s in sentences]
    df: Counter[str] = Counter()
    for term_set in sets:
        df.update(term_set)
    wanted = terms(query) if query else frozenset()
    scores = []
    for term_set in sets:
        if not term_set:
            scores.append(0.0)
            continue
        weight = sum(df[t] - 1 for t in term_set) + query_weight * len(term_set & wanted)
        scores.append(weight / math.sqrt(len(term_set)))
    return scores


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def clip(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters at a word boundary, marked with "…"."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    if max_chars <= len(ELLIPSIS):
        return text[: max(0, max_chars)]
    cut = text[: max_chars - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + ELLIPSIS


def select(
    texts: Sequence[str],
    *,
    max_chars: int,
    max_sentences: int | None = None,
    query: str | None = None,
    redundancy: float = 0.6,
    separator: str = " ",
) -> list[Sentence]:
    """The best sentences of ``texts`` that fit in ``max_chars`` (joined by ``separator``).

    Sentences are taken by score, highest first (ties: earlier first); one whose terms
    overlap a chosen sentence's by more than ``redundancy`` (Jaccard) is skipped; one that
    does not fit is skipped in favour of shorter ones. Returned in their original order, each
    with ``source``, the index of the text it came from.
    """
    sentences: list[Sentence] = []
    for index, text in enumerate(texts):
        for part in split_sentences(text):
            sentences.append(Sentence(part, index, len(sentences)))
    scores = score_sentences([s.text for s in sentences], query=query)
    ranked = sorted(
        (
            Sentence(s.text, s.source, s.position, score)
            for s, score in zip(sentences, scores, strict=True)
        ),
        key=lambda s: (-s.score, s.position),
    )
    chosen: list[Sentence] = []
    chosen_terms: list[frozenset[str]] = []
    used = 0
    for sentence in ranked:
        if max_sentences is not None and len(chosen) >= max_sentences:
            break
        cost = len(sentence.text) + (len(separator) if chosen else 0)
        if used + cost > max_chars:
            continue
        sentence_terms = terms(sentence.text)
        if any(_overlap(sentence_terms, other) > redundancy for other in chosen_terms):
            continue
        chosen.append(sentence)
        chosen_terms.append(sentence_terms)
        used += cost
    return sorted(chosen, key=lambda s: s.position)


def summarize(
    texts: Sequence[str],
    *,
    max_chars: int,
    max_sentences: int | None = None,
    query: str | None = None,
) -> str:
    """An extractive summary of ``texts`` within ``max_chars``; "" when there is no text.

    When not even one whole sentence fits, the best sentence is clipped to fit.
    """
    if max_chars <= 0:
        return ""
    picked = select(texts, max_chars=max_chars, max_sentences=max_sentences, query=query)
    if picked:
        return " ".join(s.text for s in picked)
    everything = [part for text in texts for part in split_sentences(text)]
    if not everything:
        return ""
    scores = score_sentences(everything, query=query)
    best = max(range(len(everything)), key=lambda i: (scores[i], -i))
    return clip(everything[best], max_chars)
