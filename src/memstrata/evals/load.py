"""``memstrata bench serve``: REST servers under concurrent clients, over many scopes.

1. Fills K scopes with M synthetic chat messages each through ``Memory.add`` (SQLite: once,
   then a cached copy; PostgreSQL: a server started with the ``pgserver`` wheel, or ``--db``).
2. Starts P ``memstrata serve`` processes on that one store (each with W ``--workers``).
3. Drives C client threads for S seconds, dealt to the servers in turn (one HTTP connection
   each): each request adds one message (share ``--write-share``) or searches, in a random
   scope. A search is "cold" when it is the first of its scope on its server.
4. Measures each server's resident memory (``/proc/PID/status``: VmRSS, VmHWM), and each of
   its workers'.
5. Freshness: a message added through server A, then searched for through server B until B
   returns it; the delay after A's answer, each time.
6. Interference: B searches scope Y (warm), A adds to scope X, B searches Y again at once; both
   of B's searches are timed.
7. Stops the servers and checks on the store that every add a server acknowledged is stored.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from memstrata.evals.chats import chat_messages, chat_sessions
from memstrata.evals.coldstart import read_status
from memstrata.evals.embedcache import CachingEmbedder, default_cache_dir
from memstrata.evals.machine import load_average, machine
from memstrata.evals.metrics import percentile
from memstrata.evals.progress import progress_bar
from memstrata.evals.stores import cache_arguments, cached_store, copy_store, fill
from memstrata.evals.synthetic import synthetic_queries


def scope_name(index: int) -> str:
    return f"load-{index}"


def scope_batches(scopes: int, memories: int, seed: int = 0) -> list[tuple[str, list[Any]]]:
    """``memories`` chat messages for each of ``scopes`` scopes, in batches of at most 100."""
    messages = [m.as_message() for s in chat_messages(scopes * memories, seed) for m in s]
    out: list[tuple[str, list[Any]]] = []
    for i in range(scopes):
        part = messages[i * memories : (i + 1) * memories]
        out.extend((scope_name(i), part[j : j + 100]) for j in range(0, len(part), 100))
    return out


def summary_ms(values: Sequence[float]) -> dict[str, Any]:
    """Count, p50, p95 and max of latencies given in seconds, in milliseconds (pure)."""
    ms = [v * 1000 for v in values]
    return {
        "count": len(ms),
        "p50": round(percentile(ms, 50), 1) if ms else None,
        "p95": round(percentile(ms, 95), 1) if ms else None,
        "max": round(max(ms), 1) if ms else None,
    }


# -- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def pids(self) -> list[int]:
        """The processes that serve: the server's, and its workers' (``serve --workers``)."""
        return [self.process.pid, *children(self.process.pid)]


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read from ``/proc``; none elsewhere)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return sorted(out)


def listeners(port: int) -> int:
    """How many sockets listen on TCP ``port`` (read from ``/proc/net``; 0 elsewhere): one
    for each worker of a ``serve --workers`` on Linux."""
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            _, local, _, state = row.split()[:4]
            count += state == "0A" and int(local.rsplit(":", 1)[1], 16) == port
    return count


def start_server(store: str, embedder: str, log: Path, workers: int = 1) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "memstrata.cli", "serve", "--db", store]
    command += ["--embedder", embedder, "--port", str(port), "--log-level", "warning"]
    command += ["--workers", str(workers)] if workers > 1 else []
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                # One worker answers; the kernel deals connections to the others once they
                # listen too (Linux; elsewhere they share one socket).
                if workers == 1 or listeners(port) >= workers or sys.platform != "linux":
                    return Server(process, url, log)
                time.sleep(0.2)
                continue
        except httpx.TransportError:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("a server did not start within 300 s")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(60)
    except subprocess.TimeoutExpired:  # still working through requests clients gave up on
        server.process.kill()
        server.process.wait(60)


@contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL server (the ``pgserver`` wheel, PostgreSQL with pgvector)."""
    try:
        import pgserver
    except ImportError:
        raise SystemExit(
            "--backend postgres starts a server with the pgserver wheel: pip install pgserver "
            "(or name a running server with --db postgresql://…)"
        ) from None
    server = pgserver.get_server(  # type: ignore[attr-defined]
        workdir / "pg", cleanup_mode="delete"
    )
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


