"""An application's own extraction rules, per Memory, per scope and per call: shown to the model,
labels kept on facts and filterable, the rules' version recorded, bad rules refused."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import StringConstraints, TypeAdapter, ValidationError

from memstrata import AsyncMemory, InvalidInputError, Memory
from memstrata.llms import OpenAICompatLLM
from memstrata.options import TOPIC_PATTERN
from memstrata.prompts import extract_facts
from memstrata.testing import Reply, ScriptedLLMServer
from memstrata.write.pipeline import PipelineConfig

HEALTH = {
    "instructions": "Only remember the user's health and schedule.",
    "exclude": ["sports results"],
    "categories": {"health": "illness, medication, allergies", "schedule": "appointments"},
}


def fact(text: str, source: str, categories: list[str]) -> dict[str, Any]:
    return {"text": text, "subject": "Ana", "sources": [source], "categories": categories}


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as scripted:
        yield scripted


def memory(path: Path, server: ScriptedLLMServer, **config: Any) -> Memory:
    llm = OpenAICompatLLM(server.base_url, model="scripted", backoff=0.01, max_retries=1)
    options = {"wait_for_full_batch": False, **config}
    return Memory(path, embedder="hashing", llm=llm, pipeline=PipelineConfig(**options))


def last_prompt(server: ScriptedLLMServer) -> str:
    prompt = server.chat_requests[-1].last_user
    assert prompt is not None
    return prompt


def test_a_scopes_rules_reach_the_model_and_label_the_facts(
    tmp_path: Path, server: ScriptedLLMServer
) -> None:
    server.on_prompt(
        "extract_facts",
        Reply.json({"facts": [fact("Ana takes insulin daily.", "m1", ["health", "made-up"])]}),
    )
    with memory(tmp_path / "m.db", server) as mem:
        mem.set_extraction(HEALTH, user_id="ana")
        rules = mem.extraction(user_id="ana")
        assert rules is not None and rules.categories == HEALTH["categories"]
        assert mem.extraction(user_id="bob") is None
        mem.add({"id": "m1", "speaker": "Ana", "text": "I take insulin every day"}, user_id="ana")
        prompt = last_prompt(server)
        assert "Only remember the user's health and schedule." in prompt
        assert "Never extract facts about: sports results." in prompt
        assert "- health: illness, medication, allergies" in prompt
        (found,) = mem.list(user_id="ana", kinds=["fact"]).records
        assert found.metadata["categories"] == ["health"]  # an unknown label is dropped
        version = f"{extract_facts.VERSION}+{rules.version}"
        assert found.metadata["extracted_by"] == version
        assert mem.history(found.id, user_id="ana")[0].prompt_version == version
        # Another scope is extracted as the Memory says: no rules shown.
        mem.add({"id": "b1", "speaker": "Bo", "text": "I run"}, user_id="bob")
        assert "APPLICATION RULES" not in last_prompt(server)


def test_a_calls_rules_win_over_the_scopes_and_the_memorys(
    tmp_path: Path, server: ScriptedLLMServer
) -> None:
    server.on_prompt("extract_facts", Reply.json({"facts": []}))
    base = extract_facts.Custom(instructions="Memory-wide rule.")
    with memory(tmp_path / "m.db", server, extraction=base) as mem:
        mem.add({"id": "1", "text": "hello"}, user_id="ana")
        assert "Memory-wide rule." in last_prompt(server)
        mem.set_extraction({"instructions": "Scope rule."}, user_id="ana")
        mem.add({"id": "2", "text": "hello"}, user_id="ana")
        assert "Scope rule." in last_prompt(server)
        mem.add({"id": "3", "text": "hi"}, user_id="ana", extraction={"include": ["travel"]})
        assert "Only extract facts about: travel." in last_prompt(server)
        assert "Scope rule." not in last_prompt(server)
        mem.set_extraction(None, user_id="ana")
        assert mem.extraction(user_id="ana") == base


@pytest.mark.parametrize(
    "rules",
    [
        {"categories": {"Not A Label": ""}},
        {"instructions": "x" * 5000},
        {"include": [""]},
        # Characters Python reads as space (record and unit separators): nothing is left.
        {"exclude": ["a", "\x1e"]},
        {"include": ["\x1c\x1f"]},
        {"unknown": 1},
        "only health",
    ],
)
def test_bad_rules_are_refused_with_a_message(tmp_path: Path, rules: Any) -> None:
    with Memory(tmp_path / "m.db", embedder="hashing") as mem:
        with pytest.raises(InvalidInputError, match="extraction rules"):
            mem.set_extraction(rules, user_id="ana")
        with pytest.raises(InvalidInputError, match="extraction rules"):
            mem.add("hello", user_id="ana", extraction=rules)
        assert mem.list(user_id="ana").records == ()


def test_a_topics_pattern_says_what_python_counts_as_space() -> None:
    """The schema's pattern for a topic and the check that folds its spaces agree on every
    character, read by Python's ``re`` and by pydantic's own regex engine, whose ``\\s`` leaves
    out U+001C to U+001F: a client that followed the schema was refused a topic of only a
    group separator (U+001D)."""
    python = re.compile(TOPIC_PATTERN)
    pydantic = TypeAdapter(Annotated[str, StringConstraints(pattern=TOPIC_PATTERN)])
    assert not re.search(r"\\[sSwWdD]", TOPIC_PATTERN)  # no class an engine reads its own way
    for point in [*range(0x3100), 0xFEFF]:
        char = chr(point)
        has_words = bool(char.split())
        assert bool(python.search(f" {char} ")) == has_words, hex(point)
        try:
            pydantic.validate_python(f" {char} ")
        except ValidationError:
            assert not has_words, hex(point)
        else:
            assert has_words, hex(point)


def test_rules_stored_with_an_empty_topic_are_read_without_it(tmp_path: Path) -> None:
    """A store written before topics were checked as Python folds spaces may hold a topic of
    only a record separator, kept as ''. Reading the scope's rules gives them without it."""
    path = tmp_path / "m.db"
    with Memory(path, embedder="hashing") as mem:
        mem.set_extraction({"include": ["travel", "EMPTY"], "exclude": ["EMPTY"]}, user_id="ana")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = replace(value, '\"EMPTY\"', '\"\"')")
    with Memory(path, embedder="hashing") as mem:
        rules = mem.extraction(user_id="ana")
        assert rules is not None
        assert (rules.include, rules.exclude) == (("travel",), ())
        mem.add("I fly to Lisbon on Friday.", user_id="ana")
        assert len(mem.list(user_id="ana").records) == 1


def test_the_async_twin_sets_and_reads_rules(tmp_path: Path) -> None:
    async def main() -> str | None:
        async with AsyncMemory(tmp_path / "m.db", embedder="hashing") as mem:
            await mem.set_extraction({"instructions": "Schedules only."}, user_id="ana")
            rules = await mem.extraction(user_id="ana")
            return None if rules is None else rules.instructions

    assert asyncio.run(main()) == "Schedules only."
