"""Every face exposes every verb of the declaration (``memstrata.api.VERBS``) with the same
parameters, or says here why not.

The Python faces (``Memory``, ``AsyncMemory``, ``RemoteMemory``, ``AsyncRemoteMemory``) take
exactly the declared parameters. The REST routes, the MCP tools and the CLI commands name them as
their medium does (a repeated query parameter is singular, a filter is its fields); what each
leaves out, or adds, is listed below with the reason."""

from __future__ import annotations

import argparse
import inspect
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from test_conventions import members

from memstrata import AsyncMemory, Filters, Memory, RemoteMemory
from memstrata.api import SCOPE_FIELDS, VERBS, Verb
from memstrata.cli import build_parser
from memstrata.remote import ROUTES, AsyncRemoteMemory
from memstrata.server.auth import Keyring, Tenants
from memstrata.server.mcp import build_server
from memstrata.server.rest import create_app

SCOPE = set(SCOPE_FIELDS)
#: A ``filters`` parameter is sent as the fields of ``Filters``.
FILTER_FIELDS = {f.name for f in fields(Filters)}


def declared(verb: Verb) -> set[str]:
    """The verb's parameters as a face sends them: ``filters`` as its fields, the scope's."""
    names = set(verb.names)
    if "filters" in names:
        names = (names - {"filters"}) | FILTER_FIELDS
    return names | (SCOPE if verb.scoped else set())


# -- Python ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("face", [Memory, AsyncMemory, RemoteMemory, AsyncRemoteMemory])
def test_every_python_face_takes_every_verb_as_declared(face: type) -> None:
    from memstrata.api import Verbs

    found = members(face)
    for name in VERBS:
        assert name in found, f"{face.__name__} has no {name}"
        got = inspect.signature(found[name]).parameters
        want = inspect.signature(getattr(Verbs, name)).parameters
        assert list(got) == list(want), (face.__name__, name)
        for param, spec in want.items():
            assert (got[param].kind, got[param].default) == (spec.kind, spec.default), (
                face.__name__,
                name,
                param,
            )
        if face in (AsyncMemory, AsyncRemoteMemory):
            assert inspect.iscoroutinefunction(found[name]), (face.__name__, name)
        assert found[name].__doc__ == VERBS[name].doc or inspect.getdoc(found[name]) == (
            VERBS[name].doc
        ), (face.__name__, name)


def test_the_http_transport_routes_every_verb() -> None:
    assert set(ROUTES) == set(VERBS)


# -- REST -----------------------------------------------------------------------------------------
#: The route that serves a verb, when its name is not the verb's.
REST_NAMES = {"list": "list_memories"}
#: Query parameters that REST names in the singular, as each is repeated once per value.
REST_RENAMES = {"kind": "kinds", "state": "states", "layer": "layers"}
#: Parameters a route does not take, and why.
REST_LEAVES_OUT = {
    ("export", "out"): "the export is the response body, streamed as JSON Lines",
    ("import_", "source"): "the export to import is the request body, streamed as JSON Lines",
    **{
        (verb, "current_at"): "the server reads memory as current at its own clock; "
        "history=true reads it as stored"
        for verb in ("search", "list")
    },
}


def route_parameters(route: Any) -> set[str]:
    def names(dependant: Any) -> set[str]:
        found = {REST_RENAMES.get(p.alias, p.alias) for p in dependant.query_params}
        found |= {p.alias for p in dependant.path_params}
        for body in dependant.body_params:
            found |= set(body.field_info.annotation.model_fields)
        for dependency in dependant.dependencies:
            found |= names(dependency)
        return found

    return names(route.dependant)


def test_every_verb_is_a_rest_route_with_the_same_parameters(tmp_path: Path) -> None:
    app = create_app(tmp_path / "m.db", embedder="hashing")
    routes = {route.name: route for route in app.state.api.routes}
    for name, verb in VERBS.items():
        route = routes.get(REST_NAMES.get(name, name))
        assert route is not None, f"no REST route for {name}"
        want = declared(verb) - {p for (v, p) in REST_LEAVES_OUT if v == name}
        assert route_parameters(route) == want, name


