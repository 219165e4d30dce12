"""Keyword search over FTS5, with a bounded cost in large stores.

FTS5 scores every memory that matches any word of an OR-query with ``bm25()``, which costs about
3 µs a memory (it looks up each one's length). Once a store is large (``LARGE_STORE`` memories,
by its highest pk) two limits apply. The words are chosen rarest first within a budget of
matches (``memstrata.stores.keywords``). And only the newest ``POSTINGS_BUDGET`` memories that
match (by pk) are scored and ranked: this matters only when even the rarest word of a query is
that common, and the vector search still sees the older ones. A smaller store asks for every
word and scores every match, as it always did. Word counts come from FTS5 itself (a match of
the one quoted word, so stemming and diacritics fold exactly as in the search).

Every memory's row in the index also holds its exact scope as one token (``scope_token``), and
every search asks for its scope's tokens beside its words: FTS5 then reads the postings of that
scope only, so a search of a small scope costs the same in a store of a million memories as in
its own. A memory with a speaker holds that speaker's token within its exact scope too
(``speaker_token``), so a search among what one person said reads their postings alone.
"Large" is the size of what the search reads (``SQLiteStore._keyword_space``): the scope's, or
the speaker's within it, not the store's. A store that holds one scope alone is searched without
the scope's token (``scopes`` ``None``): every row is the scope's, the scores are the same, and
FTS5 reads no token's postings.

A small scope's matches in an index mostly of other scopes (at most ``SCORED_HERE`` of them;
``SQLiteStore`` decides) are not scored by ``bm25()`` at all (``scored_in_scope``): they are
read with the terms the store keeps of each and scored by BM25 with their exact scopes' own
figures, as the read engine's features are, so the index's other rows cost nothing and other
scopes' texts do not move the order.

Ranking a large scope first asks FTS5 alone for its best matches over the whole table (no memory
row is read, which is three times cheaper) and keeps those in the scope and filters; only when
fewer than ``limit`` of them are, it finds the scope's own newest matches that pass with a join,
and scores only those (``_narrow_best``). A narrow search (within a time window, which keeps few
of the matches) goes straight to that.

``bm25()`` counts, once a query, every row that matches each phrase of the query, the scope's
token among them (a phrase that weighs nothing): in a scope of 100,000 memories that count is
about half of a window's query, in one of 1,000,000 most of it (``newest_best``). It counts
over the whole index, so a search among what one speaker said, whose own matches are few,
costs what the index's matches of its words do: once the index holds more than
``INDEX_BUDGET`` memories, such a search asks for its words rarest first while their matches
in the whole index stay within that many (``SQLiteStore._speaker_words``).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from memstrata.terms import bm25_idf, bm25_norm, bm25_weight, stemmed, stored_tokens
from memstrata.text import is_cjk, keyword_form

#: In a large store, FTS5's best ``SHORTLIST * limit`` matches are checked against the scope.
SHORTLIST = 3
#: ``bm25()`` with the text column weighing twice the keys, and nothing for the scope.
_SCORE = "-bm25(memories_fts, 1.0, 0.5, 0.0)"
#: A small scope's search scores up to this many matches itself (``scored_in_scope``): past
#: about 100, ``bm25()`` is as fast among 100,000 memories (docs/benchmarks.md).
SCORED_HERE = 100
#: A search of a scope made of more exact scopes than this reads the whole index.
MAX_SCOPES = 64
#: A search among what one speaker said asks for words matching at most about this many
#: memories in the whole index (``SQLiteStore._speaker_words``): ``bm25()`` counts them all.
#: 50,000 and 150,000 were tried too (docs/benchmarks.md, "Fourteenth pass").
INDEX_BUDGET = 100_000

_WORD = re.compile(r"\w+")


def query_words(text: str) -> list[str]:
    """The distinct words of ``text`` that a keyword search may ask for, sorted: as the index
    holds them (``text.keyword_form``: Chinese and Japanese as character pairs, and a Han
    character alone, which is a word), single letters left out."""
    found = _WORD.findall(keyword_form(text).lower())
    return sorted({w for w in found if len(w) > 1 or w.isdigit() or is_cjk(w)})


def scope_token(tenant: str, user_id: str | None, agent_id: str | None, run_id: str | None) -> str:
    """The token an exact scope's memories carry in the index's ``scope`` column: "s" and
    digits (no stemmer touches it, no word of a text looks like it)."""
    return _token("s", [tenant, user_id, agent_id, run_id])


def speaker_token(
    tenant: str, user_id: str | None, agent_id: str | None, run_id: str | None, actor: str
) -> str:
    """The token of what ``actor`` said in an exact scope: "a" and digits (as ``scope_token``)."""
    return _token("a", [tenant, user_id, agent_id, run_id, actor])


def _token(letter: str, parts: list[str | None]) -> str:
    """A letter and the digits of a hash of ``parts``: one token to FTS5, which no stemmer
    touches and no word of a text looks like."""
    key = json.dumps(parts).encode()
    return letter + str(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))


def scope_column(
    tenant: str, user_id: str | None, agent_id: str | None, run_id: str | None,
    actor: str | None,
) -> str:  # fmt: skip
    """A memory's ``scope`` column in the index: its exact scope's token, and its speaker's."""
    token = scope_token(tenant, user_id, agent_id, run_id)
    if actor is None:
        return token
    return f"{token} {speaker_token(tenant, user_id, agent_id, run_id, actor)}"


