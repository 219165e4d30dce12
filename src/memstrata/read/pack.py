"""Packing a context budget: which units (sentences) of which memories an agent's prompt gets.

A reader has a fixed number of characters for memories. The best use of them is not the top
memories in score order, whole, until the budget runs out: a long message that matters for one
sentence spends the budget on the rest, and the first memory that does not fit ends the list.
``pack`` walks the units by value per character (``score - alpha * ln(cost)``) and takes each
that still fits; a unit whose memory is already in the context costs only its own text, since
the memory's date and speaker are written once. Units with the same provenance (the same
sources and the same sentence: an episode and a fact restating it, or a sentence said twice)
spend the budget once: only the better-scored is packed. So does a message of at least
``REPEAT_WORDS`` words that its speaker sends again in one session (``said_again``).

Evidence clusters: the turns that answer a question tend to sit in the same conversation session
as one that matched it (the question's answer and its context, a list told over several turns).
With ``cohesion``, once a memory of a session is in the context the units of the session's other
memories gain ``cohesion`` in the walk's key, so those turns outbid scattered near-misses
elsewhere (the packed memory's own further sentences keep their key: they add no new turn).
With a ``reach``, only the session's memories within that many memories of one in the context
(in the order stored, among the candidates) gain it: the turns beside a match, where answers
sit, rather than every turn of a long session, whose rest would crowd out other sessions. Each
memory gains it once. Pure functions over arrays.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from memstrata.types import Hit

#: How many of the best units (by key) packing looks at; the rest cannot fit anyway.
WALK_LIMIT = 4000


@dataclass(frozen=True, slots=True)
class Packed:
    """One memory in the context: its position, its chosen units (in text order) and the
    score of its best unit."""

    memory: int
    units: tuple[int, ...]
    score: float


def provenance(sources: Sequence[str], text: str) -> tuple[tuple[str, ...], str]:
    """What makes two texts the same memory for a reader: the messages they came from and
    their words (case, spacing and closing punctuation aside)."""
    return origin(sources), wording(text)


def origin(sources: Sequence[str]) -> tuple[str, ...]:
    """The messages a text came from, as ``provenance`` compares them."""
    return tuple(sources) if len(sources) == 1 else tuple(sorted(set(sources)))


def wording(text: str) -> str:
    """A text's words, as ``provenance`` compares them."""
    return " ".join(text.split()).strip(" .!?").casefold()


#: A message of at least this many words that its speaker sends again in one session tells
#: nothing new ("I live in Lisbon with my cat", resent); a shorter one ("Yes!", "Me too") means
#: what the turns around it make it mean, so two of them are two things said.
REPEAT_WORDS = 3


def said(speaker: Hashable | None, text: str) -> Hashable | None:
    """Who said which text, to the letter: the same for a message its speaker sends again;
    ``None`` for one of fewer than ``REPEAT_WORDS`` words, or whose ``speaker`` is not known
    (``None``: a speaker is named with the session they speak in, since two users' "user" are
    two people, and the same words on another day may tell of another time). To the letter,
    unlike ``provenance``'s words: a search compares hundreds of texts, and a text resent is
    the same string."""
    if speaker is None or len(text.split(None, REPEAT_WORDS - 1)) < REPEAT_WORDS:
        return None
    return (speaker, text)


def said_again(speakers: Sequence[Hashable | None], texts: Sequence[str]) -> list[Hashable | None]:
    """Each memory's ``said`` (``speakers`` and ``texts``, each memory's) where another memory
    says it too, else ``None``. (``read.engine.build`` calls it only where a text repeats.)"""
    keys = [said(speaker, text) for speaker, text in zip(speakers, texts, strict=True)]
    twice = {key for key, count in Counter(keys).items() if count > 1}
    return [key if key in twice else None for key in keys]


