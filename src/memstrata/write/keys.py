"""Fact-augmented keys for a message, computed at write time without a language model.

LongMemEval's finding: index a round by its text *plus* what can be derived from it. Here that
is the dates it mentions resolved against the message's own time ("yesterday" in a message of
8 May 2023 becomes "2023-05-07", "7 May 2023", "may 2023", ...), the proper names it contains,
and its top content words. The strings go into the record's ``keys`` and ``entities``, where
keyword search can match a question that names a date or a person the text only implies.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from memstrata.text import STOPWORDS, stem, tokenize
from memstrata.timeexpr import DateMention, add_months, resolve_dates, season_of, week_start
from memstrata.types import MONTH_NAMES, human_date

__all__ = [
    "DateMention",
    "Keys",
    "date_keys",
    "entities",
    "human_date",
    "keywords",
    "make_keys",
    "resolve_dates",
]

_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Keys:
    """What ``make_keys`` derives from one message."""

    dates: tuple[DateMention, ...] = ()
    date_keys: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def terms(self) -> tuple[str, ...]:
        """All key strings, dates first, without repeats: the record's ``keys``."""
        return tuple(dict.fromkeys((*self.date_keys, *self.entities, *self.keywords)))


# --- dates --------------------------------------------------------------------------------


def _day_keys(day: date) -> list[str]:
    return [day.isoformat(), human_date(day), _WEEKDAY_NAMES[day.weekday()]]


def _week_keys(monday: date) -> list[str]:
    return [f"week of {monday.isoformat()}", f"week of {human_date(monday)}"]


def _month_keys(year: int, month: int) -> list[str]:
    return [f"{MONTH_NAMES[month - 1].lower()} {year}", f"{year}-{month:02d}"]


def _mention_keys(mention: DateMention) -> list[str]:
    start, end, granularity = mention.start, mention.end, mention.granularity
    days = mention.days
    keys: list[str] = []
    # Finer keys only where the range is short enough to make them specific (and few).
    if granularity in ("day", "span") and days <= 3:
        for offset in range(days):
            keys += _day_keys(start + timedelta(days=offset))
    if granularity == "season":
        name, year = season_of(start)
        keys.append(f"{name} {year}")
        if name == "autumn":
            keys.append(f"fall {year}")
    if granularity in ("day", "week", "span") and days <= 14:
        monday = week_start(start)
        while monday <= end:
            keys += _week_keys(monday)
            if monday > date.max - timedelta(weeks=1):
                break
            monday += timedelta(weeks=1)
    if days <= 100:
        month = date(start.year, start.month, 1)
        while month <= end:
            keys += _month_keys(month.year, month.month)
            if month.year == date.max.year and month.month == 12:
                break
            month = add_months(month, 1)
    years = list(range(start.year, end.year + 1))
    if len(years) > 10:
        years = [years[0], years[-1]]
    keys += [str(year) for year in years]
    return keys


def date_keys(mentions: Iterable[DateMention]) -> list[str]:
    """Index strings for resolved dates, most specific first, without repeats.

    A day gives "2023-05-07", "7 May 2023", "sunday", "week of 2023-05-01", "may 2023",
    "2023-05" and "2023"; a week, month, season or year gives the coarser ones it spans.
    """
    keys: list[str] = []
    for mention in mentions:
        keys += _mention_keys(mention)
    return list(dict.fromkeys(keys))


