"""The candidates of one search as the features read them (``read.engine`` gathers them,
``read.features`` scores them): their memories, units and sessions as columns, and BM25 over
them with the scope's own statistics, as the store keeps them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from memstrata.ports import Placed
from memstrata.terms import Brief
from memstrata.types import MemoryRecord


@dataclass(frozen=True)
class Numbered:
    """Documents' tokens numbered: each distinct token's number (in the order they first
    appear), the tokens' numbers one document after another, and each one's document."""

    numbers: dict[str, int]
    flat: npt.NDArray[np.int64]
    doc: npt.NDArray[np.int64]

    def tokens(self, start: int, end: int) -> list[str]:
        """The tokens from ``start`` to ``end`` of ``flat``."""
        vocabulary = list(self.numbers)
        return [vocabulary[n] for n in self.flat[start:end].tolist()]

    def within(self, spans: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> Numbered:
        """Other documents made of stretches of these tokens: ``spans`` holds each stretch's
        start in ``flat`` and its length, the documents' stretches one after another, and
        ``lengths`` each document's length (the sum of its stretches')."""
        starts, widths = spans[:, 0], spans[:, 1]
        total = int(widths.sum())
        offsets = np.cumsum(widths) - widths
        at = np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, widths)
        doc = np.repeat(np.arange(len(lengths)), lengths)
        return Numbered(self.numbers, self.flat[at], doc)


def number(tokens: Sequence[str], lengths: Sequence[int]) -> Numbered:
    """Documents given as their tokens one after another and their lengths, numbered."""
    numbers: dict[str, int] = dict.fromkeys(tokens, 0)
    for i, token in enumerate(numbers):
        numbers[token] = i
    flat = np.fromiter(map(numbers.__getitem__, tokens), np.int64, len(tokens))
    return Numbered(numbers, flat, np.repeat(np.arange(len(lengths)), lengths))


class ScopedBM25:
    """Okapi BM25 over the candidates' documents with the scope's statistics: document
    frequencies, and the document count and average length of the whole scope, as the store
    keeps them. Documents are given as their tokens one after another (``tokens``) and their
    lengths; the tokens are numbered once (or come numbered: ``numbered``), and a term's column
    of counts is one vectorised count over the numbers."""

    def __init__(
        self,
        tokens: Sequence[str],
        lengths: Sequence[int],
        df: dict[str, int],
        documents: int,
        average: float,
        lookup: Any = None,
        k1: float = 1.2,
        b: float = 0.75,
        *,
        numbered: Numbered | None = None,
    ) -> None:
        self.k1, self.b = k1, b
        self._tokens = tokens
        self.lengths = lengths
        self._df, self._n, self._average = df, max(documents, 1), max(average, 1e-9)
        self._lookup = lookup
        self._columns: dict[str, npt.NDArray[np.float32]] = {}
        self._counts: dict[int, Counter[str]] = {}
        self._norm: npt.NDArray[np.float32] | None = None
        self._starts: list[int] | None = None
        self._numbered = numbered

    def __len__(self) -> int:
        return len(self.lengths)

    def counts(self, doc: int) -> Mapping[str, int]:
        """A document's term counts, its terms in the order they first appear."""
        found = self._counts.get(doc)
        if found is None:
            if self._starts is None:
                self._starts = np.concatenate(([0], np.cumsum(self.lengths))).tolist()
            start, end = self._starts[doc], self._starts[doc + 1]
            words = self._tokens[start:end] if self._tokens else self._numbers().tokens(start, end)
            found = self._counts[doc] = Counter(words)
        return found

    def _numbers(self) -> Numbered:
        if self._numbered is None:
            self._numbered = number(self._tokens, self.lengths)
        return self._numbered

    def tf(self, term: str) -> npt.NDArray[np.float32]:
        column = self._columns.get(term)
        if column is None:
            numbered = self._numbers()
            at = numbered.numbers.get(term)
            doc = numbered.doc
            found = doc[:0] if at is None else doc[numbered.flat == at]
            column = np.bincount(found, minlength=len(self)).astype(np.float32)
            self._columns[term] = column
        return column

    def idf(self, term: str) -> float:
        # A term the store has not counted (yet) counts as often as the candidates hold it.
        df = self._df.get(term) or int(np.count_nonzero(self.tf(term)))
        df = min(df, self._n)
        return float(np.log(1 + (self._n - df + 0.5) / (df + 0.5)))

    def known(self, terms: Iterable[str]) -> None:
        missing = [t for t in set(terms) if t not in self._df]
        if missing and self._lookup is not None:
            found = self._lookup(missing)
            for term in missing:
                self._df[term] = found.get(term, 0)

    def _normaliser(self) -> npt.NDArray[np.float32]:
        if self._norm is None:
            lengths = np.asarray(self.lengths, np.float32)
            self._norm = (self.k1 * (1 - self.b + self.b * lengths / self._average)).astype(
                np.float32
            )
        return self._norm

    def weight(self, doc: int, term: str) -> float:
        tf = float(self.counts(doc).get(term, 0))
        if not tf:
            return 0.0
        return self.idf(term) * tf * (self.k1 + 1) / (tf + float(self._normaliser()[doc]))

    def score(
        self, terms: Sequence[str], weights: Mapping[str, float] | None = None
    ) -> npt.NDArray[np.float32]:
        out = np.zeros(len(self), dtype=np.float32)
        if not len(self):
            return out
        norm = self._normaliser()
        query: dict[str, float] = {}
        if weights is not None:
            query = dict(weights)
        else:
            for term in terms:
                query[term] = query.get(term, 0.0) + 1.0
        for term, qweight in query.items():
            tf = self.tf(term)
            if not tf.any():
                continue
            out += np.float32(qweight * self.idf(term)) * tf * (self.k1 + 1) / (tf + norm)
        return out

    def coverage(self, terms: Sequence[str]) -> npt.NDArray[np.float32]:
        """Share of the query's idf mass that each document contains."""
        out = np.zeros(len(self), dtype=np.float32)
        unique = [t for t in dict.fromkeys(terms) if self.tf(t).any()]
        total = sum(self.idf(t) for t in unique)
        if not unique or total <= 0:
            return out
        for term in unique:
            out += (self.tf(term) > 0).astype(np.float32) * np.float32(self.idf(term) / total)
        return out


