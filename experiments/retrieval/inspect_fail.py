"""Print questions of a category with their evidence turns and whether the variant found them."""
import sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load, render_turn
from pipeline import DEFAULT
from variants import VARIANTS
from run import evaluate
cat = int(sys.argv[2]); name = sys.argv[1]; lim = int(sys.argv[3]) if len(sys.argv) > 3 else 40
cfg = dict(DEFAULT); cfg.update(VARIANTS[name])
convs = load()
bytid = {c.sample_id: {t.dia_id: t for t in c.turns} for c in convs}
res, per_q = evaluate(cfg, convs, collect=True)
n = 0
for cid, qa, hits in per_q:
    if qa["category"] != cat: continue
    used = 0; got = set()
    for h in hits:
        if used + len(h.text) > 4000: break
        used += len(h.text); got.update(h.sources)
    ev = qa.get("evidence", [])
    miss = [e for e in ev if e not in got]
    if not miss: continue
    n += 1
    if n > lim: break
    print(f"\n[{cid}] Q: {qa['question']}  A: {qa.get('answer', qa.get('adversarial_answer'))}")
    rank = {s: i for i, h in enumerate(hits) for s in h.sources}
    for e in ev:
        t = bytid[cid].get(e)
        print(f"   {'MISS' if e in miss else 'ok  '} {e} rank={rank.get(e)} :: {render_turn(t)[:200] if t else '??'}")
