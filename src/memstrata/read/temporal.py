"""The time side of a query: the window it names, and whether it asks "when" or "in what order".

"What did Caroline do last month?" asked on 8 May 2023 becomes the window [1 April 2023,
1 May 2023); "before 2022" becomes everything up to 1 January 2022; "When did she move?" has no
window but asks for a date, which tells the ranker to favour memories that carry one. The
expressions are the ones the write path resolves (``memstrata.timeexpr``), resolved here
against "now" rather than a message's time.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from memstrata.timeexpr import DateMention, resolve_dates

__all__ = ["QueryTime", "TimeWindow", "parse_query_time", "time_score"]

Preference = Literal["earliest", "latest"]


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A half-open span of time [start, end); ``None`` leaves that side unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, moment: datetime) -> bool:
        t = _aware(moment)
        if self.start is not None and t < _aware(self.start):
            return False
        return self.end is None or t < _aware(self.end)

    @property
    def days(self) -> float | None:
        """The window's length in days, or None when a side is unbounded."""
        if self.start is None or self.end is None:
            return None
        return (_aware(self.end) - _aware(self.start)).total_seconds() / 86400


@dataclass(frozen=True, slots=True)
class QueryTime:
    """What a query says about time.

    ``window`` is the span the query restricts itself to (None when it names no time);
    ``asks_when`` marks questions whose answer is a time ("When did...", "How long ago...");
    ``asks_order`` marks questions about sequence ("first", "before", "the latest"), and
    ``prefers`` which end of a sequence they want, if they say; ``mentions`` are the resolved
    date expressions the window was built from.
    """

    window: TimeWindow | None = None
    asks_when: bool = False
    asks_order: bool = False
    prefers: Preference | None = None
    mentions: tuple[DateMention, ...] = ()


_WHEN_RE = re.compile(
    r"^\W*when\b"
    r"|\bwhen\s+(?:did|does|do|was|were|is|are|will|has|have|had|would|could|should|can)\b"
    r"|\b(?:what|which)\s+(?:date|day|time|year|month|week|season|weekend|period)\b"
    r"|\bhow\s+long\s+(?:ago|has|have|had|did|since|before|after)\b"
    r"|\bhow\s+many\s+(?:days|weeks|months|years)\b"
    r"|\bsince\s+when\b|\bat\s+what\s+(?:point|time|age)\b|\bwhat\s+time\s+of\b",
    re.IGNORECASE,
)
_ORDER_RE = re.compile(
    r"\b(?:first|last|before|after|earlier|earliest|later|latest|most\s+recent(?:ly)?|newest"
    r"|oldest|previous(?:ly)?|prior|initially|originally|finally|eventually|next|order"
    r"|sequence|preceded|followed)\b",
    re.IGNORECASE,
)
_EARLIEST_RE = re.compile(
    r"\b(?:first|earliest|oldest|initially|originally|at\s+first)\b", re.IGNORECASE
)
_LATEST_RE = re.compile(
    r"\b(?:last|latest|most\s+recent(?:ly)?|newest|recently|lately|currently|current|now"
    r"|these\s+days|nowadays|still)\b",
    re.IGNORECASE,
)
# What may sit between "before" / "after" and the date it bounds ("prior to the 1990s").
_BOUND_GAP_RE = re.compile(r"\s+(?:to\s+)?(?:the\s+)?", re.IGNORECASE)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _midnight(day: date, tz: tzinfo | None) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def _next_midnight(day: date, tz: tzinfo | None) -> datetime | None:
    try:
        return _midnight(day + timedelta(days=1), tz)
    except OverflowError:
        return None


def _bounds(mentions: tuple[DateMention, ...]) -> tuple[date | None, date | None] | None:
    """Inclusive (first day, last day) the mentions allow, None when they contradict."""
    on = [m for m in mentions if m.relation == "on"]
    lows: list[date] = []
    highs: list[date] = []
    if on:
        lows.append(min(m.start for m in on))
        highs.append(max(m.end for m in on))
    for m in mentions:
        try:
            if m.relation == "since":
                lows.append(m.start)
            elif m.relation == "after":
                lows.append(m.end + timedelta(days=1))
            elif m.relation == "before":
                highs.append(m.start - timedelta(days=1))
            elif m.relation == "until":
                highs.append(m.end)
        except OverflowError:
            continue
    low = max(lows) if lows else None
    high = min(highs) if highs else None
    if low is not None and high is not None and low > high:
        if not on:
            return None
        return min(m.start for m in on), max(m.end for m in on)
    return low, high


