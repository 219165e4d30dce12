"""The candidates of one search as the features read them (``read.engine`` gathers them,
``read.features`` scores them): their memories, units and sessions as columns, and BM25 over
them with the scope's own statistics, as the store keeps them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from memstrata.ports import Placed, records_of
from memstrata.terms import BM25_B, BM25_K1, Brief, bm25_idf, bm25_norm, bm25_weight
from memstrata.types import MemoryRecord


class Pieces:
    """Documents' tokens as pieces: strings of tokens apart by single spaces, as the store
    keeps a memory's head and each of its units (``terms.encode``). A term's count in every
    piece is one search of all the pieces joined, so no token is hashed or numbered: a search
    holds tens of thousands of tokens and asks for a few dozen terms."""

    def __init__(self, pieces: Sequence[str]) -> None:
        self.texts = pieces
        self._joined = f" {' '.join(pieces)} "
        widths = np.fromiter(map(len, pieces), np.int64, len(pieces)) + 1
        self._starts = np.cumsum(widths) - widths + 1  # where each piece starts in ``_joined``
        self._counts: dict[str, npt.NDArray[np.float32]] = {}

    def __len__(self) -> int:
        return len(self.texts)

    def count(self, term: str) -> npt.NDArray[np.float32]:
        """How many of each piece's tokens are ``term``."""
        found = self._counts.get(term)
        if found is None:
            at: list[int] = []
            if term and " " not in term:
                # Each " term " (the spaces apart: two in a row share one).
                needle, joined = f" {term} ", self._joined
                i = joined.find(needle)
                while i >= 0:
                    at.append(i + 1)
                    i = joined.find(needle, i + len(needle) - 1)
            piece = np.searchsorted(self._starts, np.asarray(at, np.int64), side="right") - 1
            found = np.bincount(piece, minlength=len(self)).astype(np.float32)
            self._counts[term] = found
        return found


class Documents(Protocol):
    """What BM25 reads of its documents: each one's count of a term, and one's tokens."""

    def tf(self, term: str) -> npt.NDArray[np.float32]: ...

    def tokens(self, doc: int) -> list[str]: ...


class Docs:
    """Documents made of pieces (``Pieces``): each document's pieces are given as pairs, a
    piece and its document (``piece``, ``doc``), each document's in order."""

    def __init__(self, pieces: Pieces, piece: npt.NDArray[np.int64], doc: npt.NDArray[np.int64],
                 documents: int) -> None:  # fmt: skip
        self.pieces, self._piece, self._doc, self._documents = pieces, piece, doc, documents

    def tf(self, term: str) -> npt.NDArray[np.float32]:
        """Each document's count of ``term``."""
        counts = self.pieces.count(term)[self._piece]
        return np.bincount(self._doc, weights=counts, minlength=self._documents).astype(np.float32)

    def tokens(self, doc: int) -> list[str]:
        """A document's tokens, in order."""
        parts = self._piece[np.flatnonzero(self._doc == doc)].tolist()
        said = [text for text in (self.pieces.texts[p] for p in parts) if text]
        return " ".join(said).split(" ") if said else []


