"""Plain-text primitives shared by the write and read paths: tokens, stop words, stems, hashes.

Everything here is pure and deterministic; nothing depends on a language model or on locale.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "STOPWORDS",
    "content_terms",
    "normalize_for_hash",
    "split_sentences",
    "stem",
    "tokenize",
]

# A word: letters and digits (no underscore), optionally joined by apostrophes ("o'brien",
# "caroline's"). A number: digits with inner separators ("3.5", "1,000").
_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['’][^\W_]+)*")
# Contraction tails dropped together with their apostrophe ("i'll" -> "i", "caroline's" ->
# "caroline"); "n't" is kept glued on ("don't" -> "dont") so the negation survives.
_DROPPED_TAILS = frozenset({"s", "ll", "re", "ve", "d", "m"})

_STOPWORD_TEXT = """
    a about above after again against ain aint all also am an and any are aren arent as at
    be because been before being below between both but by
    can cannot cant could couldn couldnt
    d did didn didnt do does doesn doesnt doing don dont down during
    each either
    few for from further
    had hadn hadnt has hasn hasnt have haven havent having he her here hers herself him
    himself his how
    i if im in into is isn isnt it its itself ive
    just
    let lets ll
    m ma me might mightn mightnt more most must mustn mustnt my myself
    needn neednt no nor not now
    o of off on once only or other ought our ours ourselves out over own
    re
    s same shall shan shant she should shouldn shouldnt so some such
    t than that thats the their theirs them themselves then there these they theyre this
    those through to too
    under until up upon us
    ve very
    was wasn wasnt we were weren werent what whats when where whether which while who whom
    whose why will with won wont would wouldn wouldnt
    y you youd youll your youre yours yourself yourselves
"""
#: English stop words: the usual function-word list (NLTK's, in spirit), the question words,
#: and contractions as ``tokenize`` writes them ("dont", "im").
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())


def _fold(text: str) -> str:
    # NFKC around the case fold: folding can decompose ("ß" -> "ss", "ΐ" -> three code points)
    # and the outer NFKC recomposes, so folding twice gives what folding once gave.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def tokenize(text: str) -> list[str]:
    """Lower-cased word and number tokens, in order.

    Unicode-aware (NFKC, casefold); possessives and most contractions lose their tail
    ("Caroline's" -> "caroline", "we're" -> "we"), "n't" stays glued ("don't" -> "dont"), other
    apostrophes join ("O'Brien" -> "obrien"); numbers keep inner separators only for decimals
    ("3.5" stays, "1,000" -> "1000").
    """
    tokens: list[str] = []
    for match in _TOKEN_RE.finditer(_fold(text)):
        token = match.group()
        if token[0].isdigit() and ("," in token or "." in token):
            tokens.append(token.replace(",", "") if "." not in token else token)
            continue
        if "'" in token or "’" in token:
            parts = re.split(r"['’]", token)
            if parts[-1] in _DROPPED_TAILS:
                parts = parts[:-1]
            token = "".join(parts)
        if token:
            tokens.append(token)
    return tokens


def content_terms(text: str) -> list[str]:
    """The tokens of ``text`` that are not stop words, in order (repeats kept)."""
    return [t for t in tokenize(text) if t not in STOPWORDS]


def normalize_for_hash(text: str) -> str:
    """A canonical form for exact-duplicate detection.

    NFKC, casefold, apostrophes removed, every other punctuation or symbol character turned
    into a space, whitespace collapsed: "Hello,  World!" and "hello world" agree.
    """
    out: list[str] = []
    for ch in _fold(text):
        if ch in "'’`":
            continue
        category = unicodedata.category(ch)
        if category[0] in "PSZC" or ch.isspace():
            out.append(" ")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


# --- Porter stemmer (M. F. Porter, 1980, with the reference implementation's "bli" and "logi"
# rules). Works on lower-case ASCII words; anything else is returned unchanged.


def _is_consonant(word: str, i: int) -> bool:
    ch = word[i]
    if ch in "aeiou":
        return False
    if ch == "y":
        return i == 0 or not _is_consonant(word, i - 1)
    return True


def _measure(stem_: str) -> int:
    """Porter's m: the number of vowel-consonant sequences in ``stem_``."""
    n, i, size = 0, 0, len(stem_)
    while i < size and _is_consonant(stem_, i):
        i += 1
    while i < size:
        while i < size and not _is_consonant(stem_, i):
            i += 1
        if i >= size:
            break
        n += 1
        while i < size and _is_consonant(stem_, i):
            i += 1
    return n


