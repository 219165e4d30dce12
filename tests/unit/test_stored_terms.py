"""A memory's terms as the store keeps them (``terms.encode``) read back as ``terms_of`` made
them (``terms.decode``, and ``terms.spread`` for many at once), whatever the text holds (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from memstrata.terms import (
    FIRST_PERSON,
    SECOND_PERSON,
    Brief,
    Briefs,
    Terms,
    context_prefix,
    days,
    decode,
    encode,
    prefix_lengths,
    spread,
    stored_tokens,
    terms_of,
)
from memstrata.types import MemoryRecord, Scope, context_line

T0 = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def rec(text: str, keys: tuple[str, ...] = (), actor: str | None = "Ana") -> MemoryRecord:
    return MemoryRecord(id="m", scope=Scope(user_id="u"), kind="episode", text=text,
                        actor=actor, keys=keys, valid_from=T0, recorded_at=T0)  # fmt: skip


def round_trip(record: MemoryRecord) -> None:
    terms = terms_of(record)
    stored = encode(terms, record.text)
    assert decode(stored, record.text) == terms
    assert stored_tokens(stored) == terms.tokens


def test_units_flags_and_head_come_back() -> None:
    for text in (
        "I adopted a puppy named Biscuit! Did you see her yesterday?",
        "Look at this [photo: a beagle on the grass] in the park. Nice?",
        "[photo: a cat]",
        "Dr. Smith said so.\nThen we left.",
        "!!!",
        "Café in Kraków, 1,000 zł… 我喜欢咖啡。",
        'a unit\x1ewith a separator\x1f in it. And "quotes" [photo: \x1e odd]',
    ):
        round_trip(rec(text, keys=("2023-05-31", "puppy")))
    round_trip(rec("no speaker, no keys", actor=None))


def test_a_unit_that_is_no_part_of_the_text_is_written_out() -> None:
    record = rec("We went [photo: a lake] there.")
    stored = encode(terms_of(record), record.text)
    assert '"We went there."' in stored
    round_trip(record)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(min_size=1, max_size=120),
    photo=st.text(alphabet=st.characters(blacklist_characters="]"), max_size=20),
    keys=st.lists(st.text(max_size=12), max_size=3),
)
def test_any_text_comes_back(text: str, photo: str, keys: list[str]) -> None:
    round_trip(rec(text, keys=tuple(keys)))
    round_trip(rec(f"{text} [photo: {photo}] {text}", keys=tuple(keys)))


def test_each_unit_says_whether_it_speaks_in_the_first_or_second_person() -> None:
    record = rec("I'm home. Did you eat? Mine is cold, is yours? The dog barked. Image, mime.")
    terms = terms_of(record)
    assert [t for t, _ in terms.units] == ["I'm home.", "Did you eat?", "Mine is cold, is yours?",
                                           "The dog barked.", "Image, mime."]  # fmt: skip
    assert terms.persons == (FIRST_PERSON, SECOND_PERSON, FIRST_PERSON | SECOND_PERSON, 0, 0)
    round_trip(record)


def test_terms_stored_before_persons_were_kept_read_as_neither() -> None:
    record = rec("I adopted a puppy. Did you see her?")
    old = encode(terms_of(record), record.text).split("\x1e", 1)
    terms = decode(f"{old[0][:1]}\x1e{old[1]}", record.text)
    assert terms.persons == () and terms.person(0) == terms.person(1) == 0
    assert [t for t, _ in terms.units] == ["I adopted a puppy.", "Did you see her?"]


def spread_as_decoded(stored: list[str], texts: list[str]) -> None:
    """``spread`` of many memories says what ``decode`` of each says."""
    read = spread(stored, texts)
    each: list[Terms] = [decode(s, t) for s, t in zip(stored, texts, strict=True)]

    def tokens(piece: int) -> list[str]:
        text = read.pieces[piece]
        return text.split(" ") if text else []

    assert [tokens(p) for p in read.head_piece.tolist()] == [list(t.head) for t in each]
    assert [tokens(p) for p in read.unit_piece.tolist()] == [
        list(words) for terms in each for _, words in terms.units
    ]
    assert len(read.pieces) == len(read.head_piece) + len(read.unit_piece)
    assert read.heads.tolist() == [len(terms.head) for terms in each]
    assert read.units.tolist() == [len(terms.units) for terms in each]
    assert read.unit_text == [text for terms in each for text, _ in terms.units]
    assert read.unit_tokens.tolist() == [len(words) for terms in each for _, words in terms.units]
    assert read.unit_person == [p for terms in each for p in terms.unit_persons()]
    assert read.has_time == [terms.has_time for terms in each]
    assert read.is_question == [terms.is_question for terms in each]
    assert read.photo == [terms.photo for terms in each]


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.text(max_size=80), max_size=6), actor=st.sampled_from([None, "Ana"]))
def test_many_memories_read_at_once_as_each_alone(texts: list[str], actor: str | None) -> None:
    texts = [*texts, "We went [photo: a lake] there.", "Did you eat? I did, yesterday."]
    records = [rec(text, keys=("2023-05-31",) if i % 2 else (), actor=actor)
               for i, text in enumerate(texts)]  # fmt: skip
    stored = [encode(terms_of(r), r.text) for r in records]
    spread_as_decoded(stored, [r.text for r in records])
    # Terms stored before units' persons were kept read as neither person.
    old = [f"{s[:1]}\x1e{s.split(chr(0x1E), 1)[1]}" for s in stored]
    spread_as_decoded(old, [r.text for r in records])
    spread_as_decoded([], [])


def test_a_brief_s_context_prefix_is_how_its_record_s_context_line_starts() -> None:
    later = datetime(2024, 12, 31, 23, 59, tzinfo=UTC)
    records = (rec("hello"), rec("hi", actor=None),
               MemoryRecord(id="f", scope=Scope(user_id="u"), kind="fact", text="Ana runs.",
                            recorded_at=later))  # fmt: skip
    for record in records:
        assert context_prefix(Brief.of(record)) + record.text == context_line(record)
    briefs = [Brief.of(record) for record in records]
    assert prefix_lengths(Briefs.of(briefs)) == [len(context_prefix(b)) for b in briefs]


def test_the_days_of_memories_are_their_own_then_their_keys_iso_days() -> None:
    briefs = Briefs.of([
        Brief.of(rec("a", keys=("2023-05-31", "may 2023", "week of 2023-05-29", "2023-06-01"))),
        Brief.of(rec("b")),
        Brief.of(rec("c", keys=("2023-13-01", "2023-02-30", "1 June 2023", "2023-06-02"))),
    ])  # fmt: skip
    own = T0.toordinal()
    day = [datetime(2023, 5, d, tzinfo=UTC).toordinal() for d in (31,)] + [
        datetime(2023, 6, d, tzinfo=UTC).toordinal() for d in (1, 2)
    ]
    assert days(briefs) == ([0, 1, 2, 0, 0, 2], [own, own, own, *day])
