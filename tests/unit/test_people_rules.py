"""Who a conversation's people are, under which names: learned from how they address each other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

from hypothesis import given
from hypothesis import strategies as st

from memstrata.people import (
    MAX_NAMES,
    Alias,
    Mention,
    Tally,
    addressed_names,
    called,
    mentions,
    named_speakers,
    names_in,
    observe,
    people,
    same_name,
    without_names,
)
from memstrata.results import Person


def test_names_in_greetings_and_closings_are_found() -> None:
    assert addressed_names("hey Kate! how was the trip?") == ["Kate"]
    assert addressed_names("Good morning Emily :)") == ["Emily"]
    assert addressed_names("That sounds amazing, Kevin!") == ["Kevin"]
    assert addressed_names("thanks so much Liza") == ["Liza"]


def test_words_that_are_not_names_are_not_taken_for_names() -> None:
    assert addressed_names("hey for real that was fun") == []
    assert addressed_names("Hi there!") == []
    assert addressed_names("hey guys, guess what") == []
    assert addressed_names("I went to Paris with Kate") == []
    assert addressed_names("Thanks, I will") == []


def _chat(*lines: tuple[str, str]) -> list[tuple[str, str, str]]:
    return [(f"m{i}", speaker, text) for i, (speaker, text) in enumerate(lines)]


def test_a_name_said_to_the_other_person_becomes_their_alias() -> None:
    tally = observe(
        Tally(),
        _chat(
            ("elise", "hey Kate!"),
            ("Emi", "hi! how are you"),
            ("elise", "good, you?"),
            ("Emi", "great"),
            ("elise", "night Kate"),
        ),
    )
    found = {p.name: p for p in people(tally)}
    assert set(found) == {"elise", "Emi"}
    assert [a.name for a in found["Emi"].aliases] == ["Kate"]
    assert found["Emi"].aliases[0].sources == ("m0", "m4")
    assert found["elise"].aliases == ()
    assert found["Emi"].messages == 2 and found["elise"].messages == 3


def test_one_mention_is_not_enough_and_a_name_split_between_people_is_nobodys() -> None:
    once = observe(Tally(), _chat(("A", "hey Sam"), ("B", "hi")))
    assert all(not p.aliases for p in people(once))
    split = observe(
        Tally(),
        _chat(("A", "x"), ("B", "hey Sam"), ("A", "hey Sam"), ("B", "bye Sam"), ("A", "bye Sam")),
    )
    assert all(not p.aliases for p in people(split))


def test_a_name_said_to_one_person_far_more_than_to_anyone_else_is_theirs_at_scale() -> None:
    """In a scope of many chats a common name is also said, once or twice, to many others (a
    greeting read as addressed to whoever spoke last): its share of all the times it was said
    falls as the scope grows, but not its lead over anyone else."""
    lines = [("Ann", "x"), ("Emi", "y")] + [("Ann", "hey Kate"), ("Emi", "hi")] * 8
    for other in ("Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo", "Kit"):
        lines += [(other, "a"), ("Zed", "hey Kate"), (other, "b"), ("Zed", "bye Kate")]
    tally = observe(Tally(), _chat(*lines))
    counts = {speaker: names["kate"].count for speaker, names in tally.calls.items()}
    assert counts["Emi"] == 8 and max(c for s, c in counts.items() if s != "Emi") == 2
    assert sum(counts.values()) == 28  # 8 of 28: too small a share to say by itself
    found = {p.name: p for p in people(tally)}
    assert [a.name for a in found["Emi"].aliases] == ["Kate"]
    assert all(not p.aliases for name, p in found.items() if name != "Emi")
    # Said 8 times to one and 3 times to another: not enough of a lead.
    close = observe(tally, _chat(("Bo", "c"), ("Zed", "hey Kate")))
    assert all(not p.aliases for p in people(close))


def test_in_a_group_a_name_is_the_speaker_s_who_goes_by_it_not_whoever_spoke_last() -> None:
    """A greeting is counted for the last other speaker, which in a group is often someone
    else: "Heyy Kate" said after Aiko spoke, then answered by Kate, is not Aiko's alias."""
    lines = [("Aiko", "I started foraging"), ("Caroline", "Heyy Kate, quick question"),
             ("Kate", "sure, ask"), ("Aiko", "ok"), ("Bruno", "Morning Kate!"),
             ("Aiko", "hi all"), ("Kate", "morning")] * 3  # fmt: skip
    tally = observe(Tally(), _chat(*lines))
    assert all("kate" not in names for names in tally.calls.values())
    assert all(not p.aliases for p in people(tally))
    # Said to a person while nobody of that name is around, it still counts for them.
    others = [("Ann", "a"), ("Bo", "b"), ("Cy", "c"), ("Di", "d")]  # Kate spoke long ago
    alone = observe(tally, _chat(*others, ("Emi", "x"), ("elise", "hey Kate!"), ("Emi", "y"),
                                 ("elise", "bye Kate")))  # fmt: skip
    assert [a.name for a in {p.name: p for p in people(alone)}["Emi"].aliases] == ["Kate"]


