"""The verbs of memstrata, declared once: what each takes, what it returns, what it does.

``Verbs`` is the declaration. Each method is one verb: its parameters with their types and
defaults, its result and its documentation; the scope a call acts on is one field, ``**scope``
(``user_id``, ``agent_id``, ``run_id``: at least one). ``VERBS`` is the same as data, for the
faces to walk.

``Memory`` implements every verb once. The rest is derived from this declaration:
``threaded`` makes the asyncio twin of a verb (``AsyncMemory``, ``AsyncRemoteMemory``: the
synchronous verb on a worker thread), ``forwarded`` the verb of a client that hands a
``Request`` to a ``Transport`` (``RemoteMemory`` over HTTP, as httpx separates a client from its
transport). The REST routes, the MCP tools and the CLI commands keep only what is their own
(paths and statuses, tool descriptions, output formats); a convention test walks ``VERBS`` and
checks that every face exposes every verb with the same parameters, or says why not.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import inspect
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Concatenate, ParamSpec, Protocol, Self, TypedDict, TypeVar, Unpack, cast

from memstrata.errors import InvalidInputError
from memstrata.options import Extraction
from memstrata.ports import Clock, Entity, EntityView, Link
from memstrata.results import BatchResult, FeedbackResult, Person, PipelineReport, ProfileView
from memstrata.types import (
    AddResult,
    Change,
    Filters,
    HistoryEvent,
    Layer,
    MemoryKind,
    MemoryRecord,
    MemoryState,
    Message,
    Page,
    Scope,
    SearchResult,
    as_utc,
)
from memstrata.where import Expr, parse

P = ParamSpec("P")
T = TypeVar("T")
C = TypeVar("C", bound=Callable[..., Any])

#: A message as a verb takes it: a ``Message``, its text, or a mapping of its fields.
MessageInput = Message | str | Mapping[str, Any]
#: A time as a verb takes it: a ``datetime``, an ISO 8601 string or a Unix timestamp.
TimeInput = datetime | str | float | None
#: A ``where`` filter as a verb takes it: its JSON form or a parsed ``memstrata.where`` tree
#: (docs/filters.md).
WhereInput = Mapping[str, Any] | Expr | None
#: The fields of a scope, in the order every face names them.
SCOPE_FIELDS = ("user_id", "agent_id", "run_id")


class ScopeArgs(TypedDict, total=False):
    """Whose memory a call acts on: at least one of the three (see ``Scope``)."""

    user_id: str | None
    agent_id: str | None
    run_id: str | None


def scope_args(scope: Mapping[str, Any]) -> ScopeArgs:
    """A call's ``**scope``; a field that is not a scope field is refused as Python refuses an
    unknown keyword argument."""
    unknown = sorted(set(scope) - set(SCOPE_FIELDS))
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
    return cast(ScopeArgs, {f: scope[f] for f in SCOPE_FIELDS if f in scope})


def scope_of(scope: Mapping[str, Any], tenant: str) -> Scope:
    """The ``Scope`` a call's ``**scope`` names, inside ``tenant``."""
    return Scope(tenant=tenant, **scope_args(scope))


