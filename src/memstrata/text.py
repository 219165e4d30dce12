"""Plain-text primitives shared by the write and read paths: tokens, stop words, stems, hashes,
and the folded form that pattern matching reads (``fold_for_matching``).

Everything here is pure and deterministic; nothing depends on a language model or on locale.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "STOPWORDS",
    "Folded",
    "cjk_grams",
    "content_terms",
    "fold_accents",
    "fold_for_matching",
    "is_cjk",
    "keyword_form",
    "normalize_for_hash",
    "split_sentences",
    "stem",
    "tokenize",
    "words",
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


# --- Scripts written without spaces: Chinese and Japanese are searched by character bigrams.

#: Han ideographs (with the iteration mark), hiragana and katakana: the scripts a keyword
#: search splits into character pairs. Hangul is written with spaces and stays in words.
_CJK_RANGES = (
    (0x3005, 0x3007), (0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x3134F),
)  # fmt: skip
_HAN_RANGES = ((0x3005, 0x3007), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
               (0x20000, 0x3134F))  # fmt: skip
_CJK_RUN = re.compile("([" + "".join(f"{chr(a)}-{chr(b)}" for a, b in _CJK_RANGES) + "]+)")


def _in(ranges: tuple[tuple[int, int], ...], ch: str) -> bool:
    code = ord(ch)
    return any(a <= code <= b for a, b in ranges)


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a Chinese or Japanese character (written without spaces)."""
    return _in(_CJK_RANGES, ch)


def cjk_grams(run: str) -> list[str]:
    """The search tokens of a run of Chinese or Japanese characters: each pair of neighbours
    ("东京塔" -> "东京", "京塔"), and each Han character alone too (a one-character word, "猫",
    is common); a run of one character is itself."""
    if len(run) == 1:
        return [run]
    out: list[str] = []
    for i, ch in enumerate(run):
        if _in(_HAN_RANGES, ch):
            out.append(ch)
        if i + 1 < len(run):
            out.append(run[i : i + 2])
    return out


def keyword_form(text: str) -> str:
    """``text`` as a full-text index that splits words at spaces should receive it: each run of
    Chinese or Japanese characters replaced by its ``cjk_grams``, space-separated; other text
    unchanged. The same function prepares stored texts and queries."""
    if not _CJK_RUN.search(text):
        return text
    return _CJK_RUN.sub(lambda m: " " + " ".join(cjk_grams(m.group())) + " ", text)


def asked_words(words: Iterable[str]) -> list[str]:
    """The words a keyword search asks for first among a query's ``words``: its stop words left
    out (they match most of a store and rank little), unless they are all it has."""
    chosen = list(words)
    content = [w for w in chosen if w not in STOPWORDS]
    return content or chosen


@lru_cache(maxsize=65536)
def fold_accents(word: str) -> str:
    """``word`` with the accents of Latin letters taken off ("café" -> "cafe", "São" -> "Sao");
    letters of other scripts keep theirs (Japanese voicing marks are part of the letter)."""
    if word.isascii():
        return word
    out = []
    for ch in word:
        if ord(ch) < 0x250 or 0x1E00 <= ord(ch) <= 0x1EFF:
            ch = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
        out.append(ch)
    return "".join(out)


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens, in order, as written (accents kept, a run of
    Chinese or Japanese characters one word): what names are keyed by (``graph.entity_key``).

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


#: French elided articles and pronouns before a word ("l'année", "qu'il", "j'ai"): a search
#: token is the word without them.
_ELISION = re.compile(r"(?<![\w'’])(?:[ldjcmnst]|qu|jusqu|lorsqu|puisqu)['’](?=[^\W\d_])", re.I)


