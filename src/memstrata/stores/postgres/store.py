"""The server store: PostgreSQL with pgvector (HNSW, cosine) and full-text search (tsvector, GIN).

Every write runs in one transaction from a connection pool and writes its history rows in that
same transaction. An update locks the row (``SELECT … FOR UPDATE``) before it checks the
version, so of two racing updates from the same version one commits and the other gets a
``ConflictError``; nothing is lost. Every query carries the scope in its WHERE clause.

Vector search is exact while the candidates of a scope and its filters number at most
``exact_limit`` (a distance sort over the rows the scope's B-tree index selects), and uses the
HNSW index beyond that (built when first needed, see ``vectors``), falling back to the exact sort
when the index returns too few rows after filtering. Keyword and vector search may read from a
replica (``search_url``).
"""

from __future__ import annotations

import builtins
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import psycopg
from psycopg import errors as pgerrors
from psycopg.types import TypeInfo
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from memstrata.errors import ConflictError, InvalidInputError, NotFoundError, StoreError
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
from memstrata.stores.keywords import LARGE_STORE, POSTINGS_BUDGET, WordCounts
from memstrata.stores.postgres import graph, schema
from memstrata.stores.postgres.schema import TEXT_SEARCH_CONFIG
from memstrata.stores.postgres.sql import (
    API_KEY_COLUMNS,
    BATCH,
    COLUMNS,
    HISTORY_COLUMNS,
    INSERT_HISTORY,
    INSERT_MEMORY,
    INSERT_MESSAGE,
    INSERT_VERSION,
    RANK_WEIGHTS,
    SEARCH,
    SELECT,
    STATE_OPS,
    VALUES,
    Conn,
    api_key_row,
    as_vector,
    filters_sql,
    history_event,
    last_change,
    record_params,
    row_record,
    scope_sql,
    search_params,
    tsquery_text,
    tsquery_words,
    user_sql,
    utc,
)
from memstrata.stores.postgres.vectors import VectorIndexes
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

#: Options memstrata reads from the URL's query string (libpq would refuse them).
_URL_OPTIONS = ("pool_size", "exact_limit", "prepare_threshold", "search_url")


