"""What the read engine returns for a dataset's questions in a kept store, written out so that two
versions of the code can be compared hit for hit (``cmp`` the two files)::

    python scripts/hits_snapshot.py /tmp/kept/scale-locomo-dev-100000.db \\
        ../shared/data/locomo/locomo-dev.json before.json
    PYTHONPATH=<a worktree of another revision>/src python scripts/hits_snapshot.py … after.json
    cmp before.json after.json

Every third question of DATASET (``--every``) is ranked as ``scripts/time_rank.py`` ranks it (the
query embedded by MiniLM, the library's budgeted packing, a fixed "now"); each hit is written
with its whole record, its score and signals (rounded to 5 decimals) and its excerpt, one
question a line.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from memstrata import Memory
from memstrata.evals.locomo import load_locomo
from memstrata.evals.scale import SCOPE, merge
from memstrata.options import preset
from memstrata.read.engine import rank
from memstrata.types import Filters, Scope

NOW = datetime(2026, 1, 1, tzinfo=UTC)
#: The library's default retriever: its packing is the one used.
DEFAULT = preset("default")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="a store that `memstrata eval scale --keep` kept")
    parser.add_argument("dataset", help="the LoCoMo-format file whose questions it was asked")
    parser.add_argument("out", help="the file to write")
    parser.add_argument("--every", type=int, default=3, help="every n-th question")
    args = parser.parse_args()
    questions = merge(load_locomo(args.dataset)).questions[:: args.every]
    hits_written = 0
    with Memory(args.store, embedder="minilm") as mem, open(args.out, "w") as out:
        assert mem.embedder is not None
        vectors = mem.embedder.embed([q.question for q in questions], kind="query")
        scope, active = Scope(user_id=SCOPE), Filters(states=("active",))
        for question, vector in zip(questions, vectors, strict=True):
            hits = rank(mem.store, vector, scope, question.question, active, limit=50, now=NOW,
                        budget=4000, alpha=DEFAULT.alpha, cohesion=DEFAULT.cohesion,
                        reach=DEFAULT.cohesion_reach)  # fmt: skip
            line = [
                {
                    "record": hit.record.to_dict(),
                    "score": round(hit.score, 5),
                    "excerpt": hit.excerpt,
                    "signals": {k: [s.rank, round(s.score, 5)] for k, s in hit.signals.items()},
                }
                for hit in hits
            ]
            out.write(json.dumps(line, sort_keys=True) + "\n")
            hits_written += len(hits)
    print(f"{len(questions)} questions, {hits_written} hits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
