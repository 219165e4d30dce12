"""Reflection: after a session, a summary of it and a few "thoughts" drawn from it.

Think-in-Memory keeps conclusions, not only what was said; RMM keeps memories at the grain of
a session as well as a turn. ``reflect`` reads a session's messages, drafts one ``summary``
memory (the session's gist) and a few ``thought`` memories (what the session says about each
person: preferences, plans, circumstances, with how often it was said), and stores them with
``Memory.remember``, each citing the messages it came from.

With an LLM the drafts come from the ``summarize`` prompt (its summary, and its key facts as
thoughts); without one, or when the model gives no usable answer, from the pure functions
here: an extractive summary and first-person patterns ("I love…", "I'm planning…",
"I moved…"). Reflecting on the same messages twice stores nothing new: every reflection
carries a hash of its session's message ids in its metadata (``reflection_key``). Messages
that give orders to an assistant (the poisoning guard's) are left out: what they say is kept
only as a quote, never restated as a summary or a thought.

Reflection also looks for ways of doing something that recur (``write.procedures``): across
every session of the user (or agent) it reflects for, a way told or done twice or more becomes
one ``procedure`` memory, "How to <goal>: 1. <step>; 2. <step>.", stored in that wider scope
and citing every message it was seen in. A way that matches a stored procedure (one written
by reflection, or by working memory when a task finished) gives that procedure a new version
instead of a twin: its metadata lists the added sources and occurrences (a memory's own
``sources`` are fixed when it is stored). With an LLM, the ``summarize`` prompt also names the
procedures of the session; they cite only messages it was shown.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from memstrata.api import AnyMemory, Facade, blocking
from memstrata.errors import InvalidInputError
from memstrata.ports import LLM
from memstrata.types import MemoryKind, MemoryRecord, MemoryState, Message, Scope
from memstrata.write import extractive, guard
from memstrata.write.procedures import (
    Method,
    ProcedureDraft,
    draft_procedures,
    method_of,
    methods_in,
)

__all__ = [
    "Draft",
    "Statement",
    "draft_summary",
    "draft_thoughts",
    "reflect",
    "reflection_key",
    "statements",
]

Category = Literal["preference", "plan", "circumstance"]

#: The longest session summary, in characters.
SUMMARY_CHARS = 800
#: The most thoughts one reflection stores.
MAX_THOUGHTS = 5
#: The most statements one thought lists.
MAX_STATEMENTS = 6
#: The longest statement a thought quotes, in characters.
STATEMENT_CHARS = 140
#: Roles whose first-person sentences are not about a person (an assistant's "I'd love to").
SKIPPED_ROLES = frozenset({"assistant", "system", "tool", "developer"})
#: Sessions longer than this (in characters) are summarised without the model.
LLM_INPUT_CHARS = 48_000
_PAGE = 1000

_LABELS: dict[Category, str] = {
    "preference": "preferences",
    "plan": "plans",
    "circumstance": "life and circumstances",
}


@dataclass(frozen=True, slots=True)
class Draft:
    """A reflection memory before it is stored."""

    kind: Literal["summary", "thought"]
    text: str
    sources: tuple[str, ...]
    subject: str | None = None
    keys: tuple[str, ...] = ()
    importance: float = 0.5
    valid_from: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Statement:
    """What one sentence says about its speaker, in the third person ("loves hiking")."""

    speaker: str
    category: Category
    clause: str
    message_id: str
    at: datetime | None = None
    about: frozenset[str] = frozenset()


# -- first-person patterns -----------------------------------------------------------------------

_I = r"(?<![\w'’])[Ii]"
_AM = r"(?:\s*['’]m|\s+am)"
_HAVE = r"(?:\s*['’]ve|\s+have)"
_ADV = (
    r"(?:\s+(?:really|truly|absolutely|just|recently|finally|also|still|totally|definitely"
    r"|actually|now|already|kind\s+of|sort\s+of))*"
)
_THIRD_PERSON = {
    "love": "loves", "like": "likes", "enjoy": "enjoys", "adore": "adores", "hate": "hates",
    "dislike": "dislikes", "prefer": "prefers", "detest": "detests", "plan": "plans",
    "intend": "intends", "want": "wants", "hope": "hopes", "need": "needs", "aim": "aims",
    "work": "works", "live": "lives", "study": "studies", "teach": "teaches",
    "volunteer": "volunteers", "own": "owns",
}  # fmt: skip


def _third(verb: str) -> str:
    words = verb.lower().split()
    words[0] = _THIRD_PERSON.get(words[0], words[0])
    return " ".join(words)


def _is(verb: str) -> str:
    return f"is {verb.lower()}"


def _has(verb: str) -> str:
    return f"has {verb.lower()}"


def _same(verb: str) -> str:
    return verb.lower()


# (kind of statement, the pattern whose group 1 is the verb, how the verb reads about them)
_RULES: tuple[tuple[Category, str, Callable[[str], str]], ...] = (
    ("preference", rf"{_I}{_ADV}\s+(love|like|enjoy|adore|hate|dislike|prefer|detest)\b",
     _third),
    ("preference", rf"{_I}\s+(?:can['’]?t|cannot)\s+(stand)\b", lambda v: "can't stand"),
    ("preference", rf"{_I}\s+(?:don['’]?t|do\s+not)\s+(like|enjoy)\b",
     lambda v: f"doesn't {v.lower()}"),
    ("preference", rf"{_I}{_AM}{_ADV}\s+((?:a\s+(?:big\s+|huge\s+)?)?fan\s+of|into"
     r"|obsessed\s+with|passionate\s+about|allergic\s+to)\b", _is),
    ("preference", r"(?<![\w'’])my\s+(favou?rite)\b", lambda v: "favourite"),
    ("plan", rf"{_I}{_AM}{_ADV}\s+(planning|going\s+to|hoping|thinking\s+(?:of|about)"
     r"|about\s+to|looking\s+forward\s+to|considering|saving\s+(?:up\s+)?for)\b", _is),
    ("plan", rf"{_I}{_ADV}\s+(plan|intend|want|hope|need|aim)\s+to\b",
     lambda v: f"{_third(v)} to"),
    ("plan", rf"{_I}(?:\s*['’]d|\s+would)\s+(love|like)\s+to\b",
     lambda v: f"would {v.lower()} to"),
    ("plan", rf"{_I}{_HAVE}{_ADV}\s+(decided)\s+to\b", lambda v: "has decided to"),
    ("plan", rf"{_I}(?:\s*['’]ll|\s+will)\s+(start|visit|travel|move|join|begin|attend"
     r"|apply|launch|run)\b", lambda v: f"will {v.lower()}"),
    ("circumstance", rf"{_I}{_ADV}\s+(moved|started|joined|quit|left|graduated|adopted"
     r"|bought|married|finished|began|retired|switched|lost|won|launched|became"
     r"|enrolled|signed\s+up|got\s+(?:a|an|my|married|engaged|divorced|promoted"
     r"|hired|fired|into))\b", _same),
    ("circumstance", rf"{_I}{_HAVE}{_ADV}\s+(been|started|moved|become|joined|lived"
     r"|worked)\b", _has),
    ("circumstance", rf"{_I}{_ADV}\s+(work|live|study|teach|volunteer|own)\b", _third),
    ("circumstance", rf"{_I}{_AM}{_ADV}\s+((?:a|an)(?!\s+(?:bit|little|lot)\b)"
     r"|married|single|pregnant|retired|vegan|vegetarian|from|based|working|studying"
     r"|living|learning|training)\b", _is),
    ("circumstance", rf"{_I}\s+have\s+((?:a|an|two|three|four|\d+)"
     r"(?!\s+(?:question|questions|feeling|idea|lot|bit|few|look|good|great)\b))\b", _has),
)  # fmt: skip
_PATTERNS = tuple(
    (category, re.compile(pattern, re.IGNORECASE), rewrite) for category, pattern, rewrite in _RULES
)

_PRONOUNS = (
    (re.compile(r"(?<![\w'’])I\s*['’]m\b|(?<![\w'’])I\s+am\b", re.IGNORECASE), "they are"),
    (re.compile(r"(?<![\w'’])I\s*['’]ve\b", re.IGNORECASE), "they have"),
    (re.compile(r"(?<![\w'’])I\s*['’]ll\b", re.IGNORECASE), "they will"),
    (re.compile(r"(?<![\w'’])I\s*['’]d\b", re.IGNORECASE), "they would"),
    (re.compile(r"(?<![\w'’])I(?![\w'’])"), "they"),
    (re.compile(r"\bmyself\b", re.IGNORECASE), "themselves"),
    (re.compile(r"\bmine\b", re.IGNORECASE), "theirs"),
    (re.compile(r"\bmy\b", re.IGNORECASE), "their"),
    (re.compile(r"\bme\b", re.IGNORECASE), "them"),
)
_CLAUSE_END = re.compile(
    r"\s+(?:but|because|although|though|so|while|whereas)\s+|\s+and\s+(?=I\b)"
    r"|,\s*(?=(?:it|which|that|so|but|and|because|though|as)\b)|[;:!?]|\.\s",
    re.IGNORECASE,
)


def _third_person(text: str) -> str:
    for pattern, replacement in _PRONOUNS:
        text = pattern.sub(replacement, text)
    return text


def _first_match(
    sentence: str, start: int
) -> tuple[Category, re.Match[str], Callable[[str], str]] | None:
    best: tuple[Category, re.Match[str], Callable[[str], str]] | None = None
    for category, pattern, rewrite in _PATTERNS:
        match = pattern.search(sentence, start)
        if match is not None and (best is None or match.start() < best[1].start()):
            best = (category, match, rewrite)
    return best


def statements(message: Message) -> list[Statement]:
    """The first-person statements of one message, each rewritten about its speaker.

    A statement runs from its verb to the end of its clause ("I moved to Lisbon and I
    started a job" gives two). One with no content word after the verb ("I love it", "I like
    that") is left out. Messages of assistants, tools and systems give none.
    """
    if message.role in SKIPPED_ROLES or message.id is None:
        return []
    speaker = message.speaker or message.role
    out: list[Statement] = []
    for sentence in extractive.split_sentences(message.text):
        position = 0
        while (found := _first_match(sentence, position)) is not None:
            category, match, rewrite = found
            tail = sentence[match.end() :]
            end = _CLAUSE_END.search(tail)
            position = match.end() + (end.end() if end else len(tail))
            about = _third_person((tail[: end.start()] if end else tail).strip(" .,!?…"))
            about = " ".join(about.split())
            if not extractive.terms(about):
                continue
            clause = f"{rewrite(match.group(1))} {about}"
            out.append(
                Statement(
                    speaker=speaker,
                    category=category,
                    clause=extractive.clip(clause, STATEMENT_CHARS),
                    message_id=message.id,
                    at=message.timestamp,
                    about=extractive.terms(about),
                )
            )
    return out


# -- drafts ----------------------------------------------------------------------------------


def reflection_key(message_ids: Sequence[str]) -> str:
    """A stable hash of a session's message ids (their order does not matter)."""
    joined = "\x1f".join(sorted(set(message_ids)))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:32]


