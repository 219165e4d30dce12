"""How deep a search looks as its scope grows (``read.engine.Depths.at``)."""

from __future__ import annotations

from memstrata.read.engine import DEPTHS, Depths


def test_a_small_scope_is_searched_at_the_given_depths() -> None:
    assert DEPTHS.at(0) == DEPTHS
    assert DEPTHS.at(DEPTHS.small) == DEPTHS


def test_the_narrower_searches_and_expansions_go_twice_as_deep_in_a_large_scope() -> None:
    deep = DEPTHS.at(DEPTHS.large)
    for name in ("window", "speaker", "expand", "sessions"):
        assert getattr(deep, name) == 2 * getattr(DEPTHS, name), name
    assert (deep.reach, deep.session_members) == (DEPTHS.reach, DEPTHS.session_members)
    assert DEPTHS.at(100 * DEPTHS.large) == deep


def test_the_whole_scope_s_searches_keep_their_depth_in_a_large_scope() -> None:
    """Measured: twice as deep, they cost a fifth of a search at 100,000 memories and kept no
    more evidence within the budget (docs/benchmarks.md, eighteenth pass)."""
    deep = DEPTHS.at(100 * DEPTHS.large)
    assert (deep.keyword, deep.vector) == (DEPTHS.keyword, DEPTHS.vector)


def test_depth_grows_with_the_scope_between_small_and_large() -> None:
    depths = Depths(window=100, small=1_000, large=100_000)
    sizes = [1_000, 3_000, 10_000, 30_000, 100_000]
    window = [depths.at(n).window for n in sizes]
    assert window == sorted(window) and len(set(window)) == len(window)
    assert window[2] == 150  # halfway in log scale
