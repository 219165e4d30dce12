"""The small tables, on any SQL backend: the message log and the LLM write path's queue
(``MessageLog``), kept searches (``SearchLog``), settings and the embedder record
(``StoredSettings``), and API keys (``ApiKeys``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from memstrata.errors import InvalidInputError
from memstrata.ports import ApiKey, MessageStatus, PendingMessage
from memstrata.stores.sql import rows
from memstrata.stores.sql.core import SQLBase, TxT
from memstrata.stores.sql.dialect import Dialect, chunks, marks
from memstrata.stores.sql.rows import API_KEY, MESSAGE, SCOPE_COLUMNS
from memstrata.stores.sql.where import exact_scope_sql, scope_sql
from memstrata.types import Message, Scope


def setting_row(key: str) -> str:
    """The ``meta`` row that holds the setting ``key``."""
    return f"setting:{key}"


def status_join(d: Dialect) -> str:
    """Join each message ``m`` with its row of ``message_status`` ``s``, if any (by exact scope
    and id)."""
    same = " AND ".join(d.same(f"s.{c}", f"m.{c}") for c in ("user_id", "agent_id", "run_id"))
    return f"LEFT JOIN message_status s ON s.tenant = m.tenant AND {same} AND s.message_id = m.id"


class SQLLogs(SQLBase[TxT]):
    # -- messages ---------------------------------------------------------------------------------
    def known_messages(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` were already stored under exactly this scope."""
        if not ids:
            return set()
        where, params = exact_scope_sql(self.dialect, scope)
        found: set[str] = set()
        with self._read() as tx:
            for chunk in chunks(list(dict.fromkeys(ids)), min(500, self.dialect.max_list)):
                chosen, cparams = self.dialect.any_of("m.id", chunk)
                found.update(
                    r[0]
                    for r in tx.fetchall(
                        f"SELECT m.id FROM messages m WHERE {where} AND {chosen}",
                        [*params, *cparams],
                    )
                )
        return found

    def get_messages(self, scope: Scope, ids: Sequence[str]) -> list[Message]:
        if not ids:
            return []
        found = self._with_ids("messages", MESSAGE, scope, ids, " ORDER BY m.pk")
        return [rows.message(self.dialect, r) for r in found]

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
        s, when = scope, self.dialect.time(at)
        params = [
            (s.tenant, s.user_id, s.agent_id, s.run_id, message_id, status, prompt_version, error,
             when)
            for message_id in dict.fromkeys(ids)
        ]  # fmt: skip
        if not params:
            return
        with self._write(changes_memories=False) as tx:
            tx.executemany(
                f"INSERT INTO message_status ({SCOPE_COLUMNS}, message_id, status, attempts, "
                "prompt_version, error, at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?) "
                f"ON CONFLICT {self.dialect.conflict('message_status')} DO UPDATE SET "
                "status = excluded.status, attempts = message_status.attempts + 1, "
                "prompt_version = excluded.prompt_version, error = excluded.error, "
                "at = excluded.at",
                params,
            )

    def pending_messages(
        self,
        scope: Scope,
        *,
        include_failed: bool = False,
        exact: bool = False,
        limit: int = 1000,
    ) -> list[PendingMessage]:
        where, params = exact_scope_sql(self.dialect, scope) if exact else scope_sql(scope)
        wanted = "s.status IS NULL" + (" OR s.status = 'failed'" if include_failed else "")
        with self._read() as tx:
            found = tx.fetchall(
                f"SELECT m.tenant, m.user_id, m.agent_id, m.run_id, {MESSAGE}, s.status, "
                f"s.attempts FROM messages m {status_join(self.dialect)} "
                f"WHERE {where} AND ({wanted}) ORDER BY m.pk LIMIT ?",
                [*params, limit],
            )
        return [
            PendingMessage(
                scope=rows.scope(r[0], r[1], r[2], r[3]),
                message=rows.message(self.dialect, r[4:10]),
                status="failed" if r[10] == "failed" else "new",
                attempts=r[11] or 0,
            )
            for r in found
        ]

    # -- kept searches ----------------------------------------------------------------------------
    def save_search(
        self, scope: Scope, search_id: str, at: datetime, payload: Mapping[str, Any]
    ) -> None:
        d = self.dialect
        with self._write(changes_memories=False) as tx:
            tx.execute(
                f"INSERT INTO searches ({SCOPE_COLUMNS}, id, at, payload) VALUES ({marks(7)})",
                [scope.tenant, scope.user_id, scope.agent_id, scope.run_id, search_id, d.time(at),
                 d.json(dict(payload))],
            )  # fmt: skip

    def load_search(self, scope: Scope, search_id: str) -> dict[str, Any] | None:
        where, params = scope_sql(scope, "s")
        with self._read() as tx:
            row = tx.fetchone(
                f"SELECT payload FROM searches s WHERE {where} AND s.id = ?", [*params, search_id]
            )
        return None if row is None else dict(self.dialect.json_of(row[0]))

    def prune_searches(self, before: datetime, *, limit: int | None = None) -> int:
        at = self.dialect.time(before)
        with self._write(changes_memories=False) as tx:
            if limit is None:
                return tx.execute("DELETE FROM searches WHERE at < ?", [at])
            return tx.execute(
                "DELETE FROM searches WHERE (tenant, id) IN (SELECT tenant, id FROM searches "
                "WHERE at < ? ORDER BY at LIMIT ?)",
                [at, limit],
            )

    # -- settings and the embedder record ---------------------------------------------------------
    def get_setting(self, key: str) -> str | None:
        with self._read(search=self.settings_on_search_connections) as tx:
            row = tx.fetchone("SELECT value FROM meta WHERE key = ?", [setting_row(key)])
        return None if row is None else str(row[0])

    def put_setting(self, key: str, value: str) -> None:
        self._put_meta({setting_row(key): value})

    def put_settings(self, values: Mapping[str, str]) -> None:
        self._put_meta({setting_row(key): value for key, value in values.items()})

    def setting_names(self, prefix: str) -> list[str]:
        row, start = setting_row(prefix), len(setting_row(""))
        with self._read() as tx:
            found = tx.fetchall("SELECT key FROM meta WHERE substr(key, 1, ?) = ?", [len(row), row])
        return sorted(str(key)[start:] for (key,) in found)

    def embedder_info(self) -> tuple[str, int] | None:
        with self._read() as tx:
            found = dict(
                (str(k), str(v))
                for k, v in tx.fetchall(
                    "SELECT key, value FROM meta WHERE key IN ('embedder', 'embedder_dim')"
                )
            )
        if "embedder" not in found:
            return None
        return found["embedder"], int(found["embedder_dim"])

    def set_embedder_info(self, name: str, dim: int) -> None:
        if int(dim) < 1:
            raise InvalidInputError("an embedder's dimension must be at least 1")
        self._put_meta({"embedder": name, "embedder_dim": str(int(dim))})

    def _put_meta(self, values: Mapping[str, str]) -> None:
        with self._write(changes_memories=False) as tx:
            tx.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    # -- API keys ---------------------------------------------------------------------------------
    def put_api_key(self, key: ApiKey) -> None:
        d = self.dialect
        with self._write(changes_memories=False) as tx:
            tx.execute(
                f"INSERT INTO api_keys ({API_KEY}) VALUES ({marks(6)})",
                [key.id, key.tenant, key.key_hash, d.time(key.created_at), key.name,
                 d.time(key.revoked_at)],
            )  # fmt: skip

    def api_keys(self, tenant: str | None = None) -> list[ApiKey]:
        where, params = ("", []) if tenant is None else (" WHERE tenant = ?", [tenant])
        with self._read() as tx:
            found = tx.fetchall(
                f"SELECT {API_KEY} FROM api_keys{where} ORDER BY created_at, id", params
            )
        return [rows.api_key(self.dialect, r) for r in found]

    def revoke_api_key(self, key_id: str, at: datetime) -> bool:
        with self._write(changes_memories=False) as tx:
            changed = tx.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                [self.dialect.time(at), key_id],
            )
        return changed > 0

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        with self._read() as tx:
            row = tx.fetchone(
                f"SELECT {API_KEY} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
                [key_hash],
            )
        return None if row is None else rows.api_key(self.dialect, row)
