"""Drive retrievers through a benchmark: ingest each conversation into a fresh scope, ask each
question, keep what came back.

A retriever here is anything with ``ingest``, ``search`` and ``close`` (``Retriever``). The
library's presets are driven through the public ``Memory`` API (``MemoryRetriever``); the
standalone reference BM25 (``ReferenceBM25``) and the full-context contrast (``FullContext``)
meet the same protocol, so every row of a report went through the same loop and the same
metrics. The only thing a question hands the system is its raw ``question`` text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from memstrata.evals.baselines import BM25Index
from memstrata.evals.locomo import Conversation, Gold
from memstrata.evals.longmemeval import DEFAULT_KS as LME_KS
from memstrata.evals.longmemeval import Item, ItemScores, score_item
from memstrata.evals.metrics import (
    DEFAULT_BUDGET_CHARS,
    DEFAULT_KS,
    Context,
    QuestionOutcome,
    RetrievalSummary,
    aggregate,
    budget_count,
    question_recall,
    summarize,
)
from memstrata.memory import Memory
from memstrata.ports import LLM, Embedder
from memstrata.types import AddResult, Hit
from memstrata.write.pipeline import Pipeline, PipelineReport

Batch = Sequence[Mapping[str, Any]]  # messages of one session, as handed to Memory.add

#: Retrievers that the library provides, by the preset name ``Memory(retriever=...)`` takes.
LIBRARY_RETRIEVERS: tuple[str, ...] = ("bm25", "dense", "hybrid", "default")
#: Retrievers that the harness provides on its own.
HARNESS_RETRIEVERS: tuple[str, ...] = ("reference-bm25", "full")
RETRIEVERS: tuple[str, ...] = LIBRARY_RETRIEVERS + HARNESS_RETRIEVERS
#: Library presets that need an embedder.
NEEDS_EMBEDDER: frozenset[str] = frozenset({"dense", "hybrid", "default"})


@dataclass(frozen=True, slots=True)
class Retrieved:
    """One returned memory, reduced to what the metrics read."""

    text: str
    sources: tuple[str, ...]
    speaker: str | None = None
    time: datetime | None = None


class Retriever(Protocol):
    name: str
    #: True when the retriever's one result is the whole conversation (no budget applies).
    whole_context: bool
    #: True when ``search`` takes a ``budget`` and packs its context into it.
    packs: bool

    def ingest(self, scope: str, batches: Sequence[Batch]) -> int:
        """Store one conversation under a fresh scope; return how many memories were stored."""
        ...

    def search(
        self, scope: str, query: str, limit: int, budget: int | None = None
    ) -> Sequence[Retrieved]: ...

    def close(self) -> None: ...


class MemoryAPI(Protocol):
    """The part of ``memstrata.Memory`` the harness uses."""

    @property
    def llm(self) -> LLM | None: ...

    @property
    def pipeline(self) -> Pipeline: ...

    def add(self, messages: Batch, *, user_id: str) -> AddResult: ...

    def reprocess(self, *, user_id: str) -> PipelineReport: ...

    def search(
        self,
        query: str,
        *,
        user_id: str,
        limit: int | None,
        budget: int | None = None,
        history: bool = False,
    ) -> Sequence[Hit]: ...

    def close(self) -> None: ...


class MemoryRetriever:
    """A library retriever preset, driven through the public API only.

    With a language model, ``add`` also extracts facts (a part-filled batch waits for the next
    session) and ``reprocess`` does what is left once the conversation is in; the facts are
    scored like any hit, through their sources. ``write_path`` says what the model did.
    """

    whole_context = False
    packs = True

    def __init__(self, name: str, memory: MemoryAPI) -> None:
        self.name = name
        self.memory = memory
        #: Messages the write path left undone once each conversation was in (and of them,
        #: those it tried and failed).
        self.pending = 0
        self.failed = 0

    def ingest(self, scope: str, batches: Sequence[Batch]) -> int:
        facts = self.memory.pipeline.totals.added
        stored = sum(len(self.memory.add(batch, user_id=scope).added) for batch in batches)
        if self.memory.llm is not None:
            left = self.memory.reprocess(user_id=scope)
            self.pending += left.pending
            self.failed += left.failed
        return stored + self.memory.pipeline.totals.added - facts

    def write_path(self) -> dict[str, Any] | None:
        """What the LLM write path did over every conversation ingested (``PipelineReport``,
        plus the model's name); ``None`` without a model."""
        llm = self.memory.llm
        if llm is None:
            return None
        totals = self.memory.pipeline.totals.to_dict()
        del totals["waiting"]  # a figure of one ``add``; ``reprocess`` took what waited
        return {"model": llm.model, **totals, "pending": self.pending, "failed": self.failed}

    def search(
        self, scope: str, query: str, limit: int, budget: int | None = None
    ) -> list[Retrieved]:
        # A budgeted search is the one the README shows: the budget, no count. The questions
        # span the whole conversation, so facts that ended in it are asked about too: history.
        count = None if budget is not None else limit
        hits = self.memory.search(query, user_id=scope, limit=count, budget=budget, history=True)
        return [
            Retrieved(
                text=hit.context,
                sources=tuple(hit.sources),
                speaker=hit.record.actor,
                time=hit.record.valid_from,
            )
            for hit in hits
        ]

    def close(self) -> None:
        self.memory.close()


def open_library_retriever(
    name: str, workdir: Path, embedder: Embedder | None, llm: LLM | None = None
) -> MemoryRetriever:
    """A ``Memory`` with the given retriever preset on a new store file under ``workdir``;
    with ``llm``, messages also go through the LLM write path (facts)."""
    store = workdir / f"{name}.db"
    memory = Memory(store=str(store), embedder=embedder, retriever=name, llm=llm)
    return MemoryRetriever(name, memory)


class ReferenceBM25:
    """Okapi BM25 over raw turns (``speaker text``), outside the library: the harness check."""

    whole_context = False
    packs = False

    def __init__(self, name: str = "reference-bm25") -> None:
        self.name = name
        self._scopes: dict[str, tuple[BM25Index, list[Retrieved]]] = {}

    def ingest(self, scope: str, batches: Sequence[Batch]) -> int:
        messages = [m for batch in batches for m in batch]
        docs = [f"{m.get('speaker') or ''} {m['text']}" for m in messages]
        items = [
            Retrieved(
                text=str(m["text"]),
                sources=(str(m["id"]),),
                speaker=m.get("speaker"),
                time=m.get("timestamp"),
            )
            for m in messages
        ]
        self._scopes[scope] = (BM25Index.build(docs), items)
        return len(items)

    def search(
        self, scope: str, query: str, limit: int, budget: int | None = None
    ) -> list[Retrieved]:
        index, items = self._scopes[scope]
        return [items[i] for i, _ in index.search(query, limit)]

    def close(self) -> None:
        self._scopes.clear()


def render_batches(batches: Sequence[Batch]) -> str:
    """A conversation as a full-context prompt carries it: a dated header per session, then
    ``speaker: text`` lines."""
    lines: list[str] = []
    for number, batch in enumerate(batches, start=1):
        when = next((m.get("timestamp") for m in batch if m.get("timestamp")), None)
        stamp = when.strftime("%Y-%m-%d %H:%M") if isinstance(when, datetime) else "undated"
        lines.append(f"[session {number}, {stamp}]")
        lines.extend(f"{m.get('speaker') or 'unknown'}: {m['text']}" for m in batch)
    return "\n".join(lines)


class FullContext:
    """Not a retriever: the cost of putting the whole conversation in the prompt, for contrast.

    Its one result is the whole conversation, citing every message, so its recall is the ceiling
    that exact evidence matching allows; what it reports is how many characters that takes.
    """

    name = "full"
    whole_context = True
    packs = False

    def __init__(self) -> None:
        self._scopes: dict[str, Retrieved] = {}

    def ingest(self, scope: str, batches: Sequence[Batch]) -> int:
        ids = tuple(str(m["id"]) for batch in batches for m in batch)
        self._scopes[scope] = Retrieved(text=render_batches(batches), sources=ids)
        return 0

    def search(
        self, scope: str, query: str, limit: int, budget: int | None = None
    ) -> list[Retrieved]:
        return [self._scopes[scope]]

    def close(self) -> None:
        self._scopes.clear()


# -- the LoCoMo loop ---------------------------------------------------------------------------


class Progress(Protocol):
    def update(self, n: int = 1) -> object: ...


#: Answers a question from its context, best first: ``(question, context) -> answer``.
Answerer = Callable[[str, Sequence[Retrieved]], str]


@dataclass(frozen=True, slots=True)
class Prediction:
    """An answer made from a retriever's budget context, kept beside the gold that scores it."""

    question: str
    answer: str
    gold: Gold


@dataclass(slots=True)
class RetrieverRun:
    name: str
    outcomes: list[QuestionOutcome] = field(default_factory=list)
    ingest_s: float = 0.0
    memories: int = 0
    conversations: int = 0
    predictions: list[Prediction] = field(default_factory=list)
    whole_context: bool = False


def session_batches(conv: Conversation) -> list[list[dict[str, Any]]]:
    """A conversation's messages, one batch per session, in order."""
    batches: list[list[dict[str, Any]]] = []
    session: int | None = None
    for turn in conv.turns:
        if turn.session != session:
            batches.append([])
            session = turn.session
        batches[-1].append(turn.as_message())
    return batches


def run_locomo(
    conversations: Sequence[Conversation],
    retriever: Retriever,
    *,
    limit: int = max(DEFAULT_KS),
    budget_chars: int = DEFAULT_BUDGET_CHARS,
    progress: Progress | None = None,
    answerer: Answerer | None = None,
) -> RetrieverRun:
    """Ingest each conversation into its own scope, then search each question's raw text."""
    run = RetrieverRun(retriever.name, whole_context=retriever.whole_context)
    for conv in conversations:
        batches = session_batches(conv)
        started = time.perf_counter()
        run.memories += retriever.ingest(conv.scope, batches)
        run.ingest_s += time.perf_counter() - started
        run.conversations += 1
        if progress is not None:
            progress.update(len(conv.turns))
        for q in conv.questions:
            started = time.perf_counter()
            hits = retriever.search(conv.scope, q.question, limit)
            latency = time.perf_counter() - started
            context = list(hits)
            packed = None
            if retriever.packs:
                context = list(retriever.search(conv.scope, q.question, limit, budget_chars))
                packed = Context(
                    sources=tuple(h.sources for h in context),
                    lengths=tuple(len(h.text) for h in context),
                    texts=tuple(h.text for h in context),
                )
            run.outcomes.append(
                QuestionOutcome(
                    category=q.gold.category,
                    evidence=q.gold.evidence,
                    sources=tuple(h.sources for h in hits),
                    lengths=tuple(len(h.text) for h in hits),
                    latency_s=latency,
                    context=packed,
                    answer=q.gold.answer,
                    texts=tuple(h.text for h in hits),
                )
            )
            if answerer is not None:
                if not retriever.whole_context:
                    context = context[: budget_count([len(h.text) for h in context], budget_chars)]
                answer = answerer(q.question, context)
                run.predictions.append(Prediction(q.question, answer, q.gold))
            if progress is not None:
                progress.update(1)
    return run


def summarize_run(
    run: RetrieverRun,
    ks: Sequence[int] = DEFAULT_KS,
    budget_chars: int = DEFAULT_BUDGET_CHARS,
    categories: Sequence[int] = (1, 2, 3, 4, 5),
) -> RetrievalSummary:
    """The run's figures. A whole-context run is measured without a budget: its "budget" is the
    longest context it used, so the row shows what full-context prompting costs."""
    if run.whole_context:
        budget_chars = max((sum(o.lengths) for o in run.outcomes), default=0)
    return summarize(run.outcomes, ks, budget_chars, categories)


# -- the LongMemEval loop ----------------------------------------------------------------------


@dataclass(slots=True)
class LongMemEvalRun:
    name: str
    scores: list[ItemScores] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    ingest_s: float = 0.0
    memories: int = 0


def run_longmemeval(
    items: Sequence[Item],
    retriever: Retriever,
    *,
    ks: Sequence[int] = LME_KS,
    limit: int = max(DEFAULT_KS),
    progress: Progress | None = None,
) -> LongMemEvalRun:
    """Each question in its own scope: ingest its haystack, search its raw question text.

    Abstention questions are skipped (the benchmark leaves them out of retrieval metrics).
    """
    run = LongMemEvalRun(retriever.name)
    for item in items:
        if item.abstention:
            continue
        batches = [[t.as_message() for t in session] for session in item.sessions if session]
        started = time.perf_counter()
        run.memories += retriever.ingest(item.question_id, batches)
        run.ingest_s += time.perf_counter() - started
        started = time.perf_counter()
        hits = retriever.search(item.question_id, item.question, limit)
        run.latencies_s.append(time.perf_counter() - started)
        run.scores.append(score_item(item, [h.sources for h in hits], ks))
        if progress is not None:
            progress.update(1)
    return run


def attainable_recall(
    conversations: Sequence[Conversation], categories: Sequence[int] = (1, 2, 3, 4, 5)
) -> dict[str, float]:
    """The official aggregate recall if every message of each conversation were retrieved: the
    ceiling that exact evidence matching leaves (malformed evidence ids can never be found)."""
    items = []
    for conv in conversations:
        every = {turn.id for turn in conv.turns}
        for q in conv.questions:
            ev = q.gold.evidence
            items.append((q.gold.category, bool(ev), question_recall(ev, every)))
    return aggregate(items, categories)
