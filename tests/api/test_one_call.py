"""One model call per batch: the extraction is shown the stored facts the batch may touch and
decides what each new fact does to them; a consolidation call only when that answer is unusable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memstrata import Memory
from memstrata.llms import OpenAICompatLLM
from memstrata.prompts import consolidate, extract_facts
from memstrata.testing import Reply, ScriptedLLMServer
from memstrata.write.pipeline import PipelineConfig

WHEN = "2024-05-02T10:00:00Z"


def lives_in(city: str, source: str, **decision: Any) -> dict[str, Any]:
    return {
        "text": f"Ana lives in {city}.", "subject": "Ana", "sources": [source],
        "entities": ["Ana", city], "relations": [["Ana", "lives_in", city]], **decision,
    }  # fmt: skip


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as scripted:
        yield scripted


def memory(path: Path, server: ScriptedLLMServer, **config: Any) -> Memory:
    llm = OpenAICompatLLM(server.base_url, model="scripted", backoff=0.01, max_retries=1)
    options = {"wait_for_full_batch": False, **config}
    return Memory(path, embedder="hashing", llm=llm, pipeline=PipelineConfig(**options))


def calls(server: ScriptedLLMServer, prompt: str) -> int:
    return sum(r.prompt == prompt for r in server.chat_requests)


def test_the_extraction_decides_and_no_consolidation_call_is_made(
    tmp_path: Path, server: ScriptedLLMServer
) -> None:
    server.on_prompt(
        "extract_facts",
        Reply.json({"facts": [lives_in("Porto", "m1")]}),
        Reply.json({"facts": [lives_in("Lisbon", "m2", decision="INVALIDATE", memory="E1")]}),
    )
    with memory(tmp_path / "m.db", server) as mem:
        mem.add({"id": "m1", "speaker": "Ana", "text": "I live in Porto."}, user_id="ana")
        (porto,) = mem.list(user_id="ana", kinds=["fact"]).records
        mem.add({"id": "m2", "speaker": "Ana", "text": "I no longer live in Porto."}, user_id="ana")
        shown = server.chat_requests[-1].last_user or ""
        assert "EXISTING FACTS" in shown and '"id": "E1", "text": "Ana lives in Porto."' in shown
        assert calls(server, "consolidate") == 0 and calls(server, "extract_facts") == 2
        retired = mem.get(porto.id, user_id="ana")
        assert retired.expired_at is not None and retired.version == 2
        event = mem.history(porto.id, user_id="ana")[-1]
        assert event.op == "INVALIDATE" and event.prompt_version == extract_facts.VERSION


def test_an_unusable_decision_is_asked_apart(tmp_path: Path, server: ScriptedLLMServer) -> None:
    server.on_prompt(
        "extract_facts",
        Reply.json({"facts": [lives_in("Porto", "m1")]}),
        # UPDATE without its merged sentence says nothing usable.
        Reply.json({"facts": [lives_in("Porto centre", "m2", decision="UPDATE", memory="E1")]}),
    )
    server.on_prompt(
        "consolidate",
        Reply.json({"decision": "UPDATE", "id": "1", "new_text": "Ana lives in central Porto."}),
    )
    with memory(tmp_path / "m.db", server) as mem:
        mem.add({"id": "m1", "speaker": "Ana", "text": "I live in Porto."}, user_id="ana")
        mem.add(
            {"id": "m2", "speaker": "Ana", "text": "In Porto, right in the centre."}, user_id="ana"
        )
        assert calls(server, "consolidate") == 1
        (fact,) = mem.list(user_id="ana", kinds=["fact"]).records
        assert fact.text == "Ana lives in central Porto."
        event = mem.history(fact.id, user_id="ana")[-1]
        assert event.prompt_version == f"{extract_facts.VERSION}+{consolidate.VERSION}"


def test_a_decision_naming_a_fact_it_was_not_shown_adds(
    tmp_path: Path, server: ScriptedLLMServer
) -> None:
    server.on_prompt(
        "extract_facts",
        Reply.json({"facts": [lives_in("Porto", "m1")]}),
        Reply.json({"facts": [lives_in("Lisbon", "m2", decision="INVALIDATE", memory="E9")]}),
    )
    with memory(tmp_path / "m.db", server) as mem:
        mem.add({"id": "m1", "speaker": "Ana", "text": "I live in Porto."}, user_id="ana")
        mem.add({"id": "m2", "speaker": "Ana", "text": "Porto? I live in Lisbon."}, user_id="ana")
        assert calls(server, "consolidate") == 0
        facts = mem.list(user_id="ana", kinds=["fact"]).records
        assert sorted(f.text for f in facts) == ["Ana lives in Lisbon.", "Ana lives in Porto."]
        assert all(f.expired_at is None for f in facts)


def test_switched_off_it_asks_as_before(tmp_path: Path, server: ScriptedLLMServer) -> None:
    server.on_prompt(
        "extract_facts",
        Reply.json({"facts": [lives_in("Porto", "m1")]}),
        Reply.json({"facts": [lives_in("Lisbon", "m2", decision="INVALIDATE", memory="E1")]}),
    )
    server.on_prompt("consolidate", Reply.json({"decision": "INVALIDATE", "id": "1"}))
    with memory(tmp_path / "m.db", server, one_call=False) as mem:
        mem.add({"id": "m1", "speaker": "Ana", "text": "I live in Porto."}, user_id="ana")
        mem.add({"id": "m2", "speaker": "Ana", "text": "I live in Lisbon now."}, user_id="ana")
        assert "EXISTING FACTS" not in (server.chat_requests[-2].last_user or "")
        assert calls(server, "consolidate") == 1
