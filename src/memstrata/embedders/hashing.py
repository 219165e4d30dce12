"""A deterministic embedder for tests: signed feature hashing of words and character trigrams.

No model, no randomness, no dependence on Python's per-process string hashing: the same text
gives the same vector on every machine. Texts that share words or spellings land close
together, which is enough for tests of retrieval plumbing (not for real recall).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np

from memstrata.embedders.common import check_kind, check_texts, empty
from memstrata.errors import InvalidInputError
from memstrata.ports import EmbedKind, Vector

_WORD = re.compile(r"\w+")
#: Whole words weigh more than the trigrams they are made of.
WORD_WEIGHT = 2.0
TRIGRAM_WEIGHT = 1.0
#: The one feature of a text without words, so that it still has a unit vector.
_EMPTY_FEATURE = "\x00empty"


def features(text: str) -> Iterator[tuple[str, float]]:
    """Yield ``(feature, weight)``: each lower-case word, and each trigram of ``#word#``."""
    words = _WORD.findall(text.lower())
    if not words:
        yield _EMPTY_FEATURE, 1.0
        return
    for word in words:
        yield "w:" + word, WORD_WEIGHT
        padded = f"#{word}#"
        for i in range(len(padded) - 2):
            yield "c:" + padded[i : i + 3], TRIGRAM_WEIGHT


@lru_cache(maxsize=65536)
def slot(feature: str, dim: int) -> tuple[int, float]:
    """Where a feature lands (index in ``range(dim)``) and with which sign, from blake2b."""
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return (value >> 1) % dim, (1.0 if value & 1 else -1.0)


def hash_vector(text: str, dim: int) -> Vector:
    """The unit-length hashed feature vector of one text."""
    vec = np.zeros(dim, dtype=np.float64)
    for feature, weight in features(text):
        index, sign = slot(feature, dim)
        vec[index] += sign * weight
    norm = float(np.linalg.norm(vec))
    if norm == 0.0:  # features cancelled out exactly; fall back to the empty-text vector
        return hash_vector("", dim)
    return (vec / norm).astype(np.float32)


class HashingEmbedder:
    """Feature hashing into ``dim`` dimensions; queries and documents are treated alike."""

    def __init__(self, dim: int = 256) -> None:
        if dim < 2:
            raise InvalidInputError(f"the hashing embedder needs dim >= 2, not {dim}")
        self._dim = dim

    @property
    def name(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        check_kind(kind)
        items = check_texts(texts)
        if not items:
            return empty(self._dim)
        return np.stack([hash_vector(text, self._dim) for text in items])