def match_expression(words: Sequence[str], scopes: Sequence[str] | None = None) -> str | None:
    """An FTS5 OR-query of ``words`` in the text and keys, each quoted, so no syntax leaks
    through; with ``scopes`` (tokens), only within those exact scopes (or speakers)."""
    if not words:
        return None
    if scopes is None:
        return _in_text(words)
    if not scopes:
        return None
    return f"scope : ({_any_of(scopes)}) AND {_in_text(words)}"


def _any_of(tokens: Sequence[str]) -> str:
    """An FTS5 OR-query of ``tokens``, each quoted."""
    return " OR ".join(f'"{t}"' for t in tokens)


def _in_text(words: Sequence[str]) -> str:
    """An FTS5 OR-query of ``words`` within the text and keys columns (not the scopes')."""
    return f"{{text keys}} : ({_any_of(words)})"


#: How many other scopes' matches a window's scoring may read for each of its own
#: (``newest_best``).
SPREAD = 2


def count_matches(
    conn: sqlite3.Connection, word: str, cap: int, scopes: Sequence[str] | None = None
) -> int:
    """How many memories FTS5 matches for ``word`` (quoted, within ``scopes`` when given),
    counting at most ``cap``."""
    match = match_expression([word], scopes)
    if match is None:
        return 0
    row = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM memories_fts WHERE memories_fts MATCH ? LIMIT ?)",
        (match, cap),
    ).fetchone()
    return int(row[0])


def rank(
    conn: sqlite3.Connection,
    words: Sequence[str],
    scopes: Sequence[str] | None,
    where: str,
    params: Sequence[Any],
    limit: int,
    *,
    window: int | None,
    narrow: bool = False,
) -> list[tuple[int, float]]:
    """The best ``limit`` (pk, score) for ``words`` (within ``scopes``, as
    ``match_expression``) among memories ``m`` that pass ``where``.

    With a ``window``, only the newest ``window`` matches are scored, and FTS5's own best over the
    whole table are tried first (see the module's description), unless ``where`` is ``narrow``
    (it keeps few of the matches, as a time window does): then the newest matches that pass it
    are found first, without scores, and only those are scored (``_narrow_best``).
    """
    match = match_expression(words, scopes)
    if match is None:
        return []
    joined = (
        f"FROM memories_fts JOIN memories m ON m.pk = memories_fts.rowid "
        f"WHERE memories_fts MATCH ? AND {where}"
    )
    if window is None:
        rows = conn.execute(
            f"SELECT m.pk, {_SCORE} AS score {joined} ORDER BY score DESC LIMIT ?",
            [match, *params, limit],
        ).fetchall()
        return [(int(pk), float(score)) for pk, score in rows]
    if narrow:
        return _narrow_best(conn, words, match, joined, params, window)[:limit]
    shortlist = SHORTLIST * limit
    top = newest_best(conn, words, scopes, window, shortlist)
    if not top:
        return []
    # The best first, ``limit`` at a time: each memory checked reads its row.
    kept: list[tuple[int, float]] = []
    for start in range(0, len(top), limit):
        batch = top[start : start + limit]
        inside = {r[0] for r in conn.execute(
            f"SELECT m.pk FROM memories m WHERE m.pk IN ({', '.join('?' * len(batch))}) "
            f"AND {where}",
            [*(pk for pk, _ in batch), *params],
        )}  # fmt: skip
        kept += [(int(pk), float(score)) for pk, score in batch if pk in inside]
        if len(kept) >= limit:
            return kept[:limit]
    if len(top) < min(shortlist, window):  # every match was seen
        return kept
    return _narrow_best(conn, words, match, joined, params, window)[:limit]


