"""English date expressions, resolved to absolute calendar ranges against a reference time.

One parser for two uses: the write path resolves what a message says ("yesterday", "last May")
against the message's own timestamp, so a memory can be found by the date it happened; the read
path resolves what a question says ("last month", "before 2022") against "now", to get a time
window. Both call ``resolve_dates``.

Conventions:
- weeks run Monday to Sunday; seasons are northern-hemisphere meteorological seasons (spring is
  March to May, summer June to August, autumn September to November, winter December to February
  and is named after the year its December falls in);
- a bare weekday or a date without a year ("on Friday", "May 7", "in May") is placed before or
  after the reference by the tense of its sentence ("went" versus "will go"); a present-tense
  sentence ("I have a concert on Friday") leans to the future and one with no marker to the
  past: the other side wins only when it is less than half as far;
- "from 2019 to 2021" and "between 2018 and 2020" make a pair of bounds; "a book from 2019" is
  just a date;
- a day, week, weekend, weekday, month or year, or a count of them, just before "before" or
  "after" and a date is counted from that date, and the whole is one date: "last weekend before
  April 10, 2023" is 8-9 April 2023 (the weekend ending before that Monday), "the day after May
  5" is 6 May, "two days before June 3" is 1 June, "the week before August 3" is the seven days
  before it; "before May 5" alone stays a bound;
- a day, week or weekend "of" a date is the one that holds it ("the week of August 9" is that
  Monday-to-Sunday week; "the weekend of" a weekday, the weekend after it), and the first,
  second, ... or last of a month or year is counted within it, weeks as seven days from its
  start ("the first week of 2024" is 1-7 January, "the last weekend of April 2023" 29-30
  April); a part that is not there ("the fifth weekend of February") leaves the date as said;
- "last Monday" is the most recent Monday before today and "next Monday" the first after today;
  "this Monday" is the Monday of the current week;
- "last week" / "this week" / "next week" are calendar weeks; "the past week" and "the last 3
  days" are rolling ranges ending today;
- holidays are their days: Christmas (and its Eve, Boxing Day), New Year's Day and Eve,
  Valentine's Day, St Patrick's Day, Halloween, Easter (Gregorian; Good Friday, Easter Monday),
  and the United States' Independence Day (the Fourth of July) and Thanksgiving (the fourth
  Thursday of November); a year, "last", "next" or "this" says which, else the tense as for a
  date without a year. A bare "new year" counts only as "New Year" or "happy new year" ("a new
  year of school" is no date);
- vague expressions ("recently", "a while ago") are not resolved.

All ranges are inclusive calendar dates in the reference time's own calendar (no time zone
conversion is done).
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

__all__ = [
    "SEASONS",
    "DateMention",
    "Granularity",
    "Relation",
    "Tense",
    "add_months",
    "month_end",
    "resolve_dates",
    "season_of",
    "tense_near",
    "week_start",
]

Granularity = Literal["day", "week", "month", "season", "year", "span"]
"""How precise a mention is: a calendar unit, or "span" for any other range (a weekend,
"a few days ago", "the last 3 years", a decade)."""

Relation = Literal["on", "before", "after", "since", "until"]
"""How the text relates to the range: "on" (within it), or an open bound such as "since 2019"
(``since``: from the start on), "before 2022" (``before``: strictly before the start),
"after May" (``after``: strictly after the end), "until June" (``until``: up to the end)."""

Tense = Literal["past", "present", "future"]

SEASONS: tuple[str, ...] = ("spring", "summer", "autumn", "winter")


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date expression found in text and the calendar range it stands for.

    ``start`` and ``end`` are inclusive and ``start <= end`` always holds. ``offset`` is where
    ``text`` starts in the source string.
    """

    text: str
    start: date
    end: date
    granularity: Granularity
    relation: Relation = "on"
    offset: int = 0

    @property
    def days(self) -> int:
        """The number of days the range covers (1 for a single day)."""
        return (self.end - self.start).days + 1


# --- calendar arithmetic -------------------------------------------------------------------


