"""The in-memory index of one scope that the default ranker reads.

Built from the store (``Store.scan``) and kept while the store's ``stamp`` is unchanged; memories
this process adds are appended in place. Besides each memory's text statistics and vector it
knows the conversation's shape: sessions (an explicit ``session`` in metadata, else messages less
than an hour apart) and each memory's neighbours within its session, because an answer often
sits next to the turn that matches the question.

Each memory is also cut into **units**: its sentences, and a photo's caption on its own. Units
are scored one by one (a long message is often relevant for one sentence) and packed into a
context budget; they are a read-side view only, never stored as memories of their own.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from memstrata.ports import Scans, Vector
from memstrata.read.lexical import BM25, stemmed
from memstrata.read.pack import provenance
from memstrata.text import split_sentences
from memstrata.types import MemoryRecord, Scope, context_line, human_date

#: Messages further apart than this start a new session (when none is named in metadata).
SESSION_GAP_SECONDS = 3600.0

_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME_WORDS = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|ago|last|next|this (?:week|weekend|month|year)|"
    r"since|until|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|"
    r"march|april|june|july|august|september|october|november|december|\d{4})\b",
    re.IGNORECASE,
)


_PHOTO = re.compile(r"\s*(\[photo: [^\]]*\])")


def index_text(record: MemoryRecord, text: str | None = None) -> str:
    """What the keyword index reads: the date, the speaker, the text (or one unit of it) and
    the derived keys."""
    moment = record.valid_from or record.recorded_at
    who = f"{record.actor}: " if record.actor else ""
    body = record.text if text is None else text
    return f"{human_date(moment)} {who}{body} {' '.join(record.keys)}"


def split_units(text: str) -> list[str]:
    """A memory's units: its sentences in order, then each ``[photo: …]`` caption on its own."""
    photos = [m.group(1) for m in _PHOTO.finditer(text)]
    rest = _PHOTO.sub("", text)
    units = [*split_sentences(rest), *photos]
    return units or [text]


def context_prefix(record: MemoryRecord) -> str:
    """What a memory's context line starts with: ``(date) speaker: `` (see ``context_line``)."""
    return context_line(record, "")


def _days(record: MemoryRecord) -> list[tuple[int, int]]:
    moment = record.valid_from or record.recorded_at
    spans = [(moment.date().toordinal(), moment.date().toordinal())]
    for key in record.keys:
        match = _ISO_DAY.match(key)
        if match:
            day = date(int(match[1]), int(match[2]), int(match[3])).toordinal()
            spans.append((day, day))
    return spans


