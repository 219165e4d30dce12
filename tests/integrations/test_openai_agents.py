"""The OpenAI Agents SDK: real ``Runner.run`` loops (chat-completions model on the scripted
server) with a ``MemstrataSession`` and memstrata's function tools, and the session contract."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from memstrata import InvalidInputError, Memory
from memstrata.testing import Reply, ScriptedLLMServer

from .conftest import example, framework, shown_in_docs

agents = framework("agents")
openai = framework("openai")
from memstrata.integrations.openai_agents import MemstrataSession  # noqa: E402


@pytest.fixture
def mem(db_path: Path) -> Memory:
    return Memory(db_path, embedder="hashing")


def test_the_docs_example_is_the_file_the_tests_run() -> None:
    shown_in_docs("openai-agents.md", "openai_agents_chat")


def test_two_conversations_remember_then_recall(mem: Memory, scripted: ScriptedLLMServer) -> None:
    chat_example = example("openai_agents_chat")
    scripted.enqueue(
        Reply.tool_call("remember", {"text": "Ada moved to Lisbon in May"}),
        Reply.text("Noted."),
        Reply.tool_call("search_memories", {"query": "where does Ada live"}),
        Reply.text("In Lisbon."),
        Reply.text("That you moved to Lisbon."),
    )

    async def conversations() -> list[str]:
        client = openai.AsyncOpenAI(base_url=scripted.base_url, api_key="test", max_retries=0)
        model = agents.OpenAIChatCompletionsModel(model="scripted", openai_client=client)
        agent = chat_example.build_agent(mem, model, user_id="ada")
        return [
            await chat_example.chat(agent, mem, "ada", "monday", "I moved to Lisbon in May."),
            await chat_example.chat(agent, mem, "ada", "friday", "Where do I live now?"),
            await chat_example.chat(agent, mem, "ada", "monday", "What did I tell you?"),
        ]

    assert asyncio.run(conversations()) == ["Noted.", "In Lisbon.", "That you moved to Lisbon."]
    requests = scripted.chat_requests
    assert requests[0].tool_names == ["search_memories", "remember"]
    assert requests[1].tool_results[0].startswith("Remembered [id ")
    # friday's conversation starts fresh, and its search finds what monday's remembered
    assert [m["role"] for m in requests[2].messages] == ["system", "user"]
    (found,) = requests[3].tool_results
    assert "Ada moved to Lisbon in May" in found
    assert "function_call" not in found  # a run's steps are not long-term memories
    # monday's session is replayed: the earlier turn, its tool call and result, then the new one
    replay = requests[4].messages
    roles = ["system", "user", "assistant", "tool", "assistant", "user"]
    assert [m["role"] for m in replay] == roles
    assert replay[1]["content"] == "I moved to Lisbon in May."
    assert replay[-1]["content"] == "What did I tell you?"
    # what was said is searchable memory in its session's scope
    said = mem.search("Lisbon", user_id="ada", run_id="monday", kinds=["episode"])
    assert "I moved to Lisbon in May." in [hit.text for hit in said]


def items(session: MemstrataSession) -> list[Any]:
    return asyncio.run(session.get_items())


def test_the_session_keeps_items_in_order_and_exactly(mem: Memory, db_path: Path) -> None:
    session = MemstrataSession("s1", mem, user_id="ada")
    added = [
        {"role": "user", "content": "Hello, I'm Ada."},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"q": 1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "a long tool output"},
        {
            "type": "message",
            "role": "assistant",
            "id": "msg_1",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Hi Ada!", "annotations": []}],
        },
        {"type": "reasoning", "id": "rs_1", "summary": []},
    ]
    asyncio.run(session.add_items(added[:2]))
    asyncio.run(session.add_items(added[2:]))
    assert items(session) == added
    assert asyncio.run(session.get_items(limit=2)) == added[3:]
    assert asyncio.run(session.get_items(limit=0)) == []
    limited = MemstrataSession(
        "s1", mem, user_id="ada", session_settings=agents.SessionSettings(limit=1)
    )
    assert items(limited) == added[4:]
    kinds = [(r.kind, r.text) for r in reversed(mem.list(run_id="s1").records)]
    assert kinds == [
        ("episode", "Hello, I'm Ada."),
        ("working", 'function_call: lookup({"q": 1})'),
        ("working", "function_call_output for c1"),
        ("episode", "Hi Ada!"),
        ("working", "reasoning"),
    ]
    with Memory(db_path, embedder="hashing") as reopened:
        assert items(MemstrataSession("s1", reopened, user_id="ada")) == added


def test_pop_and_clear_are_soft(mem: Memory) -> None:
    session = MemstrataSession("s1", mem, user_id="ada")
    other = MemstrataSession("s2", mem, user_id="ada")
    asyncio.run(session.add_items([{"role": "user", "content": f"message {i}"} for i in range(3)]))
    asyncio.run(other.add_items([{"role": "user", "content": "elsewhere"}]))
    assert asyncio.run(session.pop_item()) == {"role": "user", "content": "message 2"}
    assert [i["content"] for i in items(session)] == ["message 0", "message 1"]
    asyncio.run(session.clear_session())
    assert items(session) == []
    assert asyncio.run(session.pop_item()) is None
    assert [i["content"] for i in items(other)] == ["elsewhere"]
    deleted = mem.list(run_id="s1", states=["deleted"]).records
    assert len(deleted) == 3
    for record in deleted:
        mem.restore(record.id, run_id="s1")
    assert [i["content"] for i in items(session)] == ["message 0", "message 1", "message 2"]


def test_a_session_without_a_user_and_bad_items(mem: Memory) -> None:
    session = MemstrataSession("s3", mem)
    asyncio.run(session.add_items([{"role": "user", "content": "hi"}]))
    assert items(session) == [{"role": "user", "content": "hi"}]
    narrower = MemstrataSession("s3", mem, user_id="ada")
    asyncio.run(narrower.add_items([{"role": "user", "content": "mine"}]))
    assert items(session) == [{"role": "user", "content": "hi"}]  # only its exact scope
    bad = [{"role": "user", "content": "fine"}, {"role": "user", "content": object()}]
    with pytest.raises(InvalidInputError, match="must be JSON"):
        asyncio.run(session.add_items(bad))  # type: ignore[arg-type]
    assert items(session) == [{"role": "user", "content": "hi"}]  # nothing of it written
