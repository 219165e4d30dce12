"""``memstrata eval locomo PATH`` and ``memstrata eval longmemeval PATH``.

``add_parser(subparsers)`` registers the ``eval`` command on the main CLI's subparsers and
``run(args)`` carries it out; ``main(argv)`` runs it alone (``python -m memstrata.evals.cli``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memstrata.evals import multilingual, scale
from memstrata.evals import report as rep
from memstrata.evals.locomo import (
    Conversation,
    LocomoFormatError,
    load_locomo,
    unmatched_evidence,
)
from memstrata.evals.longmemeval import DEFAULT_KS as LME_KS
from memstrata.evals.longmemeval import (
    Item,
    LongMemEvalFormatError,
    aggregate_scores,
    load_longmemeval,
)
from memstrata.evals.metrics import DEFAULT_BUDGET_CHARS, DEFAULT_KS, percentile
from memstrata.evals.runner import (
    LIBRARY_RETRIEVERS,
    NEEDS_EMBEDDER,
    RETRIEVERS,
    FullContext,
    MemoryRetriever,
    Progress,
    ReferenceBM25,
    Retriever,
    attainable_recall,
    open_library_retriever,
    run_locomo,
    run_longmemeval,
    summarize_run,
)
from memstrata.ports import Embedder
from memstrata.prompts import consolidate, extract_facts
from memstrata.settings import quiet_collector

if TYPE_CHECKING:
    from memstrata.llms import OpenAICompatLLM

RETRIEVER_HELP = (
    "what to compare; repeat to run several side by side: bm25 (keyword only), dense, hybrid, "
    "default (the library's default pipeline), reference-bm25 (a standalone Okapi BM25 over raw "
    "turns that checks the harness), full (what full-context prompting costs). Default: default"
)


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return number


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="the dataset file, in the benchmark's own format")
    parser.add_argument(
        "--retriever",
        action="append",
        choices=RETRIEVERS,
        metavar="NAME",
        help=RETRIEVER_HELP,
    )
    parser.add_argument(
        "--embedder",
        metavar="SPEC",
        help="embedder for dense, hybrid and default (e.g. minilm, hashing); "
        "default: MEMSTRATA_EMBEDDER or minilm",
    )
    parser.add_argument(
        "--search-limit",
        type=_positive,
        default=max(DEFAULT_KS),
        metavar="N",
        help="memories asked for per question, for recall@k (default %(default)s); a library "
        "retriever's budgeted search names no count, as search(question, budget=N) does",
    )
    parser.add_argument(
        "--llm",
        metavar="BASE_URL",
        help="ingest through the LLM write path of this OpenAI-compatible endpoint (facts "
        "extracted and consolidated; each library retriever ingests on its own); the API key "
        "comes from MEMSTRATA_LLM_API_KEY",
    )
    parser.add_argument("--model", metavar="NAME", help="model name for --llm")
    parser.add_argument("--json", action="store_true", help="print one JSON object, no table")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write the reports under DIR")
    parser.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="where the evaluation stores live (default: a temporary directory, removed after)",
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``eval`` on the main CLI's subparsers (``parser.add_subparsers()``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        help="measure retrieval on LoCoMo or LongMemEval",
        description="Measure retrieval quality on a benchmark file, each conversation in a fresh "
        "scope, through the public API.",
    )
    datasets = parser.add_subparsers(dest="eval_dataset", metavar="DATASET", required=True)
    locomo = datasets.add_parser(
        "locomo",
        help="LoCoMo (locomo10.json format): recall@k and recall within a budget per category",
        description="Ingest each LoCoMo conversation into its own scope and score each question's "
        "retrieved sources against its evidence with LoCoMo's official recall and aggregation.",
    )
    _common(locomo)
    locomo.add_argument(
        "--budget-chars",
        type=_positive,
        default=DEFAULT_BUDGET_CHARS,
        metavar="N",
        help="context budget: hits in rank order while their text fits (default %(default)s)",
    )
    locomo.add_argument(
        "--limit-conversations", type=_positive, metavar="N", help="only the first N conversations"
    )
    locomo.add_argument(
        "--answer-llm",
        metavar="BASE_URL",
        help="also answer each question from its budget context with this OpenAI-compatible "
        "endpoint, and score LoCoMo's token F1 and an LLM judge",
    )
    locomo.add_argument("--answer-model", metavar="MODEL", help="model name for --answer-llm")
    locomo.add_argument(
        "--answer-cache",
        type=Path,
        metavar="DIR",
        help="cache of model responses, so reruns are free (default: DIR/.cache with --out DIR, "
        "else none); the API key comes from MEMSTRATA_LLM_API_KEY",
    )
    locomo.add_argument("--no-judge", action="store_true", help="skip the LLM judge")
    lme = datasets.add_parser(
        "longmemeval",
        help="LongMemEval (longmemeval_s.json format): recall_any/all@k and NDCG@k",
        description="Ingest each LongMemEval question's haystack into its own scope and score "
        "the retrieved sessions and turns with the benchmark's own metrics (abstention "
        "questions excluded).",
    )
    _common(lme)
    lme.add_argument(
        "--k",
        type=_positive,
        action="append",
        metavar="K",
        help=f"cut-offs (repeat; default {', '.join(map(str, LME_KS))})",
    )
    lme.add_argument("--limit-questions", type=_positive, metavar="N", help="only the first N")
    scale.add_parser(datasets)
    multilingual.add_parser(datasets)
    return parser


# -- carrying it out ---------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _embedder(spec: str | None) -> tuple[Embedder, str]:
    from memstrata.embedders import make_embedder
    from memstrata.settings import Settings

    name = spec or Settings.from_env().embedder
    embedder: Embedder = make_embedder(name)
    return embedder, embedder.name


def _progress(args: argparse.Namespace, total: int, desc: str) -> Any:
    if args.json or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, unit="step", leave=False)


class _Retrievers:
    """Opens the named retrievers one at a time, sharing one embedder and one model client."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.names: list[str] = list(dict.fromkeys(args.retriever or ["default"]))
        self.workdir = workdir
        self.spec: str | None = args.embedder
        self._embedder: Embedder | None = None
        self.embedder_name: str | None = None
        self.llm: OpenAICompatLLM | None = None
        if args.llm:
            from memstrata.llms import OpenAICompatLLM
            from memstrata.settings import Settings

            api_key = Settings.from_env().llm_api_key
            self.llm = OpenAICompatLLM(args.llm, args.model, api_key)

    def open(self, name: str) -> Retriever:
        if name == "full":
            return FullContext()
        if name == "reference-bm25":
            return ReferenceBM25()
        assert name in LIBRARY_RETRIEVERS
        embedder = None
        if name in NEEDS_EMBEDDER:
            if self._embedder is None:
                self._embedder, self.embedder_name = _embedder(self.spec)
            embedder = self._embedder
        return open_library_retriever(name, self.workdir, embedder, self.llm)

    def settings(self) -> dict[str, Any]:
        """What the report records about the write path's model."""
        if self.llm is None:
            return {}
        return {
            "llm_model": self.llm.model,
            "llm_prompts": f"{extract_facts.VERSION},{consolidate.VERSION}",
        }

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()


