"""A server started with a scope (``memstrata mcp --user ada``, ``--agent``, ``--run``) serves
that scope alone. Through the SDK's own client, over stdio and streamable HTTP: every tool that
takes a scope refuses a call naming another value of a fixed field, and changes nothing there; a
call may leave the field out or repeat it, and may narrow the scope with a field the server left
open, but never reaches beyond the server's scope."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_helpers import FLAGS, TRANSPORTS, error_text, run, session, structured

from memstrata import Memory
from memstrata.types import MemoryRecord

MINE = {"user_id": "ada", "agent_id": "planner", "run_id": "run-1"}
THEIRS = {"user_id": "bob", "agent_id": "spy", "run_id": "run-2"}
ALL_STATES = ["active", "archived", "deleted"]
#: A server confined by each flag, over each transport.
EACH_SERVER = pytest.mark.parametrize(
    ("field", "transport"), [(field, transport) for field in FLAGS for transport in TRANSPORTS]
)


@dataclass(frozen=True)
class Seeded:
    mine: str  # a memory in the server's scope
    theirs: str  # one outside it
    theirs_deleted: str  # a deleted one outside it (for restore_memory)
    theirs_search: str  # the search_id of a search outside it (for memory_feedback)
    cross: str  # outside the server's scope, but sharing an open field's value ("shared")


def open_field(field: str) -> str:
    """A scope field the server leaves open when it fixes ``field``."""
    return next(f for f in FLAGS if f != field)


def seed(db: Path, field: str) -> Seeded:
    mine, theirs = {field: MINE[field]}, {field: THEIRS[field]}
    with Memory(db, embedder="hashing") as mem:
        (kept,) = mem.add("Ada moved to Lisbon in May", **mine).added
        (secret,) = mem.add("Bob's bank PIN is 4321", **theirs).added
        (old,) = mem.add("Bob's old PIN was 1234", **theirs).added
        mem.delete(old.id, **theirs)
        search_id = mem.search("bank PIN", **theirs).search_id
        (cross,) = mem.add(
            "Bob keeps his PIN on a note", **theirs, **{open_field(field): "shared"}
        ).added
    return Seeded(kept.id, secret.id, old.id, search_id, cross.id)


def snapshot(db: Path, scope: dict[str, str]) -> dict[str, tuple[MemoryRecord, int]]:
    """Every memory of ``scope`` in every state, with the length of its history."""
    with Memory(db, embedder="hashing") as mem:
        records = mem.list(**scope, states=ALL_STATES, limit=100).records
        return {r.id: (r, len(mem.history(r.id, **scope))) for r in records}


def refused_calls(field: str, seeded: Seeded) -> dict[str, dict[str, Any]]:
    """One call per tool, each naming the other scope's value of ``field``."""
    theirs = {field: THEIRS[field]}
    return {
        "add_memory": {"text": "Bob moved to Oslo", **theirs},
        "add_messages": {"messages": [{"content": "Bob moved to Oslo"}], **theirs},
        "search_memories": {"query": "bank PIN", **theirs},
        "list_memories": theirs,
        "get_memory": {"memory_id": seeded.theirs, **theirs},
        "update_memory": {"memory_id": seeded.theirs, "text": "Bob's PIN is 0000", **theirs},
        "delete_memory": {"memory_id": seeded.theirs, **theirs},
        "restore_memory": {"memory_id": seeded.theirs_deleted, **theirs},
        "memory_feedback": {"search_id": seeded.theirs_search, "used": [seeded.theirs], **theirs},
        "memory_history": {"memory_id": seeded.theirs, **theirs},
        "get_profile": theirs,
        "delete_memories": {"ids": [seeded.theirs], **theirs},
        "restore_memories": {"ids": [seeded.theirs_deleted], **theirs},
        "update_memories": {"where": {"kind": "episode"}, "metadata": {"x": 1}, **theirs},
    }


async def scoped_tools(client: Client, field: str) -> set[str]:
    listing = await client.list_tools()
    return {t.name for t in listing.tools if field in t.input_schema["properties"]}


@EACH_SERVER
def test_a_call_naming_another_scope_is_refused_by_every_tool(
    db_path: Path, field: str, transport: str
) -> None:
    seeded = seed(db_path, field)
    theirs = {field: THEIRS[field]}
    before = snapshot(db_path, theirs)
    calls = refused_calls(field, seeded)

    async def calls_outside() -> None:
        async with session(transport, db_path, {field: MINE[field]}) as client:
            assert await scoped_tools(client, field) == set(calls)
            for tool, arguments in calls.items():
                text = error_text(await client.call_tool(tool, arguments))
                assert text.startswith("invalid_input: "), (tool, text)
                assert f"confined to {field}={MINE[field]}" in text, (tool, text)
                assert f"{field}={THEIRS[field]}" in text, (tool, text)

    run(calls_outside)
    assert snapshot(db_path, theirs) == before


@EACH_SERVER
def test_a_call_may_repeat_the_scope_or_narrow_it_but_never_widen_it(
    db_path: Path, field: str, transport: str
) -> None:
    seeded = seed(db_path, field)
    mine, other = MINE[field], open_field(field)
    same = {field: mine}

    async def calls_inside() -> None:
        async with session(transport, db_path, same) as client:
            added = structured(await client.call_tool("add_memory", {"text": "Pixel", **same}))
            assert added["added"][0][field] == mine
            found = structured(
                await client.call_tool("search_memories", {"query": "Lisbon", **same})
            )
            assert found["hits"] and all(h[field] == mine for h in found["hits"])
            used = {"search_id": found["search_id"], "used": [seeded.mine]}
            assert structured(await client.call_tool("memory_feedback", {**used, **same}))
            ids = {seeded.mine, added["added"][0]["id"]}
            listed = structured(await client.call_tool("list_memories", same))
            assert {m["id"] for m in listed["memories"]} == ids
            left_out = structured(await client.call_tool("list_memories", {}))
            assert {m["id"] for m in left_out["memories"]} == ids
            target = {"memory_id": seeded.mine, **same}
            assert structured(await client.call_tool("get_memory", target))["text"]
            changed = {**target, "text": "Ada moved to Porto in June"}
            assert structured(await client.call_tool("update_memory", changed))["version"] == 2
            deleted = structured(await client.call_tool("delete_memory", target))
            assert deleted["state"] == "deleted"
            restored = structured(await client.call_tool("restore_memory", target))
            assert restored["state"] == "active"
            history = structured(await client.call_tool("memory_history", target))
            assert [e["op"] for e in history["events"]] == ["ADD", "UPDATE", "DELETE", "RESTORE"]

            # Narrower: a field the server left open picks a part of its scope.
            narrow = {other: "r9"}
            (noted,) = structured(
                await client.call_tool("add_memory", {"text": "Table for Friday", **narrow})
            )["added"]
            assert (noted[field], noted[other]) == (mine, "r9")
            listed = structured(await client.call_tool("list_memories", narrow))
            assert [m["id"] for m in listed["memories"]] == [noted["id"]]

            # Never wider: the open field alone still stays inside the server's scope.
            shared = {other: "shared"}
            listed = structured(await client.call_tool("list_memories", shared))
            assert listed["memories"] == []
            found = structured(
                await client.call_tool("search_memories", {"query": "PIN note", **shared})
            )
            assert found["hits"] == []
            hidden = await client.call_tool("get_memory", {"memory_id": seeded.cross, **shared})
            assert error_text(hidden).startswith("not_found: ")

    run(calls_inside)
