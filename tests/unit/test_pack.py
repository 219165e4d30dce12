"""Packing units of memories into a context budget (pure functions over arrays)."""

from __future__ import annotations

import numpy as np

from memstrata.read.pack import context_length, pack


def arrays(*units: tuple[int, float, int]) -> tuple[np.ndarray, ...]:
    """(memory, score, text length) per unit; every memory's prefix is 10 characters."""
    unit_of = np.array([u[0] for u in units], np.int64)
    score = np.array([u[1] for u in units], np.float32)
    text = np.array([u[2] for u in units], np.int64)
    return unit_of, score, text + 10, text


def test_units_of_one_memory_share_its_prefix_and_stay_in_text_order() -> None:
    unit_of, score, cost, text = arrays((0, 1.0, 20), (0, 3.0, 20), (1, 2.0, 20))
    packed = pack(score, score, unit_of, cost, text, budget=1000, limit=10)
    assert [(p.memory, p.units) for p in packed] == [(0, (0, 1)), (1, (2,))]
    assert packed[0].score == 3.0
    assert context_length(packed[0].units, cost, text) == 10 + 20 + 1 + 20


def test_the_budget_holds_and_a_unit_that_does_not_fit_is_skipped() -> None:
    unit_of, score, cost, text = arrays((0, 3.0, 50), (1, 2.0, 200), (2, 1.0, 30))
    packed = pack(score, score, unit_of, cost, text, budget=100, limit=10)
    assert [p.memory for p in packed] == [0, 2]  # memory 1 is too long; memory 2 still fits
    assert sum(context_length(p.units, cost, text) for p in packed) <= 100


def test_the_key_orders_the_walk_and_the_score_orders_the_result() -> None:
    unit_of, score, cost, text = arrays((0, 3.0, 80), (1, 2.9, 10), (2, 2.8, 10))
    key = score - 2.0 * np.log(cost)  # short units are worth more per character
    packed = pack(key, score, unit_of, cost, text, budget=60, limit=10)
    assert [p.memory for p in packed] == [1, 2]


def test_excluded_units_and_the_limit_are_respected() -> None:
    unit_of, score, cost, text = arrays((0, 3.0, 5), (1, 2.0, 5), (2, 1.0, 5), (2, 0.5, 5))
    key = score.copy()
    key[0] = -np.inf
    packed = pack(key, score, unit_of, cost, text, budget=1000, limit=1)
    assert [(p.memory, p.units) for p in packed] == [(1, (1,))]
    assert pack(np.full(4, -np.inf), score, unit_of, cost, text, 1000, 10) == []
