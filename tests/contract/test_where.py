"""The ``where`` filter: SQL on each store and the Python ``matches`` agree on random expressions
over random memories; a bad filter is refused with a message that says where and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memstrata import where
from memstrata.errors import InvalidInputError
from memstrata.ports import Store
from memstrata.stores.sql.where import matches
from memstrata.types import KINDS, LAYERS, STATES, Filters, MemoryRecord, Scope

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
SCOPE = Scope(user_id="u")
ALL = ("active", "archived", "deleted")

# -- random memories -------------------------------------------------------------------------------
words = st.sampled_from(["", "a", "ab", "b", "B", "work", "héllo", "llo", "日本", "本", "x y"])
numbers = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, -1.5, 2.0, 1e10, 0.1]))
scalars = st.one_of(words, numbers, st.booleans())
json_values = st.one_of(st.none(), scalars, st.lists(scalars, max_size=3))
keys = st.sampled_from(["a", "b", "c", "0"])
metadata = st.dictionaries(
    keys,
    st.one_of(json_values, st.dictionaries(keys, json_values, max_size=2)),
    max_size=3,
)
times = st.one_of(st.none(), st.integers(0, 4).map(lambda d: T0 + timedelta(days=d)))
names = st.sampled_from([None, "Ada", "Bo", "ada"])
labels = st.lists(st.sampled_from(["lisbon", "work", "Ada"]), max_size=2, unique=True)


@st.composite
def records(draw: st.DrawFn) -> list[MemoryRecord]:
    count = draw(st.integers(1, 6))
    starts = [draw(times) for _ in range(count)]
    ends = [
        None if s is None or draw(st.booleans()) else s + timedelta(days=draw(st.integers(0, 2)))
        for s in starts
    ]
    return [
        MemoryRecord(
            id=f"m{i}",
            scope=SCOPE,
            kind=draw(st.sampled_from(KINDS)),
            text=draw(st.sampled_from(["I work in Lisbon", "ab", "日本の夏", "x"])),
            state=draw(st.sampled_from(STATES)),
            layer=draw(st.sampled_from(LAYERS)),
            actor=draw(names),
            subject=draw(names),
            importance=draw(st.sampled_from([0.0, 0.25, 0.5, 1.0])),
            recall_count=draw(st.integers(0, 3)),
            valid_from=starts[i],
            valid_to=ends[i],
            recorded_at=T0 + timedelta(days=draw(st.integers(0, 4))),
            keys=tuple(draw(labels)),
            entities=tuple(draw(labels)),
            metadata=draw(metadata),
            expires_at=draw(times),
        )
        for i in range(count)
    ]


# -- random expressions ----------------------------------------------------------------------------
iso = st.integers(0, 4).map(lambda d: (T0 + timedelta(days=d)).isoformat())
metadata_keys = st.sampled_from(
    ["metadata.a", "metadata.b", "metadata.c", "metadata.a.b", "metadata.a.0", "metadata.0"]
)
order_ops = st.sampled_from(["lt", "lte", "gt", "gte", "<", ">="])
leaves = st.one_of(
    st.builds(lambda k, v: {k: v}, metadata_keys, st.one_of(st.none(), scalars)),
    st.builds(
        lambda k, op, v: {k: {op: v}},
        metadata_keys,
        st.sampled_from(["eq", "ne", "contains"]),
        scalars,
    ),
    st.builds(lambda k, op, v: {k: {op: v}}, metadata_keys, order_ops, st.one_of(words, numbers)),
    st.builds(
        lambda k, op, v: {k: {op: v}},
        metadata_keys,
        st.sampled_from(["in", "not_in"]),
        st.lists(scalars, min_size=1, max_size=3),
    ),
    st.builds(lambda k, v: {k: {"exists": v}}, metadata_keys, st.booleans()),
    st.builds(
        lambda v: {"kind": {"in": v}}, st.lists(st.sampled_from(KINDS), min_size=1, max_size=3)
    ),
    st.builds(lambda v: {"state": v}, st.sampled_from(STATES)),
    st.builds(lambda v: {"layer": {"ne": v}}, st.sampled_from(LAYERS)),
    st.builds(lambda f, v: {f: v}, st.sampled_from(["actor", "subject"]), names),
    st.builds(lambda f, v: {f: {"contains": v}}, st.sampled_from(["actor", "text"]), words),
    st.builds(
        lambda f, op, v: {f: {op: v}},
        st.sampled_from(["importance", "recall_count"]),
        order_ops,
        st.sampled_from([0, 0.25, 0.5, 1, 2]),
    ),
    st.builds(
        lambda f, op, v: {f: {op: v}},
        st.sampled_from(["valid_from", "valid_to", "recorded_at", "expires_at"]),
        st.sampled_from(["eq", "lt", "lte", "gt", "gte"]),
        iso,
    ),
    st.builds(
        lambda f, v: {f: {"exists": v}}, st.sampled_from(["valid_to", "actor"]), st.booleans()
    ),
    st.builds(
        lambda f, v: {f: {"contains": v}},
        st.sampled_from(["keys", "entities"]),
        st.sampled_from(["lisbon", "Ada", "ada"]),
    ),
)
expressions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"and": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"or": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(memories=records(), exprs=st.lists(expressions, min_size=1, max_size=5))
def test_the_store_and_matches_agree(
    store: Store, memories: list[MemoryRecord], exprs: list[Any]
) -> None:
    store.reset(SCOPE)
    store.add([], memories, at=T0)
    stored = store.list(SCOPE, Filters(states=ALL), limit=100).records
    for raw in exprs:
        flt = Filters(states=ALL, where=raw)
        found = {r.id for r in store.list(SCOPE, flt, limit=100).records}
        assert found == {r.id for r in stored if where.matches(flt.where, r)}, raw
        assert store.count(SCOPE, flt) == len(found)
    for states in [("active",), ("archived",), ("active", "deleted")]:
        for at in [None, T0 + timedelta(days=2)]:
            flt = Filters(states=states, current_at=at, where=exprs[0])
            found = {r.id for r in store.list(SCOPE, flt, limit=100).records}
            assert found == {r.id for r in stored if matches(r, flt)}, (states, at)


def test_the_where_filter_narrows_keyword_and_vector_search(store: Store) -> None:
    memories = [
        MemoryRecord(
            id=f"m{i}",
            scope=SCOPE,
            kind="episode",
            text=f"lisbon trip {i}",
            metadata={"topic": topic},
            recorded_at=T0,
        )
        for i, topic in enumerate(["work", "health", "travel"])
    ]
    store.add([], memories, at=T0, vectors=[[1.0, float(i), 0.0] for i in range(3)])
    flt = Filters(where={"metadata.topic": {"in": ["work", "travel"]}})
    assert {r.id for r, _ in store.keyword_search(SCOPE, "lisbon", flt, limit=5)} == {"m0", "m2"}
    assert {r.id for r, _ in store.vector_search(SCOPE, [1.0, 1.0, 0.0], flt, limit=5)} == {
        "m0",
        "m2",
    }


# -- parsing ---------------------------------------------------------------------------------------
def test_the_documented_example_parses_to_its_tree() -> None:
    expr = where.parse(
        {
            "and": [
                {"metadata.topic": {"in": ["work", "health"]}},
                {"importance": {">=": 0.5}},
                {"not": {"metadata.city": {"exists": True}}},
            ]
        }
    )
    assert expr == where.And(
        (
            where.Compare("metadata", "in", ("work", "health"), ("topic",)),
            where.Compare("importance", "gte", 0.5),
            where.Not(where.Compare("metadata", "exists", True, ("city",))),
        )
    )


@given(expressions)
def test_an_expression_survives_its_json_form(raw: Any) -> None:
    expr = where.parse(raw)
    assert where.parse(where.to_json(expr)) == expr


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "where: expected a JSON object, not a list"),
        ({}, "where: an empty object"),
        ({"colour": "red"}, "where.colour: unknown field 'colour'"),
        ({"importance": {"~": 1}}, "where.importance: unknown operator '~'"),
        (
            {"importance": {">": "high"}},
            "where.importance.>: importance takes a number, not a string",
        ),
        ({"kind": "fcat"}, "where.kind: unknown kind 'fcat'"),
        (
            {"kind": {"contains": "f"}},
            "where.kind.contains: contains does not apply to kind (enum)",
        ),
        ({"metadata.x": {"in": []}}, "where.metadata.x.in: in takes a non-empty list"),
        ({"metadata.x": {"<": True}}, "where.metadata.x.<: lt compares numbers or strings"),
        ({"metadata.x": {"eq": [1]}}, "where.metadata.x.eq: expected a string, number or boolean"),
        ({"metadata.a b": 1}, "where.metadata.a b: metadata key 'a b' must be a word"),
        ({"metadata.a.0.": 1}, "where.metadata.a.0.: metadata key '' must be a word"),
        ({"metadata.x": 2**60}, "where.metadata.x: a number must lie within"),
        ({"or": [{"kind": "fact"}, {"and": "x"}]}, "where.or[1].and: expected a non-empty list"),
        ({"valid_to": {"<": "soon"}}, "'soon' is not an ISO 8601 date"),
        ({"importance": None}, "where.importance: importance is never null"),
        ({"metadata.x": {"exists": "yes"}}, "where.metadata.x.exists: exists takes true or false"),
    ],
)
def test_a_bad_filter_says_where_and_why(raw: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        where.parse(raw)
    assert message in str(caught.value)


def test_a_filter_too_deep_or_too_large_is_refused() -> None:
    deep: dict[str, Any] = {"kind": "fact"}
    for _ in range(where.MAX_DEPTH):
        deep = {"not": deep}
    with pytest.raises(InvalidInputError, match="nested deeper than 8 levels"):
        where.parse(deep)
    wide = {"or": [{"importance": {">": i / 1000}} for i in range(where.MAX_TERMS + 1)]}
    with pytest.raises(InvalidInputError, match="more than 100 comparisons"):
        where.parse(wide)
    with pytest.raises(InvalidInputError, match="at most 100 values"):
        where.parse({"metadata.n": {"in": list(range(101))}})


def test_missing_values_make_comparisons_false_and_their_negations_true() -> None:
    record = MemoryRecord(id="m", scope=SCOPE, kind="fact", text="x", metadata={"n": None})
    for raw, expected in [
        ({"metadata.n": {"eq": 1}}, False),
        ({"metadata.n": {"ne": 1}}, True),
        ({"metadata.n": None}, True),
        ({"metadata.missing": {"not_in": ["a"]}}, True),
        ({"actor": {"contains": "A"}}, False),
        ({"not": {"actor": {"contains": "A"}}}, True),
        ({"valid_to": {"exists": False}}, True),
    ]:
        assert where.matches(where.parse(raw), record) is expected, raw


def test_metadata_compares_by_json_type() -> None:
    record = MemoryRecord(
        id="m",
        scope=SCOPE,
        kind="fact",
        text="x",
        metadata={"flag": True, "n": 1, "s": "1", "tags": ["a", 1, True]},
    )

    def ok(raw: Any) -> bool:
        return where.matches(where.parse(raw), record)

    assert ok({"metadata.n": 1.0}) and not ok({"metadata.n": True}) and not ok({"metadata.n": "1"})
    assert ok({"metadata.flag": True}) and not ok({"metadata.flag": 1})
    assert ok({"metadata.s": {"<": "2"}}) and not ok({"metadata.s": {"<": 2}})
    assert ok({"metadata.tags": {"contains": 1}}) and ok({"metadata.tags": {"contains": True}})
    assert not ok({"metadata.tags": {"contains": "b"}}) and ok({"metadata.s": {"contains": ""}})
