"""The boundaries: small protocols that every store, embedder, language model and clock meets.

Each is a handful of methods. Concrete classes live in ``stores/``, ``embedders/`` and
``llms/``; nothing outside those folders knows which one it talks to.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from memstrata.types import (
    Filters,
    HistoryEvent,
    MemoryRecord,
    MemoryState,
    Message,
    Operation,
    Page,
    Scope,
    utcnow,
)

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: its public id, its tenant and the hash of its secret."""

    id: str
    tenant: str
    key_hash: str
    created_at: datetime
    name: str | None = None
    revoked_at: datetime | None = None


EmbedKind = Literal["query", "document"]


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return utcnow()


class FixedClock:
    """A clock that says what it is told; for tests and evaluations."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors, in batches.

    ``name`` identifies the model and its settings (the store records it with ``dim``, and a
    store built with one embedder refuses to be searched with another).
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        """Return a ``(len(texts), dim)`` float32 matrix of L2-normalised rows."""
        ...


@runtime_checkable
class LLM(Protocol):
    """A chat model behind an OpenAI-compatible API (or a scripted stand-in in tests)."""

    @property
    def model(self) -> str: ...

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        json_schema: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> str:
        """Return the assistant's text for a chat; raise ``LLMError`` when none comes."""
        ...


class Store(Protocol):
    """Where memories, their versions, their history and the raw messages live.

    Every method takes a ``Scope``; the store confines each read and write to it inside its own
    queries (a scope matches the memories whose given fields are equal, within its tenant).
    Every change writes its history row in the same transaction.
    """

    # -- messages (the raw conversation, the target of ``sources``) ---------------------------
    def known_messages(self, scope: Scope, ids: Sequence[str]) -> set[str]: ...

    def get_messages(self, scope: Scope, ids: Sequence[str]) -> builtins.list[Message]: ...

    # -- writes ---------------------------------------------------------------------------------
    def add(
        self,
        messages: Sequence[tuple[Scope, Message]],
        records: Sequence[MemoryRecord],
        *,
        vectors: Vector | None = None,
        reason: str | None = None,
        prompt_version: str | None = None,
    ) -> None:
        """Store messages and new memories (and their vectors) in one transaction."""
        ...

    def update(
        self,
        scope: Scope,
        record: MemoryRecord,
        *,
        expected_version: int,
        op: Operation = "UPDATE",
        vector: Vector | None = None,
        reason: str | None = None,
        prompt_version: str | None = None,
    ) -> MemoryRecord:
        """Write ``record`` as the next version; the previous one is kept.

        Raises ``ConflictError`` when the stored version is not ``expected_version``.
        """
        ...

    def set_state(
        self, scope: Scope, memory_id: str, state: MemoryState, *, reason: str | None = None
    ) -> MemoryRecord: ...

    def purge(self, scope: Scope, memory_id: str) -> None: ...

    def reset(self, scope: Scope) -> int: ...

    def touch(self, scope: Scope, ids: Sequence[str], at: datetime) -> None:
        """Note that memories were recalled (recall count, last recalled); no new version."""
        ...

    def set_lifecycle(self, scope: Scope, records: Sequence[MemoryRecord]) -> None:
        """Write strength, recall count, last recalled and layer of these memories as given.

        Bookkeeping, not content: no new version, no history row.
        """
        ...

    # -- reads ----------------------------------------------------------------------------------
    def get(self, scope: Scope, memory_id: str) -> MemoryRecord: ...

    def get_many(self, scope: Scope, ids: Sequence[str]) -> builtins.list[MemoryRecord]: ...

    def versions(self, scope: Scope, memory_id: str) -> builtins.list[MemoryRecord]: ...

    def history(self, scope: Scope, memory_id: str) -> builtins.list[HistoryEvent]: ...

    def list(
        self, scope: Scope, filters: Filters, *, limit: int = 50, cursor: str | None = None
    ) -> Page: ...

    def keyword_search(
        self, scope: Scope, query: str, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]: ...

    def vector_search(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]: ...

    def scopes(self, tenant: str) -> builtins.list[dict[str, Any]]: ...

    # -- whole-scope transfer -------------------------------------------------------------------
    def export(self, scope: Scope) -> Iterator[dict[str, Any]]: ...

    def import_(self, tenant: str, items: Iterable[Mapping[str, Any]]) -> int: ...

    # -- searches and settings kept for learning ----------------------------------------------
    def save_search(
        self, scope: Scope, search_id: str, at: datetime, payload: Mapping[str, Any]
    ) -> None:
        """Keep what a search returned (ids and features) so ``feedback`` can refer to it."""
        ...

    def load_search(self, scope: Scope, search_id: str) -> dict[str, Any] | None: ...

    def prune_searches(self, before: datetime) -> int: ...

    def get_setting(self, key: str) -> str | None: ...

    def put_setting(self, key: str, value: str) -> None: ...

    # -- API keys (stored as hashes; the server maps a key to its tenant) -----------------------
    def put_api_key(self, key: ApiKey) -> None: ...

    def api_keys(self, tenant: str | None = None) -> builtins.list[ApiKey]: ...

    def revoke_api_key(self, key_id: str, at: datetime) -> bool: ...

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The active (not revoked) key with this hash, if any."""
        ...

    # -- embedder bookkeeping -------------------------------------------------------------------
    def embedder_info(self) -> tuple[str, int] | None: ...

    def set_embedder_info(self, name: str, dim: int) -> None: ...

    def close(self) -> None: ...
