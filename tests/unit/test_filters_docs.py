"""docs/filters.md cannot rot: its example expressions parse, its runnable block runs, and the
error messages it quotes are the ones a bad filter gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memstrata import where
from memstrata.errors import InvalidInputError

DOC = Path(__file__).resolve().parents[2] / "docs" / "filters.md"
TESTED = "<!-- tested: tests/unit/test_filters_docs.py runs this block -->\n```python\n"


def text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_example_expression_parses() -> None:
    examples = text().split("<!-- examples: each json block below parses -->", 1)[1]
    examples = examples.split("<!-- end examples -->", 1)[0]
    blocks = [b.split("```", 1)[0] for b in examples.split("```json\n")[1:]]
    assert len(blocks) >= 6
    for block in blocks:
        where.parse(json.loads(block))
    first = text().split("```json\n", 1)[1].split("```", 1)[0]
    where.parse(json.loads(first))


def test_the_runnable_example_runs() -> None:
    assert TESTED in text()
    block = text().split(TESTED, 1)[1].split("```", 1)[0]
    exec(compile(block, str(DOC), "exec"), {})


@pytest.mark.parametrize(
    "raw",
    [{"importance": {">": "high"}}, {"or": [{"kind": "fact"}, {"kind": "fcat"}]}],
)
def test_the_quoted_error_messages_are_the_real_ones(raw: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        where.parse(raw)
    assert str(caught.value) in text()
