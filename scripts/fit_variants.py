"""Held-out tables of the ranker with choices that depend on the kind of question asked, or on
how the ranked list treats sessions, on ``scripts/fit_ranker.py``'s candidates and folds.

    python scripts/fit_variants.py PATH/locomo.json PATH/realtalk.json --alpha 2.0 \
        --cohesion 0.75 --reach 3 [--scale PATH=STORE ...] [--young] --cache DIR \
        [--list-cohesion 0.25 ...] [--interact list:MATCH ...] [--listed session:0.1 ...]

Each variant is fitted and scored leave-one-conversation-out exactly as ``fit_ranker.py`` does
(the same cache, the same two passes, the same packing), and prints one table per file:

- ``--list-cohesion C``: questions whose answer is a list (the features' own rule,
  ``read.features.asks_for_many``: "What are Kate's hobbies?", "How many times…") pack with session
  cohesion C; the others with ``--cohesion``.
- ``--interact TYPE:FEATURES``: both passes also weigh each of FEATURES (comma-separated, or
  ``MATCH``: ``read.features.MATCH``) times an indicator of the question's TYPE (``list``;
  ``when``, a question that asks when, as ``read.temporal`` reads it; ``speculative``, the
  features' ``_SPECULATIVE``): a weight of their own for that kind of question.
- ``--listed KIND:WEIGHT``: the ranked list (R@k; the budget's packing is unchanged) is taken
  greedily, each memory at its best unit's score less WEIGHT for each memory already listed
  from its session (``session``), or less WEIGHT once where one listed memory of its session
  lies within ``--reach`` candidates of it (``near``); a negative WEIGHT favours them.

Without a variant it prints the shipped configuration's tables, which ``fit_ranker.py`` prints
too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fit_ranker as fr  # scripts/ is on the path when this script runs
import numpy as np

from memstrata.read.features import _SPECULATIVE, MATCH, asks_for_many
from memstrata.read.temporal import parse_query_time

#: Kinds of question (``--interact``), each as a test of its text.
TYPES: dict[str, Callable[[str], bool]] = {
    "list": asks_for_many,
    "when": lambda q: parse_query_time(q, datetime(2024, 1, 1, tzinfo=UTC)).asks_when,
    "speculative": lambda q: bool(_SPECULATIVE.search(q)),
}
Data = tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("paths", type=Path, nargs="+", metavar="path")
    p.add_argument("--alpha", type=float, default=2.0)
    p.add_argument("--cohesion", type=float, default=0.75)
    p.add_argument("--reach", type=int, default=3)
    p.add_argument("--l2", type=float, default=1.0)
    p.add_argument("--budget", type=int, default=4000)
    p.add_argument("--cache", type=Path, required=True, help="fit_ranker.py's --cache")
    p.add_argument("--young", action="store_true", help="as fit_ranker.py's --young")
    p.add_argument("--scale", action="append", default=[], metavar="PATH=STORE",
                   help="as fit_ranker.py's --scale")  # fmt: skip
    p.add_argument("--list-cohesion", type=float, action="append", default=[], metavar="C",
                   help="a variant: list questions packed with cohesion C (repeat)")  # fmt: skip
    p.add_argument("--interact", action="append", default=[], metavar="TYPE:FEATURES",
                   help="a variant: FEATURES times a TYPE question (list, when, speculative) "
                   "weighed too; FEATURES comma-separated, or MATCH (repeat)")  # fmt: skip
    p.add_argument("--listed", action="append", default=[], metavar="KIND:WEIGHT",
                   help="a variant: the ranked list taken greedily, less WEIGHT per listed "
                   "memory of its session (session) or once for one within --reach (near)",
                   )  # fmt: skip
    args = p.parse_args()
    args.fit_alpha = args.fit_cohesion = False
    args.l2_products, args.objective, args.without = None, "pointwise", ()
    for spec in args.interact:
        kind, _, names = spec.partition(":")
        unknown = [n for n in _features(names) if n not in fr.FEATURES]
        if kind not in TYPES or unknown or not names:
            p.error(f"--interact {spec}: TYPE is one of {', '.join(TYPES)}; FEATURES of "
                    "read.features.FEATURES, or MATCH")  # fmt: skip
    for spec in args.listed:
        kind, _, weight = spec.partition(":")
        if kind not in ("session", "near") or not _is_number(weight):
            p.error(f"--listed {spec}: KIND is session or near, WEIGHT a number")
    data = load(args)
    variants: list[tuple[str, Callable[[], Any]]] = [
        *((f"list questions' cohesion {c}", lambda c=c: listed_cohesion(c))
          for c in args.list_cohesion),
        *((f"interactions {s}", lambda s=s: interactions(data, s)) for s in args.interact),
        *((f"listed by {s}", lambda s=s: listed_by(s, args.reach)) for s in args.listed),
    ]  # fmt: skip
    for name, patch in variants or [("shipped", _nothing)]:
        with patch():
            rows, _ = fr.held_out(data[0], args, (), data[1], data[2])
        print(f"\n{name} (alpha {args.alpha}, cohesion {args.cohesion}, reach {args.reach})")
        print("| held out | budget | c1 | c2 | c3 | c4 | c5 | R@5 | R@10 |")
        print("|---|---|---|---|---|---|---|---|---|")
        for file in dict.fromkeys(r[4] for r in rows):
            fr._print_row(file, fr.table([r for r in rows if r[4] == file]))
        sys.stdout.flush()


def load(args: argparse.Namespace) -> Data:
    """``fit_ranker.py``'s conversations, their ``--scale`` askings and young scopes."""
    convs = [c for path in args.paths for c in fr.collect(path, args.cache)]
    scaled: dict[str, list[dict[str, Any]]] = {}
    for spec in args.scale:
        path, _, store = spec.partition("=")
        for conv in fr.collect_at_scale(Path(path), Path(store), args.cache):
            scaled.setdefault(conv["id"], []).append(conv)
    young = {c["id"]: c for path in args.paths for c in fr.collect_young(path, args.cache)
             } if args.young else {}  # fmt: skip
    return convs, scaled, young


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def _scoring(score: Callable[..., list[tuple]]) -> Iterator[None]:
    """``fit_ranker.score`` replaced by ``score`` (which may call the original) meanwhile."""
    original = fr.score
    fr.score = score
    try:
        yield
    finally:
        fr.score = original


