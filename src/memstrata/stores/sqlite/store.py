"""The embedded store: one SQLite file in WAL mode, FTS5 for keywords, vectors kept with records.

Every write runs in one ``BEGIN IMMEDIATE`` transaction that also writes its history rows, so a
crash leaves either the whole change or none of it. Every query carries the scope in its WHERE
clause. Exact vector search keeps a normalised float32 matrix per scope in memory, rebuilt when
this process or another one has written since.

A file that cannot be written (or its directory), or one asked for read-only, is opened
read-only: reads and searches work, writes raise ``ReadOnlyStoreError``. A query that fails on
a damaged file runs ``PRAGMA quick_check``; once it finds damage the store raises
``CorruptStoreError`` and refuses every write.
"""

from __future__ import annotations

import builtins
import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from memstrata.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ReadOnlyStoreError,
    StoreError,
)
from memstrata.ports import (
    ApiKey,
    Entity,
    Link,
    MessageStatus,
    PendingMessage,
    Triple,
    Vector,
)
from memstrata.stores import codec, timeline
from memstrata.stores.codec import from_micros, to_micros
from memstrata.stores.keywords import LARGE_STORE, POSTINGS_BUDGET, WordCounts
from memstrata.stores.sqlite import ann, files, keywords, schema
from memstrata.stores.sqlite.keywords import match_expression, query_words
from memstrata.stores.sqlite.vectors import ScopeVectors, needs_sql
from memstrata.types import (
    Filters,
    HistoryEvent,
    MemoryRecord,
    MemoryState,
    Message,
    Operation,
    Page,
    Scope,
)

T = TypeVar("T")

_COLUMNS = (
    "id, tenant, user_id, agent_id, run_id, kind, text, sources, keys, entities, actor, subject, "
    "valid_from, valid_to, recorded_at, expired_at, version, supersedes, state, importance, "
    "strength, recall_count, last_recalled, layer, metadata"
)
_SELECT = ", ".join(f"m.{c.strip()}" for c in _COLUMNS.split(","))
_STATE_OPS: dict[str, Operation] = {"deleted": "DELETE", "active": "RESTORE", "archived": "ARCHIVE"}
#: A message's row of ``message_status`` (if any), by its exact scope and id.
_STATUS_JOIN = (
    "LEFT JOIN message_status s ON s.tenant = m.tenant "
    "AND ifnull(s.user_id, '') = ifnull(m.user_id, '') "
    "AND ifnull(s.agent_id, '') = ifnull(m.agent_id, '') "
    "AND ifnull(s.run_id, '') = ifnull(m.run_id, '') AND s.message_id = m.id"
)


def _record_row(record: MemoryRecord) -> tuple[Any, ...]:
    s = record.scope
    return (
        record.id,
        s.tenant,
        s.user_id,
        s.agent_id,
        s.run_id,
        record.kind,
        record.text,
        json.dumps(list(record.sources)),
        json.dumps(list(record.keys)),
        json.dumps(list(record.entities)),
        record.actor,
        record.subject,
        to_micros(record.valid_from),
        to_micros(record.valid_to),
        to_micros(record.recorded_at),
        to_micros(record.expired_at),
        record.version,
        record.supersedes,
        record.state,
        record.importance,
        record.strength,
        record.recall_count,
        to_micros(record.last_recalled),
        record.layer,
        codec.dumps(dict(record.metadata)),
    )


@functools.lru_cache(maxsize=4096)
def _scope(tenant: str, user_id: str | None, agent_id: str | None, run_id: str | None) -> Scope:
    """Scopes are frozen: one instance per scope serves every row read (and is checked once)."""
    return Scope(user_id=user_id, agent_id=agent_id, run_id=run_id, tenant=tenant)


def _strings(text: str) -> tuple[str, ...]:
    return () if text == "[]" else tuple(json.loads(text))


def _row_record(row: Sequence[Any]) -> MemoryRecord:
    recorded_at = from_micros(row[14])
    assert recorded_at is not None
    return MemoryRecord(
        id=row[0],
        scope=_scope(row[1], row[2], row[3], row[4]),
        kind=row[5],
        text=row[6],
        sources=_strings(row[7]),
        keys=_strings(row[8]),
        entities=_strings(row[9]),
        actor=row[10],
        subject=row[11],
        valid_from=from_micros(row[12]),
        valid_to=from_micros(row[13]),
        recorded_at=recorded_at,
        expired_at=from_micros(row[15]),
        version=row[16],
        supersedes=row[17],
        state=row[18],
        importance=row[19],
        strength=row[20],
        recall_count=row[21],
        last_recalled=from_micros(row[22]),
        layer=row[23],
        metadata={} if row[24] == "{}" else json.loads(row[24]),
    )


def _history_event(r: Sequence[Any]) -> HistoryEvent:
    at = from_micros(r[4])
    assert at is not None
    return HistoryEvent(id=r[0], memory_id=r[1], version=r[2], op=r[3], at=at, reason=r[5],
                        prompt_version=r[6], text=r[7], previous_text=r[8], state=r[9])  # fmt: skip


def _api_key(row: Sequence[Any]) -> ApiKey:
    created_at = from_micros(row[3])
    assert created_at is not None
    return ApiKey(id=row[0], tenant=row[1], key_hash=row[2], created_at=created_at, name=row[4],
                  revoked_at=from_micros(row[5]))  # fmt: skip


def scope_sql(scope: Scope, alias: str = "m") -> tuple[str, list[Any]]:
    """The WHERE fragment that confines a query to a scope (tenant plus every given id)."""
    clauses = [f"{alias}.tenant = ?"]
    params: builtins.list[Any] = [scope.tenant]
    for name, value in scope.as_dict().items():
        clauses.append(f"{alias}.{name} = ?")
        params.append(value)
    return " AND ".join(clauses), params


def filters_sql(filters: Filters, alias: str = "m") -> tuple[str, list[Any]]:
    clauses: builtins.list[str] = []
    params: builtins.list[Any] = []

    def any_of(column: str, values: Sequence[str]) -> None:
        clauses.append(f"{alias}.{column} IN ({', '.join('?' * len(values))})")
        params.extend(values)

    if filters.states:
        any_of("state", filters.states)
    if filters.kinds:
        any_of("kind", filters.kinds)
    if filters.layers:
        any_of("layer", filters.layers)
    when = f"coalesce({alias}.valid_from, {alias}.recorded_at)"
    if filters.since is not None:
        clauses.append(f"{when} >= ?")
        params.append(to_micros(filters.since))
    if filters.until is not None:
        clauses.append(f"{when} <= ?")
        params.append(to_micros(filters.until))
    if filters.actor is not None:
        clauses.append(f"{alias}.actor = ?")
        params.append(filters.actor)
    for key, value in filters.metadata.items():
        path = f"json_extract({alias}.metadata, '$.\"{key}\"')"
        if value is None:
            clauses.append(f"{path} IS NULL")
        else:
            clauses.append(f"{path} = ?")
            params.append(int(value) if isinstance(value, bool) else value)
    return (" AND ".join(clauses) or "1"), params


