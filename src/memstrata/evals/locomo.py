"""LoCoMo in its own JSON format: conversations become messages, QA items become questions.

A LoCoMo file is a list of samples, each with ``sample_id``, ``conversation`` and ``qa``. The
conversation holds ``speaker_a``, ``speaker_b`` and, for each session N, ``session_N`` (a list of
turns) and ``session_N_date_time`` ("1:56 pm on 8 May, 2023"). A turn has ``speaker``, ``dia_id``
("D3:5") and ``text``; an image turn also has ``blip_caption`` (and ``img_url``, ``query``,
sometimes ``re-download``, which are not part of what was said and are left out).

Each turn becomes one message: id = ``dia_id``, its speaker, its text (an image turn adds
`` [photo: CAPTION]``), and its session's date and time as the timestamp (UTC; the data has no
zone). A QA item becomes a ``Question`` whose ``question`` text is the only thing the runner may
hand to the system under test; answer, evidence and category sit apart in ``gold``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CATEGORIES: dict[int, str] = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}

_DATE_TIME = re.compile(
    r"^\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<ampm>[ap])\.?\s*m\.?\s+on\s+"
    r"(?P<day>\d{1,2})\s+(?P<month>[a-z]+)\.?,?\s+(?P<year>\d{4})\s*$",
    re.IGNORECASE,
)
_SESSION_KEY = re.compile(r"^session_(\d+)$")


class LocomoFormatError(ValueError):
    """The file is not in LoCoMo's format; the message names the offending place."""


def parse_date_time(value: str) -> datetime:
    """Parse a LoCoMo session time such as ``"1:56 pm on 8 May, 2023"`` as a UTC datetime.

    Accepts 12-hour times with am/pm, full or abbreviated month names, and an optional comma.
    """
    match = _DATE_TIME.match(value)
    if match is None:
        raise LocomoFormatError(f"unrecognised session date and time: {value!r}")
    hour = int(match["hour"])
    if not 1 <= hour <= 12:
        raise LocomoFormatError(f"hour out of range in {value!r}")
    hour = hour % 12 + (12 if match["ampm"].lower() == "p" else 0)
    month = _MONTHS.get(match["month"].lower())
    if month is None:
        raise LocomoFormatError(f"unknown month in {value!r}")
    try:
        return datetime(
            int(match["year"]), month, int(match["day"]), hour, int(match["minute"]), tzinfo=UTC
        )
    except ValueError as exc:
        raise LocomoFormatError(f"impossible date in {value!r}: {exc}") from None


def turn_text(turn: Mapping[str, Any]) -> str:
    """What a turn said: its text, and for an image turn `` [photo: CAPTION]`` after it."""
    text = str(turn.get("text") or "").strip()
    caption = str(turn.get("blip_caption") or "").strip()
    if caption:
        return f"{text} [photo: {caption}]" if text else f"[photo: {caption}]"
    return text


@dataclass(frozen=True, slots=True)
class Turn:
    id: str
    speaker: str
    text: str
    session: int
    timestamp: datetime | None

    def as_message(self) -> dict[str, Any]:
        """The message handed to ``Memory.add``."""
        return {
            "id": self.id,
            "speaker": self.speaker,
            "text": self.text,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, slots=True)
class Gold:
    """What the system must never see: the category, evidence ids and answers of a question."""

    category: int
    evidence: tuple[str, ...]
    answer: str | None = None
    adversarial_answer: str | None = None


@dataclass(frozen=True, slots=True)
class Question:
    question: str
    gold: Gold


@dataclass(frozen=True, slots=True)
class Conversation:
    sample_id: str
    speakers: tuple[str, ...]
    turns: tuple[Turn, ...]
    questions: tuple[Question, ...]

    @property
    def scope(self) -> str:
        """The user id the conversation is stored under: its ``sample_id``."""
        return self.sample_id

    def messages(self) -> list[dict[str, Any]]:
        return [turn.as_message() for turn in self.turns]

    def full_text(self) -> str:
        """The whole conversation as a full-context prompt would carry it."""
        return render_turns(self.turns)


