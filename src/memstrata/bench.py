"""``memstrata bench``: speed and size on deterministic synthetic chat memories.

Ingest throughput (embedding included; the embedder's own rate alone beside it), the first
search of a freshly opened store (which loads or builds the vector index), search latency with
and without query embedding, peak resident memory, bytes on disk per memory, and the recall@10
of the store's vector search against exact search over the same vectors. Figures are measured,
never assumed; each report names the machine, its load average, the git revision and the
settings.

The memories are chat-like sentences drawn from twenty templates and large vocabularies (names,
relations, places, venues, things, activities, foods, times, numbers, remarks), so that almost
no two are alike and nearest neighbours are well defined. Recall counts a returned memory as
found when its exact cosine is at least the tenth best exact cosine (a memory that ties with the
tenth is as good an answer); ``ann_recall_at_10_strict`` counts only the exact top ten.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from memstrata.evals import coldstart, load
from memstrata.evals.machine import load_average, machine
from memstrata.evals.stores import LARGE, refuse_large
from memstrata.evals.synthetic import synthetic_queries, synthetic_texts
from memstrata.ports import Embedder, EmbedKind, Vector
from memstrata.settings import quiet_collector
from memstrata.types import Filters, Scope

if TYPE_CHECKING:
    from memstrata.memory import Memory


class _Recording:
    """Wraps an embedder to keep the document vectors it produced (for exact search)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.documents: list[Vector] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        out = self.inner.embed(texts, kind)
        if kind == "document":
            self.documents.append(out)
        return out


class _Precomputed:
    """An embedder that answers queries from vectors computed beforehand."""

    def __init__(self, inner: Embedder, queries: Sequence[str]) -> None:
        self.inner = inner
        self.vectors = dict(zip(queries, inner.embed(queries, "query"), strict=True))

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        return np.stack([self.vectors[t] for t in texts])