def tokenize(text: str) -> list[str]:
    """The search tokens of ``text``, in order: its ``words`` with the accents of Latin
    letters folded ("Café" -> "cafe"), and each run of Chinese or Japanese characters split
    into ``cjk_grams`` ("我喜欢咖啡" -> "我", "我喜", "喜", "喜欢", "欢", "欢咖", "咖", "咖啡",
    "啡"); a French elided article or pronoun is dropped ("l'année" -> "annee"). Queries and
    documents go through the same function, so they meet.
    """
    tokens: list[str] = []
    for word in words(_ELISION.sub("", text) if "'" in text or "’" in text else text):
        if not word.isascii():
            word = fold_accents(word)
            if _CJK_RUN.search(word):
                for piece in _CJK_RUN.split(word):
                    if not piece:
                        continue
                    tokens.extend(cjk_grams(piece) if is_cjk(piece[0]) else [piece])
                continue
        tokens.append(word)
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


# --- The folded form pattern matching reads: a text with its disguises taken off.

#: Letters of other scripts (Greek, Cyrillic, Armenian, IPA small capitals) that pass for a
#: Latin letter, by the letter they pass for. Capitals and small letters are listed apart
#: because they can differ (Greek capital eta looks like H, its small letter like n).
_LOOKALIKES = {
    "A": "\u0410\u0391", "B": "\u0412\u0392", "C": "\u0421\u03f9", "E": "\u0415\u0395",
    "H": "\u041d\u0397", "I": "\u0406\u0399\u04c0", "J": "\u0408\u037f", "K": "\u041a\u039a",
    "M": "\u041c\u039c", "N": "\u039d", "O": "\u041e\u039f", "P": "\u0420\u03a1",
    "S": "\u0405", "T": "\u0422\u03a4", "X": "\u0425\u03a7", "Y": "\u04ae\u03a5\u0423",
    "Z": "\u0396",
    "a": "\u0430\u03b1\u0251\u1d00", "b": "\u0299\u044c", "c": "\u0441\u03f2\u1d04",
    "d": "\u0501\u1d05", "e": "\u0435\u03b5\u0454\u1d07", "f": "\ua730",
    "g": "\u0261\u0262", "h": "\u04bb\u029c\u043d", "i": "\u0456\u03b9\u0131\u0269\u026a",
    "j": "\u0458\u1d0a", "k": "\u03ba\u043a\u1d0b", "l": "\u04cf\u029f", "m": "\u043c\u1d0d",
    "n": "\u03b7\u043f\u0274", "o": "\u043e\u03bf\u03c3\u1d0f\u0585", "p": "\u0440\u03c1\u1d18",
    "q": "\u051b", "r": "\u0433\u0280", "s": "\u0455\ua731", "t": "\u03c4\u0442\u1d1b",
    "u": "\u03c5\u1d1c\u057d", "v": "\u03bd\u0475\u1d20", "w": "\u051d\u03c9\u1d21",
    "x": "\u0445\u03c7", "y": "\u0443\u03b3\u028f", "z": "\u1d22",
    "'": "\u2018\u2019\u201b\u02bc\u0060\u00b4\u2032",
    '"': "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033",
    "-": "\u2010\u2011\u2012\u2013\u2014\u2015\u2212",
}  # fmt: skip
_LOOKALIKE = {ch: latin for latin, chars in _LOOKALIKES.items() for ch in chars}
_SMALL_LOOKALIKE = {ch: latin for ch, latin in _LOOKALIKE.items() if not latin.isupper()}
#: Invisible letters (Hangul fillers) that some texts use to split words.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0")
_LINE_BREAKS = frozenset("\n\r\v\f\x85\u2028\u2029")
#: ASCII characters that folding drops (control characters) or tag-like oddities.
_ASCII_ODD = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_ASCII_SPACES = str.maketrans({"\t": " ", "\r": "\n", "\v": "\n", "\f": "\n", "`": "'"})
#: Digits that stand for letters inside a word ("1gn0re"), by the letter.
_LEET = str.maketrans("0134578", "oieastb")
_LEET_WORD = re.compile(r"[a-z0-9]{4,}")
# One letter standing alone, then at least three more, each after one to three separators:
# "i g n o r e", "s.y.s.t.e.m".
_SPACED = re.compile(r"\b[^\W\d_]\b(?:[^\w\n]{1,3}[^\W\d_]\b){3,}")
_DIGIT = re.compile(r"\d")
_SPACED_PART = re.compile(r"([^\W\d_])([^\w\n]{0,3})")