def _settings(args: argparse.Namespace, names: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {
        **rep.environment(),
        "dataset_sha256": _sha256(args.path),
        "retrievers": ",".join(names),
        "search_limit": args.search_limit,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }


def _emit(args: argparse.Namespace, payload: dict[str, Any], markdown: str) -> None:
    if args.json:
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        sys.stdout.write(markdown)


def run_locomo_command(args: argparse.Namespace, workdir: Path) -> int:
    conversations = load_locomo(args.path)
    if args.limit_conversations:
        conversations = conversations[: args.limit_conversations]
    retrievers = _Retrievers(args, workdir)
    try:
        return _locomo(args, conversations, retrievers)
    finally:
        retrievers.close()


def _locomo(
    args: argparse.Namespace, conversations: Sequence[Conversation], retrievers: _Retrievers
) -> int:
    answering = None
    if args.answer_llm:
        from memstrata.evals.answer import Answering

        if not args.answer_model:
            print("error: --answer-llm needs --answer-model", file=sys.stderr)
            return 2
        cache = args.answer_cache or (args.out / ".cache" if args.out else None)
        from memstrata.settings import Settings

        answering = Answering.open(
            args.answer_llm,
            args.answer_model,
            api_key=Settings.from_env().llm_api_key,
            cache_dir=cache,
            judge=not args.no_judge,
        )
    steps = sum(len(c.turns) + len(c.questions) for c in conversations)
    runs: list[rep.RunReport] = []
    for name in retrievers.names:
        retriever = retrievers.open(name)
        bar = _progress(args, steps, name)
        progress: Progress | None = bar
        try:
            run = run_locomo(
                conversations,
                retriever,
                limit=max(args.search_limit, 1),
                budget_chars=args.budget_chars,
                progress=progress,
                answerer=answering.answer if answering else None,
            )
        finally:
            retriever.close()
            if bar is not None:
                bar.close()
        summary = summarize_run(run, DEFAULT_KS, args.budget_chars)
        answers = answering.score(run.predictions) if answering else None
        runs.append(
            rep.RunReport(
                name, summary, run.ingest_s, run.memories, answers, run.whole_context,
                _write_path(retriever),
            )
        )  # fmt: skip
    report = rep.LocomoReport(
        dataset=args.path.name,
        questions=sum(len(c.questions) for c in conversations),
        conversations=len(conversations),
        runs=tuple(runs),
        attainable=attainable_recall(conversations),
        unmatched_evidence=len(unmatched_evidence(conversations)),
        settings=_settings(
            args,
            retrievers.names,
            budget_chars=args.budget_chars,
            ks=",".join(map(str, DEFAULT_KS)),
            embedder=retrievers.embedder_name,
            limit_conversations=args.limit_conversations,
            **retrievers.settings(),
            **(answering.settings() if answering else {}),
        ),
    )
    if args.out:
        paths = rep.write_locomo(report, args.out)
        print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)
    _emit(args, rep.locomo_json(report), rep.locomo_markdown(report))
    return 0