# --- entities -----------------------------------------------------------------------------


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD_RE = re.compile(r"[^\W\d_][\w'’-]*")
_SENTENCE_BREAK_RE = re.compile(r"[.!?:;\n…]")
_HONORIFICS = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "mx"})
# Lower-case words that may sit inside a name: "Bank of America", "Lord of the Rings".
_NAME_CONNECTORS = frozenset(
    {"of", "the", "de", "van", "von", "der", "den", "da", "di", "du", "del", "la", "le"}
)
# Tails that make a contraction ("I'm", "They're"), never a name.
_CONTRACTION_TAILS = frozenset({"m", "re", "ve", "ll", "d", "t"})
_CALENDAR_WORDS = frozenset(
    [m.lower() for m in MONTH_NAMES]
    + list(_WEEKDAY_NAMES)
    + ["jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"]
    + ["mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri"]
    + ["today", "tomorrow", "yesterday", "tonight"]
)
# Capitalised at the start of a sentence for grammar's sake, rarely names.
_COMMON_INITIAL = _wordset(
    """
    hey hi hello oh ah aw aww wow woah whoa woohoo yay yes yeah yep yup yea no nope nah ok okay
    sure thanks thank well so also but and or plus then now just really actually anyway anyways
    btw lol haha hahaha ha hah omg oof oops ugh hmm um uh mm yum gotcha bye cheers damn gosh
    geez jeez hooray great good nice cool cute awesome amazing perfect congrats
    congratulations sorry please let lets maybe perhaps sounds glad love loved like liked hope
    hoping wish looks seems guess think know remember agree agreed keep go see
    last next this that these those there here what when where which who why how
    went got had took made found told called saw met bought tried started finished visited
    yesterday today tomorrow tonight recently lately sometimes always never even yet later
    together anything everything something nothing
    definitely totally absolutely honestly seriously luckily unfortunately fortunately
    speaking talking going getting having doing being trying working thinking looking
    alright right exactly indeed true man dude girl bro guys welcome happy anyhow however besides
    """
)
_NOT_ENTITIES = frozenset({"lol", "omg", "btw", "tbh", "imo", "idk", "ok", "okay", "haha", "ya"})


@dataclass(slots=True)
class _Word:
    text: str
    start: int
    end: int
    initial: bool  # first word of a sentence
    capital: bool
    possessive: bool


def _is_capitalised(word: str) -> bool:
    if word[0].isupper():
        return len(word) > 1 and not (word.isupper() and len(word) > 6)  # "K", "INTENSE"
    # "iPhone", "eBay": lower-case first letter, capital inside
    return word.isalpha() and any(c.isupper() for c in word[1:])


def _words(text: str) -> list[_Word]:
    words: list[_Word] = []
    previous_end = 0
    previous: str | None = None
    for m in _WORD_RE.finditer(text):
        raw = m.group().rstrip("-'’")
        possessive = raw[-2:].lower() in ("'s", "’s")
        if possessive:
            raw = raw[:-2]
        if not raw:
            continue
        tail = re.split(r"['’]", raw)[-1] if ("'" in raw or "’" in raw) else ""
        gap = text[previous_end : m.start()]
        after_honorific = previous is not None and previous.lower() in _HONORIFICS
        initial = previous is None or (
            _SENTENCE_BREAK_RE.search(gap) is not None and not after_honorific
        )
        capital = _is_capitalised(raw) and tail.lower() not in _CONTRACTION_TAILS
        words.append(_Word(raw, m.start(), m.start() + len(raw), initial, capital, possessive))
        previous_end, previous = m.end(), raw
    return words


def _adjacent(text: str, left: _Word, right: _Word) -> bool:
    return not left.possessive and not right.initial and text[left.end : right.start].isspace()


def _runs(text: str, words: Sequence[_Word]) -> list[list[_Word]]:
    """Sequences of capitalised words, joined across single spaces and name connectors."""
    runs: list[list[_Word]] = []
    i = 0
    while i < len(words):
        if not words[i].capital:
            i += 1
            continue
        run = [words[i]]
        i += 1
        while i < len(words):
            if words[i].capital and _adjacent(text, run[-1], words[i]):
                run.append(words[i])
                i += 1
                continue
            # up to two connectors ("of", "of the") between capitalised words
            j = i
            while j < len(words) and j - i < 2 and words[j].text in _NAME_CONNECTORS:
                j += 1
            chain = [run[-1], *words[i : j + 1]]
            if (
                j > i
                and j < len(words)
                and words[j].capital
                and all(_adjacent(text, a, b) for a, b in itertools.pairwise(chain))
            ):
                run += words[i : j + 1]
                i = j + 1
                continue
            break
        runs.append(run)
    return runs


def _droppable(word: _Word) -> bool:
    folded = word.text.casefold()
    return (
        folded in STOPWORDS
        or folded in _CALENDAR_WORDS
        or folded in _NOT_ENTITIES
        or word.text in _NAME_CONNECTORS
    )