class Verbs(Protocol):
    """Every verb of memstrata, as ``Memory``, ``AsyncMemory`` (awaited) and ``RemoteMemory``
    take it."""

    def add(
        self,
        messages: MessageInput | Sequence[MessageInput],
        *,
        metadata: Mapping[str, Any] | None = None,
        timestamp: TimeInput = None,
        extraction: Extraction | Mapping[str, Any] | None = None,
        expires_at: TimeInput = None,
        **scope: Unpack[ScopeArgs],
    ) -> AddResult:
        """Remember messages: each becomes an ``episode`` memory whose sources is its id.

        ``messages`` is a string, a message mapping (``text``/``content``, ``role``,
        ``speaker``, ``id``, ``timestamp``, ``metadata``), a ``Message``, or a list of them. A
        message id already stored in this scope is reported in ``duplicates``, not stored again.
        Nothing is written unless every message is valid. A message that gives orders to an
        assistant is kept as a quotation from its speaker, flagged ``instruction``.

        With an ``llm``, the messages are then distilled into ``fact`` memories, one model call
        per batch of messages; a model that fails never fails ``add`` (see ``reprocess``).
        ``extraction`` gives the batches this call runs rules of their own (see
        ``set_extraction``).

        ``expires_at`` (else the time-to-live of the kind, ``Memory(ttl=…)``) is when the new
        memories stop being recalled: they then read as archived, never deleted
        (docs/expiry.md).
        """
        ...

    def set_extraction(
        self,
        extraction: Extraction | Mapping[str, Any] | None,
        **scope: Unpack[ScopeArgs],
    ) -> None:
        """Give a scope extraction rules of its own, kept in the store: ``instructions`` in
        the application's words ("only remember the user's health and schedule"), topics to
        keep to (``include``) or leave out (``exclude``), and ``categories`` (label:
        description) that facts are labelled with in ``metadata["categories"]``. ``None``
        returns the scope to the ``Memory``'s rules (``PipelineConfig.extraction``). The rules'
        ``version`` is recorded with every fact they extract."""
        ...

    def extraction(self, **scope: Unpack[ScopeArgs]) -> Extraction | None:
        """The extraction rules that apply to a scope: its own, else the ``Memory``'s."""
        ...

    def remember(
        self,
        text: str,
        *,
        kind: MemoryKind = "fact",
        sources: Sequence[str] = (),
        actor: str | None = None,
        subject: str | None = None,
        keys: Sequence[str] = (),
        entities: Sequence[str] = (),
        valid_from: TimeInput = None,
        valid_to: TimeInput = None,
        importance: float = 0.5,
        metadata: Mapping[str, Any] | None = None,
        reason: str | None = None,
        prompt_version: str | None = None,
        expires_at: TimeInput = None,
        **scope: Unpack[ScopeArgs],
    ) -> MemoryRecord:
        """Store a memory that is not a message: a fact, summary or thought drawn from stored
        messages, or a procedure or working note of the caller's own.

        ``sources`` are ids of messages already stored in this scope; an unknown id is an
        error, so provenance always points at something real. A fact, summary or thought is
        *derived* and must cite at least one message, and its text may not give orders to an
        assistant (``InvalidInputError``; store such words with ``add``, which keeps them as a
        quotation flagged ``instruction``). A ``procedure`` or ``working`` note is what the
        caller states for itself and needs no source (see ``write.episodes.DERIVED_KINDS``).
        ``expires_at`` is as in ``add``.
        """
        ...

    def reprocess(
        self,
        *,
        dry_run: bool = False,
        **scope: Unpack[ScopeArgs],
    ) -> PipelineReport:
        """Run the LLM write path over the messages of a scope (and its sub-scopes) that it has
        not done: those added without a model, those whose batch failed, and those waiting for
        a full batch. Running it again does nothing new. ``dry_run`` only counts them."""
        ...

    def update(
        self,
        memory_id: str,
        text: str | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        valid_from: TimeInput = None,
        valid_to: TimeInput = None,
        expected_version: int | None = None,
        reason: str | None = None,
        expires_at: TimeInput = None,
        **scope: Unpack[ScopeArgs],
    ) -> MemoryRecord:
        """Write a new version of a memory; the old version is kept (see ``versions``).

        Give ``expected_version`` to fail with ``ConflictError`` instead of overwriting a
        change made since you read the memory. A fact, summary or thought is not given text that
        gives orders to an assistant (``InvalidInputError``, as in ``remember``). ``expires_at``
        sets when the memory stops being recalled (docs/expiry.md).
        """
        ...

    def delete(
        self,
        memory_id: str,
        *,
        reason: str | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> MemoryRecord:
        """Soft-delete: the memory leaves search and listings but can be restored until purged."""
        ...

    def restore(
        self,
        memory_id: str,
        *,
        reason: str | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> MemoryRecord:
        """Bring a deleted or archived memory back to active (an expiry that has passed is
        cleared, in a new version)."""
        ...

    def archive(
        self,
        memory_id: str,
        *,
        reason: str | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> MemoryRecord:
        """Archive: out of default search, kept, restorable."""
        ...

    def delete_many(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: WhereInput = None,
        states: Sequence[MemoryState] | None = None,
        dry_run: bool = False,
        reason: str | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> BatchResult:
        """Soft-delete many memories at once, by ``ids`` or by a ``where`` filter (docs/
        filters.md) among ``states`` (default active and archived), in one transaction; each
        stays restorable (``restore_many``) until purged, and each is a change in the feed.
        ``dry_run`` only counts them (and lists the first ids). A batch changes at most 1,000
        memories: a filter that matches more is refused (narrow it)."""
        ...

    def restore_many(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: WhereInput = None,
        states: Sequence[MemoryState] | None = None,
        dry_run: bool = False,
        reason: str | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> BatchResult:
        """Bring many deleted or archived memories back to active, by ``ids`` or by a ``where``
        filter among ``states`` (default deleted and archived), chosen as ``delete_many``
        chooses; an expiry that has passed is cleared, in a new version."""
        ...

    def update_many(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: WhereInput = None,
        states: Sequence[MemoryState] | None = None,
        metadata: Mapping[str, Any] | None = None,
        valid_from: TimeInput = None,
        valid_to: TimeInput = None,
        expires_at: TimeInput = None,
        dry_run: bool = False,
        reason: str | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> BatchResult:
        """Write a new version of many memories at once, by ``ids`` or by a ``where`` filter
        among ``states`` (default active), in one transaction; every old version is kept.
        ``metadata`` is merged into each memory's own (a key set to None is removed);
        ``valid_from``, ``valid_to`` and ``expires_at`` are set. ``dry_run`` only counts them."""
        ...

    def purge(
        self,
        memory_id: str,
        *,
        confirm: bool = False,
        **scope: Unpack[ScopeArgs],
    ) -> None:
        """Erase a memory with its versions and history, for good. Needs ``confirm=True``."""
        ...

    def reset(
        self,
        *,
        confirm: bool = False,
        all_users: bool = False,
        **scope: Unpack[ScopeArgs],
    ) -> int:
        """Erase every memory and message of a scope. Needs ``confirm=True``.

        A scope without ``user_id`` matches the memories of every user of that agent or run;
        when they belong to more than one user, the reset also needs ``all_users=True``."""
        ...

    def search(
        self,
        query: str,
        *,
        limit: int | None = None,
        filters: Filters | None = None,
        kinds: Sequence[MemoryKind] | None = None,
        states: Sequence[MemoryState] | None = None,
        layers: Sequence[Layer] | None = None,
        since: TimeInput = None,
        until: TimeInput = None,
        metadata: Mapping[str, Any] | None = None,
        as_of: TimeInput = None,
        budget: int | None = None,
        where: WhereInput = None,
        history: bool = False,
        **scope: Unpack[ScopeArgs],
    ) -> SearchResult:
        """The memories that best answer ``query``, best first, each with the signals that
        found it. ``since``/``until`` bound event time; ``metadata`` matches by equality;
        ``where`` is a filter expression over any field and metadata key (docs/filters.md).
        Memories that have expired read as archived, and facts whose ``valid_to`` has passed
        are left out, unless ``history`` is true (docs/expiry.md).

        Facts that a later fact contradicted (``expired_at`` passed) are left out. ``as_of``
        searches memory as it stood at that moment (system time): the versions then current,
        the facts then believed.

        ``budget`` (characters) returns what fits in a prompt of that size: the hits' contexts
        together stay within it, and a hit may carry only the sentences of its memory that
        answer (``Hit.excerpt``), so the budget holds more of what matters. ``limit`` caps the
        number of hits: 10 when not given, but with a budget only when given (the budget
        decides how many fit). A message its speaker sent again within one session (the same
        text, three words or more) comes once, and a stored question that asks what ``query``
        asks comes after the rest: it is the question, not its answer.

        A read-only store is searched all the same, but keeps no record of the search, so
        ``feedback`` cannot refer to it."""
        ...

    def feedback(
        self,
        search_id: str,
        used: Sequence[str],
        unused: Sequence[str] | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> FeedbackResult:
        """Say which memories of a search the answer used (RMM's retrospective reflection).

        Used memories grow stronger (and climb layers with repeated use); the reranker learns
        that used memories beat the ``unused`` ones (by default, the rest of that search), and
        the used ones rise for questions like that search's, not for others.
        A read-only store keeps no searches and learns nothing: ``ReadOnlyStoreError``.
        """
        ...

    def maintain(
        self,
        *,
        dry_run: bool = False,
        **scope: Unpack[ScopeArgs],
    ) -> builtins.list[str]:
        """Archive the memories of a scope that have expired (``expires_at`` passed) or faded
        (retention below the threshold).

        Archived memories leave default search; nothing is deleted and ``restore`` brings them
        back. Call it on a schedule (or ``memstrata maintain``); returns the ids archived.
        """
        ...

    def get(
        self,
        memory_id: str,
        *,
        as_of: TimeInput = None,
        **scope: Unpack[ScopeArgs],
    ) -> MemoryRecord:
        """One memory by id, in any state; ``NotFoundError`` when it is not in this scope.
        ``as_of`` gives the version that was current at that moment (system time)."""
        ...

    def list(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        filters: Filters | None = None,
        kinds: Sequence[MemoryKind] | None = None,
        states: Sequence[MemoryState] | None = None,
        layers: Sequence[Layer] | None = None,
        since: TimeInput = None,
        until: TimeInput = None,
        metadata: Mapping[str, Any] | None = None,
        where: WhereInput = None,
        history: bool = False,
        **scope: Unpack[ScopeArgs],
    ) -> Page:
        """Memories of a scope, newest first, one page at a time (pass ``next_cursor`` back).
        ``where`` is a filter expression over any field and metadata key (docs/filters.md).
        Memories that have expired read as archived, and facts whose ``valid_to`` has passed
        are left out, unless ``history`` is true (docs/expiry.md)."""
        ...

    def versions(
        self,
        memory_id: str,
        **scope: Unpack[ScopeArgs],
    ) -> builtins.list[MemoryRecord]:
        """Every version of a memory, oldest first; the last is the current one."""
        ...

    def history(
        self,
        memory_id: str,
        **scope: Unpack[ScopeArgs],
    ) -> builtins.list[HistoryEvent]:
        """Every change to a memory, oldest first: operation, time, reason, prompt version."""
        ...

    def sources(
        self,
        memory_id: str,
        **scope: Unpack[ScopeArgs],
    ) -> builtins.list[Message]:
        """The original messages a memory came from, with speaker and time."""
        ...

    def scopes(self) -> builtins.list[dict[str, Any]]:
        """The scopes of this tenant with their memory counts."""
        ...

    def people(self, **scope: Unpack[ScopeArgs]) -> builtins.list[Person]:
        """The people who speak in a scope, most talkative first, each with the other names
        they go by (learned from how the others address them: "hey Kate!" said to the speaker
        labelled "Emi") and the messages each name was said in. The scope is read exactly as
        messages were added to it."""
        ...

    def profile(
        self,
        *,
        person: str | None = None,
        budget: int = 2000,
        **scope: Unpack[ScopeArgs],
    ) -> ProfileView:
        """What the people of a scope have said about themselves ("I live in…", "my sister
        is…", "I'm allergic to…"): for each person, the names they go by (``people``), the
        traits that hold now, each with its value, since when and the messages that say it,
        and the superseded ones (a move ends the old home, it does not erase it). ``person``
        (a name or alias) picks one person; ``text`` is the whole as compact lines within
        ``budget`` characters, for a prompt."""
        ...

    def changes(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        **scope: Unpack[ScopeArgs],
    ) -> builtins.list[Change]:
        """The changes to this tenant's memories after change ``after``, oldest first: every
        add, update, invalidation, deletion, restore, archive, purge and import, with the
        memory's id, version and scope. With a scope, only the changes of memories it covers;
        without one, the whole tenant's. Resume from the last ``Change.id`` seen; ``follow``
        waits for new ones."""
        ...

    def export(
        self,
        out: str | Path | IO[str],
        **scope: Unpack[ScopeArgs],
    ) -> int:
        """Write a scope as JSON Lines (messages with the LLM write path's status of each,
        memories, versions, history, links and the entity graph, then each scope's own
        extraction rules and what feedback taught it); return the number of memories written."""
        ...

    def import_(self, source: str | Path | IO[str]) -> int:
        """Read a JSON Lines export into this tenant; return the number of memories imported.

        Every line is held to the rules of the verbs that write the same records (limits,
        ranges, provenance, the poisoning guard: see ``write.importing``) before anything is
        written; a line that fails, or an id that already exists, writes nothing at all, and
        the error names the line. An episode is guarded as ``add`` guards it. A file memstrata
        exported imports unchanged. The scopes' people tables and profiles are learned from
        the imported memories as ``add`` learns them (an export does not hold them). A scope's
        extraction rules and what feedback taught it are written where this store has none of
        its own.
        """
        ...

    # -- the graph ------------------------------------------------------------------------------
    def links(
        self, memory_id: str, **scope: Unpack[ScopeArgs]
    ) -> builtins.list[tuple[Link, MemoryRecord]]:
        """The memories linked to a memory (A-MEM notes: ``related``, ``supersedes``), oldest
        link first, each with its link."""
        ...

    def entities(self, *, limit: int = 100, **scope: Unpack[ScopeArgs]) -> builtins.list[Entity]:
        """The entities a scope's memories name (people, places, things), most mentioned
        first."""
        ...

    def about(self, name: str, *, limit: int = 20, **scope: Unpack[ScopeArgs]) -> EntityView | None:
        """What a scope's memory holds about one entity: the entity, the relations it takes
        part in and the memories that name it; ``None`` when the scope names none such."""
        ...


class Facade(Verbs, Protocol):
    """A synchronous memory that what is built on the verbs needs (``WorkingMemory``,
    ``reflect``, the graph views): its verbs, its tenant and its clock."""

    @property
    def tenant(self) -> str: ...

    @property
    def clock(self) -> Clock: ...

    def close(self) -> None: ...


def merge_filters(
    filters: Filters | None,
    kinds: Sequence[MemoryKind] | None,
    states: Sequence[MemoryState] | None,
    layers: Sequence[Layer] | None,
    since: TimeInput,
    until: TimeInput,
    metadata: Mapping[str, Any] | None,
    where: WhereInput = None,
) -> Filters:
    """``filters`` with the fields the keyword arguments give in its place; its ``where``
    parsed (``InvalidInputError`` saying where and why it is wrong)."""
    base = filters or Filters()
    changes: dict[str, Any] = {}
    if where is not None:
        changes["where"] = parse(where)
    elif base.where is not None:
        changes["where"] = parse(base.where)
    if kinds is not None:
        changes["kinds"] = tuple(kinds)
    if states is not None:
        changes["states"] = tuple(states)
    if layers is not None:
        changes["layers"] = tuple(layers)
    if since is not None:
        changes["since"] = as_utc(since, "since")
    if until is not None:
        changes["until"] = as_utc(until, "until")
    if metadata is not None:
        changes["metadata"] = dict(metadata)
    return replace(base, **changes) if changes else base


def blocking(memory: AnyMemory) -> Facade:
    """The synchronous face of ``memory``: itself, or the memory an asyncio twin runs on its
    worker thread (``AsyncMemory.sync``). What is built on the verbs takes any of them this
    way; with an asyncio twin its calls block, so run them with ``asyncio.to_thread``."""
    sync = getattr(memory, "sync", None)
    found = memory if sync is None else sync
    if not all(callable(getattr(found, name, None)) for name in VERBS):
        raise TypeError(
            f"expected a Memory, an AsyncMemory or a RemoteMemory, not {type(memory).__name__}"
        )
    return found  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Verb:
    """One verb as data: its name, its parameters (the scope left out), whether it takes a
    scope, and its documentation."""

    name: str
    parameters: tuple[inspect.Parameter, ...]
    scoped: bool
    doc: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)


def _verb(name: str) -> Verb:
    signature = inspect.signature(getattr(Verbs, name))
    params = [p for p in signature.parameters.values() if p.name != "self"]
    scoped = any(p.kind is p.VAR_KEYWORD for p in params)
    doc = inspect.getdoc(getattr(Verbs, name)) or ""
    return Verb(name, tuple(p for p in params if p.kind is not p.VAR_KEYWORD), scoped, doc)


#: Every verb, in the order the declaration gives them.
VERBS: dict[str, Verb] = {
    name: _verb(name)
    for name, member in vars(Verbs).items()
    if callable(member) and not name.startswith("_")
}


def documented(cls: type[T]) -> type[T]:
    """Give each verb ``cls`` defines the declaration's documentation (an implementation
    states its logic; what the verb means is said once, here)."""
    for name, verb in VERBS.items():
        method = vars(cls).get(name)
        if method is not None and not method.__doc__:
            method.__doc__ = verb.doc
    return cls


def _like(call: C, verb: Callable[..., Any]) -> C:
    """``call`` named, documented and signed as the declared ``verb``."""
    functools.update_wrapper(
        call, verb, assigned=("__module__", "__name__", "__doc__", "__annotations__")
    )
    call.__qualname__ = verb.__name__
    call.__signature__ = inspect.signature(verb)  # type: ignore[attr-defined]
    return call


def threaded(
    verb: Callable[Concatenate[Any, P], T],
) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, T]]:
    """The asyncio twin of a verb: ``self.sync``'s verb, run on a worker thread."""
    name = verb.__name__

    async def call(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(getattr(self.sync, name), *args, **kwargs)

    return _like(call, verb)


#: How many changes ``follow`` reads at once.
FOLLOW_PAGE = 1000


def _check_poll(poll: float) -> None:
    if isinstance(poll, bool) or not isinstance(poll, int | float) or poll <= 0:
        raise InvalidInputError("poll must be a positive number of seconds")


def follow(
    self: Verbs,
    *,
    after: int = 0,
    poll: float = 0.5,
    until: Callable[[], bool] | None = None,
    **scope: Unpack[ScopeArgs],
) -> Iterator[Change]:
    """Every change after ``after``, then each new one as it is written (by any process on the
    same store), checking every ``poll`` seconds; stops when ``until()`` returns true (checked
    between polls), else runs for as long as it is iterated. Built on ``changes``, so every
    memory has it (``Memory``, ``RemoteMemory``; awaited ones iterate with ``async for``)."""
    _check_poll(poll)
    while True:
        found = self.changes(after=after, limit=FOLLOW_PAGE, **scope)
        yield from found
        if found:
            after = found[-1].id
        if until is not None and until():
            return
        if len(found) < FOLLOW_PAGE:
            time.sleep(poll)


class AsyncVerbs:
    """The asyncio twin of a synchronous memory, ``sync``: every verb, awaited, runs ``sync``'s
    on a worker thread. It holds no logic (``AsyncMemory``, ``AsyncRemoteMemory``)."""

    sync: Facade

    @property
    def tenant(self) -> str:
        return self.sync.tenant

    add = threaded(Verbs.add)
    remember = threaded(Verbs.remember)
    reprocess = threaded(Verbs.reprocess)
    update = threaded(Verbs.update)
    delete = threaded(Verbs.delete)
    restore = threaded(Verbs.restore)
    archive = threaded(Verbs.archive)
    delete_many = threaded(Verbs.delete_many)
    restore_many = threaded(Verbs.restore_many)
    update_many = threaded(Verbs.update_many)
    purge = threaded(Verbs.purge)
    reset = threaded(Verbs.reset)
    search = threaded(Verbs.search)
    feedback = threaded(Verbs.feedback)
    maintain = threaded(Verbs.maintain)
    get = threaded(Verbs.get)
    list = threaded(Verbs.list)
    versions = threaded(Verbs.versions)
    history = threaded(Verbs.history)
    sources = threaded(Verbs.sources)
    scopes = threaded(Verbs.scopes)
    people = threaded(Verbs.people)
    profile = threaded(Verbs.profile)
    changes = threaded(Verbs.changes)
    set_extraction = threaded(Verbs.set_extraction)
    extraction = threaded(Verbs.extraction)
    export = threaded(Verbs.export)
    import_ = threaded(Verbs.import_)
    links = threaded(Verbs.links)
    entities = threaded(Verbs.entities)
    about = threaded(Verbs.about)

    async def follow(
        self,
        *,
        after: int = 0,
        poll: float = 0.5,
        until: Callable[[], bool] | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> AsyncIterator[Change]:
        """``follow`` without blocking the event loop."""
        _check_poll(poll)
        while True:
            found = await self.changes(after=after, limit=FOLLOW_PAGE, **scope)
            for change in found:
                yield change
            if found:
                after = found[-1].id
            if until is not None and until():
                return
            if len(found) < FOLLOW_PAGE:
                await asyncio.sleep(poll)

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


#: What is built on the verbs takes: a synchronous memory or an asyncio twin (see ``blocking``).
AnyMemory = Facade | AsyncVerbs


@dataclass(frozen=True, slots=True)
class Request:
    """One call of a verb: its arguments by name (the defaults filled in) and its scope."""

    verb: str
    arguments: dict[str, Any]
    scope: ScopeArgs = field(default_factory=lambda: ScopeArgs())


class Transport(Protocol):
    """What carries a ``Request`` to a memory and its result back: one method."""

    def handle(self, request: Request) -> Any: ...

    def close(self) -> None: ...


def forwarded(verb: Callable[Concatenate[Any, P], T]) -> Callable[Concatenate[Any, P], T]:
    """A verb of a client: the call bound to the declaration, as a ``Request`` handed to
    ``self.transport``."""
    name = verb.__name__
    signature = inspect.signature(verb)

    def call(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> T:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        del arguments["self"]
        scope = scope_args(arguments.pop("scope", {}))
        result: T = self.transport.handle(Request(name, arguments, scope))
        return result

    return _like(call, verb)


__all__ = [
    "SCOPE_FIELDS",
    "VERBS",
    "AnyMemory",
    "AsyncVerbs",
    "Facade",
    "MessageInput",
    "Request",
    "ScopeArgs",
    "TimeInput",
    "Transport",
    "Verb",
    "Verbs",
    "WhereInput",
    "blocking",
    "documented",
    "follow",
    "forwarded",
    "merge_filters",
    "scope_args",
    "scope_of",
    "threaded",
]