def _speakers(messages: Sequence[Message]) -> list[str]:
    names: list[str] = []
    for m in messages:
        name = m.speaker or m.role
        if name not in names:
            names.append(name)
    return names


def _session_label(messages: Sequence[Message]) -> str:
    times = sorted(m.timestamp for m in messages if m.timestamp is not None)
    names = _speakers(messages)
    who = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    count = f"{len(messages)} message{'s' if len(messages) != 1 else ''}"
    if not times:
        return f"Session ({who}; {count})"
    first, last = times[0].date().isoformat(), times[-1].date().isoformat()
    when = first if first == last else f"{first} to {last}"
    return f"Session of {when} ({who}; {count})"


def draft_summary(messages: Sequence[Message], *, max_chars: int = SUMMARY_CHARS) -> Draft | None:
    """An extractive summary of a session: a line naming when and who, then its most central
    sentences, each after its speaker's name. Its sources are the messages those sentences
    came from. ``None`` when there are no messages."""
    if not messages:
        return None
    head = _session_label(messages) + ":"
    room = max_chars - len(head) - 1
    texts = [m.text for m in messages]
    picked = extractive.select(texts, max_chars=max(0, room), separator=" ")
    parts: list[str] = []
    sources: list[str] = []
    for sentence in picked:  # sentences of one message share one "speaker:" prefix
        message = messages[sentence.source]
        if sources and message.id == sources[-1]:
            candidate = f"{parts[-1]} {sentence.text}"
            if len(" ".join([*parts[:-1], candidate])) <= room:
                parts[-1] = candidate
            continue
        part = f"{message.speaker or message.role}: {sentence.text}"
        if len(" ".join([*parts, part])) > room:
            continue
        parts.append(part)
        sources.append(message.id or "")
    sources = [i for i in sources if i]
    if not parts:  # not even one sentence fits: cite the first message, clipped
        first = messages[0]
        parts = [extractive.clip(f"{first.speaker or first.role}: {first.text}", max(1, room))]
        sources = [first.id] if first.id else []
    times = [m.timestamp for m in messages if m.timestamp is not None]
    return Draft(
        kind="summary",
        text=extractive.clip(f"{head} {' '.join(parts)}", max_chars),
        sources=tuple(sources),
        keys=tuple(_speakers(messages)),
        valid_from=min(times) if times else None,
        metadata={"method": "extractive", "messages": len(messages)},
    )


