"""What a request must bring to reach the REST server: a Host it answers to, an Origin it trusts,
a body of the type a route reads, within the size it accepts.

A server on 127.0.0.1 without API keys trusts whoever reaches it, and a web page the user has
open can reach it too: a "simple" cross-site POST (a form, or ``fetch`` with ``text/plain``)
needs no preflight, and a DNS name rebound to 127.0.0.1 makes the page same-origin with the
server. So, with or without keys, a request is refused when

- its ``Host`` is not a loopback name (``localhost``, ``127.0.0.1``, ``[::1]``) nor one the
  operator allows: 421 ``misdirected_request`` (DNS rebinding);
- it carries an ``Origin`` other than the server's own (the origin of the ``Host`` it was sent
  to) and those the operator allows: 403 ``forbidden`` (a foreign web page);
- it has a body whose ``Content-Type`` is not ``application/json``, or ``application/x-ndjson``
  on a route that reads JSON Lines: 415 ``unsupported_media_type``.

Requests without an ``Origin`` (curl, SDKs, ``RemoteMemory``) are not from a web page and pass
the origin check. ``OPTIONS`` is answered here: 204 with ``Allow`` (and, for an allowed origin,
the CORS preflight headers). The decisions are pure functions; ``RequestGate`` applies them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memstrata.errors import ConfigurationError
from memstrata.server.auth import is_loopback

JSON = "application/json"
NDJSON = "application/x-ndjson"
DEFAULT_PORTS = {"http": 80, "https": 443}
#: The request headers a cross-origin caller may send (CORS preflight answer).
CORS_HEADERS = "Authorization, Content-Type"
#: How long a browser may cache a preflight answer, in seconds.
CORS_MAX_AGE = "600"


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: Any = None
) -> JSONResponse:
    """The server's error body: ``{"error": {"code", "message", "details"?}}``."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


