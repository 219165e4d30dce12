"""Tolerant reading of model output: pure functions, never raising on bad text."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from memstrata.llms.parsing import (
    format_validation_error,
    json_candidates,
    loads_lenient,
    parse_json,
    parse_output,
    strip_reasoning,
)


class Item(BaseModel):
    text: str = Field(min_length=1)
    score: float = 0.0


class Items(BaseModel):
    items: list[Item]


class Decision(BaseModel):
    decision: str
    id: str | None = None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Here you go:\n```json\n{"a": 1}\n```\nAnything else?', {"a": 1}),
        ("```\n{'a': 1}\n```", {"a": 1}),
        ('<think>I should answer {"a": 0}</think>\n{"a": 1}', {"a": 1}),
        ('<THINKING>\nmaybe [1]\n</THINKING>{"a": 1}', {"a": 1}),
        ('reasoning without an opening tag</think>{"a": 1}', {"a": 1}),
        ('{"a": [1, 2, 3,],}', {"a": [1, 2, 3]}),
        ("{'a': 'it\\'s', 'b': \"x\"}", {"a": "it's", "b": "x"}),
        ("{'a': \"Alice's cat\"}", {"a": "Alice's cat"}),
        ("{'a': 'Alice's cat'}", {"a": "Alice's cat"}),
        ("{a: 1, b_c: 'x', $d: 2}", {"a": 1, "b_c": "x", "$d": 2}),
        ("{'a': True, 'b': False, 'c': None}", {"a": True, "b": False, "c": None}),
        ('{"a": undefined, "b": NaN}', {"a": None, "b": None}),
        ('{"a": 1, // one\n "b": 2 /* two */, # three\n "c": 3}', {"a": 1, "b": 2, "c": 3}),
        ('{"a": [1, {"b": 2', {"a": [1]}),  # an object cut off is not kept
        ('{"a": [{"t": "done"}, {"t": "unfini', {"a": [{"t": "done"}]}),
        ('{"a": [{"t": "done"}]', {"a": [{"t": "done"}]}),  # only the last brace missing
        ('{"a": 1 "b": 2}', {"a": 1, "b": 2}),
        ('{"a": "he said "hi" twice"}', {"a": 'he said "hi" twice'}),
        ("{\u201ca\u201d: \u201cb\u201d}", {"a": "b"}),
        ('"{\\"a\\": [1, 2]}"', {"a": [1, 2]}),
        ('[JSON] follows: {"a": 1}', {"a": 1}),
        ('{"decision": ADD}', {"decision": "ADD"}),
        ('{"e": "\\ud83d\\ude00 \\u00e9"}', {"e": "😀 é"}),
        ('{"n": -1.5e3, "m": +2, "k": .5}', {"n": -1500.0, "m": 2, "k": 0.5}),
        ('{"multi": "line one\nline two"}', {"multi": "line one\nline two"}),
        ("no json at all", None),
        ("", None),
        ("[" * 500, None),
    ],
)
def test_parse_json_repairs(text: str, expected: Any) -> None:
    assert parse_json(text) == expected


def test_strip_reasoning() -> None:
    assert strip_reasoning("<think>a</think>b") == "b"
    assert strip_reasoning("x <think>never closed {") == "x"
    assert strip_reasoning("plain") == "plain"


def test_loads_lenient_reads_from_the_start() -> None:
    assert loads_lenient('{"a": 1,}') == {"a": 1}
    assert loads_lenient("nothing") == "nothing"
    assert loads_lenient("@") is None


def test_candidates_come_fenced_first_and_unique() -> None:
    text = 'prefix {"b": 2}\n```json\n{"a": 1}\n```'
    found = list(json_candidates(text))
    assert found[0] == {"a": 1}
    assert {"b": 2} in found
    assert len(found) == len({json.dumps(v, sort_keys=True) for v in found})


def test_parse_output_validates_and_reports() -> None:
    ok = parse_output('```json\n{"items": [{"text": "a", "score": "0.5"},]}\n```', Items)
    assert ok.ok and ok.value is not None
    assert ok.value.items[0].score == 0.5
    bad = parse_output('{"items": [{"score": 1}]}', Items)
    assert not bad.ok
    assert bad.error is not None and "items.0.text" in bad.error
    none = parse_output("I cannot help with that.", Items)
    assert none.value is None and none.error == "the answer holds no JSON object"


def test_parse_output_fixes_the_outer_layer() -> None:
    bare_list = parse_output('[{"text": "a"}, {"text": "b"}]', Items)
    assert bare_list.value is not None and [i.text for i in bare_list.value.items] == ["a", "b"]
    wrapped = parse_output('{"answer": {"decision": "ADD"}}', Decision)
    assert wrapped.value == Decision(decision="ADD")
    one_item = parse_output('[{"decision": "NOOP", "id": "2"}]', Decision)
    assert one_item.value == Decision(decision="NOOP", id="2")


def test_parse_output_skips_a_stray_array_before_the_answer() -> None:
    result = parse_output('Fields: [decision, id]. Answer: {"decision": "ADD"}', Decision)
    assert result.value == Decision(decision="ADD")


# -- what a cut answer keeps ----------------------------------------------------------------


class Fact(BaseModel):
    text: str = Field(min_length=1)
    sources: list[str] = []


class Facts(BaseModel):
    facts: list[Fact] = []


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ('{"facts": [{"text": "unfinished",', {"facts": []}),
        ('{"facts": [{"text": "unfinished"', {"facts": []}),  # its closing brace never came
        ('{"facts": [{"text": "a", "sources": ["m1", "m2', {"facts": []}),
        ('{"facts": [{"text": "a"}, {"text": "b", "sour', {"facts": [{"text": "a"}]}),
        ('{"facts": [{"text": "a"},', {"facts": [{"text": "a"}]}),  # another was due
        ('{"facts": [', {"facts": []}),
        ("{", {}),
        ('{"decision": "NOOP", "id": 2', {"decision": "NOOP"}),  # 2 may be the start of 25
        ('{"items": [1, 2, tru', {"items": [1, 2]}),
        ('```json\n{"facts": [{"text": "a"}, {"te', {"facts": [{"text": "a"}]}),
    ],
)
def test_a_cut_answer_keeps_only_complete_items_and_is_never_taken(
    text: str, complete: Any
) -> None:
    assert parse_json(text) == complete
    result = parse_output(text, Facts)
    assert result.value is None and result.truncated
    assert result.error is not None and "cut off" in result.error


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"facts": [{"text": "a"}]', {"facts": [{"text": "a"}]}),
        ('{"facts": [{"text": "a"}', {"facts": [{"text": "a"}]}),
        ('{"facts": []', {"facts": []}),
    ],
)
def test_brackets_alone_missing_after_complete_values_are_repaired(text: str, value: Any) -> None:
    result = parse_output(text, Facts)
    assert not result.truncated and result.value == Facts.model_validate(value)


def test_a_complete_answer_beside_a_cut_one_is_taken() -> None:
    text = '```json\n{"facts": [{"text": "a"}]}\n```\nor maybe {"facts": [{"text": "b'
    result = parse_output(text, Facts)
    assert result.value == Facts(facts=[Fact(text="a")]) and not result.truncated


def test_an_inner_list_of_a_cut_answer_is_not_read_as_the_answer() -> None:
    # the sources of a cut fact are not a list of facts
    text = '{"facts": [{"text": "Ana moved.", "sources": ["m1", "m2"'
    assert parse_output(text, Facts).value is None
    assert list(json_candidates(text)) == [{"facts": []}]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"text": st.text(min_size=1, max_size=12), "sources": st.lists(st.text(max_size=4))}
        ),
        min_size=1,
        max_size=4,
    ),
    st.integers(min_value=1),
    st.booleans(),
)
def test_any_cut_keeps_a_prefix_of_complete_items(
    facts: list[dict[str, Any]], at: int, pretty: bool
) -> None:
    text = json.dumps({"facts": facts}, indent=1 if pretty else None)
    cut = text[: 1 + at % (len(text) - 1)]  # never the whole text
    kept = parse_json(cut)
    if kept is not None:
        assert isinstance(kept, dict) and set(kept) <= {"facts"}
        items = kept.get("facts", [])
        assert items == facts[: len(items)]  # whole items, in order, none made up
    result = parse_output(cut, Facts)
    if result.value is not None:  # only brackets were missing after complete items
        assert not result.truncated
        taken = [f.model_dump() for f in result.value.facts]
        assert taken == facts[: len(taken)]
    elif result.truncated:
        assert result.error is not None and "cut off" in result.error


def test_format_validation_error_is_short() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        Items.model_validate({"items": [{}] * 10})
    message = format_validation_error(info.value, limit=3)
    assert message.count("Field required") == 3
    assert message.endswith("and 7 more")


# -- properties -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
noise = st.text(
    alphabet=st.sampled_from(list("{}[]\"',:/*#\\ \n\tabcTrueFalseNone0123456789.<>think`")),
    max_size=200,
)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=400))
def test_parsing_never_raises_on_arbitrary_text(text: str) -> None:
    parse_json(text)
    list(json_candidates(text))
    loads_lenient(text)
    strip_reasoning(text)
    assert parse_output(text, Items).error is not None or parse_output(text, Items).ok


@settings(max_examples=400, deadline=None)
@given(noise)
def test_parsing_never_raises_on_json_like_noise(text: str) -> None:
    parse_json(text)
    result = parse_output(text, Decision)
    assert result.ok or result.error


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, min_size=1, max_size=5), noise)
def test_valid_json_survives_prose_and_fences(value: dict[str, Any], prose: str) -> None:
    prose = prose.replace("`", "").replace("{", "").replace("[", "")
    prose = prose.replace("<", "")
    text = f"{prose}\n```json\n{json.dumps(value)}\n```\n{prose}"
    assert parse_json(text) == value


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, min_size=1, max_size=5))
def test_trailing_commas_are_repaired(value: dict[str, Any]) -> None:
    text = json.dumps(value, indent=1).replace("\n}", ",\n}").replace("\n]", ",\n]")
    assert parse_json(text) == value


@pytest.mark.parametrize(
    "text",
    [
        '["a"x' * 6000,
        "```" * 10000,
        "<think>" * 4500,
        "<think" * 4500,
        "{" * 30000,
        '{"a": [' * 4000,
        "[" + "," * 30000,
        "'" * 30000,
        "{/*" * 10000,
    ],
    ids=lambda t: repr(t[:8]),
)
def test_pathological_text_is_read_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    parse_output(text, Items)
    assert time.perf_counter() - started < 2.0
