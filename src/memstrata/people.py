"""The people of a conversation and the names they go by, learned from how they address each
other ("hey Kate!" said to the speaker labelled "Emi" makes "Kate" one of Emi's names).

A speaker's label is what the application gave (``speaker``/``actor``); people are often asked
about by other names: a nickname, a real name behind a handle, a spelling variant. The write
path keeps a ``Tally`` per scope (how often each name was said to whom, and in which messages);
``people`` decides which names are aliases: a name said to one person at least twice, and mostly
to that person. ``mentions`` reads where a question names which speakers, by label, alias or a
spelling variant of either (``same_name``): who it names (``named_speakers``), and what it asks
of them (``without_names``), come from that one reading. Everything here is pure.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from memstrata.ports import StoredSettings
from memstrata.results import Alias, Person
from memstrata.text import STOPWORDS
from memstrata.types import Scope

#: Words that open a message addressed to someone: "hey Kate", "thanks so much Liza".
_GREETING = (
    r"(?:he+y+|hi+|hello+|hiya|heya|yo|morning|good\s+(?:morning|night|evening|afternoon|luck)|"
    r"gm|gn|night|nite|thanks|thank\s+you|thx|ty|bye+|see\s+you|later|love\s+you|miss\s+you|"
    r"congrats|congratulations|happy\s+birthday|sorry|welcome|aw+|oh+|omg|wow|ha(?:ha)+|lol|"
    r"ok|okay|dear|hugs?|cheers|sweet|nice|yay)"
)
_NAME = r"([A-Z][^\W\d_]{1,19})"
_OPENING = re.compile(
    r"^\W*" + _GREETING + r"(?:\s+(?:so\s+much|again|a\s+lot|lots|too))?[\s,~-]+" + _NAME + r"\b",
    re.IGNORECASE,
)
#: A name after a comma at the end: "That sounds amazing, Kevin!".
_CLOSING = re.compile(r",\s*" + _NAME + r"[\s!.?~)(:;<3DPp-]*$")
#: Words that follow a greeting without being anybody's name.
_NOT_NAME_TEXT = (
    "there guys guy girl girls girlie babe baby dude man bro sis mate buddy friend friends "
    "love honey sweetie darling dear team folks yall everyone everybody all you again so "
    "much lol haha omg yes no ok okay btw sure yeah yep wow thanks well good great bye "
    "indeed glad true totally exactly definitely absolutely agreed cool awesome amazing "
    "right please"
)
NOT_NAMES = frozenset(_NOT_NAME_TEXT.split())
#: How many message ids an alias keeps as its sources.
MAX_SOURCES = 5
#: How many names said to one speaker the tally keeps: those said most (an alias is said again
#: and again; a name in "hey Sam" said once to each of a hundred people is nobody's), so that
#: what an add reads and writes stops growing with the scope.
MAX_NAMES = 32
#: How many of the messages after one count as said while it was (``observe``): a name in it
#: that is one of their speakers' labels is that speaker's.
NEARBY = 3
#: A name said to one person this many times as often as to anyone else is theirs, however
#: often it was said to others in all: in a scope of many chats, a common name said once or
#: twice to each of many people makes it nobody's by its share alone (among 1,000,000 chat
#: messages, "Kate" said 21 times to the person it names, and 60 times to 29 others, at most 5
#: to one).
DOMINANCE = 4.0


@functools.lru_cache(maxsize=65_536)
def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _is_name(word: str) -> bool:
    folded = _fold(word)
    return word[:1].isupper() and folded not in STOPWORDS and folded not in NOT_NAMES


def addressed_names(text: str) -> list[str]:
    """The names ``text`` addresses its reader by: after an opening greeting or thanks, or
    after a comma at its very end. Capitalised words only, never a common word."""
    out: list[str] = []
    for pattern in (_OPENING, _CLOSING):
        match = pattern.search(text)
        if match is not None:
            word = match.group(1)
            if _is_name(word) and word not in out:
                out.append(word)
    return out


@functools.lru_cache(maxsize=65_536)
def _skeleton(folded: str) -> str:
    """A name's consonants in order, repeats merged: spelling variants often share it."""
    out: list[str] = []
    for ch in folded:
        if ch in "aeiouy" or not ch.isalpha():
            continue
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def same_name(a: str, b: str) -> bool:
    """Whether two written names are the same name: equal once case and accents are folded, or,
    for names of five letters or more, with the same first letter and consonant skeleton
    ("Muhhamed" and "Muhammad")."""
    x, y = _fold(a.strip()), _fold(b.strip())
    if x == y:
        return bool(x)
    if min(len(x), len(y)) < 5 or x[0] != y[0]:
        return False
    return _skeleton(x) == _skeleton(y)


