"""The per-scope vector index: exact, filtered, appendable, and its ANN against exact search."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from memstrata.stores.sqlite import vectors
from memstrata.stores.sqlite.vectors import ScopeVectors
from memstrata.types import Filters


def unit_rows(n: int, dim: int, seed: int, start: int = 1) -> tuple[list[vectors.Row], np.ndarray]:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(n, dim)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    states = ["active", "active", "deleted"]
    rows = [
        (start + i, matrix[i].tobytes(), states[i % 3], "episode" if i % 2 else "fact", "short",
         i * 1_000_000)
        for i in range(n)
    ]  # fmt: skip
    return rows, matrix


def test_exact_search_matches_brute_force_with_filters() -> None:
    rows, matrix = unit_rows(500, 16, seed=1)
    index = ScopeVectors.build((0, 0), rows[:200])
    index.append(rows[200:])  # appended in two steps, capacity grows
    query = matrix[6]
    keep = index.mask(Filters(kinds=("fact",)))
    found = index.search(query, keep, 10)
    allowed = [i for i in range(500) if i % 3 != 2 and i % 2 == 0]
    expected = sorted(allowed, key=lambda i: -float(matrix[i] @ query))[:10]
    assert [pk - 1 for pk, _ in found] == expected
    assert found[0][0] == 7 and abs(found[0][1] - 1.0) < 1e-5


def test_time_and_sql_filters_narrow_the_mask() -> None:
    rows, _ = unit_rows(30, 8, seed=2)
    index = ScopeVectors.build((0, 0), rows)
    since = datetime.fromtimestamp(10, UTC)
    keep = index.mask(Filters(states=(), since=since), allowed_pks={12, 13, 40})
    assert [int(p) for p in index.pks[: index.size][keep]] == [12, 13]


def test_ann_recall_against_exact(monkeypatch: object) -> None:
    rows, matrix = unit_rows(vectors.ANN_MIN_ROWS + 1000, 32, seed=3)
    index = ScopeVectors.build((0, 0), rows)
    assert index.ann is not None
    everything = index.mask(Filters(states=()))
    rng = np.random.default_rng(4)
    recalls = []
    for q in rng.integers(0, len(rows), 20):
        query = matrix[q] + 0.1 * rng.normal(size=32).astype(np.float32)
        query /= np.linalg.norm(query)
        approx = {pk for pk, _ in index.search(query.astype(np.float32), everything, 10)}
        exact = np.argsort(-(matrix @ query))[:10] + 1
        recalls.append(len(approx & set(exact.tolist())) / 10)
    assert np.mean(recalls) >= 0.95
