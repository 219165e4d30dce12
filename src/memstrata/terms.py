"""What a memory's words are to the ranker (pure): its units, its stemmed terms, its flags, and
the rule that groups memories into sessions.

The write path keeps scope-wide statistics from these (term document frequencies, lengths,
sessions, neighbours: ``stores.sql.engine``) and the read engine scores candidates with them
(``read.engine``), so both sides must cut and stem text the same way: this module is that one
way. ``TERMS_VERSION`` names it; a store whose statistics were counted under another version
counts them again when it opens.

A memory is cut into **units**: its sentences, and a photo's caption on its own. Units are
scored one by one (a long message is often relevant for one sentence) and packed into a context
budget; they are a read-side view only, never stored as memories of their own.

The store keeps each memory's terms beside it, written with the memory (``encode``), so a search
reads them back (``decode``) instead of cutting and stemming its candidates again.

How much a term found in a document weighs is Okapi BM25's formula (``bm25_idf``,
``bm25_norm``, ``bm25_weight``), here once for every scorer of terms: the in-memory index
(``read.lexical``), the candidates' features (``read.candidates``) and the SQLite store's small
scopes (``stores.sqlite.keywords``).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from memstrata.text import split_sentences, stem, tokenize
from memstrata.types import MemoryRecord, human_date

#: Bump when the tokens below change: stores recount their statistics.
TERMS_VERSION = "2"

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
#: Whether a unit speaks in the first person ("I", "my") or to someone ("you", "your"): when a
#: question names a person, their own first-person sentences are about them, and another's
#: sentence that calls them "you" is mostly a question put to them (``read.features``).
FIRST_PERSON, SECOND_PERSON = 1, 2
_FIRST = re.compile(r"\b(?:im?|me|my|mine|myself)\b", re.IGNORECASE)
_SECOND = re.compile(r"\b(?:you|your|yours|yourself)\b", re.IGNORECASE)

#: Porter stems of tokens seen, memoised up to this many entries (then cleared).
_STEM_CACHE_SIZE = 200_000
_STEMS: dict[str, str] = {}


def stemmed(text: str) -> list[str]:
    """Lowercase word tokens, Porter-stemmed."""
    out = []
    for token in tokenize(text):
        root = _STEMS.get(token)
        if root is None:
            if len(_STEMS) >= _STEM_CACHE_SIZE:
                _STEMS.clear()
            root = _STEMS[token] = stem(token)
        out.append(root)
    return out


def index_text(record: MemoryRecord, text: str | None = None) -> str:
    """What the keyword features read: the date, the speaker, the text (or one unit of it) and
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


def moment(record: MemoryRecord) -> datetime:
    """When a memory happened: its event time, else when it was recorded."""
    return record.valid_from or record.recorded_at


class Brief(NamedTuple):
    """What the ranker reads of a memory's record: a search reads hundreds of candidates and
    returns a few, so a store makes the whole record only for those (``ports.Placed``). The
    ranker reads the candidates' as columns (``Briefs``); a named tuple is made for one that is
    asked for alone."""

    id: str
    text: str
    kind: str
    actor: str | None
    sources: tuple[str, ...]
    keys: tuple[str, ...]
    #: ``moment``: its event time, else when it was recorded.
    moment: datetime

    @classmethod
    def of(cls, record: MemoryRecord) -> Brief:
        return cls(record.id, record.text, record.kind, record.actor, record.sources,
                   record.keys, moment(record))  # fmt: skip


def context_prefix(brief: Brief) -> str:
    """What a memory's context line starts with: ``(date) speaker: `` (as ``context_line``)."""
    who = f"{brief.actor}: " if brief.actor else ""
    return f"({_human_day(brief.moment.toordinal())}) {who}"


@functools.lru_cache(maxsize=4096)
def _human_day(day: int) -> str:
    """``human_date`` of a day (by ordinal): few days recur among a search's candidates."""
    return human_date(date.fromordinal(day))


class Briefs(NamedTuple):
    """Many memories' ``Brief``s as columns, in the order given (``ports.Placed.columns``);
    each moment as its day's ordinal, which is what the ranker reads of it."""

    ids: Sequence[str]
    texts: Sequence[str]
    kinds: Sequence[str]
    actors: Sequence[str | None]
    sources: Sequence[tuple[str, ...]]
    keys: Sequence[tuple[str, ...]]
    days: Sequence[int]

    @classmethod
    def of(cls, briefs: Sequence[Brief]) -> Briefs:
        if not briefs:
            return cls((), (), (), (), (), (), ())
        ids, texts, kinds, actors, sources, keys, moments = zip(*briefs, strict=True)
        return cls(ids, texts, kinds, actors, sources, keys, [m.toordinal() for m in moments])


def prefix_lengths(briefs: Briefs) -> list[int]:
    """``len(context_prefix(brief))`` of each of ``briefs``, without making the prefixes."""
    return [
        len(_human_day(day)) + 3 + (len(actor) + 2 if actor else 0)
        for actor, day in zip(briefs.actors, briefs.days, strict=True)
    ]