@dataclass(frozen=True, slots=True)
class Tally:
    """What the write path has seen of a scope's people: messages per speaker, the names said
    to each speaker (``calls[speaker][folded name] = Alias``), and the last speakers in order
    (the next message is most likely addressed to them)."""

    messages: Mapping[str, int] = field(default_factory=dict)
    calls: Mapping[str, Mapping[str, Alias]] = field(default_factory=dict)
    recent: tuple[str, ...] = ()

    def dumps(self) -> str:
        calls = {
            speaker: {key: [a.name, a.count, list(a.sources)] for key, a in names.items()}
            for speaker, names in self.calls.items()
        }
        return json.dumps(
            {"messages": dict(self.messages), "calls": calls, "recent": list(self.recent)},
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str) -> Tally:
        data = json.loads(text)
        calls = {  # as ``dumps`` wrote it: JSON gives back the strings and counts as they were
            speaker: {key: Alias(v[0], v[1], tuple(v[2])) for key, v in names.items()}
            for speaker, names in data.get("calls", {}).items()
        }
        messages = {str(k): int(v) for k, v in data.get("messages", {}).items()}
        return cls(messages, calls, tuple(str(s) for s in data.get("recent", ())))


def _addressee(
    speaker: str, before: Sequence[str], after: tuple[str | None, str | None]
) -> str | None:
    """Whom a message is most likely addressed to: the last other speaker before it, else the
    next one after it (``after``: who speaks next, and next after them, ``_speaking_next``)."""
    for other in reversed(before):
        if other != speaker:
            return other
    first, second = after
    return first if first != speaker else second


def _speaking_next(
    messages: Sequence[tuple[str, str | None, str]],
) -> list[tuple[str | None, str | None]]:
    """For each message, who speaks first after it and who first after it is someone else: the
    next speaker other than any one person is one of the two. One pass, from the end."""
    out: list[tuple[str | None, str | None]] = [(None, None)] * len(messages)
    first: str | None = None
    second: str | None = None
    for i in range(len(messages) - 1, -1, -1):
        out[i] = (first, second)
        speaker = messages[i][1]
        if speaker and speaker != first:
            first, second = speaker, first
    return out


def observe(tally: Tally, messages: Sequence[tuple[str, str | None, str]]) -> Tally:
    """The tally after ``messages`` (``(id, speaker, text)`` in the order they were said)."""
    counts = dict(tally.messages)
    calls = {speaker: dict(names) for speaker, names in tally.calls.items()}
    for names in calls.values():  # a tally kept before the bound is brought within it
        _bound(names)
    recent = list(tally.recent)
    following = _speaking_next(messages)
    for i, (message_id, speaker, text) in enumerate(messages):
        if not speaker:
            continue
        counts[speaker] = counts.get(speaker, 0) + 1
        addressee = _addressee(speaker, recent, following[i])
        # A name that is the label of someone who spoke just before or speaks just after is
        # theirs: in a group, "hey Kate" said after Aiko spoke is said to the Kate who answers.
        present = {speaker, *recent, *(s for _, s, _ in messages[i + 1 : i + 1 + NEARBY] if s)}
        for name in addressed_names(text):
            if addressee is None or any(same_name(name, s) for s in (addressee, *present)):
                continue
            names = calls.setdefault(addressee, {})
            key = _fold(name)
            seen = names.get(key)
            if seen is None:
                names[key] = Alias(name, 1, (message_id,))
                _bound(names, key)
            else:
                sources = seen.sources + ((message_id,) if len(seen.sources) < MAX_SOURCES else ())
                names[key] = Alias(seen.name, seen.count + 1, sources)
        if speaker in recent:
            recent.remove(speaker)
        recent = [*recent, speaker][-4:]
    return Tally(counts, calls, tuple(recent))


def _bound(names: dict[str, Alias], newest: str | None = None) -> None:
    """Keep ``MAX_NAMES`` of ``names``: the least said, the earliest first, make room (never
    ``newest``, the name just said)."""
    while len(names) > MAX_NAMES:
        del names[min((k for k in names if k != newest), key=lambda k: names[k].count)]


