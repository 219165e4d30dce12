"""The extractive summariser: sentence splitting, centrality scores, selection within a budget."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memstrata.write.extractive import (
    clip,
    score_sentences,
    select,
    split_sentences,
    summarize,
    terms,
)

TRIP = [
    "We planned the trip to Lisbon for May. The flights to Lisbon are booked.",
    "Ana found a hotel in Lisbon near the river. The hotel has a pool.",
    "Ben likes cats.",
    "The trip budget covers the flights and the hotel.",
]


def test_sentences_split_on_ends_and_lines_but_not_abbreviations() -> None:
    text = 'Dr. Smith came home. He said "hi!" Then he left.\nNext line e.g. this one'
    assert split_sentences(text) == [
        "Dr. Smith came home.",
        'He said "hi!"',
        "Then he left.",
        "Next line e.g. this one",
    ]
    assert split_sentences("   ") == []


def test_terms_are_stemmed_content_words() -> None:
    assert terms("The hikers were hiking in the hills") == {"hiker", "hike", "hill"}


def test_central_sentences_score_higher_than_isolated_ones() -> None:
    sentences = [s for text in TRIP for s in split_sentences(text)]
    scores = dict(zip(sentences, score_sentences(sentences), strict=True))
    assert scores["Ben likes cats."] == 0.0
    assert scores["The flights to Lisbon are booked."] > scores["The hotel has a pool."]


def test_a_query_raises_the_sentences_that_share_its_terms() -> None:
    sentences = ["The hotel has a pool.", "The flights are booked."]
    plain = score_sentences(sentences)
    asked = score_sentences(sentences, query="pool")
    assert plain == [0.0, 0.0]
    assert asked[0] > asked[1]


def test_select_keeps_original_order_skips_repeats_and_fits() -> None:
    texts = [*TRIP, "The flights to Lisbon are booked!"]
    picked = select(texts, max_chars=120)
    joined = " ".join(s.text for s in picked)
    assert len(joined) <= 120
    assert [s.position for s in picked] == sorted(s.position for s in picked)
    assert sum("flights to Lisbon are booked" in s.text for s in picked) <= 1
    assert all(s.text in texts[s.source] for s in picked)


def test_select_respects_max_sentences() -> None:
    assert len(select(TRIP, max_chars=10_000, max_sentences=2)) == 2


def test_summarize_clips_the_best_sentence_when_none_fits_whole() -> None:
    summary = summarize(
        ["A very long sentence about the Lisbon trip and its many flights."], max_chars=20
    )
    assert len(summary) <= 20 and summary.endswith("…")
    assert summarize([], max_chars=100) == ""
    assert summarize(TRIP, max_chars=0) == ""


def test_clip() -> None:
    assert clip("short", 10) == "short"
    assert clip("one two three four", 12) == "one two…"
    assert len(clip("x" * 50, 10)) == 10


words = st.sampled_from(
    ["lisbon", "trip", "hotel", "flight", "cat", "the", "a", "booked", "May", "Ana", "river"]
)
sentence = st.lists(words, min_size=1, max_size=12).map(lambda ws: " ".join(ws).capitalize() + ".")
texts = st.lists(st.lists(sentence, min_size=1, max_size=4).map(" ".join), max_size=8)


@settings(max_examples=150, deadline=None)
@given(texts=texts, budget=st.integers(min_value=0, max_value=400), query=st.none() | words)
def test_selection_always_fits_and_comes_from_the_input(
    texts: list[str], budget: int, query: str | None
) -> None:
    picked = select(texts, max_chars=budget, query=query)
    assert len(" ".join(s.text for s in picked)) <= budget
    assert [s.position for s in picked] == sorted({s.position for s in picked})
    assert all(s.text in texts[s.source] for s in picked)
    assert picked == select(texts, max_chars=budget, query=query)  # deterministic
    assert len(summarize(texts, max_chars=budget, query=query)) <= budget


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300), budget=st.integers(min_value=0, max_value=120))
def test_clip_never_exceeds_its_budget(text: str, budget: int) -> None:
    assert len(clip(text, budget)) <= max(budget, 0)
