"""What an embedder sees of a memory, and the one call that embeds memories for the store."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from memstrata.ports import Embedder, Vector
from memstrata.types import MemoryRecord

#: A query's vector (``None``: none), or a call that returns it once it is made: a search runs
#: its keyword searches while the vector is being made, and asks for it only then.
QueryVector = Vector | Callable[[], Vector | None] | None


#: What embeds another text of a query, as ``QueryVector`` gives the query's own vector.
Embed = Callable[[str], QueryVector]


def resolve(vector: QueryVector) -> Vector | None:
    """The vector itself, waiting for it if it is still being made."""
    return vector() if callable(vector) else vector


def embed_query(embedder: Embedder, query: str) -> Callable[[], Vector]:
    """``query``'s vector, made in a thread of its own from now on; the call returns it once it
    is made (or raises what the embedder raised). A local model computes outside the
    interpreter lock, and a remote one waits on the network: either way the store's keyword
    searches run meanwhile."""
    made: Future[Vector] = Future()

    def make() -> None:
        try:
            made.set_result(embedder.embed([query], kind="query")[0])
        except BaseException as exc:  # handed to whoever asks for the vector
            made.set_exception(exc)

    threading.Thread(target=make, name="memstrata-embed-query", daemon=True).start()
    return made.result


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
