"""A scope's people table counted again from its stored messages with this version's rules, beside
the one the store kept (counted by the version that wrote each message)::

    python scripts/people_tally.py /tmp/kept/scale-realtalk-dev-100000.db --user scale --name kate

Reads the scope's memories in the order they were stored and counts them session by session
(``people.observe``; a store's own count saw them in the batches they were added in). Prints,
for each ``--name`` (folded, as the tally keys names), whom it was said to and how often, in the
kept table and in the new count; then the aliases each finds (``people.people``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sqlite3
from collections.abc import Iterator

from memstrata import people
from memstrata.people import Tally
from memstrata.stores import open_store
from memstrata.types import Scope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="a SQLite store")
    parser.add_argument("--user", required=True, help="the scope's user id")
    parser.add_argument("--name", action="append", default=[], help="a name to show (repeat)")
    args = parser.parse_args()
    store = open_store(args.store, read_only=True)
    raw = store.get_setting(people.key(Scope(user_id=args.user)))
    store.close()
    kept = Tally.loads(raw) if raw else Tally()
    db = sqlite3.connect(f"file:{args.store}?mode=ro", uri=True)
    counted = Tally()
    for batch in _sessions(db, args.user):
        counted = people.observe(counted, batch)
    for title, tally in (("kept", kept), ("counted again", counted)):
        print(f"{title}:")
        for name in args.name:
            said = sorted(((names[name].count, speaker) for speaker, names in tally.calls.items()
                           if name in names), reverse=True)  # fmt: skip
            total = sum(count for count, _ in said)
            print(f"  {name}: said {total} times to {len(said)} people; most: {said[:4]}")
        aliases = {p.name: [a.name for a in p.aliases] for p in people.people(tally) if p.aliases}
        print(f"  aliases: {aliases}")


def _sessions(db: sqlite3.Connection, user: str) -> Iterator[list[tuple[str, str | None, str]]]:
    """The scope's messages as ``observe`` reads them, one session at a time, in stored order."""
    rows = db.execute(
        "SELECT sources, session, actor, text FROM memories WHERE user_id = ? AND kind = 'episode' "
        "ORDER BY pk",
        (user,),
    )
    for _, group in itertools.groupby(rows, key=lambda row: row[1]):
        yield [((json.loads(s) or [""])[0], actor, text) for s, _, actor, text in group]


if __name__ == "__main__":
    main()
