"""What people plainly say about themselves becomes their profile, sourced and dated."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from memstrata.write.profile import (
    HISTORY,
    VALUES,
    Ledger,
    Statement,
    observe,
    profiles,
    relation_statement,
    render,
    statements,
)


def day(n: int) -> datetime:
    return datetime(2024, 5, n, 10, tzinfo=UTC)


def test_first_person_statements_are_read_by_the_rule_table() -> None:
    assert statements("I live in Lisbon now, with two cats.") == [Statement("home", "Lisbon", True)]
    assert statements("I'm allergic to peanuts and shellfish.") == [
        Statement("allergy", "peanuts", False)
    ]
    assert statements("My sister Ana is visiting") == [Statement("family:sister", "Ana", True)]
    assert statements("My favorite tea is mint tea.") == [
        Statement("favourite:tea", "mint tea", True)
    ]
    assert statements("I work as a nurse at the clinic") == [
        Statement("job", "nurse at the clinic", True)
    ]
    assert statements("Every morning I run by the river.") == [
        Statement("routine:morning", "run by the river", False)
    ]
    assert statements("I'm vegetarian since last year") == [Statement("diet", "vegetarian", True)]


def test_what_says_nothing_about_the_speaker_is_not_a_trait() -> None:
    assert statements("I love that!") == []
    assert statements("I love it when you sing") == []
    assert statements("She lives in Paris.") == []
    assert statements("my sister is tired") == []  # not a name


def test_a_move_supersedes_the_old_home_and_keeps_it_in_the_history() -> None:
    ledger = observe(
        Ledger(),
        [
            ("m1", "Ada", "I live in Porto.", day(1)),
            ("m2", "Ada", "I love hiking and tea", day(2)),
            ("m3", "Ada", "I still live in Porto, yes", day(3)),
            ("m4", "Ada", "Big news: I moved to Lisbon!", day(9)),
            ("m5", "Bo", "I live in Oslo", day(9)),
        ],
    )
    ada, bo = profiles(ledger, {"Ada": ["Ada", "Adi"], "Bo": ["Bo"]})
    assert [(t.attribute, t.value, t.since, t.sources) for t in ada.traits] == [
        ("likes", "hiking", day(2), ("m2",)),
        ("home", "Lisbon", day(9), ("m4",)),
    ]
    (porto,) = ada.history
    assert (porto.value, porto.sources, porto.until) == ("Porto", ("m1", "m3"), day(9))
    assert ada.names == ("Ada", "Adi")
    assert [t.value for t in bo.traits] == ["Oslo"]


def test_traits_that_gather_accumulate() -> None:
    ledger = observe(
        Ledger(),
        [
            ("1", "Ada", "I'm allergic to cats", day(1)),
            ("2", "Ada", "I'm allergic to dust", day(2)),
        ],
    )
    (ada,) = profiles(ledger, {})
    assert [t.value for t in ada.traits] == ["cats", "dust"] and ada.history == ()


def test_the_ledger_round_trips_through_json() -> None:
    ledger = observe(Ledger(), [("1", "A", "I live in Rome. I moved to Milan.", day(1))])
    assert Ledger.loads(ledger.dumps()) == ledger


def test_the_text_fits_its_budget_and_leads_with_the_names() -> None:
    ledger = observe(Ledger(), [("1", "Ada", "I live in Lisbon. I'm allergic to peanuts.", day(1))])
    found = profiles(ledger, {"Ada": ["Ada", "Adi"], "Bo": ["Bo"]})
    text = render(found, 1000)
    assert text == (
        "Ada, Adi: home: Lisbon (since 2024-05-01); allergy: peanuts (since 2024-05-01)\nBo:"
    )
    assert render(found, 43) == "Ada, Adi: home: Lisbon (since 2024-05-01)"
    assert render(found, 5) == ""


@given(st.text(max_size=120), st.integers(min_value=0, max_value=300))
def test_any_text_within_any_budget(text: str, budget: int) -> None:
    ledger = observe(Ledger(), [("1", "P", text, day(1))])
    assert len(render(profiles(ledger, {"P": ["P"]}), budget)) <= budget


def test_a_model_s_relations_state_traits() -> None:
    assert relation_statement("lives_in", "Lisbon") == Statement("home", "Lisbon", True)
    assert relation_statement("Moved-To", " Porto ") == Statement("home", "Porto", True)
    assert relation_statement("has_sister", "Marta") == Statement("family:sister", "Marta", True)
    assert relation_statement("best_friend_is", "Jo") == Statement("family:best friend", "Jo", True)
    assert relation_statement("allergic_to", "peanuts") == Statement("allergy", "peanuts", False)
    assert relation_statement("likes", "green tea") == Statement("likes", "green tea", False)
    # Relations that say nothing the profile keeps, or nothing at all.
    assert relation_statement("plays", "chess") is None
    assert relation_statement("likes", "it") is None
    assert relation_statement("lives_in", "") is None


def test_a_long_life_keeps_the_latest_history_and_the_best_sourced_values() -> None:
    moves = [(f"h{i}", "Ada", f"I live in Town{chr(65 + i)}.", day(1 + i)) for i in range(20)]
    likes = [(f"l{i}", "Ada", f"I love hobby{i:02d}", day(1)) for i in range(VALUES + 5)]
    again = [("again", "Ada", "I love hobby00", day(2))]  # said twice: kept over the newer
    (ada,) = profiles(observe(Ledger(), [*moves, *likes, *again]), {})
    assert [t.value for t in ada.history] == [f"Town{chr(65 + i)}" for i in range(19)][-HISTORY:]
    assert [t.value for t in ada.traits if t.attribute == "home"] == ["TownT"]
    liked = [t.value for t in ada.traits if t.attribute == "likes"]
    assert len(liked) == VALUES
    assert liked[0] == "hobby00"  # in the order learned
    assert liked[1:] == [f"hobby{i:02d}" for i in range(6, VALUES + 5)]
