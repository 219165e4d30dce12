"""The folded form pattern matching reads (``memstrata.text.fold_for_matching``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memstrata.text import _fold_char, fold_for_matching


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Caf\u00e9 \u00dcBER na\u00efve", "cafe uber naive"),  # accents dropped
        ("Stra\u00dfe", "strasse"),
        ("\uff29\uff27\uff2e\uff2f\uff32\uff25", "ignore"),  # full-width
        ("\U0001d408\U0001d420\U0001d427", "ign"),  # mathematical bold
        ("\ufb01ne", "fine"),  # a ligature
        ("Ig\u200bno\u00adre\u2060d", "ignored"),  # zero-width space, soft hyphen, word joiner
        ("\u0399gnore", "ignore"),  # Greek capital iota
        ("\u0455\u0443\u0455t\u0435m", "system"),  # Cyrillic look-alikes
        ("\u0397ELLO \u03b7", "hello n"),  # Greek capital eta is H, its small letter n
        ("\u026a\u0262\u0274\u1d0f\u0280\u1d07", "ignore"),  # small capitals
        ("it\u2019s \u201cfine\u201d \u2014 ok", 'it\'s "fine" - ok'),
        ("a\tb\r\nc", "a b\n\nc"),
        ("1gn0re h4ck3r 4th 2024 mp3", "ignore hacker 4th 2024 mp3"),  # in words of 4 or more
        ("I g n o r e   a l l", "ignore all"),
        ("s.y.s.t.e.m p.r.o.m.p.t", "system prompt"),
        ("x" + "".join(chr(0xE0000 + ord(c)) for c in "Hi"), "xhi"),  # tag characters
    ],
)
def test_folding_takes_the_disguise_off(text: str, folded: str) -> None:
    assert fold_for_matching(text).text == folded


def test_the_ascii_shortcut_reads_every_character_as_the_general_path_does() -> None:
    for code in range(128):
        assert fold_for_matching(chr(code)).text == _fold_char(chr(code)), repr(chr(code))


def test_a_folded_span_maps_back_to_the_words_it_came_from() -> None:
    text = "Well. \uff29g\u200bnore  i g n o r e"
    folded = fold_for_matching(text)
    start = folded.text.index("ignore")
    begin, end = folded.span(start, start + len("ignore"))
    assert text[begin:end] == "\uff29g\u200bnore"
    second = folded.text.rindex("ignore")
    begin, end = folded.span(second, second + len("ignore"))
    assert text[begin:end] == "i g n o r e"


@given(st.text(max_size=200))
def test_folding_never_fails_and_every_character_has_an_origin(text: str) -> None:
    folded = fold_for_matching(text)
    assert len(folded.origin) == len(folded.text)
    assert all(0 <= i < len(text) for i in folded.origin)
    assert list(folded.origin) == sorted(folded.origin)
    assert folded.text == folded.text.casefold() or not folded.text.isascii()
