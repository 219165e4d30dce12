"""How fast ``Memory.add`` stores messages in a scope that already holds many: the rate at which
``memstrata eval scale`` fills its distractor stores, and a long-lived user's adds::

    python scripts/add_rate.py ~/.cache/memstrata/bench/stores/distractors-100000-<hash>.db
    python scripts/add_rate.py STORE --skip 200000 --messages 3000 --profile

Copies STORE (a store that ``eval scale`` filled, its scope ``scale``) to a temporary folder and
adds to the copy, in the scope ``scale``, the sessions of ``eval scale``'s distractor stream
(LoCoMo dev's and REALTALK dev's names, seed 0, REALTALK dev's turns first) that follow its
first ``--skip`` messages: about ``--messages`` messages, a session to an add, as the fill adds
them. Their MiniLM vectors come from the benchmarks' vector cache where it has them (the fill
of a larger distractor store puts them there), so the rate is the store's and the write path's,
with embedding only for what the cache lacks (reported, and cached for the next run). The first
add is not timed (it opens the store's connections and may split a ledger an earlier store kept
whole). ``--profile`` prints where the time went.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from memstrata.embedders import make_embedder
from memstrata.evals.distractors import distractor_batches, first_names
from memstrata.evals.embedcache import CachingEmbedder, default_cache_dir
from memstrata.evals.locomo import load_locomo
from memstrata.evals.scale import SCOPE
from memstrata.evals.stores import copy_store
from memstrata.memory import Memory

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path, help="a store that `memstrata eval scale` filled")
    parser.add_argument("--skip", type=int, default=200_000, help="messages of the stream skipped")
    parser.add_argument("--messages", type=int, default=3000, help="about how many to add")
    parser.add_argument("--profile", action="store_true", help="print where the time went")
    args = parser.parse_args()
    dev = load_locomo(DATA / "locomo" / "locomo-dev.json")
    other = load_locomo(DATA / "realtalk" / "realtalk-dev.json")
    batches, _ = distractor_batches(
        args.skip + 2 * args.messages, other, seed=0, names=first_names([*dev, *other])
    )
    seen, taken, chosen = 0, 0, []
    for batch in batches:
        if seen >= args.skip and taken < args.messages:
            chosen.append(batch)
            taken += len(batch)
        seen += len(batch)
    embedder = CachingEmbedder(make_embedder("minilm"), default_cache_dir() / "vectors")
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="memstrata-add-") as tmp:
        target = copy_store(args.store, Path(tmp) / "store.db")
        with Memory(str(target), embedder=embedder) as memory:
            memory.add(list(chosen[0]), user_id=SCOPE)
            added, started = 0, time.perf_counter()
            if args.profile:
                profiler.enable()
            for batch in chosen[1:]:
                memory.add(list(batch), user_id=SCOPE)
                added += len(batch)
            profiler.disable()
            seconds = time.perf_counter() - started
    embedder.flush()  # what had to be embedded is in the cache for the next run
    print(
        f"{added} messages in {len(chosen) - 1} adds: {seconds:.2f} s, {added / seconds:.1f} "
        f"messages a second; {embedder.misses} vectors embedded (not in the cache)"
    )
    if args.profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
