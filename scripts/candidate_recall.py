"""How much of each question's evidence the read engine's candidates hold, and its budgeted
search keeps, for variants of the candidate depths: where quality is lost at scale.

    python scripts/candidate_recall.py STORE DATASET [--every 3] \
        [--variant 'deep={"vector": 300, "window": 100, "speaker": 100}']

STORE holds DATASET's conversations merged into the scope ``scale`` (turn ids prefixed with
their conversation, as ``memstrata eval scale`` stores them) beside its distractors: for
example a copy, made with SQLite's backup, of the store an ``eval scale --workdir DIR`` run
asks its questions in. Prints, per variant (``base`` is ``read.engine.DEPTHS``): the share of
evidence among the candidates (``gather``), the share within the 4,000-character budget (packed
as the ``default`` retriever packs), and the candidate gathering's p50 in ms.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from memstrata import Memory
from memstrata.evals.locomo import load_locomo
from memstrata.evals.scale import SCOPE, merge
from memstrata.options import preset
from memstrata.read.engine import Depths, gather, rank
from memstrata.types import Filters, Scope

#: The library's default retriever: its packing is the one measured.
DEFAULT = preset("default")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--every", type=int, default=1, help="ask every n-th question")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON")
    args = parser.parse_args()
    variants = {"base": Depths()}
    for spec in args.variant:
        name, _, fields = spec.partition("=")
        variants[name] = Depths(**json.loads(fields))
    questions = merge(load_locomo(args.dataset)).questions[:: args.every]
    mem = Memory(str(args.store), embedder="minilm")
    assert mem.embedder is not None
    vectors = mem.embedder.embed([q.question for q in questions], kind="query")
    scope, active, now = Scope(user_id=SCOPE), Filters(states=("active",)), datetime.now(UTC)
    for name, depths in variants.items():
        held = kept = 0.0
        asked, times = 0, []
        for question, vector in zip(questions, vectors, strict=True):
            evidence = set(question.gold.evidence)
            if not evidence:
                continue
            started = time.perf_counter()
            found, _ = gather(mem.store, vector, scope, question.question, active, now, depths)
            times.append(time.perf_counter() - started)
            sources = {s for b in (found.briefs if found else []) for s in b.sources}
            hits = rank(mem.store, vector, scope, question.question, active, limit=200,
                        now=now, budget=4000, alpha=DEFAULT.alpha, cohesion=DEFAULT.cohesion,
                        reach=DEFAULT.cohesion_reach,
                        depths=depths)  # fmt: skip
            packed = {s for hit in hits for s in hit.record.sources}
            held += len(evidence & sources) / len(evidence)
            kept += len(evidence & packed) / len(evidence)
            asked += 1
        times.sort()
        print(
            f"{name}: {asked} questions, candidates hold {100 * held / asked:.1f}, the budget "
            f"keeps {100 * kept / asked:.1f}, gather p50 {1000 * times[len(times) // 2]:.0f} ms"
        )
    mem.close()


if __name__ == "__main__":
    main()
