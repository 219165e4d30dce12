"""Fit the feature ranker's weights on LoCoMo-format data, scored leave-one-conversation-out.

    python scripts/fit_ranker.py PATH/locomo.json [PATH/realtalk.json ...] [--alpha 2.0 |
        --fit-alpha] [--cohesion 1.0 | --fit-cohesion] [--reach 3] [--l2 1.0] [--products 3.0]
        [--scale PATH=STORE ...] [--young | --ablate] [--objective per-evidence]
        [--without loglen,is_q] [--embedder minilm]

Each conversation is ingested through the public API into its own scope. For every question the
read engine gathers its candidates exactly as ``search`` does (``read.engine.gather``: the
store's keyword and vector searches, the time window, named speakers, neighbours and sessions)
and computes the library's own features over the candidates' units (``read.features``); a unit
is a positive when one of its memory's sources is an evidence id of the question. A logistic
model (is this unit's memory evidence?) over the features (with ``--products L2``, the products
of pairs of them that ``read.features.PRODUCTS`` names too, regularised by L2) is fitted in
two passes, as the ranker weighs (``read.features.unit_scores``): the first over the features,
the second over them and the first's columns (a unit's first score, its memory's best). Both are
fitted on all conversations but one and scored on
the one left out, with the library's own packing (``read.pack``, as ``search(question,
budget=4000)`` packs: no count caps it, a provenance once, a session's other turns favoured
once it has a memory in the context) for the budget and memories ranked
by their best unit for recall@k; the tables show those held-out scores only, one per file.
``--fit-alpha`` also picks the packing's length preference on the training conversations of
each fold, ``--fit-cohesion`` its session cohesion (``read.pack``: once a session has a memory in
the context, its other units gain that much in the walk; with ``--reach N``, only the units of
its memories within N of one in the context). The ``default`` retriever packs with
``--alpha 2.0 --cohesion 0.75 --reach 3``.

With ``--scale PATH=STORE`` the questions of PATH are also asked where ``memstrata eval scale
PATH --keep DIR`` asked them, in one scope among distractor memories (STORE is one of DIR's
stores): each fold fits on its training conversations both alone and there, and is scored on
the conversation left out in both places. The distractors are the same in every fold; no
question of the conversation left out is fitted on.

With ``--young`` each conversation is also asked as a young scope, after its first one, two
and four sessions (the questions whose evidence is all said by then): scored held out, never
fitted on, so that the table shows how the weights do where a scope holds tens of memories.

With ``--embedder SPEC`` (``e5``, say) each conversation's own scope is embedded with that
model instead of MiniLM, the one the shipped weights and ``--scale``'s stores use.

The weights printed last are fitted on every conversation (and every ``--scale`` store): paste
the first pass into ``read/features.py`` as ``FIRST_WEIGHTS`` and the second as
``DEFAULT_WEIGHTS``, only together with the held-out tables.
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

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
from memstrata.evals.scale import SCOPE, merge
from memstrata.memory import MAX_LIMIT
from memstrata.read.engine import gather, labels_of, when_of
from memstrata.read.features import (
    FEATURES,
    PRODUCTS,
    SECOND,
    best_of,
    features,
    linear_scores,
    standing,
    unit_scores,
)
from memstrata.read.pack import context_length, pack
from memstrata.terms import context_prefix
from memstrata.types import Filters, Scope


def item_of(found: Any, question: Any, vector: Any, now: datetime) -> dict[str, object]:
    """One question's features over its candidates' units, its labels, what scoring reads, and
    the question asked (``scripts/fit_variants.py`` reads its kind)."""
    gold = (question.gold.category, question.gold.evidence)
    if found is None:
        return {"gold": gold, "query": question.question, "X": None}
    cols = features(found, question.question, vector, now)
    arrays = found.arrays()
    return {
        "gold": gold,
        "query": question.question,
        "X": np.stack([cols[f] for f in FEATURES], axis=1),
        "y": labels_of(found, set(question.gold.evidence)),
        "sources": [b.sources for b in found.briefs],
        "lengths": np.array([len(context_prefix(b)) + len(b.text) for b in found.briefs]),
        "unit_of": arrays.unit_of,
        "cost": arrays.unit_cost,
        "text_length": arrays.unit_length,
        "loglen": arrays.unit_log_cost,
        "group": arrays.unit_group,
        "session_of": arrays.session_of,
    }


def ask(mem: Memory, scope: Scope, questions: Any, now: datetime) -> list[dict[str, object]]:
    """Every question's item, its candidates gathered exactly as ``search`` gathers them."""
    texts = [q.question for q in questions]
    vectors = mem.embedder.embed(texts, kind="query") if mem.embedder and texts else None
    active = Filters(states=("active",))
    embedder = mem.embedder
    embed = None if embedder is None else (lambda text: embedder.embed([text], kind="query")[0])
    items = []
    for i, q in enumerate(questions):
        vector = None if vectors is None else vectors[i]
        found, _ = gather(mem.store, vector, scope, q.question, active, now, embed=embed)
        items.append(item_of(found, q, vector, now))
    return items


