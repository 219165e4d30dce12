"""The LongMemEval loader and the benchmark's metrics, on a small file in its format."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memstrata.evals.longmemeval import (
    LongMemEvalFormatError,
    aggregate_scores,
    dcg,
    load_longmemeval,
    ndcg_at_k,
    parse_date,
    parse_longmemeval,
    ranked_ids,
    recall_all_at_k,
    recall_any_at_k,
    score_item,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "longmemeval_tiny.json"


def test_dates() -> None:
    assert parse_date("2023/05/20 (Sat) 02:21") == datetime(2023, 5, 20, 2, 21, tzinfo=UTC)
    assert parse_date("2023/05/20") == datetime(2023, 5, 20, tzinfo=UTC)
    with pytest.raises(LongMemEvalFormatError):
        parse_date("20 May 2023")


def test_loader() -> None:
    items = load_longmemeval(FIXTURE)
    assert [i.question_id for i in items] == [
        "q-single-1",
        "q-multi-1",
        "q-pref-1",
        "q-single-1_abs",
    ]
    assert [i.abstention for i in items] == [False, False, False, True]
    first = items[0]
    assert first.session_ids == ("s-noise-1", "answer_s1", "s-noise-2")
    assert first.turn_ids[:3] == ("s-noise-1_1", "s-noise-1_2", "answer_s1_1")
    assert first.correct("session") == {"answer_s1"}
    assert first.correct("turn") == {"answer_s1_1"}
    assert first.sessions[1][0].timestamp == datetime(2023, 5, 10, 18, 30, tzinfo=UTC)
    assert first.sessions[1][0].as_message()["speaker"] == "user"
    assert first.question_date == datetime(2023, 6, 1, 10, 0, tzinfo=UTC)
    assert items[2].correct("turn") == frozenset()  # no turn marked has_answer


def test_mismatched_haystack_is_refused() -> None:
    raw = {
        "question_id": "x",
        "question": "q?",
        "haystack_session_ids": ["a", "b"],
        "haystack_dates": ["2023/01/01"],
        "haystack_sessions": [[], []],
    }
    with pytest.raises(LongMemEvalFormatError):
        parse_longmemeval([raw])


def test_dcg_discounts_from_the_second_position() -> None:
    # LongMemEval's DCG: rel_1 + sum_{i>=2} rel_i / log2(i); positions 1 and 2 both count fully.
    assert dcg([1, 1, 1], 3) == pytest.approx(1 + 1 + 1 / math.log2(3))
    assert dcg([0, 0, 1], 2) == 0.0
    assert dcg([], 5) == 0.0


def test_ndcg_by_hand() -> None:
    corpus = ["a", "b", "c", "d"]
    assert ndcg_at_k(["a", "b"], {"a"}, corpus, 5) == 1.0
    assert ndcg_at_k(["b", "a"], {"a"}, corpus, 5) == 1.0  # position 2 is undiscounted
    assert ndcg_at_k(["b", "c", "a"], {"a"}, corpus, 5) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["b", "c", "a"], {"a"}, corpus, 2) == 0.0
    ideal = 1 + 1
    assert ndcg_at_k(["c", "b", "a"], {"a", "b"}, corpus, 3) == pytest.approx(
        (1 + 1 / math.log2(3)) / ideal
    )
    assert ndcg_at_k(["a"], set(), corpus, 3) == 0.0


def test_recall_any_and_all() -> None:
    assert recall_any_at_k(["x", "a", "b"], {"a", "z"}, 2) == 1.0
    assert recall_all_at_k(["x", "a", "b"], {"a", "z"}, 3) == 0.0
    assert recall_all_at_k(["x", "a", "b"], {"a", "b"}, 3) == 1.0
    assert recall_all_at_k(["x", "a", "b"], {"a", "b"}, 2) == 0.0


def test_ranked_ids_map_turns_to_sessions_in_first_appearance_order() -> None:
    session_of = {"s1_1": "s1", "s1_2": "s1", "s2_1": "s2"}
    hits = [("s1_2",), ("s2_1", "s1_1"), ("elsewhere",)]
    assert ranked_ids(hits, "session", session_of) == ["s1", "s2"]
    assert ranked_ids(hits, "turn", session_of) == ["s1_2", "s2_1", "s1_1"]


def test_score_item_and_aggregate() -> None:
    items = load_longmemeval(FIXTURE)
    single, multi, pref, abstention = items
    perfect = score_item(single, [("answer_s1_1",)], ks=(1, 5))
    assert perfect.values[("session", "recall_any", 1)] == 1.0
    assert perfect.values[("turn", "ndcg", 5)] == 1.0
    half = score_item(multi, [("answer_m1_1",), ("s-noise-3_1",), ("answer_m2_1",)], ks=(1, 5))
    assert half.values[("session", "recall_any", 1)] == 1.0
    assert half.values[("session", "recall_all", 1)] == 0.0
    assert half.values[("session", "recall_all", 5)] == 1.0
    # sessions ranked m1, noise, m2 against ideal m1, m2: (1 + 0 + 1/log2 3) / (1 + 1)
    assert half.values[("session", "ndcg", 5)] == pytest.approx((1 + 1 / math.log2(3)) / 2)
    only_sessions = score_item(pref, [("answer_p1_1",)], ks=(1, 5))
    assert ("turn", "recall_any", 5) not in only_sessions.values
    assert only_sessions.values[("session", "recall_any", 5)] == 1.0
    skipped = score_item(abstention, [], ks=(1, 5))

    table = aggregate_scores([perfect, half, only_sessions, skipped])
    overall = table["overall"]
    assert overall["questions"] == 3  # the abstention question is left out
    assert overall["session/recall_all@1"] == pytest.approx(2 / 3)
    assert overall["turn/recall_any@1"] == pytest.approx(1.0)  # over the two with turn evidence
    assert table["multi-session"]["session/recall_all@1"] == 0.0
    assert list(table) == [
        "overall",
        "multi-session",
        "single-session-preference",
        "single-session-user",
    ]
