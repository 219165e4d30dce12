"""The REST server over HTTP: status codes, error bodies, limits, OpenAPI, health and metrics,
and the ``memstrata serve`` command itself. A real uvicorn server on 127.0.0.1, a real store."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from memstrata import ConfigurationError
from memstrata.server.auth import check_bind, is_loopback
from memstrata.server.rest import create_app
from memstrata.server.runner import running

JSON: dict[str, Any] = {"headers": {"Content-Type": "application/json"}}
NDJSON: dict[str, Any] = {"headers": {"Content-Type": "application/x-ndjson"}}


@pytest.fixture
def http(db_path: Path) -> Iterator[httpx.Client]:
    app = create_app(db_path, embedder="hashing", max_body_bytes=64 * 1024)
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A server for tests that leave nothing behind."""
    app = create_app(tmp_path_factory.mktemp("rest") / "m.db", embedder="hashing")
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def add(http: httpx.Client, *texts: str, user: str = "ada") -> list[str]:
    response = http.post("/v1/memories", json={"user_id": user, "messages": list(texts)})
    assert response.status_code == 201, response.text
    return [r["id"] for r in response.json()["added"]]


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()["error"]
    assert body["code"] == code
    message: str = body["message"]
    return message


def test_crud_over_http(http: httpx.Client) -> None:
    (memory_id,) = add(http, "I moved to Lisbon in May")
    scope = {"user_id": "ada"}
    got = http.get(f"/v1/memories/{memory_id}", params=scope).json()
    assert got["text"] == "I moved to Lisbon in May" and got["version"] == 1
    found = http.post("/v1/memories/search", json={"user_id": "ada", "query": "Lisbon"}).json()
    assert found["hits"][0]["id"] == memory_id and found["hits"][0]["signals"]
    assert found["hits"][0]["context"].endswith("I moved to Lisbon in May")
    patched = http.patch(f"/v1/memories/{memory_id}", params=scope, json={"text": "Porto"})
    assert patched.json()["version"] == 2
    assert len(http.get(f"/v1/memories/{memory_id}/versions", params=scope).json()) == 2
    assert http.delete(f"/v1/memories/{memory_id}", params=scope).json()["state"] == "deleted"
    restored = http.post(f"/v1/memories/{memory_id}/restore", params={**scope, "reason": "oops"})
    assert restored.json()["state"] == "active"
    history = http.get(f"/v1/memories/{memory_id}/history", params=scope).json()
    assert [e["op"] for e in history] == ["ADD", "UPDATE", "DELETE", "RESTORE"]
    assert history[-1]["reason"] == "oops"
    purged = http.post(f"/v1/memories/{memory_id}/purge", params={**scope, "confirm": "true"})
    assert purged.status_code == 204
    error(http.get(f"/v1/memories/{memory_id}", params=scope), 404, "not_found")


