"""The storage boundary: small capabilities, and ``Store``, their composition.

A backend (``stores/sqlite``, ``stores/postgres``) is one object that has them all. Each
consumer names only the capability it uses: the read path ``Searchable``, the server's key
check ``ApiKeys``, feedback ``SearchLog`` and ``StoredSettings``, ``memstrata migrate``
``Transfer``. ``EntityIndex`` is optional: the read path checks for it at run time.

Every method that reads or writes memories or messages takes a ``Scope``; the store confines
each read and write to it inside its own queries (a scope matches the memories whose given
fields are equal, within its tenant). Every change writes its history row in the same
transaction. A store never reads the wall clock: every write takes its time (``at``) from the
caller's ``Clock``, and ``stores.timeline`` keeps each version's ``recorded_at <= expired_at``
and ``valid_from <= valid_to``. A store that refuses writes (``read_only``) raises
``ReadOnlyStoreError`` on each; one found damaged raises ``CorruptStoreError``.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

import numpy as np

from memstrata.errors import NotFoundError
from memstrata.ports.models import Vector
from memstrata.terms import Brief, Briefs, Terms, decode, encode, terms_of
from memstrata.types import (
    Change,
    Filters,
    HistoryEvent,
    MemoryRecord,
    MemoryState,
    Message,
    Operation,
    Page,
    Scope,
)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: its public id, its tenant and the hash of its secret."""

    id: str
    tenant: str
    key_hash: str
    created_at: datetime
    name: str | None = None
    revoked_at: datetime | None = None


#: How the LLM write path went for a stored message (a message with no status is new).
MessageStatus = Literal["done", "failed"]


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A message the LLM write path has still to do: never tried (``new``) or ``failed``."""

    scope: Scope
    message: Message
    status: Literal["new", "failed"] = "new"
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Entity:
    """A person, place, thing or organisation named in a scope's memories.

    ``key`` is the normalised name that identifies it (``graph.entity_key``); ``name`` is how
    it was first written; ``mentions`` counts the active memories that name it.
    """

    key: str
    name: str
    mentions: int = 0


@dataclass(frozen=True, slots=True)
class Triple:
    """A relation between two entities stated by one memory: ``Ana -lives_in-> Lisbon``."""

    subject_key: str
    subject: str
    predicate: str
    object_key: str
    object: str
    memory_id: str = ""


@dataclass(frozen=True, slots=True)
class Link:
    """A link between two memories (A-MEM): ``kind`` is ``related`` or ``supersedes``."""

    source: str
    target: str
    kind: str = "related"
    score: float = 0.0
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EntityView:
    """One entity with the relations it takes part in and the memories that name it."""

    entity: Entity
    relations: tuple[Triple, ...]
    memories: tuple[MemoryRecord, ...]


# -- records with their versions and history ------------------------------------------------------
class RecordReads(Protocol):
    """Memories as they are now, their older versions and their history."""

    def get(self, scope: Scope, memory_id: str) -> MemoryRecord: ...

    def get_many(self, scope: Scope, ids: Sequence[str]) -> builtins.list[MemoryRecord]: ...

    def versions(self, scope: Scope, memory_id: str) -> builtins.list[MemoryRecord]: ...

    def history(self, scope: Scope, memory_id: str) -> builtins.list[HistoryEvent]: ...

    def list(
        self, scope: Scope, filters: Filters, *, limit: int = 50, cursor: str | None = None
    ) -> Page: ...

    def count(self, scope: Scope, filters: Filters) -> int: ...

    def as_of(self, scope: Scope, at: datetime, filters: Filters) -> builtins.list[MemoryRecord]:
        """Every memory of ``scope`` as it stood at system time ``at``: the version recorded at
        or before ``at`` and not yet expired then, in the state it had then, if it matches
        ``filters``."""
        ...

    def scopes(self, tenant: str) -> builtins.list[dict[str, Any]]: ...


class RecordWrites(Protocol):
    """Changes to memories: each keeps the old version and writes its history row."""

    def add(
        self,
        messages: Sequence[tuple[Scope, Message]],
        records: Sequence[MemoryRecord],
        *,
        at: datetime,
        vectors: Vector | None = None,
        reason: str | None = None,
        prompt_version: str | None = None,
    ) -> None:
        """Store messages (received at ``at``) and new memories (and their vectors) in one
        transaction; each memory's ``ADD`` row is at its own ``recorded_at``."""
        ...

    def update(
        self,
        scope: Scope,
        record: MemoryRecord,
        *,
        at: datetime,
        expected_version: int,
        op: Operation = "UPDATE",
        vector: Vector | None = None,
        reason: str | None = None,
        prompt_version: str | None = None,
    ) -> MemoryRecord:
        """Write ``record`` as the next version, recorded at ``at``; the previous one is kept,
        expired at ``at``.

        Raises ``ConflictError`` when the stored version is not ``expected_version``.
        """
        ...

    def set_state(
        self,
        scope: Scope,
        memory_id: str,
        state: MemoryState,
        *,
        at: datetime,
        reason: str | None = None,
    ) -> MemoryRecord: ...

    def update_many(
        self,
        scope: Scope,
        records: Sequence[tuple[MemoryRecord, int]],
        *,
        at: datetime,
        reason: str | None = None,
    ) -> builtins.list[MemoryRecord]:
        """``update`` of each ``(record, expected_version)`` (no new vectors), all in one
        transaction: a ``ConflictError`` or a missing memory changes none of them."""
        ...

    def set_states(
        self,
        scope: Scope,
        ids: Sequence[str],
        state: MemoryState,
        *,
        at: datetime,
        reason: str | None = None,
    ) -> builtins.list[MemoryRecord]:
        """``set_state`` of each memory, all in one transaction: a missing id changes none."""
        ...

    def add_event(
        self,
        scope: Scope,
        memory_id: str,
        op: Operation,
        *,
        at: datetime,
        reason: str | None = None,
        prompt_version: str | None = None,
        text: str | None = None,
    ) -> HistoryEvent:
        """Write a history row about a memory without changing it (a ``NOOP``: a fact was
        restated). The row carries the memory's current version and state."""
        ...

    def purge(self, scope: Scope, memory_id: str) -> None:
        """Erase a memory with its versions, history, links and graph, for good."""
        ...

    def reset(self, scope: Scope) -> int:
        """Erase every memory and message of ``scope`` for good; return how many memories."""
        ...