def cached(target: Path, build: Callable[[], list[dict[str, object]]]) -> list[dict[str, object]]:
    """What ``build`` returns, kept in ``target`` and read from there the next time."""
    if target.exists():
        return pickle.loads(target.read_bytes())  # type: ignore[no-any-return]
    out = build()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(pickle.dumps(out))
    return out


def _tag(embedder: str) -> str:
    """What a cache file's name says of the embedder: nothing for MiniLM, as before there
    was a choice."""
    return "" if embedder == "minilm" else f"-{embedder}"


def collect(path: Path, cache: Path, embedder: str = "minilm") -> list[dict[str, object]]:
    """Per conversation, in a scope of its own: every question's item."""

    def build() -> list[dict[str, object]]:
        out = []
        with tempfile.TemporaryDirectory() as tmp:
            for conv in load_locomo(path):
                mem = Memory(Path(tmp) / f"{conv.sample_id}.db", embedder=embedder)
                added = mem.add(conv.messages(), user_id=conv.scope).added
                items = ask(mem, Scope(user_id=conv.scope), conv.questions, when_of(added))
                out.append({"id": conv.sample_id, "file": path.stem, "items": items})
                mem.close()
                print(f"features of {conv.sample_id}: {len(added)} memories", file=sys.stderr)
        return out

    return cached(cache / f"engine-features-{path.stem}{_tag(embedder)}-v11.pkl", build)


#: The checkpoints of ``collect_young``: a scope's first sessions.
YOUNG = (1, 2, 4)


def collect_young(path: Path, cache: Path, embedder: str = "minilm") -> list[dict[str, object]]:
    """Per conversation, the scope as it grows: after each of its first ``YOUNG`` sessions,
    every question whose evidence all lies in the sessions so far, asked there (a young
    scope holds tens of memories; the whole conversations, hundreds)."""

    def build() -> list[dict[str, object]]:
        out = []
        with tempfile.TemporaryDirectory() as tmp:
            for conv in load_locomo(path):
                mem = Memory(Path(tmp) / f"{conv.sample_id}.db", embedder=embedder)
                order = sorted({t.session for t in conv.turns})
                items, added = [], []
                for done, count in itertools.pairwise((0, *YOUNG)):
                    turns = [t for t in conv.turns if t.session in order[done:count]]
                    if not turns:
                        break
                    added += mem.add([t.as_message() for t in turns], user_id=conv.scope).added
                    said = {t.id for t in conv.turns if t.session in order[:count]}
                    asked = [q for q in conv.questions
                             if q.gold.evidence and set(q.gold.evidence) <= said]  # fmt: skip
                    items += ask(mem, Scope(user_id=conv.scope), asked, when_of(added))
                out.append({"id": conv.sample_id, "file": f"{path.stem}, first sessions",
                            "items": items})  # fmt: skip
                mem.close()
                print(f"young scopes of {conv.sample_id}: {len(items)} questions",
                      file=sys.stderr)  # fmt: skip
        return out

    checkpoints = "-".join(map(str, YOUNG))
    name = f"engine-features-{path.stem}{_tag(embedder)}-young-{checkpoints}-v11.pkl"
    return cached(cache / name, build)


