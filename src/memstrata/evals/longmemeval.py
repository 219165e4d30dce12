"""LongMemEval in its own JSON format, and that benchmark's retrieval metrics.

A LongMemEval file (``longmemeval_s.json``, ``longmemeval_m.json``, ``longmemeval_oracle.json``)
is a list of questions, each carrying its own haystack:

- ``question_id`` (abstention questions end in ``_abs``), ``question_type``, ``question``,
  ``answer``, ``question_date``;
- ``haystack_session_ids``, ``haystack_dates`` ("2023/05/20 (Sat) 02:21") and
  ``haystack_sessions``: one list of turns per session, each turn ``{"role", "content"}`` and,
  on the turns that hold the answer, ``"has_answer": true``;
- ``answer_session_ids``: the sessions that hold the answer.

Each question is its own scope. A turn becomes one message with id ``SESSIONID_N`` (N counts the
session's turns from 1), speaker = role, timestamp = its session's date (UTC).

Metrics follow the benchmark's retrieval evaluation: for a ranked list of ids at one level
(session or turn), recall_any@k = 1 if any correct id is in the top k, recall_all@k = 1 if all
are, and NDCG@k with its DCG (the first gain undiscounted, the i-th divided by log2(i) from
i = 2) against the ideal ordering of the haystack's ids. Correct ids: at session level
``answer_session_ids``; at turn level the turns marked ``has_answer``. A hit's ids are its
sources; at session level a source counts as the session it belongs to, and ids are ranked by
their first appearance. Abstention questions are excluded, and a question with no correct id
at a level (some have no turn marked ``has_answer``) is left out of that level's averages,
where it would score recall_any 0 and recall_all 1 by default.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Level = Literal["session", "turn"]
LEVELS: tuple[Level, ...] = ("session", "turn")
DEFAULT_KS: tuple[int, ...] = (5, 10)
METRICS: tuple[str, ...] = ("recall_any", "recall_all", "ndcg")

_DATE = re.compile(
    r"^\s*(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:\s*\([A-Za-z]+\))?"
    r"(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2}))?\s*$"
)


class LongMemEvalFormatError(ValueError):
    """The file is not in LongMemEval's format; the message names the offending place."""