def _has_vowel(stem_: str) -> bool:
    return any(not _is_consonant(stem_, i) for i in range(len(stem_)))


def _ends_double_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == word[-2] and _is_consonant(word, len(word) - 1)


def _ends_cvc(word: str) -> bool:
    return (
        len(word) >= 3
        and _is_consonant(word, len(word) - 3)
        and not _is_consonant(word, len(word) - 2)
        and _is_consonant(word, len(word) - 1)
        and word[-1] not in "wxy"
    )


_STEP2 = (
    ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"),
    ("izer", "ize"), ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"),
    ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"), ("ator", "ate"),
    ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"),
    ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"), ("logi", "log"),
)  # fmt: skip
_STEP3 = (
    ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"),
    ("ful", ""), ("ness", ""),
)  # fmt: skip
_STEP4 = (
    "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion",
    "ou", "ism", "ate", "iti", "ous", "ive", "ize",
)  # fmt: skip


def _replace_suffix(word: str, rules: tuple[tuple[str, str], ...], min_measure: int) -> str:
    for suffix, replacement in rules:
        if word.endswith(suffix):
            stem_ = word[: -len(suffix)]
            return stem_ + replacement if _measure(stem_) > min_measure else word
    return word


def _step1(word: str) -> str:
    if word.endswith("sses") or word.endswith("ies"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]

    if word.endswith("eed"):
        if _measure(word[:-3]) > 0:
            word = word[:-1]
    else:
        for suffix in ("ed", "ing"):
            if word.endswith(suffix) and _has_vowel(word[: -len(suffix)]):
                word = word[: -len(suffix)]
                if word.endswith(("at", "bl", "iz")):
                    word += "e"
                elif _ends_double_consonant(word) and word[-1] not in "lsz":
                    word = word[:-1]
                elif _measure(word) == 1 and _ends_cvc(word):
                    word += "e"
                break

    if word.endswith("y") and _has_vowel(word[:-1]):
        word = word[:-1] + "i"
    return word


def _step4(word: str) -> str:
    for suffix in _STEP4:
        if word.endswith(suffix):
            stem_ = word[: -len(suffix)]
            if suffix == "ion" and not stem_.endswith(("s", "t")):
                continue
            return stem_ if _measure(stem_) > 1 else word
    return word


def _step5(word: str) -> str:
    if word.endswith("e"):
        stem_ = word[:-1]
        m = _measure(stem_)
        if m > 1 or (m == 1 and not _ends_cvc(stem_)):
            word = stem_
    if word.endswith("ll") and _measure(word) > 1:
        word = word[:-1]
    return word


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Porter stem of an English word ("running" -> "run", "ponies" -> "poni").

    Words are lower-cased first; words of two letters or fewer, and anything that is not plain
    ASCII letters (numbers, accented words), come back lower-cased but otherwise unchanged.
    """
    word = word.lower()
    if len(word) <= 2 or not (word.isascii() and word.isalpha()):
        return word
    word = _step1(word)
    word = _replace_suffix(word, _STEP2, 0)
    word = _replace_suffix(word, _STEP3, 0)
    word = _step4(word)
    return _step5(word)


# A sentence ends at . ! ? (with closing quotes or brackets) before whitespace, or at a line
# break. Common abbreviations and initials do not end one.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\s*\n+\s*")
_ABBREVIATION = re.compile(
    r"(?:\b(?:mr|mrs|ms|dr|prof|st|vs|etc|e\.g|i\.e|approx|no|fig|jr|sr)|\b[A-Za-z])\.$",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, in order; line breaks end sentences too."""
    parts: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        piece = text[start : match.start()].strip()
        if piece and _ABBREVIATION.search(piece) and "\n" not in match.group():
            continue  # "Dr. Smith": not the end of a sentence
        if piece:
            parts.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        parts.append(tail)
    return parts
