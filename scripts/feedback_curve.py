"""Learning curve of the feedback-trained reranker on LoCoMo-format data.

    python scripts/feedback_curve.py PATH/locomo.json [--held-out N] [--steps 0,100,300,600]

Every conversation is ingested into its own scope of one store. The held-out conversation's
questions are scored (recall within 4,000 characters, recall@10) before any feedback. Then the
questions of the other conversations are searched and answered with citation feedback derived
from their gold evidence (``used`` = the hits whose sources hold an evidence id); after each
step of the curve the held-out questions are scored again. The held-out conversation never
gives feedback, so what it gains is what the shared (tenant-wide) reranker learnt elsewhere.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from memstrata import Memory
from memstrata.evals.locomo import Conversation, load_locomo
from memstrata.evals.metrics import QuestionOutcome, aggregate, budget_recall, recall_at_k


def score(mem: Memory, conv: Conversation) -> tuple[float, float]:
    rows = []
    for q in conv.questions:
        hits = mem.search(q.question, user_id=conv.scope, limit=50)
        outcome = QuestionOutcome(
            category=q.gold.category,
            evidence=tuple(q.gold.evidence),
            sources=tuple(tuple(h.sources) for h in hits),
            lengths=tuple(len(h.context) for h in hits),
        )
        rows.append((q.gold.category, bool(q.gold.evidence), outcome))
    budget = aggregate((c, e, budget_recall(o, 4000)) for c, e, o in rows)["overall"]
    at10 = aggregate((c, e, recall_at_k(o, 10)) for c, e, o in rows)["overall"]
    return budget, at10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--held-out", type=int, default=-1, help="index of the held-out one")
    parser.add_argument("--steps", default="0,100,300,600")
    parser.add_argument("--embedder", default="minilm")
    args = parser.parse_args()
    convs = load_locomo(args.path)
    held = convs[args.held_out]
    teaching = [(c, q) for c in convs if c is not held for q in c.questions if q.gold.evidence]
    random.Random(0).shuffle(teaching)
    steps = [int(s) for s in args.steps.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        mem = Memory(Path(tmp) / "curve.db", embedder=args.embedder)
        for conv in convs:
            mem.add(conv.messages(), user_id=conv.scope)
        print(f"held out: {held.sample_id} ({len(held.questions)} questions)")
        print("| feedback questions | recall within 4,000 chars | recall@10 |")
        print("|---|---|---|")
        given = 0
        for step in steps:
            for conv, q in teaching[given:step]:
                result = mem.search(q.question, user_id=conv.scope, limit=50)
                evidence = set(q.gold.evidence)
                used = [h.id for h in result if evidence & set(h.sources)]
                if used:
                    mem.feedback(result.search_id, used=used, user_id=conv.scope)
            given = max(given, step)
            budget, at10 = score(mem, held)
            print(f"| {given} | {budget * 100:.1f} | {at10 * 100:.1f} |", flush=True)
        mem.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