def run_longmemeval_command(args: argparse.Namespace, workdir: Path) -> int:
    items = [item for item in load_longmemeval(args.path) if not item.abstention]
    if args.limit_questions:
        items = items[: args.limit_questions]
    ks = tuple(sorted(set(args.k))) if args.k else LME_KS
    retrievers = _Retrievers(args, workdir)
    try:
        return _longmemeval(args, items, ks, retrievers)
    finally:
        retrievers.close()


def _longmemeval(
    args: argparse.Namespace, items: Sequence[Item], ks: Sequence[int], retrievers: _Retrievers
) -> int:
    runs: list[rep.LongMemEvalRunReport] = []
    for name in retrievers.names:
        retriever = retrievers.open(name)
        bar = _progress(args, len(items), name)
        try:
            run = run_longmemeval(
                items, retriever, ks=ks, limit=max(args.search_limit, max(ks)), progress=bar
            )
        finally:
            retriever.close()
            if bar is not None:
                bar.close()
        latencies = [s * 1000.0 for s in run.latencies_s]
        runs.append(
            rep.LongMemEvalRunReport(
                name=name,
                means=aggregate_scores(run.scores),
                latency_p50_ms=percentile(latencies, 50),
                latency_p95_ms=percentile(latencies, 95),
                ingest_s=run.ingest_s,
                memories=run.memories,
                write_path=_write_path(retriever),
            )
        )
    report = rep.LongMemEvalReport(
        dataset=args.path.name,
        questions=len(items),
        runs=tuple(runs),
        settings=_settings(
            args,
            retrievers.names,
            ks=",".join(map(str, ks)),
            embedder=retrievers.embedder_name,
            limit_questions=args.limit_questions,
            **retrievers.settings(),
        ),
    )
    if args.out:
        paths = rep.write_longmemeval(report, args.out)
        print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)
    _emit(args, rep.longmemeval_json(report), rep.longmemeval_markdown(report))
    return 0


def _write_path(retriever: Retriever) -> dict[str, Any] | None:
    return retriever.write_path() if isinstance(retriever, MemoryRetriever) else None


def run(args: argparse.Namespace) -> int:
    """Carry out ``memstrata eval ...``; returns the exit status."""
    quiet_collector()  # its searches are timed as a server's are
    if args.eval_dataset == "scale":
        return scale.run_command(args)
    if args.eval_dataset == "multilingual":
        return multilingual.run_command(args)
    if not args.path.is_file():
        print(f"error: no such file: {args.path}", file=sys.stderr)
        return 2
    if bool(args.llm) != bool(args.model):
        print("error: --llm and --model go together", file=sys.stderr)
        return 2
    command = run_locomo_command if args.eval_dataset == "locomo" else run_longmemeval_command
    try:
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
            return command(args, Path(tempfile.mkdtemp(prefix="run-", dir=args.workdir)))
        with tempfile.TemporaryDirectory(prefix="memstrata-eval-") as tmp:
            return command(args, Path(tmp))
    except (LocomoFormatError, LongMemEvalFormatError, json.JSONDecodeError,
            UnicodeDecodeError) as exc:  # fmt: skip
        print(f"error: {args.path} is not a {args.eval_dataset} file: {exc}", file=sys.stderr)
        return 2


def register(sub: Any, common: argparse.ArgumentParser, scoped: argparse.ArgumentParser) -> None:
    """Add ``memstrata eval`` to the main command."""
    add_parser(sub).set_defaults(handler=run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="memstrata")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
