"""``memstrata serve``, ``memstrata mcp`` and ``memstrata keys create|list|revoke``.

Registered on the main CLI through ``memstrata.cli.EXTENSIONS``; FastAPI, uvicorn and the MCP
SDK are imported only when a server command runs.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from memstrata.cli import scope_flags
from memstrata.errors import ConfigurationError
from memstrata.memory import Memory
from memstrata.server import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMPORT_BYTES
from memstrata.server.auth import Tenants, create_key, revoke_key
from memstrata.settings import Settings, few_malloc_arenas, quiet_collector

DEFAULT_REST_PORT = 8420
DEFAULT_MCP_PORT = 8421
#: Linux's ``prctl`` option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1
#: Bind addresses that name no host of their own (every interface).
ANY_ADDRESS = ("0.0.0.0", "::", "")
SERVE_DESCRIPTION = """\
Serve the REST API, its OpenAPI schema (/docs) and the web dashboard (/).

Whether or not API keys are in use, a request is refused when its Host is neither a loopback
name (localhost, 127.0.0.1, [::1]), nor the --host address, nor an --allowed-host (421: a web
page pointing a name of its own at this server); when a web page of another origin than this
server's own and the --allowed-origin ones sends it (403); and when its body is not
application/json (application/x-ndjson for /v1/import) (415). Requests without an Origin
header (curl, SDKs, RemoteMemory) are not from a web page."""


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env().with_overrides(
        db=args.db, embedder=getattr(args, "embedder", None), tenant=args.tenant
    )


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False, default=str))
    else:
        print(text)


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    from memstrata.server.auth import check_bind
    from memstrata.server.rest import create_app
    from memstrata.server.runner import serve

    if args.workers > 1 and args.fd is None:
        return _supervise(args)
    if args.fd is not None:
        _stop_with_parent()
    few_malloc_arenas()
    settings = _settings(args).with_overrides(
        allowed_hosts=tuple(args.allowed_host) if args.allowed_host else None,
        allowed_origins=tuple(args.allowed_origin) if args.allowed_origin else None,
    )
    hosts = settings.allowed_hosts + (() if args.host in ANY_ADDRESS else (args.host,))
    with Memory.from_settings(settings) as first:
        app = create_app(
            first.store,
            embedder=first.embedder,
            retriever=first.retrieval,
            llm=first.llm,
            require_keys=True if args.require_keys else None,
            tenant=settings.tenant,
            max_body_bytes=args.max_body,
            max_import_bytes=args.max_import or None,
            allowed_hosts=hosts,
            allowed_origins=settings.allowed_origins,
            parallel_searches=first.search_gate,
        )
        required = app.state.keyring.required
        check_bind(args.host, keys_required=required, insecure=args.insecure)
        if args.fd is None:
            _note(_serving(args, settings, required, args.port))
        quiet_collector()
        serve(app, host=args.host, port=args.port, log_level=args.log_level, fd=args.fd)
    return 0


def _serving(args: argparse.Namespace, settings: Settings, required: bool, port: int) -> str:
    mode = "API keys required" if required else f"no API keys: everyone is {settings.tenant!r}"
    where = f"memstrata REST on http://{args.host}:{port} ({mode}); store {settings.db}"
    return where + (f"; {args.workers} worker processes" if args.workers > 1 else "")


def _supervise(args: argparse.Namespace) -> int:
    """``memstrata serve --workers N``: bind the port here, then run N ``memstrata serve``
    processes that answer on it, each with its own store connections, caches and embedder, so
    that searches use every core (one process runs Python on one at a time). The store is
    opened (and brought up to date) here first, once. Stops the workers on SIGTERM or SIGINT,
    and all of them, with an error, when one exits by itself."""
    from memstrata.server.auth import Keyring, check_bind

    if sys.platform == "win32":  # no sockets handed to a child process
        raise ConfigurationError("memstrata serve --workers needs Linux or macOS")
    settings = _settings(args)
    with _tenants(settings) as tenants:
        required = Keyring(tenants.keys, required=True if args.require_keys else None,
                           open_tenant=settings.tenant).required  # fmt: skip
    check_bind(args.host, keys_required=required, insecure=args.insecure)
    sockets = _listening(args.host, args.port, args.workers)
    try:
        workers = [sockets[i % len(sockets)].fileno() for i in range(args.workers)]
        command = _worker_command(args, settings)
        port = sockets[0].getsockname()[1]  # the system's choice for port 0
        return _watch(command, workers, _serving(args, settings, required, port))
    finally:
        for sock in sockets:
            sock.close()


def _listening(host: str, port: int, workers: int) -> list[socket.socket]:
    """Sockets bound to ``host`` and ``port`` for ``workers`` processes to listen on. On Linux
    one each, bound together (``SO_REUSEPORT``), so that the kernel deals new connections out
    among them evenly; one socket that they share elsewhere, where whichever worker wakes
    first accepts every connection waiting (a client that keeps its connection keeps that
    worker)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    each = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")
    out: list[socket.socket] = []
    try:
        for _ in range(workers if each else 1):
            sock = socket.socket(family, kind, proto)
            out.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if each:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(out[0].getsockname() if len(out) > 1 else address)  # port 0: the first's
            sock.set_inheritable(True)
    except OSError:
        for sock in out:
            sock.close()
        raise
    return out


