"""Load test for the REST server: concurrent clients adding and searching against a big store.

    python scripts/load_test.py                      # 100,000 memories, 32 clients, 30 s
    python scripts/load_test.py --n 20000 --json out/load.json

1. Pre-fills a fresh SQLite store with ``--n`` synthetic chat memories in one scope, through
   the library (``Memory.add`` in batches) with the ``hashing`` embedder by default: the point is
   the server under load, not the embedding model (``--embedder minilm`` measures that too).
2. Starts ``memstrata serve`` on it in its own process (127.0.0.1, a free port).
3. Runs ``--clients`` concurrent clients (threads, one HTTP connection each) for ``--duration``
   seconds; each request is an add (one new message with a unique id) or a search (a synthetic
   question), in the ratio ``--search-share``.
4. Prints requests/s and latency p50/p95/p99 per operation, and errors by status.
5. Stops the server and checks, on the store file, that every add the server acknowledged
   (HTTP 201) is stored: the memory by id and its message by id.

Exits non-zero if any acknowledged add is missing. Not a timed test: figures depend on the
machine, which the report names.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from memstrata import Memory, Scope
from memstrata.bench import synthetic_queries, synthetic_texts

SCOPE = {"user_id": "load"}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"add": [], "search": []})
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: {"add": {}, "search": {}})
    acked: list[tuple[str, str]] = field(default_factory=list)  # (memory id, message id)
    failures: list[str] = field(default_factory=list)


def prefill(db: Path, n: int, embedder: str, batch: int = 1000) -> float:
    start = time.perf_counter()
    with Memory(db, embedder=embedder) as mem:
        texts = synthetic_texts(n)
        done = 0
        while done < n:
            size = min(batch, n - done)
            chunk = [{"id": f"seed-{done + i}", "text": next(texts)} for i in range(size)]
            mem.add(chunk, **SCOPE)
            done += size
            if done % (batch * 20) == 0 or done == n:
                rate = done / (time.perf_counter() - start)
                print(f"  pre-filled {done:,}/{n:,} ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(db: Path, embedder: str, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "memstrata.cli", "serve", "--db", str(db), "--embedder", embedder,
        "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise SystemExit(f"the server exited: {stderr}") from None
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start within 300 s")


def client(
    index: int,
    url: str,
    stop: float,
    search_share: float,
    queries: list[str],
    tally: Tally,
    run: str,
) -> None:
    rng = random.Random(index)
    local: dict[str, list[float]] = {"add": [], "search": []}
    statuses: dict[str, dict[int, int]] = {"add": {}, "search": {}}
    acked: list[tuple[str, str]] = []
    failures: list[str] = []
    seq = 0
    with httpx.Client(base_url=url, timeout=60) as http:
        while time.monotonic() < stop:
            if rng.random() < search_share:
                op = "search"
                body: dict[str, Any] = {**SCOPE, "query": rng.choice(queries), "limit": 10}
                path = "/v1/memories/search"
            else:
                op = "add"
                message_id = f"load-{run}-{index}-{seq}"
                seq += 1
                text = f"Client {index} note {seq}: I met {rng.choice(queries)[:40]} today."
                body = {**SCOPE, "messages": [{"id": message_id, "text": text}]}
                path = "/v1/memories"
            began = time.perf_counter()
            try:
                response = http.post(path, json=body)
            except httpx.HTTPError as exc:
                failures.append(f"{op}: {type(exc).__name__}: {exc}")
                continue
            local[op].append(time.perf_counter() - began)
            statuses[op][response.status_code] = statuses[op].get(response.status_code, 0) + 1
            if op == "add" and response.status_code == 201:
                added = response.json()["added"]
                if len(added) != 1:
                    failures.append(f"add: message {message_id} was not stored as new: {added}")
                    continue
                acked.append((added[0]["id"], message_id))
    with threading.Lock():
        for op in local:
            tally.latencies[op].extend(local[op])
            for status, count in statuses[op].items():
                tally.statuses[op][status] = tally.statuses[op].get(status, 0) + count
        tally.acked.extend(acked)
        tally.failures.extend(failures)


def percentile_ms(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000, 1)


def verify(db: Path, acked: list[tuple[str, str]], embedder: str) -> int:
    """How many acknowledged adds are missing from the store file."""
    scope = Scope(**SCOPE)
    missing = 0
    with Memory(db, embedder=embedder) as mem:
        for start in range(0, len(acked), 500):
            chunk = acked[start : start + 500]
            found = {r.id for r in mem.store.get_many(scope, [m for m, _ in chunk])}
            known = mem.store.known_messages(scope, [s for _, s in chunk])
            missing += sum(1 for m, s in chunk if m not in found or s not in known)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="memories to pre-fill")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--search-share", type=float, default=0.5, help="share of searches")
    parser.add_argument("--embedder", default="hashing", help="embedder spec (default: hashing)")
    parser.add_argument("--db", type=Path, help="store file (default: a fresh temporary one)")
    parser.add_argument(
        "--reuse", action="store_true", help="--db is already pre-filled: skip the pre-fill"
    )
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)

    workdir = tempfile.TemporaryDirectory(prefix="memstrata-load-")
    db: Path = args.db or Path(workdir.name) / "load.db"
    prefill_s = 0.0
    if not args.reuse:
        print(f"pre-filling {args.n:,} memories ({args.embedder}) into {db}", file=sys.stderr)
        prefill_s = prefill(db, args.n, args.embedder)

    port = free_port()
    server = start_server(db, args.embedder, port)
    url = f"http://127.0.0.1:{port}"
    queries = synthetic_queries(500)
    warm = time.perf_counter()  # the first search loads the scope's vector index
    httpx.post(f"{url}/v1/memories/search", json={**SCOPE, "query": queries[0]}, timeout=900)
    warmup_s = time.perf_counter() - warm
    print(f"warm-up search: {warmup_s:.1f} s", file=sys.stderr)
    tally = Tally()
    run = os.urandom(4).hex()  # message ids unique across runs on a reused store
    print(f"{args.clients} clients for {args.duration:.0f} s against {url}", file=sys.stderr)
    began = time.monotonic()
    stop = began + args.duration
    threads = [
        threading.Thread(
            target=client,
            args=(i, url, stop, args.search_share, queries, tally, run),
            daemon=True,
        )
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    metrics = httpx.get(f"{url}/metrics").text
    server.terminate()
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:  # still working through requests that clients gave up on
        server.kill()
        server.wait(60)

    missing = verify(db, tally.acked, args.embedder)
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "settings": {
            "memories": args.n,
            "clients": args.clients,
            "duration_s": args.duration,
            "search_share": args.search_share,
            "embedder": args.embedder,
            "store": "sqlite",
        },
        "prefill_s": round(prefill_s, 1),
        "warmup_search_s": round(warmup_s, 1),
        "elapsed_s": round(elapsed, 1),
        "operations": {},
        "acknowledged_adds": len(tally.acked),
        "missing_adds": missing,
        "client_errors": tally.failures[:10],
        "client_error_count": len(tally.failures),
        "server_request_lines": sum(
            1 for line in metrics.splitlines() if line.startswith("memstrata_http_requests_total")
        ),
    }
    total = 0
    for op in ("add", "search"):
        values = tally.latencies[op]
        total += len(values)
        report["operations"][op] = {
            "requests": len(values),
            "per_s": round(len(values) / elapsed, 1),
            "p50_ms": percentile_ms(values, 50),
            "p95_ms": percentile_ms(values, 95),
            "p99_ms": percentile_ms(values, 99),
            "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else None,
            "statuses": {str(k): v for k, v in sorted(tally.statuses[op].items())},
            "client_errors": sum(1 for f in tally.failures if f.startswith(f"{op}:")),
        }
    report["requests_per_s"] = round(total / elapsed, 1)

    print(json.dumps(report, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    workdir.cleanup()
    if missing:
        print(f"FAIL: {missing} acknowledged adds are not stored", file=sys.stderr)
        return 1
    print(f"ok: all {len(tally.acked):,} acknowledged adds are stored", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
