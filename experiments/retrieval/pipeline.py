"""One configurable retrieval pipeline over a conversation's turns.

Index time: every turn is a memory (text = "(date) speaker: text [photo: caption]"); extra index keys
are optional. Session-level documents give a session score that is spread onto the turns.
Query time: BM25 and dense scores over turns (and sessions), fused, then packed into the budget.
"""
from __future__ import annotations

import re

import numpy as np

from common import BUDGET, TIME_RE, Conversation, Hit, fmt_date, render_turn
from keys import query_window, resolve, turn_keys
from models import BM25, QSTOP, get_embedder, tokenize

DEFAULT = dict(
    bm25=True,
    bm25_text="speaker_date",  # plain | speaker | speaker_date
    stem=True,
    qstop=False,  # drop stop words from the query
    k1=1.2,
    b=0.75,
    keys=[],  # extra index keys: "dates", "caption"...
    dense=None,  # None | minilm | e5
    dense_text="render",  # render | plain
    fusion="rrf",  # rrf | z | max
    rrf_k=60,
    w_bm25=1.0,
    w_dense=1.0,
    session=0.0,  # weight of the session score added to turns
    session_dense="mean",  # mean | doc (embed the session text) | max
    window=0,  # context-window signal: smooth turn scores over +-window neighbours
    window_w=0.0,
    when_boost=0.0,  # for "when" questions, boost turns with a time expression
    neighbours=0,  # each hit brings its +-n neighbours (as separate memories)
    pack="stop",  # stop | skip (skip memories that do not fit, continue with the next)
    blocks=False,  # group packed turns into consecutive blocks (one memory per block)
    prf=0,  # pseudo-relevance feedback: number of top turns used (0 = off)
    prf_terms=10,
    prf_w=0.5,
    dense_prf=0.0,  # Rocchio on the dense query vector with the top fused turns
    lam_speaker=0.0,
    time_w=0.0,  # boost turns whose time (session date or resolved expression) falls in the question's window
    time_resolved=True,  # also use resolved relative expressions for the window match
    dense2=None,  # a second dense model as an extra signal
    w_dense2=1.0,
    max_hits=200,
)

_EMB = {}


def embedder(name):
    if name not in _EMB:
        _EMB[name] = get_embedder(name)
    return _EMB[name]


WHEN_RE = re.compile(r"^\s*(when|what (?:date|day|month|year|time)|how long ago|which (?:year|month|day))\b", re.I)


def zs(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 1e-9 else 1.0)


def rrf(scores: np.ndarray, k: float) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    r = np.empty(len(scores), dtype=np.float32)
    r[order] = np.arange(1, len(scores) + 1)
    return 1.0 / (k + r)