# -- clients -------------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"add": [], "search_cold": [], "search_warm": []}
    )
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    acked: list[tuple[str, str]] = field(default_factory=list)  # (scope, message id)
    touched: set[tuple[int, str]] = field(default_factory=set)  # (server, scope) searched
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(
    index: int,
    urls: Sequence[str],
    scopes: int,
    stop: float,
    args: argparse.Namespace,
    tally: Tally,
    run: str,
    bar: Any,
) -> None:
    rng = random.Random(args.seed * 1000 + index)
    queries = synthetic_queries(200, seed=index)
    texts = (m.text for s in chat_sessions(seed=10_000 + index) for m in s)
    # Each client keeps to one server (clients are dealt to the servers in turn): a connection
    # left idle while its client waits on another server would pass the server's keep-alive
    # timeout and be reset under the next request.
    server = index % len(urls)
    turn = 0
    with httpx.Client(timeout=120) as http:
        while time.monotonic() < stop:
            turn += 1
            scope = scope_name(rng.randrange(scopes))
            adding = rng.random() < args.write_share
            if adding:
                message_id = f"{run}-{index}-{turn}"
                body: dict[str, Any] = {
                    "user_id": scope,
                    "messages": [{"id": message_id, "text": next(texts)}],
                }
                path, op = "/v1/memories", "add"
            else:
                body = {"user_id": scope, "query": rng.choice(queries), "limit": 10}
                path = "/v1/memories/search"
                with tally.lock:
                    op = "search_warm" if (server, scope) in tally.touched else "search_cold"
                    tally.touched.add((server, scope))
            began = time.perf_counter()
            try:
                response = http.post(urls[server] + path, json=body)
            except httpx.HTTPError as exc:
                with tally.lock:
                    tally.errors.append(f"{op}: {type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - began
            with tally.lock:
                tally.latencies[op].append(elapsed)
                tally.statuses[f"{op.split('_')[0]} {response.status_code}"] += 1
                if adding and response.status_code == 201:
                    tally.acked.append((scope, message_id))
            if bar is not None:
                bar.update(1)


def drive(urls: Sequence[str], args: argparse.Namespace) -> tuple[Tally, float]:
    """C clients for ``args.duration`` seconds; returns what they saw and the elapsed time."""
    tally = Tally()
    run = "load-" + os.urandom(4).hex()
    bar = progress_bar(
        0, f"{args.clients} clients, {args.duration:.0f} s", args.progress, unit="req"
    )
    began = time.monotonic()
    stop = began + args.duration
    threads = [
        threading.Thread(
            target=_client, daemon=True, args=(i, urls, args.scopes, stop, args, tally, run, bar)
        )
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if bar is not None:
        bar.close()
    return tally, time.monotonic() - began


# -- probes --------------------------------------------------------------------------------------


def _search(http: httpx.Client, url: str, scope: str, query: str) -> tuple[float, list[Any]]:
    began = time.perf_counter()
    response = http.post(
        f"{url}/v1/memories/search", json={"user_id": scope, "query": query, "limit": 10}
    )
    elapsed = time.perf_counter() - began
    response.raise_for_status()
    return elapsed, list(response.json()["hits"])


def _add(http: httpx.Client, url: str, scope: str, message_id: str, text: str) -> None:
    response = http.post(
        f"{url}/v1/memories",
        json={"user_id": scope, "messages": [{"id": message_id, "text": text}]},
    )
    response.raise_for_status()


def freshness(
    urls: Sequence[str], args: argparse.Namespace, acked: list[tuple[str, str]]
) -> dict[str, Any]:
    """Add through the first server, search through the last until the message is found."""
    rng = random.Random(args.seed + 1)
    writer, reader = urls[0], urls[-1]
    delays: list[float] = []
    polls: list[int] = []
    missed = 0
    with httpx.Client(timeout=120) as http:
        for i in range(args.probes):
            scope = scope_name(rng.randrange(args.scopes))
            token = f"fresh{os.urandom(5).hex()}"
            message_id = f"probe-{token}"
            _add(http, writer, scope, message_id, f"Note {i}: the code word is {token}.")
            acked.append((scope, message_id))
            added = time.perf_counter()
            count = 0
            while True:
                count += 1
                _, hits = _search(http, reader, scope, f"code word {token}")
                if any(message_id in h.get("sources", ()) for h in hits):
                    delays.append(time.perf_counter() - added)
                    polls.append(count)
                    break
                if time.perf_counter() - added > args.fresh_timeout:
                    missed += 1
                    break
                time.sleep(0.005)
    return {
        **summary_ms(delays),
        "polls_max": max(polls, default=0),
        "not_found": missed,
        "writer": 0,
        "reader": len(urls) - 1,
    }


def interference(
    urls: Sequence[str], args: argparse.Namespace, acked: list[tuple[str, str]]
) -> dict[str, Any]:
    """The reader's search of scope Y before and just after the writer adds to scope X."""
    rng = random.Random(args.seed + 2)
    writer, reader = urls[0], urls[-1]
    queries = synthetic_queries(50, seed=99)
    before: list[float] = []
    after: list[float] = []
    with httpx.Client(timeout=120) as http:
        for i in range(args.probes):
            x, y = rng.sample(range(args.scopes), 2) if args.scopes > 1 else (0, 0)
            query = queries[i % len(queries)]
            _search(http, reader, scope_name(y), query)  # warm: the scope is loaded
            before.append(_search(http, reader, scope_name(y), query)[0])
            message_id = f"probe-x-{os.urandom(5).hex()}"
            _add(http, writer, scope_name(x), message_id, f"Another note, number {i}.")
            acked.append((scope_name(x), message_id))
            after.append(_search(http, reader, scope_name(y), query)[0])
    return {
        "before": summary_ms(before),
        "after": summary_ms(after),
        "writer": 0,
        "reader": len(urls) - 1,
    }


def missing_adds(store: str, embedder: str, acked: Sequence[tuple[str, str]]) -> int:
    """How many acknowledged adds are not in the store (checked after the servers stopped)."""
    from memstrata.memory import Memory
    from memstrata.types import Scope

    by_scope: dict[str, list[str]] = {}
    for scope, message_id in acked:
        by_scope.setdefault(scope, []).append(message_id)
    missing = 0
    with Memory(store, embedder=embedder) as memory:
        for scope, ids in by_scope.items():
            known = memory.store.known_messages(Scope(user_id=scope, tenant=memory.tenant), ids)
            missing += sum(1 for i in ids if i not in known)
    return missing


# -- the command ---------------------------------------------------------------------------------


def _prepare(
    args: argparse.Namespace, stack: ExitStack, workdir: Path
) -> tuple[str, dict[str, Any]]:
    """The filled store the servers share: its path or URL, and how it was filled."""
    from memstrata.embedders import make_embedder

    embedder = CachingEmbedder(make_embedder(args.embedder), args.cache / "vectors")
    stack.callback(embedder.close)
    batches = scope_batches(args.scopes, args.memories, args.seed)

    def build(target: str | Path) -> dict[str, Any]:
        return fill(target, batches, embedder, desc="fill", progress=args.progress)

    if args.db:
        return args.db, {"reused": True} if args.reuse else build(args.db)
    if args.backend == "postgres":
        url = stack.enter_context(postgres(workdir))
        return url, build(url)

    recipe = {
        "kind": "serve",
        "scopes": args.scopes,
        "memories": args.memories,
        "seed": args.seed,
        "embedder": embedder.name,
    }
    label = f"serve-{args.scopes}x{args.memories}"
    source, record = cached_store(args.cache, label, recipe, build, rebuild=args.rebuild)
    store = copy_store(source, workdir / "serve.db")
    return str(store), {k: record.get(k) for k in ("memories", "fill_s", "cached")}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    where = machine()  # the revision that runs is the one checked out now
    load_before = load_average()
    started = time.perf_counter()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="memstrata-load-")))
        store, filled = _prepare(args, stack, workdir)
        servers: list[Server] = []
        try:
            for i in range(args.processes):
                log = workdir / f"server-{i}.log"
                servers.append(start_server(store, args.embedder, log, args.workers))
            urls = [s.url for s in servers]
            memory: list[dict[str, Any]] = [
                {"pid": pid, "started": read_status(pid)} for s in servers for pid in s.pids()
            ]
            tally, elapsed = drive(urls, args)
            for entry in memory:
                entry["after_load"] = read_status(entry["pid"])
            acked = list(tally.acked)
            fresh = freshness(urls, args, acked)
            interfere = interference(urls, args, acked)
            for entry in memory:
                entry["end"] = read_status(entry["pid"])
        finally:
            for server in servers:
                stop_server(server)
        logs = [s.log.read_text(errors="replace")[-1500:] for s in servers]
        missing = missing_adds(store, args.embedder, acked)
    latencies = tally.latencies
    searches = latencies["search_cold"] + latencies["search_warm"]
    errors = sum(n for key, n in tally.statuses.items() if not key.endswith((" 200", " 201")))
    return {
        "settings": {
            "backend": "postgres" if store.startswith("postgres") else "sqlite",
            "scopes": args.scopes,
            "memories_per_scope": args.memories,
            "clients": args.clients,
            "processes": args.processes,
            "workers": args.workers,
            "duration_s": args.duration,
            "write_share": args.write_share,
            "embedder": args.embedder,
            "probes": args.probes,
            "seed": args.seed,
        },
        "fill": filled,
        "elapsed_s": round(elapsed, 1),
        "searches_per_s": round(len(searches) / elapsed, 2),
        "adds_per_s": round(len(latencies["add"]) / elapsed, 2),
        "search_ms": {
            "all": summary_ms(searches),
            "cold": summary_ms(latencies["search_cold"]),
            "warm": summary_ms(latencies["search_warm"]),
        },
        "add_ms": summary_ms(latencies["add"]),
        "statuses": dict(sorted(tally.statuses.items())),
        "errors": errors + len(tally.errors),
        "client_errors": tally.errors[:10],
        "server_log_tails": [text for text in logs if text.strip()],
        "server_memory_mb": memory,
        "freshness_ms": fresh,
        "interference_ms": interfere,
        "acknowledged_adds": len(acked),
        "missing_adds": missing,
        "machine": where,
        "load_average": {"before": load_before, "after": load_average()},
        "total_s": round(time.perf_counter() - started, 1),
    }


