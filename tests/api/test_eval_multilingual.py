"""``memstrata eval multilingual`` on the repository's multilingual fixture: the keyword search
alone finds the Chinese and Japanese evidence, which it cannot without splitting those
scripts into words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memstrata.evals.cli import main
from memstrata.evals.multilingual import load_multilingual

FIXTURE = Path(__file__).parent.parent / "fixtures" / "multilingual.jsonl"


def test_the_fixture_has_six_languages_of_ten_questions() -> None:
    languages = load_multilingual(FIXTURE)
    assert [lang.lang for lang in languages] == ["es", "fr", "de", "pt", "zh", "ja"]
    assert all(len(lang.questions) == 10 for lang in languages)


def test_recall_per_language_for_each_embedder(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["eval", "multilingual", str(FIXTURE), "--embedder", "none", "--embedder", "hashing",
         "--json"]
    )  # fmt: skip
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["recall"]) == {"none", "hashing"}
    keyword = report["recall"]["none"]
    assert set(keyword) == {"es", "fr", "de", "pt", "zh", "ja"}
    assert keyword["zh"] >= 0.9 and keyword["ja"] >= 0.9
    assert all(0.0 <= v <= 1.0 for scores in report["recall"].values() for v in scores.values())


def test_a_table_by_default_and_errors_for_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "multilingual", str(FIXTURE), "--embedder", "none"]) == 0
    assert capsys.readouterr().out.startswith("| recall@5 | es | fr | de | pt | zh | ja | mean |")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"lang": "xx", "messages": [], "questions": [{"question": "?", '
                   '"evidence": ["nope"]}]}\n')  # fmt: skip
    assert main(["eval", "multilingual", str(bad)]) == 2
    assert "evidence names no message" in capsys.readouterr().err
    assert main(["eval", "multilingual", str(tmp_path / "missing.jsonl")]) == 2
