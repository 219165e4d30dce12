"""Shared pieces for the retrieval experiments: data, metric, text rendering.

Only the raw LoCoMo turns (speaker, text, blip caption, session date) are used;
the dataset's own LLM-made summaries/observations are never read.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime

DATA = os.environ.get("LOCOMO_DEV", "/work/shared/data/locomo/locomo-dev.json")
CACHE = os.environ.get("MEMSTRATA_RESEARCH_CACHE", "/tmp/memstrata-research")
BUDGET = 4000
CATS = (1, 2, 3, 4, 5)
CAT_NAMES = {1: "multi-hop", 2: "temporal", 3: "open", 4: "single", 5: "adversarial"}


@dataclass
class Turn:
    dia_id: str
    session: int
    idx: int  # position within session
    speaker: str
    text: str  # message text (+ caption)
    raw: str  # message text only
    caption: str
    date: datetime
    date_str: str  # session_N_date_time as given


@dataclass
class Conversation:
    sample_id: str
    speakers: tuple[str, str]
    turns: list[Turn]
    sessions: dict[int, list[int]]  # session -> turn indices
    qa: list[dict]


def parse_date(s: str) -> datetime:
    # "1:56 pm on 8 May, 2023"
    return datetime.strptime(s.strip(), "%I:%M %p on %d %B, %Y")


def load(path: str = DATA) -> list[Conversation]:
    data = json.load(open(path))
    convs = []
    for c in data:
        conv = c["conversation"]
        turns: list[Turn] = []
        sessions: dict[int, list[int]] = {}
        n = 1
        while f"session_{n}" in conv:
            ds = conv[f"session_{n}_date_time"]
            d = parse_date(ds)
            for i, t in enumerate(conv[f"session_{n}"]):
                cap = t.get("blip_caption", "") or ""
                text = t["text"] + (f" [photo: {cap}]" if cap else "")
                sessions.setdefault(n, []).append(len(turns))
                turns.append(Turn(t["dia_id"], n, i, t["speaker"], text, t["text"], cap, d, ds))
            n += 1
        convs.append(Conversation(c["sample_id"], (conv["speaker_a"], conv["speaker_b"]), turns, sessions, c["qa"]))
    return convs


def fmt_date(d: datetime) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def render_turn(t: Turn) -> str:
    """The memory text of a turn (what is counted against the budget)."""
    return f"({fmt_date(t.date)}) {t.speaker}: {t.text}"


@dataclass
class Hit:
    sources: list[str]
    text: str
    score: float = 0.0
    kind: str = "turn"


def recall_of(evidence: list[str], retrieved: set[str]) -> float:
    if not evidence:
        return 0.0  # official aggregation: contributes 0, counts in the denominator
    return sum(1 for e in evidence if e in retrieved) / len(evidence)


def clean_evidence(ev) -> list[str]:
    # Some LoCoMo evidence strings hold several ids ("D8:6; D9:17"); keep exact ids as given
    # (exact string match, as the official code does).
    return list(ev or [])


def score_question(evidence, hits: list[Hit], ks=(5, 10, 25, 50), budget=BUDGET) -> dict:
    out = {}
    for k in ks:
        got = set()
        for h in hits[:k]:
            got.update(h.sources)
        out[f"r@{k}"] = recall_of(evidence, got)
    got = set()
    used = 0
    n = 0
    for h in hits:
        if used + len(h.text) > budget:
            break
        used += len(h.text)
        got.update(h.sources)
        n += 1
    out["budget"] = recall_of(evidence, got)
    out["chars"] = used
    out["n_in_budget"] = n
    return out


def aggregate(rows: list[dict]) -> dict:
    """rows: dicts with 'cat', 'conv' and metric keys."""
    keys = [k for k in rows[0] if k not in ("cat", "conv", "q", "ms")]
    res = {}
    for k in keys:
        res[k] = sum(r[k] for r in rows) / len(rows)
    for c in CATS:
        rc = [r for r in rows if r["cat"] == c]
        res[f"budget_c{c}"] = sum(r["budget"] for r in rc) / max(1, len(rc))
        res[f"r@10_c{c}"] = sum(r["r@10"] for r in rc) / max(1, len(rc))
    convs = sorted({r["conv"] for r in rows})
    res["budget_per_conv"] = [sum(r["budget"] for r in rows if r["conv"] == cv) / len([r for r in rows if r["conv"] == cv]) for cv in convs]
    ms = sorted(r["ms"] for r in rows if "ms" in r)
    if ms:
        res["p50"] = ms[len(ms) // 2]
        res["p95"] = ms[int(len(ms) * 0.95)]
    return res


# ---------------------------------------------------------------- time expressions
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
TIME_RE = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|last (?:night|week|weekend|month|year|summer|winter|spring|fall|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)|next (?:week|weekend|month|year|summer|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)|this (?:week|weekend|month|year|morning|"
    r"afternoon|evening|past weekend|summer)|(?:a|one|two|three|four|few|couple of) (?:days?|weeks?|months?|years?) ago|"
    r"recently|the other day|(?:19|20)\d\d|" + "|".join(MONTHS) + r"|" + "|".join(WEEKDAYS) + r")\b",
    re.I,
)