def groups(
    origins: Sequence[tuple[str, ...]],
    unit_of: Sequence[int],
    texts: Sequence[str],
    repeats: Sequence[Hashable | None] = (),
) -> list[int]:
    """Each unit's group as a number: the same for units that come from the same messages
    (``origins``, each memory's; ``unit_of``, each unit's memory) and say the same words
    (``texts``, each unit's): their provenance (``provenance``). A unit whose messages no
    other unit comes from is a group of its own, and its words are not read. With
    ``repeats`` (each memory's ``said_again``), the units of a message said again join the
    groups of the same units of every message that says it, whatever messages they come
    from."""
    units = Counter(origins[m] for m in unit_of)
    numbers: dict[Hashable, int] = {}
    out: list[int] = []
    for memory, text in zip(unit_of, texts, strict=True):
        found = origins[memory]
        key = (found, wording(text)) if units[found] > 1 else found
        out.append(numbers.setdefault(key, len(numbers)))
    if not any(repeats):
        return out
    joined: dict[Hashable, int] = {}  # a unit of a message said again: the first group of it
    parent = list(range(len(numbers)))

    def root(number: int) -> int:
        while parent[number] != number:
            parent[number] = number = parent[parent[number]]
        return number

    for unit, (memory, text) in enumerate(zip(unit_of, texts, strict=True)):
        if repeats[memory] is not None:
            first = root(joined.setdefault((repeats[memory], text), out[unit]))
            own = root(out[unit])
            parent[max(first, own)] = min(first, own)
    return [root(number) for number in out]


