"""Query-side time: windows from temporal expressions, "when" and order questions, time scores."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memstrata.read.temporal import QueryTime, TimeWindow, parse_query_time, time_score
from memstrata.timeexpr import resolve_dates

NOW = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)  # a Monday
D = date


def window_days(query: str, now: datetime = NOW) -> tuple[date | None, date | None] | None:
    """The window as inclusive (first day, last day), for readable expectations."""
    window = parse_query_time(query, now).window
    if window is None:
        return None
    first = window.start.date() if window.start else None
    last = (window.end - timedelta(days=1)).date() if window.end else None
    return first, last


@pytest.mark.parametrize(
    ("query", "first", "last"),
    [
        ("What did Caroline do last month?", D(2023, 4, 1), D(2023, 4, 30)),
        ("What happened in May 2023?", D(2023, 5, 1), D(2023, 5, 31)),
        ("What did Mel do two weeks ago?", D(2023, 4, 24), D(2023, 4, 30)),
        ("What did I do yesterday?", D(2023, 5, 7), D(2023, 5, 7)),
        ("What did I buy last week?", D(2023, 5, 1), D(2023, 5, 7)),
        ("What did Jon do last Friday?", D(2023, 5, 5), D(2023, 5, 5)),
        ("Where did we go last summer?", D(2022, 6, 1), D(2022, 8, 31)),
        ("What happened in 2022?", D(2022, 1, 1), D(2022, 12, 31)),
        ("What did I buy before 2022?", None, D(2021, 12, 31)),
        ("What changed after May 2021?", D(2021, 6, 1), None),
        ("Where have I been since June?", D(2022, 6, 1), None),
        ("What have I read since January?", D(2023, 1, 1), None),
        ("What did we do from 2019 to 2021?", D(2019, 1, 1), D(2021, 12, 31)),
        ("What happened between 2018 and 2020?", D(2018, 1, 1), D(2020, 12, 31)),
        ("What did we do in May and June 2022?", D(2022, 5, 1), D(2022, 6, 30)),
        ("What happened on 7 May 2023?", D(2023, 5, 7), D(2023, 5, 7)),
        ("Anything in the past 3 days?", D(2023, 5, 5), D(2023, 5, 8)),
        ("What happened in 2022 before June?", D(2022, 1, 1), D(2022, 5, 31)),
        ("What did I do until last week?", None, D(2023, 5, 7)),
        ("Where did Elise celebrate the New Year?", D(2023, 1, 1), D(2023, 1, 1)),
        ("What did we buy before Christmas 2022?", None, D(2022, 12, 24)),
        # A day, week, weekend, weekday, month or year just before or after a date is counted
        # from that date, not from now.
        ("What did Maria do last weekend before April 10, 2023?", D(2023, 4, 8), D(2023, 4, 9)),
        ("What did John do the week before August 3, 2023?", D(2023, 7, 27), D(2023, 8, 2)),
        ("What did Paola bake on Friday before 10.01.2024?", D(2024, 1, 5), D(2024, 1, 5)),
        ("What did she do the day after May 5, 2022?", D(2022, 5, 6), D(2022, 5, 6)),
        ("Where did he go two days before June 3, 2022?", D(2022, 6, 1), D(2022, 6, 1)),
        ("What happened the weekend after 12 March 2022?", D(2022, 3, 19), D(2022, 3, 20)),
        ("What did I do the Friday before the 10th of January?", D(2023, 1, 6), D(2023, 1, 6)),
        ("What did we plan the month before June 2022?", D(2022, 5, 1), D(2022, 5, 31)),
        ("Where did they live the year after 2019?", D(2020, 1, 1), D(2020, 12, 31)),
        ("What did he buy a week after May 1, 2022?", D(2022, 5, 5), D(2022, 5, 11)),
        ("What happened two months before August 2022?", D(2022, 6, 1), D(2022, 6, 30)),
        # A bound alone stays a bound.
        ("What did I buy the day I moved, before June 2022?", None, D(2022, 5, 31)),
        ("What happened before May 5, 2022?", None, D(2022, 5, 4)),
        # A day, week or weekend of a date is the one that holds it; the first, second, ... or
        # last of a month or year is counted within it.
        ("Which place did Elise visit in the first week of 2024?", D(2024, 1, 1), D(2024, 1, 7)),
        ("What did she do the week of August 9, 2023?", D(2023, 8, 7), D(2023, 8, 13)),
        ("What happened the weekend of 12 March 2022?", D(2022, 3, 12), D(2022, 3, 13)),
        ("What did he do in the last week of May 2023?", D(2023, 5, 25), D(2023, 5, 31)),
        ("Where was she the first weekend of June 2022?", D(2022, 6, 4), D(2022, 6, 5)),
        ("What did they do in the second week of January 2023?", D(2023, 1, 8), D(2023, 1, 14)),
        ("What did we do on the last weekend of April 2023?", D(2023, 4, 29), D(2023, 4, 30)),
        ("What did I do on the last day of 2022?", D(2022, 12, 31), D(2022, 12, 31)),
        ("Where were we the third day of March 2023?", D(2023, 3, 3), D(2023, 3, 3)),
        # No such weekend: the date stays as it was said.
        ("What happened the fifth weekend of February 2023?", D(2023, 2, 1), D(2023, 2, 28)),
    ],
)
def test_windows(query: str, first: date | None, last: date | None) -> None:
    assert window_days(query) == (first, last)


def test_a_time_counted_from_a_date_is_one_mention_of_both() -> None:
    """As a message says it too: the words before the bound join its mention."""
    [said] = resolve_dates("We met last weekend before April 10, 2023, at the lake.", NOW)
    assert (said.text, said.offset) == ("last weekend before April 10, 2023", 7)
    assert (said.start, said.end, said.relation) == (D(2023, 4, 8), D(2023, 4, 9), "on")


def test_words_that_end_another_mention_count_nothing() -> None:
    """In "the last two week of winter", "two week of" is no week that holds winter's first
    day: those words end another mention."""
    said = resolve_dates("We skied the last two week of winter.", NOW)
    assert [m.text for m in said] == ["the last two week", "winter"]
    said = resolve_dates("We hiked the first weekend of June 2022, and the week of June 15.", NOW)
    assert [(m.text, m.start, m.end) for m in said] == [
        ("the first weekend of June 2022", D(2022, 6, 4), D(2022, 6, 5)),
        ("the week of June 15", D(2022, 6, 13), D(2022, 6, 19)),
    ]


@pytest.mark.parametrize(
    "query",
    [
        "What is Caroline's favourite colour?",
        "When did Caroline go to the parade?",
        "What happened before 2019 and after 2021?",  # contradictory bounds: no window
        "What may happen?",
        "",
    ],
)
def test_no_window(query: str) -> None:
    assert parse_query_time(query, NOW).window is None


def test_window_is_in_the_time_zone_of_now() -> None:
    tz = timezone(timedelta(hours=-7))
    now = datetime(2023, 5, 8, 1, 0, tzinfo=tz)
    window = parse_query_time("yesterday", now).window
    assert window == TimeWindow(datetime(2023, 5, 7, tzinfo=tz), datetime(2023, 5, 8, tzinfo=tz))
    naive = parse_query_time("yesterday", datetime(2023, 5, 8, 9)).window
    assert naive is not None and naive.start == datetime(2023, 5, 7)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("When did Caroline go to the LGBTQ support group?", True),
        ("when was the last time we talked", True),
        ("Do you remember when did we meet?", True),
        ("What date is the wedding?", True),
        ("What year did they move to Sweden?", True),
        ("In what year did Mel start painting?", True),
        ("Which month was the concert?", True),
        ("How long ago did Mel start painting?", True),
        ("How long has Caroline had her dog?", True),
        ("How many years has she lived there?", True),
        ("Since when does he play guitar?", True),
        ("What time of day does she run?", True),
        ("What did Caroline paint?", False),
        ("How long is the drive?", False),
        ("Where does John live now?", False),
    ],
)
def test_asks_when(query: str, expected: bool) -> None:
    assert parse_query_time(query, NOW).asks_when is expected


@pytest.mark.parametrize(
    ("query", "asks_order", "prefers"),
    [
        ("Which came first, the trip or the concert?", True, "earliest"),
        ("What was the first book Mel read?", True, "earliest"),
        ("What is the latest hobby Caroline picked up?", True, "latest"),
        ("What was the most recent trip?", True, "latest"),
        ("Did Caroline go to the parade before the support group?", True, None),
        ("What did she do after the race?", True, None),
        ("What did they do next?", True, None),
        ("What did I buy before 2022?", False, None),
        ("What did she read prior to the 1990s?", False, None),
        ("Did she move before the wedding in 2020?", True, None),
        ("What did Caroline do last month?", False, None),
        ("What did Jon do last Friday?", False, None),
        ("Where does John live now?", False, "latest"),
        ("Does she still play the violin?", False, "latest"),
        ("What did Caroline paint?", False, None),
        ("What was the last thing we talked about, and the first?", True, "latest"),
    ],
)
def test_order_questions(query: str, asks_order: bool, prefers: str | None) -> None:
    parsed = parse_query_time(query, NOW)
    assert parsed.asks_order is asks_order
    assert parsed.prefers == prefers


def test_mentions_are_kept() -> None:
    parsed = parse_query_time("What did we do last week and yesterday?", NOW)
    assert isinstance(parsed, QueryTime)
    assert [m.text for m in parsed.mentions] == ["last week", "yesterday"]
    assert window_days("What did we do last week and yesterday?") == (D(2023, 5, 1), D(2023, 5, 7))


# --- time_score ---------------------------------------------------------------------------

YESTERDAY = TimeWindow(datetime(2023, 5, 7, tzinfo=UTC), datetime(2023, 5, 8, tzinfo=UTC))
YEAR_2022 = TimeWindow(datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC))


def test_time_score_inside_is_one() -> None:
    assert time_score(datetime(2023, 5, 7, 12, tzinfo=UTC), YESTERDAY) == 1.0
    assert time_score(datetime(2023, 5, 7, tzinfo=UTC), YESTERDAY) == 1.0  # start is inclusive
    assert time_score(datetime(2022, 7, 1, tzinfo=UTC), YEAR_2022) == 1.0


def test_time_score_decays_outside() -> None:
    at_end = time_score(datetime(2023, 5, 8, tzinfo=UTC), YESTERDAY)  # end is exclusive
    assert at_end == pytest.approx(1.0)
    scores = [time_score(datetime(2023, 5, 8, tzinfo=UTC) + timedelta(days=d), YESTERDAY)
              for d in (0.5, 1, 3, 10, 100)]  # fmt: skip
    assert all(a > b for a, b in itertools.pairwise(scores))
    assert scores[0] < 1.0
    assert scores[-1] < 1e-6
    before = time_score(datetime(2023, 5, 6, tzinfo=UTC), YESTERDAY)
    after = time_score(datetime(2023, 5, 9, tzinfo=UTC), YESTERDAY)
    assert before == pytest.approx(after)


def test_time_score_scale_follows_the_window() -> None:
    day_late = time_score(datetime(2023, 1, 11, tzinfo=UTC), YEAR_2022)
    assert day_late > 0.97  # ten days past a year-long window barely matters
    short = TimeWindow(datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 1, 2, tzinfo=UTC))
    assert time_score(datetime(2023, 1, 11, tzinfo=UTC), short) < 0.1
    custom = time_score(datetime(2023, 1, 11, tzinfo=UTC), short, scale_days=90)
    assert custom > 0.9


def test_time_score_neutral_and_open_windows() -> None:
    assert time_score(None, YESTERDAY) == 0.5
    assert time_score(NOW, None) == 0.5
    assert time_score(NOW, TimeWindow()) == 1.0
    since = TimeWindow(start=datetime(2022, 6, 1, tzinfo=UTC))
    assert time_score(NOW, since) == 1.0
    assert 0 < time_score(datetime(2022, 5, 1, tzinfo=UTC), since) < 1
    until = TimeWindow(end=datetime(2022, 1, 1, tzinfo=UTC))
    assert time_score(datetime(2021, 6, 1, tzinfo=UTC), until) == 1.0
    assert time_score(datetime(2022, 1, 31, tzinfo=UTC), until) == pytest.approx(2.718281828**-1)


def test_time_score_mixes_naive_and_aware_times() -> None:
    assert time_score(datetime(2023, 5, 7, 12), YESTERDAY) == 1.0  # naive is taken as UTC
    naive_window = TimeWindow(datetime(2023, 5, 7), datetime(2023, 5, 8))
    assert time_score(datetime(2023, 5, 7, 12, tzinfo=UTC), naive_window) == 1.0
    plus_two = timezone(timedelta(hours=2))
    assert time_score(datetime(2023, 5, 8, 1, tzinfo=plus_two), YESTERDAY) == 1.0  # 23:00 UTC


def test_window_helpers() -> None:
    assert YESTERDAY.days == 1.0
    assert TimeWindow(start=NOW).days is None
    assert YESTERDAY.contains(datetime(2023, 5, 7, 23, 59, tzinfo=UTC))
    assert not YESTERDAY.contains(datetime(2023, 5, 8, tzinfo=UTC))


# --- properties ---------------------------------------------------------------------------

VOCAB_TEXT = (
    "what when did do how long ago first last latest before after since until from to between "
    "and in on the a few week month year yesterday today May June 2019 2022 1990s summer Friday "
    "next this past 3 two days weeks ? , most recent which year date"
)
VOCAB = VOCAB_TEXT.split()
QUERIES = st.one_of(
    st.text(max_size=200), st.lists(st.sampled_from(VOCAB), max_size=20).map(" ".join)
)
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59), timezones=st.just(UTC)
)
REALISTIC = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1))


@given(QUERIES, MOMENTS)
def test_parse_query_time_never_raises(query: str, now: datetime) -> None:
    parsed = parse_query_time(query, now)
    window = parsed.window
    if window is not None:
        assert window.start is not None or window.end is not None
        if window.start is not None and window.end is not None:
            assert window.start < window.end
    for m in parsed.mentions:
        assert m.start <= m.end


@given(REALISTIC, REALISTIC, REALISTIC, st.booleans())
def test_time_score_is_a_probability(
    event: datetime, a: datetime, b: datetime, open_: bool
) -> None:
    start, end = min(a, b), max(a, b)
    window = TimeWindow(start=None if open_ else start, end=end)
    score = time_score(event, window)
    assert 0.0 <= score <= 1.0
    assert (score == 1.0) == window.contains(event) or score == pytest.approx(1.0)
