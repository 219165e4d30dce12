"""Retrieval when the store also keeps the questions asked of it, as an assistant's store does.

    python scripts/asked_again.py FILE [FILE ...] [--apart] [--plain] [--embedder minilm]

Each conversation of each LoCoMo-format FILE gets one more session, a week after its last,
in which its first speaker asks every one of its questions again, word for word (ids
``asked:N``, never evidence); with ``--apart``, each question is a session of its own, a day
after the one before; with ``--plain``, nothing is added (the harness's own run). The
``default`` retriever then answers every question as ``memstrata eval locomo`` does (each
conversation in its own scope, the questions' raw text), and the script prints, as JSON, per
FILE: recall within the 4,000-character budget, recall@10 and answer in context (percent),
and how many questions found their own earlier asking first and among their best 10, and how
many earlier askings of other questions they found among their best 10 on average.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from memstrata import Memory
from memstrata.embedders import make_embedder
from memstrata.evals.embedcache import CachingEmbedder, default_cache_dir
from memstrata.evals.locomo import Conversation, Turn, load_locomo
from memstrata.evals.runner import MemoryRetriever, run_locomo, summarize_run

PREFIX = "asked:"


def asked_again(conv: Conversation, apart: bool) -> Conversation:
    """``conv`` with its questions asked again by its first speaker after its last session."""
    last = max(t.timestamp for t in conv.turns if t.timestamp is not None)
    session = max(t.session for t in conv.turns) + 1
    asked = tuple(
        Turn(f"{PREFIX}{i}", conv.speakers[0], q.question, session + i if apart else session,
             last + (timedelta(days=7 + i) if apart else timedelta(days=7, minutes=i)))
        for i, q in enumerate(conv.questions)
    )  # fmt: skip
    return dataclasses.replace(conv, turns=conv.turns + asked)


def run(path: Path, embedder: CachingEmbedder, mode: str) -> dict[str, Any]:
    convs = load_locomo(path)
    if mode != "plain":
        convs = [asked_again(c, apart=mode == "apart") for c in convs]
    with tempfile.TemporaryDirectory() as workdir:
        memory = Memory(store=str(Path(workdir) / "m.db"), embedder=embedder, retriever="default")
        retriever = MemoryRetriever("default", memory)
        try:
            result = run_locomo(convs, retriever)
        finally:
            retriever.close()
    summary = summarize_run(result)
    own_first = own_top = others = 0
    outcomes = iter(result.outcomes)
    for conv in convs:
        for i, _ in enumerate(conv.questions):
            outcome = next(outcomes)
            mine = f"{PREFIX}{i}"
            top = [source for sources in outcome.sources[:10] for source in sources]
            own_first += bool(outcome.sources) and mine in outcome.sources[0]
            own_top += mine in top
            others += sum(1 for s in top if s.startswith(PREFIX) and s != mine)
    return {
        "questions": summary.questions,
        "budget_recall": round(100 * summary.budget_recall["overall"], 2),
        "recall_at_10": round(100 * summary.recall[10]["overall"], 2),
        "answer_in_context": round(100 * summary.answer_coverage.get("overall", 0.0), 2),
        "own_asking_first": own_first,
        "own_asking_in_10": own_top,
        "other_askings_in_10": round(others / max(summary.questions, 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--apart", action="store_true", help="each question a session of its own")
    group.add_argument("--plain", action="store_true", help="no question asked again")
    parser.add_argument("--embedder", default="minilm", help="embedder spec (default minilm)")
    args = parser.parse_args()
    mode = "plain" if args.plain else "apart" if args.apart else "together"
    embedder = CachingEmbedder(make_embedder(args.embedder), default_cache_dir())
    try:
        report = {path.stem: run(path, embedder, mode) for path in args.files}
    finally:
        embedder.close()
    print(json.dumps({"mode": mode, **report}, indent=1))


if __name__ == "__main__":
    main()
