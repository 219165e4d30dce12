"""What the MCP tests share: the SDK's own client in a real session, over stdio (the ``memstrata
mcp`` process) or streamable HTTP (the server on 127.0.0.1, in this process), and reading what
it receives."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from memstrata.server.auth import Keyring, Tenants
from memstrata.server.mcp import ServerScope, build_server, http_app
from memstrata.server.runner import running

#: The ``memstrata mcp`` flag of each scope field.
FLAGS = {"user_id": "--user", "agent_id": "--agent", "run_id": "--run"}
TRANSPORTS = ("stdio", "http")


def structured(result: Any) -> Any:
    """The structured answer of a call that succeeded."""
    assert not result.is_error, result.content
    return result.structured_content


def error_text(result: Any) -> str:
    """The text of a call that failed: what the client shows."""
    assert result.is_error, result.structured_content
    (content,) = result.content
    text: str = content.text
    return text


def run(fn: Callable[[], Awaitable[Any]]) -> Any:
    return anyio.run(fn)


def cli(db: Path, *args: str) -> list[str]:
    return ["-m", "memstrata.cli", "mcp", "--db", str(db), "--embedder", "hashing", *args]


@asynccontextmanager
async def session(transport: str, db: Path, scope: dict[str, str]) -> AsyncIterator[Client]:
    """A client session with a server confined to ``scope``: over stdio, ``memstrata mcp`` with
    its flags; over HTTP, ``build_server`` with that ``ServerScope``."""
    if transport == "stdio":
        flags = [part for field, value in scope.items() for part in (FLAGS[field], value)]
        params = StdioServerParameters(
            command=sys.executable, args=cli(db, *flags), env={"PYTHONUNBUFFERED": "1"}
        )
        async with Client(params) as client:
            yield client
        return
    tenants = Tenants(db, embedder="hashing")
    try:
        keyring = Keyring(tenants.store, open_tenant="default")
        server = build_server(tenants, keyring, scope=ServerScope(**scope))
        with running(http_app(server, keyring)) as base:
            async with Client(f"{base}/mcp") as client:
                yield client
    finally:
        tenants.close()
