"""Processes that serve searches collect cyclic garbage less often, unless the user chose how
(``tests/conftest.py`` puts the collector back after each test)."""

from __future__ import annotations

import gc

from memstrata.settings import quiet_collector


def test_default_thresholds_are_raised_and_the_heap_frozen() -> None:
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    assert quiet_collector(young=12_345)
    assert gc.get_threshold() == (12_345, 10, 10)
    assert gc.get_freeze_count() > 0


def test_thresholds_the_user_chose_are_left_alone() -> None:
    gc.set_threshold(5_000, 20, 20)
    gc.unfreeze()
    assert not quiet_collector()
    assert gc.get_threshold() == (5_000, 20, 20)
    assert gc.get_freeze_count() == 0


def test_a_second_call_changes_nothing() -> None:
    gc.set_threshold(700, 10, 10)
    assert quiet_collector()
    assert not quiet_collector()