def scored_in_scope(
    conn: sqlite3.Connection,
    words: Sequence[str],
    scopes: Sequence[str] | None,
    where: str,
    params: Sequence[Any],
    unstored: Callable[[list[int]], dict[int, str]],
) -> list[tuple[int, float]] | None:
    """Every match of ``words`` (within ``scopes``, as ``match_expression``) among memories
    ``m`` that pass ``where``, best first by BM25 over the terms the store keeps of each
    (``terms.encode``; ``unstored`` makes them for memories stored without them) with the
    statistics of their exact scopes (``scope_stats``, ``scope_terms``): the scope's own
    figures, as the read engine's features read them, not the whole index's. ``None`` past
    ``SCORED_HERE`` matches, where the scopes' figures are not counted yet, or where no match
    holds a stem of the words: ``bm25()`` ranks those.

    ``bm25()`` counts every row of the index that matches each word: among 1,000,000 memories
    of 2,000 scopes, 1.0 of the 1.3 ms a small scope's search took, for about 19 matches."""
    match = match_expression(words, scopes)
    if match is None:
        return []
    found = conn.execute(
        "SELECT m.pk, m.scope, t.terms FROM memories_fts CROSS JOIN memories m "
        "ON m.pk = memories_fts.rowid LEFT JOIN memory_terms t ON t.pk = m.pk "
        f"WHERE memories_fts MATCH ? AND {where} LIMIT ?",
        [match, *params, SCORED_HERE + 1],
    ).fetchall()
    if len(found) > SCORED_HERE or any(r[1] is None for r in found):
        return None
    if not found:
        return []
    made = unstored([int(r[0]) for r in found if r[2] is None])
    found = [(pk, scope, made.get(pk) if stored is None else stored) for pk, scope, stored in found]
    if any(stored is None for _, _, stored in found):
        return None
    exact = sorted({int(r[1]) for r in found})  # the exact scopes of the matches
    stems = sorted({t for word in words for t in stemmed(word)})
    inside = ", ".join("?" * len(exact))
    memories, tokens = conn.execute(
        f"SELECT sum(memories), sum(tokens) FROM scope_stats WHERE id IN ({inside})", exact
    ).fetchone()
    df = dict(conn.execute(
        f"SELECT term, sum(df) FROM scope_terms WHERE scope IN ({inside}) "
        f"AND term IN ({', '.join('?' * len(stems))}) GROUP BY term",
        [*exact, *stems],
    ).fetchall()) if stems else {}  # fmt: skip
    n = max(int(memories or 0), 1)
    average = max(int(tokens or 0) / n, 1.0)
    held_by = {t: min(df.get(t) or 1, n) for t in stems}  # the memories holding each stem
    idf = {t: bm25_idf(n, k) for t, k in held_by.items()}
    out: list[tuple[int, float]] = []
    for pk, _, stored in found:
        held = stored_tokens(stored)
        counts = Counter(held)
        norm = bm25_norm(float(len(held)), average)
        score = sum(bm25_weight(float(c), idf[t], norm) for t in stems if (c := counts[t]))
        out.append((int(pk), score))
    if not any(score for _, score in out):
        return None
    # Of equal scores the newer first, as ``newest_best``.
    return sorted(out, key=lambda r: (-r[1], -r[0]))


