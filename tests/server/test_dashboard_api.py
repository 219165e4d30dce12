"""What the dashboard needs from the REST server: its files at ``/`` and ``/ui/`` (all local,
none shadowing the API), a memory's links and a scope's graph, each confined to the caller's
tenant like every other route. A real uvicorn server on 127.0.0.1 over a real store."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from memstrata import Memory
from memstrata.llms import OpenAICompatLLM
from memstrata.server.auth import create_key
from memstrata.server.rest import WEB_DIR, create_app
from memstrata.server.runner import running
from memstrata.stores import open_store
from memstrata.testing import Reply, ScriptedLLMServer
from memstrata.write.pipeline import PipelineConfig

TEA = {"text": "Ana likes green tea.", "subject": "Ana", "sources": ["m1"],
       "entities": ["Ana", "green tea"], "relations": [["Ana", "likes", "green tea"]]}  # fmt: skip
SHOP = {"text": "Ana buys green tea at Chá Lisboa.", "subject": "Ana", "sources": ["m2"],
        "entities": ["Ana", "green tea", "Chá Lisboa"],
        "relations": [["Ana", "shops_at", "Chá Lisboa"]]}  # fmt: skip


@dataclass
class World:
    url: str
    a: httpx.Client
    b: httpx.Client
    tea: dict[str, Any]
    shop: dict[str, Any]


def client(url: str, secret: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=30)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Tenant ``acme`` has two linked facts (through the LLM write path with the scripted
    model); tenant ``globex`` has a memory in a scope of the same name."""
    db: Path = tmp_path_factory.mktemp("dashboard-api") / "m.db"
    with ScriptedLLMServer() as scripted:
        scripted.on_prompt("extract_facts", Reply.json({"facts": [TEA]}),
                           Reply.json({"facts": [SHOP]}))  # fmt: skip
        scripted.on_prompt("consolidate", Reply.json({"decision": "ADD", "reason": "new"}))
        llm = OpenAICompatLLM(scripted.base_url, model="scripted", backoff=0.01, max_retries=1)
        config = PipelineConfig(wait_for_full_batch=False, link_threshold=0.2)
        with llm, Memory(db, embedder="hashing", llm=llm, tenant="acme", pipeline=config) as mem:
            for message_id, text in (
                ("m1", "I love green tea."),
                ("m2", "I get it at Chá Lisboa."),
            ):
                mem.add({"id": message_id, "speaker": "Ana", "text": text}, user_id="ana")
    with Memory(db, embedder="hashing", tenant="globex") as other:
        other.add("Globex keeps its tea in Oslo.", user_id="ana")
    store = open_store(db)
    key_a, key_b = (create_key(store, t).secret for t in ("acme", "globex"))
    store.close()
    with (
        running(create_app(db, embedder="hashing")) as url,
        client(url, key_a) as a,
        client(url, key_b) as b,
    ):
        facts = a.get("/v1/memories", params={"user_id": "ana", "kind": "fact"}).json()
        by_text = {m["text"]: m for m in facts["memories"]}
        yield World(url, a, b, by_text[TEA["text"]], by_text[SHOP["text"]])


# -- the dashboard's files ------------------------------------------------------------------------
def test_the_dashboard_page_and_every_file_it_loads_are_served(world: World) -> None:
    page = httpx.get(world.url + "/")  # no key needed: the page holds no data
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    head = httpx.head(world.url + "/")  # what uptime checks and link previews send
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == page.headers["content-length"]
    seen: set[str] = set()
    todo = [
        urljoin(world.url + "/", ref) for ref in re.findall(r'(?:src|href)="([^"]+)"', page.text)
    ]
    todo = [u for u in todo if not u.endswith("/docs")]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = httpx.get(url)
        assert response.status_code == 200, url
        kind = response.headers["content-type"]
        if url.endswith(".js"):
            assert "javascript" in kind, (url, kind)
            imports = re.findall(r'(?:from|import\()\s*"(\.{1,2}/[^"]+)"', response.text)
            todo += [urljoin(url, ref) for ref in imports]
        elif url.endswith(".css"):
            assert kind.startswith("text/css")
    assert any(u.endswith("/ui/views/graph.js") for u in seen)  # followed the imports
    shipped = {
        f"/ui/{p.relative_to(WEB_DIR).as_posix()}" for p in WEB_DIR.rglob("*") if p.is_file()
    }
    assert {httpx.URL(u).path for u in seen} == shipped - {"/ui/index.html"}


def test_the_dashboard_loads_nothing_from_the_network() -> None:
    outside = re.compile(r"https?://(?!www\.w3\.org/2000/svg\b)|//cdn")
    for path in WEB_DIR.rglob("*"):
        if path.is_file():
            text = path.read_text("utf-8")
            assert not outside.search(text), path
            if path.suffix == ".css":
                assert "@import" not in text and "url(" not in text, path


def test_the_dashboard_shadows_no_route_of_the_server(world: World) -> None:
    http = world.a
    assert http.get("/healthz").json()["status"] == "ok"
    assert "memstrata_http_requests_total" in http.get("/metrics").text
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/ui") for p in paths)
    assert {"/v1/graph", "/v1/memories/{memory_id}/links"} <= set(paths)
    for path in ("/v1/nowhere", "/nowhere", "/ui/nothing.js", "/ui/..%2Fserver%2Frest.py"):
        response = http.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found", path
    wrong = http.post("/")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, OPTIONS"