def entities(text: str, known: Iterable[str] = ()) -> list[str]:
    """Proper names in ``text``, heuristically: capitalised words and runs of them.

    Multi-word names stay whole ("New York", "Bank of America"); possessives are stripped
    ("Caroline's" -> "Caroline"). A capitalised word that only opens a sentence counts only if
    it is capitalised elsewhere too, or is one of ``known`` (speaker names, say, matched in any
    case). Stop words, month and weekday names, contractions and chat interjections are never
    names. Returned in order of first appearance, without case-insensitive repeats.
    """
    known_names = {name.casefold(): name for name in known if name.strip()}
    words = _words(text)
    shouting = sum(1 for w in words if len(w.text) > 1 and w.text.isupper())
    if shouting >= 3 and shouting * 2 > len(words):
        words = [w for w in words if not (len(w.text) > 1 and w.text.isupper())]
    inside = {w.text.casefold() for w in words if w.capital and not w.initial}
    capitalised: dict[str, int] = {}
    for w in words:
        if w.capital:
            capitalised[w.text.casefold()] = capitalised.get(w.text.casefold(), 0) + 1

    def repeated(phrase: str) -> bool:
        folded = phrase.casefold()
        return folded in known_names or capitalised.get(folded, 0) > 1

    def trim(run: list[_Word]) -> list[_Word]:
        while run and _droppable(run[0]):
            run = run[1:]
        while run and _droppable(run[-1]):
            run = run[:-1]
        return run

    found: list[tuple[int, str]] = []
    for run in _runs(text, words):
        run = trim(run)
        if run and run[0].initial:
            first = run[0].text.casefold()
            rest = " ".join(w.text for w in run[1:])
            trusted = repeated(first) or first in inside
            if not trusted and (
                len(run) == 1
                or first in _COMMON_INITIAL
                or first.endswith(("ed", "ing"))
                or repeated(rest)
            ):
                run = trim(run[1:])  # "Went to Paris": no "Went"; "Woah Joanna": "Joanna"
        while run and (
            run[0].text.casefold() in _HONORIFICS
            or (
                run[0].text.casefold() in _COMMON_INITIAL
                and run[0].text.casefold() not in known_names
            )
        ):
            run = trim(run[1:])  # "Thanks Caroline", "Dr Smith"; "Perfect" is a word, not a name
        if run:
            found.append((run[0].start, " ".join(w.text for w in run)))

    for folded, name in known_names.items():
        m = re.search(rf"(?<!\w){re.escape(folded)}(?!\w)", text, re.IGNORECASE)
        if m:
            found.append((m.start(), name))

    result: dict[str, str] = {}
    for _, name in sorted(found):
        result.setdefault(name.casefold(), name)
    return list(result.values())


# --- keywords -----------------------------------------------------------------------------

# Chat filler and time words: frequent in conversation, useless as keys (dates have their own).
_FILLER = _wordset(
    """
    yeah yes yep nope really thanks thank lol haha oh wow okay ok hey hi hello great good nice
    cool awesome amazing totally definitely also like get got gets getting know think going
    gonna much lot lots well sure thing things one would could something anything everything
    stuff kind sort way even still actually maybe glad love feel feeling make made want really
    day days week weeks weekend month months year years today yesterday tomorrow tonight ago
    last next time times recently lately soon
    went go goes come came said say says tell told see saw seen take took put give gave look
    looks looking need try tried use used keep kept mean means sound sounds seem seems felt
    hear heard hope wish
    """
)


def keywords(text: str, k: int = 8) -> list[str]:
    """The ``k`` most frequent content words of ``text`` (counted by stem), first seen first.

    Stop words, chat filler, time words, numbers and words under three letters are left out.
    """
    counts: dict[str, int] = {}
    surface: dict[str, str] = {}
    order: dict[str, int] = {}
    for position, token in enumerate(tokenize(text)):
        if (
            len(token) < 3
            or not token.isalpha()
            or token in STOPWORDS
            or token in _FILLER
            or token in _CALENDAR_WORDS
        ):
            continue
        key = stem(token)
        counts[key] = counts.get(key, 0) + 1
        surface.setdefault(key, token)
        order.setdefault(key, position)
    ranked = sorted(counts, key=lambda key: (-counts[key], order[key]))
    return [surface[key] for key in ranked[: max(k, 0)]]


def make_keys(text: str, at: date, *, known: Iterable[str] = (), k: int = 8) -> Keys:
    """Dates resolved against ``at``, their index strings, entities and keywords of ``text``."""
    mentions = resolve_dates(text, at)
    return Keys(
        dates=tuple(mentions),
        date_keys=tuple(date_keys(mentions)),
        entities=tuple(entities(text, known)),
        keywords=tuple(keywords(text, k)),
    )
