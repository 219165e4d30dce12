"""The server store: PostgreSQL with pgvector (HNSW, cosine) and full-text search (tsvector, GIN).

The queries are the shared core's (``stores.sql``); this module keeps what is PostgreSQL's own:
the connection pools, the URL options, keyword ranking with ``ts_rank_cd``, and vector search.
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

from collections.abc import Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pgerrors
from psycopg.types import TypeInfo
from psycopg_pool import ConnectionPool, PoolTimeout

from memstrata.errors import InvalidInputError, StoreError
from memstrata.ports import Vector
from memstrata.stores.postgres import schema
from memstrata.stores.postgres.dialect import PostgresDialect, tsquery_text
from memstrata.stores.postgres.schema import TEXT_SEARCH_CONFIG
from memstrata.stores.postgres.vectors import Conn, VectorIndexes
from memstrata.stores.sql import SQLStore, rows
from memstrata.stores.sql.core import conflict
from memstrata.stores.sql.dialect import Row
from memstrata.stores.sql.rows import SELECT
from memstrata.stores.sql.where import stored_states
from memstrata.types import Filters, MemoryRecord, Scope

#: Options memstrata reads from the URL's query string (libpq would refuse them).
_URL_OPTIONS = ("pool_size", "exact_limit", "prepare_threshold", "search_url")
#: The least ``hnsw.ef_search`` (candidates the HNSW graph walk keeps) of an approximate search;
#: a search for more than half as many hits asks for twice the hits.
HNSW_EF_SEARCH = 200
#: Rows a large read fetches at a time (``PgTx.stream``).
BATCH = 500
#: Keyword weights {D, C, B, A}: the text is weighted A, the keys B (as bm25(1.0, 0.5) in SQLite).
RANK_WEIGHTS = "{0, 0, 0.5, 1.0}"
_TSQUERY = f"to_tsquery('{TEXT_SEARCH_CONFIG}', ?)"


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


class PgTx:
    """Statements on one pooled connection (``?`` placeholders become psycopg's ``%s``)."""

    def __init__(self, conn: Conn, dialect: PostgresDialect) -> None:
        self.conn = conn
        self._sql = dialect.sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(self._sql(sql), params).rowcount

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(self._sql(sql), rows)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(self._sql(sql), params, binary=True).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self.conn.execute(self._sql(sql), params, binary=True).fetchone()

    def insert(self, sql: str, rows: Sequence[Sequence[Any]], key: str) -> list[int]:
        keys: list[int] = []
        with self.conn.cursor() as cur:
            cur.executemany(self._sql(f"{sql} RETURNING {key}"), rows, returning=True)
            for _ in rows:
                row = cur.fetchone()
                assert row is not None
                keys.append(int(row[0]))
                cur.nextset()
        return keys

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        """A server-side cursor (the connection must be in a transaction)."""
        with self.conn.cursor(name="memstrata_stream") as cur:
            cur.itersize = BATCH
            cur.execute(self._sql(sql), params)
            yield from cur


class PostgresStore(SQLStore[PgTx]):
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

    dialect: PostgresDialect

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
        super().__init__(PostgresDialect())
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
        self._indexes = VectorIndexes(conninfo, self._connect_kwargs)
        self._pool = self._open_pool(conninfo, pool_size, timeout, "memstrata")
        self._search_pool = self._pool
        self.search_url = None if search_url is None else redact(search_url)
        if search_url is not None:
            self._search_pool = self._open_pool(search_url, pool_size, timeout, "memstrata-search")
        with self._write() as tx:
            # One process counts the read engine's figures again when they are missing or
            # were counted another way; the others wait for it, then find them current.
            tx.execute("SELECT pg_advisory_xact_lock(?)", [schema.MIGRATION_LOCK])
            if not self._figures_current(tx):
                self.rebuild_figures(tx)

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    @property
    def read_only(self) -> bool:
        return False

    # -- connections ----------------------------------------------------------------------------
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
    def _connection(self, pool: ConnectionPool[Conn] | None = None) -> Iterator[Conn]:
        """A pooled connection in autocommit mode, with psycopg's exceptions translated."""
        try:
            with (pool or self._pool).connection() as conn:
                yield conn
        except pgerrors.UniqueViolation as exc:
            detail = exc.diag.message_detail or str(exc)
            raise conflict(exc.diag.constraint_name or "", detail) from None
        except psycopg.DataError as exc:
            raise InvalidInputError(f"PostgreSQL refused a value: {exc}") from None
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreError(f"PostgreSQL store at {self.url} failed: {exc}") from None

    @contextmanager
    def _read(self, *, search: bool = False, snapshot: bool = False) -> Iterator[PgTx]:
        with self._connection(self._search_pool if search else self._pool) as conn:
            if not snapshot:
                yield PgTx(conn, self.dialect)
                return
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield PgTx(conn, self.dialect)

    @contextmanager
    def _stream(self, *, search: bool = False) -> Iterator[PgTx]:
        with self._read(search=search, snapshot=True) as tx:
            yield tx

    @contextmanager
    def _write(self, *, changes_memories: bool = True) -> Iterator[PgTx]:
        """A transaction on the primary. After a commit that may have changed memories, the
        ``memstrata_changes`` sequence moves on, so in-memory indexes built at an older
        ``stamp`` are rebuilt."""
        with self._connection() as conn:
            with conn.transaction():
                yield PgTx(conn, self.dialect)
            if changes_memories:
                conn.execute("SELECT nextval('memstrata_changes')")

    def _stamp(self, tx: PgTx) -> Any:
        """The ``memstrata_changes`` sequence: it moves on after every commit that may have
        changed memories (in any process)."""
        row = tx.fetchone("SELECT last_value, is_called FROM memstrata_changes")
        return None if row is None else (int(row[0]), bool(row[1]))

    # -- keywords: the tsvector column, ranked by ts_rank_cd ------------------------------------
    def _count_word(self, tx: PgTx, space: Hashable, word: str, cap: int) -> int:
        row = tx.fetchone(
            f"SELECT count(*) FROM (SELECT 1 FROM memories m WHERE m.search @@ {_TSQUERY} "
            "LIMIT ?) c",
            [tsquery_text([word]), cap],
        )
        return int(row[0]) if row else 0

    def _rank_words(
        self,
        tx: PgTx,
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
        match = tsquery_text(words)
        # (pk, score) pairs only: the sort then holds two numbers per match instead of whole
        # rows (twice as fast at 1,500 matches). Never prepared: a generic plan parses the
        # query again for every row it ranks (five times slower).
        found = tx.conn.execute(
            self.dialect.sql(
                f"SELECT m.pk, ts_rank_cd(?, m.search, {_TSQUERY}, 1) AS score "
                f"FROM memories m WHERE m.search @@ {_TSQUERY} AND {where} "
                "ORDER BY score DESC, m.pk DESC LIMIT ?"
            ),
            [RANK_WEIGHTS, match, match, *params, limit],
            prepare=False,
        ).fetchall()
        return [(int(pk), float(score)) for pk, score in found]

    # -- vectors: exact under exact_limit candidates, the HNSW index past it ------------------
    def vector_search(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> list[tuple[MemoryRecord, float]]:
        found = self._vector_rows(scope, vector, filters, limit, SELECT)
        return [(rows.record(self.dialect, r[1:]), _similarity(r[0])) for r in found]

    def vector_keys(
        self, scope: Scope, vector: Vector, filters: Filters, *, limit: int
    ) -> list[tuple[int, float]]:
        found = self._vector_rows(scope, vector, filters, limit, "m.pk")
        return [(int(r[1]), _similarity(r[0])) for r in found]

    def _vector_rows(
        self, scope: Scope, vector: Vector, filters: Filters, limit: int, columns: str
    ) -> list[Row]:
        """The best ``limit`` memories by their vector's distance to ``vector``: the distance,
        then ``columns`` of ``memories m``, nearest first."""
        query = self.dialect.vector(vector)
        assert query is not None
        dim = int(query.shape[0])
        if dim == 0 or limit < 1:
            return []
        where, params = self._where(scope, filters)
        base = f"{where} AND vector_dims(m.embedding) = {dim}"
        with self._connection(self._search_pool) as conn, conn.transaction():
            tx = PgTx(conn, self.dialect)
            # Counted from the scope's B-tree index alone (the vectors' dimension is not in it,
            # and reading every vector to check it costs more than the search), and kept while
            # nothing changes: without the moment memory is read at, which changes every call
            # and leaves out only the few memories that expired or ended.
            stored = replace(filters, current_at=None, states=stored_states(filters))
            counted, cparams = self._where(scope, stored)
            candidates = self._cached_count(
                tx, f"SELECT count(*) FROM (SELECT 1 FROM memories m WHERE {counted} LIMIT ?) c",
                [*cparams, self.exact_limit + 1],
            )  # fmt: skip
            if candidates == 0:
                return []
            found: list[Row] = []
            if candidates > self.exact_limit and self._indexes.ready(conn, dim):
                # Approximate: the HNSW index on embedding::vector(dim), same cast and predicate.
                ef_search = min(1000, max(HNSW_EF_SEARCH, 2 * limit))
                conn.execute(f"SET LOCAL hnsw.ef_search = {ef_search}")
                found = tx.fetchall(
                    f"SELECT (m.embedding::vector({dim})) <=> ?::vector({dim}) AS distance, "
                    f"{columns} FROM memories m WHERE {base} ORDER BY distance LIMIT ?",
                    [query, *params, limit],
                )
            if len(found) < min(limit, candidates):
                found = tx.fetchall(
                    f"SELECT m.embedding <=> ? AS distance, {columns} FROM memories m "
                    f"WHERE {base} ORDER BY distance, m.pk LIMIT ?",
                    [query, *params, limit],
                )
        return found

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
        with self._read() as tx:
            row = tx.fetchone("SELECT pg_database_size(current_database())")
        return int(row[0]) if row else None

    def vector_index_settings(self) -> dict[str, Any]:
        with self._read() as tx:
            row = tx.fetchone("SHOW maintenance_work_mem")
        return {"exact_limit": self.exact_limit, "hnsw_ef_search_min": HNSW_EF_SEARCH,
                "hnsw_m": schema.HNSW_M, "hnsw_ef_construction": schema.HNSW_EF_CONSTRUCTION,
                "maintenance_work_mem": row[0] if row else None}  # fmt: skip

    def tidy(self, *, budget: int) -> bool:
        """Nothing: PostgreSQL's own autovacuum keeps its indexes."""
        return False

    def close(self) -> None:
        if self._search_pool is not self._pool:
            self._search_pool.close()
        self._pool.close()


def _similarity(distance: Any) -> float:
    """A cosine distance as a similarity (a zero vector's NaN distance: 0)."""
    value = float(distance)
    return 0.0 if value != value else 1.0 - value
