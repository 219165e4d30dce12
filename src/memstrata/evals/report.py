"""Reports of an evaluation: a JSON object, Markdown tables and a PNG chart.

Every report carries the settings it was made with, the git revision of the code, and the
versions of any prompts used. Recalls are fractions in the JSON and percentages in Markdown.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from memstrata.evals.locomo import CATEGORIES
from memstrata.evals.metrics import RetrievalSummary


@dataclass(frozen=True, slots=True)
class AnswerSummary:
    """Scores of answers made from retrieved context (only with an answering model)."""

    f1: Mapping[str, float]  # "overall", "1", ...
    judge: Mapping[str, float] | None
    stemmed: bool
    model: str
    prompt_versions: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RunReport:
    name: str
    summary: RetrievalSummary
    ingest_s: float
    memories: int
    answers: AnswerSummary | None = None
    #: The run's one result is the whole conversation (``full``): no budget applies to it.
    whole_context: bool = False
    #: What the LLM write path did while ingesting (``MemoryRetriever.write_path``), if used.
    write_path: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class LocomoReport:
    dataset: str
    questions: int
    conversations: int
    runs: tuple[RunReport, ...]
    attainable: Mapping[str, float]  # recall if every message were retrieved
    unmatched_evidence: int
    settings: Mapping[str, Any] = field(default_factory=dict)


# -- environment -------------------------------------------------------------------------------


def git_revision(cwd: str | Path | None = None) -> str:
    """``git describe``-like revision of the working tree (``+dirty`` when it has changes)."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}+dirty" if dirty else rev


def environment() -> dict[str, str]:
    try:
        version = metadata.version("memstrata")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "git_revision": git_revision(Path(__file__).resolve().parent),
        "memstrata": version,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


# -- LoCoMo --------------------------------------------------------------------------------------


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {key: round(value, 6) for key, value in values.items()}


def run_json(run: RunReport) -> dict[str, Any]:
    s = run.summary
    out: dict[str, Any] = {
        "recall": {str(k): _rounded(v) for k, v in s.recall.items()},
        "budget_recall": {"chars": s.budget_chars, **_rounded(s.budget_recall)},
        "mrr": round(s.mrr, 6),
        "answer_coverage": _rounded(s.answer_coverage),
        "mean_context_chars": round(s.mean_context_chars, 1),
        "latency_ms": {"p50": round(s.latency_p50_ms, 3), "p95": round(s.latency_p95_ms, 3)},
        "ingest_s": round(run.ingest_s, 3),
        "memories": run.memories,
    }
    if run.write_path is not None:
        out["write_path"] = dict(run.write_path)
    if run.answers is not None:
        a = run.answers
        out["answers"] = {
            "model": a.model,
            "f1": _rounded(a.f1),
            "f1_stemmed": a.stemmed,
            "judge": _rounded(a.judge) if a.judge is not None else None,
            "prompt_versions": dict(a.prompt_versions),
        }
    return out


