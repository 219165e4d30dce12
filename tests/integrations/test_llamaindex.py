"""LlamaIndex: a real ``ReActAgent`` loop (the llamafile LLM, which speaks the OpenAI chat API,
on the scripted server) with memstrata's tools and ``MemstrataMemoryBlock`` in its memory."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from memstrata import Memory
from memstrata.testing import Reply, ScriptedLLMServer

from .conftest import example, framework, shown_in_docs

framework("llama_index.core")
llamafile = framework("llama_index.llms.llamafile")
core_llms = framework("llama_index.core.llms")
core_memory = framework("llama_index.core.memory")
from memstrata.integrations.llamaindex import MemstrataMemoryBlock  # noqa: E402


@pytest.fixture
def mem(two_users: Memory) -> Memory:
    return two_users


def react(thought: str, action: str | None = None, **arguments: Any) -> Reply:
    """A reply in the ReAct format the agent parses."""
    if action is None:
        return Reply.text(f"Thought: {thought}\nAnswer: {arguments['answer']}")
    args = ", ".join(f'"{k}": "{v}"' for k, v in arguments.items())
    return Reply.text(f"Thought: {thought}\nAction: {action}\nAction Input: {{{args}}}")


def test_the_docs_example_is_the_file_the_tests_run() -> None:
    shown_in_docs("llamaindex.md", "llamaindex_agent")


def test_the_agent_reads_the_block_and_calls_the_search_tool(
    mem: Memory, scripted: ScriptedLLMServer
) -> None:
    chat_example = example("llamaindex_agent")
    scripted.enqueue(
        react("I should check my memory.", "search_memories", query="where does Ada live"),
        react("I can answer without using any more tools.", answer="You live in Lisbon."),
    )
    llm = llamafile.Llamafile(base_url=scripted.base_url.removesuffix("/v1"))
    agent = chat_example.build_agent(mem, llm, user_id="ada")
    chat = chat_example.chat_memory(mem, user_id="ada", session_id="monday")
    answer = asyncio.run(chat_example.ask(agent, chat, "Where do I live now?"))

    assert answer == "You live in Lisbon."
    first, second = scripted.chat_requests
    # the block put what memstrata knows into the prompt before the first call
    question = first.messages[-1]["content"]
    assert "- (" in question and "Ada moved to Lisbon in May" in question
    assert question.endswith("Where do I live now?")
    assert "Berlin" not in question
    # the tool call's answer, from memstrata, is in the next request (a ReAct observation)
    observation = second.messages[-1]["content"]
    assert observation.startswith("Observation: Memories for 'where does Ada live'")
    assert "Ada moved to Lisbon in May" in observation


def test_turns_that_leave_short_term_memory_are_kept_in_memstrata(mem: Memory) -> None:
    block = MemstrataMemoryBlock(memory=mem, user_id="ada", run_id="chat-1")
    chat = core_memory.Memory.from_defaults(
        session_id="s1", memory_blocks=[block], token_limit=40, token_flush_size=10
    )
    ChatMessage = core_llms.ChatMessage
    turns = [
        ChatMessage(role="user", content="My sister Bea lives in Porto near the river."),
        ChatMessage(role="assistant", content="Porto is a lovely city to visit."),
        ChatMessage(role="user", content="I will visit her by train in June this year."),
        ChatMessage(role="assistant", content="Trains from Lisbon to Porto take three hours."),
    ]

    async def talk() -> list[Any]:
        for turn in turns:
            await chat.aput(turn)
        return await chat.aget(input="Where does my sister live?")

    messages = asyncio.run(talk())
    kept = mem.list(user_id="ada", run_id="chat-1", kinds=["episode"]).records
    assert kept, "the flushed turns are memories now"
    assert {r.text for r in kept} <= {t.content for t in turns}
    assert all(r.metadata["session_id"] == "s1" for r in kept)
    assert "My sister Bea lives in Porto near the river." in {r.text for r in kept}
    # and the block finds them again for a later question
    memory_text = messages[0].content
    assert "<long_term_memory>" in memory_text
    assert "Bea lives in Porto" in memory_text


def test_the_block_reads_and_truncates(mem: Memory) -> None:
    block = MemstrataMemoryBlock(memory=mem, user_id="ada", priority=1, limit=None)
    ChatMessage = core_llms.ChatMessage
    mem.add("Ada's train to Porto leaves at nine", user_id="ada")
    content = asyncio.run(block.aget([ChatMessage(role="user", content="Porto Lisbon train")]))
    lines = content.splitlines()
    assert len(lines) == 2 and all(line.startswith("- (") for line in lines)
    assert asyncio.run(block.aget([ChatMessage(role="assistant", content="  ")])) == ""
    assert asyncio.run(block.aget(None)) == ""
    shorter = asyncio.run(block.atruncate(content, 1))
    assert shorter == lines[0]
    assert asyncio.run(block.atruncate(content, 1000)) is None


def test_a_block_needs_a_memory_and_a_scope(mem: Memory) -> None:
    with pytest.raises(ValueError, match="a scope is required"):  # pydantic's ValidationError
        MemstrataMemoryBlock(memory=mem)
    with pytest.raises(ValueError, match="memstrata Memory"):
        MemstrataMemoryBlock(memory="memories.db", user_id="ada")
