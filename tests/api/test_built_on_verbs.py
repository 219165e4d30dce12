"""What is built on the verbs (``WorkingMemory``, ``reflect``, the graph views) works the same on
every face: an embedded ``Memory``, an ``AsyncMemory``, a ``RemoteMemory`` and an
``AsyncRemoteMemory`` talking to a real REST server (uvicorn on 127.0.0.1) over one store.

The store is filled once through an embedded ``Memory`` with a scripted language model (so that
it holds entities, relations and links); each face then reads and writes it, in a scope of its
own where it writes, and every public entry point is called on it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memstrata import AsyncMemory, Memory, NotFoundError, RemoteMemory, WorkingMemory, reflect
from memstrata.graph import about, entities, links
from memstrata.llms import OpenAICompatLLM
from memstrata.options import PipelineConfig
from memstrata.remote import AsyncRemoteMemory
from memstrata.server.rest import create_app
from memstrata.server.runner import running
from memstrata.testing import Reply, ScriptedLLMServer

WHEN = "2024-05-02T10:00:00Z"
FACES = ["memory", "async", "remote", "async-remote"]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with two linked facts naming entities, written through the LLM write path."""
    path = tmp_path_factory.mktemp("built") / "m.db"
    tea = {"text": "Ana likes tea.", "subject": "Ana", "sources": ["m1"],
           "entities": ["Ana", "tea"], "relations": [["Ana", "likes", "tea"]]}  # fmt: skip
    shop = {"text": "Ana buys tea at Chá Lisboa.", "subject": "Ana", "sources": ["m2"],
            "entities": ["Ana", "tea", "Chá Lisboa"]}  # fmt: skip
    with ScriptedLLMServer() as scripted:
        scripted.on_prompt(
            "extract_facts", Reply.json({"facts": [tea]}), Reply.json({"facts": [shop]})
        )
        scripted.on_prompt(
            "consolidate",
            Reply.json({"decision": "ADD", "id": None, "new_text": None, "reason": "new"}),
        )
        llm = OpenAICompatLLM(scripted.base_url, model="scripted", backoff=0.01, max_retries=1)
        config = PipelineConfig(wait_for_full_batch=False, link_threshold=0.2)
        with llm, Memory(path, embedder="hashing", llm=llm, pipeline=config) as mem:
            mem.add({"id": "m1", "speaker": "Ana", "text": "I like tea."}, user_id="ana",
                    timestamp=WHEN)  # fmt: skip
            mem.add({"id": "m2", "speaker": "Ana", "text": "I buy it at Chá Lisboa."},
                    user_id="ana", timestamp=WHEN)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def server(store_path: Path) -> Iterator[str]:
    with running(create_app(store_path, embedder="hashing")) as url:
        yield url


@pytest.fixture(params=FACES)
def face(request: pytest.FixtureRequest, store_path: Path, server: str) -> Iterator[Any]:
    kind = request.param
    if kind == "memory":
        memory: Any = Memory(store_path, embedder="hashing")
    elif kind == "async":
        memory = AsyncMemory(store_path, embedder="hashing")
    elif kind == "remote":
        memory = RemoteMemory(server)
    else:
        memory = AsyncRemoteMemory(server)
    yield memory
    closed = memory.close()
    if asyncio.iscoroutine(closed):
        asyncio.run(closed)


def test_the_graph_views_read_the_same_graph_on_every_face(face: Any) -> None:
    names = [(e.name, e.mentions) for e in entities(face, user_id="ana")]
    assert names[:2] == [("Ana", 2), ("tea", 2)] and ("Chá Lisboa", 1) in names
    assert entities(face, user_id="ana", limit=1) == entities(face, user_id="ana")[:1]

    view = about(face, "TEA", user_id="ana")
    assert view is not None and view.entity.name == "tea" and view.entity.mentions == 2
    assert [(t.subject, t.predicate, t.object) for t in view.relations] == [("Ana", "likes", "tea")]
    assert {m.text for m in view.memories} == {"Ana likes tea.", "Ana buys tea at Chá Lisboa."}
    assert about(face, "Porto", user_id="ana") is None

    shop = next(m for m in view.memories if "Chá" in m.text)
    linked = links(face, shop.id, user_id="ana")
    assert [(link.kind, other.text) for link, other in linked] == [("related", "Ana likes tea.")]
    with pytest.raises(NotFoundError):  # another scope's memory is not there
        links(face, shop.id, user_id="bob")


def test_working_memory_runs_a_task_on_every_face(
    face: Any, request: pytest.FixtureRequest
) -> None:
    task = f"task-{request.node.callspec.id}"
    wm = WorkingMemory(face, task, agent_id="coder")
    goal = wm.open_subgoal("find the failing test")
    assert wm.current is not None and wm.current.id == goal
    wm.step("run pytest", "3 failed: test_io, test_cli, test_db")
    assert [s.action for s in wm.steps()] == ["run pytest"]
    assert [g.goal for g in wm.path()] == ["find the failing test"]
    summary = wm.close_subgoal("test_db leaks a connection")
    assert summary.kind == "summary" and summary.sources
    assert [g.status for g in wm.subgoals()] == ["done"]
    assert "test_db leaks a connection" in wm.context(2000)
    assert wm.structured_context(2000).text == wm.context(2000)
    assert wm.tree.task_id == task

    again = WorkingMemory.resume(face, task)
    assert again.scope == wm.scope and [g.status for g in again.subgoals()] == ["done"]
    with pytest.raises(NotFoundError):
        WorkingMemory.resume(face, f"{task}-never")


def test_reflect_summarises_a_session_on_every_face(
    face: Any, request: pytest.FixtureRequest
) -> None:
    user = f"ben-{request.node.callspec.id}"
    session = [
        {"id": f"{user}:1", "speaker": "Ben", "text": "I love hiking in the Alps."},
        {"id": f"{user}:2", "speaker": "Ben", "text": "I'm planning a trip to Japan next spring."},
    ]
    added = face.add(session, user_id=user, run_id="s1", timestamp=WHEN)
    if asyncio.iscoroutine(added):
        asyncio.run(added)
    summary, *thoughts = reflect(face, user_id=user, run_id="s1")
    assert summary.kind == "summary" and set(summary.sources) == {f"{user}:1", f"{user}:2"}
    assert thoughts and all(t.kind == "thought" for t in thoughts)
    assert reflect(face, user_id=user, run_id="s1") == [summary, *thoughts]  # no duplicates
    by_ids = reflect(face, user_id=user, run_id="s1", message_ids=[f"{user}:1"])
    assert by_ids and by_ids[0].sources == (f"{user}:1",)


def test_something_that_is_no_memory_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="not dict"):
        WorkingMemory({}, "task")  # type: ignore[arg-type]
