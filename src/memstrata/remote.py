"""``RemoteMemory``: the verbs of ``Memory`` over HTTP, for a ``memstrata serve`` server.

Switching an application from embedded to remote is one line::

    mem = Memory("memories.db")                                   # embedded
    mem = RemoteMemory("http://127.0.0.1:8420", api_key="ms_…")   # remote

The verbs, their arguments and their return types are those of ``Memory``: both are derived from
the declaration in ``api``. ``RemoteMemory`` is a client that hands each call, as an
``api.Request``, to a transport (``HTTPTransport``: the REST route, its wire format and its
errors); ``AsyncRemoteMemory`` is its asyncio twin. A server error comes back as the same
exception type (``NotFoundError``, ``ConflictError``, ``InvalidInputError``…), chosen by the
error's ``code``. A server that cannot
be reached raises ``StoreError``, a refused API key ``ConfigurationError``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from memstrata.api import (
    AsyncVerbs,
    MessageInput,
    Request,
    TimeInput,
    Transport,
    forwarded,
    merge_filters,
)
from memstrata.api import Verbs as V
from memstrata.api import follow as api_follow
from memstrata.errors import (
    ConfigurationError,
    InvalidInputError,
    MemstrataError,
    NotFoundError,
    StoreError,
)
from memstrata.options import Extraction, as_extraction
from memstrata.ports import Entity, EntityView, Link, SystemClock, Triple
from memstrata.results import (
    Alias,
    BatchResult,
    FeedbackResult,
    Person,
    PipelineReport,
    Profile,
    ProfileView,
    Trait,
)
from memstrata.server.schemas import (
    change_from_wire,
    history_from_wire,
    hit_from_wire,
    message_from_wire,
    record_from_wire,
    scope_from_wire,
    when_from_wire,
)
from memstrata.types import (
    DEFAULT_TENANT,
    STATES,
    AddResult,
    Change,
    HistoryEvent,
    MemoryRecord,
    Message,
    Page,
    SearchResult,
    as_utc,
)
from memstrata.where import parse as parse_where
from memstrata.where import to_json as where_json

DEFAULT_URL = "http://127.0.0.1:8420"
#: The size of the pieces an import is sent in, in characters.
UPLOAD_CHARS = 64 * 1024


def _error_classes() -> dict[str, type[MemstrataError]]:
    found: dict[str, type[MemstrataError]] = {}
    pending: list[type[MemstrataError]] = [MemstrataError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


#: Server error codes that are not a library error's own code.
_HTTP_CODES: dict[str, type[MemstrataError]] = {
    "unauthorized": ConfigurationError,
    "forbidden": ConfigurationError,
    "misdirected_request": ConfigurationError,
    "too_large": InvalidInputError,
    "bad_request": InvalidInputError,
    "method_not_allowed": InvalidInputError,
    "unsupported_media_type": InvalidInputError,
}


def _iso(value: TimeInput, what: str) -> str | None:
    when = as_utc(value, what)
    return None if when is None else when.isoformat()


def _message(value: MessageInput | bytes) -> str | dict[str, Any]:
    """A message as the server takes it (the server validates it like the library)."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"text is not valid UTF-8: {exc.reason}") from None
    if isinstance(value, str):
        return value
    if isinstance(value, Message):
        value = {
            "text": value.text,
            "role": value.role,
            "speaker": value.speaker,
            "id": value.id,
            "timestamp": value.timestamp,
            "metadata": dict(value.metadata) or None,
        }
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"a message must be a string, a mapping or a Message, not {type(value).__name__}"
        )
    out = {k: v for k, v in value.items() if v is not None}
    if "timestamp" in out:
        out["timestamp"] = _iso(out["timestamp"], "timestamp")
    return out


