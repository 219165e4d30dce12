"""Memory beyond English, through the library: keyword search in Chinese and Japanese and with
accents folded, and dates written in other languages (a real SQLite file, the hashing
embedder, so only the words can find a memory)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from memstrata import Memory

NOW = datetime(2024, 1, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize("retriever", ["default", "bm25"])
def test_search_finds_chinese_japanese_and_unaccented_words(db_path: Path, retriever: str) -> None:
    with Memory(db_path, embedder="hashing", retriever=retriever) as mem:
        mem.add(
            [
                {"id": "zh", "text": "我上个月在杭州买了一台新的咖啡机"},
                {"id": "ja", "text": "昨日、新しいカメラを買いました。"},
                {"id": "es", "text": "Mi hermana vive en Málaga y trabaja en un café."},
                {"id": "en", "text": "The weather was grey all week."},
            ],
            user_id="u",
        )

        def top(query: str) -> list[str]:
            return [h.record.sources[0] for h in mem.search(query, user_id="u", limit=1)]

        assert top("咖啡机") == ["zh"]
        assert top("カメラを買った") == ["ja"]
        assert top("¿Dónde vive mi hermana? Malaga") == ["es"]
        assert top("cafe") == ["es"]
