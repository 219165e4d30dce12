"""What only the PostgreSQL store has: its URL, schema migrations, the HNSW path, and the library
driven end to end on it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

pytest.importorskip("psycopg")
pytest.importorskip("pgserver")

import psycopg

from memstrata import InvalidInputError, Memory, StoreError
from memstrata.stores import open_store
from memstrata.stores.migrate import migrate
from memstrata.stores.postgres import PostgresStore
from memstrata.stores.postgres.store import redact, split_url
from memstrata.terms import terms_of
from memstrata.types import Filters, MemoryRecord, Scope

#: When the records of these tests are added.
AT = datetime(2026, 1, 1, tzinfo=UTC)

pytestmark = pytest.mark.postgres

U = Scope(user_id="u")


def test_the_library_end_to_end_on_postgres(pg_url: str) -> None:
    with Memory(store=PostgresStore(pg_url), embedder="hashing") as mem:
        added = mem.add(
            [
                {"id": "m1", "speaker": "Ada", "text": "I moved to Lisbon in May",
                 "timestamp": "2026-05-02T09:00:00Z"},
                {"id": "m2", "speaker": "Ada", "text": "My sister Eva plays the cello"},
                {"id": "m3", "speaker": "Ada", "text": "The cat knocked over a glass"},
            ],
            user_id="ada",
            metadata={"channel": "chat"},
        )  # fmt: skip
        assert mem.add({"id": "m1", "text": "again"}, user_id="ada").duplicates == ("m1",)
        hits = mem.search("where did Ada move", user_id="ada", limit=2)
        assert hits[0].sources == ("m1",)
        assert mem.search("cello", user_id="ada", metadata={"channel": "chat"})[0].sources == (
            "m2",
        )
        assert mem.search("cello", user_id="bob").hits == ()
        moved = mem.update(added.ids[0], "I moved to Porto in June", user_id="ada", reason="fix")
        assert mem.search("Porto", user_id="ada", limit=1)[0].id == moved.id
        assert [e.op for e in mem.history(moved.id, user_id="ada")] == ["ADD", "UPDATE"]
        mem.delete(added.ids[2], user_id="ada")
        assert len(mem.list(user_id="ada").records) == 2
        mem.restore(added.ids[2], user_id="ada")
        assert [m.speaker for m in mem.sources(moved.id, user_id="ada")] == ["Ada"]
        assert mem.scopes()[0]["memories"] == 3
        assert mem.reset(user_id="ada", confirm=True) == 3
    with Memory(pg_url, embedder="hashing") as mem:  # the same database, through its URL
        assert isinstance(mem.store, PostgresStore)
        assert mem.list(user_id="ada").records == ()


def test_url_options_and_password_redaction(pg_url: str) -> None:
    replica = quote(pg_url, safe="")
    store = open_store(
        f"{pg_url}&pool_size=3&exact_limit=7&prepare_threshold=none&search_url={replica}"
    )
    try:
        assert isinstance(store, PostgresStore) and store.exact_limit == 7
        assert store.search_url == pg_url
        assert store.keyword_search(U, "anything", Filters(), limit=3) == []
    finally:
        store.close()
    assert split_url("postgresql://h/db?sslmode=require") == ("postgresql://h/db?sslmode=require",
                                                              {})  # fmt: skip
    assert redact("postgresql://ada:s3cret@db.example/mem") == "postgresql://ada:***@db.example/mem"
    with pytest.raises(StoreError) as caught:
        PostgresStore("postgresql://ada:s3cret@/mem?host=/nonexistent", timeout=2)
    assert "s3cret" not in str(caught.value) and "ada:***@" in str(caught.value)


def test_schema_migrations_are_recorded_once_and_a_newer_schema_is_refused(pg_url: str) -> None:
    PostgresStore(pg_url).close()
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        versions = conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        assert versions == [(1,), (2,), (3,), (4,), (5,)]
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone()
        conn.execute("INSERT INTO schema_migrations (version) VALUES (99)")
    with pytest.raises(StoreError, match="newer"):
        PostgresStore(pg_url)


def test_a_database_of_the_previous_schema_is_migrated_and_counted_in(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    records = [MemoryRecord(id=f"r{i}", scope=U, kind="episode", text=f"note {i} about tea",
                            recorded_at=AT) for i in range(30)]  # fmt: skip
    store.add([], records, at=AT)
    expected = store.scope_stats(U, ["tea", "note"])
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:  # back to schema version 2
        for table in ("scope_stats", "scope_terms", "scope_sessions", "scope_speakers",
                      "memory_terms"):  # fmt: skip
            conn.execute(f"DROP TABLE {table}")
        for column in ("scope", "session", "prev_pk", "next_pk", "expires_at"):
            conn.execute(f"ALTER TABLE memories DROP COLUMN {column}")
        conn.execute("DROP INDEX memories_ending")
        conn.execute("DELETE FROM schema_migrations WHERE version >= 3")
        conn.execute("DELETE FROM meta WHERE key = 'engine_terms'")
    store = PostgresStore(pg_url)
    try:
        assert store.scope_stats(U, ["tea", "note"]) == expected
        placed = store.placed(U, Filters(), ids=["r0", "r1"])
        assert {p.record.id: p.next for p in placed}["r0"] == {p.record.id: p.key
                                                               for p in placed}["r1"]  # fmt: skip
    finally:
        store.close()


def test_a_database_of_schema_3_gains_expiry_in_place(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    store.add([], [MemoryRecord(id="old", scope=U, kind="episode", text="kept", recorded_at=AT)],
              at=AT)  # fmt: skip
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:  # back to schema version 3
        conn.execute("ALTER TABLE memories DROP COLUMN expires_at")
        conn.execute("DROP INDEX memories_ending")
        conn.execute("DROP TABLE memory_terms")
        conn.execute("DELETE FROM schema_migrations WHERE version >= 4")
    store = PostgresStore(pg_url)
    try:
        assert store.get(U, "old").text == "kept" and store.get(U, "old").expires_at is None
        soon = MemoryRecord(id="new", scope=U, kind="working", text="t", recorded_at=AT,
                            expires_at=AT + timedelta(days=1))  # fmt: skip
        store.add([], [soon], at=AT)
        assert store.get(U, "new").expires_at == AT + timedelta(days=1)
        later = Filters(current_at=AT + timedelta(days=2))
        assert [r.id for r in store.list(U, later).records] == ["old"]
    finally:
        store.close()


def test_a_database_of_schema_4_stores_each_memorys_terms_and_ranks_as_before(
    pg_url: str,
) -> None:
    texts = [f"Note {i} about {('tea', 'coffee', 'cocoa')[i % 3]}. Was it good?" for i in range(40)]
    with Memory(store=PostgresStore(pg_url), embedder="hashing") as mem:
        ids = [r.id for r in mem.add([{"text": t} for t in texts], user_id="u").added]
        before = [(h.record.id, h.score) for h in mem.search("coffee", user_id="u").hits]
    with psycopg.connect(pg_url, autocommit=True) as conn:  # back to schema version 4
        conn.execute("DROP TABLE memory_terms")
        conn.execute("DELETE FROM schema_migrations WHERE version = 5")
    with Memory(store=PostgresStore(pg_url), embedder="hashing") as mem:
        placed = mem.store.placed(U, Filters(), ids=ids)
        assert len(placed) == 40 and all(p.terms == terms_of(p.record) for p in placed)
        assert [(h.record.id, h.score) for h in mem.search("coffee", user_id="u").hits] == before


def test_a_value_postgresql_cannot_hold_is_invalid_input(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        bad = MemoryRecord(id="a", scope=U, kind="fact", text="x", metadata={"k": "nul\x00"})
        with pytest.raises(InvalidInputError):
            store.add([], [bad], at=AT)
        assert store.get_many(U, ["a"]) == []
    finally:
        store.close()


def _index_scans(url: str, name: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else -1


def _random_store(url: str, n: int = 300, dim: int = 8) -> tuple[PostgresStore, np.ndarray]:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = PostgresStore(url)
    store.set_embedder_info("test", dim)
    records = [
        MemoryRecord(id=f"r{i}", scope=U, kind="episode" if i % 15 == 0 else "fact", text=f"m {i}")
        for i in range(n)
    ]
    store.add([], records, vectors=vectors, at=AT)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE memories")
    return store, vectors


def _index_status(url: str, dim: int) -> str:
    from memstrata.stores.postgres.vectors import index_status

    with psycopg.connect(url, autocommit=True) as conn:
        return index_status(conn, dim)


def test_the_hnsw_index_is_built_when_a_search_first_needs_it(pg_url: str) -> None:
    exact, vectors = _random_store(pg_url)
    approximate = PostgresStore(pg_url, exact_limit=10)
    try:
        assert _index_status(pg_url, 8) == "missing"  # recording the embedder builds nothing
        assert exact.vector_search(U, vectors[0], Filters(), limit=3)[0][0].id == "r0"
        assert _index_status(pg_url, 8) == "missing"  # 300 candidates: exact, no index needed
        first = approximate.vector_search(U, vectors[0], Filters(), limit=3)
        assert first == exact.vector_search(U, vectors[0], Filters(), limit=3)  # exact meanwhile
        approximate._indexes.wait(60)
        assert _index_status(pg_url, 8) == "valid"
        approximate.build_vector_index()  # already there: nothing to do
    finally:
        exact.close()
        approximate.close()


def test_a_build_that_died_is_dropped_and_built_again(pg_url: str) -> None:
    store, _ = _random_store(pg_url, n=20)
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:  # as a cancelled build leaves it
            conn.execute(
                "CREATE INDEX memories_hnsw_8 ON memories USING hnsw "
                "((embedding::vector(8)) vector_cosine_ops) WHERE vector_dims(embedding) = 8"
            )
            conn.execute(
                "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
                ("memories_hnsw_8",),
            )
        assert _index_status(pg_url, 8) == "invalid"
        store.build_vector_index(8)
        assert _index_status(pg_url, 8) == "valid"
    finally:
        store.close()


def test_past_exact_limit_vector_search_uses_the_hnsw_index(pg_url: str) -> None:
    exact, vectors = _random_store(pg_url)
    exact.build_vector_index()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{conn.info.dbname}" SET enable_seqscan = off')
    approximate = PostgresStore(pg_url, exact_limit=10)
    try:
        before = _index_scans(pg_url, "memories_hnsw_8")
        assert before >= 0
        for query in vectors[:5]:
            want = [r.id for r, _ in exact.vector_search(U, query, Filters(), limit=5)]
            got = approximate.vector_search(U, query, Filters(), limit=5)
            assert [r.id for r, _ in got][:1] == want[:1]
            assert len({r.id for r, _ in got} & set(want)) >= 4
        # 20 episodes among 300: the index's nearest rows hold too few, so the exact sort answers.
        episodes = Filters(kinds=("episode",))
        for query in vectors[:5]:
            got = approximate.vector_search(U, query, episodes, limit=5)
            assert got == exact.vector_search(U, query, episodes, limit=5)
            assert len(got) == 5 and all(r.kind == "episode" for r, _ in got)
    finally:
        exact.close()
        approximate.close()  # its sessions end, and so report their statistics
    deadline = time.monotonic() + 10
    while _index_scans(pg_url, "memories_hnsw_8") == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _index_scans(pg_url, "memories_hnsw_8") > before


def test_vectors_of_another_dimension_are_not_compared(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        store.add([], [MemoryRecord(id="a", scope=U, kind="fact", text="x")],
                  vectors=np.ones((1, 4), dtype=np.float32) / 2, at=AT)  # fmt: skip
        assert store.vector_search(U, np.ones(8, dtype=np.float32), Filters(), limit=3) == []
        hits: list[Any] = store.vector_search(U, np.ones(4, dtype=np.float32) / 2, Filters(),
                                              limit=3)  # fmt: skip
        assert [(r.id, round(s, 5)) for r, s in hits] == [("a", 1.0)]
    finally:
        store.close()


def test_search_reads_from_the_replica_and_everything_else_from_the_primary(pg_url: str) -> None:
    """A snapshot of the database stands in for a lagging standby, opened read-only."""
    primary = PostgresStore(pg_url)
    primary.add([], [MemoryRecord(id="old", scope=U, kind="fact", text="Lisbon in May")],
                vectors=np.ones((1, 4), dtype=np.float32) / 2, at=AT)  # fmt: skip
    primary.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        name = conn.info.dbname
    with psycopg.connect(pg_url.replace(f"/{name}?", "/postgres?"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}_standby" TEMPLATE "{name}"')
    standby = pg_url.replace(f"/{name}?", f"/{name}_standby?")
    read_only = standby + "&options=-c%20default_transaction_read_only%3Don"
    store = PostgresStore(pg_url, search_url=read_only)
    try:
        store.add([], [MemoryRecord(id="new", scope=U, kind="fact", text="Lisbon in June")],
                  vectors=np.ones((1, 4), dtype=np.float32) / 2, at=AT)  # fmt: skip
        assert store.get(U, "new").text == "Lisbon in June"  # the primary
        assert [r.id for r, _ in store.keyword_search(U, "lisbon", Filters(), limit=5)] == ["old"]
        query = np.ones(4, dtype=np.float32) / 2
        assert [r.id for r, _ in store.vector_search(U, query, Filters(), limit=5)] == ["old"]
    finally:
        store.close()


def _docs_sql(marker: str) -> str:
    text = (Path(__file__).resolve().parents[2] / "docs" / "postgres.md").read_text("utf-8")
    after = text.split(f"<!-- ddl: {marker} -->", 1)[1]
    return after.split("```sql\n", 1)[1].split("```", 1)[0]


def test_the_partitioning_ddl_of_the_docs_works_under_the_store(
    pg_url: str, tmp_path: Path
) -> None:
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(_docs_sql("partitioning").encode())
        partitions = conn.execute(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE c.relkind = 'r'"
        ).fetchone()
    assert partitions == (64,)
    with Memory(tmp_path / "old.db", embedder="hashing") as old:
        old.add(["I live in Paris", "I have a cat"], user_id="ada")
        old.add("agent notes", agent_id="helper")
        old.update(old.list(user_id="ada").records[0].id, "I have two cats", user_id="ada")
    source, target = open_store(tmp_path / "old.db"), open_store(pg_url)
    try:
        report = migrate(source, target)
        assert report.ok and report.tenants[0].copied == 3
    finally:
        source.close()
        target.close()
    with Memory(pg_url, embedder="hashing") as mem:
        hits = mem.search("how many cats", user_id="ada", limit=1)
        assert hits[0].text == "I have two cats"
        assert [e.op for e in mem.history(hits[0].id, user_id="ada")] == ["ADD", "UPDATE"]
        assert len(mem.versions(hits[0].id, user_id="ada")) == 2
        bob = mem.add("bob's own memory", user_id="bob").ids[0]
        mem.update(bob, "bob's memory, changed", user_id="bob")
        mem.delete(bob, user_id="bob")
        mem.purge(bob, user_id="bob", confirm=True)
        assert mem.search("notes", agent_id="helper")[0].text == "agent notes"
        assert mem.reset(user_id="ada", confirm=True) == 2
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM history").fetchone() == (1,)


def test_both_stores_have_every_method_of_the_protocol_with_its_signature() -> None:
    import inspect

    from memstrata.ports import Store
    from memstrata.stores.sqlite import SQLiteStore

    capabilities = [c for c in Store.__mro__ if getattr(c, "_is_protocol", False)]
    methods = {
        n for c in capabilities for n, m in vars(c).items() if callable(m) and not n.startswith("_")
    }
    assert len(methods) > 40
    for name in sorted(methods):
        want = inspect.signature(getattr(Store, name)).parameters.keys()
        for cls in (SQLiteStore, PostgresStore):
            assert inspect.signature(getattr(cls, name)).parameters.keys() == want, (cls, name)
