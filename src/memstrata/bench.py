"""``memstrata bench``: speed and size on deterministic synthetic chat memories.

Ingest throughput (embedding included), search latency with and without query embedding, peak
resident memory, bytes on disk per memory, and the recall@10 of the store's vector search
against exact search over the same vectors. Figures are measured, never assumed.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memstrata.ports import Embedder, EmbedKind, Vector
from memstrata.types import Filters, Scope

NAMES = ("Ada", "Bruno", "Chen", "Dara", "Emeka", "Fatima", "Goran", "Hana", "Ivo", "Jun")
PLACES = ("Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn", "Hanoi", "Porto", "Accra", "Cusco")
THINGS = ("a bicycle", "a sourdough starter", "a telescope", "a ukulele", "a kayak", "a puppy",
          "a vegetable garden", "a chess set", "a camera", "a pottery wheel")  # fmt: skip
ACTIVITIES = ("hiking", "painting", "swimming", "baking", "climbing", "reading sci-fi",
              "learning Portuguese", "running", "birdwatching", "woodworking")  # fmt: skip
TEMPLATES = (
    "I went {activity} near {place} with {name} last weekend.",
    "{name} gave me {thing} for my birthday, I love it.",
    "I'm thinking about moving to {place} next year for work.",
    "Yesterday {name} and I talked for hours about {activity}.",
    "I finally bought {thing}; {name} helped me choose it.",
    "My sister lives in {place} and she is really into {activity}.",
    "Do you remember when {name} tried {activity} in {place}? What a day.",
    "I started {activity} three weeks ago and I'm getting better.",
)


def synthetic_texts(n: int, seed: int = 7) -> Iterator[str]:
    """``n`` chat-like sentences, the same for the same seed."""
    rng = random.Random(seed)
    for i in range(n):
        template = TEMPLATES[rng.randrange(len(TEMPLATES))]
        text = template.format(
            name=rng.choice(NAMES), place=rng.choice(PLACES), thing=rng.choice(THINGS),
            activity=rng.choice(ACTIVITIES),
        )  # fmt: skip
        yield f"{text} (#{i})"


def synthetic_queries(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    forms = (
        "Where did I go {activity}?",
        "What did {name} give me?",
        "Who lives in {place}?",
        "When did I talk with {name} about {activity}?",
        "What did I buy recently?",
    )
    return [
        rng.choice(forms).format(
            name=rng.choice(NAMES), place=rng.choice(PLACES), activity=rng.choice(ACTIVITIES)
        )
        for _ in range(n)
    ]


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


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray(values)
    return {"p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95))}


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
    queries: int = 200,
    batch: int = 100,
    progress: bool = False,
) -> dict[str, Any]:
    from memstrata.embedders import make_embedder
    from memstrata.memory import Memory
    from memstrata.read.search import search

    workdir = None
    if store is None:
        workdir = tempfile.TemporaryDirectory(prefix="memstrata-bench-")
        store = str(Path(workdir.name) / "bench.db")
    recording = _Recording(make_embedder(embedder))
    mem = Memory(store, embedder=recording)
    user = f"bench-{n}-{int(time.time())}"
    bar = _progress(n, "ingest", progress)
    started = time.perf_counter()
    texts = list(synthetic_texts(n))
    for start in range(0, n, batch):
        chunk = texts[start : start + batch]
        mem.add(chunk, user_id=user)
        if bar is not None:
            bar.update(len(chunk))
    ingest_s = time.perf_counter() - started
    if bar is not None:
        bar.close()

    qs = synthetic_queries(queries)
    mem.search(qs[0], user_id=user)  # warm: loads the vector index (and builds the ANN)
    with_embed = []
    for q in qs:
        t = time.perf_counter()
        mem.search(q, user_id=user, limit=10)
        with_embed.append((time.perf_counter() - t) * 1000)
    precomputed = _Precomputed(recording.inner, qs)
    scope = Scope(user_id=user)
    no_embed = []
    for q in qs:
        t = time.perf_counter()
        search(mem.store, precomputed, scope, q, Filters(), limit=10, retrieval=mem.retrieval)
        no_embed.append((time.perf_counter() - t) * 1000)

    documents = np.concatenate(recording.documents)
    recalls = []
    for q in qs[:100]:
        vector = precomputed.vectors[q]
        exact = set(np.argsort(-(documents @ vector))[:10].tolist())
        found = {r.text for r, _ in mem.store.vector_search(scope, vector, Filters(), limit=10)}
        recalls.append(len(found & {texts[i] for i in exact}) / 10)

    disk = _disk_bytes(store)
    result: dict[str, Any] = {
        "n": n,
        "store": "sqlite" if not store.startswith("postgres") else "postgresql",
        "embedder": recording.name,
        "ingest_s": ingest_s,
        "ingest_per_s": n / ingest_s,
        "search_ms": _percentiles(with_embed),
        "search_ms_no_embed": _percentiles(no_embed),
        "ann_recall_at_10": float(np.mean(recalls)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bytes_per_memory": None if disk is None else disk / n,
    }
    mem.close()
    if workdir is not None:
        workdir.cleanup()
    return result


def _disk_bytes(store: str) -> int | None:
    if "://" in store and not store.startswith("sqlite:"):
        return None
    path = Path(store.removeprefix("sqlite://"))
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    return sum(f.stat().st_size for f in files if f.exists())


def register(sub: Any, common: argparse.ArgumentParser, scoped: argparse.ArgumentParser) -> None:
    p = sub.add_parser("bench", help="measure ingest, search latency, memory and disk")
    p.add_argument("--n", type=int, action="append", help="memories (repeatable; default 10000)")
    p.add_argument("--store", help="store URL or path (default: a temporary SQLite file)")
    p.add_argument("--embedder", default="minilm", help="embedder spec (default: minilm)")
    p.add_argument("--queries", type=int, default=200, help="search queries timed")
    p.add_argument("--json", action="store_true", help="print one JSON object per size")
    p.set_defaults(handler=_command)


def _command(args: argparse.Namespace) -> int:
    for n in args.n or [10_000]:
        result = run(
            n, store=args.store, embedder=args.embedder, queries=args.queries,
            progress=not args.json and sys.stderr.isatty(),
        )  # fmt: skip
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"n={n:,}  ingest {result['ingest_per_s']:.0f}/s  "
                f"search p50 {result['search_ms']['p50']:.1f} ms p95 "
                f"{result['search_ms']['p95']:.1f} ms (no embed p95 "
                f"{result['search_ms_no_embed']['p95']:.1f} ms)  "
                f"ANN recall@10 {result['ann_recall_at_10']:.3f}  "
                f"peak RSS {result['peak_rss_mb']:.0f} MB  "
                f"{result['bytes_per_memory'] or 0:.0f} B/memory"
            )
    return 0
