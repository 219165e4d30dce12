"""Per-question feature matrices over a conversation's memory units, for hand-set or learned fusion.

A unit is a memory: a turn (default) or a sentence of a turn ("sent" granularity), with
`sources` = [dia_id of its turn] and `text` = what is counted against the budget.
All features are computed from the raw question string only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from common import TIME_RE, Conversation, fmt_date
from keys import query_window, resolve
from models import BM25, QSTOP, tokenize
from pipeline import WHEN_RE, embedder

SPEC_RE = re.compile(r"\b(would|might|likely|could|probably|considered|may be)\b", re.I)
SENT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


@dataclass
class Units:
    turn: np.ndarray  # index of the parent turn
    text: list[str]  # memory text (counted)
    idx_text: list[str]  # BM25 index text
    dense_text: list[str]


def split_sentences(t) -> list[str]:
    parts = [p.strip() for p in SENT_RE.split(t.raw.strip()) if p.strip()]
    if t.caption:
        parts.append(f"[photo: {t.caption}]")
    return parts or [t.raw]


def build_units(conv: Conversation, gran: str, keys: bool) -> Units:
    T = conv.turns
    turn, text, idx, dtext = [], [], [], []
    for i, t in enumerate(T):
        kk = ""
        if keys:
            kk = " ".join(l for _, _, l in resolve(t.raw, t.date))
        pre = f"({fmt_date(t.date)}) {t.speaker}: "
        if gran == "turn":
            pieces = [t.text]
        else:
            pieces = split_sentences(t)
        for p in pieces:
            turn.append(i)
            text.append(pre + p)
            idx.append(f"{fmt_date(t.date)} {t.speaker}: {p} {kk}".strip())
            dtext.append(pre + p)
    return Units(np.array(turn), text, idx, dtext)


FEATS = ["bm25", "dense", "dense2", "prf", "s_bm25", "s_dense", "win", "time", "when_time", "spk_named",
         "other_named", "loglen", "is_q", "photo", "spec_spk", "t_bm25", "t_dense", "nb_prev", "nb_next", "tp1", "tp2", "tn1", "tmaxnb", "cov", "rr_bm25", "rr_dense", "cos", "bm_rel",
         "spec_cos", "spec_bm", "list_sess", "list_spk"]
LIST_RE = re.compile(r"\b(how many|both|all|what (?:\w+ )?(?:activities|things|events|items|books|types|kinds|ways|places|"
                     r"hobbies|pets|instruments|sports|games|countries|cities|changes|symbols|traits|attributes)|in common)\b",
                     re.I)


class ConvFeatures:
    def __init__(self, conv: Conversation, gran="turn", dense="minilm", dense2=None, keys=True, k1=1.2, b=0.75,
                 prf_k=5, prf_terms=10, prf_w=0.5, sent_dense=True):
        self.conv = conv
        T = conv.turns
        self.gran = gran
        U = build_units(conv, gran, keys)
        self.U = U
        self.ids = [T[i].dia_id for i in U.turn]
        self.n = len(U.text)
        self.toks = [tokenize(s) for s in U.idx_text]
        self.bm = BM25(self.toks, k1, b)
        # turn-level BM25 (for sentence units: the parent turn's score is a feature)
        ttexts = [f"{fmt_date(t.date)} {t.speaker}: {t.text} " + (" ".join(l for _, _, l in resolve(t.raw, t.date)) if keys else "")
                  for t in T]
        self.ttoks = [tokenize(s) for s in ttexts]
        self.tbm = BM25(self.ttoks, k1, b)
        self.sess_list = sorted(conv.sessions)
        sidx = {s: i for i, s in enumerate(self.sess_list)}
        self.turn_sess = np.array([sidx[t.session] for t in T])
        self.unit_sess = self.turn_sess[U.turn]
        self.sbm = BM25([sum((self.ttoks[i] for i in conv.sessions[s]), []) for s in self.sess_list], k1, b)
        self.e = embedder(dense) if dense else None
        if dense:
            if gran == "turn":
                self.D = tD = self.e.docs(U.dense_text)
            else:
                tD = self.e.docs([f"({fmt_date(t.date)}) {t.speaker}: {t.text}" for t in T])
                # sentence vectors, or (cheaper ingest) each sentence inherits its turn's vector
                self.D = self.e.docs(U.dense_text) if sent_dense else tD[U.turn]
            self.tD = tD
            M = np.stack([tD[conv.sessions[s]].mean(0) for s in self.sess_list])
            self.SD = M / np.linalg.norm(M, axis=1, keepdims=True)
        self.e2 = embedder(dense2) if dense2 else None
        if dense2:
            self.D2 = self.e2.docs(U.dense_text)
        self.has_time = np.array([1.0 if TIME_RE.search(T[i].raw) else 0.0 for i in U.turn], dtype=np.float32)
        self.speaker = [T[i].speaker for i in U.turn]
        self.loglen = np.log(np.array([len(s) for s in U.text], dtype=np.float32))
        self.is_q = np.array([1.0 if T[i].raw.rstrip().endswith("?") else 0.0 for i in U.turn], dtype=np.float32)
        self.photo = np.array([1.0 if T[i].caption else 0.0 for i in U.turn], dtype=np.float32)
        self.tdates = []
        for i in U.turn:
            t = T[i]
            self.tdates.append([(t.date.date(), t.date.date())] + [(s, e) for s, e, _ in resolve(t.raw, t.date)])
        # time intervals per unit as padded ordinal arrays (vectorised window match)
        mi = max(len(v) for v in self.tdates)
        self.iv_s = np.full((self.n, mi), 10**9, dtype=np.int64)
        self.iv_e = np.full((self.n, mi), -1, dtype=np.int64)
        self.iv_m0 = np.zeros((self.n, mi), dtype=np.int8)
        self.iv_m1 = np.zeros((self.n, mi), dtype=np.int8)
        for i, ivs in enumerate(self.tdates):
            for j, (s, e) in enumerate(ivs):
                self.iv_s[i, j], self.iv_e[i, j] = s.toordinal(), e.toordinal()
                self.iv_m0[i, j], self.iv_m1[i, j] = s.month, e.month
        # neighbours (same session) at the unit level
        nu = self.n
        self.prev = np.full(nu, -1)
        self.next = np.full(nu, -1)
        for j in range(nu):
            if j > 0 and self.unit_sess[j - 1] == self.unit_sess[j]:
                self.prev[j] = j - 1
            if j + 1 < nu and self.unit_sess[j + 1] == self.unit_sess[j]:
                self.next[j] = j + 1
        self.prf_k, self.prf_terms, self.prf_w = prf_k, prf_terms, prf_w
        # turn-level neighbours (same session): previous, the one before, next
        nt = len(T)
        sess = np.array([t.session for t in T])
        self.tprev1 = np.array([i - 1 if i >= 1 and sess[i - 1] == sess[i] else -1 for i in range(nt)])
        self.tprev2 = np.array([i - 2 if i >= 2 and sess[i - 2] == sess[i] else -1 for i in range(nt)])
        self.tnext1 = np.array([i + 1 if i + 1 < nt and sess[i + 1] == sess[i] else -1 for i in range(nt)])
        # first name tokens of both speakers (and the short forms used in questions, e.g. "Mel")
        self.spk_names = {s: {s.lower()} for s in conv.speakers}

    def _named(self, q: str) -> set[str]:
        ql = q.lower()
        return {s for s in self.conv.speakers if re.search(r"\b" + re.escape(s.lower()) + r"\b", ql)}

    def features(self, q: str, qv=None, qv2=None) -> np.ndarray:
        n = self.n
        X = np.zeros((n, len(FEATS)), dtype=np.float32)
        qt = tokenize(q, True, QSTOP) or tokenize(q)
        bm = self.bm.score(qt)
        X[:, 0] = zs(bm)
        if self.e is not None:
            d = self.D @ qv
            X[:, 1] = zs(d)
            X[:, 16] = zs(self.tD @ qv)[self.U.turn]
            X[:, 5] = zs(self.SD @ qv)[self.unit_sess]
        if self.e2 is not None:
            X[:, 2] = zs(self.D2 @ qv2)
        # PRF on BM25, seeded by the BM25 + dense fused ranking
        f0 = X[:, 0] + X[:, 1]
        top = np.argsort(-f0)[: self.prf_k]
        tw: dict[str, float] = {}
        for i in top:
            for tok in set(self.toks[i]):
                tw[tok] = tw.get(tok, 0) + self.bm.W[i, self.bm.vocab[tok]]
        for tok in qt:
            tw.pop(tok, None)
        exp = sorted(tw.items(), key=lambda x: -x[1])[: self.prf_terms]
        tot = sum(v for _, v in exp) or 1
        wts = {t: 1.0 for t in qt}
        for t, v in exp:
            wts[t] = wts.get(t, 0) + self.prf_w * v / tot * len(qt)
        X[:, 3] = zs(self.bm.score([], wts))
        X[:, 4] = zs(self.sbm.score(qt))[self.unit_sess]
        X[:, 15] = zs(self.tbm.score(qt))[self.U.turn]
        base = X[:, 0] + X[:, 1]
        pv = np.where(self.prev >= 0, base[np.maximum(self.prev, 0)], 0)
        nx = np.where(self.next >= 0, base[np.maximum(self.next, 0)], 0)
        X[:, 6] = (pv + nx) / 2
        X[:, 17] = pv
        X[:, 18] = nx
        # turn-level match of the neighbouring turns (an answer often follows the turn that matches)
        tb = zs(self.tbm.score(qt)) + (zs(self.tD @ qv) if self.e is not None else 0)
        tb = tb / 2

        def nb(idx):
            return np.where(idx >= 0, tb[np.maximum(idx, 0)], tb.min())

        p1, p2, n1 = nb(self.tprev1), nb(self.tprev2), nb(self.tnext1)
        X[:, 19] = p1[self.U.turn]
        X[:, 20] = p2[self.U.turn]
        X[:, 21] = n1[self.U.turn]
        X[:, 22] = np.maximum(np.maximum(p1, p2), n1)[self.U.turn]
        # coverage: share of the query's idf mass present in the unit
        qset = [t for t in dict.fromkeys(qt) if t in self.bm.vocab]
        if qset:
            cols = [self.bm.vocab[t] for t in qset]
            idf = self.bm.idf[cols]
            X[:, 23] = ((self.bm.W[:, cols] > 0) * idf).sum(1) / idf.sum()
        X[:, 24] = rr(bm, 10)
        if self.e is not None:
            X[:, 25] = rr(d, 10)
            X[:, 26] = d
        X[:, 27] = bm / max(bm.max(), 1e-9)
        wins = query_window(q)
        if wins:
            m = np.zeros(n, dtype=bool)
            for w in wins:
                if w[0] == "month":
                    m |= ((self.iv_m0 == w[1]) | (self.iv_m1 == w[1])).any(1)
                else:
                    m |= ((self.iv_s <= w[1].toordinal()) & (self.iv_e >= w[0].toordinal())).any(1)
            X[:, 7] = m
        if WHEN_RE.search(q):
            X[:, 8] = self.has_time
        named = self._named(q)
        spec = 1.0 if SPEC_RE.search(q) else 0.0
        if named:
            sp = np.array([1.0 if s in named else 0.0 for s in self.speaker], dtype=np.float32)
            X[:, 9] = sp
            X[:, 10] = 1 - sp
            X[:, 14] = spec * sp
        lst = 1.0 if LIST_RE.search(q) else 0.0
        X[:, 28] = spec * X[:, 26]
        X[:, 29] = spec * X[:, 27]
        X[:, 30] = lst * X[:, 4]
        X[:, 31] = lst * X[:, 9]
        X[:, 11] = self.loglen - 5.0
        X[:, 12] = self.is_q
        X[:, 13] = self.photo
        return X


def rr(x: np.ndarray, k=10) -> np.ndarray:
    order = np.argsort(-x, kind="stable")
    r = np.empty(len(x), dtype=np.float32)
    r[order] = np.arange(1, len(x) + 1)
    return k / (k + r)


def zs(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 1e-9 else 1.0)