def test_the_tally_carries_over_between_batches() -> None:
    first = observe(Tally(), _chat(("Bo", "morning Al"), ("Al", "hi")))
    second = observe(first, [("n1", "Bo", "thanks Al")])
    assert {p.name: p for p in people(second)}["Al"].aliases == ()  # the label itself
    third = observe(second, [("n2", "Al", "thanks Alfie"), ("n3", "Al", "bye Alfie")])
    assert [a.name for a in {p.name: p for p in people(third)}["Bo"].aliases] == ["Alfie"]


def test_the_tally_round_trips_through_json() -> None:
    tally = observe(Tally(), _chat(("a", "hey Kate"), ("b", "x"), ("a", "bye Kate")))
    assert Tally.loads(tally.dumps()) == tally


def test_a_question_names_a_speaker_by_label_alias_or_spelling_variant() -> None:
    tally = observe(
        Tally(),
        _chat(("elise", "hey Kate"), ("Emi", "hey"), ("elise", "bye Kate"), ("Muhhamed", "hi")),
    )
    known = people(tally)
    assert named_speakers("What does Kate like to cook?", known) == {"Emi"}
    assert named_speakers("When did Elise move?", known) == {"elise"}
    assert named_speakers("Where did Muhammad study?", known) == {"Muhhamed"}
    assert named_speakers("What do Emi and Elise share?", known) == {"Emi", "elise"}
    assert named_speakers("What is the weather?", known) == set()


def test_a_name_someone_goes_by_exactly_is_not_taken_for_a_variant_of_another() -> None:
    """Paola and Paulo, Daniel and Daniela share their consonants, as spelling variants do; a
    question that names one of them exactly names that one alone."""
    tally = observe(Tally(), _chat(("Paola", "hi"), ("Paulo", "hey"), ("Daniela", "yo"),
                                   ("Muhhamed", "hello")))  # fmt: skip
    known = people(tally)
    assert named_speakers("Where did Paola go in May?", known) == {"Paola"}
    assert named_speakers("Where did Paulo go in May?", known) == {"Paulo"}
    assert named_speakers("Did Paola and Paulo meet?", known) == {"Paola", "Paulo"}
    assert named_speakers("What did Daniel cook?", known) == {"Daniela"}  # no Daniel here
    assert named_speakers("Where did Muhammad study?", known) == {"Muhhamed"}
    # A common word, or one not written as a name, is no variant of a name.
    assert named_speakers("Which people did Paola meet?", known) == {"Paola"}
    assert named_speakers("where did muhammad study?", known) == set()
    assert named_speakers("Which sport did Kevin play with Paulo?", known) == {"Paulo"}


def test_a_speaker_labelled_with_a_full_name_is_named_by_their_first_name() -> None:
    """Applications often label speakers by full name; questions call them by first name,
    unless another person's name begins with it too."""
    known = [Person("Kate Miller", (), 3), Person("Bo Chen", (), 2), Person("Bo", (), 1),
             Person("The Team", (), 1)]  # fmt: skip
    assert named_speakers("What does Kate like?", known) == {"Kate Miller"}
    assert named_speakers("What does Kate Miller like?", known) == {"Kate Miller"}
    assert named_speakers("What does Bo like?", known) == {"Bo"}  # Bo Chen is Bo Chen
    assert named_speakers("What did Bo Chen say?", known) == {"Bo Chen"}
    assert dict(called(known))["The Team"] == ("The Team",)  # "The" is no one's first name
    assert named_speakers("What does Miller like?", known) == set()
    assert without_names("What are Kate's hobbies?", known) == "What are hobbies?"


