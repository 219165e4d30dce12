"""The ``where`` filter through every face: the async library, REST (a JSON body field on
search, a query parameter on listing; a bad filter is a 422 that says where and why), MCP tool
arguments and the CLI's ``--where`` option."""

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

from memstrata import AsyncMemory, InvalidInputError, Memory
from memstrata.server.rest import create_app
from memstrata.server.runner import running

ADA = {"user_id": "ada"}
WORK = {"metadata.topic": {"in": ["work", "health"]}}


def seed(db: Path) -> dict[str, str]:
    """Three memories of Ada's, by topic; returns their ids by topic."""
    with Memory(db, embedder="hashing") as mem:
        return {
            topic: mem.add(text, metadata={"topic": topic}, **ADA).ids[0]
            for topic, text in [
                ("work", "The Lisbon office opens at nine"),
                ("health", "Lisbon clinic appointment on Friday"),
                ("travel", "Flight to Lisbon in May"),
            ]
        }


def test_the_async_library_takes_where(db_path: Path) -> None:
    ids = seed(db_path)

    async def calls() -> tuple[set[str], set[str]]:
        async with AsyncMemory(db_path, embedder="hashing") as mem:
            hits = await mem.search("Lisbon", where=WORK, **ADA)
            page = await mem.list(where={"not": WORK}, **ADA)
            with pytest.raises(InvalidInputError, match=r"where\.and: expected a non-empty list"):
                await mem.list(where={"and": []}, **ADA)
            return {h.id for h in hits}, {r.id for r in page.records}

    found, listed = asyncio.run(calls())
    assert found == {ids["work"], ids["health"]} and listed == {ids["travel"]}


@pytest.fixture
def http(db_path: Path) -> Iterator[httpx.Client]:
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_rest_takes_where_in_a_search_body_and_a_listing_query(
    db_path: Path, http: httpx.Client
) -> None:
    ids = seed(db_path)
    found = http.post("/v1/memories/search", json={"query": "Lisbon", "where": WORK, **ADA})
    assert found.status_code == 200, found.text
    assert {h["id"] for h in found.json()["hits"]} == {ids["work"], ids["health"]}
    listed = http.get("/v1/memories", params={"where": json.dumps({"not": WORK}), **ADA})
    assert listed.status_code == 200, listed.text
    assert [m["id"] for m in listed.json()["memories"]] == [ids["travel"]]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"colour": "red"}, "where.colour: unknown field 'colour'"),
        ({"importance": {"~": 1}}, "where.importance: unknown operator '~'"),
        ({"kind": {"in": ["fact", "fcat"]}}, "where.kind.in[1]: unknown kind 'fcat'"),
        ({"metadata.x": {"in": list(range(101))}}, "where.metadata.x.in: in takes at most 100"),
    ],
)
def test_rest_refuses_a_bad_filter_with_a_422_that_says_why(
    http: httpx.Client, where: Any, message: str
) -> None:
    body = {"query": "Lisbon", "where": where, **ADA}
    response = http.post("/v1/memories/search", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and message in error["message"], error
    listed = http.get("/v1/memories", params={"where": json.dumps(where), **ADA})
    assert listed.status_code == 422 and message in listed.json()["error"]["message"]


def test_rest_refuses_a_where_parameter_that_is_not_json(http: httpx.Client) -> None:
    response = http.get("/v1/memories", params={"where": "{importance > 1}", **ADA})
    assert response.status_code == 422
    assert "where must be a filter expression in JSON" in response.json()["error"]["message"]


def test_mcp_tools_take_where_and_explain_a_bad_one(db_path: Path) -> None:
    ids = seed(db_path)

    async def calls() -> tuple[Any, Any, str]:
        async with session("http", db_path, ADA) as client:
            found = await client.call_tool("search_memories", {"query": "Lisbon", "where": WORK})
            listed = await client.call_tool("list_memories", {"where": {"not": WORK}})
            bad = await client.call_tool("list_memories", {"where": {"importance": {">": "x"}}})
            return structured(found), structured(listed), error_text(bad)

    found, listed, bad = run(calls)
    assert {h["id"] for h in found["hits"]} == {ids["work"], ids["health"]}
    assert [m["id"] for m in listed["memories"]] == [ids["travel"]]
    assert bad.startswith("invalid_input: where.importance.>: importance takes a number")


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEMSTRATA_DB": str(db), "MEMSTRATA_EMBEDDER": "hashing"}
    return subprocess.run([sys.executable, "-m", "memstrata.cli", *args], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip


def test_the_cli_takes_where_and_explains_a_bad_one(db_path: Path) -> None:
    ids = seed(db_path)
    found = cli(db_path, "search", "--user", "ada", "Lisbon", "--where", json.dumps(WORK), "--json")
    assert found.returncode == 0, found.stderr
    assert {h["id"] for h in json.loads(found.stdout)["hits"]} == {ids["work"], ids["health"]}
    listed = cli(db_path, "list", "--user", "ada", "--where", '{"metadata.topic": "travel"}',
                 "--json")  # fmt: skip
    assert [m["id"] for m in json.loads(listed.stdout)["memories"]] == [ids["travel"]]
    bad = cli(db_path, "list", "--user", "ada", "--where", '{"metadata.topic": {"like": "t%"}}')
    assert bad.returncode == 2
    assert "where.metadata.topic: unknown operator 'like'" in bad.stderr
    not_json = cli(db_path, "list", "--user", "ada", "--where", "topic=travel")
    assert not_json.returncode == 2 and "argument --where: not JSON" in not_json.stderr