class SessionBM25(ScopedBM25):
    """BM25 of sessions: a session's counts are the sums over its candidate memories, its
    length the whole session's (from the store)."""

    def __init__(self, members: ScopedBM25, session_of: npt.NDArray[np.int64],
                 lengths: Sequence[int], df: dict[str, int], documents: int,
                 average: float) -> None:  # fmt: skip
        super().__init__((), lengths, df, documents, average)
        self._members, self._session_of = members, session_of

    def counts(self, doc: int) -> Mapping[str, int]:
        return {}

    def tf(self, term: str) -> npt.NDArray[np.float32]:
        column = self._columns.get(term)
        if column is None:
            column = np.bincount(self._session_of, weights=self._members.tf(term),
                                 minlength=len(self.lengths)).astype(np.float32)  # fmt: skip
            self._columns[term] = column
        return column


@dataclass(frozen=True)
class Arrays:
    """Columns over the candidates (memories) and their units, for vectorised features."""

    size: int
    session_of: npt.NDArray[np.int64]
    prev: npt.NDArray[np.int64]
    next: npt.NDArray[np.int64]
    has_time: npt.NDArray[np.float32]
    is_question: npt.NDArray[np.float32]
    actor_of: npt.NDArray[np.int64]
    span_of: npt.NDArray[np.int64]
    span_low: npt.NDArray[np.int64]
    span_high: npt.NDArray[np.int64]
    photo: npt.NDArray[np.float32]
    #: Whether each memory is a procedure (``write.procedures``).
    procedure: npt.NDArray[np.float32]
    unit_of: npt.NDArray[np.int64]
    unit_prev: npt.NDArray[np.int64]
    unit_next: npt.NDArray[np.int64]
    unit_length: npt.NDArray[np.int64]
    unit_cost: npt.NDArray[np.int64]
    unit_log_cost: npt.NDArray[np.float32]
    unit_group: npt.NDArray[np.int64]
    #: The persons each unit speaks in (``terms.FIRST_PERSON | terms.SECOND_PERSON`` bits).
    unit_person: npt.NDArray[np.int64]
    #: Whether each memory may be returned (it matches the search's filters).
    allowed: npt.NDArray[np.bool_]


@dataclass
class Candidates:
    """The candidates of one search as the features read them: memories in the order they
    were stored, their units, their sessions, with the scope's statistics."""

    #: The candidates as the store gave them (their records made only when read).
    placed: list[Placed]
    lexical: ScopedBM25
    unit_lexical: ScopedBM25
    sessions: SessionBM25
    unit_text: list[str]
    unit_start: list[int]
    actors: list[str]
    dim: int
    vectors: npt.NDArray[np.float32]
    session_vectors: npt.NDArray[np.float32]
    columns: Arrays
    #: The other names each speaker goes by (``people``): a question may name them so.
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.placed)

    @property
    def briefs(self) -> list[Brief]:
        """What the ranker reads of each candidate's record."""
        return [p.brief for p in self.placed]

    def record(self, position: int) -> MemoryRecord:
        """The record of the candidate at ``position``."""
        return self.placed[position].record

    def arrays(self) -> Arrays:
        return self.columns

    def units_of(self, position: int) -> range:
        end = self.unit_start[position + 1] if position + 1 < len(self.unit_start) else None
        return range(self.unit_start[position], len(self.unit_text) if end is None else end)
