"""Extract: one LLM call turns a batch of messages into fact drafts (DESIGN §4).

``ask`` sends the ``extract_facts`` prompt and returns the cleaned answer (facts that cite no
message of the batch set apart), or raises ``LLMError`` when the model gave no usable one (the
caller marks the batch failed; ``LLMTruncatedError`` when the answer was cut off, so the caller
can ask with fewer messages). The rest is pure: ``drafts`` turns the answer into ``FactDraft``
values with absolute times (a fact the model gives no date takes the time of its first source
message) and speakers, and ``screen`` drops what the poisoning guard forbids: facts the model
flagged as instructions, facts whose text instructs an assistant, and facts drawn only from
messages that do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from memstrata.errors import InvalidInputError
from memstrata.ports import LLM
from memstrata.prompts import PromptMessage, consolidate, extract_facts
from memstrata.types import MemoryRecord, Message, as_utc
from memstrata.write import guard

__all__ = [
    "FactDraft",
    "Screened",
    "ask",
    "build_input",
    "drafts",
    "prompt_message",
    "prompt_version",
    "screen",
]

#: Facts the model marks ``uncertain`` (guesses, wishes) count this much of their importance.
UNCERTAIN_FACTOR = 0.6


@dataclass(frozen=True, slots=True)
class FactDraft:
    """A fact as extracted, before consolidation decides what it does to memory."""

    text: str
    sources: tuple[str, ...]
    subject: str | None = None
    actor: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    importance: float = 0.5
    entities: tuple[str, ...] = ()
    relations: tuple[tuple[str, str, str], ...] = ()
    keywords: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    time_from: Literal["model", "message", "none"] = "none"
    #: The application's category labels the model gave it (``extract_facts.Custom``).
    categories: tuple[str, ...] = ()
    #: What it does to the existing facts the extraction was shown, as the model decided
    #: (``extract_facts.decided``); ``None`` when none were shown or the answer said nothing.
    decision: consolidate.Resolution | None = None


@dataclass(frozen=True, slots=True)
class Screened:
    """What ``screen`` kept, and what it dropped with the reason."""

    kept: tuple[FactDraft, ...]
    dropped: tuple[tuple[FactDraft, str], ...] = ()


def prompt_message(message: Message) -> PromptMessage:
    """A stored message as the prompts show it."""
    if message.id is None:
        raise InvalidInputError("a message needs an id before it is shown to a model")
    return PromptMessage(
        id=message.id,
        speaker=message.speaker or message.role,
        text=message.text,
        timestamp=message.timestamp.replace(tzinfo=None).isoformat(timespec="seconds")
        if message.timestamp
        else None,
    )


def build_input(
    messages: Sequence[Message],
    *,
    today: date,
    known_entities: Sequence[str] = (),
    custom: extract_facts.Custom | None = None,
    existing: Sequence[MemoryRecord] = (),
) -> extract_facts.Input:
    """The prompt input for one batch, with the stored facts it may touch."""
    return extract_facts.Input(
        messages=[prompt_message(m) for m in messages],
        today=today,
        known_entities=list(known_entities),
        custom=custom,
        existing=[
            extract_facts.Existing(
                id=r.id,
                text=r.text,
                valid_from=r.valid_from.date().isoformat() if r.valid_from else None,
            )
            for r in existing[: extract_facts.MAX_EXISTING]
        ],
    )


def prompt_version(custom: extract_facts.Custom | None) -> str:
    """The version a batch's facts record: the prompt's, and the application's rules'."""
    return extract_facts.VERSION if custom is None else f"{extract_facts.VERSION}+{custom.version}"


def ask(llm: LLM, data: extract_facts.Input) -> extract_facts.Cleaned:
    """Ask for the facts of a batch, cleaned (``extract_facts.clean``).

    Raises ``LLMError`` when no usable answer came, and ``LLMTruncatedError`` when the answer
    was cut off (the caller asks again with fewer messages).
    """
    from memstrata.llms.parsing import ask_structured

    output = ask_structured(llm, extract_facts.render(data), extract_facts.Output, strict=True)
    assert output is not None  # strict: it raises instead
    return extract_facts.clean(output, data)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return as_utc(value)
    except InvalidInputError:
        return None


def drafts(
    output: extract_facts.Output,
    messages: Sequence[Message],
    categories: Sequence[str] = (),
    data: extract_facts.Input | None = None,
) -> list[FactDraft]:
    """The answer's facts as drafts: times parsed (falling back to the first source message's
    time), the speaker of the sources as ``actor`` when there is one, relation ends added to
    the entities, uncertain facts made less important, category labels kept when they are
    among ``categories``."""
    allowed = set(categories)
    by_id: Mapping[str, Message] = {m.id: m for m in messages if m.id}
    out: list[FactDraft] = []
    for fact in output.facts:
        sources = tuple(s for s in fact.sources if s in by_id)
        if not sources:
            continue
        cited = [by_id[s] for s in sources]
        speakers = {m.speaker or m.role for m in cited}
        valid_from = _when(fact.valid_from)
        time_from: Literal["model", "message", "none"] = "model"
        if valid_from is None:
            stamps = [m.timestamp for m in cited if m.timestamp is not None]
            valid_from = min(stamps) if stamps else None
            time_from = "message" if valid_from else "none"
        valid_to = _when(fact.valid_to)
        if valid_to is not None and valid_from is not None and valid_to < valid_from:
            valid_to = None
        relations = tuple(
            (r.subject, "_".join(r.predicate.lower().split()), r.object) for r in fact.relations
        )
        names = dict.fromkeys([*fact.entities, *(x for r in relations for x in (r[0], r[2]))])
        importance = fact.importance
        if "uncertain" in fact.flags:
            importance *= UNCERTAIN_FACTOR
        out.append(
            FactDraft(
                text=" ".join(fact.text.split()),
                sources=sources,
                subject=fact.subject,
                actor=next(iter(speakers)) if len(speakers) == 1 else None,
                valid_from=valid_from,
                valid_to=valid_to,
                importance=round(min(1.0, max(0.0, importance)), 3),
                entities=tuple(names),
                relations=relations,
                keywords=tuple(dict.fromkeys(fact.keywords)),
                flags=tuple(fact.flags),
                categories=tuple(c for c in dict.fromkeys(fact.categories) if c in allowed),
                decision=None if data is None else extract_facts.decided(fact, data),
                time_from=time_from,
            )
        )
    return out


def screen(facts: Sequence[FactDraft], messages: Sequence[Message]) -> Screened:
    """The poisoning guard over drafts: keep only facts that are about someone.

    Dropped: a fact the model flagged ``instruction``; a fact whose own text instructs an
    assistant; a fact whose every source message instructs one (a model may restate an
    injected claim without flagging it). The messages themselves stay stored, quoted.
    """
    poisoned = {m.id for m in messages if m.id and guard.is_instruction(m.text)}
    kept: list[FactDraft] = []
    dropped: list[tuple[FactDraft, str]] = []
    for fact in facts:
        if guard.FLAG in fact.flags:
            dropped.append((fact, "the model flagged it as an instruction"))
        elif guard.is_instruction(fact.text):
            dropped.append((fact, "its text instructs an assistant"))
        elif fact.sources and all(s in poisoned for s in fact.sources):
            dropped.append((fact, "it comes only from messages that instruct an assistant"))
        else:
            kept.append(fact)
    return Screened(tuple(kept), tuple(dropped))