def collect_at_scale(path: Path, store: Path, cache: Path) -> list[dict[str, object]]:
    """Per conversation of ``path``, every question's item asked in ``store``: the one scope
    where ``memstrata eval scale PATH --keep DIR`` asked them, beside its distractors (ids
    prefixed as ``evals.scale.merge`` prefixes them; "now" is the moment of asking, as there)."""

    def build() -> list[dict[str, object]]:
        mem = Memory(store, embedder="minilm")
        now = datetime.now(UTC)
        out = []
        for conv in load_locomo(path):
            items = ask(mem, Scope(user_id=SCOPE), merge([conv]).questions, now)
            out.append({"id": conv.sample_id, "file": f"{path.stem} in {store.stem}",
                        "items": items})  # fmt: skip
            print(f"features of {conv.sample_id} in {store.name}", file=sys.stderr)
        mem.close()
        return out

    size = store.stat().st_size
    return cached(cache / f"engine-features-{path.stem}-in-{store.stem}-{size}-v11.pkl", build)


#: The features the model may use: every one but ``how_procedure``, which no development
#: conversation can weigh (they hold no procedures; ``read.features`` sets it by hand).
FITTED = tuple(f for f in FEATURES if f != "how_procedure")


#: What a model weighs (``read.features.linear_scores``): every feature, the first pass's
#: columns, then the products.
TERMS = (*FEATURES, *SECOND, *PRODUCTS)
_FACTORS = [(FEATURES.index(a), FEATURES.index(b))
            for a, _, b in (name.partition("*") for name in PRODUCTS)]  # fmt: skip


class Model(NamedTuple):
    """The ranker's two passes (``read.features.unit_scores``), each weights over ``TERMS``."""

    first: np.ndarray
    second: np.ndarray


def weighs(weights: np.ndarray) -> dict[str, float]:
    """Weights over ``TERMS`` by name, as ``read.features`` takes them."""
    return {name: float(v) for name, v in zip(TERMS, weights, strict=True) if v}


def columns_of(item: dict[str, Any]) -> dict[str, np.ndarray]:
    """The item's features by name."""
    return {f: item["X"][:, i] for i, f in enumerate(FEATURES)}


def augmented(item: dict[str, Any], first: np.ndarray) -> np.ndarray:
    """The item's features (columns ``FEATURES``) and the columns ``first`` gives the second
    pass (``SECOND``)."""
    unit_of = item["unit_of"]
    scores = linear_scores(columns_of(item), weighs(first), len(unit_of))
    more = standing(scores, best_of(scores, unit_of), unit_of)
    return np.hstack([item["X"], np.stack([more[name] for name in SECOND], axis=1)])


def design(x: np.ndarray, columns: list[int]) -> np.ndarray:
    """The terms ``columns`` (positions in ``TERMS``) of each unit, from its features ``x``
    (columns ``FEATURES``, then ``SECOND`` where a pass weighs them): a product is computed
    only when asked for."""
    width = len(FEATURES) + len(SECOND)
    terms = [x[:, c] if c < width else x[:, _FACTORS[c - width][0]] * x[:, _FACTORS[c - width][1]]
             for c in columns]  # fmt: skip
    return np.stack(terms, axis=1) if terms else np.zeros((len(x), 0), x.dtype)


#: Groups of features switched off together in the ablation (``--ablate``).
GROUPS = {
    "keywords (BM25, PRF, coverage)": ("bm25", "bm_rel", "cov", "prf", "t_bm25"),
    "vector cosine": ("dense", "cos"),
    "session scores": ("s_bm25", "s_dense"),
    "neighbouring units and messages": ("win", "tp1", "tmax"),
    "time window, when-questions": ("time", "when_time"),
    "named speaker": ("spk_named", "other_named", "spec_spk", "list_spk"),
    "named speaker's first person, others' you": ("self_spk", "addressed"),
    "named speaker with their usual partners": ("spk_pair",),
    "priors (length, question, photo)": ("loglen", "is_q", "photo"),
    "the second pass (a unit's first score, its memory's best)": SECOND,
}


