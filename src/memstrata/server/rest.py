"""The REST server: ``create_app`` builds a FastAPI app over one store, shared by all tenants.

Each request is served by the ``Memory`` of its API key's tenant (``Memory(store=shared,
tenant=t)``), so the tenant is part of every store query; nothing is filtered afterwards. Routes
hold no logic: they check the wire format, call one ``Memory`` verb and shape its answer. A
request body's fields are the verb's parameters (``tests/conventions/test_faces.py`` checks
it), so a route passes them on as they are.
A memory of another tenant answers exactly like one that never existed (404 ``not_found``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path as FilePath
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import ConfigDict, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount, Route
from starlette.types import Scope

from memstrata.errors import InvalidInputError, MemstrataError
from memstrata.memory import Memory
from memstrata.options import Extraction, Retrieval
from memstrata.ports import LLM, Clock, Embedder, Link, Store
from memstrata.read.entities import entity_key
from memstrata.server import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMPORT_BYTES
from memstrata.server.auth import Keyring, Tenants
from memstrata.server.errors import validation_message
from memstrata.server.gate import NDJSON, BodyLimit, Policy, RequestGate, error_response
from memstrata.server.metrics import Metrics, MetricsMiddleware
from memstrata.server.ndjson import spool_lines, stream_writes
from memstrata.server.openapi import describe
from memstrata.server.schemas import (
    AGENT,
    HISTORY,
    RUN,
    USER,
    AddIn,
    AddOut,
    AliasOut,
    BatchIn,
    BatchOut,
    BatchUpdateIn,
    ChangeOut,
    CountOut,
    EntityOut,
    EntityViewOut,
    ErrorOut,
    ExtractionIn,
    FeedbackIn,
    FeedbackOut,
    FiltersIn,
    GraphEdgeOut,
    GraphNodeOut,
    GraphOut,
    HealthOut,
    HistoryEventOut,
    Id,
    Limit,
    LinkOut,
    MaintainOut,
    MemoryOut,
    MessageOut,
    MetadataFilter,
    PageOut,
    PersonOut,
    ProfileOut,
    ProfilesOut,
    Reason,
    RememberIn,
    ScopeOut,
    SearchIn,
    SearchOut,
    Text,
    Timestamp,
    TraitOut,
    TripleOut,
    UpdateIn,
    WhoAmIOut,
    batch_out,
    history_out,
    hit_out,
    memory_out,
    message_out,
)
from memstrata.types import (
    DEFAULT_TENANT,
    Change,
    Filters,
    Layer,
    MemoryKind,
    MemoryRecord,
    MemoryState,
)
from memstrata.types import Scope as MemoryScope
from memstrata.where import from_text as where_from_text
from memstrata.where import to_json as where_json
from memstrata.write.pipeline import PipelineReport

#: HTTP status for each ``MemstrataError.code``; an error whose own code is not here takes its
#: parent class's (a read-only store is a store error: 503), so no library error is a 500.
STATUS_BY_CODE: dict[str, int] = {
    "invalid_input": 422,
    "configuration": 400,
    "scope_required": 422,
    "confirmation_required": 400,
    "not_found": 404,
    "conflict": 409,
    "llm_error": 502,
    "embedder_error": 502,
    "store_error": 503,
}
CODE_BY_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}
#: The route that reads a JSON Lines body, as a stream under limits of its own.
IMPORT_PATH = "/v1/import"
#: The dashboard's files (``index.html`` is served at ``/``, the rest under ``/ui/``).
WEB_DIR = FilePath(__file__).resolve().parent.parent / "web"
#: The dashboard loads nothing from anywhere but this server.
DASHBOARD_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
EdgeType = Literal["link", "mentions", "relation"]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "A body that is not UTF-8 JSON, a destructive call without confirm=true, or a "
        "feature this server is not configured for",
        401: "Missing or unknown API key",
        403: "Sent by a web page of another origin than this server's and the allowed ones",
        404: "No such memory in this scope (also for another tenant's ids)",
        409: "The memory changed since expected_version, or the id exists",
        413: "The request body is larger than the server accepts",
        415: "A body whose Content-Type is not the one the call reads",
        421: "A Host header naming a host this server does not answer to",
        422: "Invalid input: the message says which field and why",
    }
    return {s: {"model": ErrorOut, "description": text[s]} for s in statuses}


COMMON = (400, 401, 403, 413, 415, 421, 422)


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `memstrata keys create`: `Authorization: Bearer ms_…`",
)


async def request_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> str:
    """The tenant the request acts for: its API key's, looked up in the store in the thread
    pool, or, on a server that requires no key, the open tenant, on the event loop."""
    keyring: Keyring = request.app.state.keyring
    authorization = request.headers.get("authorization")
    tenant = (
        await run_in_threadpool(keyring.tenant_for, authorization)
        if keyring.required
        else keyring.open_tenant
    )
    if tenant is None:
        raise HTTPException(
            401,
            "a valid API key is required: send `Authorization: Bearer ms_…`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return tenant


async def request_memory(
    request: Request, tenant: Annotated[str, Depends(request_tenant)]
) -> Memory:
    """The tenant's ``Memory``: on the event loop when the server has one already (a dict
    lookup), in the thread pool when it must be made."""
    tenants: Tenants = request.app.state.tenants
    memory = tenants.known(tenant)
    return memory if memory is not None else await run_in_threadpool(tenants.memory, tenant)


def scope_query(
    user_id: Annotated[Id | None, Query(description=USER)] = None,
    agent_id: Annotated[Id | None, Query(description=AGENT)] = None,
    run_id: Annotated[Id | None, Query(description=RUN)] = None,
) -> dict[str, Any]:
    return {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}


Mem = Annotated[Memory, Depends(request_memory)]
ScopeArgs = Annotated[dict[str, Any], Depends(scope_query)]
MemoryId = Annotated[str, Path(min_length=1, description="The memory's id.")]
ReasonArg = Annotated[Reason | None, Query(description="Why (kept in history).")]
_FILTER: TypeAdapter[dict[str, Any]] = TypeAdapter(MetadataFilter, config=ConfigDict(strict=True))
#: A page's ``next_cursor`` (the stores count pages by row number); empty for the first page.
CURSOR = r"^([0-9]{1,18})?$"


def to_filters(f: FiltersIn) -> Filters:
    return Filters(
        kinds=tuple(f.kinds or ()),
        states=("active",) if f.states is None else tuple(f.states),
        layers=tuple(f.layers or ()),
        since=f.since,
        until=f.until,
        metadata=dict(f.metadata or {}),
        actor=f.actor,
        where=f.where,
    )


def metadata_query(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        return _FILTER.validate_python(json.loads(text))
    except (ValueError, ValidationError):
        raise InvalidInputError(
            'metadata must be a JSON object of scalar values, e.g. {"topic": "travel"}'
        ) from None


def where_query(text: str | None) -> dict[str, Any] | None:
    """A ``where`` query parameter: a filter expression as JSON text (checked by the library:
    ``InvalidInputError`` saying where and why it is wrong)."""
    expr = where_from_text(text)
    return None if expr is None else where_json(expr)


def link_out(memory_id: str, link: Link, other: MemoryRecord) -> LinkOut:
    return LinkOut(
        kind=link.kind,
        direction="out" if link.source == memory_id else "in",
        score=link.score,
        at=link.at,
        memory=memory_out(other),
    )


def scope_graph(mem: Memory, scope: dict[str, Any], filters: Filters, limit: int) -> GraphOut:
    """The graph of a scope's newest ``limit`` memories that match ``filters``: those that
    name an entity or link to another of them, the entities they name (with their mention
    counts), the links between them and the relations between the entities."""
    records = mem.list(limit=limit, filters=filters, **scope).records
    listed = {r.id for r in records}
    nodes: dict[str, GraphNodeOut] = {}
    edges: dict[tuple[str, str, str], GraphEdgeOut] = {}
    names: dict[str, str] = {}

    def memory_node(record: MemoryRecord) -> str:
        node = f"memory:{record.id}"
        nodes.setdefault(node, GraphNodeOut(id=node, type="memory", label=record.text,
                                            memory_id=record.id, kind=record.kind,
                                            state=record.state))  # fmt: skip
        return node

    def edge(source: str, target: str, type_: EdgeType, label: str, score: float | None) -> None:
        edges.setdefault(
            (source, target, label),
            GraphEdgeOut(source=source, target=target, type=type_, label=label, score=score),
        )

    for record in records:
        for name in record.entities:
            key = entity_key(name)
            if key:
                names.setdefault(key, name)
                edge(memory_node(record), f"entity:{key}", "mentions", "mentions", None)
        for link, other in mem.links(record.id, **scope):
            if other.id in listed:
                ends = (memory_node(record), memory_node(other))
                source, target = ends if link.source == record.id else ends[::-1]
                edge(source, target, "link", link.kind, link.score)
    if names:
        where = MemoryScope(tenant=mem.tenant, **scope)
        counts = {e.key: e for e in mem.store.find_entities(where, list(names), limit=len(names))}
        for key, name in names.items():
            found = counts.get(key)
            nodes[f"entity:{key}"] = GraphNodeOut(
                id=f"entity:{key}", type="entity", label=found.name if found else name,
                mentions=found.mentions if found else None,
            )  # fmt: skip
        for t in mem.store.relations(where, list(names), limit=5 * len(names)):
            ends = (f"entity:{t.subject_key}", f"entity:{t.object_key}")
            if ends[0] in nodes and ends[1] in nodes and ends[0] != ends[1]:
                edge(*ends, "relation", t.predicate.replace("_", " "), None)
    return GraphOut(nodes=list(nodes.values()), edges=list(edges.values()))


def query_params(dependant: Dependant) -> list[Any]:
    """The query parameters (FastAPI's fields) a route and its dependencies read."""
    found: list[Any] = list(dependant.query_params)
    for dependency in dependant.dependencies:
        found += query_params(dependency)
    return found


def takes_list(annotation: Any) -> bool:
    """Whether a parameter's type is a list, or a list or ``None``."""
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return origin in (Union, UnionType) and any(takes_list(a) for a in get_args(annotation))


async def known_query(request: Request, tenant: Annotated[str, Depends(request_tenant)]) -> None:
    """Refuse a query parameter the route does not read (422), as its schema does: a typo such
    as ``?user=ada`` would otherwise be dropped without a word; and one given more than once
    that takes one value (``?run_id=a&run_id=b``). (The API key comes first.) It only reads
    the request, so it runs on the event loop."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    params = query_params(dependant)
    known = {p.alias for p in params}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise InvalidInputError(
            f"unknown query parameter {', '.join(map(repr, unknown))}; this call takes: {takes}"
        )
    # One value of a parameter that takes one: FastAPI would keep the last without a word.
    given = Counter(name for name, _ in request.query_params.multi_items())
    listed = {p.alias for p in params if takes_list(p.field_info.annotation)}
    repeated = sorted(name for name, count in given.items() if count > 1 and name not in listed)
    if repeated:
        raise InvalidInputError(
            f"query parameter {', '.join(map(repr, repeated))} more than once; it takes one value"
        )


class ThreadedRoute(APIRoute):
    """A route whose plain (``def``) endpoint is called in the thread pool from an ``async``
    one. FastAPI runs a plain endpoint in the pool and then checks its answer against the
    response model in the pool again; from an ``async`` endpoint it checks the answer where it
    is, on the event loop. One trip through the pool a request instead of two: under load each
    trip waits for a thread and wakes the event loop."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = threaded(endpoint)
        super().__init__(path, endpoint, **kwargs)


def threaded(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine that calls it in the thread pool (its signature kept, for
    FastAPI to read its parameters and response model)."""

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


def build_router() -> APIRouter:
    router = APIRouter(
        prefix="/v1",
        responses=_errors(*COMMON),
        dependencies=[Depends(known_query)],
        route_class=ThreadedRoute,
    )
    one = _errors(404)

    @router.post("/memories", status_code=201, tags=["write"])
    def add(body: AddIn, mem: Mem) -> AddOut:
        """Remember messages: each becomes an episode memory whose `sources` is its message id.
        A message id already stored in the scope is listed in `duplicates`, not stored twice."""
        messages = [
            m if isinstance(m, str) else m.model_dump(exclude_none=True) for m in body.messages
        ]
        result = mem.add(
            messages, metadata=body.metadata, timestamp=body.timestamp,
            extraction=body.extraction, expires_at=body.expires_at, **body.scope(),
        )  # fmt: skip
        return AddOut(
            added=[memory_out(r) for r in result.added], duplicates=list(result.duplicates)
        )

    @router.post("/memories/remember", status_code=201, tags=["write"])
    def remember(body: RememberIn, mem: Mem) -> MemoryOut:
        """Store a derived memory (fact, summary, thought, procedure, working note) directly.
        Its `sources` must be ids of messages already stored in the scope."""
        record = mem.remember(**body.model_dump())  # its fields are the verb's
        return memory_out(record)

    @router.post("/memories/search", tags=["read"])
    def search(body: SearchIn, mem: Mem) -> SearchOut:
        """The memories that best answer `query`, best first, each with the signals that found
        it. Filters apply inside the store, before ranking."""
        result = mem.search(
            body.query,
            limit=body.limit,
            filters=to_filters(body),
            as_of=body.as_of,
            budget=body.budget,
            history=body.history,
            **body.scope(),
        )
        return SearchOut(
            search_id=result.search_id, query=result.query, hits=[hit_out(h) for h in result]
        )

    @router.post("/feedback", responses=_errors(404), tags=["learn"])
    def feedback(body: FeedbackIn, mem: Mem) -> FeedbackOut:
        """Say which hits of a search the answer used: they grow stronger, and the reranker
        learns that they beat the unused ones."""
        result = mem.feedback(**body.model_dump())
        return FeedbackOut(used=result.used, unused=result.unused, pairs=result.pairs)

    @router.post("/maintain", tags=["learn"])
    def maintain(
        mem: Mem,
        scope: ScopeArgs,
        dry_run: Annotated[bool, Query(description="Only report what would be archived.")] = False,
    ) -> MaintainOut:
        """Archive the memories of a scope that have expired or faded (restorable); also forget
        the searches older than the server keeps them and tidy the store's keyword index."""
        return MaintainOut(archived=mem.maintain(dry_run=dry_run, **scope))

    @router.post("/reprocess", responses=_errors(400), tags=["learn"])
    def reprocess(
        mem: Mem,
        scope: ScopeArgs,
        dry_run: Annotated[bool, Query(description="Only count what would be done.")] = False,
    ) -> PipelineReport:
        """Run the LLM write path over the messages of a scope it has not done yet (400
        `configuration` when the server has no language model)."""
        return mem.reprocess(dry_run=dry_run, **scope)

    @router.get("/memories", tags=["read"])
    def list_memories(
        mem: Mem,
        scope: ScopeArgs,
        limit: Annotated[Limit, Query()] = 50,
        cursor: Annotated[
            str | None, Query(pattern=CURSOR, description="The previous page's `next_cursor`.")
        ] = None,
        kind: Annotated[list[MemoryKind] | None, Query(description="Only these kinds.")] = None,
        state: Annotated[list[MemoryState] | None, Query(description="Default: active.")] = None,
        layer: Annotated[list[Layer] | None, Query()] = None,
        since: Annotated[Timestamp | None, Query(description="Event time from.")] = None,
        until: Annotated[Timestamp | None, Query(description="Event time until.")] = None,
        actor: Annotated[str | None, Query(max_length=256)] = None,
        metadata: Annotated[
            str | None, Query(description='A JSON object of scalars, e.g. {"topic":"x"}')
        ] = None,
        where: Annotated[
            str | None,
            Query(
                description='A filter expression as JSON, e.g. {"importance":{">=":0.5}} '
                "(docs/filters.md)."
            ),
        ] = None,
        history: Annotated[bool, Query(description=HISTORY)] = False,
    ) -> PageOut:
        """Memories of a scope, newest first, one page at a time."""
        filters = FiltersIn(
            kinds=kind,
            states=state,
            layers=layer,
            since=since,
            until=until,
            actor=actor,
            metadata=metadata_query(metadata),
            where=where_query(where),
        )
        page = mem.list(
            limit=limit, cursor=cursor, filters=to_filters(filters), history=history, **scope
        )
        return PageOut(memories=[memory_out(r) for r in page.records], next_cursor=page.next_cursor)

    @router.get("/memories/{memory_id}", responses=one, tags=["read"])
    def get(
        memory_id: MemoryId,
        mem: Mem,
        scope: ScopeArgs,
        as_of: Annotated[
            Timestamp | None, Query(description="The version current at that moment.")
        ] = None,
    ) -> MemoryOut:
        """One memory by id, in any state."""
        return memory_out(mem.get(memory_id, as_of=as_of, **scope))

    @router.patch("/memories/{memory_id}", responses=_errors(404, 409), tags=["write"])
    def update(memory_id: MemoryId, body: UpdateIn, mem: Mem, scope: ScopeArgs) -> MemoryOut:
        """Write a new version (the old one is kept; see `versions`)."""
        record = mem.update(memory_id, **body.model_dump(), **scope)
        return memory_out(record)

    def state_change(verb: str, doc: str) -> Callable[..., MemoryOut]:
        def change(
            memory_id: MemoryId, mem: Mem, scope: ScopeArgs, reason: ReasonArg = None
        ) -> MemoryOut:
            return memory_out(getattr(mem, verb)(memory_id, reason=reason, **scope))

        change.__doc__ = doc
        change.__name__ = verb
        return change

    router.delete("/memories/{memory_id}", responses=one, tags=["write"])(
        state_change("delete", "Soft-delete: out of search and listings, restorable.")
    )
    router.post("/memories/{memory_id}/restore", responses=one, tags=["write"])(
        state_change("restore", "Bring a deleted or archived memory back to active.")
    )
    router.post("/memories/{memory_id}/archive", responses=one, tags=["write"])(
        state_change("archive", "Archive: out of default search, kept, restorable.")
    )

    @router.post(
        "/memories/{memory_id}/purge",
        status_code=204,
        response_class=Response,
        responses=_errors(400, 404),
        tags=["write"],
    )
    def purge(
        memory_id: MemoryId,
        mem: Mem,
        scope: ScopeArgs,
        confirm: Annotated[bool, Query(description="Must be true.")] = False,
    ) -> Response:
        """Erase a memory with its versions and history, for good."""
        mem.purge(memory_id, confirm=confirm, **scope)
        return Response(status_code=204)

    @router.get("/memories/{memory_id}/versions", responses=one, tags=["read"])
    def versions(memory_id: MemoryId, mem: Mem, scope: ScopeArgs) -> list[MemoryOut]:
        """Every version, oldest first; the last is the current one."""
        return [memory_out(r) for r in mem.versions(memory_id, **scope)]

    @router.get("/memories/{memory_id}/history", responses=one, tags=["read"])
    def history(memory_id: MemoryId, mem: Mem, scope: ScopeArgs) -> list[HistoryEventOut]:
        """Every change, oldest first: operation, time, reason, prompt version."""
        return [history_out(e) for e in mem.history(memory_id, **scope)]

    @router.get("/memories/{memory_id}/sources", responses=one, tags=["read"])
    def sources(memory_id: MemoryId, mem: Mem, scope: ScopeArgs) -> list[MessageOut]:
        """The original messages the memory came from."""
        return [message_out(m) for m in mem.sources(memory_id, **scope)]

    @router.get("/memories/{memory_id}/links", responses=one, tags=["read"])
    def links(memory_id: MemoryId, mem: Mem, scope: ScopeArgs) -> list[LinkOut]:
        """The memories linked to this one (`related` notes, `supersedes`), oldest link first,
        each with the memory at the other end."""
        return [link_out(memory_id, x, other) for x, other in mem.links(memory_id, **scope)]

    @router.get("/entities", tags=["read"])
    def entities(
        mem: Mem,
        scope: ScopeArgs,
        limit: Annotated[Limit, Query(description="The most mentioned this many.")] = 100,
    ) -> list[EntityOut]:
        """The entities (people, places, things) the scope's memories name, most mentioned
        first."""
        return [EntityOut.model_validate(asdict(e)) for e in mem.entities(limit=limit, **scope)]

    @router.get("/entities/about", tags=["read"])
    def about(
        mem: Mem,
        scope: ScopeArgs,
        name: Annotated[
            Text, Query(max_length=256, description="The entity's name, as written anywhere.")
        ],
        limit: Annotated[Limit, Query(description="The newest this many memories.")] = 20,
    ) -> EntityViewOut | None:
        """What the scope's memory holds about one entity: its relations and the memories that
        name it; `null` when the scope names no such entity."""
        view = mem.about(name, limit=limit, **scope)
        if view is None:
            return None
        return EntityViewOut(
            entity=EntityOut.model_validate(asdict(view.entity)),
            relations=[TripleOut.model_validate(asdict(t)) for t in view.relations],
            memories=[memory_out(r) for r in view.memories],
        )

    @router.get("/scopes", tags=["read"])
    def scopes(mem: Mem) -> list[ScopeOut]:
        """The scopes of your tenant with their memory counts."""
        return [ScopeOut.model_validate(s) for s in mem.scopes()]

    @router.put("/extraction", tags=["write"])
    def set_extraction(body: ExtractionIn, mem: Mem) -> Extraction | None:
        """Give a scope extraction rules of its own (instructions, topics to keep to or leave
        out, category labels), used when the server's language model extracts facts; `null`
        returns the scope to the server's rules. Returns the rules that now apply."""
        mem.set_extraction(body.extraction, **body.scope())
        return mem.extraction(**body.scope())

    @router.get("/extraction", tags=["read"])
    def extraction(mem: Mem, scope: ScopeArgs) -> Extraction | None:
        """The extraction rules that apply to a scope: its own, else the server's (`null`
        when there are none)."""
        return mem.extraction(**scope)

    @router.get("/people", tags=["read"])
    def people(mem: Mem, scope: ScopeArgs) -> list[PersonOut]:
        """The people who speak in a scope, most talkative first, with the other names they go
        by (learned from how the others address them) and the messages that say so."""
        return [
            PersonOut(
                name=p.name,
                aliases=[
                    AliasOut(name=a.name, count=a.count, sources=list(a.sources)) for a in p.aliases
                ],
                messages=p.messages,
            )
            for p in mem.people(**scope)
        ]

    @router.get("/profile", tags=["read"])
    def profile(
        mem: Mem,
        scope: ScopeArgs,
        person: Annotated[Id | None, Query(description="A name or alias: one person.")] = None,
        budget: Annotated[int, Query(ge=0, le=1_000_000, description="Characters of text.")] = 2000,
    ) -> ProfilesOut:
        """What the people of a scope said about themselves, as sourced and dated traits with
        their history, and as compact text within ``budget`` characters."""
        view = mem.profile(person=person, budget=budget, **scope)

        def traits(found: Sequence[Any]) -> list[TraitOut]:
            return [TraitOut.model_validate(t.to_dict()) for t in found]

        return ProfilesOut(
            profiles=[
                ProfileOut(
                    person=p.person,
                    names=list(p.names),
                    traits=traits(p.traits),
                    history=traits(p.history),
                )
                for p in view.profiles
            ],
            text=view.text,
        )

    @router.get("/changes", tags=["read"])
    def changes(
        mem: Mem,
        scope: ScopeArgs,
        after: Annotated[int, Query(ge=0, le=2**62, description="The last change id seen.")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[ChangeOut]:
        """The changes to your tenant's memories after ``after``, oldest first (of the
        memories a scope covers, when one is given)."""
        return [change_out(c) for c in mem.changes(after=after, limit=limit, **scope)]

    @router.get(
        "/events",
        response_class=StreamingResponse,
        responses={200: {"content": {EVENT_STREAM: {"schema": {"type": "string"}}}}},
        tags=["read"],
    )
    async def events(
        request: Request,
        mem: Mem,
        scope: ScopeArgs,
        after: Annotated[int | None, Query(ge=0, le=2**62, description="Resume after.")] = None,
        timeout: Annotated[float, Query(gt=0, le=3600, description="Seconds to stream.")] = 300,
        last_event_id: Annotated[str | None, Header(description="Set by EventSource.")] = None,
    ) -> StreamingResponse:
        """The change feed as server-sent events (`id`, `event`: the operation, `data`: the
        change as JSON), from after ``after`` (or the `Last-Event-ID` a reconnecting
        EventSource sends) on, new ones as they are written, for ``timeout`` seconds; an
        EventSource then reconnects where it left off."""
        start = after if after is not None else event_id(last_event_id)
        feed = sse_changes(request, mem, scope, start, timeout)
        return StreamingResponse(
            feed, media_type=EVENT_STREAM, headers={"Cache-Control": "no-cache"}
        )

    @router.get("/graph", tags=["read"])
    def graph_of_scope(
        mem: Mem,
        scope: ScopeArgs,
        limit: Annotated[Limit, Query(description="The newest this many memories.")] = 200,
        kind: Annotated[list[MemoryKind] | None, Query(description="Only these kinds.")] = None,
        state: Annotated[list[MemoryState] | None, Query(description="Default: active.")] = None,
    ) -> GraphOut:
        """Linked memories and the entities they name: the scope's newest memories that name
        an entity or link to another, with the relations between the entities."""
        filters = FiltersIn(
            kinds=kind, states=state, layers=None, since=None, until=None, metadata=None,
            actor=None, where=None,
        )  # fmt: skip
        return scope_graph(mem, scope, to_filters(filters), limit)

    @router.post("/reset", responses=_errors(400), tags=["write"])
    def reset(
        mem: Mem,
        scope: ScopeArgs,
        confirm: Annotated[bool, Query(description="Must be true.")] = False,
        all_users: Annotated[
            bool,
            Query(
                description="Must be true when the scope, without `user_id`, holds the "
                "memories of more than one user."
            ),
        ] = False,
    ) -> CountOut:
        """Erase every memory and message of a scope, for good. A scope without `user_id`
        matches every user's memories of that agent or run."""
        return CountOut(memories=mem.reset(confirm=confirm, all_users=all_users, **scope))

    @router.get(
        "/export",
        response_class=StreamingResponse,
        responses={200: {"content": {NDJSON: {"schema": {"type": "string"}}}}},
        tags=["transfer"],
    )
    async def export(mem: Mem, scope: ScopeArgs) -> StreamingResponse:
        """A scope as JSON Lines: messages, memories, versions and history, sent as it is
        read."""
        chunks = await stream_writes(lambda out: mem.export(out, **scope))
        return StreamingResponse(chunks, media_type=NDJSON)

    @router.post(
        "/import",
        responses=_errors(409),
        tags=["transfer"],
    )
    async def import_(request: Request, mem: Mem) -> CountOut:
        """Read a JSON Lines export into your tenant: all of it, or nothing. The body is read
        as a stream: each line within the body limit, the whole within the import limit."""
        line_limit, total_limit = request.app.state.import_limits
        body = request.stream()
        with await spool_lines(body, line_limit=line_limit, total_limit=total_limit) as text:
            count = await run_in_threadpool(mem.import_, text)
        return CountOut(memories=count)

    @router.get("/whoami", tags=["meta"])
    def whoami(request: Request, tenant: Annotated[str, Depends(request_tenant)]) -> WhoAmIOut:
        """The tenant your API key acts for."""
        return WhoAmIOut(tenant=tenant, authenticated=request.app.state.keyring.required)

    add_batch_routes(router)
    return router


def add_batch_routes(router: APIRouter) -> None:
    """The batch changes: many memories by ids or by a ``where`` filter, in one transaction,
    with a dry run that only counts (``write.batch``)."""
    responses = _errors(404, 409)

    @router.post("/batch/delete", responses=responses, tags=["write"])
    def delete_many(body: BatchIn, mem: Mem) -> BatchOut:
        """Soft-delete many memories in one transaction; each stays restorable until purged."""
        return batch_out(mem.delete_many(body.ids, **body.selection()))

    @router.post("/batch/restore", responses=responses, tags=["write"])
    def restore_many(body: BatchIn, mem: Mem) -> BatchOut:
        """Bring many deleted or archived memories back to active, in one transaction."""
        return batch_out(mem.restore_many(body.ids, **body.selection()))

    @router.post("/batch/update", responses=responses, tags=["write"])
    def update_many(body: BatchUpdateIn, mem: Mem) -> BatchOut:
        """Write a new version of many memories in one transaction (old versions are kept):
        metadata merged in, validity and expiry times set."""
        result = mem.update_many(
            body.ids, metadata=body.metadata, valid_from=body.valid_from,
            valid_to=body.valid_to, expires_at=body.expires_at, **body.selection(),
        )  # fmt: skip
        return batch_out(result)


def route_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods served at a request's path, OPTIONS included; empty when nothing is served
    there. Where templates overlap (``/v1/memories/search`` also fits
    ``/v1/memories/{memory_id}``), the one with the fewest parameters names the resource."""
    routes = [r for r in app.router.routes if isinstance(r, Route | Mount)]
    found: dict[str, set[str]] = {}
    for route in [*routes, *app.state.api.routes]:
        if route.matches(scope)[0] == Match.NONE:
            continue
        methods = {"GET"} if isinstance(route, Mount) else (route.methods or set())
        found.setdefault(route.path, set()).update(methods)
    if not found:
        return []
    resource = min(found, key=lambda template: template.count("{"))
    return sorted((found[resource] - {"HEAD"}) | {"OPTIONS"})


EVENT_STREAM = "text/event-stream"
#: How often the event stream looks for new changes, and sends a comment to keep it open.
EVENT_POLL_SECONDS = 0.5
EVENT_KEEPALIVE_SECONDS = 15.0


def change_out(change: Change) -> ChangeOut:
    return ChangeOut.model_validate(change.to_dict())


def event_id(header: str | None) -> int:
    """The change id a reconnecting EventSource resumes after (``Last-Event-ID``)."""
    if header is None or not header.strip():
        return 0
    try:
        value = int(header)
    except ValueError:
        value = -1
    if not 0 <= value <= 2**62:
        raise InvalidInputError(f"Last-Event-ID {header[:40]!r} is not a change id")
    return value


async def sse_changes(
    request: Request, mem: Memory, scope: dict[str, Any], after: int, timeout: float
) -> AsyncIterator[str]:
    """Changes as server-sent events until the client leaves or ``timeout`` passes."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    quiet_since = loop.time()
    yield "retry: 1000\n\n"
    while loop.time() < end and not await request.is_disconnected():
        found = await run_in_threadpool(mem.changes, after=after, limit=1000, **scope)
        for change in found:
            data = change_out(change).model_dump_json()
            yield f"id: {change.id}\nevent: {change.op}\ndata: {data}\n\n"
            after = change.id
        if found:
            quiet_since = loop.time()
        elif loop.time() - quiet_since >= EVENT_KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            quiet_since = loop.time()
        if len(found) < 1000:
            await asyncio.sleep(EVENT_POLL_SECONDS)


def status_of(error: MemstrataError) -> int:
    """The HTTP status of a library error: its code's, else the nearest parent class's."""
    for cls in type(error).__mro__:
        code = getattr(cls, "code", None)
        if code in STATUS_BY_CODE:
            return STATUS_BY_CODE[code]
    return 500


def install_error_handlers(app: FastAPI) -> None:
    async def memstrata_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MemstrataError)
        return error_response(status_of(exc), exc.code, str(exc))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return error_response(422, "invalid_input", validation_message(errors), errors)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = CODE_BY_STATUS.get(exc.status_code, "error")
        headers = exc.headers
        if exc.status_code == 405:
            allow = ", ".join(route_methods(request.app, request.scope))
            headers = {**(headers or {}), "Allow": allow}
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

    async def unexpected(request: Request, exc: Exception) -> Response:
        return error_response(500, "internal", "the server failed; see its log for the cause")

    app.add_exception_handler(MemstrataError, memstrata_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


class DashboardFiles(StaticFiles):
    """The dashboard's static files, with its security headers."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(DASHBOARD_HEADERS)
        return response


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard: its page at ``/``, its scripts and styles under ``/ui/``. It is
    static; its data comes from the ``/v1`` API with the user's API key, like any client."""

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers=DASHBOARD_HEADERS)

    app.mount("/ui", DashboardFiles(directory=WEB_DIR), name="ui")


def document_rules(app: FastAPI, *, keys: bool) -> None:
    """Write the server's own rules into its OpenAPI schema (see ``openapi.describe``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(build(), keys=keys)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    store: Store | str | FilePath,
    *,
    embedder: Embedder | str | None = "minilm",
    retriever: str | Retrieval = "default",
    clock: Clock | None = None,
    llm: LLM | None = None,
    require_keys: bool | None = None,
    tenant: str = DEFAULT_TENANT,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_import_bytes: int | None = DEFAULT_MAX_IMPORT_BYTES,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    parallel_searches: int | threading.Semaphore = 1,
) -> FastAPI:
    """The REST app over one store.

    ``store`` and ``embedder`` are objects (shared by every tenant) or specs as ``Memory`` takes
    them; ``llm`` turns on the LLM write path as in ``Memory``. ``require_keys=None`` requires
    an API key on every request when the store holds any active key at start-up; without keys
    every request acts for ``tenant``.

    ``parallel_searches`` bounds the searches run at once, for every tenant together (as in
    ``Memory``). ``max_body_bytes`` bounds a request body, and each line of an import, whose
    whole body ``max_import_bytes`` bounds (None: no bound). The server answers loopback host
    names and ``allowed_hosts``, and web pages of its own origin and ``allowed_origins`` (see
    ``gate``).
    """
    from memstrata.version import __version__

    policy = Policy(  # checked before the store opens
        hosts=tuple(allowed_hosts),
        origins=tuple(allowed_origins),
        ndjson_paths=frozenset({IMPORT_PATH}),
    )
    tenants = Tenants(
        store, embedder=embedder, retriever=retriever, clock=clock, tenant=tenant, llm=llm,
        parallel_searches=parallel_searches,
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        tenants.close()

    app = FastAPI(
        title="memstrata",
        version=__version__,
        description=(
            "Long-term memory for LLM agents. Every call names a scope (`user_id`, `agent_id`, "
            "`run_id`); with API keys configured, each key is confined to its tenant."
        ),
        lifespan=lifespan,
    )
    app.state.keyring = Keyring(tenants.store, required=require_keys, open_tenant=tenant)
    app.state.tenants = tenants
    metrics = Metrics()
    app.state.metrics = metrics
    install_error_handlers(app)
    app.state.api = build_router()
    app.include_router(app.state.api)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> HealthOut:
        """Liveness: answers while the process serves requests."""
        return HealthOut(status="ok", version=__version__)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["meta"])
    def metrics_text() -> str:
        """Request counts and latency per route, in the Prometheus text format."""
        return metrics.render()

    mount_dashboard(app)
    document_rules(app, keys=app.state.keyring.required)
    app.state.import_limits = (max_body_bytes, max_import_bytes)
    app.add_middleware(BodyLimit, limit=max_body_bytes, exempt={IMPORT_PATH})
    app.add_middleware(RequestGate, policy=policy, methods=lambda scope: route_methods(app, scope))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
