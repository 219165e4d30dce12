"""Schemathesis against the server's own OpenAPI schema, over real HTTP, with every check: for
every operation, a bounded number of generated requests (valid and invalid) must get no 5xx,
only documented statuses, content types, headers and bodies; what the schema calls valid must
be accepted, what it calls invalid refused; nothing is served without the API key; OPTIONS and
unsupported methods answer with a true ``Allow``. The schema states the server's rules (see
``memstrata.server.openapi``), ``/v1/import`` included: its body is generated as export items,
one a line."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from memstrata import InvalidInputError
from memstrata.ports import ApiKey
from memstrata.server.auth import hash_secret
from memstrata.server.rest import create_app
from memstrata.server.runner import running
from memstrata.stores import open_store
from memstrata.types import as_utc

pytestmark = pytest.mark.slow

#: A fixed key: schemathesis asks for it while collecting, before any fixture runs.
SECRET = "ms_fuzzing-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
CHECKS = schemathesis.checks.CHECKS


@schemathesis.serializer("application/x-ndjson")
def json_lines(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """An import body: the generated export items, one JSON object a line."""
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode("utf-8", "surrogatepass")


#: What an import refuses is the importer's to say, and it reads more than an export holds (older
#: formats, numbers written as strings): only bodies valid by the schema are generated for it.
CONFIG = SchemathesisConfig.from_dict(
    {"operations": [{"include-path": "/v1/import", "generation": {"mode": "positive"}}]}
)
schema = (
    schemathesis.openapi.from_dict(
        create_app(":memory:", embedder="hashing", require_keys=True).openapi(), config=CONFIG
    )
    .exclude(path="/v1/reprocess")
    .exclude(path="/v1/events")
)
# /v1/reprocess: this server has no language model (400 `configuration`); /v1/events streams for
# minutes by design (tests/server/test_events.py reads it as a client does).


def is_id(value: object) -> bool:
    """What the schema calls an id (``schemas.Id``)."""
    return (
        isinstance(value, str) and 0 < len(value) <= 256 and bool(value.strip())
        and "\x00" not in value
    )  # fmt: skip


def inverted(start: object, end: object) -> bool:
    """Whether two ISO 8601 times are both given and ``end`` comes before ``start``."""
    try:
        first, last = as_utc(start), as_utc(end)  # type: ignore[arg-type]
    except InvalidInputError:
        return False
    return first is not None and last is not None and last < first


def unlikely_import(item: Any) -> bool:
    """Whether an export item is a memory that cites a source (a generated one names no message
    of the file or the store), or whose versions do not number up to the current one (an import
    refuses both, with a message)."""
    if not isinstance(item, dict) or not isinstance(item.get("record"), dict):
        return False
    if item["record"].get("sources"):
        return True
    numbers = [v.get("version", 1) for v in item.get("versions") or () if isinstance(v, dict)]
    numbers.append(item["record"].get("version", 1))
    return any(not isinstance(n, int) for n in numbers) or numbers != sorted(set(numbers))


def speaks_http(headers: dict[str, str]) -> bool:
    """Whether a request with ``headers`` is HTTP by the rules of h11, the parser uvicorn serves
    with: a header name of token characters, a value without control characters, a
    ``Content-Length`` that is a number. (Headers that do not encode as Latin-1 are the
    client's to refuse, and count as HTTP here.)"""
    try:
        encoded = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers.items()]
    except UnicodeEncodeError:
        return True
    try:
        h11.Request(method="GET", target="/", headers=[(b"host", b"127.0.0.1"), *encoded])
    except h11.LocalProtocolError:
        return False
    return True


