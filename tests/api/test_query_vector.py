"""A search's keyword searches run while its query is being embedded: the vector is asked for
only once they are done, and whatever the embedder raises reaches the caller."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from memstrata import Memory
from memstrata.embedders.common import EmbedderError
from memstrata.embedders.hashing import HashingEmbedder
from memstrata.ports import EmbedKind, Searchable, Store, Vector
from memstrata.read.embedding import embed_query
from memstrata.read.engine import gather
from memstrata.stores.sqlite.store import SQLiteStore
from memstrata.types import Filters, Scope

U = {"user_id": "u"}


class Watched:
    """A store that says when a keyword search has been answered (and otherwise is the store
    it was given)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self.calls: list[str] = []
        #: Each vector search's speaker (``None``: the whole scope's) and vector.
        self.vectors: list[tuple[str | None, Vector]] = []
        self.searched = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def keyword_keys(self, *args: Any, **kwargs: Any) -> list[tuple[int, float]]:
        found = self._store.keyword_keys(*args, **kwargs)
        self.calls.append("keyword")
        self.searched.set()
        return found

    def vector_keys(self, *args: Any, **kwargs: Any) -> list[tuple[int, float]]:
        self.calls.append("vector")
        _, vector, filters = args[:3]
        self.vectors.append((filters.actor, vector))
        return self._store.vector_keys(*args, **kwargs)


class Waiting(HashingEmbedder):
    """Embeds a query only once the store has answered a keyword search (or gives up after
    ``patience`` seconds and says so)."""

    def __init__(self, searched: threading.Event, patience: float = 10.0) -> None:
        super().__init__()
        self.searched, self.patience = searched, patience
        self.waited_in_vain = 0

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        if kind == "query" and not self.searched.wait(self.patience):
            self.waited_in_vain += 1
        return super().embed(texts, kind)


class Recording(HashingEmbedder):
    """Keeps the queries it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        if kind == "query":
            self.queries += texts
        return super().embed(texts, kind)


class Broken(HashingEmbedder):
    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        if kind == "query":
            raise EmbedderError("the embedding server said no")
        return super().embed(texts, kind)


def test_the_vector_is_asked_for_after_every_keyword_search(tmp_path: Path) -> None:
    with Memory(tmp_path / "m.db", embedder="hashing") as mem:
        mem.add({"speaker": "Ana", "text": "We hiked to the lake in May."}, **U)
        mem.add({"speaker": "Ben", "text": "Ana's lake photos were lovely."}, **U)
        watched = Watched(cast(SQLiteStore, mem.store))
        asked: list[int] = []
        assert mem.embedder is not None
        vector = mem.embedder.embed(["what did Ana say about the lake"], kind="query")[0]

        def later() -> Vector:
            asked.append(len(watched.calls))
            return vector

        question, active = "what did Ana say about the lake", Filters(states=("active",))
        found, _ = gather(cast(Searchable, watched), later, Scope(**U), question, active,
                          datetime.now(UTC))  # fmt: skip
        assert found is not None and len(found) == 2
        # The whole scope's searches and those among what Ana said: keywords, then vectors.
        assert watched.calls == ["keyword", "keyword", "vector", "vector"]
        assert asked == [2]


def test_the_searches_among_what_a_named_person_said_ask_without_their_name(
    tmp_path: Path,
) -> None:
    """A name pulls a question's vector towards every text that says it (a greeting, a
    namesake); among what that person said it tells nothing apart, so those searches take
    the vector of what the question asks of them, embedded while the store searches."""
    with Memory(tmp_path / "m.db", embedder="hashing") as mem:
        mem.add({"speaker": "Ana", "text": "Pottery and rowing fill my weekends."}, **U)
        mem.add({"speaker": "Ben", "text": "Hey Ana! How was the lake?"}, **U)
        watched = Watched(cast(SQLiteStore, mem.store))
        embedder = mem.embedder
        assert embedder is not None
        asked: list[str] = []

        def embed(text: str) -> Vector:
            asked.append(text)
            return embedder.embed([text], kind="query")[0]

        question, active = "What are Ana's hobbies?", Filters(states=("active",))
        full = embedder.embed([question], kind="query")[0]
        found, _ = gather(cast(Searchable, watched), full, Scope(**U), question, active,
                          datetime.now(UTC), embed=embed)  # fmt: skip
        assert found is not None and asked == ["What are hobbies?"]
        bare = embedder.embed(["What are hobbies?"], kind="query")[0]
        (whole, everyone), (ana, hers) = watched.vectors
        assert (whole, ana) == (None, "Ana")
        assert np.array_equal(everyone, full) and np.array_equal(hers, bare)
        assert found.unnamed is not None and np.array_equal(found.unnamed, bare)
        # A question that names nobody is embedded once.
        asked.clear()
        gather(cast(Searchable, watched), full, Scope(**U), "What fills the weekends?", active,
               datetime.now(UTC), embed=embed)  # fmt: skip
        assert asked == []


def test_a_search_embeds_a_question_that_names_someone_again_without_the_name(
    tmp_path: Path,
) -> None:
    embedder = Recording()
    with Memory(tmp_path / "m.db", embedder=embedder) as mem:
        mem.add({"speaker": "Ana", "text": "Pottery and rowing fill my weekends."}, **U)
        embedder.queries.clear()
        for budget in (None, 500):
            assert mem.search("What are Ana's hobbies?", budget=budget, **U).hits
        # Each in a thread of its own: in either order.
        asked = ["What are Ana's hobbies?"] * 2 + ["What are hobbies?"] * 2
        assert sorted(embedder.queries) == asked
        embedder.queries.clear()
        mem.search("What fills the weekends?", **U)
        assert embedder.queries == ["What fills the weekends?"]


def test_a_search_embeds_its_query_while_the_store_searches(tmp_path: Path) -> None:
    with Memory(tmp_path / "m.db", embedder="hashing") as plain:
        plain.add(["We hiked to the lake in May.", "The lake was cold."], **U)
    watched = Watched(SQLiteStore(tmp_path / "m.db"))
    embedder = Waiting(watched.searched)
    with Memory(cast(Store, watched), embedder=embedder) as mem:
        hits = mem.search("the lake", **U).hits
    # Embedded in line before the store searched, the query would have waited in vain.
    assert embedder.waited_in_vain == 0
    assert len(hits) == 2 and watched.calls[0] == "keyword"


def test_what_the_embedder_raises_reaches_the_caller(tmp_path: Path) -> None:
    with Memory(tmp_path / "m.db", embedder="hashing") as plain:
        plain.add("We hiked to the lake in May.", **U)
    with Memory(tmp_path / "m.db", embedder=Broken()) as mem:
        with pytest.raises(EmbedderError, match="the embedding server said no"):
            mem.search("the lake", **U)
        with pytest.raises(EmbedderError, match="the embedding server said no"):
            mem.search("the lake", budget=500, **U)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_process_embeds_its_queries_too(tmp_path: Path) -> None:
    """The threads that embed queries are kept between searches; a process forked after some
    ran (a pre-forking server's worker) has none of them, and must make its own."""
    mem = Memory(tmp_path / "m.db", embedder="hashing")
    mem.add(["My cat is called Pixel"], **U)
    assert mem.search("cat", **U)  # the parent's helper threads have embedded a query
    pid = os.fork()
    if pid == 0:  # the child: its search's vector must be made within the time, or it fails
        code = 1
        try:
            vector = embed_query(HashingEmbedder(), "cat")
            code = 0 if len(cast(Any, vector)(timeout=10)) else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    mem.close()
