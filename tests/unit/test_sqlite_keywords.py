"""Keyword search in a large SQLite store asks FTS5 for a query's rarer words only."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memstrata.stores.keywords import choose_words
from memstrata.stores.sqlite import SQLiteStore, keywords
from memstrata.stores.sqlite.keywords import (
    match_expression,
    newest_best,
    query_words,
    rank,
    scope_token,
)
from memstrata.types import Filters, MemoryRecord, Scope

U = Scope(user_id="u")


def test_query_words_are_distinct_lowercase_and_quoted_without_syntax() -> None:
    assert query_words('What breed is my dog? my DOG" OR (x') == [
        "breed", "dog", "is", "my", "or", "what",
    ]  # fmt: skip
    assert query_words("a ? 7") == ["7"]
    assert match_expression(["dog", "my"]) == '{text keys} : ("dog" OR "my")'
    assert match_expression([]) is None


def test_every_word_is_kept_while_the_matches_fit_the_budget() -> None:
    assert choose_words({"my": 60, "dog": 3, "what": 0}, budget=100) == ["dog", "my", "what"]


def test_past_the_budget_the_rarest_words_are_kept() -> None:
    postings = {"my": 5_000, "the": 9_000, "beagle": 40, "rufus": 2, "zebra": 0}
    assert choose_words(postings, budget=1_000) == ["beagle", "rufus", "zebra"]
    assert choose_words(postings, budget=6_000) == ["beagle", "my", "rufus", "zebra"]


def test_the_rarest_matching_word_is_kept_whatever_its_count() -> None:
    assert choose_words({"my": 5_000, "is": 9_000, "breed": 0}, budget=100) == ["breed", "my"]


@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 500)), st.integers(1, 800))
def test_chosen_words_respect_the_budget_and_prefer_rare_ones(
    postings: dict[str, int], budget: int
) -> None:
    chosen = choose_words(postings, budget)
    assert chosen == sorted(chosen) and set(chosen) <= set(postings)
    assert {w for w, n in postings.items() if n == 0} <= set(chosen)
    matching = [w for w in chosen if postings[w] > 0]
    if any(postings.values()):
        assert matching  # something that matches is always asked for
    if len(matching) > 1:
        assert sum(postings[w] for w in matching) <= budget
    left_out = set(postings) - set(chosen)
    if left_out:
        assert max(postings[w] for w in matching) <= min(postings[w] for w in left_out)


def records(texts: list[str], prefix: str = "m") -> list[MemoryRecord]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        MemoryRecord(id=f"{prefix}{i}", scope=U, kind="episode", text=t, recorded_at=now)
        for i, t in enumerate(texts)
    ]


def test_a_large_store_still_finds_the_rare_word_of_a_common_query(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.keyword_large = store.keyword_postings = 10  # "large" past 10 memories
    filler = [f"my day number {i} was the usual" for i in range(40)]
    store.add(
        [],
        records([*filler, "My beagle Rufus chewed my shoes again."]),
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    hits = store.keyword_search(U, "Is my beagle the usual?", Filters(), limit=5)
    assert hits[0][0].id == "m40"
    assert len(hits) == 1  # "my", "the", "usual" (40 matches each) were left out
    store.close()


def test_a_query_of_only_common_words_still_finds_something(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.keyword_large = store.keyword_postings = 10
    store.add(
        [],
        records([*(f"the usual day {i}" for i in range(40)), "My beagle chewed my shoes"]),
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    # "What breed is my dog?": its content words match nothing, so its stop words are asked
    # for too; only "my" matches anything, and it is kept however common it is.
    hits = store.keyword_search(U, "What breed is my dog?", Filters(), limit=5)
    assert [r.id for r, _ in hits] == ["m40"]
    store.close()


def test_stop_words_are_not_asked_for_beside_other_words(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.add(
        [],
        records([*(f"my day number {i}" for i in range(40)), "the beagle chewed a shoe"]),
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    hits = store.keyword_search(U, "Is my beagle ok?", Filters(), limit=50)
    assert [r.id for r, _ in hits] == ["m40"]
    store.close()


def test_a_small_store_asks_for_every_word(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.add(
        [],
        records([*(f"my day number {i}" for i in range(40)), "my beagle"]),
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    hits = store.keyword_search(U, "beagle day", Filters(), limit=50)
    assert hits[0][0].id == "m40" and len(hits) == 41
    store.close()


def test_counts_are_refreshed_as_the_store_grows(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.keyword_large = store.keyword_postings = 10
    store.add([], records([f"filler {i}" for i in range(20)]), at=datetime(2026, 1, 1, tzinfo=UTC))
    assert store.keyword_search(U, "beagle filler", Filters(), limit=5)[0][0].id.startswith("m")
    store.add(
        [],
        records([f"beagle {i}" for i in range(30)], prefix="b"),
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    # "beagle" now matches 30 memories and "filler" 20: the rarer one is asked for.
    hits = store.keyword_search(U, "beagle filler", Filters(), limit=50)
    assert {r.id[0] for r, _ in hits} == {"m"}
    store.close()


def test_a_large_store_scores_the_newest_matches_of_a_common_word(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.keyword_large = store.keyword_postings = 10
    texts = ["beagle beagle beagle", *(f"a beagle story number {i}" for i in range(30))]
    store.add([], records(texts), at=datetime(2026, 1, 1, tzinfo=UTC))
    hits = store.keyword_search(U, "beagle", Filters(), limit=5)
    # the best match (m0) is older than the newest ten matches, which are all that is scored
    assert {r.id for r, _ in hits} <= {f"m{i}" for i in range(21, 31)}
    assert len(hits) == 5
    store.keyword_large = 100  # a small store again: every match is scored
    assert store.keyword_search(U, "beagle", Filters(), limit=5)[0][0].id == "m0"
    store.close()


def test_a_large_scopes_time_window_is_searched_within_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.keyword_large = store.keyword_postings = 10
    day = datetime(2025, 1, 1, tzinfo=UTC)
    texts = ["beagle beagle beagle", *(f"a beagle story number {i}" for i in range(30))]
    # One memory a week; the strongest match is the oldest, outside the window.
    store.add([], [replace(r, recorded_at=day + timedelta(days=7 * i))
                   for i, r in enumerate(records(texts))], at=day)  # fmt: skip
    march = Filters(since=datetime(2025, 3, 1, tzinfo=UTC), until=datetime(2025, 3, 31, tzinfo=UTC))
    hits = store.keyword_search(U, "beagle", march, limit=10)
    assert {r.id for r, _ in hits} == {f"m{i}" for i in range(9, 13)}  # the four March weeks
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
    store.close()


def test_a_large_scopes_best_matches_that_fail_the_filters_give_way(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.keyword_large, store.keyword_postings = 10, 100
    strong = [replace(r, state="archived") for r in records(["beagle beagle beagle"] * 12, "a")]
    weaker = records([f"beagle {'and more ' * i}" for i in range(30)])  # m0 best, then m1, ...
    store.add([], [*strong, *weaker], at=datetime(2026, 1, 1, tzinfo=UTC))
    # The twelve best are archived: the best active ones are checked batch after batch.
    hits = store.keyword_search(U, "beagle", Filters(states=("active",)), limit=5)
    assert [r.id for r, _ in hits] == ["m0", "m1", "m2", "m3", "m4"]
    hits = store.keyword_search(U, "beagle", Filters(states=("archived",)), limit=5)
    assert len(hits) == 5 and all(r.id.startswith("a") for r, _ in hits)
    store.close()


def test_a_scope_outranked_by_others_is_ranked_on_its_own(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.keyword_large = store.keyword_postings = 10
    other = Scope(user_id="other")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    loud = [
        MemoryRecord(id=f"o{i}", scope=other, kind="episode", text="lisbon lisbon", recorded_at=now)
        for i in range(20)
    ]
    store.add(
        [],
        [*records(["a note about lisbon and many other things"]), *loud],
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    hits = store.keyword_search(U, "lisbon", Filters(), limit=1)
    assert [r.id for r, _ in hits] == ["m0"]  # not among the table's best: found by the join
    assert {r.id for r, _ in store.keyword_search(other, "lisbon", Filters(), limit=3)} <= {
        f"o{i}" for i in range(20)
    }
    store.close()


def test_a_small_scope_in_a_large_store_asks_for_every_word(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.keyword_large = store.keyword_postings = 10  # "large" past 10 memories in a scope
    now = datetime(2026, 1, 1, tzinfo=UTC)
    other = Scope(user_id="other")
    store.add([], [MemoryRecord(id=f"o{i}", scope=other, kind="episode", text=f"a long day {i}",
                                recorded_at=now) for i in range(60)], at=now)  # fmt: skip
    store.add([], records(["my beagle barked", "a quiet day", "the cat slept"]), at=now)
    # "day" matches 61 memories of the store but one of the scope's three: it is asked for.
    hits = store.keyword_search(U, "beagle day", Filters(), limit=5)
    assert sorted(r.id for r, _ in hits) == ["m0", "m1"]
    # The other scope's memories never come back, nor does the other scope see these.
    found = store.keyword_search(other, "day", Filters(), limit=100)
    assert found and all(r.id.startswith("o") for r, _ in found)
    store.close()


def test_a_speakers_search_weighs_words_by_what_that_speaker_said(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.keyword_large = store.keyword_postings = 10  # "large" past 10 memories
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def said(actor: str, texts: list[str]) -> list[MemoryRecord]:
        return [MemoryRecord(id=f"{actor}{i}", scope=U, kind="episode", text=t, actor=actor,
                             recorded_at=now) for i, t in enumerate(texts)]  # fmt: skip

    crowd = said("cy", [f"guitar practice day {i}" for i in range(40)])
    bob = said("bob", [f"a guitar riff, take {i}" for i in range(5)])
    store.add([], [*crowd, *bob, *said("ana", ["I started guitar lessons", "a walk in the park"])],
              at=now)  # fmt: skip
    # In the scope "guitar" (46 matches) is left out for the rarer "lessons" and "park"; a
    # speaker's search weighs the words by that speaker's memories, where every word fits.
    found = store.keyword_search(U, "guitar lessons park", Filters(actor="bob"), limit=50)
    assert sorted(r.id for r, _ in found) == [f"bob{i}" for i in range(5)]
    hits = store.keyword_search(U, "guitar lessons park", Filters(actor="ana"), limit=5)
    assert [r.id for r, _ in hits] == ["ana0", "ana1"]
    store.close()


def test_a_store_of_schema_6_indexes_its_speakers(
    tmp_path: Path, sqlite_back_to: Callable[[Path, int], None]
) -> None:
    path = tmp_path / "k.db"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    store = SQLiteStore(path)
    store.add([], [MemoryRecord(id=f"{who}{i}", scope=U, kind="episode", actor=who,
                                text=f"{who} rode a bike, day {i}", recorded_at=now)
                   for who in ("ana", "bob") for i in range(3)], at=now)  # fmt: skip
    store.close()
    sqlite_back_to(path, 6)  # the index holds each memory's exact scope alone
    with sqlite3.connect(path) as conn:
        assert all(" " not in s for (s,) in conn.execute("SELECT scope FROM memories_fts"))
    conn.close()
    store = SQLiteStore(path)
    found = store.keyword_search(U, "bike", Filters(actor="bob"), limit=10)
    assert sorted(r.id for r, _ in found) == ["bob0", "bob1", "bob2"]
    store.close()


def window_as_one_query(
    conn: sqlite3.Connection, words: list[str], scopes: list[str], window: int, best: int
) -> list[tuple[int, float]]:
    """What ``keywords.newest_best`` stands for: one query, the scope's token and the words
    together, scored by ``bm25()`` (ties newest first)."""
    match = match_expression(words, scopes)
    rows = conn.execute(
        "SELECT rowid, -bm25(memories_fts, 1.0, 0.5, 0.0) FROM memories_fts "
        "WHERE memories_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        [match, window],
    ).fetchall()
    return sorted(rows, key=lambda row: -row[1])[:best]


def filled(owners: str | list[str], words: list[str]) -> tuple[sqlite3.Connection, list[str]]:
    """An index of memories, the i-th of scope ``owners[i]`` and of a few of ``words`` (in
    turn); with scope u's token."""
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE memories_fts USING fts5(text, keys, scope, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    tokens = {owner: scope_token("t", owner, None, None) for owner in "uvw"}
    conn.executemany(
        "INSERT INTO memories_fts (rowid, text, keys, scope) VALUES (?, ?, '', ?)",
        [(i + 1, " ".join(words[i % len(words):] + words[: i % 3]), tokens[owner])
         for i, owner in enumerate(owners)],
    )  # fmt: skip
    return conn, [tokens["u"]]


#: Whose each memory of an index is (mostly u's, or mostly another's), the words the index's
#: memories hold, and those a search asks for (one of them in no memory).
OWNERS = st.lists(st.sampled_from("uuv"), min_size=1, max_size=120) | st.lists(
    st.sampled_from("uvvvvw"), min_size=1, max_size=120
)
WORDS = st.lists(st.sampled_from(["beagle", "walk", "rain", "park"]), min_size=1, max_size=6)
ASKED = st.lists(st.sampled_from(["beagle", "walk", "zebra"]), min_size=1, unique=True)


@settings(max_examples=60, deadline=None)
@given(
    owners=OWNERS,
    words=WORDS,
    asked=ASKED,
    window=st.integers(1, 40),
    best=st.integers(1, 30),
)
def test_a_window_is_scored_as_its_one_query_would_score_it(
    owners: list[str], words: list[str], asked: list[str], window: int, best: int
) -> None:
    conn, scopes = filled(owners, words)
    found = newest_best(conn, sorted(asked), scopes, window, best)
    assert found == window_as_one_query(conn, sorted(asked), scopes, window, best)


def test_a_window_among_many_others_matches_is_scored_as_one_query() -> None:
    """Five others' matches for each of u's: more than ``SPREAD`` times, where the window is
    scored by the one query rather than by its words alone (either gives these answers)."""
    conn, scopes = filled("uvvvvw" * 30, ["beagle", "walk", "rain"])
    for window, best in ((10, 5), (30, 30), (200, 7)):
        found = newest_best(conn, ["beagle", "rain"], scopes, window, best)
        assert found == window_as_one_query(conn, ["beagle", "rain"], scopes, window, best)
        assert len(found) == best


def dated(conn: sqlite3.Connection, count: int) -> None:
    """A ``memories`` table beside ``filled``'s index: a day for each of its ``count`` rows, in
    no order of the rowids (as a conversation's dates are)."""
    conn.execute("CREATE TABLE memories (pk INTEGER PRIMARY KEY, day INTEGER)")
    conn.executemany("INSERT INTO memories (pk, day) VALUES (?, ?)",
                     [(i + 1, i * 7 % 31) for i in range(count)])  # fmt: skip


def narrow_as_one_query(
    conn: sqlite3.Connection, words: list[str], scopes: list[str] | None, days: tuple[int, int],
    window: int, limit: int,
) -> list[tuple[int, float]]:  # fmt: skip
    """What a narrow ``keywords.rank`` stands for: the newest ``window`` matches whose memory's
    day is within ``days``, scored by ``bm25()`` in one query, the best ``limit`` (ties newest
    first)."""
    rows = conn.execute(
        "SELECT m.pk, -bm25(memories_fts, 1.0, 0.5, 0.0) FROM memories_fts JOIN memories m "
        "ON m.pk = memories_fts.rowid WHERE memories_fts MATCH ? AND m.day BETWEEN ? AND ? "
        "ORDER BY memories_fts.rowid DESC LIMIT ?",
        [match_expression(words, scopes), *days, window],
    ).fetchall()
    return sorted(rows, key=lambda row: -row[1])[:limit]


@settings(max_examples=60, deadline=None)
@given(
    owners=OWNERS,
    words=WORDS,
    asked=ASKED,
    first=st.integers(0, 30),
    span=st.integers(0, 30),
    window=st.integers(1, 40),
    limit=st.integers(1, 30),
    scoped=st.booleans(),
)
def test_a_narrow_window_is_scored_as_its_one_query_would_score_it(
    owners: list[str], words: list[str], asked: list[str], first: int, span: int, window: int,
    limit: int, scoped: bool,
) -> None:  # fmt: skip
    conn, scopes = filled(owners, words)
    dated(conn, len(owners))
    days = (first, first + span)
    asked_scopes = scopes if scoped else None
    found = rank(conn, sorted(asked), asked_scopes, "m.day BETWEEN ? AND ?", days, limit,
                 window=window, narrow=True)  # fmt: skip
    assert found == narrow_as_one_query(conn, sorted(asked), asked_scopes, days, window, limit)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(1, 80),
    words=WORDS,
    asked=ASKED,
    window=st.none() | st.integers(1, 40),
    narrow=st.booleans(),
    limit=st.integers(1, 30),
)
def test_an_index_of_one_scope_ranks_alike_with_or_without_its_token(
    size: int, words: list[str], asked: list[str], window: int | None, narrow: bool, limit: int
) -> None:
    """What ``SQLiteStore`` relies on when a store holds one scope alone: asking for the words
    without the scope's token finds and scores the same matches."""
    conn, scopes = filled(["u"] * size, words)
    dated(conn, size)
    where, params = "m.day BETWEEN ? AND ?", (3, 20)
    ranked = [rank(conn, sorted(asked), space, where, params, limit, window=window, narrow=narrow)
              for space in (scopes, None)]  # fmt: skip
    assert ranked[0] == ranked[1]