def test_who_a_question_names_and_what_it_asks_of_them_come_from_one_reading() -> None:
    """``names_in``: the speakers named (in the scope's order) and the question without their
    names, read once among every speaker: a word that names nobody there stays, though it
    would name one of those named were they alone ("Kate" is the first word of two names)."""
    speakers, others = ["Kate Miller", "Kate Smith", "Emi", "Bo"], {"Emi": ["Kay"]}
    assert names_in("Did Kate Smith's sister call Kate Miller?", speakers, others) == (
        ["Kate Miller", "Kate Smith"],
        "Did sister call ?",
    )
    assert names_in("Did Kate Miller call Kate?", speakers, others) == (
        ["Kate Miller"],
        "Did call Kate?",
    )
    assert names_in("What does Kay cook?", speakers, others) == (["Emi"], "What does cook?")
    assert names_in("What  is the weather?", speakers, others) == ([], "What  is the weather?")


def test_a_question_without_the_names_it_says_keeps_what_it_asks() -> None:
    """What a question asks of the people it names, their names and possessives aside (by
    label, alias or spelling variant), for a search among what they said."""
    tally = observe(
        Tally(),
        _chat(("elise", "hey Kate"), ("Emi", "hey"), ("elise", "bye Kate"), ("Muhhamed", "hi")),
    )
    known = people(tally)
    assert without_names("What are Kate's hobbies?", known) == "What are hobbies?"
    assert without_names("Which cities have Kate and Elise been to?", known) == (
        "Which cities have and been to?"
    )
    assert without_names("Where does Muhammad’s sister work?", known) == "Where does sister work?"
    assert without_names("What did Emi cook?", known) == "What did cook?"
    # Other names, and words that only begin like a name, stay; a name alone leaves nothing.
    assert without_names("Did Kate meet Katherine?", known) == "Did meet Katherine?"
    assert without_names("Kate", known) == ""
    assert without_names("What is the weather?", known) == "What is the weather?"
    # A name of several words goes whole.
    assert without_names("Where did Mary Ann's dog go?", [Person("Mary Ann", (), 1)]) == (
        "Where did dog go?"
    )


def test_a_question_s_names_are_read_once_where_they_stand() -> None:
    """Naming and taking names out read a question the same way: a full name with its accents
    folded, a first name, a variant, each where it stands, possessive included."""
    known = [Person("José María", (), 3), Person("Kate Miller", (), 2),
             Person("Muhhamed", (), 1)]  # fmt: skip
    query = "Did Jose Maria's sister meet Kate and Muhammad?"
    at = query.index
    assert mentions(query, known) == [
        Mention("José María", at("Jose"), at(" sister")),
        Mention("Kate Miller", at("Kate"), at(" and")),
        Mention("Muhhamed", at("Muhammad"), at("?")),
    ]
    assert named_speakers(query, known) == {"José María", "Kate Miller", "Muhhamed"}
    assert without_names(query, known) == "Did sister meet and ?"
    # The longest of two overlapping names wins, and one name may name two people.
    both = [Person("Mary Ann Lee", (), 1), Person("Mary Ann", (), 1), Person("Ann", (), 1),
            Person("Bob", (Alias("Lee", 2, ()),), 1), Person("Lee", (), 1)]  # fmt: skip
    assert named_speakers("Where is Mary Ann Lee?", both) == {"Mary Ann Lee"}
    assert named_speakers("Where is Lee?", both) == {"Bob", "Lee"}
    assert without_names("Where is Lee's dog?", both) == "Where is dog?"
    # A label that is no single word names nobody by a piece of it.
    assert named_speakers("Which user asked?", [Person("user_1", (), 1)]) == set()


_WORDS = ["Kate", "kate", "Katherine", "Muhammad", "5", "Jose Maria", "JOSÉ MARÍA's", "Miller",
          "Kate Miller", "Mary-Lee", "Lee’s", "Paola", "Paulo", "people", "and", "?"]  # fmt: skip
_LABELS = ["Kate", "José María", "Kate Miller", "Muhhamed", "Paulo", "Paola", "Lee", "Mary Lee"]


