"""Batch delete, restore and update through every face: the async library, REST (with a dry
run that counts first, 404 for an unknown id, 422 for a bad filter), MCP tools and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp_helpers import error_text, run, session, structured

from memstrata import AsyncMemory, Memory
from memstrata.server.rest import create_app
from memstrata.server.runner import running

ADA = {"user_id": "ada"}
WORK = {"metadata.topic": "work"}


def seed(db: Path) -> dict[str, str]:
    with Memory(db, embedder="hashing") as mem:
        return {
            text: mem.add(text, metadata={"topic": topic}, **ADA).ids[0]
            for topic, text in [
                ("work", "The office opens at nine"),
                ("work", "The standup is at ten"),
                ("travel", "Flight to Lisbon in May"),
            ]
        }


def active(db: Path) -> set[str]:
    with Memory(db, embedder="hashing") as mem:
        return {r.text for r in mem.list(**ADA).records}


def test_the_async_library_has_the_batch_verbs(db_path: Path) -> None:
    ids = seed(db_path)

    async def calls() -> None:
        async with AsyncMemory(db_path, embedder="hashing") as mem:
            assert (await mem.delete_many(where=WORK, dry_run=True, **ADA)).count == 2
            assert (await mem.delete_many(where=WORK, **ADA)).count == 2
            assert (await mem.restore_many(where=WORK, **ADA)).count == 2
            updated = await mem.update_many([ids["Flight to Lisbon in May"]], metadata={"a": 1},
                                            **ADA)  # fmt: skip
            assert updated.ids == (ids["Flight to Lisbon in May"],)

    asyncio.run(calls())
    assert len(active(db_path)) == 3


@pytest.fixture
def http(db_path: Path) -> Iterator[httpx.Client]:
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_rest_batch_counts_first_then_changes_and_restores(
    db_path: Path, http: httpx.Client
) -> None:
    ids = seed(db_path)
    work = {ids["The office opens at nine"], ids["The standup is at ten"]}
    dry = http.post("/v1/batch/delete", json={"where": WORK, "dry_run": True, **ADA})
    assert dry.status_code == 200, dry.text
    assert dry.json()["count"] == 2 and set(dry.json()["ids"]) == work and dry.json()["dry_run"]
    assert len(active(db_path)) == 3
    done = http.post("/v1/batch/delete", json={"where": WORK, "reason": "tidy", **ADA}).json()
    assert done["count"] == 2 and not done["dry_run"]
    assert active(db_path) == {"Flight to Lisbon in May"}
    back = http.post("/v1/batch/restore", json={"ids": done["ids"], **ADA}).json()
    assert back["count"] == 2 and len(active(db_path)) == 3
    body = {"where": WORK, "metadata": {"team": "core"}, **ADA}
    assert http.post("/v1/batch/update", json=body).json()["count"] == 2
    listed = http.get("/v1/memories", params={"where": '{"metadata.team": "core"}', **ADA})
    assert {m["id"] for m in listed.json()["memories"]} == work


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v1/batch/delete", {"ids": ["nope"]}, 404, "no memories 'nope'"),
        ("/v1/batch/delete", {"where": {"colour": "red"}}, 422, "where.colour: unknown field"),
        ("/v1/batch/delete", {}, 422, "ids, or a where filter"),
        ("/v1/batch/update", {"ids": ["x"]}, 422, "needs metadata, validity or expiry times"),
        ("/v1/batch/restore", {"ids": []}, 422, "ids: List should have at least 1 item"),
    ],
)
def test_rest_batch_refuses_bad_input_and_changes_nothing(
    db_path: Path, http: httpx.Client, path: str, body: dict[str, Any], status: int, message: str
) -> None:
    seed(db_path)
    response = http.post(path, json={**body, **ADA})
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]
    assert len(active(db_path)) == 3


def test_mcp_batch_tools(db_path: Path) -> None:
    seed(db_path)

    async def calls() -> tuple[Any, Any, Any, Any, str]:
        async with session("http", db_path, ADA) as client:
            dry = await client.call_tool("delete_memories", {"where": WORK, "dry_run": True})
            done = await client.call_tool("delete_memories", {"where": WORK})
            back = await client.call_tool("restore_memories", {"where": WORK})
            tagged = await client.call_tool(
                "update_memories", {"where": WORK, "metadata": {"team": "core"}}
            )
            bad = await client.call_tool("delete_memories", {})
            return (
                structured(dry),
                structured(done),
                structured(back),
                structured(tagged),
                (error_text(bad)),
            )

    dry, done, back, tagged, bad = run(calls)
    assert dry["count"] == 2 and dry["dry_run"] and done["count"] == 2 and back["count"] == 2
    assert tagged["count"] == 2 and bad.startswith("invalid_input: name the memories to change")
    assert len(active(db_path)) == 3


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEMSTRATA_DB": str(db), "MEMSTRATA_EMBEDDER": "hashing"}
    return subprocess.run([sys.executable, "-m", "memstrata.cli", *args], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip


def test_cli_batch_commands(db_path: Path) -> None:
    ids = seed(db_path)
    where = json.dumps(WORK)
    dry = cli(db_path, "delete-many", "--user", "ada", "--where", where, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would change 2 memories (nothing changed)" in dry.stdout
    done = cli(db_path, "delete-many", "--user", "ada", "--where", where, "--json")
    assert json.loads(done.stdout)["count"] == 2
    assert active(db_path) == {"Flight to Lisbon in May"}
    chosen = [x for i in json.loads(done.stdout)["ids"] for x in ("--ids", i)]
    back = cli(db_path, "restore-many", "--user", "ada", *chosen)
    assert back.returncode == 0 and "changed 2 memories" in back.stdout
    tagged = cli(db_path, "update-many", "--user", "ada", "--ids", ids["Flight to Lisbon in May"],
                 "--metadata", '{"seen": true}', "--json")  # fmt: skip
    assert json.loads(tagged.stdout)["ids"] == [ids["Flight to Lisbon in May"]]
    bad = cli(db_path, "delete-many", "--user", "ada")
    assert bad.returncode == 2 and "name the memories to change" in bad.stderr
    assert len(active(db_path)) == 3
