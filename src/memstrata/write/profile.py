"""A person's profile from what they plainly say about themselves ("I live in Lisbon", "my sister
is Ana", "I'm allergic to peanuts"), without a model, and from the relations of the facts a
model extracts (``relation_statement``: ``lives_in``, ``has_sister``, ``allergic_to``, …):
MemoryBank's user portrait, kept sourced.

``statements`` reads one message by a rule table; ``observe`` folds a batch of messages into a
per-scope ``Ledger``; ``profiles`` turns the ledger into each person's current traits and their
history. A trait that holds one value at a time (where someone lives, their job) is superseded
when a later message says otherwise: the old value keeps its sources and gains an end date, so a
move is an update, never a lost fact. Traits that gather (likes, allergies, goals) accumulate.
A profile is a portrait, not an archive (the memories keep every message): each attribute keeps
its ``HISTORY`` latest superseded values, and a gathering one its ``VALUES`` best-sourced current
ones, so what a person's ledger costs to read and write stops growing with the years.
Everything here is pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from memstrata.results import Profile, Trait

#: A value runs to the end of its clause.
_VALUE = (
    r"(?P<value>[^.,!?;:()\n]{2,60}?)(?=\s+(?:and|but|because|so|since|which|when|with|though|"
    r"now|too|it's|it is)\b|[.,!?;:()\n]|$)"
)
_RELATIVES = (
    "sister|brother|mom|mother|dad|father|wife|husband|partner|son|daughter|boyfriend|"
    "girlfriend|grandma|grandmother|grandpa|grandfather|aunt|uncle|cousin|fiancee?|best friend"
)
_NAME = r"(?P<value>[A-Z][^\W\d_]+(?: [A-Z][^\W\d_]+)?)"
_DIETS = (
    r"vegan|vegetarian|pescatarian|gluten[- ]free|lactose[- ]intolerant|on a (?:keto|paleo) diet"
)
_DAYS = (
    r"morning|evening|night|day|week|weekend|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday"
)
_DISLIKE = r"hate|can't stand|cannot stand|dislike|don't like|do not like"

#: The rule table: attribute, whether it holds one value at a time, pattern.
RULES: tuple[tuple[str, bool, re.Pattern[str]], ...] = tuple(
    (attribute, single, re.compile(pattern, re.IGNORECASE if attribute != "family" else 0))
    for attribute, single, pattern in (
        ("home", True, r"\bI (?:now |currently |still )?live in " + _VALUE),
        ("home", True, r"\bI(?:'ve| have)? (?:just |recently )?moved to " + _VALUE),
        ("origin", True, r"\bI(?:'m| am) (?:originally )?from " + _VALUE),
        ("origin", True, r"\bI grew up in " + _VALUE),
        ("job", True, r"\bI work as (?:an? )?" + _VALUE),
        ("job", True, r"\bI(?:'m| am) (?:now )?working as (?:an? )?" + _VALUE),
        ("employer", True, r"\bI (?:now )?work (?:at|for) " + _VALUE),
        (
            "family",
            False,
            r"\b[Mm]y (?P<relation>" + _RELATIVES + r")(?:'s name is| is called|,)? " + _NAME,
        ),
        ("allergy", False, r"\bI(?:'m| am) (?:very |really |super )?allergic to " + _VALUE),
        ("diet", True, r"\bI(?:'m| am) (?:a |now )?(?P<value>" + _DIETS + r")\b"),
        ("favourite", False, r"\b[Mm]y fav(?:ou?rite)? (?P<what>[a-z]+(?: [a-z]+)?) is " + _VALUE),
        ("likes", False, r"\bI (?:really |absolutely |just )?(?:love|enjoy|adore) " + _VALUE),
        ("dislikes", False, r"\bI (?:really )?(?:" + _DISLIKE + r") " + _VALUE),
        ("goal", False, r"\b[Mm]y (?:main |big )?(?:goal|dream|plan) is to " + _VALUE),
        ("routine", False, r"\b(?:[Ee]very|[Ee]ach) (?P<when>" + _DAYS + r") I " + _VALUE),
    )
)
#: Values that say nothing about the person ("I love it", "I love that you came").
_EMPTY_TEXT = (
    "it that this you them him her those these how when what where your the way seeing hearing "
    "reading to"
)
_EMPTY = frozenset(_EMPTY_TEXT.split())
#: How many message ids a trait keeps as its sources.
MAX_SOURCES = 5
#: How many superseded values an attribute of a person keeps (the latest).
HISTORY = 8
#: How many current values a gathering attribute of a person keeps: those said in the most
#: messages, the earliest learned leaving first among equals.
VALUES = 32


@dataclass(frozen=True, slots=True)
class Statement:
    """What one message says about its speaker: ``family:sister = Ana``, ``home = Lisbon``."""

    attribute: str
    value: str
    single: bool


def statements(text: str) -> list[Statement]:
    """What ``text``, said in the first person, states about its speaker."""
    out: list[Statement] = []
    for attribute, single, pattern in RULES:
        for match in pattern.finditer(text):
            value = " ".join(match.group("value").split()).strip(" '\"")
            if not value or value.split()[0].lower() in _EMPTY:
                continue
            groups = match.groupdict()
            name = attribute
            if groups.get("relation"):
                name, single = f"family:{groups['relation'].lower()}", True
            elif groups.get("what"):
                name, single = f"favourite:{groups['what'].lower()}", True
            elif groups.get("when"):
                name = f"routine:{groups['when'].lower()}"
            found = Statement(name, value, single)
            if found not in out:
                out.append(found)
    return out


#: What an extraction model's relations (``[subject, predicate, object]``, the predicate in
#: snake_case) state about their subject: the trait, and whether it holds one value at a time.
PREDICATES: Mapping[str, tuple[str, bool]] = {
    **dict.fromkeys(("lives_in", "resides_in", "moved_to", "home", "home_city"), ("home", True)),
    **dict.fromkeys(
        ("is_from", "comes_from", "grew_up_in", "origin", "hometown"), ("origin", True)
    ),
    **dict.fromkeys(("works_as", "job", "job_title", "occupation", "profession"), ("job", True)),
    **dict.fromkeys(("works_at", "works_for", "employed_by", "employer"), ("employer", True)),
    **dict.fromkeys(("allergic_to", "is_allergic_to", "allergy"), ("allergy", False)),
    **dict.fromkeys(("diet", "follows_diet"), ("diet", True)),
    **dict.fromkeys(
        ("likes", "loves", "enjoys", "prefers", "hobby", "has_hobby"), ("likes", False)
    ),
    **dict.fromkeys(("dislikes", "hates"), ("dislikes", False)),
    **dict.fromkeys(("goal", "wants_to", "plans_to", "aims_to", "dreams_of"), ("goal", False)),
}
_RELATIVE_PREDICATE = re.compile(
    r"(?:has_)?(?P<relation>" + _RELATIVES.replace(" ", "_") + r")(?:_is|_named|_called)?"
)


def relation_statement(predicate: str, value: str) -> Statement | None:
    """What one relation of a fact states about its subject (``None``: nothing the profile
    keeps): ``lives_in Lisbon`` is ``home = Lisbon``, ``has_sister Ana`` is
    ``family:sister = Ana``."""
    key = "_".join(predicate.casefold().replace("-", " ").split())
    value = " ".join(value.split()).strip(" '\".")
    if not value or len(value) > 60 or value.split()[0].lower() in _EMPTY:
        return None
    relative = _RELATIVE_PREDICATE.fullmatch(key)
    if relative is not None:
        return Statement(f"family:{relative['relation'].replace('_', ' ')}", value, True)
    found = PREDICATES.get(key)
    return None if found is None else Statement(found[0], value, found[1])


@dataclass(frozen=True, slots=True)
class Ledger:
    """Every trait each person of a scope has stated, current and superseded, in order."""

    traits: Mapping[str, tuple[Trait, ...]] = field(default_factory=dict)

    def dumps(self) -> str:
        data = {p: [t.to_dict() for t in traits] for p, traits in self.traits.items()}
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> Ledger:
        data = json.loads(text)
        return cls({str(p): tuple(Trait.from_dict(t) for t in ts) for p, ts in data.items()})


def dump_traits(traits: Sequence[Trait]) -> str:
    """One person's traits as JSON (``load_traits`` reads them back)."""
    return json.dumps([t.to_dict() for t in traits], ensure_ascii=False, sort_keys=True)


