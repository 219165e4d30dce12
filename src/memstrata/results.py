"""What a verb returns beyond the records of ``types``: the reports of feedback and of the LLM
write path, what a batch change chose, and the people of a scope with their profiles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

#: The most error messages a report keeps (the latest).
MAX_ERRORS = 20


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    """What one ``feedback`` call taught: memories marked used and unused, and the pairs
    (used above unused) the reranker learned from."""

    used: int
    unused: int
    pairs: int


@dataclass
class PipelineReport:
    """What one run of the write path did (``add`` and ``reprocess`` return or log it).

    ``messages``: messages processed; ``waiting``: left for a fuller batch; ``pending`` and
    ``failed``: still to do after the run (``failed`` among them: tried and failed).
    ``batches`` counts every extraction attempt, halves of a cut-off batch included, and
    ``failed_batches`` those that failed. ``facts`` counts what the model extracted;
    ``dropped`` what was not stored: by the guard, too long to store, or ``unsourced``
    (citing no message of its batch).
    Calls count every request to the model, re-asks included; tokens are counted when the
    client reports them (``OpenAICompatLLM`` does).
    """

    messages: int = 0
    batches: int = 0
    failed_batches: int = 0
    waiting: int = 0
    pending: int = 0
    failed: int = 0
    extraction_calls: int = 0
    consolidation_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    facts: int = 0
    added: int = 0
    updated: int = 0
    invalidated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    dropped: int = 0
    unsourced: int = 0
    links: int = 0
    evolved: int = 0
    entities: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return self.extraction_calls + self.consolidation_calls

    def __iadd__(self, other: PipelineReport) -> PipelineReport:
        for f in fields(self):
            if f.name == "errors":
                self.errors = [*self.errors, *other.errors][-MAX_ERRORS:]
            elif f.name not in ("pending", "failed"):
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["calls"] = self.calls
        return out


@dataclass(frozen=True, slots=True)
class Alias:
    """A name a person goes by: as written, how often they were called by it, and the first
    messages that did (their ids)."""

    name: str
    count: int
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Person:
    """A speaker of a scope: the label the application gave, the other names they go by (most
    used first) and how many of the scope's messages they said."""

    name: str
    aliases: tuple[Alias, ...]
    messages: int

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *(a.name for a in self.aliases))


@dataclass(frozen=True, slots=True)
class Trait:
    """One thing known about a person: its attribute and value, since when (the first message
    that said it), the messages that say it, and, for a superseded value, until when."""

    attribute: str
    value: str
    since: datetime
    sources: tuple[str, ...]
    until: datetime | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "attribute": self.attribute,
            "value": self.value,
            "since": self.since.isoformat(),
            "sources": list(self.sources),
            "until": None if self.until is None else self.until.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Trait:
        until = data.get("until")
        return cls(
            str(data["attribute"]),
            str(data["value"]),
            datetime.fromisoformat(str(data["since"])),
            tuple(str(s) for s in data.get("sources") or ()),  # type: ignore[attr-defined]
            None if until is None else datetime.fromisoformat(str(until)),
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """A person of a scope: the names they go by, what holds of them now, what held before."""

    person: str
    names: tuple[str, ...]
    traits: tuple[Trait, ...]
    history: tuple[Trait, ...]


@dataclass(frozen=True, slots=True)
class ProfileView:
    """The profiles of a scope's people, and the same as compact text within a budget."""

    profiles: tuple[Profile, ...]
    text: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a batch verb (``delete_many``, ``restore_many``, ``update_many``) chose: ``count``
    memories and their ids (on a dry run, only the first ``write.batch.SHOWN_IDS``). With
    ``dry_run`` nothing was changed."""

    count: int
    ids: tuple[str, ...]
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "ids": list(self.ids), "dry_run": self.dry_run}
