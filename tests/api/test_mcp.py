"""The MCP server, driven by the official SDK's own client in real sessions: over stdio (the
``memstrata mcp`` process) and over streamable HTTP (the same command with ``--transport
http``, and in-process with API keys)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_helpers import cli, error_text, run, structured

from memstrata import Memory
from memstrata.server.auth import Keyring, Tenants, create_key
from memstrata.server.mcp import ServerScope, build_server, http_app
from memstrata.server.runner import running

TOOLS = {
    "add_memory",
    "add_messages",
    "search_memories",
    "get_memory",
    "update_memory",
    "delete_memory",
    "list_memories",
    "memory_history",
    "get_profile",
    "restore_memory",
    "memory_feedback",
    "delete_memories",
    "restore_memories",
    "update_memories",
}


async def tour(client: Client) -> str:
    """Every tool once, as an agent would use them; return the id of the memory it made."""
    listing = await client.list_tools()
    tools = {t.name: t for t in listing.tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 20, tool.name
        properties = tool.input_schema["properties"]
        assert "ctx" not in properties
        assert all(p.get("description") for p in properties.values()), tool.name
    assert tools["add_memory"].input_schema["required"] == ["text"]

    first = {
        "text": "I moved to Lisbon in May",
        "speaker": "Ada",
        "message_id": "m1",
        "timestamp": "2026-05-03T10:00:00Z",
    }
    added = structured(await client.call_tool("add_memory", first))
    (record,) = added["added"]
    memory_id = record["id"]
    assert record["user_id"] == "ada" and record["sources"] == ["m1"]
    await client.call_tool("add_memory", {"text": "My cat is called Pixel"})
    profile = await client.call_tool("get_profile", {"budget": 500})
    assert "Ada: home: Lisbon" in profile.content[0].text  # what Ada said about herself

    found = structured(await client.call_tool("search_memories", {"query": "where is Lisbon"}))
    assert found["hits"][0]["id"] == memory_id and found["hits"][0]["signals"]
    told = structured(
        await client.call_tool(
            "memory_feedback", {"search_id": found["search_id"], "used": [memory_id]}
        )
    )
    assert told["used"] == 1 and told["unused"] == len(found["hits"]) - 1
    unknown = await client.call_tool("memory_feedback", {"search_id": "0" * 32, "used": []})
    assert unknown.is_error and "not_found" in unknown.content[0].text
    packed = structured(
        await client.call_tool("search_memories", {"query": "where is Lisbon", "budget": 60})
    )
    assert sum(len(h["context"]) for h in packed["hits"]) <= 60
    got = structured(await client.call_tool("get_memory", {"memory_id": memory_id}))
    assert got["source_messages"][0]["speaker"] == "Ada"

    updated = structured(
        await client.call_tool(
            "update_memory",
            {"memory_id": memory_id, "text": "I moved to Porto in June", "reason": "corrected"},
        )
    )
    assert updated["version"] == 2
    stale = await client.call_tool(
        "update_memory", {"memory_id": memory_id, "text": "old", "expected_version": 1}
    )
    assert stale.is_error and "conflict" in stale.content[0].text

    deleted = structured(await client.call_tool("delete_memory", {"memory_id": memory_id}))
    assert deleted["state"] == "deleted"
    listed = structured(await client.call_tool("list_memories", {"limit": 1}))
    assert len(listed["memories"]) == 1 and listed["memories"][0]["id"] != memory_id
    restored = structured(
        await client.call_tool("restore_memory", {"memory_id": memory_id, "reason": "mistake"})
    )
    assert restored["state"] == "active" and restored["text"] == "I moved to Porto in June"
    history = structured(await client.call_tool("memory_history", {"memory_id": memory_id}))
    assert [e["op"] for e in history["events"]] == ["ADD", "UPDATE", "DELETE", "RESTORE"]
    assert history["events"][-1]["reason"] == "mistake"
    assert history["events"][1]["previous_text"] == "I moved to Lisbon in May"

    counted = structured(
        await client.call_tool("delete_memories", {"where": {"kind": "episode"}, "dry_run": True})
    )
    assert counted["dry_run"] and counted["count"] == 2
    tagged = structured(
        await client.call_tool("update_memories", {"ids": [memory_id], "metadata": {"seen": True}})
    )
    assert tagged["ids"] == [memory_id]
    gone = structured(await client.call_tool("delete_memories", {"ids": [memory_id]}))
    back = structured(await client.call_tool("restore_memories", {"ids": gone["ids"]}))
    assert back["ids"] == [memory_id]
    listed = structured(await client.call_tool("list_memories", {"where": {"metadata.seen": True}}))
    assert [m["id"] for m in listed["memories"]] == [memory_id]

    missing = await client.call_tool("get_memory", {"memory_id": "0" * 32})
    assert missing.is_error and "not_found" in missing.content[0].text
    other_user = await client.call_tool("get_memory", {"memory_id": memory_id, "user_id": "bob"})
    assert error_text(other_user).startswith("invalid_input: this server is confined to")
    bad = await client.call_tool("search_memories", {"query": "x", "limit": 0})
    assert bad.is_error
    return memory_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_stdio_session_with_the_sdk_client(db_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=cli(db_path, "--user", "ada"), env={"PYTHONUNBUFFERED": "1"}
    )

    async def session() -> str:
        async with Client(params) as client:
            return await tour(client)

    memory_id = run(session)
    with Memory(db_path, embedder="hashing") as mem:
        record = mem.get(memory_id, user_id="ada")
        assert (record.state, record.text) == ("active", "I moved to Porto in June")


@pytest.fixture
def http_server(db_path: Path) -> Iterator[str]:
    port = free_port()
    args = cli(db_path, "--user", "ada", "--transport", "http", "--port", str(port))
    process = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the MCP server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def test_streamable_http_session_with_the_sdk_client(http_server: str, db_path: Path) -> None:
    async def session() -> str:
        async with Client(http_server) as client:
            return await tour(client)

    memory_id = run(session)
    with Memory(db_path, embedder="hashing") as mem:
        # the text corrected, then the metadata tagged
        assert len(mem.versions(memory_id, user_id="ada")) == 3


def test_http_with_api_keys_confines_each_key_to_its_tenant(db_path: Path) -> None:
    tenants = Tenants(db_path, embedder="hashing")
    alpha = create_key(tenants.store, "alpha").secret
    beta = create_key(tenants.store, "beta").secret
    keyring = Keyring(tenants.store, open_tenant="default")
    assert keyring.required
    server = build_server(tenants, keyring, scope=ServerScope(user_id="ada"))

    def client(url: str, secret: str | None) -> Client:
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        http = httpx2.AsyncClient(headers=headers, timeout=30)
        return Client(streamable_http_client(url, http_client=http))

    with running(http_app(server, keyring)) as base:
        url = f"{base}/mcp"
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"

        async def session() -> None:
            async with client(url, alpha) as a:
                added = structured(await a.call_tool("add_memory", {"text": "alpha secret"}))
                memory_id = added["added"][0]["id"]
            async with client(url, beta) as b:
                hidden = await b.call_tool("get_memory", {"memory_id": memory_id})
                assert hidden.is_error and "not_found" in hidden.content[0].text
                found = structured(await b.call_tool("search_memories", {"query": "alpha"}))
                assert found["hits"] == []
                listed = structured(await b.call_tool("list_memories", {}))
                assert listed["memories"] == []
                history = await b.call_tool("memory_history", {"memory_id": memory_id})
                assert history.is_error

        run(session)
    alpha_scopes = tenants.memory("alpha").scopes()
    assert [(s["user_id"], s["memories"]) for s in alpha_scopes] == [("ada", 1)]
    assert tenants.memory("beta").scopes() == []
    tenants.close()


def test_a_budgeted_search_returns_as_many_hits_as_fit_and_a_limit_only_when_given(
    db_path: Path,
) -> None:
    with Memory(db_path, embedder="hashing") as mem:
        mem.add([f"Ada's cat number {i} is called Pixel {i}." for i in range(15)], user_id="ada")
    tenants = Tenants(db_path, embedder="hashing")
    keyring = Keyring(tenants.store, open_tenant="default")
    server = build_server(tenants, keyring, scope=ServerScope(user_id="ada"))
    query = {"query": "what is the cat called"}
    with running(http_app(server, keyring)) as base:

        async def session() -> list[int]:
            async with Client(f"{base}/mcp") as client:
                counts = []
                for extra in ({}, {"budget": 4000}, {"budget": 4000, "limit": 3}):
                    found = await client.call_tool("search_memories", {**query, **extra})
                    counts.append(len(structured(found)["hits"]))
                return counts

        assert run(session) == [5, 15, 3]
    tenants.close()