def days(briefs: Briefs) -> tuple[list[int], list[int]]:
    """The days memories are about, as (which memory, day ordinal) columns: each one's own day
    (the first ``len(briefs.days)``, in order), then each ISO date among their keys."""
    of = list(range(len(briefs.days)))
    day = list(briefs.days)
    for i, keys in enumerate(briefs.keys):
        for key in keys:
            # The cheap test first: most keys are words, months or weeks, not days.
            match = _ISO_DAY.match(key) if len(key) == 10 and key[4] == "-" else None
            if match:
                try:
                    found = date(int(match[1]), int(match[2]), int(match[3])).toordinal()
                except ValueError:  # a key that looks like a day and is none: "2023-02-30"
                    continue
                of.append(i)
                day.append(found)
    return of, day


@dataclass(frozen=True, slots=True)
class Terms:
    """A memory as the ranker reads it: the tokens every unit shares (date, speaker, keys),
    each unit's text and tokens, and flags; per unit, the persons it speaks in (``person``)."""

    head: tuple[str, ...]
    units: tuple[tuple[str, tuple[str, ...]], ...]
    has_time: bool
    is_question: bool
    photo: bool
    #: ``FIRST_PERSON | SECOND_PERSON`` bits of each unit (empty: terms stored without them).
    persons: tuple[int, ...] = ()

    def person(self, unit: int) -> int:
        """The persons the ``unit``-th unit speaks in (0 when the stored terms do not say)."""
        return self.persons[unit] if unit < len(self.persons) else 0

    def unit_persons(self) -> tuple[int, ...]:
        """Every unit's ``person``, one per unit."""
        if len(self.persons) == len(self.units):
            return self.persons
        return tuple(self.person(u) for u in range(len(self.units)))

    @property
    def tokens(self) -> list[str]:
        """Every token of the memory (what memory-level BM25 and the session read)."""
        return [*self.head, *(t for _, words in self.units for t in words)]

    @property
    def unit_tokens(self) -> int:
        """Tokens over all units, each unit with the shared head."""
        return sum(len(self.head) + len(words) for _, words in self.units)

    def counts(self) -> Counter[str]:
        return Counter(self.tokens)


def terms_of(record: MemoryRecord) -> Terms:
    """The ranker's view of ``record`` (pure; the same on the write and the read side)."""
    head = tuple(stemmed(index_text(record, "")))
    units = tuple((text, tuple(stemmed(text))) for text in split_units(record.text))
    text = record.text
    persons = tuple(
        (FIRST_PERSON if _FIRST.search(unit) else 0)
        | (SECOND_PERSON if _SECOND.search(unit) else 0)
        for unit, _ in units
    )
    return Terms(head=head, units=units, has_time=bool(_TIME_WORDS.search(text)),
                 is_question=text.rstrip().endswith("?"),
                 photo=bool(_PHOTO.search(text)), persons=persons)  # fmt: skip


#: What parts a stored ``Terms`` (``encode``): a control character that no token holds and that
#: a unit's text, when written out, holds only escaped.
_FIELD = "\x1e"


def encode(terms: Terms, text: str) -> str:
    """``terms`` of a memory whose text is ``text``, as one string for the store: its flags (one
    digit) and its units' persons (one digit each), its head's tokens, then for each unit where
    it lies in ``text`` (``start end``; a unit that is not a part of ``text`` is written out as a
    JSON string) and its tokens; tokens apart by spaces, parts by ``_FIELD``. ``decode`` reads
    it back with ``str.split``."""
    flags = terms.has_time | terms.is_question << 1 | terms.photo << 2
    persons = "".join(map(str, terms.unit_persons()))
    parts = [f"{flags}{persons}", " ".join(terms.head)]
    for unit, tokens in terms.units:
        start = text.find(unit)
        parts.append(f"{start} {start + len(unit)}" if start >= 0 else json.dumps(unit))
        parts.append(" ".join(tokens))
    return _FIELD.join(parts)


def decode(stored: str, text: str) -> Terms:
    """The ``Terms`` that ``encode`` wrote for a memory whose text is ``text``."""
    flags, head, *parts = stored.split(_FIELD)
    units: list[tuple[str, tuple[str, ...]]] = []
    append = units.append
    for where, tokens in zip(parts[::2], parts[1::2], strict=True):
        append((_unit_text(where, text), tuple(tokens.split(" ")) if tokens else ()))
    has_time, is_question, photo, persons = _flags(flags)
    return Terms(tuple(head.split(" ")) if head else (), tuple(units), has_time, is_question,
                 photo, persons)  # fmt: skip


def stored_tokens(stored: str) -> list[str]:
    """Every token of the memory whose terms ``encode`` wrote as ``stored``: ``Terms.tokens``
    without its text (the head's, then each unit's)."""
    said = [piece for piece in stored.split(_FIELD)[1::2] if piece]
    return " ".join(said).split(" ") if said else []


