"""The MCP server's decisions, as pure functions: the text a client receives for a failed call
(``error_text``), and refusing arguments a tool does not declare (``refuse_undeclared``)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memstrata.errors import ConflictError, NotFoundError
from memstrata.server.errors import validation_message
from memstrata.server.mcp import error_text, refuse_undeclared
from memstrata.types import MemoryKind


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
