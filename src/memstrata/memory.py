"""``Memory`` and ``AsyncMemory``: the public library, orchestration only.

``Memory`` composes a ``Store``, an optional ``Embedder`` and a ``Clock``; each verb checks its
input, calls the pure stages in ``write/`` or ``read/`` and hands the result to the store.
``AsyncMemory`` runs the same methods on a worker thread and holds no logic of its own.
"""

from __future__ import annotations

import builtins
import io
import itertools
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Unpack

from memstrata import people as people_
from memstrata.api import (
    AsyncVerbs,
    MessageInput,
    ScopeArgs,
    TimeInput,
    WhereInput,
    documented,
    merge_filters,
    scope_of,
)
from memstrata.api import follow as api_follow
from memstrata.errors import (
    ConfigurationError,
    ConfirmationRequiredError,
    EmbedderMismatchError,
    InvalidInputError,
    NotFoundError,
    ReadOnlyStoreError,
)
from memstrata.lifecycle import expiry
from memstrata.lifecycle.maintain import maintain
from memstrata.options import Extraction, PipelineConfig, Retrieval, as_extraction, preset
from memstrata.ports import LLM, Clock, Embedder, Entity, EntityView, Link, Store, SystemClock
from memstrata.read import learning
from memstrata.read.embedding import QueryVector, embed_query, resolve
from memstrata.read.entities import entity_key
from memstrata.read.pack import fit_budget
from memstrata.read.rerank import Features, LinearReranker
from memstrata.read.search import search as run_search
from memstrata.read.search import search_records
from memstrata.results import BatchResult, FeedbackResult, Person, PipelineReport, ProfileView
from memstrata.settings import Settings
from memstrata.stores import codec, open_store
from memstrata.types import (
    DEFAULT_TENANT,
    KEEP_SEARCHES,
    AddResult,
    Change,
    Filters,
    HistoryEvent,
    Hit,
    Layer,
    MemoryKind,
    MemoryRecord,
    MemoryState,
    Message,
    Page,
    Scope,
    SearchResult,
    as_utc,
    check_id,
    check_metadata,
    check_text,
    new_id,
)
from memstrata.where import parse as parse_where
from memstrata.write import batch, carried, importing, ledgers
from memstrata.write import profile as profile_
from memstrata.write.episodes import (
    check_derived_text,
)
from memstrata.write.guard import reguard_episode
from memstrata.write.path import WritePath
from memstrata.write.pipeline import Pipeline, ruled_scopes

if TYPE_CHECKING:
    from memstrata.llms import OpenAICompatLLM

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


