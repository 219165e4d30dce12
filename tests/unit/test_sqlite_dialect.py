"""The SQLite dialect reads back what it wrote: a list of strings kept as JSON text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from memstrata.stores.sqlite.dialect import SQLiteDialect

SQLITE = SQLiteDialect()


@given(st.lists(st.text(max_size=12), max_size=4))
def test_a_list_of_strings_reads_back_as_it_was_written(values: list[str]) -> None:
    assert SQLITE.strings_of(SQLITE.strings(values)) == tuple(values)


def test_one_string_with_quotes_escapes_or_other_scripts_reads_back() -> None:
    for value in ['say "hi"', "back\\slash", "", "café", "ab", '"', "]", '", "']:
        assert SQLITE.strings_of(SQLITE.strings([value])) == (value,)
    assert SQLITE.strings_of('["a", "b"]') == ("a", "b")