def people(
    tally: Tally, *, min_count: int = 2, share: float = 0.6, dominance: float = DOMINANCE
) -> list[Person]:
    """The scope's speakers, most talkative first, each with the names said to them at least
    ``min_count`` times, and either in at least ``share`` of the times anybody was called so
    or ``dominance`` times as often as to anyone else."""
    totals: dict[str, int] = {}
    # The two largest counts of each name said to one speaker.
    most: dict[str, tuple[int, int]] = {}
    for names in tally.calls.values():
        for key, alias in names.items():
            totals[key] = totals.get(key, 0) + alias.count
            first, second = most.get(key, (0, 0))
            most[key] = (
                (alias.count, first) if alias.count > first else (first, max(second, alias.count))
            )

    def theirs(key: str, count: int) -> bool:
        first, second = most[key]
        runner_up = second if count == first else first
        return count >= min_count and (
            count >= share * totals[key] or count >= dominance * runner_up
        )

    out = []
    for speaker, said in tally.messages.items():
        names = tally.calls.get(speaker, {})
        aliases = sorted(
            (a for key, a in names.items() if theirs(key, a.count)),
            key=lambda a: (-a.count, a.name),
        )
        out.append(Person(speaker, tuple(aliases), said))
    return sorted(out, key=lambda p: (-p.messages, p.name))


_WORD = re.compile(r"[^\W\d_]+")


def called(known: Sequence[Person]) -> list[tuple[str, tuple[str, ...]]]:
    """Each person's label, and the names a question may call them by: their label and
    aliases, and the first word of a label of several words ("Kate" for "Kate Miller") when it
    is written as a name and no other person's name begins with it."""
    firsts = Counter(
        first
        for person in known
        for first in {_fold(words[0]) for words in map(_WORD.findall, person.names) if words}
    )
    out = []
    for person in known:
        words = _WORD.findall(person.name)
        given = len(words) > 1 and _is_name(words[0]) and firsts[_fold(words[0])] == 1
        out.append((person.name, (*person.names, words[0]) if given else person.names))
    return out


@dataclass(frozen=True, slots=True)
class Mention:
    """Where a question names someone: the person labelled ``label``, by the words at
    ``query[start:end]`` (their possessive, "'s", included)."""

    label: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Names:
    """The names of a set of people, folded for reading questions (``_names``): names of
    several words by their words, names of one word by the word, and those of five letters or
    more by their first letter and skeleton (``same_name``); each with the labels it names."""

    phrases: Mapping[tuple[str, ...], tuple[str, ...]]
    longest: int
    words: Mapping[str, tuple[str, ...]]
    shapes: Mapping[tuple[str, str], tuple[str, ...]]


_K = TypeVar("_K", str, tuple[str, ...], tuple[str, str])


@functools.lru_cache(maxsize=64)
def _names(known: tuple[tuple[str, tuple[str, ...]], ...]) -> _Names:
    """``known`` (each person's label and names) read for questions, once per process for each
    set of people a search meets (the 64 most recent: as large as their names, about as large
    as ``known`` itself)."""
    phrases: dict[tuple[str, ...], list[str]] = {}
    words: dict[str, list[str]] = {}
    shapes: dict[tuple[str, str], list[str]] = {}
    for label, names in called([Person(name, tuple(Alias(n, 0, ()) for n in others), 0)
                                for name, others in known]):  # fmt: skip
        for name in names:
            parts = tuple(_fold(part) for part in _WORD.findall(name))
            # A name of one word names only as that whole word ("user_1" is nobody's "user").
            if len(parts) == 1 and parts[0] == _fold(name.strip()):
                _add(words, parts[0], label)
                if len(parts[0]) >= 5:
                    _add(shapes, (parts[0][0], _skeleton(parts[0])), label)
            elif len(parts) > 1:
                _add(phrases, parts, label)
    return _Names(
        phrases={k: tuple(v) for k, v in phrases.items()},
        longest=max(map(len, phrases), default=0),
        words={k: tuple(v) for k, v in words.items()},
        shapes={k: tuple(v) for k, v in shapes.items()},
    )


def _add(found: dict[_K, list[str]], key: _K, label: str) -> None:
    labels = found.setdefault(key, [])
    if label not in labels:
        labels.append(label)


#: A possessive after a name: "Kate's", "Muhammad’s".
_POSSESSIVE = re.compile(r"['’]s\b")