#: How the second pass may be fitted (``--objective``). ``pointwise``, the ranker's: the
#: logistic model over every unit. The others fit it to rank memories, each memory as its best
#: unit under the first pass: ``per-evidence``, a softmax over a question's memories for each of
#: its evidence memories against the question's others; ``per-question``, one softmax per
#: question whose evidence memories share the target.
OBJECTIVES = ("pointwise", "per-evidence", "per-question")


def fit(
    convs: list[dict[str, object]],
    l2: float,
    iters: int = 50,
    without: tuple[str, ...] = (),
    l2_products: float | None = None,
    objective: str = "pointwise",
) -> Model:
    """Both passes of the ranker (``Model``): the first over the ``FITTED`` features but
    ``without`` (and with ``l2_products``, the products of those, regularised that much; ``None``:
    none), the second over those and the first's columns (``SECOND``, but ``without``), to the
    ``objective`` (``OBJECTIVES``)."""
    names = [f for f in FITTED if f not in without]
    first = _logistic(convs, names, l2, iters, l2_products)
    kept = [f for f in SECOND if f not in without]
    if not kept:
        return Model(first, first)
    if objective != "pointwise":
        return Model(first, _softmax(convs, names + kept, l2, iters, first, objective))
    return Model(first, _logistic(convs, names + kept, l2, iters, l2_products, first))


def _logistic(
    convs: list[dict[str, object]],
    names: list[str],
    l2: float,
    iters: int,
    l2_products: float | None,
    first: np.ndarray | None = None,
) -> np.ndarray:
    """Pointwise L2-regularised logistic regression (Newton's method): is this memory evidence
    for the question? Returns weights over ``TERMS``: the features ``names`` (with ``first``,
    the columns it gives the second pass among them) and with ``l2_products`` the products of
    the features among them."""
    columns = [TERMS.index(f) for f in names]
    penalties = [l2] * len(columns)
    if l2_products is not None:
        kept = set(columns)
        for i, (a, b) in enumerate(_FACTORS):
            if {a, b} <= kept:
                columns.append(len(FEATURES) + len(SECOND) + i)
                penalties.append(l2_products)
    items = [q for c in convs for q in c["items"] if q["X"] is not None]  # type: ignore[attr-defined]
    x = np.vstack([design(q["X"] if first is None else augmented(q, first), columns)
                   for q in items]).astype(float)  # fmt: skip
    y = np.concatenate([q["y"] for q in items]).astype(float)
    xb = np.hstack([x, np.ones((len(x), 1))])
    penalty = np.diag([*penalties, 0.0])
    w = np.zeros(xb.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(xb @ w)))
        step = np.linalg.solve((xb * (p * (1 - p))[:, None]).T @ xb + penalty,
                               xb.T @ (p - y) + penalty @ w)  # fmt: skip
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    out = np.zeros(len(TERMS))
    out[columns] = w[:-1]
    return out


def _softmax(
    convs: list[dict[str, object]],
    names: list[str],
    l2: float,
    iters: int,
    first: np.ndarray,
    objective: str,
) -> np.ndarray:
    """The second pass fitted to rank each question's memories (``objective``: ``OBJECTIVES``),
    L2-regularised, by Newton's method with a halving step. Returns weights over ``TERMS``."""
    columns = [TERMS.index(f) for f in names]
    lists = []  # (each choice's terms, its target) per softmax
    for c in convs:
        for q in c["items"]:  # type: ignore[attr-defined]
            if q["X"] is None or not q["y"].any():
                continue
            x, y = _memories(q, first, columns)
            if objective == "per-question":
                lists.append((x, y / y.sum()))
                continue
            others = x[y == 0]
            target = np.r_[np.zeros(len(others)), 1.0]
            lists += [(np.vstack([others, row]), target) for row in x[y > 0]]

    def loss(w: np.ndarray) -> float:
        return 0.5 * l2 * float(w @ w) + sum(_choice(x @ w, t)[0] for x, t in lists)

    w = np.zeros(len(columns))
    for _ in range(iters):
        gradient, hessian = l2 * w, l2 * np.eye(len(w))
        before = 0.5 * l2 * float(w @ w)  # loss(w), from the scores the step needs anyway
        for x, t in lists:
            nll, p = _choice(x @ w, t)
            before += nll
            gradient += x.T @ (p - t)
            mean = x.T @ p
            hessian += (x * p[:, None]).T @ x - np.outer(mean, mean)
        step = np.linalg.solve(hessian, gradient)
        rate = 1.0
        while rate > 1e-4 and loss(w - rate * step) > before:
            rate /= 2
        w -= rate * step
        if np.abs(rate * step).max() < 1e-7:
            break
    out = np.zeros(len(TERMS))
    out[columns] = w
    return out


