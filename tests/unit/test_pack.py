"""Packing units of memories into a context budget (pure functions over arrays)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from memstrata.read.pack import (
    best_of_each,
    context_length,
    fit_budget,
    groups,
    pack,
    provenance,
    said,
    said_again,
    wording,
)
from memstrata.types import Hit, MemoryRecord, Scope


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


def test_provenance_is_the_sources_and_the_words() -> None:
    assert provenance(["m2", "m1"], "I moved to Lisbon.") == provenance(
        ["m1", "m2", "m1"], "  i moved to  Lisbon "
    )
    assert provenance(["m1"], "I moved to Lisbon.") != provenance(["m3"], "I moved to Lisbon.")
    assert provenance(["m1"], "I moved to Lisbon.") != provenance(["m1"], "I moved to Porto.")
    assert provenance(["m1"], "I moved to Lisbon.") == (("m1",), "i moved to lisbon")


def test_groups_are_the_units_provenance() -> None:
    # Memories 0 and 1 come from one message; 2 from another; 3 says a sentence twice.
    origins = [("m1",), ("m1",), ("m2",), ("m3",)]
    unit_of = [0, 0, 1, 2, 3, 3]
    texts = ["I moved.", "To Lisbon.", "i moved", "I moved.", "Ha!", "ha"]
    found = groups(origins, unit_of, texts)
    keys = [provenance(origins[m], t) for m, t in zip(unit_of, texts, strict=True)]
    assert [[a == b for b in found] for a in found] == [[a == b for b in keys] for a in keys]
    assert found[0] == found[2] and found[4] == found[5] and found[0] != found[3]
    assert groups([], [], []) == []


def test_a_message_its_speaker_sends_again_is_one_group() -> None:
    # Ana sends one message three times (a fact restates the second), Ben sends it once, Ana
    # once in capitals and once within a longer message; a short reply sent twice stays two.
    origins = [("m1",), ("m2",), ("m2",), ("m3",), ("m4",), ("m5",), ("m6",), ("m7",), ("m8",)]
    speakers = ["Ana", "Ana", None, "Ana", "Ben", "Ana", "Ana", "Ana", "Ana"]
    memory_texts = ["I live in Lisbon.", "I live in Lisbon.", "i live in lisbon",
                    "I live in Lisbon.", "I live in Lisbon.", "Yes, sure!", "Yes, sure!",
                    "I LIVE IN LISBON.", "We went out. I live in Lisbon."]  # fmt: skip
    unit_of = [0, 1, 2, 3, 4, 5, 6, 7, 8, 8]
    texts = [*memory_texts[:8], "We went out.", "I live in Lisbon."]
    repeats = said_again(speakers, memory_texts)
    assert [r is not None for r in repeats] == [True, True, False, True] + [False] * 5
    found = groups(origins, unit_of, texts, repeats)
    assert found[0] == found[1] == found[2] == found[3]
    assert len({found[0], *found[4:]}) == 7
    # In any order, the same groups; without repeats, provenance alone.
    order = [6, 3, 9, 2, 5, 0, 7, 4, 8, 1]
    again = groups(origins, [unit_of[i] for i in order], [texts[i] for i in order], repeats)
    assert [[a == b for b in again] for a in again] == [
        [found[i] == found[j] for j in order] for i in order
    ]
    alone = groups(origins, unit_of, texts)
    assert alone[1] == alone[2] and len(set(alone)) == 9
    assert said("Ana", "I live in Lisbon.") != said("Ben", "I live in Lisbon.")
    assert said("Ana", "I live in Lisbon.") != said("Ana", "i live in lisbon.")
    assert said("Ana", "Yes, sure!") is None
    assert said(None, "I live in Lisbon.") is None  # said when and where, not known
    assert said_again(["Ana", "Ana"], ["Hi there you", "Hello there you"]) == [None, None]


_memories = st.lists(
    st.tuples(
        st.sampled_from(["m1", "m2", "m3"]),  # its message
        st.sampled_from(["Ana", "Ben", None]),  # its speaker
        st.lists(
            st.sampled_from(["I live in Lisbon.", "i live in lisbon", "Yes!", "We ran."]),
            min_size=1,
            max_size=2,
        ),  # its units
    ),
    max_size=8,
)


@given(_memories, st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_groups_are_the_same_in_any_order(memories: list[tuple[str, str | None, list[str]]],
                                          rng: Any) -> None:  # fmt: skip
    def numbered(order: list[int]) -> dict[tuple[int, int], int]:
        """Each unit's group, by its memory's place in ``memories`` and its own."""
        chosen = [memories[i] for i in order]
        origins = [(message,) for message, _, _ in chosen]
        texts = [" ".join(units) for _, _, units in chosen]
        repeats = said_again([speaker for _, speaker, _ in chosen], texts)
        unit_of = [m for m, (_, _, units) in enumerate(chosen) for _ in units]
        unit_texts = [unit for _, _, units in chosen for unit in units]
        found = groups(origins, unit_of, unit_texts, repeats)
        places = [
            (order[m], u) for m, (_, _, units) in enumerate(chosen) for u in range(len(units))
        ]
        return dict(zip(places, found, strict=True))

    order = list(range(len(memories)))
    first = numbered(order)
    rng.shuffle(order)
    again = numbered(order)
    pairs = [(a, b) for a in first for b in first]
    assert [first[a] == first[b] for a, b in pairs] == [again[a] == again[b] for a, b in pairs]
    for (m, u), number in first.items():
        for (n, v), other in first.items():
            message, speaker, units = memories[m]
            if message == memories[n][0] and wording(units[u]) == wording(memories[n][2][v]):
                assert number == other  # the same provenance: one group, as before
            if (speaker is not None and speaker == memories[n][1] and message != memories[n][0]
                    and units == memories[n][2] and u == v
                    and said(speaker, " ".join(units)) is not None):  # fmt: skip
                assert number == other  # a message sent again: one group


def test_best_of_each_keeps_the_better_scored_unit_of_a_group_in_order() -> None:
    score = np.array([1.0, 3.0, 2.0, 3.0, 0.5], np.float32)
    group = np.array([7, 7, 8, 7, 9], np.int64)
    units = np.array([2, 0, 1, 3, 4], np.int64)  # a walk order
    assert best_of_each(units, score, group).tolist() == [2, 1, 4]  # 1 and 3 tie: 1 came first
    assert best_of_each(np.array([4], np.int64), score, group).tolist() == [4]


def test_a_group_spends_the_budget_once_and_the_next_unit_fits() -> None:
    # Units 0 and 1 say the same thing (an episode and a fact restating it); unit 2 answers.
    unit_of, score, cost, text = arrays((0, 3.0, 30), (1, 2.9, 30), (2, 2.0, 60))
    group = np.array([5, 5, 6], np.int64)
    repeated = pack(score, score, unit_of, cost, text, budget=110, limit=10)
    assert [p.memory for p in repeated] == [0, 1]  # the answer does not fit after the repeat
    packed = pack(score, score, unit_of, cost, text, budget=110, limit=10, group=group)
    assert [p.memory for p in packed] == [0, 2]
    # The same sentence twice in one memory is packed once too.
    unit_of, score, cost, text = arrays((0, 3.0, 20), (0, 1.0, 20), (0, 2.9, 20))
    packed = pack(score, score, unit_of, cost, text, 1000, 10, np.array([1, 2, 1], np.int64))
    assert [(p.memory, p.units) for p in packed] == [(0, (0, 1))]


def hit(memory_id: str, text: str, sources: tuple[str, ...]) -> Hit:
    at = datetime(2026, 5, 3, tzinfo=UTC)
    record = MemoryRecord(id=memory_id, scope=Scope(user_id="u"), kind="episode", text=text,
                          sources=sources, valid_from=at, recorded_at=at)  # fmt: skip
    return Hit(record=record, score=1.0, signals={})


def test_fit_budget_takes_whole_hits_in_order_and_each_provenance_once() -> None:
    hits = [hit("a", "I moved to Lisbon", ("m1",)), hit("b", "I moved to Lisbon.", ("m1",)),
            hit("c", "I moved to Lisbon", ("m2",)), hit("d", "x" * 500, ("m3",)),
            hit("e", "Porto", ("m4",))]  # fmt: skip
    assert [h.id for h in fit_budget(hits, 200)] == ["a", "c", "e"]


def test_cohesion_favours_the_other_turns_of_a_session_in_the_context() -> None:
    # Memory 0 is packed first; memory 2 shares its session, memory 1 scores a little better.
    unit_of, score, cost, text = arrays((0, 3.0, 20), (1, 2.0, 20), (2, 1.5, 20))
    session_of = np.array([0, 1, 0], np.int64)
    budget = 60  # two memories fit, not three
    plain = pack(score, score, unit_of, cost, text, budget, 10, None, session_of, 0.0)
    assert [p.memory for p in plain] == [0, 1]
    assert plain == pack(score, score, unit_of, cost, text, budget, 10)
    together = pack(score, score, unit_of, cost, text, budget, 10, None, session_of, 1.0)
    assert [p.memory for p in together] == [0, 2]  # 1.5 + 1.0 outbids 2.0
    # A bonus too small to close the gap changes nothing; the result stays in score order.
    small = pack(score, score, unit_of, cost, text, budget, 10, None, session_of, 0.4)
    assert [p.memory for p in small] == [0, 1]


def test_cohesion_raises_a_session_once_and_never_admits_an_excluded_unit() -> None:
    unit_of, score, cost, text = arrays(
        (0, 3.0, 20), (1, 2.9, 20), (2, 1.0, 20), (3, 0.9, 20), (4, 2.0, 20)
    )
    session_of = np.array([0, 0, 0, 0, 1], np.int64)
    key = score.copy()
    key[3] = -np.inf  # filtered out: no bonus brings it back
    packed = pack(key, score, unit_of, cost, text, 1000, 10, None, session_of, 5.0)
    assert sorted(p.memory for p in packed) == [0, 1, 2, 4]
    # Room for three: memories 0 and 1 of session 0 raise it once, so memory 2 (1.0 + 0.6)
    # stays below memory 4 (2.0); a bonus larger than their gap lets it in.
    packed = pack(key, score, unit_of, cost, text, 90, 10, None, session_of, 0.6)
    assert [p.memory for p in packed] == [0, 1, 4]
    packed = pack(key, score, unit_of, cost, text, 90, 10, None, session_of, 1.5)
    assert [p.memory for p in packed] == [0, 1, 2]


def test_cohesion_within_reach_lifts_the_session_s_memories_near_those_in_the_context() -> None:
    # One session of five memories (in the order stored) and one other; room for three.
    unit_of, score, cost, text = arrays(
        (0, 3.0, 20), (1, 1.0, 20), (2, 1.0, 20), (3, 1.2, 20), (4, 1.2, 20), (5, 2.0, 20)
    )
    session_of = np.array([0, 0, 0, 0, 0, 1], np.int64)

    def packed(reach: int | None) -> list[int]:
        found = pack(score, score, unit_of, cost, text, 90, 10, None, session_of, 1.5, reach)
        return [p.memory for p in found]

    assert packed(None) == [0, 3, 4]  # the whole session rises: its best turns come next
    # Within two memories of memory 0: 1 and 2 rise (2.5); packing 1 lends 3 (2.7) its bonus.
    assert packed(2) == [0, 3, 1]
    assert packed(1) == [0, 1, 2]  # each packed memory lends its next one
    assert packed(0) == [0, 5, 3]  # no other memory is near enough: as without cohesion
    assert packed(0) == [p.memory for p in pack(score, score, unit_of, cost, text, 90, 10)]
    # A memory is raised once, however many packed memories it is near: memory 1, beside
    # both 0 and 2, rises to 1.6 and stays below memory 3 (1.8), not to 2.2.
    unit_of, score, cost, text = arrays((0, 3.0, 20), (1, 1.0, 20), (2, 2.9, 20), (3, 1.8, 20))
    session_of = np.array([0, 0, 0, 1], np.int64)
    found = pack(score, score, unit_of, cost, text, 90, 10, None, session_of, 0.6, 1)
    assert [p.memory for p in found] == [0, 2, 3]


def test_cohesion_lifts_other_memories_not_the_packed_memory_s_own_sentences() -> None:
    # Memory 0 has a second sentence (unit 2); memory 2 shares its session.
    unit_of, score, cost, text = arrays((0, 3.0, 20), (1, 2.0, 20), (0, 1.5, 20), (2, 1.8, 20))
    session_of = np.array([0, 1, 0], np.int64)
    plain = pack(score, score, unit_of, cost, text, 60, 10)
    assert [(p.memory, p.units) for p in plain] == [(0, (0,)), (1, (1,))]
    packed = pack(score, score, unit_of, cost, text, 60, 10, None, session_of, 1.0)
    assert [(p.memory, p.units) for p in packed] == [(0, (0,)), (2, (3,))]
    # The limit still holds; memory 0's sentence joins at its own key and text's price.
    packed = pack(score, score, unit_of, cost, text, 1000, 2, None, session_of, 1.0)
    assert [(p.memory, p.units) for p in packed] == [(0, (0, 2)), (2, (3,))]
