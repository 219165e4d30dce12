"""Link: each fact becomes an A-MEM note, with keywords, tags, a context line and links.

A note's ``keys`` hold its keywords and the names it mentions (keyword search matches them);
``metadata["tags"]`` its categories (the relations it states, and ``uncertain`` for guesses);
``metadata["context"]`` one line on where it came from: who said it, when, and the start of
what was said. New notes link to the related notes consolidation found (``related``), and a
fact that retires another links to it (``supersedes``).

A-MEM also lets a new note refine older ones ("memory evolution"). Here that is optional and
off by default: ``evolve`` gives a linked note's next version, its context extended with the
new note, and the pipeline stores it as a new version (the old one is kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from memstrata.ports import Link
from memstrata.types import Hit, MemoryRecord, Message
from memstrata.write.extract import FactDraft

__all__ = ["CONTEXT_CHARS", "context_line", "evolve", "keys", "links_for", "tags"]

#: The longest context line, in characters.
CONTEXT_CHARS = 200
#: The longest quotation of a source message in a context line, in characters.
QUOTE_CHARS = 90


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return (cut or text[: limit - 1]) + "…"


def keys(draft: FactDraft) -> tuple[str, ...]:
    """A note's keys: its keywords, then the names it mentions, without repeats."""
    seen: dict[str, str] = {}
    for term in (*draft.keywords, *draft.entities):
        term = " ".join(term.split())
        if term and term.casefold() not in seen:
            seen[term.casefold()] = term
    return tuple(seen.values())


def tags(draft: FactDraft) -> list[str]:
    """A note's tags: the relations it states (``lives_in``, ``has_pet``) and its flags."""
    out = [r[1].strip().lower().replace(" ", "_") for r in draft.relations]
    out += [f for f in draft.flags if f]
    return list(dict.fromkeys(t for t in out if t))


def context_line(draft: FactDraft, messages: Mapping[str, Message]) -> str:
    """Where a fact came from, in one line: ``Ana, 2024-05-02: "I moved to Lisbon…"``."""
    cited = [messages[s] for s in draft.sources if s in messages]
    if not cited:
        return ""
    first = cited[0]
    who = list(dict.fromkeys(m.speaker or m.role for m in cited))
    when = first.timestamp.date().isoformat() if first.timestamp else None
    head = ", ".join(who[:3]) + (f" (+{len(who) - 3})" if len(who) > 3 else "")
    head += f", {when}" if when else ""
    more = f" (+{len(cited) - 1} more)" if len(cited) > 1 else ""
    return _clip(f'{head}: "{_clip(first.text, QUOTE_CHARS)}"{more}', CONTEXT_CHARS)


def links_for(
    memory_id: str,
    related: Sequence[Hit],
    *,
    threshold: float,
    limit: int,
    at: datetime,
    supersedes: str | None = None,
) -> list[Link]:
    """The links a new note gets: to the related memories whose vector cosine (or, without
    vectors, whose fused score's keyword rank) makes them close enough, and to the fact it
    supersedes."""
    out: list[Link] = []
    if supersedes is not None:
        out.append(Link(memory_id, supersedes, "supersedes", 1.0, at))
    for hit in related:
        if len(out) >= limit + (supersedes is not None):
            break
        if hit.id in (memory_id, supersedes):
            continue
        vector = hit.signals.get("vector")
        score = vector.score if vector is not None else None
        if score is None:
            keyword = hit.signals.get("keyword")
            score = 1.0 / keyword.rank if keyword is not None else 0.0
        if score >= threshold:
            out.append(Link(memory_id, hit.id, "related", round(float(score), 4), at))
    return out


def evolve(note: MemoryRecord, new: MemoryRecord) -> MemoryRecord | None:
    """The next version of a linked ``note`` after ``new`` joined it: its context line gains
    "; later: <new fact>". ``None`` when the note already mentions it or has no room."""
    context = str(note.metadata.get("context") or "")
    addition = f"later: {_clip(new.text, 80)}"
    if addition in context:
        return None
    grown = f"{context}; {addition}" if context else addition
    if len(grown) > 4 * CONTEXT_CHARS:
        return None
    evolved = list(note.metadata.get("evolved_by") or [])
    return replace(
        note, metadata={**note.metadata, "context": grown, "evolved_by": [*evolved, new.id]}
    )