# -- decisions ------------------------------------------------------------------------------------
def split_host(value: str) -> tuple[str, int | None] | None:
    """A ``Host`` value as (lower-case name, port or None): ``"Example.org:8420"`` gives
    ``("example.org", 8420)``, ``"[::1]"`` gives ``("::1", None)``; None when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else None
    else:
        name, colon, port_text = value.partition(":")
        port = port_text if colon else None
    if not name or any(c in name for c in "/?#@ \\") or (port is not None and not port.isdigit()):
        return None
    number = None if port is None else int(port)
    if number is not None and number > 65535:
        return None
    return name, number


def split_origin(value: str) -> tuple[str, str, int] | None:
    """An ``Origin`` as (scheme, lower-case host name, port, the scheme's default when absent);
    None for ``null``, a scheme other than http(s), or anything malformed."""
    scheme, sep, rest = value.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in DEFAULT_PORTS or not rest or "/" in rest.rstrip("/"):
        return None
    host = split_host(rest.rstrip("/"))
    if host is None:
        return None
    name, port = host
    return scheme, name, DEFAULT_PORTS[scheme] if port is None else port


def host_allowed(host: str | None, allowed: Collection[str]) -> bool:
    """Whether a request's ``Host`` names this server: a loopback name, or an entry of
    ``allowed`` (``name`` for any port, ``name:port`` for that port, ``*`` for any host)."""
    if "*" in allowed:
        return True
    parsed = split_host(host) if host else None
    if parsed is None:
        return False
    name, port = parsed
    if is_loopback(name):
        return True
    for entry in allowed:
        wanted = split_host(entry)
        if wanted is not None and wanted[0] == name and wanted[1] in (None, port):
            return True
    return False


def origin_allowed(origin: str | None, host: str | None, allowed: Collection[str]) -> bool:
    """Whether a request may come from ``origin``: no Origin at all (not a browser), the
    server's own origin (the one of the ``Host`` the request was sent to), or an entry of
    ``allowed``."""
    if origin is None:
        return True
    parsed = split_origin(origin)
    if parsed is None:
        return False
    if cors_allowed(origin, allowed):
        return True
    own = split_host(host) if host else None
    if own is None:
        return False
    scheme, name, port = parsed
    return own[0] == name and (DEFAULT_PORTS[scheme] if own[1] is None else own[1]) == port


def cors_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """Whether ``origin`` is one the operator lets call this server from another site."""
    parsed = split_origin(origin) if origin else None
    return parsed is not None and any(split_origin(entry) == parsed for entry in allowed)


def media_type(content_type: str | None) -> str | None:
    """The lower-case type of a ``Content-Type`` without its parameters (``charset``…)."""
    if content_type is None:
        return None
    return content_type.partition(";")[0].strip().lower() or None


def has_body(headers: Mapping[str, str]) -> bool:
    length = headers.get("content-length")
    return "transfer-encoding" in headers or (length is not None and length.strip() != "0")


@dataclass(frozen=True, slots=True)
class Policy:
    """What the operator allows beyond loopback and the server's own origin, and which paths
    read JSON Lines rather than JSON."""

    hosts: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    ndjson_paths: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for host in self.hosts:
            if host != "*" and split_host(host) is None:
                raise ConfigurationError(
                    f"allowed host {host!r} is not a host name with an optional port, such as "
                    "memory.example.org or memory.example.org:8420 (or * for any)"
                )
        for origin in self.origins:
            if split_origin(origin) is None:
                raise ConfigurationError(
                    f"allowed origin {origin!r} is not scheme://host[:port], such as "
                    "https://app.example.org"
                )


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    code: str
    message: str


def refusal(path: str, headers: Mapping[str, str], policy: Policy) -> Refusal | None:
    """Why a request must be refused before it reaches a route, or None to let it through."""
    host = headers.get("host")
    if not host_allowed(host, policy.hosts):
        return Refusal(
            421,
            "misdirected_request",
            f"this server does not answer to the host name {host!r}: it serves loopback names, "
            "its --host address and the hosts given with --allowed-host (MEMSTRATA_ALLOWED_HOSTS) "
            "only, so that a web page cannot point a name of its own at it",
        )
    origin = headers.get("origin")
    if not origin_allowed(origin, host, policy.origins):
        return Refusal(
            403,
            "forbidden",
            f"requests from the web origin {origin!r} are refused: only this server's own pages "
            "and the origins given with --allowed-origin (MEMSTRATA_ALLOWED_ORIGINS) may call it",
        )
    if has_body(headers):
        wanted = NDJSON if path in policy.ndjson_paths else JSON
        given = media_type(headers.get("content-type"))
        if given != wanted:
            return Refusal(
                415,
                "unsupported_media_type",
                f"send the body as {wanted} (Content-Type: {wanted}), not {given or 'untyped'}",
            )
    return None


def preflight_headers(methods: Iterable[str]) -> dict[str, str]:
    return {
        "Access-Control-Allow-Methods": ", ".join(methods),
        "Access-Control-Allow-Headers": CORS_HEADERS,
        "Access-Control-Max-Age": CORS_MAX_AGE,
    }


# -- middleware -----------------------------------------------------------------------------------
class RequestGate:
    """Refuse what ``refusal`` refuses, answer ``OPTIONS``, and mark the answers to an allowed
    cross-origin caller. ``methods(scope)`` lists the methods served at a request's path (empty
    when none is)."""

    def __init__(self, app: ASGIApp, policy: Policy, methods: Callable[[Scope], list[str]]) -> None:
        self.app = app
        self.policy = policy
        self.methods = methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refused = refusal(scope["path"], headers, self.policy)
        if refused is not None:
            response: Response = error_response(refused.status, refused.code, refused.message)
            await response(scope, receive, send)
            return
        origin = headers.get("origin")
        cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if (
            origin is not None and cors_allowed(origin, self.policy.origins)
        ) else {}  # fmt: skip
        if scope["method"] == "OPTIONS":
            response = self.options(scope, headers, cors)
            await response(scope, receive, send)
            return
        if not cors:
            await self.app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(cors)
            await send(message)

        await self.app(scope, receive, send_marked)

    def options(self, scope: Scope, headers: Headers, cors: dict[str, str]) -> Response:
        methods = self.methods(scope)
        if not methods:
            return error_response(404, "not_found", "Not Found")
        answer = {"Allow": ", ".join(methods), **cors}
        if cors and "access-control-request-method" in headers:
            answer.update(preflight_headers(methods))
        return Response(status_code=204, headers=answer)


class BodyLimit:
    """Answer 413 to a body over ``limit`` bytes: at once when Content-Length says so, else as
    soon as the streamed body passes the limit. Paths in ``exempt`` read their bodies as
    streams under limits of their own."""

    def __init__(self, app: ASGIApp, limit: int, exempt: Collection[str] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        too_large = f"the request body is over the limit of {self.limit:,} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await error_response(413, "too_large", too_large)(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, too_large)
            return message

        await self.app(scope, limited, send)