def _outside_mentions(
    query: str, mentions: tuple[DateMention, ...], regex: re.Pattern[str]
) -> list[re.Match[str]]:
    spans = [(m.offset, m.offset + len(m.text)) for m in mentions]
    found: list[re.Match[str]] = []
    for match in regex.finditer(query):
        if any(start < match.end() and match.start() < end for start, end in spans):
            continue
        found.append(match)
    return found


def _asks_order(query: str, mentions: tuple[DateMention, ...]) -> bool:
    for match in _outside_mentions(query, mentions, _ORDER_RE):
        if match.group().lower() in ("before", "after", "prior") and any(
            m.offset >= match.end() and _BOUND_GAP_RE.fullmatch(query[match.end() : m.offset])
            for m in mentions
        ):
            continue  # "before 2022" is a bound, and the window has it
        return True
    return False


def _prefers(query: str, mentions: tuple[DateMention, ...]) -> Preference | None:
    earliest = _outside_mentions(query, mentions, _EARLIEST_RE)
    latest = _outside_mentions(query, mentions, _LATEST_RE)
    if not earliest and not latest:
        return None
    if not latest:
        return "earliest"
    if not earliest:
        return "latest"
    return "earliest" if earliest[0].start() < latest[0].start() else "latest"


#: How many recent (query, now) pairs ``parse_query_time`` remembers its answer for.
PARSED_KEPT = 64


@functools.lru_cache(maxsize=PARSED_KEPT)
def parse_query_time(query: str, now: datetime) -> QueryTime:
    """Read the time a query is about, resolving relative expressions against ``now``.

    Plain mentions ("in May 2023 and June") widen the window to cover them all; bounds
    ("before 2022", "since June", "from 2019 to 2021") narrow it. The window is in ``now``'s
    time zone.

    The last ``PARSED_KEPT`` answers are kept: a search reads its question's time twice (for
    the narrower searches, and for the features), and reading it costs about 0.2 ms, most of
    it trying each of ``timeexpr``'s hundred rules.
    """
    mentions = tuple(resolve_dates(query, now))
    window: TimeWindow | None = None
    bounds = _bounds(mentions) if mentions else None
    if bounds is not None and bounds != (None, None):
        low, high = bounds
        window = TimeWindow(
            start=None if low is None else _midnight(low, now.tzinfo),
            end=None if high is None else _next_midnight(high, now.tzinfo),
        )
    return QueryTime(
        window=window,
        asks_when=_WHEN_RE.search(query) is not None,
        asks_order=_asks_order(query, mentions),
        prefers=_prefers(query, mentions),
        mentions=mentions,
    )


def time_score(
    event_time: datetime | None, window: TimeWindow | None, *, scale_days: float | None = None
) -> float:
    """How well a memory's time fits a window, in [0, 1].

    1 inside the window; outside, exp(-distance / scale), which falls smoothly from 1 at the
    edge. The scale defaults to the window's length (at least 3 days; 30 days for an open
    window), so a miss by a day matters for "yesterday" and hardly for "in 2022". 0.5, neutral,
    when there is no window or no time.
    """
    if window is None or event_time is None:
        return 0.5
    if window.start is None and window.end is None:
        return 1.0
    t = _aware(event_time)
    if window.contains(t):
        return 1.0
    if window.start is not None and t < _aware(window.start):
        distance = (_aware(window.start) - t).total_seconds() / 86400
    elif window.end is not None:
        distance = (t - _aware(window.end)).total_seconds() / 86400
    else:  # unreachable: outside a window means past one of its bounds
        return 1.0
    length = window.days
    scale = scale_days if scale_days is not None else (30.0 if length is None else length)
    scale = max(scale, 3.0) if scale_days is None else max(scale, 1e-9)
    return math.exp(-distance / scale)
