"""A ``Memory`` runs at most ``parallel_searches`` searches at once; the others wait their turn."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from memstrata import Memory, SearchResult
from memstrata.embedders.hashing import HashingEmbedder
from memstrata.errors import ConfigurationError, InvalidInputError
from memstrata.ports import EmbedKind, Vector
from memstrata.server.rest import create_app
from memstrata.settings import Settings


class Crowded:
    """The hashing embedder, whose query embeddings wait (a moment at most) for a third to be
    under way together, and which counts how many ever were at once."""

    def __init__(self) -> None:
        self.inner = HashingEmbedder(64)
        self.name, self.dim = self.inner.name, self.inner.dim
        self.changed = threading.Condition()
        self.running = self.most = 0

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        if kind == "query":
            with self.changed:
                self.running += 1
                self.most = max(self.most, self.running)
                self.changed.notify_all()
                self.changed.wait_for(lambda: self.running >= 3, timeout=0.3)
                self.running -= 1
        return self.inner.embed(texts, kind)


def crowd(*memories: Memory) -> list[int]:
    """Six threads searching at once, dealt to ``memories`` in turn: their hits' counts."""
    found: list[int] = []

    def search(mem: Memory) -> None:
        found.append(len(mem.search("tea", user_id="u", limit=3).hits))

    threads = [threading.Thread(target=search, args=(memories[i % len(memories)],))
               for i in range(6)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return found


def test_no_more_searches_run_at_once_than_allowed(tmp_path: Path) -> None:
    embedder = Crowded()
    with Memory(tmp_path / "m.db", embedder=embedder, parallel_searches=2) as mem:
        mem.add([f"note {i} about tea" for i in range(20)], user_id="u")
        assert crowd(mem) == [3] * 6
    assert embedder.most == 2  # two at once, never the third they waited for


def test_memories_given_one_gate_share_its_bound(tmp_path: Path) -> None:
    embedder = Crowded()
    env = {"MEMSTRATA_DB": str(tmp_path / "m.db"), "MEMSTRATA_PARALLEL_SEARCHES": "1"}
    with Memory.from_settings(Settings.from_env(env), embedder=embedder) as first:
        first.add([f"note {i} about tea" for i in range(20)], user_id="u")
        other = Memory(first.store, embedder=embedder, parallel_searches=first.search_gate)
        assert crowd(first, other) == [3] * 6
    assert embedder.most == 1


def test_every_tenant_of_a_server_shares_one_bound(tmp_path: Path) -> None:
    app = create_app(tmp_path / "m.db", embedder="hashing", parallel_searches=3)
    tenants = app.state.tenants
    try:
        gate = tenants.memory("default").search_gate
        assert tenants.memory("acme").search_gate is gate
    finally:
        tenants.close()


def test_the_bound_is_a_setting_and_must_allow_one(tmp_path: Path) -> None:
    env = {"MEMSTRATA_DB": str(tmp_path / "m.db"), "MEMSTRATA_EMBEDDER": "hashing"}
    assert Settings.from_env(env).parallel_searches == 1
    assert Settings.from_env({**env, "MEMSTRATA_PARALLEL_SEARCHES": "3"}).parallel_searches == 3
    for bad in ("0", "two"):
        with pytest.raises(ConfigurationError, match="MEMSTRATA_PARALLEL_SEARCHES"):
            Settings.from_env({**env, "MEMSTRATA_PARALLEL_SEARCHES": bad})
    with pytest.raises(InvalidInputError, match="parallel_searches"):
        Memory(tmp_path / "n.db", embedder="hashing", parallel_searches=0)


class Signalling:
    """The hashing embedder, which tells when a query is embedded (a search holds its turn)."""

    def __init__(self) -> None:
        self.inner = HashingEmbedder(64)
        self.name, self.dim = self.inner.name, self.inner.dim
        self.asked = threading.Event()

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        if kind == "query":
            self.asked.set()
        return self.inner.embed(texts, kind)


def test_a_search_keeps_its_record_after_its_turn(tmp_path: Path) -> None:
    """Keeping a search for feedback is a write, which may wait for another's: the search's
    turn is over by then, so the next search does not wait with it."""
    embedder = Signalling()
    with Memory(tmp_path / "m.db", embedder=embedder, parallel_searches=1) as mem:
        mem.add([f"note {i} about tea" for i in range(20)], user_id="u")
        found: list[SearchResult] = []
        writer = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # another process's write, under way
        try:
            thread = threading.Thread(target=lambda: found.append(mem.search("tea", user_id="u")))
            thread.start()
            assert embedder.asked.wait(timeout=10)
            # The search ranks, then waits for the file's write lock to keep its record.
            assert mem.search_gate.acquire(timeout=5)
            mem.search_gate.release()
            assert thread.is_alive()
        finally:
            writer.execute("COMMIT")
            writer.close()
        thread.join(timeout=30)
        (result,) = found
        assert result.hits
        # Kept all the same: feedback finds it.
        assert mem.feedback(result.search_id, [result.hits[0].id], user_id="u").used == 1
