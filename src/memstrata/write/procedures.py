"""Procedures: ways of doing something that recur in a scope's memories, found without a model.

A *method* is one telling of how something is done: an optional goal, its ordered steps, the
messages it was told in, and its *occurrences* (what counts as one independent sighting: a
message, or a task whose procedure working memory wrote). ``methods_in`` reads methods from a
message that lays out steps in order: a numbered list ("1. … 2. …", "Step 1: …"), bullet lines,
or a sequence of "first …, then …, finally …". ``method_of`` reads one back from a stored
``procedure`` memory.

``draft_procedures`` groups methods that are the same way of doing something (their steps
match in order, and their goals, when both have one, share their terms) and proposes a
procedure for each group seen at least ``min_support`` times: a new one, or a new version of
the stored procedure the group already holds, with the sources it adds. A procedure reads
"How to <goal>: 1. <step>; 2. <step>.", which is also what a "how do I …" question matches.

Everything here is pure; ``write.reflect`` reads the memories and writes what is proposed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from memstrata.types import MemoryRecord, Message
from memstrata.write import extractive

__all__ = [
    "Method",
    "ProcedureDraft",
    "draft_procedures",
    "method_of",
    "methods_in",
    "procedure_text",
    "steps_match",
]

#: The longest procedure, in characters.
PROCEDURE_CHARS = 1200
#: How many times a way of doing something must be seen to become a procedure.
MIN_SUPPORT = 2
#: The fewest and the most steps a method has.
MIN_STEPS, MAX_STEPS = 2, 12
#: The longest step and goal kept, in characters.
STEP_CHARS, GOAL_CHARS = 160, 100
#: Two steps are one when this share of the shorter one's terms are in the other.
STEP_OVERLAP = 0.5
#: Two methods are one way when this share of the longer one's steps match in order.
SEQUENCE_MATCH = 0.6
#: Two goals are one when this share of the shorter one's terms are in the other.
GOAL_OVERLAP = 0.6
#: How much of a message is read for steps, in characters.
TEXT_CHARS = 8000
#: The most sources and occurrences a procedure's metadata lists.
MAX_SOURCES = 200


@dataclass(frozen=True, slots=True)
class Method:
    """One telling of how something is done. ``memory_id`` is set when it is a stored
    procedure; ``explicit`` when its goal was stated ("to …", "how I …") rather than being
    the words that introduce the steps; ``by_model`` when a language model read it."""

    goal: str | None
    steps: tuple[str, ...]
    sources: tuple[str, ...]
    occurrences: tuple[str, ...]
    memory_id: str | None = None
    explicit: bool = True
    by_model: bool = False


@dataclass(frozen=True, slots=True)
class ProcedureDraft:
    """A procedure to store (``target`` is ``None``) or a new version of the stored procedure
    ``target``. ``sources`` are every message it was seen in, ``added`` those it did not cite
    yet; ``support`` counts its occurrences."""

    goal: str
    steps: tuple[str, ...]
    sources: tuple[str, ...]
    occurrences: tuple[str, ...]
    support: int
    target: str | None = None
    added: tuple[str, ...] = ()
    by_model: bool = False

    @property
    def text(self) -> str:
        return procedure_text(self.goal, self.steps)


def procedure_text(goal: str, steps: Sequence[str], max_chars: int = PROCEDURE_CHARS) -> str:
    """A procedure as text: "How to <goal>: 1. <step>; 2. <step>; …", cut to ``max_chars``
    at a step's end (a step that does not fit ends the list with "…")."""
    text = f"How to {goal.rstrip('.')}:"
    for number, step in enumerate(steps, start=1):
        item = f" {number}. {' '.join(step.split()).rstrip('.;')};"
        if len(text) + len(item) > max_chars - 2:
            return text.rstrip(";") + " …"
        text += item
    return text.rstrip(";") + "."


# -- reading methods from text --------------------------------------------------------------------

_FIRST = re.compile(
    r"(?<![\w'’])(?:first(?:ly)?(?:\s+of\s+all)?|to\s+start(?:\s+with)?|start\s+by|begin\s+by)"
    r"(?![\w'’])[,:]?\s*",
    re.IGNORECASE,
)
_NEXT = re.compile(
    r"(?:[,;]\s*|\.\s+|\s+)(?:and\s+)?(?:then|next|after\s+that|afterwards|finally|lastly"
    r"|last\s+of\s+all|in\s+the\s+end)(?![\w'’])[,:]?\s*",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?:(?<=\s)|(?<=^))(?:step\s+)?(\d{1,2})\s*[.):](?=\s)\s*", re.IGNORECASE)
