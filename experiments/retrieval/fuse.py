"""Hand-weighted and learned (leave-one-conversation-out) fusion over features.py.

    python experiments/retrieval/fuse.py --gran turn --hand default
    python experiments/retrieval/fuse.py --gran sent --learn
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import BUDGET, Hit, aggregate, load, score_question  # noqa: E402
from features import FEATS, ConvFeatures  # noqa: E402
from pipeline import embedder  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROB = os.environ.get("PROB", "0") == "1"
REORDER = os.environ.get("REORDER", "1") == "1"
BIAS: dict[int, float] = {}  # intercept of the logistic model per held-out conversation

HAND = {
    # the hand-tuned run.py "zc" configuration expressed as feature weights
    "default": dict(bm25=1, dense=1, prf=0.0, s_bm25=1, s_dense=1, win=0.3),
    "zc": dict(bm25=1, dense=1, s_bm25=1, s_dense=1, win=0.6),
}


def prepare(convs, gran, dense, dense2, keys, **kw):
    data = []
    qs = [qa["question"] for c in convs for qa in c.qa]
    QV = dict(zip(qs, embedder(dense).queries(qs))) if dense else {}
    QV2 = dict(zip(qs, embedder(dense2).queries(qs))) if dense2 else {}
    for conv in convs:
        cf = ConvFeatures(conv, gran, dense, dense2, keys, **kw)
        Xs, ys = [], []
        for qa in conv.qa:
            X = cf.features(qa["question"], QV.get(qa["question"]), QV2.get(qa["question"]))
            ev = set(qa.get("evidence", []))
            y = np.array([1.0 if i in ev else 0.0 for i in cf.ids], dtype=np.float32)
            Xs.append(X)
            ys.append(y)
        data.append((conv, cf, Xs, ys))
    return data


def to_hits(cf: ConvFeatures, s: np.ndarray, pack="skip", alpha=0.0, blocks=False, max_hits=200) -> list[Hit]:
    """Rank units by s (optionally / len^alpha), pack into the budget merging units of one turn."""
    if alpha and PROB:
        # s is a logit: rank by log p - alpha*log(len) (alpha=1: expected recall per character)
        key = -np.logaddexp(0, -s) - alpha * cf.loglen
    else:
        key = s - alpha * cf.loglen if alpha else s
    order = np.argsort(-key, kind="stable")
    T = cf.conv.turns
    used = 0
    chosen: dict[int, list[int]] = {}  # turn -> unit ids
    turn_order: list[int] = []
    overflow: list[int] = []
    for u in order[: max_hits * 3]:
        ti = int(cf.U.turn[u])
        if ti in chosen:
            cost = len(cf.U.text[u]) - len(cf.U.text[u].split(": ", 1)[0]) - 2 + 1
        else:
            cost = len(cf.U.text[u])
        if used + cost > BUDGET:
            if pack == "stop":
                break
            if ti not in chosen and ti not in overflow:
                overflow.append(ti)
            continue
        used += cost
        if ti not in chosen:
            chosen[ti] = []
            turn_order.append(ti)
        chosen[ti].append(u)
    if REORDER:
        # the budget picks the set (by value per character); present it by relevance
        best = {ti: max(s[u] for u in us) for ti, us in chosen.items()}
        turn_order.sort(key=lambda ti: -best[ti])
    hits = []

    def text_of(ti, us):
        us = sorted(us)
        pre = cf.U.text[us[0]].split(": ", 1)[0] + ": "
        return pre + " ".join(cf.U.text[u].split(": ", 1)[1] for u in us)

    if blocks:
        rank = {ti: r for r, ti in enumerate(turn_order)}
        bl = []
        for ti in sorted(turn_order):
            if bl and bl[-1][-1] == ti - 1 and T[ti].session == T[ti - 1].session:
                bl[-1].append(ti)
            else:
                bl.append([ti])
        bl.sort(key=lambda b: min(rank[t] for t in b))
        for b in bl:
            hits.append(Hit([T[t].dia_id for t in b], "\n".join(text_of(t, chosen[t]) for t in b), 0.0, "block"))
    else:
        for ti in turn_order:
            hits.append(Hit([T[ti].dia_id], text_of(ti, chosen[ti])))
    # ranked turns beyond the budget, for recall@k with large k
    seen = set(turn_order)
    for u in order:
        ti = int(cf.U.turn[u])
        if ti not in seen:
            seen.add(ti)
            hits.append(Hit([T[ti].dia_id], T[ti].text))
        if len(hits) >= max_hits:
            break
    return hits


def evaluate(data, weights_per_conv, pack="skip", alpha=0.0, blocks=False, scorer=None, raw=False):
    rows = []
    for ci, (conv, cf, Xs, ys) in enumerate(data):
        w = weights_per_conv[ci] if isinstance(weights_per_conv, list) else weights_per_conv
        for qa, X in zip(conv.qa, Xs):
            t = time.perf_counter()
            s = scorer(X, ci) if scorer else X @ w + BIAS.get(ci, 0.0)
            hits = to_hits(cf, s, pack, alpha, blocks)
            ms = (time.perf_counter() - t) * 1000
            r = score_question(qa.get("evidence", []), hits)
            r.update(cat=qa["category"], conv=conv.sample_id, ms=ms)
            rows.append(r)
    return rows if raw else aggregate(rows)


COMPACT = ["bm25", "bm_rel", "cov", "t_bm25", "prf", "dense", "cos", "s_bm25", "s_dense", "tp1", "tmaxnb", "win",
           "time", "when_time", "spk_named", "other_named", "spec_spk", "list_spk", "loglen", "is_q", "photo"]
GROUPS = {
    "dense (all MiniLM features)": ["dense", "cos", "rr_dense", "t_dense", "s_dense", "spec_cos"],
    "lexical (all BM25 features)": ["bm25", "prf", "cov", "rr_bm25", "bm_rel", "t_bm25", "s_bm25", "spec_bm", "list_sess"],
    "session scores": ["s_bm25", "s_dense", "list_sess"],
    "neighbour turns/sentences": ["win", "nb_prev", "nb_next", "tp1", "tp2", "tn1", "tmaxnb"],
    "time (window + when)": ["time", "when_time"],
    "speaker features": ["spk_named", "other_named", "spec_spk", "list_spk"],
    "priors (length, is-question, photo)": ["loglen", "is_q", "photo"],
    "PRF": ["prf"],
    "parent-turn scores": ["t_bm25", "t_dense"],
    "question-type interactions": ["spec_cos", "spec_bm", "list_sess", "list_spk", "spec_spk"],
    "rank/coverage extras": ["cov", "rr_bm25", "rr_dense", "cos", "bm_rel"],
}
ALPHAS = [0.0, 0.5, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0, 4.0]


def evaluate_folds(data, ws, alphas, blocks=False):
    rows = []
    for ci in range(len(data)):
        sub = evaluate([data[ci]], ws[ci], alpha=alphas[ci], blocks=blocks, raw=True)
        rows += sub
    return aggregate(rows)


def wvec(d: dict) -> np.ndarray:
    return np.array([d.get(f, 0.0) for f in FEATS], dtype=np.float32)


# ------------------------------------------------------------------ learning
def fit_logreg(X, y, l2=1.0, iters=300, pos_weight=None):
    """Logistic regression by Newton's method (numpy only). Returns (w, b)."""
    n, d = X.shape
    Xb = np.hstack([X, np.ones((n, 1), dtype=X.dtype)]).astype(np.float64)
    w = np.zeros(d + 1)
    sw = np.ones(n)
    if pos_weight:
        sw = np.where(y > 0, pos_weight, 1.0)
    R = l2 * np.eye(d + 1)
    R[-1, -1] = 0
    for _ in range(iters):
        z = Xb @ w
        p = 1 / (1 + np.exp(-z))
        g = Xb.T @ (sw * (p - y)) + R @ w
        H = (Xb * (sw * p * (1 - p))[:, None]).T @ Xb + R
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w[:-1], w[-1]


