"""Expiry and validity, on a clock the test sets: an expired memory stops being recalled and
reads as archived, ``maintain`` archives it, ``restore`` brings it back; a time-to-live per kind
comes from the call, the ``Memory`` or the settings; a fact whose ``valid_to`` has passed is
history, returned only when asked for. Then the same through REST, MCP and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp_helpers import run, session, structured

from memstrata import ConfigurationError, Memory, Scope
from memstrata.ports.models import FixedClock
from memstrata.server.rest import create_app
from memstrata.server.runner import running
from memstrata.settings import Settings

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
ADA = {"user_id": "ada"}
PAST = "2020-01-01T00:00:00Z"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def mem(db_path: Path, clock: FixedClock) -> Iterator[Memory]:
    with Memory(db_path, embedder="hashing", clock=clock) as memory:
        yield memory


def texts(records: Any) -> set[str]:
    return {r.text for r in records}


def test_an_expired_memory_stops_being_recalled_and_is_archived_not_deleted(
    mem: Memory, clock: FixedClock
) -> None:
    (note,) = mem.add("Parking code is 4411", expires_at=T0 + timedelta(days=1), **ADA).added
    mem.add("Ada's cat is called Pixel", **ADA)
    assert note.expires_at == T0 + timedelta(days=1)
    assert [h.id for h in mem.search("parking code", **ADA)][:1] == [note.id]
    clock.at = T0 + timedelta(days=2)
    assert note.id not in {h.id for h in mem.search("parking code", **ADA)}
    assert texts(mem.list(**ADA).records) == {"Ada's cat is called Pixel"}
    assert mem.get(note.id, **ADA).state == "archived"  # as it reads now
    assert [r.id for r in mem.list(states=["archived"], **ADA).records] == [note.id]
    assert note.id in {r.id for r in mem.list(history=True, **ADA).records}
    assert note.id in {h.id for h in mem.search("parking code", history=True, **ADA)}
    assert mem.maintain(dry_run=True, **ADA) == [note.id]
    assert mem.store.get(Scope(user_id="ada"), note.id).state == "active"  # as stored
    assert mem.maintain(**ADA) == [note.id]
    assert mem.history(note.id, **ADA)[-1].op == "ARCHIVE"
    assert mem.history(note.id, **ADA)[-1].reason == "expired"
    restored = mem.restore(note.id, **ADA)
    assert restored.state == "active" and restored.expires_at is None
    assert [v.expires_at for v in mem.versions(note.id, **ADA)] == [note.expires_at, None]
    assert [h.id for h in mem.search("parking code", **ADA)][:1] == [note.id]


def test_restore_many_brings_back_memories_that_expired_before_maintain_ran(
    mem: Memory, clock: FixedClock
) -> None:
    ids = mem.add(["note one", "note two"], expires_at=T0 + timedelta(hours=1), **ADA).ids
    clock.at = T0 + timedelta(hours=2)
    assert mem.list(**ADA).records == ()
    dry = mem.restore_many(where={"text": {"contains": "note"}}, dry_run=True, **ADA)
    assert dry.count == 2
    assert set(mem.restore_many(where={"text": {"contains": "note"}}, **ADA).ids) == set(ids)
    assert texts(mem.list(**ADA).records) == {"note one", "note two"}


def test_a_time_to_live_per_kind_comes_from_the_memory_or_the_call(
    db_path: Path, clock: FixedClock
) -> None:
    with Memory(db_path, embedder="hashing", clock=clock, ttl={"episode": 3600}) as mem:
        (first,) = mem.add("short-lived", **ADA).added
        assert first.expires_at == T0 + timedelta(hours=1)
        (second,) = mem.add("kept longer", expires_at=T0 + timedelta(days=9), **ADA).added
        assert second.expires_at == T0 + timedelta(days=9)
        note = mem.remember("a procedure", kind="procedure", **ADA)
        assert note.expires_at is None  # no time-to-live for procedures
        updated = mem.update(note.id, expires_at=T0 + timedelta(days=1), **ADA)
        assert updated.expires_at == T0 + timedelta(days=1) and updated.version == 2


def test_the_time_to_live_setting_is_read_and_checked(tmp_path: Path) -> None:
    env = {"MEMSTRATA_DB": str(tmp_path / "m.db"), "MEMSTRATA_TTL": "working=1d, episode=90m"}
    settings = Settings.from_env(env)
    assert settings.ttl == {"working": timedelta(days=1), "episode": timedelta(minutes=90)}
    with Memory.from_settings(settings, embedder="hashing") as mem:
        (record,) = mem.add("hello", **ADA).added
        assert record.expires_at == record.recorded_at + timedelta(minutes=90)
    with pytest.raises(ConfigurationError, match="MEMSTRATA_TTL item 'fact=soon'"):
        Settings.from_env({**env, "MEMSTRATA_TTL": "fact=soon"})


def test_a_fact_whose_valid_to_has_passed_is_history(mem: Memory, clock: FixedClock) -> None:
    message = mem.add("I lived in Paris until 2025, now in Lisbon", **ADA).added[0]
    (source,) = message.sources
    paris = mem.remember("Ada lived in Paris", sources=[source], valid_to="2025-06-01", **ADA)
    lisbon = mem.remember("Ada lives in Lisbon", sources=[source], valid_from="2025-06-01", **ADA)
    current = {h.id for h in mem.search("where does Ada live", kinds=["fact"], **ADA)}
    assert current == {lisbon.id}
    everything = mem.search("where does Ada live", kinds=["fact"], history=True, **ADA)
    assert {h.id for h in everything} == {paris.id, lisbon.id}
    assert {r.id for r in mem.list(kinds=["fact"], **ADA).records} == {lisbon.id}
    assert {r.id for r in mem.list(kinds=["fact"], history=True, **ADA).records} == {
        paris.id,
        lisbon.id,
    }
    assert mem.get(paris.id, **ADA).state == "active"  # history, not archived
    clock.at = datetime(2025, 1, 1, tzinfo=UTC)  # before valid_to: Paris is current
    assert paris.id in {r.id for r in mem.list(kinds=["fact"], **ADA).records}


def test_a_bad_expiry_or_time_to_live_is_refused(db_path: Path, mem: Memory) -> None:
    with pytest.raises(ValueError, match="expires_at 'tomorrow' is not an ISO 8601"):
        mem.add("x", expires_at="tomorrow", **ADA)
    with pytest.raises(ValueError, match="ttl: unknown kind 'notes'"):
        Memory(db_path, embedder="hashing", ttl={"notes": 60})
    with pytest.raises(ValueError, match="ttl for episode must be positive"):
        Memory(db_path, embedder="hashing", ttl={"episode": 0})


# -- the faces ----------------------------------------------------------------------------------
@pytest.fixture
def http(db_path: Path) -> Iterator[httpx.Client]:
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_rest_takes_expires_at_and_history(http: httpx.Client) -> None:
    body = {"messages": ["Gate code 1234"], "expires_at": PAST, **ADA}
    added = http.post("/v1/memories", json=body)
    assert added.status_code == 201, added.text
    (record,) = added.json()["added"]
    assert record["expires_at"].startswith("2020-01-01")
    search = {"query": "gate code", **ADA}
    assert http.post("/v1/memories/search", json=search).json()["hits"] == []
    found = http.post("/v1/memories/search", json={**search, "history": True}).json()["hits"]
    assert [h["id"] for h in found] == [record["id"]]
    assert http.get("/v1/memories", params=ADA).json()["memories"] == []
    listed = http.get("/v1/memories", params={"history": "true", **ADA}).json()["memories"]
    assert [m["id"] for m in listed] == [record["id"]]
    assert http.get(f"/v1/memories/{record['id']}", params=ADA).json()["state"] == "archived"
    later = {"expires_at": "2999-01-01T00:00:00Z"}
    patched = http.patch(f"/v1/memories/{record['id']}", params=ADA, json=later)
    assert patched.status_code == 200 and patched.json()["state"] == "active"
    bad = http.post("/v1/memories", json={**body, "expires_at": "soon"})
    assert bad.status_code == 422 and "expires_at" in bad.json()["error"]["message"]


def test_mcp_add_takes_expires_at_and_search_history(db_path: Path) -> None:
    async def calls() -> tuple[Any, Any, Any]:
        async with session("http", db_path, ADA) as client:
            added = await client.call_tool(
                "add_memory", {"text": "Gate code 1234", "expires_at": PAST}
            )
            now = await client.call_tool("search_memories", {"query": "gate code"})
            then = await client.call_tool(
                "search_memories", {"query": "gate code", "history": True}
            )
            return structured(added), structured(now), structured(then)

    added, now, then = run(calls)
    assert added["added"][0]["expires_at"].startswith("2020-01-01")
    assert now["hits"] == [] and len(then["hits"]) == 1


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEMSTRATA_DB": str(db), "MEMSTRATA_EMBEDDER": "hashing"}
    return subprocess.run([sys.executable, "-m", "memstrata.cli", *args], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip


def test_cli_add_takes_expires_at_and_list_history(db_path: Path) -> None:
    added = cli(db_path, "add", "--user", "ada", "Gate code 1234", "--expires-at", PAST)
    assert added.returncode == 0, added.stderr
    listed = json.loads(cli(db_path, "list", "--user", "ada", "--json").stdout)
    assert listed["memories"] == []
    everything = cli(db_path, "list", "--user", "ada", "--history", "--json").stdout
    assert [m["text"] for m in json.loads(everything)["memories"]] == ["Gate code 1234"]
    found = cli(db_path, "search", "--user", "ada", "gate code", "--history", "--json").stdout
    assert len(json.loads(found)["hits"]) == 1
