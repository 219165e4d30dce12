"""The OpenAPI schema states the server's own rules, and the server keeps to its schema: a scope
is required, texts and ids are not blank and hold no NUL, purge and reset need confirm=true,
an update names something to change, the metadata filter is JSON, an import body is export
items; and what the schema refuses the server refuses (unknown query parameters, numbers
written as strings, dates its calendar cannot hold). A real server on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from memstrata.server.rest import create_app
from memstrata.server.runner import running
from memstrata.server.schemas import NOT_BLANK

SCOPED = [
    ("get", "/v1/memories"),
    ("get", "/v1/memories/{memory_id}"),
    ("delete", "/v1/memories/{memory_id}"),
    ("post", "/v1/memories/{memory_id}/purge"),
    ("post", "/v1/reset"),
    ("get", "/v1/export"),
    ("get", "/v1/graph"),
    ("post", "/v1/maintain"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Any]]:
    app = create_app(tmp_path_factory.mktemp("rules") / "m.db", embedder="hashing")
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http, http.get("/openapi.json").json()


def operation(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = schema["paths"][path][method]
    return found


def component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = schema["components"]["schemas"][name]
    return found


def test_a_scope_is_required_in_every_call(server: tuple[httpx.Client, Any]) -> None:
    _, schema = server
    for method, path in SCOPED:
        found = operation(schema, method, path)
        assert found["x-at-least-one-of"] == ["user_id", "agent_id", "run_id"], (method, path)
        assert "at least one of `user_id`" in found["description"]
        names = {p["name"] for p in found["parameters"]}
        assert {"user_id", "agent_id", "run_id"} <= names  # flat, as clients send them
    for model in ("AddIn", "SearchIn", "RememberIn", "FeedbackIn"):
        required = [b["required"] for b in component(schema, model)["anyOf"]]
        assert required == [["user_id"], ["agent_id"], ["run_id"]], model


def test_every_call_documents_the_refusals_of_the_gate(server: tuple[httpx.Client, Any]) -> None:
    _, schema = server
    for path, operations in schema["paths"].items():
        for method, found in operations.items():
            if path.startswith("/v1/"):
                assert {"403", "415", "421"} <= set(found["responses"]), (method, path)


def test_texts_and_ids_say_they_are_not_blank_and_hold_no_nul() -> None:
    matches = re.compile(NOT_BLANK).match
    for good in ("a", " a ", "Ana\u2028", "\ufeffx"):
        assert matches(good) and good.strip() and "\x00" not in good, repr(good)
    for bad in ("", " ", "\x1f", "\u3000\t", "a\x00", "\x00"):
        assert not matches(bad), repr(bad)
    assert "\\s" not in NOT_BLANK  # ECMA 262 and Python disagree on what \s is


def test_the_rules_of_single_operations_are_in_the_schema(
    server: tuple[httpx.Client, Any],
) -> None:
    _, schema = server
    for path in ("/v1/memories/{memory_id}/purge", "/v1/reset"):
        (confirm,) = [p for p in operation(schema, "post", path)["parameters"]
                      if p["name"] == "confirm"]  # fmt: skip
        assert confirm["required"] and confirm["schema"]["enum"] == [True]
    update = component(schema, "UpdateIn")
    assert [b["required"] for b in update["anyOf"]] == [
        ["text"], ["metadata"], ["valid_from"], ["valid_to"], ["expires_at"]]  # fmt: skip
    batch = component(schema, "BatchUpdateIn")["allOf"]
    assert [[b["required"] for b in rule["anyOf"]] for rule in batch] == [
        [["user_id"], ["agent_id"], ["run_id"]], [["ids"], ["where"]],
        [["metadata"], ["valid_from"], ["valid_to"], ["expires_at"]]]  # fmt: skip
    (where,) = [p for p in operation(schema, "get", "/v1/memories")["parameters"]
                if p["name"] == "where"]  # fmt: skip
    assert where["content"]["application/json"]["schema"] == {"type": "object",
                                                               "minProperties": 1}  # fmt: skip
    remember = component(schema, "RememberIn")["properties"]
    assert "episode" not in remember["kind"]["enum"]
    assert remember["text"]["pattern"] == NOT_BLANK
    (metadata,) = [p for p in operation(schema, "get", "/v1/memories")["parameters"]
                   if p["name"] == "metadata"]  # fmt: skip
    filter_schema = metadata["content"]["application/json"]["schema"]
    assert filter_schema["type"] == "object" and "pattern" in filter_schema["propertyNames"]
    body = operation(schema, "post", "/v1/import")["requestBody"]["content"]
    items = body["application/x-ndjson"]["schema"]["items"]
    assert {"header", "message", "memory", "settings"} == set(items["discriminator"]["mapping"])
    assert "ExportRecord" in schema["components"]["schemas"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "words"),
    [
        ("GET", "/v1/memories", {"params": {"user": "ada"}}, "unknown query parameter 'user'"),
        ("POST", "/v1/reset", {"params": {"user_id": "a", "confirm": "true", "x": "1"}}, "'x'"),
        ("GET", "/v1/memories", {"params": {"user_id": "a", "cursor": "9" * 30}}, "cursor"),
        ("GET", "/v1/memories", {"params": {"user_id": "a", "cursor": "+5"}}, "cursor"),
        ("POST", "/v1/memories/remember",
         {"json": {"user_id": "a", "text": "t", "importance": False}}, "importance"),
        ("POST", "/v1/memories/search", {"json": {"user_id": "a", "query": "q", "limit": "5"}},
         "limit"),
        ("POST", "/v1/memories", {"json": {"user_id": "a", "messages": [
            {"text": "t", "timestamp": "9999-12-31T23:00:00-05:00"}]}}, "range"),
        ("GET", "/v1/memories", {"params": {"user_id": "a", "since": "0001-01-01T00:00:00Z"}},
         "range"),
        # A parameter of one value given twice: which one was meant?
        ("GET", "/v1/profile", {"params": [("user_id", "a"), ("run_id", "r"), ("run_id", "s")]},
         "'run_id' more than once"),
        ("GET", "/v1/profile", {"params": {"user_id": "a", "person": "Ada\x00"}}, "person"),
    ],
)  # fmt: skip
def test_what_the_schema_refuses_the_server_refuses(
    server: tuple[httpx.Client, Any], method: str, path: str, kwargs: dict[str, Any], words: str
) -> None:
    http, _ = server
    response = http.request(method, path, **kwargs)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    assert words in response.json()["error"]["message"]


def test_what_the_schema_allows_the_server_takes(server: tuple[httpx.Client, Any]) -> None:
    http, _ = server
    first = http.get("/v1/memories", params={"user_id": "a", "cursor": ""})
    assert first.status_code == 200  # an empty cursor is the first page, as it was
    search = http.post("/v1/memories/search", json={"user_id": "a", "query": "q", "limit": 5.0})
    assert search.status_code == 200, search.text  # JSON may write a whole number as 5.0
    listed = http.get("/v1/memories", params={"user_id": "a", "metadata": '{"tópico": 1}'})
    assert listed.status_code == 200, listed.text
    kinds = [("user_id", "a"), ("kind", "fact"), ("kind", "episode")]  # a list: one value a time
    assert http.get("/v1/memories", params=kinds).status_code == 200
