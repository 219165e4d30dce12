"""The MCP server's decisions, as pure functions: a call's scope inside the server's
(``ServerScope.confine``), the text a client receives for a failed call (``error_text``), and
refusing arguments a tool does not declare (``refuse_undeclared``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memstrata.errors import ConflictError, InvalidInputError, NotFoundError
from memstrata.server.errors import validation_message
from memstrata.server.mcp import ServerScope, error_text, refuse_undeclared
from memstrata.types import MemoryKind

FIELDS = ("user_id", "agent_id", "run_id")
ADA = ServerScope(user_id="ada")


def test_a_call_may_leave_the_servers_scope_out_or_repeat_it() -> None:
    expected = {"user_id": "ada", "agent_id": None, "run_id": None}
    assert ADA.confine(None, None, None) == expected
    assert ADA.confine("ada", None, None) == expected


def test_a_call_naming_another_value_is_refused_saying_where_the_server_is_confined() -> None:
    with pytest.raises(InvalidInputError) as refused:
        ADA.confine("bob", None, None)
    assert str(refused.value) == (
        "this server is confined to user_id=ada; a call cannot name user_id=bob "
        "(leave user_id out, or give the same value)"
    )
    both = ServerScope(user_id="ada", run_id="r1")
    with pytest.raises(InvalidInputError) as refused:
        both.confine("bob", "bot", "r2")
    assert str(refused.value) == (
        "this server is confined to user_id=ada run_id=r1; a call cannot name user_id=bob, "
        "run_id=r2 (leave user_id and run_id out, or give the same value)"
    )


def test_a_call_narrows_with_an_open_field_and_never_widens() -> None:
    assert ADA.confine(None, None, "r1") == {"user_id": "ada", "agent_id": None, "run_id": "r1"}
    assert ADA.confine(None, "bot", None) == {"user_id": "ada", "agent_id": "bot", "run_id": None}
    run = ServerScope(run_id="r1")
    assert run.confine("bob", None, None) == {"user_id": "bob", "agent_id": None, "run_id": "r1"}


def test_a_server_without_a_scope_takes_each_calls_as_given() -> None:
    assert ServerScope().confine("bob", None, "r2") == {
        "user_id": "bob",
        "agent_id": None,
        "run_id": "r2",
    }


ids = st.none() | st.sampled_from(["ada", "bob"])


@given(server=st.builds(ServerScope, ids, ids, ids), call=st.tuples(ids, ids, ids))
def test_a_call_runs_inside_the_servers_scope_or_not_at_all(
    server: ServerScope, call: tuple[str | None, str | None, str | None]
) -> None:
    fixed = {k: v for k, v in asdict(server).items() if v is not None}
    named = {k: v for k, v in zip(FIELDS, call, strict=True) if v is not None}
    try:
        scope: dict[str, Any] = dict(server.confine(*call))
    except InvalidInputError:
        assert any(named.get(k, v) != v for k, v in fixed.items())
        return
    assert fixed.items() <= scope.items()  # every fixed field, as the server has it
    assert named.items() <= scope.items()  # every field the call named, as it named it
    assert {k for k, v in scope.items() if v is not None} == fixed.keys() | named.keys()


class Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str
    limit: int = Field(1, ge=1)
    kinds: list[MemoryKind] | None = None


def invalid(arguments: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        Arguments.model_validate(arguments)
    return raised.value


def wrapped(error: ToolError, cause: BaseException) -> ToolError:
    """``error`` raised from ``cause``, as the SDK wraps what a tool raises."""
    error.__cause__ = cause
    return error


def test_invalid_arguments_read_as_the_rest_servers_invalid_body() -> None:
    error = invalid({"query": "x", "limit": 0, "kinds": ["fact", "dream"]})
    body = [
        {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in error.errors()
    ]
    text = error_text(wrapped(ToolError("Error executing tool search_memories: …"), error))
    assert text == f"invalid_input: {validation_message(body)}"
    assert text.startswith("invalid_input: limit: ") and "; kinds.1: " in text


def test_library_errors_read_as_code_and_message() -> None:
    missing = NotFoundError("no memory 'm1' in scope user_id=ada")
    expected = "not_found: no memory 'm1' in scope user_id=ada"
    raised = UnexpectedToolError("Error executing tool get_memory")
    assert error_text(wrapped(raised, missing)) == expected
    assert error_text(wrapped(ToolError("Error executing tool get_memory: …"), missing)) == expected
    assert error_text(ConflictError("version 1 is not the latest")) == (
        "conflict: version 1 is not the latest"
    )


def test_a_crash_keeps_the_sdks_text() -> None:
    assert error_text(wrapped(UnexpectedToolError("…"), RuntimeError("secret detail"))) is None
    assert error_text(wrapped(UnexpectedToolError("…"), invalid({"query": 1}))) is None
    assert error_text(RuntimeError("secret detail")) is None


def test_a_tool_error_raised_on_purpose_keeps_its_text() -> None:
    refused = ToolError("unauthorized: send `Authorization: Bearer ms_…`")
    assert error_text(wrapped(ToolError("Error executing tool x: …"), refused)) == str(refused)
    assert error_text(ToolError("Unknown tool: remember")) == "Unknown tool: remember"


def test_undeclared_arguments_are_refused_as_a_body_with_unknown_fields() -> None:
    arguments = {"query": "x", "colour": "red", "size": 2}
    with pytest.raises(ValidationError) as refused:
        refuse_undeclared("search_memories", arguments, set(Arguments.model_fields))
    assert error_text(refused.value) == error_text(invalid(arguments))
    assert error_text(refused.value) == (
        f"invalid_input: colour: {refused.value.errors()[0]['msg']}; "
        f"size: {refused.value.errors()[1]['msg']}"
    )
    refuse_undeclared("search_memories", {"query": "x", "limit": 3}, set(Arguments.model_fields))
