"""Strength, forgetting, layers and the pairwise reranker, as pure functions."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from memstrata.lifecycle.strength import (
    LifecyclePolicy,
    initial_strength,
    layer_for,
    reinforce,
    retention,
    should_archive,
)
from memstrata.read.rerank import LinearReranker
from memstrata.types import MemoryRecord, Scope

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def record(**changes: Any) -> MemoryRecord:
    base = MemoryRecord(
        id="m", scope=Scope(user_id="u"), kind="fact", text="t", recorded_at=T0, strength=10.0
    )
    return replace(base, **changes)


def test_retention_follows_the_forgetting_curve() -> None:
    r = record(strength=10.0)
    assert retention(r, T0) == 1.0
    assert math.isclose(retention(r, T0 + timedelta(days=10)), math.exp(-1))
    assert retention(r, T0 - timedelta(days=3)) == 1.0  # no negative time


def test_long_layer_decays_slower_and_recall_resets_the_clock() -> None:
    later = T0 + timedelta(days=30)
    assert retention(record(layer="long"), later) > retention(record(layer="short"), later)
    recalled = record(last_recalled=T0 + timedelta(days=29))
    assert retention(recalled, later) > retention(record(), later)


def test_reinforce_strengthens_counts_and_promotes() -> None:
    policy = LifecyclePolicy(promote_at=(2, 4), recall_boost=5.0)
    r = record(recall_count=1)
    change = reinforce(r, T0, policy)
    assert (change.strength, change.recall_count, change.layer) == (15.0, 2, "mid")
    assert reinforce(record(recall_count=3, layer="mid"), T0, policy).layer == "long"
    assert reinforce(record(recall_count=0, layer="long"), T0, policy).layer == "long"
    assert [layer_for(n, policy) for n in (0, 2, 4)] == ["short", "mid", "long"]


def test_archive_only_faded_active_memories() -> None:
    later = T0 + timedelta(days=365)
    assert should_archive(record(), later)
    assert not should_archive(record(state="archived"), later)
    assert not should_archive(record(), T0 + timedelta(days=1))
    assert initial_strength(1.0) > initial_strength(0.0)


@given(st.floats(0, 1e4), st.floats(0.01, 1e4))
def test_retention_is_a_probability(days: float, strength: float) -> None:
    value = retention(record(strength=strength), T0 + timedelta(days=days))
    assert 0.0 <= value <= 1.0


def test_reranker_starts_as_the_fused_order_and_learns_pairs() -> None:
    model = LinearReranker()
    a = {"fused": 1.0, "rr_keyword": 1.0}
    b = {"fused": 0.5, "rr_vector": 1.0}
    assert model.rank([a, b]) == [0, 1]
    for _ in range(200):
        model.learn(used=[b], unused=[a])
    assert model.rank([a, b]) == [1, 0]
    assert model.weights["rr_vector"] > 0 > model.weights["rr_keyword"]
    again = LinearReranker.from_dict(model.to_dict())
    assert again.weights == model.weights and again.updates == 200


def test_a_reranker_keeps_the_order_while_only_the_fused_rank_weighs() -> None:
    assert LinearReranker().keeps_order
    assert LinearReranker(weights={"fused": 1.0, "retention": 0.0}).keeps_order
    assert not LinearReranker(weights={"fused": 1.0, "retention": 0.3}).keeps_order
    assert not LinearReranker(weights={"fused": 0.0}).keeps_order
    model = LinearReranker()
    model.learn(used=[{"fused": 0.5, "importance": 0.9}], unused=[{"fused": 1.0}])
    assert not model.keeps_order  # feedback taught it something


def test_without_evidence_the_weights_return_to_the_starting_ones() -> None:
    prior = {"fused": 1.0}
    model = LinearReranker(weights={"fused": 0.2, "rr_vector": 3.0})
    same = {"fused": 0.5, "rr_vector": 1.0}
    for _ in range(3000):  # the used and the unused hit look alike: nothing to learn
        model.learn(used=[same], unused=[same], prior=prior)
    assert abs(model.weights["fused"] - 1.0) < 0.1 and abs(model.weights["rr_vector"]) < 0.2


def test_one_feedback_is_one_step_however_many_hits_it_names() -> None:
    few, many = LinearReranker(), LinearReranker()
    used = {"fused": 0.5, "rr_vector": 1.0}
    few.learn(used=[used], unused=[{"fused": 1.0}])
    many.learn(used=[used], unused=[{"fused": 1.0}] * 40)
    assert few.weights == many.weights


def test_blending_moves_toward_the_scope_model() -> None:
    glob = LinearReranker(weights={"fused": 1.0})
    local = LinearReranker(weights={"fused": 0.0, "x": 2.0})
    mixed = glob.blended(local, 0.25)
    assert mixed.weights == {"fused": 0.75, "x": 0.5}