class Pipeline:
    def __init__(self, conv: Conversation, cfg: dict, qcache=None, qcache2=None):
        self.cfg = cfg
        self.qcache = qcache
        self.qcache2 = qcache2
        self.conv = conv
        T = conv.turns
        self.texts = [render_turn(t) for t in T]
        self.ids = [t.dia_id for t in T]
        self.sess_of = np.array([t.session for t in T])
        self.sess_list = sorted(conv.sessions)
        self.sess_idx = {s: i for i, s in enumerate(self.sess_list)}
        self.turn_sess = np.array([self.sess_idx[t.session] for t in T])
        self.has_time = np.array([1.0 if TIME_RE.search(t.raw) else 0.0 for t in T], dtype=np.float32)
        keys = [turn_keys(t, cfg["keys"]) for t in T]
        self.tdates = []
        for t in T:
            iv = [(t.date.date(), t.date.date())]
            if cfg["time_resolved"]:
                iv += [(s, e) for s, e, _ in resolve(t.raw, t.date)]
            self.tdates.append(iv)
        self.keys = keys
        idx_texts = []
        for t, k in zip(T, keys):
            if cfg["bm25_text"] == "plain":
                s = t.text
            elif cfg["bm25_text"] == "speaker":
                s = f"{t.speaker}: {t.text}"
            else:
                s = f"{fmt_date(t.date)} {t.speaker}: {t.text}"
            idx_texts.append(s + (" " + k if k else ""))
        self.idx_texts = idx_texts
        stem = cfg["stem"]
        self.doc_toks = [tokenize(s, stem) for s in idx_texts]
        self.bm = BM25(self.doc_toks, cfg["k1"], cfg["b"])
        if cfg["session"]:
            stoks = [sum((self.doc_toks[i] for i in conv.sessions[s]), []) for s in self.sess_list]
            self.sbm = BM25(stoks, cfg["k1"], cfg["b"])
        if cfg["dense"]:
            e = embedder(cfg["dense"])
            dtexts = self.texts if cfg["dense_text"] == "render" else [t.text for t in T]
            if cfg["keys"] and cfg.get("dense_keys"):
                dtexts = [d + " " + k for d, k in zip(dtexts, keys)]
            self.D = e.docs(dtexts)
            if cfg["dense2"]:
                self.D2 = embedder(cfg["dense2"]).docs(dtexts)
            if cfg["session"]:
                if cfg["session_dense"] == "doc":
                    st = [" ".join(T[i].text for i in conv.sessions[s]) for s in self.sess_list]
                    self.SD = e.docs(st)
                else:
                    M = np.stack([self.D[conv.sessions[s]].mean(0) for s in self.sess_list])
                    self.SD = M / np.linalg.norm(M, axis=1, keepdims=True)

    # ------------------------------------------------------------ signals
    def signals(self, q: str):
        cfg = self.cfg
        sig = {}
        qt = tokenize(q, cfg["stem"], QSTOP if cfg["qstop"] else None)
        if not qt:
            qt = tokenize(q, cfg["stem"])
        self.qt = qt
        if cfg["bm25"]:
            sig["bm25"] = self.bm.score(qt)
        if cfg["dense"]:
            qv = self.qcache.get(q) if self.qcache is not None else None
            if qv is None:
                qv = embedder(cfg["dense"]).query1(q)
            self.qv = qv
            sig["dense"] = self.D @ qv
        if cfg["dense2"]:
            qv2 = self.qcache2.get(q) if self.qcache2 is not None else None
            if qv2 is None:
                qv2 = embedder(cfg["dense2"]).query1(q)
            sig["dense2"] = self.D2 @ qv2
        return sig

    def time_match(self, q: str):
        wins = query_window(q)
        if not wins:
            return None
        m = np.zeros(len(self.texts), dtype=np.float32)
        for i, ivs in enumerate(self.tdates):
            for s, e in ivs:
                for w in wins:
                    if w[0] == "month":
                        if s.month == w[1] or e.month == w[1]:
                            m[i] = 1
                    elif s <= w[1] and e >= w[0]:
                        m[i] = 1
        return m

    def fuse(self, sig: dict, w: dict) -> np.ndarray:
        cfg = self.cfg
        n = len(self.texts)
        f = np.zeros(n, dtype=np.float32)
        for name, s in sig.items():
            wt = w.get(name, 1.0)
            if wt == 0:
                continue
            if cfg["fusion"] == "rrf":
                f += wt * rrf(s, cfg["rrf_k"])
            else:
                f += wt * zs(s)
        return f

    def search(self, q: str) -> list[Hit]:
        cfg = self.cfg
        sig = self.signals(q)
        w = {"bm25": cfg["w_bm25"], "dense": cfg["w_dense"], "dense2": cfg["w_dense2"]}
        if cfg["prf"] and "bm25" in sig:
            f0 = self.fuse(sig, w)
            top = np.argsort(-f0)[: cfg["prf"]]
            tw: dict[str, float] = {}
            for i in top:
                for tok in set(self.doc_toks[i]):
                    j = self.bm.vocab[tok]
                    tw[tok] = tw.get(tok, 0) + self.bm.W[i, j]
            for tok in self.qt:
                tw.pop(tok, None)
            exp = sorted(tw.items(), key=lambda x: -x[1])[: cfg["prf_terms"]]
            tot = sum(v for _, v in exp) or 1
            weights = {t: 1.0 for t in self.qt}
            for t, v in exp:
                weights[t] = weights.get(t, 0) + cfg["prf_w"] * v / tot * len(self.qt)
            sig["bm25"] = self.bm.score([], weights)
        if cfg["dense_prf"] and "dense" in sig:
            f0 = self.fuse(sig, w)
            top = np.argsort(-f0)[:5]
            qv = self.qv + cfg["dense_prf"] * self.D[top].mean(0)
            qv /= np.linalg.norm(qv)
            sig["dense"] = self.D @ qv
        f = self.fuse(sig, w)
        if cfg["session"]:
            ss = {}
            if cfg["bm25"]:
                ss["bm25"] = self.sbm.score(self.qt)
            if cfg["dense"]:
                if cfg["session_dense"] == "max":
                    ss["dense"] = np.array([sig["dense"][self.turn_sess == i].max() for i in range(len(self.sess_list))])
                else:
                    ss["dense"] = self.SD @ self.qv
            fs = np.zeros(len(self.sess_list), dtype=np.float32)
            for name, s in ss.items():
                if cfg["fusion"] == "rrf":
                    fs += w.get(name, 1) * rrf(s, cfg["rrf_k"])
                else:
                    fs += w.get(name, 1) * zs(s)
            f = f + cfg["session"] * fs[self.turn_sess]
        if cfg["window"] and cfg["window_w"]:
            sm = np.zeros_like(f)
            for d in range(1, cfg["window"] + 1):
                a = np.zeros_like(f)
                a[d:] = f[:-d] * (self.sess_of[d:] == self.sess_of[:-d])
                b = np.zeros_like(f)
                b[:-d] = f[d:] * (self.sess_of[:-d] == self.sess_of[d:])
                sm += a + b
            f = f + cfg["window_w"] * sm / (2 * cfg["window"])
        if cfg["time_w"]:
            tm = self.time_match(q)
            if tm is not None:
                scale = f.std() if cfg["fusion"] != "rrf" else 1.0 / cfg["rrf_k"]
                f = f + cfg["time_w"] * scale * tm
        if cfg["when_boost"] and WHEN_RE.search(q):
            scale = f.std() if cfg["fusion"] != "rrf" else 1.0 / cfg["rrf_k"]
            f = f + cfg["when_boost"] * scale * self.has_time
        order = np.argsort(-f, kind="stable")[: cfg["max_hits"]]
        return self.pack(order, f)

    def pack(self, order, f) -> list[Hit]:
        cfg = self.cfg
        seq = []
        seen = set()
        nb = cfg["neighbours"]
        for i in order:
            cand = [i]
            if nb:
                cand = [j for j in range(i - nb, i + nb + 1) if 0 <= j < len(self.texts) and self.sess_of[j] == self.sess_of[i]]
            for j in cand:
                if j not in seen:
                    seen.add(j)
                    seq.append(j)
        hits = []
        used = 0
        chosen = []
        for j in seq:
            L = len(self.texts[j])
            if used + L > BUDGET:
                if cfg["pack"] == "stop":
                    break
                continue
            used += L
            chosen.append(j)
        rest = [j for j in seq if j not in set(chosen)]
        if cfg["blocks"]:
            # group the packed turns into runs of consecutive turns; a block ranks at its best member
            cs = sorted(chosen)
            blocks = []
            for j in cs:
                if blocks and blocks[-1][-1] == j - 1 and self.sess_of[j] == self.sess_of[j - 1]:
                    blocks[-1].append(j)
                else:
                    blocks.append([j])
            rank = {j: r for r, j in enumerate(chosen)}
            blocks.sort(key=lambda bl: min(rank[j] for j in bl))
            for bl in blocks:
                hits.append(Hit([self.ids[j] for j in bl], "\n".join(self.texts[j] for j in bl),
                                float(max(f[j] for j in bl)), "block"))
        else:
            for j in chosen:
                hits.append(Hit([self.ids[j]], self.texts[j], float(f[j])))
        # hits beyond the budget (for recall@k with large k)
        for j in rest:
            hits.append(Hit([self.ids[j]], self.texts[j], float(f[j])))
        return hits
