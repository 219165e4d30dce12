"""Reprocessing: what ran without a model, or failed, is done later, once, in its own scope."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from memstrata import ConfigurationError, Memory
from memstrata.cli import main
from memstrata.graph import entities
from memstrata.llms import OpenAICompatLLM
from memstrata.testing import Reply, ScriptedLLMServer, facts_per_message
from memstrata.types import Scope
from memstrata.write.pipeline import PipelineConfig

WHEN = "2024-05-02T10:00:00Z"


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    """Every extraction answered with one fact per message shown (queued replies, such as
    faults, still come first), every consolidation with ADD."""
    with ScriptedLLMServer(default=Reply.json({"decision": "ADD", "reason": "new"})) as scripted:
        scripted.on_prompt("extract_facts", facts_per_message())
        yield scripted


@pytest.fixture
def llm(server: ScriptedLLMServer) -> Iterator[OpenAICompatLLM]:
    with OpenAICompatLLM(server.base_url, model="scripted", backoff=0.01, max_retries=0) as client:
        yield client


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def conversation(n: int, prefix: str = "m") -> list[dict[str, str]]:
    return [
        {"id": f"{prefix}{i}", "speaker": "Ana" if i % 2 else "Ben", "text": f"Line {i} of ours."}
        for i in range(n)
    ]


def test_messages_added_without_a_model_are_processed_once(
    db_path: Path, server: ScriptedLLMServer, llm: OpenAICompatLLM
) -> None:
    with Memory(db_path, embedder="hashing") as plain:
        plain.add(conversation(23), user_id="ana", timestamp=WHEN)
        assert plain.reprocess(user_id="ana", dry_run=True).pending == 23
        with pytest.raises(ConfigurationError, match="language model"):
            plain.reprocess(user_id="ana")
    with Memory(db_path, embedder="hashing", llm=llm) as mem:
        report = mem.reprocess(user_id="ana")
        assert (report.messages, report.batches, report.extraction_calls) == (23, 3, 3)
        assert (report.added, report.pending, report.failed) == (23, 0, 0)
        facts = mem.list(user_id="ana", kinds=["fact"], limit=100).records
        assert sorted(f.sources[0] for f in facts) == sorted(f"m{i}" for i in range(23))
        before = {t: rows(db_path, t) for t in ("memories", "history", "memory_versions")}
        calls = len(server.chat_requests)
        again = mem.reprocess(user_id="ana")
        assert (again.messages, again.calls, again.added, again.pending) == (0, 0, 0, 0)
        assert {t: rows(db_path, t) for t in before} == before
        assert len(server.chat_requests) == calls


def test_reprocess_walks_sub_scopes_and_keeps_facts_in_their_own(
    db_path: Path, llm: OpenAICompatLLM
) -> None:
    with Memory(db_path, embedder="hashing") as plain:
        plain.add(conversation(3, "a"), user_id="ana", run_id="s1", timestamp=WHEN)
        plain.add(conversation(2, "b"), user_id="ana", run_id="s2", timestamp=WHEN)
        plain.add(conversation(2, "c"), user_id="bob", timestamp=WHEN)
    with Memory(db_path, embedder="hashing", llm=llm) as mem:
        report = mem.reprocess(user_id="ana")
        assert (report.messages, report.batches) == (5, 2)  # one batch per session
        runs = {
            f.sources[0]: f.scope.run_id for f in mem.list(user_id="ana", kinds=["fact"]).records
        }
        assert runs == {"a0": "s1", "a1": "s1", "a2": "s1", "b0": "s2", "b1": "s2"}
        assert mem.reprocess(user_id="bob", dry_run=True).pending == 2


def test_failed_batches_wait_for_reprocess_and_it_stops_when_the_model_is_down(
    db_path: Path, server: ScriptedLLMServer, llm: OpenAICompatLLM
) -> None:
    config = PipelineConfig(batch_size=2, wait_for_full_batch=False)
    with Memory(db_path, embedder="hashing", llm=llm, pipeline=config) as mem:
        server.enqueue(Reply.server_error())
        mem.add(conversation(4), user_id="ana", timestamp=WHEN)
        # the first batch failed, so the second was left for later (not tried)
        pending = mem.store.pending_messages(Scope(user_id="ana"), include_failed=True)
        assert [(p.message.id, p.status) for p in pending] == [
            ("m0", "failed"), ("m1", "failed"), ("m2", "new"), ("m3", "new"),
        ]  # fmt: skip
        server.enqueue(Reply.server_error(), Reply.server_error())
        down = mem.reprocess(user_id="ana")
        assert (down.failed_batches, down.messages, down.pending, down.failed) == (2, 0, 4, 4)
        assert down.errors[-1] == "stopped after two failed batches in a row"
        up = mem.reprocess(user_id="ana")
        assert (up.messages, up.added, up.pending) == (4, 4, 0)
        attempts = mem.store.pending_messages(Scope(user_id="ana"), include_failed=True)
        assert attempts == []


def test_reset_forgets_status_and_entities(db_path: Path, llm: OpenAICompatLLM) -> None:
    with Memory(db_path, embedder="hashing", llm=llm) as mem:
        mem.add(conversation(10), user_id="ana", timestamp=WHEN)
        assert [e.name for e in entities(mem, user_id="ana")] == ["Ana", "Ben"]
        mem.reset(user_id="ana", confirm=True)
        assert entities(mem, user_id="ana") == []
        assert rows(db_path, "message_status") == rows(db_path, "entity_mentions") == 0
        mem.add(conversation(10), user_id="ana", timestamp=WHEN)  # the same ids, new again
        assert len(mem.list(user_id="ana", kinds=["fact"]).records) == 10


def test_purge_takes_a_facts_links_and_mentions_with_it(
    db_path: Path, server: ScriptedLLMServer, llm: OpenAICompatLLM
) -> None:
    with Memory(db_path, embedder="hashing", llm=llm) as mem:
        mem.add(conversation(10), user_id="ana", timestamp=WHEN)
        for fact in mem.list(user_id="ana", kinds=["fact"]).records:
            mem.purge(fact.id, user_id="ana", confirm=True)
        assert rows(db_path, "entity_mentions") == rows(db_path, "links") == 0
        assert entities(mem, user_id="ana") == []


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, db_path: Path) -> None:
    for name in ("MEMSTRATA_LLM_BASE_URL", "MEMSTRATA_LLM_MODEL", "MEMSTRATA_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEMSTRATA_DB", str(db_path))
    monkeypatch.setenv("MEMSTRATA_EMBEDDER", "hashing")


@pytest.mark.usefixtures("environment")
def test_the_reprocess_command(
    server: ScriptedLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["add", "--user", "ana", "--speaker", "Ana", "I live in Porto."]) == 0
    capsys.readouterr()
    assert main(["reprocess", "--user", "ana", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == "1 messages to process (0 failed before)"
    assert main(["reprocess", "--user", "ana"]) == 1
    assert "needs a language model" in capsys.readouterr().err
    url = ["--llm-url", server.base_url, "--llm-model", "scripted"]
    assert main(["reprocess", "--user", "ana", *url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["messages"], report["added"], report["extraction_calls"]) == (1, 1, 1)
    assert main(["reprocess", "--user", "ana", *url]) == 0
    assert capsys.readouterr().out.startswith("processed 0 messages in 0 batches")
    assert main(["search", "--user", "ana", "--kind", "fact", "Porto", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert [h["text"] for h in hits] == ["Ana said: I live in Porto."]
