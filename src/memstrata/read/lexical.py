"""Okapi BM25 over an appendable in-memory corpus, with stemmed tokens (pure Python + numpy).

Postings are kept per term; statistics (document count, average length, idf) are read at query
time, so appending documents needs no rebuild. Scores come back as one dense vector over every
document, which is what per-query feature normalisation needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from memstrata.terms import BM25_B, BM25_K1, bm25_idf, bm25_norm, bm25_weight, stemmed
from memstrata.text import STOPWORDS, stem, tokenize

#: Words that carry no topic in a question, beyond ordinary stop words.
QUESTION_FILLER = frozenset(
    {"did", "does", "do", "kind", "type", "sort", "likely", "would", "might", "could", "ever"}
    | {"also"}
)


def query_terms(text: str) -> list[str]:
    """A question's search terms: stemmed, without stop words or question filler."""
    words = [w for w in tokenize(text) if w not in STOPWORDS and w not in QUESTION_FILLER]
    terms = [stem(w) for w in words]
    return terms or stemmed(text)


class BM25:
    def __init__(self, k1: float = BM25_K1, b: float = BM25_B) -> None:
        self.k1, self.b = k1, b
        self.docs: list[Counter[str]] = []
        self.lengths: list[int] = []
        self._postings: dict[str, dict[int, int]] = {}
        self._arrays: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = {}
        self._total = 0

    def __len__(self) -> int:
        return len(self.docs)

    def add(self, tokens: Iterable[str]) -> int:
        """Append a document; return its index."""
        self.docs.append(Counter())
        self.lengths.append(0)
        self.extend(len(self.docs) - 1, tokens)
        return len(self.docs) - 1

    def extend(self, doc: int, tokens: Iterable[str]) -> None:
        """Add tokens to an existing document (a session that goes on)."""
        counts = Counter(tokens)
        self.docs[doc].update(counts)
        added = sum(counts.values())
        self.lengths[doc] += added
        self._total += added
        for term, tf in counts.items():
            posting = self._postings.setdefault(term, {})
            posting[doc] = posting.get(doc, 0) + tf
            self._arrays.pop(term, None)

    def known(self, terms: Iterable[str]) -> None:
        """Make sure the statistics of ``terms`` are at hand (here they always are)."""

    def idf(self, term: str) -> float:
        return bm25_idf(len(self.docs), len(self._postings.get(term, {})))

    def _posting(self, term: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        cached = self._arrays.get(term)
        if cached is None:
            posting = self._postings[term]
            cached = (
                np.fromiter(posting.keys(), np.int64, len(posting)),
                np.fromiter(posting.values(), np.float32, len(posting)),
            )
            self._arrays[term] = cached
        return cached

    def weight(self, doc: int, term: str) -> float:
        """BM25 weight of one term in one document."""
        tf = self.docs[doc].get(term, 0)
        if not tf:
            return 0.0
        norm = bm25_norm(float(self.lengths[doc]), self._avg(), self.k1, self.b)
        return bm25_weight(float(tf), self.idf(term), norm, self.k1)

    def _avg(self) -> float:
        return self._total / max(1, len(self.docs))

    def score(
        self, terms: Sequence[str], weights: Mapping[str, float] | None = None
    ) -> npt.NDArray[np.float32]:
        """BM25 of every document for ``terms`` (each counted once per occurrence), or for the
        weighted terms in ``weights``."""
        out = np.zeros(len(self.docs), dtype=np.float32)
        if not self.docs:
            return out
        lengths = np.asarray(self.lengths, np.float32)
        norm = bm25_norm(lengths, self._avg(), self.k1, self.b)
        query = dict(weights) if weights is not None else dict(Counter(terms))
        for term, qweight in query.items():
            if term not in self._postings:
                continue
            docs, tfs = self._posting(term)
            out[docs] += bm25_weight(tfs, qweight * self.idf(term), norm[docs], self.k1)
        return out

    def coverage(self, terms: Sequence[str]) -> npt.NDArray[np.float32]:
        """Share of the query's idf mass that each document contains."""
        out = np.zeros(len(self.docs), dtype=np.float32)
        unique = [t for t in dict.fromkeys(terms) if t in self._postings]
        total = sum(self.idf(t) for t in unique)
        if not unique or total <= 0:
            return out
        for term in unique:
            docs, _ = self._posting(term)
            out[docs] += self.idf(term) / total
        return out
