"""Fit the shipping weights on all 4 dev conversations and write weights.json.

The numbers to quote are the LOCO ones from fuse.py (weights that did not see the conversation);
these all-data weights are only what a port should ship. Also prints how far the all-data fit is from
each fold's fit (stability).

    python experiments/retrieval/export_weights.py [--feats compact]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load  # noqa: E402
from features import FEATS  # noqa: E402
from fuse import ALPHAS, COMPACT, evaluate, fit_logreg, learn_loco, prepare  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

ap = argparse.ArgumentParser()
ap.add_argument("--feats", default="all")
ap.add_argument("--l2", type=float, default=1.0)
a = ap.parse_args()
mask = np.ones(len(FEATS), dtype=np.float32) if a.feats == "all" else np.array(
    [1.0 if f in COMPACT else 0.0 for f in FEATS], dtype=np.float32)
data = prepare(load(), "sent", "minilm", None, True, sent_dense=False)
Xs, ys = [], []
for _, _, X_, y_ in data:
    Xs += [X * mask for X in X_]
    ys += y_
w, b = fit_logreg(np.vstack(Xs), np.concatenate(ys), l2=a.l2)
w = (w * mask).astype(np.float32)
alpha = max(ALPHAS, key=lambda al: evaluate(data, w, alpha=al)["budget"])
folds = learn_loco(data, mask, method="logreg", l2=a.l2)
spread = np.std(np.stack(folds), 0)
out = {
    "model": "logistic regression over per-query z-scored features (experiments/retrieval/features.py)",
    "granularity": "sentence memories, turn vectors (all-MiniLM-L6-v2 int8)",
    "alpha": alpha,
    "bias": float(b),
    "weights": {f: round(float(v), 4) for f, v in zip(FEATS, w) if mask[FEATS.index(f)]},
    "fold_std": {f: round(float(v), 4) for f, v in zip(FEATS, spread) if mask[FEATS.index(f)]},
}
name = "weights.json" if a.feats == "all" else f"weights-{a.feats}.json"
json.dump(out, open(os.path.join(HERE, name), "w"), indent=1)
print(json.dumps(out, indent=1))
