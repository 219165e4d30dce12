"""The base of both SQL stores: what a backend must provide, and the steps the shared queries
are made of (a memory's current row, its last change, inserting memories and history rows,
erasing memories, counts kept while nothing changes).

A backend subclasses ``SQLStore`` (``stores.sql``) and provides connections (``_read``,
``_stream``, ``_write``), the stamp that tells when memories changed (``_stamp``), keyword
ranking over its full-text index (``_count_word``, ``_rank_words``), ``vector_search``, and,
where its full-text or vector index lives outside the ``memories`` row, the ``_after_*`` hooks
that keep it in step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Generic, TypeVar

from memstrata.errors import ConflictError, NotFoundError
from memstrata.ports import Vector
from memstrata.stores.keywords import LARGE_STORE, POSTINGS_BUDGET, WordCounts
from memstrata.stores.sql import rows
from memstrata.stores.sql.dialect import Dialect, Row, Tx, chunks
from memstrata.stores.sql.rows import SELECT, Statements
from memstrata.stores.sql.where import filters_sql, scope_sql, user_sql
from memstrata.types import Filters, HistoryEvent, MemoryRecord, Scope

TxT = TypeVar("TxT", bound=Tx)

#: A memory just inserted: its key, the record, and its vector as the dialect encoded it.
Added = tuple[int, MemoryRecord, Any]
#: The tables of a memory's links and graph (keyed by tenant and memory id), erased with it.
GRAPH_TABLES = ("entity_mentions", "relations")


def conflict(name: str, detail: str) -> ConflictError:
    """The error for a unique key broken in a write: ``name`` names the key or its table."""
    if "messages" in name:
        return ConflictError(f"a message is already stored in this scope ({detail})")
    if "memories" in name:
        return ConflictError(f"a memory with this id already exists ({detail})")
    return ConflictError(f"already stored: {detail}")


class SQLBase(ABC, Generic[TxT]):
    """What every part of the shared core builds on: the backend's hooks, and shared steps."""

    #: Past ``keyword_large`` memories in the part of the index it reads (``_keyword_space``), a
    #: keyword search leaves out a query's most common words, keeping matches within
    #: ``keyword_postings`` (``stores.keywords``).
    keyword_large = LARGE_STORE
    #: Whether settings are read on the searches' connections: SQLite's are apart from the
    #: writer's, so a search never waits behind a write for one; PostgreSQL's may be a replica
    #: that lags.
    settings_on_search_connections = False
    keyword_postings = POSTINGS_BUDGET

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._sql = Statements.of(dialect)
        #: Counts by query, with the stamp they were counted at (``_cached_count``).
        self._counts: dict[tuple[str, str], tuple[Hashable, int]] = {}
        #: How many memories each query word matches, as far as counted (``stores.keywords``).
        self._word_counts = WordCounts()

    # -- what a backend provides ------------------------------------------------------------------
    @abstractmethod
    def _read(self, *, search: bool = False, snapshot: bool = False) -> AbstractContextManager[TxT]:
        """A connection for reads. ``search``: the searches' own connections (a replica, if
        there is one); ``snapshot``: every statement sees the same state."""

    @abstractmethod
    def _stream(self, *, search: bool = False) -> AbstractContextManager[TxT]:
        """Reads that a generator holds across its yields: one snapshot where the backend keeps
        one without blocking writers, otherwise each statement on its own."""

    @abstractmethod
    def _write(self, *, changes_memories: bool = True) -> AbstractContextManager[TxT]:
        """One write transaction. Writes that leave every memory as it was (a kept search, a
        setting, a key, a history note, the graph) pass ``changes_memories=False``, so the
        stamp, and the in-memory indexes built at it, stay."""

    @abstractmethod
    def _stamp(self, tx: TxT) -> Hashable:
        """A value that changes whenever memories change (``Scans.stamp``)."""

    def _keyword_space(self, tx: TxT, scope: Scope, filters: Filters) -> tuple[Hashable, int]:
        """The part of the full-text index that a keyword search of ``scope`` with ``filters``
        reads (``None``: all of it, filtered by the scope's clause), and how many memories that
        part holds (by default the whole store's, by its highest pk)."""
        row = tx.fetchone("SELECT max(pk) FROM memories")
        return None, int(row[0] or 0) if row else 0

    @abstractmethod
    def _count_word(self, tx: TxT, space: Hashable, word: str, cap: int) -> int:
        """How many memories of the index's ``space`` (``_keyword_space``) match ``word``,
        counting at most ``cap``."""

    @abstractmethod
    def _rank_words(
        self,
        tx: TxT,
        space: Hashable,
        words: Sequence[str],
        where: str,
        params: Sequence[Any],
        limit: int,
        *,
        window: int | None,
        narrow: bool = False,
        size: int = 0,
    ) -> list[tuple[int, float]]:
        """The best ``limit`` (pk, score) of an OR-query of ``words`` among the memories ``m``
        that pass ``where``; with a ``window`` (a large store), the backend may score only the
        newest ``window`` matches. ``narrow``: ``where`` keeps few of the space's matches (a
        time window), so that the index's best over the whole space are unlikely to pass it.
        ``size``: the memories of the space (``_keyword_space``)."""

    def _speaker_words(self, tx: TxT, words: list[str]) -> list[str]:
        """The words that a search among what one speaker said asks for, when the speaker's
        share of the index is small (every word, unless the backend's scoring costs grow with
        the whole index's matches of each)."""
        return words

    @abstractmethod
    def vector_search(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> list[tuple[MemoryRecord, float]]: ...

    @abstractmethod
    def vector_keys(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> list[tuple[int, float]]:
        """``vector_search``'s results as (key, score) pairs, in its order."""

    # -- what the read engine's figures need (``stores.sql.engine``) -------------------------------
    @abstractmethod
    def _figures_insert(
        self,
        tx: TxT,
        added: Sequence[tuple[int, MemoryRecord]],
        vectors: Sequence[Any] | Vector | None,
    ) -> None: ...

    @abstractmethod
    def _figures_update(
        self, tx: TxT, pk: int, new: MemoryRecord, vector: Vector | None
    ) -> None: ...

    @abstractmethod
    def _figures_changed(self, tx: TxT, pks: Sequence[int]) -> None: ...

    @abstractmethod
    def _figures_revector(self, tx: TxT, pks: Sequence[int]) -> None: ...

    @abstractmethod
    def _figures_erase(self, tx: TxT, pks: Sequence[int]) -> None: ...

    def _after_insert(self, tx: TxT, added: Sequence[Added]) -> None:
        """Memories were inserted (in ``tx``, not yet committed)."""

    def _after_update(self, tx: TxT, pk: int, record: MemoryRecord) -> None:
        """A memory's row now holds ``record``."""

    def _after_delete(self, tx: TxT, pks: Sequence[int]) -> None:
        """The rows of these memories were deleted."""

    # -- shared steps -----------------------------------------------------------------------------
    def _where(self, scope: Scope, filters: Filters) -> tuple[str, list[Any]]:
        """The scope and the filters of memories ``m``."""
        where, params = scope_sql(scope)
        fwhere, fparams = filters_sql(self.dialect, filters)
        return f"{where} AND {fwhere}", [*params, *fparams]

    def _with_ids(
        self, table: str, columns: str, scope: Scope, ids: Sequence[str], then: str = ""
    ) -> list[Row]:
        """The ``columns`` of the rows ``m`` of ``table`` in ``scope`` whose id is one of
        ``ids`` (followed by ``then``, an ``ORDER BY``)."""
        where, params = scope_sql(scope)
        chosen, cparams = self.dialect.any_of("m.id", ids)
        with self._read() as tx:
            return tx.fetchall(
                f"SELECT {columns} FROM {table} m WHERE {where} AND {chosen}{then}",
                [*params, *cparams],
            )

    def _current(
        self, tx: TxT, scope: Scope, memory_id: str, *, lock: bool = False
    ) -> tuple[int, MemoryRecord]:
        """A memory's key and current record (its row locked with ``lock``); ``NotFoundError``
        when it is not in ``scope``."""
        where, params = scope_sql(scope)
        row = tx.fetchone(
            f"SELECT m.pk, {SELECT} FROM memories m WHERE {where} AND m.id = ?"
            + (self.dialect.lock if lock else ""),
            [*params, memory_id],
        )
        if row is None:
            raise NotFoundError(f"no memory {memory_id!r} in scope {scope}")
        return int(row[0]), rows.record(self.dialect, row[1:])

    def _last_change(self, tx: TxT, record: MemoryRecord) -> datetime | None:
        """The time of the memory's latest history row."""
        user, uparams = user_sql(self.dialect, record.scope.user_id)
        row = tx.fetchone(
            f"SELECT max(at) FROM history WHERE tenant = ?{user} AND memory_id = ?",
            [record.scope.tenant, *uparams, record.id],
        )
        return None if row is None else self.dialect.time_of(row[0])

    def _insert_memories(
        self, tx: TxT, records: Sequence[MemoryRecord], vectors: Sequence[Any] | Vector | None
    ) -> None:
        """Insert new memories with their vectors (``vectors[i]`` for ``records[i]``)."""
        if not records:
            return
        d = self.dialect
        kept = [d.kept(None if vectors is None else vectors[i]) for i in range(len(records))]
        encoded = [d.vector(v) for v in kept]
        params = [
            (*rows.record_params(d, r), v, *d.index_params(r))
            for r, v in zip(records, encoded, strict=True)
        ]
        pks = tx.insert(self._sql.insert_memory, params, "pk")
        self._figures_insert(tx, list(zip(pks, records, strict=True)), kept)
        self._after_insert(tx, list(zip(pks, records, encoded, strict=True)))

    def _insert_history(self, tx: TxT, events: Sequence[tuple[Scope, HistoryEvent]]) -> None:
        """History rows of memories (each with its memory's scope)."""
        if events:
            params = [rows.history_params(self.dialect, s, e) for s, e in events]
            tx.executemany(self._sql.insert_history, params)

    def _erase(self, tx: TxT, tenant: str, erased: Sequence[tuple[int, str, str | None]]) -> None:
        """Delete the rows of memories, given as (pk, id, user_id) of one tenant, with their
        versions, history, links and graph."""
        d = self.dialect
        by_user: dict[str | None, list[tuple[int, str]]] = {}
        for pk, memory_id, user_id in erased:
            by_user.setdefault(user_id if d.by_user else None, []).append((pk, memory_id))
        for user_id, keys in by_user.items():
            user, uparams = user_sql(d, user_id)
            for chunk in chunks(keys, d.max_list):
                pks = [pk for pk, _ in chunk]
                self._figures_erase(tx, pks)
                clause, params = d.any_of("pk", pks)
                tx.execute(f"DELETE FROM memories WHERE {clause}{user}", [*params, *uparams])
                self._after_delete(tx, pks)
                clause, params = d.any_of("memory_id", [memory_id for _, memory_id in chunk])
                for table in ("memory_versions", "history"):
                    tx.execute(
                        f"DELETE FROM {table} WHERE tenant = ?{user} AND {clause}",
                        [tenant, *uparams, *params],
                    )
        for chunk in chunks([e[1] for e in erased], d.max_list):
            clause, params = d.any_of("memory_id", chunk)
            for table in GRAPH_TABLES:
                tx.execute(f"DELETE FROM {table} WHERE tenant = ? AND {clause}", [tenant, *params])
            source, sparams = d.any_of("source", chunk)
            target, tparams = d.any_of("target", chunk)
            tx.execute(
                f"DELETE FROM links WHERE tenant = ? AND ({source} OR {target})",
                [tenant, *sparams, *tparams],
            )

    def _cached_count(self, tx: TxT, sql: str, params: Sequence[Any]) -> int:
        """``sql``'s count, kept while the stamp stands still (read first, so a count is never
        older than the stamp it is kept under). Counting the 100,000 memories of a scope takes
        milliseconds, and the ranker asks at every search."""
        stamp = self._stamp(tx)
        key = (sql, repr(params))
        cached = self._counts.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        row = tx.fetchone(sql, params)
        count = int(row[0]) if row else 0
        if len(self._counts) >= 256:
            self._counts.clear()
        self._counts[key] = (stamp, count)
        return count

    def _records_by_pk(
        self, tx: TxT, ranked: Sequence[tuple[int, float]]
    ) -> list[tuple[MemoryRecord, float]]:
        """The records of ranked (pk, score) pairs, in their order (a pk gone meanwhile is
        skipped)."""
        if not ranked:
            return []
        by_pk = self._records_of(tx, [pk for pk, _ in ranked])
        return [(by_pk[pk], float(score)) for pk, score in ranked if pk in by_pk]

    def _records_of(self, tx: TxT, pks: Sequence[int]) -> dict[int, MemoryRecord]:
        """The records of the memories whose keys are ``pks``, by key (one gone is missing)."""
        if not pks:
            return {}
        clause, params = self.dialect.any_of("m.pk", list(pks))
        found = tx.fetchall(f"SELECT m.pk, {SELECT} FROM memories m WHERE {clause}", params)
        return {int(r[0]): rows.record(self.dialect, r[1:]) for r in found}
