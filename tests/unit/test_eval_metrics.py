"""LoCoMo's official recall and aggregation, the budget cut, MRR and answer F1, by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memstrata.evals.baselines import BM25Index, tokenize
from memstrata.evals.metrics import (
    QuestionOutcome,
    aggregate,
    aggregate_coverage,
    answer_coverage,
    answer_f1,
    budget_count,
    budget_recall,
    context_chars,
    mean_reciprocal_rank,
    multi_answer_f1,
    normalize_answer,
    percentile,
    question_recall,
    recall_at_k,
    reciprocal_rank,
    retrieved_ids,
    summarize,
    token_f1,
)


def outcome(
    category: int, evidence: tuple[str, ...], *hits: tuple[str, ...], lengths: tuple[int, ...] = ()
) -> QuestionOutcome:
    return QuestionOutcome(category, evidence, tuple(hits), lengths or tuple(100 for _ in hits))


# -- per-question recall -----------------------------------------------------------------------


def test_recall_is_the_share_of_evidence_found() -> None:
    assert question_recall(["D1:3", "D2:5"], {"D1:3", "D9:9"}) == 0.5
    assert question_recall(["D1:3"], {"D1:3"}) == 1.0
    assert question_recall(["D1:3"], set()) == 0.0


def test_empty_evidence_scores_one_per_question() -> None:
    assert question_recall([], set()) == 1.0
    assert question_recall([], {"D1:1"}) == 1.0


def test_joined_evidence_ids_never_match() -> None:
    # "D8:6; D9:17" is one entry in the real data; exact matching cannot find it, even when
    # both turns are retrieved, and it counts once in the denominator.
    assert question_recall(["D8:6; D9:17"], {"D8:6", "D9:17"}) == 0.0
    assert question_recall(["D8:6; D9:17", "D3:1"], {"D8:6", "D9:17", "D3:1"}) == 0.5


def test_zero_padded_evidence_ids_never_match() -> None:
    assert question_recall(["D30:05"], {"D30:5"}) == 0.0
    assert question_recall(["D30:05"], {"D30:05"}) == 1.0  # exact string match, both ways


def test_duplicated_evidence_counts_each_time() -> None:
    assert question_recall(["D1:1", "D1:1", "D1:2"], {"D1:1"}) == pytest.approx(2 / 3)


def test_a_hit_with_several_sources_retrieves_them_all() -> None:
    o = outcome(1, ("D1:1", "D4:2", "D7:7"), ("D1:1", "D4:2"), ("D5:5",))
    assert retrieved_ids(o.sources) == {"D1:1", "D4:2", "D5:5"}
    assert recall_at_k(o, 1) == pytest.approx(2 / 3)
    assert recall_at_k(o, 2) == pytest.approx(2 / 3)


def test_recall_at_k_counts_returned_memories() -> None:
    o = outcome(4, ("D2:2",), ("D1:1",), ("D1:2",), ("D2:2",))
    assert recall_at_k(o, 2) == 0.0
    assert recall_at_k(o, 3) == 1.0
    assert recall_at_k(o, 50) == 1.0


# -- the budget --------------------------------------------------------------------------------


def test_budget_takes_hits_in_order_while_they_fit() -> None:
    assert budget_count([1000, 2000, 1000], 4000) == 3  # exactly at the budget: fits
    assert budget_count([1000, 2000, 1001], 4000) == 2
    assert budget_count([5000, 10], 4000) == 0  # the first hit alone overflows
    assert budget_count([3000, 2000, 10], 4000) == 1  # a later short hit does not fill the gap
    assert budget_count([], 4000) == 0


def test_budget_recall_and_context_chars() -> None:
    o = outcome(2, ("D3:3",), ("D1:1",), ("D3:3",), lengths=(3000, 1500))
    assert budget_recall(o, 4000) == 0.0
    assert budget_recall(o, 4500) == 1.0
    assert context_chars(o, 4000) == 3000
    assert context_chars(o, 4500) == 4500


def test_a_memory_citing_a_whole_session_spends_the_budget() -> None:
    session = tuple(f"D1:{i}" for i in range(1, 40))
    o = outcome(4, ("D1:7",), session, lengths=(6000,))
    assert recall_at_k(o, 5) == 1.0
    assert budget_recall(o, 4000) == 0.0


@given(st.lists(st.integers(0, 2000), max_size=30), st.integers(0, 10_000), st.integers(0, 500))
def test_budget_count_is_a_monotone_prefix(lengths: list[int], budget: int, extra: int) -> None:
    n = budget_count(lengths, budget)
    assert sum(lengths[:n]) <= budget
    assert n == len(lengths) or sum(lengths[: n + 1]) > budget
    assert budget_count(lengths, budget + extra) >= n


@given(
    st.lists(st.sampled_from(["D1:1", "D1:2", "D2:1", "D2:2", "D8:6; D9:17"]), max_size=5),
    st.sets(st.sampled_from(["D1:1", "D1:2", "D2:1", "D2:2", "D3:3"])),
)
def test_recall_is_a_fraction(evidence: list[str], retrieved: set[str]) -> None:
    assert 0.0 <= question_recall(evidence, retrieved) <= 1.0


# -- aggregation -------------------------------------------------------------------------------


def test_official_aggregation_by_hand() -> None:
    items = [
        (1, True, 1.0),
        (1, True, 0.5),
        (3, True, 1.0),
        (3, False, 1.0),  # no evidence: counted in the denominator, not in the sum
        (5, True, 0.0),
        (5, True, 1.0),
    ]
    result = aggregate(items)
    assert result["1"] == pytest.approx(0.75)
    assert result["3"] == pytest.approx(0.5)
    assert result["5"] == pytest.approx(0.5)
    assert result["overall"] == pytest.approx(3.5 / 6)  # all questions, category 5 included


def test_aggregation_lists_asked_categories_even_when_empty() -> None:
    result = aggregate([(4, True, 1.0)], categories=(1, 2, 3, 4, 5))
    assert set(result) == {"overall", "1", "2", "3", "4", "5"}
    assert result["1"] == 0.0
    assert result["4"] == 1.0


def test_summarize_puts_it_together() -> None:
    outcomes = [
        QuestionOutcome(4, ("D1:1",), (("D1:1",), ("D1:2",)), (100, 100), 0.010),
        QuestionOutcome(5, ("D1:2",), (("D1:1",), ("D1:2",)), (3990, 100), 0.030),
        QuestionOutcome(3, (), (("D1:1",),), (50,), 0.020),
    ]
    s = summarize(outcomes, ks=(1, 2), budget_chars=4000, categories=(3, 4, 5))
    assert s.recall[1] == {"overall": pytest.approx(1 / 3), "3": 0.0, "4": 1.0, "5": 0.0}
    assert s.recall[2]["overall"] == pytest.approx(2 / 3)
    assert s.budget_recall["5"] == 0.0  # the second hit overflows the budget
    assert s.mrr == pytest.approx((1.0 + 0.5) / 2)
    assert s.mean_context_chars == pytest.approx((200 + 3990 + 50) / 3)
    assert s.latency_p50_ms == pytest.approx(20.0)
    assert s.questions == 3


# -- MRR and percentiles -----------------------------------------------------------------------


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(("D2:2",), [("D1:1",), ("D1:2", "D2:2")]) == 0.5
    assert reciprocal_rank(("D2:2",), [("D1:1",)]) == 0.0
    assert reciprocal_rank((), [("D1:1",)]) is None
    outcomes = [outcome(1, (), ("D1:1",)), outcome(1, ("D1:1",), ("D1:1",))]
    assert mean_reciprocal_rank(outcomes) == 1.0


def test_percentile_interpolates() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(1, 101))), 95) == pytest.approx(95.05)


# -- answer F1 ---------------------------------------------------------------------------------


def test_normalize_answer_matches_locomo() -> None:
    assert normalize_answer("The Cat, and a Dog!") == "cat dog"
    assert normalize_answer("7 May, 2023") == "7 may 2023"


def test_token_f1() -> None:
    assert token_f1("Pixel", "pixel") == 1.0
    assert token_f1("a kitten named Pixel", "Pixel") == pytest.approx(2 * (1 / 3) / (1 / 3 + 1))
    assert token_f1("nothing", "Pixel") == 0.0


def test_multi_answer_f1_takes_the_best_prediction_for_each_gold_part() -> None:
    assert multi_answer_f1("piano, violin", "violin, piano") == 1.0
    assert multi_answer_f1("piano", "violin, piano") == 0.5


def test_answer_f1_by_category() -> None:
    assert answer_f1("psychology", 3, "Psychology; counseling") == 1.0  # part before ';'
    assert answer_f1("Not mentioned in the conversation", 5, None) == 1.0
    assert answer_f1("No information available", 5, None) == 1.0
    assert answer_f1("self-care", 5, None) == 0.0
    assert answer_f1("piano", 1, "violin, piano") == 0.5
    assert answer_f1("runs", 4, "running", stem=lambda w: w[:3]) == 1.0


# -- reference BM25 ----------------------------------------------------------------------------


def test_tokenize_lowercases_word_tokens() -> None:
    assert tokenize("Ada: I'm at the Café, 2pm!") == ["ada", "i", "m", "at", "the", "café", "2pm"]


def test_reference_bm25_by_hand() -> None:
    docs = ["cat sat", "dog sat down", "cat cat"]
    index = BM25Index.build(docs)
    n, big_n = 2, 3  # "cat" is in two of three documents
    idf = math.log(1 + (big_n - n + 0.5) / (n + 0.5))
    avg = (2 + 3 + 2) / 3
    expected_0 = idf * 1 * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 2 / avg))
    expected_2 = idf * 2 * 2.5 / (2 + 1.5 * (0.25 + 0.75 * 2 / avg))
    scores = index.scores("Cat?")
    assert scores[0] == pytest.approx(expected_0)
    assert scores[2] == pytest.approx(expected_2)
    assert scores[1] == 0.0
    assert [i for i, _ in index.search("cat", 10)] == [2, 0]  # no zero-score documents


def test_reference_bm25_keeps_document_order_on_ties() -> None:
    index = BM25Index.build(["apple pie", "apple tart", "pear"])
    assert [i for i, _ in index.search("apple", 2)] == [0, 1]
    assert BM25Index.build([]).search("apple", 5) == []


# -- answer coverage ---------------------------------------------------------------------------


def _covering(answer: str | None, texts: tuple[str, ...], category: int = 1) -> QuestionOutcome:
    return QuestionOutcome(
        category=category,
        evidence=("D1:1",),
        sources=tuple(("D1:1",) for _ in texts),
        lengths=tuple(len(t) for t in texts),
        answer=answer,
        texts=texts,
    )


def test_an_answer_is_covered_when_each_content_word_is_in_the_context() -> None:
    outcome = _covering("Hiking and pottery", ("She went hiking.", "Pottery class on Monday"))
    assert answer_coverage(outcome, 4000) == 1.0
    assert answer_coverage(_covering("hiking and chess", ("She went hiking.",)), 4000) == 0.0


def test_coverage_reads_only_the_context_the_budget_admits() -> None:
    outcome = _covering("pottery", ("x" * 30, "pottery class"))
    assert answer_coverage(outcome, 100) == 1.0
    assert answer_coverage(outcome, 35) == 0.0


def test_coverage_matches_words_by_stem_and_case_and_ignores_stop_words() -> None:
    assert answer_coverage(_covering("The Paintings", ("she paints; a painting",)), 4000) == 1.0


def test_a_question_without_a_usable_answer_is_left_out() -> None:
    assert answer_coverage(_covering(None, ("anything",)), 4000) is None
    assert answer_coverage(_covering("the", ("anything",)), 4000) is None
    outcomes = [
        _covering("hiking", ("hiking",), category=1),
        _covering("chess", ("hiking",), category=1),
        _covering("pottery", ("pottery",), category=2),
        _covering(None, ("pottery",), category=5),
    ]
    shares = aggregate_coverage(outcomes, 4000)
    assert shares == {"overall": 2 / 3, "1": 0.5, "2": 1.0}
    assert summarize(outcomes, budget_chars=4000).answer_coverage == shares
