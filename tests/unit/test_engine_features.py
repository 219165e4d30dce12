"""The read engine's candidates and features, on records placed by hand (pure)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from memstrata.ports import Placed, ScopeStats, SessionStats
from memstrata.read.candidates import Docs, Pieces
from memstrata.read.engine import (
    Candidates,
    ScopedBM25,
    _openings,
    asked_again,
    build,
    looked_up,
)
from memstrata.read.features import (
    DEFAULT_WEIGHTS,
    FEATURES,
    FIRST_WEIGHTS,
    PRODUCTS,
    SECOND,
    asks_for_many,
    best_of,
    features,
    linear_scores,
    paired,
    standing,
    unit_scores,
    zscore,
)
from memstrata.read.lexical import BM25, query_terms, stemmed
from memstrata.terms import (
    bm25_idf,
    bm25_norm,
    bm25_weight,
    same_session,
    split_units,
    terms_of,
)
from memstrata.types import MemoryRecord, Scope

T0 = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
U = Scope(user_id="u")


def rec(i: int, text: str, actor: str, at: datetime, **extra: object) -> MemoryRecord:
    return MemoryRecord(id=f"m{i}", scope=U, kind="episode", text=text, actor=actor,
                        valid_from=at, recorded_at=at, sources=(f"D{i}",), **extra)  # type: ignore[arg-type]  # fmt: skip


def rows() -> list[MemoryRecord]:
    later = T0 + timedelta(days=30)
    return [
        rec(0, "I adopted a puppy named Biscuit!", "Ana", T0),
        rec(1, "What breed is Biscuit?", "Ben", T0 + timedelta(minutes=1)),
        rec(2, "A beagle, she loves the park.", "Ana", T0 + timedelta(minutes=2)),
        rec(3, "I started pottery classes last week.", "Ben", later, keys=("2023-05-31",)),
        rec(4, "Pottery sounds relaxing.", "Ana", later + timedelta(minutes=1)),
    ]


def place(records: list[MemoryRecord], sessions: list[int]) -> list[Placed]:
    """Records placed as the write path places them: key i + 1, neighbours within a session."""
    out = []
    vectors = np.eye(len(records), 8, dtype=np.float32)
    for i, (record, session) in enumerate(zip(records, sessions, strict=True)):
        prev = i if i > 0 and sessions[i - 1] == session else None
        nxt = i + 2 if i + 1 < len(records) and sessions[i + 1] == session else None
        out.append(Placed.of(record, key=i + 1, vector=vectors[i], session=(1, session),
                             prev=prev, next=nxt))  # fmt: skip
    return out


def stats_of(records: list[MemoryRecord], sessions: int) -> ScopeStats:
    parsed = [terms_of(r) for r in records]
    df: Counter[str] = Counter()
    for p in parsed:
        df.update(set(p.tokens))
    return ScopeStats(memories=len(records), tokens=sum(len(p.tokens) for p in parsed),
                      units=sum(len(p.units) for p in parsed),
                      unit_tokens=sum(p.unit_tokens for p in parsed), sessions=sessions,
                      df=dict(df), speakers=("Ana", "Ben"))  # fmt: skip


def conversation(records: list[MemoryRecord] | None = None) -> Candidates:
    records = records or rows()
    sessions = [0, 0, 0, 1, 1, 1, 1][: len(records)]
    placed = place(records, sessions)
    vectors = np.eye(len(records), 8, dtype=np.float32)
    session_stats = {
        (1, s): SessionStats(size=sessions.count(s),
                             tokens=sum(len(terms_of(r).tokens) for r, x in zip(records, sessions,
                                                                                  strict=True)
                                        if x == s),
                             vector=vectors[[i for i, x in enumerate(sessions) if x == s]].sum(0))
        for s in set(sessions)
    }  # fmt: skip
    return build(placed, stats_of(records, len(set(sessions))), session_stats)


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


def test_every_scorer_of_terms_weighs_them_with_one_formula() -> None:
    """The in-memory index and the candidates' scorer, given one corpus's statistics, score
    every document alike, to the last bit: both weigh terms with ``terms.bm25_*``."""
    docs = [["a", "b"], ["a", "a", "c"], ["d", "b", "b", "e"]]
    memory = BM25()
    for doc in docs:
        memory.add(doc)
    df = Counter(t for doc in docs for t in set(doc))
    scoped = ScopedBM25(whole([" ".join(doc) for doc in docs]), [len(doc) for doc in docs],
                        dict(df), documents=len(docs), average=3.0)  # fmt: skip
    for terms in (["a"], ["b", "c"], ["a", "b", "d", "e", "zzz"]):
        assert memory.score(terms).tolist() == scoped.score(terms).tolist()
    for doc, term in [(1, "a"), (2, "b"), (0, "c"), (2, "e")]:
        assert math.isclose(memory.weight(doc, term), scoped.weight(doc, term), rel_tol=1e-6)
    assert memory.idf("b") == scoped.idf("b") == bm25_idf(3, 2)
    # A term in every document still counts a little; a longer document weighs it less.
    assert 0 < bm25_idf(3, 3) < bm25_idf(3, 1)
    assert bm25_weight(1.0, 1.0, bm25_norm(8.0, 4.0)) < bm25_weight(1.0, 1.0, bm25_norm(2.0, 4.0))


def test_query_terms_drop_stop_words_and_stem() -> None:
    assert query_terms("What did Caroline do at the parades?") == ["carolin", "parad"]
    assert stemmed("running dogs") == ["run", "dog"]


def test_sessions_follow_time_gaps_or_named_sessions() -> None:
    assert same_session(None, 0.0, None, 3599.0) and not same_session(None, 0.0, None, 3601.0)
    assert not same_session("a", 0.0, "b", 1.0) and same_session("a", 0.0, "a", 99999.0)
    assert not same_session(None, 0.0, "a", 1.0) and not same_session(None, None, None, 0.0)


def test_candidates_keep_neighbours_within_a_session() -> None:
    index = conversation()
    cols = index.arrays()
    assert cols.session_of.tolist() == [0, 0, 0, 1, 1]
    assert cols.prev.tolist() == [-1, 0, 1, -1, 3] and cols.next.tolist() == [1, 2, -1, 4, -1]
    assert len(index.sessions) == 2


def whole(texts: list[str]) -> Docs:
    """Documents of one piece each."""
    at = np.arange(len(texts), dtype=np.int64)
    return Docs(Pieces(texts), at, at, len(texts))


def test_scope_statistics_not_the_candidates_set_the_idf() -> None:
    bm = ScopedBM25(whole(["a b", "b"]), [2, 1], {"a": 1, "b": 90}, documents=100, average=2.0)
    assert bm.tf("b").tolist() == [1.0, 1.0] and bm.tf("a").tolist() == [1.0, 0.0]
    assert bm.counts(0) == {"a": 1, "b": 1} and bm.counts(1) == {"b": 1}
    assert math.isclose(bm.idf("a"), math.log(1 + 99.5 / 1.5), rel_tol=1e-6)
    assert bm.idf("b") < bm.idf("a")
    # A term the store has not counted counts as often as the candidates hold it.
    assert math.isclose(bm.idf("zzz"), math.log(1 + 100.5 / 0.5), rel_tol=1e-6)


def test_documents_made_of_pieces_score_as_their_own_tokens() -> None:
    # Two memories: each a head (its date and speaker) and its units' tokens.
    pieces = Pieces(["may ana", "adopt", "puppi biscuit", "", "may ben", "breed ana ana"])
    # Each unit is its memory's head, then its own words (the fourth piece is a unit of none).
    heads, own = np.asarray([0, 0, 4], np.int64), np.asarray([1, 2, 5], np.int64)
    at = np.arange(3, dtype=np.int64)
    units = Docs(pieces, np.concatenate([heads, own]), np.concatenate([at, at]), 3)
    alone = whole(["may ana adopt", "may ana puppi biscuit", "may ben breed ana ana"])
    df = {"ana": 5, "puppi": 2, "may": 40}
    made = ScopedBM25(alone, [3, 4, 5], dict(df), 100, 3.0)
    pieced = ScopedBM25(units, [3, 4, 5], dict(df), 100, 3.0)
    for term in ("ana", "puppi", "may", "breed", "nowhere", "an", "a", "na", "may ana", ""):
        assert pieced.tf(term).tolist() == made.tf(term).tolist(), term
    assert pieced.tf("ana").tolist() == [1.0, 1.0, 2.0] and made.tf("an").tolist() == [0, 0, 0]
    assert pieced.score(["ana", "puppi"]).tolist() == made.score(["ana", "puppi"]).tolist()
    for doc in range(3):
        assert list(pieced.counts(doc).items()) == list(made.counts(doc).items())
    # A memory of all its pieces, the empty one too.
    memories = Docs(pieces, np.arange(6, dtype=np.int64), np.asarray([0, 0, 0, 0, 1, 1]), 2)
    assert memories.tf("ana").tolist() == [1.0, 2.0]
    assert memories.tokens(0) == ["may", "ana", "adopt", "puppi", "biscuit"]
    assert memories.tokens(1) == ["may", "ben", "breed", "ana", "ana"]


def test_features_find_the_answer_next_to_the_matching_turn() -> None:
    index = conversation()
    query = np.eye(1, 8, 1, dtype=np.float32)[0]  # the question's vector is turn 1's
    cols = features(index, "What breed is Ana's dog Biscuit?", query, T0)
    unit_of = index.arrays().unit_of
    # turn 2's units follow the best-matching turn (turn 1)
    assert set(unit_of[cols["tp1"] == max(cols["tp1"])].tolist()) == {2}
    said_by_ana = [index.placed[int(m)].brief.actor == "Ana" for m in unit_of]
    assert cols["spk_named"].tolist() == [float(x) for x in said_by_ana]
    assert cols["s_bm25"][0] == cols["s_bm25"][-3] > cols["s_bm25"][-1]
    score = linear_scores(cols, {"bm25": 1.0}, len(unit_of))
    assert int(unit_of[int(np.argmax(score))]) in (0, 1)


def test_the_match_by_meaning_is_of_what_is_asked_of_the_people_named() -> None:
    """``dense`` (and the session's and the neighbours' matches) read the question's vector
    without the names it says, when the search made one (``Candidates.unnamed``); ``cos`` is
    always the question's own."""
    index = conversation()
    unit_of = index.arrays().unit_of
    question = np.eye(1, 8, 1, dtype=np.float32)[0]  # the question's vector is turn 1's
    named = features(index, "What breed is Ana's dog?", question, T0)
    assert set(unit_of[named["dense"] == max(named["dense"])].tolist()) == {1}
    in_first = index.arrays().session_of[unit_of] == 0
    assert named["s_dense"][in_first].min() > named["s_dense"][~in_first].max()
    index.unnamed = np.eye(1, 8, 3, dtype=np.float32)[0]  # without "Ana", turn 3's
    unnamed = features(index, "What breed is Ana's dog?", question, T0)
    assert set(unit_of[unnamed["dense"] == max(unnamed["dense"])].tolist()) == {3}
    assert unnamed["s_dense"][~in_first].min() > unnamed["s_dense"][in_first].max()
    np.testing.assert_array_equal(unnamed["cos"], named["cos"])