def _worker_command(args: argparse.Namespace, settings: Settings) -> list[str]:
    """The command of a worker of ``_supervise`` but its socket (``--fd``): this server's
    options (the environment passes on the rest of the settings)."""
    command = [sys.executable, "-m", "memstrata.cli", "serve", "--db", settings.db,
               "--tenant", settings.tenant, "--embedder", settings.embedder,
               "--host", args.host, "--port", str(args.port), "--log-level", args.log_level,
               "--max-body", str(args.max_body), "--max-import", str(args.max_import)]  # fmt: skip
    command += ["--insecure"] * args.insecure + ["--require-keys"] * args.require_keys
    for host in args.allowed_host or ():
        command += ["--allowed-host", host]
    for origin in args.allowed_origin or ():
        command += ["--allowed-origin", origin]
    return command


def _stop_with_parent() -> None:
    """Have this process (a worker of ``_supervise``) sent SIGTERM when the process that
    started it dies, even killed outright, rather than go on serving (Linux; elsewhere the
    workers outlive a server killed so)."""
    if sys.platform == "linux":
        prctl = ctypes.CDLL(None).prctl
        prctl.argtypes = (ctypes.c_int, ctypes.c_ulong)
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _watch(command: list[str], fds: list[int], serving: str) -> int:
    """Start a worker (``command``) for each socket of ``fds``, given it as ``--fd``, and
    wait until told to stop or until one exits; then stop every worker. 0 when told to stop,
    else the exit status of the worker that exited (1 if it was 0 or a signal)."""
    stop: list[int] = []
    previous = {s: signal.signal(s, lambda number, _: stop.append(number))
                for s in (signal.SIGTERM, signal.SIGINT)}  # fmt: skip
    workers: list[subprocess.Popen[bytes]] = []
    try:
        workers += [subprocess.Popen([*command, "--fd", str(fd)], pass_fds=(fd,)) for fd in fds]
        _note(serving)
        ended = None
        while not stop and ended is None:
            ended = next((w for w in workers if w.poll() is not None), None)
            time.sleep(0.1)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:  # still answering requests its clients gave up on
                worker.kill()
                worker.wait()
        for number, handler in previous.items():
            signal.signal(number, handler)
    if ended is None:
        return 0
    _note(f"memstrata: worker {ended.pid} exited with status {ended.returncode}; stopped")
    return ended.returncode if ended.returncode > 0 else 1


def cmd_mcp(args: argparse.Namespace) -> int:
    from memstrata.server.auth import Keyring, check_bind
    from memstrata.server.mcp import ServerScope, build_server, http_app

    few_malloc_arenas()
    settings = _settings(args)
    with Memory.from_settings(settings) as first:
        tenants = Tenants(
            first.store,
            embedder=first.embedder,
            retriever=first.retrieval,
            tenant=settings.tenant,
            llm=first.llm,
            parallel_searches=first.search_gate,
        )
        scope = ServerScope(user_id=args.user, agent_id=args.agent, run_id=args.run)
        if args.transport == "stdio":
            keyring = Keyring(tenants.keys, required=False, open_tenant=settings.tenant)
            server = build_server(tenants, keyring, scope=scope)
            quiet_collector()
            server.run("stdio")
            return 0
        from memstrata.server.runner import serve

        keyring = Keyring(
            tenants.keys, required=True if args.require_keys else None, open_tenant=settings.tenant
        )
        check_bind(args.host, keys_required=keyring.required, insecure=args.insecure)
        server = build_server(tenants, keyring, scope=scope)
        _note(f"memstrata MCP (streamable HTTP) on http://{args.host}:{args.port}/mcp")
        quiet_collector()
        serve(
            http_app(server, keyring, host=args.host),
            host=args.host,
            port=args.port,
            log_level=args.log_level,
        )
    return 0


