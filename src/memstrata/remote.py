"""``RemoteMemory``: the ``Memory`` interface over HTTP, for a ``memstrata serve`` server.

Switching an application from embedded to remote is one line::

    mem = Memory("memories.db")                                   # embedded
    mem = RemoteMemory("http://127.0.0.1:8420", api_key="ms_…")   # remote

The methods, their arguments and their return types are those of ``Memory`` (a test checks the
signatures); a server error comes back as the same exception type (``NotFoundError``,
``ConflictError``, ``InvalidInputError``…), chosen by the error's ``code``. A server that cannot
be reached raises ``StoreError``, a refused API key ``ConfigurationError``.
"""

from __future__ import annotations

import builtins
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from memstrata.errors import (
    ConfigurationError,
    InvalidInputError,
    MemstrataError,
    NotFoundError,
    StoreError,
)
from memstrata.lifecycle.learning import FeedbackResult
from memstrata.memory import MessageInput, TimeInput
from memstrata.server.schemas import (
    history_from_wire,
    hit_from_wire,
    message_from_wire,
    record_from_wire,
    scope_from_wire,
)
from memstrata.types import (
    STATES,
    AddResult,
    Filters,
    HistoryEvent,
    Layer,
    MemoryKind,
    MemoryRecord,
    MemoryState,
    Message,
    Page,
    SearchResult,
    as_utc,
)
from memstrata.write.pipeline import PipelineReport

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


def _message(value: MessageInput) -> str | dict[str, Any]:
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