def test_units_are_sentences_and_photo_captions() -> None:
    assert split_units("Hi there! I went to the park. [photo: a dog on grass]") == [
        "Hi there!", "I went to the park.", "[photo: a dog on grass]"
    ]  # fmt: skip
    assert split_units("no punctuation at all") == ["no punctuation at all"]
    assert split_units("[photo: a cat]") == ["[photo: a cat]"]


def test_units_chain_across_turns_of_a_session_only() -> None:
    records = [*rows(), rec(5, "Wow. It is relaxing.", "Ben", T0 + timedelta(days=30, minutes=3))]
    index = conversation(records)
    cols = index.arrays()
    assert cols.unit_of.tolist() == [0, 1, 2, 3, 4, 5, 5]
    assert cols.unit_prev.tolist() == [-1, 0, 1, -1, 3, 4, 5]
    assert cols.unit_next.tolist() == [1, 2, -1, 4, 5, 6, -1]
    assert index.units_of(5) == range(5, 7)
    prefix = "(7 June 2023) Ben: "
    assert cols.unit_cost.tolist()[-2:] == [len(prefix + "Wow."), len(prefix + "It is relaxing.")]
    assert cols.unit_length.tolist()[-2:] == [len("Wow."), len("It is relaxing.")]


def test_a_memory_s_first_unit_follows_the_last_unit_before_it() -> None:
    # Memory 1 follows 0, 3 follows 2 (which has no units: 1's last passes on), 4 follows 5
    # (which came after it: nothing), 5 follows nothing.
    prev, first = [-1, 0, 1, 2, 5, -1], [0, 2, 3, 3, 4, 5]
    counts = np.array([2, 1, 0, 1, 1, 2], np.int64)
    assert _openings(prev, first, counts).tolist() == [-1, 1, 2, 2, -1, -1]
    with_units = np.array([2, 1, 1, 1, 1, 2], np.int64)  # every memory has units
    assert _openings(prev, [0, 2, 3, 4, 5, 6], with_units).tolist() == [-1, 1, 2, 3, -1, -1]


