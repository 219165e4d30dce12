"""Misses of the LOCO logistic-regression ranker: python inspect_fuse.py GRAN CAT [N]"""
import sys, os, pickle
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load, render_turn
from fuse import prepare, learn_loco, to_hits
gran, cat = sys.argv[1], int(sys.argv[2]); lim = int(sys.argv[3]) if len(sys.argv) > 3 else 30
convs = load()
data = prepare(convs, gran, "minilm", None, True)
ws = learn_loco(data, method="logreg")
n = 0
for ci, (conv, cf, Xs, ys) in enumerate(data):
    byid = {t.dia_id: t for t in conv.turns}
    for qa, X in zip(conv.qa, Xs):
        if qa["category"] != cat: continue
        hits = to_hits(cf, X @ ws[ci], alpha=1.0)
        used = 0; got = set()
        for h in hits:
            if used + len(h.text) > 4000: break
            used += len(h.text); got.update(h.sources)
        ev = qa.get("evidence", [])
        miss = [e for e in ev if e not in got]
        if not miss: continue
        n += 1
        if n > lim: sys.exit()
        rank = {}
        for i, h in enumerate(hits):
            for s in h.sources: rank.setdefault(s, i)
        print(f"\n[{conv.sample_id}] Q: {qa['question']}  A: {qa.get('answer', qa.get('adversarial_answer'))}")
        for e in ev:
            t = byid.get(e)
            print(f"   {'MISS' if e in miss else 'ok  '} {e} rank={rank.get(e)} :: {render_turn(t)[:160] if t else '??'}")
        print("   top:", " | ".join(h.text[:70] for h in hits[:3]))