def _choice(s: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """A softmax over scores ``s``: its negative log-likelihood of the target ``t``, and its
    probabilities."""
    top = s.max()
    e = np.exp(s - top)
    total = e.sum()
    return float(top + np.log(total) - t @ s), e / total


def _memories(
    q: dict[str, Any], first: np.ndarray, columns: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The terms ``columns`` of each of the question's memories, at its best unit under the
    first pass, and whether it is evidence."""
    unit_of, x = q["unit_of"], augmented(q, first)
    scores = x[:, len(FEATURES) + SECOND.index("first")]  # the first pass's, standardised
    order = np.lexsort((-scores, unit_of))
    best = order[np.r_[True, unit_of[order][1:] != unit_of[order][:-1]]]
    return design(x[best], columns).astype(float), q["y"][best].astype(float)


def score(
    conv: dict[str, Any],
    model: Model,
    alpha: float,
    budget: int,
    cohesion: float = 0.0,
    reach: int | None = None,
) -> list[tuple]:
    rows = []
    first, second = weighs(model.first), weighs(model.second)
    for item in conv["items"]:
        category, evidence = item["gold"]
        if item["X"] is None:
            nothing = Context(sources=(), lengths=())
            empty = QuestionOutcome(category=category, evidence=tuple(evidence), sources=(),
                                    lengths=(), context=nothing)  # fmt: skip
            rows.append((category, bool(evidence), empty, budget, conv["file"]))
            continue
        unit_of, sources = item["unit_of"], item["sources"]
        unit_score = unit_scores(columns_of(item), second, unit_of, first)
        best = best_of(unit_score, unit_of, len(sources))
        order = np.argsort(-best, kind="stable")[:50]
        key = unit_score - np.float32(alpha) * item["loglen"]
        packed = pack(key, unit_score, unit_of, item["cost"], item["text_length"], budget,
                      MAX_LIMIT, item["group"], item["session_of"], cohesion, reach)  # fmt: skip
        context = Context(
            sources=tuple(sources[p.memory] for p in packed),
            lengths=tuple(
                context_length(p.units, item["cost"], item["text_length"]) for p in packed
            ),
        )
        outcome = QuestionOutcome(
            category=category,
            evidence=tuple(evidence),
            sources=tuple(sources[i] for i in order),
            lengths=tuple(int(item["lengths"][i]) for i in order),
            context=context,
        )
        rows.append((category, bool(evidence), outcome, budget, conv["file"]))
    return rows


ALPHAS = (0.0, 1.0, 1.5, 2.0, 2.5, 3.0)
COHESIONS = (0.0, 0.5, 1.0, 1.5, 2.0)


def pick_packing(
    train: list[dict[str, Any]], model: Model, args: argparse.Namespace
) -> tuple[float, float]:
    """The packing's length preference and session cohesion that score best (recall within
    the budget, every training question alike) on the training conversations: each picked
    from its grid when asked (``--fit-alpha``, ``--fit-cohesion``), else as given."""
    alphas = ALPHAS if args.fit_alpha else (args.alpha,)
    cohesions = COHESIONS if args.fit_cohesion else (args.cohesion,)
    grid = [(a, c) for a in alphas for c in cohesions]
    if len(grid) == 1:
        return grid[0]

    def recall(ac: tuple[float, float]) -> float:
        rows = [r for conv in train
                for r in score(conv, model, ac[0], args.budget, ac[1], args.reach)]  # fmt: skip
        return table(rows)["budget"]["overall"]

    return max(grid, key=recall)


def table(rows: list[tuple]) -> dict[str, dict[str, float]]:
    out = {}
    cats = range(1, 6)
    out["budget"] = aggregate(((r[0], r[1], budget_recall(r[2], r[3])) for r in rows), cats)
    for k in (5, 10):
        out[f"@{k}"] = aggregate(((r[0], r[1], recall_at_k(r[2], k)) for r in rows), cats)
    return out


def _print_row(name: str, t: dict[str, dict[str, float]]) -> None:
    cats = " | ".join(f"{t['budget'][str(c)] * 100:.1f}" for c in range(1, 6))
    print(
        f"| {name} | {t['budget']['overall'] * 100:.1f} | {cats} | "
        f"{t['@5']['overall'] * 100:.1f} | {t['@10']['overall'] * 100:.1f} |"
    )


def held_out(
    convs: list[dict[str, Any]],
    args: argparse.Namespace,
    without: tuple[str, ...] = (),
    scaled: dict[str, list[dict[str, Any]]] | None = None,
    young: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[tuple], list[tuple[float, float]]]:
    """Rows of every conversation scored by a model fitted on the others (alone and, from
    ``scaled``, among distractors), there too, and in its ``young`` scopes (not fitted on);
    and each fold's (alpha, cohesion)."""
    scaled, young = scaled or {}, young or {}
    rows, picked = [], []
    for i, conv in enumerate(convs):
        others = [c for j, c in enumerate(convs) if j != i]
        train = others + [s for c in others for s in scaled.get(c["id"], [])]
        model = fit(
            train, args.l2, without=without, l2_products=args.l2_products, objective=args.objective
        )
        alpha, cohesion = pick_packing(train, model, args)
        picked.append((alpha, cohesion))
        grown = [young[conv["id"]]] if conv["id"] in young else []
        for asked in (conv, *scaled.get(conv["id"], []), *grown):
            rows += score(asked, model, alpha, args.budget, cohesion, args.reach)
    return rows, picked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", type=Path, nargs="+", metavar="path")
    parser.add_argument("--alpha", type=float, default=2.5)
    parser.add_argument("--fit-alpha", action="store_true", help="pick alpha per training fold")
    parser.add_argument(
        "--cohesion",
        type=float,
        default=0.0,
        help="packing's bonus for the turns of a session already in the context",
    )
    parser.add_argument("--fit-cohesion", action="store_true",
                        help="pick cohesion per training fold")  # fmt: skip
    parser.add_argument("--reach", type=int, default=None,
                        help="cohesion lifts only the session's memories within this many of one "
                        "in the context (default: the whole session)")  # fmt: skip
    parser.add_argument("--embedder", default="minilm",
                        help="the embedder of each conversation's own scope (an embedder spec, "
                        "e.g. e5); --scale reads stores embedded with minilm, so it needs "
                        "minilm")  # fmt: skip
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--products", dest="l2_products", type=float, default=None,
                        metavar="L2", help="also fit the products of pairs of features "
                        "(read.features.PRODUCTS), their weights regularised by L2")  # fmt: skip
    parser.add_argument("--objective", choices=OBJECTIVES, default="pointwise",
                        help="how the second pass is fitted (OBJECTIVES); the tables' budget "
                        "and R@k both use it")  # fmt: skip
    parser.add_argument("--without", type=lambda v: tuple(f for f in v.split(",") if f),
                        default=(), metavar="FEATURE,...", help="fit both passes without these "
                        "features (read.features.FEATURES; SECOND's two: one pass)")  # fmt: skip
    parser.add_argument("--young", action="store_true",
                        help="also score each conversation's scope after its first sessions "
                        "(collect_young), held out, not fitted on")  # fmt: skip
    parser.add_argument("--budget", type=int, default=4000)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "memstrata-fit",
                        help="where the candidates' features are kept between runs, by dataset, "
                        "store and a version set by hand (not by the engine's code): give a "
                        "fresh one after changing what gather or the features compute")  # fmt: skip
    parser.add_argument("--ablate", action="store_true", help="also refit without each group")
    parser.add_argument(
        "--scale",
        action="append",
        default=[],
        metavar="PATH=STORE",
        help="also ask PATH's questions in STORE (a store `memstrata eval scale PATH --keep DIR` "
        "kept), fit on them too and show their held-out table (repeat)",
    )
    args = parser.parse_args()
    if unknown := [f for f in args.without if f not in (*FEATURES, *SECOND)]:
        parser.error(f"--without: no feature named {', '.join(unknown)}")
    if args.objective != "pointwise" and args.l2_products is not None:
        parser.error("--objective: only the pointwise fit weighs products (--products)")
    if args.scale and args.embedder != "minilm":
        parser.error("--scale reads stores that `memstrata eval scale` embedded with minilm")
    convs = [c for path in args.paths for c in collect(path, args.cache, args.embedder)]
    scaled: dict[str, list[dict[str, Any]]] = {}
    for spec in args.scale:
        path, _, store = spec.partition("=")
        for conv in collect_at_scale(Path(path), Path(store), args.cache):
            scaled.setdefault(conv["id"], []).append(conv)
    every = convs + [s for c in convs for s in scaled.get(c["id"], [])]
    grown = [c for path in args.paths for c in collect_young(path, args.cache, args.embedder)
             ] if args.young else []  # fmt: skip
    young = {c["id"]: c for c in grown}
    files = list(dict.fromkeys(c["file"] for c in (*every, *young.values())))
    from memstrata.read.features import HAND_WEIGHTS

    hand_weights = np.array([HAND_WEIGHTS.get(f, 0.0) for f in TERMS])
    hand = Model(hand_weights, hand_weights)
    by_hand = [r for conv in (*every, *young.values())
               for r in score(conv, hand, args.alpha, args.budget, args.cohesion, args.reach)
               ]  # fmt: skip
    learned, picked = held_out(convs, args, args.without, scaled, young)
    print(f"{datetime.now(UTC):%Y-%m-%d} alpha={args.alpha} fit_alpha={args.fit_alpha} "
          f"cohesion={args.cohesion} reach={args.reach} fit_cohesion={args.fit_cohesion} "
          f"products={args.l2_products} objective={args.objective} "
          f"(alpha, cohesion) per fold: {picked} l2={args.l2} budget={args.budget}")  # fmt: skip
    print("| weights | budget | c1 | c2 | c3 | c4 | c5 | R@5 | R@10 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rows in (("hand weights", by_hand), ("learned, held out", learned)):
        for file in files:
            _print_row(f"{name}: {file}", table([r for r in rows if r[4] == file]))
    if args.ablate:
        no_length = argparse.Namespace(**{**vars(args), "alpha": 0.0, "fit_alpha": False})
        no_cohesion = argparse.Namespace(**{**vars(args), "cohesion": 0.0, "fit_cohesion": False})
        variants = [(f"without {g}", held_out(convs, args, (*args.without, *names), scaled,
                                              young)[0])
                    for g, names in GROUPS.items()]  # fmt: skip
        variants.append(("without length preference (alpha 0)",
                         held_out(convs, no_length, args.without, scaled, young)[0]))  # fmt: skip
        variants.append(("without session cohesion (0)",
                         held_out(convs, no_cohesion, args.without, scaled, young)[0]))  # fmt: skip
        if args.l2_products is not None:
            no_products = argparse.Namespace(**{**vars(args), "l2_products": None})
            variants.append(("without feature products",
                             held_out(convs, no_products, args.without, scaled,
                                      young)[0]))  # fmt: skip
        for name, rows in variants:
            for file in files:
                _print_row(f"{name}: {file}", table([r for r in rows if r[4] == file]))
    final = fit(
        every, args.l2, without=args.without, l2_products=args.l2_products, objective=args.objective
    )
    for name, weights in (("first pass", final.first), ("second pass", final.second)):
        print(f"weights fitted on every conversation, {name}:")
        print({f: round(float(v), 4) for f, v in zip(TERMS, weights, strict=True) if abs(v) > 1e-4})
    if args.fit_alpha or args.fit_cohesion:
        print(f"(alpha, cohesion) picked on every conversation: {pick_packing(every, final, args)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