def _pair(a: dict[str, Any], b: dict[str, Any]) -> str:
    return f"p50 {a['p50']} / {b['p50']} ms, p95 {a['p95']} / {b['p95']} ms"


def _human(report: dict[str, Any]) -> str:
    s, search, add = report["settings"], report["search_ms"], report["add_ms"]
    fresh, inter = report["freshness_ms"], report["interference_ms"]
    rss = ", ".join(
        f"{m['after_load'].get('VmRSS', '?')} MB (peak {m['end'].get('VmHWM', '?')})"
        for m in report["server_memory_mb"]
    )
    stored = report["acknowledged_adds"] - report["missing_adds"]
    lines = [
        f"{s['backend']}, {s['processes']} server(s) of {s['workers']} worker(s), "
        f"{s['scopes']} scopes x "
        f"{s['memories_per_scope']} memories, {s['clients']} clients, {report['elapsed_s']} s",
        f"searches {report['searches_per_s']}/s: p50 {search['all']['p50']} ms, "
        f"p95 {search['all']['p95']} ms; cold / warm {_pair(search['cold'], search['warm'])}",
        f"adds {report['adds_per_s']}/s: p50 {add['p50']} ms, p95 {add['p95']} ms",
        f"errors: {report['errors']}",
        f"server memory after load: {rss}",
        f"freshness (added on server {fresh['writer']}, found on {fresh['reader']}): "
        f"p50 {fresh['p50']} ms, p95 {fresh['p95']} ms, not found {fresh['not_found']}",
        f"search of Y before / after a write to X: {_pair(inter['before'], inter['after'])}",
        f"acknowledged adds stored: {stored} of {report['acknowledged_adds']}",
        f"load average {report['load_average']['before']} → {report['load_average']['after']}",
    ]
    return "\n".join(lines)


