"""Every library error reaches an HTTP client with a status that says whose fault it was."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import httpx

import memstrata
from memstrata import errors
from memstrata.server.rest import create_app, status_of
from memstrata.server.runner import running


def every_error() -> list[type[errors.MemstrataError]]:
    """Every error class the package defines, wherever it lives (each module is imported first)."""
    for module in pkgutil.walk_packages(memstrata.__path__, "memstrata."):
        if ".integrations." not in module.name:
            importlib.import_module(module.name)
    found, pending = [], [errors.MemstrataError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_no_library_error_is_a_server_crash() -> None:
    statuses = {cls.code: status_of(cls("x")) for cls in every_error() if cls.code != "error"}
    assert all(400 <= status < 600 and status != 500 for status in statuses.values()), statuses
    assert statuses["read_only"] == statuses["corrupt_store"] == statuses["store_error"] == 503
    assert statuses["llm_truncated"] == statuses["llm_error"] == statuses["embedder_error"] == 502
    assert statuses["scope_required"] == 422


def test_a_write_to_a_read_only_store_is_503_with_its_code(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    app = create_app(f"sqlite:///{path}", embedder="hashing")
    # A first write loads what the write path needs: slow on a busy machine, hence the timeout.
    with running(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        added = http.post("/v1/memories", json={"user_id": "ada", "messages": ["hello"]})
    assert added.status_code == 201, added.text
    read_only = create_app(f"sqlite:///{path}?mode=ro", embedder="hashing")
    with running(read_only) as base, httpx.Client(base_url=base, timeout=30) as http:
        answer = http.post("/v1/memories", json={"user_id": "ada", "messages": ["hi"]})
        found = http.post("/v1/memories/search", json={"user_id": "ada", "query": "hello"})
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "read_only"
    assert found.status_code == 200, found.text
