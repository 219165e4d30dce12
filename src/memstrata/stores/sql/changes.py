"""The change feed on any SQL backend: the history table read in order of its ids, each event
with the scope of its memory (``ports.store.ChangeFeed``)."""

from __future__ import annotations

import builtins

from memstrata.errors import InvalidInputError
from memstrata.stores.sql.core import SQLBase, TxT
from memstrata.stores.sql.rows import scope as scope_of
from memstrata.stores.sql.where import scope_sql
from memstrata.types import CHANGE_OPS, Change, Scope

#: The most changes one call returns.
MAX_CHANGES = 1000


class SQLChanges(SQLBase[TxT]):
    def changes(
        self, tenant: str, scope: Scope | None, *, after: int = 0, limit: int = 100
    ) -> builtins.list[Change]:
        if not 1 <= limit <= MAX_CHANGES:
            raise InvalidInputError(f"limit must be from 1 to {MAX_CHANGES}")
        if after < 0:
            raise InvalidInputError("after must be a change id (0 or more)")
        ops = self.dialect.any_of("h.op", list(CHANGE_OPS))
        where, params = f"h.tenant = ? AND h.id > ? AND {ops[0]}", [tenant, after, *ops[1]]
        if scope is not None:
            confined, cparams = scope_sql(scope, "m")
            where += f" AND {confined}"
            params += cparams
        with self._read() as tx:
            found = tx.fetchall(
                "SELECT h.id, h.op, h.memory_id, h.version, h.at, h.state, m.user_id, "
                "m.agent_id, m.run_id FROM history h LEFT JOIN memories m "
                f"ON m.tenant = h.tenant AND m.id = h.memory_id WHERE {where} "
                "ORDER BY h.id LIMIT ?",
                [*params, limit],
            )
        out = []
        for row in found:
            at = self.dialect.time_of(row[4])
            assert at is not None
            where_ = scope_of(tenant, *row[6:9]) if any(row[6:9]) else None
            change = Change(int(row[0]), row[1], row[2], int(row[3]), at, where_, row[5])
            out.append(change)
        return out
