"""What the framework integrations share: the memory tools, and no framework at import time."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from memstrata import InvalidInputError, Memory, ScopeRequiredError
from memstrata.integrations.tools import LONG_TERM, MemoryTools, memory_tools
from memstrata.llms import OpenAICompatLLM
from memstrata.memory import AsyncMemory
from memstrata.testing import ScriptedLLMServer, facts_per_message
from memstrata.types import MemoryKind
from memstrata.write.pipeline import PipelineConfig

FRAMEWORKS = ("langgraph", "langchain_core", "agents", "openai", "pydantic_ai", "llama_index")


def test_importing_memstrata_imports_no_framework() -> None:
    code = (
        "import sys, memstrata, memstrata.integrations, memstrata.integrations.tools, "
        "memstrata.integrations.namespaces\n"
        f"print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_search_and_remember_stay_in_their_scope(mem: Memory) -> None:
    ada = MemoryTools(mem, user_id="ada")
    assert ada.remember("Ada moved to Lisbon in May").startswith("Remembered [id ")
    MemoryTools(mem, user_id="bob").remember("Bob moved to Lisbon too")
    found = ada.search_memories("who moved to Lisbon")
    assert found.splitlines()[0] == "Memories for 'who moved to Lisbon', best first:"
    assert "Ada moved to Lisbon in May" in found and "Bob" not in found
    assert ada.search_memories("   ") == "error (invalid_input): query is empty"
    assert MemoryTools(mem, user_id="eve").search_memories("Lisbon") == (
        "No memories match 'Lisbon'."
    )


def test_remember_stores_a_message_that_is_its_own_source(mem: Memory) -> None:
    answer = MemoryTools(mem, user_id="ada", metadata={"via": "tool"}).remember(
        "Ada is allergic to peanuts"
    )
    (record,) = mem.list(user_id="ada").records
    assert answer == f"Remembered [id {record.id}]: Ada is allergic to peanuts"
    assert (record.kind, record.actor) == ("episode", "assistant")
    assert record.metadata == {"via": "tool", "role": "assistant"}
    (said,) = mem.sources(record.id, user_id="ada")
    assert (said.text, said.role) == ("Ada is allergic to peanuts", "assistant")


def test_with_a_model_facts_are_drawn_from_what_the_tool_remembers(
    db_path: Path, scripted: ScriptedLLMServer
) -> None:
    scripted.on_prompt("extract_facts", facts_per_message())
    config = PipelineConfig(wait_for_full_batch=False)
    with (
        OpenAICompatLLM(scripted.base_url, model="scripted", max_retries=0) as llm,
        Memory(db_path, embedder="hashing", llm=llm, pipeline=config) as memory,
    ):
        MemoryTools(memory, user_id="ada").remember("Ada is allergic to peanuts")
        (message,) = memory.list(user_id="ada", kinds=["episode"]).records
        (fact,) = memory.list(user_id="ada", kinds=["fact"]).records
    assert fact.text == "assistant said: Ada is allergic to peanuts"
    assert fact.sources == message.sources


@pytest.mark.parametrize("kind", ["fact", "summary", "thought"])
def test_a_derived_kind_is_refused_when_the_tools_are_made(mem: Memory, kind: MemoryKind) -> None:
    with pytest.raises(InvalidInputError, match=rf"a {kind} is derived .* add\(\)"):
        MemoryTools(mem, user_id="ada", kind=kind)
    with pytest.raises(InvalidInputError, match="unknown kind"):
        MemoryTools(mem, user_id="ada", kind="note")  # type: ignore[arg-type]


def test_the_search_tool_leaves_working_memories_out(mem: Memory) -> None:
    assert set(LONG_TERM) == set(get_args(MemoryKind)) - {"working"}
    mem.remember("step: looked up Lisbon trains", kind="working", user_id="ada")
    assert "No memories" in MemoryTools(mem, user_id="ada").search_memories("Lisbon trains")
    every = MemoryTools(mem, user_id="ada", kinds=None).search_memories("Lisbon trains")
    assert "looked up Lisbon trains" in every


def test_limit_budget_and_kind(mem: Memory) -> None:
    for i in range(4):
        mem.add(f"Lisbon note {i}: the tram climbs the hill past the castle", user_id="ada")
    assert MemoryTools(mem, user_id="ada", limit=2).search_memories("Lisbon").count("\n- ") == 2
    fitted = MemoryTools(mem, user_id="ada", budget=90).search_memories("Lisbon tram")
    assert 1 <= fitted.count("\n- ") < 4
    tools = MemoryTools(mem, user_id="ada", kind="procedure", metadata={"via": "tool"})
    tools.remember("Book trains a week ahead")
    (record,) = mem.list(user_id="ada", kinds=["procedure"]).records
    assert (record.metadata, record.sources) == ({"via": "tool"}, ())
    MemoryTools(mem, user_id="ada", kind="working").remember("step: compared train times")
    assert len(mem.list(user_id="ada", kinds=["working"]).records) == 1


def test_async_twins_keep_names_signatures_and_docs(mem: Memory) -> None:
    tools = memory_tools(AsyncMemory(mem.store, embedder="hashing"), user_id="ada")
    assert tools.memory is not mem and isinstance(tools.memory, Memory)
    for sync, run in zip(tools.functions(), tools.async_functions(), strict=True):
        assert inspect.iscoroutinefunction(run)
        assert (run.__name__, run.__doc__) == (sync.__name__, sync.__doc__)
        assert inspect.signature(run) == inspect.signature(sync)
    remember = tools.async_functions()[1]
    assert asyncio.run(remember(text="Ada likes tea")).startswith("Remembered")


def test_tools_need_a_scope(mem: Memory) -> None:
    with pytest.raises(ScopeRequiredError):
        MemoryTools(mem)