def load_traits(text: str) -> tuple[Trait, ...]:
    return tuple(Trait.from_dict(t) for t in json.loads(text)) if text else ()


def _fold(value: str) -> str:
    return " ".join(value.casefold().split())


def _said(traits: list[Trait], found: Statement, at: datetime, source: str) -> None:
    same = [
        i
        for i, t in enumerate(traits)
        if t.attribute == found.attribute and t.until is None
        and (found.single or _fold(t.value) == _fold(found.value))
    ]  # fmt: skip
    for i in same:
        trait = traits[i]
        if _fold(trait.value) == _fold(found.value):
            if source not in trait.sources and len(trait.sources) < MAX_SOURCES:
                traits[i] = replace(trait, sources=(*trait.sources, source))
            return
        traits[i] = replace(trait, until=at)  # a single value, superseded
    traits.append(Trait(found.attribute, found.value, at, (source,)))


def observe(ledger: Ledger, messages: Sequence[tuple[str, str, str, datetime]]) -> Ledger:
    """The ledger after ``messages`` (``(id, person, text, when)``, in the order said)."""
    return fold(ledger, [(i, person, statements(text), at) for i, person, text, at in messages])


def fold(
    ledger: Ledger, stated: Sequence[tuple[str, str, Sequence[Statement], datetime]]
) -> Ledger:
    """The ledger after what messages stated (``(id, person, statements, when)``, in order)."""
    out = {person: list(traits) for person, traits in ledger.traits.items()}
    for message_id, person, found_in, at in stated:
        for found in found_in:
            _said(out.setdefault(person, []), found, at, message_id)
    touched = {person for _, person, _, _ in stated}
    return Ledger({p: _bounded(ts) if p in touched else tuple(ts) for p, ts in out.items() if ts})