def _at_least_one(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return number


def _tenants(settings: Settings) -> Tenants:
    """The server's tenants over the store of ``settings``, for its API keys (no embedder)."""
    return Tenants(settings.db, embedder=None, tenant=settings.tenant)


def cmd_keys_create(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with _tenants(settings) as tenants:
        new = create_key(tenants.keys, settings.tenant, name=args.name)
    key = new.key
    _emit(
        args,
        {
            "id": key.id,
            "tenant": key.tenant,
            "name": key.name,
            "created_at": key.created_at.isoformat(),
            "secret": new.secret,
        },
        f"created {key.id} for tenant {key.tenant!r}\n{new.secret}\n"
        "Keep the secret now: only its hash is stored, it cannot be shown again.",
    )
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    with _tenants(_settings(args)) as tenants:
        keys = tenants.keys.api_keys(args.tenant)
    rows = [
        {
            "id": k.id,
            "tenant": k.tenant,
            "name": k.name,
            "created_at": k.created_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in keys
    ]
    lines = [
        f"{k.id}  tenant={k.tenant}  {k.name or '-'}  created {k.created_at:%Y-%m-%d %H:%M}"
        + (f"  REVOKED {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "")
        for k in keys
    ]
    _emit(args, rows, "\n".join(lines) or "no API keys")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    with _tenants(_settings(args)) as tenants:
        revoke_key(tenants.keys, args.key_id)
    _emit(args, {"id": args.key_id, "revoked": True}, f"revoked {args.key_id}")
    return 0


def _listen(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=port, help=f"port (default: {port})")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow binding beyond loopback without API keys (e.g. behind an authenticating proxy)",
    )
    parser.add_argument(
        "--require-keys",
        action="store_true",
        help="require an API key on every request even if none exists yet",
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default: info)")


def register(
    subparsers: Any, common: argparse.ArgumentParser, scoped: argparse.ArgumentParser
) -> None:
    """Add ``serve``, ``mcp`` and ``keys`` to the main CLI."""
    p = subparsers.add_parser(
        "serve",
        parents=[common],
        help="run the REST server and web dashboard (dashboard at /, OpenAPI at /docs)",
        description=SERVE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _listen(p, DEFAULT_REST_PORT)
    p.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest request body in bytes, and largest line of an import "
        f"(default: {DEFAULT_MAX_BODY_BYTES:,})",
    )
    p.add_argument(
        "--max-import",
        type=int,
        default=DEFAULT_MAX_IMPORT_BYTES,
        help="largest JSON Lines body of /v1/import in bytes, read as a stream; 0 for no limit "
        f"(default: {DEFAULT_MAX_IMPORT_BYTES:,})",
    )
    p.add_argument(
        "--allowed-host",
        action="append",
        metavar="HOST",
        help="also answer requests for this host name: NAME for any port, NAME:PORT, or * for "
        "any host (repeatable; default: MEMSTRATA_ALLOWED_HOSTS, comma-separated)",
    )
    p.add_argument(
        "--allowed-origin",
        action="append",
        metavar="ORIGIN",
        help="let web pages of this origin, e.g. https://app.example.org, call the API, with "
        "CORS headers (repeatable; default: MEMSTRATA_ALLOWED_ORIGINS, comma-separated)",
    )
    p.add_argument(
        "--workers",
        type=_at_least_one,
        default=1,
        metavar="N",
        help="processes answering on the one port (default 1), so that searches use every "
        "core; each opens the store and keeps its own caches (MEMSTRATA_READ_CACHE_MB each) "
        "and /metrics counts, and sees the others' writes at its next search. If one exits, "
        "the server stops: run it under a supervisor that restarts it",
    )
    p.add_argument("--fd", type=int, help=argparse.SUPPRESS)  # a worker's inherited socket
    p.set_defaults(handler=cmd_serve)

    p = subparsers.add_parser(
        "mcp",
        parents=[common],
        help="run the MCP server over stdio (default) or streamable HTTP",
        description="The scope flags (--user, --agent, --run) confine the server: a tool call "
        "runs in that scope, may narrow it with a field left open, and is refused if it names "
        "another user, agent or run. Without them, each tool call names its own scope.",
    )
    scope_flags(p, "scope (optional)")
    p.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        help="stdio (default) or http: streamable HTTP at /mcp",
    )
    _listen(p, DEFAULT_MCP_PORT)
    p.set_defaults(handler=cmd_mcp)

    keys = subparsers.add_parser("keys", help="create, list and revoke API keys (server tenants)")
    sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    p = sub.add_parser("create", parents=[common], help="create a key for --tenant")
    p.add_argument("--name", help="a label for the key, e.g. who uses it")
    p.set_defaults(handler=cmd_keys_create)
    p = sub.add_parser("list", parents=[common], help="list keys (of --tenant, if given)")
    p.set_defaults(handler=cmd_keys_list)
    p = sub.add_parser("revoke", parents=[common], help="revoke a key by its id")
    p.add_argument("key_id", help="the key's id (key_…), from `memstrata keys list`")
    p.set_defaults(handler=cmd_keys_revoke)