@dataclass(frozen=True)
class Arrays:
    """Columns of a ``ScopeIndex`` as arrays, for vectorised features and filters."""

    size: int
    session_of: npt.NDArray[np.int64]
    prev: npt.NDArray[np.int64]
    next: npt.NDArray[np.int64]
    has_time: npt.NDArray[np.float32]
    is_question: npt.NDArray[np.float32]
    actor_of: npt.NDArray[np.int64]
    state: npt.NDArray[np.str_]
    kind: npt.NDArray[np.str_]
    layer: npt.NDArray[np.str_]
    when: npt.NDArray[np.float64]
    span_of: npt.NDArray[np.int64]
    span_low: npt.NDArray[np.int64]
    span_high: npt.NDArray[np.int64]
    photo: npt.NDArray[np.float32]
    #: Per unit: its memory, its neighbours in the session (across memories), its text's
    #: length, its cost in context characters (with its memory's prefix) and the log of that.
    unit_of: npt.NDArray[np.int64]
    unit_prev: npt.NDArray[np.int64]
    unit_next: npt.NDArray[np.int64]
    unit_length: npt.NDArray[np.int64]
    unit_cost: npt.NDArray[np.int64]
    unit_log_cost: npt.NDArray[np.float32]
    #: Per unit: its provenance (sources and words) as a number; equal for units that say the
    #: same thing from the same messages (``read.pack.provenance``).
    unit_group: npt.NDArray[np.int64]

    @classmethod
    def of(cls, index: ScopeIndex) -> Arrays:
        records = index.records
        span_of = [i for i, spans in enumerate(index.days) for _ in spans]
        unit_of = np.asarray(index.unit_of, np.int64)
        prefix = np.asarray(index.prefix_length, np.int64)
        sizes = np.fromiter((len(t) for t in index.unit_text), np.int64, len(index.unit_text))
        cost = prefix[unit_of] + sizes if len(unit_of) else sizes
        return cls(
            size=len(records),
            session_of=np.asarray(index.session_of, np.int64),
            prev=np.asarray(index.prev, np.int64),
            next=np.asarray(index.next, np.int64),
            has_time=np.asarray(index.has_time, np.float32),
            is_question=np.asarray(index.is_question, np.float32),
            actor_of=np.asarray(index.actor_of, np.int64),
            state=np.asarray([r.state for r in records], dtype=str),
            kind=np.asarray([r.kind for r in records], dtype=str),
            layer=np.asarray([r.layer for r in records], dtype=str),
            when=np.asarray(
                [(r.valid_from or r.recorded_at).timestamp() for r in records], np.float64
            ),
            span_of=np.asarray(span_of, np.int64),
            span_low=np.asarray([a for spans in index.days for a, _ in spans], np.int64),
            span_high=np.asarray([b for spans in index.days for _, b in spans], np.int64),
            photo=np.asarray(index.photo, np.float32),
            unit_of=unit_of,
            unit_prev=np.asarray(index.unit_prev, np.int64),
            unit_next=np.asarray(index.unit_next, np.int64),
            unit_length=sizes,
            unit_cost=cost,
            unit_log_cost=np.log(np.maximum(cost, 1)).astype(np.float32),
            unit_group=np.asarray(index.unit_group, np.int64),
        )


