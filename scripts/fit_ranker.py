"""Fit the feature ranker's weights on LoCoMo-format data, scored leave-one-conversation-out.

    python scripts/fit_ranker.py PATH/locomo.json [--alpha 2.5 | --fit-alpha] [--l2 1.0]

Each conversation is ingested through the public API into its own scope. For every question the
library's own features (``memstrata.read.features``) are computed over the scope's units (the
sentences of its memories), and a unit is a positive when one of its memory's sources is an
evidence id of the question. A logistic model (is this unit's memory evidence?) is fitted on all
conversations but one and scored on the one left out, with the library's own packing
(``read.pack``, as ``search(question, budget=4000)`` packs: no count caps it, a provenance
once) for the budget and memories ranked by their best unit for recall@k; the table shows those
held-out scores only. ``--fit-alpha`` also picks the packing's length preference on
the training conversations of each fold. The weights printed last are fitted on every
conversation: paste them into ``read/features.py`` as ``DEFAULT_WEIGHTS`` only together with the
held-out table.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from memstrata import Memory
from memstrata.evals.locomo import load_locomo
from memstrata.evals.metrics import (
    Context,
    QuestionOutcome,
    aggregate,
    budget_recall,
    recall_at_k,
)
from memstrata.memory import MAX_LIMIT
from memstrata.read.features import FEATURES, features
from memstrata.read.pack import context_length, pack
from memstrata.read.ranker import scope_index
from memstrata.types import Scope, context_line


def collect(path: Path, cache: Path) -> list[dict[str, object]]:
    target = cache / f"unit-features-{path.stem}-v2.pkl"  # v2: with each unit's provenance
    if target.exists():
        return pickle.loads(target.read_bytes())  # type: ignore[no-any-return]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for conv in load_locomo(path):
            mem = Memory(Path(tmp) / f"{conv.sample_id}.db", embedder="minilm")
            mem.add(conv.messages(), user_id=conv.scope)
            index = scope_index(mem.store, Scope(user_id=conv.scope))
            assert index is not None
            now = max(r.recorded_at for r in index.records)
            questions = [q.question for q in conv.questions]
            vectors = mem.embedder.embed(questions, kind="query") if mem.embedder else None
            arrays = index.arrays()
            matrices, labels, golds = [], [], []
            for i, q in enumerate(conv.questions):
                vector = None if vectors is None else vectors[i]
                cols = features(index, q.question, vector, now)
                matrices.append(np.stack([cols[f] for f in FEATURES], axis=1))
                evidence = set(q.gold.evidence)
                memory = np.array([bool(evidence & set(r.sources)) for r in index.records])
                labels.append(memory[arrays.unit_of])
                golds.append((q.gold.category, q.gold.evidence))
            out.append({
                "id": conv.sample_id,
                "X": matrices,
                "y": labels,
                "gold": golds,
                "sources": [r.sources for r in index.records],
                "lengths": np.array([len(context_line(r)) for r in index.records]),
                "unit_of": arrays.unit_of,
                "cost": arrays.unit_cost,
                "text_length": arrays.unit_length,
                "loglen": arrays.unit_log_cost,
                "group": arrays.unit_group,
            })  # fmt: skip
            mem.close()
            print(f"features of {conv.sample_id}: {len(index)} memories", file=sys.stderr)
    cache.mkdir(parents=True, exist_ok=True)
    target.write_bytes(pickle.dumps(out))
    return out


#: The features the model may use: the rest are near copies of these (a rank next to a
#: z-score, a complement) and only make the fit unstable.
FITTED = FEATURES


#: Groups of features switched off together in the ablation (``--ablate``).
GROUPS = {
    "keywords (BM25, PRF, coverage)": ("bm25", "bm_rel", "cov", "prf", "t_bm25"),
    "vector cosine": ("dense", "cos"),
    "session scores": ("s_bm25", "s_dense"),
    "neighbouring units and messages": ("win", "tp1", "tmax"),
    "time window, when-questions": ("time", "when_time"),
    "named speaker": ("spk_named", "other_named", "spec_spk", "list_spk"),
    "priors (length, question, photo)": ("loglen", "is_q", "photo"),
}


def fit(
    convs: list[dict[str, object]], l2: float, iters: int = 50, without: tuple[str, ...] = ()
) -> np.ndarray:
    """Pointwise L2-regularised logistic regression (Newton's method): is this memory evidence
    for the question? Returns weights over ``FEATURES`` (zero outside ``FITTED``)."""
    columns = [FEATURES.index(f) for f in FITTED if f not in without]
    x = np.vstack([m[:, columns] for c in convs for m in c["X"]])  # type: ignore[attr-defined]
    y = np.concatenate([v for c in convs for v in c["y"]]).astype(float)  # type: ignore[attr-defined]
    xb = np.hstack([x, np.ones((len(x), 1))])
    penalty = l2 * np.diag([*([1.0] * len(columns)), 0.0])
    w = np.zeros(xb.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(xb @ w)))
        step = np.linalg.solve((xb * (p * (1 - p))[:, None]).T @ xb + penalty,
                               xb.T @ (p - y) + penalty @ w)  # fmt: skip
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    out = np.zeros(len(FEATURES))
    out[columns] = w[:-1]
    return out


def score(conv: dict[str, Any], w: np.ndarray, alpha: float, budget: int) -> list[tuple]:
    rows = []
    unit_of, sources = conv["unit_of"], conv["sources"]
    for x, (category, evidence) in zip(conv["X"], conv["gold"], strict=True):
        unit_score = (x @ w).astype(np.float32)
        best = np.full(len(sources), -np.inf, dtype=np.float32)
        np.maximum.at(best, unit_of, unit_score)
        order = np.argsort(-best, kind="stable")[:50]
        key = unit_score - np.float32(alpha) * conv["loglen"]
        packed = pack(key, unit_score, unit_of, conv["cost"], conv["text_length"], budget,
                      MAX_LIMIT, conv.get("group"))  # fmt: skip
        context = Context(
            sources=tuple(sources[p.memory] for p in packed),
            lengths=tuple(
                context_length(p.units, conv["cost"], conv["text_length"]) for p in packed
            ),
        )
        outcome = QuestionOutcome(
            category=category,
            evidence=tuple(evidence),
            sources=tuple(sources[i] for i in order),
            lengths=tuple(int(conv["lengths"][i]) for i in order),
            context=context,
        )
        rows.append((category, bool(evidence), outcome, budget))
    return rows


ALPHAS = (0.0, 1.0, 1.5, 2.0, 2.5, 3.0)


def pick_alpha(train: list[dict[str, Any]], w: np.ndarray, budget: int) -> float:
    """The packing's length preference that scores best on the training conversations."""
    rows = {a: [r for c in train for r in score(c, w, a, budget)] for a in ALPHAS}
    return max(ALPHAS, key=lambda a: table(rows[a])["budget"]["overall"])


def table(rows: list[tuple]) -> dict[str, dict[str, float]]:
    out = {}
    out["budget"] = aggregate((c, e, budget_recall(o, b)) for c, e, o, b in rows)
    for k in (5, 10):
        out[f"@{k}"] = aggregate((c, e, recall_at_k(o, k)) for c, e, o, _ in rows)
    return out


def _print_row(name: str, t: dict[str, dict[str, float]]) -> None:
    cats = " | ".join(f"{t['budget'][str(c)] * 100:.1f}" for c in range(1, 6))
    print(
        f"| {name} | {t['budget']['overall'] * 100:.1f} | {cats} | "
        f"{t['@5']['overall'] * 100:.1f} | {t['@10']['overall'] * 100:.1f} |"
    )


def held_out(
    convs: list[dict[str, Any]], args: argparse.Namespace, without: tuple[str, ...] = ()
) -> tuple[list[tuple], list[float]]:
    """Rows of every conversation scored by a model fitted on the others, and the alphas."""
    rows, alphas = [], []
    for i, conv in enumerate(convs):
        train = [c for j, c in enumerate(convs) if j != i]
        w = fit(train, args.l2, without=without)
        alpha = pick_alpha(train, w, args.budget) if args.fit_alpha else args.alpha
        alphas.append(alpha)
        rows += score(conv, w, alpha, args.budget)
    return rows, alphas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--alpha", type=float, default=2.5)
    parser.add_argument("--fit-alpha", action="store_true", help="pick alpha per training fold")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--budget", type=int, default=4000)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "memstrata-fit")
    parser.add_argument("--ablate", action="store_true", help="also refit without each group")
    args = parser.parse_args()
    convs = collect(args.path, args.cache)
    from memstrata.read.features import HAND_WEIGHTS

    hand = np.array([HAND_WEIGHTS.get(f, 0.0) for f in FEATURES])
    by_hand = [r for conv in convs for r in score(conv, hand, args.alpha, args.budget)]
    learned, alphas = held_out(convs, args)
    print(f"{datetime.now(UTC):%Y-%m-%d} alpha={args.alpha} fit_alpha={args.fit_alpha} "
          f"(per fold: {alphas}) l2={args.l2} budget={args.budget}")  # fmt: skip
    print("| weights | budget | c1 | c2 | c3 | c4 | c5 | R@5 | R@10 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rows in (("hand weights", by_hand), ("learned, held out", learned)):
        _print_row(name, table(rows))
    if args.ablate:
        for group, names in GROUPS.items():
            _print_row(f"without {group}", table(held_out(convs, args, names)[0]))
        no_length = argparse.Namespace(**{**vars(args), "alpha": 0.0, "fit_alpha": False})
        _print_row("without length preference (alpha 0)", table(held_out(convs, no_length)[0]))
    final = fit(convs, args.l2)
    print("weights fitted on every conversation:")
    print({f: round(float(v), 4) for f, v in zip(FEATURES, final, strict=True) if abs(v) > 1e-4})
    if args.fit_alpha:
        print(f"alpha picked on every conversation: {pick_alpha(convs, final, args.budget)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
