"""pydantic-ai: a real ``Agent.run`` loop (OpenAIChatModel on the scripted server) with
``MemstrataToolset``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from memstrata import Memory
from memstrata.integrations.tools import INSTRUCTIONS
from memstrata.testing import Reply, ScriptedLLMServer

from .conftest import example, framework, shown_in_docs

framework("pydantic_ai")
openai_models = framework("pydantic_ai.models.openai")
openai_providers = framework("pydantic_ai.providers.openai")
from memstrata.integrations.pydantic_ai import MemstrataToolset  # noqa: E402


@pytest.fixture
def mem(two_users: Memory) -> Memory:
    return two_users


def model(scripted: ScriptedLLMServer) -> Any:
    provider = openai_providers.OpenAIProvider(base_url=scripted.base_url, api_key="test")
    return openai_models.OpenAIChatModel("scripted", provider=provider)


def test_the_docs_example_is_the_file_the_tests_run() -> None:
    shown_in_docs("pydantic-ai.md", "pydantic_ai_agent")


def test_the_agent_searches_and_reads_the_memory(mem: Memory, scripted: ScriptedLLMServer) -> None:
    scripted.enqueue(
        Reply.tool_call("search_memories", {"query": "where does Ada live"}),
        Reply.text("In Lisbon."),
    )
    agent = example("pydantic_ai_agent").build_agent(mem, model(scripted), user_id="ada")
    assert asyncio.run(agent.run("Where do I live now?")).output == "In Lisbon."
    first, second = scripted.chat_requests
    assert first.tool_names == ["search_memories", "remember"]
    assert first.messages[0] == {"role": "system", "content": INSTRUCTIONS}
    (found,) = second.tool_results
    assert "Ada moved to Lisbon in May" in found
    assert "Berlin" not in found  # another user's memory is out of the toolset's scope


def test_the_agent_remembers(mem: Memory, scripted: ScriptedLLMServer) -> None:
    scripted.enqueue(
        Reply.tool_call("remember", {"text": "Ada is allergic to peanuts"}),
        Reply.text("Noted."),
    )
    toolset = MemstrataToolset(mem, user_id="ada", run_id="chat-1", kind="procedure")
    agent = example("pydantic_ai_agent").Agent(model(scripted), toolsets=[toolset])
    assert asyncio.run(agent.run("I'm allergic to peanuts.")).output == "Noted."
    (hit,) = mem.search("peanuts", user_id="ada", run_id="chat-1")
    assert (hit.text, hit.record.kind) == ("Ada is allergic to peanuts", "procedure")
    assert hit.id in scripted.chat_requests[1].tool_results[0]


def test_every_memory_tool_is_in_the_toolset(mem: Memory) -> None:
    toolset = MemstrataToolset(mem, user_id="ada", instructions=None)
    names = [fn.__name__ for fn in toolset.memory_tools.functions()]
    assert list(toolset.tools) == names == ["search_memories", "remember"]