def test_time_window_feature_uses_dates_said_in_the_text() -> None:
    index = conversation()
    cols = features(index, "What did Ben start in June 2023?", None, T0 + timedelta(days=60))
    assert cols["time"].tolist() == [0, 0, 0, 1, 1]
    cols = features(index, "What happened on 31 May 2023?", None, T0 + timedelta(days=60))
    assert cols["time"][3] == 1 and cols["time"][0] == 0


def test_zscore_of_a_constant_is_zero() -> None:
    assert zscore(np.ones(4, dtype=np.float32)).tolist() == [0.0] * 4


def test_units_that_say_the_same_from_the_same_messages_share_a_group() -> None:
    fact = rec(5, "A beagle, she loves the park", "Ana", T0 + timedelta(days=31))
    records = [*rows(), replace(fact, kind="fact", sources=("D2",)),
               rec(6, "A beagle, she loves the park.", "Ben", T0)]  # fmt: skip
    group = conversation(records).arrays().unit_group.tolist()
    assert group[2] == group[5]  # turn 2 and the fact restating it (message D2)
    assert group[6] != group[2]  # the same words from another message
    assert len(set(group[:5])) == 5


def test_a_named_person_speaking_of_themselves_or_spoken_to() -> None:
    asked = rec(
        5, "Ana, did you take Biscuit to the vet?", "Ben", T0 + timedelta(days=30, minutes=2)
    )
    index = conversation([*rows(), asked])
    cols = features(index, "What pet does Ana have?", None, T0)
    # Ana's own "I adopted ...", and Ben's question that calls her "you"
    assert cols["self_spk"].tolist() == [1, 0, 0, 0, 0, 0]
    assert cols["addressed"].tolist() == [0, 0, 0, 0, 0, 1]
    cols = features(index, "What class did Ben start?", None, T0)
    assert cols["self_spk"].tolist() == [0, 0, 0, 1, 0, 0]
    assert cols["addressed"].tolist() == [0] * 6  # no one calls Ben "you"
    cols = features(index, "Who adopted a puppy?", None, T0)
    assert cols["self_spk"].tolist() == cols["addressed"].tolist() == [0] * 6


