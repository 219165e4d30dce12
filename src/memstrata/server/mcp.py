"""The MCP server: nine tools that map one to one onto ``Memory`` verbs.

``build_server`` returns a ``MemoryServer`` (the official SDK's ``MCPServer``, ``mcp`` 2.x) for
stdio; ``http_app`` wraps its streamable-HTTP app so that, when the store holds API keys, every
request needs ``Authorization: Bearer ms_…`` and acts for that key's tenant.

Scope: each tool takes ``user_id``, ``agent_id`` and ``run_id``. A server started with a scope
(``memstrata mcp --user ada``) serves that scope alone (``ServerScope.confine``): a call may
leave its fields out or repeat them, and may narrow the scope with a field the server left open;
a call naming another value is refused.

Errors: a failed call returns an error result (``is_error``) whose text is the REST server's
error, ``code: message`` in the same words (``invalid_input: limit: …``, ``not_found: …``), so
that the model reads what to correct; an argument a tool does not declare is refused by name.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Annotated, Any, TypedDict

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent
from mcp.types import Tool as ToolInfo
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import InitErrorDetails
from starlette.types import ASGIApp, Receive, Scope, Send

from memstrata.errors import InvalidInputError, MemstrataError
from memstrata.memory import Memory
from memstrata.server.auth import Keyring, Tenants
from memstrata.server.errors import validation_message
from memstrata.server.schemas import (
    AddOut,
    BatchOut,
    Budget,
    FeedbackOut,
    HistoryEventOut,
    Id,
    MemoryOut,
    MessageIn,
    MessageOut,
    PageOut,
    SearchOut,
    batch_out,
    history_out,
    hit_out,
    memory_out,
    message_out,
)
from memstrata.types import MemoryKind, MemoryState, Role

logger = logging.getLogger(__name__)

INSTRUCTIONS = """\
Long-term memory. Call search_memories before answering a question that may depend on what the
user said earlier; call add_memory when the user tells you something worth keeping (a fact about
them, a preference, a decision). After answering from a search, call memory_feedback with the ids
of the memories the answer used: search learns from it. Each memory keeps its source message and
its time; update and delete keep the old version (see memory_history, restore_memory)."""

MemoryId = Annotated[str, Field(description="The memory's id, as returned by other tools.")]
UserId = Annotated[
    Id | None,
    Field(description="Whose memory: a user id (default: the server's, if set; then no other)."),
]
AgentId = Annotated[
    Id | None,
    Field(description="Whose memory: an agent id (default: the server's, if set; then no other)."),
]
RunId = Annotated[
    Id | None,
    Field(description="A run or session id (default: the server's, if set; then no other)."),
]
Reason = Annotated[str | None, Field(description="Why (kept in history).")]
#: Hits a search returns when it names neither a limit nor a budget.
SEARCH_DEFAULT = 5
SearchLimit = Annotated[
    int | None,
    Field(
        ge=1,
        le=100,
        description=f"How many memories at most ({SEARCH_DEFAULT} when not given; with a "
        "budget, only when given: the budget decides how many fit).",
    ),
]
Kinds = Annotated[
    list[MemoryKind] | None,
    Field(description="Only these kinds: episode, fact, summary, thought, procedure, working."),
]
Where = Annotated[
    dict[str, Any] | None,
    Field(
        description="A filter over fields and metadata, e.g. "
        '{"metadata.topic": {"in": ["work", "health"]}, "importance": {">=": 0.5}}; '
        "operators eq, ne, in, not_in, <, <=, >, >=, contains, exists; and, or, not."
    ),
]
ExpiresAt = Annotated[
    str | None,
    Field(description="When to stop recalling it, ISO 8601 (it is archived, never deleted)."),
]
BatchIds = Annotated[
    list[str] | None, Field(description="The memories, by id (or give a where filter).")
]
DryRun = Annotated[bool, Field(description="Only count what would change; change nothing.")]


class MemoryDetail(MemoryOut):
    source_messages: list[MessageOut] = Field(description="The messages it came from.")


class HistoryOut(BaseModel):
    events: list[HistoryEventOut] = Field(description="Every change, oldest first.")


class ScopeArgs(TypedDict):
    user_id: str | None
    agent_id: str | None
    run_id: str | None


@dataclass(frozen=True)
class ServerScope:
    """The scope a server serves (``memstrata mcp --user ada``): its given fields are fixed, the
    others (None) are open to each call."""

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None

    def confine(self, user_id: str | None, agent_id: str | None, run_id: str | None) -> ScopeArgs:
        """A call's scope, inside this one. A fixed field the call leaves out is filled in, and
        one it names with another value is refused (``InvalidInputError``); an open field is the
        call's. So a call can narrow the server's scope and never leave it."""
        call = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
        fixed = {field: value for field, value in asdict(self).items() if value is not None}
        clashes = [f for f, value in fixed.items() if call[f] is not None and call[f] != value]
        if clashes:
            confined = " ".join(f"{field}={value}" for field, value in fixed.items())
            named = ", ".join(f"{field}={call[field]}" for field in clashes)
            raise InvalidInputError(
                f"this server is confined to {confined}; a call cannot name {named} "
                f"(leave {' and '.join(clashes)} out, or give the same value)"
            )
        return ScopeArgs(
            user_id=user_id if self.user_id is None else self.user_id,
            agent_id=agent_id if self.agent_id is None else self.agent_id,
            run_id=run_id if self.run_id is None else self.run_id,
        )


def arguments_message(error: ValidationError) -> str:
    """REST's wording of invalid input, for a tool's arguments (``limit: Input should be …``)."""
    return validation_message(
        [
            {"loc": ["arguments", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in error.errors()
        ]
    )


def refuse_undeclared(tool: str, arguments: Mapping[str, Any], declared: Collection[str]) -> None:
    """Raise pydantic's own ``extra_forbidden`` error for each argument ``tool`` does not declare,
    as a request body with an unknown field is refused."""
    extra: list[InitErrorDetails] = [
        {"type": "extra_forbidden", "loc": (name,), "input": value}
        for name, value in arguments.items()
        if name not in declared
    ]
    if extra:
        raise ValidationError.from_exception_data(tool, extra)


def error_text(error: BaseException | None) -> str | None:
    """What a client receives for a failed call: ``code: message``, as the REST server words it.
    None for a crash, which the SDK reports without its details (and logs)."""
    if isinstance(error, MemstrataError):
        return f"{error.code}: {error}"
    if isinstance(error, ValidationError):
        return f"invalid_input: {arguments_message(error)}"
    if isinstance(error, UnexpectedToolError):  # a crash, unless the library refused the call
        return error_text(error.__cause__) if isinstance(error.__cause__, MemstrataError) else None
    if isinstance(error, ToolError):  # the SDK's "Error executing tool <name>: <cause>"
        return str(error) if error.__cause__ is None else error_text(error.__cause__)
    return None


class MemoryServer(MCPServer[Any]):
    """An ``MCPServer`` whose tools refuse arguments they do not declare (their schemas say
    ``additionalProperties: false``) and whose failed calls read as ``error_text`` says."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._declared: dict[str, frozenset[str]] = {}

    async def list_tools(self) -> list[ToolInfo]:
        return [
            tool.model_copy(
                update={"input_schema": {**tool.input_schema, "additionalProperties": False}}
            )
            for tool in await super().list_tools()
        ]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            if name not in self._declared:
                self._declared = {
                    tool.name: frozenset(tool.input_schema.get("properties", ()))
                    for tool in await super().list_tools()
                }
            if name in self._declared:
                refuse_undeclared(name, arguments, self._declared[name])
            return await super().call_tool(name, arguments, context)
        except (ToolError, ValidationError) as exc:
            text = error_text(exc)
            if text is None:
                raise
            logger.info("Tool %r failed: %s", name, text.split(":", 1)[0])
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def build_server(
    tenants: Tenants, keyring: Keyring, *, scope: ServerScope | None = None
) -> MemoryServer:
    """The MCP server over ``tenants``, confined to ``scope``; ``keyring`` maps an HTTP
    request's key to its tenant."""
    from memstrata.version import __version__

    confined = scope or ServerScope()
    server = MemoryServer("memstrata", instructions=INSTRUCTIONS, version=__version__)

    def memory(ctx: Context) -> Memory:
        request = ctx.request_context.request
        headers = getattr(request, "headers", None)
        tenant = keyring.tenant_for(headers.get("authorization") if headers else None)
        if tenant is None:
            raise ToolError("unauthorized: send `Authorization: Bearer ms_…`")
        return tenants.memory(tenant)

    @server.tool()
    def add_memory(
        ctx: Context,
        text: Annotated[str, Field(description="What to remember, as it was said.")],
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        speaker: Annotated[str | None, Field(description="Who said it, e.g. 'Ada'.")] = None,
        role: Annotated[Role, Field(description="Who spoke, as chat APIs name it.")] = "user",
        message_id: Annotated[
            str | None, Field(description="Your id for the message (default: generated).")
        ] = None,
        timestamp: Annotated[
            str | None, Field(description="When it was said, ISO 8601 (default: now).")
        ] = None,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="Extra data kept with the memory.")
        ] = None,
        expires_at: ExpiresAt = None,
    ) -> AddOut:
        """Remember a message. It is stored as said, with its speaker and time; a message id
        already stored in the scope is reported as a duplicate and not stored twice."""
        message = {
            "text": text,
            "role": role,
            "speaker": speaker,
            "id": message_id,
            "timestamp": timestamp,
        }
        result = memory(ctx).add(
            {k: v for k, v in message.items() if v is not None},
            metadata=metadata,
            expires_at=expires_at,
            **confined.confine(user_id, agent_id, run_id),
        )
        return AddOut(
            added=[memory_out(r) for r in result.added], duplicates=list(result.duplicates)
        )

    @server.tool()
    def add_messages(
        ctx: Context,
        messages: Annotated[
            list[MessageIn],
            Field(
                min_length=1,
                description="Chat messages as OpenAI sends them: role, content (a string or a "
                "list of parts: text, image_url, input_audio with a transcript), name, id, "
                "timestamp, metadata.",
            ),
        ],
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="Extra data kept with every memory.")
        ] = None,
    ) -> AddOut:
        """Remember several chat messages at once, including messages whose content is a list
        of parts: an image is kept as its caption (alt text, or the model's when it sees
        images) with its URL, audio as its transcript. All are stored, or none."""
        result = memory(ctx).add(
            [m.model_dump(exclude_none=True) for m in messages],
            metadata=metadata,
            **confined.confine(user_id, agent_id, run_id),
        )
        return AddOut(
            added=[memory_out(r) for r in result.added], duplicates=list(result.duplicates)
        )

    @server.tool()
    def search_memories(
        ctx: Context,
        query: Annotated[str, Field(description="What to look for, in plain words.")],
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        limit: SearchLimit = None,
        kinds: Kinds = None,
        since: Annotated[str | None, Field(description="Event time from, ISO 8601.")] = None,
        until: Annotated[str | None, Field(description="Event time until, ISO 8601.")] = None,
        budget: Annotated[
            Budget | None, Field(description="Fit the hits in this many characters.")
        ] = None,
        where: Where = None,
        history: Annotated[
            bool, Field(description="Also expired memories and facts no longer true.")
        ] = False,
    ) -> SearchOut:
        """Find the memories that best answer a question, best first, each with its text, time
        and source message ids. With ``budget``, the hits' context lines fit in that many
        characters and may hold only the sentences that answer."""
        result = memory(ctx).search(
            query,
            limit=SEARCH_DEFAULT if limit is None and budget is None else limit,
            kinds=kinds,
            since=since,
            until=until,
            budget=budget,
            where=where,
            history=history,
            **confined.confine(user_id, agent_id, run_id),
        )
        return SearchOut(
            search_id=result.search_id, query=result.query, hits=[hit_out(h) for h in result]
        )

    @server.tool()
    def get_memory(
        ctx: Context,
        memory_id: MemoryId,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
    ) -> MemoryDetail:
        """One memory by id, with the messages it came from."""
        mem, where = memory(ctx), confined.confine(user_id, agent_id, run_id)
        record = mem.get(memory_id, **where)
        messages = mem.sources(memory_id, **where)
        return MemoryDetail(
            **memory_out(record).model_dump(),
            source_messages=[message_out(m) for m in messages],
        )

    @server.tool()
    def update_memory(
        ctx: Context,
        memory_id: MemoryId,
        text: Annotated[str | None, Field(description="The corrected text.")] = None,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="New metadata (replaces the old).")
        ] = None,
        expected_version: Annotated[
            int | None, Field(description="Fail if the memory changed since this version.")
        ] = None,
        expires_at: ExpiresAt = None,
        reason: Reason = None,
    ) -> MemoryOut:
        """Correct a memory. A new version is written; the old one stays in its history."""
        record = memory(ctx).update(
            memory_id,
            text,
            metadata=metadata,
            expected_version=expected_version,
            reason=reason,
            expires_at=expires_at,
            **confined.confine(user_id, agent_id, run_id),
        )
        return memory_out(record)

    def state_change(verb: str, description: str) -> None:
        """The tool ``<verb>_memory``: ``Memory.<verb>``, a change of state kept in history."""

        def change(
            ctx: Context,
            memory_id: MemoryId,
            user_id: UserId = None,
            agent_id: AgentId = None,
            run_id: RunId = None,
            reason: Reason = None,
        ) -> MemoryOut:
            record = getattr(memory(ctx), verb)(
                memory_id,
                reason=reason,
                **confined.confine(user_id, agent_id, run_id),
            )
            return memory_out(record)

        server.tool(name=f"{verb}_memory", description=description)(change)

    state_change(
        "delete", "Forget a memory: it leaves search and listings. The delete is soft (restorable)."
    )
    state_change(
        "restore", "Bring a deleted or archived memory back: it returns to search and listings."
    )

    @server.tool()
    def memory_feedback(
        ctx: Context,
        search_id: Annotated[str, Field(description="The search_id of the search answered.")],
        used: Annotated[list[str], Field(description="Ids of the hits the answer used.")],
        unused: Annotated[
            list[str] | None, Field(description="Hits it did not use (default: the others).")
        ] = None,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
    ) -> FeedbackOut:
        """Say which memories of a search the answer used. Used memories grow stronger, and
        search learns to rank such memories above the unused ones."""
        result = memory(ctx).feedback(
            search_id,
            used,
            unused,
            **confined.confine(user_id, agent_id, run_id),
        )
        return FeedbackOut(used=result.used, unused=result.unused, pairs=result.pairs)

    @server.tool()
    def list_memories(
        ctx: Context,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        limit: Annotated[int, Field(ge=1, le=200, description="Page size.")] = 20,
        cursor: Annotated[
            str | None, Field(description="next_cursor of the previous page.")
        ] = None,
        kinds: Kinds = None,
        states: Annotated[
            list[MemoryState] | None,
            Field(description="active (default), archived, deleted."),
        ] = None,
        where: Where = None,
    ) -> PageOut:
        """List memories, newest first, one page at a time."""
        page = memory(ctx).list(
            limit=limit,
            cursor=cursor,
            kinds=kinds,
            states=states,
            where=where,
            **confined.confine(user_id, agent_id, run_id),
        )
        return PageOut(memories=[memory_out(r) for r in page.records], next_cursor=page.next_cursor)

    @server.tool()
    def delete_memories(
        ctx: Context,
        ids: BatchIds = None,
        where: Where = None,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        dry_run: DryRun = False,
        reason: Reason = None,
    ) -> BatchOut:
        """Forget many memories at once, by ids or by a filter (where). The deletes are soft
        (restore_memories brings them back). With dry_run, only count them first."""
        result = memory(ctx).delete_many(
            ids, where=where, dry_run=dry_run, reason=reason,
            **confined.confine(user_id, agent_id, run_id),
        )  # fmt: skip
        return batch_out(result)

    @server.tool()
    def restore_memories(
        ctx: Context,
        ids: BatchIds = None,
        where: Where = None,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        dry_run: DryRun = False,
        reason: Reason = None,
    ) -> BatchOut:
        """Bring many deleted or archived memories back, by ids or by a filter (where)."""
        result = memory(ctx).restore_many(
            ids, where=where, dry_run=dry_run, reason=reason,
            **confined.confine(user_id, agent_id, run_id),
        )  # fmt: skip
        return batch_out(result)

    @server.tool()
    def update_memories(
        ctx: Context,
        metadata: Annotated[
            dict[str, Any],
            Field(description="Merged into each memory's metadata (a key set to null is removed)."),
        ],
        ids: BatchIds = None,
        where: Where = None,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        dry_run: DryRun = False,
        reason: Reason = None,
    ) -> BatchOut:
        """Change the metadata of many memories at once, by ids or by a filter (where). Each
        gets a new version; the old ones stay in its history. With dry_run, only count them."""
        result = memory(ctx).update_many(
            ids, where=where, metadata=metadata, dry_run=dry_run, reason=reason,
            **confined.confine(user_id, agent_id, run_id),
        )  # fmt: skip
        return batch_out(result)

    @server.tool()
    def memory_history(
        ctx: Context,
        memory_id: MemoryId,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
    ) -> HistoryOut:
        """Every change to a memory, oldest first: added, updated (with the previous text),
        deleted, restored, each with its time and reason."""
        events = memory(ctx).history(memory_id, **confined.confine(user_id, agent_id, run_id))
        return HistoryOut(events=[history_out(e) for e in events])

    @server.tool()
    def get_profile(
        ctx: Context,
        person: Annotated[
            str | None, Field(description="A name or nickname: that person only.")
        ] = None,
        budget: Annotated[
            int, Field(ge=0, le=20_000, description="Characters of text at most.")
        ] = 2000,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
    ) -> str:
        """What the people of this scope said about themselves (where they live, work, family,
        allergies, likes, goals, routines), one line per person with the names they go by, each
        trait with the date it became true."""
        where = confined.confine(user_id, agent_id, run_id)
        return memory(ctx).profile(person=person, budget=budget, **where).text

    return server


class RequireKey:
    """ASGI middleware: 401 for a request without a valid API key (when keys are required)."""

    def __init__(self, app: ASGIApp, keyring: Keyring) -> None:
        self.app = app
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.keyring.required:
            header = dict(scope.get("headers", ())).get(b"authorization")
            authorization = header.decode("latin-1") if header else None
            if self.keyring.tenant_for(authorization) is None:
                from starlette.responses import JSONResponse

                response = JSONResponse(
                    {"error": {"code": "unauthorized", "message": "a valid API key is required"}},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, keyring: Keyring, *, host: str = "127.0.0.1") -> ASGIApp:
    """The streamable-HTTP app (at ``/mcp``), behind ``RequireKey``."""
    return RequireKey(server.streamable_http_app(host=host), keyring)
