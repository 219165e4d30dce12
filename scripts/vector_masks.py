"""What a filtered vector search costs in a scope of many rows, on a throwaway in-memory
``ScopeVectors`` of random unit vectors (MiniLM's 384 dimensions, no graph: the exact path)::

    python scripts/vector_masks.py                 # 1,000,000 rows (about 1.5 GB)
    python scripts/vector_masks.py --rows 100000

Prints the milliseconds of ``ScopeVectors.mask`` for three filters (the stored states; with a
speaker, one of 60; with a month's window, of eleven years), and of an exact search of the
100 best among the rows a filter keeps, for kept shares from 0.5 % to 30 % (up to
``GATHER_MAX_SHARE`` the kept rows are gathered first; above it every row is scored).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from memstrata.stores.sqlite.vectors import GATHER_MAX_SHARE, ScopeVectors
from memstrata.types import Filters


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=10)
    args = p.parse_args()
    n, dim = args.rows, 384
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((n, dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index = ScopeVectors(stamp=0, dim=dim, size=n, pks=np.arange(1, n + 1, dtype=np.int64),
                         matrix=matrix, state=np.zeros(n, np.uint8), kind=np.zeros(n, np.uint8),
                         layer=np.zeros(n, np.uint8))  # fmt: skip
    start, end = datetime(2015, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    index.when = rng.integers(_micros(start), _micros(end), n).astype(np.int64)
    index.actor = rng.integers(1, 61, n).astype(np.int32)
    index.actors = {f"p{i}": i for i in range(1, 61)}

    def timed(call: Callable[[], Any]) -> float:
        call()  # once untimed
        started = time.perf_counter()
        for _ in range(args.repeat):
            call()
        return 1000 * (time.perf_counter() - started) / args.repeat

    active = ("active",)
    for name, filters in (
        ("stored states", Filters(states=active)),
        ("a speaker", Filters(states=active, actor="p7")),
        ("a month", Filters(states=active, since=datetime(2022, 1, 1, tzinfo=UTC),
                            until=datetime(2022, 2, 1, tzinfo=UTC))),
    ):  # fmt: skip
        print(f"mask, {name}: {timed(lambda f=filters: index.mask(f)):.2f} ms")
    query = matrix[123]
    for share in (0.005, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3):
        keep = rng.random(n) < share
        way = "gathered" if share <= GATHER_MAX_SHARE else "all scored"
        ms = timed(lambda keep=keep: index.search(query, keep, 100))
        print(f"search, {share:.1%} kept ({way}): {ms:.1f} ms")


def _micros(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


if __name__ == "__main__":
    main()
