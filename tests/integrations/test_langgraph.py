"""LangGraph and LangChain: a real agent (langchain's ``create_agent`` over ChatOpenAI) whose
model is the scripted server, with memstrata as its tools and its store."""

from __future__ import annotations

from pathlib import Path

import pytest

from memstrata import Memory
from memstrata.testing import Reply, ScriptedLLMServer

from .conftest import example, framework, shown_in_docs

framework("langgraph")
framework("langchain")
openai_chat = framework("langchain_openai")


def chat_model(scripted: ScriptedLLMServer) -> object:
    return openai_chat.ChatOpenAI(
        model="scripted", base_url=scripted.base_url, api_key="test", max_retries=0
    )


@pytest.fixture
def mem(tmp_path: Path) -> Memory:
    memory = Memory(tmp_path / "memories.db", embedder="hashing")
    memory.add(
        [
            {"text": "I moved to Lisbon in May", "speaker": "Ada"},
            {"text": "My cat is called Pixel", "speaker": "Ada"},
        ],
        user_id="ada",
    )
    return memory


def test_the_docs_example_is_the_file_the_tests_run() -> None:
    shown_in_docs("langgraph.md", "langgraph_agent")


def test_the_agent_calls_search_memories_and_reads_the_memory(
    mem: Memory, scripted: ScriptedLLMServer
) -> None:
    mem.add("I prefer trains to planes", user_id="ada")
    scripted.enqueue(
        Reply.tool_call("search_memories", {"query": "where does Ada live"}),
        Reply.text("You live in Lisbon."),
    )
    agent = example("langgraph_agent").build_agent(mem, chat_model(scripted), user_id="ada")
    reply = agent.invoke({"messages": [{"role": "user", "content": "Where do I live now?"}]})

    assert reply["messages"][-1].text == "You live in Lisbon."
    first, second = scripted.chat_requests
    assert first.tool_names == ["search_memories", "remember"]
    # the prompt hook read the LangGraph store (memstrata) before the first call
    assert "Lisbon" in first.messages[0]["content"]
    assert first.messages[0]["role"] == "system"
    # the tool's answer, from memstrata, is in the next request
    (result,) = second.tool_results
    assert "Ada: I moved to Lisbon in May" in result


def test_the_agent_remembers_through_its_tool(mem: Memory, scripted: ScriptedLLMServer) -> None:
    scripted.enqueue(
        Reply.tool_call("remember", {"text": "Ada is allergic to peanuts"}),
        Reply.text("Noted."),
    )
    agent = example("langgraph_agent").build_agent(mem, chat_model(scripted), user_id="ada")
    agent.invoke({"messages": [{"role": "user", "content": "I'm allergic to peanuts."}]})

    (result,) = scripted.chat_requests[1].tool_results
    assert result.startswith("Remembered [id ")
    hit = mem.search("peanuts allergy", user_id="ada")[0]
    assert (hit.text, hit.record.kind, hit.record.actor) == (
        "Ada is allergic to peanuts",
        "episode",
        "assistant",
    )
    assert hit.id in result
    # what the agent stated is a message, so the LangGraph store finds it too
    assert "Ada is allergic to peanuts" in agent.store.search(("memories", "ada"))[0].value["text"]
