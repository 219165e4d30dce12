"""Export and import over REST at any size: the export is sent as it is read, the import read as
a stream under limits of its own (each line within the body limit, the whole within the import
limit), and still all or nothing. Real uvicorn servers on 127.0.0.1 over real SQLite files;
``RemoteMemory`` on both ends of a 50,000-memory round trip."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.exceptions import HTTPException

from memstrata import InvalidInputError, Memory, RemoteMemory, ScopeRequiredError
from memstrata.server.ndjson import LineMeter
from memstrata.server.rest import create_app
from memstrata.server.runner import running

BODY_LIMIT = 64 * 1024
NDJSON = {"Content-Type": "application/x-ndjson"}
ADA = {"user_id": "ada"}


def fill(mem: Memory, count: int, *, batch: int = 500, user: str = "ada") -> None:
    for start in range(0, count, batch):
        texts = [f"note {i}: I walked to the harbour with friend number {i % 97} and we talked "
                 f"about boats, tides and the weather for a while" for i in
                 range(start, min(count, start + batch))]  # fmt: skip
        mem.add(texts, user_id=user)


def listed(http: httpx.Client, user: str = "ada") -> int:
    count, cursor = 0, None
    while True:
        page = http.get("/v1/memories", params={"user_id": user, "limit": 1000, "cursor": cursor})
        count += len(page.json()["memories"])
        cursor = page.json()["next_cursor"]
        if not cursor:
            return count


@pytest.fixture
def small(db_path: Path) -> Iterator[tuple[httpx.Client, bytes]]:
    """A server with a 64 KiB body limit over 300 memories; their export (several times the
    limit) is taken and the scope emptied."""
    with Memory(db_path, embedder="hashing") as mem:
        fill(mem, 300)
    app = create_app(db_path, embedder="hashing", max_body_bytes=BODY_LIMIT)
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        exported = http.get("/v1/export", params=ADA)
        assert exported.status_code == 200 and len(exported.content) > 4 * BODY_LIMIT
        http.post("/v1/reset", params={**ADA, "confirm": "true"}).raise_for_status()
        assert listed(http) == 0
        yield http, exported.content


def pieces(data: bytes, size: int = 10_000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_an_import_larger_than_the_body_limit_is_read_as_a_stream(
    small: tuple[httpx.Client, bytes],
) -> None:
    http, export = small
    imported = http.post("/v1/import", content=export, headers=NDJSON)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"memories": 300} and listed(http) == 300
    http.post("/v1/reset", params={**ADA, "confirm": "true"}).raise_for_status()
    chunked = http.post("/v1/import", content=pieces(export), headers=NDJSON)  # no length
    assert chunked.json() == {"memories": 300} and listed(http) == 300
    big = {"user_id": "ada", "messages": ["x" * 30_000, "y" * 30_000, "z" * 30_000]}
    assert http.post("/v1/memories", json=big).status_code == 413  # other routes keep the limit


def test_a_line_over_the_body_limit_is_413_and_nothing_is_written(
    small: tuple[httpx.Client, bytes],
) -> None:
    http, export = small
    lines = export.splitlines(keepends=True)
    long_line = json.dumps({"type": "message", "pad": "x" * BODY_LIMIT}).encode() + b"\n"
    for body in (b"".join([*lines[:5], long_line, *lines[5:]]), export + long_line):
        refused = http.post("/v1/import", content=pieces(body), headers=NDJSON)
        assert refused.status_code == 413, refused.text
        message = refused.json()["error"]["message"]
        assert "line" in message and f"{BODY_LIMIT:,} bytes a line" in message
    assert listed(http) == 0


def test_the_whole_import_has_a_limit_of_its_own(db_path: Path) -> None:
    with Memory(db_path, embedder="hashing") as mem:
        fill(mem, 100)
    app = create_app(db_path, embedder="hashing", max_import_bytes=50_000)
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        export = http.get("/v1/export", params=ADA).content
        assert len(export) > 50_000
        http.post("/v1/reset", params={**ADA, "confirm": "true"}).raise_for_status()
        refused = http.post("/v1/import", content=pieces(export), headers=NDJSON)
        assert refused.status_code == 413 and "50,000 bytes" in refused.json()["error"]["message"]
        assert listed(http) == 0


def test_a_bad_line_anywhere_in_a_big_import_writes_nothing(
    small: tuple[httpx.Client, bytes],
) -> None:
    http, export = small
    lines = export.splitlines(keepends=True)
    broken = b"".join([*lines[:-1], b'{"type": "memory", "record": {"kind": "nope"}}\n'])
    refused = http.post("/v1/import", content=pieces(broken), headers=NDJSON)
    assert refused.status_code == 422 and f"line {len(lines)}" in refused.text
    not_utf8 = b"".join([*lines[:200], b'{"type": "x\xff"}\n', *lines[200:]])
    refused = http.post("/v1/import", content=pieces(not_utf8), headers=NDJSON)
    assert refused.status_code == 422 and "UTF-8" in refused.json()["error"]["message"]
    assert "line 201" in refused.json()["error"]["message"]
    assert listed(http) == 0


def test_the_export_is_sent_as_read_and_its_errors_still_come_first(db_path: Path) -> None:
    with Memory(db_path, embedder="hashing") as mem:
        fill(mem, 300)
        expected = db_path.with_suffix(".jsonl")
        mem.export(expected, **ADA)
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        with http.stream("GET", "/v1/export", params=ADA) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/x-ndjson")
            assert "content-length" not in response.headers  # streamed, not buffered
            body = b"".join(response.iter_bytes())
        assert body == expected.read_bytes()
        no_scope = http.get("/v1/export")
        assert no_scope.status_code == 422 and no_scope.json()["error"]["code"] == "scope_required"


def test_line_meter_counts_lines_across_chunks() -> None:
    meter = LineMeter(line_limit=5, total_limit=20)
    for chunk in (b"abc", b"de\nab", b"c\n", b"\n", b"abcde"):
        meter.feed(chunk)
    assert (meter.line, meter.current, meter.total) == (4, 5, 16)
    with pytest.raises(HTTPException, match="line 4 is over"):
        meter.feed(b"f")
    with pytest.raises(HTTPException, match="20 bytes"):
        LineMeter(line_limit=100, total_limit=20).feed(b"\n" * 21)
    LineMeter(line_limit=3, total_limit=None).feed(b"abc\n" * 1000)


# -- RemoteMemory ---------------------------------------------------------------------------------
@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[RemoteMemory, RemoteMemory, Path]]:
    source_db, target_db = tmp_path / "source.db", tmp_path / "target.db"
    apps = create_app(source_db, embedder="hashing"), create_app(target_db, embedder="hashing")
    with (
        running(apps[0]) as a,
        running(apps[1]) as b,
        RemoteMemory(a, timeout=120) as source,
        RemoteMemory(b, timeout=120) as target,
    ):
        yield source, target, source_db


def test_remote_export_keeps_texts_that_hold_unicode_line_separators(
    two_servers: tuple[RemoteMemory, RemoteMemory, Path], tmp_path: Path
) -> None:
    source, target, _ = two_servers
    texts = ["one\u2028two", "next\x85line", "form\x0cfeed and \x1crecord", "plain"]
    source.add(texts, **ADA)
    path = tmp_path / "out.jsonl"
    assert source.export(path, **ADA) == 4
    assert target.import_(path) == 4
    got = sorted(r.text for r in target.list(**ADA).records)
    assert got == sorted(texts)


def test_remote_export_and_import_report_errors_as_the_library_does(
    two_servers: tuple[RemoteMemory, RemoteMemory, Path], tmp_path: Path
) -> None:
    source, target, _ = two_servers
    path = tmp_path / "never.jsonl"
    with pytest.raises(ScopeRequiredError):
        source.export(path)
    assert not path.exists()  # nothing is written before the server answers
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "header", "format": 2}\n{"type": "nope"}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="line 2"):
        target.import_(bad)


def without_history_ids(item: dict[str, Any]) -> dict[str, Any]:
    """An export item as another store writes it: history rows are numbered by each store."""
    for row in item.get("history") or ():
        row.pop("id", None)
    return item


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_50000_memory_scope_round_trips_over_rest(
    two_servers: tuple[RemoteMemory, RemoteMemory, Path], tmp_path: Path
) -> None:
    source, target, source_db = two_servers
    with Memory(source_db, embedder="hashing") as mem:
        fill(mem, 50_000, batch=1000)
        ids = [r.id for r in mem.list(limit=300, **ADA).records]
        for memory_id in ids[:100]:
            mem.update(memory_id, f"corrected {memory_id}", reason="typo", **ADA)
            mem.update(memory_id, f"corrected again {memory_id}", **ADA)
        for memory_id in ids[100:300]:
            mem.delete(memory_id, reason="wrong", **ADA)
        for memory_id in ids[200:300]:
            mem.restore(memory_id, reason="right after all", **ADA)
        local = tmp_path / "local.jsonl"
        mem.export(local, **ADA)

    sent = tmp_path / "sent.jsonl"
    assert source.export(sent, **ADA) == 50_000
    assert sha256(sent) == sha256(local)  # the REST export is the library's, byte for byte
    assert sent.stat().st_size > 6 * 8 * 1024 * 1024  # several times the old body limit
    assert target.import_(sent) == 50_000

    back = tmp_path / "back.jsonl"
    assert target.export(back, **ADA) == 50_000
    with sent.open(encoding="utf-8") as before, back.open(encoding="utf-8") as after:
        count = 0
        for old, new in zip_longest(before, after):
            assert old is not None and new is not None
            assert without_history_ids(json.loads(new)) == without_history_ids(json.loads(old))
            count += 1
    assert count == 1 + 50_000 + 50_000  # header, messages, memories
    for memory_id in (ids[0], ids[150], ids[250]):
        assert target.get(memory_id, **ADA) == source.get(memory_id, **ADA)
        assert target.versions(memory_id, **ADA) == source.versions(memory_id, **ADA)
        history = [(e.op, e.version, e.reason, e.text, e.at)
                   for e in target.history(memory_id, **ADA)]  # fmt: skip
        assert history == [(e.op, e.version, e.reason, e.text, e.at)
                           for e in source.history(memory_id, **ADA)]  # fmt: skip
        assert len(history) > 1


def test_an_import_repeating_a_version_number_is_refused(small: tuple[httpx.Client, bytes]) -> None:
    http, export = small
    lines = export.splitlines(keepends=True)
    item = json.loads(lines[-1])
    item["versions"] = [{**item["record"], "version": 1}, {**item["record"], "version": 1}]
    item["record"]["version"] = 2
    body = b"".join([*lines[:-1], json.dumps(item).encode() + b"\n"])
    refused = http.post("/v1/import", content=body, headers=NDJSON)
    assert refused.status_code == 422, refused.text
    assert listed(http) == 0
