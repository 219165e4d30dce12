"""What an embedder sees of a memory, and the one call that embeds memories for the store."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

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


#: The threads that make queries' vectors, kept between searches: handing a query to an idle
#: one is a queue's put, where starting a thread waits for it to run (about 2 ms on two cores
#: while another query's embedding holds one). As many as searches embed at once, each up to
#: two queries (the question, and the question without the names it says), up to this many.
HELPERS = 32


def _new_helpers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=HELPERS, thread_name_prefix="memstrata-embed-query")


_helpers = _new_helpers()


def _forked() -> None:
    """A forked process has none of its parent's threads: its pool starts empty."""
    global _helpers
    _helpers = _new_helpers()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forked)


def embed_query(embedder: Embedder, query: str) -> Callable[[], Vector]:
    """``query``'s vector, made in another thread from now on (``HELPERS``); the call returns
    it once it is made (or raises what the embedder raised). A local model computes outside
    the interpreter lock, and a remote one waits on the network: either way the store's
    keyword searches run meanwhile."""
    made: Future[Vector] = _helpers.submit(lambda: embedder.embed([query], kind="query")[0])
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