def newest_best(
    conn: sqlite3.Connection,
    words: Sequence[str],
    scopes: Sequence[str] | None,
    window: int,
    best: int,
) -> list[tuple[int, float]]:
    """The ``best`` (rowid, score) among the newest ``window`` matches of ``words`` within
    ``scopes`` (as ``match_expression``), best first; of equal scores the newer first."""
    match = match_expression(words, scopes)
    if match is None:
        return []
    rows = None if scopes is None else _newest_alone(conn, words, match, window)
    if rows is None:
        rows = conn.execute(
            f"SELECT rowid, {_SCORE} FROM memories_fts WHERE memories_fts MATCH ? "
            "ORDER BY rowid DESC LIMIT ?",
            [match, window],
        ).fetchall()
    return _best_first(rows)[:best]


def _narrow_best(
    conn: sqlite3.Connection,
    words: Sequence[str],
    match: str,
    joined: str,
    params: Sequence[Any],
    window: int,
) -> list[tuple[int, float]]:
    """The newest ``window`` matches of ``match`` that pass ``joined``'s condition, best first
    (of equal scores the newer first), as one query of them all scored by ``bm25()`` would rank
    them; but the rows are found first and only those that pass are scored (at 100,000 memories
    a month's window keeps a few dozen of a question's thousands of matches)."""
    pks = [row[0] for row in conn.execute(
        f"SELECT m.pk {joined} ORDER BY memories_fts.rowid DESC LIMIT ?", [match, *params, window]
    )]  # fmt: skip
    rows = _scored_alone(conn, words, pks) if pks else []
    if rows is None:
        rows = conn.execute(
            f"SELECT m.pk, {_SCORE} {joined} ORDER BY memories_fts.rowid DESC LIMIT ?",
            [match, *params, window],
        ).fetchall()
    return _best_first(rows)


def _best_first(rows: Sequence[Any]) -> list[tuple[int, float]]:
    """(rowid, score) rows given newest first, best first; of equal scores the newer first."""
    return sorted(((int(pk), float(score)) for pk, score in rows), key=lambda r: -r[1])


def _newest_alone(
    conn: sqlite3.Connection, words: Sequence[str], match: str, window: int
) -> list[Any] | None:
    """The newest ``window`` matches of ``match`` (the words within scopes), newest first, as
    (rowid, score) scored by a query of the words alone (``_scored_alone``)."""
    pks = [row[0] for row in conn.execute(
        "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        [match, window],
    )]  # fmt: skip
    return _scored_alone(conn, words, pks) if pks else []


def _scored_alone(
    conn: sqlite3.Connection, words: Sequence[str], pks: Sequence[int]
) -> list[Any] | None:
    """``pks`` (newest first) as (rowid, score), newest first, scored by a query of ``words``
    alone over their range of rowids; ``None`` where other memories' matches within that range
    are more than ``SPREAD`` times as many.

    The words alone score a match as a query of them within scopes does (the scope's token
    weighs nothing), without counting every row of the scope for ``bm25()``."""
    alone = _in_text(words)
    low, high, most = pks[-1], pks[0], (1 + SPREAD) * len(pks)
    (within,) = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM memories_fts WHERE memories_fts MATCH ? "
        "AND rowid BETWEEN ? AND ? LIMIT ?)",
        [alone, low, high, most + 1],
    ).fetchone()
    if within > most:
        return None
    ours = set(pks)
    rows = conn.execute(
        f"SELECT rowid, {_SCORE} FROM memories_fts WHERE memories_fts MATCH ? "
        "AND rowid BETWEEN ? AND ? ORDER BY rowid DESC",
        [alone, low, high],
    ).fetchall()
    return [row for row in rows if row[0] in ours]


def merge(conn: sqlite3.Connection, pages: int) -> bool:
    """Merge about ``pages`` pages of the keyword index's segments toward one (FTS5's "merge"
    with a negative budget: any two segments, whatever their level); whether any were. A query
    looks each of its words up once a segment, and writes add segments that FTS5 merges only
    now and then: 14 segments in a store of 100,000 memories, 18 in one of 1,000,000."""
    before = conn.total_changes
    conn.execute("INSERT INTO memories_fts (memories_fts, rank) VALUES ('merge', ?)", (-pages,))
    return conn.total_changes - before > 1
