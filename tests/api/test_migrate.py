"""``memstrata migrate``: SQLite to PostgreSQL and back, lossless, verified and resumable."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from postgres_helpers import fresh_database

from memstrata import ConflictError, EmbedderMismatchError, Memory
from memstrata.cli import main
from memstrata.ports import ApiKey, Entity, Link, Store, Triple
from memstrata.read.learning import setting_keys
from memstrata.stores import open_store
from memstrata.stores.migrate import item_digest, migrate, roots
from memstrata.types import Filters, Scope, utcnow

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> str:
    return fresh_database("migrate")


def fill(path: Path) -> None:
    """A store with several tenants and scopes, versions, soft deletes, a purge and a key."""
    for tenant in ("default", "acme"):
        with Memory(path, embedder="hashing", tenant=tenant) as mem:
            added = mem.add(
                [
                    {"id": "m1", "speaker": "Ada", "text": "I live in Paris",
                     "timestamp": "2026-01-01T10:00:00.123456Z", "metadata": {"mood": "calm"}},
                    {"id": "m2", "text": "I adopted a cat named Café"},
                    {"id": "m3", "text": "the weather is grey"},
                    {"id": "m4", "text": "this one will be purged"},
                ],
                user_id="ada",
                metadata={"channel": "chat"},
            )  # fmt: skip
            mem.update(added.ids[0], "I live in Lisbon", user_id="ada", reason="moved")
            mem.update(added.ids[0], "I live in Porto", user_id="ada", metadata={"n": 2})
            mem.delete(added.ids[2], user_id="ada", reason="noise")
            mem.purge(added.ids[3], user_id="ada", confirm=True)
            mem.add("agent notes", user_id="ada", agent_id="helper")
            mem.add("run scratch", run_id="r1")
            mem.add("bob's memory", user_id="bob")
            what_the_llm_path_keeps(mem.store, tenant)


T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def what_the_llm_path_keeps(store: Store, tenant: str) -> None:
    """Message statuses, links (one to a memory exported after its source, one to another
    scope) and the entity graph, in ada's scope."""
    ada, helper = Scope(user_id="ada", tenant=tenant), Scope(user_id="ada", agent_id="helper",
                                                              tenant=tenant)  # fmt: skip
    ids = {r.text: r.id for r in store.list(ada, Filters(states=("active", "deleted")),
                                            limit=10).records}  # fmt: skip
    porto, cat, notes = (ids[t] for t in ("I live in Porto", "I adopted a cat named Café",
                                          "agent notes"))  # fmt: skip
    store.mark_messages(ada, ["m1", "m2"], "done", at=T0, prompt_version="p1")
    store.mark_messages(ada, ["m3"], "failed", at=T0, error="bad json")
    store.mark_messages(ada, ["m3"], "failed", at=T0, error="bad json again")
    store.add_links(ada, [Link(porto, notes, "related", 0.5, T0),
                          Link(cat, porto, "supersedes", 0.25, T0)], at=T0)  # fmt: skip
    store.put_graph(ada, porto, [Entity("ada", "Ada"), Entity("porto", "Porto")],
                    [Triple("ada", "Ada", "lives_in", "porto", "Porto")])  # fmt: skip
    store.put_graph(ada, cat, [Entity("ada", "Ada"), Entity("café", "Café")],
                    [Triple("ada", "Ada", "has", "café", "Café")])  # fmt: skip
    store.put_graph(helper, notes, [Entity("ada", "ADA")], [])