# -- MCP ------------------------------------------------------------------------------------------
#: The tool of each verb an agent is given.
MCP_TOOLS = {
    "add": "add_memory",
    "search": "search_memories",
    "get": "get_memory",
    "update": "update_memory",
    "delete": "delete_memory",
    "restore": "restore_memory",
    "feedback": "memory_feedback",
    "list": "list_memories",
    "history": "memory_history",
    "profile": "get_profile",
    "delete_many": "delete_memories",
    "restore_many": "restore_memories",
    "update_many": "update_memories",
}
#: Further tools of a verb, and why: ``add_memory`` takes one plain message, flat, as a model
#: writes it most reliably; ``add_messages`` takes a list of messages whose content may be parts
#: (images, audio transcripts).
MCP_MORE_TOOLS = {"add_messages": "add"}
#: Verbs that are no tool, and why: a model is given the few calls it needs to remember, recall
#: and correct, and none that erases for good or runs the store's housekeeping.
MCP_LEAVES_OUT = {
    "remember": "derived memories come from the write path and reflection, not from a model",
    "reprocess": "housekeeping of the LLM write path, for an operator (CLI, REST)",
    "archive": "lifecycle, done by maintain; a model deletes (restorable) instead",
    "purge": "erases for good: not for a model",
    "reset": "erases a scope for good: not for a model",
    "maintain": "housekeeping, for an operator or a schedule",
    "versions": "memory_history shows each version's text",
    "sources": "get_memory returns a memory with its source messages",
    "scopes": "a tool call acts in its own scope; listing every scope is for an operator",
    "export": "writes a file: for an operator",
    "import_": "reads a file: for an operator",
    "links": "graph views for applications and the dashboard",
    "entities": "graph views for applications and the dashboard",
    "about": "graph views for applications and the dashboard",
    "people": "who is who is for the application and the dashboard; profile says it to a model",
    "changes": "a feed for applications that follow the store, not a model's call",
    "set_extraction": "configuration, the application's to set, not the agent's",
    "extraction": "configuration, the application's to read, not the agent's",
}
#: What a tool takes in place of a verb's parameter, and why.
MCP_RENAMES = {
    # add_memory takes one message as flat arguments, simpler for a model than a list of objects.
    ("add", "text"): "messages",
    ("add", "speaker"): "messages",
    ("add", "role"): "messages",
    ("add", "message_id"): "messages",
}
#: Parameters a tool leaves out, and why: each tool offers a model what it uses.
MCP_FEWER = "a tool offers a model the options it uses; the rest keep their defaults"


def test_every_verb_is_an_mcp_tool_or_left_out_for_a_reason(tmp_path: Path) -> None:
    import asyncio

    tenants = Tenants(tmp_path / "m.db", embedder="hashing")
    try:
        server = build_server(tenants, Keyring(tenants.store, open_tenant="default"))
        tools = {t.name: t for t in asyncio.run(server.list_tools())}
    finally:
        tenants.close()
    assert set(MCP_TOOLS) | set(MCP_LEAVES_OUT) == set(VERBS)
    assert not set(MCP_TOOLS) & set(MCP_LEAVES_OUT)
    assert set(MCP_TOOLS.values()) | set(MCP_MORE_TOOLS) == set(tools)
    for name, tool_name in [*MCP_TOOLS.items(), *((v, k) for k, v in MCP_MORE_TOOLS.items())]:
        verb = VERBS[name]
        taken = {MCP_RENAMES.get((name, p), p) for p in tools[tool_name].input_schema["properties"]}
        want = declared(verb) | ({"sources"} if name == "get" else set())
        assert taken <= want, (name, taken - want)
        assert taken >= SCOPE, name  # every tool names its scope
        assert MCP_FEWER  # the reason for the parameters left out


# -- CLI ------------------------------------------------------------------------------------------
#: The command of each verb, when its name is not the verb's.
CLI_NAMES = {
    "import_": "import",
    "set_extraction": "set-extraction",
    **{verb: verb.replace("_", "-") for verb in ("delete_many", "restore_many", "update_many")},
}
#: Verbs that are no command, and why (every verb is one).
CLI_LEAVES_OUT: dict[str, str] = {}
#: What a command's option stands for, when it is not the parameter's name.
CLI_RENAMES = {
    "user": "user_id",
    "agent": "agent_id",
    "run": "run_id",
    "kind": "kinds",
    "state": "states",
    "id": "memory_id",
    "file": "out",
}
#: Options of a command that are its own (where the store is, how to print), not a verb's.
CLI_OWN = {"db", "tenant", "embedder", "json", "help", "handler", "command", "llm_url",
           "llm_model", "batch_size"}  # fmt: skip


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return dict(sub.choices)  # type: ignore[arg-type]


def test_every_verb_is_a_command_or_left_out_for_a_reason() -> None:
    commands = subcommands()
    assert not set(CLI_LEAVES_OUT) - set(VERBS)
    for name, verb in VERBS.items():
        if name in CLI_LEAVES_OUT:
            continue
        command = commands.get(CLI_NAMES.get(name, name))
        assert command is not None, f"no command for {name}"
        options = {a.dest for a in command._actions} - CLI_OWN
        # a repeated option is named in the singular (``--kind``) where the verb takes a list
        taken = {o if o in verb.names else CLI_RENAMES.get(o, o) for o in options}
        if name == "add":  # one message per text argument (or a --file of them), role, speaker, id
            taken = (taken - {"text", "role", "speaker", "memory_id", "out"}) | {"messages"}
        if name == "import_":
            taken = {"source" if t == "out" else t for t in taken}
        assert taken <= declared(verb), (name, taken - declared(verb))
        if verb.scoped and name not in ("import_",):
            assert taken >= SCOPE, name