def listed_cohesion(cohesion: float) -> Any:
    """Each list question packed with ``cohesion``, one at a time."""
    original = fr.score

    def score(conv: dict[str, Any], model: Any, alpha: float, budget: int,
              others: float = 0.0, reach: int | None = None) -> list[tuple]:  # fmt: skip
        return [row for item in conv["items"]
                for row in original({**conv, "items": [item]}, model, alpha, budget,
                                    cohesion if asks_for_many(item["query"]) else others, reach)
                ]  # fmt: skip

    return _scoring(score)


@contextmanager
def interactions(data: Data, spec: str) -> Iterator[None]:
    """Every item's features widened with ``spec``'s products of a question's kind and
    features, and ``fit_ranker``'s lists of features with them, meanwhile."""
    kind, _, names = spec.partition(":")
    wanted = _features(names)
    saved = (fr.FEATURES, fr.FITTED, fr.TERMS)
    columns = [fr.FEATURES.index(n) for n in wanted]
    convs, scaled, young = data
    everything = [*convs, *(c for cs in scaled.values() for c in cs), *young.values()]
    kept = [c["items"] for c in everything]  # replaced below, not changed
    for conv in everything:
        conv["items"] = [_widened(item, columns, TYPES[kind](item["query"]))
                         for item in conv["items"]]  # fmt: skip
    added = tuple(f"{kind}:{n}" for n in wanted)  # not "a*b": that names a product
    fr.FEATURES, fr.FITTED = (*fr.FEATURES, *added), (*fr.FITTED, *added)
    fr.TERMS = (*fr.FEATURES, *fr.SECOND, *fr.PRODUCTS)
    try:
        yield
    finally:
        fr.FEATURES, fr.FITTED, fr.TERMS = saved
        for conv, items in zip(everything, kept, strict=True):
            conv["items"] = items


def _widened(item: dict[str, Any], columns: list[int], on: bool) -> dict[str, Any]:
    if item["X"] is None:
        return item
    x = item["X"]
    more = x[:, columns] if on else np.zeros((len(x), len(columns)), x.dtype)
    return {**item, "X": np.hstack([x, more])}


def listed_by(spec: str, reach: int) -> Any:
    """The ranked list of every question taken greedily as ``--listed`` says."""
    kind, _, value = spec.partition(":")
    weight = float(value)
    original = fr.score

    def score(conv: dict[str, Any], model: Any, alpha: float, budget: int,
              cohesion: float = 0.0, reach_: int | None = None) -> list[tuple]:  # fmt: skip
        rows = original(conv, model, alpha, budget, cohesion, reach_)
        first, second = fr.weighs(model.first), fr.weighs(model.second)
        out = []
        for row, item in zip(rows, conv["items"], strict=True):
            if item["X"] is None:
                out.append(row)
                continue
            unit_of, sources = item["unit_of"], item["sources"]
            scores = fr.unit_scores(fr.columns_of(item), second, unit_of, first)
            best = fr.best_of(scores, unit_of, len(sources))
            order = greedy(best, item["session_of"], kind, weight, reach)
            found = row[2]
            listed = type(found)(
                category=found.category, evidence=found.evidence, context=found.context,
                sources=tuple(sources[i] for i in order),
                lengths=tuple(int(item["lengths"][i]) for i in order),
            )  # fmt: skip
            out.append((row[0], row[1], listed, row[3], row[4]))
        return out

    return _scoring(score)


def greedy(best: np.ndarray, session_of: np.ndarray, kind: str, weight: float, reach: int,
           depth: int = 50, pool: int = 200) -> list[int]:  # fmt: skip
    """The ``depth`` best memories taken one at a time from the ``pool`` best, each scored
    ``best`` less ``weight`` per listed memory of its session (``session``), or once where a
    listed memory of its session is within ``reach`` of it (``near``); ties keep the order."""
    left = np.argsort(-best, kind="stable")[: min(pool, int(np.isfinite(best).sum()))].tolist()
    chosen: list[int] = []
    listed: dict[int, int] = {}
    while left and len(chosen) < depth:

        def penalty(i: int) -> float:
            s = int(session_of[i])
            if kind == "session":
                return weight * listed.get(s, 0)
            near = any(int(session_of[c]) == s and abs(c - i) <= reach for c in chosen)
            return weight if near else 0.0

        at = max(range(len(left)), key=lambda j: (float(best[left[j]]) - penalty(left[j]), -j))
        i = left.pop(at)
        chosen.append(i)
        listed[int(session_of[i])] = listed.get(int(session_of[i]), 0) + 1
    return chosen


def _features(names: str) -> tuple[str, ...]:
    return tuple(MATCH) if names == "MATCH" else tuple(n for n in names.split(",") if n)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    main()