def vector_blob(vector: Vector) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def _version_at(versions: Sequence[MemoryRecord], at: datetime) -> MemoryRecord | None:
    """The version that was current at system time ``at`` and not yet expired, if any."""
    for version in reversed(versions):
        if version.recorded_at <= at:
            return version if version.expired_at is None or version.expired_at > at else None
    return None


def _matches(record: MemoryRecord, filters: Filters) -> bool:
    """``filters_sql`` for one record in Python (for versions, which have no columns)."""
    if filters.states and record.state not in filters.states:
        return False
    if filters.kinds and record.kind not in filters.kinds:
        return False
    if filters.layers and record.layer not in filters.layers:
        return False
    when = record.valid_from or record.recorded_at
    if filters.since is not None and when < filters.since:
        return False
    if filters.until is not None and when > filters.until:
        return False
    if filters.actor is not None and record.actor != filters.actor:
        return False
    return all(record.metadata.get(k) == v for k, v in filters.metadata.items())


class SQLiteStore:
    """A ``Store`` in one SQLite file (or ``":memory:"``)."""

    #: Past ``keyword_large`` memories, a keyword search leaves out a query's most common words
    #: and scores at most ``keyword_postings`` matches, the newest (``keywords``).
    keyword_large = LARGE_STORE
    keyword_postings = POSTINGS_BUDGET

    def __init__(self, path: str | Path, *, timeout: float = 30.0, read_only: bool = False) -> None:
        """Open (or create) the store at ``path``; its directory must exist. ``read_only``, or
        a file or directory that is not writable, opens it read-only (it must exist then)."""
        self.path = str(path)
        self.timeout = timeout
        #: Why writes are refused, when the store is read-only.
        self._read_only_because: str | None = "as asked" if read_only else None
        #: What the integrity check found once a query failed on a damaged file.
        self._damage: str | None = None
        if self.path != ":memory:":
            target = Path(self.path).expanduser()
            self.path = str(target)
            self._read_only_because = self._read_only_because or files.why_read_only(target)
        try:
            self._conn = files.connect(self.path, timeout=timeout, read_only=self.read_only)
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            # 64 MiB of page cache (the default is 2 MiB): a large store's searches read the
            # same FTS5 and B-tree pages again and again. Only pages actually read take memory.
            self._conn.execute("PRAGMA cache_size = -65536")
            if self.read_only:
                schema.check_current(self._conn)
            else:
                schema.migrate(self._conn)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {exc}") from None
        except StoreError as exc:
            raise type(exc)(f"cannot open the SQLite store at {self.path}: {exc}") from None
        self._lock = threading.RLock()
        self._generation = 0
        self._indexes: dict[Scope, ScopeVectors] = {}
        #: The scopes' HNSW graphs between processes: ``<db>.ann/`` (see ``ann``).
        self._ann_files = (
            None
            if self.path == ":memory:"
            else ann.AnnFiles(Path(f"{self.path}.ann"), writable=not self.read_only)
        )
        #: Counts by query, with the stamp they were counted at (``count``).
        self._counts: dict[tuple[str, tuple[Any, ...]], tuple[tuple[int, int], int]] = {}
        #: How many memories each query word matches, as far as counted (``keywords``).
        self._word_counts = WordCounts()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    @property
    def read_only(self) -> bool:
        return self._read_only_because is not None

    # -- plumbing -------------------------------------------------------------------------------
    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """SQLite's exceptions as memstrata's: a broken constraint is a conflict, the rest is
        told apart by ``files.failure`` (a damaged file is remembered: writes are refused)."""
        try:
            yield
        except sqlite3.IntegrityError as exc:
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
    def _write(self, *, changes_memories: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction. Writes that leave every memory as it was (a kept search, a
        setting, a key) pass ``changes_memories=False`` so in-memory indexes stay current."""
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
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            finally:
                if changes_memories:
                    self._generation += 1

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._using() as conn:
            return fn(conn)

    @staticmethod
    def _last_change(conn: sqlite3.Connection, record: MemoryRecord) -> datetime | None:
        """The time of the memory's latest history row."""
        row = conn.execute(
            "SELECT max(at) FROM history WHERE tenant = ? AND memory_id = ?",
            (record.scope.tenant, record.id),
        ).fetchone()
        return from_micros(row[0])

    def _history(
        self,
        conn: sqlite3.Connection,
        tenant: str,
        memory_id: str,
        version: int,
        op: Operation,
        *,
        at: datetime,
        reason: str | None = None,
        prompt_version: str | None = None,
        text: str | None = None,
        previous_text: str | None = None,
        state: str | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO history (tenant, memory_id, version, op, at, reason, prompt_version, "
            "text, previous_text, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tenant,
                memory_id,
                version,
                op,
                to_micros(at),
                reason,
                prompt_version,
                text,
                previous_text,
                state,
            ),
        )

    def _fts_put(
        self, conn: sqlite3.Connection, pk: int, record: MemoryRecord, *, new: bool = False
    ) -> None:
        if not new:  # a new pk has no row yet (``_erase`` removes a purged memory's row)
            conn.execute("DELETE FROM memories_fts WHERE rowid = ?", (pk,))
        conn.execute(
            "INSERT INTO memories_fts (rowid, text, keys) VALUES (?, ?, ?)",
            (pk, record.text, " ".join(record.keys)),
        )

    def _current(self, conn: sqlite3.Connection, scope: Scope, memory_id: str) -> tuple[int, Any]:
        where, params = scope_sql(scope)
        row = conn.execute(
            f"SELECT m.pk, {_SELECT} FROM memories m WHERE {where} AND m.id = ?",
            [*params, memory_id],
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no memory {memory_id!r} in scope {scope}")
        return row[0], row[1:]

    def _insert_record(
        self, conn: sqlite3.Connection, record: MemoryRecord, blob: bytes | None
    ) -> int:
        try:
            cursor = conn.execute(
                f"INSERT INTO memories ({_COLUMNS}, embedding) VALUES ({', '.join('?' * 26)})",
                (*_record_row(record), blob),
            )
        except sqlite3.IntegrityError:
            raise ConflictError(f"a memory with id {record.id!r} already exists") from None
        pk = cursor.lastrowid
        assert pk is not None
        self._fts_put(conn, pk, record, new=True)
        return pk

    # -- messages -------------------------------------------------------------------------------
    def known_messages(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` were already stored under exactly this scope."""
        if not ids:
            return set()

        def run(conn: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                rows = conn.execute(
                    "SELECT id FROM messages WHERE tenant = ? AND ifnull(user_id, '') = ? "
                    "AND ifnull(agent_id, '') = ? AND ifnull(run_id, '') = ? "
                    f"AND id IN ({', '.join('?' * len(chunk))})",
                    [
                        scope.tenant,
                        scope.user_id or "",
                        scope.agent_id or "",
                        scope.run_id or "",
                        *chunk,
                    ],
                )
                found.update(r[0] for r in rows)
            return found

        return self._read(run)

    def get_messages(self, scope: Scope, ids: Sequence[str]) -> builtins.list[Message]:
        if not ids:
            return []
        where, params = scope_sql(scope)

        def run(conn: sqlite3.Connection) -> builtins.list[Message]:
            rows = conn.execute(
                f"SELECT id, role, speaker, text, ts, metadata FROM messages m WHERE {where} "
                f"AND m.id IN ({', '.join('?' * len(ids))}) ORDER BY m.pk",
                [*params, *ids],
            ).fetchall()
            return [
                Message(
                    id=r[0],
                    role=r[1],
                    speaker=r[2],
                    text=r[3],
                    timestamp=from_micros(r[4]),
                    metadata=json.loads(r[5]),
                )
                for r in rows
            ]

        return self._read(run)

    # -- writes ---------------------------------------------------------------------------------
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
        if vectors is not None and len(vectors) != len(records):
            raise InvalidInputError("one vector is needed for each record")
        for record in records:
            timeline.check_new(record)
        added: builtins.list[tuple[int, MemoryRecord, bytes]] = []
        with self._using() as held:
            with self._write() as conn:
                before = self._stamp(conn)
                for scope, message in messages:
                    try:
                        conn.execute(
                            "INSERT INTO messages (tenant, user_id, agent_id, run_id, id, role, "
                            "speaker, text, ts, metadata, recorded_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (
                                scope.tenant,
                                scope.user_id,
                                scope.agent_id,
                                scope.run_id,
                                message.id,
                                message.role,
                                message.speaker,
                                message.text,
                                to_micros(message.timestamp),
                                codec.dumps(dict(message.metadata)),
                                to_micros(at),
                            ),
                        )
                    except sqlite3.IntegrityError:
                        raise ConflictError(
                            f"message {message.id!r} is already stored in scope {scope}"
                        ) from None
                for i, record in enumerate(records):
                    blob = None if vectors is None else vector_blob(vectors[i])
                    pk = self._insert_record(conn, record, blob)
                    if blob is not None:
                        added.append((pk, record, blob))
                conn.executemany(
                    "INSERT INTO history (tenant, memory_id, version, op, at, reason, "
                    "prompt_version, text, previous_text, state) "
                    "VALUES (?, ?, ?, 'ADD', ?, ?, ?, ?, NULL, ?)",
                    [
                        (r.scope.tenant, r.id, r.version, to_micros(r.recorded_at), reason,
                         prompt_version, r.text, r.state)
                        for r in records
                    ],
                )  # fmt: skip
            if added:
                self._extend_indexes(held, before, added)

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
        with self._write() as conn:
            pk, row = self._current(conn, scope, record.id)
            old = _row_record(row)
            if old.version != expected_version:
                raise ConflictError(
                    f"memory {record.id!r} is at version {old.version}, not {expected_version}; "
                    "read it again and retry"
                )
            when = timeline.change_time(at, old.recorded_at, self._last_change(conn, old))
            snapshot, new = timeline.next_version(old, record, when)
            conn.execute(
                "INSERT INTO memory_versions (tenant, memory_id, version, record) "
                "VALUES (?, ?, ?, ?)",
                (old.scope.tenant, old.id, old.version, codec.record_json(snapshot)),
            )
            conn.execute(
                f"UPDATE memories SET ({_COLUMNS}) = ({', '.join('?' * 25)}) WHERE pk = ?",
                (*_record_row(new), pk),
            )
            if vector is not None:
                conn.execute(
                    "UPDATE memories SET embedding = ? WHERE pk = ?", (vector_blob(vector), pk)
                )
            self._fts_put(conn, pk, new)
            self._history(
                conn,
                old.scope.tenant,
                old.id,
                new.version,
                op,
                at=when,
                reason=reason,
                prompt_version=prompt_version,
                text=new.text,
                previous_text=old.text,
                state=new.state,
            )
        return new

    def set_state(
        self,
        scope: Scope,
        memory_id: str,
        state: MemoryState,
        *,
        at: datetime,
        reason: str | None = None,
    ) -> MemoryRecord:
        with self._write() as conn:
            pk, row = self._current(conn, scope, memory_id)
            old = _row_record(row)
            if old.state == state:
                return old
            when = timeline.change_time(at, old.recorded_at, self._last_change(conn, old))
            conn.execute("UPDATE memories SET state = ? WHERE pk = ?", (state, pk))
            self._history(
                conn,
                old.scope.tenant,
                old.id,
                old.version,
                _STATE_OPS[state],
                at=when,
                reason=reason,
                state=state,
            )
        return replace(old, state=state)

    def purge(self, scope: Scope, memory_id: str) -> None:
        """Remove a memory with its versions and history; nothing of it is left."""
        with self._write() as conn:
            pk, _ = self._current(conn, scope, memory_id)
            self._erase(conn, scope.tenant, pk, memory_id)

    def _erase(self, conn: sqlite3.Connection, tenant: str, pk: int, memory_id: str) -> None:
        conn.execute("DELETE FROM memories WHERE pk = ?", (pk,))
        conn.execute("DELETE FROM memories_fts WHERE rowid = ?", (pk,))
        for table in ("memory_versions", "history", "entity_mentions", "relations"):
            conn.execute(
                f"DELETE FROM {table} WHERE tenant = ? AND memory_id = ?", (tenant, memory_id)
            )
        conn.execute(
            "DELETE FROM links WHERE tenant = ? AND (source = ? OR target = ?)",
            (tenant, memory_id, memory_id),
        )

    def reset(self, scope: Scope) -> int:
        where, params = scope_sql(scope)
        with self._write() as conn:
            rows = conn.execute(f"SELECT pk, id FROM memories m WHERE {where}", params).fetchall()
            for pk, memory_id in rows:
                self._erase(conn, scope.tenant, pk, memory_id)
            conn.execute(f"DELETE FROM messages AS m WHERE {where}", params)
            for table in ("message_status", "entities"):
                conn.execute(f"DELETE FROM {table} AS m WHERE {where}", params)
        return len(rows)

    def touch(self, scope: Scope, ids: Sequence[str], at: datetime) -> None:
        if not ids:
            return
        where, params = scope_sql(scope)
        with self._write() as conn:
            conn.execute(
                f"UPDATE memories AS m SET recall_count = recall_count + 1, last_recalled = ? "
                f"WHERE {where} AND m.id IN ({', '.join('?' * len(ids))})",
                [to_micros(at), *params, *ids],
            )

    def set_lifecycle(self, scope: Scope, records: Sequence[MemoryRecord]) -> None:
        where, params = scope_sql(scope)
        with self._write() as conn:
            for r in records:
                conn.execute(
                    "UPDATE memories AS m SET strength = ?, recall_count = ?, last_recalled = ?, "
                    f"layer = ? WHERE {where} AND m.id = ?",
                    [r.strength, r.recall_count, to_micros(r.last_recalled), r.layer, *params,
                     r.id],
                )  # fmt: skip

    # -- reads ----------------------------------------------------------------------------------
    def get(self, scope: Scope, memory_id: str) -> MemoryRecord:
        return self._read(lambda conn: _row_record(self._current(conn, scope, memory_id)[1]))

    def get_many(self, scope: Scope, ids: Sequence[str]) -> builtins.list[MemoryRecord]:
        if not ids:
            return []
        where, params = scope_sql(scope)

        def run(conn: sqlite3.Connection) -> builtins.list[MemoryRecord]:
            rows = conn.execute(
                f"SELECT {_SELECT} FROM memories m WHERE {where} "
                f"AND m.id IN ({', '.join('?' * len(ids))})",
                [*params, *ids],
            ).fetchall()
            by_id = {r[0]: _row_record(r) for r in rows}
            return [by_id[i] for i in ids if i in by_id]

        return self._read(run)

    def versions(self, scope: Scope, memory_id: str) -> builtins.list[MemoryRecord]:
        def run(conn: sqlite3.Connection) -> builtins.list[MemoryRecord]:
            current = _row_record(self._current(conn, scope, memory_id)[1])
            rows = conn.execute(
                "SELECT record FROM memory_versions WHERE tenant = ? AND memory_id = ? "
                "ORDER BY version",
                (scope.tenant, memory_id),
            ).fetchall()
            return [*(codec.record_from_json(r[0], scope.tenant) for r in rows), current]

        return self._read(run)

    def history(self, scope: Scope, memory_id: str) -> builtins.list[HistoryEvent]:
        def run(conn: sqlite3.Connection) -> builtins.list[HistoryEvent]:
            self._current(conn, scope, memory_id)
            rows = conn.execute(
                "SELECT id, memory_id, version, op, at, reason, prompt_version, text, "
                "previous_text, state FROM history WHERE tenant = ? AND memory_id = ? "
                "ORDER BY id",
                (scope.tenant, memory_id),
            ).fetchall()
            return [_history_event(r) for r in rows]

        return self._read(run)

    def list(
        self, scope: Scope, filters: Filters, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        if limit < 1:
            raise InvalidInputError("limit must be at least 1")
        where, params = scope_sql(scope)
        fwhere, fparams = filters_sql(filters)
        after = ""
        if cursor:
            try:
                after_pk = int(cursor)
            except ValueError:
                raise InvalidInputError(f"cursor {cursor!r} is not valid") from None
            after = " AND m.pk < ?"
            fparams = [*fparams, after_pk]

        def run(conn: sqlite3.Connection) -> Page:
            rows = conn.execute(
                f"SELECT m.pk, {_SELECT} FROM memories m WHERE {where} AND {fwhere}{after} "
                "ORDER BY m.pk DESC LIMIT ?",
                [*params, *fparams, limit + 1],
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            records = tuple(_row_record(r[1:]) for r in rows)
            return Page(records=records, next_cursor=str(rows[-1][0]) if more else None)

        return self._read(run)

    def count(self, scope: Scope, filters: Filters) -> int:
        where, params = scope_sql(scope)
        fwhere, fparams = filters_sql(filters)
        sql = f"SELECT count(*) FROM memories m WHERE {where} AND {fwhere}"
        key = (sql, tuple(params + fparams))

        def run(conn: sqlite3.Connection) -> int:
            # Counting 100,000 rows of an index takes milliseconds, and the ranker asks at every
            # search: the answer is kept while no memory has changed (the same stamp).
            stamp = self._stamp(conn)
            cached = self._counts.get(key)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            count = int(conn.execute(sql, [*params, *fparams]).fetchone()[0])
            if len(self._counts) >= 256:
                self._counts.clear()
            self._counts[key] = (stamp, count)
            return count

        return self._read(run)

    def keyword_search(
        self, scope: Scope, query: str, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]:
        words = query_words(query)
        if not words:
            return []
        where, params = scope_sql(scope)
        fwhere, fparams = filters_sql(filters)

        def run(conn: sqlite3.Connection) -> builtins.list[tuple[MemoryRecord, float]]:
            budget = self.keyword_postings
            top = conn.execute("SELECT max(pk) FROM memories").fetchone()[0] or 0
            large = top > self.keyword_large
            asked = words
            if large:
                count = functools.partial(keywords.count_matches, conn)
                asked = self._word_counts.choose(words, budget, top, count)
            ranked = keywords.rank(
                conn, match_expression(asked), f"{where} AND {fwhere}", [*params, *fparams],
                limit, window=budget if large else None,
            )  # fmt: skip
            if not ranked:
                return []
            rows = conn.execute(
                f"SELECT m.pk, {_SELECT} FROM memories m "
                f"WHERE m.pk IN ({', '.join('?' * len(ranked))})",
                [pk for pk, _ in ranked],
            ).fetchall()
            by_pk = {r[0]: _row_record(r[1:]) for r in rows}
            return [(by_pk[pk], float(score)) for pk, score in ranked if pk in by_pk]

        return self._read(run)

    def vector_search(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]:
        where, params = scope_sql(scope)

        def run(conn: sqlite3.Connection) -> builtins.list[tuple[MemoryRecord, float]]:
            index = self._vectors(conn, scope, where, params)
            if not index.size:
                return []
            allowed = None
            if needs_sql(filters):
                fwhere, fparams = filters_sql(filters)
                allowed = {
                    r[0]
                    for r in conn.execute(
                        f"SELECT m.pk FROM memories m WHERE {where} AND {fwhere}",
                        [*params, *fparams],
                    )
                }
            query = np.asarray(vector, dtype=np.float32)
            found = index.search(query, index.mask(filters, allowed), limit)
            if not found:
                return []
            rows = conn.execute(
                f"SELECT m.pk, {_SELECT} FROM memories m "
                f"WHERE m.pk IN ({', '.join('?' * len(found))})",
                [pk for pk, _ in found],
            ).fetchall()
            by_pk = {r[0]: _row_record(r[1:]) for r in rows}
            return [(by_pk[pk], score) for pk, score in found if pk in by_pk]

        return self._read(run)

    def _stamp(self, conn: sqlite3.Connection) -> tuple[int, int]:
        return (self._generation, conn.execute("PRAGMA data_version").fetchone()[0])

    def _vectors(
        self, conn: sqlite3.Connection, scope: Scope, where: str, params: builtins.list[Any]
    ) -> ScopeVectors:
        key = scope
        stamp = self._stamp(conn)
        cached = self._indexes.get(key)
        if cached is not None and cached.stamp == stamp:
            return cached
        rows = conn.execute(
            f"SELECT m.pk, m.embedding, m.state, m.kind, m.layer, "
            f"coalesce(m.valid_from, m.recorded_at) FROM memories m WHERE {where} "
            "AND m.embedding IS NOT NULL ORDER BY m.pk",
            params,
        ).fetchall()
        index = ScopeVectors.build(stamp, rows, self._ann_files, ann.scope_key(scope))
        self._indexes[key] = index
        return index

    def _extend_indexes(
        self,
        conn: sqlite3.Connection,
        before: tuple[int, int],
        added: builtins.list[tuple[int, MemoryRecord, bytes]],
    ) -> None:
        """After this process added memories, append them to the indexes that were current."""
        after = self._stamp(conn)
        for key, index in builtins.list(self._indexes.items()):
            if index.stamp != before:
                del self._indexes[key]
                continue
            index.append(
                [
                    (pk, blob, r.state, r.kind, r.layer, to_micros(r.valid_from or r.recorded_at))
                    for pk, r, blob in added
                    if key.covers(r.scope)
                ]
            )
            index.stamp = after

    def scan(self, scope: Scope) -> Iterator[tuple[MemoryRecord, Vector | None]]:
        where, params = scope_sql(scope)
        with self._using() as conn:
            rows = conn.execute(
                f"SELECT m.embedding, {_SELECT} FROM memories m WHERE {where} ORDER BY m.pk",
                params,
            ).fetchall()
        for row in rows:
            vector = None if row[0] is None else np.frombuffer(row[0], dtype=np.float32)
            yield _row_record(row[1:]), vector

    def stamp(self) -> Hashable:
        with self._using() as conn:
            return self._stamp(conn)

    def scopes(self, tenant: str) -> builtins.list[dict[str, Any]]:
        def run(conn: sqlite3.Connection) -> builtins.list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT user_id, agent_id, run_id, count(*), "
                "sum(state = 'active'), max(recorded_at) FROM memories WHERE tenant = ? "
                "GROUP BY user_id, agent_id, run_id ORDER BY user_id, agent_id, run_id",
                (tenant,),
            ).fetchall()
            return [
                {
                    "user_id": r[0],
                    "agent_id": r[1],
                    "run_id": r[2],
                    "memories": r[3],
                    "active": r[4],
                    "last_recorded": from_micros(r[5]),
                }
                for r in rows
            ]

        return self._read(run)

    def exact_scopes(self, tenant: str | None = None) -> builtins.list[Scope]:
        where = "" if tenant is None else " WHERE tenant = ?"
        params = [] if tenant is None else [tenant, tenant]
        sql = (
            f"SELECT tenant, user_id, agent_id, run_id FROM memories{where} UNION "
            f"SELECT tenant, user_id, agent_id, run_id FROM messages{where} ORDER BY 1, 2, 3, 4"
        )
        rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
        return [Scope(tenant=r[0], user_id=r[1], agent_id=r[2], run_id=r[3]) for r in rows]

    # -- export / import ------------------------------------------------------------------------
    def export(self, scope: Scope, *, vectors: bool = False) -> Iterator[dict[str, Any]]:
        where, params = scope_sql(scope)
        with self._using() as conn:
            messages = conn.execute(
                "SELECT m.id, m.user_id, m.agent_id, m.run_id, m.role, m.speaker, m.text, m.ts, "
                "m.metadata, s.status, s.attempts, s.prompt_version, s.error, s.at "
                f"FROM messages m {_STATUS_JOIN} WHERE {where} ORDER BY m.pk",
                params,
            ).fetchall()
            ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT m.id FROM memories m WHERE {where} ORDER BY m.pk", params
                )
            ]
        yield {"type": "header", "format": codec.EXPORT_FORMAT, "scope": scope.as_dict()}
        for r in messages:
            message: dict[str, Any] = {
                "type": "message",
                "message": {
                    "id": r[0],
                    "user_id": r[1],
                    "agent_id": r[2],
                    "run_id": r[3],
                    "role": r[4],
                    "speaker": r[5],
                    "text": r[6],
                    "timestamp": codec.iso(from_micros(r[7])),
                    "metadata": json.loads(r[8]),
                },
            }
            if r[9] is not None:
                at = from_micros(r[13])
                assert at is not None
                message["status"] = codec.StatusRow(r[9], r[10], at, r[11], r[12]).to_dict()
            yield message
        for memory_id in ids:
            try:
                versions = self.versions(scope, memory_id)
                history = self.history(scope, memory_id)
            except NotFoundError:
                continue  # purged while exporting
            item: dict[str, Any] = {
                "type": "memory",
                "record": versions[-1].to_dict(),
                "versions": [v.to_dict() for v in versions[:-1]],
                "history": [h.to_dict() for h in history],
            }
            with self._using() as conn:
                self._export_graph(conn, item, versions[-1])
            if vectors:
                item["vector"] = self._vector_list(scope.tenant, memory_id)
            yield item

    @staticmethod
    def _export_graph(conn: sqlite3.Connection, item: dict[str, Any], record: MemoryRecord) -> None:
        """Add the memory's links (as their source, whether or not the other end is here yet)
        and its graph (each entity under the name its scope knows it by) to its export item."""
        s = record.scope
        links = conn.execute(
            "SELECT source, target, kind, score, at FROM links WHERE tenant = ? AND source = ?",
            (s.tenant, record.id),
        ).fetchall()
        entities = conn.execute(
            "SELECT em.key, ifnull(e.name, em.key) FROM entity_mentions em LEFT JOIN entities e "
            "ON e.tenant = em.tenant AND e.key = em.key AND ifnull(e.user_id, '') = ? "
            "AND ifnull(e.agent_id, '') = ? AND ifnull(e.run_id, '') = ? "
            "WHERE em.tenant = ? AND em.memory_id = ?",
            (s.user_id or "", s.agent_id or "", s.run_id or "", s.tenant, record.id),
        ).fetchall()
        relations = conn.execute(
            "SELECT subject_key, subject, predicate, object_key, object, memory_id "
            "FROM relations WHERE tenant = ? AND memory_id = ?",
            (s.tenant, record.id),
        ).fetchall()
        codec.add_graph(
            item,
            [Link(r[0], r[1], r[2], r[3], from_micros(r[4])) for r in links],
            [Entity(key=r[0], name=r[1]) for r in entities],
            [Triple(*r) for r in relations],
        )

    def _vector_list(self, tenant: str, memory_id: str) -> builtins.list[float] | None:
        row = self._read(
            lambda conn: conn.execute(
                "SELECT embedding FROM memories WHERE tenant = ? AND id = ?", (tenant, memory_id)
            ).fetchone()
        )
        if row is None or row[0] is None:
            return None
        return [float(x) for x in np.frombuffer(row[0], dtype=np.float32)]

    def import_(self, tenant: str, items: Iterable[Mapping[str, Any]], *, at: datetime) -> int:
        """Write exported items in one transaction; existing ids are a conflict (nothing kept).

        A memory's links are written with it even when their target is not here yet (a later
        import, such as the next batch of ``migrate``, may bring it): ``links`` shows a link once
        both its ends are in the store, as always."""
        count = 0
        with self._write() as conn:
            for item in items:
                if item["type"] == "message":
                    scope, message = codec.message_from_dict(item["message"], tenant)
                    conn.execute(
                        "INSERT OR IGNORE INTO messages (tenant, user_id, agent_id, run_id, id, "
                        "role, speaker, text, ts, metadata, recorded_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            tenant,
                            scope.user_id,
                            scope.agent_id,
                            scope.run_id,
                            message.id,
                            message.role,
                            message.speaker,
                            message.text,
                            to_micros(message.timestamp),
                            codec.dumps(dict(message.metadata)),
                            to_micros(at),
                        ),
                    )
                    status = codec.status_from_item(item)
                    if status is not None:  # a status already there is kept, as the message is
                        conn.execute(
                            "INSERT OR IGNORE INTO message_status (tenant, user_id, agent_id, "
                            "run_id, message_id, status, attempts, prompt_version, error, at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (tenant, scope.user_id, scope.agent_id, scope.run_id, message.id,
                             status.status, status.attempts, status.prompt_version, status.error,
                             to_micros(status.at)),
                        )  # fmt: skip
                elif item["type"] == "memory":
                    record = MemoryRecord.from_dict(item["record"], tenant=tenant)
                    vector = item.get("vector")
                    blob = None if vector is None else vector_blob(vector)
                    self._insert_record(conn, record, blob)
                    for old in item.get("versions") or ():
                        snapshot = MemoryRecord.from_dict(old, tenant=tenant)
                        conn.execute(
                            "INSERT INTO memory_versions (tenant, memory_id, version, record) "
                            "VALUES (?, ?, ?, ?)",
                            (tenant, record.id, snapshot.version, codec.record_json(snapshot)),
                        )
                    for row in item.get("history") or ():
                        event = codec.history_from_dict(row)
                        self._history(
                            conn,
                            tenant,
                            record.id,
                            event.version,
                            event.op,
                            at=event.at,
                            reason=event.reason,
                            prompt_version=event.prompt_version,
                            text=event.text,
                            previous_text=event.previous_text,
                            state=event.state,
                        )
                    self._insert_graph(conn, record.scope, record.id, *codec.graph_from_item(item))
                    self._insert_links(conn, tenant, codec.links_from_item(item), at)
                    count += 1
        return count

    # -- searches and settings -----------------------------------------------------------------
    def save_search(
        self, scope: Scope, search_id: str, at: datetime, payload: Mapping[str, Any]
    ) -> None:
        with self._write(changes_memories=False) as conn:
            conn.execute(
                "INSERT INTO searches (tenant, id, user_id, agent_id, run_id, at, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (scope.tenant, search_id, scope.user_id, scope.agent_id, scope.run_id,
                 to_micros(at), codec.dumps(dict(payload))),
            )  # fmt: skip

    def load_search(self, scope: Scope, search_id: str) -> dict[str, Any] | None:
        where, params = scope_sql(scope, "s")
        row = self._read(
            lambda conn: conn.execute(
                f"SELECT payload FROM searches s WHERE {where} AND s.id = ?", [*params, search_id]
            ).fetchone()
        )
        return None if row is None else dict(json.loads(row[0]))

    def prune_searches(self, before: datetime) -> int:
        with self._write(changes_memories=False) as conn:
            return conn.execute("DELETE FROM searches WHERE at < ?", (to_micros(before),)).rowcount

    def get_setting(self, key: str) -> str | None:
        row = self._read(
            lambda conn: conn.execute(
                "SELECT value FROM meta WHERE key = ?", (f"setting:{key}",)
            ).fetchone()
        )
        return None if row is None else str(row[0])

    def put_setting(self, key: str, value: str) -> None:
        with self._write(changes_memories=False) as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (f"setting:{key}", value),
            )

    # -- API keys -------------------------------------------------------------------------------
    def put_api_key(self, key: ApiKey) -> None:
        with self._write(changes_memories=False) as conn:
            conn.execute(
                "INSERT INTO api_keys (id, tenant, name, key_hash, created_at, revoked_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key.id, key.tenant, key.name, key.key_hash, to_micros(key.created_at),
                 to_micros(key.revoked_at)),
            )  # fmt: skip

    def api_keys(self, tenant: str | None = None) -> builtins.list[ApiKey]:
        sql = "SELECT id, tenant, key_hash, created_at, name, revoked_at FROM api_keys"
        params: builtins.list[Any] = []
        if tenant is not None:
            sql += " WHERE tenant = ?"
            params.append(tenant)
        rows = self._read(
            lambda conn: conn.execute(sql + " ORDER BY created_at", params).fetchall()
        )
        return [_api_key(r) for r in rows]

    def revoke_api_key(self, key_id: str, at: datetime) -> bool:
        with self._write(changes_memories=False) as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (to_micros(at), key_id),
            )
            return cursor.rowcount > 0

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        row = self._read(
            lambda conn: conn.execute(
                "SELECT id, tenant, key_hash, created_at, name, revoked_at FROM api_keys "
                "WHERE key_hash = ? AND revoked_at IS NULL",
                (key_hash,),
            ).fetchone()
        )
        return _api_key(row) if row else None

    # -- the LLM write path: history-only events, message status, links, entity graph ----------
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
        with self._write(changes_memories=False) as conn:
            _, row = self._current(conn, scope, memory_id)
            record = _row_record(row)
            at = timeline.change_time(at, record.recorded_at, self._last_change(conn, record))
            self._history(
                conn, record.scope.tenant, record.id, record.version, op, at=at, reason=reason,
                prompt_version=prompt_version, text=text, state=record.state,
            )  # fmt: skip
            event_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        return HistoryEvent(
            memory_id=record.id, version=record.version, op=op, at=at, reason=reason,
            prompt_version=prompt_version, text=text, state=record.state, id=event_id,
        )  # fmt: skip

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
        if status not in ("done", "failed"):
            raise InvalidInputError(f"unknown message status {status!r}")
        with self._write(changes_memories=False) as conn:
            for message_id in dict.fromkeys(ids):
                conn.execute(
                    "INSERT INTO message_status (tenant, user_id, agent_id, run_id, message_id, "
                    "status, attempts, prompt_version, error, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?) "
                    "ON CONFLICT (tenant, ifnull(user_id, ''), ifnull(agent_id, ''), "
                    "ifnull(run_id, ''), message_id) DO UPDATE SET status = excluded.status, "
                    "attempts = attempts + 1, prompt_version = excluded.prompt_version, "
                    "error = excluded.error, at = excluded.at",
                    (scope.tenant, scope.user_id, scope.agent_id, scope.run_id, message_id,
                     status, prompt_version, error, to_micros(at)),
                )  # fmt: skip

    def pending_messages(
        self,
        scope: Scope,
        *,
        include_failed: bool = False,
        exact: bool = False,
        limit: int = 1000,
    ) -> builtins.list[PendingMessage]:
        if exact:
            where = (
                "m.tenant = ? AND ifnull(m.user_id, '') = ? AND ifnull(m.agent_id, '') = ? "
                "AND ifnull(m.run_id, '') = ?"
            )
            params: builtins.list[Any] = [
                scope.tenant, scope.user_id or "", scope.agent_id or "", scope.run_id or "",
            ]  # fmt: skip
        else:
            where, params = scope_sql(scope)
        wanted = "s.status IS NULL" + (" OR s.status = 'failed'" if include_failed else "")

        def run(conn: sqlite3.Connection) -> builtins.list[PendingMessage]:
            rows = conn.execute(
                "SELECT m.tenant, m.user_id, m.agent_id, m.run_id, m.id, m.role, m.speaker, "
                f"m.text, m.ts, m.metadata, s.status, s.attempts FROM messages m {_STATUS_JOIN} "
                f"WHERE {where} AND ({wanted}) ORDER BY m.pk LIMIT ?",
                [*params, limit],
            ).fetchall()
            out: builtins.list[PendingMessage] = []
            for r in rows:
                message = Message(
                    id=r[4],
                    role=r[5],
                    speaker=r[6],
                    text=r[7],
                    timestamp=from_micros(r[8]),
                    metadata=json.loads(r[9]),
                )
                out.append(
                    PendingMessage(
                        scope=Scope(tenant=r[0], user_id=r[1], agent_id=r[2], run_id=r[3]),
                        message=message,
                        status="failed" if r[10] == "failed" else "new",
                        attempts=r[11] or 0,
                    )
                )
            return out

        return self._read(run)

    def add_links(self, scope: Scope, links: Sequence[Link], *, at: datetime) -> None:
        if not links:
            return
        where, params = scope_sql(scope)
        in_scope = f"EXISTS (SELECT 1 FROM memories m WHERE {where} AND m.id = ?)"
        with self._write(changes_memories=False) as conn:
            for link in links:
                conn.execute(
                    "INSERT OR IGNORE INTO links (tenant, source, target, kind, score, at) "
                    f"SELECT ?, ?, ?, ?, ?, ? WHERE {in_scope} AND {in_scope}",
                    [scope.tenant, link.source, link.target, link.kind, float(link.score),
                     to_micros(link.at or at), *params, link.source, *params, link.target],
                )  # fmt: skip

    def links(self, scope: Scope, memory_id: str) -> builtins.list[Link]:
        where, params = scope_sql(scope)

        def run(conn: sqlite3.Connection) -> builtins.list[Link]:
            self._current(conn, scope, memory_id)
            rows = conn.execute(
                "SELECT l.source, l.target, l.kind, l.score, l.at FROM links l "
                "JOIN memories m ON m.tenant = l.tenant "
                "AND m.id = CASE WHEN l.source = ? THEN l.target ELSE l.source END "
                f"WHERE l.tenant = ? AND (l.source = ? OR l.target = ?) AND {where} "
                "ORDER BY l.at, l.source, l.target",
                [memory_id, scope.tenant, memory_id, memory_id, *params],
            ).fetchall()
            return [Link(r[0], r[1], r[2], r[3], from_micros(r[4])) for r in rows]

        return self._read(run)

    def put_graph(
        self,
        scope: Scope,
        memory_id: str,
        entities: Sequence[Entity],
        relations: Sequence[Triple],
    ) -> None:
        with self._write(changes_memories=False) as conn:
            _, row = self._current(conn, scope, memory_id)
            own = _row_record(row).scope
            for table in ("entity_mentions", "relations"):
                conn.execute(
                    f"DELETE FROM {table} WHERE tenant = ? AND memory_id = ?",
                    (own.tenant, memory_id),
                )
            self._insert_graph(conn, own, memory_id, entities, relations)

    @staticmethod
    def _insert_graph(
        conn: sqlite3.Connection,
        own: Scope,
        memory_id: str,
        entities: Sequence[Entity],
        relations: Sequence[Triple],
    ) -> None:
        """Register entities under the memory's own scope (a name written first stays) and
        write what the memory names and states."""
        for entity in entities:
            conn.execute(
                "INSERT OR IGNORE INTO entities (tenant, user_id, agent_id, run_id, key, name) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (own.tenant, own.user_id, own.agent_id, own.run_id, entity.key, entity.name),
            )
            conn.execute(
                "INSERT OR IGNORE INTO entity_mentions (tenant, memory_id, key) VALUES (?, ?, ?)",
                (own.tenant, memory_id, entity.key),
            )
        for t in relations:
            conn.execute(
                "INSERT OR IGNORE INTO relations (tenant, memory_id, subject_key, subject, "
                "predicate, object_key, object) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (own.tenant, memory_id, t.subject_key, t.subject, t.predicate, t.object_key,
                 t.object),
            )  # fmt: skip

    @staticmethod
    def _insert_links(
        conn: sqlite3.Connection, tenant: str, links: Sequence[Link], at: datetime
    ) -> None:
        for link in links:
            conn.execute(
                "INSERT OR IGNORE INTO links (tenant, source, target, kind, score, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (tenant, link.source, link.target, link.kind, float(link.score),
                 to_micros(link.at or at)),
            )  # fmt: skip

    def find_entities(
        self, scope: Scope, keys: Sequence[str] | None = None, *, limit: int = 100
    ) -> builtins.list[Entity]:
        if keys is not None and not keys:
            return []
        ewhere, eparams = scope_sql(scope, "e")
        mwhere, mparams = scope_sql(scope)
        chosen = "" if keys is None else f" AND e.key IN ({', '.join('?' * len(keys))})"

        def run(conn: sqlite3.Connection) -> builtins.list[Entity]:
            rows = conn.execute(
                "SELECT e.key, min(e.name), (SELECT count(DISTINCT em.memory_id) "
                "FROM entity_mentions em JOIN memories m ON m.tenant = em.tenant "
                "AND m.id = em.memory_id "
                f"WHERE em.tenant = e.tenant AND em.key = e.key AND {mwhere} "
                "AND m.state = 'active') AS mentions "
                f"FROM entities e WHERE {ewhere}{chosen} GROUP BY e.key HAVING mentions > 0 "
                "ORDER BY mentions DESC, e.key LIMIT ?",
                [*mparams, *eparams, *(keys or ()), limit],
            ).fetchall()
            return [Entity(key=r[0], name=r[1], mentions=r[2]) for r in rows]

        return self._read(run)

    def relations(
        self, scope: Scope, keys: Sequence[str], *, limit: int = 200
    ) -> builtins.list[Triple]:
        if not keys:
            return []
        where, params = scope_sql(scope)
        marks = ", ".join("?" * len(keys))

        def run(conn: sqlite3.Connection) -> builtins.list[Triple]:
            rows = conn.execute(
                "SELECT r.subject_key, r.subject, r.predicate, r.object_key, r.object, "
                "r.memory_id FROM relations r JOIN memories m ON m.tenant = r.tenant "
                f"AND m.id = r.memory_id WHERE {where} AND m.state = 'active' "
                f"AND m.expired_at IS NULL AND (r.subject_key IN ({marks}) "
                f"OR r.object_key IN ({marks})) ORDER BY m.pk DESC LIMIT ?",
                [*params, *keys, *keys, limit],
            ).fetchall()
            return [Triple(*r) for r in rows]

        return self._read(run)

    def entity_search(
        self, scope: Scope, weights: Mapping[str, float], filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]:
        if not weights:
            return []
        where, params = scope_sql(scope)
        fwhere, fparams = filters_sql(filters)
        values = ", ".join("(?, ?)" for _ in weights)

        def run(conn: sqlite3.Connection) -> builtins.list[tuple[MemoryRecord, float]]:
            rows = conn.execute(
                f"WITH w (key, weight) AS (VALUES {values}) "
                f"SELECT sum(w.weight) AS score, {_SELECT} FROM w "
                "JOIN entity_mentions em ON em.tenant = ? AND em.key = w.key "
                "JOIN memories m ON m.tenant = em.tenant AND m.id = em.memory_id "
                f"WHERE {where} AND {fwhere} GROUP BY m.pk "
                "ORDER BY score DESC, m.importance DESC, m.pk DESC LIMIT ?",
                [*(x for kv in weights.items() for x in kv), scope.tenant, *params, *fparams,
                 limit],
            ).fetchall()  # fmt: skip
            return [(_row_record(r[1:]), float(r[0])) for r in rows]

        return self._read(run)

    def as_of(self, scope: Scope, at: datetime, filters: Filters) -> builtins.list[MemoryRecord]:
        where, params = scope_sql(scope)
        stamp = to_micros(at)

        def run(conn: sqlite3.Connection) -> builtins.list[MemoryRecord]:
            current = [
                _row_record(r)
                for r in conn.execute(
                    f"SELECT {_SELECT} FROM memories m WHERE {where} ORDER BY m.pk", params
                )
            ]
            older: dict[str, builtins.list[MemoryRecord]] = {}
            for memory_id, raw in conn.execute(
                "SELECT v.memory_id, v.record FROM memory_versions v JOIN memories m "
                f"ON m.tenant = v.tenant AND m.id = v.memory_id WHERE {where} ORDER BY v.version",
                params,
            ):
                older.setdefault(memory_id, []).append(codec.record_from_json(raw, scope.tenant))
            states: dict[str, MemoryState] = {}
            for memory_id, state in conn.execute(
                "SELECT h.memory_id, h.state FROM history h JOIN memories m "
                f"ON m.tenant = h.tenant AND m.id = h.memory_id WHERE {where} "
                "AND h.at <= ? AND h.state IS NOT NULL ORDER BY h.at, h.id",
                [*params, stamp],
            ):
                states[memory_id] = state
            out: builtins.list[MemoryRecord] = []
            for record in current:
                then = _version_at([*older.get(record.id, ()), record], at)
                if then is None:
                    continue
                then = replace(then, state=states.get(record.id, then.state))
                if _matches(then, filters):
                    out.append(then)
            return out

        return self._read(run)

    # -- embedder bookkeeping -------------------------------------------------------------------
    def embedder_info(self) -> tuple[str, int] | None:
        def run(conn: sqlite3.Connection) -> tuple[str, int] | None:
            rows = dict(
                conn.execute(
                    "SELECT key, value FROM meta WHERE key IN ('embedder', 'embedder_dim')"
                ).fetchall()
            )
            if "embedder" not in rows:
                return None
            return rows["embedder"], int(rows["embedder_dim"])

        return self._read(run)

    def put_vectors(self, tenant: str, vectors: Sequence[tuple[str, Vector]]) -> None:
        with self._write() as conn:
            conn.executemany(
                "UPDATE memories SET embedding = ? WHERE tenant = ? AND id = ?",
                [(vector_blob(v), tenant, memory_id) for memory_id, v in vectors],
            )

    def set_embedder_info(self, name: str, dim: int) -> None:
        with self._write(changes_memories=False) as conn:
            for key, value in (("embedder", name), ("embedder_dim", str(dim))):
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    # -- size and settings (for `memstrata bench`) ---------------------------------------------
    def disk_bytes(self) -> int | None:
        """Bytes on disk: the database file, its WAL and shared memory, the saved graphs."""
        if self.path == ":memory:":
            return None
        files = [Path(self.path), Path(f"{self.path}-wal"), Path(f"{self.path}-shm")]
        if self._ann_files is not None and self._ann_files.directory.is_dir():
            files.extend(self._ann_files.directory.iterdir())
        return sum(f.stat().st_size for f in files if f.is_file())

    def vector_index_settings(self) -> dict[str, Any]:
        from memstrata.stores.sqlite import vectors

        return {"exact_below_rows": vectors.ANN_MIN_ROWS, "oversample": vectors.ANN_OVERSAMPLE,
                **ann.settings(), "saved": self._ann_files is not None}  # fmt: skip

    def close(self) -> None:
        with self._lock, suppress(sqlite3.Error):
            self._conn.close()
