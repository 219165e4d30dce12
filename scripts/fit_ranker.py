"""Fit the feature ranker's weights on LoCoMo-format data, scored leave-one-conversation-out.

    python scripts/fit_ranker.py PATH/locomo.json [--alpha 0.5] [--l2 1.0] [--cache DIR]

Each conversation is ingested through the public API into its own scope. For every question the
library's own features (``memstrata.read.features``) are computed over the scope's memories, and
a memory is a positive when one of its sources is an evidence id of the question. A logistic
model (is this memory evidence for the question?) is fitted on all conversations but one and
scored on the one left out; the table shows those held-out scores only. The weights printed
last are fitted on every conversation: paste them into ``read/features.py`` as
``DEFAULT_WEIGHTS`` only together with the held-out table.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from memstrata import Memory
from memstrata.evals.locomo import load_locomo
from memstrata.evals.metrics import QuestionOutcome, aggregate, budget_recall, recall_at_k
from memstrata.read.features import FEATURES, features
from memstrata.read.ranker import scope_index
from memstrata.types import Scope, context_line


def collect(path: Path, cache: Path) -> list[dict[str, object]]:
    target = cache / f"features-{path.stem}.pkl"
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
            matrices, labels, golds = [], [], []
            for i, q in enumerate(conv.questions):
                vector = None if vectors is None else vectors[i]
                cols = features(index, q.question, vector, now)
                matrices.append(np.stack([cols[f] for f in FEATURES], axis=1))
                evidence = set(q.gold.evidence)
                labels.append(np.array([bool(evidence & set(r.sources)) for r in index.records]))
                golds.append((q.gold.category, q.gold.evidence))
            out.append({
                "id": conv.sample_id,
                "X": matrices,
                "y": labels,
                "gold": golds,
                "sources": [r.sources for r in index.records],
                "lengths": np.array([len(context_line(r)) for r in index.records]),
                "loglen": np.log(np.maximum(1, [len(r.text) for r in index.records])),
            })  # fmt: skip
            mem.close()
            print(f"features of {conv.sample_id}: {len(index)} memories", file=sys.stderr)
    cache.mkdir(parents=True, exist_ok=True)
    target.write_bytes(pickle.dumps(out))
    return out


#: The features the model may use: the rest are near copies of these (a rank next to a
#: z-score, a complement) and only make the fit unstable.
FITTED = (
    "bm25", "dense", "prf", "s_bm25", "s_dense", "win", "nb_max", "time", "when_time",
    "spk_named", "spec_spk", "loglen", "is_q", "cov",
)  # fmt: skip


#: Groups of features switched off together in the ablation (``--ablate``).
GROUPS = {
    "keywords (BM25, PRF, coverage)": ("bm25", "prf", "cov"),
    "vector cosine": ("dense",),
    "session scores": ("s_bm25", "s_dense"),
    "neighbouring turns": ("win", "nb_max"),
    "time window, when-questions": ("time", "when_time"),
    "named speaker": ("spk_named", "spec_spk"),
    "length, is-a-question": ("loglen", "is_q"),
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


def score(conv: dict[str, object], w: np.ndarray, alpha: float, budget: int) -> list[tuple]:
    rows = []
    for x, (category, evidence) in zip(conv["X"], conv["gold"], strict=True):  # type: ignore[call-overload]
        key = x @ w - alpha * conv["loglen"]  # type: ignore[operator]
        order = np.argsort(-key, kind="stable")[:50]
        outcome = QuestionOutcome(
            category=category,
            evidence=tuple(evidence),
            sources=tuple(conv["sources"][i] for i in order),  # type: ignore[index]
            lengths=tuple(int(conv["lengths"][i]) for i in order),  # type: ignore[index]
        )
        rows.append((category, bool(evidence), outcome, budget))
    return rows


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--budget", type=int, default=4000)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "memstrata-fit")
    parser.add_argument("--ablate", action="store_true", help="also refit without each group")
    args = parser.parse_args()
    convs = collect(args.path, args.cache)
    from memstrata.read.features import HAND_WEIGHTS

    hand = np.array([HAND_WEIGHTS.get(f, 0.0) for f in FEATURES])
    held_out, by_hand = [], []
    for i, conv in enumerate(convs):
        w = fit([c for j, c in enumerate(convs) if j != i], args.l2)
        held_out += score(conv, w, args.alpha, args.budget)
        by_hand += score(conv, hand, args.alpha, args.budget)
    print(f"{datetime.now(UTC):%Y-%m-%d} alpha={args.alpha} l2={args.l2} budget={args.budget}")
    for name, rows in (("hand weights", by_hand), ("learned, held out", held_out)):
        _print_row(name, table(rows))
    if args.ablate:
        print("ablation (held out; each row refits without one group):")
        for group, names in GROUPS.items():
            rows = []
            for i, conv in enumerate(convs):
                w = fit([c for j, c in enumerate(convs) if j != i], args.l2, without=names)
                rows += score(conv, w, args.alpha, args.budget)
            _print_row(f"- {group}", table(rows))
        rows = []
        for i, conv in enumerate(convs):
            rows += score(conv, fit([c for j, c in enumerate(convs) if j != i], args.l2), 0.0,
                          args.budget)  # fmt: skip
        _print_row("- length preference (alpha 0)", table(rows))
    final = fit(convs, args.l2)
    print("weights fitted on every conversation:")
    print({f: round(float(v), 4) for f, v in zip(FEATURES, final, strict=True) if abs(v) > 1e-4})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
