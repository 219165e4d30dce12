"""memstrata's verbs as agent tools, bound to one memory and one scope, for every framework.

``MemoryTools.functions()`` lists plain functions with typed parameters and a docstring written
for the model; each framework module turns them into its own tool type, so the tools read the
same everywhere. A verb added here (a user profile, when the library grows one) reaches every
framework at once: add the method and list it in ``functions``.

The scope is fixed by the application, never chosen by the model: a tool call can only read
and write the memories of the user (agent, run) the tools were made for.

What a model (or, through a store, an application) states is written the way the library asks
(``write_statement``): as a message through ``add``, whose source is the message itself and from
which a configured language model extracts facts; or as a ``procedure`` or ``working`` note,
which needs no source. A fact, summary or thought is derived from stored messages and cites
them, so no tool or store writes one directly (``check_kind``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypedDict, TypeVar, Unpack

from memstrata.api import SCOPE_FIELDS, Facade, ScopeArgs, TimeInput, blocking
from memstrata.errors import InvalidInputError, MemstrataError
from memstrata.memory import AsyncMemory, Memory
from memstrata.types import KINDS, MemoryKind, MemoryRecord, Scope, SearchResult
from memstrata.write.episodes import DERIVED_KINDS

if TYPE_CHECKING:
    from memstrata.remote import RemoteMemory


P = ParamSpec("P")
T = TypeVar("T")

#: What to tell a model about the tools, for a framework that takes instructions with them.
INSTRUCTIONS = (
    "You have a long-term memory. Call search_memories before answering anything that may "
    "depend on an earlier conversation; call remember when the user tells you something worth "
    "keeping (a fact about them, a preference, a decision)."
)

#: What the search tool looks through by default: every kind but ``working`` (a task's
#: scratch notes, and the steps of a run that a session keeps).
LONG_TERM: tuple[MemoryKind, ...] = ("episode", "fact", "summary", "thought", "procedure")


#: Who speaks in the messages the tools and stores write: the model, or the application for it.
ROLE = "assistant"


class SearchArgs(TypedDict, total=False):
    limit: int
    budget: int


def scope_args(user_id: str | None, agent_id: str | None, run_id: str | None) -> ScopeArgs:
    """The scope keywords, checked now (``ScopeRequiredError`` when none is given)."""
    Scope(user_id=user_id, agent_id=agent_id, run_id=run_id)
    return {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}


def same_scope(record: MemoryRecord, scope: Mapping[str, object]) -> bool:
    """Whether ``record`` is stored exactly under ``scope`` (not in a narrower one: a scope
    filter also matches those)."""
    return all(getattr(record.scope, name) == scope.get(name) for name in SCOPE_FIELDS)


def search_args(limit: int | None, budget: int | None) -> SearchArgs:
    """``limit`` and ``budget`` for ``search``, leaving out what is not set so the library's
    own default applies (with a budget, the budget decides how many hits fit)."""
    args: SearchArgs = {}
    if limit is not None:
        args["limit"] = limit
    if budget is not None:
        args["budget"] = budget
    return args


def check_kind(kind: MemoryKind) -> MemoryKind:
    """The kind of memory a tool or store writes: ``episode`` (a message, through ``add``), or
    ``procedure`` or ``working`` (a note, through ``remember``). A derived kind is refused."""
    if kind not in KINDS:
        raise InvalidInputError(f"unknown kind {kind!r}; expected one of {KINDS}")
    if kind in DERIVED_KINDS:
        raise InvalidInputError(
            f"kind={kind!r}: a {kind} is derived from stored messages and cites them, so it is "
            "not written from a statement. Keep kind='episode' (the default) to store what is "
            "stated as a message through add(), from which a configured language model "
            "extracts facts, or use 'procedure' or 'working' for a note that needs no source"
        )
    return kind


def write_statement(
    memory: Facade,
    text: str,
    *,
    kind: MemoryKind,
    scope: ScopeArgs,
    metadata: Mapping[str, Any] | None = None,
    valid_from: TimeInput = None,
) -> MemoryRecord:
    """Store what a model or an application states, as ``kind`` (see ``check_kind``): an
    ``episode`` is a message from ``ROLE`` (its time is when it was added), any other kind a
    note valid from ``valid_from``."""
    if kind == "episode":
        (record,) = memory.add({"text": text, "role": ROLE}, metadata=metadata, **scope).added
        return record
    return memory.remember(text, kind=kind, metadata=metadata, valid_from=valid_from, **scope)


def render_hits(result: SearchResult) -> str:
    """Search hits as the text a model reads: one line per memory, best first, each with its
    date, who said it and its id."""
    if not result.hits:
        return f"No memories match {result.query!r}."
    lines = [f"Memories for {result.query!r}, best first:"]
    lines += [f"- {hit.context} [id {hit.id}]" for hit in result.hits]
    return "\n".join(lines)


def tool_error(exc: MemstrataError) -> str:
    """A failed call as the model reads it, so it can correct its arguments."""
    return f"error ({exc.code}): {exc}"


def to_thread(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """``fn`` as a coroutine function run on a worker thread, with its name, docstring and
    signature (frameworks read the schema of a tool from them)."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    return run