class ScopedBM25:
    """Okapi BM25 over the candidates' documents with the scope's statistics: document
    frequencies, and the document count and average length of the whole scope, as the store
    keeps them. Documents are given as pieces of tokens (``Docs``) and their lengths; a term's
    column of counts is one search of the pieces."""

    def __init__(
        self,
        docs: Documents,
        lengths: Sequence[int],
        df: dict[str, int],
        documents: int,
        average: float,
        lookup: Any = None,
        k1: float = BM25_K1,
        b: float = BM25_B,
    ) -> None:
        self.k1, self.b = k1, b
        self._docs = docs
        self.lengths = lengths
        self._df, self._n, self._average = df, max(documents, 1), max(average, 1e-9)
        self._lookup = lookup
        self._columns: dict[str, npt.NDArray[np.float32]] = {}
        self._counts: dict[int, Counter[str]] = {}
        self._norm: npt.NDArray[np.float32] | None = None

    def __len__(self) -> int:
        return len(self.lengths)

    def counts(self, doc: int) -> Mapping[str, int]:
        """A document's term counts, its terms in the order they first appear."""
        found = self._counts.get(doc)
        if found is None:
            found = self._counts[doc] = Counter(self._docs.tokens(doc))
        return found

    def tf(self, term: str) -> npt.NDArray[np.float32]:
        column = self._columns.get(term)
        if column is None:
            column = self._columns[term] = self._docs.tf(term)
        return column

    def idf(self, term: str) -> float:
        # A term the store has not counted (yet) counts as often as the candidates hold it.
        df = self._df.get(term) or int(np.count_nonzero(self.tf(term)))
        return bm25_idf(self._n, min(df, self._n))

    def known(self, terms: Iterable[str]) -> None:
        missing = [t for t in set(terms) if t not in self._df]
        if missing and self._lookup is not None:
            found = self._lookup(missing)
            for term in missing:
                self._df[term] = found.get(term, 0)

    def _normaliser(self) -> npt.NDArray[np.float32]:
        if self._norm is None:
            lengths = np.asarray(self.lengths, np.float32)
            self._norm = bm25_norm(lengths, self._average, self.k1, self.b).astype(np.float32)
        return self._norm

    def weight(self, doc: int, term: str) -> float:
        tf = float(self.counts(doc).get(term, 0))
        if not tf:
            return 0.0
        return bm25_weight(tf, self.idf(term), float(self._normaliser()[doc]), self.k1)

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
            out += bm25_weight(tf, np.float32(qweight * self.idf(term)), norm, self.k1)
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


class SessionDocs:
    """Sessions as documents: a session's counts are the sums over its candidate memories
    (``members``; ``session_of`` each one's session). The features ask no session's tokens."""

    def __init__(self, members: ScopedBM25, session_of: npt.NDArray[np.int64],
                 sessions: int) -> None:  # fmt: skip
        self._members, self._session_of, self._sessions = members, session_of, sessions

    def tf(self, term: str) -> npt.NDArray[np.float32]:
        return np.bincount(self._session_of, weights=self._members.tf(term),
                           minlength=self._sessions).astype(np.float32)  # fmt: skip

    def tokens(self, doc: int) -> list[str]:
        return []


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
    #: The days the memories are about (``terms.days``): whose, and the day's ordinal.
    span_of: npt.NDArray[np.int64]
    span_day: npt.NDArray[np.int64]
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
    sessions: ScopedBM25
    unit_text: list[str]
    unit_start: list[int]
    actors: list[str]
    dim: int
    vectors: npt.NDArray[np.float32]
    session_vectors: npt.NDArray[np.float32]
    columns: Arrays
    #: The other names each speaker goes by (``people``): a question may name them so.
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The speakers the question names, among the scope's (``people.named``), as the search
    #: that gathered the candidates read them; ``None``: not read yet (the features read them
    #: among the candidates' speakers).
    named: tuple[str, ...] | None = None
    #: The vector of the question without the names of the people it names (``None``: none
    #: made, or it names nobody; ``read.engine.gather``).
    unnamed: npt.NDArray[np.float32] | None = None
    #: Each candidate's text, in order.
    texts: Sequence[str] = ()
    #: Each candidate's ``pack.said_again``: who said its text, where another candidate's
    #: speaker said it too in the same session (empty: no text is said twice).
    repeats: Sequence[Hashable | None] = ()

    def __len__(self) -> int:
        return len(self.placed)

    @property
    def briefs(self) -> list[Brief]:
        """What the ranker reads of each candidate's record."""
        return [p.brief for p in self.placed]

    def records(self, positions: Sequence[int]) -> list[MemoryRecord | None]:
        """The records of the candidates at ``positions``, read together (``None``: no longer
        passes the search's filters, ``ports.records_of``)."""
        return records_of([self.placed[i] for i in positions])

    def arrays(self) -> Arrays:
        return self.columns

    def units_of(self, position: int) -> range:
        end = self.unit_start[position + 1] if position + 1 < len(self.unit_start) else None
        return range(self.unit_start[position], len(self.unit_text) if end is None else end)
