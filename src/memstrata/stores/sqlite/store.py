"""The embedded store: one SQLite file in WAL mode, FTS5 for keywords, vectors kept with records.

The queries are the shared core's (``stores.sql``); this module keeps what is SQLite's own.
Every write runs in one ``BEGIN IMMEDIATE`` transaction that also writes its history rows, so a
crash leaves either the whole change or none of it. The full-text index is the FTS5 table
``memories_fts``, kept in step with each memory's row. Vector search keeps a normalised float32
matrix per scope in memory (within a byte bound, least recently used out), brought up to date
when the scope's change counter has moved (a write to that scope, by any process): by reading
the rows added since, unless the scope's epochs say a row it holds changed (``vectors``), and
kept on disk between processes (``snapshots``).

A file that cannot be written (or its directory), or one asked for read-only, is opened
read-only: reads and searches work, writes raise ``ReadOnlyStoreError``. A query that fails on
a damaged file runs ``PRAGMA quick_check``; once it finds damage the store raises
``CorruptStoreError`` and refuses every write.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from memstrata.errors import ConflictError, ReadOnlyStoreError, StoreError
from memstrata.ports import Vector
from memstrata.stores.sql import SQLStore
from memstrata.stores.sql.core import Added, conflict
from memstrata.stores.sql.dialect import Row
from memstrata.stores.sql.where import filters_sql, scope_rows_sql, scope_sql, stored_states
from memstrata.stores.sqlite import ann, files, keywords, schema, snapshots
from memstrata.stores.sqlite.dialect import SQLiteDialect, vector_dtype
from memstrata.stores.sqlite.vectors import (
    DEFAULT_CACHE_BYTES,
    ScopeVectors,
    VectorCache,
    needs_sql,
    stale_sql,
)
from memstrata.stores.sqlite.vectors import Columns as VectorColumns
from memstrata.stores.sqlite.vectors import Row as VectorRow
from memstrata.terms import encode, terms_of
from memstrata.text import keyword_form
from memstrata.types import STATES, Filters, MemoryRecord, Scope

#: The stamp of a SQLite store: this process's writes, and SQLite's count of other connections'.
Stamp = tuple[int, int]

#: The share of a store's bound on memory kept for reads that SQLite's page caches take.
PAGES_SHARE = 1 / 8


@dataclass(frozen=True, slots=True)
class ReadMemory:
    """How a store spends its bound on memory kept for reads (``cache_bytes``): SQLite's page
    caches take ``PAGES_SHARE`` of it (the writing connection half of that, the search
    connections the other half among however many there are; only pages read take memory),
    the scopes' vector matrices the rest."""

    total: int

    @property
    def pages(self) -> int:
        return int(self.total * PAGES_SHARE)

    @property
    def vectors(self) -> int:
        return self.total - self.pages

    def writer_kib(self) -> int:
        """The writing connection's page cache, in KiB (``PRAGMA cache_size`` = minus it)."""
        return max(1, self.pages // 2 // 1024)

    def reader_kib(self, readers: int) -> int:
        """Each of ``readers`` search connections' page cache, in KiB."""
        return max(1, (self.pages - self.pages // 2) // max(readers, 1) // 1024)


class SQLiteTx:
    """Statements on the store's connection. ``hold`` wraps each statement (the store's lock,
    for reads that hold no lock of their own)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        hold: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self.conn = conn
        self._hold = hold

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._hold():
            return self.conn.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._hold():
            self.conn.executemany(sql, rows)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._hold():
            return self.conn.execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._hold():
            row: Row | None = self.conn.execute(sql, params).fetchone()
            return row

    def insert(self, sql: str, rows: Sequence[Sequence[Any]], key: str) -> list[int]:
        keys: list[int] = []
        with self._hold():
            for row in rows:
                rowid = self.conn.execute(sql, row).lastrowid
                assert rowid is not None
                keys.append(rowid)
        return keys

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        return iter(self.fetchall(sql, params))


#: Where ``_speaker_words`` keeps its word counts in ``WordCounts``: the whole index's, apart
#: from those of a search of the whole index, which are counted to a lower cap.
_WHOLE_INDEX = ("whole index",)
#: A small space's keyword matches are scored with its own figures (``keywords.scored_in_scope``)
#: when the index holds more than this many times its memories.
SHARED = 10


class SQLiteStore(SQLStore[SQLiteTx]):
    """A ``Store`` in one SQLite file (or ``":memory:"``)."""

    settings_on_search_connections = True
    #: A search among what one speaker said asks for words matching at most about this many
    #: memories in the whole index (``_speaker_words``).
    speaker_index_budget = keywords.INDEX_BUDGET

    def __init__(
        self,
        path: str | Path,
        *,
        timeout: float = 30.0,
        read_only: bool = False,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        """Open (or create) the store at ``path``; its directory must exist. ``read_only``, or
        a file or directory that is not writable, opens it read-only (it must exist then).
        ``cache_bytes`` bounds what it keeps in memory for searches: the scopes' vector matrices
        and its connections' page caches (``ReadMemory``)."""
        dialect = SQLiteDialect()
        super().__init__(dialect)
        self.path = str(path)
        self.timeout = timeout
        #: Why writes are refused, when the store is read-only.
        self._read_only_because: str | None = "as asked" if read_only else None
        #: What the integrity check found once a query failed on a damaged file.
        self._damage: str | None = None
        self._memory = ReadMemory(cache_bytes)
        if self.path != ":memory:":
            target = Path(self.path).expanduser()
            self.path = str(target)
            self._read_only_because = self._read_only_because or files.why_read_only(target)
        try:
            self._conn = files.connect(self.path, timeout=timeout, read_only=self.read_only)
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute(f"PRAGMA cache_size = -{self._memory.writer_kib()}")
            files.Checkpoints.quiet(self._conn)
            if self.read_only:
                schema.check_current(self._conn)
            else:
                schema.migrate(self._conn)
            #: How the file keeps vectors (the dialect writes and reads them so, and the
            #: vector indexes read them so too).
            self._stored = dialect.stored = vector_dtype(schema.vector_format(self._conn))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {exc}") from None
        except StoreError as exc:
            raise type(exc)(f"cannot open the SQLite store at {self.path}: {exc}") from None
        self._lock = threading.RLock()
        #: What the writes leave in the write-ahead log, copied into the file by a thread.
        self._checkpoints = files.Checkpoints(self.path, timeout=timeout)
        self._generation = 0
        #: Searches read on connections of their own (WAL readers never wait for each other or
        #: for the writer), so searches of different scopes run in parallel. A read takes an
        #: idle one and gives it back: the store holds as many as it ran reads at once, not
        #: one for every thread that ever searched. Their page caches share one bound
        #: (``ReadMemory.reader_kib``; each fitted to it when opened and when given back).
        self._idle_readers: list[sqlite3.Connection] = []
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_kib: dict[sqlite3.Connection, int] = {}
        self._readers_lock = threading.Lock()
        #: The scopes' vector matrices, least recently used first, within their share.
        self._indexes = VectorCache(self._memory.vectors)
        #: Bringing a scope's index up to date is one thread's work (per stripe of scopes).
        self._index_locks = [threading.Lock() for _ in range(64)]
        #: The scopes' indexes between processes: ``<db>.ann/`` (see ``snapshots``).
        self._snapshots = (
            None
            if self.path == ":memory:"
            else snapshots.Snapshots(Path(f"{self.path}.ann"), writable=not self.read_only)
        )
        if not self.read_only:
            with self._write() as tx:
                if not self._figures_current(tx):
                    self.rebuild_figures(tx)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    @property
    def read_only(self) -> bool:
        return self._read_only_because is not None

    # -- connections ----------------------------------------------------------------------------
    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """SQLite's exceptions as memstrata's: a broken constraint is a conflict, the rest is
        told apart by ``files.failure`` (a damaged file is remembered: writes are refused)."""
        try:
            yield
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise conflict(str(exc), str(exc)) from None
            raise ConflictError(f"the SQLite store at {self.path} refused: {exc}") from None
        except sqlite3.DatabaseError as exc:
            error, damage = files.failure(self._conn, exc, self.path, self.timeout)
            self._damage = self._damage or damage
            raise error from None

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        """The connection, held by this thread, with SQLite's exceptions translated."""
        with self._lock, self._guarded():
            yield self._conn

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """A search connection for one read, the one given back last when one is idle."""
        with self._readers_lock:
            conn = self._idle_readers.pop() if self._idle_readers else None
        if conn is None:
            conn = self._new_reader()
        try:
            yield conn
        finally:
            # More may have opened meanwhile: only while every other was in use (an idle one
            # is taken first), so each fits its smaller share as it is given back.
            self._fit_pages(conn)
            with self._readers_lock:
                self._idle_readers.append(conn)

    def _fit_pages(self, conn: sqlite3.Connection) -> None:
        """``conn``'s page cache, a search connection held by this thread, within its share."""
        kib = self._memory.reader_kib(len(self._reader_conns))
        if self._reader_kib.get(conn) != kib:
            conn.execute(f"PRAGMA cache_size = -{kib}")
            self._reader_kib[conn] = kib

    def _new_reader(self) -> sqlite3.Connection:
        """Another search connection, kept until the store closes."""
        conn = (
            files.connect(self.path, timeout=self.timeout, read_only=True)
            if self.read_only
            else files.reader(self.path, timeout=self.timeout)
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        with self._readers_lock:
            self._reader_conns.append(conn)
        self._fit_pages(conn)
        return conn

    @contextmanager
    def _read(self, *, search: bool = False, snapshot: bool = False) -> Iterator[SQLiteTx]:
        # An in-memory database is seen by the store's own connection only.
        if not search or self.path == ":memory:":
            with self._using() as conn:
                yield SQLiteTx(conn)
            return
        with self._reader() as reader, self._guarded():
            yield SQLiteTx(reader)

    @contextmanager
    def _stream(self, *, search: bool = False) -> Iterator[SQLiteTx]:
        """Each statement takes the lock on its own: a generator never holds it across a
        yield."""
        yield SQLiteTx(self._conn, hold=self._using)

    @contextmanager
    def _write(self, *, changes_memories: bool = True) -> Iterator[SQLiteTx]:
        """One ``BEGIN IMMEDIATE`` transaction."""
        with self._using() as conn:
            if self._damage is not None:
                raise files.damaged(self.path, self._damage)
            if self._read_only_because is not None:
                raise ReadOnlyStoreError(
                    f"the SQLite store at {self.path} is open read-only "
                    f"({self._read_only_because}), so it refuses writes; open it writable to "
                    "change it"
                )
            conn.execute("BEGIN IMMEDIATE")
            tx = SQLiteTx(conn)
            try:
                yield tx
                conn.execute("COMMIT")
                if self.path != ":memory:":
                    self._checkpoints.wrote()
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            finally:
                if changes_memories:
                    self._generation += 1

    def _stamp(self, tx: SQLiteTx) -> Stamp:
        row = tx.fetchone("PRAGMA data_version")
        assert row is not None
        return (self._generation, int(row[0]))

    # -- the full-text index (FTS5) -------------------------------------------------------------
    def _after_insert(self, tx: SQLiteTx, added: Sequence[Added]) -> None:
        tx.executemany(
            "INSERT INTO memories_fts (rowid, text, keys, scope) VALUES (?, ?, ?, ?)",
            [(pk, keyword_form(r.text), keyword_form(" ".join(r.keys)),
              keywords.scope_column(r.scope.tenant, r.scope.user_id, r.scope.agent_id,
                                    r.scope.run_id, r.actor)) for pk, r, _ in added],
        )  # fmt: skip

    def _after_update(self, tx: SQLiteTx, pk: int, record: MemoryRecord) -> None:
        tx.execute("DELETE FROM memories_fts WHERE rowid = ?", [pk])
        self._after_insert(tx, [(pk, record, None)])

    def _after_delete(self, tx: SQLiteTx, pks: Sequence[int]) -> None:
        clause, params = self.dialect.any_of("rowid", pks)
        tx.execute(f"DELETE FROM memories_fts WHERE {clause}", params)

    def tidy(self, *, budget: int) -> bool:
        with self._write(changes_memories=False) as tx:
            return keywords.merge(tx.conn, budget)

    def _keyword_space(self, tx: SQLiteTx, scope: Scope, filters: Filters) -> tuple[Hashable, int]:
        """The tokens of the exact scopes within ``scope`` (``keywords.scope_token``) and how
        many memories they hold; of the speaker's within them when the filters name one
        (``keywords.speaker_token``); the whole index when there are more than
        ``keywords.MAX_SCOPES`` exact scopes, or when the store holds no other exact scope (the
        tokens would then filter nothing, and FTS5 would read their postings for every match:
        in a store of one scope of 100,000 memories, half of a search of the scope's newest
        matches)."""
        where, params = scope_rows_sql(self.dialect, scope)
        if filters.actor is None:
            found = tx.fetchall(
                "SELECT m.tenant, m.user_id, m.agent_id, m.run_id, m.memories, m.id "
                f"FROM scope_stats m WHERE {where} AND m.memories > 0",
                params,
            )
        else:
            found = tx.fetchall(
                "SELECT m.tenant, m.user_id, m.agent_id, m.run_id, s.memories, m.id "
                "FROM scope_stats m JOIN scope_speakers s ON s.scope = m.id "
                f"WHERE {where} AND s.actor = ? AND s.memories > 0",
                [*params, filters.actor],
            )
        if len(found) > keywords.MAX_SCOPES:
            return super()._keyword_space(tx, scope, filters)
        size = sum(int(row[4]) for row in found)
        actor = filters.actor
        if actor is None and found and self._alone(tx, [int(row[5]) for row in found]):
            return None, size
        tokens = sorted(
            keywords.scope_token(t, u, a, r)
            if actor is None
            else keywords.speaker_token(t, u, a, r, actor)
            for t, u, a, r, *_ in found
        )
        return tuple(tokens), size

    def _alone(self, tx: SQLiteTx, ids: Sequence[int]) -> bool:
        """Whether the exact scopes ``ids`` are the store's only ones (no other ever held a
        memory): then every row of the keyword index is theirs."""
        clause, params = self.dialect.any_of("id", ids)
        other = tx.fetchone(f"SELECT 1 FROM scope_stats WHERE NOT ({clause}) LIMIT 1", params)
        return other is None

    def _speaker_words(self, tx: SQLiteTx, words: list[str]) -> list[str]:
        """``bm25()`` counts every match of each word over the whole index, so a search among
        what one speaker said, whose own matches are few, costs what the index's matches of
        its words do: past ``speaker_index_budget`` memories in the index, its words are asked
        for rarest first while their matches there stay within that budget."""
        size = self._index_size(tx)
        budget = self.speaker_index_budget
        if size <= budget:
            return words
        count = functools.partial(self._count_word, tx, None)
        return self._word_counts.choose(words, budget, size, count, space=_WHOLE_INDEX)

    def _count_word(self, tx: SQLiteTx, space: Hashable, word: str, cap: int) -> int:
        return keywords.count_matches(tx.conn, word, cap, cast("tuple[str, ...] | None", space))

    def _rank_words(
        self,
        tx: SQLiteTx,
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
        scopes = cast("tuple[str, ...] | None", space)
        # A small part of a shared index: its matches scored with their scopes' own figures.
        # (Where the space is much of the index, FTS5's figures are nearly its own, and
        # ``bm25()`` counts them faster than a search scores them.)
        if window is None and scopes is not None and self._index_size(tx) > SHARED * size:
            unstored = functools.partial(self._unstored_terms, tx)
            scored = keywords.scored_in_scope(tx.conn, words, scopes, where, params, unstored)
            if scored is not None:
                return scored[:limit]
        return keywords.rank(
            tx.conn, words, scopes, where, params, limit, window=window, narrow=narrow
        )

    def _index_size(self, tx: SQLiteTx) -> int:
        """The memories the keyword index holds, by the highest pk."""
        row = tx.fetchone("SELECT max(pk) FROM memories")
        return int(row[0] or 0) if row else 0

    def _unstored_terms(self, tx: SQLiteTx, pks: list[int]) -> dict[int, str]:
        """The terms of memories stored without them, as the write path stores them."""
        made = self._records_of(tx, pks)
        return {pk: encode(terms_of(record), record.text) for pk, record in made.items()}

    # -- vectors: a matrix per scope in memory, an HNSW graph past 20,000 rows ----------------
    def vector_search(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> list[tuple[MemoryRecord, float]]:
        with self._read(search=True) as tx:
            return self._records_by_pk(tx, self._vector_ranked(tx, scope, vector, filters, limit))

    def vector_keys(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> list[tuple[int, float]]:
        with self._read(search=True) as tx:
            return self._vector_ranked(tx, scope, vector, filters, limit)

    def _vector_ranked(
        self, tx: SQLiteTx, scope: Scope, vector: Vector, filters: Filters, limit: int
    ) -> list[tuple[int, float]]:
        """The best ``limit`` (key, cosine) pairs of a vector search, best first."""
        where, params = scope_sql(scope)
        index = self._vectors(tx, scope)
        if not index.size:
            return []
        allowed = blocked = None
        if needs_sql(filters):
            fwhere, fparams = filters_sql(self.dialect, filters)
            found = tx.fetchall(
                f"SELECT m.pk FROM memories m WHERE {where} AND {fwhere}", [*params, *fparams]
            )
            allowed = {r[0] for r in found}
        elif filters.current_at is not None:
            at = self.dialect.time(filters.current_at)
            found = tx.fetchall(stale_sql(where), [*params, at, *params, at])
            blocked = {r[0] for r in found}
        query = np.asarray(vector, dtype=np.float32)
        # The index holds stored states; an expired memory reads as archived (in SQL).
        stored = replace(filters, states=stored_states(filters))
        keep = index.mask(stored, allowed, blocked)
        return index.search(query, keep, limit)

    def _vectors(self, tx: SQLiteTx, scope: Scope) -> ScopeVectors:
        """The scope's vector index, current at the scope's change counter. A write to another
        scope, by any process, leaves it as it is; one that added rows to this scope costs
        reading those rows (``vectors``)."""
        where, params = scope_rows_sql(self.dialect, scope)
        stats = tx.fetchall(
            "SELECT m.id, m.changes, m.vector_epoch, m.column_epoch FROM scope_stats m "
            f"WHERE {where}",
            params,
        )
        changes = sum(int(r[1]) for r in stats)
        cached = self._indexes.get(scope)
        if cached is not None and cached.stamp == changes:
            return cached
        stamps = (_epochs(stats, 2), _epochs(stats, 3))
        with self._index_locks[hash(scope) % len(self._index_locks)]:
            cached = self._indexes.get(scope)
            if cached is not None and cached.stamp == changes:
                return cached
            index = self._refreshed(tx, scope, cached, changes, stamps)
            if self._snapshots is not None and snapshots.due(index):
                self._snapshots.save(ann.scope_key(scope), index)
            self._indexes.put(scope, index)
            return index

    def _refreshed(
        self,
        tx: SQLiteTx,
        scope: Scope,
        cached: ScopeVectors | None,
        changes: int,
        stamps: tuple[Hashable, Hashable],
    ) -> ScopeVectors:
        """The index brought up to ``changes``: the cached one or the saved one when their rows
        and vectors are still the scope's (the filter columns read again if they moved, the
        rows past the last pk appended), else one built from every row."""
        where, params = scope_sql(scope)
        vectors_stamp, columns_stamp = stamps
        index = cached if cached is not None and cached.vectors_stamp == vectors_stamp else None
        loaded = False
        if index is None and self._snapshots is not None:
            index = self._snapshots.load(ann.scope_key(scope), changes, vectors_stamp)
            loaded = index is not None
        select = (
            "SELECT m.pk, {}m.state, m.kind, m.layer, coalesce(m.valid_from, m.recorded_at), "
            f"m.actor FROM memories m WHERE {where} AND m.embedding IS NOT NULL "
        )
        if index is not None and index.columns_stamp != columns_stamp:
            found = tx.fetchall(select.format("") + "AND m.pk <= ? ORDER BY m.pk",
                                [*params, index.last_pk])  # fmt: skip
            if not index.recolumn(cast(list[VectorColumns], found)):
                index = None
        if index is None:
            found = tx.fetchall(select.format("m.embedding, ") + "ORDER BY m.pk", params)
            index = ScopeVectors.build(changes, cast(list[VectorRow], found), stored=self._stored)
        else:
            # Naming every state lets SQLite seek the scope's index to the pk, state by state.
            states, sparams = self.dialect.any_of("m.state", list(STATES))
            found = tx.fetchall(
                select.format("m.embedding, ") + f"AND {states} AND m.pk > ? ORDER BY m.pk",
                [*params, *sparams, index.last_pk],
            )
            # Rows that joined since the snapshot was saved wait outside its graph: linking
            # them first would make a fresh process's first search pay for every one.
            index.append(cast(list[VectorRow], found), stored=self._stored, wait=loaded)
            index.stamp = changes
        index.vectors_stamp, index.columns_stamp = stamps
        return index

    # -- size and settings (for `memstrata bench`) ---------------------------------------------
    def disk_bytes(self) -> int | None:
        """Bytes on disk: the database file, its WAL and shared memory, the saved graphs."""
        if self.path == ":memory:":
            return None
        paths = [Path(self.path), Path(f"{self.path}-wal"), Path(f"{self.path}-shm")]
        if self._snapshots is not None and self._snapshots.directory.is_dir():
            paths.extend(self._snapshots.directory.rglob("*"))
        return sum(f.stat().st_size for f in paths if f.is_file())

    def vector_index_settings(self) -> dict[str, Any]:
        from memstrata.stores.sqlite import vectors

        return {"exact_below_rows": vectors.ANN_MIN_ROWS, "oversample": vectors.ANN_OVERSAMPLE,
                "link_step": vectors.LINK_STEP, **ann.settings(),
                "saved": self._snapshots is not None}  # fmt: skip

    def close(self) -> None:
        self._checkpoints.close()
        with self._lock, self._readers_lock:
            for conn in [*self._reader_conns, self._conn]:
                with suppress(sqlite3.Error):
                    conn.close()
            self._reader_conns.clear()
            self._idle_readers.clear()
            self._reader_kib.clear()


def _epochs(stats: Sequence[Row], column: int) -> Hashable:
    """The epochs of ``column`` in the rows of the exact scopes, as (scope, epoch) pairs; scopes
    whose rows never changed (epoch 0) are left out, so a new exact scope changes nothing."""
    return tuple(sorted((int(r[0]), int(r[column])) for r in stats if r[column]))
