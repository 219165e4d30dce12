"""What an MCP client receives when a tool call fails: an error result (``is_error``) whose text
is the REST server's error, ``code: message``, in the same words; an argument the tool does not
declare is refused by name; ``role`` takes only the chat roles. Through the SDK's own client,
over stdio and streamable HTTP, next to the REST server on the same store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp_helpers import TRANSPORTS, error_text, run, session, structured

from memstrata import Memory
from memstrata.server.rest import create_app
from memstrata.server.runner import running

ADA = {"user_id": "ada"}


@pytest.fixture
def rest(db_path: Path) -> Iterator[httpx.Client]:
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def rest_error(response: httpx.Response) -> str:
    """REST's error as an MCP tool shows it: ``code: message``."""
    assert response.status_code >= 400, response.text
    error = response.json()["error"]
    return f"{error['code']}: {error['message']}"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_tool_errors_read_as_the_rest_servers(
    db_path: Path, rest: httpx.Client, transport: str
) -> None:
    search = "/v1/memories/search"
    expected = {
        "too_small": rest_error(rest.post(search, json={"query": "x", "limit": 0, **ADA})),
        "unknown": rest_error(rest.post(search, json={"query": "x", "colour": "red", **ADA})),
        "missing": rest_error(rest.get(f"/v1/memories/{'0' * 32}", params=ADA)),
    }
    assert expected["too_small"].startswith("invalid_input: limit: ")
    assert expected["unknown"].startswith("invalid_input: colour: ")
    assert expected["missing"].startswith("not_found: ")

    async def calls() -> dict[str, str]:
        async with session(transport, db_path, ADA) as client:
            too_small = await client.call_tool("search_memories", {"query": "x", "limit": 0})
            unknown = await client.call_tool("search_memories", {"query": "x", "colour": "red"})
            missing = await client.call_tool("get_memory", {"memory_id": "0" * 32})
            return {
                "too_small": error_text(too_small),
                "unknown": error_text(unknown),
                "missing": error_text(missing),
            }

    assert run(calls) == expected


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_argument_a_tool_does_not_declare_is_refused_by_name(
    db_path: Path, transport: str
) -> None:
    async def calls() -> None:
        async with session(transport, db_path, ADA) as client:
            tools = (await client.list_tools()).tools
            for tool in tools:
                assert tool.input_schema["additionalProperties"] is False, tool.name
                text = error_text(await client.call_tool(tool.name, {"colour": "red"}))
                assert text.startswith("invalid_input: ") and "colour: " in text, (tool.name, text)
            # A misspelt argument is not taken for a missing one, and nothing is stored.
            typo = await client.call_tool("add_memory", {"text": "Ada likes tea", "user": "bob"})
            assert error_text(typo).startswith("invalid_input: user: ")
            missing = await client.call_tool("add_memory", {})
            assert error_text(missing) == "invalid_input: text: Field required"

    run(calls)
    with Memory(db_path, embedder="hashing") as mem:
        assert mem.scopes() == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_role_takes_only_the_chat_roles(db_path: Path, transport: str) -> None:
    async def calls() -> dict[str, Any]:
        async with session(transport, db_path, ADA) as client:
            (add,) = [t for t in (await client.list_tools()).tools if t.name == "add_memory"]
            role = add.input_schema["properties"]["role"]
            assert role["enum"] == ["user", "assistant", "system", "developer", "tool"]
            assert role["default"] == "user"
            wizard = await client.call_tool("add_memory", {"text": "Abracadabra", "role": "wizard"})
            text = error_text(wizard)
            assert text.startswith("invalid_input: role: ") and "'assistant'" in text
            said = {"text": "How can I help?", "role": "assistant", "speaker": "bot"}
            added: dict[str, Any] = structured(await client.call_tool("add_memory", said))
            return added

    added = run(calls)
    with Memory(db_path, embedder="hashing") as mem:
        (record,) = mem.list(user_id="ada").records
        assert record.id == added["added"][0]["id"]
        (message,) = mem.sources(record.id, user_id="ada")
        assert (message.role, message.text) == ("assistant", "How can I help?")