def _merge_filters(
    filters: Filters | None,
    kinds: Sequence[MemoryKind] | None,
    states: Sequence[MemoryState] | None,
    layers: Sequence[Layer] | None,
    since: TimeInput,
    until: TimeInput,
    metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The filter fields to send: ``filters`` overridden by the keyword arguments given."""
    base = filters or Filters()
    changes: dict[str, Any] = {}
    if kinds is not None:
        changes["kinds"] = tuple(kinds)
    if states is not None:
        changes["states"] = tuple(states)
    if layers is not None:
        changes["layers"] = tuple(layers)
    if since is not None:
        changes["since"] = as_utc(since, "since")
    if until is not None:
        changes["until"] = as_utc(until, "until")
    if metadata is not None:
        changes["metadata"] = dict(metadata)
    merged = replace(base, **changes) if changes else base
    return {
        "kinds": list(merged.kinds) or None,
        "states": list(merged.states),
        "layers": list(merged.layers) or None,
        "since": merged.since.isoformat() if merged.since else None,
        "until": merged.until.isoformat() if merged.until else None,
        "metadata": dict(merged.metadata) or None,
        "actor": merged.actor,
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


class RemoteMemory:
    """Long-term memory on a ``memstrata serve`` server, with the same methods as ``Memory``.

    ``api_key`` is sent as ``Authorization: Bearer …``; the server confines every call to the
    key's tenant. ``transport`` lets tests and applications hand httpx a custom transport.
    """

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

    def __repr__(self) -> str:
        return f"RemoteMemory({self.url!r})"

    @property
    def tenant(self) -> str:
        """The tenant the server serves this client as (asked once)."""
        if self._tenant is None:
            self._tenant = str(self._call("GET", "/v1/whoami").json()["tenant"])
        return self._tenant

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
            payload = json.dumps(body, ensure_ascii=False, default=_json_default).encode(
                "utf-8", errors="surrogatepass"
            )
            headers = {"Content-Type": "application/json"}
        try:
            response = self._http.request(
                method,
                path,
                params=query,
                content=payload if content is None else content,
                headers=headers,
                timeout=self._http.timeout if timeout is None else timeout,
            )
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if response.is_success:
            return response
        raise self._error(response)

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

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._call(method, path, **kwargs).json()

    @staticmethod
    def _scope(
        user_id: str | None, agent_id: str | None, run_id: str | None
    ) -> dict[str, str | None]:
        return {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}

    def _record(self, data: Mapping[str, Any]) -> MemoryRecord:
        return record_from_wire(data, self.tenant)

    @staticmethod
    def _path(memory_id: str, tail: str = "") -> str:
        if not str(memory_id):
            raise NotFoundError("no memory with an empty id")
        return f"/v1/memories/{quote(str(memory_id), safe='')}{tail}"

    # -- write ----------------------------------------------------------------------------------
    def add(
        self,
        messages: MessageInput | Sequence[MessageInput],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timestamp: TimeInput = None,
    ) -> AddResult:
        """Remember messages (see ``Memory.add``)."""
        batch = [messages] if isinstance(messages, str | bytes | Mapping | Message) else messages
        if not isinstance(batch, Sequence) or not batch:
            raise InvalidInputError("add needs at least one message")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInputError("metadata must be a mapping")
        body = {
            **self._scope(user_id, agent_id, run_id),
            "messages": [_message(m) for m in batch],
            "metadata": None if metadata is None else dict(metadata),
            "timestamp": _iso(timestamp, "timestamp"),
        }
        data = self._json("POST", "/v1/memories", body=_drop_none(body))
        return AddResult(
            added=tuple(self._record(r) for r in data["added"]),
            duplicates=tuple(data["duplicates"]),
        )

    def remember(
        self,
        text: str,
        *,
        kind: MemoryKind = "fact",
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        sources: Sequence[str] = (),
        actor: str | None = None,
        subject: str | None = None,
        keys: Sequence[str] = (),
        entities: Sequence[str] = (),
        valid_from: TimeInput = None,
        valid_to: TimeInput = None,
        importance: float = 0.5,
        metadata: Mapping[str, Any] | None = None,
        reason: str | None = None,
        prompt_version: str | None = None,
    ) -> MemoryRecord:
        """Store a derived memory directly (see ``Memory.remember``)."""
        body = {
            **self._scope(user_id, agent_id, run_id),
            "text": text,
            "kind": kind,
            "sources": list(sources),
            "actor": actor,
            "subject": subject,
            "keys": list(keys),
            "entities": list(entities),
            "valid_from": _iso(valid_from, "valid_from"),
            "valid_to": _iso(valid_to, "valid_to"),
            "importance": importance,
            "metadata": None if metadata is None else dict(metadata),
            "reason": reason,
            "prompt_version": prompt_version,
        }
        return self._record(self._json("POST", "/v1/memories/remember", body=_drop_none(body)))

    def reprocess(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        dry_run: bool = False,
    ) -> PipelineReport:
        """Run the server's LLM write path over a scope (see ``Memory.reprocess``)."""
        params = {**self._scope(user_id, agent_id, run_id), "dry_run": dry_run is True}
        data = self._json("POST", "/v1/reprocess", params=params)
        names = {f.name for f in fields(PipelineReport)}
        return PipelineReport(**{k: v for k, v in data.items() if k in names})

    def update(
        self,
        memory_id: str,
        text: str | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        valid_from: TimeInput = None,
        valid_to: TimeInput = None,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        """Write a new version of a memory (see ``Memory.update``)."""
        body = {
            "text": text,
            "metadata": None if metadata is None else dict(metadata),
            "valid_from": _iso(valid_from, "valid_from"),
            "valid_to": _iso(valid_to, "valid_to"),
            "expected_version": expected_version,
            "reason": reason,
        }
        data = self._json(
            "PATCH",
            self._path(memory_id),
            params=self._scope(user_id, agent_id, run_id),
            body=_drop_none(body),
        )
        return self._record(data)

    def _state(
        self, verb: str, memory_id: str, scope: dict[str, str | None], reason: str | None
    ) -> MemoryRecord:
        method, tail = ("DELETE", "") if verb == "delete" else ("POST", f"/{verb}")
        params = {**scope, "reason": reason}
        return self._record(self._json(method, self._path(memory_id, tail), params=params))

    def delete(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        """Soft-delete (see ``Memory.delete``)."""
        return self._state("delete", memory_id, self._scope(user_id, agent_id, run_id), reason)

    def restore(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        """Bring a deleted or archived memory back to active."""
        return self._state("restore", memory_id, self._scope(user_id, agent_id, run_id), reason)

    def archive(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        """Archive: out of default search, kept, restorable."""
        return self._state("archive", memory_id, self._scope(user_id, agent_id, run_id), reason)

    def purge(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        confirm: bool = False,
    ) -> None:
        """Erase a memory with its versions and history, for good. Needs ``confirm=True``."""
        params = {**self._scope(user_id, agent_id, run_id), "confirm": confirm is True}
        self._call("POST", self._path(memory_id, "/purge"), params=params)

    def reset(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        confirm: bool = False,
        all_users: bool = False,
    ) -> int:
        """Erase every memory and message of a scope. Needs ``confirm=True``, and
        ``all_users=True`` when the scope spans users (see ``Memory.reset``)."""
        params = {
            **self._scope(user_id, agent_id, run_id),
            "confirm": confirm is True,
            "all_users": all_users is True,
        }
        return int(self._json("POST", "/v1/reset", params=params)["memories"])

    # -- read -----------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int | None = None,
        filters: Filters | None = None,
        kinds: Sequence[MemoryKind] | None = None,
        states: Sequence[MemoryState] | None = None,
        layers: Sequence[Layer] | None = None,
        since: TimeInput = None,
        until: TimeInput = None,
        metadata: Mapping[str, Any] | None = None,
        as_of: TimeInput = None,
        budget: int | None = None,
    ) -> SearchResult:
        """The memories that best answer ``query`` (see ``Memory.search``)."""
        body = {
            **self._scope(user_id, agent_id, run_id),
            "query": query,
            "limit": limit,
            "as_of": _iso(as_of, "as_of"),
            "budget": budget,
            **_merge_filters(filters, kinds, states, layers, since, until, metadata),
        }
        data = self._json("POST", "/v1/memories/search", body=_drop_none(body))
        tenant = self.tenant
        return SearchResult(
            hits=tuple(hit_from_wire(h, tenant) for h in data["hits"]),
            search_id=data["search_id"],
            query=data["query"],
        )

    def feedback(
        self,
        search_id: str,
        used: Sequence[str],
        unused: Sequence[str] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> FeedbackResult:
        """Say which memories of a search the answer used (see ``Memory.feedback``)."""
        body = {
            **self._scope(user_id, agent_id, run_id),
            "search_id": search_id,
            "used": list(used),
            "unused": None if unused is None else list(unused),
        }
        data = self._json("POST", "/v1/feedback", body=_drop_none(body))
        return FeedbackResult(used=data["used"], unused=data["unused"], pairs=data["pairs"])

    def maintain(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        dry_run: bool = False,
    ) -> builtins.list[str]:
        """Archive the memories of a scope that have faded (see ``Memory.maintain``)."""
        params = {**self._scope(user_id, agent_id, run_id), "dry_run": dry_run is True}
        return [str(i) for i in self._json("POST", "/v1/maintain", params=params)["archived"]]

    def get(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        as_of: TimeInput = None,
    ) -> MemoryRecord:
        """One memory by id, in any state; ``NotFoundError`` when it is not in this scope.
        ``as_of`` gives the version that was current at that moment (system time)."""
        params = {**self._scope(user_id, agent_id, run_id), "as_of": _iso(as_of, "as_of")}
        return self._record(self._json("GET", self._path(memory_id), params=params))

    def list(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        filters: Filters | None = None,
        kinds: Sequence[MemoryKind] | None = None,
        states: Sequence[MemoryState] | None = None,
        layers: Sequence[Layer] | None = None,
        since: TimeInput = None,
        until: TimeInput = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Page:
        """Memories of a scope, newest first, one page at a time (see ``Memory.list``)."""
        f = _merge_filters(filters, kinds, states, layers, since, until, metadata)
        params: dict[str, Any] = {
            **self._scope(user_id, agent_id, run_id),
            "limit": limit,
            "cursor": cursor,
            "kind": f["kinds"],
            "state": f["states"] or list(STATES),
            "layer": f["layers"],
            "since": f["since"],
            "until": f["until"],
            "actor": f["actor"],
            "metadata": json.dumps(f["metadata"]) if f["metadata"] else None,
        }
        data = self._json("GET", "/v1/memories", params=params)
        return Page(
            records=tuple(self._record(r) for r in data["memories"]),
            next_cursor=data["next_cursor"],
        )

    def versions(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[MemoryRecord]:
        """Every version of a memory, oldest first; the last is the current one."""
        params = self._scope(user_id, agent_id, run_id)
        data = self._json("GET", self._path(memory_id, "/versions"), params=params)
        return [self._record(r) for r in data]

    def history(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[HistoryEvent]:
        """Every change to a memory, oldest first: operation, time, reason, prompt version."""
        params = self._scope(user_id, agent_id, run_id)
        data = self._json("GET", self._path(memory_id, "/history"), params=params)
        return [history_from_wire(e) for e in data]

    def sources(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[Message]:
        """The original messages a memory came from, with speaker and time."""
        params = self._scope(user_id, agent_id, run_id)
        data = self._json("GET", self._path(memory_id, "/sources"), params=params)
        return [message_from_wire(m) for m in data]

    def scopes(self) -> builtins.list[dict[str, Any]]:
        """The scopes of this tenant with their memory counts."""
        return [scope_from_wire(s) for s in self._json("GET", "/v1/scopes")]

    # -- transfer -------------------------------------------------------------------------------
    def export(
        self,
        out: str | Path | IO[str],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> int:
        """Write a scope as JSON Lines, line by line as the server sends it; return the number
        of memories written."""
        count = 0
        scope = self._scope(user_id, agent_id, run_id)
        with self._lines("/v1/export", scope) as lines, _text(out, "w") as fh:
            for line in lines:
                if line.strip():
                    count += json.loads(line).get("type") == "memory"
                    fh.write(line + "\n")
        return count

    def import_(self, source: str | Path | IO[str]) -> int:
        """Read a JSON Lines export into this tenant; all of it or nothing. The file is sent in
        pieces as it is read, and the answer is awaited as long as the server takes."""
        with _text(source, "r") as fh:
            wait = httpx.Timeout(self._http.timeout.connect, read=None)
            response = self._call("POST", "/v1/import", content=_pieces(fh), timeout=wait)
        return int(response.json()["memories"])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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


def _drop_none(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def _json_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise InvalidInputError(f"{type(value).__name__} values cannot be sent to the server")


__all__ = ["RemoteMemory"]