def run_command(args: argparse.Namespace) -> int:
    """Carry out ``memstrata bench serve``; exit 1 when an acknowledged add is missing."""
    counts = (args.scopes, args.memories, args.clients, args.processes, args.workers)
    if min(counts) < 1:
        print(
            "memstrata bench serve: --scopes, --memories, --clients, --processes and "
            "--workers must be at least 1",
            file=sys.stderr,
        )
        return 2
    if not 0 <= args.write_share <= 1:
        print("memstrata bench serve: --write-share is a share from 0 to 1", file=sys.stderr)
        return 2
    args.cache = args.cache or default_cache_dir()
    args.progress = not args.quiet
    report = measure(args)
    print(json.dumps(report) if args.json else _human(report))
    return 1 if report["missing_adds"] else 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scopes", type=int, default=20, help="scopes (users) filled (default 20)")
    p.add_argument("--memories", type=int, default=200, help="memories per scope (default 200)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="`memstrata serve` processes on the one store (default 1)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="W",
        help="`--workers` of each `memstrata serve`: processes answering on its one port "
        "(default 1); the resident memory is then each process's, the server's own first",
    )
    p.add_argument(
        "--backend",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="SQLite file, or PostgreSQL started with pgserver (default sqlite)",
    )
    p.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="use this store instead (a file, or a running PostgreSQL)",
    )
    p.add_argument("--reuse", action="store_true", help="--db is filled already: do not fill")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    p.add_argument(
        "--write-share",
        type=float,
        default=0.1,
        help="share of requests that add a message (default 0.1)",
    )
    p.add_argument(
        "--embedder",
        default="hashing",
        help="embedder of the fill and the servers (default: hashing)",
    )
    p.add_argument(
        "--probes",
        type=int,
        default=20,
        help="freshness and interference probes, each (default 20)",
    )
    p.add_argument(
        "--fresh-timeout",
        type=float,
        default=30.0,
        help="seconds a freshness probe waits (default 30)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    cache_arguments(p)
