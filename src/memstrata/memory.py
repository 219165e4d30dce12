"""``Memory`` and ``AsyncMemory``: the public library, orchestration only.

``Memory`` composes a ``Store``, an optional ``Embedder`` and a ``Clock``; each verb checks its
input, calls the pure stages in ``write/`` or ``read/`` and hands the result to the store.
``AsyncMemory`` runs the same methods on a worker thread and holds no logic of its own.
"""

from __future__ import annotations

import asyncio
import builtins
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ParamSpec, TypeVar

from memstrata.errors import (
    ConfigurationError,
    ConfirmationRequiredError,
    EmbedderMismatchError,
    InvalidInputError,
    NotFoundError,
    ReadOnlyStoreError,
)
from memstrata.lifecycle import learning
from memstrata.ports import LLM, Clock, Embedder, Store, SystemClock
from memstrata.read.engine import configure as configure_read_cache
from memstrata.read.pack import fit_budget
from memstrata.read.rerank import LinearReranker
from memstrata.read.search import Retrieval, preset, search_records
from memstrata.read.search import search as run_search
from memstrata.settings import Settings
from memstrata.stores import codec, open_store
from memstrata.types import (
    DEFAULT_TENANT,
    AddResult,
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
    check_metadata,
    check_text,
    new_id,
)
from memstrata.write import importing
from memstrata.write.episodes import (
    check_derived_text,
    derived_record,
    episode_records,
    index_text,
    prepare_messages,
)
from memstrata.write.guard import guard_episodes
from memstrata.write.pipeline import Pipeline, PipelineConfig, PipelineReport

if TYPE_CHECKING:
    from memstrata.llms import OpenAICompatLLM

P = ParamSpec("P")
T = TypeVar("T")

MessageInput = Message | str | Mapping[str, Any]
TimeInput = datetime | str | float | None

#: The largest number of hits one search may return.
MAX_LIMIT = 1000
#: How many hits a search without a budget returns when no ``limit`` is given.
DEFAULT_LIMIT = 10
#: The largest context budget a search packs, in characters.
MAX_BUDGET = 1_000_000
#: How many source ids an import asks the store about at once.
_SOURCE_BATCH = 500


def _make_embedder(spec: Embedder | str | None) -> Embedder | None:
    if spec is None or not isinstance(spec, str):
        return spec
    from memstrata.embedders import make_embedder

    return make_embedder(spec)