class Lifecycle(Protocol):
    """Bookkeeping of recall and forgetting: no new version, no history row."""

    def touch(self, scope: Scope, ids: Sequence[str], at: datetime) -> None:
        """Note that memories were recalled (recall count, last recalled); no new version."""
        ...

    def set_lifecycle(self, scope: Scope, records: Sequence[MemoryRecord]) -> None:
        """Write strength, recall count, last recalled and layer of these memories as given.

        Bookkeeping, not content: no new version, no history row.
        """
        ...


class Records(RecordReads, RecordWrites, Lifecycle, Protocol):
    """Records with their versions and history: reads, changes and lifecycle bookkeeping."""


# -- the message log and the LLM write path's queue -----------------------------------------------
class MessageLog(Protocol):
    """The raw messages (what a memory's ``sources`` name) and how the LLM write path went for
    each."""

    def known_messages(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are stored under exactly ``scope``."""
        ...

    def get_messages(self, scope: Scope, ids: Sequence[str]) -> builtins.list[Message]: ...

    def mark_messages(
        self,
        scope: Scope,
        ids: Sequence[str],
        status: MessageStatus,
        *,
        at: datetime,
        prompt_version: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record how the LLM write path went for messages stored under exactly ``scope``;
        each call counts one attempt per message."""
        ...

    def pending_messages(
        self,
        scope: Scope,
        *,
        include_failed: bool = False,
        exact: bool = False,
        limit: int = 1000,
    ) -> builtins.list[PendingMessage]:
        """Messages the LLM write path has not done, oldest first, each with the exact scope it
        was stored under: those never tried, and with ``include_failed`` those that failed.
        ``exact`` keeps to messages stored under exactly ``scope`` (not its sub-scopes)."""
        ...


# -- what learning keeps --------------------------------------------------------------------------
class SearchLog(Protocol):
    """Searches kept so that ``feedback`` can refer to them."""

    def save_search(
        self, scope: Scope, search_id: str, at: datetime, payload: Mapping[str, Any]
    ) -> None:
        """Keep what a search returned (ids and features) so ``feedback`` can refer to it."""
        ...

    def load_search(self, scope: Scope, search_id: str) -> dict[str, Any] | None: ...

    def prune_searches(self, before: datetime, *, limit: int | None = None) -> int:
        """Forget the searches kept from before ``before``, the oldest first, at most ``limit``
        of them (``None``: every one); how many."""
        ...


class Housekeeping(Protocol):
    """Store-wide upkeep that keeps searches cheap as the store grows (``maintain`` runs it)."""

    def tidy(self, *, budget: int) -> bool:
        """Do up to about ``budget`` units of upkeep (a SQLite store merges about that many
        pages of its keyword index toward one segment; PostgreSQL keeps its own); whether any
        was done. Nothing a search finds changes."""
        ...


class StoredSettings(Protocol):
    """Named values kept with the store: learned models, and the embedder its vectors came
    from."""

    def get_setting(self, key: str) -> str | None: ...

    def put_setting(self, key: str, value: str) -> None: ...

    def put_settings(self, values: Mapping[str, str]) -> None:
        """Set several at once: all of them or, on a failure, none."""
        ...

    def setting_names(self, prefix: str) -> builtins.list[str]:
        """The keys of the settings that begin with ``prefix``, sorted (a copy of the store
        finds each scope's settings so, those of scopes that hold nothing yet too)."""
        ...

    def embedder_info(self) -> tuple[str, int] | None: ...

    def set_embedder_info(self, name: str, dim: int) -> None: ...


# -- API keys -------------------------------------------------------------------------------------
class ApiKeys(Protocol):
    """API keys, stored as hashes: the server maps a key to its tenant."""

    def put_api_key(self, key: ApiKey) -> None: ...

    def api_keys(self, tenant: str | None = None) -> builtins.list[ApiKey]: ...

    def revoke_api_key(self, key_id: str, at: datetime) -> bool: ...

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The active (not revoked) key with this hash, if any."""
        ...


# -- links and entities ---------------------------------------------------------------------------
class Links(Protocol):
    """Links between memories (A-MEM)."""

    def add_links(self, scope: Scope, links: Sequence[Link], *, at: datetime) -> None:
        """Store links between memories (a link without a time of its own is made at ``at``);
        a link already stored, or one whose ends are not both in ``scope``, is skipped."""
        ...

    def links(self, scope: Scope, memory_id: str) -> builtins.list[Link]:
        """The links from and to a memory, to memories in ``scope``."""
        ...


@runtime_checkable
class EntityIndex(Protocol):
    """The entities memories name and the relations they state, as the read path asks for
    them. A store that keeps no entity index gives no entity signal, and search works as
    before."""

    def find_entities(
        self, scope: Scope, keys: Sequence[str] | None = None, *, limit: int = 100
    ) -> builtins.list[Entity]:
        """Entities of ``scope`` named by at least one active memory, with their mention
        counts: those whose key is in ``keys``, or the most mentioned when ``keys`` is None."""
        ...

    def relations(
        self, scope: Scope, keys: Sequence[str], *, limit: int = 200
    ) -> builtins.list[Triple]:
        """Relations whose subject or object is one of ``keys``, stated by active memories of
        ``scope`` that have not expired."""
        ...

    def entity_search(
        self, scope: Scope, weights: Mapping[str, float], filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]:
        """Memories that name the entities keyed in ``weights``, scored by the sum of the
        weights of the entities each names, best first."""
        ...


class EntityGraph(EntityIndex, Protocol):
    """The entity index and what writes it."""

    def put_graph(
        self,
        scope: Scope,
        memory_id: str,
        entities: Sequence[Entity],
        relations: Sequence[Triple],
    ) -> None:
        """Replace the entities a memory names and the relations it states. Entities are
        registered under the memory's own scope."""
        ...


# -- search indexes -------------------------------------------------------------------------------
class Keywords(Protocol):
    def keyword_search(
        self, scope: Scope, query: str, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]: ...


class Vectors(Protocol):
    def vector_search(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]: ...

    def put_vectors(self, tenant: str, vectors: Sequence[tuple[str, Vector]]) -> None:
        """Replace the vectors of memories (by id, in ``tenant``): bookkeeping for re-embedding,
        not content, so no new version and no history row."""
        ...


class Scans(Protocol):
    """A whole scope with its vectors (re-embedding walks it; searches never do), and a value
    that tells whether anything changed."""

    def scan(self, scope: Scope) -> Iterator[tuple[MemoryRecord, Vector | None]]:
        """Every memory of ``scope`` in any state, oldest first, with its vector."""
        ...

    def stamp(self) -> Hashable:
        """A value that changes whenever anyone writes memories to the store (cheap to read):
        an in-memory index built at one stamp is current while the stamp is the same."""
        ...


@dataclass(frozen=True, slots=True)
class ScopeStats:
    """A scope's figures as the write path keeps them (every memory, in any state).

    ``changes`` moves on with every change to the scope's memories (never back), by any
    process: what was read from the scope at one value is current while it holds. ``df`` is
    how many memories contain each asked-for term (``terms.terms_of``); ``tokens`` and
    ``unit_tokens`` are totals over memories and over units (each with its memory's head)."""

    memories: int = 0
    tokens: int = 0
    units: int = 0
    unit_tokens: int = 0
    sessions: int = 0
    changes: int = 0
    df: Mapping[str, int] = field(default_factory=dict)
    speakers: tuple[str, ...] = ()


#: A session: the key of its exact scope in the store, and its number there.
SessionKey = tuple[int, int]


class Columns(NamedTuple):
    """What the ranker reads of many placed memories, as columns (``Placed.columns``)."""

    briefs: Briefs
    #: Each one's vector as a row; zeros for one without (no column at all when none has one).
    vectors: Vector

    @classmethod
    def of(cls, briefs: Sequence[Brief], vectors: Sequence[Vector | None]) -> Columns:
        return cls(Briefs.of(briefs), stacked(vectors))


def stacked(vectors: Sequence[Vector | None]) -> Vector:
    """``vectors`` as the rows of one matrix: zeros for a ``None``, and no column at all when
    every one is ``None``."""
    dim = next((len(v) for v in vectors if v is not None), 0)
    matrix = np.zeros((len(vectors), dim), np.float32)
    held = [i for i, v in enumerate(vectors) if v is not None]
    if held:
        matrix[held] = [vectors[i] for i in held]
    return matrix


class RowReader(Protocol):
    """How a store reads what the ranker reads of the rows it placed memories from (``Placed``):
    one row's ``Brief`` and vector when asked, or many rows' at once."""

    def brief(self, row: Any) -> Brief: ...

    def vector(self, row: Any) -> Vector | None: ...

    def columns(self, rows: Sequence[Any]) -> Columns: ...


#: A placed memory's vector not read from its row yet.
_UNREAD: Any = object()


class Placed:
    """A memory with where it sits in its conversation: its vector, its session, and the
    previous and next memories of that session (store keys, ``None`` at either end), and its
    terms (``terms.terms_of``) as the write path stored them (``stored``: ``terms.encode``'s
    string; ``None``: not stored).

    A search reads hundreds of these and returns a few, so what the ranker reads of the record
    is a ``Brief``, and the record itself (``record``) is made only when asked for: from what is
    at hand (``make``), or read by the store with the records of the others asked for at once
    (``load``, see ``records_of``); the stored terms are decoded only when asked for too
    (``terms``). The ``Brief`` and the vector are given, or read from the store's ``row`` by
    its ``reader`` when asked for: the ranker reads those of all the candidates at once
    (``columns``), without a ``Brief`` for each.
    """

    __slots__ = (
        "_brief",
        "_load",
        "_make",
        "_reader",
        "_record",
        "_row",
        "_vector",
        "key",
        "next",
        "prev",
        "session",
        "stored",
    )  # fmt: skip

    def __init__(
        self,
        brief: Brief | None,
        key: int,
        vector: Vector | None,
        session: SessionKey | None,
        prev: int | None,
        next: int | None,
        *,
        make: Callable[[], MemoryRecord] | None = None,
        load: Loader | None = None,
        stored: str | None = None,
        row: Any = None,
        reader: RowReader | None = None,
    ) -> None:
        if (make is None) == (load is None):
            raise ValueError("a placed memory's record comes from make or from load, one of them")
        if (brief is None) == (reader is None) or (reader is not None and vector is not None):
            raise ValueError("a placed memory's brief and vector are given, or read from its row")
        self._brief, self.key, self.session = brief, key, session
        self._vector = _UNREAD if reader is not None else vector
        self.prev, self.next, self.stored = prev, next, stored
        self._make, self._load = make, load
        self._row, self._reader = row, reader
        self._record: MemoryRecord | None = None

    @classmethod
    def of(
        cls,
        record: MemoryRecord,
        key: int,
        vector: Vector | None,
        session: SessionKey | None,
        prev: int | None,
        next: int | None,
        terms: Terms | None = None,
    ) -> Placed:
        """A placed memory whose record is at hand (and its terms, when stored)."""
        stored = None if terms is None else encode(terms, record.text)
        return cls(Brief.of(record), key, vector, session, prev, next,
                   make=lambda: record, stored=stored)  # fmt: skip

    @property
    def brief(self) -> Brief:
        """What the ranker reads of its record."""
        if self._brief is None:
            assert self._reader is not None
            self._brief = self._reader.brief(self._row)
        return self._brief

    @property
    def vector(self) -> Vector | None:
        """Its embedding (``None``: it has none)."""
        if self._vector is _UNREAD:
            assert self._reader is not None
            self._vector = self._reader.vector(self._row)
        found: Vector | None = self._vector
        return found

    @staticmethod
    def columns(placed: Sequence[Placed]) -> Columns:
        """The briefs and vectors of ``placed`` as columns, in order: read from their rows at
        once when one reader has them all."""
        reader = placed[0]._reader if placed else None
        if reader is not None and all(p._reader is reader for p in placed):
            return reader.columns([p._row for p in placed])
        return Columns.of([p.brief for p in placed], [p.vector for p in placed])

    @property
    def record(self) -> MemoryRecord:
        """Its record, made on first read (by two threads at once: made twice, the same).
        Raises ``NotFoundError`` when it was to be read and no longer passes the filters it was
        found under (``records_of`` reads many at once and says so with ``None``)."""
        (record,) = records_of([self])
        if record is None:
            raise NotFoundError(f"memory {self.brief.id} changed since it was found")
        return record

    @property
    def terms(self) -> Terms | None:
        """Its terms as stored (``None``: not stored)."""
        return None if self.stored is None else decode(self.stored, self.brief.text)

    def encoded(self) -> str:
        """Its terms as ``terms.encode`` writes them: as stored, else made from its record."""
        return (
            encode(terms_of(self.record), self.brief.text) if self.stored is None else self.stored
        )

    def read_terms(self) -> Terms:
        """Its terms: as stored, else made from its record."""
        found = self.terms
        return terms_of(self.record) if found is None else found

    def __repr__(self) -> str:
        return f"Placed(key={self.key}, id={self.brief.id!r}, session={self.session})"


#: Reads the records of placed memories by store key, in one go: those that still pass the
#: filters they were found under (a key missing from the result: changed or gone since).
Loader = Callable[[Sequence[int]], Mapping[int, MemoryRecord]]


def records_of(placed: Sequence[Placed]) -> list[MemoryRecord | None]:
    """The records of ``placed``, in order, those still to be read read together, one call of
    each loader (``None``: no longer there, see ``Loader``)."""
    waiting: dict[Loader, list[Placed]] = {}
    for p in placed:
        if p._record is None and p._load is not None:
            waiting.setdefault(p._load, []).append(p)
    for load, group in waiting.items():
        found = load([p.key for p in group])
        for p in group:
            p._record = found.get(p.key)
    for p in placed:
        if p._record is None and p._make is not None:
            p._record = p._make()
    return [p._record for p in placed]


@dataclass(frozen=True, slots=True)
class SessionStats:
    """A session's size in memories and tokens, and the sum of its memories' vectors."""

    size: int
    tokens: int
    vector: Vector | None


class ScopeFigures(Protocol):
    """What the read engine reads instead of scanning a scope: statistics the write path keeps
    in the same transaction as each change, and memories with their place in the
    conversation. Each call is a few indexed queries, whatever the scope's size."""

    def scope_stats(self, scope: Scope, terms: Sequence[str]) -> ScopeStats:
        """The scope's counts, change counter and speakers, and the document frequency of
        each of ``terms`` (absent: 0)."""
        ...

    def term_counts(self, scope: Scope, terms: Sequence[str]) -> dict[str, int]:
        """``scope_stats(scope, terms).df`` alone: how many memories of the scope hold each of
        ``terms`` (absent: 0)."""
        ...

    def placed(
        self,
        scope: Scope,
        filters: Filters,
        *,
        ids: Sequence[str] = (),
        keys: Sequence[int] = (),
    ) -> builtins.list[Placed]:
        """The memories of ``scope`` that match ``filters`` with these ids or store keys."""
        ...

    def keyword_keys(
        self, scope: Scope, query: str, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[int, float]]:
        """``keyword_search``'s results as (store key, score) pairs, in its order: no record
        is read (``placed`` reads them by key)."""
        ...

    def vector_keys(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[int, float]]:
        """``vector_search``'s results as (store key, score) pairs, in its order."""
        ...

    def sessions(
        self,
        scope: Scope,
        filters: Filters,
        sessions: Sequence[SessionKey],
        *,
        members: int = 0,
        known: Collection[int] = (),
    ) -> tuple[dict[SessionKey, SessionStats], builtins.list[Placed]]:
        """The statistics of these sessions of ``scope``, and up to ``members`` memories of
        each that match ``filters`` (in order), less those whose store key is among ``known``
        (the caller holds them already; they still count towards ``members``)."""
        ...


class Searchable(RecordReads, Keywords, Vectors, ScopeFigures, Protocol):
    """What the read path uses: the store's own searches and the figures the write path keeps
    for the ranker."""


# -- whole-scope transfer -------------------------------------------------------------------------
class Transfer(Protocol):
    def exact_scopes(self, tenant: str | None = None) -> builtins.list[Scope]:
        """Every distinct (tenant, user, agent, run) that holds a memory or a message, sorted;
        only ``tenant``'s when given. ``memstrata migrate`` walks a whole store with it."""
        ...

    def export(self, scope: Scope, *, vectors: bool = False) -> Iterator[dict[str, Any]]:
        """The scope as export items (``stores.codec`` describes them): a header, the messages,
        each with its LLM write path ``status`` when it has one, then the memories, each with
        its versions, history, ``graph`` (entities named, relations stated) and the ``links``
        whose source it is. With ``vectors``, each memory item also carries its ``vector`` (a
        list of floats, or None), which ``import_`` stores as given."""
        ...

    def import_(self, tenant: str, items: Iterable[Mapping[str, Any]], *, at: datetime) -> int:
        """Write export items into ``tenant`` in one transaction; return the number of memories.
        ``at`` is when the messages were received, and the time of a link that carries none.

        A memory id already in the tenant is a ``ConflictError`` and nothing is written; a
        message already stored in its exact scope is kept as it is, and so is a status it has
        already (one it lacks is written). A memory's links are written with it even when their
        target is not in the store yet (a later import may bring it); ``links`` shows a link
        once both its ends are there. Items of format 1 (without status, graph and links)
        import as before."""
        ...


# -- the change feed ------------------------------------------------------------------------------
class ChangeFeed(Protocol):
    def changes(
        self, tenant: str, scope: Scope | None, *, after: int = 0, limit: int = 100
    ) -> builtins.list[Change]:
        """The changes of ``tenant``'s memories (those of memories ``scope`` covers, when
        given) with an id above ``after``, oldest first, at most ``limit``: written in the
        same transaction as the change itself (the history), so none is lost."""
        ...


class Store(
    ChangeFeed,
    Records,
    MessageLog,
    SearchLog,
    Housekeeping,
    StoredSettings,
    ApiKeys,
    Links,
    EntityGraph,
    Keywords,
    Vectors,
    Scans,
    ScopeFigures,
    Transfer,
    Protocol,
):
    """Where memories, their versions, their history and the raw messages live: every
    capability of this module in one object (see the module's description)."""

    @property
    def read_only(self) -> bool:
        """True when every write is refused (the store was opened read-only)."""
        ...

    def close(self) -> None: ...
