"""Distractor memories for quality at scale: other chats' turns and synthetic chat sessions.

``distractor_batches(n, other, ...)`` gives ``n`` messages, in sessions, to store beside a
dataset's conversations in one scope: first the turns of the ``other`` conversations (another
dataset in LoCoMo's format: its speakers kept, each conversation moved by whole years to a
random year from 2015 to 2026, its message ids prefixed ``other:SAMPLE:``), then synthetic chat
sessions (``evals.chats``) for the rest. Everything here is pure and deterministic for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from memstrata.evals.chats import chat_messages
from memstrata.evals.locomo import Conversation

Batch = list[dict[str, Any]]

#: Other chats are moved to start in one of these years.
YEARS = (2015, 2026)


@dataclass(frozen=True, slots=True)
class Composition:
    """How many distractors of each sort a run stores."""

    other_turns: int
    synthetic: int

    @property
    def total(self) -> int:
        return self.other_turns + self.synthetic


def compose(n: int, other_turns: int) -> Composition:
    """``n`` distractors: every other-chat turn that fits, synthetic messages for the rest."""
    if n < 0:
        raise ValueError(f"the number of distractors cannot be negative: {n}")
    used = min(n, other_turns)
    return Composition(other_turns=used, synthetic=n - used)


def shift_years(when: datetime, years: int) -> datetime:
    """``when`` moved by whole years (29 February becomes the 28th in a common year)."""
    try:
        return when.replace(year=when.year + years)
    except ValueError:
        return when.replace(year=when.year + years, day=28)


def other_batches(conversations: Sequence[Conversation], seed: int = 0) -> list[Batch]:
    """The turns of ``conversations`` as distractor messages, one batch per session.

    Each conversation moves by a whole number of years, chosen at random (per ``seed``) so that
    it starts in a year of ``YEARS``; ids become ``other:SAMPLE:ID`` so they cannot meet a
    dataset's own ids, and speakers and texts are kept.
    """
    rng = random.Random(seed)
    batches: list[Batch] = []
    for conv in conversations:
        years = [t.timestamp.year for t in conv.turns if t.timestamp is not None]
        shift = rng.randrange(YEARS[0], YEARS[1] + 1) - min(years) if years else 0
        session: int | None = None
        for turn in conv.turns:
            if turn.session != session:
                batches.append([])
                session = turn.session
            batches[-1].append(
                {
                    "id": f"other:{conv.sample_id}:{turn.id}",
                    "speaker": turn.speaker,
                    "text": turn.text,
                    "timestamp": None
                    if turn.timestamp is None
                    else shift_years(turn.timestamp, shift),
                }
            )
    return batches


def take(batches: Iterable[Batch], n: int) -> list[Batch]:
    """The first ``n`` messages of ``batches``, in their batches (the last one may be cut)."""
    out: list[Batch] = []
    left = n
    for batch in batches:
        if left <= 0:
            break
        out.append(batch[:left])
        left -= len(out[-1])
    return out


def first_names(conversations: Iterable[Conversation]) -> list[str]:
    """The first names of the conversations' speakers, capitalised, sorted, once each."""
    names = set()
    for conv in conversations:
        for speaker in conv.speakers:
            first = speaker.split()[0] if speaker.split() else ""
            if first:
                names.add(first[0].upper() + first[1:])
    return sorted(names)


def distractor_batches(
    n: int,
    other: Sequence[Conversation] = (),
    *,
    seed: int = 0,
    names: Iterable[str] = (),
) -> tuple[list[Batch], Composition]:
    """``n`` distractor messages in sessions, and how many of each sort they hold."""
    others = other_batches(other, seed)
    composition = compose(n, sum(len(b) for b in others))
    batches = take(others, composition.other_turns)
    for session in chat_messages(composition.synthetic, seed=seed, names=names):
        batches.append([m.as_message() for m in session])
    return batches, composition