def test_a_named_person_is_the_one_who_talks_with_the_same_people() -> None:
    ana, ben, cleo = 0, 1, 2
    # Ana speaks with Ben in sessions 0 and 1, with Cleo in session 2, alone in session 3.
    actor = np.asarray([ana, ben, ana, ben, ana, cleo, ana, -1])
    session = np.asarray([0, 0, 1, 1, 2, 2, 3, 3])
    assert paired(actor, session, {ana}).tolist() == [1, 0, 1, 0, 0.5, 0, 0, 0]
    # Ben speaks with Ana only; both named: each memory has its own speaker's share.
    assert paired(actor, session, {ana, ben}).tolist() == [1, 1, 1, 1, 0.5, 0, 0, 0]
    assert paired(actor, session, set()).tolist() == [0] * 8


def test_a_named_person_who_speaks_with_no_one_has_no_namesake_told_apart() -> None:
    actor = np.asarray([0, 0, 1, -1])
    assert paired(actor, np.asarray([0, 1, 2, 3]), {0}).tolist() == [1, 1, 0, 0]
    assert paired(np.asarray([-1, -1]), np.asarray([0, 0]), {0}).tolist() == [0, 0]


def test_the_features_read_who_a_named_person_talks_with() -> None:
    namesake = rec(5, "I adopted a kitten!", "Ana", T0 + timedelta(days=90))
    stranger = rec(6, "Lovely, Ana.", "Cleo", T0 + timedelta(days=90, minutes=1))
    records = [*rows(), namesake, stranger]
    index = build(place(records, [0, 0, 0, 1, 1, 2, 2]), stats_of(records, 3), {})
    unit_of = index.arrays().unit_of
    cols = features(index, "What did Ana adopt?", None, T0)
    # Ana speaks with Ben in two sessions, and once with Cleo: each unit has its memory's.
    assert cols["spk_pair"].tolist() == [[1, 0, 1, 0, 1, 0.5, 0][m] for m in unit_of]
    assert not features(index, "Who adopted a puppy?", None, T0)["spk_pair"].any()


