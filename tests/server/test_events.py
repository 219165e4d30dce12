"""The change feed over HTTP: a JSON page, and server-sent events that resume where they left
off, confined to the caller's tenant; people and profiles as the library gives them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from memstrata import InvalidInputError, Memory, RemoteMemory
from memstrata.cli import main
from memstrata.server.rest import create_app
from memstrata.server.runner import running


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Memory]]:
    path = tmp_path / "m.db"
    with (
        running(create_app(path, embedder="hashing")) as url,
        Memory(path, embedder="hashing") as mem,
    ):
        yield url, mem


def read_events(response: httpx.Response, count: int) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in fields:
                events.append(fields)
                if len(events) == count:
                    return events
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    return events


def test_events_stream_what_happened_then_what_happens(served: tuple[str, Memory]) -> None:
    url, mem = served
    (first,) = mem.add("I live in Porto", user_id="ada").added
    mem.add("not hers", user_id="bob")
    threading.Timer(0.5, lambda: mem.update(first.id, "I live in Lisbon", user_id="ada")).start()
    with httpx.stream("GET", f"{url}/v1/events", params={"user_id": "ada", "timeout": 20}) as got:
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("text/event-stream")
        events = read_events(got, 2)
    assert [e["event"] for e in events] == ["ADD", "UPDATE"]
    data = [json.loads(e["data"]) for e in events]
    assert [d["memory_id"] for d in data] == [first.id, first.id]
    assert data[0]["scope"] == {"user_id": "ada", "agent_id": None, "run_id": None}
    # A reconnecting EventSource sends the last id it saw, and gets only what came after.
    mem.delete(first.id, user_id="ada")
    with httpx.stream(
        "GET",
        f"{url}/v1/events",
        params={"timeout": 20},
        headers={"Last-Event-ID": events[0]["id"]},
    ) as again:
        assert [e["event"] for e in read_events(again, 3)] == ["ADD", "UPDATE", "DELETE"]


def test_the_json_page_and_its_bad_input(served: tuple[str, Memory]) -> None:
    url, mem = served
    mem.add(["one", "two"], user_id="ada")
    page = httpx.get(f"{url}/v1/changes", params={"user_id": "ada"}).json()
    assert [c["op"] for c in page] == ["ADD", "ADD"]
    rest = httpx.get(f"{url}/v1/changes", params={"after": page[0]["id"]}).json()
    assert rest == page[1:]
    assert httpx.get(f"{url}/v1/changes", params={"limit": 0}).status_code == 422
    bad = httpx.get(f"{url}/v1/events", headers={"Last-Event-ID": "yesterday"})
    assert bad.status_code == 422 and "Last-Event-ID" in bad.json()["error"]["message"]


def test_people_and_profile_over_http(served: tuple[str, Memory]) -> None:
    url, mem = served
    mem.add(
        [
            {"id": "1", "speaker": "elise", "text": "hey Kate!"},
            {"id": "2", "speaker": "Emi", "text": "hi, I live in Lisbon"},
            {"id": "3", "speaker": "elise", "text": "night Kate"},
        ],
        user_id="ada",
    )
    people = httpx.get(f"{url}/v1/people", params={"user_id": "ada"}).json()
    assert {p["name"]: [a["name"] for a in p["aliases"]] for p in people} == {
        "elise": [],
        "Emi": ["Kate"],
    }
    found = httpx.get(f"{url}/v1/profile", params={"user_id": "ada", "person": "Kate"}).json()
    (emi,) = found["profiles"]
    assert emi["traits"][0]["value"] == "Lisbon" and emi["traits"][0]["sources"] == ["2"]
    assert found["text"].startswith("Emi, Kate: home: Lisbon")


def test_the_remote_client_reads_people_profile_changes_and_rules(
    served: tuple[str, Memory],
) -> None:
    url, mem = served
    remote = RemoteMemory(url)
    remote.add(
        [
            {"id": "1", "speaker": "elise", "text": "hey Kate!"},
            {"id": "2", "speaker": "Emi", "text": "I live in Lisbon"},
            {"id": "3", "speaker": "elise", "text": "night Kate"},
        ],
        user_id="ada",
    )
    assert remote.people(user_id="ada") == mem.people(user_id="ada")
    assert remote.profile(user_id="ada", person="Kate") == mem.profile(user_id="ada", person="Kate")
    assert remote.changes(user_id="ada") == mem.changes(user_id="ada")
    assert [c.op for c in remote.follow(user_id="ada", until=lambda: True)] == ["ADD"] * 3
    remote.set_extraction({"instructions": "Health only."}, user_id="ada")
    rules = remote.extraction(user_id="ada")
    assert rules is not None and rules == mem.extraction(user_id="ada")
    remote.set_extraction(None, user_id="ada")
    assert remote.extraction(user_id="ada") is None
    with pytest.raises(InvalidInputError, match="extraction rules"):
        remote.set_extraction({"categories": {"Bad Label": ""}}, user_id="ada")
    remote.close()


def test_the_cli_shows_people_and_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "c.db")
    args = ["--db", db, "--embedder", "hashing", "--user", "ada"]
    assert main(["add", *args, "hey Kate!"]) == 0
    capsys.readouterr()
    assert main(["changes", *args, "--json"]) == 0
    assert [c["op"] for c in json.loads(capsys.readouterr().out)] == ["ADD"]
    assert main(["set-extraction", *args, '{"include": ["health"]}', "--json"]) == 0
    capsys.readouterr()
    assert main(["extraction", *args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["include"] == ["health"]