def test_pagination_follows_next_cursor(http: httpx.Client) -> None:
    ids = add(http, *(f"note {i}" for i in range(5)))
    seen: list[str] = []
    params: dict[str, Any] = {"user_id": "ada", "limit": 2}
    while True:
        page = http.get("/v1/memories", params=params).json()
        seen += [m["id"] for m in page["memories"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == list(reversed(ids))
    only = http.get("/v1/memories", params={"user_id": "ada", "metadata": '{"x": 1}'}).json()
    assert only["memories"] == []


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code", "words"),
    [
        ("POST", "/v1/memories", {"json": {"user_id": "ada"}}, 422, "invalid_input", "messages"),
        (
            "POST",
            "/v1/memories",
            {"json": {"user_id": "ada", "messages": ["x"], "colour": 1}},
            422,
            "invalid_input",
            "colour",
        ),
        ("POST", "/v1/memories", {"json": {"messages": ["x"]}}, 422, "scope_required", "user_id"),
        ("POST", "/v1/memories", {"json": {"user_id": "a", "messages": [""]}}, 422, "", "empty"),
        ("POST", "/v1/memories", {"content": b"{not json", **JSON}, 422, "invalid_input", "JSON"),
        (
            "POST",
            "/v1/memories",
            {
                "content": rb'{"user_id": "a", "messages": ["x"], "metadata": {"k": "\ud800"}}',
                **JSON,
            },
            422,
            "invalid_input",
            "surrogate",
        ),
        (
            "POST",
            "/v1/memories",
            {"json": {"user_id": "a", "messages": ["x"], "timestamp": "0001-01-01T00:00:00+01:00"}},
            422,
            "invalid_input",
            "range",
        ),
        ("GET", "/v1/memories", {"params": {"user_id": "a", "limit": 0}}, 422, "", "limit"),
        ("GET", "/v1/memories", {"params": {"user_id": "a", "kind": "nope"}}, 422, "", "kind"),
        ("GET", "/v1/memories", {"params": {"user_id": "a", "cursor": "zz"}}, 422, "", "cursor"),
        ("GET", "/v1/memories", {"params": {"user_id": "a", "metadata": "[1]"}}, 422, "", "JSON"),
        ("GET", "/v1/memories/nope", {"params": {"user_id": "a"}}, 404, "not_found", "nope"),
        ("GET", "/v1/nowhere", {}, 404, "not_found", "Not Found"),
        ("PUT", "/v1/memories", {}, 405, "method_not_allowed", "Not Allowed"),
        (
            "POST",
            "/v1/reset",
            {"params": {"user_id": "a"}},
            400,
            "confirmation_required",
            "confirm",
        ),
        ("POST", "/v1/import", {"content": b"\xff\xfe", **NDJSON}, 422, "invalid_input", "UTF-8"),
        ("POST", "/v1/import", {"content": b'{"type": "x"}\n', **NDJSON}, 422, "", "line 1"),
    ],
)
def test_bad_requests_get_a_clear_4xx_json_error(
    shared: httpx.Client,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
    words: str,
) -> None:
    response = shared.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert code in body["code"] and words in body["message"], body


def test_conflict_is_409(http: httpx.Client) -> None:
    (memory_id,) = add(http, "v1")
    stale = http.patch(
        f"/v1/memories/{memory_id}",
        params={"user_id": "ada"},
        json={"text": "v2", "expected_version": 7},
    )
    assert "version" in error(stale, 409, "conflict")


def test_bodies_over_the_limit_are_413(http: httpx.Client) -> None:
    big = {"user_id": "ada", "messages": ["x" * 30_000, "y" * 30_000, "z" * 30_000]}
    assert "limit" in error(http.post("/v1/memories", json=big), 413, "too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield b'{"user_id": "ada", "messages": ["'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"]}'

    streamed = http.post(
        "/v1/memories", content=chunks(), headers={"Content-Type": "application/json"}
    )
    error(streamed, 413, "too_large")
    assert http.get("/v1/memories", params={"user_id": "ada"}).json()["memories"] == []


def test_a_reset_spanning_users_answers_400_until_all_users_is_given(http: httpx.Client) -> None:
    for user in ("ada", "bob"):
        http.post("/v1/memories", json={"user_id": user, "agent_id": "bot", "messages": ["hi"]})
    params = {"agent_id": "bot", "confirm": "true"}
    message = error(http.post("/v1/reset", params=params), 400, "confirmation_required")
    assert "2 users" in message and "all_users" in message
    done = http.post("/v1/reset", params={**params, "all_users": "true"})
    assert done.json() == {"memories": 2}


def test_export_is_json_lines_and_imports_back(http: httpx.Client) -> None:
    add(http, "one", "two")
    exported = http.get("/v1/export", params={"user_id": "ada"})
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    assert len(exported.text.splitlines()) == 5  # header, 2 messages, 2 memories
    http.post("/v1/reset", params={"user_id": "ada", "confirm": "true"}).raise_for_status()
    imported = http.post(
        "/v1/import", content=exported.content, headers={"Content-Type": "application/x-ndjson"}
    )
    assert imported.json() == {"memories": 2}
    again = http.post("/v1/import", content=exported.content, **NDJSON)
    error(again, 409, "conflict")


def test_openapi_documents_every_route_and_its_errors(shared: httpx.Client) -> None:
    schema = shared.get("/openapi.json").json()
    paths = schema["paths"]
    expected = {
        "/v1/memories",
        "/v1/memories/search",
        "/v1/memories/remember",
        "/v1/memories/{memory_id}",
        "/v1/memories/{memory_id}/restore",
        "/v1/memories/{memory_id}/archive",
        "/v1/memories/{memory_id}/purge",
        "/v1/memories/{memory_id}/versions",
        "/v1/memories/{memory_id}/history",
        "/v1/memories/{memory_id}/sources",
        "/v1/feedback",
        "/v1/maintain",
        "/v1/scopes",
        "/v1/reset",
        "/v1/export",
        "/v1/import",
        "/v1/whoami",
        "/healthz",
        "/metrics",
    }
    assert expected <= set(paths)
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation.get("description") or operation.get("summary"), (method, path)
            if path.startswith("/v1/"):
                assert {"400", "413", "422"} <= set(operation["responses"]), (method, path)
            assert "security" not in operation  # this server runs without API keys
    with_keys = create_app(":memory:", embedder="hashing", require_keys=True).openapi()
    assert "ApiKey" in with_keys["components"]["securitySchemes"]
    for path, operations in with_keys["paths"].items():
        for operation in operations.values():
            if path.startswith("/v1/"):
                assert operation["security"] == [{"ApiKey": []}]
                assert "401" in operation["responses"]
    assert shared.get("/docs").status_code == 200


def test_health_and_prometheus_metrics(http: httpx.Client) -> None:
    health = http.get("/healthz").json()
    assert health["status"] == "ok" and health["version"]
    (memory_id,) = add(http, "hello")
    for _ in range(3):
        http.get(f"/v1/memories/{memory_id}", params={"user_id": "ada"})
    http.get("/v1/memories/nope", params={"user_id": "ada"})
    text = http.get("/metrics").text
    route = 'route="/v1/memories/{memory_id}"'
    assert f'memstrata_http_requests_total{{method="GET",{route},status="200"}} 3' in text
    assert f'memstrata_http_requests_total{{method="GET",{route},status="404"}} 1' in text
    assert f'memstrata_http_request_duration_seconds_count{{method="GET",{route}}} 4' in text
    sample = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample.match(line), line


def test_the_server_refuses_to_bind_beyond_loopback_without_keys() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    check_bind("127.0.0.1", keys_required=False, insecure=False)
    check_bind("0.0.0.0", keys_required=True, insecure=False)
    check_bind("0.0.0.0", keys_required=False, insecure=True)
    with pytest.raises(ConfigurationError, match="keys create"):
        check_bind("0.0.0.0", keys_required=False, insecure=False)


def serve(db: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MEMSTRATA_DB": str(db), "MEMSTRATA_EMBEDDER": "hashing"}
    return subprocess.Popen(
        [sys.executable, "-m", "memstrata.cli", "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_memstrata_serve_refuses_a_public_address_without_keys(db_path: Path) -> None:
    process = serve(db_path, "--host", "0.0.0.0", "--port", "1")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0 and "refusing to listen on 0.0.0.0" in stderr


def test_memstrata_serve_answers_on_loopback(db_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = serve(db_path, "--port", str(port), "--log-level", "warning")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        added = httpx.post(
            f"http://127.0.0.1:{port}/v1/memories",
            json={"user_id": "u", "messages": ["hi"]},
            timeout=30,  # a first write loads what the write path needs
        )
        assert added.status_code == 201
    finally:
        process.terminate()
        process.wait(30)