def mentions(query: str, known: Sequence[Person]) -> list[Mention]:
    """Where ``query`` names the ``known`` people, in its order: by a name they are ``called``,
    or by a spelling variant of one (``same_name``). A name of several words must appear whole,
    and a word within it ("Bo" in "Bo Chen") names nobody alone; the longest name wins where
    two overlap. Only a word written as a name (capitalised, not a common word) may be a
    variant, and only when it is nobody's name exactly: "people" is not "Paola", and "Paola"
    is not "Paulo", nor "Daniela" "Daniel", when both are known."""
    names = _names(tuple((p.name, tuple(a.name for a in p.aliases)) for p in known))
    found = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(query)]
    folded = [_fold(word) for _, _, word in found]
    taken = [False] * len(found)
    spans: list[tuple[int, int, tuple[str, ...]]] = []  # (first word, past the last, labels)
    for size in range(min(names.longest, len(found)), 1, -1):
        for i in range(len(found) - size + 1):
            labels = names.phrases.get(tuple(folded[i : i + size]))
            if labels and not any(taken[i : i + size]):
                taken[i : i + size] = [True] * size
                spans.append((i, i + size, labels))
    for i, (word, (_, _, raw)) in enumerate(zip(folded, found, strict=True)):
        if taken[i]:
            continue
        labels = names.words.get(word)
        if labels is None and len(word) >= 5 and _is_name(raw):
            labels = names.shapes.get((word[0], _skeleton(word)))
        if labels:
            spans.append((i, i + 1, labels))
    out: list[Mention] = []
    for first, last, labels in sorted(spans):
        end = found[last - 1][1]
        possessive = _POSSESSIVE.match(query, end)
        end = possessive.end() if possessive else end
        out.extend(Mention(label, found[first][0], end) for label in labels)
    return out


def named_speakers(query: str, known: Sequence[Person]) -> set[str]:
    """The speakers (labels) that ``query`` names (``mentions``)."""
    return {m.label for m in mentions(query, known)}


def without_names(query: str, known: Sequence[Person]) -> str:
    """``query`` without the names of the ``known`` people it names (``mentions``), each with
    its possessive: what it asks of them ("What are Kate's hobbies?" → "What are hobbies?"). A
    search among what they said needs no name, and a name pulls a text's vector towards every
    text that says it (a greeting, a namesake)."""
    return _cut(query, mentions(query, known))


def _cut(query: str, found: Sequence[Mention]) -> str:
    """``query`` without the spans of ``found`` (in order), its spaces made single."""
    pieces, at = [], 0
    for mention in found:
        if mention.start >= at:
            pieces.append(query[at : mention.start])
            at = mention.end
    pieces.append(query[at:])
    return " ".join(" ".join(pieces).split())


def key(scope: Scope) -> str:
    """Where a scope's tally is kept among the store's settings."""
    return "people:" + json.dumps(list(scope.key))


def stored(store: StoredSettings, scope: Scope) -> list[Person]:
    """The people of exactly ``scope``, as the write path has tallied them."""
    raw = store.get_setting(key(scope))
    return list(_people_of(raw)) if raw else []


@functools.lru_cache(maxsize=64)
def _people_of(raw: str) -> tuple[Person, ...]:
    """A stored tally's people, read once per process for each version of the tally (the 64
    most recent: a tally is a few kB, a large scope's up to about a MB)."""
    return tuple(people(Tally.loads(raw)))


def aliases(known: Sequence[Person]) -> dict[str, tuple[str, ...]]:
    """Each speaker's other names (for the read path: a question may name them so)."""
    return {p.name: tuple(a.name for a in p.aliases) for p in known if p.aliases}


def named(query: str, speakers: Sequence[str], others: Mapping[str, Sequence[str]]) -> list[str]:
    """The speakers ``query`` names, by label or by one of their other names (``same_name``)."""
    found = named_speakers(query, _as_people(speakers, others))
    return [s for s in speakers if s in found]


def names_in(
    query: str, speakers: Sequence[str], others: Mapping[str, Sequence[str]]
) -> tuple[list[str], str]:
    """The speakers ``query`` names (as ``named``: in the order of ``speakers``) and ``query``
    without their names (``without_names``; as it is when it names nobody), from one reading
    among every speaker."""
    found = mentions(query, _as_people(speakers, others))
    labels = {m.label for m in found}
    return [s for s in speakers if s in labels], _cut(query, found) if found else query


def _as_people(speakers: Sequence[str], others: Mapping[str, Sequence[str]]) -> list[Person]:
    return [Person(s, tuple(Alias(n, 0, ()) for n in others.get(s, ())), 0) for s in speakers]
