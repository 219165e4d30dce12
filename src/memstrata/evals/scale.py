"""``memstrata eval scale DATASET``: retrieval quality when the answers hide among N others.

A dataset's conversations (LoCoMo's format: LoCoMo, REALTALK) go into ONE scope together with
N distractor memories (``evals.distractors``: another dataset's turns with ``--other``, and
synthetic chat sessions), and each question is asked in that scope through the public API, as
``memstrata eval locomo`` asks it: ``search(question, limit=50)`` for recall@k and latency,
and ``search(question, budget=4000)`` for recall within the budget. Message ids must be
unique in one scope, so each turn's id becomes ``SAMPLE:ID`` ("conv-26:D3:5") and the evidence
is mapped the same way (an evidence entry that named no turn still names none).

The distractor store for each N is filled once through ``Memory.add`` with cached vectors
(``evals.embedcache``) and kept (``evals.stores``) with its scope's vector graph built and
saved beside it; each run copies it, adds the dataset (timed as "ingest", its embedding
included) and asks the questions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memstrata.evals.distractors import distractor_batches, first_names
from memstrata.evals.embedcache import CachingEmbedder, default_cache_dir
from memstrata.evals.locomo import Conversation, LocomoFormatError, Question, Turn, load_locomo
from memstrata.evals.machine import load_average, machine
from memstrata.evals.metrics import DEFAULT_BUDGET_CHARS, DEFAULT_KS, RetrievalSummary
from memstrata.evals.progress import progress_bar
from memstrata.evals.runner import MemoryRetriever, attainable_recall, run_locomo, summarize_run
from memstrata.evals.stores import (
    LARGE,
    cache_arguments,
    cached_store,
    copy_store,
    fill,
    keep_index,
    refuse_large,
    remove_store,
)
from memstrata.ports import Embedder
from memstrata.types import Scope

#: The one scope (user id) that holds the conversations and the distractors.
SCOPE = "scale"
DEFAULT_SIZES = (0, 10_000, 100_000)
LARGE_SIZES = (1_000_000,)


# -- one scope for many conversations (pure) ----------------------------------------------------


def prefixed(sample_id: str, message_id: str) -> str:
    """A message id made unique among conversations: ``SAMPLE:ID``."""
    return f"{sample_id}:{message_id}"


def merge(conversations: Sequence[Conversation], scope: str = SCOPE) -> Conversation:
    """The conversations as one, in ``scope``: turn ids and evidence prefixed with their
    conversation's sample id, sessions numbered through so that none run together."""
    turns: list[Turn] = []
    questions: list[Question] = []
    session = 0
    for conv in conversations:
        previous: int | None = None
        for turn in conv.turns:
            if turn.session != previous:
                session += 1
                previous = turn.session
            turns.append(replace(turn, id=prefixed(conv.sample_id, turn.id), session=session))
        for q in conv.questions:
            evidence = tuple(prefixed(conv.sample_id, e) for e in q.gold.evidence)
            questions.append(replace(q, gold=replace(q.gold, evidence=evidence)))
    speakers = tuple(dict.fromkeys(s for c in conversations for s in c.speakers))
    return Conversation(scope, speakers, tuple(turns), tuple(questions))


def categories(conversations: Sequence[Conversation]) -> tuple[int, ...]:
    return tuple(sorted({q.gold.category for c in conversations for q in c.questions}))


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {key: round(value, 4) for key, value in values.items()}


def size_figures(summary: RetrievalSummary) -> dict[str, Any]:
    """The retrieval figures of one size (pure): budget recall, recall@k, latency."""
    return {
        "budget_recall": _rounded(summary.budget_recall),
        "recall": {str(k): _rounded(v) for k, v in summary.recall.items()},
        "mrr": round(summary.mrr, 4),
        "answer_coverage": _rounded(summary.answer_coverage),
        "mean_context_chars": round(summary.mean_context_chars, 1),
        "search_ms": {
            "p50": round(summary.latency_p50_ms, 2),
            "p95": round(summary.latency_p95_ms, 2),
        },
        "questions": summary.questions,
    }


# -- the command ---------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _distractor_store(
    n: int,
    other: Sequence[Conversation],
    other_sha: str | None,
    names: Sequence[str],
    embedder: CachingEmbedder,
    args: argparse.Namespace,
) -> tuple[Path, dict[str, Any]]:

    batches, composition = distractor_batches(n, other, seed=args.seed, names=names)
    recipe = {
        "kind": "scale-distractors",
        "n": n,
        "seed": args.seed,
        "other_sha256": other_sha,
        "names": list(names),
        "embedder": embedder.name,
        "scope": SCOPE,
    }

    def build(path: Path) -> dict[str, Any]:
        from memstrata.evals.chats import duplicate_share

        report = fill(
            path,
            [(SCOPE, b) for b in batches],
            embedder,
            desc=f"distractors {n:,}",
            progress=args.progress,
        )
        embedder.flush()
        texts = [str(m["text"]) for b in batches for m in b]
        return {
            **report,
            "other_turns": composition.other_turns,
            "synthetic": composition.synthetic,
            "duplicate_share": round(duplicate_share(texts), 5),
        }

    path, record = cached_store(args.cache, f"distractors-{n}", recipe, build, rebuild=args.rebuild)
    # The scope's graph is built once and kept with the store, so every run searches the same one.
    keep_index(path, Scope(user_id=SCOPE), embedder)
    return path, record