_BULLET = re.compile(r"^[ \t]*[-*•][ \t]+(.+?)[ \t]*$", re.MULTILINE)
_SENTENCE_END = re.compile(r"[.!?…](?:\s|$)|\n")
_SUBJECT = re.compile(
    r"^(?:(?:and|so|also)\s+)?(?:(?:I|we|you|they)(?:\s*['’](?:ll|d))?\s+)?"
    r"(?:(?:always|usually|just|then|also|will|would|should|can|must|need\s+to|have\s+to)\s+)*",
    re.IGNORECASE,
)
_TRAILING_SUBJECT = re.compile(
    r"(?:^|\s)(?:I|we|you)(?:\s+(?:always|usually|just|will|would|should))*$", re.IGNORECASE
)
# (pattern whose group 1 is the goal): the goal stated in the words before the steps
_GOALS = (
    re.compile(r"\bhow\s+(?:to|I|we|you|do\s+(?:I|you|we))\s+(.+)$", re.IGNORECASE),
    re.compile(r"^(?:(?:so|ok|okay|well|now)[,\s]+)?(?:in\s+order\s+)?to\s+(.+)$", re.IGNORECASE),
    re.compile(
        r"\b(?:steps?|way|routine|process|recipe|method|procedure|checklist|what\s+I\s+do)"
        r"\s+(?:to|for|of)\s+(.+)$",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:when(?:ever)?|each\s+time|every\s+time)\s+(?:I|we|you)\s+(.+)$", re.I),
)


def _clean_step(text: str) -> str:
    """A step as an instruction: its first sentence, without the speaker ("I then run" →
    "run"), its trailing "and" or punctuation; a capital that only began a sentence lowered."""
    end = _SENTENCE_END.search(text)
    text = text[: end.start()] if end else text
    text = " ".join(text.split()).strip(" ,;:—-")
    text = _SUBJECT.sub("", text, count=1)
    text = re.sub(r"(?:[\s,;]+(?:and|or))+$", "", text, flags=re.IGNORECASE).strip(" ,;:.!?")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return extractive.clip(text, STEP_CHARS)


def _goal(preamble: str) -> tuple[str | None, bool]:
    """The goal the words before a list of steps state, and whether it was stated ("to …",
    "how I …") rather than being those words themselves ("Deploying the app today:")."""
    sentences = extractive.split_sentences(preamble.strip())
    last = sentences[-1] if sentences else ""
    if not last or (preamble.rstrip() and preamble.rstrip()[-1] in ".!?"):
        return None, True  # the steps begin a sentence of their own
    last = " ".join(last.split()).rstrip(" ,:;—-")
    introduced = preamble.rstrip().endswith(":")
    clause = _TRAILING_SUBJECT.sub("", last).rstrip(" ,:;—-")
    clause = clause.split(",")[0].strip() if "," in clause else clause
    for pattern in _GOALS:
        found = pattern.search(clause)
        if found:
            goal = found.group(1).strip(" ,:;.!?")
            if extractive.terms(goal):
                return extractive.clip(goal, GOAL_CHARS), True
    if introduced and extractive.terms(clause) and len(clause.split()) <= 10:
        return extractive.clip(clause, GOAL_CHARS), False
    return None, True


def _numbered(text: str) -> tuple[str, list[str]] | None:
    """The words before a numbered list and its items, when it counts 1, 2, … in order."""
    markers = list(_NUMBER.finditer(text))
    for i, marker in enumerate(markers):
        if marker.group(1) != "1":
            continue
        run = [marker]
        for later in markers[i + 1 :]:
            if int(later.group(1)) == len(run) + 1:
                run.append(later)
        if len(run) < MIN_STEPS:
            continue
        items = [text[m.end() : n.start()] for m, n in pairwise(run)]
        items.append(text[run[-1].end() :])
        return text[: marker.start()], items
    return None


def _bulleted(text: str) -> tuple[str, list[str]] | None:
    """The words before the first run of bullet lines and their items."""
    bullets = list(_BULLET.finditer(text))
    if len(bullets) < MIN_STEPS:
        return None
    run = [bullets[0]]
    for later in bullets[1:]:
        if text[run[-1].end() : later.start()].strip():
            break
        run.append(later)
    if len(run) < MIN_STEPS:
        return None
    return text[: run[0].start()], [m.group(1) for m in run]


def _sequenced(text: str) -> tuple[str, list[str]] | None:
    """The words before a "first …, then …, finally …" sequence and its steps."""
    for first in _FIRST.finditer(text):
        rest = text[first.end() :]
        steps: list[str] = []
        position = 0
        for marker in _NEXT.finditer(rest):
            piece = rest[position : marker.start()]
            end = _SENTENCE_END.search(piece)
            if end and piece[end.end() :].strip():
                break  # the sequence ended at a sentence the marker does not continue
            steps.append(piece)
            position = marker.end()
        if steps:
            steps.append(rest[position:])
            return text[: first.start()], steps
    return None


def methods_in(message: Message) -> list[Method]:
    """The ways of doing something a message lays out in order (at most one: a numbered list,
    else bullet lines, else a "first …, then …" sequence), each with two steps or more."""
    if message.id is None:
        return []
    text = message.text[:TEXT_CHARS]
    for read in (_numbered, _bulleted, _sequenced):
        found = read(text)
        if found is None:
            continue
        preamble, items = found
        steps = tuple(s for s in (_clean_step(i) for i in items) if extractive.terms(s))
        if len(steps) < MIN_STEPS:
            continue
        goal, explicit = _goal(preamble)
        ids = (message.id,)
        return [
            Method(
                goal=goal, steps=steps[:MAX_STEPS], sources=ids, occurrences=ids,
                explicit=explicit,
            )
        ]  # fmt: skip
    return []


