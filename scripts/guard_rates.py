"""The poisoning guard's detection and false-positive rates on a labelled corpus.

    python scripts/guard_rates.py [tests/fixtures/guard_corpus.jsonl] [--show]
        [--conversations ../shared/data/locomo/locomo-dev.json ...]

A corpus is JSON Lines: ``{"set", "label": "injection" | "benign", "group", "lang", "text"}``.
The script prints the share of injections flagged and of benign texts flagged, by set, group and
language; ``--show`` lists every miss and every false alarm with the reason codes. With
``--conversations`` (LoCoMo-format files: real conversations, none of them injections) it also
counts the turns the guard flags there and prints them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from memstrata.write.guard import scan

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "tests" / "fixtures" / "guard_corpus.jsonl"


def load(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def rates(rows: list[dict[str, str]]) -> dict[str, dict[str, tuple[int, int]]]:
    """``{label: {key: (flagged, total)}}`` for key ``all``, ``set:<s>``, ``group:<g>`` and
    ``lang:<l>``."""
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in rows:
        hit = bool(scan(row["text"]))
        keys = ("all", f"set:{row.get('set', '-')}", f"group:{row['group']}", f"lang:{row['lang']}")
        for key in keys:
            out[row["label"]][key][0] += hit
            out[row["label"]][key][1] += 1
    return {label: {k: (v[0], v[1]) for k, v in keys.items()} for label, keys in out.items()}


def conversation_turns(path: Path) -> list[str]:
    data = json.loads(path.read_text("utf-8"))
    turns: list[str] = []
    for sample in data:
        conversation = sample["conversation"]
        for key, session in conversation.items():
            if key.startswith("session_") and isinstance(session, list):
                turns += [str(t.get("text") or "") for t in session if t.get("text")]
    return turns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--show", action="store_true", help="list misses and false alarms")
    parser.add_argument("--conversations", type=Path, nargs="*", default=[])
    args = parser.parse_args(argv)
    rows = load(args.corpus)
    table = rates(rows)
    for label, name in (("injection", "detected"), ("benign", "flagged (false positives)")):
        keys = table.get(label, {})
        flagged, total = keys.get("all", (0, 0))
        print(f"{label}: {flagged}/{total} {name} = {100 * flagged / max(total, 1):.1f} %")
        for key in sorted(k for k in keys if k != "all"):
            f, t = keys[key]
            print(f"  {key:<22} {f:>3}/{t:<3} {100 * f / t:5.1f} %")
    if args.show:
        for row in rows:
            hits = scan(row["text"])
            if bool(hits) != (row["label"] == "injection"):
                codes = ",".join(sorted({h.pattern for h in hits})) or "-"
                print(f"{row['label']:>9} {row['group']:<11} {codes:<24} {row['text']!r}")
    for path in args.conversations:
        turns = conversation_turns(path)
        flagged = [t for t in turns if scan(t)]
        print(f"{path.name}: {len(flagged)} of {len(turns)} turns flagged")
        for text in flagged:
            codes = ",".join(sorted({h.pattern for h in scan(text)}))
            print(f"  [{codes}] {text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
