"""Links between memories and the entity graph, on any SQL backend (the ``Links`` and
``EntityGraph`` capabilities), and what export and import read and write of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from memstrata.ports import Entity, Link, Triple
from memstrata.stores.sql import rows
from memstrata.stores.sql.core import GRAPH_TABLES, SQLBase, TxT
from memstrata.stores.sql.dialect import Dialect, Tx
from memstrata.stores.sql.rows import INSERT_ENTITY, INSERT_MENTION, INSERT_RELATION, SELECT
from memstrata.stores.sql.where import (
    exact_scope_sql,
    filters_sql,
    order,
    scope_rows_sql,
    scope_sql,
)
from memstrata.types import Filters, MemoryRecord, Scope

#: Per memory: the links whose source it is, the entities it names, the relations it states.
Graph = tuple[list[Link], list[Entity], list[Triple]]


def graph_params(
    own: Scope, memory_id: str, entities: Sequence[Entity], relations: Sequence[Triple]
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The statements and parameters that write what a memory names and states, entities
    registered under the memory's own scope (a name written first stays)."""
    o = own
    return [
        (INSERT_ENTITY, [(o.tenant, o.user_id, o.agent_id, o.run_id, e.key, e.name)
                         for e in entities]),
        (INSERT_MENTION, [(o.tenant, memory_id, e.key) for e in entities]),
        (INSERT_RELATION, [(o.tenant, memory_id, t.subject_key, t.subject, t.predicate,
                            t.object_key, t.object) for t in relations]),
    ]  # fmt: skip


def read_graph(
    tx: Tx, d: Dialect, tenant: str, records: Mapping[str, MemoryRecord]
) -> dict[str, Graph]:
    """For each memory: the links whose source it is (whether or not the other end is here
    yet), the entities it names (under the name its scope knows each by) and its relations."""
    ids = list(records)
    out: dict[str, Graph] = {i: ([], [], []) for i in ids}
    if not ids:
        return out
    chosen, cparams = d.any_of("source", ids)
    for r in tx.fetchall(
        f"SELECT source, target, kind, score, at FROM links WHERE tenant = ? AND {chosen}",
        [tenant, *cparams],
    ):
        out[r[0]][0].append(rows.link(d, r))
    chosen, cparams = d.any_of("memory_id", ids)
    mentions = tx.fetchall(
        f"SELECT memory_id, key FROM entity_mentions WHERE tenant = ? AND {chosen}",
        [tenant, *cparams],
    )
    wanted: dict[Scope, set[str]] = {}
    for memory_id, key in mentions:
        wanted.setdefault(records[memory_id].scope, set()).add(key)
    names: dict[tuple[Scope, str], str | None] = {}
    for scope, keys in wanted.items():  # one lookup per exact scope, by its unique index
        where, params = exact_scope_sql(d, scope, "e")
        chosen, kparams = d.any_of("e.key", sorted(keys))
        for key, name in tx.fetchall(
            f"SELECT e.key, e.name FROM entities e WHERE {where} AND {chosen}", [*params, *kparams]
        ):
            names[(scope, key)] = name
    for memory_id, key in mentions:
        name = names.get((records[memory_id].scope, key))
        out[memory_id][1].append(Entity(key=key, name=key if name is None else name))
    chosen, cparams = d.any_of("memory_id", ids)
    for r in tx.fetchall(
        "SELECT subject_key, subject, predicate, object_key, object, memory_id FROM relations "
        f"WHERE tenant = ? AND {chosen}",
        [tenant, *cparams],
    ):
        out[r[5]][2].append(Triple(*r))
    return out