#: The least ``hnsw.ef_search`` (candidates the HNSW graph walk keeps) of an approximate search;
#: a search for more than half as many hits asks for twice the hits.
HNSW_EF_SEARCH = 200


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """The libpq URL without memstrata's own options, and those options."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in pairs if k in _URL_OPTIONS}
    if not ours:
        return url, {}
    rest = urlencode([(k, v) for k, v in pairs if k not in _URL_OPTIONS])
    return urlunsplit(parts._replace(query=rest)), ours


def redact(url: str) -> str:
    """The URL with its password hidden."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class PostgresStore:
    """A ``Store`` in a PostgreSQL database: 15 or newer (for ``UNIQUE NULLS NOT DISTINCT``),
    with pgvector 0.5 or newer (for HNSW).

    ``url`` is a libpq URL (``postgresql://user:password@host:5432/dbname``); the options
    ``pool_size``, ``exact_limit``, ``prepare_threshold`` and ``search_url`` may also be given in
    its query string (``search_url`` percent-encoded). ``prepare_threshold=None`` turns
    server-side prepared statements off (for PgBouncer in transaction mode before 1.21).

    ``search_url`` names a read replica (a streaming standby of the same primary, or several
    with libpq's ``target_session_attrs=prefer-standby``): keyword and vector search read there,
    in their own pool; everything else, reads of single memories included, stays on ``url``. A
    replica lags its primary, so a memory may be searchable a moment after it is stored.
    """

    #: Past ``keyword_large`` memories (by the highest pk), a keyword search leaves out a query's
    #: most common words, keeping matches within ``keyword_postings`` (``stores.keywords``).
    keyword_large = LARGE_STORE
    keyword_postings = POSTINGS_BUDGET

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        exact_limit: int = 20_000,
        prepare_threshold: int | None = 5,
        search_url: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        conninfo, options = split_url(url)
        search_url = options.get("search_url", search_url)
        try:
            pool_size = int(options.get("pool_size", pool_size))
            exact_limit = int(options.get("exact_limit", exact_limit))
            if "prepare_threshold" in options:
                text = options["prepare_threshold"].strip().lower()
                prepare_threshold = None if text in ("", "none", "off") else int(text)
        except ValueError as exc:
            raise StoreError(f"bad option in the PostgreSQL URL {redact(url)}: {exc}") from None
        if pool_size < 1:
            raise StoreError("pool_size must be at least 1")
        self.url = redact(conninfo)
        self.exact_limit = exact_limit
        self._connect_kwargs: dict[str, Any] = {
            "autocommit": True,
            "prepare_threshold": prepare_threshold,
        }
        try:
            with psycopg.connect(
                conninfo, connect_timeout=int(timeout), **self._connect_kwargs
            ) as c:
                schema.migrate(c)
                info = TypeInfo.fetch(c, "vector")
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the PostgreSQL store at {self.url}: {exc}") from None
        if info is None:
            raise StoreError(f"the vector extension is missing in {self.url}")
        self._vector_info: TypeInfo = info
        #: Counts by query, with the ``memstrata_changes`` value they were counted at.
        self._counts: dict[tuple[str, str], tuple[Any, int]] = {}
        #: How many memories each query word matches, as far as counted (``stores.keywords``).
        self._word_counts = WordCounts()
        self._indexes = VectorIndexes(conninfo, self._connect_kwargs)
        self._pool = self._open_pool(conninfo, pool_size, timeout, "memstrata")
        self._search_pool = self._pool
        self.search_url = None if search_url is None else redact(search_url)
        if search_url is not None:
            self._search_pool = self._open_pool(search_url, pool_size, timeout, "memstrata-search")

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    @property
    def read_only(self) -> bool:
        return False

    # -- plumbing -------------------------------------------------------------------------------
    def _open_pool(
        self, conninfo: str, size: int, timeout: float, name: str
    ) -> ConnectionPool[Conn]:
        return ConnectionPool(
            conninfo,
            min_size=1,
            max_size=size,
            kwargs=self._connect_kwargs,
            configure=self._configure,
            timeout=timeout,
            name=name,
            open=True,
        )

    def _configure(self, conn: Conn) -> None:
        from pgvector.psycopg.vector import register_vector_info

        register_vector_info(conn, self._vector_info)

    @contextmanager
    def _tx(
        self, pool: ConnectionPool[Conn] | None = None, *, changes_memories: bool = True
    ) -> Iterator[Conn]:
        """A pooled connection inside one transaction (committed unless the block raises).

        After a commit that may have changed memories, the ``memstrata_changes`` sequence moves
        on, so in-memory indexes built at an older ``stamp`` are rebuilt. Writes that leave
        memories as they were (a kept search, a setting, a key, a history note, the graph)
        pass ``changes_memories=False``.
        """
        with self._connection(pool) as conn:
            with conn.transaction():
                yield conn
            if changes_memories and pool in (None, self._pool):  # never on a search replica
                conn.execute("SELECT nextval('memstrata_changes')")

    @contextmanager
    def _connection(self, pool: ConnectionPool[Conn] | None = None) -> Iterator[Conn]:
        """A pooled connection in autocommit mode: for reads of one statement."""
        try:
            with (pool or self._pool).connection() as conn:
                yield conn
        except pgerrors.UniqueViolation as exc:
            raise ConflictError(_conflict_message(exc)) from None
        except psycopg.DataError as exc:
            raise InvalidInputError(f"PostgreSQL refused a value: {exc}") from None
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreError(f"PostgreSQL store at {self.url} failed: {exc}") from None

    def _current(self, conn: Conn, scope: Scope, memory_id: str, *, lock: bool) -> tuple[int, Any]:
        where, params = scope_sql(scope)
        row = conn.execute(
            f"SELECT m.pk, {SELECT} FROM memories m WHERE {where} AND m.id = %s"
            + (" FOR UPDATE" if lock else ""),
            [*params, memory_id],
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no memory {memory_id!r} in scope {scope}")
        return row[0], row[1:]

    @staticmethod
    def _history_params(
        tenant: str,
        user_id: str | None,
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
    ) -> tuple[Any, ...]:
        return (tenant, memory_id, user_id, version, op, at, reason, prompt_version, text,
                previous_text, state)  # fmt: skip

    @staticmethod
    def _memory_params(record: MemoryRecord, vector: Any) -> tuple[Any, ...]:
        return (*record_params(record), as_vector(vector), *search_params(record))

    # -- messages -------------------------------------------------------------------------------
    def known_messages(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` were already stored under exactly this scope."""
        if not ids:
            return set()
        user, uparams = user_sql(scope.user_id)
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT id FROM messages WHERE tenant = %s AND {user} AND id = ANY(%s) "
                "AND agent_id IS NOT DISTINCT FROM %s AND run_id IS NOT DISTINCT FROM %s",
                [scope.tenant, *uparams, list(ids), scope.agent_id, scope.run_id],
            ).fetchall()
        return {r[0] for r in rows}

    def get_messages(self, scope: Scope, ids: Sequence[str]) -> builtins.list[Message]:
        if not ids:
            return []
        where, params = scope_sql(scope)
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT id, role, speaker, text, ts, metadata FROM messages m WHERE {where} "
                "AND m.id = ANY(%s) ORDER BY m.pk",
                [*params, list(ids)],
            ).fetchall()
        return [
            Message(id=r[0], role=r[1], speaker=r[2], text=r[3], timestamp=utc(r[4]), metadata=r[5])
            for r in rows
        ]

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
        message_rows = [
            (s.tenant, s.user_id, s.agent_id, s.run_id, m.id, m.role, m.speaker, m.text,
             m.timestamp, Jsonb(dict(m.metadata)), at)
            for s, m in messages
        ]  # fmt: skip
        memory_rows = [
            self._memory_params(r, None if vectors is None else vectors[i])
            for i, r in enumerate(records)
        ]
        history_rows = [
            self._history_params(r.scope.tenant, r.scope.user_id, r.id, r.version, "ADD",
                                 at=r.recorded_at, reason=reason, prompt_version=prompt_version,
                                 text=r.text, state=r.state)
            for r in records
        ]  # fmt: skip
        with self._tx() as conn, conn.cursor() as cur:
            if message_rows:
                cur.executemany(INSERT_MESSAGE, message_rows)
            if memory_rows:
                cur.executemany(INSERT_MEMORY, memory_rows)
                cur.executemany(INSERT_HISTORY, history_rows)

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
        with self._tx() as conn:
            pk, row = self._current(conn, scope, record.id, lock=True)
            old = row_record(row)
            if old.version != expected_version:
                raise ConflictError(
                    f"memory {record.id!r} is at version {old.version}, not {expected_version}; "
                    "read it again and retry"
                )
            when = timeline.change_time(at, old.recorded_at, last_change(conn, old))
            snapshot, new = timeline.next_version(old, record, when)
            tenant, user_id = old.scope.tenant, old.scope.user_id
            conn.execute(
                INSERT_VERSION, (tenant, old.id, old.version, user_id, Jsonb(snapshot.to_dict()))
            )
            user, uparams = user_sql(user_id)
            conn.execute(
                f"UPDATE memories SET ({COLUMNS}) = ({VALUES}), "
                f"embedding = coalesce(%s, embedding), search = {SEARCH} WHERE pk = %s AND {user}",
                (*self._memory_params(new, vector), pk, *uparams),
            )
            conn.execute(
                INSERT_HISTORY,
                self._history_params(tenant, user_id, old.id, new.version, op, at=when,
                                     reason=reason, prompt_version=prompt_version, text=new.text,
                                     previous_text=old.text, state=new.state),
            )  # fmt: skip
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
        with self._tx() as conn:
            pk, row = self._current(conn, scope, memory_id, lock=True)
            old = row_record(row)
            if old.state == state:
                return old
            when = timeline.change_time(at, old.recorded_at, last_change(conn, old))
            user, uparams = user_sql(old.scope.user_id)
            conn.execute(
                f"UPDATE memories SET state = %s WHERE pk = %s AND {user}", (state, pk, *uparams)
            )
            conn.execute(
                INSERT_HISTORY,
                self._history_params(old.scope.tenant, old.scope.user_id, old.id, old.version,
                                     STATE_OPS[state], at=when, reason=reason, state=state),
            )  # fmt: skip
        return replace(old, state=state)

    def purge(self, scope: Scope, memory_id: str) -> None:
        """Remove a memory with its versions and history; nothing of it is left."""
        where, params = scope_sql(scope)
        with self._tx() as conn:
            row = conn.execute(
                f"DELETE FROM memories m WHERE {where} AND m.id = %s RETURNING m.id, m.user_id",
                [*params, memory_id],
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no memory {memory_id!r} in scope {scope}")
            self._erase(conn, scope.tenant, [(row[0], row[1])])
            graph.erase_memories(conn, scope.tenant, [memory_id])

    @staticmethod
    def _erase(conn: Conn, tenant: str, rows: builtins.list[tuple[str, str | None]]) -> None:
        """Delete the versions and history of memories, given as (id, user_id)."""
        by_user: dict[str | None, builtins.list[str]] = {}
        for memory_id, user_id in rows:
            by_user.setdefault(user_id, []).append(memory_id)
        for user_id, ids in by_user.items():
            user, uparams = user_sql(user_id)
            for table in ("memory_versions", "history"):
                conn.execute(
                    f"DELETE FROM {table} WHERE tenant = %s AND {user} AND memory_id = ANY(%s)",
                    (tenant, *uparams, ids),
                )

    def reset(self, scope: Scope) -> int:
        where, params = scope_sql(scope)
        with self._tx() as conn:
            rows = conn.execute(
                f"DELETE FROM memories m WHERE {where} RETURNING m.id, m.user_id", params
            ).fetchall()
            self._erase(conn, scope.tenant, [(r[0], r[1]) for r in rows])
            graph.erase_memories(conn, scope.tenant, [r[0] for r in rows])
            conn.execute(f"DELETE FROM messages m WHERE {where}", params)
            graph.erase_scope(conn, scope)
        return len(rows)

    def touch(self, scope: Scope, ids: Sequence[str], at: datetime) -> None:
        if not ids:
            return
        where, params = scope_sql(scope)
        with self._tx() as conn:
            conn.execute(
                "UPDATE memories m SET recall_count = recall_count + 1, last_recalled = %s "
                f"WHERE {where} AND m.id = ANY(%s)",
                [at, *params, list(ids)],
            )

    def set_lifecycle(self, scope: Scope, records: Sequence[MemoryRecord]) -> None:
        if not records:
            return
        where, params = scope_sql(scope)
        with self._tx() as conn, conn.cursor() as cur:
            cur.executemany(
                "UPDATE memories m SET strength = %s, recall_count = %s, last_recalled = %s, "
                f"layer = %s WHERE {where} AND m.id = %s",
                [
                    [r.strength, r.recall_count, r.last_recalled, r.layer, *params, r.id]
                    for r in records
                ],
            )

    # -- reads ----------------------------------------------------------------------------------
    def get(self, scope: Scope, memory_id: str) -> MemoryRecord:
        with self._tx() as conn:
            return row_record(self._current(conn, scope, memory_id, lock=False)[1])

    def get_many(self, scope: Scope, ids: Sequence[str]) -> builtins.list[MemoryRecord]:
        if not ids:
            return []
        where, params = scope_sql(scope)
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {SELECT} FROM memories m WHERE {where} AND m.id = ANY(%s)",
                [*params, list(ids)],
            ).fetchall()
        by_id = {r[0]: row_record(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def versions(self, scope: Scope, memory_id: str) -> builtins.list[MemoryRecord]:
        with self._tx() as conn:
            current = row_record(self._current(conn, scope, memory_id, lock=False)[1])
            user, uparams = user_sql(current.scope.user_id)
            rows = conn.execute(
                f"SELECT record FROM memory_versions WHERE tenant = %s AND {user} "
                "AND memory_id = %s ORDER BY version",
                (scope.tenant, *uparams, memory_id),
            ).fetchall()
        return [*(MemoryRecord.from_dict(r[0], scope.tenant) for r in rows), current]

    def history(self, scope: Scope, memory_id: str) -> builtins.list[HistoryEvent]:
        with self._tx() as conn:
            current = row_record(self._current(conn, scope, memory_id, lock=False)[1])
            user, uparams = user_sql(current.scope.user_id)
            rows = conn.execute(
                f"SELECT {HISTORY_COLUMNS} FROM history WHERE tenant = %s AND {user} "
                "AND memory_id = %s ORDER BY id",
                (scope.tenant, *uparams, memory_id),
            ).fetchall()
        return [history_event(r) for r in rows]

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
            after = " AND m.pk < %s"
            fparams = [*fparams, after_pk]
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT m.pk, {SELECT} FROM memories m WHERE {where} AND {fwhere}{after} "
                "ORDER BY m.pk DESC LIMIT %s",
                [*params, *fparams, limit + 1],
            ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        records = tuple(row_record(r[1:]) for r in rows)
        return Page(records=records, next_cursor=str(rows[-1][0]) if more else None)

    def count(self, scope: Scope, filters: Filters) -> int:
        where, params = scope_sql(scope)
        fwhere, fparams = filters_sql(filters)
        with self._connection() as conn:
            return self._count(
                conn, f"SELECT count(*) FROM memories m WHERE {where} AND {fwhere}",
                [*params, *fparams],
            )  # fmt: skip

    def _count(self, conn: Conn, sql: str, params: builtins.list[Any]) -> int:
        """``sql``'s count, kept while ``memstrata_changes`` stands still (read first, so a
        count is never older than the value it is kept under). Counting the 100,000 memories of
        a scope takes milliseconds, and the ranker asks at every search."""
        row = conn.execute("SELECT last_value, is_called FROM memstrata_changes").fetchone()
        key = (sql, repr(params))
        cached = self._counts.get(key)
        if cached is not None and cached[0] == row:
            return cached[1]
        counted = conn.execute(sql, params).fetchone()
        count = int(counted[0]) if counted else 0
        if len(self._counts) >= 256:
            self._counts.clear()
        self._counts[key] = (row, count)
        return count

    def keyword_search(
        self, scope: Scope, query: str, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]:
        words = tsquery_words(query)
        if not words:
            return []
        where, params = scope_sql(scope)
        fwhere, fparams = filters_sql(filters)
        tsquery = f"to_tsquery('{TEXT_SEARCH_CONFIG}', %s)"
        with self._connection(self._search_pool) as conn:
            row = conn.execute("SELECT max(pk) FROM memories").fetchone()
            top = int(row[0] or 0) if row else 0
            if top > self.keyword_large:  # a large store: the rarer words (stores.keywords)

                def matches(word: str, cap: int) -> int:
                    found = conn.execute(
                        f"SELECT count(*) FROM (SELECT 1 FROM memories m WHERE m.search @@ "
                        f"{tsquery} LIMIT %s) c",
                        [tsquery_text([word]), cap],
                    ).fetchone()
                    return int(found[0]) if found else 0

                words = self._word_counts.choose(words, self.keyword_postings, top, matches)
            match = tsquery_text(words)
            # Rank (pk, score) pairs and read the full rows of the best only: the sort then
            # holds two numbers per match instead of whole rows (twice as fast at 1,500 matches).
            # Never prepared: a generic plan parses the query again for every row it ranks
            # (five times slower).
            ranked = conn.execute(
                f"SELECT m.pk, ts_rank_cd(%s, m.search, {tsquery}, 1) AS score "
                f"FROM memories m WHERE m.search @@ {tsquery} AND {where} AND {fwhere} "
                "ORDER BY score DESC, m.pk DESC LIMIT %s",
                [RANK_WEIGHTS, match, match, *params, *fparams, limit],
                prepare=False,
            ).fetchall()
            if not ranked:
                return []
            rows = conn.execute(
                f"SELECT m.pk, {SELECT} FROM memories m WHERE m.pk = ANY(%s)",
                [[pk for pk, _ in ranked]],
            ).fetchall()
        by_pk = {r[0]: row_record(r[1:]) for r in rows}
        return [(by_pk[pk], float(score)) for pk, score in ranked if pk in by_pk]

    def vector_search(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]:
        query = as_vector(vector)
        assert query is not None
        dim = int(query.shape[0])
        if dim == 0 or limit < 1:
            return []
        where, params = scope_sql(scope)
        fwhere, fparams = filters_sql(filters)
        base = f"{where} AND {fwhere} AND vector_dims(m.embedding) = {dim}"
        with self._tx(self._search_pool, changes_memories=False) as conn:
            # Counted from the scope's B-tree index alone (the vectors' dimension is not in it,
            # and reading every vector to check it costs more than the search), and kept while
            # nothing changes.
            candidates = self._count(
                conn, f"SELECT count(*) FROM (SELECT 1 FROM memories m WHERE {where} AND {fwhere} "
                "LIMIT %s) c", [*params, *fparams, self.exact_limit + 1],
            )  # fmt: skip
            if candidates == 0:
                return []
            rows: builtins.list[Any] = []
            if candidates > self.exact_limit and self._indexes.ready(conn, dim):
                # Approximate: the HNSW index on embedding::vector(dim), same cast and predicate.
                ef_search = min(1000, max(HNSW_EF_SEARCH, 2 * limit))
                conn.execute(f"SET LOCAL hnsw.ef_search = {ef_search}")
                rows = conn.execute(
                    f"SELECT (m.embedding::vector({dim})) <=> %s::vector({dim}) AS distance, "
                    f"{SELECT} FROM memories m WHERE {base} ORDER BY distance LIMIT %s",
                    [query, *params, *fparams, limit],
                ).fetchall()
            if len(rows) < min(limit, candidates):
                rows = conn.execute(
                    f"SELECT m.embedding <=> %s AS distance, {SELECT} FROM memories m "
                    f"WHERE {base} ORDER BY distance, m.pk LIMIT %s",
                    [query, *params, *fparams, limit],
                ).fetchall()
        out = []
        for r in rows:
            distance = float(r[0])
            score = 0.0 if distance != distance else 1.0 - distance  # NaN: a zero vector
            out.append((row_record(r[1:]), score))
        return out

    def scopes(self, tenant: str) -> builtins.list[dict[str, Any]]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT user_id, agent_id, run_id, count(*), "
                "count(*) FILTER (WHERE state = 'active'), max(recorded_at) FROM memories "
                "WHERE tenant = %s GROUP BY user_id, agent_id, run_id "
                'ORDER BY user_id COLLATE "C" NULLS FIRST, agent_id COLLATE "C" NULLS FIRST, '
                'run_id COLLATE "C" NULLS FIRST',
                (tenant,),
            ).fetchall()
        return [
            {"user_id": r[0], "agent_id": r[1], "run_id": r[2], "memories": r[3],
             "active": r[4], "last_recorded": utc(r[5])}
            for r in rows
        ]  # fmt: skip

    def scan(self, scope: Scope) -> Iterator[tuple[MemoryRecord, Vector | None]]:
        """Every memory of ``scope`` in any state, oldest first, with its vector (read from the
        search pool, like the searches an index of the scope stands in for)."""
        where, params = scope_sql(scope)
        with self._connection(self._search_pool) as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with conn.cursor(name="memstrata_scan") as cur:
                cur.itersize = BATCH
                cur.execute(
                    f"SELECT m.embedding, {SELECT} FROM memories m WHERE {where} ORDER BY m.pk",
                    params,
                )
                for row in cur:
                    vector = None if row[0] is None else row[0].to_numpy().astype(np.float32)
                    yield row_record(row[1:]), vector

    def stamp(self) -> Hashable:
        """The ``memstrata_changes`` sequence: it moves on after every commit that may have
        changed memories (in any process)."""
        with self._connection(self._search_pool) as conn:
            row = conn.execute("SELECT last_value, is_called FROM memstrata_changes").fetchone()
        return None if row is None else (int(row[0]), bool(row[1]))

    def exact_scopes(self, tenant: str | None = None) -> builtins.list[Scope]:
        where = "" if tenant is None else " WHERE tenant = %s"
        params = [] if tenant is None else [tenant, tenant]
        order = ", ".join(f'{c} COLLATE "C" NULLS FIRST' for c in ("user_id", "agent_id", "run_id"))
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT tenant, user_id, agent_id, run_id FROM ("
                f"SELECT tenant, user_id, agent_id, run_id FROM memories{where} UNION "
                f"SELECT tenant, user_id, agent_id, run_id FROM messages{where}"
                f') s ORDER BY tenant COLLATE "C", {order}',
                params,
            ).fetchall()
        return [Scope(tenant=r[0], user_id=r[1], agent_id=r[2], run_id=r[3]) for r in rows]

    # -- export / import ------------------------------------------------------------------------
    def export(self, scope: Scope, *, vectors: bool = False) -> Iterator[dict[str, Any]]:
        """The scope as export items, read from one consistent snapshot."""
        where, params = scope_sql(scope)
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield {"type": "header", "format": codec.EXPORT_FORMAT, "scope": scope.as_dict()}
            with conn.cursor(name="memstrata_export_messages") as cur:
                cur.itersize = BATCH
                cur.execute(
                    "SELECT m.id, m.user_id, m.agent_id, m.run_id, m.role, m.speaker, m.text, "
                    "m.ts, m.metadata, s.status, s.attempts, s.prompt_version, s.error, s.at "
                    f"FROM messages m {graph.STATUS_JOIN} WHERE {where} ORDER BY m.pk",
                    params,
                )
                for r in cur:
                    message: dict[str, Any] = {
                        "type": "message",
                        "message": {
                            "id": r[0], "user_id": r[1], "agent_id": r[2], "run_id": r[3],
                            "role": r[4], "speaker": r[5], "text": r[6],
                            "timestamp": codec.iso(utc(r[7])), "metadata": r[8],
                        },
                    }  # fmt: skip
                    if r[9] is not None:
                        message["status"] = codec.StatusRow(
                            r[9], r[10], r[13].astimezone(UTC), r[11], r[12]
                        ).to_dict()
                    yield message
            ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT m.id FROM memories m WHERE {where} ORDER BY m.pk", params
                ).fetchall()
            ]
            for start in range(0, len(ids), BATCH):
                yield from self._export_batch(conn, scope.tenant, ids[start : start + BATCH],
                                              vectors)  # fmt: skip

    @staticmethod
    def _export_batch(
        conn: Conn, tenant: str, ids: builtins.list[str], vectors: bool
    ) -> Iterator[dict[str, Any]]:
        rows = conn.execute(
            f"SELECT {SELECT}, m.embedding FROM memories m WHERE m.tenant = %s AND m.id = ANY(%s)",
            (tenant, ids),
        ).fetchall()
        records = {r[0]: (row_record(r), r[-1]) for r in rows}
        old: dict[str, builtins.list[dict[str, Any]]] = {}
        for memory_id, record in conn.execute(
            "SELECT memory_id, record FROM memory_versions WHERE tenant = %s "
            "AND memory_id = ANY(%s) ORDER BY memory_id, version",
            (tenant, ids),
        ):
            old.setdefault(memory_id, []).append(MemoryRecord.from_dict(record, tenant).to_dict())
        events: dict[str, builtins.list[dict[str, Any]]] = {}
        for r in conn.execute(
            f"SELECT {HISTORY_COLUMNS} FROM history WHERE tenant = %s AND memory_id = ANY(%s) "
            "ORDER BY id",
            (tenant, ids),
        ):
            events.setdefault(r[1], []).append(history_event(r).to_dict())
        graphs = graph.export_graph(conn, tenant, {k: v[0] for k, v in records.items()})
        for memory_id in ids:
            if memory_id not in records:
                continue
            record, embedding = records[memory_id]
            item: dict[str, Any] = {
                "type": "memory",
                "record": record.to_dict(),
                "versions": old.get(memory_id, []),
                "history": events.get(memory_id, []),
            }
            codec.add_graph(item, *graphs[memory_id])
            if vectors:
                item["vector"] = None if embedding is None else embedding.to_list()
            yield item

    def import_(self, tenant: str, items: Iterable[Mapping[str, Any]], *, at: datetime) -> int:
        """Write exported items in one transaction; existing ids are a conflict (nothing kept).

        A memory's links are written with it even when their target is not here yet (a later
        import, such as the next batch of ``migrate``, may bring it): ``links`` shows a link once
        both its ends are in the store, as always."""
        count = 0
        messages: builtins.list[tuple[Any, ...]] = []
        memories: builtins.list[tuple[Any, ...]] = []
        versions: builtins.list[tuple[Any, ...]] = []
        history: builtins.list[tuple[Any, ...]] = []
        statuses: builtins.list[tuple[Any, ...]] = []
        entities: builtins.list[tuple[Any, ...]] = []
        mentions: builtins.list[tuple[Any, ...]] = []
        relations: builtins.list[tuple[Any, ...]] = []
        links: builtins.list[tuple[Any, ...]] = []

        def flush(cur: psycopg.Cursor[Any]) -> None:
            for sql, rows in (
                (INSERT_MESSAGE + " ON CONFLICT ON CONSTRAINT messages_scope_id DO NOTHING",
                 messages),
                (INSERT_MEMORY, memories),
                (INSERT_VERSION, versions),
                (INSERT_HISTORY, history),
                (graph.INSERT_STATUS, statuses),
                (graph.INSERT_ENTITY, entities),
                (graph.INSERT_MENTION, mentions),
                (graph.INSERT_RELATION, relations),
                (graph.INSERT_LINK, links),
            ):  # fmt: skip
                if rows:
                    cur.executemany(sql, rows)
                    rows.clear()

        with self._tx() as conn, conn.cursor() as cur:
            for item in items:
                if item["type"] == "message":
                    s, m = codec.message_from_dict(item["message"], tenant)
                    messages.append(
                        (tenant, s.user_id, s.agent_id, s.run_id, m.id, m.role, m.speaker,
                         m.text, m.timestamp, Jsonb(dict(m.metadata)), at)
                    )  # fmt: skip
                    status = codec.status_from_item(item)
                    if status is not None:
                        statuses.append(
                            (tenant, s.user_id, s.agent_id, s.run_id, m.id, status.status,
                             status.attempts, status.prompt_version, status.error, status.at)
                        )  # fmt: skip
                elif item["type"] == "memory":
                    record = MemoryRecord.from_dict(item["record"], tenant=tenant)
                    memories.append(self._memory_params(record, item.get("vector")))
                    for snapshot in item.get("versions") or ():
                        old = MemoryRecord.from_dict(snapshot, tenant=tenant)
                        versions.append((tenant, record.id, old.version, record.scope.user_id,
                                         Jsonb(old.to_dict())))  # fmt: skip
                    for row in item.get("history") or ():
                        e = codec.history_from_dict(row)
                        history.append(
                            self._history_params(tenant, record.scope.user_id, record.id,
                                                 e.version, e.op, at=e.at, reason=e.reason,
                                                 prompt_version=e.prompt_version, text=e.text,
                                                 previous_text=e.previous_text, state=e.state)
                        )  # fmt: skip
                    named, mentioned, stated = graph.graph_rows(
                        record.scope, record.id, *codec.graph_from_item(item)
                    )
                    entities.extend(named)
                    mentions.extend(mentioned)
                    relations.extend(stated)
                    links.extend(graph.link_rows(tenant, codec.links_from_item(item), at))
                    count += 1
                if len(messages) + len(memories) >= BATCH:
                    flush(cur)
            flush(cur)
        return count

    # -- searches and settings -----------------------------------------------------------------
    def save_search(
        self, scope: Scope, search_id: str, at: datetime, payload: Mapping[str, Any]
    ) -> None:
        with self._tx(changes_memories=False) as conn:
            conn.execute(
                "INSERT INTO searches (tenant, id, user_id, agent_id, run_id, at, payload) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (scope.tenant, search_id, scope.user_id, scope.agent_id, scope.run_id, at,
                 Jsonb(dict(payload))),
            )  # fmt: skip

    def load_search(self, scope: Scope, search_id: str) -> dict[str, Any] | None:
        where, params = scope_sql(scope, "s")
        with self._connection() as conn:
            row = conn.execute(
                f"SELECT payload FROM searches s WHERE {where} AND s.id = %s", [*params, search_id]
            ).fetchone()
        return None if row is None else dict(row[0])

    def prune_searches(self, before: datetime) -> int:
        with self._tx(changes_memories=False) as conn:
            return conn.execute("DELETE FROM searches WHERE at < %s", (before,)).rowcount

    def get_setting(self, key: str) -> str | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT value FROM meta WHERE key = %s", (f"setting:{key}",)
            ).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, key: str, value: str) -> None:
        self._put_meta(f"setting:{key}", value)

    def _put_meta(self, key: str, value: str, conn: Conn | None = None) -> None:
        sql = (
            "INSERT INTO meta (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        if conn is not None:
            conn.execute(sql, (key, value))
            return
        with self._tx(changes_memories=False) as c:
            c.execute(sql, (key, value))

    # -- API keys -------------------------------------------------------------------------------
    def put_api_key(self, key: ApiKey) -> None:
        with self._tx(changes_memories=False) as conn:
            conn.execute(
                "INSERT INTO api_keys (id, tenant, name, key_hash, created_at, revoked_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (key.id, key.tenant, key.name, key.key_hash, key.created_at, key.revoked_at),
            )

    def api_keys(self, tenant: str | None = None) -> builtins.list[ApiKey]:
        sql = f"SELECT {API_KEY_COLUMNS} FROM api_keys"
        params: builtins.list[Any] = []
        if tenant is not None:
            sql += " WHERE tenant = %s"
            params.append(tenant)
        with self._connection() as conn:
            rows = conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [api_key_row(r) for r in rows]

    def revoke_api_key(self, key_id: str, at: datetime) -> bool:
        with self._tx(changes_memories=False) as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                (at, key_id),
            )
            return cursor.rowcount > 0

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        with self._connection() as conn:
            row = conn.execute(
                f"SELECT {API_KEY_COLUMNS} FROM api_keys "
                "WHERE key_hash = %s AND revoked_at IS NULL",
                (key_hash,),
            ).fetchone()
        return api_key_row(row) if row else None

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
        with self._tx(changes_memories=False) as conn:
            return graph.add_event(conn, scope, memory_id, op, at=at, reason=reason,
                                   prompt_version=prompt_version, text=text)  # fmt: skip

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
        with self._tx(changes_memories=False) as conn:
            graph.mark_messages(conn, scope, ids, status, at=at, prompt_version=prompt_version,
                                error=error)  # fmt: skip

    def pending_messages(
        self,
        scope: Scope,
        *,
        include_failed: bool = False,
        exact: bool = False,
        limit: int = 1000,
    ) -> builtins.list[PendingMessage]:
        with self._tx(changes_memories=False) as conn:
            return graph.pending_messages(conn, scope, include_failed=include_failed,
                                          exact=exact, limit=limit)  # fmt: skip

    def add_links(self, scope: Scope, links: Sequence[Link], *, at: datetime) -> None:
        if not links:
            return
        with self._tx(changes_memories=False) as conn:
            graph.add_links(conn, scope, links, at)

    def links(self, scope: Scope, memory_id: str) -> builtins.list[Link]:
        with self._tx(changes_memories=False) as conn:
            return graph.links(conn, scope, memory_id)

    def put_graph(
        self,
        scope: Scope,
        memory_id: str,
        entities: Sequence[Entity],
        relations: Sequence[Triple],
    ) -> None:
        with self._tx(changes_memories=False) as conn:
            graph.put_graph(conn, scope, memory_id, entities, relations)

    def find_entities(
        self, scope: Scope, keys: Sequence[str] | None = None, *, limit: int = 100
    ) -> builtins.list[Entity]:
        with self._connection(self._search_pool) as conn:
            return graph.find_entities(conn, scope, keys, limit=limit)

    def relations(
        self, scope: Scope, keys: Sequence[str], *, limit: int = 200
    ) -> builtins.list[Triple]:
        with self._connection(self._search_pool) as conn:
            return graph.relations(conn, scope, keys, limit=limit)

    def entity_search(
        self, scope: Scope, weights: Mapping[str, float], filters: Filters, *, limit: int
    ) -> builtins.list[tuple[MemoryRecord, float]]:
        with self._connection(self._search_pool) as conn:
            return graph.entity_search(conn, scope, weights, filters, limit=limit)

    def as_of(self, scope: Scope, at: datetime, filters: Filters) -> builtins.list[MemoryRecord]:
        with self._tx(changes_memories=False) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return graph.as_of(conn, scope, at, filters)

    # -- embedder bookkeeping -------------------------------------------------------------------
    def embedder_info(self) -> tuple[str, int] | None:
        with self._connection() as conn:
            rows = dict(
                conn.execute(
                    "SELECT key, value FROM meta WHERE key IN ('embedder', 'embedder_dim')"
                ).fetchall()
            )
        if "embedder" not in rows:
            return None
        return str(rows["embedder"]), int(rows["embedder_dim"])

    def put_vectors(self, tenant: str, vectors: Sequence[tuple[str, Vector]]) -> None:
        with self._tx() as conn:
            for memory_id, vector in vectors:
                conn.execute(
                    "UPDATE memories SET embedding = %s WHERE tenant = %s AND id = %s",
                    (as_vector(vector), tenant, memory_id),
                )

    def set_embedder_info(self, name: str, dim: int) -> None:
        if int(dim) < 1:
            raise InvalidInputError("an embedder's dimension must be at least 1")
        with self._tx(changes_memories=False) as conn:
            self._put_meta("embedder", name, conn)
            self._put_meta("embedder_dim", str(int(dim)), conn)

    def build_vector_index(self, dim: int | None = None) -> None:
        """Build the HNSW index for ``dim`` (default: the embedder's) now, and wait for it.

        Searches build it on their own once a scope passes ``exact_limit`` candidates; call this
        after a bulk load to have it ready before the first search.
        """
        if dim is None:
            info = self.embedder_info()
            if info is None:
                raise InvalidInputError("no embedder is recorded: name the dimension")
            dim = info[1]
        try:
            self._indexes.build(int(dim))
        except psycopg.Error as exc:
            raise StoreError(f"cannot build the HNSW index for {dim} dimensions: {exc}") from None

    # -- size and settings (for `memstrata bench`) ---------------------------------------------
    def disk_bytes(self) -> int | None:
        """The database's size on the server (every scope and table in it)."""
        with self._connection() as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else None

    def vector_index_settings(self) -> dict[str, Any]:
        with self._connection() as conn:
            row = conn.execute("SHOW maintenance_work_mem").fetchone()
        return {"exact_limit": self.exact_limit, "hnsw_ef_search_min": HNSW_EF_SEARCH,
                "hnsw_m": schema.HNSW_M, "hnsw_ef_construction": schema.HNSW_EF_CONSTRUCTION,
                "maintenance_work_mem": row[0] if row else None}  # fmt: skip

    def close(self) -> None:
        if self._search_pool is not self._pool:
            self._search_pool.close()
        self._pool.close()


def _conflict_message(exc: pgerrors.UniqueViolation) -> str:
    detail = exc.diag.message_detail or str(exc)
    constraint = exc.diag.constraint_name or ""
    if constraint.startswith("messages"):
        return f"a message is already stored in this scope ({detail})"
    if constraint.startswith("memories"):
        return f"a memory with this id already exists ({detail})"
    return f"already stored: {detail}"
