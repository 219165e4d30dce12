"""The pure mapping between LangGraph namespaces and memstrata scopes (no LangGraph needed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memstrata import InvalidInputError
from memstrata.integrations import namespaces as ns

DEFAULT = ns.parse_template(("{user_id}", "{agent_id}", "{run_id}"))
TAGGED = ns.parse_template(("{user_id}", "memories", "{run_id}"))


def test_templates_name_scope_fields_and_literals() -> None:
    assert TAGGED == (("field", "user_id"), ("literal", "memories"), ("field", "run_id"))
    for bad in [("{user}",), ("memories",), ("{user_id}", "{user_id}"), ("a.b", "{user_id}")]:
        with pytest.raises(InvalidInputError):
            ns.parse_template(bad)


def test_scope_of_a_namespace_and_of_a_prefix() -> None:
    assert ns.scope_of(DEFAULT, ("ada", "bot")) == {
        "user_id": "ada", "agent_id": "bot", "run_id": None,
    }  # fmt: skip
    assert ns.scope_of(TAGGED, ("ada", "memories", "r1"))["run_id"] == "r1"  # type: ignore[index]
    assert ns.scope_of(TAGGED, ("ada", "notes")) is None
    assert ns.scope_of(TAGGED, ("ada", "memories", "r1", "more")) is None
    assert ns.scope_of(DEFAULT, ()) == dict.fromkeys(("user_id", "agent_id", "run_id"))


def test_the_namespace_of_a_scope() -> None:
    assert ns.namespace_of(TAGGED, {"user_id": "ada"}) == ("ada", "memories")
    assert ns.namespace_of(TAGGED, {"user_id": "ada", "run_id": "r1"}) == ("ada", "memories", "r1")
    assert ns.namespace_of(DEFAULT, {"user_id": "ada", "run_id": "r1"}) is None  # a gap
    assert ns.namespace_of(TAGGED, {"user_id": "ada", "agent_id": "bot"}) is None  # not in it
    assert ns.namespace_of(TAGGED, {"run_id": "r1"}) is None
    memories_first = ns.parse_template(("memories", "{user_id}"))
    assert ns.namespace_of(memories_first, {"user_id": "ada"}) == ("memories", "ada")


labels = st.text(alphabet="abc-_XYZ019", min_size=1, max_size=6)


@given(user=labels, agent=st.none() | labels, run=st.none() | labels)
def test_a_namespace_reads_back_as_its_scope(user: str, agent: str | None, run: str | None) -> None:
    scope = {"user_id": user, "agent_id": agent, "run_id": run}
    namespace = ns.namespace_of(DEFAULT, scope)
    if agent is None and run is not None:
        assert namespace is None
    else:
        assert namespace is not None
        assert ns.scope_of(DEFAULT, namespace) == scope


def test_values_and_memories() -> None:
    def texts_at(value: object, path: str) -> list[str]:
        return [str(value[path])] if isinstance(value, dict) and path in value else []

    text, meta = ns.to_memory("k", {"text": "hello", "n": 1}, ["text"], texts_at)
    assert (text, meta) == ("hello", {"n": 1, ns.KEY: "k", ns.TEXT_FIELD: "text"})
    text, meta = ns.to_memory("k", {"a": "x", "b": "y"}, ["a", "b"], texts_at)
    assert (text, meta) == ("x\ny", {"a": "x", "b": "y", ns.KEY: "k"})
    text, _ = ns.to_memory("k", {"n": 2}, ["text"], texts_at)
    assert text == '{"n": 2}'


def test_filters_split_into_what_the_store_runs_and_the_rest() -> None:
    pushed, after = ns.split_filter(
        {"topic": "x", "n": {"$eq": 3}, "m": {"$gt": 1}, "text": "t", "a b": 1, "o": {"k": 1}},
        ["text"],
    )
    assert pushed == {"topic": "x", "n": 3}
    assert after == {"m": {"$gt": 1}, "text": "t", "a b": 1, "o": {"k": 1}}
    assert ns.matches({"m": 2, "o": {"k": 1, "z": 0}}, {"m": {"$gt": 1}, "o": {"k": 1}})
    assert not ns.matches({"m": "two"}, {"m": {"$gt": 1}})
    assert ns.matches({"l": [1, 2]}, {"l": [1, 2]}) and not ns.matches({"l": [1]}, {"l": [1, 2]})


def test_namespace_conditions() -> None:
    name = ("memories", "ada", "r1")
    assert ns.namespace_matches(name, [("prefix", ("memories", "*")), ("suffix", ("r1",))])
    assert not ns.namespace_matches(name, [("prefix", ("notes",))])
    assert not ns.namespace_matches(("a",), [("suffix", ("a", "b"))])
