"""What an embedder sees of a memory, and the one call that embeds memories for the store."""

from __future__ import annotations

from collections.abc import Sequence

from memstrata.ports import Embedder, Vector
from memstrata.types import MemoryRecord


def embedding_text(record: MemoryRecord) -> str:
    """The text an embedder sees for a memory: who said it, then what was said."""
    if record.actor:
        return f"{record.actor}: {record.text}"
    return record.text


def embed_records(embedder: Embedder | None, records: Sequence[MemoryRecord]) -> Vector | None:
    """The memories' vectors in one batch, row by row; ``None`` without an embedder or
    records."""
    if embedder is None or not records:
        return None
    return embedder.embed([embedding_text(r) for r in records], kind="document")