@documented
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
    ``pipeline`` tunes it. ``ttl`` gives new memories of a kind a time-to-live (a
    ``timedelta`` or seconds per kind, e.g. ``{"working": timedelta(days=1)}``): they then
    read as archived (docs/expiry.md). ``parallel_searches`` is how many searches run at once
    (others wait their turn), or another Memory's ``search_gate`` to share its bound.
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
        ttl: Mapping[str, timedelta | float] | None = None,
        parallel_searches: int | threading.Semaphore = 1,
        keep_searches: timedelta = KEEP_SEARCHES,
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
        #: The default time-to-live of new memories, per kind (``lifecycle.expiry``).
        self.ttl = expiry.check_ttl(ttl)
        self.writer = WritePath(self.store, self.embedder, self.clock, self.pipeline, self.ttl)
        #: At most this many searches run at once; others wait their turn. A search is Python
        #: work under one interpreter lock, and threads that run it together slow each other
        #: down: one server process on two cores served 38.1 searches a second one at a time,
        #: 30.7 two at a time and 20.0 sixteen at a time (docs/benchmarks.md). More searches
        #: come from more processes. Memory objects given the same gate share the bound.
        if isinstance(parallel_searches, threading.Semaphore):
            self.search_gate = parallel_searches
        else:
            _check_count(parallel_searches, "parallel_searches", 1024)
            self.search_gate = threading.BoundedSemaphore(parallel_searches)
        if not isinstance(keep_searches, timedelta) or keep_searches < timedelta(0):
            raise InvalidInputError(
                f"keep_searches must be a timedelta of 0 or more, not {keep_searches!r}"
            )
        #: How long a search is kept so that ``feedback`` can refer to it (0: none is kept).
        self.keep_searches = keep_searches
        self._searches_saved = itertools.count()

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
            "ttl": dict(settings.ttl) or None,
            "parallel_searches": settings.parallel_searches,
            "keep_searches": settings.keep_searches,
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
                settings.llm_base_url,
                model=settings.llm_model,
                api_key=settings.llm_api_key,
                vision=settings.llm_vision,
            )
            options["llm"] = owned
        options.update(overrides)
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

    def _scope(self, scope: ScopeArgs) -> Scope:
        return scope_of(scope, self.tenant)

    # -- write ----------------------------------------------------------------------------------
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
        return self.writer.add(
            self._scope(scope), messages, metadata=metadata, timestamp=timestamp,
            extraction=as_extraction(extraction), expires_at=as_utc(expires_at, "expires_at"),
        )  # fmt: skip

    def set_extraction(
        self,
        extraction: Extraction | Mapping[str, Any] | None,
        **scope: Unpack[ScopeArgs],
    ) -> None:
        self.pipeline.set_rules(self._scope(scope), as_extraction(extraction))

    def extraction(self, **scope: Unpack[ScopeArgs]) -> Extraction | None:
        return self.pipeline.rules(self._scope(scope))

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
        return self.writer.remember(
            self._scope(scope), text, kind=kind, sources=sources, actor=actor, subject=subject,
            keys=keys, entities=entities, valid_from=as_utc(valid_from, "valid_from"),
            valid_to=as_utc(valid_to, "valid_to"), importance=importance, metadata=metadata,
            reason=reason, prompt_version=prompt_version,
            expires_at=as_utc(expires_at, "expires_at"),
        )  # fmt: skip

    def reprocess(
        self,
        *,
        dry_run: bool = False,
        **scope: Unpack[ScopeArgs],
    ) -> PipelineReport:
        where = self._scope(scope)
        if self.llm is None and not dry_run:
            raise ConfigurationError(
                "reprocess needs a language model: pass llm= to Memory, or set "
                "MEMSTRATA_LLM_BASE_URL and MEMSTRATA_LLM_MODEL"
            )
        return self.pipeline.reprocess(where, dry_run=dry_run)

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
        where = self._scope(scope)
        if all(v is None for v in (text, metadata, valid_from, valid_to, expires_at)):
            raise InvalidInputError("update needs new text, metadata, validity or expiry times")
        current = self.store.get(where, memory_id)
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
        if expires_at is not None:
            changes["expires_at"] = as_utc(expires_at, "expires_at")
        new = replace(current, **changes)
        if text is not None and new.kind == "episode" and new.text != current.text:
            new = reguard_episode(new)
        vectors = self.writer.embed([new]) if text is not None else None
        return self.store.update(
            where,
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
        reason: str | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> MemoryRecord:
        where = self._scope(scope)
        return self.store.set_state(where, memory_id, "deleted", at=self.clock.now(), reason=reason)

    def restore(
        self,
        memory_id: str,
        *,
        reason: str | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> MemoryRecord:
        where = self._scope(scope)
        now = self.clock.now()
        expiry.unexpire(self.store, where, [memory_id], now)
        return self.store.set_state(where, memory_id, "active", at=now, reason=reason)

    def archive(
        self,
        memory_id: str,
        *,
        reason: str | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> MemoryRecord:
        where = self._scope(scope)
        return self.store.set_state(
            where, memory_id, "archived", at=self.clock.now(), reason=reason
        )

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
        return self._set_states_many("deleted", ids, where, states, dry_run, reason, scope)

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
        return self._set_states_many("active", ids, where, states, dry_run, reason, scope)

    def _set_states_many(
        self,
        state: MemoryState,
        ids: Sequence[str] | None,
        where: WhereInput,
        states: Sequence[MemoryState] | None,
        dry_run: bool,
        reason: str | None,
        scope: ScopeArgs,
    ) -> BatchResult:
        confined = self._scope(scope)
        expr = None if where is None else parse_where(where)
        now = self.clock.now()
        chosen = batch.choose(self.store, confined, ids, expr, batch.check_states(states), state,
                              now)  # fmt: skip
        if state == "active" and dry_run is not True and chosen[0] <= batch.MAX_BATCH:
            expiry.unexpire(self.store, confined, [r.id for r in chosen[1]], now)
        return batch.set_states(self.store, confined, chosen, state, at=now,
                                dry_run=dry_run is True, reason=reason)  # fmt: skip

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
        confined = self._scope(scope)
        changes: dict[str, Any] = {}
        if metadata is not None:
            changes["metadata"] = check_metadata(metadata)
        if valid_from is not None:
            changes["valid_from"] = as_utc(valid_from, "valid_from")
        if valid_to is not None:
            changes["valid_to"] = as_utc(valid_to, "valid_to")
        if expires_at is not None:
            changes["expires_at"] = as_utc(expires_at, "expires_at")
        if not changes:
            raise InvalidInputError("update_many needs metadata, validity or expiry times to set")
        expr = None if where is None else parse_where(where)
        now = self.clock.now()
        chosen = batch.choose(self.store, confined, ids, expr, batch.check_states(states), None,
                              now)  # fmt: skip
        return batch.update(self.store, confined, chosen, changes, at=now,
                            dry_run=dry_run is True, reason=reason)  # fmt: skip

    def purge(
        self,
        memory_id: str,
        *,
        confirm: bool = False,
        **scope: Unpack[ScopeArgs],
    ) -> None:
        where = self._scope(scope)
        if confirm is not True:
            raise ConfirmationRequiredError("purge erases a memory for good: pass confirm=True")
        self.store.purge(where, memory_id)

    def reset(
        self,
        *,
        confirm: bool = False,
        all_users: bool = False,
        **scope: Unpack[ScopeArgs],
    ) -> int:
        where = self._scope(scope)
        if confirm is not True:
            raise ConfirmationRequiredError(
                f"reset erases every memory of {where} for good: pass confirm=True"
            )
        if where.user_id is None and all_users is not True:
            users = {s.user_id for s in self.store.exact_scopes(self.tenant) if where.covers(s)}
            users.discard(None)
            if len(users) > 1:
                raise ConfirmationRequiredError(
                    f"reset of {where} would erase the memories of {len(users)} users: pass "
                    "all_users=True to erase them all, or name one user_id"
                )
        covered = {where, *(s for s in self.store.exact_scopes(self.tenant) if where.covers(s))}
        erased = self.store.reset(where)
        ledgers.forget(self.store, sorted(covered, key=lambda s: str(s.key)))
        return erased

    # -- read -----------------------------------------------------------------------------------
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
        confined = self._scope(scope)
        query = check_text(query, "query")
        if limit is not None:
            _check_count(limit, "limit", MAX_LIMIT)
        if budget is not None:
            _check_count(budget, "budget", MAX_BUDGET)
        if limit is None:
            limit = DEFAULT_LIMIT if budget is None else MAX_LIMIT
        flt = merge_filters(filters, kinds, states, layers, since, until, metadata, where)
        at = as_utc(as_of, "as_of")
        with self.search_gate:
            result, features, now = self._search(query, confined, flt, at, history, limit, budget)
        # Kept after the search's turn: the write may wait for another's, and the next search
        # need not wait with it.
        learning.save_search(
            self.store, confined, result.search_id, query, result.hits, features, now,
            keep=self.keep_searches,
            prune=next(self._searches_saved) % learning.PRUNE_SEARCHES_EVERY == 0,
        )  # fmt: skip
        return result

    def _search(
        self,
        query: str,
        confined: Scope,
        flt: Filters,
        at: datetime | None,
        history: bool,
        limit: int,
        budget: int | None,
    ) -> tuple[SearchResult, builtins.list[Features], datetime]:
        """``search`` once its arguments are checked (``at``: ``as_of``), with its hits'
        features and the moment it ran at, which ``save_search`` keeps."""
        now = self.clock.now()
        if history is not True:
            flt = replace(flt, current_at=at or now)
        embedder = self.embedder
        learned = learning.learned_for(
            self.store, confined, self._reranker_base, None if embedder is None else embedder.name
        )
        # A budgeted search packs at most ``limit`` memories. Otherwise the reranker reorders
        # ``rerank_depth`` of them, unless it keeps their order: then the feature ranker, whose
        # shorter lists start its longer ones, need find no more than the search returns.
        deeper = max(limit, self.retrieval.rerank_depth)
        kept_order = learned.model.keeps_order and self.retrieval.ranker == "features"
        depth = limit if budget is not None or (kept_order and at is None) else deeper
        # The query is embedded once: for the ranker, and for what feedback taught (a search
        # of past versions embeds its own).
        wanted = (
            at is None and self.retrieval.uses_vectors
        ) or learned.lessons.embedder is not None
        vector = embed_query(embedder, query) if embedder and wanted else None
        if at is not None:
            hits = search_records(
                self.store.as_of(confined, at, flt), self.embedder, query, limit=depth,
                retrieval=self.retrieval,
            )  # fmt: skip
        else:
            hits, dropped = self._current_hits(confined, query, flt, now, depth, budget, vector)
            if dropped and depth < deeper and budget is None:
                # Some were no longer current: the next ones take their places.
                hits, _ = self._current_hits(confined, query, flt, now, deeper, budget, vector)
        if budget is not None:
            hits = fit_budget(hits, budget)
        ranked, features = learning.rerank(hits, learned, query, resolve(vector), now)
        result = SearchResult(hits=tuple(ranked[:limit]), search_id=new_id(), query=query)
        return result, features[:limit], now

    def _current_hits(
        self,
        confined: Scope,
        query: str,
        flt: Filters,
        now: datetime,
        depth: int,
        budget: int | None,
        vector: QueryVector,
    ) -> tuple[builtins.list[Hit], bool]:
        """The best ``depth`` memories found for ``query``, less those no longer current, and
        whether any was."""
        found = run_search(
            self.store, self.embedder, confined, query, flt, limit=depth,
            retrieval=self.retrieval, now=now, budget=budget, vector=vector,
        )  # fmt: skip
        hits = [h for h in found if h.record.expired_at is None or h.record.expired_at > now]
        return hits, len(hits) < len(found)

    def feedback(
        self,
        search_id: str,
        used: Sequence[str],
        unused: Sequence[str] | None = None,
        **scope: Unpack[ScopeArgs],
    ) -> FeedbackResult:
        where = self._scope(scope)
        if self.store.read_only:
            raise ReadOnlyStoreError(
                "feedback needs a writable store: this one is open read-only, so it kept no "
                "record of its searches and can learn nothing from them"
            )
        if self.keep_searches <= timedelta(0):
            raise NotFoundError(
                f"no search {search_id!r}: this Memory keeps no searches (keep_searches is 0), "
                "so feedback has none to refer to"
            )
        return learning.feedback(
            self.store, where, search_id, list(used), None if unused is None else list(unused),
            self.clock.now(), self._reranker_base, embedder=self.embedder,
        )  # fmt: skip

    def maintain(
        self,
        *,
        dry_run: bool = False,
        **scope: Unpack[ScopeArgs],
    ) -> builtins.list[str]:
        where = self._scope(scope)
        return maintain(
            self.store, where, self.clock.now(), dry_run=dry_run, keep_searches=self.keep_searches
        )

    def get(
        self,
        memory_id: str,
        *,
        as_of: TimeInput = None,
        **scope: Unpack[ScopeArgs],
    ) -> MemoryRecord:
        where = self._scope(scope)
        at = as_utc(as_of, "as_of")
        if at is None:
            return expiry.view(self.store.get(where, memory_id), self.clock.now())
        for version in reversed(self.store.versions(where, memory_id)):
            if version.recorded_at <= at:
                return version
        raise NotFoundError(f"memory {memory_id!r} was not yet recorded at {at.isoformat()}")

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
        confined = self._scope(scope)
        _check_count(limit, "limit", MAX_LIMIT)
        flt = merge_filters(filters, kinds, states, layers, since, until, metadata, where)
        if history is True:
            return self.store.list(confined, flt, limit=limit, cursor=cursor)
        now = self.clock.now()
        page = self.store.list(confined, replace(flt, current_at=now), limit=limit, cursor=cursor)
        return replace(page, records=tuple(expiry.view(r, now) for r in page.records))

    def versions(
        self,
        memory_id: str,
        **scope: Unpack[ScopeArgs],
    ) -> builtins.list[MemoryRecord]:
        return self.store.versions(self._scope(scope), memory_id)

    def history(
        self,
        memory_id: str,
        **scope: Unpack[ScopeArgs],
    ) -> builtins.list[HistoryEvent]:
        return self.store.history(self._scope(scope), memory_id)

    def sources(
        self,
        memory_id: str,
        **scope: Unpack[ScopeArgs],
    ) -> builtins.list[Message]:
        where = self._scope(scope)
        record = self.store.get(where, memory_id)
        return self.store.get_messages(where, list(record.sources))

    def scopes(self) -> builtins.list[dict[str, Any]]:
        return self.store.scopes(self.tenant)

    def people(self, **scope: Unpack[ScopeArgs]) -> builtins.list[Person]:
        return ledgers.people_of(self.store, self._scope(scope))

    def profile(
        self,
        *,
        person: str | None = None,
        budget: int = 2000,
        **scope: Unpack[ScopeArgs],
    ) -> ProfileView:
        where = self._scope(scope)
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
            raise InvalidInputError("budget must be 0 or more characters")
        if person is not None:
            check_id(person, "person")
        known = ledgers.people_of(self.store, where)
        found = profile_.profiles(
            ledgers.ledger_of(self.store, where), {p.name: p.names for p in known}
        )
        if person is not None:
            found = [p for p in found if any(people_.same_name(person, n) for n in p.names)]
        return ProfileView(tuple(found), profile_.render(found, budget))

    # -- the change feed ------------------------------------------------------------------------
    def changes(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        **scope: Unpack[ScopeArgs],
    ) -> builtins.list[Change]:
        where = self._scope(scope) if any(scope.values()) else None
        return self.store.changes(self.tenant, where, after=after, limit=limit)

    follow = api_follow

    # -- the graph ------------------------------------------------------------------------------
    def links(
        self, memory_id: str, **scope: Unpack[ScopeArgs]
    ) -> builtins.list[tuple[Link, MemoryRecord]]:
        where = self._scope(scope)
        found = self.store.links(where, memory_id)
        others = [link.target if link.source == memory_id else link.source for link in found]
        records = {r.id: r for r in self.store.get_many(where, others)}
        return [(link, records[o]) for link, o in zip(found, others, strict=True) if o in records]

    def entities(self, *, limit: int = 100, **scope: Unpack[ScopeArgs]) -> builtins.list[Entity]:
        _check_count(limit, "limit", MAX_LIMIT)
        return self.store.find_entities(self._scope(scope), limit=limit)

    def about(self, name: str, *, limit: int = 20, **scope: Unpack[ScopeArgs]) -> EntityView | None:
        where = self._scope(scope)
        _check_count(limit, "limit", MAX_LIMIT)
        key = entity_key(check_text(name, "name"))
        found = self.store.find_entities(where, [key], limit=1)
        if not found:
            return None
        relations = self.store.relations(where, [key], limit=limit * 10)
        hits = self.store.entity_search(where, {key: 1.0}, Filters(), limit=limit)
        return EntityView(found[0], tuple(relations), tuple(r for r, _ in hits))

    # -- transfer -------------------------------------------------------------------------------
    def export(
        self,
        out: str | Path | IO[str],
        **scope: Unpack[ScopeArgs],
    ) -> int:
        where = self._scope(scope)
        count = 0
        scopes = {where: None}  # the scope exported, then each that an item holds
        with _open_text(out, "w") as fh:
            for item in self.store.export(where):
                count += item["type"] == "memory"
                fh.write(codec.dumps(item) + "\n")
                scopes[carried.scope_of(item, self.tenant) or where] = None
            scopes.update((s, None) for s in ruled_scopes(self.store) if where.covers(s))
            for item in carried.items(self.store, scopes):
                fh.write(codec.dumps(item) + "\n")
        return count

    def import_(self, source: str | Path | IO[str]) -> int:
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
        vectors = self.writer.embed(records)
        for i, item in enumerate(memories):
            item["vector"] = None if vectors is None else vectors[i]
        count = self.store.import_(self.tenant, items, at=self.clock.now())
        ledgers.learn_imported(self.store, records)
        return count

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


class AsyncMemory(AsyncVerbs):
    """The asyncio twin of ``Memory``: the same verbs, awaited, run on a worker thread.

    It holds no logic: its verbs are derived from the declaration (``api.AsyncVerbs``) and run
    the ``Memory`` it wraps, ``sync``.
    """

    sync: Memory

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
        ttl: Mapping[str, timedelta | float] | None = None,
        keep_searches: timedelta = KEEP_SEARCHES,
    ) -> None:
        self.sync = Memory(
            store, embedder=embedder, retriever=retriever, clock=clock, tenant=tenant, llm=llm,
            pipeline=pipeline, ttl=ttl, keep_searches=keep_searches,
        )  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> AsyncMemory:
        self = cls.__new__(cls)
        self.sync = Memory.from_settings(settings, **overrides)
        return self