def best_of_each(
    units: npt.NDArray[np.int64], score: npt.NDArray[Any], group: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """``units`` (in their order) less those another unit of the same ``group`` outscores;
    of equal scores the first is kept."""
    if len(units) < 2:
        return units
    # By group, then best score first, then position: the first of each run is kept.
    ranked = np.lexsort((np.arange(len(units)), -score[units], group[units]))
    groups = group[units][ranked]
    first = np.ones(len(units), dtype=bool)
    first[1:] = groups[1:] != groups[:-1]
    keep = np.zeros(len(units), dtype=bool)
    keep[ranked[first]] = True
    return units[keep]


def pack(
    key: npt.NDArray[Any],
    score: npt.NDArray[Any],
    unit_of: npt.NDArray[np.int64],
    cost: npt.NDArray[np.int64],
    text_length: npt.NDArray[np.int64],
    budget: int,
    limit: int,
    group: npt.NDArray[np.int64] | None = None,
    session_of: npt.NDArray[np.int64] | None = None,
    cohesion: float = 0.0,
    reach: int | None = None,
) -> list[Packed]:
    """The memories (at most ``limit``) and units that fit in ``budget`` characters, best
    score first. ``key`` orders the walk (``-inf`` excludes a unit); ``cost`` is a unit's
    context line on its own; ``text_length`` its text, which is what it adds (plus a space) to
    a memory already in the context. Units of one ``group`` (the same provenance) are packed
    once, the best-scored of them. ``session_of`` gives each memory's session: once a memory
    of a session is packed, the keys of the units of the session's other memories (with
    ``reach``: of those within ``reach`` positions of it) rise by ``cohesion``, once."""
    finite = np.flatnonzero(np.isfinite(key))
    if len(finite) > WALK_LIMIT:
        finite = finite[np.argpartition(-key[finite], WALK_LIMIT - 1)[:WALK_LIMIT]]
    order = finite[np.argsort(-key[finite], kind="stable")]
    if group is not None:
        order = best_of_each(order, score, group)
    owner, alone, added = unit_of.tolist(), cost.tolist(), text_length.tolist()
    cheapest = int(text_length[order].min()) + 1 if len(order) else 0
    sessions = None if session_of is None or not cohesion else session_of[unit_of]
    walk = _Walk(order, key, owner, sessions, cohesion, reach)
    chosen: dict[int, list[int]] = {}
    left = budget
    for unit in walk:
        memory = owner[unit]
        taken = chosen.get(memory)
        if taken is None and len(chosen) >= limit:
            continue
        price = alone[unit] if taken is None else added[unit] + 1
        if price > left:
            continue
        left -= price
        if taken is None:
            chosen[memory] = [unit]
            walk.packed(unit)
        else:
            taken.append(unit)
        if left < cheapest:
            break
    packed = [
        Packed(memory=m, units=tuple(sorted(units)), score=float(max(score[u] for u in units)))
        for m, units in chosen.items()
    ]
    packed.sort(key=lambda p: -p.score)
    return packed


class _Walk:
    """The units of ``order`` (sorted by ``key``, best first), each once, best current key
    first. Once a memory is in the context (``packed``), the units of the other memories of its
    session (``session``, per unit; ``None``: keys never change), or of those within ``reach``
    memories of it, rise by ``cohesion``, each once; the memory's own further units keep their
    key. Ties keep ``order``."""

    def __init__(
        self,
        order: npt.NDArray[np.int64],
        key: npt.NDArray[Any],
        owner: list[int],
        session: npt.NDArray[np.int64] | None,
        cohesion: float,
        reach: int | None = None,
    ) -> None:
        units = order.tolist()
        self._keys: list[float] = key.tolist()
        self._owner = owner
        # Sorted by key, then position: already a heap. The last field: raised by cohesion.
        self._heap: list[tuple[float, int, int, bool]] = [
            (-self._keys[u], i, u, False) for i, u in enumerate(units)
        ]
        self._session = None if session is None else session.tolist()
        self._cohesion = cohesion
        self._reach = reach
        self._raised: set[int] = set()  # units risen already (with a reach)
        self._members: dict[int, list[tuple[int, int]]] = {}
        if self._session is not None:
            for i, u in enumerate(units):
                self._members.setdefault(self._session[u], []).append((i, u))
        self._done: set[int] = set()
        self._in_context: set[int] = set()

    def __iter__(self) -> _Walk:
        return self

    def __next__(self) -> int:
        while self._heap:
            _, _, unit, raised = heapq.heappop(self._heap)
            if unit in self._done or (raised and self._owner[unit] in self._in_context):
                continue
            self._done.add(unit)
            return unit
        raise StopIteration

    def packed(self, unit: int) -> None:
        """``unit`` is the first of its memory in the context: the other memories of its
        session (within ``reach`` of it) rise, those that have not yet."""
        memory = self._owner[unit]
        self._in_context.add(memory)
        if self._session is None:
            return
        if self._reach is None:
            members = self._members.pop(self._session[unit], [])
        else:
            near, raised = self._reach, self._raised
            members = [(i, u) for i, u in self._members.get(self._session[unit], ())
                       if u not in raised and abs(self._owner[u] - memory) <= near]  # fmt: skip
            raised.update(u for _, u in members)
        for i, u in members:
            if u not in self._done and self._owner[u] not in self._in_context:
                heapq.heappush(self._heap, (-(self._keys[u] + self._cohesion), i, u, True))


def context_length(
    units: Sequence[int], cost: npt.NDArray[np.int64], text_length: npt.NDArray[np.int64]
) -> int:
    """Characters of one memory's context line holding ``units``: the prefix once, the units'
    texts joined by spaces (what ``pack`` charged for them)."""
    first = units[0]
    return int(cost[first]) + sum(int(text_length[u]) + 1 for u in units[1:])


def fit_budget(hits: Sequence[Hit], budget: int) -> list[Hit]:
    """Whole hits, in order, that fit in ``budget`` characters (one that does not fit is
    skipped and the next tried), each provenance once: packing for rankers that score
    memories, not units."""
    out, left = [], budget
    seen: set[Hashable] = set()
    for hit in hits:
        size = len(hit.context)
        same = provenance(hit.sources or (hit.id,), hit.excerpt or hit.text)
        if size <= left and same not in seen:
            out.append(hit)
            seen.add(same)
            left -= size
    return out