def _bounded(traits: Sequence[Trait]) -> tuple[Trait, ...]:
    """``traits`` within ``HISTORY`` and ``VALUES`` per attribute, in their order."""
    groups: dict[tuple[str, bool], list[int]] = {}
    for i, trait in enumerate(traits):
        groups.setdefault((trait.attribute, trait.until is None), []).append(i)
    dropped: set[int] = set()
    for (_, current), members in groups.items():
        if not current:
            dropped.update(members[:-HISTORY])
        elif len(members) > VALUES:
            weakest = sorted(members, key=lambda i: len(traits[i].sources))
            dropped.update(weakest[: len(members) - VALUES])
    return tuple(t for i, t in enumerate(traits) if i not in dropped)


def profiles(ledger: Ledger, names: Mapping[str, Sequence[str]]) -> list[Profile]:
    """Each person's profile; ``names`` are the names each person goes by (the people table),
    and a person known only by name has a profile of names alone."""
    out = []
    for person in dict.fromkeys([*names, *ledger.traits]):
        traits = ledger.traits.get(person, ())
        out.append(
            Profile(
                person=person,
                names=tuple(names.get(person, (person,))),
                traits=tuple(t for t in traits if t.until is None),
                history=tuple(t for t in traits if t.until is not None),
            )
        )
    return out


def _label(attribute: str) -> str:
    head, _, detail = attribute.partition(":")
    return f"{head} ({detail})" if detail else head


def render(found: Sequence[Profile], budget: int) -> str:
    """The profiles as compact text within ``budget`` characters, a line per person: names
    first, then current traits in the order they were learned; what does not fit is left out."""
    lines: list[str] = []
    used = 0
    for profile in found:
        line = ", ".join(profile.names) + ":"
        for trait in profile.traits:
            part = f" {_label(trait.attribute)}: {trait.value} (since {trait.since.date()});"
            if used + len(line) + len(part) + (1 if lines else 0) > budget:
                break
            line += part
        line = line.rstrip(";")
        cost = len(line) + (1 if lines else 0)
        if used + cost > budget:
            break
        lines.append(line)
        used += cost
    return "\n".join(lines)
