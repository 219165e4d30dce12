"""Export to JSON Lines and import into a fresh store: lossless, all or nothing."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memstrata import ConflictError, InvalidInputError, Memory
from memstrata.ports import Entity, Link, Triple
from memstrata.types import Scope


def dump(mem: Memory, user_id: str) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for record in mem.list(user_id=user_id, states=["active", "archived", "deleted"]).records:
        out.append(
            (
                record.to_dict(),
                [v.to_dict() for v in mem.versions(record.id, user_id=user_id)],
                [
                    (e.op, e.version, e.text, e.previous_text, e.reason, e.at)
                    for e in mem.history(record.id, user_id=user_id)
                ],
                [
                    (m.id, m.speaker, m.text, m.timestamp)
                    for m in mem.sources(record.id, user_id=user_id)
                ],
            )
        )
    return sorted(out, key=lambda row: str(row[0]))


def test_round_trip_keeps_every_record_version_and_history_row(tmp_path: Path) -> None:
    with Memory(tmp_path / "a.db", embedder="hashing") as a:
        added = a.add(
            [
                {
                    "id": "m1",
                    "speaker": "Ada",
                    "text": "I live in Paris",
                    "timestamp": "2026-01-01T00:00:00Z",
                    "metadata": {"mood": "calm"},
                },
                {"id": "m2", "text": "I have a cat"},
                {"id": "m3", "text": "the weather is grey"},
            ],
            user_id="ada",
            metadata={"channel": "chat"},
        )
        a.update(added.ids[0], "I live in Lisbon", user_id="ada", reason="moved")
        a.delete(added.ids[2], user_id="ada")
        a.add("not exported: another user", user_id="bob")
        count = a.export(tmp_path / "ada.jsonl", user_id="ada")
        before = dump(a, "ada")
    assert count == 3
    with Memory(tmp_path / "b.db", embedder="hashing") as b:
        assert b.import_(tmp_path / "ada.jsonl") == 3
        assert dump(b, "ada") == before
        assert not b.list(user_id="bob").records
        assert b.search("Lisbon", user_id="ada")[0].text == "I live in Lisbon"
        assert b.search("lisbon city", user_id="ada")[0].signals["dense"].rank == 1


def test_malformed_import_writes_nothing(tmp_path: Path) -> None:
    with Memory(tmp_path / "a.db", embedder="hashing") as a:
        a.add(["one", "two"], user_id="ada")
        a.export(tmp_path / "ok.jsonl", user_id="ada")
    lines = (tmp_path / "ok.jsonl").read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    bad_record = json.loads(lines[-1])
    bad_record["record"]["text"] = ""
    for variant in (
        [*lines, "{not json"],
        [*lines, json.dumps({"type": "strange"})],
        [*lines[:-1], json.dumps(bad_record)],
        [*lines, "[1, 2]"],
    ):
        broken.write_text("\n".join(variant) + "\n")
        with Memory(tmp_path / "b.db", embedder="hashing") as b:
            with pytest.raises(InvalidInputError, match="line"):
                b.import_(broken)
            assert not b.list(user_id="ada").records
    with sqlite3.connect(tmp_path / "b.db") as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0


def test_importing_twice_is_a_conflict_and_changes_nothing(tmp_path: Path) -> None:
    with Memory(tmp_path / "a.db", embedder="hashing") as a:
        a.add(["one", "two"], user_id="ada")
        a.export(tmp_path / "x.jsonl", user_id="ada")
        with pytest.raises(ConflictError):
            a.import_(tmp_path / "x.jsonl")
        assert len(a.list(user_id="ada").records) == 2


def _llm_path_state(mem: Memory) -> tuple[object, ...]:
    ada = Scope(user_id="ada")
    ids = sorted(r.id for r in mem.list(user_id="ada").records)
    return (
        [mem.store.links(ada, i) for i in ids],
        mem.store.find_entities(ada),
        mem.store.relations(ada, ["ada", "lisbon"]),
        [(p.message.id, p.status, p.attempts)
         for p in mem.store.pending_messages(ada, include_failed=True)],
    )  # fmt: skip


def test_links_graph_and_status_go_through_a_file_and_an_old_file_still_imports(
    tmp_path: Path,
) -> None:
    ada, at = Scope(user_id="ada"), datetime(2026, 1, 1, tzinfo=UTC)
    with Memory(tmp_path / "a.db", embedder="hashing") as a:
        added = a.add([{"id": "m1", "text": "Ada lives in Lisbon"},
                       {"id": "m2", "text": "Ada has a cat"}], user_id="ada")  # fmt: skip
        first, second = added.ids
        a.store.mark_messages(ada, ["m1"], "done", at=at, prompt_version="p1")
        a.store.mark_messages(ada, ["m2"], "failed", at=at, error="timeout")
        a.store.add_links(ada, [Link(second, first, "related", 0.5, at)], at=at)
        a.store.put_graph(ada, first, [Entity("ada", "Ada"), Entity("lisbon", "Lisbon")],
                          [Triple("ada", "Ada", "lives_in", "lisbon", "Lisbon")])  # fmt: skip
        a.export(tmp_path / "ada.jsonl", user_id="ada")
        before = _llm_path_state(a)
    assert before[0] == [[Link(second, first, "related", 0.5, at)]] * 2 and before[2]
    with Memory(tmp_path / "b.db", embedder="hashing") as b:
        assert b.import_(tmp_path / "ada.jsonl") == 2
        assert _llm_path_state(b) == before
        assert b.store.pending_messages(ada) == []  # reprocess has nothing new to do

    old = []  # what an older memstrata wrote: format 1, no status, graph or links
    for line in (tmp_path / "ada.jsonl").read_text().splitlines():
        item = {k: v for k, v in json.loads(line).items() if k not in ("status", "graph", "links")}
        old.append(json.dumps({**item, "format": 1} if item["type"] == "header" else item))
    (tmp_path / "old.jsonl").write_text("\n".join(old) + "\n")
    with Memory(tmp_path / "c.db", embedder="hashing") as c:
        assert c.import_(tmp_path / "old.jsonl") == 2
        assert _llm_path_state(c) == ([[], []], [], [], [("m1", "new", 0), ("m2", "new", 0)])

    newer = [json.dumps({"type": "header", "format": 3}), *old[1:]]
    bad_status = json.loads(old[1])
    bad_status["status"] = {"status": "done", "attempts": 1}  # no time
    for lines, where in ((newer, "line 1"), ([old[0], json.dumps(bad_status)], "line 2")):
        (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
        with (
            Memory(tmp_path / "d.db", embedder="hashing") as d,
            pytest.raises(InvalidInputError, match=where),
        ):
            d.import_(tmp_path / "bad.jsonl")