def month_end(year: int, month: int) -> date:
    """The last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the end of a shorter month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def week_start(day: date) -> date:
    """The Monday of the week holding ``day``."""
    return day - timedelta(days=day.weekday())


def _month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), month_end(year, month)


def _season_index(year: int, season: int) -> int:
    return year * 4 + season


def _season_range(index: int) -> tuple[date, date]:
    year, season = divmod(index, 4)
    first_month = 3 + 3 * season  # 3, 6, 9, 12
    start = date(year, first_month, 1)
    end = month_end(year + 1, 2) if season == 3 else month_end(year, first_month + 2)
    return start, end


def season_of(day: date) -> tuple[str, int]:
    """The season holding ``day`` and the year it is named after ("winter", 2022 for Jan 2023)."""
    index = _season_index_of(day)
    year, season = divmod(index, 4)
    return SEASONS[season], year


def _season_index_of(day: date) -> int:
    if day.month <= 2:
        return _season_index(day.year - 1, 3)
    return _season_index(day.year, (day.month - 3) // 3)


# --- vocabulary -------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
_WEEKDAYS: dict[str, int] = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6,
}  # fmt: skip
_NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
}  # fmt: skip
#: The counts a vague number stands for, none above five ("a few" reaches five, "several" no
#: further): a mention that gives no number, such as "several years ago", stays within six
#: calendar years of when it was said.
_FUZZY_NUMBERS: dict[str, tuple[int, int]] = {"couple": (2, 3), "few": (2, 5), "several": (3, 5)}
_SEASON_WORDS: dict[str, int] = {"spring": 0, "summer": 1, "fall": 2, "autumn": 2, "winter": 3}

_MONTH = (
    r"(?P<mon>january|february|march|april|may|june|july|august|september|october|november"
    r"|december|(?:jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?)"
)
_MONTH_FULL = (
    r"(?P<mon>january|february|march|april|may|june|july|august|september|october|november"
    r"|december)"
)
_WEEKDAY = r"(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_DAY = r"(?P<day>[0-3]?[0-9])(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>1[0-9]{3}|2[0-9]{3})"
_SMALL = "one|two|three|four|five|six|seven|eight|nine"
_NUMBER = (
    r"(?P<n>[0-9]{1,4}|a\s+couple(?:\s+of)?|couple(?:\s+of)?|a\s+few|few|several"
    rf"|(?:twenty|thirty|forty|fifty|sixty)(?:[\s-](?:{_SMALL}))?"
    r"|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|ten"
    rf"|{_SMALL}|an|a)"
)
_UNIT = r"(?P<unit>day|week|month|year)s?"
_PART = (
    r"(?:(?P<part>early|mid|late|(?:the\s+)?(?:beginning|start|middle|end)\s+of)[\s-]+"
    r"(?:the\s+)?)?"
)
_TIME_OF_DAY = r"(?:\s+(?:morning|afternoon|evening|night))?"

# Words that let a bare season stand for a date ("in the summer", "over the winter").
_CONTEXT_RE = re.compile(
    r"\b(?:in|during|since|until|till|til|before|after|by|of|from|to|through|throughout"
    r"|around|about|circa|over|for|between|and|year|early|mid|late)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
# Years double as counts ("for 2000 dollars", "about 2000 people"), months as names ("talked to
# June"): both take narrower sets.
_YEAR_CONTEXT_RE = re.compile(
    r"\b(?:in|during|since|until|till|til|before|after|by|of|from|to|through|throughout"
    r"|circa|between|and|year|early|mid|late)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
_MONTH_CONTEXT_RE = re.compile(
    r"\b(?:in|during|since|until|till|til|before|after|by|of|through|throughout|around"
    r"|circa|early|mid|late)\s+(?:the\s+)?(?:month\s+of\s+)?$",
    re.IGNORECASE,
)
_PAIR_CONTEXT_RE = re.compile(r"\b(?:from|between|in|during)\s+$", re.IGNORECASE)
_RELATION_RE = re.compile(
    r"\b(?P<rel>before|prior\s+to|until|till|til|up\s+to|up\s+until|by|after|since"
    r"|ever\s+since|from|starting|starting\s+from|as\s+of|between|and|to|through|thru)"
    r"\s+(?:the\s+)?(?:(?:early|mid|late|end\s+of|beginning\s+of|start\s+of)[\s-]+)?$",
    re.IGNORECASE,
)


# --- tense ----------------------------------------------------------------------------------

_FUTURE_RE = re.compile(
    r"\b(?:will|shall|gonna|going\s+to|plan(?:s|ning|ned)?\s+(?:to|on)|about\s+to"
    r"|hop(?:e|es|ing)\s+to|want(?:s)?\s+to|wanna|intend(?:s|ing)?\s+to|looking\s+forward"
    r"|can['’]?t\s+wait|upcoming|soon|tomorrow|later)\b|['’]ll\b",
    re.IGNORECASE,
)
_PAST_RE = re.compile(
    r"\b(?:was|were|did|had|went|got|made|came|saw|took|told|gave|met|left|felt|found"
    r"|bought|ran|began|spent|been|never|used\s+to|ago|yesterday|earlier|first\s+time"
    r"|(?:haven|hasn|hadn|didn|wasn|weren)['’]?t)\b|\b[a-z]{3,}ed\b",
    re.IGNORECASE,
)
_PRESENT_RE = re.compile(r"\b(?:am|is|are|have|has)\b|['’](?:m|re)\b", re.IGNORECASE)
_NOT_PAST_ED = frozenset({"hundred", "sacred", "naked", "wicked", "kindred", "beloved"})
# An "-ed" word after these is an adjective ("I'm so excited"), not a past tense.
_ADJECTIVE_CUES = frozenset(
    {"am", "is", "are", "be", "being", "so", "very", "really", "too", "get", "getting", "feel",
     "feeling", "feels", "seem", "seems", "i'm", "i’m", "we're", "we’re", "you're", "you’re",
     "they're", "they’re", "it's", "it’s", "she's", "she’s", "he's", "he’s"}
)  # fmt: skip
_SENTENCE_RE = re.compile(r"[.!?\n]+")
_TENSE_MARKERS: tuple[tuple[re.Pattern[str], Tense], ...] = (
    (_FUTURE_RE, "future"),
    (_PAST_RE, "past"),
    (_PRESENT_RE, "present"),
)


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = 0
    for m in _SENTENCE_RE.finditer(text, 0, start):
        left = m.end()
    after = _SENTENCE_RE.search(text, end)
    return left, (after.start() if after else len(text))


def tense_near(text: str, start: int, end: int) -> Tense | None:
    """The tense of the marker nearest to ``text[start:end]`` within its sentence, if any."""
    left, right = _sentence_bounds(text, start, end)
    best: tuple[int, Tense] | None = None
    for regex, tense in _TENSE_MARKERS:
        for m in regex.finditer(text, left, right):
            if m.start() < end and m.end() > start:
                continue  # inside the expression itself
            word = m.group().lower()
            if tense == "past" and word.endswith("ed") and not _is_past_ed(text, m.start()):
                continue
            distance = start - m.end() if m.end() <= start else m.start() - end
            if best is None or distance < best[0]:
                best = (distance, tense)
    return best[1] if best else None


def _is_past_ed(text: str, pos: int) -> bool:
    word = re.match(r"[A-Za-z]+", text[pos:])
    if word is None:
        return False
    lower = word.group().lower()
    if lower.endswith("eed") or lower in _NOT_PAST_ED:
        return False
    previous = text[max(0, pos - 20) : pos].split()
    return not (previous and previous[-1].lower() in _ADJECTIVE_CUES)


# --- choosing among candidate ranges ---------------------------------------------------------

_Range = tuple[date, date]


def _choose(candidates: Sequence[_Range], today: date, tense: Tense | None) -> _Range | None:
    """Pick the occurrence meant: the one holding today, else the past or future one by tense."""
    past: _Range | None = None
    future: _Range | None = None
    for start, end in candidates:
        if start <= today <= end:
            return start, end
        if end < today and (past is None or end > past[1]):
            past = (start, end)
        if start > today and (future is None or start < future[0]):
            future = (start, end)
    if past is None or future is None:
        return past or future
    if tense == "past":
        return past
    if tense == "future":
        return future
    d_past = (today - past[1]).days
    d_future = (future[0] - today).days
    if tense == "present":
        return past if 2 * d_past < d_future else future
    return future if 2 * d_future < d_past else past


# --- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    text: str
    today: date

    def tense(self, m: re.Match[str]) -> Tense | None:
        return tense_near(self.text, m.start(), m.end())


_Resolved = tuple[date, date, Granularity]
_Handler = Callable[[re.Match[str], _Context], _Resolved | None]


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    handler: _Handler
    #: Words one of which must come just before a match (unless it carries "early" / "late").
    context: re.Pattern[str] | None = None
    #: A cheap search that must succeed somewhere in the text before the rule is tried at all.
    trigger: re.Pattern[str] | None = None
    #: The match is a closed range by itself ("from March to May"): "from" opens nothing.
    closed: bool = False


def _month_number(m: re.Match[str]) -> int | None:
    word = m.group("mon")
    number = _MONTHS[word.lower().rstrip(".")]
    if number == 5 and not word[0].isupper():
        return None  # "may" the verb
    return number


def _number(m: re.Match[str]) -> tuple[int, int]:
    """The (low, high) count a number phrase stands for; equal unless fuzzy ("a few")."""
    words = m.group("n").lower().replace("-", " ").split()
    words = [w for w in words if w not in ("a", "of")] or ["a"]
    if words[0] in _FUZZY_NUMBERS:
        return _FUZZY_NUMBERS[words[0]]
    value = int(words[0]) if words[0].isdigit() else sum(_NUMBER_WORDS[w] for w in words)
    return value, value


def _narrow(start: date, end: date, m: re.Match[str], granularity: Granularity) -> _Range:
    """Apply "early" / "mid" / "late" (or "the end of") to a month or a year."""
    part = m.groupdict().get("part")
    if not part:
        return start, end
    part = part.lower().split()[-2] if " " in part else part.lower()
    third = {"early": 0, "beginning": 0, "start": 0, "mid": 1, "middle": 1}.get(part, 2)
    if granularity == "year":
        first = date(start.year, 1 + 4 * third, 1)
        return first, month_end(start.year, 4 + 4 * third)
    total = (end - start).days + 1
    lo = start + timedelta(days=total * third // 3)
    hi = start + timedelta(days=total * (third + 1) // 3 - 1)
    return lo, hi


def _day_offset(offset: int) -> _Handler:
    def handler(m: re.Match[str], ctx: _Context) -> _Resolved:
        day = ctx.today + timedelta(days=offset)
        return day, day, "day"

    return handler


def _unit_range(unit: str, day: date) -> tuple[date, date, Granularity]:
    if unit == "day":
        return day, day, "day"
    if unit == "week":
        start = week_start(day)
        return start, start + timedelta(days=6), "week"
    if unit == "month":
        return (*_month_range(day.year, day.month), "month")
    return date(day.year, 1, 1), date(day.year, 12, 31), "year"


def _shift(day: date, unit: str, count: int) -> date:
    if unit == "day":
        return day + timedelta(days=count)
    if unit == "week":
        return day + timedelta(weeks=count)
    if unit == "month":
        return add_months(day, count)
    return add_months(day, 12 * count)


def _calendar_unit(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    """last / this / next week, weekend, month, year; "the past week" (rolling)."""
    mod = " ".join(m.group("mod").lower().split())
    unit = m.group("unit").lower()
    if ctx.text[m.end() :].lstrip().lower().startswith("of "):
        return None  # "the last week of May": not ours
    if mod in ("past", "the past", "the last") and unit != "weekend":
        return _shift(ctx.today, unit, -1), ctx.today, "span"
    step = 0
    if mod in ("last", "previous", "the previous", "past", "the past", "the last", "this past"):
        step = -1
    elif mod in ("next", "coming", "this coming", "the coming"):
        step = 1
    if unit == "weekend":
        saturday = week_start(ctx.today) + timedelta(days=5 + 7 * step)
        return saturday, saturday + timedelta(days=1), "span"
    start, end, granularity = _unit_range(unit, _shift(ctx.today, unit, step))
    start, end = _narrow(start, end, m, granularity)
    return start, end, granularity


def _earlier_later_this(m: re.Match[str], ctx: _Context) -> _Resolved:
    unit = m.group("unit").lower()
    start, end, granularity = _unit_range(unit, ctx.today)
    if m.group("which").lower() == "earlier":
        return start, max(start, ctx.today), granularity
    return min(end, ctx.today), end, granularity


def _ago(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    lo, hi = _number(m)
    unit = m.group("unit").lower()
    if lo == hi:
        return _unit_range(unit, _shift(ctx.today, unit, -lo))
    start = _unit_range(unit, _shift(ctx.today, unit, -hi))[0]
    end = _unit_range(unit, _shift(ctx.today, unit, -lo))[1]
    return start, end, "span"


def _in_future(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    """In 3 days; in a past-tense sentence a duration instead ("not seen him in 5 years")."""
    lo, hi = _number(m)
    unit = m.group("unit").lower()
    if ctx.tense(m) == "past" and m.group().lower().startswith("in"):
        return _shift(ctx.today, unit, -hi), ctx.today, "span"
    if lo == hi:
        return _unit_range(unit, _shift(ctx.today, unit, lo))
    start = _unit_range(unit, _shift(ctx.today, unit, lo))[0]
    end = _unit_range(unit, _shift(ctx.today, unit, hi))[1]
    return start, end, "span"


def _rolling(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    """A range ending today: "the past 3 days", "the last few years"."""
    hi = _number(m)[1]
    return _shift(ctx.today, m.group("unit").lower(), -hi), ctx.today, "span"


def _weekday(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    if re.search(r"\bevery\s+$", ctx.text[max(0, m.start() - 10) : m.start()], re.IGNORECASE):
        return None  # a habit, not a date
    target = _WEEKDAYS[m.group("wd").lower()]
    mod = " ".join((m.group("mod") or "").lower().split())
    today = ctx.today
    back = (today.weekday() - target) % 7 or 7
    forward = (target - today.weekday()) % 7 or 7
    if mod in ("last", "this past", "past"):
        day = today - timedelta(days=back)
    elif mod in ("next", "this coming", "coming"):
        day = today + timedelta(days=forward)
    elif mod == "this":
        day = week_start(today) + timedelta(days=target)
    else:
        before, after = today - timedelta(days=back), today + timedelta(days=forward)
        candidates = [(before, before), (after, after)]
        chosen = _choose(candidates, today, ctx.tense(m))
        if chosen is None:
            return None
        day = chosen[0]
    return day, day, "day"


def _the_weekend(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    saturday = week_start(ctx.today) + timedelta(days=5)
    candidates = [(s, s + timedelta(days=1)) for s in (saturday - timedelta(weeks=1), saturday)]
    candidates.append((saturday + timedelta(weeks=1), saturday + timedelta(days=8)))
    chosen = _choose(candidates, ctx.today, ctx.tense(m))
    return None if chosen is None else (chosen[0], chosen[1], "span")


def _full_date(year: int, month: int, day: int) -> _Resolved:
    result = date(year, month, day)
    return result, result, "day"


def _iso_date(m: re.Match[str], ctx: _Context) -> _Resolved:
    return _full_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))


def _iso_month(m: re.Match[str], ctx: _Context) -> _Resolved:
    return (*_month_range(int(m.group("y")), int(m.group("m"))), "month")


def _numeric_date(m: re.Match[str], ctx: _Context) -> _Resolved:
    first, second, year = int(m.group("a")), int(m.group("b")), int(m.group("y"))
    if year < 100:
        year += 2000
    month, day = (second, first) if first > 12 else (first, second)  # US order unless impossible
    return _full_date(year, month, day)


def _month_day(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    month = _month_number(m)
    if month is None:
        return None
    day = int(m.group("day"))
    if m.group("year"):
        return _full_date(int(m.group("year")), month, day)
    if not 1 <= day <= 31:
        return None
    candidates: list[_Range] = []
    for year in range(ctx.today.year - 4, ctx.today.year + 5):
        if day <= calendar.monthrange(year, month)[1]:
            candidates.append((date(year, month, day), date(year, month, day)))
    chosen = _choose(candidates, ctx.today, ctx.tense(m))
    return None if chosen is None else (chosen[0], chosen[1], "day")


def _month_year(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    month = _month_number(m)
    if month is None:
        return None
    start, end = _narrow(*_month_range(int(m.group("year")), month), m, "month")
    return start, end, "month"


def _month_modified(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    month = _month_number(m)
    if month is None:
        return None
    mod = " ".join(m.group("mod").lower().split())
    today = ctx.today
    if mod == "this":
        year = today.year
    elif mod in ("last", "this past", "past"):
        year = today.year if month < today.month else today.year - 1
    else:
        year = today.year if month > today.month else today.year + 1
    return (*_month_range(year, month), "month")


def _month_bare(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    month = _month_number(m)
    if month is None:
        return None
    years = (ctx.today.year - 1, ctx.today.year, ctx.today.year + 1)
    chosen = _choose([_month_range(y, month) for y in years], ctx.today, ctx.tense(m))
    if chosen is None:
        return None
    start, end = _narrow(*chosen, m, "month")
    return start, end, "month"


def _month_pair(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    """Two months joined: "May and June 2022", "from March to May" (a range over both)."""
    first = _MONTHS[m.group("m1").lower()]
    last = _MONTHS[m.group("m2").lower()]
    if (first == 5 and m.group("m1")[0] != "M") or (last == 5 and m.group("m2")[0] != "M"):
        return None
    if m.group("year"):
        year = int(m.group("year"))
        start_year = year if first <= last else year - 1
        return date(start_year, first, 1), month_end(year, last), "span"
    if not _preceded_by_context(ctx.text, m.start(), _PAIR_CONTEXT_RE):
        return None
    candidates: list[_Range] = []
    for year in (ctx.today.year - 1, ctx.today.year, ctx.today.year + 1):
        end_year = year if first <= last else year + 1
        candidates.append((date(year, first, 1), month_end(end_year, last)))
    chosen = _choose(candidates, ctx.today, ctx.tense(m))
    return None if chosen is None else (chosen[0], chosen[1], "span")


def _season(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    season = _SEASON_WORDS[m.group("season").lower()]
    mod = " ".join((m.group("mod") or "").lower().split())
    now = _season_index_of(ctx.today)
    if m.group("year"):
        index = _season_index(int(m.group("year")), season)
    elif mod in ("last", "this past", "the past", "past"):
        index = max(i for i in range(now - 4, now) if i % 4 == season)
    elif mod in ("next", "this coming", "the coming", "coming"):
        index = min(i for i in range(now + 1, now + 5) if i % 4 == season)
    elif mod == "this":
        year = ctx.today.year - 1 if season == 3 and ctx.today.month <= 2 else ctx.today.year
        index = _season_index(year, season)
    elif m.group("part") or _preceded_by_context(ctx.text, m.start()):
        candidates = [_season_range(i) for i in range(now - 4, now + 5) if i % 4 == season]
        chosen = _choose(candidates, ctx.today, ctx.tense(m))
        if chosen is None:
            return None
        index = _season_index_of(chosen[0])
    else:
        return None  # "I love summer": no particular summer
    start, end = _season_range(index)
    part = (m.group("part") or "").lower()
    if part:
        third = {"early": 0, "mid": 1}.get(part, 2)
        start = add_months(start, third)
        end = month_end(start.year, start.month)
    return start, end, "season"


def _year(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    year = int(m.group("year"))
    if not 1900 <= year <= 2099:
        return None
    start, end = _narrow(date(year, 1, 1), date(year, 12, 31), m, "year")
    return start, end, "year"


def _decade(m: re.Match[str], ctx: _Context) -> _Resolved:
    """The 1990s; the 1900s is the century (but the 2000s the decade, as people use it)."""
    first = int(m.group("decade"))
    years = 100 if first % 100 == 0 and first != 2000 else 10
    return date(first, 1, 1), date(first + years - 1, 12, 31), "span"


def _the_other_day(m: re.Match[str], ctx: _Context) -> _Resolved:
    return ctx.today - timedelta(days=7), ctx.today - timedelta(days=1), "span"


def _easter(year: int) -> date:
    """Easter Sunday of ``year`` in the Gregorian calendar (the anonymous computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _thanksgiving(year: int) -> date:
    """The fourth Thursday of November, as the United States keeps it."""
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


#: Each holiday's day in a year, by the first word of its name as ``_HOLIDAY`` matches it (and
#: the word after, where the first alone does not say which).
_HOLIDAYS: dict[str, Callable[[int], date]] = {
    "christmas": lambda y: date(y, 12, 25),
    "christmas eve": lambda y: date(y, 12, 24),
    "boxing": lambda y: date(y, 12, 26),
    "new year": lambda y: date(y, 1, 1),
    "new year eve": lambda y: date(y, 12, 31),
    "valentine": lambda y: date(y, 2, 14),
    "patrick": lambda y: date(y, 3, 17),
    "independence": lambda y: date(y, 7, 4),
    "fourth": lambda y: date(y, 7, 4),
    "halloween": lambda y: date(y, 10, 31),
    "thanksgiving": _thanksgiving,
    "easter": _easter,
    "good": lambda y: _easter(y) - timedelta(days=2),
    "easter monday": lambda y: _easter(y) + timedelta(days=1),
}


def _holiday(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    name = m.group("name").lower()
    word = name.split()[0]
    if word in ("christmas", "xmas"):
        key = "christmas eve" if name.endswith("eve") else "christmas"
    elif word == "new":
        bare = name.split()[1] == "year"  # not "New Year's", nor "new years eve"
        if bare and not (m.group("year") or m.group("mod") or m.group("happy")
                         or m.group("name")[0] == "N"):  # fmt: skip
            return None  # "a new year of school"
        key = "new year eve" if (m.group("which") or "").lower() == "eve" else "new year"
    elif word == "easter":
        key = "easter monday" if name.endswith("monday") else "easter"
    elif word.startswith("valentine"):
        key = "valentine"
    elif word in ("st", "st.", "saint"):
        key = "patrick"
    elif word == "the":
        key = "fourth"
    else:
        key = word
    day_of = _HOLIDAYS[key]
    mod = " ".join((m.group("mod") or "").lower().split())
    today = ctx.today
    if m.group("year"):
        day = day_of(int(m.group("year")))
    elif mod == "this":
        day = day_of(today.year)
    elif mod in ("last", "this past"):
        day = max(d for d in map(day_of, range(today.year - 2, today.year + 1)) if d < today)
    elif mod in ("next", "this coming", "coming"):
        day = min(d for d in map(day_of, range(today.year, today.year + 3)) if d > today)
    else:
        days = [day_of(y) for y in range(today.year - 1, today.year + 2)]
        chosen = _choose([(d, d) for d in days], today, ctx.tense(m))
        if chosen is None:
            return None
        day = chosen[0]
    return day, day, "day"


_HOLIDAY = (
    r"\b(?:(?P<mod>last|this\s+past|this\s+coming|this|next|coming)\s+)?(?P<happy>happy\s+)?"
    r"(?P<name>(?:christmas|xmas)(?:\s+(?:eve|day))?|boxing\s+day"
    r"|new\s+year(?:['’]?s)?(?!['’]?s?\s+resolution)(?:\s+(?P<which>eve|day))?"
    r"|valentine['’]?s(?:\s+day)?|(?:st\.?|saint)\s+patrick['’]?s(?:\s+day)?"
    r"|independence\s+day|(?:the\s+)?fourth\s+of\s+july|halloween|thanksgiving"
    r"|easter(?:\s+(?:sunday|monday))?|good\s+friday)"
    r"(?:,?\s+(?:of\s+)?(?P<year>[12][0-9]{3}))?\b"
)


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_WEEKDAY_PREFIX = r"(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday),?\s+)?"

_UNITS = r"day|week|month|year"
_DIGITS = r"[0-9]"
_MONTHS_TRIGGER = r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_WEEKDAYS_TRIGGER = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"

_RULES: tuple[_Rule, ...] = (
    _Rule(_compile(r"\bthe\s+day\s+before\s+yesterday\b"), _day_offset(-2)),
    _Rule(_compile(r"\bthe\s+day\s+after\s+tomorrow\b"), _day_offset(2)),
    _Rule(_compile(rf"\b(?:yesterday{_TIME_OF_DAY}|last\s+night)\b"), _day_offset(-1)),
    _Rule(_compile(r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b"), _day_offset(0)),
    _Rule(_compile(rf"\btomorrow{_TIME_OF_DAY}\b"), _day_offset(1)),
    _Rule(
        _compile(
            rf"\b{_PART}(?P<mod>the\s+past|the\s+last|past|last|previous|the\s+previous"
            r"|this\s+past|this|the\s+current|current|next|this\s+coming|the\s+coming|coming)\s+"
            r"(?P<unit>week|weekend|month|year)\b"
        ),
        _calendar_unit,
        trigger=_compile(r"week|month|year"),
    ),
    _Rule(
        _compile(r"\b(?P<which>earlier|later)\s+this\s+(?P<unit>week|month|year)\b"),
        _earlier_later_this,
        trigger=_compile(r"earlier|later"),
    ),
    _Rule(
        _compile(rf"\b{_NUMBER}\s+{_UNIT}\s+(?:ago|back)\b"),
        _ago,
        trigger=_compile(r"\b(?:ago|back)\b"),
    ),
    _Rule(
        _compile(rf"\bin\s+{_NUMBER}\s+{_UNIT}\b(?!\s+(?:ago|back)\b)"),
        _in_future,
        trigger=_compile(_UNITS),
    ),
    _Rule(
        _compile(rf"\b{_NUMBER}\s+{_UNIT}\s+from\s+now\b"),
        _in_future,
        trigger=_compile(r"from\s+now"),
    ),
    _Rule(
        _compile(rf"\b(?:the\s+)?(?:past|last|previous)\s+{_NUMBER}\s+{_UNIT}\b"),
        _rolling,
        trigger=_compile(r"past|last|previous"),
    ),
    _Rule(
        _compile(
            rf"\b(?:(?P<mod>last|this\s+past|this\s+coming|this|next|coming)\s+)?{_WEEKDAY}"
            rf"{_TIME_OF_DAY}\b"
        ),
        _weekday,
        trigger=_compile(_WEEKDAYS_TRIGGER),
    ),
    _Rule(_compile(r"\b(?:on|over|at|during|for)\s+the\s+weekend\b"), _the_weekend),
    _Rule(
        _compile(
            r"\b(?P<y>[12][0-9]{3})([-/.])(?P<m>[01]?[0-9])\2(?P<d>[0-3]?[0-9])\b(?![-/.][0-9])"
        ),
        _iso_date,
        trigger=_compile(_DIGITS),
    ),
    _Rule(
        _compile(r"\b(?P<y>[12][0-9]{3})-(?P<m>[01][0-9])\b(?![-/.][0-9])"),
        _iso_month,
        trigger=_compile(_DIGITS),
    ),
    _Rule(
        _compile(
            r"(?<![0-9/.])\b(?P<a>[0-3]?[0-9])/(?P<b>[0-3]?[0-9])/(?P<y>[0-9]{4}|[0-9]{2})\b"
            r"(?![/.][0-9])"
        ),
        _numeric_date,
        trigger=_compile(_DIGITS),
    ),
    _Rule(
        _compile(
            rf"\b{_WEEKDAY_PREFIX}{_MONTH}\s+(?:the\s+)?{_DAY}\b(?![:.][0-9])"
            rf"(?:,?\s*{_YEAR}\b)?"
        ),
        _month_day,
        trigger=_compile(_MONTHS_TRIGGER),
    ),
    _Rule(
        _compile(
            rf"\b{_WEEKDAY_PREFIX}(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s*{_YEAR}\b)?"
            r"(?![a-z])"
        ),
        _month_day,
        trigger=_compile(_MONTHS_TRIGGER),
    ),
    _Rule(
        _compile(rf"\b{_PART}{_MONTH},?\s+(?:of\s+)?{_YEAR}\b"),
        _month_year,
        trigger=_compile(_MONTHS_TRIGGER),
    ),
    _Rule(
        _compile(rf"\b(?P<mod>last|this\s+past|this\s+coming|this|next|coming)\s+{_MONTH_FULL}\b"),
        _month_modified,
        trigger=_compile(_MONTHS_TRIGGER),
    ),
    _Rule(
        _compile(
            rf"\b{_MONTH_FULL.replace('mon>', 'm1>')}\s+(?:and|or|to|until|till|through|thru|-|–)"
            rf"\s+{_MONTH_FULL.replace('mon>', 'm2>')}\b(?:,?\s+(?:of\s+)?{_YEAR}\b)?"
        ),
        _month_pair,
        trigger=_compile(_MONTHS_TRIGGER),
        closed=True,
    ),
    _Rule(
        _compile(rf"\b{_PART}{_MONTH_FULL}\b(?!\s+[0-9]|['’]s)"),
        _month_bare,
        _MONTH_CONTEXT_RE,
        trigger=_compile(_MONTHS_TRIGGER),
    ),
    _Rule(
        _compile(
            r"\b(?:(?P<mod>last|this\s+past|this\s+coming|this|next|the\s+coming|coming"
            r"|the\s+past|past)\s+|(?P<part>early|mid|late)[\s-]+)?"
            r"(?P<season>spring|summer|fall|autumn|winter)(?:\s+(?:of\s+)?(?P<year>[12][0-9]{3}))?\b"
        ),
        _season,
        trigger=_compile(r"spring|summer|fall|autumn|winter"),
    ),
    _Rule(
        _compile(rf"\b{_PART}(?P<year>[12][0-9]{{3}})\b(?![-/.][0-9]|['’]?s\b)"),
        _year,
        _YEAR_CONTEXT_RE,
        trigger=_compile(_DIGITS),
    ),
    _Rule(
        _compile(r"\b(?:the\s+)?(?P<decade>(?:19|20)[0-9]0)['’]?s\b"),
        _decade,
        trigger=_compile(_DIGITS),
    ),
    _Rule(_compile(r"\bthe\s+other\s+day\b"), _the_other_day),
    _Rule(
        _compile(_HOLIDAY),
        _holiday,
        trigger=_compile(
            r"christmas|xmas|boxing|new\s+year|valentine|patrick|independence|fourth|halloween"
            r"|thanksgiving|easter|good\s+friday"
        ),
    ),
)


# --- other languages: Spanish, French, German, Portuguese, Chinese, Japanese -------------------
#
# The same rules, written in each language's words: days next to today, calendar units ("la
# semaine dernière", "上个月"), counts back or forward ("hace 3 días", "vor 3 Tagen", "三天前",
# "3日前"), month names in dates ("29 de diciembre de 2023", "im März"), and dates written with
# dots ("29.12.2023", always day first) or with 年月日 ("2023年12月29日"). Latin-script words
# are matched whole and accents are optional ("proxima semana" is read too); Chinese and
# Japanese have no spaces, so their patterns stand alone. Tense words are English only: a bare
# month ("en marzo") with no English marker is placed by distance alone (see ``_choose``).


def _latin(pattern: str) -> str:
    """A pattern matched as whole words."""
    return rf"(?<!\w)(?:{pattern})(?!\w)"


_WORLD_NUMBERS: dict[str, int] = {
    # Spanish
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "quince": 15, "veinte": 20,
    # French
    "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
    "neuf": 9, "dix": 10, "quinze": 15, "vingt": 20,
    # German
    "ein": 1, "eine": 1, "einem": 1, "einer": 1, "einen": 1, "zwei": 2, "drei": 3, "vier": 4,
    "fünf": 5, "funf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    "zwanzig": 20,
    # Portuguese
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "quatro": 4, "sete": 7,
    "oito": 8, "nove": 9, "dez": 10, "vinte": 20,
}  # fmt: skip
#: Vague counts, as in English (``_FUZZY_NUMBERS``).
_WORLD_FUZZY: dict[str, tuple[int, int]] = {
    "unos": (2, 5), "unas": (2, 5), "varios": (3, 5), "varias": (3, 5),
    "quelques": (2, 5), "plusieurs": (3, 5),
    "ein paar": (2, 5), "paar": (2, 5), "einigen": (2, 5), "einige": (2, 5),
    "mehreren": (3, 5), "mehrere": (3, 5),
    "alguns": (2, 5), "algumas": (2, 5), "vários": (3, 5),
    "几": (2, 5), "幾": (2, 5), "数": (2, 5),
}  # fmt: skip
_WORLD_NUMBER = (
    r"(?P<n>[0-9]{1,4}|[０-９]{1,4}|"
    + "|".join(sorted((re.escape(w).replace("\\ ", r"\s+") for w in {*_WORLD_NUMBERS, *_WORLD_FUZZY}
                       if not w[0] >= "\u2e80"), key=len, reverse=True))
    + ")"
)  # fmt: skip
_CJK_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
               "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_CJK_NUMBER = r"(?P<n>[0-9０-９]{1,4}|[〇零一二两兩三四五六七八九十]{1,3}|几|幾|数)"

#: The unit a word counts, in every language above (lower case, accents as written or not).
_WORLD_UNITS: dict[str, str] = {
    **dict.fromkeys(("día", "días", "dia", "dias", "jour", "jours", "tag", "tage", "tagen",
                     "天", "日"), "day"),
    **dict.fromkeys(("semana", "semanas", "semaine", "semaines", "woche", "wochen", "周",
                     "星期", "个星期", "礼拜", "个礼拜", "週", "週間", "周间"), "week"),
    **dict.fromkeys(("mes", "meses", "mês", "mois", "monat", "monate", "monaten", "个月",
                     "ヶ月", "か月", "カ月", "ヵ月", "箇月", "ケ月"), "month"),
    **dict.fromkeys(("año", "años", "ano", "anos", "an", "ans", "année", "années", "annee",
                     "annees", "jahr", "jahre", "jahren", "年"), "year"),
}  # fmt: skip
_LATIN_UNIT = (
    r"(?P<unit>d[ií]as?|semanas?|mes(?:es)?|m[eê]s|a[ñn]os?|jours?|semaines?|mois|ann[ée]es?"
    r"|ans?|tag(?:e|en)?|wochen?|monat(?:e|en)?|jahr(?:e|en)?)"
)
_ZH_UNIT = r"(?P<unit>天|日|个星期|星期|个礼拜|礼拜|周|個月|个月|年)"
_JA_UNIT = r"(?P<unit>日|週間|週|ヶ月|か月|カ月|ヵ月|箇月|ケ月|年)"


def _cjk_int(text: str) -> int:
    """A count written in digits or Chinese numerals up to 99 ("三", "十二", "二十五")."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CJK_DIGITS[tens] if tens else 1) * 10 + (_CJK_DIGITS[ones] if ones else 0)
    return _CJK_DIGITS[text]


def _world_number(m: re.Match[str]) -> tuple[int, int]:
    word = " ".join(m.group("n").lower().split())
    if word in _WORLD_FUZZY:
        return _WORLD_FUZZY[word]
    value = _WORLD_NUMBERS[word] if word in _WORLD_NUMBERS else _cjk_int(word)
    return value, value


def _world_unit(m: re.Match[str]) -> str:
    return _WORLD_UNITS[m.group("unit").lower()]


def _world_ago(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    lo, hi = _world_number(m)
    unit = _world_unit(m)
    if lo == hi:
        return _unit_range(unit, _shift(ctx.today, unit, -lo))
    start = _unit_range(unit, _shift(ctx.today, unit, -hi))[0]
    return start, _unit_range(unit, _shift(ctx.today, unit, -lo))[1], "span"


def _world_later(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    lo, hi = _world_number(m)
    unit = _world_unit(m)
    if lo == hi:
        return _unit_range(unit, _shift(ctx.today, unit, lo))
    start = _unit_range(unit, _shift(ctx.today, unit, lo))[0]
    return start, _unit_range(unit, _shift(ctx.today, unit, hi))[1], "span"


def _unit_step(unit: str, step: int) -> _Handler:
    def handler(m: re.Match[str], ctx: _Context) -> _Resolved:
        return _unit_range(unit, _shift(ctx.today, unit, step))

    return handler


#: Days next to today: (pattern, days from today). Latin-script patterns are whole words.
_WORLD_DAYS: tuple[tuple[str, int], ...] = (
    (_latin(r"anteayer|antes\s+de\s+ayer|avant[-\s]hier|vorgestern|anteontem"), -2),
    (r"前天|一昨日|おととい", -2),
    (_latin(r"ayer|gestern|ontem"), -1),
    (r"昨天|昨日|きのう", -1),
    (_latin(r"hoy|aujourd['’]hui|heute|hoje"), 0),
    (r"今天|今日|きょう", 0),
    (_latin(r"pasado\s+mañana|apr[eè]s[-\s]demain|übermorgen|depois\s+de\s+amanh[aã]"), 2),
    (r"后天|後天|明後日|あさって", 2),
    (_latin(r"(?<!la\s)(?<!esta\s)(?<!por\s)mañana|demain|amanh[aã]"), 1),
    (_latin(r"(?<!heute\s)(?<!gestern\s)(?<!am\s)(?<!jeden\s)(?<!guten\s)morgen(?!s)"), 1),
    (r"明天|明日|あした", 1),
)
#: French "hier" (yesterday) is German "hier" (here): it counts only in a text with French
#: function words and none of German's.
_FRENCH = re.compile(
    r"(?<!\w)(?:(?:je|nous|vous|elle|ils|était|suis|avons|avez|les|des|une|du|au|aux)(?!\w)"
    r"|(?:j|c|qu|l|d|n|m|s)['’]\w)",
    re.IGNORECASE,
)
_GERMAN = re.compile(
    r"(?<!\w)(?:ich|bin|ist|sind|wir|und|nicht|der|das|dem|den|ein|eine|war|habe|hat)(?!\w)",
    re.IGNORECASE,
)


def _french_hier(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    if _GERMAN.search(ctx.text) or not _FRENCH.search(ctx.text):
        return None
    day = ctx.today - timedelta(days=1)
    return day, day, "day"


#: Calendar units next to this one: (pattern, unit, steps from the current one).
_WORLD_UNIT_STEPS: tuple[tuple[str, str, int], ...] = (
    # Spanish and Portuguese (which share "semana", "esta semana", "próxima semana")
    (_latin(r"semana\s+pas+ada|pas+ada\s+semana"), "week", -1),
    (_latin(r"(?:mes|m[eê]s)\s+pas+ado|pas+ado\s+(?:mes|m[eê]s)"), "month", -1),
    (_latin(r"a[ñn]o\s+pas+ado|pas+ado\s+a[ñn]o"), "year", -1),
    (_latin(r"esta\s+semana"), "week", 0),
    (_latin(r"este\s+(?:mes|m[eê]s)"), "month", 0),
    (_latin(r"este\s+a[ñn]o"), "year", 0),
    (_latin(r"pr[oó]xima\s+semana|semana\s+(?:pr[oó]xima|que\s+(?:viene|vem))"), "week", 1),
    (_latin(r"pr[oó]ximo\s+(?:mes|m[eê]s)|(?:mes|m[eê]s)\s+(?:pr[oó]ximo|que\s+(?:viene|vem))"),
     "month", 1),
    (_latin(r"pr[oó]ximo\s+a[ñn]o|a[ñn]o\s+(?:pr[oó]ximo|que\s+(?:viene|vem))"), "year", 1),
    # French
    (_latin(r"semaine\s+(?:derni[eè]re|pass[ée]e)"), "week", -1),
    (_latin(r"mois\s+(?:dernier|pass[ée])"), "month", -1),
    (_latin(r"(?:l['’])?(?:ann[ée]e\s+(?:derni[eè]re|pass[ée]e)|an\s+(?:dernier|pass[ée]))"),
     "year", -1),
    (_latin(r"cette\s+semaine"), "week", 0),
    (_latin(r"ce\s+mois(?:-ci)?"), "month", 0),
    (_latin(r"cette\s+ann[ée]e"), "year", 0),
    (_latin(r"semaine\s+prochaine"), "week", 1),
    (_latin(r"mois\s+prochain"), "month", 1),
    (_latin(r"(?:l['’])?(?:ann[ée]e\s+prochaine|an\s+prochain)"), "year", 1),
    # German
    (_latin(r"(?:letzte|letzten|vergangene|vergangenen|vorige|vorigen)\s+woche"), "week", -1),
    (_latin(r"(?:letzten|vergangenen|vorigen)\s+monat"), "month", -1),
    (_latin(r"(?:letztes|letzten|vergangenes|vergangenen|voriges|vorigen)\s+jahr"), "year", -1),
    (_latin(r"diese(?:r)?\s+woche"), "week", 0),
    (_latin(r"(?:diesen|diesem)\s+monat"), "month", 0),
    (_latin(r"(?:dieses|diesem)\s+jahr"), "year", 0),
    (_latin(r"(?:n[äa]chste|n[äa]chsten|kommende|kommenden)\s+woche"), "week", 1),
    (_latin(r"(?:n[äa]chsten|kommenden)\s+monat"), "month", 1),
    (_latin(r"(?:n[äa]chstes|n[äa]chsten|kommendes|kommenden)\s+jahr"), "year", 1),
    # Chinese
    (r"上上(?:个)?(?:周|星期|礼拜)", "week", -2),
    (r"上(?:个)?(?:周|星期|礼拜)", "week", -1),
    (r"上上个月", "month", -2),
    (r"上个?月", "month", -1),
    (r"前年", "year", -2),
    (r"去年", "year", -1),
    (r"(?:这|這|本)(?:个)?(?:周|星期|礼拜)", "week", 0),
    (r"(?:这|這|本)个?月", "month", 0),
    (r"下(?:个)?(?:周|星期|礼拜)", "week", 1),
    (r"下个?月", "month", 1),
    (r"明年", "year", 1),
    (r"后年", "year", 2),
    # Japanese
    (r"先々週", "week", -2),
    (r"先週", "week", -1),
    (r"先々月", "month", -2),
    (r"先月", "month", -1),
    (r"一昨年|おととし", "year", -2),
    (r"昨年", "year", -1),
    (r"今週", "week", 0),
    (r"今月", "month", 0),
    (r"今年", "year", 0),
    (r"再来週", "week", 2),
    (r"来週", "week", 1),
    (r"再来月", "month", 2),
    (r"来月", "month", 1),
    (r"再来年", "year", 2),
    (r"来年", "year", 1),
)  # fmt: skip

_WORLD_MONTH_NAMES: dict[str, int] = {
    # Spanish
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11,
    "diciembre": 12,
    # French
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
    # German
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "marz": 3, "maerz": 3, "april": 4,
    "juni": 6, "juli": 7, "august": 8, "september": 9, "oktober": 10, "november": 11,
    "dezember": 12,
    # Portuguese
    "janeiro": 1, "fevereiro": 2, "março": 3, "marco": 3, "maio": 5, "junho": 6, "julho": 7,
    "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
}  # fmt: skip
_WORLD_MONTH = "(?P<mon>" + "|".join(sorted(_WORLD_MONTH_NAMES, key=len, reverse=True)) + r")(?!\w)"
#: A month name as a word: every rule with ``_WORLD_MONTH`` holds one, so texts without any
#: skip those rules (three letters anywhere, as before, were in nearly a third of chat
#: messages, and missed "maerz").
_WORLD_MONTHS_TRIGGER = r"(?<!\w)(?:" + "|".join(_WORLD_MONTH_NAMES) + r")(?!\w)"
#: The words before a month name alone that make it a date: "en marzo", "im März".
_WORLD_MONTH_CONTEXT = (
    r"(?:en(?:\s+el\s+mes\s+de)?|em|no\s+m[eê]s\s+de|au\s+mois\s+d(?:e\s+|['’])|im|in|durante"
    r"|pendant|während)\s+"
)
_DAY_NUMBER = r"(?P<day>[0-3]?[0-9])"
_WORLD_YEAR = r"(?P<year>[12][0-9]{3})"


def _world_month(m: re.Match[str]) -> int:
    return _WORLD_MONTH_NAMES[m.group("mon").lower()]


def _world_month_day(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    month, day = _world_month(m), int(m.group("day"))
    if m.group("year"):
        return _full_date(int(m.group("year")), month, day)
    candidates = [
        (date(y, month, day), date(y, month, day))
        for y in range(ctx.today.year - 4, ctx.today.year + 5)
        if day <= calendar.monthrange(y, month)[1]
    ]
    chosen = _choose(candidates, ctx.today, ctx.tense(m))
    return None if chosen is None else (chosen[0], chosen[1], "day")


def _world_month_year(m: re.Match[str], ctx: _Context) -> _Resolved:
    return (*_month_range(int(m.group("year")), _world_month(m)), "month")


def _world_month_bare(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    month = _world_month(m)
    years = (ctx.today.year - 1, ctx.today.year, ctx.today.year + 1)
    chosen = _choose([_month_range(y, month) for y in years], ctx.today, ctx.tense(m))
    return None if chosen is None else (chosen[0], chosen[1], "month")


def _dotted_date(m: re.Match[str], ctx: _Context) -> _Resolved:
    return _full_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))


def _kanji_date(m: re.Match[str], ctx: _Context) -> _Resolved | None:
    """2023年12月29日, 2023年12月, 12月29日 (its year by tense), 十二月 (by tense)."""
    month = _cjk_int(m.group("m"))
    day = _cjk_int(m.group("d")) if m.group("d") else None
    if m.group("y"):
        year = int(m.group("y"))
        if day is None:
            return (*_month_range(year, month), "month")
        return _full_date(year, month, day)
    if day is None:
        years = (ctx.today.year - 1, ctx.today.year, ctx.today.year + 1)
        chosen = _choose([_month_range(y, month) for y in years], ctx.today, ctx.tense(m))
        return None if chosen is None else (chosen[0], chosen[1], "month")
    candidates = [
        (date(y, month, day), date(y, month, day))
        for y in range(ctx.today.year - 4, ctx.today.year + 5)
        if day <= calendar.monthrange(y, month)[1]
    ]
    chosen = _choose(candidates, ctx.today, ctx.tense(m))
    return None if chosen is None else (chosen[0], chosen[1], "day")


def _kanji_year(m: re.Match[str], ctx: _Context) -> _Resolved:
    year = int(m.group("year"))
    return date(year, 1, 1), date(year, 12, 31), "year"


_CJK_TRIGGER = _compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_KANJI_MONTH = r"(?P<m>1[0-2]|0?[1-9]|[１-９]|１[０-２]|十[一二]?|[一二三四五六七八九])"
_KANJI_DAY = (
    r"(?P<d>3[01]|[12][0-9]|0?[1-9]|[０-３]?[０-９]|三十一?|二?十[一二三四五六七八九]?"
    r"|[一二三四五六七八九])"
)

_WORLD_RULES: tuple[_Rule, ...] = (
    *(_Rule(_compile(p), _day_offset(days)) for p, days in _WORLD_DAYS),
    _Rule(_compile(_latin("hier")), _french_hier),
    *(_Rule(_compile(p), _unit_step(unit, step)) for p, unit, step in _WORLD_UNIT_STEPS),
    _Rule(
        _compile(_latin(rf"(?:hace|il\s+y\s+a|vor|h[aá])\s+{_WORLD_NUMBER}\s+{_LATIN_UNIT}")),
        _world_ago,
        trigger=_compile(r"hace|il\s+y\s+a|vor|h[aá]"),
    ),
    _Rule(
        _compile(_latin(rf"{_WORLD_NUMBER}\s+{_LATIN_UNIT}\s+atr[aá]s")),
        _world_ago,
        trigger=_compile(r"atr[aá]s"),
    ),
    _Rule(
        _compile(_latin(rf"(?:dentro\s+de|dans|in|daqui\s+a)\s+{_WORLD_NUMBER}\s+{_LATIN_UNIT}")),
        _world_later,
        trigger=_compile(r"dentro|dans|in|daqui"),
    ),
    _Rule(
        _compile(rf"{_CJK_NUMBER}\s*{_ZH_UNIT}\s*(?:之|以)?前"), _world_ago, trigger=_CJK_TRIGGER
    ),
    _Rule(_compile(rf"{_CJK_NUMBER}\s*{_JA_UNIT}\s*前"), _world_ago, trigger=_CJK_TRIGGER),
    _Rule(
        _compile(rf"{_CJK_NUMBER}\s*{_ZH_UNIT}\s*(?:之|以)?后"), _world_later, trigger=_CJK_TRIGGER
    ),
    _Rule(_compile(rf"{_CJK_NUMBER}\s*{_JA_UNIT}\s*後"), _world_later, trigger=_CJK_TRIGGER),
    _Rule(
        _compile(
            r"(?<![0-9.])(?P<d>[0-3]?[0-9])\.\s?(?P<m>[01]?[0-9])\.\s?(?P<y>[12][0-9]{3})(?![0-9])"
        ),
        _dotted_date,
        trigger=_compile(_DIGITS),
    ),
    _Rule(
        _compile(
            rf"(?:(?P<y>[12][0-9]{{3}})\s*年\s*)?{_KANJI_MONTH}\s*月(?:\s*{_KANJI_DAY}\s*[日号號])?"
        ),
        _kanji_date,
        trigger=_compile("月"),
    ),
    _Rule(
        _compile(rf"{_WORLD_YEAR}\s*年(?!\s*[0-9０-９一二三四五六七八九十]+\s*月)"),
        _kanji_year,
        trigger=_compile("年"),
    ),
    _Rule(
        _compile(
            _latin(
                rf"{_DAY_NUMBER}\.?\s+(?:de\s+)?{_WORLD_MONTH}(?:\s+(?:de\s+|del\s+)?{_WORLD_YEAR})?"
            )
        ),
        _world_month_day,
        trigger=_compile(_WORLD_MONTHS_TRIGGER),
    ),
    _Rule(
        _compile(_latin(rf"{_WORLD_MONTH}\s+(?:de\s+|del\s+)?{_WORLD_YEAR}")),
        _world_month_year,
        trigger=_compile(_WORLD_MONTHS_TRIGGER),
    ),
    _Rule(
        _compile(_latin(rf"{_WORLD_MONTH_CONTEXT}{_WORLD_MONTH}")),
        _world_month_bare,
        trigger=_compile(_WORLD_MONTHS_TRIGGER),
    ),
    _Rule(
        _compile(
            _latin(
                rf"(?:en|em|im\s+jahr|no\s+ano\s+de|en\s+el\s+a[ñn]o|en\s+l['’]an|ann[ée]e)"
                rf"\s+{_WORLD_YEAR}"
            )
        ),
        _kanji_year,
        trigger=_compile(_DIGITS),
    ),
)


def _preceded_by_context(text: str, start: int, context: re.Pattern[str] = _CONTEXT_RE) -> bool:
    return context.search(text[max(0, start - 40) : start]) is not None


def _relation(text: str, start: int) -> str | None:
    m = _RELATION_RE.search(text[max(0, start - 40) : start])
    return " ".join(m.group("rel").lower().split()) if m else None


_RELATIONS: dict[str, Relation] = {
    "before": "before", "prior to": "before", "until": "until", "till": "until",
    "til": "until", "up to": "until", "up until": "until", "by": "until", "after": "after",
    "since": "since", "ever since": "since", "starting": "since", "starting from": "since",
    "as of": "since",
}  # fmt: skip
# Words that bound a range only as a pair ("from 2019 to 2021", "between 2019 and 2021");
# alone, "a book from 2019" is just a date.
_OPENERS = frozenset({"from", "between"})
_CLOSERS = frozenset({"to", "through", "thru", "and", "until", "till", "til"})


#: A time counted from the date that follows it ("the weekend before April 10, 2023", "two days
#: after May 5", "on Friday before 10.01.2024"): the words just before a bounding "before" /
#: "after" and its date.
_ANCHORED_RE = re.compile(
    r"(?:\b(?:on|in|during)\s+)?(?:\b(?:the|that|last)\s+)?\b"
    rf"(?:{_NUMBER}\s+(?P<unit>day|week|month|year)s?|(?P<span>day|weekend|week|month|year)"
    rf"|{_WEEKDAY})\s+(?:before|prior\s+to|after)\s+(?:the\s+)?$",
    re.IGNORECASE,
)


def _counted_from(m: re.Match[str], first: date, last: date, after: bool) -> _Resolved:
    """The time ``m`` (``_ANCHORED_RE``) names, counted back from ``first`` or, ``after``,
    on from ``last``: the bounding date's own range."""
    day, sign = (last, 1) if after else (first, -1)
    if m.group("wd"):
        target = _WEEKDAYS[m.group("wd").lower()]
        step = (target - day.weekday()) % 7 if after else (day.weekday() - target) % 7
        found = day + timedelta(days=sign * (step or 7))
        return found, found, "day"
    if m.group("n"):
        low, high = (sign * n for n in _number(m))
        unit = m.group("unit").lower()
        if unit == "day":
            ends = sorted((day + timedelta(days=low), day + timedelta(days=high)))
            return ends[0], ends[1], "day" if low == high else "span"
        if unit == "week":
            ends = sorted((day + timedelta(weeks=low), day + timedelta(weeks=high)))
            return ends[0] - timedelta(days=3), ends[1] + timedelta(days=3), "span"
        if unit == "month":
            a, b = sorted((add_months(day, low), add_months(day, high)))
            return a.replace(day=1), month_end(b.year, b.month), "month" if low == high else "span"
        since, until = sorted((day.year + low, day.year + high))
        return date(since, 1, 1), date(until, 12, 31), "year" if low == high else "span"
    span = m.group("span").lower()
    if span == "day":
        found = day + timedelta(days=sign)
        return found, found, "day"
    if span == "week":
        ends = sorted((day + timedelta(days=sign), day + timedelta(days=7 * sign)))
        return ends[0], ends[1], "span"
    if span == "weekend":
        step = (5 - day.weekday()) % 7 if after else (day.weekday() - 6) % 7
        sunday = day + timedelta(days=sign * (step or 7)) + timedelta(days=1 if after else 0)
        return sunday - timedelta(days=1), sunday, "span"
    if span == "month":
        month = add_months(day.replace(day=1), sign)
        return month, month_end(month.year, month.month), "month"
    return date(day.year + sign, 1, 1), date(day.year + sign, 12, 31), "year"


#: A day, week or weekend of the date that follows ("the week of August 9", "the first weekend
#: of June 2023", "the last day of 2022").
_WITHIN_RE = re.compile(
    r"(?:\b(?:on|in|during)\s+)?(?:\bthe\s+)?\b(?:(?P<nth>first|second|third|fourth|fifth|last)"
    r"\s+)?(?P<part>day|weekend|week)\s+of\s+(?:the\s+)?$",
    re.IGNORECASE,
)
_NTH = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}


def _counted_within(m: re.Match[str], first: date, last: date) -> _Resolved | None:
    """The day, week or weekend ``m`` (``_WITHIN_RE``) names of the range [first, last]: the
    one that holds its first day, or the nth (or last) within it, counting weeks as seven days
    from its start; ``None`` when there is no such part ("the fifth weekend of February")."""
    part, nth = m.group("part").lower(), (m.group("nth") or "").lower()
    if nth and (last - first).days < (6 if part == "week" else 1):
        return None  # "the first week of May 5": no weeks within a day
    if part == "day":
        day = last if nth == "last" else first + timedelta(days=_NTH.get(nth, 1) - 1)
        return (day, day, "day") if day <= last else None
    if part == "week":
        if not nth:
            monday = first - timedelta(days=first.weekday())
            return monday, monday + timedelta(days=6), "week"
        start = (
            last - timedelta(days=6) if nth == "last" else first + timedelta(weeks=_NTH[nth] - 1)
        )
        return (start, min(start + timedelta(days=6), last), "span") if start <= last else None
    if not nth:  # the weekend that holds the day, else the next one
        saturday = first - timedelta(days=1) if first.weekday() == 6 else first
        saturday += timedelta(days=(5 - saturday.weekday()) % 7)
    elif nth == "last":
        saturday = last - timedelta(days=(last.weekday() - 5) % 7)
    else:
        saturday = first + timedelta(days=(5 - first.weekday()) % 7, weeks=_NTH[nth] - 1)
    if nth and not first <= saturday <= last:
        return None
    return saturday, saturday + timedelta(days=1), "span"


def _counted(
    text: str, start: int, relation: Relation, first: date, last: date
) -> tuple[int, _Resolved] | None:
    """The date [first, last] said at ``start`` read with the words just before it that count
    from it ("the weekend before", ``_ANCHORED_RE``) or within it ("the first week of",
    ``_WITHIN_RE``): where those words begin, and the date the whole names. ``None`` without
    such words, or when what they name is not there or past the calendar's ends."""
    count: Callable[[date, date], _Resolved | None]
    if relation in ("before", "after"):
        words = _ANCHORED_RE.search(text, max(0, start - 60), start)
        if words is None:
            return None
        count = functools.partial(_counted_from, words, after=relation == "after")
    elif relation == "on":
        words = _WITHIN_RE.search(text, max(0, start - 40), start)
        if words is None:
            return None
        count = functools.partial(_counted_within, words)
    else:
        return None
    try:
        counted = count(first, last)
    except (ValueError, OverflowError):  # past the calendar's ends
        return None
    return None if counted is None else (words.start(), counted)


def resolve_dates(text: str, at: date) -> list[DateMention]:
    """Every date expression in ``text``, resolved against ``at`` (a date or datetime).

    Mentions come back in text order and never overlap; where two readings overlap, the longer
    wins. Expressions that cannot be resolved (an impossible date such as "February 30") are
    skipped.
    """
    today = at.date() if isinstance(at, datetime) else at
    ctx = _Context(text, today)
    found: list[tuple[int, int, _Resolved, bool]] = []
    triggered: dict[re.Pattern[str], bool] = {}  # many rules share a trigger
    for rule in (*_RULES, *_WORLD_RULES):
        if rule.trigger is not None:
            hit = triggered.get(rule.trigger)
            if hit is None:
                hit = triggered[rule.trigger] = rule.trigger.search(text) is not None
            if not hit:
                continue
        for m in rule.pattern.finditer(text):
            if rule.context is not None and not (
                m.groupdict().get("part") or _preceded_by_context(text, m.start(), rule.context)
            ):
                continue
            try:
                resolved = rule.handler(m, ctx)
            except (ValueError, OverflowError, KeyError):
                continue
            if resolved is not None and resolved[0] <= resolved[1]:
                found.append((m.start(), m.end(), resolved, rule.closed))

    chosen: list[tuple[int, int, _Resolved, bool]] = []
    for item in sorted(found, key=lambda f: (f[0] - f[1], f[0])):
        if all(item[1] <= c[0] or item[0] >= c[1] for c in chosen):
            chosen.append(item)
    chosen.sort()

    mentions: list[DateMention] = []
    opener: int | None = None  # index of a mention after "from" / "between", awaiting its end
    for start, end, (first, last, granularity), closed in chosen:
        word = _relation(text, start)
        relation: Relation = _RELATIONS.get(word or "", "on")
        if opener is not None and word in _CLOSERS:
            mentions[opener] = replace(mentions[opener], relation="since")
            relation = "until"
            opener = None
        counted = _counted(text, start, relation, first, last)
        # Words that end another mention ("two week of" in "the last two week of winter")
        # count nothing.
        if counted is not None and not any(
            m.offset < counted[0] < m.offset + len(m.text) for m in mentions
        ):
            # One mention for the words and the date they count from, in place of any the words
            # were read as ("last weekend" in "last weekend before April 10").
            start, (first, last, granularity) = counted
            while mentions and mentions[-1].offset >= start:
                mentions.pop()
            relation = "on"
        if word in _OPENERS and not closed:
            opener = len(mentions)
        mentions.append(
            DateMention(
                text=text[start:end],
                start=first,
                end=last,
                granularity=granularity,
                relation=relation,
                offset=start,
            )
        )
    return mentions