@dataclass
class _Group:
    clauses: list[tuple[str, frozenset[str], int]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    support: int = 0
    last: datetime | None = None


def draft_thoughts(messages: Sequence[Message], *, max_thoughts: int = MAX_THOUGHTS) -> list[Draft]:
    """Conclusions about each speaker: one thought per speaker and kind of statement
    (preferences, plans, life and circumstances), listing what they said, the most repeated
    first, with how often when more than once. The best supported ``max_thoughts``."""
    groups: dict[tuple[str, Category], _Group] = {}
    for message in messages:
        for statement in statements(message):
            group = groups.setdefault((statement.speaker, statement.category), _Group())
            group.support += 1
            if statement.message_id not in group.sources:
                group.sources.append(statement.message_id)
            if statement.at is not None and (group.last is None or statement.at > group.last):
                group.last = statement.at
            terms = statement.about
            for i, (clause, known, count) in enumerate(group.clauses):
                if terms and known and len(terms & known) / min(len(terms), len(known)) >= 0.6:
                    group.clauses[i] = (clause, known, count + 1)
                    break
            else:
                group.clauses.append((statement.clause, terms, 1))
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1].sources), -item[1].support))
    drafts: list[Draft] = []
    for (speaker, category), group in ranked[: max(0, max_thoughts)]:
        clauses = sorted(group.clauses, key=lambda c: -c[2])[:MAX_STATEMENTS]
        listed = "; ".join(c if n == 1 else f"{c} (said {n} times)" for c, _, n in clauses)
        drafts.append(
            Draft(
                kind="thought",
                text=extractive.clip(f"{speaker}'s {_LABELS[category]}: {listed}.", 1_000),
                sources=tuple(group.sources),
                subject=speaker,
                keys=(category, speaker),
                importance=min(0.9, 0.5 + 0.1 * (len(group.sources) - 1)),
                valid_from=group.last,
                metadata={"method": "extractive", "category": category},
            )
        )
    return drafts