def _unit_text(where: str, text: str) -> str:
    """A unit's text from where ``encode`` wrote it lies in ``text`` (``start end``), or as it
    wrote it out (a JSON string)."""
    if where[:1] == '"':
        return str(json.loads(where))
    start, _, end = where.partition(" ")
    return text[int(start) : int(end)]


@dataclass(frozen=True, slots=True)
class Spread:
    """Many memories' stored terms (``encode``) read at once, as columns (``spread``)."""

    #: Every memory's tokens as stored, in pieces: its head's, then each of its units' (tokens
    #: apart by single spaces).
    pieces: list[str]
    #: Per memory: its head's piece, its head's tokens, and its units.
    head_piece: npt.NDArray[np.int64]
    heads: npt.NDArray[np.int64]
    units: npt.NDArray[np.int64]
    #: Per unit: its text, its piece, its tokens (without the head's), and its persons
    #: (``Terms.person``).
    unit_text: list[str]
    unit_piece: npt.NDArray[np.int64]
    unit_tokens: npt.NDArray[np.int64]
    unit_person: list[int]
    #: Per memory: ``Terms.has_time``, ``is_question`` and ``photo``.
    has_time: list[bool]
    is_question: list[bool]
    photo: list[bool]


def spread(stored: Sequence[str], texts: Sequence[str]) -> Spread:
    """The terms ``encode`` wrote for memories whose texts are ``texts``, read at once: the
    same as ``decode`` of each, without a ``Terms`` for each (a search reads hundreds)."""
    pieces: list[str] = []  # each memory's head's tokens, then each of its units'
    units: list[int] = []
    unit_text: list[str] = []
    unit_person: list[int] = []
    has_time: list[bool] = []
    is_question: list[bool] = []
    photo: list[bool] = []
    add = unit_text.append
    for value, text in zip(stored, texts, strict=True):
        parts = value.split(_FIELD)  # the flags, the head, then each unit: where, tokens
        pieces += parts[1::2]  # the head, then each unit's tokens
        wheres = parts[2::2]
        for where in wheres:
            add(_unit_text(where, text))
        time, question, picture, persons = _flags(parts[0])
        count = len(wheres)
        units.append(count)
        unit_person += persons if len(persons) == count else (persons + (0,) * count)[:count]
        has_time.append(time)
        is_question.append(question)
        photo.append(picture)
    sizes = np.fromiter((p.count(" ") + 1 if p else 0 for p in pieces), np.int64, len(pieces))
    per_memory = np.asarray(units, np.int64) + 1
    first = np.cumsum(per_memory) - per_memory  # each memory's head among the pieces
    is_head = np.zeros(len(pieces), bool)
    is_head[first] = True
    unit_piece = np.flatnonzero(~is_head)
    return Spread(pieces, first, sizes[first], per_memory - 1, unit_text, unit_piece,
                  sizes[unit_piece], unit_person, has_time, is_question, photo)  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _flags(flags: str) -> tuple[bool, bool, bool, tuple[int, ...]]:
    """The flags and the units' persons of ``encode``'s first part (few strings recur)."""
    bits = int(flags[0])
    return bool(bits & 1), bool(bits & 2), bool(bits & 4), tuple(map(int, flags[1:]))


def session_key(record: MemoryRecord) -> str | None:
    """The session a memory names in its metadata (``session``), if any."""
    explicit = record.metadata.get("session")
    return None if explicit is None else str(explicit)


def same_session(
    previous_key: str | None, previous_at: float | None, key: str | None, at: float
) -> bool:
    """Whether a memory (its named session ``key``, its time ``at`` in seconds) goes on the
    session of the scope's previous memory: the same named session when either names one,
    else less than ``SESSION_GAP_SECONDS`` apart."""
    if previous_at is None:
        return False
    if key is not None or previous_key is not None:
        return key == previous_key
    return abs(at - previous_at) <= SESSION_GAP_SECONDS


# -- BM25 ---------------------------------------------------------------------------------------

#: BM25's term-frequency saturation (``k1``) and length normalisation (``b``).
BM25_K1, BM25_B = 1.2, 0.75

#: A number, or an array of them (one per document).
Many = TypeVar("Many", float, npt.NDArray[Any])


def bm25_idf(documents: int, holding: int) -> float:
    """The idf of a term that ``holding`` of ``documents`` documents hold, in the form that is
    never negative (a term every document holds still counts a little)."""
    return math.log(1 + (documents - holding + 0.5) / (holding + 0.5))


def bm25_norm(length: Many, average: float, k1: float = BM25_K1, b: float = BM25_B) -> Many:
    """The length normaliser of a document ``length`` terms long (or of each of an array of
    them) where documents are ``average`` terms long."""
    return k1 * (1 - b + b * length / average)


def bm25_weight(tf: Many, idf: Any, norm: Many, k1: float = BM25_K1) -> Many:
    """The weight of a term with ``idf`` (times the query's weight of it) that a document holds
    ``tf`` times, its length normaliser ``norm`` (numbers, or arrays over documents)."""
    out: Many = idf * tf * (k1 + 1) / (tf + norm)
    return out
