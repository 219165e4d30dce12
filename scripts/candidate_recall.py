"""How much of each question's evidence the read engine's candidates hold, and its budgeted
search keeps, for variants of the candidate depths: where quality is lost at scale.

    python scripts/candidate_recall.py STORE DATASET [--every 3] \
        [--variant 'deep={"vector": 300, "window": 100, "speaker": 100}'] [--speakers]

STORE holds DATASET's conversations merged into the scope ``scale`` (turn ids prefixed with
their conversation, as ``memstrata eval scale`` stores them) beside its distractors: for
example a copy, made with SQLite's backup, of the store an ``eval scale --workdir DIR`` run
asks its questions in. Prints, per variant (``base`` is ``read.engine.DEPTHS``): the share of
evidence among the candidates (``gather``), the share within the 4,000-character budget (packed
as the ``default`` retriever packs), and the candidate gathering's p50 in ms.

With ``--speakers``, also where the evidence the shipped depths' candidates miss was said: how
many of those turns a person the question names said (by label or alias, as the engine reads
the question), and of those, how many rank among the first ``DEEP`` of that person's own
searches, by meaning (the question's vector without the names it says, as the engine searches
there) and by keywords (the engine asks each for ``Depths.speaker``).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memstrata import Memory
from memstrata.evals.locomo import Question, load_locomo
from memstrata.evals.scale import SCOPE, merge
from memstrata.options import preset
from memstrata.ports import Placed
from memstrata.read.candidates import Candidates
from memstrata.read.engine import Depths, gather, rank
from memstrata.types import Filters, Scope

#: The library's default retriever: its packing is the one measured.
DEFAULT = preset("default")
#: How deep ``--speakers`` looks in a named person's own searches.
DEEP = 400


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--every", type=int, default=1, help="ask every n-th question")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON")
    parser.add_argument("--speakers", action="store_true",
                        help="who said the evidence the candidates miss")  # fmt: skip
    args = parser.parse_args()
    variants = {"base": Depths()}
    for spec in args.variant:
        name, _, fields = spec.partition("=")
        variants[name] = Depths(**json.loads(fields))
    merged = merge(load_locomo(args.dataset))
    questions = merged.questions[:: args.every]
    speaker_of = {turn.id: turn.speaker for turn in merged.turns}
    mem = Memory(str(args.store), embedder="minilm")
    assert mem.embedder is not None
    embedder = mem.embedder
    vectors = embedder.embed([q.question for q in questions], kind="query")

    def embed(text: str) -> Any:
        return embedder.embed([text], kind="query")[0]

    scope, active, now = Scope(user_id=SCOPE), Filters(states=("active",)), datetime.now(UTC)
    #: The shipped depths' candidates of each question asked, for ``--speakers``.
    shipped: list[tuple[Question, Any, Candidates | None]] = []
    for name, depths in variants.items():
        held = kept = 0.0
        asked, times = 0, []
        for question, vector in zip(questions, vectors, strict=True):
            evidence = set(question.gold.evidence)
            if not evidence:
                continue
            started = time.perf_counter()
            found, _ = gather(mem.store, vector, scope, question.question, active, now, depths,
                              embed)  # fmt: skip
            times.append(time.perf_counter() - started)
            if name == "base":
                shipped.append((question, vector, found))
            sources = {s for b in (found.briefs if found else []) for s in b.sources}
            hits = rank(mem.store, vector, scope, question.question, active, limit=200,
                        now=now, budget=4000, alpha=DEFAULT.alpha, cohesion=DEFAULT.cohesion,
                        reach=DEFAULT.cohesion_reach, depths=depths, embed=embed)  # fmt: skip
            packed = {s for hit in hits for s in hit.record.sources}
            held += len(evidence & sources) / len(evidence)
            kept += len(evidence & packed) / len(evidence)
            asked += 1
        times.sort()
        print(
            f"{name}: {asked} questions, candidates hold {100 * held / asked:.1f}, the budget "
            f"keeps {100 * kept / asked:.1f}, gather p50 {1000 * times[len(times) // 2]:.0f} ms"
        )
    if args.speakers:
        missed = named = by_meaning = by_words = 0
        for question, vector, found in shipped:
            sources = {s for b in (found.briefs if found else []) for s in b.sources}
            for turn in set(question.gold.evidence) - sources:
                speaker = speaker_of.get(turn)
                if speaker is None:
                    continue  # evidence that names no turn
                missed += 1
                if found is None or speaker not in (found.named or ()):
                    continue
                named += 1
                theirs = Filters(states=("active",), actor=speaker)
                asked = vector if found.unnamed is None else found.unnamed  # as gather asks
                meaning = mem.store.vector_keys(scope, asked, theirs, limit=DEEP)
                words = mem.store.keyword_keys(scope, question.question, theirs, limit=DEEP)
                by_meaning += turn in said(mem, scope, meaning)
                by_words += turn in said(mem, scope, words)
        print(
            f"evidence turns the candidates miss: {missed}; said by a person the question names: "
            f"{named}; of those, among the first {DEEP} of that person's search by meaning "
            f"{by_meaning}, by keywords {by_words}"
        )
    mem.close()


def said(mem: Memory, scope: Scope, found: list[tuple[int, float]]) -> set[str]:
    """The turns (message ids) that the memories of a search's ``found`` keys came from."""
    placed = mem.store.placed(scope, Filters(states=("active",)), keys=[k for k, _ in found])
    return {s for sources in Placed.columns(placed).briefs.sources for s in sources}


if __name__ == "__main__":
    main()
