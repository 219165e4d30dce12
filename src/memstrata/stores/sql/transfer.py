"""Whole scopes in and out, on any SQL backend (the ``Transfer`` capability): the scopes a store
holds, export items read in batches, and import in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from memstrata.stores import codec
from memstrata.stores.sql import rows
from memstrata.stores.sql.core import SQLBase, TxT
from memstrata.stores.sql.dialect import chunks
from memstrata.stores.sql.graph import graph_params, read_graph
from memstrata.stores.sql.logs import setting_row, status_join
from memstrata.stores.sql.rows import HISTORY, INSERT_LINK, INSERT_MESSAGE, SCOPE_COLUMNS, SELECT
from memstrata.stores.sql.where import order, scope_sql
from memstrata.types import HistoryEvent, MemoryRecord, Scope

#: Memories per batch of an export, and rows gathered per table before an import writes them.
BATCH = 500
#: Writing an exported message: one already stored in its exact scope is kept.
IMPORT_MESSAGE = INSERT_MESSAGE + " ON CONFLICT DO NOTHING"
#: Writing an exported status: one already there is kept, as the message is.
INSERT_STATUS = (
    f"INSERT INTO message_status ({SCOPE_COLUMNS}, message_id, status, attempts, "
    "prompt_version, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
#: Writing a scope's setting from an export: one the store holds already is kept (an empty one,
#: such as rules set back to none, holds nothing).
IMPORT_SETTING = (
    "INSERT INTO meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value = ''"
)


class SQLTransfer(SQLBase[TxT]):
    def exact_scopes(self, tenant: str | None = None) -> list[Scope]:
        where = "" if tenant is None else " WHERE tenant = ?"
        params = [] if tenant is None else [tenant, tenant]
        with self._read() as tx:
            found = tx.fetchall(
                f"SELECT {SCOPE_COLUMNS} FROM (SELECT {SCOPE_COLUMNS} FROM memories{where} "
                f"UNION SELECT {SCOPE_COLUMNS} FROM messages{where}) s "
                f"ORDER BY {order(self.dialect, 'tenant', 'user_id', 'agent_id', 'run_id')}",
                params,
            )
        return [rows.scope(r[0], r[1], r[2], r[3]) for r in found]

    def export(self, scope: Scope, *, vectors: bool = False) -> Iterator[dict[str, Any]]:
        """The scope as export items, read from one snapshot where the backend keeps one."""
        where, params = scope_sql(scope)
        d = self.dialect
        with self._stream() as tx:
            yield {"type": "header", "format": codec.EXPORT_FORMAT, "scope": scope.as_dict()}
            for r in tx.stream(
                "SELECT m.id, m.user_id, m.agent_id, m.run_id, m.role, m.speaker, m.text, m.ts, "
                "m.metadata, s.status, s.attempts, s.prompt_version, s.error, s.at "
                f"FROM messages m {status_join(d)} WHERE {where} ORDER BY m.pk",
                params,
            ):
                message: dict[str, Any] = {
                    "type": "message",
                    "message": {
                        "id": r[0], "user_id": r[1], "agent_id": r[2], "run_id": r[3],
                        "role": r[4], "speaker": r[5], "text": r[6],
                        "timestamp": codec.iso(d.time_of(r[7])), "metadata": d.json_of(r[8]),
                    },
                }  # fmt: skip
                if r[9] is not None:
                    at = d.time_of(r[13])
                    assert at is not None
                    message["status"] = codec.StatusRow(r[9], r[10], at, r[11], r[12]).to_dict()
                yield message
            ids = [
                r[0]
                for r in tx.fetchall(
                    f"SELECT m.id FROM memories m WHERE {where} ORDER BY m.pk", params
                )
            ]
            for batch in chunks(ids, BATCH):
                yield from self._export_batch(tx, scope.tenant, batch, vectors)

    def _export_batch(
        self, tx: TxT, tenant: str, ids: Sequence[str], vectors: bool
    ) -> Iterator[dict[str, Any]]:
        d = self.dialect
        chosen, cparams = d.any_of("m.id", ids)
        records = {
            r[0]: (rows.record(d, r), r[-1])
            for r in tx.fetchall(
                f"SELECT {SELECT}, m.embedding FROM memories m WHERE m.tenant = ? AND {chosen}",
                [tenant, *cparams],
            )
        }
        chosen, cparams = d.any_of("memory_id", ids)
        old: dict[str, list[dict[str, Any]]] = {}
        for memory_id, value in tx.fetchall(
            f"SELECT memory_id, record FROM memory_versions WHERE tenant = ? AND {chosen} "
            "ORDER BY memory_id, version",
            [tenant, *cparams],
        ):
            old.setdefault(memory_id, []).append(rows.snapshot(d, value, tenant).to_dict())
        events: dict[str, list[dict[str, Any]]] = {}
        for r in tx.fetchall(
            f"SELECT {HISTORY} FROM history WHERE tenant = ? AND {chosen} ORDER BY id",
            [tenant, *cparams],
        ):
            events.setdefault(r[1], []).append(rows.history_event(d, r).to_dict())
        graphs = read_graph(tx, d, tenant, {k: v[0] for k, v in records.items()})
        for memory_id in ids:
            if memory_id not in records:
                continue  # purged while exporting
            record, embedding = records[memory_id]
            item: dict[str, Any] = {
                "type": "memory",
                "record": record.to_dict(),
                "versions": old.get(memory_id, []),
                "history": events.get(memory_id, []),
            }
            codec.add_graph(item, *graphs[memory_id])
            if vectors:
                vector = d.vector_of(embedding)
                item["vector"] = None if vector is None else vector.tolist()
            yield item

    def import_(self, tenant: str, items: Iterable[Mapping[str, Any]], *, at: datetime) -> int:
        """Write exported items in one transaction; existing ids are a conflict (nothing kept).
        A ``settings`` item (``{"type": "settings", "values": {key: value}}``, as
        ``write.importing`` makes it of an export's) writes each setting the store does not
        hold yet.

        A memory's links are written with it even when their target is not here yet (a later
        import, such as the next batch of ``migrate``, may bring it): ``links`` shows a link once
        both its ends are in the store, as always."""
        d = self.dialect
        count = 0
        pending: dict[str, list[tuple[Any, ...]]] = {}
        records: list[MemoryRecord] = []
        vectors: list[Any] = []
        events: list[tuple[Scope, HistoryEvent]] = []

        def flush(tx: TxT) -> None:
            self._insert_memories(tx, records, vectors)
            records.clear()
            vectors.clear()
            for sql, params in pending.items():
                if params:
                    tx.executemany(sql, params)
            pending.clear()
            self._insert_history(tx, events)
            events.clear()

        def later(sql: str, params: Iterable[tuple[Any, ...]]) -> None:
            pending.setdefault(sql, []).extend(params)

        with self._write() as tx:
            for item in items:
                if item["type"] == "message":
                    s, m = codec.message_from_dict(item["message"], tenant)
                    later(IMPORT_MESSAGE, [rows.message_params(d, s, m, at)])
                    status = codec.status_from_item(item)
                    if status is not None:
                        later(INSERT_STATUS, [(tenant, s.user_id, s.agent_id, s.run_id, m.id,
                                               status.status, status.attempts,
                                               status.prompt_version, status.error,
                                               d.time(status.at))])  # fmt: skip
                elif item["type"] == "settings":
                    later(IMPORT_SETTING, [(setting_row(k), v) for k, v in item["values"].items()])
                elif item["type"] == "memory":
                    record = MemoryRecord.from_dict(item["record"], tenant=tenant)
                    records.append(record)
                    vectors.append(item.get("vector"))
                    later(self._sql.insert_version, [
                        rows.version_params(d, record, MemoryRecord.from_dict(v, tenant=tenant))
                        for v in item.get("versions") or ()
                    ])  # fmt: skip
                    events.extend(
                        (record.scope, replace(codec.history_from_dict(h), memory_id=record.id))
                        for h in item.get("history") or ()
                    )
                    for sql, params in graph_params(record.scope, record.id,
                                                    *codec.graph_from_item(item)):  # fmt: skip
                        later(sql, params)
                    later(INSERT_LINK, rows.link_params(d, tenant, codec.links_from_item(item), at))
                    count += 1
                if len(records) + len(pending.get(IMPORT_MESSAGE, ())) >= BATCH:
                    flush(tx)
            flush(tx)
        return count
