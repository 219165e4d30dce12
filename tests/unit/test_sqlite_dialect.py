"""The SQLite dialect reads back what it wrote: a list of strings kept as JSON text, a time's
day, vectors as one matrix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from memstrata.stores.codec import from_micros
from memstrata.stores.sqlite.dialect import SQLiteDialect

SQLITE = SQLiteDialect()


@given(st.lists(st.text(max_size=12), max_size=4))
def test_a_list_of_strings_reads_back_as_it_was_written(values: list[str]) -> None:
    assert SQLITE.strings_of(SQLITE.strings(values)) == tuple(values)


def test_one_string_with_quotes_escapes_or_other_scripts_reads_back() -> None:
    for value in ['say "hi"', "back\\slash", "", "café", "ab", '"', "]", '", "']:
        assert SQLITE.strings_of(SQLITE.strings([value])) == (value,)
    assert SQLITE.strings_of('["a", "b"]') == ("a", "b")


@given(st.integers(min_value=-(2**41), max_value=2**52))
def test_a_time_s_day_is_the_day_of_the_time_it_reads_back_as(micros: int) -> None:
    for value in (micros, micros - micros % 86_400_000_000, micros - micros % 86_400_000_000 - 1):
        found = from_micros(value)
        assert found is not None and SQLITE.days_of([value]) == [found.toordinal()]


def test_vectors_read_as_one_matrix_with_zeros_for_none() -> None:
    a, b = np.arange(3, dtype=np.float32), np.ones(3, np.float32)
    blobs = [SQLITE.vector(a), SQLITE.vector(b)]
    np.testing.assert_array_equal(SQLITE.matrix_of(blobs), np.stack([a, b]))
    np.testing.assert_array_equal(SQLITE.matrix_of([None, *blobs]), np.stack([0 * a, a, b]))
    assert SQLITE.matrix_of([None, None]).shape == (2, 0)
    assert SQLITE.matrix_of([]).shape == (0, 0)
    with pytest.raises(ValueError):  # vectors of two widths make no matrix
        SQLITE.matrix_of([*blobs, SQLITE.vector(np.ones(2))])
