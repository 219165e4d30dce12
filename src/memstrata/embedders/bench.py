"""How fast an embedder is here: load time, batched throughput, single-query latency.

``measure(embedder, n)`` embeds ``n`` deterministic chat-like sentences (about 15 words each)
in one call, then embeds single queries one at a time, and reports seconds, sentences per
second and milliseconds. Pass a freshly built embedder to include its load in ``load_s``.

Wall-clock figures depend on what else the machine runs; the process CPU time next to them
(``batch_cpu_s``, ``query_cpu_ms``) shows how much work the embedder itself did.
"""

from __future__ import annotations

import os
import platform
import random
import time
from typing import Any

import numpy as np

from memstrata.errors import InvalidInputError
from memstrata.ports import Embedder

_SUBJECTS = (
    "I", "My sister", "My manager", "Our team", "My partner", "The kids", "My doctor", "We",
    "My friend Alex", "The landlord", "My brother", "Grandma",
)  # fmt: skip
_VERBS = (
    "moved to", "started learning", "is allergic to", "booked a trip to", "stopped drinking",
    "signed up for", "keeps forgetting about", "finally finished", "really enjoys",
    "complained about", "is planning", "switched jobs and now works at",
)  # fmt: skip
_OBJECTS = (
    "Lisbon", "the Spanish course", "peanuts and shellfish", "the marathon in October",
    "coffee after lunch", "a pottery class", "the dentist appointment", "the garden shed",
    "vegetarian recipes", "the quarterly budget review", "a small startup in Berlin",
    "the new espresso machine", "jazz records", "the school play",
)  # fmt: skip
_TAILS = (
    "last weekend, and it went better than expected.",
    "because the old plan did not work out at all.",
    "so please remind me about it next Tuesday morning.",
    "which everyone at dinner found pretty surprising.",
    "after talking it over with the whole family.",
    "and wants to keep doing it every single week.",
    "even though the weather has been awful lately.",
    "since the doctor suggested it back in March.",
)  # fmt: skip


def chat_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` chat-like sentences of about 15 words, the same for the same ``seed``."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}"
        for _ in range(n)
    ]


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    """p50 and p95 of durations given in seconds, in milliseconds."""
    values = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p95": round(float(np.percentile(values, 95)), 3),
    }


def measure(embedder: Embedder, n: int = 2000, *, queries: int = 200) -> dict[str, Any]:
    """Time ``embedder`` on ``n`` sentences in one batch and ``queries`` single queries."""
    if n < 1 or queries < 1:
        raise InvalidInputError("n and queries must be at least 1")
    sentences = chat_sentences(n)
    probes = chat_sentences(queries, seed=1)

    start = time.perf_counter()
    embedder.embed(["warm-up"], kind="query")  # loads a lazy model
    load_s = time.perf_counter() - start

    start, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.embed(sentences, kind="document")
    batch_s, batch_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    if vectors.shape != (n, embedder.dim):
        raise InvalidInputError(f"{embedder.name} returned shape {vectors.shape} for {n} texts")

    latencies, cpu_times = [], []
    for text in probes:
        start, cpu = time.perf_counter(), time.process_time()
        embedder.embed([text], kind="query")
        latencies.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)

    return {
        "embedder": embedder.name,
        "dim": embedder.dim,
        "n": n,
        "load_s": round(load_s, 3),
        "batch_s": round(batch_s, 3),
        "sentences_per_s": round(n / batch_s, 1),
        "batch_cpu_s": round(batch_cpu_s, 3),
        "query_ms": percentiles_ms(latencies),
        "query_cpu_ms": percentiles_ms(cpu_times),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.machine(),
            "python": platform.python_version(),
        },
    }
