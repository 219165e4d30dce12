"""How deep a search looks as its scope grows (``read.engine.Depths.at``)."""

from __future__ import annotations

from memstrata.read.engine import DEPTHS, Depths


def test_a_small_scope_is_searched_at_the_given_depths() -> None:
    assert DEPTHS.at(0) == DEPTHS
    assert DEPTHS.at(DEPTHS.small) == DEPTHS


def test_every_search_and_expansion_goes_twice_as_deep_in_a_large_scope() -> None:
    deep = DEPTHS.at(DEPTHS.large)
    for name in ("keyword", "vector", "window", "speaker", "expand", "sessions"):
        assert getattr(deep, name) == 2 * getattr(DEPTHS, name), name
    assert (deep.reach, deep.session_members) == (DEPTHS.reach, DEPTHS.session_members)
    assert DEPTHS.at(100 * DEPTHS.large) == deep


def test_depth_grows_with_the_scope_between_small_and_large() -> None:
    depths = Depths(keyword=100, small=1_000, large=100_000)
    sizes = [1_000, 3_000, 10_000, 30_000, 100_000]
    keyword = [depths.at(n).keyword for n in sizes]
    assert keyword == sorted(keyword) and len(set(keyword)) == len(keyword)
    assert keyword[2] == 150  # halfway in log scale