def _llm_drafts(
    llm: LLM,
    messages: Sequence[Message],
    *,
    today: datetime,
    max_thoughts: int,
    summary_chars: int,
) -> tuple[list[Draft], list[Method], str] | None:
    """Drafts and procedures from the ``summarize`` prompt, or ``None`` when the model gave no
    usable answer. A procedure keeps only the sources the model was shown; one left with none,
    or whose words give orders to an assistant, is dropped."""
    from memstrata.llms.parsing import ask_structured
    from memstrata.prompts import PromptMessage, summarize

    if sum(len(m.text) for m in messages) > LLM_INPUT_CHARS:
        return None
    shown = [
        PromptMessage(
            id=m.id or "",
            speaker=m.speaker or m.role,
            text=m.text,
            timestamp=m.timestamp.isoformat() if m.timestamp else None,
        )
        for m in messages
    ]
    data = summarize.Input(
        messages=shown,
        today=today.date(),
        session=_session_label(messages),
        max_words=min(1_000, max(20, summary_chars // 6)),
    )
    output = ask_structured(llm, summarize.render(data), summarize.Output)
    if output is None:
        return None
    known = [m.id for m in messages if m.id]
    times = [m.timestamp for m in messages if m.timestamp is not None]
    meta = {"method": "llm"}
    drafts = [
        Draft(
            kind="summary",
            text=extractive.clip(output.summary, summary_chars),
            sources=tuple(known),
            keys=tuple(output.keywords[:8]),
            valid_from=min(times) if times else None,
            metadata={**meta, "messages": len(messages)},
        )
    ]
    for fact in output.key_facts:
        if len(drafts) > max_thoughts:
            break
        cited = tuple(s for s in dict.fromkeys(fact.sources) if s in known)
        if cited:  # a conclusion must point at the messages it came from
            drafts.append(Draft(kind="thought", text=fact.text, sources=cited, metadata=meta))
    methods: list[Method] = []
    for procedure in output.procedures:
        cited = tuple(s for s in dict.fromkeys(procedure.sources) if s in known)
        goal = " ".join(procedure.goal.split())
        steps = tuple(" ".join(step.split()) for step in procedure.steps)
        told = " ".join([goal, *steps])
        if cited and goal and not guard.is_instruction(told):
            methods.append(
                Method(goal=goal, steps=steps, sources=cited, occurrences=cited, by_model=True)
            )
    return drafts, methods, summarize.VERSION


# -- storing ----------------------------------------------------------------------------------


def _session_messages(
    memory: Facade,
    scope: Scope,
    message_ids: Sequence[str] | None,
    session: Mapping[str, Any] | None,
) -> list[Message]:
    if message_ids is not None:
        wanted = list(dict.fromkeys(message_ids))
        asked = set(wanted)
        found = {
            m.id: m for m in _episode_messages(memory, scope, None, ALL_STATES) if m.id in asked
        }
        missing = [i for i in wanted if i not in found]
        if missing:
            raise InvalidInputError(
                f"unknown message ids in scope {scope}: {', '.join(sorted(missing)[:10])}"
            )
        messages = [found[i] for i in wanted]
    else:
        messages = _episode_messages(memory, scope, session, None)
        messages.reverse()  # listings are newest first
    far = datetime.max.replace(tzinfo=None)
    ranked = sorted(
        enumerate(messages),
        key=lambda im: (im[1].timestamp.replace(tzinfo=None) if im[1].timestamp else far, im[0]),
    )
    return [m for _, m in ranked]


ALL_STATES: tuple[MemoryState, ...] = ("active", "archived", "deleted")


def _episode_messages(
    memory: Facade,
    scope: Scope,
    session: Mapping[str, Any] | None,
    states: Sequence[MemoryState] | None,
) -> list[Message]:
    """The messages of a scope's episodes whose metadata matches ``session`` (``None``: every
    one) in ``states`` (``None``: active), newest first, read back from the episodes."""
    messages: list[Message] = []
    seen: set[str] = set()
    cursor = None
    while True:
        page = memory.list(
            user_id=scope.user_id, agent_id=scope.agent_id, run_id=scope.run_id,
            kinds=["episode"], states=states, metadata=session, limit=_PAGE, cursor=cursor,
        )  # fmt: skip
        for r in page.records:
            if r.sources and r.sources[0] not in seen:
                seen.add(r.sources[0])
                role = r.metadata.get("role")
                messages.append(
                    Message(
                        text=r.text,
                        role=role if isinstance(role, str) and role else "user",
                        speaker=r.actor,
                        id=r.sources[0],
                        timestamp=r.valid_from,
                        metadata=r.metadata,
                    )
                )
        if not page.next_cursor:
            return messages
        cursor = page.next_cursor


def _instructs(message: Message) -> bool:
    """Whether a message (or the episode it was read from) gives orders to an assistant."""
    return guard.flagged(message.metadata) or guard.is_instruction(message.text)


def _existing(
    memory: Facade,
    scope: Scope,
    key: str,
    field_: str,
    kinds: Sequence[MemoryKind] = ("summary", "thought"),
) -> list[MemoryRecord]:
    out: list[MemoryRecord] = []
    cursor = None
    while True:
        page = memory.list(
            user_id=scope.user_id, agent_id=scope.agent_id, run_id=scope.run_id,
            kinds=list(kinds), metadata={field_: key}, limit=_PAGE, cursor=cursor,
        )  # fmt: skip
        out += page.records
        if not page.next_cursor:
            return out
        cursor = page.next_cursor


def _in_order(records: Sequence[MemoryRecord]) -> list[MemoryRecord]:
    """The summary first, then the thoughts in the order they were stored, then procedures."""
    return sorted(
        records, key=lambda r: (r.kind != "summary", r.kind == "procedure", r.recorded_at, r.id)
    )


def reflect(
    memory: AnyMemory,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    message_ids: Sequence[str] | None = None,
    session: Mapping[str, Any] | None = None,
    llm: LLM | None = None,
    max_thoughts: int = MAX_THOUGHTS,
    summary_chars: int = SUMMARY_CHARS,
) -> list[MemoryRecord]:
    """Store a summary of a session and a few thoughts about it, and the procedures found
    repeated in the user's (or agent's) sessions; return them: summary first, procedures last.

    The session is ``message_ids`` (messages stored in this scope), or else the episodes of
    the scope whose metadata matches ``session`` (every episode of the scope when it is
    ``None``; a run is a natural session). Each memory's ``sources`` are the messages it came
    from. Reflecting on the same messages again returns the stored reflection and writes
    nothing; reflecting on a session selected by ``session`` after it has grown archives the
    older reflection of it. Returns ``[]`` when the session has no messages.

    A procedure is stored in the scope without ``run_id`` (across the runs of the user or
    agent); one found again is returned as its new version (see ``write.procedures``).
    """
    sync = blocking(memory)
    scope = Scope(user_id=user_id, agent_id=agent_id, run_id=run_id, tenant=sync.tenant)
    if message_ids is not None and session is not None:
        raise InvalidInputError("give message_ids or a session filter, not both")
    if isinstance(message_ids, str):
        raise InvalidInputError("message_ids must be a list of ids")
    if session is not None and not isinstance(session, Mapping):
        raise InvalidInputError("session must be a mapping of metadata to match")
    if isinstance(max_thoughts, bool) or not isinstance(max_thoughts, int) or max_thoughts < 0:
        raise InvalidInputError("max_thoughts must be a non-negative integer")
    if isinstance(summary_chars, bool) or not isinstance(summary_chars, int):
        raise InvalidInputError("summary_chars must be an integer")
    if summary_chars < 80:
        raise InvalidInputError("summary_chars must be at least 80")
    messages = _session_messages(sync, scope, message_ids, session)
    if not messages:
        return []
    ids = [m.id for m in messages if m.id]
    key = reflection_key(ids)
    done = _existing(sync, scope, key, "reflection_key")
    if any(r.kind == "summary" for r in done):
        wider = _procedure_scope(scope)
        done += _existing(sync, wider, key, "reflection_key", kinds=("procedure",))
        return _in_order(done)
    selector = key if message_ids is not None else _selector(scope, session)
    messages = [m for m in messages if not _instructs(m)]  # kept only as quotes
    if not messages:
        return []

    drafts: list[Draft] | None = None
    told: list[Method] = []
    prompt_version: str | None = None
    if llm is not None:
        answered = _llm_drafts(
            llm, messages, today=sync.clock.now(), max_thoughts=max_thoughts,
            summary_chars=summary_chars,
        )  # fmt: skip
        if answered is not None:
            drafts, told, prompt_version = answered
    if drafts is None:
        summary = draft_summary(messages, max_chars=summary_chars)
        drafts = [summary] if summary else []
        drafts += draft_thoughts(messages, max_thoughts=max_thoughts)

    stored: list[MemoryRecord] = []
    for draft in drafts:
        if not draft.sources or guard.is_instruction(draft.text):
            continue  # a derived memory cites messages and gives no orders (Memory.remember)
        meta = {
            **draft.metadata,
            "reflection": draft.kind,
            "reflection_key": key,
            "reflection_of": selector,
        }
        stored.append(
            sync.remember(
                draft.text, kind=draft.kind, user_id=user_id, agent_id=agent_id,
                run_id=run_id, sources=draft.sources, subject=draft.subject, keys=draft.keys,
                valid_from=draft.valid_from, importance=draft.importance, metadata=meta,
                reason="reflection on a session", prompt_version=prompt_version,
            )
        )  # fmt: skip
    stored += _write_procedures(sync, scope, key, told, prompt_version)
    if message_ids is None:
        for old in _existing(sync, scope, selector, "reflection_of"):
            if old.metadata.get("reflection_key") != key and old.state == "active":
                sync.archive(
                    old.id, user_id=user_id, agent_id=agent_id, run_id=run_id,
                    reason="superseded by a reflection on the whole session",
                )  # fmt: skip
    return stored


def _procedure_scope(scope: Scope) -> Scope:
    """Where procedures are found and kept: the user's or agent's scope across its runs (a
    run is one session; a way of doing something recurs across them), else the run's own."""
    if scope.user_id is None and scope.agent_id is None:
        return scope
    return Scope(user_id=scope.user_id, agent_id=scope.agent_id, tenant=scope.tenant)


def _stored_procedures(memory: Facade, scope: Scope) -> list[MemoryRecord]:
    """The active ``procedure`` memories of a scope and its runs, oldest first."""
    out: list[MemoryRecord] = []
    cursor = None
    while True:
        page = memory.list(
            user_id=scope.user_id, agent_id=scope.agent_id, run_id=scope.run_id,
            kinds=["procedure"], limit=_PAGE, cursor=cursor,
        )  # fmt: skip
        out += page.records
        if not page.next_cursor:
            return sorted(out, key=lambda r: (r.recorded_at, r.id))
        cursor = page.next_cursor


def _write_procedures(
    memory: Facade,
    scope: Scope,
    key: str,
    told: Sequence[Method],
    prompt_version: str | None,
) -> list[MemoryRecord]:
    """Store the procedures that recur in the scope's messages (and ``told``, what a model
    read from the session), or a new version of the stored one each matches; return them."""
    wider = _procedure_scope(scope)
    messages = [m for m in _session_messages(memory, wider, None, None) if not _instructs(m)]
    methods = [*told, *(found for m in messages for found in methods_in(m))]
    records = {r.id: r for r in _stored_procedures(memory, wider)}
    known = [k for k in (method_of(r) for r in records.values()) if k is not None]
    out: list[MemoryRecord] = []
    for draft in draft_procedures(methods, known):
        if guard.is_instruction(draft.text):
            continue
        meta = _procedure_metadata(draft, key)
        if draft.target is None:
            out.append(
                memory.remember(
                    draft.text, kind="procedure", user_id=wider.user_id,
                    agent_id=wider.agent_id, run_id=wider.run_id, sources=draft.sources,
                    importance=min(0.9, 0.5 + 0.1 * (draft.support - 1)), metadata=meta,
                    reason="reflection found a way of doing something, repeated",
                    prompt_version=prompt_version if draft.by_model else None,
                )
            )  # fmt: skip
            continue
        record = records[draft.target]
        kept = {k: v for k, v in meta.items() if k not in ("reflection", "method", "goal")}
        out.append(
            memory.update(
                record.id, metadata={**record.metadata, **kept}, user_id=record.scope.user_id,
                agent_id=record.scope.agent_id, run_id=record.scope.run_id,
                reason="reflection found the procedure again",
            )
        )  # fmt: skip
    return out


def _procedure_metadata(draft: ProcedureDraft, key: str) -> dict[str, Any]:
    return {
        "reflection": "procedure",
        "reflection_key": key,
        "method": "llm" if draft.by_model else "extractive",
        "goal": draft.goal,
        "steps": list(draft.steps),
        "support": draft.support,
        "sources": list(draft.sources),
        "occurrences": list(draft.occurrences),
    }


def _selector(scope: Scope, session: Mapping[str, Any] | None) -> str:
    """A hash naming a session by how it was selected (scope and metadata filter)."""
    spec = json.dumps({"scope": scope.as_dict(), "session": dict(session or {})}, sort_keys=True)
    return "s" + hashlib.sha256(spec.encode("utf-8")).hexdigest()[:31]
