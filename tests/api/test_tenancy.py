"""API keys and tenants: each key sees its own tenant and nothing else, not even whether
another tenant's memory exists. Two tenants on one real server and one store; tenant B tries
every way across the line it can think of."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from memstrata import ConfigurationError, NotFoundError, RemoteMemory
from memstrata.server.auth import (
    Keyring,
    bearer_secret,
    create_key,
    hash_secret,
    revoke_key,
)
from memstrata.server.rest import create_app
from memstrata.server.runner import running
from memstrata.stores import open_store

SECRET = "zebra-lisbon-apollo"  # a word only tenant A ever writes


@dataclass
class World:
    url: str
    db: Path
    a: httpx.Client
    b: httpx.Client
    a_ids: list[str]
    a_search_id: str
    b_id: str


def client(url: str, secret: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    db = tmp_path_factory.mktemp("tenancy") / "shared.db"
    store = open_store(db)
    key_a = create_key(store, "acme", name="A").secret
    key_b = create_key(store, "globex", name="B").secret
    store.close()
    app = create_app(db, embedder="hashing")  # keys exist, so they are required
    with running(app) as url, client(url, key_a) as a, client(url, key_b) as b:
        added = a.post(
            "/v1/memories",
            json={
                "user_id": "ada",
                "messages": [
                    {"id": "m1", "text": f"My password hint is {SECRET}", "speaker": "Ada"},
                    {"id": "m2", "text": "I moved to Lisbon in May", "speaker": "Ada"},
                ],
                "metadata": {"project": "apollo"},
            },
        ).json()
        a_ids = [r["id"] for r in added["added"]]
        a.post("/v1/memories", json={"user_id": "zed", "messages": ["zed only"]})
        a_search = a.post("/v1/memories/search", json={"user_id": "ada", "query": SECRET}).json()
        assert a_search["hits"][0]["id"] == a_ids[0]
        b_added = b.post(
            "/v1/memories", json={"user_id": "ada", "messages": ["I like green tea"]}
        ).json()
        yield World(url, db, a, b, a_ids, a_search["search_id"], b_added["added"][0]["id"])


def same_as_never_existed(world: World, method: str, tail: str, **kwargs: Any) -> None:
    """B's request on A's memory answers exactly like the same request on a made-up id."""
    real, made_up = world.a_ids[0], uuid.uuid4().hex
    crossing = world.b.request(method, f"/v1/memories/{real}{tail}", **kwargs)
    guessing = world.b.request(method, f"/v1/memories/{made_up}{tail}", **kwargs)
    assert crossing.status_code == 404, crossing.text
    assert crossing.json()["error"]["code"] == "not_found"
    assert crossing.text.replace(real, "ID") == guessing.text.replace(made_up, "ID")
    assert SECRET not in crossing.text


SCOPE = {"user_id": "ada"}


@pytest.mark.parametrize(
    ("method", "tail", "kwargs"),
    [
        ("GET", "", {"params": SCOPE}),
        ("PATCH", "", {"params": SCOPE, "json": {"text": "mine now"}}),
        ("PATCH", "", {"params": SCOPE, "json": {"text": "x", "expected_version": 1}}),
        ("DELETE", "", {"params": SCOPE}),
        ("POST", "/restore", {"params": SCOPE}),
        ("POST", "/archive", {"params": SCOPE}),
        ("POST", "/purge", {"params": {**SCOPE, "confirm": "true"}}),
        ("GET", "/history", {"params": SCOPE}),
        ("GET", "/versions", {"params": SCOPE}),
        ("GET", "/sources", {"params": SCOPE}),
        ("GET", "", {"params": {"agent_id": "any"}}),
    ],
)
def test_another_tenants_ids_look_like_ids_that_never_existed(
    world: World, method: str, tail: str, kwargs: dict[str, Any]
) -> None:
    same_as_never_existed(world, method, tail, **kwargs)
    mine = world.a.get(f"/v1/memories/{world.a_ids[0]}", params=SCOPE).json()
    assert (mine["state"], mine["version"]) == ("active", 1)


def test_search_terms_and_filters_find_nothing_of_another_tenant(world: World) -> None:
    bodies: list[dict[str, Any]] = [
        {"query": SECRET},
        {"query": SECRET, "states": ["active", "archived", "deleted"]},
        {"query": "Lisbon password hint", "metadata": {"project": "apollo"}},
        {"query": "Ada", "actor": "Ada", "limit": 1000},
        {"query": "zed only", "kinds": ["episode"]},
    ]
    for body in bodies:
        for scope in ({"user_id": "ada"}, {"user_id": "zed"}):
            found = world.b.post("/v1/memories/search", json={**scope, **body})
            assert found.status_code == 200, found.text
            hits = found.json()["hits"]
            assert {h["id"] for h in hits} <= {world.b_id}, body
            assert SECRET not in json.dumps(hits) and "zed only" not in json.dumps(hits)


def test_listing_scopes_and_export_show_only_your_tenant(world: World) -> None:
    page = world.b.get("/v1/memories", params={"user_id": "ada", "limit": 1}).json()
    assert [m["id"] for m in page["memories"]] == [world.b_id] and page["next_cursor"] is None
    for params in (
        {"user_id": "zed"},
        {"user_id": "ada", "metadata": '{"project": "apollo"}'},
        {"user_id": "ada", "state": ["deleted", "archived"]},
    ):
        assert world.b.get("/v1/memories", params=params).json()["memories"] == []
    scopes = world.b.get("/v1/scopes").json()
    assert [(s["user_id"], s["memories"]) for s in scopes] == [("ada", 1)]
    for params in ({"user_id": "ada"}, {"user_id": "zed"}):
        exported = world.b.get("/v1/export", params=params).text
        assert SECRET not in exported and "zed only" not in exported
        assert all(world.a_ids[0] not in line for line in exported.splitlines())


def test_another_tenants_search_ids_and_message_ids_are_unknown(world: World) -> None:
    feedback = world.b.post(
        "/v1/feedback",
        json={"user_id": "ada", "search_id": world.a_search_id, "used": []},
    )
    made_up = world.b.post(
        "/v1/feedback", json={"user_id": "ada", "search_id": uuid.uuid4().hex, "used": []}
    )
    assert feedback.status_code == made_up.status_code == 404
    # A derived memory may not cite A's messages: answered like an unknown message id.
    cited = world.b.post(
        "/v1/memories/remember", json={"user_id": "ada", "text": "x", "sources": ["m1"]}
    )
    unknown = world.b.post(
        "/v1/memories/remember", json={"user_id": "ada", "text": "x", "sources": ["m9"]}
    )
    assert cited.status_code == unknown.status_code == 422
    assert cited.text.replace("m1", "ID") == unknown.text.replace("m9", "ID")
    # Message ids live per tenant: B's "m1" is B's own message, not a duplicate of A's.
    added = world.b.post(
        "/v1/memories", json={"user_id": "ada", "messages": [{"id": "m1", "text": "mine"}]}
    ).json()
    assert added["duplicates"] == [] and len(added["added"]) == 1
    world.b.post(
        f"/v1/memories/{added['added'][0]['id']}/purge", params={**SCOPE, "confirm": "true"}
    ).raise_for_status()


def test_importing_another_tenants_export_copies_and_leaks_nothing(world: World) -> None:
    exported = world.a.get("/v1/export", params={"user_id": "zed"}).content
    imported = world.b.post(
        "/v1/import", content=exported, headers={"Content-Type": "application/x-ndjson"}
    )
    assert imported.json() == {"memories": 1}  # ids are per tenant: no 409 that would leak
    zed = world.b.get("/v1/memories", params={"user_id": "zed"}).json()["memories"]
    world.b.post("/v1/reset", params={"user_id": "zed", "confirm": "true"}).raise_for_status()
    assert len(world.a.get("/v1/memories", params={"user_id": "zed"}).json()["memories"]) == 1
    assert len(zed) == 1


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ms_not-a-key", "Basic bXM6eA==", "ms_nothing", "Bearer ms_"],
)
def test_requests_without_a_valid_key_are_401(world: World, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(base_url=world.url, headers=headers) as anyone:
        schema = anyone.get("/openapi.json").json()
        for path, operations in schema["paths"].items():
            if not path.startswith("/v1/"):
                continue
            for method in operations:
                url = path.replace("{memory_id}", world.a_ids[0])
                response = anyone.request(method, url, params=SCOPE)
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
                assert response.json()["error"]["code"] == "unauthorized"
        assert anyone.get("/healthz").status_code == 200


def test_whoami_and_remote_memory_with_keys(world: World) -> None:
    assert world.a.get("/v1/whoami").json() == {"tenant": "acme", "authenticated": True}
    secret = world.b.headers["authorization"].split()[1]
    with RemoteMemory(world.url, api_key=secret) as remote:
        assert remote.tenant == "globex"
        with pytest.raises(NotFoundError):
            remote.get(world.a_ids[0], user_id="ada")
        assert remote.get(world.b_id, user_id="ada").scope.tenant == "globex"
    with RemoteMemory(world.url, api_key="ms_wrong") as wrong, pytest.raises(ConfigurationError):
        wrong.search("x", user_id="ada")


def test_revoked_keys_stop_working_at_once(world: World) -> None:
    store = open_store(world.db)
    new = create_key(store, "acme", name="temporary")
    with client(world.url, new.secret) as c:
        assert c.get("/v1/whoami").json()["tenant"] == "acme"
        revoke_key(store, new.key.id)
        assert c.get("/v1/whoami").status_code == 401
    with pytest.raises(NotFoundError):
        revoke_key(store, new.key.id)
    store.close()


def test_keys_are_stored_as_hashes_only(world: World) -> None:
    store = open_store(world.db)
    new = create_key(store, "initech")
    keys = store.api_keys("initech")
    store.close()
    assert new.secret.startswith("ms_") and len(new.secret) > 40
    assert [k.key_hash for k in keys] == [hash_secret(new.secret)]
    assert new.secret not in world.db.read_bytes().decode("latin-1")
    assert bearer_secret(f"Bearer {new.secret}") == new.secret
    assert bearer_secret("Bearer x") is None and bearer_secret(None) is None


def test_without_keys_every_request_is_the_default_tenant(db_path: Path) -> None:
    store = open_store(db_path)
    keyring = Keyring(store, open_tenant="default")
    assert not keyring.required and keyring.tenant_for(None) == "default"
    assert Keyring(store, required=True, open_tenant="default").tenant_for(None) is None
    store.close()


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEMSTRATA_DB": str(db), "MEMSTRATA_EMBEDDER": "hashing"}
    return subprocess.run(
        [sys.executable, "-m", "memstrata.cli", "keys", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_keys_cli_create_list_revoke(db_path: Path) -> None:
    created = cli(db_path, "create", "--tenant", "acme", "--name", "ci bot", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["tenant"] == "acme" and key["secret"].startswith("ms_")
    human = cli(db_path, "create", "--tenant", "globex")
    assert "ms_" in human.stdout and "cannot be shown again" in human.stdout
    listed = cli(db_path, "list", "--tenant", "acme")
    assert key["id"] in listed.stdout and "ci bot" in listed.stdout
    assert "ms_" not in listed.stdout and "globex" not in listed.stdout
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, client(url, key["secret"]) as c:
        assert c.get("/v1/whoami").json()["tenant"] == "acme"
        assert cli(db_path, "revoke", key["id"]).returncode == 0
        assert c.get("/v1/whoami").status_code == 401
    assert "REVOKED" in cli(db_path, "list").stdout
    again = cli(db_path, "revoke", key["id"])
    assert again.returncode == 3 and "no active API key" in again.stderr