@schema.hook("filter_case")
def within_what_a_schema_can_say(ctx: schemathesis.HookContext, case: schemathesis.Case) -> bool:
    """Rules that compare two fields or depend on what is stored, which no schema states, are
    answered with a 422 and a message (test_memory checks them): requests that break them are
    not generated. A call marked ``x-at-least-one-of`` names one of those query parameters
    (OpenAPI cannot require one of several); a generated source id names no stored message (nor
    one of the imported file); valid_to must not come before valid_from (nor, in an update, the
    valid_from the memory has); the messages of one call have ids of their own; so do the
    earlier versions of an imported memory (two of one number are not refused yet: the store
    fails, a 500); a reset without a user_id says all_users=true (needed once its scope holds
    two users). A ``where`` filter expression has a grammar the schema does not state
    (docs/filters.md, checked by test_where and test_where_faces): requests that carry one are
    not generated. Nor are those with an empty list or object as a query value: it is sent as no
    parameter at all, so a case "invalid" by one (``state={}``) reaches the server as the valid
    request without it, which the server rightly accepts. Nor are those that name their own
    ``Host``: the server answers a host it does not serve with a 421 before it reads the
    request (test_request_gate checks that), which hides what the case was generated to test.
    Nor are those whose headers are not HTTP (``speaks_http``: "Content-Length: {uIym4O^E", a
    name with a ";"): the HTTP server refuses them with its own plain-text 400 before any
    route sees them."""
    path, body = case.operation.path, case.body
    if any(name.lower() == "host" for name in case.headers or {}):
        return False
    if not speaks_http({str(k): str(v) for k, v in (case.headers or {}).items()}):
        return False
    if "where" in (case.query or {}) or (isinstance(body, dict) and "where" in body):
        return False
    if any(value in ([], {}) for value in (case.query or {}).values()):
        return False
    one_of = case.operation.definition.raw.get("x-at-least-one-of")
    if one_of and not any(name in (case.query or {}) for name in one_of):
        return False
    if path == "/v1/reset" and isinstance(case.query, dict):
        return "user_id" in case.query or str(case.query.get("all_users")).lower() == "true"
    if path == "/v1/import" and isinstance(body, list):
        return not any(unlikely_import(item) for item in body)
    if not isinstance(body, dict):
        return True
    if path == "/v1/memories/{memory_id}" and case.method.upper() == "PATCH":
        # a valid_to alone may fall before the valid_from the memory has
        alone = body.get("valid_to") is not None and body.get("valid_from") is None
        return not alone and not inverted(body.get("valid_from"), body.get("valid_to"))
    if path == "/v1/batch/update" and inverted(body.get("valid_from"), body.get("valid_to")):
        return False
    if path == "/v1/memories/remember":
        sources = body.get("sources")
        if isinstance(sources, list) and any(is_id(s) for s in sources):
            return False
        return not inverted(body.get("valid_from"), body.get("valid_to"))
    if path == "/v1/memories" and isinstance(body.get("messages"), list):
        ids = [m.get("id") for m in body["messages"] if isinstance(m, dict) and is_id(m.get("id"))]
        return len(ids) == len(set(ids))
    return True


@schema.auth()
class Bearer:
    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return SECRET

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    store = open_store(db)
    store.put_api_key(
        ApiKey(id="key_fuzz", tenant="fuzz", key_hash=hash_secret(SECRET),
               created_at=datetime.now(UTC))
    )  # fmt: skip
    store.close()
    with running(create_app(db, embedder="hashing")) as url:
        yield url


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_survives_generated_requests(case: schemathesis.Case, server: str) -> None:
    schemathesis.checks.load_all_checks()
    case.call_and_validate(base_url=server, checks=CHECKS.get_all())


def test_a_request_that_is_not_http_gets_the_servers_own_400(server: str) -> None:
    """Why the fuzzing keeps to requests that are HTTP: one that is not never reaches a route;
    the HTTP server answers it with a 400 of its own (and goes on serving)."""
    bad = {"Content-Length": "{uIym4O^E", "_bI;": ""}
    assert not speaks_http(bad)
    assert not speaks_http({"_bI;": ""})
    assert speaks_http({"Authorization": f"Bearer {SECRET}", "X-Note": "two words"})
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"GET /v1/scopes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: {uIym4O^E\r\n\r\n")  # fmt: skip
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 ")
    ok = httpx.get(f"{server}/healthz", timeout=10)
    assert ok.status_code == 200
