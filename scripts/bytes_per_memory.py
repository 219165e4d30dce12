"""Bytes a memory takes in a SQLite store of synthetic chat messages in one scope.

    python scripts/bytes_per_memory.py STORE.db [--n 10000] [--embedder minilm]

Fills a new store at STORE.db (removed first if it exists) with the first N messages of the
``eval scale`` distractor generator (seed 0) through ``Memory.add``, each vector from the
embedding cache ``eval scale`` keeps (or embedded and added to it), then checkpoints the WAL
and prints, as JSON: the memories, how the store keeps vectors (``vector_format``), a
vector's bytes, the file's bytes a memory, and the same after ``VACUUM``. A scope's saved
vector index (``STORE.db.ann/``, made by its first search past 5,000 memories) is not made.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

from memstrata.embedders import make_embedder
from memstrata.evals.distractors import distractor_batches
from memstrata.evals.embedcache import CachingEmbedder, default_cache_dir
from memstrata.evals.stores import fill, remove_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--n", type=int, default=10_000, help="messages (default 10,000)")
    parser.add_argument("--embedder", default="minilm", help="embedder spec (default minilm)")
    args = parser.parse_args()
    remove_store(args.store)
    batches, _ = distractor_batches(args.n, seed=0)
    embedder = CachingEmbedder(make_embedder(args.embedder), default_cache_dir() / "vectors")
    try:
        filled = fill(args.store, [("scale", batch) for batch in batches], embedder)
    finally:
        embedder.close()
    with sqlite3.connect(args.store) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        memories = db.execute("SELECT count(*) FROM memories").fetchone()[0]
        found = db.execute("SELECT value FROM meta WHERE key = 'vector_format'").fetchone()
        width = db.execute("SELECT max(length(embedding)) FROM memories").fetchone()[0]
    size = args.store.stat().st_size
    with sqlite3.connect(args.store) as db:
        db.execute("VACUUM")
    db.close()
    report = {
        "memories": memories,
        "vector_format": found[0] if found else "float32",
        "vector_bytes": width,
        "bytes_per_memory": round(size / memories),
        "vacuumed_bytes_per_memory": round(args.store.stat().st_size / memories),
        **filled,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
