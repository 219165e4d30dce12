"""The in-memory index and the features of the default ranker, on records made by hand."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from memstrata.read.features import features, linear_scores, zscore
from memstrata.read.index import ScopeIndex, split_units
from memstrata.read.lexical import BM25, query_terms, stemmed
from memstrata.read.ranker import allowed
from memstrata.types import Filters, MemoryRecord, Scope

T0 = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
U = Scope(user_id="u")


def rec(i: int, text: str, actor: str, at: datetime, **extra: object) -> MemoryRecord:
    return MemoryRecord(id=f"m{i}", scope=U, kind="episode", text=text, actor=actor,
                        valid_from=at, recorded_at=at, sources=(f"D{i}",), **extra)  # type: ignore[arg-type]  # fmt: skip


def conversation() -> ScopeIndex:
    later = T0 + timedelta(days=30)
    rows = [
        rec(0, "I adopted a puppy named Biscuit!", "Ana", T0),
        rec(1, "What breed is Biscuit?", "Ben", T0 + timedelta(minutes=1)),
        rec(2, "A beagle, she loves the park.", "Ana", T0 + timedelta(minutes=2)),
        rec(3, "I started pottery classes last week.", "Ben", later, keys=("2023-05-31",)),
        rec(4, "Pottery sounds relaxing.", "Ana", later + timedelta(minutes=1)),
    ]
    index = ScopeIndex(stamp=0)
    vectors = np.eye(5, 8, dtype=np.float32)
    index.append(zip(rows, vectors, strict=True))
    return index


def test_bm25_matches_the_okapi_formula() -> None:
    bm = BM25(k1=1.2, b=0.75)
    docs = [["a", "b"], ["a", "a", "c"], ["d"]]
    for d in docs:
        bm.add(d)
    avg = 2.0
    idf_a = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    expected = idf_a * 2 * 2.2 / (2 + 1.2 * (1 - 0.75 + 0.75 * 3 / avg))
    assert math.isclose(float(bm.score(["a"])[1]), expected, rel_tol=1e-5)
    assert bm.score(["zzz"]).tolist() == [0.0, 0.0, 0.0]
    bm.extend(2, ["a"])
    assert bm.score(["a"])[2] > 0


def test_query_terms_drop_stop_words_and_stem() -> None:
    assert query_terms("What did Caroline do at the parades?") == ["carolin", "parad"]
    assert stemmed("running dogs") == ["run", "dog"]


def test_sessions_follow_time_gaps_and_neighbours_stay_inside() -> None:
    index = conversation()
    assert index.session_of == [0, 0, 0, 1, 1]
    assert index.prev == [-1, 0, 1, -1, 3] and index.next == [1, 2, -1, 4, -1]
    assert len(index.sessions) == 2


def test_features_find_the_answer_next_to_the_matching_turn() -> None:
    index = conversation()
    query = np.eye(1, 8, 1, dtype=np.float32)[0]  # the question's vector is turn 1's
    cols = features(index, "What breed is Ana's dog Biscuit?", query, T0)
    unit_of = index.arrays().unit_of
    # turn 2's units follow the best-matching turn (turn 1)
    assert set(unit_of[cols["tp1"] == max(cols["tp1"])].tolist()) == {2}
    said_by_ana = [index.records[m].actor == "Ana" for m in unit_of]
    assert cols["spk_named"].tolist() == [float(x) for x in said_by_ana]
    assert cols["s_bm25"][0] == cols["s_bm25"][-3] > cols["s_bm25"][-1]
    score = linear_scores(cols, {"bm25": 1.0}, len(unit_of))
    assert int(unit_of[int(np.argmax(score))]) in (0, 1)


def test_units_are_sentences_and_photo_captions() -> None:
    assert split_units("Hi there! I went to the park. [photo: a dog on grass]") == [
        "Hi there!", "I went to the park.", "[photo: a dog on grass]"
    ]  # fmt: skip
    assert split_units("no punctuation at all") == ["no punctuation at all"]
    assert split_units("[photo: a cat]") == ["[photo: a cat]"]


def test_units_chain_across_turns_of_a_session_only() -> None:
    index = conversation()
    cols = index.arrays()
    # turn 2 is "A beagle, she loves the park." (one unit); turn 3 starts a new session
    assert cols.unit_of.tolist() == [0, 1, 2, 3, 4]
    assert cols.unit_prev.tolist() == [-1, 0, 1, -1, 3]
    assert cols.unit_next.tolist() == [1, 2, -1, 4, -1]
    index.append([(rec(5, "Wow. It is relaxing.", "Ben", T0 + timedelta(days=30, minutes=3)),
                   np.eye(1, 8, 5, dtype=np.float32)[0])])  # fmt: skip
    cols = index.arrays()
    assert cols.unit_of.tolist()[-2:] == [5, 5]
    assert cols.unit_prev.tolist()[-2:] == [4, 5] and cols.unit_next.tolist()[4] == 5
    assert index.units_of(5) == range(5, 7)
    prefix = "(7 June 2023) Ben: "
    assert cols.unit_cost.tolist()[-2:] == [len(prefix + "Wow."), len(prefix + "It is relaxing.")]
    assert cols.unit_length.tolist()[-2:] == [len("Wow."), len("It is relaxing.")]


def test_time_window_feature_uses_dates_said_in_the_text() -> None:
    index = conversation()
    cols = features(index, "What did Ben start in June 2023?", None, T0 + timedelta(days=60))
    assert cols["time"].tolist() == [0, 0, 0, 1, 1]
    cols = features(index, "What happened on 31 May 2023?", None, T0 + timedelta(days=60))
    assert cols["time"][3] == 1 and cols["time"][0] == 0


def test_filter_mask_matches_filters() -> None:
    index = conversation()
    assert allowed(index, Filters()).all()
    since = T0 + timedelta(days=1)
    assert allowed(index, Filters(since=since)).tolist() == [False] * 3 + [True] * 2
    assert not allowed(index, Filters(kinds=("fact",))).any()


def test_zscore_of_a_constant_is_zero() -> None:
    assert zscore(np.ones(4, dtype=np.float32)).tolist() == [0.0] * 4


def test_units_that_say_the_same_from_the_same_messages_share_a_group() -> None:
    index = conversation()
    fact = rec(5, "A beagle, she loves the park", "Ana", T0 + timedelta(days=31))
    index.append([(replace(fact, kind="fact", sources=("D2",)), None),
                  (rec(6, "A beagle, she loves the park.", "Ben", T0), None)])  # fmt: skip
    group = index.arrays().unit_group.tolist()
    assert group[2] == group[5]  # turn 2 and the fact restating it (message D2)
    assert group[6] != group[2]  # the same words from another message
    assert len(set(group[:5])) == 5