def run_size(
    n: int,
    dataset: Conversation,
    other: Sequence[Conversation],
    other_sha: str | None,
    names: Sequence[str],
    embedder: Embedder,
    caching: CachingEmbedder,
    workdir: Path,
    args: argparse.Namespace,
    cats: Sequence[int],
) -> dict[str, Any]:
    """Store ``n`` distractors and the dataset in one scope, ask every question, measure."""
    from memstrata.memory import Memory

    load_before = load_average()
    target = workdir / f"scale-{n}.db"
    distractors: dict[str, Any] = {"other_turns": 0, "synthetic": 0, "duplicate_share": 0.0}
    if n > 0:
        started = time.perf_counter()
        source, record = _distractor_store(n, other, other_sha, names, caching, args)
        distractors = {
            key: record.get(key)
            for key in ("other_turns", "synthetic", "duplicate_share", "fill_s", "cached")
        }
        distractors["prepare_s"] = round(time.perf_counter() - started, 3)
        copy_store(source, target)
    steps = len(dataset.turns) + len(dataset.questions)
    bar = progress_bar(steps, f"N={n:,}", args.progress, unit="step")
    memory = Memory(str(target), embedder=embedder, retriever="default")
    retriever = MemoryRetriever("default", memory)
    try:
        run = run_locomo(
            [dataset],
            retriever,
            limit=args.search_limit,
            budget_chars=args.budget_chars,
            progress=bar,
        )
    finally:
        retriever.close()
        if bar is not None:
            bar.close()
        if args.keep is not None:
            copy_store(target, args.keep / f"scale-{args.path.stem}-{n}.db")
        remove_store(target)
    summary = summarize_run(run, DEFAULT_KS, args.budget_chars, cats)
    return {
        "n": n,
        "distractors": distractors,
        "memories_in_scope": n + run.memories,
        "ingest_s": round(run.ingest_s, 3),
        "ingested": run.memories,
        **size_figures(summary),
        "load_average": {"before": load_before, "after": load_average()},
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def markdown(report: Mapping[str, Any]) -> str:
    """The report as a Markdown table, one row per N."""
    cats = [str(c) for c in report["categories"]]
    budget = report["settings"]["budget_chars"]
    header = [
        "N distractors",
        "other + synthetic",
        "dup. texts",
        f"recall ≤{budget}",
        "R@10",
        "answer in context",
        *(f"≤{budget} cat {c}" for c in cats),
        *(f"R@10 cat {c}" for c in cats),
        "search p50 / p95 ms",
        "ingest s",
        "load before → after",
    ]
    lines = [
        f"## Quality at scale: {report['dataset']} ({report['questions']} questions, "
        f"{report['conversations']} conversations in one scope)",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in report["sizes"]:
        d = row["distractors"]
        load = row["load_average"]
        cells = [
            f"{row['n']:,}",
            f"{d['other_turns']:,} + {d['synthetic']:,}",
            f"{100 * (d['duplicate_share'] or 0):.1f}%",
            _pct(row["budget_recall"]["overall"]),
            _pct(row["recall"]["10"]["overall"]),
            _pct(row.get("answer_coverage", {}).get("overall")),
            *(_pct(row["budget_recall"].get(c)) for c in cats),
            *(_pct(row["recall"]["10"].get(c)) for c in cats),
            f"{row['search_ms']['p50']:.1f} / {row['search_ms']['p95']:.1f}",
            f"{row['ingest_s']:.1f}",
            f"{load['before'][0] if load['before'] else '?'} → "
            f"{load['after'][0] if load['after'] else '?'}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    settings = ", ".join(f"{k}={v}" for k, v in report["settings"].items())
    lines += ["", f"Settings: {settings}", ""]
    return "\n".join(lines)


def _sizes(values: Sequence[int] | None, large: bool) -> list[int]:
    if values:
        return sorted(set(values))
    return [*DEFAULT_SIZES, *(LARGE_SIZES if large else ())]


def _settings(
    args: argparse.Namespace, embedder: Embedder, names: Sequence[str], other_sha: str | None
) -> dict[str, Any]:
    return {
        "retriever": "default",
        "embedder": embedder.name,
        "budget_chars": args.budget_chars,
        "search_limit": args.search_limit,
        "ks": ",".join(map(str, DEFAULT_KS)),
        "seed": args.seed,
        "scope": SCOPE,
        "other": args.other.name if args.other else None,
        "other_sha256": other_sha,
        "dataset_sha256": _sha256(args.path),
        "speaker_names": ",".join(names),
        "cache": str(args.cache),
        "started_at": args.started_at,
    }


def run_command(args: argparse.Namespace) -> int:
    """Carry out ``memstrata eval scale``; returns the exit status."""
    sizes = _sizes(args.distractors, args.large)
    if refuse_large(sizes, args.large, "memstrata eval scale", "--distractors"):
        return 2
    for path in (args.path, args.other):
        if path is not None and not path.is_file():
            print(f"error: no such file: {path}", file=sys.stderr)
            return 2
    try:
        conversations = load_locomo(args.path)
        other = load_locomo(args.other) if args.other else []
    except (LocomoFormatError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        print(f"error: not a LoCoMo-format file: {exc}", file=sys.stderr)
        return 2
    other_sha = _sha256(args.other) if args.other else None
    if other_sha is not None and other_sha == _sha256(args.path):
        print("error: --other names the dataset itself; give another dataset", file=sys.stderr)
        return 2
    from memstrata.embedders import make_embedder
    from memstrata.settings import Settings

    args.cache = args.cache or default_cache_dir()
    args.progress = not args.quiet
    args.started_at = datetime.now(UTC).isoformat(timespec="seconds")
    embedder: Embedder = make_embedder(args.embedder or Settings.from_env().embedder)
    caching = CachingEmbedder(embedder, args.cache / "vectors")
    dataset = merge(conversations)
    names = first_names([*conversations, *other])
    cats = categories(conversations)
    where = machine()  # the revision that runs is the one checked out now
    load_before = load_average()
    started = time.perf_counter()
    rows = []
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="memstrata-scale-", dir=args.workdir) as tmp:
        for n in sizes:
            rows.append(
                run_size(
                    n, dataset, other, other_sha, names, embedder, caching, Path(tmp), args, cats
                )
            )
    caching.close()
    report = {
        "dataset": args.path.name,
        "questions": len(dataset.questions),
        "conversations": len(conversations),
        "categories": list(cats),
        "attainable_recall": _rounded(attainable_recall([dataset], cats)),
        "sizes": rows,
        "settings": _settings(args, embedder, names, other_sha),
        "machine": where,
        "load_average": {"before": load_before, "after": load_average()},
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    text = markdown(report)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        stem = f"scale-{args.path.stem}"
        (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
        (args.out / f"{stem}.md").write_text(text, "utf-8")
    sys.stdout.write(json.dumps(report) + "\n" if args.json else text)
    return 0


def _count(value: str) -> int:
    number = int(value.replace(",", "").replace("_", ""))
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a count of 0 or more, got {value}")
    return number


def add_parser(datasets: Any) -> argparse.ArgumentParser:
    """Register ``scale`` on ``memstrata eval``'s dataset subparsers."""
    p: argparse.ArgumentParser = datasets.add_parser(
        "scale",
        help="LoCoMo-format questions asked in one scope among N distractor memories",
        description="Store a LoCoMo-format dataset's conversations in ONE scope together with N "
        "distractor memories (another dataset's turns with --other, then synthetic chat "
        "sessions dated 2015-2026), ask every question there, and report recall within the "
        "budget, recall@k per category, search p50/p95 and ingest time at each N.",
    )
    p.add_argument("path", type=Path, help="the dataset (LoCoMo's format, e.g. locomo-dev.json)")
    p.add_argument(
        "--distractors",
        type=_count,
        action="append",
        metavar="N",
        help="distractor memories (repeat; default 0, 10000 and 100000, and 1000000 with "
        f"--large); above {LARGE:,} needs --large",
    )
    p.add_argument("--large", action="store_true", help="allow (and by default add) 1,000,000")
    p.add_argument(
        "--other",
        type=Path,
        metavar="PATH",
        help="another LoCoMo-format file whose turns are distractors first (its speakers kept, "
        "each chat moved to a random year); e.g. REALTALK for LoCoMo and the reverse",
    )
    p.add_argument("--embedder", metavar="SPEC", help="default: MEMSTRATA_EMBEDDER or minilm")
    p.add_argument(
        "--budget-chars",
        type=int,
        default=DEFAULT_BUDGET_CHARS,
        metavar="N",
        help="context budget in characters (default %(default)s)",
    )
    p.add_argument(
        "--search-limit",
        type=int,
        default=max(DEFAULT_KS),
        metavar="N",
        help="hits of each question's ranked search, for recall@k (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="distractor seed (default 0)")
    p.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="where each run's store copy lives (default: a temporary one)",
    )
    p.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the store each N's questions were asked in as DIR/scale-STEM-N.db, for "
        "analysis (scripts/fit_ranker.py --scale, scripts/candidate_recall.py); default: "
        "removed",
    )
    p.add_argument("--out", type=Path, metavar="DIR", help="also write the report (JSON, Markdown)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    cache_arguments(p)
    return p