def time_searches(memory: Memory, user: str, queries: Sequence[str]) -> list[float]:
    """Milliseconds of each ``search(query, user_id=user, limit=10)``, in order."""
    out = []
    for q in queries:
        t = time.perf_counter()
        memory.search(q, user_id=user, limit=10)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray(values)
    return {"p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95))}


def recall_at_k(
    documents: Vector, query: Vector, found: Sequence[int], k: int = 10
) -> tuple[float, float]:
    """Recall@k of ``found`` (row numbers of ``documents``) against exact search (pure).

    Returns ``(tie_aware, strict)``: tie-aware counts a found row whose exact cosine is at least
    the k-th best exact cosine; strict counts only the rows of one exact top k (ties broken by
    row number, as a stable sort does).
    """
    k = min(k, len(documents))
    if k == 0:
        return 1.0, 1.0
    scores = np.asarray(documents, dtype=np.float32) @ np.asarray(query, dtype=np.float32)
    exact = np.argsort(-scores, kind="stable")[:k]
    kth = scores[exact[-1]]
    chosen = list(dict.fromkeys(found))[:k]
    tie_aware = sum(1 for row in chosen if scores[row] >= kth) / k
    strict = len(set(chosen) & set(exact.tolist())) / k
    return tie_aware, strict


def _progress(total: int, label: str, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, unit="mem", file=sys.stderr)


def run(
    n: int,
    *,
    store: str | None = None,
    embedder: str = "minilm",
    retriever: str = "default",
    queries: int = 200,
    batch: int = 100,
    progress: bool = False,
) -> dict[str, Any]:
    from memstrata.embedders import make_embedder
    from memstrata.memory import Memory

    load_before = load_average()
    workdir = None
    if store is None:
        workdir = tempfile.TemporaryDirectory(prefix="memstrata-bench-")
        store = str(Path(workdir.name) / "bench.db")
    recording = _Recording(make_embedder(embedder))
    qs = synthetic_queries(queries)
    texts = list(synthetic_texts(n))
    recording.inner.embed(qs[:1], "query")  # loads the model before anything is timed
    # The embedder alone on the first (up to) 1,000 texts, in the same batches as the ingest:
    # what ingest would reach if storing cost nothing.
    sample = texts[: min(n, 1_000)]
    t = time.perf_counter()
    for start in range(0, len(sample), batch):
        recording.inner.embed(sample[start : start + batch], "document")
    embed_per_s = len(sample) / (time.perf_counter() - t)
    mem = Memory(store, embedder=recording, retriever=retriever)
    user = f"bench-{n}-{int(time.time())}"
    scope = Scope(user_id=user, tenant=mem.tenant)
    rows: dict[str, int] = {}
    bar = _progress(n, "ingest", progress)
    started = time.perf_counter()
    for start in range(0, n, batch):
        chunk = texts[start : start + batch]
        for record in mem.add(chunk, user_id=user).added:
            rows[record.id] = len(rows)
        if bar is not None:
            bar.update(len(chunk))
    ingest_s = time.perf_counter() - started
    if bar is not None:
        bar.close()

    # A store that builds its vector index on demand (PostgreSQL) builds it now, as a bulk load
    # should; the build is timed on its own.
    index_build_s = None
    build = getattr(mem.store, "build_vector_index", None)
    if build is not None:
        t = time.perf_counter()
        build(recording.dim)
        index_build_s = time.perf_counter() - t
    mem.close()

    # The first search of a newly opened store loads the scope's vectors (and builds or loads
    # its ANN index); the second opening finds whatever the first one left on disk.
    first_search_ms = []
    for _ in range(2):
        mem = Memory(store, embedder=recording, retriever=retriever)
        t = time.perf_counter()
        mem.search(qs[0], user_id=user, limit=10)
        first_search_ms.append((time.perf_counter() - t) * 1000)
        if len(first_search_ms) == 1:
            mem.close()

    # The same searches with each query's vector computed beforehand: the library's own cost.
    precomputed = _Precomputed(recording.inner, qs)
    fast = Memory(mem.store, embedder=precomputed, retriever=retriever)

    def timed(memory: Memory) -> list[float]:
        return time_searches(memory, user, qs)

    # A first pass meets every query for the first time (a large store counts how many memories
    # each new word matches, once per process); the timed passes come after it.
    first_pass = timed(fast)
    with_embed = timed(mem)
    no_embed = timed(fast)

    documents = np.concatenate(recording.documents)
    tie_aware, strict = [], []
    for q in qs[:100]:
        vector = precomputed.vectors[q]
        found = mem.store.vector_search(scope, vector, Filters(), limit=10)
        a, s = recall_at_k(documents, vector, [rows[r.id] for r, _ in found])
        tie_aware.append(a)
        strict.append(s)

    disk = _disk_bytes(mem.store)
    result: dict[str, Any] = {
        "n": n,
        "store": type(mem.store).__name__,
        "embedder": recording.name,
        "retriever": retriever,
        "ingest_s": ingest_s,
        "ingest_per_s": n / ingest_s,
        "embed_only_per_s": embed_per_s,
        "index_build_s": index_build_s,
        "first_search_ms": first_search_ms[0],
        "reopened_first_search_ms": first_search_ms[1],
        "search_ms": _percentiles(with_embed),
        "search_ms_no_embed": _percentiles(no_embed),
        "search_ms_first_pass_no_embed": _percentiles(first_pass),
        "ann_recall_at_10": float(np.mean(tie_aware)),
        "ann_recall_at_10_strict": float(np.mean(strict)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bytes_per_memory": None if disk is None else disk / n,
        "settings": {
            "batch": batch,
            "queries": len(qs),
            "recall_queries": len(tie_aware),
            "limit": 10,
            "vector_index": _index_settings(mem.store),
        },
        "load_average": {"before": load_before, "after": load_average()},
        "machine": machine(),
    }
    mem.close()
    if workdir is not None:
        workdir.cleanup()
    return result


def _disk_bytes(store: object) -> int | None:
    size = getattr(store, "disk_bytes", None)
    return None if size is None else int(size())


def _index_settings(store: object) -> dict[str, Any]:
    settings = getattr(store, "vector_index_settings", None)
    return {} if settings is None else dict(settings())


def register(sub: Any, common: argparse.ArgumentParser, scoped: argparse.ArgumentParser) -> None:
    p = sub.add_parser("bench", help="measure ingest, search latency, memory and disk")
    p.add_argument("--n", type=int, action="append", help="memories (repeatable; default 10000)")
    p.add_argument("--store", help="store URL or path (default: a temporary SQLite file)")
    p.add_argument("--embedder", default="minilm", help="embedder spec (default: minilm)")
    p.add_argument("--retriever", default="default", help="retriever preset (default: default)")
    p.add_argument("--queries", type=int, default=200, help="search queries timed")
    p.add_argument(
        "--large", action="store_true",
        help=f"allow --n above {LARGE:,} (1,000,000 takes hours and several GB)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object per size")
    p.set_defaults(handler=_command)
    kinds = p.add_subparsers(dest="bench_kind", metavar="KIND")
    cold = kinds.add_parser(
        "cold",
        help="a fresh process: open the store, first and second search, timed step by step",
        description="Fill (or reuse a cached) store with N chat messages in one scope (or "
        "take a SQLite store of your own, --store, and a user of it, --scope), then time, in "
        "fresh processes on a copy, starting, loading the embedder, opening the store, the "
        "first search and a second one.",
    )
    coldstart.add_arguments(cold)
    cold.set_defaults(handler=coldstart.run_command)
    serve = kinds.add_parser(
        "serve",
        help="REST servers on one store under concurrent clients over many scopes",
        description="Fill K scopes x M memories, start P `memstrata serve` processes on one "
        "store (SQLite, or PostgreSQL through pgserver), drive C clients adding and searching, "
        "and report throughput, latency, errors, server memory, cross-process freshness and "
        "whether a write to one scope slows the next search of another.",
    )
    load.add_arguments(serve)
    serve.set_defaults(handler=load.run_command)


def _command(args: argparse.Namespace) -> int:
    quiet_collector()  # its searches are timed as a server's are
    sizes = args.n or [10_000]
    if refuse_large(sizes, args.large, "memstrata bench", "--n"):
        return 2
    for n in sizes:
        result = run(
            n, store=args.store, embedder=args.embedder, retriever=args.retriever,
            queries=args.queries, progress=not args.json and sys.stderr.isatty(),
        )  # fmt: skip
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"n={n:,}  ingest {result['ingest_per_s']:.0f}/s  "
                f"first search {result['first_search_ms']:.0f} ms "
                f"(reopened {result['reopened_first_search_ms']:.0f} ms)  "
                f"search p50 {result['search_ms']['p50']:.1f} ms p95 "
                f"{result['search_ms']['p95']:.1f} ms (no embed p95 "
                f"{result['search_ms_no_embed']['p95']:.1f} ms)  "
                f"ANN recall@10 {result['ann_recall_at_10']:.3f}  "
                f"peak RSS {result['peak_rss_mb']:.0f} MB  "
                f"{result['bytes_per_memory'] or 0:.0f} B/memory"
            )
    return 0