def _check_count(value: object, what: str, most: int) -> None:
    """``value`` must be an integer from 1 to ``most`` (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise InvalidInputError(f"{what} must be an integer from 1 to {most}")


def _filters(
    filters: Filters | None,
    kinds: Sequence[MemoryKind] | None,
    states: Sequence[MemoryState] | None,
    layers: Sequence[Layer] | None,
    since: TimeInput,
    until: TimeInput,
    metadata: Mapping[str, Any] | None,
) -> Filters:
    base = filters or Filters()
    changes: dict[str, Any] = {}
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


class Memory:
    """Long-term memory for an agent, in one store.

    >>> mem = Memory("memories.db", embedder="hashing")           # doctest: +SKIP
    >>> mem.add("I moved to Lisbon in May", user_id="ada")        # doctest: +SKIP
    >>> mem.search("where does Ada live", user_id="ada")[0].text  # doctest: +SKIP
    'I moved to Lisbon in May'

    ``store`` is a ``Store``, a path or a URL; ``None`` means the default file in the user's data
    directory. ``embedder`` is an ``Embedder``, a spec such as ``"minilm"`` or ``"hashing"``, or
    ``None`` for keyword search only. Every call names its scope with ``user_id``, ``agent_id``
    and/or ``run_id``; ``tenant`` is the outer boundary the server uses for API keys.
    ``llm`` (an ``LLM``, such as ``memstrata.llms.OpenAICompatLLM``) turns on the LLM write
    path: ``add`` also extracts facts and consolidates them (see ``docs/llm-pipeline.md``);
    ``pipeline`` tunes it.
    """

    def __init__(
        self,
        store: Store | str | Path | None = None,
        *,
        embedder: Embedder | str | None = "minilm",
        retriever: str | Retrieval = "default",
        clock: Clock | None = None,
        tenant: str = DEFAULT_TENANT,
        llm: LLM | None = None,
        pipeline: PipelineConfig | None = None,
    ) -> None:
        if store is None:
            from memstrata.settings import default_db_path

            store = default_db_path()
        self.store: Store = open_store(store) if isinstance(store, str | Path) else store
        self.embedder = _make_embedder(embedder)
        self.retrieval = preset(retriever) if isinstance(retriever, str) else retriever
        self.clock: Clock = clock or SystemClock()
        self.tenant = tenant
        Scope(user_id="-", tenant=tenant)  # validates the tenant
        if self.embedder is not None:
            self._check_embedder(self.embedder)
        self._reranker_base = LinearReranker(
            weights={"fused": 1.0, "retention": self.retrieval.retention_weight}
        )
        self.llm = llm
        self._owned_llm: OpenAICompatLLM | None = None
        self.pipeline = Pipeline(self.store, self.embedder, llm, self.clock, pipeline)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> Memory:
        """A ``Memory`` configured from ``Settings`` (the environment when none is given)."""
        settings = settings or Settings.from_env()
        embedder: Embedder | str | None = settings.embedder
        if settings.embedder.startswith("openai:"):
            from memstrata.embedders import make_embedder

            embedder = make_embedder(settings.embedder, api_key=settings.embedder_api_key)
        if settings.embedder == "none":
            embedder = None
        options: dict[str, Any] = {
            "embedder": embedder,
            "retriever": settings.retriever,
            "tenant": settings.tenant,
        }
        owned = None
        if settings.llm_base_url and "llm" not in overrides:
            if not settings.llm_model:
                raise ConfigurationError(
                    "MEMSTRATA_LLM_BASE_URL is set but MEMSTRATA_LLM_MODEL is not: name the "
                    "model the server knows (for example gpt-4o-mini or qwen2.5:7b-instruct)"
                )
            from memstrata.llms import OpenAICompatLLM

            owned = OpenAICompatLLM(
                settings.llm_base_url, model=settings.llm_model, api_key=settings.llm_api_key
            )
            options["llm"] = owned
        options.update(overrides)
        configure_read_cache(terms_entries=settings.read_cache_mb * 128)
        store = open_store(settings.db, cache_bytes=settings.read_cache_mb * 2**20)
        memory = cls(store, **options)
        memory._owned_llm = owned
        return memory

    def _check_embedder(self, embedder: Embedder) -> None:
        info = self.store.embedder_info()
        if info is None:
            if not self.store.read_only:  # a read-only store records nothing
                self.store.set_embedder_info(embedder.name, embedder.dim)
        elif info != (embedder.name, embedder.dim):
            raise EmbedderMismatchError(
                f"this store was built with the embedder {info[0]} ({info[1]} dimensions), "
                f"not {embedder.name} ({embedder.dim}); open it with that embedder, or run "
                "`memstrata reembed` to re-embed every memory with the new one"
            )

    def _scope(self, user_id: str | None, agent_id: str | None, run_id: str | None) -> Scope:
        return Scope(user_id=user_id, agent_id=agent_id, run_id=run_id, tenant=self.tenant)

    def _embed_records(self, records: Sequence[MemoryRecord]) -> Any:
        if self.embedder is None or not records:
            return None
        return self.embedder.embed([index_text(r) for r in records], kind="document")

    # -- write ----------------------------------------------------------------------------------
    def add(
        self,
        messages: MessageInput | Sequence[MessageInput],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timestamp: TimeInput = None,
    ) -> AddResult:
        """Remember messages: each becomes an ``episode`` memory whose sources is its id.

        ``messages`` is a string, a message mapping (``text``/``content``, ``role``,
        ``speaker``, ``id``, ``timestamp``, ``metadata``), a ``Message``, or a list of them. A
        message id already stored in this scope is reported in ``duplicates``, not stored again.
        Nothing is written unless every message is valid. A message that gives orders to an
        assistant is kept as a quotation from its speaker, flagged ``instruction``.

        With an ``llm``, the messages are then distilled into ``fact`` memories, one model call
        per batch of messages; a model that fails never fails ``add`` (see ``reprocess``).
        """
        scope = self._scope(user_id, agent_id, run_id)
        batch = [messages] if isinstance(messages, str | bytes | Mapping | Message) else messages
        if not isinstance(batch, Sequence) or not batch:
            raise InvalidInputError("add needs at least one message")
        check_metadata(metadata)
        now = self.clock.now()
        prepared = prepare_messages(
            [Message.coerce(m) for m in batch], now=now, timestamp=as_utc(timestamp)
        )
        known = self.store.known_messages(scope, [m.id for m in prepared if m.id])
        fresh = [m for m in prepared if m.id not in known]
        records = guard_episodes(episode_records(scope, fresh, now=now, metadata=metadata))
        vectors = self._embed_records(records)
        self.store.add([(scope, m) for m in fresh], records, at=now, vectors=vectors)
        if self.llm is not None:
            self.pipeline.after_add(scope, fresh)
        return AddResult(
            added=tuple(records), duplicates=tuple(m.id for m in prepared if m.id in known)
        )

    def remember(
        self,
        text: str,
        *,
        kind: MemoryKind = "fact",
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
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
    ) -> MemoryRecord:
        """Store a memory that is not a message: a fact, summary or thought drawn from stored
        messages, or a procedure or working note of the caller's own.

        ``sources`` are ids of messages already stored in this scope; an unknown id is an
        error, so provenance always points at something real. A fact, summary or thought is
        *derived* and must cite at least one message, and its text may not give orders to an
        assistant (``InvalidInputError``; store such words with ``add``, which keeps them as a
        quotation flagged ``instruction``). A ``procedure`` or ``working`` note is what the
        caller states for itself and needs no source (see ``write.episodes.DERIVED_KINDS``).
        """
        scope = self._scope(user_id, agent_id, run_id)
        now = self.clock.now()
        record = derived_record(
            scope, text, kind=kind, now=now, sources=sources, actor=actor,
            subject=subject, keys=keys, entities=entities,
            valid_from=as_utc(valid_from, "valid_from"), valid_to=as_utc(valid_to, "valid_to"),
            importance=importance, metadata=metadata,
        )  # fmt: skip
        found = {m.id for m in self.store.get_messages(scope, list(record.sources))}
        missing = set(record.sources) - found
        if missing:
            raise InvalidInputError(
                f"unknown source message ids in scope {scope}: {', '.join(sorted(missing))}"
            )
        self.store.add(
            [], [record], at=now, vectors=self._embed_records([record]), reason=reason,
            prompt_version=prompt_version,
        )  # fmt: skip
        return record

    def reprocess(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        dry_run: bool = False,
    ) -> PipelineReport:
        """Run the LLM write path over the messages of a scope (and its sub-scopes) that it has
        not done: those added without a model, those whose batch failed, and those waiting for
        a full batch. Running it again does nothing new. ``dry_run`` only counts them."""
        scope = self._scope(user_id, agent_id, run_id)
        if self.llm is None and not dry_run:
            raise ConfigurationError(
                "reprocess needs a language model: pass llm= to Memory, or set "
                "MEMSTRATA_LLM_BASE_URL and MEMSTRATA_LLM_MODEL"
            )
        return self.pipeline.reprocess(scope, dry_run=dry_run)

    def update(
        self,
        memory_id: str,
        text: str | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        valid_from: TimeInput = None,
        valid_to: TimeInput = None,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        """Write a new version of a memory; the old version is kept (see ``versions``).

        Give ``expected_version`` to fail with ``ConflictError`` instead of overwriting a
        change made since you read the memory. A fact, summary or thought is not given text that
        gives orders to an assistant (``InvalidInputError``, as in ``remember``).
        """
        scope = self._scope(user_id, agent_id, run_id)
        if text is None and metadata is None and valid_from is None and valid_to is None:
            raise InvalidInputError("update needs new text, metadata or validity times")
        current = self.store.get(scope, memory_id)
        changes: dict[str, Any] = {}
        if text is not None:
            changes["text"] = check_text(text)
            check_derived_text(current.kind, changes["text"])
        if metadata is not None:
            changes["metadata"] = check_metadata(metadata)
        if valid_from is not None:
            changes["valid_from"] = as_utc(valid_from, "valid_from")
        if valid_to is not None:
            changes["valid_to"] = as_utc(valid_to, "valid_to")
        new = replace(current, **changes)
        vectors = self._embed_records([new]) if text is not None else None
        return self.store.update(
            scope,
            new,
            at=self.clock.now(),
            expected_version=current.version if expected_version is None else expected_version,
            vector=None if vectors is None else vectors[0],
            reason=reason,
        )

    def delete(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        """Soft-delete: the memory leaves search and listings but can be restored until purged."""
        scope = self._scope(user_id, agent_id, run_id)
        return self.store.set_state(scope, memory_id, "deleted", at=self.clock.now(), reason=reason)

    def restore(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        """Bring a deleted or archived memory back to active."""
        scope = self._scope(user_id, agent_id, run_id)
        return self.store.set_state(scope, memory_id, "active", at=self.clock.now(), reason=reason)

    def archive(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        """Archive: out of default search, kept, restorable."""
        scope = self._scope(user_id, agent_id, run_id)
        return self.store.set_state(
            scope, memory_id, "archived", at=self.clock.now(), reason=reason
        )

    def purge(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        confirm: bool = False,
    ) -> None:
        """Erase a memory with its versions and history, for good. Needs ``confirm=True``."""
        scope = self._scope(user_id, agent_id, run_id)
        if confirm is not True:
            raise ConfirmationRequiredError("purge erases a memory for good: pass confirm=True")
        self.store.purge(scope, memory_id)

    def reset(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        confirm: bool = False,
        all_users: bool = False,
    ) -> int:
        """Erase every memory and message of a scope. Needs ``confirm=True``.

        A scope without ``user_id`` matches the memories of every user of that agent or run;
        when they belong to more than one user, the reset also needs ``all_users=True``."""
        scope = self._scope(user_id, agent_id, run_id)
        if confirm is not True:
            raise ConfirmationRequiredError(
                f"reset erases every memory of {scope} for good: pass confirm=True"
            )
        if scope.user_id is None and all_users is not True:
            users = {s.user_id for s in self.store.exact_scopes(self.tenant) if scope.covers(s)}
            users.discard(None)
            if len(users) > 1:
                raise ConfirmationRequiredError(
                    f"reset of {scope} would erase the memories of {len(users)} users: pass "
                    "all_users=True to erase them all, or name one user_id"
                )
        return self.store.reset(scope)

    # -- read -----------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
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
    ) -> SearchResult:
        """The memories that best answer ``query``, best first, each with the signals that
        found it. ``since``/``until`` bound event time; ``metadata`` matches by equality.

        Facts that a later fact contradicted (``expired_at`` passed) are left out. ``as_of``
        searches memory as it stood at that moment (system time): the versions then current,
        the facts then believed.

        ``budget`` (characters) returns what fits in a prompt of that size: the hits' contexts
        together stay within it, and a hit may carry only the sentences of its memory that
        answer (``Hit.excerpt``), so the budget holds more of what matters. ``limit`` caps the
        number of hits: 10 when not given, but with a budget only when given (the budget
        decides how many fit).

        A read-only store is searched all the same, but keeps no record of the search, so
        ``feedback`` cannot refer to it."""
        scope = self._scope(user_id, agent_id, run_id)
        query = check_text(query, "query")
        if limit is not None:
            _check_count(limit, "limit", MAX_LIMIT)
        if budget is not None:
            _check_count(budget, "budget", MAX_BUDGET)
        if limit is None:
            limit = DEFAULT_LIMIT if budget is None else MAX_LIMIT
        flt = _filters(filters, kinds, states, layers, since, until, metadata)
        now = self.clock.now()
        # A budgeted search packs at most ``limit`` memories; the reranker reorders them.
        depth = limit if budget is not None else max(limit, self.retrieval.rerank_depth)
        at = as_utc(as_of, "as_of")
        embedder = self.embedder
        learned = learning.learned_for(
            self.store, scope, self._reranker_base, None if embedder is None else embedder.name
        )
        # The query is embedded once: for the ranker, and for what feedback taught (a search
        # of past versions embeds its own).
        wanted = (
            at is None and self.retrieval.uses_vectors
        ) or learned.lessons.embedder is not None
        vector = embedder.embed([query], kind="query")[0] if embedder and wanted else None
        if at is not None:
            hits = search_records(
                self.store.as_of(scope, at, flt), self.embedder, query, limit=depth,
                retrieval=self.retrieval,
            )  # fmt: skip
        else:
            hits = run_search(
                self.store,
                self.embedder,
                scope,
                query,
                flt,
                limit=depth,
                retrieval=self.retrieval,
                now=now,
                budget=budget,
                vector=vector,
            )
            hits = [h for h in hits if h.record.expired_at is None or h.record.expired_at > now]
        if budget is not None:
            hits = fit_budget(hits, budget)
        ranked, features = learning.rerank(hits, learned, query, vector, now)
        search_id = new_id()
        learning.save_search(
            self.store, scope, search_id, query, ranked[:limit], features[:limit], now
        )
        return SearchResult(hits=tuple(ranked[:limit]), search_id=search_id, query=query)

    def feedback(
        self,
        search_id: str,
        used: Sequence[str],
        unused: Sequence[str] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> learning.FeedbackResult:
        """Say which memories of a search the answer used (RMM's retrospective reflection).

        Used memories grow stronger (and climb layers with repeated use); the reranker learns
        that used memories beat the ``unused`` ones (by default, the rest of that search), and
        the used ones rise for questions like that search's, not for others.
        A read-only store keeps no searches and learns nothing: ``ReadOnlyStoreError``.
        """
        scope = self._scope(user_id, agent_id, run_id)
        if self.store.read_only:
            raise ReadOnlyStoreError(
                "feedback needs a writable store: this one is open read-only, so it kept no "
                "record of its searches and can learn nothing from them"
            )
        return learning.feedback(
            self.store, scope, search_id, list(used), None if unused is None else list(unused),
            self.clock.now(), self._reranker_base, embedder=self.embedder,
        )  # fmt: skip

    def maintain(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        dry_run: bool = False,
    ) -> builtins.list[str]:
        """Archive the memories of a scope that have faded (retention below the threshold).

        Archived memories leave default search; nothing is deleted and ``restore`` brings them
        back. Call it on a schedule (or ``memstrata maintain``); returns the ids archived.
        """
        scope = self._scope(user_id, agent_id, run_id)
        return learning.maintain(self.store, scope, self.clock.now(), dry_run=dry_run)

    def get(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        as_of: TimeInput = None,
    ) -> MemoryRecord:
        """One memory by id, in any state; ``NotFoundError`` when it is not in this scope.
        ``as_of`` gives the version that was current at that moment (system time)."""
        scope = self._scope(user_id, agent_id, run_id)
        at = as_utc(as_of, "as_of")
        if at is None:
            return self.store.get(scope, memory_id)
        for version in reversed(self.store.versions(scope, memory_id)):
            if version.recorded_at <= at:
                return version
        raise NotFoundError(f"memory {memory_id!r} was not yet recorded at {at.isoformat()}")

    def list(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        filters: Filters | None = None,
        kinds: Sequence[MemoryKind] | None = None,
        states: Sequence[MemoryState] | None = None,
        layers: Sequence[Layer] | None = None,
        since: TimeInput = None,
        until: TimeInput = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Page:
        """Memories of a scope, newest first, one page at a time (pass ``next_cursor`` back)."""
        scope = self._scope(user_id, agent_id, run_id)
        _check_count(limit, "limit", MAX_LIMIT)
        flt = _filters(filters, kinds, states, layers, since, until, metadata)
        return self.store.list(scope, flt, limit=limit, cursor=cursor)

    def versions(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[MemoryRecord]:
        """Every version of a memory, oldest first; the last is the current one."""
        return self.store.versions(self._scope(user_id, agent_id, run_id), memory_id)

    def history(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[HistoryEvent]:
        """Every change to a memory, oldest first: operation, time, reason, prompt version."""
        return self.store.history(self._scope(user_id, agent_id, run_id), memory_id)

    def sources(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[Message]:
        """The original messages a memory came from, with speaker and time."""
        scope = self._scope(user_id, agent_id, run_id)
        record = self.store.get(scope, memory_id)
        return self.store.get_messages(scope, list(record.sources))

    def scopes(self) -> builtins.list[dict[str, Any]]:
        """The scopes of this tenant with their memory counts."""
        return self.store.scopes(self.tenant)

    # -- transfer -------------------------------------------------------------------------------
    def export(
        self,
        out: str | Path | IO[str],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> int:
        """Write a scope as JSON Lines (messages with the LLM write path's status of each,
        memories, versions, history, links and the entity graph); return the number of memories
        written."""
        scope = self._scope(user_id, agent_id, run_id)
        count = 0
        with _open_text(out, "w") as fh:
            for item in self.store.export(scope):
                count += item["type"] == "memory"
                fh.write(codec.dumps(item) + "\n")
        return count

    def import_(self, source: str | Path | IO[str]) -> int:
        """Read a JSON Lines export into this tenant; return the number of memories imported.

        Every line is held to the rules of the verbs that write the same records (limits,
        ranges, provenance, the poisoning guard: see ``write.importing``) before anything is
        written; a line that fails, or an id that already exists, writes nothing at all, and
        the error names the line. An episode is guarded as ``add`` guards it. A file memstrata
        exported imports unchanged.
        """
        with _open_text(source, "r") as fh:
            lines = _parse_export(fh)
        found: dict[Scope, set[str]] = {}
        for scope, wanted in importing.missing_sources(lines, self.tenant).items():
            ids = sorted(wanted)
            found[scope] = {
                m.id
                for i in range(0, len(ids), _SOURCE_BATCH)
                for m in self.store.get_messages(scope, ids[i : i + _SOURCE_BATCH])
                if m.id is not None
            }
        items = importing.vet(lines, found, self.tenant)
        memories = [item for item in items if item["type"] == "memory"]
        records = [MemoryRecord.from_dict(item["record"], self.tenant) for item in memories]
        vectors = self._embed_records(records)
        for i, item in enumerate(memories):
            item["vector"] = None if vectors is None else vectors[i]
        return self.store.import_(self.tenant, items, at=self.clock.now())

    def close(self) -> None:
        self.store.close()
        if self._owned_llm is not None:
            self._owned_llm.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse_export(lines: Iterable[str]) -> list[importing.Line]:
    """The items of an export with their line numbers, each checked for its shape."""
    out: list[importing.Line] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise InvalidInputError(f"line {number}: expected a JSON object")
        codec.check_export_item(item, number)
        try:
            if item["type"] == "memory":
                for record in (item["record"], *(item.get("versions") or ())):
                    importing.check_fields(record)
                    MemoryRecord.from_dict(record)
                for row in item.get("history") or ():
                    codec.history_from_dict(row)
            elif item["type"] == "message":
                codec.message_from_dict(item["message"], DEFAULT_TENANT)
        except InvalidInputError as exc:
            raise InvalidInputError(f"line {number}: {exc}") from None
        out.append(importing.Line(number, item))
    return out


class _open_text:
    """Open a path, or pass an already open text stream through (without closing it).

    A path that cannot be opened, and text that is not UTF-8, are ``InvalidInputError`` naming
    the path."""

    def __init__(self, target: str | Path | IO[str], mode: str) -> None:
        self.target = target
        self.mode = mode
        self.owned: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        if isinstance(self.target, str | Path):
            try:
                self.owned = open(self.target, self.mode, encoding="utf-8")
            except OSError as exc:
                raise InvalidInputError(self._cannot_open(Path(self.target), exc)) from None
            return self.owned
        if isinstance(self.target, io.IOBase) or hasattr(self.target, "read"):
            return self.target
        raise InvalidInputError("expected a path or a text stream")

    def _cannot_open(self, path: Path, exc: OSError) -> str:
        verb = "read" if self.mode == "r" else "write"
        if self.mode != "r" and not path.parent.is_dir():
            return f"cannot write {path}: the directory {path.parent} does not exist"
        if path.is_dir():
            return f"cannot {verb} {path}: it is a directory"
        return f"cannot {verb} {path}: {exc.strerror or exc}"

    def __exit__(self, kind: object, exc: object, traceback: object) -> None:
        if self.owned is not None:
            self.owned.close()
        if isinstance(exc, UnicodeDecodeError):
            name = self.target if isinstance(self.target, str | Path) else "the input"
            bad = exc.object[exc.start : exc.start + 1].hex()
            raise InvalidInputError(
                f"{name} is not UTF-8 text (byte 0x{bad}: {exc.reason})"
            ) from None


class AsyncMemory:
    """The asyncio twin of ``Memory``: the same methods, awaited, run on a worker thread.

    It holds no logic: each method forwards to the ``Memory`` it wraps (a test checks that
    both expose the same methods with the same signatures).
    """

    def __init__(
        self,
        store: Store | str | Path | None = None,
        *,
        embedder: Embedder | str | None = "minilm",
        retriever: str | Retrieval = "default",
        clock: Clock | None = None,
        tenant: str = DEFAULT_TENANT,
        llm: LLM | None = None,
        pipeline: PipelineConfig | None = None,
    ) -> None:
        self.sync = Memory(
            store, embedder=embedder, retriever=retriever, clock=clock, tenant=tenant, llm=llm,
            pipeline=pipeline,
        )  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> AsyncMemory:
        self = cls.__new__(cls)
        self.sync = Memory.from_settings(settings, **overrides)
        return self

    async def add(
        self,
        messages: MessageInput | Sequence[MessageInput],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timestamp: TimeInput = None,
    ) -> AddResult:
        return await asyncio.to_thread(
            self.sync.add,
            messages,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            metadata=metadata,
            timestamp=timestamp,
        )

    async def remember(
        self,
        text: str,
        *,
        kind: MemoryKind = "fact",
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
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
    ) -> MemoryRecord:
        return await asyncio.to_thread(
            self.sync.remember, text, kind=kind, user_id=user_id, agent_id=agent_id,
            run_id=run_id, sources=sources, actor=actor, subject=subject, keys=keys,
            entities=entities, valid_from=valid_from, valid_to=valid_to, importance=importance,
            metadata=metadata, reason=reason, prompt_version=prompt_version,
        )  # fmt: skip

    async def reprocess(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        dry_run: bool = False,
    ) -> PipelineReport:
        return await asyncio.to_thread(
            self.sync.reprocess, user_id=user_id, agent_id=agent_id, run_id=run_id, dry_run=dry_run
        )

    async def update(
        self,
        memory_id: str,
        text: str | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        valid_from: TimeInput = None,
        valid_to: TimeInput = None,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        return await asyncio.to_thread(
            self.sync.update,
            memory_id,
            text,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            metadata=metadata,
            valid_from=valid_from,
            valid_to=valid_to,
            expected_version=expected_version,
            reason=reason,
        )

    async def delete(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        return await asyncio.to_thread(
            self.sync.delete,
            memory_id,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            reason=reason,
        )

    async def restore(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        return await asyncio.to_thread(
            self.sync.restore,
            memory_id,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            reason=reason,
        )

    async def archive(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        return await asyncio.to_thread(
            self.sync.archive,
            memory_id,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            reason=reason,
        )

    async def purge(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        confirm: bool = False,
    ) -> None:
        return await asyncio.to_thread(
            self.sync.purge,
            memory_id,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            confirm=confirm,
        )

    async def reset(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        confirm: bool = False,
        all_users: bool = False,
    ) -> int:
        return await asyncio.to_thread(
            self.sync.reset, user_id=user_id, agent_id=agent_id, run_id=run_id, confirm=confirm,
            all_users=all_users,
        )  # fmt: skip

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
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
    ) -> SearchResult:
        return await asyncio.to_thread(
            self.sync.search,
            query,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            limit=limit,
            filters=filters,
            kinds=kinds,
            states=states,
            layers=layers,
            since=since,
            until=until,
            metadata=metadata,
            as_of=as_of,
            budget=budget,
        )

    async def feedback(
        self,
        search_id: str,
        used: Sequence[str],
        unused: Sequence[str] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> learning.FeedbackResult:
        return await asyncio.to_thread(
            self.sync.feedback, search_id, used, unused, user_id=user_id, agent_id=agent_id,
            run_id=run_id,
        )  # fmt: skip

    async def maintain(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        dry_run: bool = False,
    ) -> builtins.list[str]:
        return await asyncio.to_thread(
            self.sync.maintain, user_id=user_id, agent_id=agent_id, run_id=run_id, dry_run=dry_run
        )

    async def get(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        as_of: TimeInput = None,
    ) -> MemoryRecord:
        return await asyncio.to_thread(
            self.sync.get, memory_id, user_id=user_id, agent_id=agent_id, run_id=run_id,
            as_of=as_of,
        )  # fmt: skip

    async def list(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        filters: Filters | None = None,
        kinds: Sequence[MemoryKind] | None = None,
        states: Sequence[MemoryState] | None = None,
        layers: Sequence[Layer] | None = None,
        since: TimeInput = None,
        until: TimeInput = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Page:
        return await asyncio.to_thread(
            self.sync.list,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            limit=limit,
            cursor=cursor,
            filters=filters,
            kinds=kinds,
            states=states,
            layers=layers,
            since=since,
            until=until,
            metadata=metadata,
        )

    async def versions(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[MemoryRecord]:
        return await asyncio.to_thread(
            self.sync.versions, memory_id, user_id=user_id, agent_id=agent_id, run_id=run_id
        )

    async def history(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[HistoryEvent]:
        return await asyncio.to_thread(
            self.sync.history, memory_id, user_id=user_id, agent_id=agent_id, run_id=run_id
        )

    async def sources(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[Message]:
        return await asyncio.to_thread(
            self.sync.sources, memory_id, user_id=user_id, agent_id=agent_id, run_id=run_id
        )

    async def scopes(self) -> builtins.list[dict[str, Any]]:
        return await asyncio.to_thread(self.sync.scopes)

    async def export(
        self,
        out: str | Path | IO[str],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> int:
        return await asyncio.to_thread(
            self.sync.export, out, user_id=user_id, agent_id=agent_id, run_id=run_id
        )

    async def import_(self, source: str | Path | IO[str]) -> int:
        return await asyncio.to_thread(self.sync.import_, source)

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
