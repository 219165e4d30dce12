"""Records with their versions and history, on any SQL backend: reads, changes, lifecycle
bookkeeping, memory at a past time, keyword search and the scans in-memory indexes are built
from (the ``Records``, ``Keywords``, ``Scans`` and ``Vectors.put_vectors`` capabilities)."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from memstrata.errors import ConflictError, InvalidInputError
from memstrata.ports import Vector
from memstrata.stores import timeline
from memstrata.stores.sql import rows
from memstrata.stores.sql.core import SQLBase, TxT
from memstrata.stores.sql.dialect import Row, chunks
from memstrata.stores.sql.rows import HISTORY, SELECT
from memstrata.stores.sql.where import (
    decode_cursor,
    encode_cursor,
    matches,
    order,
    scope_sql,
    user_sql,
)
from memstrata.text import asked_words
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

#: The history operation that moves a memory into each state.
STATE_OPS: dict[str, Operation] = {"deleted": "DELETE", "active": "RESTORE", "archived": "ARCHIVE"}


class SQLRecords(SQLBase[TxT]):
    # -- changes ----------------------------------------------------------------------------------
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
        events = [
            (r.scope, HistoryEvent(memory_id=r.id, version=r.version, op="ADD", at=r.recorded_at,
                                   reason=reason, prompt_version=prompt_version, text=r.text,
                                   state=r.state))
            for r in records
        ]  # fmt: skip
        with self._write() as tx:
            if messages:
                params = [rows.message_params(self.dialect, s, m, at) for s, m in messages]
                tx.executemany(rows.INSERT_MESSAGE, params)
            self._insert_memories(tx, records, vectors)
            self._insert_history(tx, events)

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
        with self._write() as tx:
            return self._update(tx, scope, record, at, expected_version, op, vector, reason,
                                prompt_version)  # fmt: skip

    def update_many(
        self,
        scope: Scope,
        records: Sequence[tuple[MemoryRecord, int]],
        *,
        at: datetime,
        reason: str | None = None,
    ) -> builtins.list[MemoryRecord]:
        with self._write() as tx:
            return [
                self._update(tx, scope, record, at, expected, "UPDATE", None, reason, None)
                for record, expected in records
            ]

    def _update(
        self,
        tx: TxT,
        scope: Scope,
        record: MemoryRecord,
        at: datetime,
        expected_version: int,
        op: Operation,
        vector: Vector | None,
        reason: str | None,
        prompt_version: str | None,
    ) -> MemoryRecord:
        d = self.dialect
        pk, old = self._current(tx, scope, record.id, lock=True)
        if old.version != expected_version:
            raise ConflictError(
                f"memory {record.id!r} is at version {old.version}, not {expected_version}; "
                "read it again and retry"
            )
        when = timeline.change_time(at, old.recorded_at, self._last_change(tx, old))
        snapshot, new = timeline.next_version(old, record, when)
        tx.execute(self._sql.insert_version, rows.version_params(d, old, snapshot))
        user, uparams = user_sql(d, old.scope.user_id)
        kept = d.kept(vector)
        self._figures_update(tx, pk, new, kept)
        tx.execute(
            self._sql.update_memory + user,
            [*rows.record_params(d, new), d.vector(kept), *d.index_params(new), pk, *uparams],
        )
        self._after_update(tx, pk, new)
        event = HistoryEvent(memory_id=old.id, version=new.version, op=op, at=when,
                             reason=reason, prompt_version=prompt_version, text=new.text,
                             previous_text=old.text, state=new.state)  # fmt: skip
        self._insert_history(tx, [(old.scope, event)])
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
        with self._write() as tx:
            return self._set_state(tx, scope, memory_id, state, at, reason)

    def set_states(
        self,
        scope: Scope,
        ids: Sequence[str],
        state: MemoryState,
        *,
        at: datetime,
        reason: str | None = None,
    ) -> builtins.list[MemoryRecord]:
        with self._write() as tx:
            return [self._set_state(tx, scope, i, state, at, reason) for i in ids]

    def _set_state(
        self,
        tx: TxT,
        scope: Scope,
        memory_id: str,
        state: MemoryState,
        at: datetime,
        reason: str | None,
    ) -> MemoryRecord:
        pk, old = self._current(tx, scope, memory_id, lock=True)
        if old.state == state:
            return old
        when = timeline.change_time(at, old.recorded_at, self._last_change(tx, old))
        user, uparams = user_sql(self.dialect, old.scope.user_id)
        tx.execute(f"UPDATE memories SET state = ? WHERE pk = ?{user}", [state, pk, *uparams])
        self._figures_changed(tx, [pk])
        event = HistoryEvent(memory_id=old.id, version=old.version, op=STATE_OPS[state],
                             at=when, reason=reason, state=state)  # fmt: skip
        self._insert_history(tx, [(old.scope, event)])
        return replace(old, state=state)

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
        with self._write(changes_memories=False) as tx:
            _, record = self._current(tx, scope, memory_id, lock=True)
            at = timeline.change_time(at, record.recorded_at, self._last_change(tx, record))
            event = HistoryEvent(memory_id=record.id, version=record.version, op=op, at=at,
                                 reason=reason, prompt_version=prompt_version, text=text,
                                 state=record.state)  # fmt: skip
            params = rows.history_params(self.dialect, record.scope, event)
            (event_id,) = tx.insert(self._sql.insert_history, [params], "id")
        return replace(event, id=event_id)

    def purge(self, scope: Scope, memory_id: str) -> None:
        """Remove a memory with its versions and history; nothing of it is left."""
        with self._write() as tx:
            pk, record = self._current(tx, scope, memory_id, lock=True)
            self._erase(tx, scope.tenant, [(pk, memory_id, record.scope.user_id)])

    def reset(self, scope: Scope) -> int:
        where, params = scope_sql(scope)
        with self._write() as tx:
            found = tx.fetchall(
                f"SELECT m.pk, m.id, m.user_id FROM memories m WHERE {where}", params
            )
            self._erase(tx, scope.tenant, [(int(r[0]), r[1], r[2]) for r in found])
            for table in ("messages", "message_status", "entities"):
                tx.execute(f"DELETE FROM {table} AS m WHERE {where}", params)
        return len(found)

    # -- lifecycle bookkeeping --------------------------------------------------------------------
    def touch(self, scope: Scope, ids: Sequence[str], at: datetime) -> None:
        if not ids:
            return
        where, params = scope_sql(scope)
        chosen, cparams = self.dialect.any_of("m.id", ids)
        with self._write() as tx:
            tx.execute(
                "UPDATE memories AS m SET recall_count = recall_count + 1, last_recalled = ? "
                f"WHERE {where} AND {chosen}",
                [self.dialect.time(at), *params, *cparams],
            )

    def set_lifecycle(self, scope: Scope, records: Sequence[MemoryRecord]) -> None:
        if not records:
            return
        where, params = scope_sql(scope)
        d = self.dialect
        with self._write() as tx:
            # A layer is a filter of vector search: the scope's counter moves on.
            for chunk in chunks([r.id for r in records], d.max_list):
                chosen, cparams = d.any_of("m.id", chunk)
                found = tx.fetchall(f"SELECT m.pk FROM memories m WHERE {where} AND {chosen}",
                                    [*params, *cparams])  # fmt: skip
                self._figures_changed(tx, [int(r[0]) for r in found])
            tx.executemany(
                "UPDATE memories AS m SET strength = ?, recall_count = ?, last_recalled = ?, "
                f"layer = ? WHERE {where} AND m.id = ?",
                [(r.strength, r.recall_count, d.time(r.last_recalled), r.layer, *params, r.id)
                 for r in records],
            )  # fmt: skip

    def put_vectors(self, tenant: str, vectors: Sequence[tuple[str, Vector]]) -> None:
        with self._write() as tx:
            tx.executemany(
                "UPDATE memories SET embedding = ? WHERE tenant = ? AND id = ?",
                [(self.dialect.vector(v), tenant, memory_id) for memory_id, v in vectors],
            )
            for chunk in chunks([memory_id for memory_id, _ in vectors], self.dialect.max_list):
                clause, params = self.dialect.any_of("id", chunk)
                found = tx.fetchall(
                    f"SELECT pk FROM memories WHERE tenant = ? AND {clause}", [tenant, *params]
                )
                self._figures_revector(tx, [int(r[0]) for r in found])

    # -- reads ------------------------------------------------------------------------------------
    def get(self, scope: Scope, memory_id: str) -> MemoryRecord:
        with self._read() as tx:
            return self._current(tx, scope, memory_id)[1]

    def get_many(self, scope: Scope, ids: Sequence[str]) -> builtins.list[MemoryRecord]:
        if not ids:
            return []
        found = self._with_ids("memories", SELECT, scope, ids)
        by_id = {r[0]: rows.record(self.dialect, r) for r in found}
        return [by_id[i] for i in ids if i in by_id]

    def versions(self, scope: Scope, memory_id: str) -> builtins.list[MemoryRecord]:
        current, found = self._of_memory(scope, memory_id, "record", "memory_versions", "version")
        return [*(rows.snapshot(self.dialect, r[0], scope.tenant) for r in found), current]

    def history(self, scope: Scope, memory_id: str) -> builtins.list[HistoryEvent]:
        _, found = self._of_memory(scope, memory_id, HISTORY, "history", "id")
        return [rows.history_event(self.dialect, r) for r in found]

    def _of_memory(
        self, scope: Scope, memory_id: str, columns: str, table: str, order_by: str
    ) -> tuple[MemoryRecord, builtins.list[Row]]:
        """A memory in ``scope`` and its rows of ``table`` (``memory_versions``, ``history``)."""
        with self._read() as tx:
            _, current = self._current(tx, scope, memory_id)
            user, uparams = user_sql(self.dialect, current.scope.user_id)
            found = tx.fetchall(
                f"SELECT {columns} FROM {table} WHERE tenant = ?{user} AND memory_id = ? "
                f"ORDER BY {order_by}",
                [scope.tenant, *uparams, memory_id],
            )
        return current, found

    def list(
        self, scope: Scope, filters: Filters, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        if limit < 1:
            raise InvalidInputError("limit must be at least 1")
        where, params = self._where(scope, filters)
        if cursor:
            where += " AND m.pk < ?"
            params.append(decode_cursor(cursor))
        with self._read() as tx:
            found = tx.fetchall(
                f"SELECT m.pk, {SELECT} FROM memories m WHERE {where} ORDER BY m.pk DESC LIMIT ?",
                [*params, limit + 1],
            )
        more = len(found) > limit
        found = found[:limit]
        records = tuple(rows.record(self.dialect, r[1:]) for r in found)
        return Page(records=records, next_cursor=encode_cursor(found[-1][0]) if more else None)

    def count(self, scope: Scope, filters: Filters) -> int:
        where, params = self._where(scope, filters)
        with self._read() as tx:
            return self._cached_count(tx, f"SELECT count(*) FROM memories m WHERE {where}", params)

    def scopes(self, tenant: str) -> builtins.list[dict[str, Any]]:
        columns = ("user_id", "agent_id", "run_id")
        with self._read() as tx:
            found = tx.fetchall(
                "SELECT user_id, agent_id, run_id, count(*), "
                "sum(CASE WHEN state = 'active' THEN 1 ELSE 0 END), max(recorded_at) "
                "FROM memories WHERE tenant = ? GROUP BY user_id, agent_id, run_id "
                f"ORDER BY {order(self.dialect, *columns)}",
                [tenant],
            )
        return [
            {"user_id": r[0], "agent_id": r[1], "run_id": r[2], "memories": int(r[3]),
             "active": int(r[4]), "last_recorded": self.dialect.time_of(r[5])}
            for r in found
        ]  # fmt: skip

    def as_of(self, scope: Scope, at: datetime, filters: Filters) -> builtins.list[MemoryRecord]:
        where, params = scope_sql(scope)
        d = self.dialect
        older: dict[str, list[MemoryRecord]] = {}
        states: dict[str, MemoryState] = {}
        with self._read(snapshot=True) as tx:
            current = [
                rows.record(d, r)
                for r in tx.fetchall(
                    f"SELECT {SELECT} FROM memories m WHERE {where} ORDER BY m.pk", params
                )
            ]
            for memory_id, value in tx.fetchall(
                "SELECT v.memory_id, v.record FROM memory_versions v JOIN memories m "
                f"ON m.tenant = v.tenant AND m.id = v.memory_id WHERE {where} ORDER BY v.version",
                params,
            ):
                older.setdefault(memory_id, []).append(rows.snapshot(d, value, scope.tenant))
            for memory_id, state in tx.fetchall(
                "SELECT h.memory_id, h.state FROM history h JOIN memories m "
                f"ON m.tenant = h.tenant AND m.id = h.memory_id WHERE {where} "
                "AND h.at <= ? AND h.state IS NOT NULL ORDER BY h.at, h.id",
                [*params, d.time(at)],
            ):
                states[memory_id] = state
        out: list[MemoryRecord] = []
        for record in current:
            then = timeline.version_at([*older.get(record.id, ()), record], at)
            if then is None:
                continue
            then = replace(then, state=states.get(record.id, then.state))
            if matches(then, filters):
                out.append(then)
        return out

    # -- searches and scans -----------------------------------------------------------------------
    def keyword_search(
        self, scope: Scope, query: str, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]:
        with self._read(search=True) as tx:
            return self._records_by_pk(tx, self._keyword_ranked(tx, scope, query, filters, limit))

    def keyword_keys(
        self, scope: Scope, query: str, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[int, float]]:
        with self._read(search=True) as tx:
            return self._keyword_ranked(tx, scope, query, filters, limit)

    def _keyword_ranked(
        self, tx: TxT, scope: Scope, query: str, filters: Filters, limit: int
    ) -> builtins.list[tuple[int, float]]:
        """The best ``limit`` (key, score) pairs of a keyword search, best first."""
        every = self.dialect.words(query)
        if not every:
            return []
        where, params = self._where(scope, filters)
        budget = self.keyword_postings
        space, size = self._keyword_space(tx, scope, filters)
        large = size > self.keyword_large
        # A time window or metadata keeps few of the space's matches (the speaker is the space).
        narrow = filters.since is not None or filters.until is not None or bool(filters.metadata)
        ranked: builtins.list[tuple[int, float]] = []
        # A question's content words; its stop words too when those match nothing.
        content = asked_words(every)
        for words in (content, every) if content != every else (every,):
            if large:  # a large store or scope: the rarer words (stores.keywords)
                count = functools.partial(self._count_word, tx, space)
                words = self._word_counts.choose(words, budget, size, count, space=space)
            elif filters.actor is not None:
                words = self._speaker_words(tx, words)
            ranked = self._rank_words(
                tx, space, words, where, params, limit, window=budget if large else None,
                narrow=narrow, size=size,
            )  # fmt: skip
            if ranked:
                break
        return ranked

    def scan(self, scope: Scope) -> Iterator[tuple[MemoryRecord, Vector | None]]:
        where, params = scope_sql(scope)
        with self._stream(search=True) as tx:
            for row in tx.stream(
                f"SELECT m.embedding, {SELECT} FROM memories m WHERE {where} ORDER BY m.pk",
                params,
            ):
                yield rows.record(self.dialect, row[1:]), self.dialect.vector_of(row[0])

    def stamp(self) -> Hashable:
        with self._read() as tx:
            return self._stamp(tx)