def render_turns(turns: Sequence[Turn]) -> str:
    """Turns as prompt text: a dated header per session, then ``speaker: text`` lines."""
    lines: list[str] = []
    session: int | None = None
    for turn in turns:
        if turn.session != session:
            session = turn.session
            when = turn.timestamp.strftime("%Y-%m-%d %H:%M") if turn.timestamp else "undated"
            lines.append(f"[session {session}, {when}]")
        lines.append(f"{turn.speaker}: {turn.text}")
    return "\n".join(lines)


def _answer(value: object) -> str | None:
    return None if value is None else str(value)


def parse_question(item: Mapping[str, Any], where: str) -> Question:
    question = item.get("question")
    if not isinstance(question, str) or not question.strip():
        raise LocomoFormatError(f"{where}: a QA item has no question text")
    category = item.get("category")
    if not isinstance(category, int) or isinstance(category, bool):
        raise LocomoFormatError(f"{where}: question {question!r} has no integer category")
    evidence = item.get("evidence") or []
    if not isinstance(evidence, list):
        raise LocomoFormatError(f"{where}: evidence of {question!r} is not a list")
    # Evidence ids are kept exactly as written (see metrics.question_recall for why).
    return Question(
        question=question,
        gold=Gold(
            category=category,
            evidence=tuple(str(e) for e in evidence),
            answer=_answer(item.get("answer")),
            adversarial_answer=_answer(item.get("adversarial_answer")),
        ),
    )


def parse_conversation(sample: Mapping[str, Any]) -> Conversation:
    sample_id = sample.get("sample_id")
    if not isinstance(sample_id, str) or not sample_id:
        raise LocomoFormatError("a sample has no sample_id")
    conv = sample.get("conversation")
    if not isinstance(conv, Mapping):
        raise LocomoFormatError(f"{sample_id}: no conversation")
    sessions = sorted(
        (int(m.group(1)), key) for key in conv if (m := _SESSION_KEY.match(key)) is not None
    )
    turns: list[Turn] = []
    for number, key in sessions:
        raw_turns = conv[key]
        if not isinstance(raw_turns, list):
            raise LocomoFormatError(f"{sample_id}: {key} is not a list of turns")
        when = conv.get(f"{key}_date_time")
        timestamp = parse_date_time(when) if isinstance(when, str) and when.strip() else None
        for raw in raw_turns:
            if not isinstance(raw, Mapping) or not raw.get("dia_id"):
                raise LocomoFormatError(f"{sample_id}: a turn in {key} has no dia_id")
            text = turn_text(raw)
            if not text:
                continue  # nothing was said; nothing to remember
            turns.append(
                Turn(
                    id=str(raw["dia_id"]),
                    speaker=str(raw.get("speaker") or "unknown"),
                    text=text,
                    session=number,
                    timestamp=timestamp,
                )
            )
    speakers = tuple(
        str(conv[k]) for k in ("speaker_a", "speaker_b") if isinstance(conv.get(k), str)
    )
    questions = tuple(
        parse_question(item, sample_id) for item in sample.get("qa") or () if isinstance(item, dict)
    )
    return Conversation(sample_id, speakers, tuple(turns), questions)


def parse_locomo(data: object) -> list[Conversation]:
    if not isinstance(data, list):
        raise LocomoFormatError("a LoCoMo file holds a JSON list of samples")
    conversations = [parse_conversation(sample) for sample in data if isinstance(sample, dict)]
    seen: set[str] = set()
    for conv in conversations:
        if conv.sample_id in seen:
            raise LocomoFormatError(f"sample_id {conv.sample_id!r} appears twice")
        seen.add(conv.sample_id)
    return conversations


def load_locomo(path: str | Path) -> list[Conversation]:
    """Read a LoCoMo JSON file (e.g. ``locomo10.json``)."""
    with Path(path).open(encoding="utf-8") as fh:
        return parse_locomo(json.load(fh))


def unmatched_evidence(conversations: Iterable[Conversation]) -> list[tuple[str, str]]:
    """Evidence ids that name no turn of their conversation, as ``(sample_id, id)`` pairs.

    Under LoCoMo's exact string matching these can never be retrieved: they cap the attainable
    recall below 1 (see ``metrics.question_recall``).
    """
    out: list[tuple[str, str]] = []
    for conv in conversations:
        ids = {turn.id for turn in conv.turns}
        for q in conv.questions:
            out.extend((conv.sample_id, e) for e in q.gold.evidence if e not in ids)
    return out
