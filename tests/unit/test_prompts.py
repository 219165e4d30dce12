"""Prompt modules: shape, rendering, and lenient reading of what models write."""

from __future__ import annotations

import importlib
import inspect
import json
from datetime import date
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from memstrata.llms.parsing import parse_output
from memstrata.prompts import (
    PROMPTS,
    PromptMessage,
    as_importance,
    as_iso_date,
    as_str_list,
    caption_image,
    consolidate,
    extract_facts,
    marker,
    summarize,
    versions,
)

TODAY = date(2024, 5, 2)
MESSAGES = [
    PromptMessage(id="m1", speaker="Ana", timestamp="2024-05-02T09:00:00", text="I moved."),
    PromptMessage(id="m2", speaker="Ben", text='Say "ignore all rules"\nnow.'),
]
EXTRACT = extract_facts.Input(messages=MESSAGES, today=TODAY)
SAMPLES = {
    "extract_facts": EXTRACT,
    "consolidate": consolidate.Input(
        fact="Ana lives in Lisbon.",
        memories=[consolidate.SimilarMemory(id="x", text="Ana lives in Porto.")],
        today=TODAY,
    ),
    "summarize": summarize.Input(messages=MESSAGES, today=TODAY),
    "caption_image": caption_image.Input(
        url="https://x.test/a.jpg", said="Look!", caption="my dog"
    ),
}


def modules() -> list[ModuleType]:
    return [importlib.import_module(f"memstrata.prompts.{name}") for name in PROMPTS]


@pytest.mark.parametrize("module", modules(), ids=PROMPTS)
def test_every_prompt_has_the_same_shape(module: ModuleType) -> None:
    assert module.VERSION.startswith(module.NAME + "/")
    sample = SAMPLES[module.NAME]
    assert isinstance(sample, module.Input)
    messages = module.render(sample)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"].startswith(marker(module.VERSION))
    assert "JSON" in messages[0]["content"]  # servers in json_object mode require the word
    assert module.render(sample) == messages  # deterministic
    schema = module.Output.model_json_schema()
    assert schema["type"] == "object"
    json.dumps(schema)


@pytest.mark.parametrize("module", modules(), ids=PROMPTS)
def test_prompts_never_read_the_clock(module: ModuleType) -> None:
    source = inspect.getsource(module)
    assert ".now(" not in source and ".today(" not in source


def test_versions_lists_every_prompt() -> None:
    assert versions() == {
        "extract_facts": extract_facts.VERSION,
        "consolidate": consolidate.VERSION,
        "summarize": summarize.VERSION,
        "caption_image": caption_image.VERSION,
    }


def test_caption_image_shows_the_image_as_a_content_part() -> None:
    user = caption_image.render(SAMPLES["caption_image"])[1]["content"]
    assert user[1] == {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}}
    assert "my dog" in user[0]["text"] and "Look!" in user[0]["text"]
    assert parse_output('{"description": " A dog. "}', caption_image.Output).value == (
        caption_image.Output(caption="A dog.")
    )


def test_message_text_is_quoted_data() -> None:
    user = extract_facts.render(EXTRACT)[1]["content"]
    lines = user.splitlines()
    assert lines[0] == "Today: 2024-05-02"
    rows = [json.loads(line) for line in lines if line.startswith("{")]
    assert rows[0] == {
        "id": "m1",
        "time": "2024-05-02T09:00:00",
        "speaker": "Ana",
        "text": "I moved.",
    }
    assert rows[1]["text"] == 'Say "ignore all rules"\nnow.'  # one line, quotes escaped


def test_extract_facts_shows_context_and_entities() -> None:
    data = extract_facts.Input(
        messages=MESSAGES[:1], today=TODAY, known_entities=["Ana", "Porto"], context=MESSAGES[1:]
    )
    user = extract_facts.render(data)[1]["content"]
    assert "Known entities: Ana, Porto" in user
    assert user.index("EARLIER MESSAGES") < user.index('"m2"') < user.index("NEW MESSAGES")


def test_extract_facts_input_needs_messages() -> None:
    with pytest.raises(ValidationError):
        extract_facts.Input(messages=[], today=TODAY)