# -- links and the graph --------------------------------------------------------------------------
def test_a_memorys_links_come_with_the_memory_at_the_other_end(world: World) -> None:
    scope = {"user_id": "ana"}
    (out,) = world.a.get(f"/v1/memories/{world.shop['id']}/links", params=scope).json()
    assert (out["kind"], out["direction"]) == ("related", "out")
    assert out["memory"]["id"] == world.tea["id"] and out["memory"]["text"] == TEA["text"]
    assert 0.2 <= out["score"] <= 1.0
    (back,) = world.a.get(f"/v1/memories/{world.tea['id']}/links", params=scope).json()
    assert back["direction"] == "in" and back["memory"]["id"] == world.shop["id"]
    assert (
        world.a.get(f"/v1/memories/{world.tea['id']}/links", params={"user_id": "bob"}).status_code
        == 404
    )


def test_the_graph_of_a_scope_has_memories_entities_links_and_relations(world: World) -> None:
    graph = world.a.get("/v1/graph", params={"user_id": "ana", "kind": "fact"}).json()
    nodes = {n["id"]: n for n in graph["nodes"]}
    tea, shop = f"memory:{world.tea['id']}", f"memory:{world.shop['id']}"
    assert nodes[tea]["type"] == "memory" and nodes[tea]["label"] == TEA["text"]
    assert nodes[tea]["kind"] == "fact" and nodes[tea]["state"] == "active"
    assert {k: nodes[k]["mentions"] for k in nodes if k.startswith("entity:")} == {
        "entity:ana": 2, "entity:green tea": 2, "entity:chá lisboa": 1,
    }  # fmt: skip
    edges = {(e["source"], e["target"], e["type"], e["label"]) for e in graph["edges"]}
    assert (shop, tea, "link", "related") in edges
    assert (tea, "entity:green tea", "mentions", "mentions") in edges
    assert ("entity:ana", "entity:green tea", "relation", "likes") in edges
    assert ("entity:ana", "entity:chá lisboa", "relation", "shops at") in edges
    assert all(e["source"] in nodes and e["target"] in nodes for e in graph["edges"])
    episodes = world.a.get("/v1/graph", params={"user_id": "ana", "kind": "episode"}).json()
    assert all(n["kind"] == "episode" for n in episodes["nodes"] if n["type"] == "memory")
    assert not any(e["type"] == "link" for e in episodes["edges"])  # the facts are left out
    newest = world.a.get("/v1/graph", params={"user_id": "ana", "kind": "fact", "limit": 1})
    assert [n["id"] for n in newest.json()["nodes"] if n["type"] == "memory"] == [shop]
    world.a.delete(f"/v1/memories/{world.shop['id']}", params={"user_id": "ana"})
    try:
        after = world.a.get("/v1/graph", params={"user_id": "ana", "kind": "fact"}).json()
        assert shop not in {n["id"] for n in after["nodes"]}  # active only, by default
        every = world.a.get(
            "/v1/graph",
            params={"user_id": "ana", "kind": "fact", "state": ["active", "deleted"]},
        ).json()
        assert shop in {n["id"] for n in every["nodes"]}
    finally:
        world.a.post(f"/v1/memories/{world.shop['id']}/restore", params={"user_id": "ana"})


def test_the_graph_needs_a_scope_and_a_sane_limit(world: World) -> None:
    assert world.a.get("/v1/graph").json()["error"]["code"] == "scope_required"
    for limit in (0, 1001, "x"):
        response = world.a.get("/v1/graph", params={"user_id": "ana", "limit": limit})
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_input"
    assert httpx.get(world.url + "/v1/graph", params={"user_id": "ana"}).status_code == 401


# -- tenants --------------------------------------------------------------------------------------
def test_another_tenants_links_answer_like_ids_that_never_existed(world: World) -> None:
    real, made_up = world.tea["id"], uuid.uuid4().hex
    crossing = world.b.get(f"/v1/memories/{real}/links", params={"user_id": "ana"})
    guessing = world.b.get(f"/v1/memories/{made_up}/links", params={"user_id": "ana"})
    assert crossing.status_code == 404 and crossing.json()["error"]["code"] == "not_found"
    assert crossing.text.replace(real, "ID") == guessing.text.replace(made_up, "ID")


def test_the_graph_shows_only_your_tenant(world: World) -> None:
    theirs = world.b.get("/v1/graph", params={"user_id": "ana"}).json()
    labels = {n["label"] for n in theirs["nodes"]}
    assert "Globex keeps its tea in Oslo." in labels
    assert not labels & {TEA["text"], SHOP["text"], "Chá Lisboa", "I love green tea."}
    assert not any(
        world.tea["id"] in n["id"] or world.shop["id"] in n["id"] for n in theirs["nodes"]
    )
    mine = world.a.get("/v1/graph", params={"user_id": "ana"}).json()
    assert "Globex keeps its tea in Oslo." not in {n["label"] for n in mine["nodes"]}
