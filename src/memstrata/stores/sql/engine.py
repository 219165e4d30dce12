"""What the read engine reads instead of a scan, on any SQL backend (``ports.ScopeFigures``),
and the write-side bookkeeping that keeps it true.

Every memory belongs to one exact scope, a row of ``scope_stats``. In the transaction that
inserts, changes or erases memories the store keeps, per exact scope: counts (memories, units,
tokens, sessions), a change counter, how many memories contain each term (``scope_terms``),
each session's size, token count and vector sum (``scope_sessions``), and the speakers
(``scope_speakers``); per memory: its exact scope, its session (``terms.same_session``, in the
order memories were stored), the previous and next memory of that session, and its terms
(``terms.encode``, in ``memory_terms``), which a search reads with the memory instead of cutting
its text again. A search of a wider scope (a user across agents) sums the figures of the exact
scopes it covers.

Terms are ``terms.terms_of``'s; a store whose figures were counted under another
``TERMS_VERSION`` (or by a memstrata that kept none, or no terms per memory) counts them again
when it opens writable (``rebuild_figures``), one exact scope at a time.
"""

from __future__ import annotations

import builtins
import functools
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memstrata.ports import Loader, Placed, ScopeStats, SessionKey, SessionStats, Vector
from memstrata.stores.sql import rows
from memstrata.stores.sql.core import SQLBase, TxT
from memstrata.stores.sql.dialect import Row, chunks
from memstrata.stores.sql.rows import SELECT
from memstrata.stores.sql.where import exact_scope_sql, scope_rows_sql, scope_sql
from memstrata.terms import (
    TERMS_VERSION,
    Brief,
    Terms,
    encode,
    moment,
    same_session,
    session_key,
    terms_of,
)
from memstrata.types import Filters, MemoryRecord, Scope

#: The ``meta`` key that records which ``TERMS_VERSION`` the figures were counted under.
META_KEY = "engine_terms"
#: A memory's stored terms, as a column of a query of ``memories m``. They are kept in a table of
#: their own: a row of ``memories`` that grew by them would fit fewer to a page.
TERMS_COLUMN = "(SELECT t.terms FROM memory_terms t WHERE t.pk = m.pk)"
#: The columns of ``memories m`` that place a memory (``Placed``): with its ``Brief``'s, as a
#: search reads its candidates (the records of the few it returns are read after, together);
#: with its record's, as the write path reads what it changes.
PLACE = f"m.pk, m.embedding, m.scope, m.session, m.prev_pk, m.next_pk, {TERMS_COLUMN}"
#: How many columns ``PLACE`` has.
PLACE_WIDTH = 7
PLACED = f"{PLACE}, {rows.BRIEF}"
PLACED_RECORD = f"{PLACE}, {SELECT}"
#: How many sessions' members one statement reads (``SQLEngine._members``).
_SESSIONS_A_STATEMENT = 20
#: Storing a memory's terms (``terms.encode``) by its key.
STORE_TERMS = (
    "INSERT INTO memory_terms (pk, terms) VALUES (?, ?) "
    "ON CONFLICT (pk) DO UPDATE SET terms = excluded.terms"
)


def _blob(vector: Any) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def _array(blob: Any) -> Vector | None:
    return None if blob is None else np.frombuffer(bytes(blob), dtype=np.float32).copy()


@dataclass
class _Delta:
    """Changes to one exact scope's figures within one transaction."""

    memories: int = 0
    tokens: int = 0
    units: int = 0
    unit_tokens: int = 0
    df: Counter[str] = field(default_factory=Counter)
    speakers: Counter[str] = field(default_factory=Counter)
    #: Per session number: memories, tokens, and the vector added (or taken away).
    sessions: dict[int, list[Any]] = field(default_factory=dict)

    def count(self, terms: Terms, actor: str | None, session: int | None,
              vector: Vector | None, sign: int) -> None:  # fmt: skip
        tokens = terms.tokens
        self.memories += sign
        self.tokens += sign * len(tokens)
        self.units += sign * len(terms.units)
        self.unit_tokens += sign * terms.unit_tokens
        for term in set(tokens):
            self.df[term] += sign
        if actor:
            self.speakers[actor] += sign
        if session is not None:
            entry = self.sessions.setdefault(session, [0, 0, None])
            entry[0] += sign
            entry[1] += sign * len(tokens)
            if vector is not None:
                v = sign * np.asarray(vector, dtype=np.float32)
                entry[2] = v if entry[2] is None else entry[2] + v