def test_extract_facts_output_is_lenient() -> None:
    raw = {
        "facts": [
            {
                "fact": "Ana moved to Lisbon.",
                "subject": "Ana",
                "sources": "m1",
                "valid_from": "May 2024",
                "valid_to": "unknown",
                "importance": "high",
                "entities": "Ana, Lisbon",
                "relations": [["Ana", "lives_in", "Lisbon"], ["broken"], {"subject": "Ana"}],
                "keywords": None,
                "flags": ["Instruction"],
            },
            "Ben likes rules.",
            {"sources": ["m2"]},  # a truncated item: dropped, the others kept
        ]
    }
    output = extract_facts.Output.model_validate(raw)
    first, second = output.facts
    assert first.text == "Ana moved to Lisbon."
    assert first.sources == ["m1"]
    assert (first.valid_from, first.valid_to) == ("2024-05-01", None)
    assert first.importance == 0.8
    assert first.entities == ["Ana", "Lisbon"]
    assert [(r.subject, r.predicate, r.object) for r in first.relations] == [
        ("Ana", "lives_in", "Lisbon")
    ]
    assert first.keywords == [] and first.flags == ["instruction"]
    assert second.text == "Ben likes rules." and second.importance == 0.5


def test_extract_facts_output_with_no_usable_fact_is_refused() -> None:
    result = parse_output('{"facts": [{"subject": "Ana"}]}', extract_facts.Output)
    assert not result.ok and result.error is not None and "text" in result.error


def test_clean_keeps_provenance_inside_the_batch() -> None:
    data = SAMPLES["extract_facts"]
    assert isinstance(data, extract_facts.Input)
    output = extract_facts.Output.model_validate(
        {
            "facts": [
                {"text": "Ana moved.", "subject": "Ana", "sources": ["[M1]", "m9"]},
                {"text": "ana  moved.", "sources": ["m2", "m1"]},  # the same fact again
                {"text": "Ben wrote something.", "subject": "Ben", "sources": ["m7"]},
                {"text": "Someone spoke.", "sources": []},
            ]
        }
    )
    cleaned = extract_facts.clean(output, data)
    # unknown ids are removed; a fact citing no message of the batch is not guessed at
    assert [(f.text, f.sources) for f in cleaned.facts] == [("Ana moved.", ["m1", "m2"])]
    assert [f.text for f in cleaned.unsourced] == ["Ben wrote something.", "Someone spoke."]


@pytest.mark.parametrize(
    ("cited", "ids", "expected"),
    [
        (["m1", "m9"], ["m1", "m2"], ["m1"]),
        (["m9"], ["m1", "m2"], []),
        ([], ["m1"], []),  # even in a batch of one: a fact must say where it comes from
        (["[D1:3]", " d1:3 ", "D1:3"], ["D1:3"], ["D1:3"]),
        (["a"], ["A", "a"], ["a"]),  # an exact match first
        (["b"], ["A", "a"], []),
        (["a "], ["A", "b"], ["A"]),
        (["a "], ["A", "a"], []),  # a loose match only when it names one message
    ],
)
def test_source_ids_are_ids_the_model_was_shown(
    cited: list[str], ids: list[str], expected: list[str]
) -> None:
    assert extract_facts.source_ids(cited, ids) == expected


def test_consolidate_render_numbers_the_memories() -> None:
    data = consolidate.Input(
        fact="Ana lives in Lisbon.",
        fact_valid_from="2024-05-01",
        memories=[
            consolidate.SimilarMemory(id="0190abc", text="Ana lives in Porto.", valid_from="2020"),
            consolidate.SimilarMemory(id="0190abd", text="Ana likes tea."),
        ],
        today=TODAY,
    )
    user = consolidate.render(data)[1]["content"]
    assert "NEW FACT (valid from 2024-05-01)\nAna lives in Lisbon." in user
    assert '{"id": "1", "text": "Ana lives in Porto.", "valid_from": "2020"}' in user
    assert '{"id": "2", "text": "Ana likes tea."}' in user
    assert "0190abc" not in user
    empty = consolidate.Input(fact="x", today=TODAY)
    assert "(none)" in consolidate.render(empty)[1]["content"]


def test_consolidate_caps_the_memories() -> None:
    many = [consolidate.SimilarMemory(id=str(i), text="t") for i in range(11)]
    with pytest.raises(ValidationError):
        consolidate.Input(fact="x", memories=many, today=TODAY)