@dataclass
class ScopeIndex:
    stamp: Hashable
    records: list[MemoryRecord] = field(default_factory=list)
    lexical: BM25 = field(default_factory=BM25)
    sessions: BM25 = field(default_factory=BM25)
    session_of: list[int] = field(default_factory=list)
    prev: list[int] = field(default_factory=list)
    next: list[int] = field(default_factory=list)
    days: list[list[tuple[int, int]]] = field(default_factory=list)
    has_time: list[float] = field(default_factory=list)
    is_question: list[float] = field(default_factory=list)
    #: Each memory's speaker as a number (an index into ``actors``; -1 for none).
    actor_of: list[int] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    photo: list[float] = field(default_factory=list)
    #: Length of each memory's context prefix ``(date) speaker: ``.
    prefix_length: list[int] = field(default_factory=list)
    #: The units (sentences) of every memory, in memory order: their own keyword index, their
    #: text, their memory, the range of each memory's units, and neighbours in the session.
    unit_lexical: BM25 = field(default_factory=BM25)
    unit_text: list[str] = field(default_factory=list)
    unit_of: list[int] = field(default_factory=list)
    unit_start: list[int] = field(default_factory=list)
    unit_prev: list[int] = field(default_factory=list)
    unit_next: list[int] = field(default_factory=list)
    unit_group: list[int] = field(default_factory=list)
    dim: int = 0
    _vectors: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    _session_sums: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), np.float32)
    )
    _session_last: list[int] = field(default_factory=list)
    _session_key: list[str | None] = field(default_factory=list)
    _arrays: Arrays | None = None

    @classmethod
    def build(cls, store: Scans, scope: Scope) -> ScopeIndex:
        stamp = store.stamp()
        index = cls(stamp=stamp)
        index.append(store.scan(scope))
        return index

    def __len__(self) -> int:
        return len(self.records)

    @property
    def vectors(self) -> npt.NDArray[np.float32]:
        return self._vectors[: len(self.records)]

    @property
    def session_vectors(self) -> npt.NDArray[Any]:
        sums = self._session_sums[: len(self.sessions)]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return np.asarray(sums / np.maximum(norms, 1e-9), dtype=np.float32)

    def _grow(self, rows: int, sessions: int) -> None:
        def grown(array: npt.NDArray[np.float32], needed: int) -> npt.NDArray[np.float32]:
            if needed <= len(array):
                return array
            out = np.zeros((max(needed, 2 * len(array), 64), self.dim), np.float32)
            out[: len(array)] = array
            return out

        self._vectors = grown(self._vectors, rows)
        self._session_sums = grown(self._session_sums, sessions)

    def _session_for(self, record: MemoryRecord) -> int:
        explicit = record.metadata.get("session")
        key = None if explicit is None else str(explicit)
        moment = (record.valid_from or record.recorded_at).timestamp()
        if self.records:
            last = len(self.records) - 1
            session = self.session_of[last]
            then = self.records[last]
            gap = abs(moment - (then.valid_from or then.recorded_at).timestamp())
            if key is not None or self._session_key[session] is not None:
                same = key == self._session_key[session]
            else:
                same = gap <= SESSION_GAP_SECONDS
            if same:
                return session
        self._session_key.append(key)
        self._session_last.append(-1)
        return self.sessions.add(())

    def append(self, items: Iterable[tuple[MemoryRecord, Vector | None]]) -> None:
        for record, vector in items:
            if vector is not None and self.dim == 0:
                self.dim = len(vector)
                self._vectors = np.zeros((0, self.dim), np.float32)
                self._session_sums = np.zeros((0, self.dim), np.float32)
            position = len(self.records)
            session = self._session_for(record)
            # The date, speaker and keys count in every unit; the words are tokenised once.
            head = stemmed(index_text(record, ""))
            units = [(text, stemmed(text)) for text in split_units(record.text)]
            tokens = head + [t for _, words in units for t in words]
            self.lexical.add(tokens)
            self.sessions.extend(session, tokens)
            previous = self._session_last[session]
            self.prev.append(previous)
            self.next.append(-1)
            if previous >= 0:
                self.next[previous] = position
            self._session_last[session] = position
            self.session_of.append(session)
            self.records.append(record)
            self.days.append(_days(record))
            self.has_time.append(1.0 if _TIME_WORDS.search(record.text) else 0.0)
            self.is_question.append(1.0 if record.text.rstrip().endswith("?") else 0.0)
            self.actor_of.append(self._actor(record.actor))
            self.photo.append(1.0 if _PHOTO.search(record.text) else 0.0)
            self.prefix_length.append(len(context_prefix(record)))
            self._append_units(position, previous, head, units)
            if self.dim:
                self._grow(position + 1, len(self.sessions))
                if vector is not None:
                    self._vectors[position] = vector
                    self._session_sums[session] += vector

    def _append_units(
        self, position: int, previous: int, head: list[str], units: list[tuple[str, list[str]]]
    ) -> None:
        # The unit before this memory's first is the last unit of the previous memory in the
        # session; units of one memory follow each other.
        before = -1 if previous < 0 else self.units_of(previous).stop - 1
        self.unit_start.append(len(self.unit_text))
        record = self.records[position]
        for text, words in units:
            unit = len(self.unit_text)
            self.unit_lexical.add(head + words)
            self.unit_text.append(text)
            self.unit_group.append(hash(provenance(record.sources or (record.id,), text)))
            self.unit_of.append(position)
            self.unit_prev.append(before)
            self.unit_next.append(-1)
            if before >= 0:
                self.unit_next[before] = unit
            before = unit

    def units_of(self, position: int) -> range:
        """The units of the memory at ``position``."""
        end = self.unit_start[position + 1] if position + 1 < len(self.unit_start) else None
        return range(self.unit_start[position], len(self.unit_text) if end is None else end)

    def _actor(self, name: str | None) -> int:
        if not name:
            return -1
        if name not in self.actors:
            self.actors.append(name)
        return self.actors.index(name)

    def arrays(self) -> Arrays:
        """The per-memory columns as numpy arrays (cached until the next append)."""
        if self._arrays is None or self._arrays.size != len(self.records):
            self._arrays = Arrays.of(self)
        return self._arrays

    def positions(self, ids: Sequence[str]) -> list[int]:
        where = {r.id: i for i, r in enumerate(self.records)}
        return [where[i] for i in ids if i in where]
