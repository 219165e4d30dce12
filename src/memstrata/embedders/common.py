"""What every embedder shares: the embedding error, kind checks and the vector arithmetic.

All pure functions over numpy arrays; the embedders call them at their edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from memstrata.errors import InvalidInputError, MemstrataError
from memstrata.ports import EmbedKind, Vector

KINDS: tuple[EmbedKind, ...] = ("query", "document")


class EmbedderError(MemstrataError):
    """An embedder could not produce vectors (endpoint down, bad answer, model failed)."""

    code = "embedder_error"


def check_kind(kind: str) -> EmbedKind:
    """Return ``kind`` if it is one the protocol knows, else raise ``InvalidInputError``."""
    if kind == "query":
        return "query"
    if kind == "document":
        return "document"
    raise InvalidInputError(f"embed kind must be 'query' or 'document', not {kind!r}")


def check_texts(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` as a list, refusing a bare string (a common slip) and non-strings."""
    if isinstance(texts, str):
        raise InvalidInputError("embed() takes a sequence of texts; wrap a single text in a list")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise InvalidInputError(f"text {i} is a {type(text).__name__}, not a str")
    return out


def empty(dim: int) -> Vector:
    """The ``(0, dim)`` result of embedding no texts."""
    return np.zeros((0, dim), dtype=np.float32)


def l2_normalise(matrix: npt.ArrayLike) -> Vector:
    """Scale each row to unit length (all-zero rows stay zero), as float32."""
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.asarray(m / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)


def mean_pool(hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64]) -> Vector:
    """Average the token vectors of ``hidden`` (batch, seq, dim) over the real tokens of ``mask``.

    Padding positions carry no weight, so a text pools the same alone or in a padded batch.
    """
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    counts = np.maximum(weights.sum(axis=1), np.float32(1e-9))
    return np.asarray(summed / counts, dtype=np.float32)


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Group indices into batches of similar length, shortest first, to keep padding small.

    The order inside the returned batches is by length (ties by position), so the same
    texts always form the same batches.
    """
    if batch_size < 1:
        raise InvalidInputError(f"batch_size must be at least 1, not {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def pad_batch(
    sequences: Sequence[Sequence[int]], pad_id: int = 0
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Right-pad token id sequences to the longest one; return ``(ids, attention_mask)``."""
    width = max((len(s) for s in sequences), default=0)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask
