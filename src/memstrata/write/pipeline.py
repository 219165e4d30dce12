"""The LLM write path, composed (DESIGN §4): messages that are already stored as episodes →
**extract** facts (one call per batch) → **screen** (the poisoning guard) → **consolidate**
each fact against similar memories → **link** the notes → register **entities** and relations.

Episodes are stored before any of this runs, so a model that fails loses nothing: its batch is
marked ``failed`` and ``reprocess`` does it later. An answer cut off at the model's output
limit stores nothing; its batch is marked ``failed`` and asked again in halves, down to one
message. A batch is marked ``done`` once its facts are stored, so processing is idempotent:
``reprocess`` only takes messages never tried or failed. To keep to about one extraction call
per ``batch_size`` messages, ``add`` leaves a part-filled batch waiting for the next messages
of its scope (``wait_for_full_batch``); ``reprocess`` takes it as it is.

Nothing here raises into ``Memory.add``: a failure is logged, counted in the report, and the
messages it concerned stay pending.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from memstrata.errors import (
    ConflictError,
    InvalidInputError,
    LLMError,
    LLMTruncatedError,
    NotFoundError,
)
from memstrata.options import PipelineConfig, Retrieval, preset
from memstrata.ports import (
    LLM,
    Clock,
    Embedder,
    EntityGraph,
    Links,
    MessageLog,
    PendingMessage,
    Records,
    Searchable,
    StoredSettings,
    Vector,
)
from memstrata.prompts import consolidate as consolidate_prompt
from memstrata.prompts import extract_facts
from memstrata.read.embedding import embed_records
from memstrata.read.entities import index as index_graph
from memstrata.read.search import search as run_search
from memstrata.results import PipelineReport
from memstrata.types import Filters, Hit, MemoryRecord, Message, Scope
from memstrata.write import consolidate, extract, ledgers, link
from memstrata.write.episodes import derived_record

__all__ = ["Pipeline", "PipelineConfig", "PipelineReport"]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_FACTS = Filters(kinds=("fact",))
#: The cosine from which a stored fact is shown to the extraction as one its batch may touch.
EXISTING_FLOOR = 0.4
#: The most messages one ``reprocess`` call takes; call it again for more.
MAX_REPROCESS = 100_000


class _Metered:
    """The ``LLM`` port with a meter: counts calls (and tokens, when the client counts them)
    into one field of a report."""

    def __init__(self, llm: LLM, report: PipelineReport, counter: str) -> None:
        self.llm = llm
        self.report = report
        self.counter = counter

    @property
    def model(self) -> str:
        return self.llm.model

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        json_schema: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> str:
        before = getattr(self.llm, "usage", None)
        try:
            return self.llm.complete(
                messages, json_schema=json_schema, temperature=temperature, max_tokens=max_tokens
            )
        finally:
            setattr(self.report, self.counter, getattr(self.report, self.counter) + 1)
            after = getattr(self.llm, "usage", None)
            if before is not None and after is not None:
                self.report.prompt_tokens += int(after.prompt_tokens - before.prompt_tokens)
                self.report.completion_tokens += int(
                    after.completion_tokens - before.completion_tokens
                )


def _halves(batch: Sequence[T]) -> list[Sequence[T]]:
    """A batch cut in two, the first half the larger: how a batch whose answer was cut off
    is asked again."""
    middle = (len(batch) + 1) // 2
    return [batch[:middle], batch[middle:]]


def _batches(items: Sequence[PendingMessage], size: int) -> list[list[PendingMessage]]:
    """Consecutive runs of at most ``size`` messages stored under one exact scope."""
    out: list[list[PendingMessage]] = []
    for item in items:
        if out and len(out[-1]) < size and out[-1][0].scope == item.scope:
            out[-1].append(item)
        else:
            out.append([item])
    return out


class WriteStore(Records, MessageLog, Links, EntityGraph, Searchable, StoredSettings, Protocol):
    """What the LLM write path uses of a store: the message queue, memories with their
    versions, links and the entity graph, and the searches that find similar memories."""


class Pipeline:
    """The write path over one store, embedder, model and clock (``Memory`` holds one)."""

    def __init__(
        self,
        store: WriteStore,
        embedder: Embedder | None,
        llm: LLM | None,
        clock: Clock,
        config: PipelineConfig | None = None,
        *,
        retrieval: Retrieval | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.llm = llm
        self.clock = clock
        #: How similar memories are found: keyword, vector and entity rankings fused (the
        #: decisions read those signals' scores), whatever ranker searches use.
        self.retrieval = retrieval or preset("hybrid")
        self.config = config or PipelineConfig()
        #: Everything this pipeline has done since it was made (``after_add`` and
        #: ``reprocess`` added up), for monitoring: calls, tokens, facts and their fate.
        self.totals = PipelineReport()
        self._lock = threading.RLock()

    # -- entry points ---------------------------------------------------------------------------
    def after_add(
        self,
        scope: Scope,
        fresh: Sequence[Message],
        custom: extract_facts.Custom | None = None,
    ) -> PipelineReport:
        """Run after ``add`` stored ``fresh`` under ``scope``: process the scope's messages
        never tried, in full batches (at most about as many messages as ``fresh`` brought),
        with the call's extraction rules ``custom`` when given. Never raises."""
        report = PipelineReport()
        if self.llm is None or not fresh:
            return report
        size = self.config.batch_size
        try:
            with self._lock:
                pending = self.store.pending_messages(
                    scope, exact=True, limit=len(fresh) + size - 1
                )
                todo = pending
                if self.config.wait_for_full_batch:
                    todo = pending[: len(pending) // size * size]
                report.waiting = len(pending) - len(todo)
                for batch in _batches(todo, size):
                    if not self._batch(batch, report, custom):
                        break  # the model is failing; later messages wait for the next call
        except Exception as exc:  # the write path must never lose or refuse an add
            logger.exception("the LLM write path failed after add in %s", scope)
            report.errors.append(f"{type(exc).__name__}: {exc}")
        with self._lock:
            self.totals += report
        return report

    def reprocess(self, scope: Scope, *, dry_run: bool = False) -> PipelineReport:
        """Process what the write path has not done in ``scope`` (and its sub-scopes): messages
        stored without a model, batches that failed, part-filled batches. Idempotent: what is
        done is never done again. Stops early after two failed batches in a row."""
        report = PipelineReport()
        with self._lock:
            pending = self._pending(scope)
            if dry_run or self.llm is None:
                report.pending = len(pending)
                report.failed = sum(p.status == "failed" for p in pending)
                return report
            failures = 0
            for batch in _batches(pending, self.config.batch_size):
                if self._batch(batch, report):
                    failures = 0
                    continue
                failures += 1
                if failures >= 2:
                    report.errors.append("stopped after two failed batches in a row")
                    break
            left = self._pending(scope)
            report.pending = len(left)
            report.failed = sum(p.status == "failed" for p in left)
            self.totals += report
        return report

    def _pending(self, scope: Scope) -> list[PendingMessage]:
        return self.store.pending_messages(scope, include_failed=True, limit=MAX_REPROCESS)

    # -- one batch ------------------------------------------------------------------------------
    def rules(self, scope: Scope) -> extract_facts.Custom | None:
        """The extraction rules of ``scope``: its own (``set_rules``), else the pipeline's."""
        raw = self.store.get_setting(rules_key(scope))
        if raw:
            return extract_facts.Custom.stored(raw)
        return self.config.extraction

    def set_rules(self, scope: Scope, custom: extract_facts.Custom | None) -> None:
        """Give ``scope`` extraction rules of its own (``None``: back to the pipeline's)."""
        self.store.put_setting(rules_key(scope), "" if custom is None else custom.model_dump_json())

    def _batch(
        self,
        batch: Sequence[PendingMessage],
        report: PipelineReport,
        custom: extract_facts.Custom | None = None,
    ) -> bool:
        """Extract and consolidate one batch; mark its messages done or failed.

        An answer cut off at the model's output limit stores nothing: the batch is marked
        failed, then done again in halves (down to one message), each marked on its own.
        """
        assert self.llm is not None
        scope = batch[0].scope
        messages = [p.message for p in batch]
        ids = [m.id for m in messages if m.id]
        now = self.clock.now()
        report.batches += 1
        rules = custom if custom is not None else self.rules(scope)
        version = extract.prompt_version(rules)
        try:
            known = [
                e.name for e in self.store.find_entities(scope, limit=self.config.known_entities)
            ]
            existing = self._existing(scope, messages, now) if self.config.one_call else None
            data = extract.build_input(
                messages, today=now.date(), known_entities=known, custom=rules,
                existing=existing or (),
            )  # fmt: skip
            output = extract.ask(_Metered(self.llm, report, "extraction_calls"), data)
            labels = () if rules is None else tuple(rules.categories)
            found = extract.drafts(output, messages, labels, data)
            screened = extract.screen(found, messages)
            unsourced = len(output.unsourced)
            report.facts += len(screened.kept) + len(screened.dropped) + unsourced
            report.dropped += len(screened.dropped) + unsourced
            report.unsourced += unsourced
            for fact in output.unsourced:
                logger.info("fact not stored (it cites no message of its batch): %s", fact.text)
            for draft, why in screened.dropped:
                logger.info("fact not stored (%s): %s", why, draft.text)
            by_id = {m.id: m for m in messages if m.id}
            kept: list[tuple[extract.FactDraft, MemoryRecord]] = []
            for draft in screened.kept:
                try:
                    kept.append((draft, self._record(scope, draft, by_id, now, version)))
                except InvalidInputError as exc:  # text too long, a NUL in a name, ...
                    report.dropped += 1
                    logger.info("fact not stored (%s): %s", exc, draft.text[:200])
            vectors = self._embed([record for _, record in kept])
            shown = None if existing is None else existing[: extract_facts.MAX_EXISTING]
            for i, (draft, record) in enumerate(kept):
                vector = None if vectors is None else vectors[i]
                self._consolidate(scope, draft, record, vector, report, now, shown)
        except Exception as exc:
            if isinstance(exc, LLMError):
                logger.warning("no facts for a batch of %d in %s: %s", len(ids), scope, exc)
            else:
                logger.exception("the LLM write path failed on a batch in %s", scope)
            report.failed_batches += 1
            report.errors.append(f"{type(exc).__name__}: {exc}")
            self.store.mark_messages(
                scope, ids, "failed", at=now, prompt_version=version, error=str(exc)[:500]
            )
            if isinstance(exc, LLMTruncatedError) and len(batch) > 1:
                return all([self._batch(half, report, custom) for half in _halves(batch)])
            return False
        self.store.mark_messages(scope, ids, "done", at=now, prompt_version=version)
        report.messages += len(ids)
        return True

    def _record(
        self,
        scope: Scope,
        draft: extract.FactDraft,
        by_id: Mapping[str, Message],
        now: datetime,
        version: str = extract_facts.VERSION,
    ) -> MemoryRecord:
        metadata: dict[str, Any] = {
            "text_hash": consolidate.text_hash(draft.text),
            "tags": link.tags(draft),
            "context": link.context_line(draft, by_id),
            "time_from": draft.time_from,
            "extracted_by": version,
        }
        if draft.categories:
            metadata["categories"] = list(draft.categories)
        if draft.relations:
            metadata["relations"] = [list(r) for r in draft.relations]
        if draft.flags:
            metadata["flags"] = list(draft.flags)
        return derived_record(
            scope, draft.text, kind="fact", now=now, sources=draft.sources, actor=draft.actor,
            subject=draft.subject, keys=link.keys(draft), entities=draft.entities,
            valid_from=draft.valid_from, valid_to=draft.valid_to, importance=draft.importance,
            metadata=metadata,
        )  # fmt: skip

    def _embed(self, records: Sequence[MemoryRecord]) -> Vector | None:
        return embed_records(self.embedder, records)

    # -- one fact -------------------------------------------------------------------------------
    def _live(
        self, scope: Scope, records: Sequence[MemoryRecord], now: datetime
    ) -> list[MemoryRecord]:
        return [
            r
            for r in records
            if r.scope == scope and r.state == "active" and not consolidate.expired(r, now)
        ]

    def _duplicate(
        self, scope: Scope, record: MemoryRecord, vector: Vector | None, now: datetime
    ) -> tuple[MemoryRecord, str] | None:
        """A live stored fact with the same normalised text, or a vector cosine at or above
        the duplicate threshold."""
        same = self.store.list(
            scope, replace(_FACTS, metadata={"text_hash": record.metadata["text_hash"]}), limit=5
        )
        live = self._live(scope, same.records, now)
        if live:
            return live[0], "exact duplicate"
        if vector is None:
            return None
        for found, score in self.store.vector_search(scope, vector, _FACTS, limit=3):
            if score >= self.config.duplicate_threshold and self._live(scope, [found], now):
                return found, f"near-duplicate (cosine {score:.3f})"
        return None

    def _existing(
        self, scope: Scope, messages: Sequence[Message], now: datetime
    ) -> list[MemoryRecord]:
        """The stored facts a batch may touch, best first: those closest to each message by
        meaning (cosine at least the review floor), then by keywords."""
        texts = [m.text for m in messages]
        scored: dict[str, tuple[float, MemoryRecord]] = {}
        if self.embedder is not None:
            for vector in self.embedder.embed(texts, kind="query"):
                for record, score in self.store.vector_search(scope, vector, _FACTS, limit=3):
                    if score >= EXISTING_FLOOR and score > scored.get(record.id, (-1.0,))[0]:
                        scored[record.id] = (score, record)
        ranked = [r for _, r in sorted(scored.values(), key=lambda x: -x[0])]
        for text in texts:
            for record, _ in self.store.keyword_search(scope, text, _FACTS, limit=2):
                if record.id not in scored:
                    scored[record.id] = (0.0, record)
                    ranked.append(record)
        return self._live(scope, ranked, now)[: extract_facts.MAX_EXISTING]

    def _similar(self, scope: Scope, text: str, now: datetime) -> list[Hit]:
        depth = 2 * self.config.max_similar
        hits = run_search(
            self.store, self.embedder, scope, text, _FACTS, limit=depth,
            retrieval=replace(self.retrieval, candidates=depth), now=now,
        )  # fmt: skip
        live = {r.id for r in self._live(scope, [h.record for h in hits], now)}
        return [h for h in hits if h.id in live]

    def _consolidate(
        self,
        scope: Scope,
        draft: extract.FactDraft,
        record: MemoryRecord,
        vector: Vector | None,
        report: PipelineReport,
        now: datetime,
        existing: Sequence[MemoryRecord] | None = None,
    ) -> None:
        """What one new fact does to memory: a duplicate merges without a model; with
        ``existing`` (the stored facts its extraction was shown), the extraction's own decision
        holds; without one (none shown, or an unusable answer), a consolidation call decides
        over the similar facts, when there are any worth showing."""
        duplicate = self._duplicate(scope, record, vector, now)
        if duplicate is not None:
            report.duplicates += 1
            plan = consolidate.duplicate_plan(draft, *duplicate)
            self._apply(scope, plan, draft, record, vector, [], report, now)
            return
        similar = self._similar(scope, draft.text, now)
        if existing is not None and draft.decision is not None:
            plan = replace(consolidate.plan(draft.decision, draft, existing), asked=False)
            self._apply(scope, plan, draft, record, vector, similar, report, now)
            return
        shown = consolidate.to_review(
            draft, similar, threshold=self.config.review_threshold, limit=self.config.max_similar
        )
        plan = consolidate.Plan("ADD", reason="no related memory")
        if shown:
            task = consolidate.prompt_input(draft, shown, now.date())
            answer = self._ask(
                consolidate_prompt.render(task), consolidate_prompt.Output, report,
                "consolidation_calls",
            )  # fmt: skip
            if answer is None:
                plan = consolidate.Plan("ADD", reason="consolidation gave no usable answer")
            else:
                resolution = consolidate_prompt.resolve(answer, task)
                plan = consolidate.plan(resolution, draft, shown)
        self._apply(scope, plan, draft, record, vector, similar, report, now)

    def _ask(
        self,
        messages: list[dict[str, str]],
        output: type[M],
        report: PipelineReport,
        counter: str,
    ) -> M | None:
        from memstrata.llms.parsing import ask_structured

        assert self.llm is not None
        return ask_structured(_Metered(self.llm, report, counter), messages, output)

    def _apply(
        self,
        scope: Scope,
        plan: consolidate.Plan,
        draft: extract.FactDraft,
        record: MemoryRecord,
        vector: Vector | None,
        similar: Sequence[Hit],
        report: PipelineReport,
        now: datetime,
    ) -> None:
        """Carry out a plan through the store; a target changed meanwhile means ADD instead."""
        versions = str(record.metadata.get("extracted_by", extract_facts.VERSION))
        if plan.asked:
            versions += f"+{consolidate_prompt.VERSION}"
        target = plan.target
        try:
            if plan.op == "NOOP" and target is not None:
                self.store.add_event(
                    scope, target.id, "NOOP", at=now, reason=plan.reason,
                    prompt_version=versions, text=draft.text,
                )  # fmt: skip
                report.unchanged += 1
                return
            if plan.op == "UPDATE" and target is not None:
                new = consolidate.merged(target, draft, plan.text)
                new_vector = self._embed([new]) if plan.text else None
                stored = self.store.update(
                    scope, new, at=now, expected_version=target.version, op="UPDATE",
                    vector=None if new_vector is None else new_vector[0], reason=plan.reason,
                    prompt_version=versions,
                )  # fmt: skip
                report.entities += index_graph(self.store, scope, stored)
                ledgers.learn_facts(self.store, scope, [stored])
                report.updated += 1
                return
            if plan.op == "INVALIDATE" and target is not None:
                retired = consolidate.invalidated(target, at=now, valid_to=draft.valid_from)
                self.store.update(
                    scope, retired, at=now, expected_version=target.version, op="INVALIDATE",
                    reason=plan.reason, prompt_version=versions,
                )  # fmt: skip
                report.invalidated += 1
                record = replace(record, supersedes=target.id)
        except (ConflictError, NotFoundError) as exc:
            plan = consolidate.Plan("ADD", reason=f"{plan.op} not applied ({exc}); added")
        self._add(scope, plan, record, vector, similar, report, now, versions)

    def _add(
        self,
        scope: Scope,
        plan: consolidate.Plan,
        record: MemoryRecord,
        vector: Vector | None,
        similar: Sequence[Hit],
        report: PipelineReport,
        now: datetime,
        versions: str,
    ) -> None:
        vectors = None if vector is None else vector.reshape(1, -1)
        self.store.add(
            [], [record], at=now, vectors=vectors, reason=plan.reason, prompt_version=versions
        )
        report.added += 1
        report.entities += index_graph(self.store, scope, record)
        ledgers.learn_facts(self.store, scope, [record])
        links = link.links_for(
            record.id, similar, threshold=self.config.link_threshold,
            limit=self.config.max_links, at=now, supersedes=record.supersedes,
        )  # fmt: skip
        self.store.add_links(scope, links, at=now)
        report.links += len(links)
        if self.config.evolve_links:
            related = [x.target for x in links if x.kind == "related"]
            self._evolve(scope, record, related, report, now)

    def _evolve(
        self,
        scope: Scope,
        new: MemoryRecord,
        ids: Sequence[str],
        report: PipelineReport,
        now: datetime,
    ) -> None:
        for note in self.store.get_many(scope, list(ids)):
            evolved = link.evolve(note, new)
            if evolved is None:
                continue
            try:
                self.store.update(
                    scope, evolved, at=now, expected_version=note.version, op="UPDATE",
                    reason=f"context extended by linked note {new.id}",
                )  # fmt: skip
                report.evolved += 1
            except ConflictError:
                continue


#: What begins the key of every scope's own extraction rules (``rules_key``).
_RULES = "extraction:"


def rules_key(scope: Scope) -> str:
    """Where a scope's own extraction rules are kept among the store's settings."""
    return _RULES + json.dumps(list(scope.key))


def ruled_scopes(store: StoredSettings) -> list[Scope]:
    """The scopes given extraction rules of their own (``rules_key``), whether or not they hold
    anything: a copy of the store, or an export, carries their rules too."""
    out = []
    for name in store.setting_names(_RULES):
        try:
            tenant, user_id, agent_id, run_id = json.loads(name[len(_RULES) :])
            out.append(Scope(tenant=tenant, user_id=user_id, agent_id=agent_id, run_id=run_id))
        except (ValueError, TypeError, InvalidInputError):
            continue  # not a key ``rules_key`` wrote
    return out
