"""Search latency (live query embedding + features + scoring + packing) and ingest throughput.

    python experiments/retrieval/latency.py --gran sent [--dense2 e5] [--ingest]
Weights: LOCO logistic regression (the fold that did not see the conversation).
"""
import argparse, os, sys, time
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load
from features import ConvFeatures
from fuse import prepare, learn_loco, to_hits
from pipeline import embedder

ap = argparse.ArgumentParser()
ap.add_argument("--gran", default="sent")
ap.add_argument("--dense2", default=None)
ap.add_argument("--ingest", action="store_true")
ap.add_argument("--reps", type=int, default=1)
a = ap.parse_args()
convs = load()
data = prepare(convs, a.gran, "minilm", a.dense2, True, sent_dense=False)
ws = learn_loco(data, method="logreg")
e = embedder("minilm"); e2 = embedder(a.dense2) if a.dense2 else None
e.query1("warm up"); e2 and e2.query1("warm up")
ms = []
cpu = []
for rep in range(a.reps):
    for ci, (conv, cf, _, _) in enumerate(data):
        for qa in conv.qa:
            q = qa["question"]
            t = time.perf_counter(); c0 = time.process_time()
            qv = e.query1(q)
            qv2 = e2.query1(q) if e2 else None
            X = cf.features(q, qv, qv2)
            hits = to_hits(cf, X @ ws[ci], alpha=1.0)
            ms.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
ms.sort(); cpu.sort()
print(f"CPU per query: p50={cpu[len(cpu)//2]:.1f} ms p95={cpu[int(len(cpu)*.95)]:.1f} ms (load avg {open('/proc/loadavg').read().split()[0]})")
print(f"search {a.gran}{'+'+a.dense2 if a.dense2 else ''}: n={len(ms)} p50={ms[len(ms)//2]:.1f} ms p95={ms[int(len(ms)*.95)]:.1f} ms max={ms[-1]:.1f}")
if a.ingest:
    import models
    models.CACHE = "/tmp/memstrata-research/nocache"  # force embedding
    import shutil; shutil.rmtree(models.CACHE, ignore_errors=True)
    conv = convs[1]
    t = time.perf_counter(); c0 = time.process_time()
    ConvFeatures(conv, a.gran, "minilm", a.dense2, True, sent_dense=False)
    dt = time.perf_counter() - t; dc = time.process_time() - c0
    print(f"ingest {conv.sample_id}: {len(conv.turns)} messages in {dt:.1f}s wall = {len(conv.turns)/dt:.0f} msg/s; "
          f"CPU {dc:.1f}s = {len(conv.turns)/dc:.0f} msg per CPU-second (load avg {open('/proc/loadavg').read().split()[0]})")
    shutil.rmtree(models.CACHE, ignore_errors=True)