def locomo_json(report: LocomoReport) -> dict[str, Any]:
    return {
        "dataset": report.dataset,
        "questions": report.questions,
        "conversations": report.conversations,
        "attainable_recall": _rounded(report.attainable),
        "unmatched_evidence": report.unmatched_evidence,
        "settings": dict(report.settings),
        "retrievers": {run.name: run_json(run) for run in report.runs},
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def locomo_markdown(report: LocomoReport) -> str:
    """The report as Markdown: a summary table, then recall by category for every cut."""
    settings = report.settings
    budget = settings.get("budget_chars", "?")
    lines = [
        f"## LoCoMo retrieval: {report.dataset}",
        "",
        f"{report.conversations} conversations, {report.questions} questions; official "
        f"per-question recall and aggregation; budget = {budget} characters. "
        f"Attainable overall recall (every message retrieved): {_pct(report.attainable['overall'])}"
        f" ({report.unmatched_evidence} evidence ids name no message).",
        "",
    ]
    ks = [str(k) for k in report.runs[0].summary.recall] if report.runs else []
    header = [
        "retriever",
        f"recall ≤{budget} chars",
        *(f"R@{k}" for k in ks),
        "answer in context",
        "MRR",
        "context chars",
        "search p50 ms",
        "p95 ms",
        "ingest s",
        "memories",
    ]
    rows = []
    for run in report.runs:
        s = run.summary
        rows.append(
            [
                run.name,
                _pct(s.budget_recall["overall"]),
                *(_pct(s.recall[int(k)]["overall"]) for k in ks),
                _pct(s.answer_coverage.get("overall")),
                f"{s.mrr:.3f}",
                f"{s.mean_context_chars:,.0f}",
                f"{s.latency_p50_ms:.1f}",
                f"{s.latency_p95_ms:.1f}",
                f"{run.ingest_s:.1f}",
                str(run.memories),
            ]
        )
    lines += _table(header, rows)
    categories = [str(c) for c in CATEGORIES]
    cat_header = ["retriever", "cut", "overall", *(f"{c} {CATEGORIES[int(c)]}" for c in categories)]
    cat_rows = []
    for run in report.runs:
        s = run.summary
        cuts: list[tuple[str, Mapping[str, float]]] = [
            (f"≤{s.budget_chars} chars", s.budget_recall)
        ]
        cuts += [(f"@{k}", values) for k, values in s.recall.items()]
        cuts += [("answer in context", s.answer_coverage)]
        for label, values in cuts:
            cat_rows.append(
                [
                    run.name,
                    label,
                    _pct(values["overall"]),
                    *(_pct(values.get(c)) for c in categories),
                ]
            )
    lines += ["", "Recall by category (%):", "", *_table(cat_header, cat_rows)]
    write_path = _write_path_lines(report.runs)
    if write_path:
        lines += ["", *write_path]
    answered = [run for run in report.runs if run.answers is not None]
    if answered:
        a_header = ["retriever", "measure", "overall", *categories]
        a_rows = []
        for run in answered:
            assert run.answers is not None
            f1_label = "token F1" if run.answers.stemmed else "token F1 (unstemmed)"
            a_rows.append(
                [run.name, f1_label, _pct(run.answers.f1["overall"])]
                + [_pct(run.answers.f1.get(c)) for c in categories]
            )
            if run.answers.judge is not None:
                a_rows.append(
                    [run.name, "LLM judge", _pct(run.answers.judge["overall"])]
                    + [_pct(run.answers.judge.get(c)) for c in categories]
                )
        lines += ["", f"Answers ({answered[0].answers.model if answered[0].answers else ''}):", ""]
        lines += _table(a_header, a_rows)
    lines += ["", "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()), ""]
    return "\n".join(lines)


def _write_path_lines(runs: Sequence[RunReport | LongMemEvalRunReport]) -> list[str]:
    """One line per run that ingested through a language model: its calls and its facts."""
    lines = []
    for run in runs:
        w = run.write_path
        if w is None:
            continue
        lines.append(
            f"- {run.name}: {w['calls']} calls to {w['model']} ({w['extraction_calls']} "
            f"extraction, {w['consolidation_calls']} consolidation; "
            f"{w['prompt_tokens'] + w['completion_tokens']:,} tokens), {w['facts']} facts "
            f"extracted: {w['added']} added, {w['updated']} updated, {w['invalidated']} "
            f"invalidated, {w['dropped']} dropped; {w['failed_batches']} failed batches, "
            f"{w['pending']} messages left undone"
        )
    return ["LLM write path:", "", *lines] if lines else []


def plot_locomo(report: LocomoReport, path: str | Path) -> None:
    """A PNG: recall against k and within the budget, one panel per category, one line per
    retriever."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = ["overall", *(str(c) for c in CATEGORIES)]
    ranked = [run for run in report.runs if not run.whole_context]
    ks = list(ranked[0].summary.recall) if ranked else []
    budget = report.settings.get("budget_chars", ranked[0].summary.budget_chars if ranked else "")
    ticks = [f"@{k}" for k in ks] + [f"≤{budget}\nchars"]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5), sharey=True)
    for ax, panel in zip(axes.flat, panels, strict=True):
        title = "overall" if panel == "overall" else f"{panel}: {CATEGORIES[int(panel)]}"
        ax.set_title(title)
        for number, run in enumerate(report.runs):
            s = run.summary
            if run.whole_context:
                ax.axhline(
                    100 * s.budget_recall.get(panel, 0.0),
                    linestyle="--",
                    color="grey",
                    label=f"{run.name} ({s.mean_context_chars:,.0f} chars)",
                )
                continue
            ys = [100 * s.recall[k].get(panel, 0.0) for k in ks]
            (line,) = ax.plot(
                range(len(ks)),
                ys,
                marker="osD^vP"[number % 6],
                linestyle="-" if number % 2 == 0 else "--",
                label=run.name,
            )
            ax.plot(
                [len(ks)],
                [100 * s.budget_recall.get(panel, 0.0)],
                marker="*",
                markersize=12,
                linestyle="none",
                color=line.get_color(),
            )
        ax.set_xticks(range(len(ticks)))
        ax.set_xticklabels(ticks)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes.flat[0].set_ylabel("recall (%)")
    axes.flat[3].set_ylabel("recall (%)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=max(1, len(labels)))
    fig.suptitle(f"LoCoMo retrieval: {report.dataset} ({report.questions} questions)")
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_locomo(report: LocomoReport, out_dir: str | Path) -> list[Path]:
    """Write ``locomo.json``, ``locomo.md`` and ``locomo.png`` under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "locomo.json", out / "locomo.md", out / "locomo.png"]
    paths[0].write_text(json.dumps(locomo_json(report), indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(locomo_markdown(report), encoding="utf-8")
    plot_locomo(report, paths[2])
    return paths


# -- LongMemEval -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LongMemEvalRunReport:
    name: str
    means: Mapping[str, Mapping[str, float]]  # group -> "level/metric@k" -> mean
    latency_p50_ms: float
    latency_p95_ms: float
    ingest_s: float
    memories: int
    write_path: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class LongMemEvalReport:
    dataset: str
    questions: int  # scored (abstention excluded)
    runs: tuple[LongMemEvalRunReport, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)


def longmemeval_json(report: LongMemEvalReport) -> dict[str, Any]:
    return {
        "dataset": report.dataset,
        "questions": report.questions,
        "settings": dict(report.settings),
        "retrievers": {
            run.name: {
                "metrics": {g: _rounded(v) for g, v in run.means.items()},
                "latency_ms": {
                    "p50": round(run.latency_p50_ms, 3),
                    "p95": round(run.latency_p95_ms, 3),
                },
                "ingest_s": round(run.ingest_s, 3),
                "memories": run.memories,
                **({"write_path": dict(run.write_path)} if run.write_path else {}),
            }
            for run in report.runs
        },
    }


def longmemeval_markdown(report: LongMemEvalReport) -> str:
    lines = [
        f"## LongMemEval retrieval: {report.dataset}",
        "",
        f"{report.questions} questions (abstention excluded); the benchmark's own metrics (%).",
        "",
    ]
    for run in report.runs:
        overall = run.means.get("overall", {})
        keys = [k for k in overall if k != "questions"]
        groups = list(run.means)
        header = ["group", "n", *keys]
        rows = [
            [g, f"{run.means[g].get('questions', 0):.0f}"]
            + [_pct(run.means[g].get(k)) for k in keys]
            for g in groups
        ]
        lines += [
            f"### {run.name} (search p50 {run.latency_p50_ms:.1f} ms, p95 "
            f"{run.latency_p95_ms:.1f} ms; ingest {run.ingest_s:.1f} s; {run.memories} memories)",
            "",
            *_table(header, rows),
            "",
        ]
    write_path = _write_path_lines(report.runs)
    if write_path:
        lines += [*write_path, ""]
    lines += ["Settings: " + ", ".join(f"{k}={v}" for k, v in report.settings.items()), ""]
    return "\n".join(lines)


def write_longmemeval(report: LongMemEvalReport, out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "longmemeval.json", out / "longmemeval.md"]
    paths[0].write_text(json.dumps(longmemeval_json(report), indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(longmemeval_markdown(report), encoding="utf-8")
    return paths