def parse_date(value: str) -> datetime:
    """Parse ``"2023/05/20 (Sat) 02:21"`` (weekday and time optional) as a UTC datetime."""
    match = _DATE.match(value)
    if match is None:
        raise LongMemEvalFormatError(f"unrecognised date: {value!r}")
    try:
        return datetime(
            int(match["y"]),
            int(match["m"]),
            int(match["d"]),
            int(match["H"] or 0),
            int(match["M"] or 0),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise LongMemEvalFormatError(f"impossible date {value!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Turn:
    id: str
    session_id: str
    role: str
    text: str
    timestamp: datetime | None
    has_answer: bool = False

    def as_message(self) -> dict[str, Any]:
        return {"id": self.id, "speaker": self.role, "text": self.text, "timestamp": self.timestamp}


@dataclass(frozen=True, slots=True)
class Item:
    """One question with its haystack. Only ``question`` may reach the system under test."""

    question_id: str
    question_type: str
    question: str
    answer: str | None
    question_date: datetime | None
    sessions: tuple[tuple[Turn, ...], ...]
    answer_session_ids: tuple[str, ...]

    @property
    def abstention(self) -> bool:
        return self.question_id.endswith("_abs")

    @property
    def session_ids(self) -> tuple[str, ...]:
        return tuple(s[0].session_id for s in self.sessions if s)

    @property
    def turn_ids(self) -> tuple[str, ...]:
        return tuple(t.id for s in self.sessions for t in s)

    def correct(self, level: Level) -> frozenset[str]:
        if level == "session":
            return frozenset(self.answer_session_ids) & frozenset(self.session_ids)
        return frozenset(t.id for s in self.sessions for t in s if t.has_answer)

    def corpus(self, level: Level) -> tuple[str, ...]:
        return self.session_ids if level == "session" else self.turn_ids

    def session_of(self) -> dict[str, str]:
        """Turn id -> session id."""
        return {t.id: t.session_id for s in self.sessions for t in s}


def parse_item(raw: Mapping[str, Any]) -> Item:
    qid = raw.get("question_id")
    if not isinstance(qid, str) or not qid:
        raise LongMemEvalFormatError("an item has no question_id")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise LongMemEvalFormatError(f"{qid}: no question text")
    ids = raw.get("haystack_session_ids") or []
    dates = raw.get("haystack_dates") or []
    sessions = raw.get("haystack_sessions") or []
    if not (isinstance(ids, list) and isinstance(sessions, list) and isinstance(dates, list)):
        raise LongMemEvalFormatError(f"{qid}: the haystack fields must be lists")
    if len(ids) != len(sessions) or (dates and len(dates) != len(sessions)):
        raise LongMemEvalFormatError(
            f"{qid}: {len(ids)} session ids, {len(dates)} dates and {len(sessions)} sessions"
        )
    parsed: list[tuple[Turn, ...]] = []
    for index, (sid, turns) in enumerate(zip(ids, sessions, strict=True)):
        when = parse_date(dates[index]) if dates and dates[index] else None
        if not isinstance(turns, list):
            raise LongMemEvalFormatError(f"{qid}: session {sid} is not a list of turns")
        kept = tuple(
            Turn(
                id=f"{sid}_{n}",
                session_id=str(sid),
                role=str(turn.get("role") or "user"),
                text=str(turn.get("content") or "").strip(),
                timestamp=when,
                has_answer=bool(turn.get("has_answer")),
            )
            for n, turn in enumerate(turns, start=1)
            if isinstance(turn, Mapping) and str(turn.get("content") or "").strip()
        )
        parsed.append(kept)
    qdate = raw.get("question_date")
    answer = raw.get("answer")
    return Item(
        question_id=qid,
        question_type=str(raw.get("question_type") or "unknown"),
        question=question,
        answer=None if answer is None else str(answer),
        question_date=parse_date(qdate) if isinstance(qdate, str) and qdate.strip() else None,
        sessions=tuple(parsed),
        answer_session_ids=tuple(str(s) for s in raw.get("answer_session_ids") or ()),
    )


def parse_longmemeval(data: object) -> list[Item]:
    if not isinstance(data, list):
        raise LongMemEvalFormatError("a LongMemEval file holds a JSON list of questions")
    return [parse_item(raw) for raw in data if isinstance(raw, Mapping)]


def load_longmemeval(path: str | Path) -> list[Item]:
    with Path(path).open(encoding="utf-8") as fh:
        return parse_longmemeval(json.load(fh))


# -- metrics (the benchmark's own) ---------------------------------------------------------------


def dcg(relevances: Sequence[float], k: int) -> float:
    """LongMemEval's DCG: rel_1 + sum_{i=2..k} rel_i / log2(i)."""
    rel = list(relevances)[:k]
    if not rel:
        return 0.0
    return rel[0] + sum(r / math.log2(i) for i, r in enumerate(rel[1:], start=2))


def ndcg_at_k(
    ranked: Sequence[str], correct: Iterable[str], corpus: Sequence[str], k: int
) -> float:
    """NDCG@k of a ranking against the ideal ordering of the corpus; 0 when nothing is correct."""
    wanted = set(correct)
    ideal = sorted((1.0 if doc in wanted else 0.0 for doc in corpus), reverse=True)
    ideal_dcg = dcg(ideal, k)
    if ideal_dcg == 0:
        return 0.0
    return dcg([1.0 if doc in wanted else 0.0 for doc in ranked], k) / ideal_dcg


def recall_any_at_k(ranked: Sequence[str], correct: Iterable[str], k: int) -> float:
    top = set(ranked[:k])
    return float(any(doc in top for doc in correct))


def recall_all_at_k(ranked: Sequence[str], correct: Iterable[str], k: int) -> float:
    top = set(ranked[:k])
    return float(all(doc in top for doc in correct))


def ranked_ids(
    hit_sources: Iterable[Sequence[str]], level: Level, session_of: Mapping[str, str]
) -> list[str]:
    """Ids at one level in order of first appearance among the hits' sources.

    At session level each source maps to its session; sources outside the haystack are dropped.
    """
    seen: dict[str, None] = {}
    for sources in hit_sources:
        for source in sources:
            if source not in session_of:
                continue
            key = session_of[source] if level == "session" else source
            seen.setdefault(key, None)
    return list(seen)


@dataclass(frozen=True, slots=True)
class ItemScores:
    question_id: str
    question_type: str
    # (level, metric, k) -> value; absent for a level without correct ids
    values: Mapping[tuple[str, str, int], float]


def score_item(item: Item, hit_sources: Sequence[Sequence[str]], ks: Sequence[int]) -> ItemScores:
    """The benchmark's metrics for one question from the sources of its hits, best first."""
    session_of = item.session_of()
    values: dict[tuple[str, str, int], float] = {}
    for level in LEVELS:
        correct = item.correct(level)
        if not correct:
            continue
        ranked = ranked_ids(hit_sources, level, session_of)
        corpus = item.corpus(level)
        for k in ks:
            values[(level, "recall_any", k)] = recall_any_at_k(ranked, correct, k)
            values[(level, "recall_all", k)] = recall_all_at_k(ranked, correct, k)
            values[(level, "ndcg", k)] = ndcg_at_k(ranked, correct, corpus, k)
    return ItemScores(item.question_id, item.question_type, values)


def aggregate_scores(scores: Sequence[ItemScores]) -> dict[str, dict[str, float]]:
    """Means per group: ``{"overall": {"questions": n, "session/recall_any@5": m}, TYPE: ...}``.

    Abstention questions are excluded. A metric's mean is over the questions that have correct
    ids at its level.
    """
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    counts: dict[str, int] = defaultdict(int)
    for s in scores:
        if s.question_id.endswith("_abs"):
            continue
        for group in ("overall", s.question_type):
            counts[group] += 1
            for (level, metric, k), value in s.values.items():
                values[group][f"{level}/{metric}@{k}"].append(value)
    out: dict[str, dict[str, float]] = {}
    for group in sorted(counts, key=lambda g: (g != "overall", g)):
        row: dict[str, float] = {"questions": float(counts[group])}
        row.update({key: sum(v) / len(v) for key, v in sorted(values[group].items())})
        out[group] = row
    return out