def _merge_filters(a: Mapping[str, Any]) -> dict[str, Any]:
    """The filter fields to send: ``filters`` overridden by the keyword arguments given."""
    merged = merge_filters(
        a["filters"], a["kinds"], a["states"], a["layers"], a["since"], a["until"], a["metadata"],
        a["where"],
    )  # fmt: skip
    return {
        "kinds": list(merged.kinds) or None,
        "states": list(merged.states),
        "layers": list(merged.layers) or None,
        "since": merged.since.isoformat() if merged.since else None,
        "until": merged.until.isoformat() if merged.until else None,
        "metadata": dict(merged.metadata) or None,
        "actor": merged.actor,
        "where": None if merged.where is None else where_json(merged.where),
    }


@contextmanager
def _text(target: str | Path | IO[str], mode: str) -> Iterator[IO[str]]:
    if isinstance(target, str | Path):
        with open(target, mode, encoding="utf-8") as fh:
            yield fh
    elif isinstance(target, io.IOBase) or hasattr(target, "read" if mode == "r" else "write"):
        yield target
    else:
        raise InvalidInputError("expected a path or a text stream")


class HTTPTransport:
    """Carries a verb's ``Request`` to a ``memstrata serve`` server and its answer back: the
    route of each verb, its wire format, and the server's errors as library errors."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )
        self._errors = {**_HTTP_CODES, **_error_classes()}
        self._tenant: str | None = None

    @property
    def tenant(self) -> str:
        """The tenant the server serves this client as (asked once)."""
        if self._tenant is None:
            self._tenant = str(self._call("GET", "/v1/whoami").json()["tenant"])
        return self._tenant

    def handle(self, request: Request) -> Any:
        route = ROUTES[request.verb]
        scope = {f: request.scope.get(f) for f in ("user_id", "agent_id", "run_id")}
        return route(self, request.arguments, scope)

    def close(self) -> None:
        self._http.close()

    # -- plumbing -------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content: Iterable[bytes] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        headers = {"Content-Type": "application/x-ndjson"} if content is not None else None
        payload = None
        if body is not None:
            payload = json.dumps(_drop_none(body), ensure_ascii=False, default=_json_default)
            payload_bytes = payload.encode("utf-8", errors="surrogatepass")
            headers = {"Content-Type": "application/json"}
        try:
            response = self._http.request(
                method,
                path,
                params=query,
                content=(payload_bytes if payload is not None else None)
                if content is None
                else content,
                headers=headers,
                timeout=self._http.timeout if timeout is None else timeout,
            )
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if response.is_success:
            return response
        raise self._error(response)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._call(method, path, **kwargs).json()

    @contextmanager
    def _lines(self, path: str, params: Mapping[str, Any]) -> Iterator[Iterator[str]]:
        """The lines of a JSON Lines answer, read as they arrive."""
        query = {k: v for k, v in params.items() if v is not None}
        try:
            with self._http.stream("GET", path, params=query) as response:
                if not response.is_success:
                    response.read()
                    raise self._error(response)
                yield _split_lines(response.iter_bytes())
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: httpx.HTTPError) -> StoreError:
        return StoreError(f"cannot reach the memstrata server at {self.url}: {exc}")

    def _error(self, response: httpx.Response) -> MemstrataError:
        try:
            error = response.json()["error"]
            code, message = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            return StoreError(
                f"the memstrata server at {self.url} answered HTTP {response.status_code} "
                f"without an error body: {response.text[:200]!r}"
            )
        if code == "unauthorized":
            message = f"{message} (check the api_key given to RemoteMemory)"
        return self._errors.get(code, MemstrataError)(message)

    def _record(self, data: Mapping[str, Any]) -> MemoryRecord:
        return record_from_wire(data, self.tenant)


def _path(memory_id: str, tail: str = "") -> str:
    if not str(memory_id):
        raise NotFoundError("no memory with an empty id")
    return f"/v1/memories/{quote(str(memory_id), safe='')}{tail}"


Args = dict[str, Any]


# -- the route of each verb -----------------------------------------------------------------------
def _add(http: HTTPTransport, a: Args, scope: Args) -> AddResult:
    messages = a["messages"]
    batch = [messages] if isinstance(messages, str | bytes | Mapping | Message) else messages
    if not isinstance(batch, Sequence) or not batch:
        raise InvalidInputError("add needs at least one message")
    if a["metadata"] is not None and not isinstance(a["metadata"], Mapping):
        raise InvalidInputError("metadata must be a mapping")
    body = {
        **scope,
        "messages": [_message(m) for m in batch],  # each is checked by _message
        "metadata": a["metadata"],
        "timestamp": _iso(a["timestamp"], "timestamp"),
        "extraction": _rules(a["extraction"]),
        "expires_at": _iso(a["expires_at"], "expires_at"),
    }
    data = http._json("POST", "/v1/memories", body=body)
    return AddResult(
        added=tuple(http._record(r) for r in data["added"]), duplicates=tuple(data["duplicates"])
    )


def _remember(http: HTTPTransport, a: Args, scope: Args) -> MemoryRecord:
    body = {
        **scope,
        **a,
        "sources": list(a["sources"]),
        "keys": list(a["keys"]),
        "entities": list(a["entities"]),
        "valid_from": _iso(a["valid_from"], "valid_from"),
        "valid_to": _iso(a["valid_to"], "valid_to"),
        "expires_at": _iso(a["expires_at"], "expires_at"),
    }
    return http._record(http._json("POST", "/v1/memories/remember", body=body))


def _reprocess(http: HTTPTransport, a: Args, scope: Args) -> PipelineReport:
    params = {**scope, "dry_run": a["dry_run"] is True}
    data = http._json("POST", "/v1/reprocess", params=params)
    names = {f.name for f in fields(PipelineReport)}
    return PipelineReport(**{k: v for k, v in data.items() if k in names})


def _update(http: HTTPTransport, a: Args, scope: Args) -> MemoryRecord:
    body = {
        "text": a["text"],
        "metadata": a["metadata"],
        "valid_from": _iso(a["valid_from"], "valid_from"),
        "valid_to": _iso(a["valid_to"], "valid_to"),
        "expires_at": _iso(a["expires_at"], "expires_at"),
        "expected_version": a["expected_version"],
        "reason": a["reason"],
    }
    return http._record(http._json("PATCH", _path(a["memory_id"]), params=scope, body=body))


def _state(verb: str) -> Callable[[HTTPTransport, Args, Args], MemoryRecord]:
    method, tail = ("DELETE", "") if verb == "delete" else ("POST", f"/{verb}")

    def change(http: HTTPTransport, a: Args, scope: Args) -> MemoryRecord:
        params = {**scope, "reason": a["reason"]}
        return http._record(http._json(method, _path(a["memory_id"], tail), params=params))

    return change


def _batch(verb: str) -> Callable[[HTTPTransport, Args, Args], BatchResult]:
    def change(http: HTTPTransport, a: Args, scope: Args) -> BatchResult:
        ids, where, states = a["ids"], a["where"], a["states"]
        body = {
            **scope,
            **a,
            "ids": None if ids is None else list(ids),
            "where": None if where is None else where_json(parse_where(where)),
            "states": None if states is None else list(states),
            "dry_run": a["dry_run"] is True,
        }
        for name in ("valid_from", "valid_to", "expires_at"):
            if name in body:
                body[name] = _iso(body[name], name)
        data = http._json("POST", f"/v1/batch/{verb}", body=_drop_none(body))
        return BatchResult(int(data["count"]), tuple(data["ids"]), bool(data["dry_run"]))

    return change


def _purge(http: HTTPTransport, a: Args, scope: Args) -> None:
    params = {**scope, "confirm": a["confirm"] is True}
    http._call("POST", _path(a["memory_id"], "/purge"), params=params)


def _reset(http: HTTPTransport, a: Args, scope: Args) -> int:
    params = {**scope, "confirm": a["confirm"] is True, "all_users": a["all_users"] is True}
    return int(http._json("POST", "/v1/reset", params=params)["memories"])


def _search(http: HTTPTransport, a: Args, scope: Args) -> SearchResult:
    body = {
        **scope,
        "query": a["query"],
        "limit": a["limit"],
        "as_of": _iso(a["as_of"], "as_of"),
        "budget": a["budget"],
        "history": a["history"] is True,
        **_merge_filters(a),
    }
    data = http._json("POST", "/v1/memories/search", body=body)
    tenant = http.tenant
    return SearchResult(
        hits=tuple(hit_from_wire(h, tenant) for h in data["hits"]),
        search_id=data["search_id"],
        query=data["query"],
    )


def _feedback(http: HTTPTransport, a: Args, scope: Args) -> FeedbackResult:
    body = {
        **scope,
        "search_id": a["search_id"],
        "used": list(a["used"]),
        "unused": None if a["unused"] is None else list(a["unused"]),
    }
    data = http._json("POST", "/v1/feedback", body=body)
    return FeedbackResult(used=data["used"], unused=data["unused"], pairs=data["pairs"])


def _maintain(http: HTTPTransport, a: Args, scope: Args) -> list[str]:
    params = {**scope, "dry_run": a["dry_run"] is True}
    return [str(i) for i in http._json("POST", "/v1/maintain", params=params)["archived"]]


def _get(http: HTTPTransport, a: Args, scope: Args) -> MemoryRecord:
    params = {**scope, "as_of": _iso(a["as_of"], "as_of")}
    return http._record(http._json("GET", _path(a["memory_id"]), params=params))


def _list(http: HTTPTransport, a: Args, scope: Args) -> Page:
    f = _merge_filters(a)
    params: dict[str, Any] = {
        **scope,
        "limit": a["limit"],
        "cursor": a["cursor"],
        "kind": f["kinds"],
        "state": f["states"] or list(STATES),
        "layer": f["layers"],
        "since": f["since"],
        "until": f["until"],
        "actor": f["actor"],
        "metadata": json.dumps(f["metadata"]) if f["metadata"] else None,
        "where": json.dumps(f["where"]) if f["where"] else None,
        "history": a["history"] is True,
    }
    data = http._json("GET", "/v1/memories", params=params)
    return Page(
        records=tuple(http._record(r) for r in data["memories"]), next_cursor=data["next_cursor"]
    )


def _versions(http: HTTPTransport, a: Args, scope: Args) -> list[MemoryRecord]:
    data = http._json("GET", _path(a["memory_id"], "/versions"), params=scope)
    return [http._record(r) for r in data]


def _history(http: HTTPTransport, a: Args, scope: Args) -> list[HistoryEvent]:
    data = http._json("GET", _path(a["memory_id"], "/history"), params=scope)
    return [history_from_wire(e) for e in data]


def _sources(http: HTTPTransport, a: Args, scope: Args) -> list[Message]:
    data = http._json("GET", _path(a["memory_id"], "/sources"), params=scope)
    return [message_from_wire(m) for m in data]


def _scopes(http: HTTPTransport, a: Args, scope: Args) -> list[dict[str, Any]]:
    return [scope_from_wire(s) for s in http._json("GET", "/v1/scopes")]


def _export(http: HTTPTransport, a: Args, scope: Args) -> int:
    count = 0
    with http._lines("/v1/export", scope) as lines, _text(a["out"], "w") as fh:
        for line in lines:
            if line.strip():
                count += json.loads(line).get("type") == "memory"
                fh.write(line + "\n")
    return count


def _import(http: HTTPTransport, a: Args, scope: Args) -> int:
    with _text(a["source"], "r") as fh:
        wait = httpx.Timeout(http._http.timeout.connect, read=None)
        response = http._call("POST", "/v1/import", content=_pieces(fh), timeout=wait)
    return int(response.json()["memories"])


def _links(http: HTTPTransport, a: Args, scope: Args) -> list[tuple[Link, MemoryRecord]]:
    memory_id = a["memory_id"]
    out = []
    for item in http._json("GET", _path(memory_id, "/links"), params=scope):
        other = http._record(item["memory"])
        ends = (memory_id, other.id) if item["direction"] == "out" else (other.id, memory_id)
        source, target = ends
        link = Link(source, target, item["kind"], item["score"], when_from_wire(item["at"]))
        out.append((link, other))
    return out


def _entity(data: Mapping[str, Any]) -> Entity:
    return Entity(key=data["key"], name=data["name"], mentions=int(data["mentions"]))


def _entities(http: HTTPTransport, a: Args, scope: Args) -> list[Entity]:
    params = {**scope, "limit": a["limit"]}
    return [_entity(e) for e in http._json("GET", "/v1/entities", params=params)]


def _about(http: HTTPTransport, a: Args, scope: Args) -> EntityView | None:
    params = {**scope, "name": a["name"], "limit": a["limit"]}
    data = http._json("GET", "/v1/entities/about", params=params)
    if data is None:
        return None
    return EntityView(
        entity=_entity(data["entity"]),
        relations=tuple(Triple(**t) for t in data["relations"]),
        memories=tuple(http._record(r) for r in data["memories"]),
    )


def _rules(value: Any) -> dict[str, Any] | None:
    rules = as_extraction(value)
    return None if rules is None else rules.model_dump(mode="json")


def _set_extraction(http: HTTPTransport, a: Args, scope: Args) -> None:
    http._call("PUT", "/v1/extraction", body={**scope, "extraction": _rules(a["extraction"])})


def _extraction(http: HTTPTransport, a: Args, scope: Args) -> Extraction | None:
    data = http._json("GET", "/v1/extraction", params=scope)
    return None if data is None else Extraction.model_validate(data)


def _people(http: HTTPTransport, a: Args, scope: Args) -> list[Person]:
    return [
        Person(
            name=p["name"],
            aliases=tuple(
                Alias(x["name"], int(x["count"]), tuple(x["sources"])) for x in p["aliases"]
            ),
            messages=int(p["messages"]),
        )
        for p in http._json("GET", "/v1/people", params=scope)
    ]


def _profile(http: HTTPTransport, a: Args, scope: Args) -> ProfileView:
    params = {**scope, "person": a["person"], "budget": a["budget"]}
    data = http._json("GET", "/v1/profile", params=params)
    found = tuple(
        Profile(
            person=p["person"],
            names=tuple(p["names"]),
            traits=tuple(Trait.from_dict(t) for t in p["traits"]),
            history=tuple(Trait.from_dict(t) for t in p["history"]),
        )
        for p in data["profiles"]
    )
    return ProfileView(found, data["text"])


def _changes(http: HTTPTransport, a: Args, scope: Args) -> list[Change]:
    params = {**scope, "after": a["after"], "limit": a["limit"]}
    found = http._json("GET", "/v1/changes", params=params)
    return [change_from_wire(c, http.tenant) for c in found]


#: The route of each verb (a test checks that every verb has one).
ROUTES: dict[str, Callable[[HTTPTransport, Args, Args], Any]] = {
    "add": _add,
    "remember": _remember,
    "reprocess": _reprocess,
    "update": _update,
    "delete": _state("delete"),
    "restore": _state("restore"),
    "archive": _state("archive"),
    "delete_many": _batch("delete"),
    "restore_many": _batch("restore"),
    "update_many": _batch("update"),
    "purge": _purge,
    "reset": _reset,
    "search": _search,
    "feedback": _feedback,
    "maintain": _maintain,
    "get": _get,
    "list": _list,
    "versions": _versions,
    "history": _history,
    "sources": _sources,
    "scopes": _scopes,
    "export": _export,
    "import_": _import,
    "links": _links,
    "entities": _entities,
    "about": _about,
    "set_extraction": _set_extraction,
    "extraction": _extraction,
    "people": _people,
    "profile": _profile,
    "changes": _changes,
}


class RemoteMemory:
    """Long-term memory on a ``memstrata serve`` server, with the same verbs as ``Memory``.

    ``api_key`` is sent as ``Authorization: Bearer …``; the server confines every call to the
    key's tenant. ``transport`` is an httpx transport for the HTTP client (tests and
    applications hand it one), or a memstrata ``api.Transport`` that carries the verbs itself.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | Transport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.clock = SystemClock()
        if transport is None or isinstance(transport, httpx.BaseTransport):
            transport = HTTPTransport(url, api_key=api_key, timeout=timeout, transport=transport)
        self.transport: Transport = transport

    def __repr__(self) -> str:
        return f"RemoteMemory({self.url!r})"

    @property
    def tenant(self) -> str:
        """The tenant the server serves this client as."""
        return str(getattr(self.transport, "tenant", DEFAULT_TENANT))

    add = forwarded(V.add)
    remember = forwarded(V.remember)
    reprocess = forwarded(V.reprocess)
    update = forwarded(V.update)
    delete = forwarded(V.delete)
    restore = forwarded(V.restore)
    archive = forwarded(V.archive)
    delete_many = forwarded(V.delete_many)
    restore_many = forwarded(V.restore_many)
    update_many = forwarded(V.update_many)
    purge = forwarded(V.purge)
    reset = forwarded(V.reset)
    search = forwarded(V.search)
    feedback = forwarded(V.feedback)
    maintain = forwarded(V.maintain)
    get = forwarded(V.get)
    list = forwarded(V.list)
    versions = forwarded(V.versions)
    history = forwarded(V.history)
    sources = forwarded(V.sources)
    scopes = forwarded(V.scopes)
    export = forwarded(V.export)
    import_ = forwarded(V.import_)
    links = forwarded(V.links)
    entities = forwarded(V.entities)
    about = forwarded(V.about)
    set_extraction = forwarded(V.set_extraction)
    extraction = forwarded(V.extraction)
    people = forwarded(V.people)
    profile = forwarded(V.profile)
    changes = forwarded(V.changes)
    follow = api_follow

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> RemoteMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRemoteMemory(AsyncVerbs):
    """The asyncio twin of ``RemoteMemory``: the same verbs, awaited (``api.AsyncVerbs``)."""

    sync: RemoteMemory

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | Transport | None = None,
    ) -> None:
        self.sync = RemoteMemory(url, api_key=api_key, timeout=timeout, transport=transport)


def _split_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The lines of a byte stream, split at "\\n" only: JSON text may hold U+2028 or U+0085,
    which ``str.splitlines`` would take for line ends."""
    pending: list[bytes] = []
    for chunk in chunks:
        *lines, tail = chunk.split(b"\n")
        for line in lines:
            yield b"".join([*pending, line]).decode("utf-8")
            pending = []
        pending.append(tail)
    if last := b"".join(pending):
        yield last.decode("utf-8")


def _pieces(fh: IO[str]) -> Iterator[bytes]:
    """A text stream as UTF-8 bytes, a piece at a time (a lone surrogate passes through, for
    the server to refuse)."""
    while piece := fh.read(UPLOAD_CHARS):
        yield piece.encode("utf-8", "surrogatepass")


def _drop_none(body: Any) -> Any:
    if not isinstance(body, Mapping):
        return body
    return {k: v for k, v in body.items() if v is not None}


def _json_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise InvalidInputError(f"{type(value).__name__} values cannot be sent to the server")


__all__ = ["AsyncRemoteMemory", "HTTPTransport", "RemoteMemory"]
