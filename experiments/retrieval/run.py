"""LoCoMo retrieval experiments (no LLM).

    python experiments/retrieval/run.py --variant bm25            # one variant
    python experiments/retrieval/run.py --variant bm25 rrf ...    # several
    python experiments/retrieval/run.py --list

Each variant is a dict of knobs over one pipeline (see `DEFAULT` and `Pipeline`).
Results are printed as a markdown table row and appended to results.jsonl.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import aggregate, load, score_question  # noqa: E402
from pipeline import DEFAULT, Pipeline  # noqa: E402
from variants import VARIANTS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def evaluate(cfg: dict, convs=None, quiet=False, collect=False, live=False):
    """live=False uses cached query vectors (fast, for quality); live=True embeds each query in the timed loop."""
    convs = convs or load()
    qcache = None
    if cfg.get("dense") and not live:
        from pipeline import embedder

        qs = [qa["question"] for c in convs for qa in c.qa]
        V = embedder(cfg["dense"]).queries(qs)
        qcache = dict(zip(qs, V))
    qcache2 = None
    if cfg.get("dense2") and not live:
        from pipeline import embedder

        qs = [qa["question"] for c in convs for qa in c.qa]
        qcache2 = dict(zip(qs, embedder(cfg["dense2"]).queries(qs)))
    rows = []
    ingest = []
    per_q = []
    for ci, conv in enumerate(convs):
        t0 = time.perf_counter()
        p = Pipeline(conv, cfg, qcache, qcache2)
        ingest.append((len(conv.turns), time.perf_counter() - t0))
        for qa in conv.qa:
            t = time.perf_counter()
            hits = p.search(qa["question"])
            ms = (time.perf_counter() - t) * 1000
            r = score_question(qa.get("evidence", []), hits)
            r.update(cat=qa["category"], conv=conv.sample_id, ms=ms)
            rows.append(r)
            if collect:
                per_q.append((conv.sample_id, qa, hits))
    res = aggregate(rows)
    n = sum(a for a, _ in ingest)
    s = sum(b for _, b in ingest)
    res["ingest_msgs_per_s"] = n / s if s else 0
    if collect:
        return res, per_q
    return res


HEAD = ("| variant | budget | c1 multi | c2 temp | c3 open | c4 single | c5 adv | r@5 | r@10 | r@25 | "
        "chars | p50 ms | p95 ms | per-conv budget |")


def row(name, r):
    pc = "/".join(f"{x*100:.0f}" for x in r["budget_per_conv"])
    return (f"| {name} | {r['budget']*100:.1f} | " + " | ".join(f"{r[f'budget_c{c}']*100:.1f}" for c in range(1, 6))
            + f" | {r['r@5']*100:.1f} | {r['r@10']*100:.1f} | {r['r@25']*100:.1f} | {r['chars']:.0f} | "
            f"{r.get('p50', 0):.1f} | {r.get('p95', 0):.1f} | {pc} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", nargs="*", default=["bm25"])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--live", action="store_true", help="embed queries inside the timed loop (latency)")
    ap.add_argument("--set", nargs="*", default=[], help="override knobs: key=json")
    args = ap.parse_args()
    if args.list:
        for k in VARIANTS:
            print(k, VARIANTS[k])
        return
    convs = load()
    print(HEAD)
    print("|" + "---|" * 15)
    for name in args.variant:
        cfg = dict(DEFAULT)
        cfg.update(VARIANTS[name])
        for kv in args.set:
            k, v = kv.split("=", 1)
            cfg[k] = json.loads(v)
        r = evaluate(cfg, convs, live=args.live)
        label = name + ("" if not args.set else " " + " ".join(args.set)) + (" [live]" if args.live else "")
        print(row(label, r), flush=True)
        with open(os.path.join(HERE, "results.jsonl"), "a") as f:
            f.write(json.dumps({"variant": label, "cfg": cfg, "res": r}) + "\n")


if __name__ == "__main__":
    main()
