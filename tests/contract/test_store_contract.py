"""The Store contract: one set of tests, run on SQLite and on PostgreSQL (see conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from memstrata.errors import ConflictError, InvalidInputError, NotFoundError
from memstrata.ports import ApiKey, Entity, Link, Store, Triple
from memstrata.types import Filters, MemoryRecord, Message, Scope

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
#: The time of the changes after the adds (stores stamp changes with the time they are given).
LATER = T0 + timedelta(minutes=1)
U = Scope(user_id="u")
ALL_STATES = Filters(states=("active", "archived", "deleted"))
Opener = Callable[[str], Store]  # the open_backend fixture


def rec(memory_id: str, text: str, scope: Scope = U, **fields: Any) -> MemoryRecord:
    fields.setdefault("kind", "fact")
    fields.setdefault("recorded_at", T0)
    return MemoryRecord(id=memory_id, scope=scope, text=text, **fields)


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def ids(records: Any) -> list[str]:
    return [r.id if isinstance(r, MemoryRecord) else r[0].id for r in records]


def add(store: Store, *records: MemoryRecord, vectors: list[np.ndarray] | None = None) -> None:
    store.add([], list(records), vectors=None if vectors is None else np.stack(vectors), at=T0)


# -- add / get ------------------------------------------------------------------------------------
def test_a_record_round_trips_every_field(store: Store) -> None:
    full = rec(
        "r1",
        "Ada moved to Lisbon in May",
        scope=Scope(user_id="u", agent_id="a", run_id="r"),
        kind="episode",
        sources=("m1", "m2"),
        keys=("lisbon", "move"),
        entities=("Ada", "Lisbon"),
        actor="Ada",
        subject="Ada",
        valid_from=T0 - timedelta(days=30),
        valid_to=T0 + timedelta(days=1, microseconds=7),
        expired_at=T0 + timedelta(hours=1),
        supersedes="r0",
        state="archived",
        importance=0.25,
        strength=2.5,
        recall_count=3,
        last_recalled=T0 + timedelta(seconds=1),
        layer="mid",
        metadata={"channel": "chat", "n": 2, "ok": True, "none": None, "nested": {"a": [1, "x"]}},
    )
    store.add([], [full], at=T0)
    assert store.get(full.scope, "r1") == full
    assert store.get(U, "r1") == full  # a scope matches every memory whose given fields are equal
    assert store.get(Scope(agent_id="a"), "r1") == full


def test_get_many_keeps_the_order_asked_and_skips_what_is_missing(store: Store) -> None:
    add(store, rec("a", "one"), rec("b", "two"), rec("c", "three", scope=Scope(user_id="v")))
    assert ids(store.get_many(U, ["b", "zz", "a", "c"])) == ["b", "a"]
    assert store.get_many(U, []) == []


def test_add_is_all_or_nothing_and_a_duplicate_id_is_a_conflict(store: Store) -> None:
    add(store, rec("a", "one"))
    with pytest.raises(ConflictError):
        store.add(
            [(U, Message(id="m9", text="hello"))], [rec("b", "two"), rec("a", "again")], at=T0
        )
    assert store.get_many(U, ["a", "b"]) == [rec("a", "one")]
    assert store.known_messages(U, ["m9"]) == set()
    other_tenant = Scope(user_id="u", tenant="t2")
    with pytest.raises(ConflictError):  # ids are unique within a tenant, whatever the user
        add(store, rec("a", "another user", scope=Scope(user_id="v")))
    add(store, rec("a", "another tenant", scope=other_tenant))
    assert store.get(other_tenant, "a").text == "another tenant"


def test_one_vector_is_needed_for_each_record(store: Store) -> None:
    with pytest.raises(InvalidInputError):
        store.add([], [rec("a", "one"), rec("b", "two")], vectors=np.stack([unit(1, 0)]), at=T0)


# -- messages -------------------------------------------------------------------------------------
def test_messages_are_known_by_exact_scope_and_read_by_scope(store: Store) -> None:
    ua = Scope(user_id="u", agent_id="a")
    first = Message(id="m1", text="hi", role="user", speaker="Ada", timestamp=T0,
                    metadata={"lang": "en"})  # fmt: skip
    store.add([(ua, first), (U, Message(id="m2", text="there"))], [], at=T0)
    assert store.known_messages(ua, ["m1", "m2", "m3"]) == {"m1"}
    assert store.known_messages(U, ["m1", "m2"]) == {"m2"}
    assert store.known_messages(Scope(user_id="u", tenant="t2"), ["m1", "m2"]) == set()
    assert store.get_messages(ua, ["m1"]) == [first]
    assert [m.id for m in store.get_messages(U, ["m2", "m1"])] == ["m1", "m2"]  # stored order
    assert store.get_messages(Scope(user_id="v"), ["m1", "m2"]) == []
    assert store.get_messages(U, []) == []


def test_a_message_stored_twice_in_one_scope_is_a_conflict(store: Store) -> None:
    store.add([(U, Message(id="m1", text="hi"))], [], at=T0)
    with pytest.raises(ConflictError):
        store.add([(U, Message(id="m1", text="hi again"))], [rec("a", "kept?")], at=T0)
    assert store.get_many(U, ["a"]) == []
    store.add([(Scope(user_id="u", run_id="r"), Message(id="m1", text="another run"))], [], at=T0)


# -- update, versions, history --------------------------------------------------------------------
def test_update_writes_a_new_version_and_keeps_the_old(store: Store) -> None:
    add(store, rec("a", "I live in Paris"))
    new = store.update(
        U,
        replace(rec("a", "I live in Lisbon"), metadata={"k": 1}),
        expected_version=1,
        reason="moved",
        prompt_version="p1",
        at=LATER,
    )
    assert (new.version, new.text, dict(new.metadata)) == (2, "I live in Lisbon", {"k": 1})
    assert new.recorded_at == LATER
    assert store.get(U, "a") == new
    versions = store.versions(U, "a")
    assert [(v.version, v.text) for v in versions] == [
        (1, "I live in Paris"),
        (2, "I live in Lisbon"),
    ]
    assert (versions[0].recorded_at, versions[0].expired_at) == (T0, LATER)
    events = store.history(U, "a")
    assert [(e.op, e.version, e.text, e.previous_text) for e in events] == [
        ("ADD", 1, "I live in Paris", None),
        ("UPDATE", 2, "I live in Lisbon", "I live in Paris"),
    ]
    assert (events[1].reason, events[1].prompt_version) == ("moved", "p1")
    assert [e.at for e in events] == [T0, LATER]


def test_a_memory_without_a_user_changes_like_any_other(store: Store) -> None:
    agent = Scope(agent_id="helper")
    add(store, rec("a", "first", scope=agent))
    assert store.update(agent, rec("a", "second"), expected_version=1, at=LATER).version == 2
    assert [v.text for v in store.versions(agent, "a")] == ["first", "second"]
    assert store.set_state(agent, "a", "archived", at=LATER).state == "archived"
    assert store.get(agent, "a").text == "second"
    assert [e.op for e in store.history(agent, "a")] == ["ADD", "UPDATE", "ARCHIVE"]
    store.purge(agent, "a")
    assert store.get_many(agent, ["a"]) == [] and store.exact_scopes() == []


def test_a_stale_version_is_a_conflict_and_changes_nothing(store: Store) -> None:
    add(store, rec("a", "one"))
    store.update(U, rec("a", "two"), expected_version=1, at=LATER)
    with pytest.raises(ConflictError):
        store.update(U, rec("a", "three"), expected_version=1, at=LATER)
    assert store.get(U, "a").text == "two"
    assert len(store.versions(U, "a")) == 2
    assert [e.op for e in store.history(U, "a")] == ["ADD", "UPDATE"]


def test_update_with_an_op_and_a_vector(store: Store) -> None:
    add(store, rec("a", "one"), rec("b", "two"), vectors=[unit(1, 0), unit(0, 1)])
    store.update(U, rec("a", "one, moved"), expected_version=1, op="INVALIDATE",
                 vector=unit(0, 1), at=LATER)  # fmt: skip
    assert store.history(U, "a")[-1].op == "INVALIDATE"
    hits = store.vector_search(U, unit(0, 1), Filters(), limit=2)
    assert [round(score, 4) for _, score in hits] == [1.0, 1.0]
    store.update(U, rec("b", "two, text only"), expected_version=1, at=LATER)  # the vector is kept
    assert {r.id for r, _ in store.vector_search(U, unit(0, 1), Filters(), limit=5)} == {"a", "b"}


# -- system time ----------------------------------------------------------------------------------
def test_every_change_is_stamped_with_the_time_it_is_given(store: Store) -> None:
    minute = timedelta(minutes=1)
    add(store, rec("a", "one"), rec("b", "two"))
    store.update(U, rec("a", "one, changed"), at=T0 + minute, expected_version=1)
    store.set_state(U, "a", "archived", at=T0 + 2 * minute)
    store.add_event(U, "a", "NOOP", at=T0 + 3 * minute)
    store.add_links(U, [Link("a", "b"), Link("b", "a", at=T0)], at=T0 + 4 * minute)
    assert [(e.op, e.at) for e in store.history(U, "a")] == [
        ("ADD", T0), ("UPDATE", T0 + minute), ("ARCHIVE", T0 + 2 * minute),
        ("NOOP", T0 + 3 * minute),
    ]  # fmt: skip
    old, new = store.versions(U, "a")
    assert (old.recorded_at, old.expired_at, new.recorded_at) == (T0, T0 + minute, T0 + minute)
    assert {(x.source, x.at) for x in store.links(U, "a")} == {
        ("a", T0 + 4 * minute), ("b", T0),
    }  # fmt: skip


def test_a_change_is_never_recorded_before_the_last_change_of_its_memory(store: Store) -> None:
    """A clock that steps back is held at the memory's latest change, so its versions and
    history stay in time order."""
    hour = timedelta(hours=1)
    add(store, rec("a", "one"))
    store.set_state(U, "a", "archived", at=T0 + hour)
    changed = replace(store.get(U, "a"), text="one, changed")
    new = store.update(U, changed, at=T0 - hour, expected_version=1)
    assert new.recorded_at == T0 + hour
    store.set_state(U, "a", "active", at=T0 - 2 * hour)
    store.add_event(U, "a", "NOOP", at=T0)
    assert [e.at for e in store.history(U, "a")] == [T0] + [T0 + hour] * 4
    old, current = store.versions(U, "a")
    assert (old.recorded_at, old.expired_at, current.recorded_at) == (T0, T0 + hour, T0 + hour)


def test_a_retired_version_never_expires_before_it_is_recorded(store: Store) -> None:
    minute = timedelta(minutes=1)
    add(store, rec("a", "Ana lives in Porto", valid_from=T0 - 100 * minute))
    retired = replace(store.get(U, "a"), valid_to=T0 - minute, expired_at=T0 + minute)
    store.update(U, retired, at=T0 + minute, expected_version=1, op="INVALIDATE")
    # a later change (a typo fixed) keeps the fact retired, from its own recording on
    fixed = replace(store.get(U, "a"), text="Ana lived in Porto")
    store.update(U, fixed, at=T0 + 2 * minute, expected_version=2)
    versions = store.versions(U, "a")
    assert [(v.recorded_at, v.expired_at) for v in versions] == [
        (T0, T0 + minute), (T0 + minute, T0 + minute), (T0 + 2 * minute, T0 + 2 * minute),
    ]  # fmt: skip
    assert all(v.valid_to == T0 - minute for v in versions[1:])


def test_valid_to_before_valid_from_is_invalid_input_and_writes_nothing(store: Store) -> None:
    day = timedelta(days=1)
    with pytest.raises(InvalidInputError, match="valid_to"):
        add(store, rec("a", "one", valid_from=T0, valid_to=T0 - day))
    with pytest.raises(InvalidInputError, match="expired_at"):
        add(store, rec("b", "two", expired_at=T0 - day))
    assert store.get_many(U, ["a", "b"]) == []
    add(store, rec("c", "three", valid_from=T0))
    with pytest.raises(InvalidInputError, match="valid_to"):
        store.update(U, rec("c", "three", valid_from=T0, valid_to=T0 - day), at=LATER,
                     expected_version=1)  # fmt: skip
    assert [v.version for v in store.versions(U, "c")] == [1]
    assert [e.op for e in store.history(U, "c")] == ["ADD"]


# -- states, purge, reset -------------------------------------------------------------------------
def test_soft_states_are_recorded_and_reversible(store: Store) -> None:
    add(store, rec("a", "one"), rec("b", "two"))
    deleted = store.set_state(U, "a", "deleted", reason="wrong", at=LATER)
    assert (deleted.state, deleted.version) == ("deleted", 1)
    assert store.set_state(U, "a", "deleted", at=LATER) == deleted  # no change, no history row
    assert ids(store.list(U, Filters()).records) == ["b"]
    assert ids(store.list(U, ALL_STATES).records) == ["b", "a"]
    store.set_state(U, "a", "archived", at=LATER)
    store.set_state(U, "a", "active", at=LATER)
    events = store.history(U, "a")
    assert [(e.op, e.state, e.version) for e in events] == [
        ("ADD", "active", 1),
        ("DELETE", "deleted", 1),
        ("ARCHIVE", "archived", 1),
        ("RESTORE", "active", 1),
    ]
    assert events[1].reason == "wrong"
    with pytest.raises(NotFoundError):
        store.set_state(Scope(user_id="v"), "a", "deleted", at=LATER)


def test_purge_erases_a_memory_its_versions_and_its_history(store: Store) -> None:
    add(store, rec("a", "one"), rec("b", "two"))
    store.update(U, rec("a", "one more"), expected_version=1, at=LATER)
    with pytest.raises(NotFoundError):
        store.purge(Scope(user_id="v"), "a")
    store.purge(U, "a")
    for read in (store.get, store.versions, store.history):
        with pytest.raises(NotFoundError):
            read(U, "a")
    assert ids(store.list(U, ALL_STATES).records) == ["b"]
    add(store, rec("a", "a new memory may take the id"))
    assert [e.op for e in store.history(U, "a")] == ["ADD"]


def test_reset_erases_one_scope_and_nothing_else(store: Store) -> None:
    ua = Scope(user_id="u", agent_id="a")
    others = [Scope(user_id="v"), Scope(user_id="u", tenant="t2")]
    store.add([(ua, Message(id="m1", text="x")), (U, Message(id="m2", text="y"))],
              [rec("a", "one", scope=ua), rec("b", "two")], at=T0)  # fmt: skip
    for i, scope in enumerate(others):
        store.add([(scope, Message(id="m1", text="x"))], [rec(f"o{i}", "kept", scope=scope)], at=T0)
    store.update(ua, rec("a", "one more", scope=ua), expected_version=1, at=LATER)
    assert store.reset(ua) == 1
    assert ids(store.list(U, ALL_STATES).records) == ["b"]
    assert store.known_messages(ua, ["m1"]) == set()
    assert store.known_messages(U, ["m2"]) == {"m2"}
    assert store.reset(U) == 1
    for i, scope in enumerate(others):
        assert store.get(scope, f"o{i}").text == "kept"
        assert store.known_messages(scope, ["m1"]) == {"m1"}
    assert store.reset(U) == 0


def test_touch_counts_recalls_without_a_new_version(store: Store) -> None:
    add(store, rec("a", "one"), rec("b", "two"), rec("c", "three", scope=Scope(user_id="v")))
    at = T0 + timedelta(days=1)
    store.touch(U, ["a", "c"], at)
    store.touch(U, ["a"], at + timedelta(seconds=1))
    store.touch(U, [], at)
    a, b = store.get_many(U, ["a", "b"])
    assert (a.recall_count, a.last_recalled, a.version) == (2, at + timedelta(seconds=1), 1)
    assert (b.recall_count, b.last_recalled) == (0, None)
    assert store.get(Scope(user_id="v"), "c").recall_count == 0
    assert [e.op for e in store.history(U, "a")] == ["ADD"]


def test_set_lifecycle_writes_bookkeeping_only(store: Store) -> None:
    add(store, rec("a", "one"), rec("c", "three", scope=Scope(user_id="v")))
    at = T0 + timedelta(days=2)
    changed = replace(rec("a", "ignored text"), strength=4.0, recall_count=7, last_recalled=at,
                      layer="long")  # fmt: skip
    store.set_lifecycle(U, [changed, replace(rec("c", "x"), strength=9.0)])
    a = store.get(U, "a")
    assert (a.text, a.strength, a.recall_count, a.last_recalled, a.layer, a.version) == (
        "one", 4.0, 7, at, "long", 1,
    )  # fmt: skip
    assert store.get(Scope(user_id="v"), "c").strength == 1.0
    assert [e.op for e in store.history(U, "a")] == ["ADD"]


# -- scope isolation ------------------------------------------------------------------------------
def test_every_read_and_write_is_confined_to_its_scope(store: Store) -> None:
    theirs = Scope(user_id="u", tenant="t2")
    add(store, rec("a", "mine"), rec("x", "theirs", scope=theirs))
    strangers = [Scope(user_id="v"), Scope(user_id="u", agent_id="a"), Scope(user_id="u",
                 tenant="t3")]  # fmt: skip
    for scope in [*strangers, U]:
        with pytest.raises(NotFoundError):
            store.get(scope, "x")
        with pytest.raises(NotFoundError):
            store.update(scope, rec("x", "hijack", scope=scope), expected_version=1, at=LATER)
        with pytest.raises(NotFoundError):
            store.purge(scope, "x")
        with pytest.raises(NotFoundError):
            store.versions(scope, "x")
        with pytest.raises(NotFoundError):
            store.history(scope, "x")
        assert store.get_many(scope, ["x"]) == []
    assert store.get(theirs, "x").text == "theirs"
    for scope in strangers:
        with pytest.raises(NotFoundError):
            store.get(scope, "a")
        assert store.list(scope, ALL_STATES).records == ()
        assert store.keyword_search(scope, "mine theirs", Filters(), limit=5) == []


# -- listing --------------------------------------------------------------------------------------
def test_list_pages_newest_first(store: Store) -> None:
    for i in range(7):
        add(store, rec(f"r{i}", f"memory {i}"))
    seen: list[str] = []
    cursor = None
    sizes = []
    while True:
        page = store.list(U, Filters(), limit=3, cursor=cursor)
        sizes.append(len(page.records))
        seen.extend(ids(page.records))
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sizes == [3, 3, 1]
    assert seen == [f"r{i}" for i in reversed(range(7))]
    with pytest.raises(InvalidInputError):
        store.list(U, Filters(), cursor="not a cursor")
    with pytest.raises(InvalidInputError):
        store.list(U, Filters(), limit=0)


def test_list_filters(store: Store) -> None:
    day = timedelta(days=1)
    add(
        store,
        rec("ep", "an episode", kind="episode", actor="Ada", metadata={"ch": "chat", "n": 1}),
        rec("f1", "a fact", valid_from=T0 - 10 * day, layer="long", metadata={"ok": True}),
        rec("f2", "another fact", recorded_at=T0 + 5 * day, metadata={"ok": False, "n": 2.5}),
        rec("gone", "deleted", state="deleted", actor="Ada", metadata={"ch": None}),
    )

    def found(**kw: Any) -> set[str]:
        return set(ids(store.list(U, Filters(**kw)).records))

    assert found() == {"ep", "f1", "f2"}
    assert found(kinds=("fact",)) == {"f1", "f2"}
    assert found(states=("deleted",)) == {"gone"}
    assert found(states=("active", "deleted"), actor="Ada") == {"ep", "gone"}
    assert found(layers=("long",)) == {"f1"}
    assert found(since=T0 - day) == {"ep", "f2"}  # event time, else recorded time
    assert found(until=T0) == {"ep", "f1"}
    assert found(since=T0 - 10 * day, until=T0 - 10 * day) == {"f1"}
    assert found(metadata={"ch": "chat"}) == {"ep"}
    assert found(metadata={"n": 1}) == {"ep"}
    assert found(metadata={"n": 2.5}) == {"f2"}
    assert found(metadata={"ok": True}) == {"f1"}
    assert found(metadata={"ok": False}) == {"f2"}
    assert found(metadata={"ch": None}) == {"f1", "f2"}  # missing keys count as null
    assert found(metadata={"ch": None}, states=("deleted",)) == {"gone"}  # so does null
    assert found(metadata={"ch": "chat", "n": 2.5}) == set()


def test_scopes_counts_memories_of_each_exact_scope(store: Store) -> None:
    ua = Scope(user_id="u", agent_id="a")
    add(store, rec("a", "one"), rec("b", "two", state="deleted"), rec("c", "three", scope=ua),
        rec("d", "four", scope=Scope(agent_id="a")), rec("t", "x", scope=Scope(user_id="u",
        tenant="t2")))  # fmt: skip
    assert store.scopes("default") == [
        {"user_id": None, "agent_id": "a", "run_id": None, "memories": 1, "active": 1,
         "last_recorded": T0},
        {"user_id": "u", "agent_id": None, "run_id": None, "memories": 2, "active": 1,
         "last_recorded": T0},
        {"user_id": "u", "agent_id": "a", "run_id": None, "memories": 1, "active": 1,
         "last_recorded": T0},
    ]  # fmt: skip
    assert store.scopes("nobody") == []


def test_exact_scopes_include_scopes_holding_only_messages(store: Store) -> None:
    add(store, rec("a", "one"), rec("t", "x", scope=Scope(user_id="u", tenant="t2")))
    store.add([(Scope(user_id="u", run_id="r"), Message(id="m", text="hi"))], [], at=T0)
    assert store.exact_scopes() == [
        Scope(user_id="u"),
        Scope(user_id="u", run_id="r"),
        Scope(user_id="u", tenant="t2"),
    ]
    assert store.exact_scopes("t2") == [Scope(user_id="u", tenant="t2")]


# -- search ---------------------------------------------------------------------------------------
def test_keyword_search_finds_any_word_and_ranks_the_best_match_first(store: Store) -> None:
    add(
        store,
        rec("both", "Ada adopted two cats in Lisbon"),
        rec("one", "Lisbon is sunny"),
        rec("none", "the weather is grey"),
        rec("keys", "nothing in the text", keys=("lisbon",)),
        rec("accent", "coffee at the Café Nicola"),
        rec("other", "cats in Lisbon", scope=Scope(user_id="v")),
    )
    hits = store.keyword_search(U, "cats in Lisbon?", Filters(), limit=10)
    assert ids(hits)[0] == "both"
    assert set(ids(hits)) == {"both", "one", "keys"}
    assert all(score > 0 for _, score in hits)
    assert ids(store.keyword_search(U, "cat", Filters(), limit=10)) == ["both"]  # stemmed
    assert ids(store.keyword_search(U, "cafe", Filters(), limit=10)) == ["accent"]  # folded
    assert len(store.keyword_search(U, "lisbon", Filters(), limit=2)) == 2
    assert store.keyword_search(U, "?!", Filters(), limit=10) == []
    assert store.keyword_search(U, 'lisbon" OR (x', Filters(), limit=10) != []  # no syntax


def test_keyword_search_finds_chinese_and_japanese_words_and_folds_accents(store: Store) -> None:
    add(
        store,
        rec("zh", "我上个月在杭州买了一台新的咖啡机"),
        rec("ja", "昨日、新しいカメラを買いました。猫の写真を撮りたい"),
        rec("fr", "Nous avons pris un café à São Paulo"),
        rec("other", "我喜欢喝茶"),
    )
    assert ids(store.keyword_search(U, "咖啡机在哪里买的", Filters(), limit=5))[0] == "zh"
    assert ids(store.keyword_search(U, "杭州", Filters(), limit=5)) == ["zh"]
    assert ids(store.keyword_search(U, "カメラ", Filters(), limit=5)) == ["ja"]
    assert ids(store.keyword_search(U, "猫", Filters(), limit=5)) == ["ja"]  # one character
    assert ids(store.keyword_search(U, "sao paulo cafe", Filters(), limit=5)) == ["fr"]
    assert ids(store.keyword_search(U, "Café", Filters(), limit=5)) == ["fr"]


def test_keyword_search_applies_filters(store: Store) -> None:
    add(store, rec("a", "Lisbon trip", kind="episode"), rec("b", "Lisbon flat"),
        rec("c", "Lisbon cafe", state="deleted"))  # fmt: skip
    assert ids(store.keyword_search(U, "lisbon", Filters(kinds=("episode",)), limit=5)) == ["a"]
    assert set(ids(store.keyword_search(U, "lisbon", Filters(), limit=5))) == {"a", "b"}
    deleted = Filters(states=("deleted",))
    assert ids(store.keyword_search(U, "lisbon", deleted, limit=5)) == ["c"]


def test_vector_search_is_exact_on_a_small_set(store: Store) -> None:
    rng = np.random.default_rng(7)
    vectors = [unit(*rng.normal(size=8)) for _ in range(30)]
    records = [rec(f"r{i:02}", f"memory {i}") for i in range(30)]
    add(store, *records, vectors=vectors)
    add(store, rec("novec", "no vector"))
    add(store, rec("far", "another user", scope=Scope(user_id="v")), vectors=[vectors[0]])
    query = unit(*rng.normal(size=8))
    # Exact over the vectors as the store keeps them (SQLite: in 16 bits).
    kept = {record.id: vector for record, vector in store.scan(U)}
    assert all(np.abs(kept[r.id] - v).max() < 1e-3 for r, v in zip(records, vectors, strict=True))
    vectors = [kept[r.id] for r in records]
    expected = sorted(range(30), key=lambda i: -float(vectors[i] @ query))[:10]
    hits = store.vector_search(U, query, Filters(), limit=10)
    assert ids(hits) == [f"r{i:02}" for i in expected]
    for (_, score), i in zip(hits, expected, strict=True):
        assert score == pytest.approx(float(vectors[i] @ query), abs=1e-5)
    assert len(store.vector_search(U, query, Filters(), limit=100)) == 30


def test_vector_search_applies_filters_and_scope(store: Store) -> None:
    add(
        store,
        rec("near", "near but deleted", state="deleted"),
        rec("mid", "a fact"),
        rec("ep", "an episode", kind="episode", metadata={"ch": "chat"}),
        vectors=[unit(1, 0, 0), unit(1, 1, 0), unit(1, 0, 1)],
    )
    add(store, rec("v", "other user", scope=Scope(user_id="v")), vectors=[unit(1, 0, 0)])
    query = unit(1, 0, 0)
    assert ids(store.vector_search(U, query, Filters(), limit=5)) in (["mid", "ep"], ["ep", "mid"])
    assert ids(store.vector_search(U, query, Filters(kinds=("episode",)), limit=5)) == ["ep"]
    assert ids(store.vector_search(U, query, Filters(metadata={"ch": "chat"}), limit=5)) == ["ep"]
    deleted = Filters(states=("deleted",))
    assert ids(store.vector_search(U, query, deleted, limit=5)) == ["near"]
    assert ids(store.vector_search(Scope(user_id="v"), query, Filters(), limit=5)) == ["v"]
    assert store.vector_search(Scope(user_id="w"), query, Filters(), limit=5) == []


def test_scan_reads_a_whole_scope_with_its_vectors(store: Store) -> None:
    add(store, rec("a", "one"), rec("b", "two", state="deleted"), vectors=[unit(1, 0), unit(0, 1)])
    add(store, rec("c", "no vector"), rec("v", "theirs", scope=Scope(user_id="v")))
    scanned = list(store.scan(U))
    assert [r.id for r, _ in scanned] == ["a", "b", "c"]
    assert scanned[1][0] == rec("b", "two", state="deleted")
    first, last = scanned[0][1], scanned[2][1]
    assert first is not None and first.dtype == np.float32
    assert first.tolist() == pytest.approx(unit(1, 0).tolist()) and last is None
    assert list(store.scan(Scope(user_id="w"))) == []


def test_the_stamp_changes_with_every_write(store: Store) -> None:
    seen = [store.stamp()]
    for write in (
        lambda: add(store, rec("a", "one")),
        lambda: store.update(U, rec("a", "two"), expected_version=1, at=LATER),
        lambda: store.set_state(U, "a", "archived", at=LATER),
        lambda: store.touch(U, ["a"], T0),
        lambda: store.purge(U, "a"),
    ):
        write()
        seen.append(store.stamp())
        assert seen[-1] != seen[-2]


def test_the_stamp_stays_for_writes_that_leave_memories_alone(store: Store) -> None:
    add(store, rec("a", "one"))
    before = store.stamp()
    store.save_search(U, "s1", T0, {"query": "q", "hits": []})
    store.put_setting("k", "v")
    store.prune_searches(T0)
    assert store.stamp() == before


def test_searches_and_counts_leave_the_stamp_alone(store: Store) -> None:
    add(store, rec("a", "Lisbon trip"), vectors=[unit(1, 0)])
    before = store.stamp()
    store.keyword_search(U, "lisbon", Filters(), limit=5)
    store.vector_search(U, unit(1, 0), Filters(), limit=5)
    store.count(U, Filters())
    assert store.stamp() == before


def test_counts_follow_every_write(store: Store) -> None:
    add(store, rec("a", "one"), rec("b", "two"))
    assert store.count(U, Filters()) == 2  # asked twice: the second may be remembered
    assert store.count(U, Filters()) == 2
    add(store, rec("c", "three"))
    assert store.count(U, Filters()) == 3
    store.set_state(U, "a", "deleted", at=LATER)
    assert store.count(U, Filters()) == 2
    assert store.count(U, Filters(states=("deleted",))) == 1
    store.purge(U, "b")
    assert store.count(U, Filters(states=())) == 2


def test_a_large_store_keeps_the_rare_word_of_a_common_query(store: Store) -> None:
    store.keyword_large = store.keyword_postings = 10  # type: ignore[attr-defined]
    add(store, *(rec(f"f{i}", f"my garden diary entry {i}") for i in range(30)),
        rec("beagle", "My beagle Rufus chewed the garden hose"))  # fmt: skip
    hits = store.keyword_search(U, "Did my beagle dig in the garden diary?", Filters(), limit=5)
    assert ids(hits) == ["beagle"]  # "garden", "diary" and "entry" match 30: left out
    # a query whose only matching word is common still finds what it matches
    hits = store.keyword_search(U, "what about a diary", Filters(), limit=5)
    assert len(hits) == 5 and set(ids(hits)) <= {f"f{i}" for i in range(30)}
    assert ids(store.keyword_search(U, "beagle garden", Filters(), limit=3)) == ["beagle"]
    add(store, *(rec(f"b{i}", f"beagle walk {i}") for i in range(40)))
    # the counts are taken again as the store grows: "garden" (31) is now the rarer word
    found = ids(store.keyword_search(U, "beagle garden", Filters(), limit=3))
    assert len(found) == 3 and not any(i.startswith("b") for i in found)


# -- export / import ------------------------------------------------------------------------------
def _history_without_ids(item: dict[str, Any]) -> dict[str, Any]:
    """An export item without its history rows' ids, its vector rounded to 16-bit precision
    (a SQLite store keeps vectors so: one imported from PostgreSQL is exported as kept)."""
    if item["type"] != "memory":
        return item
    out = {**item, "history": [{**h, "id": None} for h in item["history"]]}
    if item.get("vector") is not None:
        out["vector"] = np.asarray(item["vector"], np.float16).tolist()
    return out


def _fill(store: Store) -> None:
    ua = Scope(user_id="u", agent_id="a")
    store.add(
        [(U, Message(id="m1", text="I live in Paris", speaker="Ada", timestamp=T0,
                     metadata={"lang": "en"})),
         (ua, Message(id="m2", text="cat"))],
        [rec("a", "I live in Paris", sources=("m1",), metadata={"ch": "chat"}),
         rec("b", "a cat", scope=ua, sources=("m2",)), rec("c", "gone")],
        at=T0, vectors=np.stack([unit(1, 0), unit(0, 1), unit(1, 1)]),
    )  # fmt: skip
    store.update(U, rec("a", "I live in Lisbon", sources=("m1",)), expected_version=1,
                 reason="moved", at=LATER)  # fmt: skip
    store.set_state(U, "c", "deleted", at=LATER)
    store.add([(Scope(user_id="z"), Message(id="m3", text="not exported"))], [rec("z", "z",
              scope=Scope(user_id="z"))], at=T0)  # fmt: skip


@pytest.mark.parametrize("target_backend", ["sqlite", pytest.param("postgres",
                         marks=pytest.mark.postgres)])  # fmt: skip
def test_export_import_round_trip_within_and_across_backends(
    store: Store, open_backend: Opener, target_backend: str
) -> None:
    _fill(store)
    items = list(store.export(U, vectors=True))
    assert [i["type"] for i in items] == ["header", "message", "message", "memory", "memory",
                                          "memory"]  # fmt: skip
    assert items[0]["scope"] == {"user_id": "u"}
    assert items[3]["vector"] == pytest.approx(unit(1, 0).tolist())
    assert "vector" not in list(store.export(U))[3]
    target = open_backend(target_backend)
    assert target.import_("default", items, at=T0) == 3
    again = list(target.export(U, vectors=True))
    assert [_history_without_ids(i) for i in again] == [_history_without_ids(i) for i in items]
    assert target.get(U, "a") == store.get(U, "a")
    assert target.versions(U, "a") == store.versions(U, "a")
    assert ids(target.vector_search(U, unit(0, 1), Filters(), limit=1)) == ["b"]
    assert ids(target.keyword_search(U, "lisbon", Filters(), limit=5)) == ["a"]
    assert target.get_many(Scope(user_id="z"), ["z"]) == []
    with pytest.raises(ConflictError):  # all or nothing
        target.import_("default", [*items[:1], {"type": "memory", "record": rec("new",
                       "new").to_dict()}, *items[3:]], at=T0)  # fmt: skip
    assert target.get_many(U, ["new"]) == []
    assert target.import_("t2", items, at=T0) == 3  # another tenant is another id space
    assert target.get(Scope(user_id="u", tenant="t2"), "a").text == "I live in Lisbon"


def _fill_graph(store: Store) -> None:
    """Messages with and without a status; memories with links (one to a memory exported after
    it, one across scopes), entities and relations; and a memory of another scope."""
    ua = Scope(user_id="u", agent_id="a")
    store.add(
        [(U, Message(id="m1", text="Ada lives in Lisbon")), (ua, Message(id="m2", text="a cat")),
         (U, Message(id="m3", text="not tried yet")),
         (Scope(user_id="v"), Message(id="m4", text="theirs"))],
        [rec("a", "Ada lives in Lisbon", importance=0.9), rec("b", "Ada has a cat", scope=ua),
         rec("c", "Ada moved", importance=0.2), rec("x", "theirs", scope=Scope(user_id="v"))],
        at=T0,
    )  # fmt: skip
    store.mark_messages(U, ["m1"], "done", at=T0, prompt_version="p1")
    store.mark_messages(ua, ["m2"], "failed", at=T0, error="bad json")
    store.mark_messages(ua, ["m2"], "failed", at=T0 + timedelta(seconds=1), prompt_version="p2",
                        error="still bad")  # fmt: skip
    store.add_links(U, [Link("a", "b", "related", 0.75, T0), Link("a", "c", "related", 0.5, T0),
                        Link("c", "a", "supersedes", 0.25, T0 + timedelta(seconds=2))],
                    at=T0)  # fmt: skip
    store.put_graph(U, "a", [Entity("ada", "Ada"), Entity("lisbon", "Lisbon")],
                    [Triple("ada", "Ada", "lives_in", "lisbon", "Lisbon")])  # fmt: skip
    store.put_graph(ua, "b", [Entity("ada", "ADA"), Entity("cat", "cat")],
                    [Triple("ada", "Ada", "has", "cat", "cat")])  # fmt: skip
    store.put_graph(U, "c", [Entity("ada", "ada!")], [])  # the scope knows ada as "Ada"
    store.put_graph(Scope(user_id="v"), "x", [Entity("eve", "Eve")], [])


def _graph_view(store: Store) -> dict[str, Any]:
    """What the read path sees of links, the entity graph and message status under ``U``."""
    ua = Scope(user_id="u", agent_id="a")
    keys = ["ada", "lisbon", "cat", "eve"]
    return {
        "links": {m: store.links(U, m) for m in ("a", "b", "c")},
        "entities": (store.find_entities(U), store.find_entities(ua), store.find_entities(U, keys)),
        "relations": store.relations(U, keys),
        "search": [(r.id, s) for r, s in store.entity_search(U, {"ada": 1.0, "lisbon": 0.5},
                                                             Filters(), limit=5)],
        "pending": [(p.scope, p.message, p.status, p.attempts)
                    for p in store.pending_messages(U, include_failed=True)],
    }  # fmt: skip


@pytest.mark.parametrize("target_backend", ["sqlite", pytest.param("postgres",
                         marks=pytest.mark.postgres)])  # fmt: skip
def test_export_import_carries_links_graph_and_message_status(
    store: Store, open_backend: Opener, target_backend: str
) -> None:
    _fill_graph(store)
    items = list(store.export(U))
    by_id = {i.get("record", i.get("message", {})).get("id"): i for i in items[1:]}
    assert items[0]["format"] == 3
    assert by_id["m1"]["status"] == {"status": "done", "attempts": 1, "prompt_version": "p1",
                                     "error": None, "at": T0.isoformat()}  # fmt: skip
    assert by_id["m2"]["status"] == {"status": "failed", "attempts": 2, "prompt_version": "p2",
                                     "error": "still bad",
                                     "at": (T0 + timedelta(seconds=1)).isoformat()}  # fmt: skip
    assert "status" not in by_id["m3"] and "m4" not in by_id
    assert by_id["a"]["links"] == [
        {"target": "b", "kind": "related", "score": 0.75, "at": T0.isoformat()},
        {"target": "c", "kind": "related", "score": 0.5, "at": T0.isoformat()},
    ]
    assert by_id["a"]["graph"] == {
        "entities": [{"key": "ada", "name": "Ada"}, {"key": "lisbon", "name": "Lisbon"}],
        "relations": [{"subject_key": "ada", "subject": "Ada", "predicate": "lives_in",
                       "object_key": "lisbon", "object": "Lisbon"}],
    }  # fmt: skip
    assert by_id["b"]["graph"]["entities"] == [{"key": "ada", "name": "ADA"},
                                               {"key": "cat", "name": "cat"}]  # fmt: skip
    assert "links" not in by_id["b"]  # a link is exported once, with its source
    assert by_id["c"]["graph"] == {"entities": [{"key": "ada", "name": "Ada"}], "relations": []}
    before = _graph_view(store)
    assert before["pending"][0][2:] == ("failed", 2) and len(before["relations"]) == 2

    target = open_backend(target_backend)
    assert target.import_("default", items, at=T0) == 3
    assert _graph_view(target) == before
    assert [_history_without_ids(i) for i in target.export(U)] == [
        _history_without_ids(i) for i in items
    ]
    assert target.find_entities(Scope(user_id="v")) == []
    target.mark_messages(Scope(user_id="u", agent_id="a"), ["m2"], "done", at=T0)
    assert [p.message.id for p in target.pending_messages(U, include_failed=True)] == ["m3"]


def test_a_link_is_kept_until_its_other_end_is_imported(store: Store) -> None:
    _fill_graph(store)
    items = list(store.export(U))
    first = [i for i in items if i["type"] != "memory" or i["record"]["id"] == "a"]
    store.reset(U)
    assert store.import_("default", first, at=T0) == 1
    assert store.links(U, "a") == []  # b and c are not here yet
    assert [i.get("links") for i in store.export(U) if i["type"] == "memory"] == [
        items[4]["links"]
    ]  # written all the same, so a resumed migration finds "a" as the source has it
    assert store.import_("default", [i for i in items if i not in first], at=T0) == 2
    assert [(x.source, x.target) for x in store.links(U, "a")] == [("a", "b"), ("a", "c"),
                                                                   ("c", "a")]  # fmt: skip
    assert store.find_entities(U, ["lisbon"]) == [Entity("lisbon", "Lisbon", 1)]


def test_a_failed_import_writes_no_status_link_or_graph(store: Store) -> None:
    _fill_graph(store)
    items = list(store.export(U))
    store.reset(U)
    clash = {"type": "memory", "record": rec("x", "x again", scope=Scope(user_id="v")).to_dict()}
    with pytest.raises(ConflictError):
        store.import_("default", [*items, clash], at=T0)
    assert store.pending_messages(U, include_failed=True) == []
    assert store.find_entities(U) == [] and store.get_many(U, ["a"]) == []
    store.import_("default", items, at=T0)
    assert store.links(U, "b") == [Link("a", "b", "related", 0.75, T0)]


def test_an_imported_setting_is_written_where_none_is_held_with_the_import(store: Store) -> None:
    store.put_settings({"held": "mine", "cleared": ""})
    values = {"held": "theirs", "cleared": "theirs", "new": "theirs"}
    settings = {"type": "settings", "values": values}
    clash = {"type": "memory", "record": rec("a", "again").to_dict()}
    store.import_("default", [{"type": "memory", "record": rec("a", "one").to_dict()}], at=T0)
    with pytest.raises(ConflictError):
        store.import_("default", [settings, clash], at=T0)
    assert [store.get_setting(k) for k in values] == ["mine", "", None]  # all or nothing
    store.import_("default", [settings], at=T0)
    assert [store.get_setting(k) for k in values] == ["mine", "theirs", "theirs"]


def test_items_of_export_format_1_still_import(store: Store) -> None:
    old = [
        {"type": "header", "format": 1, "scope": {"user_id": "u"}},
        {"type": "message", "message": {"id": "m1", "user_id": "u", "agent_id": None,
                                        "run_id": None, "role": "user", "speaker": None,
                                        "text": "hello", "timestamp": None, "metadata": {}}},
        {"type": "memory", "record": rec("a", "hello", sources=("m1",)).to_dict(),
         "versions": [], "history": [{"memory_id": "a", "version": 1, "op": "ADD",
                                      "at": T0.isoformat(), "text": "hello"}]},
    ]  # fmt: skip
    assert store.import_("default", old, at=T0) == 1
    assert store.get(U, "a").text == "hello"
    assert [(p.message.id, p.status) for p in store.pending_messages(U)] == [("m1", "new")]
    assert store.links(U, "a") == [] and store.find_entities(U) == []
    assert [set(i) for i in store.export(U)][1:] == [
        {"type", "message"}, {"type", "record", "versions", "history"}
    ]  # fmt: skip


def test_malformed_links_graph_or_status_are_invalid_input(store: Store) -> None:
    memory = {"type": "memory", "record": rec("a", "one").to_dict()}
    message = {"type": "message", "message": {"id": "m1", "user_id": "u", "text": "one"}}
    for item in (
        {**memory, "links": [{"target": "", "kind": "related"}]},
        {**memory, "links": [{"target": "b", "kind": "related", "score": "high"}]},
        {**memory, "links": {"target": "b"}},
        {**memory, "graph": {"entities": [{"name": "no key"}]}},
        {**memory, "graph": {"relations": [{"subject_key": "a", "predicate": "p"}]}},
        {**message, "status": {"status": "maybe", "at": T0.isoformat()}},
        {**message, "status": {"status": "done"}},
        {**message, "status": {"status": "done", "attempts": -1, "at": T0.isoformat()}},
    ):
        with pytest.raises(InvalidInputError):
            store.import_("default", [item], at=T0)
    assert store.get_many(U, ["a"]) == [] and store.pending_messages(U) == []


# -- searches and settings ------------------------------------------------------------------------
def test_searches_and_settings(store: Store) -> None:
    ua = Scope(user_id="u", agent_id="a")
    store.save_search(ua, "s1", T0, {"ids": ["a", "b"], "features": [[0.5, 1.0]]})
    store.save_search(U, "s2", T0 + timedelta(days=2), {"ids": []})
    assert store.load_search(ua, "s1") == {"ids": ["a", "b"], "features": [[0.5, 1.0]]}
    assert store.load_search(U, "s1") is not None
    assert store.load_search(Scope(user_id="v"), "s1") is None
    assert store.load_search(Scope(user_id="u", agent_id="b"), "s1") is None
    assert store.prune_searches(T0 + timedelta(days=1)) == 1
    assert store.load_search(U, "s1") is None and store.load_search(U, "s2") is not None
    # At most ``limit`` at a time, the oldest first.
    for i in range(5):
        store.save_search(U, f"old{i}", T0 - timedelta(days=5 - i), {"ids": []})
    assert store.prune_searches(T0, limit=2) == 2
    assert [store.load_search(U, f"old{i}") is None for i in range(5)] == [True] * 2 + [False] * 3
    assert store.prune_searches(T0, limit=10) == 3
    assert store.load_search(U, "s2") is not None
    assert store.get_setting("k") is None
    store.put_setting("k", "v1")
    store.put_setting("k", "v2")
    assert store.get_setting("k") == "v2"
    store.put_settings({"k": "v3", "k2": "w", "k3": ""})
    assert [store.get_setting(k) for k in ("k", "k2", "k3")] == ["v3", "w", ""]
    store.put_settings({})
    assert store.get_setting("k") == "v3"
    # Found by what their keys begin with, sorted; "_" and "%" are no wildcards.
    store.put_settings({"rules:b": "1", "rules:a\u00e9": "2", "rulesX": "3", "r_les:c": "4"})
    assert store.setting_names("rules:") == ["rules:a\u00e9", "rules:b"]
    assert store.setting_names("r_les") == ["r_les:c"]
    assert store.setting_names("rules%") == []


# -- the LLM write path: events, message status, links, entity graph, as_of ---------------------
def test_add_event_writes_history_without_a_new_version(store: Store) -> None:
    add(store, rec("a", "one"))
    store.set_state(U, "a", "archived", at=LATER)
    event = store.add_event(U, "a", "NOOP", at=T0, reason="restated", prompt_version="p2",
                            text="one, again")  # fmt: skip
    assert (event.version, event.state, event.op, event.reason) == (1, "archived", "NOOP",
                                                                   "restated")  # fmt: skip
    assert isinstance(event.id, int)
    assert store.history(U, "a")[-1] == event
    assert store.get(U, "a").version == 1
    with pytest.raises(NotFoundError):
        store.add_event(Scope(user_id="v"), "a", "NOOP", at=T0)


def test_pending_messages_follow_their_status(store: Store) -> None:
    ua = Scope(user_id="u", agent_id="a")
    store.add([(U, Message(id="m1", text="one", timestamp=T0)), (ua, Message(id="m2", text="two")),
               (Scope(user_id="v"), Message(id="m3", text="three"))], [], at=T0)  # fmt: skip
    pending = store.pending_messages(U)
    assert [(p.message.id, p.scope, p.status, p.attempts) for p in pending] == [
        ("m1", U, "new", 0), ("m2", ua, "new", 0),
    ]  # fmt: skip
    assert pending[0].message == Message(id="m1", text="one", timestamp=T0)
    assert [p.message.id for p in store.pending_messages(U, exact=True)] == ["m1"]
    assert [p.message.id for p in store.pending_messages(U, limit=1)] == ["m1"]
    store.mark_messages(ua, ["m2", "m2"], "failed", at=T0, error="bad json")
    store.mark_messages(U, ["m2"], "done", at=T0)  # not stored under exactly U: no effect on m2
    assert [p.message.id for p in store.pending_messages(U)] == ["m1"]
    store.mark_messages(ua, ["m2"], "failed", at=T0, prompt_version="p1")
    failed = store.pending_messages(U, include_failed=True)
    assert [(p.message.id, p.status, p.attempts) for p in failed] == [
        ("m1", "new", 0),
        ("m2", "failed", 2),
    ]
    store.mark_messages(U, ["m1"], "done", at=T0)
    store.mark_messages(ua, ["m2"], "done", at=T0)
    assert store.pending_messages(U, include_failed=True) == []
    with pytest.raises(InvalidInputError):
        store.mark_messages(U, ["m1"], "maybe", at=T0)  # type: ignore[arg-type]
    store.reset(ua)
    store.add([(ua, Message(id="m2", text="two, again"))], [], at=T0)
    assert [p.message.id for p in store.pending_messages(ua)] == ["m2"]  # status went with reset


def test_links_join_memories_of_one_scope(store: Store) -> None:
    add(store, rec("a", "one"), rec("b", "two"), rec("c", "three"),
        rec("x", "theirs", scope=Scope(user_id="v")))  # fmt: skip
    at = T0 + timedelta(seconds=1)
    store.add_links(
        U,
        [
            Link("a", "b", "related", 0.75, T0),
            Link("c", "a", "supersedes", 0.5, at),
            Link("a", "x", "related", 0.9, T0),  # x is not in the scope: skipped
            Link("a", "b", "related", 0.1, at),  # already there: skipped
        ],
        at=T0,
    )
    assert store.links(U, "a") == [Link("a", "b", "related", 0.75, T0),
                                   Link("c", "a", "supersedes", 0.5, at)]  # fmt: skip
    assert store.links(U, "b") == [Link("a", "b", "related", 0.75, T0)]
    assert store.links(Scope(user_id="v"), "x") == []
    with pytest.raises(NotFoundError):
        store.links(Scope(user_id="v"), "a")
    store.purge(U, "b")
    assert store.links(U, "a") == [Link("c", "a", "supersedes", 0.5, at)]
    store.add_links(U, [], at=T0)


def test_the_entity_graph(store: Store) -> None:
    ua = Scope(user_id="u", agent_id="a")
    add(store, rec("a", "Ada lives in Lisbon", importance=0.9), rec("b", "Ada has a cat"),
        rec("c", "Eve", scope=ua), rec("x", "Ada elsewhere", scope=Scope(user_id="v")))  # fmt: skip
    ada, lisbon, cat = Entity("ada", "Ada"), Entity("lisbon", "Lisbon"), Entity("cat", "cat")
    lives = Triple("ada", "Ada", "lives_in", "lisbon", "Lisbon")
    store.put_graph(U, "a", [ada, lisbon], [lives])
    store.put_graph(
        U, "b", [Entity("ada", "ADA"), cat], [Triple("ada", "Ada", "has", "cat", "cat")]
    )
    store.put_graph(ua, "c", [Entity("eve", "Eve")], [])
    store.put_graph(Scope(user_id="v"), "x", [ada], [])
    assert store.find_entities(U) == [  # the name first written under a scope stays
        Entity("ada", "Ada", 2),
        Entity("cat", "cat", 1),
        Entity("eve", "Eve", 1),
        Entity("lisbon", "Lisbon", 1),
    ]
    assert store.find_entities(U, ["lisbon", "nobody"]) == [Entity("lisbon", "Lisbon", 1)]
    assert store.find_entities(U, []) == []
    assert store.find_entities(U, limit=1) == [Entity("ada", "Ada", 2)]
    assert store.relations(U, ["lisbon"]) == [replace(lives, memory_id="a")]
    assert {t.memory_id for t in store.relations(U, ["ada"])} == {"a", "b"}
    assert store.relations(U, []) == []
    hits = store.entity_search(U, {"ada": 1.0, "lisbon": 0.5}, Filters(), limit=5)
    assert [(r.id, score) for r, score in hits] == [("a", 1.5), ("b", 1.0)]
    assert store.entity_search(U, {}, Filters(), limit=5) == []
    store.set_state(U, "b", "deleted", at=LATER)
    assert store.find_entities(U, ["ada"]) == [Entity("ada", "Ada", 1)]
    assert [t.memory_id for t in store.relations(U, ["ada"])] == ["a"]
    assert ids(store.entity_search(U, {"ada": 1.0}, Filters(), limit=5)) == ["a"]
    store.put_graph(U, "a", [cat], [])  # replaces what "a" named
    assert store.relations(U, ["lisbon"]) == []
    assert store.find_entities(U, ["lisbon"]) == []
    assert store.find_entities(Scope(user_id="v")) == [Entity("ada", "Ada", 1)]
    with pytest.raises(NotFoundError):
        store.put_graph(Scope(user_id="v"), "a", [ada], [])


def test_as_of_gives_each_memory_as_it_stood_then(store: Store) -> None:
    day = timedelta(days=1)
    add(store, rec("a", "I live in Paris"), rec("b", "later", recorded_at=T0 + 10 * day),
        rec("c", "a fact", kind="episode"))  # fmt: skip
    new = store.update(U, rec("a", "I live in Lisbon"), expected_version=1, at=T0 + 2 * day)
    store.set_state(U, "c", "deleted", at=T0 + 2 * day)
    before = store.as_of(U, T0 + day, Filters())
    assert [(r.id, r.text, r.version) for r in before] == [("a", "I live in Paris", 1),
                                                           ("c", "a fact", 1)]  # fmt: skip
    assert store.as_of(U, T0 + day, Filters(kinds=("episode",)))[0].state == "active"
    assert store.as_of(U, T0 - day, Filters()) == []
    after = store.as_of(U, T0 + 10 * day, Filters(states=("active", "deleted")))
    assert [(r.id, r.text, r.state) for r in after] == [("a", "I live in Lisbon", "active"),
                                                        ("b", "later", "active"),
                                                        ("c", "a fact", "deleted")]  # fmt: skip
    assert store.as_of(Scope(user_id="v"), new.recorded_at, Filters()) == []


# -- API keys and embedder ------------------------------------------------------------------------
def test_api_keys_are_kept_by_hash_and_revoked(store: Store) -> None:
    k1 = ApiKey(id="k1", tenant="t1", key_hash="h1", created_at=T0, name="ci")
    k2 = ApiKey(id="k2", tenant="t2", key_hash="h2", created_at=T0 + timedelta(seconds=1))
    store.put_api_key(k1)
    store.put_api_key(k2)
    assert store.api_keys() == [k1, k2]
    assert store.api_keys("t2") == [k2]
    assert store.api_key_by_hash("h1") == k1
    assert store.api_key_by_hash("nope") is None
    at = T0 + timedelta(days=1)
    assert store.revoke_api_key("k1", at) is True
    assert store.revoke_api_key("k1", at) is False
    assert store.revoke_api_key("nope", at) is False
    assert store.api_key_by_hash("h1") is None
    assert store.api_keys("t1") == [replace(k1, revoked_at=at)]


def test_embedder_info_is_recorded(store: Store) -> None:
    assert store.embedder_info() is None
    store.set_embedder_info("hashing-256", 256)
    assert store.embedder_info() == ("hashing-256", 256)
    store.set_embedder_info("other", 8)
    assert store.embedder_info() == ("other", 8)


def test_put_vectors_replaces_vectors_without_a_new_version(store: Store) -> None:
    add(store, rec("a", "one"), rec("b", "two"), vectors=[unit(1, 0), unit(0, 1)])
    store.put_vectors(U.tenant, [("a", unit(0, 1)), ("b", unit(1, 0))])
    found = store.vector_search(U, unit(1, 0), Filters(), limit=2)
    assert [r.id for r, _ in found] == ["b", "a"]
    assert store.get(U, "a").version == 1
    assert [e.op for e in store.history(U, "a")] == ["ADD"]


def test_tidying_keeps_every_memory_findable(store: Store) -> None:
    for i in range(12):
        add(store, rec(f"m{i}", f"tomato note {i}"))
    before = store.keyword_keys(U, "tomato", Filters(), limit=50)
    assert len(before) == 12
    assert isinstance(store.tidy(budget=100), bool)
    store.tidy(budget=100)
    assert store.keyword_keys(U, "tomato", Filters(), limit=50) == before