def test_a_weight_named_a_star_b_weighs_the_product_of_two_features() -> None:
    cols = {
        "bm25": np.array([1.0, 2.0, -1.0], np.float32),
        "dense": np.array([3.0, 0.5, 2.0], np.float32),
    }
    score = linear_scores(cols, {"bm25": 1.0, "bm25*dense": 0.5}, 3)
    assert score.tolist() == [2.5, 2.5, -2.0]
    # A product of a feature the columns lack weighs nothing, as a plain unknown name does.
    assert linear_scores(cols, {"bm25*nope": 9.0, "nope": 9.0}, 3).tolist() == [0.0, 0.0, 0.0]


def test_standing_gives_each_unit_its_first_score_and_its_memorys_best() -> None:
    first = np.array([3.0, 1.0, 0.0, 2.0], dtype=np.float32)
    unit_of = np.array([0, 0, 1, 2], dtype=np.int64)
    best = best_of(first, unit_of)
    assert best.tolist() == [3.0, 0.0, 2.0]
    out = standing(first, best, unit_of)
    assert set(out) == set(SECOND)
    np.testing.assert_allclose(out["first"], zscore(first))
    # Standardised over the three memories, not the four units.
    np.testing.assert_allclose(out["standing"], zscore(best)[unit_of])
    assert out["standing"][0] == out["standing"][1] > out["standing"][3] > out["standing"][2]
    # A memory no unit belongs to (memory 1 here, and memory 3 of four) has no best, and
    # stands lowest among the memories.
    gaps = np.array([0, 0, 2, 2], dtype=np.int64)
    assert best_of(first, gaps).tolist() == [3.0, -np.inf, 2.0]
    assert best_of(first, gaps, 4).tolist() == [3.0, -np.inf, 2.0, -np.inf]
    lowest = standing(first, best_of(first, gaps), gaps)["standing"]
    np.testing.assert_allclose(lowest, zscore(np.array([3.0, 0.0, 2.0], np.float32))[gaps])


