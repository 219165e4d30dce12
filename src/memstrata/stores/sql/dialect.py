"""What the shared SQL core asks of a backend: a ``Dialect`` (how values and a few clauses are
written) and a ``Tx`` (one connection's statements).

Every statement of the core is written with ``?`` placeholders; a ``Tx`` hands it to its
database in the backend's own style (``Dialect.sql``). Values pass through the dialect on the
way in (``time``, ``json``, ``strings``, ``vector``) and on the way out (``time_of``, …), so a
row reads back as the same record on every backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from memstrata.ports import Vector
from memstrata.types import MemoryRecord

#: A row as a database returns it.
Row = Sequence[Any]
#: A metadata filter's value (``Filters.metadata``).
Scalar = str | int | float | bool | None


class Dialect(Protocol):
    """How one backend writes values and the clauses that differ between backends."""

    #: ``history`` and ``memory_versions`` carry ``user_id``, and every statement that touches
    #: one memory names its ``user_id`` (so it reaches one partition or shard).
    by_user: bool
    #: Appended to the read of a row that the same transaction changes next (a row lock).
    lock: str
    #: The most values one ``any_of`` list may hold; longer lists go in several statements.
    max_list: int
    #: ``COLLATE`` clause that sorts text by its bytes, and the clause that sorts NULL first
    #: (SQLite does both by default).
    collate: str
    nulls_first: str
    #: Columns of ``memories`` the backend derives from a record's text and keys, with their
    #: values (``index_params``): a full-text vector kept in the row; ``""`` when none.
    index_columns: str
    index_values: str

    def sql(self, text: str) -> str:
        """A statement written with ``?`` placeholders, in this backend's style."""
        ...

    def through(self, index: str) -> str:
        """Written after a table and its alias: read the table through ``index``. SQLite's
        planner, without statistics, prefers a scope's index (thousands of rows) to a
        narrower one; PostgreSQL's has statistics and needs no hint (``""``)."""
        ...

    def by_key(self) -> str:
        """Written after a table and its alias: read the rows a statement names by their
        integer key straight from the table. SQLite's planner would seek each key in a scope's
        index first, and then in the table; PostgreSQL's needs no hint (``""``)."""
        ...

    # -- values in and out ------------------------------------------------------------------------
    def time(self, value: datetime | None) -> Any: ...

    def time_of(self, value: Any) -> datetime | None: ...

    def json(self, value: Any) -> Any: ...

    def json_of(self, value: Any) -> Any: ...

    def strings(self, values: Sequence[str]) -> Any: ...

    def strings_of(self, value: Any) -> tuple[str, ...]: ...

    def vector(self, value: Any) -> Any:
        """A vector (any sequence of floats), or None, as the ``embedding`` column takes it."""
        ...

    def vector_of(self, value: Any) -> Vector | None: ...

    def kept(self, value: Any) -> Vector | None:
        """A vector (or None) as the store keeps it: what ``vector_of`` reads back once it is
        written. The figures count vectors so, as a recount from the rows would."""
        ...

    def days_of(self, values: Sequence[Any]) -> list[int]:
        """The day (its ordinal) of each of ``values``, times as the store keeps them, as
        ``time_of(value).toordinal()``; none is ``None``."""
        ...

    def matrix_of(self, values: Sequence[Any]) -> Vector:
        """``values``, vectors as the store keeps them, as the rows of one matrix: zeros for a
        ``None``, no column at all when every one is ``None``."""
        ...

    def index_params(self, record: MemoryRecord) -> tuple[Any, ...]:
        """The parameters of ``index_values`` for a record."""
        ...

    # -- clauses ---------------------------------------------------------------------------------
    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values`` (at most ``max_list``; at least one)."""
        ...

    def exact(self, column: str, value: str | None) -> tuple[str, list[Any]]:
        """``column`` equals ``value``, NULL equal to NULL, in the form the backend's indexes
        on scope columns serve."""
        ...

    def same(self, left: str, right: str) -> str:
        """Two nullable columns are equal, NULL equal to NULL."""
        ...

    def metadata_equals(self, column: str, key: str, value: Scalar) -> tuple[str, list[Any]]:
        """The JSON object in ``column`` has ``value`` at ``key`` (None: the key is missing or
        null); booleans equal the numbers 1 and 0, and numbers compare by value."""
        ...

    # -- the ``where`` filter (``memstrata.where``) ----------------------------------------------
    # Each returns a predicate that is never NULL (so ``NOT`` of it is its complement), over the
    # JSON value at ``path`` (keys, outermost first) of the JSON object in ``column``.
    def json_exists(self, column: str, path: Sequence[str]) -> tuple[str, list[Any]]:
        """The value is present and not null."""
        ...

    def json_compare(
        self, column: str, path: Sequence[str], op: str, value: str | int | float | bool
    ) -> tuple[str, list[Any]]:
        """The value is of ``value``'s JSON type (string, number, boolean) and ``op`` (``=``,
        ``<``, ``<=``, ``>``, ``>=``; booleans only ``=``) holds; strings compare by code point."""
        ...

    def json_contains(
        self, column: str, path: Sequence[str], value: str | int | float | bool
    ) -> tuple[str, list[Any]]:
        """The value is a string holding the string ``value``, or an array with an element of
        ``value``'s type equal to it."""
        ...

    def substring(self, column: str) -> str:
        """The text ``column`` (not null) holds the string bound to one ``?`` (case matters)."""
        ...

    def list_has(self, column: str) -> str:
        """The list of strings ``column`` has an element equal to the string bound to one ``?``."""
        ...

    def conflict(self, table: str) -> str:
        """The ``ON CONFLICT`` target of ``table``'s unique key by exact scope."""
        ...

    def pairs(self, weights: Mapping[str, float]) -> tuple[str, list[Any]]:
        """A query of the rows ``(key, weight)`` (at least one), for ``WITH w (key, weight)``."""
        ...

    def words(self, text: str) -> list[str]:
        """The distinct words of a keyword query that full-text search may ask for, sorted."""
        ...


class Tx(Protocol):
    """Statements on one connection (in a transaction, for writes). Each takes a statement
    written with ``?`` placeholders and its parameters."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    def insert(self, sql: str, rows: Sequence[Sequence[Any]], key: str) -> list[int]:
        """Insert ``rows`` with the ``INSERT`` statement ``sql``; return each new row's integer
        ``key`` column, in order."""
        ...

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        """The rows of a query that may be large, read in batches where the backend can."""
        ...


def marks(count: int) -> str:
    """``?, ?, …``: ``count`` placeholders."""
    return ", ".join("?" * count)


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``values`` in slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