def fit_pairwise(Xs, ys, l2=1.0, neg_per_pos=30, seed=0, iters=300):
    """RankNet-style pairwise logistic regression: positive vs hard negatives of the same question."""
    rng = np.random.default_rng(seed)
    D = []
    for X, y in zip(Xs, ys):
        pos = np.where(y > 0)[0]
        if len(pos) == 0:
            continue
        base = X[:, 0] + X[:, 1]
        negs = np.where(y == 0)[0]
        hard = negs[np.argsort(-base[negs])[:neg_per_pos]]
        rnd = rng.choice(negs, size=min(len(negs), neg_per_pos // 2), replace=False)
        negs_sel = np.unique(np.concatenate([hard, rnd]))
        for p in pos:
            D.append(X[p] - X[negs_sel])
    Dm = np.vstack(D)
    # symmetric: d -> label 1, -d -> label 0
    Xall = np.vstack([Dm, -Dm])
    yall = np.concatenate([np.ones(len(Dm)), np.zeros(len(Dm))])
    w, _ = fit_logreg(Xall, yall, l2=l2, iters=iters)
    return w


def learn_loco(data, feats_mask=None, method="pairwise", l2=1.0, **kw):
    ws = []
    for hold in range(len(data)):
        Xs, ys = [], []
        for ci, (_, _, X_, y_) in enumerate(data):
            if ci == hold:
                continue
            Xs += X_
            ys += y_
        if feats_mask is not None:
            Xs = [X * feats_mask for X in Xs]
        if method == "pairwise":
            w = fit_pairwise(Xs, ys, l2=l2, **kw)
        else:
            w, b0 = fit_logreg(np.vstack(Xs), np.concatenate(ys), l2=l2)
            BIAS[hold] = b0
        if feats_mask is not None:
            w = w * feats_mask
        ws.append(w.astype(np.float32))
    return ws


def fmt(name, r):
    pc = "/".join(f"{x*100:.0f}" for x in r["budget_per_conv"])
    return (f"| {name} | {r['budget']*100:.1f} | " + " | ".join(f"{r[f'budget_c{c}']*100:.1f}" for c in range(1, 6))
            + f" | {r['r@5']*100:.1f} | {r['r@10']*100:.1f} | {r['r@25']*100:.1f} | {r['chars']:.0f} | {pc} |")


HEAD = "| variant | budget | c1 | c2 | c3 | c4 | c5 | r@5 | r@10 | r@25 | chars | per-conv |\n|---|---|---|---|---|---|---|---|---|---|---|---|"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gran", default="turn")
    ap.add_argument("--dense", default="minilm")
    ap.add_argument("--dense2", default=None)
    ap.add_argument("--nokeys", action="store_true")
    ap.add_argument("--hand", nargs="*", default=[])
    ap.add_argument("--learn", nargs="*", default=None, help="methods: pairwise logreg")
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--alpha", type=float, default=0.0)
    ap.add_argument("--ablate", action="store_true")
    ap.add_argument("--blocks", action="store_true")
    ap.add_argument("--ablate-groups", action="store_true")
    ap.add_argument("--compact", action="store_true", help="only the COMPACT feature set")
    ap.add_argument("--no-sent-dense", action="store_true")
    args = ap.parse_args()
    convs = load()
    t = time.time()
    data = prepare(convs, args.gran, args.dense, args.dense2, not args.nokeys, sent_dense=not args.no_sent_dense)
    print(f"features in {time.time()-t:.1f}s", file=sys.stderr)
    print(HEAD)
    tag = f"{args.gran}" + (f"+{args.dense2}" if args.dense2 else "") + ("(turn vectors)" if args.no_sent_dense else "")
    for h in args.hand:
        r = evaluate(data, wvec(HAND[h]), alpha=args.alpha, blocks=args.blocks)
        print(fmt(f"{tag} hand:{h}", r), flush=True)
    if args.learn is not None:
        for m in args.learn or ["pairwise"]:
            cmask = np.array([1.0 if f in COMPACT else 0.0 for f in FEATS], dtype=np.float32) if args.compact else None
            if args.compact:
                tag += " compact"
            ws = learn_loco(data, cmask, method=m, l2=args.l2)
            if args.alpha < 0:  # choose alpha per fold on the 3 training conversations
                alphas = []
                for hold in range(len(data)):
                    tr = [d for i, d in enumerate(data) if i != hold]
                    best = max(ALPHAS, key=lambda a: evaluate(tr, ws[hold], alpha=a)["budget"])
                    alphas.append(best)
                print(f"   alpha per fold: {alphas}", file=sys.stderr)
                r = evaluate_folds(data, ws, alphas, blocks=args.blocks)
            else:
                r = evaluate(data, ws, alpha=args.alpha, blocks=args.blocks)
            print(fmt(f"{tag} LOCO {m}", r), flush=True)
            print("   w(mean over folds): " + ", ".join(f"{f}={v:+.2f}" for f, v in zip(FEATS, np.mean(ws, 0))),
                  file=sys.stderr)
            with open(os.path.join(HERE, "results.jsonl"), "a") as f:
                f.write(json.dumps({"variant": f"{tag} LOCO {m}", "weights": [w.tolist() for w in ws],
                                    "feats": FEATS, "res": r}) + "\n")
            if args.ablate_groups:
                for gname, fl in GROUPS.items():
                    mask = np.array([0.0 if f in fl else 1.0 for f in FEATS], dtype=np.float32)
                    ws2 = learn_loco(data, mask, method=m, l2=args.l2)
                    if args.alpha < 0:
                        al = []
                        for hold in range(len(data)):
                            tr = [d for i, d in enumerate(data) if i != hold]
                            al.append(max(ALPHAS, key=lambda a: evaluate(tr, ws2[hold], alpha=a)["budget"]))
                        r2 = evaluate_folds(data, ws2, al, blocks=args.blocks)
                    else:
                        al = args.alpha
                        r2 = evaluate(data, ws2, alpha=args.alpha, blocks=args.blocks)
                    print(fmt(f"  − {gname} (alpha {al})", r2), flush=True)
            if args.ablate:
                for j, fn in enumerate(FEATS):
                    mask = np.ones(len(FEATS), dtype=np.float32)
                    mask[j] = 0
                    ws2 = learn_loco(data, mask, method=m, l2=args.l2)
                    r2 = evaluate(data, ws2, alpha=args.alpha, blocks=args.blocks)
                    print(fmt(f"  - {fn}", r2), flush=True)


if __name__ == "__main__":
    main()
