"""Date expressions in Spanish, French, German, Portuguese, Chinese and Japanese, resolved
against a fixed day (Wednesday 10 January 2024)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from memstrata.read.temporal import parse_query_time
from memstrata.timeexpr import resolve_dates

AT = date(2024, 1, 10)
D = date
YESTERDAY = (D(2024, 1, 9), D(2024, 1, 9), "day")
LAST_WEEK = (D(2024, 1, 1), D(2024, 1, 7), "week")
THREE_DAYS_AGO = (D(2024, 1, 7), D(2024, 1, 7), "day")
DEC_29 = (D(2023, 12, 29), D(2023, 12, 29), "day")


def span(text: str) -> tuple[date, date, str]:
    (mention,) = resolve_dates(text, AT)
    return mention.start, mention.end, mention.granularity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Spanish
        ("Ayer fui al médico", YESTERDAY),
        ("la semana pasada", LAST_WEEK),
        ("hace 3 días", THREE_DAYS_AGO),
        ("hace tres días", THREE_DAYS_AGO),
        ("anteayer", (D(2024, 1, 8), D(2024, 1, 8), "day")),
        ("mañana tengo clase", (D(2024, 1, 11), D(2024, 1, 11), "day")),
        ("el mes pasado", (D(2023, 12, 1), D(2023, 12, 31), "month")),
        ("el año que viene", (D(2025, 1, 1), D(2025, 12, 31), "year")),
        ("el 29 de diciembre de 2023", DEC_29),
        ("en marzo de 2022", (D(2022, 3, 1), D(2022, 3, 31), "month")),
        ("hace unos días", (D(2024, 1, 5), D(2024, 1, 8), "span")),
        ("dentro de 2 semanas", (D(2024, 1, 22), D(2024, 1, 28), "week")),
        # French
        ("hier, nous sommes allés au musée", YESTERDAY),
        ("la semaine dernière", LAST_WEEK),
        ("il y a 3 jours", THREE_DAYS_AGO),
        ("il y a un an", (D(2023, 1, 1), D(2023, 12, 31), "year")),
        ("avant-hier", (D(2024, 1, 8), D(2024, 1, 8), "day")),
        ("l'année dernière", (D(2023, 1, 1), D(2023, 12, 31), "year")),
        ("le mois prochain", (D(2024, 2, 1), D(2024, 2, 29), "month")),
        ("le 29 décembre 2023", DEC_29),
        ("en février 2023", (D(2023, 2, 1), D(2023, 2, 28), "month")),
        ("dans 3 jours", (D(2024, 1, 13), D(2024, 1, 13), "day")),
        # German
        ("Gestern war ich im Kino", YESTERDAY),
        ("letzte Woche", LAST_WEEK),
        ("vor 3 Tagen", THREE_DAYS_AGO),
        ("vor einem Monat", (D(2023, 12, 1), D(2023, 12, 31), "month")),
        ("vorgestern", (D(2024, 1, 8), D(2024, 1, 8), "day")),
        ("nächstes Jahr", (D(2025, 1, 1), D(2025, 12, 31), "year")),
        ("am 29. Dezember 2023", DEC_29),
        ("29.12.2023", DEC_29),
        ("im März 2021", (D(2021, 3, 1), D(2021, 3, 31), "month")),
        # Portuguese
        ("ontem comprei um livro", YESTERDAY),
        ("semana passada", LAST_WEEK),
        ("há 3 dias", THREE_DAYS_AGO),
        ("3 dias atrás", THREE_DAYS_AGO),
        ("o mês que vem", (D(2024, 2, 1), D(2024, 2, 29), "month")),
        ("29 de dezembro de 2023", DEC_29),
        ("em outubro de 2022", (D(2022, 10, 1), D(2022, 10, 31), "month")),
        ("29/12/2023", DEC_29),
        # Chinese
        ("我昨天去了医院", YESTERDAY),
        ("上周", LAST_WEEK),
        ("三天前", THREE_DAYS_AGO),
        ("3天前", THREE_DAYS_AGO),
        ("三个月前", (D(2023, 10, 1), D(2023, 10, 31), "month")),
        ("上个月", (D(2023, 12, 1), D(2023, 12, 31), "month")),
        ("去年", (D(2023, 1, 1), D(2023, 12, 31), "year")),
        ("2023年12月29日", DEC_29),
        ("2022年", (D(2022, 1, 1), D(2022, 12, 31), "year")),
        # Japanese
        ("昨日、映画を見ました", YESTERDAY),
        ("先週", LAST_WEEK),
        ("3日前", THREE_DAYS_AGO),
        ("2週間前", (D(2023, 12, 25), D(2023, 12, 31), "week")),
        ("3ヶ月前", (D(2023, 10, 1), D(2023, 10, 31), "month")),
        ("来月", (D(2024, 2, 1), D(2024, 2, 29), "month")),
        ("一昨年", (D(2022, 1, 1), D(2022, 12, 31), "year")),
        ("2023年12月", (D(2023, 12, 1), D(2023, 12, 31), "month")),
    ],
)
def test_resolve_dates_in_other_languages(text: str, expected: tuple[date, date, str]) -> None:
    assert span(text) == expected


@pytest.mark.parametrize(
    ("text", "month"),
    [("en marzo", 3), ("en mars", 3), ("im März", 3), ("em março", 3), ("十二月", 12),
     ("le 3 mai", 5), ("am 3. Mai", 5)],
)  # fmt: skip
def test_month_names_without_a_year_are_placed_near_today(text: str, month: int) -> None:
    (mention,) = resolve_dates(text, AT)
    assert mention.start.month == month
    assert abs((mention.start - AT).days) < 366


@pytest.mark.parametrize(
    "text",
    [
        "Ich bin hier.",  # German "here", not French "yesterday"
        "por la mañana",  # the morning, not tomorrow
        "Guten Morgen!",
        "Mars is a planet",
        "I love mayo",
        "el mes tiene 30 días",
        "我喜欢月亮",
    ],
)
def test_words_that_only_look_like_dates(text: str) -> None:
    assert resolve_dates(text, AT) == []


def test_a_query_window_from_other_languages() -> None:
    now = datetime(2024, 1, 10, 12, tzinfo=UTC)
    for query in ("¿Qué hice la semana pasada?", "Qu'ai-je fait la semaine dernière ?",
                  "Was habe ich letzte Woche gemacht?", "O que fiz na semana passada?",
                  "我上周做了什么？", "先週何をしましたか？"):  # fmt: skip
        window = parse_query_time(query, now).window
        assert window is not None, query
        assert (window.start, window.end) == (
            datetime(2024, 1, 1, tzinfo=UTC),
            datetime(2024, 1, 8, tzinfo=UTC),
        ), query


def _texts_with_dates() -> list[str]:
    """Chat messages with dates in them (``evals.chats``), and month names in each language
    in each form the rules read."""
    from itertools import islice

    from memstrata.evals.chats import chat_messages
    from memstrata.timeexpr import _WORLD_MONTH_NAMES

    texts = [m.text for s in islice(chat_messages(3000, seed=5), 400) for m in s]
    forms = ("el 3 de {} de 2022", "3. {} 2024", "{} de 2021", "en {}", "im {}",
             "au mois de {}", "em {} passado", "Le 14 {}", "{} 2020", "ver{}a")  # fmt: skip
    for name in _WORLD_MONTH_NAMES:
        for form in forms:
            texts += [form.format(name), form.format(name.upper()), form.format(name.title())]
    return texts


def test_a_rule_is_tried_wherever_it_could_match() -> None:
    from memstrata.timeexpr import _RULES, _WORLD_RULES

    texts = _texts_with_dates()
    matched = 0
    for rule in (*_RULES, *_WORLD_RULES):
        if rule.trigger is None:
            continue
        for text in texts:
            if rule.pattern.search(text) is not None:
                matched += 1
                assert rule.trigger.search(text) is not None, (rule.pattern.pattern[:60], text)
    assert matched > 500  # the texts do hold what the rules read