@dataclass(frozen=True)
class MemoryTools:
    """The memory tools an agent gets, for one scope.

    ``limit`` and ``budget`` shape every search (``None``: the library's default), which
    looks through ``kinds``. ``remember`` writes what the model states, with ``metadata``:
    as a message from the assistant (``kind="episode"``, the default), or as a ``procedure``
    or ``working`` note; a derived kind (fact, summary, thought) is refused here.
    """

    memory: Facade
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    limit: int | None = None
    budget: int | None = None
    kinds: Sequence[MemoryKind] | None = LONG_TERM
    kind: MemoryKind = "episode"
    metadata: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        scope_args(self.user_id, self.agent_id, self.run_id)
        check_kind(self.kind)

    @property
    def scope(self) -> ScopeArgs:
        return scope_args(self.user_id, self.agent_id, self.run_id)

    def search_memories(self, query: str) -> str:
        """Search long-term memory for what the user said or what was learned before: the
        memories that best answer the query, best first, each with its date and who said it.
        Call it before answering anything that may depend on an earlier conversation.

        Args:
            query: What to look for, in plain words: a question or a few keywords.
        """
        try:
            result = self.memory.search(
                query, **self.scope, kinds=self.kinds, **search_args(self.limit, self.budget)
            )
        except MemstrataError as exc:
            return tool_error(exc)
        return render_hits(result)

    def remember(self, text: str) -> str:
        """Keep something worth remembering in long-term memory: a fact about the user, a
        preference, a decision. Write it as one self-contained sentence.

        Args:
            text: What to remember, e.g. "Ada is allergic to peanuts".
        """
        try:
            record = write_statement(
                self.memory, text, kind=self.kind, scope=self.scope, metadata=self.metadata
            )
        except MemstrataError as exc:
            return tool_error(exc)
        return f"Remembered [id {record.id}]: {record.text}"

    def functions(self) -> list[Callable[..., str]]:
        """The tools, as plain functions: the framework modules wrap each of them."""
        return [self.search_memories, self.remember]

    def async_functions(self) -> list[Callable[..., Awaitable[str]]]:
        """The same tools as coroutine functions that run the store's work on a thread."""
        return [to_thread(fn) for fn in self.functions()]


class ToolOptions(TypedDict, total=False):
    """What the framework modules' ``memstrata_tools`` take besides the memory: the scope
    (one of ``user_id``, ``agent_id``, ``run_id`` at least) and ``MemoryTools``' options."""

    user_id: str | None
    agent_id: str | None
    run_id: str | None
    limit: int | None
    budget: int | None
    kinds: Sequence[MemoryKind] | None
    kind: MemoryKind
    metadata: Mapping[str, Any] | None


def memory_tools(
    memory: Memory | AsyncMemory | RemoteMemory, **options: Unpack[ToolOptions]
) -> MemoryTools:
    """``MemoryTools`` over any memory (an ``AsyncMemory`` gives its synchronous twin)."""
    return MemoryTools(blocking(memory), **options)
