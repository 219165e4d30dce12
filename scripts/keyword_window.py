"""A large scope's keyword window scored two ways, on a throwaway FTS5 index of synthetic chat
messages all in one scope (the store's own table layout and tokenizer)::

    python scripts/keyword_window.py                 # 1,000,000 messages (about 10 s to build)
    python scripts/keyword_window.py --rows 100000

Asks ``--queries`` windows of three words that each match 300 to 1,000 messages (drawn from
the index's own vocabulary), each ``keywords.newest_best`` (the window's rowids, then its words
alone scored over their range) and as one query with the scope's token (``bm25()`` then counts
every row of the scope), twice in turn; prints the milliseconds a window of each, and whether
they returned the same (rowid, score) pairs in the same order.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from memstrata.evals.synthetic import synthetic_texts
from memstrata.stores.keywords import POSTINGS_BUDGET
from memstrata.stores.sqlite.keywords import match_expression, newest_best

SCOPE = "s1"
BEST = 150


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=40)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(Path(folder) / "fts.db")
        started = time.perf_counter()
        conn.execute(
            "CREATE VIRTUAL TABLE memories_fts USING fts5(text, keys, scope, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        with conn:
            conn.executemany(
                "INSERT INTO memories_fts (rowid, text, keys, scope) VALUES (?, ?, '', ?)",
                ((i + 1, text, SCOPE) for i, text in enumerate(synthetic_texts(args.rows, seed=1))),
            )
        conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")
        conn.execute("CREATE VIRTUAL TABLE vocab USING fts5vocab(memories_fts, 'row')")
        print(f"{args.rows:,} messages indexed in {time.perf_counter() - started:.1f} s")
        words = [row[0] for row in conn.execute(
            "SELECT term FROM vocab WHERE doc BETWEEN 300 AND 1000 AND term != ?", [SCOPE]
        )]  # fmt: skip
        rng = random.Random(0)
        queries = [sorted(rng.sample(words, 3)) for _ in range(args.queries)]

        def one_query(asked: list[str]) -> list[tuple[int, float]]:
            rows = conn.execute(
                "SELECT rowid, -bm25(memories_fts, 1.0, 0.5, 0.0) FROM memories_fts "
                "WHERE memories_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
                [match_expression(asked, [SCOPE]), POSTINGS_BUDGET],
            ).fetchall()
            return sorted(((int(a), float(b)) for a, b in rows), key=lambda r: -r[1])[:BEST]

        def two_steps(asked: list[str]) -> list[tuple[int, float]]:
            return newest_best(conn, asked, [SCOPE], POSTINGS_BUDGET, BEST)

        ways: list[tuple[str, Callable[[list[str]], list[tuple[int, float]]]]] = [
            ("one query", one_query), ("newest_best", two_steps)
        ]  # fmt: skip
        for _ in range(2):
            for name, way in ways:
                started = time.perf_counter()
                for asked in queries:
                    way(asked)
                ms = 1000 * (time.perf_counter() - started) / len(queries)
                print(f"{name}: {ms:.1f} ms a window")
        same = sum(one_query(q) == two_steps(q) for q in queries)
        print(f"the same pairs in the same order: {same} of {len(queries)}")
        conn.close()


if __name__ == "__main__":
    main()
