"""The SQL core both stores share: every query that is the same on SQLite and PostgreSQL,
written once over a small ``Dialect``.

- ``dialect``: what a backend supplies (``Dialect``: values and the clauses that differ;
  ``Tx``: statements on one connection).
- ``rows``: column lists, records and events as parameters and back.
- ``where``: scope and filter fragments, ``matches``, sort orders, list cursors (pure).
- ``core``: the hooks a backend implements and the steps the queries are made of.
- ``records``, ``logs``, ``graph``, ``transfer``, ``changes``: the capabilities of
  ``ports.store``; ``engine``: the figures the read engine reads (``ScopeFigures``) and their
  bookkeeping.

A backend subclasses ``SQLStore`` and keeps only what truly differs: connections and
transactions, schema and migrations, its dialect, full-text ranking, and vector search.
"""

from __future__ import annotations

from memstrata.stores.sql.changes import SQLChanges
from memstrata.stores.sql.core import TxT
from memstrata.stores.sql.engine import SQLEngine
from memstrata.stores.sql.graph import SQLGraph
from memstrata.stores.sql.logs import SQLLogs
from memstrata.stores.sql.records import SQLRecords
from memstrata.stores.sql.transfer import SQLTransfer


class SQLStore(
    SQLRecords[TxT],
    SQLLogs[TxT],
    SQLGraph[TxT],
    SQLTransfer[TxT],
    SQLChanges[TxT],
    SQLEngine[TxT],
):
    """Every capability of ``ports.Store`` but ``vector_search``, ``read_only`` and ``close``,
    over the backend's hooks (``core.SQLBase``)."""


__all__ = ["SQLStore"]