@dataclass(frozen=True, slots=True)
class Folded:
    """A text folded for matching, and where each of its characters came from."""

    text: str
    #: ``origin[i]``: the index in the original text of folded character ``i``.
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that folded characters ``start:end`` came from."""
        if not self.origin or end <= start:
            return (0, 0)
        return self.origin[start], self.origin[end - 1] + 1


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """One character as matching reads it (``""`` when it is invisible)."""
    code = ord(ch)
    if 0xE0020 <= code <= 0xE007E:  # a tag character: the ASCII character it hides
        return chr(code - 0xE0000).casefold()
    if ch in _LINE_BREAKS:
        return "\n"
    category = unicodedata.category(ch)
    if ch.isspace() or category == "Zs" or ch == "\u2800":
        return " "
    if category in ("Cf", "Cc", "Cs", "Co", "Cn") or ch in _INVISIBLE:
        return ""
    out = []
    for part in unicodedata.normalize("NFKD", ch):
        if unicodedata.category(part) in ("Mn", "Me"):
            continue  # accents and other marks: "é" is read as "e"
        part = _LOOKALIKE.get(part, part).casefold()
        out.append("".join(_SMALL_LOOKALIKE.get(p, p) for p in part))
    return "".join(out)


def _unspace(run: str) -> str:
    """A spaced-out run with its letters joined: the separator used most often joins the
    letters of a word, any other separator parts two words ("i g n o r e  a l l")."""
    parts = _SPACED_PART.findall(run)
    common = Counter(sep for _, sep in parts[:-1]).most_common(1)[0][0]
    return "".join(letter + ("" if sep == common or not sep else " ") for letter, sep in parts)


def fold_for_matching(text: str) -> Folded:
    """``text`` as a pattern matcher should read it, whatever disguise it wears.

    Compatibility forms are unfolded (NFKD: full-width and mathematical letters, ligatures),
    accents and other marks dropped, invisible format characters (zero-width spaces, soft
    hyphens, direction marks) removed, tag characters read as the ASCII they hide, Greek and
    Cyrillic look-alikes read as the Latin letters they pass for, case folded, curly quotes and
    dashes made plain, every space one space and every line break ``"\\n"``. Inside a word of
    four or more characters, digits that stand for letters are read as those letters
    ("1gn0re" is "ignore"), and letters spaced out one by one are joined ("i g n o r e").
    """
    if text.isascii() and not _ASCII_ODD.search(text):  # the common case, one step
        folded = text.lower().translate(_ASCII_SPACES)
        origin: list[int] = list(range(len(text)))
    else:
        chars: list[str] = []
        origin = []
        for i, ch in enumerate(text):
            for part in _fold_char(ch):
                chars.append(part)
                origin.append(i)
        folded = "".join(chars)

    def leet(match: re.Match[str]) -> str:
        word = match.group()
        letters = sum(c.isalpha() for c in word)
        return word.translate(_LEET) if 2 <= letters < len(word) else word

    if _DIGIT.search(folded):
        folded = _LEET_WORD.sub(leet, folded)  # same length: the origins still hold
    pieces: list[str] = []
    kept: list[int] = []
    last = 0
    for match in _SPACED.finditer(folded):
        pieces.append(folded[last : match.start()])
        kept += origin[last : match.start()]
        joined = _unspace(match.group())
        pieces.append(joined)
        letters = iter(
            origin[match.start() + i] for i, c in enumerate(match.group()) if c.isalpha()
        )
        at = origin[match.start()]
        for c in joined:
            at = at if c == " " else next(letters)  # a space between words: the letter before
            kept.append(at)
        last = match.end()
    if not pieces:
        return Folded(folded, tuple(origin))
    pieces.append(folded[last:])
    kept += origin[last:]
    return Folded("".join(pieces), tuple(kept))