class SQLGraph(SQLBase[TxT]):
    # -- links ------------------------------------------------------------------------------------
    def add_links(self, scope: Scope, links: Sequence[Link], *, at: datetime) -> None:
        if not links:
            return
        where, params = scope_sql(scope)
        in_scope = f"EXISTS (SELECT 1 FROM memories m WHERE {where} AND m.id = ?)"
        with self._write(changes_memories=False) as tx:
            tx.executemany(
                "INSERT INTO links (tenant, source, target, kind, score, at) "
                f"SELECT ?, ?, ?, ?, ?, ? WHERE {in_scope} AND {in_scope} ON CONFLICT DO NOTHING",
                [(*row, *params, row[1], *params, row[2])
                 for row in rows.link_params(self.dialect, scope.tenant, links, at)],
            )  # fmt: skip

    def links(self, scope: Scope, memory_id: str) -> list[Link]:
        where, params = scope_sql(scope)
        with self._read() as tx:
            self._current(tx, scope, memory_id)
            found = tx.fetchall(
                "SELECT l.source, l.target, l.kind, l.score, l.at FROM links l "
                "JOIN memories m ON m.tenant = l.tenant "
                "AND m.id = CASE WHEN l.source = ? THEN l.target ELSE l.source END "
                f"WHERE l.tenant = ? AND (l.source = ? OR l.target = ?) AND {where} "
                f"ORDER BY l.at, {order(self.dialect, 'l.source', 'l.target')}",
                [memory_id, scope.tenant, memory_id, memory_id, *params],
            )
        return [rows.link(self.dialect, r) for r in found]

    # -- the entity graph -------------------------------------------------------------------------
    def put_graph(
        self,
        scope: Scope,
        memory_id: str,
        entities: Sequence[Entity],
        relations: Sequence[Triple],
    ) -> None:
        with self._write(changes_memories=False) as tx:
            _, record = self._current(tx, scope, memory_id, lock=True)
            own = record.scope
            for table in GRAPH_TABLES:
                tx.execute(
                    f"DELETE FROM {table} WHERE tenant = ? AND memory_id = ?",
                    [own.tenant, memory_id],
                )
            for sql, params in graph_params(own, memory_id, entities, relations):
                if params:
                    tx.executemany(sql, params)

    def find_entities(
        self, scope: Scope, keys: Sequence[str] | None = None, *, limit: int = 100
    ) -> list[Entity]:
        if keys is not None and not keys:
            return []
        ewhere, eparams = scope_rows_sql(self.dialect, scope, "e")
        mwhere, mparams = scope_sql(scope)
        chosen, cparams = ("", []) if keys is None else self.dialect.any_of("e.key", keys)
        with self._read(search=True) as tx:
            found = tx.fetchall(
                "SELECT k.key, k.name, k.mentions FROM (SELECT e.key, "
                f"min(e.name{self.dialect.collate}) AS name, (SELECT count(DISTINCT em.memory_id) "
                "FROM entity_mentions em JOIN memories m ON m.tenant = em.tenant "
                f"AND m.id = em.memory_id WHERE em.tenant = ? AND em.key = e.key AND {mwhere} "
                f"AND m.state = 'active') AS mentions FROM entities e WHERE {ewhere}"
                f"{' AND ' + chosen if chosen else ''} GROUP BY e.key) k WHERE k.mentions > 0 "
                f"ORDER BY k.mentions DESC, {order(self.dialect, 'k.key')} LIMIT ?",
                [scope.tenant, *mparams, *eparams, *cparams, limit],
            )
        return [Entity(key=r[0], name=r[1], mentions=r[2]) for r in found]

    def relations(self, scope: Scope, keys: Sequence[str], *, limit: int = 200) -> list[Triple]:
        if not keys:
            return []
        where, params = scope_sql(scope)
        subject, sparams = self.dialect.any_of("r.subject_key", keys)
        object_, oparams = self.dialect.any_of("r.object_key", keys)
        with self._read(search=True) as tx:
            found = tx.fetchall(
                "SELECT r.subject_key, r.subject, r.predicate, r.object_key, r.object, "
                "r.memory_id FROM relations r JOIN memories m ON m.tenant = r.tenant "
                f"AND m.id = r.memory_id WHERE {where} AND m.state = 'active' "
                f"AND m.expired_at IS NULL AND ({subject} OR {object_}) "
                "ORDER BY m.pk DESC LIMIT ?",
                [*params, *sparams, *oparams, limit],
            )
        return [Triple(*r) for r in found]

    def entity_search(
        self, scope: Scope, weights: Mapping[str, float], filters: Filters, *, limit: int
    ) -> list[tuple[MemoryRecord, float]]:
        if not weights:
            return []
        pairs, pparams = self.dialect.pairs(weights)
        where, params = scope_sql(scope)
        fwhere, fparams = filters_sql(self.dialect, filters)
        with self._read(search=True) as tx:
            found = tx.fetchall(
                f"WITH w (key, weight) AS ({pairs}) "
                f"SELECT s.score, {SELECT} FROM (SELECT em.memory_id, sum(w.weight) AS score "
                "FROM w JOIN entity_mentions em ON em.tenant = ? AND em.key = w.key "
                "GROUP BY em.memory_id) s "
                f"JOIN memories m ON m.tenant = ? AND m.id = s.memory_id WHERE {where} "
                f"AND {fwhere} ORDER BY s.score DESC, m.importance DESC, m.pk DESC LIMIT ?",
                [*pparams, scope.tenant, scope.tenant, *params, *fparams, limit],
            )
        return [(rows.record(self.dialect, r[1:]), float(r[0])) for r in found]
