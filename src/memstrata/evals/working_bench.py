"""A long synthetic agent task: how big the working context gets against the full step history.

``run`` drives a ``WorkingMemory`` through ``steps`` steps in ``subgoals`` subgoals (every
fifth subgoal holds a nested child), on a fresh SQLite file with the hashing embedder and no
model (extractive summaries). After every step it measures the context the agent would see,
``context(budget_chars)`` and the unbounded one, against the characters of every step so far.
Each subgoal plants one fact (a code like ``K007-4821``) in one of its observations, and the
report says how many of those codes survive in the subgoal's own summary and in the final
unbounded context (``close_subgoal`` is called without a result, so only the summary can keep
them). Timings are per call, in milliseconds.

    python -m memstrata.evals.working_bench [--steps 500] [--subgoals 25] [--budget 4000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memstrata.memory import Memory
from memstrata.working import RECENT_STEPS, SUMMARY_CHARS, WorkingMemory

__all__ = ["run"]

_TOPICS = (
    "database", "cache", "queue", "scheduler", "parser", "renderer", "auth", "billing",
    "search", "upload", "export", "metrics", "logging", "backup", "gateway",
)  # fmt: skip
_VERBS = ("inspect", "grep", "run", "patch", "read", "list", "profile", "diff", "restart", "test")
_WORDS = (
    "the", "request", "returned", "rows", "latency", "ms", "error", "timeout", "worker",
    "config", "value", "file", "line", "after", "before", "retry", "shard", "node", "version",
    "field", "missing", "ok", "status", "200", "500", "path", "handler", "lock", "memory",
    "thread", "pool", "size", "limit", "index", "query", "plan", "slow", "fast", "cold", "warm",
)  # fmt: skip


def _observation(rng: random.Random, topic: str, planted: str | None) -> str:
    sentences = []
    for _ in range(rng.randint(2, 4)):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 14))]
        words.insert(rng.randrange(len(words)), topic)
        sentences.append(" ".join(words).capitalize() + ".")
    if planted is not None:
        sentences.insert(rng.randrange(len(sentences) + 1), planted)
    return " ".join(sentences)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _ms(values: Sequence[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.fmean(values) * 1000, 3) if values else 0.0,
        "p50": round(_percentile(values, 0.5) * 1000, 3),
        "p95": round(_percentile(values, 0.95) * 1000, 3),
    }


def _plan(steps: int, subgoals: int) -> list[tuple[int, int | None, int]]:
    """``(subgoal, parent, steps)`` in the order subgoals open; every fifth has a child."""
    per, extra = divmod(steps, subgoals)
    counts = [per + (1 if i < extra else 0) for i in range(subgoals)]
    return [(i, i - 1 if i % 5 == 1 else None, counts[i]) for i in range(subgoals)]


def run(
    steps: int = 500,
    subgoals: int = 25,
    *,
    budget_chars: int = 4000,
    seed: int = 0,
    path: str | Path | None = None,
) -> dict[str, Any]:
    """Drive one synthetic task and return the measurements (see the module docstring)."""
    if subgoals < 1 or steps < subgoals:
        raise ValueError("need at least one subgoal and at least one step per subgoal")
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(path) if path is not None else Path(tmp) / "working_bench.db"
        with Memory(db, embedder="hashing") as mem:
            return _drive(mem, rng, steps, subgoals, budget_chars, seed)


def _drive(
    mem: Memory, rng: random.Random, steps: int, subgoals: int, budget: int, seed: int
) -> dict[str, Any]:
    wm = WorkingMemory(mem, f"bench-{seed}", agent_id="bench")
    step_s: list[float] = []
    close_s: list[float] = []
    context_s: list[float] = []
    history = 0
    bounded: list[int] = []
    unbounded: list[int] = []
    over_budget = 0
    codes: dict[int, str] = {}
    kept_in_summary = 0

    def one_step(goal: int, planted: str | None) -> None:
        nonlocal history, over_budget
        topic = _TOPICS[goal % len(_TOPICS)]
        action = f"{rng.choice(_VERBS)} {topic} {rng.choice(_WORDS)} {rng.randint(1, 99)}"
        observation = _observation(rng, topic, planted)
        started = time.perf_counter()
        record = wm.step(action, observation)
        step_s.append(time.perf_counter() - started)
        history += len(record.text)
        started = time.perf_counter()
        text = wm.context(budget)
        context_s.append(time.perf_counter() - started)
        over_budget += len(text) > budget
        bounded.append(len(text))
        unbounded.append(wm.structured_context(10**9).chars)

    def work(goal: int, count: int) -> None:
        plant_at = rng.randrange(count) if goal not in codes else -1
        for k in range(count):
            planted = None
            if k == plant_at:
                codes[goal] = f"K{goal:03d}-{rng.randint(1000, 9999)}"
                planted = f"The {_TOPICS[goal % len(_TOPICS)]} code is {codes[goal]}."
            one_step(goal, planted)

    def close(goal: int) -> None:
        nonlocal kept_in_summary
        started = time.perf_counter()
        summary = wm.close_subgoal()
        close_s.append(time.perf_counter() - started)
        kept_in_summary += codes.get(goal, "-") in summary.text

    plan = _plan(steps, subgoals)
    for goal, parent, count in plan:
        if parent is not None:
            continue  # opened inside its parent below
        wm.open_subgoal(f"subgoal {goal}: fix the {_TOPICS[goal % len(_TOPICS)]}")
        child = next((c for c in plan if c[1] == goal), None)
        if child is None:
            work(goal, count)
            close(goal)
            continue
        work(goal, count // 2)
        wm.open_subgoal(f"subgoal {child[0]}: check the {_TOPICS[child[0] % len(_TOPICS)]}")
        work(child[0], child[2])
        close(child[0])
        work(goal, count - count // 2)
        close(goal)

    started = time.perf_counter()
    resumed = WorkingMemory.resume(mem, wm.task_id)
    resume_s = time.perf_counter() - started
    final = resumed.structured_context(10**9)
    in_final = sum(code in final.text for code in codes.values())
    return {
        "settings": {
            "steps": steps,
            "subgoals": subgoals,
            "nested_subgoals": sum(1 for _, parent, _ in plan if parent is not None),
            "budget_chars": budget,
            "summary_chars": SUMMARY_CHARS,
            "recent_steps": RECENT_STEPS,
            "summaries": "extractive (no model)",
            "embedder": "hashing",
            "seed": seed,
        },
        "full_history_chars": history,
        "context_chars": {
            "budgeted_final": bounded[-1],
            "budgeted_max": max(bounded),
            "unbounded_final": final.chars,
            "unbounded_max": max(unbounded),
            "unbounded_mean": round(statistics.fmean(unbounded), 1),
            "over_budget": over_budget,
        },
        "ratio_unbounded_final_to_history": round(final.chars / history, 4),
        "ratio_budgeted_final_to_history": round(bounded[-1] / history, 4),
        "planted_facts": {
            "total": len(codes),
            "in_own_summary": kept_in_summary,
            "in_final_context": in_final,
        },
        "ms": {
            "step": _ms(step_s),
            "close_subgoal": _ms(close_s),
            "context": _ms(context_s),
            "resume": round(resume_s * 1000, 3),
        },
        "environment": _environment(),
    }


def _environment() -> dict[str, str]:
    from memstrata.evals.report import environment

    return environment()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m memstrata.evals.working_bench")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--subgoals", type=int, default=25)
    parser.add_argument("--budget", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    report = run(args.steps, args.subgoals, budget_chars=args.budget, seed=args.seed)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
