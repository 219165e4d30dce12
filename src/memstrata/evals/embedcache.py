"""A document-vector cache on disk, so that a benchmark rerun does not embed its data again.

``CachingEmbedder(inner, directory)`` answers ``embed(texts, "document")`` from vectors it has
kept, keyed by the embedder's name and a hash of each text, and embeds only the texts it has
not seen (in one call to ``inner``). Queries always go to ``inner``: a search's latency keeps
its query embedding. New vectors are written as shards (``<directory>/<embedder>/<id>.npz``,
each a set of 16-byte keys and a float32 matrix) by ``flush``, atomically, so processes that
fill the same cache at once lose nothing. The cache is derived data: delete it at will.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from memstrata.ports import Embedder, EmbedKind, Vector
from memstrata.settings import APP_NAME

#: New vectors are written to disk once this many are waiting (an interrupted fill loses at
#: most this many).
FLUSH_EVERY = 5_000


def default_cache_dir() -> Path:
    """The benchmarks' cache: ``bench`` in the user cache directory (platformdirs)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME, appauthor=False)) / "bench"


def text_key(name: str, kind: str, text: str) -> bytes:
    """The 16-byte key of one text's vector under one embedder (pure)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (name, kind, text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.digest()


def _folder(name: str) -> str:
    """A folder name for an embedder: its name made safe, and a hash of the exact name."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60]
    return f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


class CachingEmbedder:
    """``inner`` with its document vectors kept on disk (see the module's docstring)."""

    def __init__(self, inner: Embedder, directory: str | Path) -> None:
        self.inner = inner
        self.directory = Path(directory) / _folder(inner.name)
        self.hits = 0
        self.misses = 0
        self._rows: dict[bytes, tuple[int, int]] = {}
        self._shards: list[Vector] = []
        self._pending_keys: list[bytes] = []
        self._pending: list[Vector] = []
        self._load()

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def __len__(self) -> int:
        return len(self._rows)

    def _load(self) -> None:
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.npz")):
            try:
                with np.load(path) as data:
                    keys, vectors = data["keys"], data["vectors"]
            except (OSError, ValueError, KeyError):
                continue  # a damaged shard is skipped; its texts are embedded again
            if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(keys) != len(vectors):
                continue
            shard = len(self._shards)
            self._shards.append(np.ascontiguousarray(vectors, dtype=np.float32))
            for row, key in enumerate(keys):
                self._rows.setdefault(bytes(key), (shard, row))

    def _vector(self, key: bytes) -> Vector:
        shard, row = self._rows[key]
        vector: Vector = self._shards[shard][row]
        return vector

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        if kind != "document" or not texts:
            return self.inner.embed(texts, kind)
        keys = [text_key(self.name, kind, t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._rows and key not in missing:
                missing[key] = text
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        if missing:
            fresh = np.asarray(self.inner.embed(list(missing.values()), kind), dtype=np.float32)
            shard = len(self._shards)
            self._shards.append(fresh)
            for row, key in enumerate(missing):
                self._rows[key] = (shard, row)
            self._pending_keys.extend(missing)
            self._pending.append(fresh)
            if len(self._pending_keys) >= FLUSH_EVERY:
                self.flush()
        return np.stack([self._vector(key) for key in keys])

    def flush(self) -> None:
        """Write the vectors embedded since the last flush as one new shard."""
        if not self._pending_keys:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(self._pending_keys), dtype=np.uint8).reshape(-1, 16)
        vectors = np.concatenate(self._pending)
        name = uuid.uuid4().hex
        partial = self.directory / f".{name}.partial.npz"
        np.savez(partial, keys=keys, vectors=vectors)
        os.replace(partial, self.directory / f"{name}.npz")
        self._pending_keys, self._pending = [], []

    def close(self) -> None:
        self.flush()