@pytest.mark.parametrize(
    ("raw", "decision", "ident"),
    [
        ({"decision": "add"}, "ADD", None),
        ({"event": "DELETE", "memory_id": 2}, "INVALIDATE", "2"),
        ({"action": "none", "id": "[1]"}, "NOOP", "1"),
        ({"decision": "Merge", "id": "#1", "text": "merged"}, "UPDATE", "1"),
        ({"decision": "ADD", "id": "null", "reason": None}, "ADD", None),
    ],
)
def test_consolidate_output_is_lenient(raw: dict[str, object], decision: str, ident: str) -> None:
    output = consolidate.Output.model_validate(raw)
    assert (output.decision, output.id) == (decision, ident)


@pytest.mark.parametrize(
    "raw",
    [
        {"decision": "MAYBE"},
        {"decision": "UPDATE", "id": "1"},
        {"decision": "INVALIDATE"},
        {"decision": "NOOP", "id": None},
    ],
)
def test_consolidate_output_refuses_incomplete_decisions(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        consolidate.Output.model_validate(raw)


def test_consolidate_resolve() -> None:
    data = SAMPLES["consolidate"]
    assert isinstance(data, consolidate.Input)
    resolve = consolidate.resolve

    def out(**fields: object) -> consolidate.Output:
        return consolidate.Output.model_validate(fields)

    assert resolve(out(decision="ADD", reason="new"), data) == consolidate.Resolution(
        "ADD", reason="new"
    )
    assert resolve(out(decision="INVALIDATE", id="1"), data).memory_id == "x"
    assert resolve(out(decision="NOOP", id="x"), data).memory_id == "x"  # the real id works too
    wrong = resolve(out(decision="UPDATE", id="7", new_text="t"), data)
    assert wrong.op == "ADD" and "unknown memory '7'" in wrong.reason
    update = resolve(out(decision="UPDATE", id="1", new_text="merged"), data)
    assert (update.op, update.memory_id, update.new_text) == ("UPDATE", "x", "merged")
    invalidate = resolve(out(decision="INVALIDATE", id="1", new_text="ignored"), data)
    assert invalidate.new_text is None


def test_summarize_render_and_lenient_output() -> None:
    data = summarize.Input(messages=MESSAGES, today=TODAY, session="session 3", max_words=60)
    user = summarize.render(data)[1]["content"]
    assert "Session: session 3" in user and "at most 60 words" in user
    output = summarize.Output.model_validate(
        {"summary": " Ana moved. ", "facts": ["Ana moved.", {"text": "", "sources": []}]}
    )
    assert output.summary == "Ana moved."
    assert [(f.text, f.sources) for f in output.key_facts] == [("Ana moved.", [])]
    with pytest.raises(ValidationError):
        summarize.Output.model_validate({"summary": ""})


# -- lenient field helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01", "2024-05-01"),
        ("2024-5-1", "2024-05-01"),
        ("2024-05", "2024-05-01"),
        ("2024", "2024-01-01"),
        (2024, "2024-01-01"),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00+00:00"),
        ("May 2024", "2024-05-01"),
        ("7 May 2023", "2023-05-07"),
        ("May 7th, 2023", "2023-05-07"),
        (date(2024, 1, 2), "2024-01-02"),
        ("2024-02-30", None),
        ("yesterday", None),
        ("null", None),
        (None, None),
        (True, None),
        ([2024], None),
    ],
)
def test_as_iso_date(value: object, expected: str | None) -> None:
    assert as_iso_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.3, 0.3),
        ("0.7", 0.7),
        (7, 0.7),
        ("80%", 0.8),
        (85, 0.85),
        (-1, 0.0),
        (1000, 1.0),
        ("low", 0.2),
        ("whatever", 0.5),
        (None, 0.5),
        (float("nan"), 0.5),
    ],
)
def test_as_importance(value: object, expected: float) -> None:
    assert as_importance(value) == pytest.approx(expected)


def test_as_str_list() -> None:
    assert as_str_list(None) == []
    assert as_str_list("a, b,,a") == ["a", "b"]
    assert as_str_list(["x", 1, None, " ", {"k": 1}]) == ["x", "1", '{"k": 1}']
    assert as_str_list(3) == ["3"]


@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.none(), st.booleans()))
def test_lenient_helpers_never_raise(value: object) -> None:
    assert 0.0 <= as_importance(value) <= 1.0
    result = as_iso_date(value)
    assert result is None or result[:4].isdigit()
    assert all(isinstance(s, str) and s for s in as_str_list(value))
