"""A standalone Okapi BM25 over raw turns, independent of the library, to check the harness.

Each turn is one document: ``speaker text [photo: caption]``, lowercased and cut into word
tokens (``\\w+``). Scoring is Okapi BM25 with k1 = 1.5 and b = 0.75 and the non-negative idf
ln(1 + (N - n + 0.5) / (n + 0.5)). Ties keep document order. Run through the same harness as the
library's retrievers, it must reproduce the reference figures of DESIGN §8 (BM25 over turns on
the LoCoMo dev slice: recall@5 46.6, recall@10 54.1) within about two points.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True, slots=True)
class BM25Index:
    """Term statistics of one collection; build with ``BM25Index.build``."""

    postings: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]  # doc ids, tf
    lengths: npt.NDArray[np.float64]
    k1: float = 1.5
    b: float = 0.75

    @classmethod
    def build(cls, documents: Sequence[str], k1: float = 1.5, b: float = 0.75) -> BM25Index:
        raw: dict[str, tuple[list[int], list[float]]] = {}
        lengths = np.zeros(len(documents), dtype=np.float64)
        for doc, text in enumerate(documents):
            tokens = tokenize(text)
            lengths[doc] = len(tokens)
            for term, tf in Counter(tokens).items():
                docs, tfs = raw.setdefault(term, ([], []))
                docs.append(doc)
                tfs.append(float(tf))
        postings = {
            term: (np.asarray(d, dtype=np.int64), np.asarray(t, dtype=np.float64))
            for term, (d, t) in raw.items()
        }
        return cls(postings, lengths, k1, b)

    def idf(self, term: str) -> float:
        n = len(self.postings[term][0]) if term in self.postings else 0
        big_n = len(self.lengths)
        return math.log(1.0 + (big_n - n + 0.5) / (n + 0.5))

    def scores(self, query: str) -> npt.NDArray[np.float64]:
        """BM25 score of every document; each query token counts once per occurrence."""
        out = np.zeros(len(self.lengths), dtype=np.float64)
        if not len(self.lengths):
            return out
        avg = float(self.lengths.mean()) or 1.0
        norm = self.k1 * (1.0 - self.b + self.b * self.lengths / avg)
        for term in tokenize(query):
            if term not in self.postings:
                continue
            docs, tf = self.postings[term]
            out[docs] += self.idf(term) * tf * (self.k1 + 1.0) / (tf + norm[docs])
        return out

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """The best ``limit`` documents with a positive score, as ``(index, score)``."""
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")[:limit]
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0.0]
