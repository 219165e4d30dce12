"""The HNSW index of each embedding dimension, built when a search first needs it.

Below ``exact_limit`` candidates a search is an exact distance sort, so small stores never pay
for keeping an HNSW graph up to date on every insert (with pgvector 0.6 that costs far more than
the insert itself; building the index after a bulk load is several times faster than growing it
row by row). The first search that finds more candidates starts ``CREATE INDEX CONCURRENTLY`` on
a thread of its own, which does not block writers, and keeps answering exactly until the index is
valid. A build that died half-way leaves an invalid index; the next attempt drops and rebuilds it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Literal

import psycopg
from psycopg import errors as pgerrors

from memstrata.stores.postgres.schema import hnsw_index_name, hnsw_index_sql

logger = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]

Status = Literal["valid", "building", "invalid", "missing"]

#: Seconds between two looks at the catalog while an index is missing or being built.
RECHECK = 10.0


def index_status(conn: Conn, dim: int) -> Status:
    row = conn.execute(
        "SELECT i.indisvalid, EXISTS (SELECT 1 FROM pg_stat_progress_create_index p "
        "WHERE p.index_relid = i.indexrelid) FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
        (hnsw_index_name(dim),),
    ).fetchone()
    if row is None:
        return "missing"
    if row[0]:
        return "valid"
    return "building" if row[1] else "invalid"


def build_index(conninfo: str, connect_kwargs: dict[str, Any], dim: int) -> None:
    """Create the HNSW index for ``dim`` and return when it is valid (or being built elsewhere)."""
    with psycopg.connect(conninfo, **{**connect_kwargs, "autocommit": True}) as conn:
        status = index_status(conn, dim)
        if status in ("valid", "building"):
            return
        if status == "invalid":
            conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {hnsw_index_name(dim)}")
        create = hnsw_index_sql(dim)
        try:
            conn.execute(create.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1))
        except pgerrors.FeatureNotSupported:  # a partitioned table: no CONCURRENTLY
            conn.execute(create)


class VectorIndexes:
    """What this process knows of the HNSW indexes, and the builds it has started."""

    def __init__(self, conninfo: str, connect_kwargs: dict[str, Any]) -> None:
        self._conninfo = conninfo
        self._connect_kwargs = connect_kwargs
        self._lock = threading.Lock()
        self._ready: set[int] = set()
        self._failed: set[int] = set()
        self._next_look: dict[int, float] = {}
        self._builds: dict[int, threading.Thread] = {}

    def ready(self, conn: Conn, dim: int) -> bool:
        """Whether the index for ``dim`` can answer now; starts building it when it is missing."""
        with self._lock:
            if dim in self._ready:
                return True
            now = time.monotonic()
            if dim in self._failed or now < self._next_look.get(dim, 0.0):
                return False
            self._next_look[dim] = now + RECHECK
        status = index_status(conn, dim)
        with self._lock:
            if status == "valid":
                self._ready.add(dim)
                return True
            build = self._builds.get(dim)
            if status != "building" and (build is None or not build.is_alive()):
                build = threading.Thread(
                    target=self._build, args=(dim,), name=f"memstrata-hnsw-{dim}", daemon=True
                )
                self._builds[dim] = build
                build.start()
        return False

    def build(self, dim: int) -> None:
        """Build the index for ``dim`` now, on this thread."""
        build_index(self._conninfo, self._connect_kwargs, dim)
        with self._lock:
            self._next_look.pop(dim, None)

    def _build(self, dim: int) -> None:
        try:
            self.build(dim)
        except (pgerrors.UniqueViolation, pgerrors.DuplicateTable, pgerrors.LockNotAvailable):
            pass  # another process got there first: look again later
        except psycopg.Error as exc:
            logger.warning("cannot build the HNSW index for %d dimensions: %s", dim, exc)
            with self._lock:
                self._failed.add(dim)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the builds this process started (tests and benchmarks use it)."""
        with self._lock:
            builds = list(self._builds.values())
        for build in builds:
            build.join(timeout)
