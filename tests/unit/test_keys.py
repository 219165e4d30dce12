"""Write-time keys: date expressions resolved against the message time, entities, keywords."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from memstrata.timeexpr import Granularity, add_months, month_end, season_of, week_start
from memstrata.write.keys import (
    DateMention,
    Keys,
    date_keys,
    entities,
    human_date,
    keywords,
    make_keys,
    resolve_dates,
)

AT = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)  # a Monday
D = date


def only(text: str, at: date = AT) -> DateMention:
    mentions = resolve_dates(text, at)
    assert len(mentions) == 1, mentions
    return mentions[0]


def span(text: str, at: date = AT) -> tuple[date, date, str]:
    m = only(text, at)
    return m.start, m.end, m.granularity


# --- resolve_dates: hand-checked against Monday 8 May 2023 --------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "granularity"),
    [
        # days
        ("I went there yesterday.", D(2023, 5, 7), D(2023, 5, 7), "day"),
        ("Today was great", D(2023, 5, 8), D(2023, 5, 8), "day"),
        ("see you tonight", D(2023, 5, 8), D(2023, 5, 8), "day"),
        ("this morning I ran", D(2023, 5, 8), D(2023, 5, 8), "day"),
        ("we leave tomorrow morning", D(2023, 5, 9), D(2023, 5, 9), "day"),
        ("last night was fun", D(2023, 5, 7), D(2023, 5, 7), "day"),
        ("the day before yesterday", D(2023, 5, 6), D(2023, 5, 6), "day"),
        ("the day after tomorrow", D(2023, 5, 10), D(2023, 5, 10), "day"),
        # calendar units
        ("last week", D(2023, 5, 1), D(2023, 5, 7), "week"),
        ("this week", D(2023, 5, 8), D(2023, 5, 14), "week"),
        ("next week", D(2023, 5, 15), D(2023, 5, 21), "week"),
        ("the previous week", D(2023, 5, 1), D(2023, 5, 7), "week"),
        ("last month", D(2023, 4, 1), D(2023, 4, 30), "month"),
        ("this month", D(2023, 5, 1), D(2023, 5, 31), "month"),
        ("next month", D(2023, 6, 1), D(2023, 6, 30), "month"),
        ("last year", D(2022, 1, 1), D(2022, 12, 31), "year"),
        ("this year", D(2023, 1, 1), D(2023, 12, 31), "year"),
        ("next year", D(2024, 1, 1), D(2024, 12, 31), "year"),
        ("last weekend", D(2023, 5, 6), D(2023, 5, 7), "span"),
        ("this past weekend", D(2023, 5, 6), D(2023, 5, 7), "span"),
        ("this weekend", D(2023, 5, 13), D(2023, 5, 14), "span"),
        ("next weekend", D(2023, 5, 20), D(2023, 5, 21), "span"),
        ("earlier this month", D(2023, 5, 1), D(2023, 5, 8), "month"),
        ("later this week", D(2023, 5, 8), D(2023, 5, 14), "week"),
        ("the end of last month", D(2023, 4, 21), D(2023, 4, 30), "month"),
        # rolling
        ("the past week", D(2023, 5, 1), D(2023, 5, 8), "span"),
        ("in the past 3 days", D(2023, 5, 5), D(2023, 5, 8), "span"),
        ("over the last two years", D(2021, 5, 8), D(2023, 5, 8), "span"),
        ("the last few years", D(2018, 5, 8), D(2023, 5, 8), "span"),
        # ago / from now
        ("3 days ago", D(2023, 5, 5), D(2023, 5, 5), "day"),
        ("a day ago", D(2023, 5, 7), D(2023, 5, 7), "day"),
        ("two weeks ago", D(2023, 4, 24), D(2023, 4, 30), "week"),
        ("a week ago", D(2023, 5, 1), D(2023, 5, 7), "week"),
        ("2 months ago", D(2023, 3, 1), D(2023, 3, 31), "month"),
        ("a year ago", D(2022, 1, 1), D(2022, 12, 31), "year"),
        ("twenty-one days ago", D(2023, 4, 17), D(2023, 4, 17), "day"),
        ("a few days ago", D(2023, 5, 3), D(2023, 5, 6), "span"),
        ("a couple of days ago", D(2023, 5, 5), D(2023, 5, 6), "span"),
        ("a couple of weeks ago", D(2023, 4, 17), D(2023, 4, 30), "span"),
        ("several months ago", D(2022, 12, 1), D(2023, 2, 28), "span"),
        ("I'll be back in 3 days", D(2023, 5, 11), D(2023, 5, 11), "day"),
        ("in two weeks", D(2023, 5, 22), D(2023, 5, 28), "week"),
        ("in a month", D(2023, 6, 1), D(2023, 6, 30), "month"),
        ("5 days from now", D(2023, 5, 13), D(2023, 5, 13), "day"),
        ("I haven't seen him in 5 years.", D(2018, 5, 8), D(2023, 5, 8), "span"),
        # weekdays
        ("last Monday", D(2023, 5, 1), D(2023, 5, 1), "day"),
        ("last Sunday", D(2023, 5, 7), D(2023, 5, 7), "day"),
        ("this past Friday", D(2023, 5, 5), D(2023, 5, 5), "day"),
        ("this Monday", D(2023, 5, 8), D(2023, 5, 8), "day"),
        ("this Friday", D(2023, 5, 12), D(2023, 5, 12), "day"),
        ("next Saturday", D(2023, 5, 13), D(2023, 5, 13), "day"),
        ("next Monday", D(2023, 5, 15), D(2023, 5, 15), "day"),
        ("I went to the park on Friday.", D(2023, 5, 5), D(2023, 5, 5), "day"),
        ("I will go to the park on Friday.", D(2023, 5, 12), D(2023, 5, 12), "day"),
        ("I'm gonna visit her Sunday night", D(2023, 5, 14), D(2023, 5, 14), "day"),
        ("We met on Sunday", D(2023, 5, 7), D(2023, 5, 7), "day"),
        ("I have a concert on Wednesday", D(2023, 5, 10), D(2023, 5, 10), "day"),
        ("I was so excited on Saturday", D(2023, 5, 6), D(2023, 5, 6), "day"),
        # full dates
        ("It happened on 7 May 2023", D(2023, 5, 7), D(2023, 5, 7), "day"),
        ("on May 7th, 2023", D(2023, 5, 7), D(2023, 5, 7), "day"),
        ("8 May, 2023", D(2023, 5, 8), D(2023, 5, 8), "day"),
        ("the 7th of May", D(2023, 5, 7), D(2023, 5, 7), "day"),
        ("Monday, May 8, 2023", D(2023, 5, 8), D(2023, 5, 8), "day"),
        ("on Jan. 3rd 2020", D(2020, 1, 3), D(2020, 1, 3), "day"),
        ("Sept 12, 2021", D(2021, 9, 12), D(2021, 9, 12), "day"),
        ("on 2023-05-01", D(2023, 5, 1), D(2023, 5, 1), "day"),
        ("2023/04/30", D(2023, 4, 30), D(2023, 4, 30), "day"),
        ("5/7/2023", D(2023, 5, 7), D(2023, 5, 7), "day"),
        ("25/12/2022", D(2022, 12, 25), D(2022, 12, 25), "day"),
        ("2023-04", D(2023, 4, 1), D(2023, 4, 30), "month"),
        # month and day, no year: placed by tense
        ("I went to the parade on May 7.", D(2023, 5, 7), D(2023, 5, 7), "day"),
        ("I'm going on May 20.", D(2023, 5, 20), D(2023, 5, 20), "day"),
        ("I went there on December 25", D(2022, 12, 25), D(2022, 12, 25), "day"),
        ("We will fly on March 3", D(2024, 3, 3), D(2024, 3, 3), "day"),
        # months
        ("I moved in May.", D(2023, 5, 1), D(2023, 5, 31), "month"),
        ("I will move in June.", D(2023, 6, 1), D(2023, 6, 30), "month"),
        ("We visited in August", D(2022, 8, 1), D(2022, 8, 31), "month"),
        ("I moved last May.", D(2022, 5, 1), D(2022, 5, 31), "month"),
        ("last April", D(2023, 4, 1), D(2023, 4, 30), "month"),
        ("next March", D(2024, 3, 1), D(2024, 3, 31), "month"),
        ("next June", D(2023, 6, 1), D(2023, 6, 30), "month"),
        ("this June", D(2023, 6, 1), D(2023, 6, 30), "month"),
        ("in May 2022", D(2022, 5, 1), D(2022, 5, 31), "month"),
        ("in January of 2020", D(2020, 1, 1), D(2020, 1, 31), "month"),
        ("early May", D(2023, 5, 1), D(2023, 5, 10), "month"),
        ("mid-June 2021", D(2021, 6, 11), D(2021, 6, 20), "month"),
        ("by the end of February", D(2023, 2, 19), D(2023, 2, 28), "month"),
        ("in May and June 2022", D(2022, 5, 1), D(2022, 6, 30), "span"),
        ("from March to May", D(2023, 3, 1), D(2023, 5, 31), "span"),
        ("between December and February 2023", D(2022, 12, 1), D(2023, 2, 28), "span"),
        # years
        ("I lived there in 2022", D(2022, 1, 1), D(2022, 12, 31), "year"),
        ("back in 2019", D(2019, 1, 1), D(2019, 12, 31), "year"),
        ("late 2022", D(2022, 9, 1), D(2022, 12, 31), "year"),
        ("early 2020", D(2020, 1, 1), D(2020, 4, 30), "year"),
        ("Back in the 1990s", D(1990, 1, 1), D(1999, 12, 31), "span"),
        ("a book from the 1900s", D(1900, 1, 1), D(1999, 12, 31), "span"),
        ("music of the 2000s", D(2000, 1, 1), D(2009, 12, 31), "span"),
        # seasons
        ("last summer", D(2022, 6, 1), D(2022, 8, 31), "season"),
        ("this spring", D(2023, 3, 1), D(2023, 5, 31), "season"),
        ("next winter", D(2023, 12, 1), D(2024, 2, 29), "season"),
        ("last winter", D(2022, 12, 1), D(2023, 2, 28), "season"),
        ("next fall", D(2023, 9, 1), D(2023, 11, 30), "season"),
        ("in the fall", D(2022, 9, 1), D(2022, 11, 30), "season"),
        ("I'll travel over the summer", D(2023, 6, 1), D(2023, 8, 31), "season"),
        ("summer 2021", D(2021, 6, 1), D(2021, 8, 31), "season"),
        ("the winter of 2021", D(2021, 12, 1), D(2022, 2, 28), "season"),
        ("late summer 2020", D(2020, 8, 1), D(2020, 8, 31), "season"),
        ("in late summer", D(2023, 8, 1), D(2023, 8, 31), "season"),  # nearer than 2022
        # vague
        ("the other day", D(2023, 5, 1), D(2023, 5, 7), "span"),
        ("I went on the weekend", D(2023, 5, 6), D(2023, 5, 7), "span"),
        ("I'll go over the weekend", D(2023, 5, 13), D(2023, 5, 14), "span"),
    ],
)
def test_resolve_dates(text: str, start: date, end: date, granularity: str) -> None:
    assert span(text) == (start, end, granularity)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        # the nearest by tense (the reference is Monday 8 May 2023)
        ("we spent Christmas with her parents", D(2022, 12, 25)),
        ("we will spend Christmas in Oslo", D(2023, 12, 25)),
        ("on Christmas Eve", D(2022, 12, 24)),
        ("Merry Xmas!", D(2022, 12, 25)),
        ("the kids loved Halloween", D(2022, 10, 31)),
        ("what did you do for Valentine's Day?", D(2023, 2, 14)),
        ("a parade on St. Patrick's Day", D(2023, 3, 17)),
        ("on Boxing Day", D(2022, 12, 26)),
        ("around Independence Day", D(2023, 7, 4)),  # nearer than 2022's (no tense)
        ("on the Fourth of July", D(2023, 7, 4)),
        ("happy new year!!", D(2023, 1, 1)),
        ("the new year's party", D(2023, 1, 1)),
        # the year given, or named by last / next / this
        ("at Christmas 2021", D(2021, 12, 25)),
        ("where will we celebrate New Year 2025?", D(2025, 1, 1)),
        ("last Christmas", D(2022, 12, 25)),
        ("next Halloween", D(2023, 10, 31)),
        ("this Thanksgiving", D(2023, 11, 23)),
        # the New Year and its eve, written as people write them
        ("where did she celebrate the New Year?", D(2023, 1, 1)),
        ("on New Year's Day", D(2023, 1, 1)),
        ("plans for New years eve", D(2022, 12, 31)),
        ("what will you do on New Year's Eve?", D(2023, 12, 31)),
        # days that move: Thanksgiving (the fourth Thursday of November), Easter (Gregorian)
        ("Thanksgiving 2022", D(2022, 11, 24)),
        ("Thanksgiving 2024", D(2024, 11, 28)),
        ("Easter 2024", D(2024, 3, 31)),
        ("Easter 2019", D(2019, 4, 21)),
        ("on Good Friday", D(2023, 4, 7)),
        ("Easter Monday 2025", D(2025, 4, 21)),
    ],
)
def test_holidays_are_the_days_they_name(text: str, day: date) -> None:
    assert span(text) == (day, day, "day")


def test_holidays_resolve_against_a_messages_own_time() -> None:
    said = datetime(2023, 12, 27, 9, 0, tzinfo=UTC)
    assert span("we had a lovely Christmas", said)[0] == D(2023, 12, 25)
    assert span("see you on New Year's Eve", said)[0] == D(2023, 12, 31)
    assert span("Merry Christmas!", datetime(2023, 12, 25, tzinfo=UTC))[0] == D(2023, 12, 25)
    assert only("before Christmas").relation == "before"


@pytest.mark.parametrize(
    "text",
    [
        "I may go to the party.",
        "May I come in?",
        "I talked to June about it.",
        "I talked to June and May.",
        "I love summer.",
        "we fall asleep early",
        "I paid 2000 dollars for 2019 tickets",
        "recently I started painting",
        "a while ago",
        "it was on February 30",
        "version 2.1.3 is out",
        "I have 3 dogs",
        "I swim every Friday and on Mondays",
        "a new year of school starts",
        "my new year's resolution is to read more",
        "",
    ],
)
def test_resolve_dates_finds_nothing(text: str) -> None:
    assert resolve_dates(text, AT) == []


def test_mentions_come_in_text_order_with_surface_and_offset() -> None:
    text = "Yesterday I saw Jon, and last week I met Mel. Next Friday we go."
    mentions = resolve_dates(text, AT)
    assert [m.text for m in mentions] == ["Yesterday", "last week", "Next Friday"]
    for m in mentions:
        assert text[m.offset : m.offset + len(m.text)] == m.text
    assert mentions[2].start == D(2023, 5, 12)


def test_longest_reading_wins() -> None:
    assert [m.text for m in resolve_dates("on Monday, May 8, 2023", AT)] == ["Monday, May 8, 2023"]
    assert [m.text for m in resolve_dates("in May 2022", AT)] == ["May 2022"]
    assert [m.text for m in resolve_dates("on 2023-05-01", AT)] == ["2023-05-01"]


def test_relations() -> None:
    def relations(text: str) -> list[tuple[str, str]]:
        return [(m.text, m.relation) for m in resolve_dates(text, AT)]

    assert relations("I've lived here since 2019") == [("2019", "since")]
    assert relations("before 2020") == [("2020", "before")]
    assert relations("after May 2021") == [("May 2021", "after")]
    assert relations("until next week") == [("next week", "until")]
    assert relations("from 2019 to 2021") == [("2019", "since"), ("2021", "until")]
    assert relations("between 2018 and 2020") == [("2018", "since"), ("2020", "until")]
    assert relations("in 2019 and 2020") == [("2019", "on"), ("2020", "on")]
    assert relations("from March to May") == [("March to May", "on")]
    assert relations("a photo from 2019") == [("2019", "on")]
    assert relations("from 2019 and on to 2021") == [("2019", "since"), ("2021", "until")]
    assert relations("I look forward to Friday") == [("Friday", "on")]


def test_accepts_a_date_or_a_naive_datetime() -> None:
    assert span("yesterday", D(2023, 5, 8)) == (D(2023, 5, 7), D(2023, 5, 7), "day")
    assert span("yesterday", datetime(2023, 5, 8, 23, 59)) == (D(2023, 5, 7), D(2023, 5, 7), "day")


# --- edge cases: week boundaries, month ends, leap years, year boundaries -------------------


def test_last_week_on_sunday_and_monday() -> None:
    sunday = D(2023, 5, 14)
    assert span("last week", sunday)[:2] == (D(2023, 5, 1), D(2023, 5, 7))
    assert span("this week", sunday)[:2] == (D(2023, 5, 8), D(2023, 5, 14))
    assert span("last Sunday", sunday)[:2] == (D(2023, 5, 7), D(2023, 5, 7))
    assert span("last weekend", sunday)[:2] == (D(2023, 5, 6), D(2023, 5, 7))
    assert span("on the weekend", sunday)[:2] == (D(2023, 5, 13), D(2023, 5, 14))
    monday = D(2023, 5, 15)
    assert span("last week", monday)[:2] == (D(2023, 5, 8), D(2023, 5, 14))
    assert span("last Monday", monday)[:2] == (D(2023, 5, 8), D(2023, 5, 8))


def test_year_boundaries() -> None:
    new_year = D(2023, 1, 2)  # a Monday
    assert span("last week", new_year)[:2] == (D(2022, 12, 26), D(2023, 1, 1))
    assert span("last month", new_year)[:2] == (D(2022, 12, 1), D(2022, 12, 31))
    assert span("yesterday", D(2023, 1, 1))[:2] == (D(2022, 12, 31), D(2022, 12, 31))
    eve = D(2022, 12, 31)  # a Saturday
    assert span("tomorrow", eve)[:2] == (D(2023, 1, 1), D(2023, 1, 1))
    assert span("next month", eve)[:2] == (D(2023, 1, 1), D(2023, 1, 31))
    assert span("next week", eve)[:2] == (D(2023, 1, 2), D(2023, 1, 8))
    assert span("this winter", D(2023, 1, 15))[:2] == (D(2022, 12, 1), D(2023, 2, 28))
    assert span("this winter", D(2023, 10, 1))[:2] == (D(2023, 12, 1), D(2024, 2, 29))
    assert span("I went there in December", D(2023, 1, 10))[:2] == (D(2022, 12, 1), D(2022, 12, 31))


def test_month_ends_and_leap_years() -> None:
    assert span("yesterday", D(2024, 3, 1))[:2] == (D(2024, 2, 29), D(2024, 2, 29))
    assert span("yesterday", D(2023, 3, 1))[:2] == (D(2023, 2, 28), D(2023, 2, 28))
    assert span("a month ago", D(2024, 3, 31))[:2] == (D(2024, 2, 1), D(2024, 2, 29))
    assert span("in 1 month", D(2023, 1, 31))[:2] == (D(2023, 2, 1), D(2023, 2, 28))
    assert span("the end of February", D(2024, 5, 1))[:2] == (D(2024, 2, 20), D(2024, 2, 29))
    assert span("on Feb 29", D(2024, 5, 8))[:2] == (D(2024, 2, 29), D(2024, 2, 29))
    assert span("I'll see you on Feb 29", D(2023, 5, 8))[:2] == (D(2024, 2, 29), D(2024, 2, 29))
    assert span("on February 29, 2024", AT)[:2] == (D(2024, 2, 29), D(2024, 2, 29))
    assert resolve_dates("on February 29, 2023", AT) == []
    assert resolve_dates("2023-02-29", AT) == []
    assert span("a year ago", D(2024, 2, 29))[:2] == (D(2023, 1, 1), D(2023, 12, 31))


def test_extreme_reference_times_do_not_raise() -> None:
    text = "yesterday, last week, next year, 3 years ago, in 5 days, last summer, in May, Friday"
    for at in (D(1, 1, 1), D(1, 1, 8), D(9999, 12, 31), D(9999, 12, 25)):
        for m in resolve_dates(text, at):
            assert m.start <= m.end


def test_calendar_helpers() -> None:
    assert month_end(2024, 2) == D(2024, 2, 29)
    assert month_end(2100, 2) == D(2100, 2, 28)
    assert add_months(D(2023, 1, 31), 1) == D(2023, 2, 28)
    assert add_months(D(2023, 3, 31), -13) == D(2022, 2, 28)
    assert week_start(D(2023, 5, 14)) == D(2023, 5, 8)
    assert week_start(D(2023, 5, 8)) == D(2023, 5, 8)
    assert season_of(D(2023, 1, 15)) == ("winter", 2022)
    assert season_of(D(2023, 12, 1)) == ("winter", 2023)
    assert season_of(D(2023, 9, 30)) == ("autumn", 2023)


# --- date keys ----------------------------------------------------------------------------


def test_date_keys_for_a_day() -> None:
    keys = date_keys(resolve_dates("I went to the parade yesterday", AT))
    assert keys == [
        "2023-05-07", "7 May 2023", "sunday", "week of 2023-05-01", "week of 1 May 2023",
        "may 2023", "2023-05", "2023",
    ]  # fmt: skip


def test_date_keys_for_coarser_mentions() -> None:
    assert date_keys(resolve_dates("last week", AT)) == [
        "week of 2023-05-01", "week of 1 May 2023", "may 2023", "2023-05", "2023",
    ]  # fmt: skip
    assert date_keys(resolve_dates("last month", AT)) == ["april 2023", "2023-04", "2023"]
    assert date_keys(resolve_dates("last year", AT)) == ["2022"]
    assert date_keys(resolve_dates("last summer", AT)) == [
        "summer 2022", "june 2022", "2022-06", "july 2022", "2022-07", "august 2022", "2022-08",
        "2022",
    ]  # fmt: skip
    assert date_keys(resolve_dates("last fall", AT))[:2] == ["autumn 2022", "fall 2022"]
    weekend = date_keys(resolve_dates("last weekend", AT))
    assert weekend[:6] == ["2023-05-06", "6 May 2023", "saturday", "2023-05-07", "7 May 2023",
                           "sunday"]  # fmt: skip
    assert date_keys(resolve_dates("in the 1990s", AT)) == [str(y) for y in range(1990, 2000)]
    assert date_keys([DateMention("x", D(1900, 1, 1), D(2000, 1, 1), "span")]) == ["1900", "2000"]
    assert "2021" in date_keys(resolve_dates("since 2021", AT))


def test_date_keys_span_across_months_and_years() -> None:
    keys = date_keys(resolve_dates("last week", D(2023, 1, 2)))
    assert keys == [
        "week of 2022-12-26", "week of 26 December 2022", "december 2022", "2022-12",
        "january 2023", "2023-01", "2022", "2023",
    ]  # fmt: skip


def test_date_keys_at_the_ends_of_the_calendar() -> None:
    last = D(9999, 12, 31)
    day = DateMention("x", last, last, "day")
    month = DateMention("y", D(9999, 12, 1), last, "month")
    keys = date_keys([day, month])
    assert keys[0] == "9999-12-31" and "december 9999" in keys
    first = D(1, 1, 1)
    assert date_keys([DateMention("x", first, first, "day")])[0] == "0001-01-01"


def test_date_keys_dedupe_and_empty() -> None:
    assert date_keys([]) == []
    keys = date_keys(resolve_dates("yesterday and on Sunday", AT))
    assert len(keys) == len(set(keys))
    assert keys.count("2023-05-07") == 1


def test_human_date() -> None:
    assert human_date(D(2023, 5, 7)) == "7 May 2023"
    assert human_date(D(2024, 12, 31)) == "31 December 2024"


# --- entities -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I went to the LGBTQ support group with Caroline.", ["LGBTQ", "Caroline"]),
        ("Caroline went to the LGBTQ support group yesterday.", ["LGBTQ"]),
        ("Melanie, that's awesome! We went to New York with Jon.", ["New York", "Jon"]),
        ("Woah Joanna, I saw Joanna's cat. Bye Joanna!", ["Joanna"]),
        ("I'm fine. They're here. I've seen Lord of the Rings twice.", ["Lord of the Rings"]),
        ("See you on Fri, K? It was INTENSE with NASA.", ["NASA"]),
        ("New York is lovely in the spring.", ["New York"]),
        ("Visited the Statue of Liberty with Mel.", ["Statue of Liberty", "Mel"]),
        ("Thanks Caroline! Dr. Smith works at Bank of America.", [
            "Caroline", "Smith", "Bank of America",
        ]),
        ("The Beatles were great and I love Harry Potter.", ["Beatles", "Harry Potter"]),
        ("Yesterday Caroline's mom called.", ["Caroline"]),
        ("my new iPhone and an eBay order", ["iPhone", "eBay"]),
        ("Paris is lovely. I was in Paris in May.", ["Paris"]),
        ("Hey Mel! How's it going? Went hiking with the kids.", ["Mel"]),
        ("On Monday in January I saw Anna.", ["Anna"]),
        ("I LOVE THIS SO MUCH OMG", []),
        ("Wow, sounds great. Thanks!", []),
        ("Perfect! Oh, Perfect. Thanks Jo, Thanks!", ["Jo"]),
        ("lol ok", []),
        ("", []),
    ],
)  # fmt: skip
def test_entities(text: str, expected: list[str]) -> None:
    assert entities(text) == expected


def test_entities_known_names() -> None:
    assert entities("Caroline went home.", known=["Caroline"]) == ["Caroline"]
    assert entities("Melanie, that's awesome!", known=["Melanie"]) == ["Melanie"]
    assert entities("Wow Melanie, great!", known=["Melanie"]) == ["Melanie"]
    assert entities("talked with caroline today", known=["Caroline"]) == ["Caroline"]
    assert entities("Nothing here", known=["Caroline", " "]) == []


def test_entities_repeated_at_sentence_start() -> None:
    text = "Caroline painted. Caroline sang."
    assert entities(text) == ["Caroline"]


# --- keywords -----------------------------------------------------------------------------


def test_keywords() -> None:
    text = "I painted a sunset. Painting sunsets calms me; the sunset by the lake was best."
    assert keywords(text, 3) == ["sunset", "painted", "calms"]  # counted by stem: 3, 2, 1
    assert keywords("Yeah, thanks, that's really great lol!", 5) == []
    assert keywords("We went in May, last week, 2023", 5) == []
    assert keywords("one two three", 0) == []
    assert keywords("alpha beta gamma", 2) == ["alpha", "beta"]


# --- make_keys ----------------------------------------------------------------------------


def test_make_keys_bundles_everything() -> None:
    keys = make_keys("I went to the parade with Jon yesterday.", AT)
    assert isinstance(keys, Keys)
    assert [m.text for m in keys.dates] == ["yesterday"]
    assert keys.date_keys[:2] == ("2023-05-07", "7 May 2023")
    assert keys.entities == ("Jon",)
    assert keys.keywords == ("parade", "jon")
    terms = keys.terms()
    assert terms[0] == "2023-05-07"
    assert "Jon" in terms and "parade" in terms
    assert len(terms) == len(set(terms))
    assert Keys().terms() == ()


# --- properties ---------------------------------------------------------------------------

VOCAB_TEXT = (
    "yesterday today tomorrow tonight last this next past the a few couple of several week "
    "weekend month year day days weeks months years ago in on since before after until from to "
    "between and May may June March Friday Monday Sunday summer winter fall spring early mid "
    "late end 1 2 3 7 12 29 30 31 2019 2023 1990s 2023-05-07 5/7/2023 went will I'll was going "
    ", . ! ? Caroline New York"
)
VOCAB = VOCAB_TEXT.split()
WORDS = st.lists(st.sampled_from(VOCAB), max_size=25).map(" ".join)
TEXT = st.one_of(st.text(max_size=200), WORDS)
MOMENTS = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59))


@given(TEXT, MOMENTS)
def test_resolve_dates_never_raises_and_ranges_are_ordered(text: str, at: datetime) -> None:
    mentions = resolve_dates(text, at)
    previous_end = 0
    for m in mentions:
        assert m.start <= m.end
        assert m.days >= 1
        assert text[m.offset : m.offset + len(m.text)] == m.text
        assert m.offset >= previous_end
        previous_end = m.offset + len(m.text)
    assert all(isinstance(k, str) and k for k in date_keys(mentions))


@given(WORDS, st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)))
@example("in several year", datetime(2000, 1, 1))
@example("yesterday in several year", datetime(2000, 1, 1))
@example("several years ago", datetime(2000, 12, 31))
@example("the last several years", datetime(2000, 1, 1))
def test_relative_mentions_stay_near_the_reference(text: str, at: datetime) -> None:
    for m in resolve_dates(text, at):
        if not any(ch.isdigit() for ch in m.text):
            assert abs((m.start - at.date()).days) < 6 * 366
            assert abs((m.end - at.date()).days) < 6 * 366


GRANULARITIES = st.sampled_from(["day", "week", "month", "season", "year", "span"])


@given(st.dates(), st.dates(), GRANULARITIES)
def test_date_keys_never_raise(a: date, b: date, granularity: Granularity) -> None:
    mention = DateMention("x", min(a, b), max(a, b), granularity)
    keys = date_keys([mention])
    assert keys and len(keys) == len(set(keys))
    assert str(min(a, b).year) in keys


@given(TEXT)
def test_entities_and_keywords_never_raise(text: str) -> None:
    names = entities(text, known=["Caroline"])
    assert len({n.casefold() for n in names}) == len(names)
    assert all(n.strip() == n and n for n in names)
    words = keywords(text, 5)
    assert len(words) <= 5
    keys = make_keys(text, AT)
    assert len(keys.terms()) == len(set(keys.terms()))


def test_timedelta_sanity_for_week_keys() -> None:
    # every day of a year maps to exactly one "week of" key, a Monday
    day = D(2024, 1, 1)
    while day.year == 2024:
        keys = date_keys([DateMention("x", day, day, "day")])
        weeks = [k for k in keys if k.startswith("week of ") and k.count("-") == 2]
        assert len(weeks) == 1
        assert D.fromisoformat(weeks[0].removeprefix("week of ")).weekday() == 0
        day += timedelta(days=1)