@given(st.lists(st.sampled_from(_WORDS), max_size=12), st.sets(st.sampled_from(_LABELS)))
def test_taking_a_question_s_names_out_changes_it_exactly_when_it_names_someone(
    words: list[str], labels: set[str]
) -> None:
    query = " ".join(words)
    known = [Person(label, (), 1) for label in sorted(labels)]
    left = without_names(query, known)
    assert (left != " ".join(query.split())) == bool(named_speakers(query, known))
    assert named_speakers(left, known) == set()


def test_spelling_variants_of_one_name_agree_and_different_names_do_not() -> None:
    assert same_name("Muhhamed", "Muhammad")
    assert same_name("elise", "Elise")
    assert not same_name("Kate", "Kevin")
    assert not same_name("Emi", "Emily")  # a short name is matched exactly
    assert not same_name("Al", "Ali")


@given(st.text(max_size=80))
def test_any_text_is_read_without_error(text: str) -> None:
    for name in addressed_names(text):
        assert name and name[0].isalpha()


@given(st.text(max_size=60), st.lists(st.text(min_size=1, max_size=12), max_size=4))
def test_any_question_without_any_names_keeps_only_pieces_of_itself(
    text: str, names: list[str]
) -> None:
    left = without_names(text, [Person(name, (), 1) for name in names])
    assert all(piece in text for piece in left.split())


def test_a_speaker_keeps_the_names_said_most_and_the_tally_stays_bounded() -> None:
    names = [f"Nm{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(3 * MAX_NAMES)]
    said: list[tuple[str, str]] = []
    for i, name in enumerate(names):
        said += [("elise", f"hey {name}"), ("Emi", "hi")]
        if i % 4 == 0:
            said += [("elise", "night Kate"), ("Emi", "night")]
    tally = observe(Tally(), _chat(*said))
    assert len(tally.calls["Emi"]) == MAX_NAMES
    (emi,) = [p for p in people(tally) if p.name == "Emi"]
    assert [a.name for a in emi.aliases] == ["Kate"]
    assert emi.aliases[0].count == 3 * MAX_NAMES // 4
    # The names said once make room for one another, the latest staying; a new name gets in
    # even where every name kept was said more than once.
    assert names[-1].casefold() in tally.calls["Emi"]
    full = Tally(calls={"Emi": {n.casefold(): Alias(n, 2, ()) for n in names[:MAX_NAMES]}})
    later = observe(full, [("a", "elise", "x"), ("b", "Emi", "y"), ("c", "elise", "hey Zed")])
    assert "zed" in later.calls["Emi"] and names[0].casefold() not in later.calls["Emi"]


def test_a_tally_kept_before_the_bound_is_brought_within_it_by_the_next_add() -> None:
    names = {f"n{i}": Alias(f"N{i}", 1 + i % 3, ()) for i in range(2 * MAX_NAMES)}
    kept = Tally(messages={"Emi": 5, "Bo": 1}, calls={"Emi": names, "Bo": {}})
    later = observe(kept, [("a", "Bo", "ok")])
    assert len(later.calls["Emi"]) == MAX_NAMES
    assert {a.count for a in later.calls["Emi"].values()} <= {2, 3}


class _Counted(Sequence[tuple[str, str, str]]):
    """Messages that count how many of them are read (a slice reads each it holds)."""

    def __init__(self, items: list[tuple[str, str, str]]) -> None:
        self.items, self.reads = items, 0

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, i: int) -> tuple[str, str, str]: ...
    @overload
    def __getitem__(self, i: slice) -> list[tuple[str, str, str]]: ...
    def __getitem__(self, i: int | slice) -> Any:
        got = self.items[i]
        self.reads += len(got) if isinstance(i, slice) else 1
        return got


def test_a_long_chat_is_read_a_few_times_over_not_once_a_message() -> None:
    """An import folds a whole file in one call: what a message reads of the messages after it
    is bounded, or 50,000 messages read 1.25 billion."""
    for speakers in (("A", "B"), ("A", "A")):  # a dialogue, and one person's notes
        said = _Counted(_chat(*((speakers[i % 3 == 0], f"note {i}") for i in range(3000))))
        observe(Tally(), said)
        assert said.reads <= 10 * len(said), speakers