class SQLEngine(SQLBase[TxT]):
    # -- reads (``ports.ScopeFigures``) -----------------------------------------------------------
    def scope_stats(self, scope: Scope, terms: Sequence[str]) -> ScopeStats:
        where, params = scope_rows_sql(self.dialect, scope)
        with self._read(search=True) as tx:
            row = tx.fetchone(
                "SELECT coalesce(sum(m.memories), 0), coalesce(sum(m.tokens), 0), "
                "coalesce(sum(m.units), 0), coalesce(sum(m.unit_tokens), 0), "
                "coalesce(sum(m.sessions), 0), coalesce(sum(m.changes), 0) "
                f"FROM scope_stats m WHERE {where}",
                params,
            )
            df = self._df(tx, where, params, terms)
            speakers = tx.fetchall(
                "SELECT DISTINCT s.actor FROM scope_speakers s JOIN scope_stats m "
                f"ON m.id = s.scope WHERE {where} AND s.memories > 0 ORDER BY s.actor",
                params,
            )
        m, t, u, ut, se, ch = (int(x) for x in row) if row else (0,) * 6
        return ScopeStats(memories=m, tokens=t, units=u, unit_tokens=ut, sessions=se, changes=ch,
                          df=df, speakers=tuple(r[0] for r in speakers))  # fmt: skip

    def term_counts(self, scope: Scope, terms: Sequence[str]) -> dict[str, int]:
        where, params = scope_rows_sql(self.dialect, scope)
        with self._read(search=True) as tx:
            return self._df(tx, where, params, terms)

    def _df(
        self, tx: TxT, where: str, params: Sequence[Any], terms: Sequence[str]
    ) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in chunks(sorted(set(terms)), self.dialect.max_list):
            clause, cparams = self.dialect.any_of("t.term", chunk)
            for term, df in tx.fetchall(
                "SELECT t.term, sum(t.df) FROM scope_terms t JOIN scope_stats m ON m.id = t.scope "
                f"WHERE {where} AND {clause} GROUP BY t.term",
                [*params, *cparams],
            ):
                out[term] = int(df)
        return out

    def placed(
        self,
        scope: Scope,
        filters: Filters,
        *,
        ids: Sequence[str] = (),
        keys: Sequence[int] = (),
    ) -> builtins.list[Placed]:
        where, params = self._where(scope, filters)
        with self._read(search=True) as tx:
            return [
                *self._placed_by(tx, where, params, "m.id", ids),
                *self._placed_by(tx, where, params, "m.pk", keys),
            ]

    def _placed_by(self, tx: TxT, where: str, params: Sequence[Any], column: str,
                   values: Sequence[Any]) -> builtins.list[Placed]:  # fmt: skip
        """The memories ``m`` that match ``where`` whose ``column`` (``m.id`` or ``m.pk``) is
        one of ``values``."""
        out: list[Placed] = []
        hint = self.dialect.by_key() if column == "m.pk" else ""
        load = functools.partial(self._records_by_key, where, params)
        for chunk in chunks(list(dict.fromkeys(values)), self.dialect.max_list):
            clause, cparams = self.dialect.any_of(column, chunk)
            found = tx.fetchall(
                f"SELECT {PLACED} FROM memories m{hint} WHERE {where} AND {clause}",
                [*params, *cparams],
            )
            out.extend(self._placed(row, load=load) for row in found)
        return out

    def _records_by_key(
        self, where: str, params: Sequence[Any], keys: Sequence[int]
    ) -> dict[int, MemoryRecord]:
        """The records of the memories ``m`` that match ``where`` whose keys are ``keys``
        (``ports.Loader``)."""
        out: dict[int, MemoryRecord] = {}
        hint = self.dialect.by_key()
        with self._read(search=True) as tx:
            for chunk in chunks(list(dict.fromkeys(keys)), self.dialect.max_list):
                clause, cparams = self.dialect.any_of("m.pk", chunk)
                for row in tx.fetchall(
                    f"SELECT m.pk, {SELECT} FROM memories m{hint} WHERE {where} AND {clause}",
                    [*params, *cparams],
                ):
                    out[int(row[0])] = rows.record(self.dialect, row[1:])
        return out

    def _placed(
        self,
        row: Row,
        brief: Brief | None = None,
        *,
        make: Callable[[], MemoryRecord] | None = None,
        load: Loader | None = None,
    ) -> Placed:
        """A row that starts with the columns of ``PLACE``, with its ``brief`` (and its vector)
        at hand, or read from the row, which holds ``BRIEF``'s columns next, when asked for;
        its record made (``make``) or read (``load``) only when asked for (``Placed``)."""
        # Keys and session numbers are integer columns: every backend reads them as ``int``.
        key, embedding, scope, session, prev, nxt, stored = row[:PLACE_WIDTH]
        place = None if scope is None or session is None else (scope, session)
        if brief is None:
            return Placed(None, key, None, place, prev, nxt, make=make, load=load, stored=stored,
                          row=row, reader=self._briefed)  # fmt: skip
        return Placed(brief, key, self.dialect.vector_of(embedding), place, prev, nxt, make=make,
                      load=load, stored=stored)  # fmt: skip

    @functools.cached_property
    def _briefed(self) -> rows.Briefed:
        """Reads the rows of ``PLACED``: the vector second, ``BRIEF``'s columns after
        ``PLACE``'s."""
        return rows.Briefed(self.dialect, vector=1, start=PLACE_WIDTH)

    def sessions(
        self,
        scope: Scope,
        filters: Filters,
        sessions: Sequence[SessionKey],
        *,
        members: int = 0,
        known: Collection[int] = (),
    ) -> tuple[dict[SessionKey, SessionStats], builtins.list[Placed]]:
        wanted = list(dict.fromkeys(sessions))
        if not wanted:
            return {}, []
        d = self.dialect
        by_scope: dict[int, list[int]] = {}
        for sid, number in wanted:
            by_scope.setdefault(sid, []).append(number)
        where, params = scope_rows_sql(d, scope)
        fwhere, fparams = self._where(scope, filters)
        stats: dict[SessionKey, SessionStats] = {}
        placed: list[Placed] = []
        with self._read(search=True) as tx:
            # Only the exact scopes within ``scope``: a session key names its exact scope.
            clause, cparams = d.any_of("m.id", list(by_scope))
            inside = {int(r[0]) for r in tx.fetchall(
                f"SELECT m.id FROM scope_stats m WHERE {where} AND {clause}", [*params, *cparams]
            )}  # fmt: skip
            for sid in sorted(inside):
                for chunk in chunks(by_scope[sid], d.max_list):
                    clause, cparams = d.any_of("s.session", chunk)
                    for number, size, tokens, vector in tx.fetchall(
                        "SELECT s.session, s.size, s.tokens, s.vector FROM scope_sessions s "
                        f"WHERE s.scope = ? AND {clause}",
                        [sid, *cparams],
                    ):
                        stats[(sid, int(number))] = SessionStats(int(size), int(tokens),
                                                                 _array(vector))  # fmt: skip
            if members > 0:
                chosen = [key for key in wanted if key[0] in inside]
                keys = self._members(tx, fwhere, fparams, chosen, members)
                held = set(known)
                found = self._placed_by(tx, fwhere, fparams, "m.pk",
                                        [k for k in keys if k not in held])  # fmt: skip
                by_key = {p.key: p for p in found}
                placed = [by_key[k] for k in keys if k in by_key]
        return stats, placed

    def _members(self, tx: TxT, where: str, params: Sequence[Any],
                 sessions: Sequence[SessionKey], limit: int) -> builtins.list[int]:  # fmt: skip
        """The keys of the first ``limit`` memories ``m`` of each of ``sessions`` that match
        ``where``, session by session in the order given, each in the order stored; one
        statement for a few sessions at a time."""
        through = self.dialect.through("memories_by_session")
        each = (
            f"SELECT s.scope, s.session, s.pk FROM (SELECT m.scope, m.session, m.pk "
            f"FROM memories m{through} WHERE {where} AND m.scope = ? AND m.session = ? "
            "ORDER BY m.pk LIMIT ?) s"
        )
        found: dict[SessionKey, list[int]] = {key: [] for key in sessions}
        for chunk in chunks(list(sessions), _SESSIONS_A_STATEMENT):
            for scope, session, pk in tx.fetchall(
                " UNION ALL ".join([each] * len(chunk)),
                [x for key in chunk for x in (*params, *key, limit)],
            ):
                found[(int(scope), int(session))].append(int(pk))
        return [pk for keys in found.values() for pk in sorted(keys)]

    # -- writes: the hooks the shared queries call in their transactions ---------------------------
    def _scope_row(self, tx: TxT, scope: Scope) -> Row:
        """The ``scope_stats`` row of an exact scope (made when missing), locked."""
        d = self.dialect
        tx.execute(
            "INSERT INTO scope_stats (tenant, user_id, agent_id, run_id) VALUES (?, ?, ?, ?) "
            f"ON CONFLICT {d.conflict('scope_stats')} DO NOTHING",
            [scope.tenant, scope.user_id, scope.agent_id, scope.run_id],
        )
        where, params = exact_scope_sql(d, scope)
        row = tx.fetchone(
            "SELECT m.id, m.sessions, m.last_pk, m.last_at, m.last_key FROM scope_stats m "
            f"WHERE {where}{d.lock}",
            params,
        )
        assert row is not None
        return row

    def _figures_insert(
        self,
        tx: TxT,
        added: Sequence[tuple[int, MemoryRecord]],
        vectors: Sequence[Any] | Vector | None,
    ) -> None:
        """Memories were inserted (``added``: key and record, ``vectors[i]`` for the i-th):
        place each in its session and count it in."""
        by_scope: dict[Scope, list[int]] = {}
        for i, (_, record) in enumerate(added):
            by_scope.setdefault(record.scope, []).append(i)
        for scope, positions in by_scope.items():
            sid, sessions, last_pk, last_at, last_key = self._scope_row(tx, scope)
            delta = _Delta()
            placed: list[tuple[int, int, int | None, int]] = []
            stored: list[tuple[int, str]] = []
            links: list[tuple[int, int]] = []
            for i in sorted(positions, key=lambda i: added[i][0]):
                pk, record = added[i]
                key, at = session_key(record), moment(record).timestamp()
                if last_pk is not None and same_session(last_key, last_at, key, at):
                    session, prev = sessions - 1, int(last_pk)
                    links.append((pk, prev))
                else:
                    session, prev = sessions, None
                    sessions += 1
                terms = terms_of(record)
                placed.append((sid, session, prev, pk))
                stored.append((pk, encode(terms, record.text)))
                vector = None if vectors is None else vectors[i]
                delta.count(terms, record.actor, session, vector, 1)
                last_pk, last_at, last_key = pk, at, key
            tx.executemany("UPDATE memories SET scope = ?, session = ?, prev_pk = ? WHERE pk = ?",
                           placed)  # fmt: skip
            tx.executemany(STORE_TERMS, stored)
            if links:
                tx.executemany("UPDATE memories SET next_pk = ? WHERE pk = ?", links)
            self._apply(tx, sid, delta)
            tx.execute(
                "UPDATE scope_stats SET sessions = ?, last_pk = ?, last_at = ?, last_key = ? "
                "WHERE id = ?",
                [sessions, last_pk, last_at, last_key, sid],
            )

    def _apply(self, tx: TxT, sid: int, delta: _Delta) -> None:
        """Add ``delta`` to the figures of the exact scope ``sid`` and move its counter on."""
        tx.execute(
            "UPDATE scope_stats SET memories = memories + ?, tokens = tokens + ?, "
            "units = units + ?, unit_tokens = unit_tokens + ?, changes = changes + 1 WHERE id = ?",
            [delta.memories, delta.tokens, delta.units, delta.unit_tokens, sid],
        )
        terms = [(sid, t, n) for t, n in delta.df.items() if n]
        if terms:
            tx.executemany(
                "INSERT INTO scope_terms (scope, term, df) VALUES (?, ?, ?) ON CONFLICT "
                "(scope, term) DO UPDATE SET df = scope_terms.df + excluded.df",
                terms,
            )
        speakers = [(sid, a, n) for a, n in delta.speakers.items() if n]
        if speakers:
            tx.executemany(
                "INSERT INTO scope_speakers (scope, actor, memories) VALUES (?, ?, ?) "
                "ON CONFLICT (scope, actor) DO UPDATE SET "
                "memories = scope_speakers.memories + excluded.memories",
                speakers,
            )
        if delta.sessions:
            numbers = list(delta.sessions)
            clause, params = self.dialect.any_of("session", numbers)
            old = {
                int(r[0]): r[1:]
                for r in tx.fetchall(
                    "SELECT session, size, tokens, vector FROM scope_sessions "
                    f"WHERE scope = ? AND {clause}",
                    [sid, *params],
                )
            }
            upserts = []
            for number, (size, tokens, vector) in delta.sessions.items():
                before = old.get(number)
                if before is not None:
                    size, tokens = size + int(before[0]), tokens + int(before[1])
                    earlier = _array(before[2])
                    if earlier is not None:
                        vector = earlier if vector is None else earlier + vector
                upserts.append((sid, number, size, tokens, _blob(vector)))
            tx.executemany(
                "INSERT INTO scope_sessions (scope, session, size, tokens, vector) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, session) DO UPDATE SET "
                "size = excluded.size, tokens = excluded.tokens, vector = excluded.vector",
                upserts,
            )

    def _placement(self, tx: TxT, pks: Sequence[int]) -> list[Placed]:
        out: list[Placed] = []
        for chunk in chunks(list(pks), self.dialect.max_list):
            clause, params = self.dialect.any_of("m.pk", chunk)
            found = tx.fetchall(f"SELECT {PLACED_RECORD} FROM memories m WHERE {clause}", params)
            for row in found:
                fields = row[PLACE_WIDTH:]
                brief = rows.brief(self.dialect, rows.BRIEF_IN_SELECT(fields))
                make = functools.partial(rows.record, self.dialect, fields)
                out.append(self._placed(row, brief, make=make))
        return out

    def _figures_update(self, tx: TxT, pk: int, new: MemoryRecord, vector: Vector | None) -> None:
        """A memory's row is about to hold ``new`` (and ``vector``, when given): store its
        terms, count the old version out and the new one in. Call before the row is written."""
        (old,) = self._placement(tx, [pk])
        terms = terms_of(new)
        tx.execute(STORE_TERMS, [pk, encode(terms, new.text)])
        if old.session is None:
            return
        sid, number = old.session
        delta = _Delta()
        delta.count(old.read_terms(), old.brief.actor, number,
                    old.vector if vector is not None else None, -1)  # fmt: skip
        delta.count(terms, new.actor, number, vector, 1)
        self._apply(tx, sid, delta)

    def _figures_changed(self, tx: TxT, pks: Sequence[int]) -> None:
        """These memories changed in a way the figures do not count (a state, a layer): only
        their scopes' counters move on."""
        for chunk in chunks(list(pks), self.dialect.max_list):
            clause, params = self.dialect.any_of("pk", chunk)
            tx.execute(
                "UPDATE scope_stats SET changes = changes + 1 WHERE id IN "
                f"(SELECT DISTINCT scope FROM memories WHERE {clause})",
                params,
            )

    def _figures_revector(self, tx: TxT, pks: Sequence[int]) -> None:
        """These memories' vectors were replaced: their sessions' vector sums are summed again
        from their members (a re-embedding may change the dimension; members whose vector has
        another dimension than the newest are left out until they are re-embedded too)."""
        sessions = {p.session for p in self._placement(tx, pks) if p.session is not None}
        newest = {p.key: p.vector for p in self._placement(tx, pks[-1:])}
        dim = next((len(v) for v in newest.values() if v is not None), None)
        for sid, number in sorted(sessions):
            total = None
            for (blob,) in tx.fetchall(
                "SELECT embedding FROM memories WHERE scope = ? AND session = ? "
                "AND embedding IS NOT NULL",
                [sid, number],
            ):
                vector = self.dialect.vector_of(blob)
                if vector is None or len(vector) != dim:
                    continue
                v = np.asarray(vector, np.float32)
                total = v if total is None else total + v
            tx.execute("UPDATE scope_sessions SET vector = ? WHERE scope = ? AND session = ?",
                       [_blob(total), sid, number])  # fmt: skip
            tx.execute("UPDATE scope_stats SET changes = changes + 1 WHERE id = ?", [sid])

    def _figures_erase(self, tx: TxT, pks: Sequence[int]) -> None:
        """These memories are about to be deleted: count them out, drop their terms and close
        the gaps they leave in their sessions."""
        gone = self._placement(tx, pks)
        erased = {p.key for p in gone}
        deltas: dict[int, _Delta] = {}
        links: dict[int, Placed] = {p.key: p for p in gone}
        for p in gone:
            if p.session is None:
                continue
            sid, number = p.session
            deltas.setdefault(sid, _Delta()).count(p.read_terms(), p.brief.actor, number, p.vector,
                                                   -1)  # fmt: skip
        # Each surviving neighbour is linked past the erased run it borders.
        for p in gone:
            prev = p.prev
            while prev is not None and prev in erased:
                prev = links[prev].prev
            nxt = p.next
            while nxt is not None and nxt in erased:
                nxt = links[nxt].next
            if prev is not None and (p.next is None or p.next not in erased):
                tx.execute("UPDATE memories SET next_pk = ? WHERE pk = ?", [nxt, prev])
            if nxt is not None and (p.prev is None or p.prev not in erased):
                tx.execute("UPDATE memories SET prev_pk = ? WHERE pk = ?", [prev, nxt])
        for sid, delta in deltas.items():
            self._apply(tx, sid, delta)
        if deltas:
            # A scope whose last memory goes starts its next memory on a new session.
            clause, params = self.dialect.any_of("id", list(deltas))
            for sid, last in tx.fetchall(f"SELECT id, last_pk FROM scope_stats WHERE {clause}",
                                         params):  # fmt: skip
                if last is not None and int(last) in erased:
                    tx.execute("UPDATE scope_stats SET last_pk = NULL, last_at = NULL, "
                               "last_key = NULL WHERE id = ?", [sid])  # fmt: skip
        clause, params = self.dialect.any_of("pk", list(pks))
        tx.execute(f"DELETE FROM memory_terms WHERE {clause}", params)
        for sid in deltas:
            tx.execute("DELETE FROM scope_terms WHERE scope = ? AND df <= 0", [sid])
            tx.execute("DELETE FROM scope_speakers WHERE scope = ? AND memories <= 0", [sid])
            tx.execute("DELETE FROM scope_sessions WHERE scope = ? AND size <= 0", [sid])

    # -- counting again ---------------------------------------------------------------------------
    def _figures_current(self, tx: TxT) -> bool:
        row = tx.fetchone("SELECT value FROM meta WHERE key = ?", [META_KEY])
        return row is not None and row[0] == TERMS_VERSION

    def rebuild_figures(self, tx: TxT) -> int:
        """Count every memory's figures again (in ``tx``), scope by scope; return how many
        memories. Change counters keep moving on, so caches keyed on them stay safe."""
        for table in ("scope_terms", "scope_sessions", "scope_speakers", "memory_terms"):
            tx.execute(f"DELETE FROM {table}")
        tx.execute(
            "UPDATE scope_stats SET memories = 0, tokens = 0, units = 0, unit_tokens = 0, "
            "sessions = 0, changes = changes + 1, last_pk = NULL, last_at = NULL, last_key = NULL"
        )
        tx.execute("UPDATE memories SET scope = NULL, session = NULL, prev_pk = NULL, "
                   "next_pk = NULL")  # fmt: skip
        scopes = tx.fetchall("SELECT DISTINCT tenant, user_id, agent_id, run_id FROM memories")
        total = 0
        for tenant, user_id, agent_id, run_id in scopes:
            scope = Scope(tenant=tenant, user_id=user_id, agent_id=agent_id, run_id=run_id)
            # The scope's plain clause too: it is the one an index serves.
            inside, params = scope_sql(scope)
            exact, eparams = exact_scope_sql(self.dialect, scope)
            where, params = f"{inside} AND {exact}", [*params, *eparams]
            batch: list[tuple[int, MemoryRecord]] = []
            vectors: list[Any] = []
            for row in tx.stream(
                f"SELECT m.pk, m.embedding, {SELECT} FROM memories m WHERE {where} ORDER BY m.pk",
                params,
            ):
                batch.append((int(row[0]), rows.record(self.dialect, row[2:])))
                vectors.append(self.dialect.vector_of(row[1]))
            for start in range(0, len(batch), 2000):
                self._figures_insert(tx, batch[start : start + 2000], vectors[start : start + 2000])
            total += len(batch)
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [META_KEY, TERMS_VERSION],
        )
        return total
