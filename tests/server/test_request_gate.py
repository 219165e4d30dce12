"""A web page the user has open must not be able to use the REST server: not by a "simple"
cross-site request (a foreign ``Origin``, a ``text/plain`` or form body), not by pointing a
name of its own at 127.0.0.1 (DNS rebinding: a foreign ``Host``). The decisions are pure
functions, checked here first; then a real server on 127.0.0.1, with and without API keys, and
``memstrata serve`` itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from memstrata import ConfigurationError
from memstrata.server.auth import create_key
from memstrata.server.gate import (
    Policy,
    host_allowed,
    media_type,
    origin_allowed,
    refusal,
    split_host,
    split_origin,
)
from memstrata.server.rest import create_app
from memstrata.server.runner import running
from memstrata.stores import open_store

EVIL = "http://evil.example"


# -- the decisions --------------------------------------------------------------------------------
def test_host_values_are_split_into_name_and_port() -> None:
    assert split_host("Example.ORG:8420") == ("example.org", 8420)
    assert split_host("127.0.0.1") == ("127.0.0.1", None)
    assert split_host("[::1]:8420") == ("::1", 8420)
    for bad in ("", ":8420", "::1", "[::1", "[::1]x", "a:b", "a:99999", "a b", "a/b", "u@a"):
        assert split_host(bad) is None, bad


def test_origins_are_split_with_their_default_port() -> None:
    assert split_origin("http://127.0.0.1:8420") == ("http", "127.0.0.1", 8420)
    assert split_origin("HTTPS://App.example.org") == ("https", "app.example.org", 443)
    assert split_origin("http://[::1]") == ("http", "::1", 80)
    for bad in ("null", "file://", "chrome-extension://abc", "http://", "http://a/b", "a.org"):
        assert split_origin(bad) is None, bad


def test_only_loopback_names_are_served_unless_the_operator_lists_more() -> None:
    for host in ("127.0.0.1:8420", "localhost:8420", "LOCALHOST", "[::1]:8420", "127.9.9.9"):
        assert host_allowed(host, ()), host
    for host in ("evil.example:8420", "evil.example", "0.0.0.0:8420", "192.168.1.4", "", None):
        assert not host_allowed(host, ()), host
    listed = ("memory.example.org", "10.0.0.5:8420")
    assert host_allowed("memory.example.org:8420", listed)
    assert host_allowed("Memory.Example.org", listed)
    assert host_allowed("10.0.0.5:8420", listed) and not host_allowed("10.0.0.5:9000", listed)
    assert not host_allowed("evil.memory.example.org", listed)
    assert host_allowed("anything.example:1", ("*",))


@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}", fullmatch=True),
       st.integers(1, 65535))  # fmt: skip
def test_no_name_but_localhost_is_served_by_default(name: str, port: int) -> None:
    assert host_allowed(f"{name}:{port}", ()) == (name == "localhost")


def test_a_page_may_call_only_its_own_server_or_a_listed_origin() -> None:
    own = "127.0.0.1:8420"
    assert origin_allowed(None, own, ())  # curl, SDKs: no Origin, not a web page
    assert origin_allowed("http://127.0.0.1:8420", own, ())  # the dashboard
    assert origin_allowed("https://memory.example.org", "memory.example.org", ())  # behind TLS
    for origin in (EVIL, "http://127.0.0.1:9999", "http://localhost:8420", "null", "nonsense"):
        assert not origin_allowed(origin, own, ()), origin
    assert not origin_allowed("http://127.0.0.1:8420", None, ())
    listed = ("https://app.example.org",)
    assert origin_allowed("https://app.example.org", own, listed)
    assert origin_allowed("https://app.example.org:443", own, listed)
    assert not origin_allowed("http://app.example.org", own, listed)


def test_a_body_needs_the_json_type_of_its_route() -> None:
    policy = Policy(ndjson_paths=frozenset({"/v1/import"}))
    base = {"host": "127.0.0.1:8420", "content-length": "2"}
    assert media_type("Application/JSON; charset=utf-8") == "application/json"
    assert refusal("/v1/memories", {**base, "content-type": "application/json"}, policy) is None
    assert refusal("/v1/import", {**base, "content-type": "application/x-ndjson"}, policy) is None
    for path, given_type in [
        ("/v1/memories", "text/plain"),
        ("/v1/memories", "application/x-www-form-urlencoded"),
        ("/v1/memories", "multipart/form-data; boundary=x"),
        ("/v1/memories", None),
        ("/v1/import", "text/plain"),
        ("/v1/import", "application/json"),
    ]:
        headers = dict(base) if given_type is None else {**base, "content-type": given_type}
        refused = refusal(path, headers, policy)
        assert refused is not None and refused.status == 415, (path, given_type)
    no_body = {"host": "127.0.0.1:8420", "content-type": "text/plain"}
    assert refusal("/v1/reset", no_body, policy) is None
    chunked = {"host": "127.0.0.1:8420", "transfer-encoding": "chunked"}
    assert refusal("/v1/memories", chunked, policy) is not None


def test_the_host_is_checked_first_then_the_origin() -> None:
    policy = Policy()
    refused = refusal("/v1/reset", {"host": "evil.example:8420", "origin": EVIL}, policy)
    assert refused is not None and (refused.status, refused.code) == (421, "misdirected_request")
    refused = refusal("/v1/reset", {"host": "127.0.0.1:8420", "origin": EVIL}, policy)
    assert refused is not None and (refused.status, refused.code) == (403, "forbidden")
    assert EVIL in refused.message and "--allowed-origin" in refused.message


def test_a_policy_refuses_entries_it_cannot_read() -> None:
    with pytest.raises(ConfigurationError, match="allowed host"):
        Policy(hosts=("http://memory.example.org",))
    with pytest.raises(ConfigurationError, match="allowed origin"):
        Policy(origins=("app.example.org",))
    with pytest.raises(ConfigurationError, match="allowed origin"):
        create_app(":memory:", embedder="hashing", allowed_origins=["*"])


# -- a real server --------------------------------------------------------------------------------
def export_of(http: httpx.Client, user: str) -> bytes:
    response = http.get("/v1/export", params={"user_id": user})
    assert response.status_code == 200, response.text
    return response.content


def memories(http: httpx.Client, user: str) -> list[str]:
    page = http.get("/v1/memories", params={"user_id": user}).json()
    return [m["text"] for m in page["memories"]]


@pytest.fixture
def keyless(db_path: Path) -> Iterator[tuple[str, httpx.Client]]:
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        added = http.post("/v1/memories", json={"user_id": "ada", "messages": ["I live in Porto"]})
        assert added.status_code == 201
        yield url, http


def test_a_foreign_page_cannot_erase_memories(keyless: tuple[str, httpx.Client]) -> None:
    _, http = keyless
    response = http.post(
        "/v1/reset", params={"user_id": "ada", "confirm": "true"}, headers={"Origin": EVIL}
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"
    assert EVIL in response.json()["error"]["message"]
    preflight = http.options(
        "/v1/reset", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    assert memories(http, "ada") == ["I live in Porto"]


def test_a_plain_text_or_form_body_cannot_plant_memories(keyless: tuple[str, httpx.Client]) -> None:
    _, http = keyless
    export = export_of(http, "ada")
    http.post("/v1/reset", params={"user_id": "ada", "confirm": "true"}).raise_for_status()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/json"):
        planted = http.post("/v1/import", content=export, headers={"Content-Type": content_type})
        assert planted.status_code == 415, (content_type, planted.text)
        assert planted.json()["error"]["code"] == "unsupported_media_type"
        assert "application/x-ndjson" in planted.json()["error"]["message"]
    body = json.dumps({"user_id": "bob", "messages": ["planted"]}).encode()
    for content_type in ("text/plain", "multipart/form-data; boundary=x"):
        added = http.post("/v1/memories", content=body, headers={"Content-Type": content_type})
        assert added.status_code == 415, (content_type, added.text)
    assert http.post("/v1/memories", content=body).status_code == 415  # no type at all
    assert memories(http, "ada") == [] and memories(http, "bob") == []
    imported = http.post(
        "/v1/import", content=export, headers={"Content-Type": "application/x-ndjson"}
    )
    assert imported.status_code == 200 and memories(http, "ada") == ["I live in Porto"]


def test_a_rebound_host_name_reads_nothing(keyless: tuple[str, httpx.Client]) -> None:
    url, http = keyless
    port = url.rsplit(":", 1)[1]
    for host in (f"evil.example:{port}", "evil.example", f"0.0.0.0:{port}"):
        response = http.get("/v1/memories", params={"user_id": "ada"}, headers={"Host": host})
        assert response.status_code == 421, (host, response.text)
        assert response.json()["error"]["code"] == "misdirected_request"
        assert "Porto" not in response.text
        assert http.get("/", headers={"Host": host}).status_code == 421
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        response = http.get("/v1/memories", params={"user_id": "ada"}, headers={"Host": host})
        assert response.status_code == 200, host


def test_the_dashboards_own_origin_and_clients_without_one_are_served(
    keyless: tuple[str, httpx.Client],
) -> None:
    url, http = keyless
    own = http.post(
        "/v1/memories", json={"user_id": "ada", "messages": ["from the dashboard"]},
        headers={"Origin": url},
    )  # fmt: skip
    assert own.status_code == 201, own.text
    assert "access-control-allow-origin" not in own.headers  # same origin needs no CORS
    other_loopback = url.replace("127.0.0.1", "localhost")  # another origin, though loopback
    assert http.get("/v1/scopes", headers={"Origin": other_loopback}).status_code == 403
    assert http.get("/v1/scopes").status_code == 200


def test_options_answers_with_the_methods_of_the_path(keyless: tuple[str, httpx.Client]) -> None:
    url, http = keyless
    for path, allow in [
        ("/v1/memories", "GET, OPTIONS, POST"),
        ("/v1/memories/some-id", "DELETE, GET, OPTIONS, PATCH"),
        ("/v1/import", "OPTIONS, POST"),
        ("/", "GET, OPTIONS"),
        ("/ui/app.js", "GET, OPTIONS"),
    ]:
        response = http.options(path)
        assert response.status_code == 204, (path, response.text)
        assert response.headers["allow"] == allow, path
        assert response.content == b""
    assert http.options("/v1/nowhere").status_code == 404
    same = http.options("/v1/memories", headers={"Origin": url})
    assert same.status_code == 204 and "access-control-allow-origin" not in same.headers
    wrong = http.put("/v1/memories")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, OPTIONS, POST"


def test_listed_hosts_and_origins_are_served_with_cors(db_path: Path) -> None:
    app = create_app(
        db_path, embedder="hashing", allowed_hosts=["memory.example.org"],
        allowed_origins=["https://app.example.org"],
    )  # fmt: skip
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        named = http.get("/v1/scopes", headers={"Host": "memory.example.org"})
        assert named.status_code == 200
        app_origin = {"Origin": "https://app.example.org"}
        preflight = http.options(
            "/v1/memories/search",
            headers={**app_origin, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization, content-type"},
        )  # fmt: skip
        assert preflight.status_code == 204, preflight.text
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.org"
        assert preflight.headers["access-control-allow-methods"] == "OPTIONS, POST"
        assert preflight.headers["access-control-allow-headers"] == "Authorization, Content-Type"
        assert preflight.headers["vary"] == "Origin"
        added = http.post(
            "/v1/memories", json={"user_id": "ada", "messages": ["hi"]}, headers=app_origin
        )
        assert added.status_code == 201
        assert added.headers["access-control-allow-origin"] == "https://app.example.org"
        refused = http.get("/v1/scopes", headers={"Origin": EVIL})
        assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers


def test_a_server_with_api_keys_checks_the_same(db_path: Path) -> None:
    store = open_store(db_path)
    secret = create_key(store, "acme").secret
    store.close()
    with running(create_app(db_path, embedder="hashing")) as url:
        auth = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
            scope = {"user_id": "ada", "confirm": "true"}
            assert http.post("/v1/reset", params=scope, headers={"Origin": EVIL}).status_code == 403
            assert http.get("/v1/scopes", headers={"Host": "evil.example"}).status_code == 421
            body = b'{"user_id": "ada", "messages": ["x"]}'
            plain = http.post("/v1/memories", content=body, headers={"Content-Type": "text/plain"})
            assert plain.status_code == 415
            assert http.post("/v1/reset", params=scope).status_code == 200


# -- memstrata serve ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_documents_its_hosts_and_origins() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "memstrata.cli", "serve", "--help"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    flat = " ".join(shown.split())
    for words in ("--allowed-host", "--allowed-origin", "MEMSTRATA_ALLOWED_HOSTS",
                  "MEMSTRATA_ALLOWED_ORIGINS", "--max-import"):  # fmt: skip
        assert words in flat, words


def test_serve_takes_allowed_hosts_from_flags_and_the_environment(db_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "MEMSTRATA_DB": str(db_path), "MEMSTRATA_EMBEDDER": "hashing",
           "MEMSTRATA_ALLOWED_ORIGINS": "https://app.example.org"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "memstrata.cli", "serve", "--port", str(port), "--log-level",
         "warning", "--allowed-host", "memory.example.org", "--allowed-host", "mem.internal"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline
                time.sleep(0.1)
        for host, status in [("memory.example.org", 200), ("mem.internal:80", 200),
                             ("evil.example", 421), (f"127.0.0.1:{port}", 200)]:  # fmt: skip
            got = httpx.get(f"{url}/v1/scopes", headers={"Host": host})
            assert got.status_code == status, (host, got.text)
        cors = httpx.get(f"{url}/v1/scopes", headers={"Origin": "https://app.example.org"})
        assert cors.headers["access-control-allow-origin"] == "https://app.example.org"
        reset = httpx.post(
            f"{url}/v1/reset",
            params={"user_id": "ada", "confirm": "true"},
            headers={"Origin": EVIL},
        )
        assert reset.status_code == 403
    finally:
        process.terminate()
        process.wait(30)