_PROCEDURE = re.compile(r"^How to (.+?):\s+1\.\s")
_ITEM = re.compile(r"(?:^|;\s)\d{1,2}\.\s+(.+?)(?=;\s\d{1,2}\.\s|\.?$|\s…$)")


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str) and v.strip()]


def method_of(record: MemoryRecord) -> Method | None:
    """A stored ``procedure`` memory as a method: its steps and goal (from its metadata, else
    its "How to …: 1. …" text), every message it cites, and its occurrences. ``None`` when
    its text lays out no steps."""
    meta: Mapping[str, Any] = record.metadata
    head = _PROCEDURE.match(record.text)
    goal = meta.get("goal") if isinstance(meta.get("goal"), str) else None
    if goal is None and head is not None:
        goal = head.group(1)
    steps = _strings(meta.get("steps"))
    if not steps and head is not None:
        steps = [m.group(1) for m in _ITEM.finditer(record.text[head.end() - 3 :])]
    if len(steps) < MIN_STEPS:
        return None
    sources = tuple(dict.fromkeys([*record.sources, *_strings(meta.get("sources"))]))
    occurrences = tuple(_strings(meta.get("occurrences"))) or (record.id,)
    return Method(
        goal=goal, steps=tuple(steps), sources=sources, occurrences=occurrences,
        memory_id=record.id,
    )  # fmt: skip


# -- grouping -------------------------------------------------------------------------------------


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def steps_match(a: Sequence[str], b: Sequence[str]) -> float:
    """The share of the longer list's steps that match a step of the other in order (the
    longest common subsequence, two steps matching when they share most of their terms)."""
    if not a or not b:
        return 0.0
    ta, tb = [extractive.terms(s) for s in a], [extractive.terms(s) for s in b]
    table = [[0] * (len(tb) + 1) for _ in range(len(ta) + 1)]
    for i, x in enumerate(ta, start=1):
        for j, y in enumerate(tb, start=1):
            if _overlap(x, y) >= STEP_OVERLAP:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1] / max(len(ta), len(tb))


def _same_way(a: Method, b: Method) -> bool:
    if a.goal and b.goal:
        ga, gb = extractive.terms(a.goal), extractive.terms(b.goal)
        if ga and gb and _overlap(ga, gb) < GOAL_OVERLAP:
            return False
    return steps_match(a.steps, b.steps) >= SEQUENCE_MATCH


def _union(groups: Sequence[Sequence[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for g in groups for i in g))[:MAX_SOURCES]


def _goal_of(members: Sequence[Method], steps: Sequence[str]) -> str:
    """The best goal a group states: a stated goal before the words that introduce steps, a
    model's before one read from text, the earliest first; else its first and last steps."""
    goals = [m for m in members if m.goal]
    if goals:
        best = min(goals, key=lambda m: (not m.explicit, not m.by_model))
        return best.goal or ""
    return f"{steps[0]} and {steps[-1]}" if len(steps) == 2 else f"{steps[0]} … {steps[-1]}"


def draft_procedures(
    methods: Sequence[Method],
    known: Sequence[Method],
    *,
    min_support: int = MIN_SUPPORT,
) -> list[ProcedureDraft]:
    """The procedures to write: one per way of doing something seen ``min_support`` times or
    more among ``known`` (stored procedures, oldest first) and ``methods`` (read from
    messages, oldest first). A way that holds a stored procedure updates it, and only when
    it adds an occurrence; the rest are new, told in their fullest telling (the most steps;
    a model's before one read from text)."""
    groups: list[list[Method]] = []
    for candidate in [*known, *methods]:
        for group in groups:
            if _same_way(group[0], candidate):
                group.append(candidate)
                break
        else:
            groups.append([candidate])
    drafts: list[ProcedureDraft] = []
    for group in groups:
        occurrences = _union([m.occurrences for m in group])
        if len(occurrences) < min_support:
            continue
        sources = _union([m.sources for m in group])
        stored = next((m for m in group if m.memory_id is not None), None)
        by_model = any(m.by_model for m in group)
        if stored is not None:
            added = tuple(s for s in sources if s not in stored.sources)
            if set(occurrences) <= set(stored.occurrences):
                continue  # seen only where it was seen before
            drafts.append(
                ProcedureDraft(
                    goal=stored.goal or _goal_of(group, stored.steps), steps=stored.steps,
                    sources=sources, occurrences=occurrences, support=len(occurrences),
                    target=stored.memory_id, added=added, by_model=by_model,
                )
            )  # fmt: skip
            continue
        fullest = max(group, key=lambda m: (len(m.steps), m.by_model))
        drafts.append(
            ProcedureDraft(
                goal=_goal_of(group, fullest.steps), steps=fullest.steps, sources=sources,
                occurrences=occurrences, support=len(occurrences), by_model=by_model,
            )
        )  # fmt: skip
    return drafts
