"""``memstrata eval multilingual PATH``: recall@k per language on a small multilingual fixture.

The fixture is JSON Lines, one language a line: ``{"lang": "es", "messages": [{"id",
"speaker", "text"}, …], "questions": [{"question", "evidence": [message ids]}, …]}`` (the
repository's ``tests/fixtures/multilingual.jsonl`` has Spanish, French, German, Portuguese,
Chinese and Japanese). Each language's messages go into a scope of their own through
``Memory.add``, each question is asked with ``search(question, limit=k)``, and recall@k is the
share of its evidence among the sources of the hits, averaged over the language's questions.
Each embedder named gets a fresh store; ``none`` is keyword search alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memstrata.errors import MemstrataError
from memstrata.evals.machine import load_average, machine
from memstrata.memory import Memory

__all__ = ["Language", "add_parser", "load_multilingual", "recall_by_language", "run_command"]


@dataclass(frozen=True, slots=True)
class Language:
    """One language's conversation and the questions asked of it."""

    lang: str
    messages: tuple[Mapping[str, Any], ...]
    questions: tuple[tuple[str, frozenset[str]], ...]


class MultilingualFormatError(ValueError):
    """The file is not in the fixture's format."""


def load_multilingual(path: Path) -> list[Language]:
    """The languages of a fixture file, in file order (``MultilingualFormatError`` when a line
    is not one)."""
    out: list[Language] = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            messages = tuple(row["messages"])
            ids = {m["id"] for m in messages}
            questions = tuple((q["question"], frozenset(q["evidence"])) for q in row["questions"])
            lang = str(row["lang"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise MultilingualFormatError(f"line {number}: {exc!r}") from None
        missing = {e for _, evidence in questions for e in evidence} - ids
        if missing:
            raise MultilingualFormatError(f"line {number}: evidence names no message: {missing}")
        out.append(Language(lang, messages, questions))
    return out


def recall_by_language(
    languages: Sequence[Language], memory: Memory, *, k: int = 5
) -> dict[str, float]:
    """Recall@k of each language's questions, each language in its own scope of ``memory``."""
    scores: dict[str, float] = {}
    for language in languages:
        user = f"multilingual-{language.lang}"
        memory.add([dict(m) for m in language.messages], user_id=user)
        total = 0.0
        for question, evidence in language.questions:
            hits = memory.search(question, limit=k, user_id=user)
            found = {source for hit in hits for source in hit.sources}
            total += len(evidence & found) / len(evidence)
        scores[language.lang] = total / len(language.questions)
    return scores


def add_parser(datasets: Any) -> argparse.ArgumentParser:
    """Register ``multilingual`` on ``memstrata eval``'s dataset subparsers."""
    p: argparse.ArgumentParser = datasets.add_parser(
        "multilingual",
        help="recall@k per language on a small multilingual fixture, for each embedder",
        description="Store each language's conversation of a multilingual fixture "
        "(tests/fixtures/multilingual.jsonl) in its own scope, ask its questions, and report "
        "recall@k per language for each embedder named.",
    )
    p.add_argument("path", type=Path, help="the fixture (JSON Lines, one language a line)")
    p.add_argument(
        "--embedder",
        action="append",
        metavar="SPEC",
        help="an embedder spec (repeat; default: minilm and e5); 'none' is keyword search alone",
    )
    p.add_argument("--retriever", default="default", help="retrieval preset (default: default)")
    p.add_argument("--k", type=int, default=5, metavar="K", help="hits per question (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object, no table")
    return p


def _table(results: Mapping[str, Mapping[str, float]], k: int) -> str:
    languages = list(next(iter(results.values())))
    lines = [
        f"| recall@{k} | " + " | ".join(languages) + " | mean |",
        "|---|" + "---|" * (len(languages) + 1),
    ]
    for embedder, scores in results.items():
        mean = sum(scores.values()) / len(scores)
        cells = " | ".join(f"{scores[lang]:.2f}" for lang in languages)
        lines.append(f"| {embedder} | {cells} | {mean:.2f} |")
    return "\n".join(lines)


def run_command(args: argparse.Namespace) -> int:
    """Carry out ``memstrata eval multilingual``; returns the exit status."""
    if not args.path.is_file():
        print(f"error: no such file: {args.path}", file=sys.stderr)
        return 2
    if args.k < 1:
        print("error: --k must be at least 1", file=sys.stderr)
        return 2
    try:
        languages = load_multilingual(args.path)
    except (MultilingualFormatError, UnicodeDecodeError) as exc:
        print(f"error: {args.path} is not a multilingual fixture: {exc}", file=sys.stderr)
        return 2
    if not languages:
        print(f"error: {args.path} holds no language", file=sys.stderr)
        return 2
    results: dict[str, dict[str, float]] = {}
    for spec in args.embedder or ["minilm", "e5"]:
        embedder = None if spec == "none" else spec
        try:
            with tempfile.TemporaryDirectory(prefix="memstrata-multilingual-") as tmp:
                path = Path(tmp) / "m.db"
                with Memory(path, embedder=embedder, retriever=args.retriever) as memory:
                    results[spec] = recall_by_language(languages, memory, k=args.k)
        except MemstrataError as exc:
            print(f"error: embedder {spec}: {exc}", file=sys.stderr)
            return 2
    if args.json:
        report = {
            "k": args.k, "retriever": args.retriever, "recall": results,
            "machine": machine(), "load": load_average(),
        }  # fmt: skip
        json.dump(report, sys.stdout, ensure_ascii=False)
        print()
    else:
        print(_table(results, args.k))
    return 0