def test_the_second_pass_places_memories_and_the_first_orders_a_memorys_units() -> None:
    rng = np.random.default_rng(7)
    n = 40
    cols = {name: np.zeros(n, dtype=np.float32) for name in FEATURES}
    for name in ("bm25", "cov", "dense", "cos", "t_bm25", "s_bm25", "tmax", "loglen"):
        cols[name] = rng.normal(size=n).astype(np.float32)
    unit_of = np.repeat(np.arange(n // 4), 4).astype(np.int64)  # ten memories of four units
    score = unit_scores(cols, DEFAULT_WEIGHTS, unit_of)
    first = linear_scores(cols, FIRST_WEIGHTS, n)
    second = linear_scores(cols | standing(first, best_of(first, unit_of), unit_of),
                           DEFAULT_WEIGHTS, n)  # fmt: skip
    for memory in range(n // 4):
        units = unit_of == memory
        # A memory stands at its best unit's second score ...
        assert score[units].max() == pytest.approx(second[units].max(), abs=1e-5)
        # ... and its units keep the first pass's distances below their best.
        np.testing.assert_allclose(score[units] - score[units].max(),
                                   first[units] - first[units].max(), atol=1e-5)  # fmt: skip
    # The second pass orders the memories otherwise than the first (these columns, seed 7).
    assert not np.array_equal(np.argsort(-best_of(score, unit_of)),
                              np.argsort(-best_of(first, unit_of)))  # fmt: skip
    # Weights that do not weigh the first pass's columns are one pass.
    np.testing.assert_array_equal(unit_scores(cols, FIRST_WEIGHTS, unit_of), first)


def test_the_products_are_pairs_of_features_and_the_default_weighs_only_known_names() -> None:
    for name in PRODUCTS:
        a, _, b = name.partition("*")
        assert a in FEATURES and b in FEATURES and a != b
    assert len(set(PRODUCTS)) == len(PRODUCTS)
    assert set(DEFAULT_WEIGHTS) <= set(FEATURES) | set(SECOND) | set(PRODUCTS)
    assert set(FIRST_WEIGHTS) <= set(FEATURES) | set(PRODUCTS)


def test_a_query_held_whole_by_a_text_looks_it_up() -> None:
    texts = [
        "message 149 from charlie",
        "Message 149 from Charlie!",
        "a message 149, from charlie, came",
        "message 149 from charlie2",
        "message 149 from alpha",
        "from charlie: message 149",
        "",
    ]
    assert looked_up("message 149 from charlie", texts).tolist() == [
        True, True, True, False, False, False, False,
    ]  # fmt: skip
    # Fewer than three words is a keyword search, not a lookup.
    assert not looked_up("from charlie", texts).any()
    assert not looked_up("", texts).any()
    assert looked_up("message 149 from charlie", []).shape == (0,)


def test_a_question_that_asks_no_more_than_the_query_is_asked_again() -> None:
    texts = [
        "What is my favourite colour?",  # the query again
        "what's my favorite colour??",  # another spelling of two words: not all its terms
        "Hey, what is my favourite colour again?",  # all its terms but a third
        "What is my favourite colour, song and film?",  # asks more
        "My favourite colour is teal.",  # not a question
        "Colour?",  # one term
        "",
    ]
    questions = np.array([t.rstrip().endswith("?") for t in texts])
    assert asked_again("what is my favourite colour", texts, questions).tolist() == [
        True, False, True, False, False, False, False,
    ]  # fmt: skip
    assert not asked_again("", texts, questions).any()
    assert asked_again("what is my favourite colour", [], np.zeros(0, bool)).shape == (0,)


@pytest.mark.parametrize(
    "question",
    [
        "How many times did Ada go hiking?",
        "What do Ada and Bo have in common?",
        "What movies did Paola watch?",
        "Which activities does Kevin have with his friends?",
        "What are Kate's hobbies?",
        "In which countries did Kate relax on the beach?",
        "What pasta sauces does Elise eat?",
        "What people has Maria met while volunteering?",
    ],
)
def test_a_question_that_asks_for_many_things(question: str) -> None:
    assert asks_for_many(question)


@pytest.mark.parametrize(
    "question",
    [
        "What happens when Ada is late?",
        "What motivates Kate to run?",
        "What is Kate's favourite book?",
        "What was the name of Ada's cat?",
        "When did Bo move to Lisbon?",
        "What does Kate think about dogs?",
        "What is the status of the business?",
    ],
)
def test_a_question_that_asks_for_one_thing(question: str) -> None:
    assert not asks_for_many(question)