def graph_view(store: Store, tenant: str) -> dict[str, Any]:
    """What the read path sees of links, the entity graph and message status of ada."""
    ada = Scope(user_id="ada", tenant=tenant)
    ids = sorted(r.id for r in store.list(ada, Filters(states=("active", "deleted")),
                                          limit=10).records)  # fmt: skip
    keys = ["ada", "porto", "café"]
    return {
        "links": {i: store.links(ada, i) for i in ids},
        "entities": (store.find_entities(ada), store.find_entities(ada, keys)),
        "relations": store.relations(ada, keys),
        "search": [(r.id, s) for r, s in store.entity_search(ada, {"ada": 1.0, "porto": 1.0},
                                                             Filters(), limit=5)],
        "pending": [(p.scope, p.message, p.status, p.attempts)
                    for p in store.pending_messages(ada, include_failed=True)],
    }  # fmt: skip


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a store holds, as comparable data (history ids are the store's own)."""
    out: dict[str, Any] = {"embedder": store.embedder_info(), "keys": store.api_keys()}
    for scope in store.exact_scopes():
        items = []
        for item in store.export(scope, vectors=True):
            if item["type"] == "header" or not _exact(scope, item.get("record") or item["message"]):
                continue  # each item once, under its exact scope
            if item["type"] == "memory":
                item = {**item, "history": [{**h, "id": None} for h in item["history"]]}
            items.append(item)
        out[f"{scope.tenant}/{scope}"] = items
    return out


def _exact(scope: Scope, data: dict[str, Any]) -> bool:
    return all(data.get(f) == getattr(scope, f) for f in ("user_id", "agent_id", "run_id"))


def test_sqlite_to_postgres_and_back_is_lossless(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, back = tmp_path / "first.db", tmp_path / "back.db"
    fill(first)
    store = open_store(first)
    store.put_api_key(ApiKey(id="k1", tenant="acme", key_hash="h1", created_at=utcnow()))
    store.put_api_key(ApiKey(id="k2", tenant="acme", key_hash="h2", created_at=utcnow()))
    store.revoke_api_key("k2", utcnow())
    original = snapshot(store)
    seen = {tenant: graph_view(store, tenant) for tenant in ("acme", "default")}
    store.close()
    acme = seen["acme"]
    assert [p[2:] for p in acme["pending"]] == [("failed", 2), ("new", 0), ("new", 0)]
    assert sum(map(len, acme["links"].values())) == 4 and len(acme["relations"]) == 2

    assert main(["migrate", "--from", str(first), "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "tenant acme: copied 6 memories" in out and "tenant default: copied 6" in out
    assert out.count("  ok") == 2 and "checksum" in out and "api keys copied: 2" in out
    assert out.count("statuses 3  vectors 6  links 2  entities 5  relations 2") == 4

    assert main(["migrate", "--from", pg_url, "--to", f"sqlite:///{back}"]) == 0
    capsys.readouterr()
    for url in (pg_url, str(back)):
        store = open_store(url)
        try:
            assert snapshot(store) == original, url
            assert {t: graph_view(store, t) for t in seen} == seen, url
        finally:
            store.close()
    with Memory(pg_url, embedder="hashing", tenant="acme") as mem:
        hits = mem.search("where does Ada live now", user_id="ada", limit=1)
        assert hits[0].text == "I live in Porto"
        assert [v.text for v in mem.versions(hits[0].id, user_id="ada")] == [
            "I live in Paris", "I live in Lisbon", "I live in Porto",
        ]  # fmt: skip


def test_an_interrupted_copy_resumes_where_it_stopped(tmp_path: Path, pg_url: str) -> None:
    fill(tmp_path / "a.db")
    source, target = open_store(tmp_path / "a.db"), open_store(pg_url)
    try:
        batches: list[str] = []

        def stop_after_two(line: str) -> None:
            batches.append(line)
            if len(batches) == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            migrate(source, target, batch_size=2, progress=stop_after_two)
        there = sum(s["memories"] for s in target.scopes("acme"))
        assert 0 < there < 6 and target.scopes("default") == []
        report = migrate(source, target, batch_size=2)
        assert report.ok
        acme = next(t for t in report.tenants if t.tenant == "acme")
        assert (acme.copied, acme.skipped) == (6 - there, there)
        assert acme.source.counts() == acme.target.counts()
        assert acme.source.memories == 6 and acme.source.history > 6
        again = migrate(source, target)  # nothing left to do
        assert all(t.copied == 0 and t.ok for t in again.tenants)
        assert snapshot(target) == snapshot(source)
    finally:
        source.close()
        target.close()


def test_a_resumed_copy_keeps_a_link_to_a_memory_of_a_later_batch(
    tmp_path: Path, pg_url: str
) -> None:
    fill(tmp_path / "a.db")
    source, target = open_store(tmp_path / "a.db"), open_store(pg_url)
    ada = Scope(user_id="ada", tenant="acme")
    try:
        porto = next(r.id for r in source.list(ada, Filters(), limit=10).records
                     if r.text == "I live in Porto")  # fmt: skip

        def stop(line: str) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):  # the messages and the first memory, then stop
            migrate(source, target, tenants=["acme"], only={"user_id": "ada"}, batch_size=1,
                    progress=stop)  # fmt: skip
        assert [r.id for r in target.list(ada, Filters(), limit=10).records] == [porto]
        assert target.links(ada, porto) == []  # its link goes to a memory not copied yet
        report = migrate(source, target, tenants=["acme"], only={"user_id": "ada"}, batch_size=1)
        assert report.ok and (report.tenants[0].copied, report.tenants[0].skipped) == (3, 1)
        assert report.tenants[0].target.links == 2
        assert target.links(ada, porto) == source.links(ada, porto)
        assert len(target.links(ada, porto)) == 2
        assert target.pending_messages(ada, include_failed=True) == source.pending_messages(
            ada, include_failed=True
        )
    finally:
        source.close()
        target.close()


DROP_ROWS = {  # a target that loses what its import writes to one table
    table: f"CREATE TRIGGER lose_{table} BEFORE INSERT ON {table} BEGIN SELECT RAISE(IGNORE); END"
    for table in ("links", "entity_mentions", "relations", "message_status")
}


@pytest.mark.parametrize(
    ("table", "count"),
    [("links", "links"), ("entity_mentions", "entities"), ("relations", "relations"),
     ("message_status", "statuses")],
)  # fmt: skip
def test_a_target_that_loses_links_graph_or_status_fails_verification(
    tmp_path: Path, table: str, count: str
) -> None:
    fill(tmp_path / "a.db")
    open_store(tmp_path / "b.db").close()
    with sqlite3.connect(tmp_path / "b.db") as conn:
        conn.execute(DROP_ROWS[table])
    source, target = open_store(tmp_path / "a.db"), open_store(tmp_path / "b.db")
    try:
        report = migrate(source, target, tenants=["acme"])
        acme = report.tenants[0]
        assert not report.ok and acme.copied == 6
        assert getattr(acme.source, count) > 0 and getattr(acme.target, count) == 0
        assert acme.source.checksum != acme.target.checksum
    finally:
        source.close()
        target.close()


def test_a_postgres_target_that_loses_links_fails_the_command(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    fill(tmp_path / "a.db")
    open_store(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION lose() RETURNS trigger LANGUAGE plpgsql "
                     "AS $$ BEGIN RETURN NULL; END $$")  # fmt: skip
        conn.execute(
            "CREATE TRIGGER lose BEFORE INSERT ON links FOR EACH ROW EXECUTE FUNCTION lose()"
        )
    assert main(["migrate", "--from", str(tmp_path / "a.db"), "--to", pg_url]) == 1
    out = capsys.readouterr().out
    assert out.count("links 2  entities 5") == 2 and out.count("links 0  entities 5") == 2
    assert out.count("MISMATCH") == 2


def test_the_copy_refuses_a_target_that_differs(tmp_path: Path, pg_url: str) -> None:
    fill(tmp_path / "a.db")
    with Memory(tmp_path / "a.db", embedder="hashing") as mem:
        memory_id = mem.list(user_id="bob").records[0].id
    source, target = open_store(tmp_path / "a.db"), open_store(pg_url)
    try:
        migrate(source, target, tenants=["default"], only={"user_id": "bob"})
        assert [t.tenant for t in migrate(source, target, only={"user_id": "bob"}).tenants] == [
            "acme", "default",
        ]  # fmt: skip
        Memory(target, embedder="hashing").update(memory_id, "changed there", user_id="bob")
        with pytest.raises(ConflictError, match=memory_id):
            migrate(source, target)
    finally:
        source.close()
    other = open_store(tmp_path / "other.db")
    other.set_embedder_info("another-model", 8)
    try:
        with pytest.raises(EmbedderMismatchError):
            migrate(other, target)
    finally:
        other.close()
        target.close()


def test_a_mismatch_is_reported_and_fails_the_command(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Memory(tmp_path / "a.db", embedder="hashing") as mem:
        mem.add({"id": "m1", "text": "the source says this"}, user_id="ada")
    with Memory(pg_url, embedder="hashing") as mem:  # the same message id, other words
        mem.store.add([(Scope(user_id="ada"), _message("m1", "the target says that"))], [], at=T0)
    assert main(["migrate", "--from", str(tmp_path / "a.db"), "--to", pg_url]) == 1
    captured = capsys.readouterr()
    assert "MISMATCH" in captured.out and "differs" in captured.err


def _message(message_id: str, text: str) -> Any:
    from memstrata.types import Message

    return Message(id=message_id, text=text)


def test_roots_cover_every_scope_once() -> None:
    scopes = [
        Scope(user_id="u"),
        Scope(user_id="u", agent_id="a"),
        Scope(user_id="u", agent_id="a", run_id="r"),
        Scope(agent_id="a"),
        Scope(user_id="v", run_id="r"),
        Scope(user_id="u", tenant="t2", agent_id="a"),
    ]
    assert roots(scopes) == [
        Scope(user_id="u"),
        Scope(agent_id="a"),
        Scope(user_id="v", run_id="r"),
        Scope(user_id="u", tenant="t2", agent_id="a"),
    ]


def test_the_checksum_ignores_history_ids_only() -> None:
    item = {"type": "memory", "record": {"id": "a", "text": "x"}, "versions": [],
            "history": [{"id": 1, "op": "ADD"}], "vector": [0.5]}  # fmt: skip
    assert item_digest(item) == item_digest({**item, "history": [{"id": 9, "op": "ADD"}]})
    assert item_digest(item) != item_digest({**item, "vector": [0.25]})
    assert item_digest(item) != item_digest({**item, "history": [{"id": 1, "op": "UPDATE"}]})


def test_the_checksum_covers_links_graph_and_status() -> None:
    item = {"type": "memory", "record": {"id": "a", "text": "x"}, "versions": [], "history": []}
    link = {"target": "b", "kind": "related", "score": 0.5, "at": None}
    graph = {"entities": [{"key": "ada", "name": "Ada"}], "relations": []}
    digests = {item_digest(item), item_digest({**item, "links": [link]}),
               item_digest({**item, "links": [{**link, "kind": "supersedes"}]}),
               item_digest({**item, "graph": graph})}  # fmt: skip
    assert len(digests) == 4
    assert item_digest({**item, "links": [], "graph": None}) == item_digest(item)
    message = {"type": "message", "message": {"id": "m1", "text": "x"}}
    status = {"status": "done", "attempts": 1, "prompt_version": None, "error": None, "at": "t"}
    assert item_digest(message) != item_digest({**message, "status": status})
    assert item_digest({**message, "status": status}) != item_digest(
        {**message, "status": {**status, "attempts": 2}}
    )


def test_what_feedback_taught_is_copied_and_a_targets_own_is_kept(tmp_path: Path) -> None:
    source_path, target_path = tmp_path / "a.db", tmp_path / "b.db"
    texts = ["I live in Porto", "Porto has the best custard tarts", "I walk to work in Porto"]
    with Memory(source_path, embedder="hashing") as mem:
        mem.add(texts, user_id="ada")
        mem.add("notes of the helper agent", user_id="ada", agent_id="helper")
        found = mem.search("Porto", user_id="ada")
        taught = mem.feedback(found.search_id, [found[-1].id], user_id="ada")
        assert taught.pairs > 0
        learned = {k: mem.store.get_setting(k) for k in setting_keys(Scope(user_id="ada"))}
        order = [h.id for h in mem.search("Porto", user_id="ada")]
    assert all(learned.values())

    source, target = open_store(source_path), open_store(target_path)
    try:
        report = migrate(source, target)
        assert report.ok and report.learned_models_copied == 2
        assert {k: target.get_setting(k) for k in learned} == learned
        assert migrate(source, target).learned_models_copied == 0  # there already
    finally:
        source.close()
        target.close()
    with Memory(target_path, embedder="hashing") as mem:
        assert [h.id for h in mem.search("Porto", user_id="ada")] == order

    # A target that learned a model of its own keeps it; a partial copy leaves the tenant's
    # model alone and brings only the models of the scopes it copies.
    other = tmp_path / "c.db"
    with Memory(other, embedder="hashing") as mem:
        mem.store.put_setting(setting_keys(Scope(user_id="ada"))[1], "{}")
    source, target = open_store(source_path), open_store(other)
    try:
        report = migrate(source, target, only={"user_id": "ada"})
        assert report.learned_models_copied == 0
        assert target.get_setting(setting_keys(Scope(user_id="ada"))[1]) == "{}"
        assert target.get_setting(setting_keys(Scope(user_id="ada"))[0]) is None
    finally:
        source.close()
        target.close()


def test_who_a_scope_knows_its_profile_and_its_rules_come_along(tmp_path: Path) -> None:
    source_path, target_path = tmp_path / "a.db", tmp_path / "b.db"
    chat = [
        {"id": "1", "speaker": "elise", "text": "hey Kate! I'm allergic to cats"},
        {"id": "2", "speaker": "Emi", "text": "I moved to Lisbon, kayaking every weekend"},
        {"id": "3", "speaker": "elise", "text": "night Kate"},
    ]
    with Memory(source_path, embedder="hashing") as mem:
        mem.add(chat, user_id="ada")
        mem.add(chat, user_id="bo", agent_id="helper")
        mem.set_extraction({"instructions": "Only what Emi plans."}, user_id="ada")
        # rules given to a scope that holds nothing yet, in another tenant too
        mem.set_extraction({"instructions": "Only trips."}, user_id="cy")
        empty = mem.extraction(user_id="cy")
        expected = {
            (user, agent): (mem.people(**scope), mem.profile(**scope), mem.extraction(**scope))
            for user, agent in (("ada", None), ("bo", "helper"))
            for scope in [{"user_id": user, "agent_id": agent}]
        }
        hits = [h.id for h in mem.search("Where does Kate live?", user_id="ada")]
    with Memory(source_path, embedder="hashing", tenant="acme") as mem:
        mem.set_extraction({"instructions": "Nothing."}, user_id="cy")
        quiet = mem.extraction(user_id="cy")
    assert all(people and profile.profiles for people, profile, _ in expected.values())

    source, target = open_store(source_path), open_store(target_path)
    try:
        report = migrate(source, target)
        assert report.ok and report.scope_settings_copied > 0
        assert migrate(source, target).scope_settings_copied == 0  # there already
    finally:
        source.close()
        target.close()
    with Memory(target_path, embedder="hashing") as mem:
        for (user, agent), (people, profile, rules) in expected.items():
            assert mem.people(user_id=user, agent_id=agent) == people
            assert mem.profile(user_id=user, agent_id=agent) == profile
            assert mem.extraction(user_id=user, agent_id=agent) == rules
        assert [h.id for h in mem.search("Where does Kate live?", user_id="ada")] == hits
        assert mem.extraction(user_id="cy") == empty is not None
    with Memory(target_path, embedder="hashing", tenant="acme") as mem:
        assert mem.extraction(user_id="cy") == quiet is not None
