"""Export to JSON Lines and import into a fresh store: lossless, all or nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from memstrata import ConflictError, InvalidInputError, Memory


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
