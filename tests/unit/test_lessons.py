"""Lessons from feedback (which memories answered which questions) and the reranker's features
that feedback may not teach: pure functions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from memstrata.read.learning import checked_feedback, stored_feedback
from memstrata.read.lessons import FLOOR, MAX_LESSONS, MAX_USED, Lessons, closeness
from memstrata.read.rerank import LinearReranker


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, np.float32)
    return vector / np.linalg.norm(vector)


CAT = unit(1.0, 0.0, 0.0)
#: Cosine 0.95 with CAT (a paraphrase), and 0.6 (another question about the same person).
PARAPHRASE = unit(0.95, math.sqrt(1 - 0.95**2), 0.0)
OTHER = unit(0.6, 0.0, 0.8)


def test_closeness_is_zero_up_to_the_floor_then_grows_to_one() -> None:
    assert closeness(FLOOR) == 0.0 and closeness(0.3) == 0.0 and closeness(-1.0) == 0.0
    assert closeness(1.0) == 1.0
    assert 0.0 < closeness((FLOOR + 1) / 2) < 1.0


def test_a_lesson_applies_to_its_question_and_close_ones_in_proportion() -> None:
    lessons = Lessons()
    lessons.learn(CAT, ["cat", "name"], ["m1"], "model")
    lessons.learn(CAT, ["cat", "name"], ["m1", "m2"], "model")
    same = lessons.asked(CAT, ["cat", "name"])
    assert same == pytest.approx({"m1": math.log1p(2), "m2": math.log1p(1)})
    close = lessons.asked(PARAPHRASE, ["cat", "call"])
    assert 0.0 < close["m1"] < same["m1"]
    assert lessons.asked(OTHER, ["live"]) == {}
    assert len(lessons.items) == 1  # the second feedback added to the first lesson


def test_without_vectors_only_questions_with_the_same_terms_match() -> None:
    lessons = Lessons()
    lessons.learn(None, ["ada", "cat", "name"], ["m1"], None)
    assert lessons.asked(None, ["ada", "cat", "name"]) == {"m1": pytest.approx(math.log1p(1))}
    assert lessons.asked(None, ["ada", "cat", "call"]) == {}  # half the terms: below the floor
    assert lessons.asked(CAT, ["ada", "live"]) == {}


def test_lessons_are_bounded_and_keep_the_most_recent_and_most_used() -> None:
    lessons = Lessons()
    for i in range(MAX_LESSONS + 5):
        lessons.learn(None, [f"q{i}"], ["m"], None)
    assert len(lessons.items) == MAX_LESSONS and lessons.items[-1].terms == (f"q{MAX_LESSONS + 4}",)
    assert lessons.asked(None, ["q0"]) == {}
    lessons.learn(None, ["many"], ["a"], None)
    lessons.learn(None, ["many"], [f"m{i}" for i in range(MAX_USED + 3)], None)
    [lesson] = [x for x in lessons.items if x.terms == ("many",)]
    assert len(lesson.used) == MAX_USED and lesson.used["a"] == 1


def test_lessons_survive_json_and_drop_vectors_of_another_embedder() -> None:
    lessons = Lessons()
    lessons.learn(CAT, ["cat"], ["m1"], "minilm")
    data = json.loads(json.dumps(lessons.to_dict()))
    again = Lessons.from_dict(data, "minilm")
    assert again.asked(PARAPHRASE, ["x"]) == pytest.approx(lessons.asked(PARAPHRASE, ["x"]), 1e-3)
    other = Lessons.from_dict(data, "e5")
    assert other.items[0].vector is None and other.asked(CAT, ["cat"])  # terms still match
    for broken in (None, [], {"items": "x"}, {"items": [1, {"terms": 3}]}):
        assert Lessons.from_dict(broken, "minilm").items == []
    bad = Lessons.from_dict({"items": [{"terms": [], "used": {}, "vector": "%%"}]}, None)
    assert bad.items[0].vector is None


def test_feedback_never_teaches_how_much_a_memory_was_used_whatever_the_question() -> None:
    model = LinearReranker(weights={"fused": 1.0, "retention": 0.0})
    used = {"fused": 0.2, "retention": 0.9, "used_before": 2.0, "asked": 1.0}
    for _ in range(50):
        model.learn(used=[used], unused=[{"fused": 1.0, "retention": 0.1}])
    assert model.weights["retention"] == 0.0 and "used_before" not in model.weights
    assert model.weights["asked"] > 0.5
    saved = LinearReranker(weights={"fused": 0.8, "retention": 3.0, "used_before": 5.0})
    anchored = saved.anchored({"fused": 1.0, "retention": 0.25})
    assert anchored.weights == {"fused": 0.8, "retention": 0.25}


@pytest.mark.parametrize(
    "raw",
    [
        '{"weights": {"a": 1.5, "b": Infinity}, "updates": 3, "lessons": {"embedder": "m",'
        ' "items": [{"terms": ["cat"], "vector": "AAA=", "used": {"x": 2}}, "not a lesson"]}}',
        '{"weights": "none", "updates": 1.5}',
        "[]",
    ],
)
def test_what_a_store_kept_of_feedback_exports_as_an_import_takes_it(raw: str) -> None:
    """An export carries a scope's feedback as a search reads it, so its import accepts it
    whatever an older version kept."""
    value = stored_feedback(raw)
    assert json.loads(checked_feedback(value)) == value
