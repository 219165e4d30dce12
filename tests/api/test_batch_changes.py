"""Batch changes and expiry in the change feed, and every new parameter through the remote
client: a batch delete, restore and update is one change per memory (DELETE, RESTORE, UPDATE), as
the single verbs are; ``maintain`` archiving what expired is an ARCHIVE change. ``RemoteMemory``
sends ``where``, ``history``, ``expires_at`` and the batch verbs to a real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memstrata import InvalidInputError, Memory, RemoteMemory
from memstrata.ports.models import FixedClock
from memstrata.server.rest import create_app
from memstrata.server.runner import running

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
ADA = {"user_id": "ada"}
WORK = {"metadata.topic": "work"}


def seed(mem: Memory) -> list[str]:
    return [
        mem.add(text, metadata={"topic": topic}, **ADA).ids[0]
        for text, topic in [("Office opens at nine", "work"), ("Standup at ten", "work"),
                            ("Flight to Lisbon", "travel")]
    ]  # fmt: skip


def test_batch_changes_and_expiry_are_changes_in_the_feed(db_path: Path) -> None:
    clock = FixedClock(T0)
    with Memory(db_path, embedder="hashing", clock=clock) as mem:
        ids = seed(mem)
        start = mem.changes(limit=1000, **ADA)[-1].id
        assert mem.delete_many(where=WORK, **ADA).count == 2
        assert mem.restore_many(ids[:2], **ADA).count == 2
        assert mem.update_many(where=WORK, metadata={"seen": True}, **ADA).count == 2
        note = mem.add("Parking code 4411", expires_at=T0 + timedelta(hours=1), **ADA).ids[0]
        clock.at = T0 + timedelta(days=1)
        assert mem.maintain(**ADA) == [note]
        found = [(c.op, c.memory_id) for c in mem.changes(after=start, limit=1000, **ADA)]
    work = set(ids[:2])
    ops = [op for op, _ in found]
    assert {i for op, i in found if op == "DELETE"} == work
    assert {i for op, i in found if op == "RESTORE"} == work
    assert {i for op, i in found if op == "UPDATE"} == work
    assert ("ARCHIVE", note) in found
    assert ops.index("DELETE") < ops.index("RESTORE") < ops.index("UPDATE") < ops.index("ARCHIVE")


def test_a_dry_run_changes_nothing_and_writes_no_change(db_path: Path) -> None:
    with Memory(db_path, embedder="hashing") as mem:
        seed(mem)
        before = mem.changes(limit=1000, **ADA)
        result = mem.delete_many(where=WORK, dry_run=True, **ADA)
        assert (result.count, result.dry_run, len(result.ids)) == (2, True, 2)
        assert mem.changes(limit=1000, **ADA) == before
        assert len(mem.list(**ADA).records) == 3


def test_the_remote_client_sends_where_history_expiry_and_batches(db_path: Path) -> None:
    with Memory(db_path, embedder="hashing") as mem:
        ids = seed(mem)
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, RemoteMemory(url) as remote:
        listed = remote.list(where={"metadata.topic": {"in": ["work"]}}, **ADA)
        assert {r.id for r in listed.records} == set(ids[:2])
        hits = remote.search("Lisbon", where={"not": WORK}, **ADA)
        assert [h.id for h in hits] == [ids[2]]
        gone = remote.add("Old note", expires_at="2020-01-01T00:00:00Z", **ADA).ids[0]
        assert remote.get(gone, **ADA).state == "archived"  # expired: reads as archived
        assert gone not in {r.id for r in remote.list(**ADA).records}
        assert gone in {r.id for r in remote.list(history=True, **ADA).records}
        assert remote.search("old note", history=True, **ADA)[0].id == gone
        dry = remote.delete_many(where=WORK, dry_run=True, **ADA)
        assert (dry.count, dry.dry_run) == (2, True)
        assert remote.delete_many(ids[:1], **ADA).ids == (ids[0],)
        assert remote.restore_many(where=WORK, states=["deleted"], **ADA).ids == (ids[0],)
        later = datetime(2030, 1, 1, tzinfo=UTC)
        updated = remote.update_many(ids[1:2], metadata={"seen": True}, expires_at=later, **ADA)
        assert updated.count == 1
        record = remote.get(ids[1], **ADA)
        assert record.metadata["seen"] is True and record.expires_at == later
        with pytest.raises(InvalidInputError, match="unknown operator 'like'"):
            remote.list(where={"metadata.topic": {"like": "w%"}}, **ADA)