def test_a_scope_alone_in_its_store_never_finds_a_scope_added_later(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    store.keyword_large, store.keyword_postings = 10, 30  # large; a scope's matches all scored
    now = datetime(2026, 1, 1, tzinfo=UTC)
    store.add([], records([f"a beagle walk {i}" for i in range(30)]), at=now)
    alone = store.keyword_keys(U, "beagle walk", Filters(), limit=50)
    assert len(alone) == 30
    other = Scope(user_id="other")
    store.add([], [MemoryRecord(id=f"o{i}", scope=other, kind="episode", text="beagle beagle walk",
                                recorded_at=now) for i in range(30)], at=now)  # fmt: skip
    for scope, prefix in ((U, "m"), (other, "o")):
        for filters in (Filters(), Filters(since=now - timedelta(days=1))):
            found = store.keyword_search(scope, "beagle walk", filters, limit=50)
            assert len(found) == 30 and all(r.id.startswith(prefix) for r, _ in found)
    store.close()


def _segments(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(DISTINCT segid) FROM memories_fts_idx").fetchone()[0])


def test_tidying_merges_the_keyword_index_and_finds_the_same(tmp_path: Path) -> None:
    from memstrata import Memory

    path = tmp_path / "m.db"
    with Memory(path, embedder=None) as mem:
        for i in range(40):  # an add a transaction: a segment each, merged only now and then
            mem.add(f"note {i} about the garden shed and tomato {i % 7}", user_id="u")
        store = mem.store
        before = store.keyword_keys(U, "tomato garden 3", Filters(), limit=50)
        assert _segments(path) > 1
        assert store.tidy(budget=2000) is True
        assert _segments(path) == 1
        assert store.tidy(budget=2000) is False  # nothing left to merge
        assert store.keyword_keys(U, "tomato garden 3", Filters(), limit=50) == before
        mem.add("a tomato after the merge", user_id="u")
        assert len(store.keyword_keys(U, "tomato", Filters(), limit=50)) == 41
        assert mem.maintain(user_id="u") == [] and _segments(path) == 1  # maintain tidies too


def test_a_speakers_search_in_a_large_index_asks_for_the_words_rare_in_it(
    tmp_path: Path,
) -> None:
    """``bm25()`` counts a word's matches over the whole index: a search among what one person
    said, whose own matches are few, leaves out the words common in the index."""
    store = SQLiteStore(tmp_path / "k.db")
    filler = records([f"the usual day {i}" for i in range(40)], prefix="f")
    said = [replace(r, actor="Ana") for r in records(["My usual walk.", "My beagle Rufus."])]
    store.add([], [*filler, *said], at=datetime(2026, 1, 1, tzinfo=UTC))

    def found() -> set[str]:
        keys = store.keyword_keys(U, "Ana's usual beagle", Filters(actor="Ana"), limit=5)
        return {p.brief.id for p in store.placed(U, Filters(), keys=[k for k, _ in keys])}

    assert found() == {"m0", "m1"}  # an index of 42 memories: every word
    store.speaker_index_budget = 10
    assert found() == {"m1"}  # "usual" matches 41 memories in the index, "beagle" one
    store.close()


def test_a_small_scope_ranks_its_matches_by_its_own_figures(tmp_path: Path) -> None:
    """In the scope, "lisbon" is rarer than "porto", so it weighs more; the other scope, full
    of "lisbon", changes neither that nor the order, before or after it writes."""
    store = SQLiteStore(tmp_path / "k.db")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    mine = ["a week in lisbon", "porto at last", *(f"porto note {i}" for i in range(5)),
            *(f"something else {i}" for i in range(10))]  # fmt: skip
    other = Scope(user_id="other")
    store.add([], records(mine), at=now)
    store.add([], cats(other, now, 200), at=now)  # the index is shared, and mostly others'

    def ranked() -> list[str]:
        return [r.id for r, _ in store.keyword_search(U, "lisbon porto", Filters(), limit=3)]

    before = ranked()
    assert before[0] == "m0"
    store.add([], [MemoryRecord(id=f"o{i}", scope=other, kind="episode", text="lisbon lisbon",
                                recorded_at=now) for i in range(40)], at=now)  # fmt: skip
    assert ranked() == before
    store.close()


def test_a_small_scope_with_more_matches_than_it_scores_is_ranked_by_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    store.add([], records(["beagle", "beagle beagle walk", "walk", "beagle walk", "cat"]), at=now)
    store.add([], cats(Scope(user_id="other"), now, 60), at=now)  # the index is mostly others'
    scored = [r.id for r, _ in store.keyword_search(U, "beagle walk", Filters(), limit=4)]
    monkeypatch.setattr(keywords, "SCORED_HERE", 2)
    indexed = [r.id for r, _ in store.keyword_search(U, "beagle walk", Filters(), limit=4)]
    assert sorted(scored) == sorted(indexed) == ["m0", "m1", "m2", "m3"]
    assert indexed[-1] in {"m0", "m2"} and scored[0] in {"m1", "m3"}
    store.close()


def cats(scope: Scope, now: datetime, n: int) -> list[MemoryRecord]:
    return [MemoryRecord(id=f"c{i}", scope=scope, kind="episode", text=f"a cat {i}",
                         recorded_at=now) for i in range(n)]  # fmt: skip
