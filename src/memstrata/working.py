"""Working memory for a long agent task: steps, a tree of subgoals, and a bounded context.

An agent records each step (an action and what it observed) and opens and closes subgoals.
Closing a subgoal replaces its steps in the active context by one ``summary`` memory whose
``sources`` are the ids of the step messages; the steps themselves stay in the store. The
context an agent sees (``WorkingMemory.context``) is the path of open goals, the current
subgoal's steps and the summaries of finished subgoals, within a character budget (HiAgent;
the Task Memory Engine's task tree).

Everything lives in the ``Memory`` it is given, in the scope ``run_id=task_id`` (plus the
user and agent when given), so another process can ``WorkingMemory.resume`` the task:

- a step is a message stored with ``Memory.add``: an ``episode`` with metadata
  ``{"working": "step", "subgoal": <id or None>, "seq": n}``;
- a subgoal is a ``working`` memory whose text is the goal, with metadata
  ``{"working": "subgoal", "parent": <id or None>, "status": "open" | "done" | "failed"}``;
  closing it writes a new version (``Memory.update``), so its history shows when it closed;
- a finished subgoal's summary is a ``summary`` memory with metadata
  ``{"working": "summary", "subgoal": <id>}`` and the step messages as its sources.

The tree and the context are computed by pure functions (``build_tree``, ``select_context``);
``WorkingMemory`` does the reading and writing. One process at a time should drive a task.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypedDict

from memstrata.api import AnyMemory, Facade, blocking
from memstrata.errors import InvalidInputError, NotFoundError
from memstrata.ports import LLM
from memstrata.types import MemoryRecord, Scope, check_text
from memstrata.write import extractive, guard
from memstrata.write.procedures import procedure_text

__all__ = [
    "ContextItem",
    "Status",
    "Step",
    "Subgoal",
    "TaskTree",
    "WorkingContext",
    "WorkingMemory",
    "build_tree",
    "procedure_text",
    "select_context",
    "step_text",
    "summary_text",
]

Status = Literal["open", "done", "failed"]
STATUSES: tuple[Status, ...] = ("open", "done", "failed")

#: The metadata key that marks working-memory records, and its values.
MARK = "working"
STEP, SUBGOAL, SUMMARY, PROCEDURE = "step", "subgoal", "summary", "procedure"
#: Metadata keys a step's own metadata may not use.
RESERVED = frozenset({MARK, "task", "subgoal", "seq", "action_chars", "role"})

#: How many of the newest current steps come before any finished subgoal's summary.
RECENT_STEPS = 5
#: The longest summary of one subgoal, in characters.
SUMMARY_CHARS = 600
#: A line is cut to fit the budget only when at least this much room is left.
MIN_CLIP_CHARS = 80
#: The most characters of steps an LLM is shown to summarise one subgoal.
LLM_INPUT_CHARS = 48_000
_PAGE = 1000


# -- the nouns ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a task: what the agent did and what it saw.

    ``memory_id`` is the step's episode memory; ``message_id`` its message (what a summary's
    ``sources`` point at). ``subgoal`` is ``None`` for a step taken outside every subgoal.
    """

    memory_id: str
    message_id: str
    seq: int
    subgoal: str | None
    action: str
    observation: str
    at: datetime | None = None
    #: Whether the poisoning guard flagged the step (its episode is a quotation).
    flagged: bool = False

    @property
    def text(self) -> str:
        return step_text(self.action, self.observation)


@dataclass(frozen=True, slots=True)
class Subgoal:
    """A node of the task tree. ``parent`` is ``None`` for a top-level subgoal."""

    id: str
    goal: str
    parent: str | None
    status: Status
    seq: int
    depth: int = 0
    result: str | None = None
    summary_id: str | None = None
    summary: str | None = None
    sources: tuple[str, ...] = ()
    closed_seq: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class TaskTree:
    """The state of one task: every subgoal, and the steps of the open ones (and the root)."""

    task_id: str
    subgoals: Mapping[str, Subgoal] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()

    @property
    def next_seq(self) -> int:
        seqs = [s.seq for s in self.steps]
        for node in self.subgoals.values():
            seqs.append(node.seq)
            if node.closed_seq is not None:
                seqs.append(node.closed_seq)
        return max(seqs, default=0) + 1

    @property
    def current(self) -> Subgoal | None:
        """The innermost open subgoal (the newest open one), or ``None`` at the root."""
        open_nodes = [n for n in self.subgoals.values() if n.is_open]
        return max(open_nodes, key=lambda n: n.seq, default=None)

    def path(self) -> list[Subgoal]:
        """The open goals from the top-level one down to the current one."""
        out: list[Subgoal] = []
        node = self.current
        while node is not None:
            out.append(node)
            node = self.subgoals.get(node.parent) if node.parent else None
        return out[::-1]

    def steps_of(self, subgoal: str | None) -> list[Step]:
        return sorted((s for s in self.steps if s.subgoal == subgoal), key=lambda s: s.seq)

    def children(self, subgoal: str | None) -> list[Subgoal]:
        nodes = (n for n in self.subgoals.values() if n.parent == subgoal)
        return sorted(nodes, key=lambda n: n.seq)


@dataclass(frozen=True, slots=True)
class ContextItem:
    """One line of a working context.

    ``kind`` is ``goal`` (an open goal on the path), ``summary`` (a finished subgoal),
    ``step`` (a step of the current subgoal) or ``earlier`` (a step of an open parent goal).
    ``id`` is the memory id; ``sources`` the message ids behind it.
    """

    kind: Literal["goal", "summary", "step", "earlier"]
    id: str
    text: str
    seq: int
    subgoal: str | None = None
    sources: tuple[str, ...] = ()
    clipped: bool = False


@dataclass(frozen=True, slots=True)
class WorkingContext:
    """What an agent sees of its task: the rendered ``text`` and the ``items`` behind it.

    ``omitted`` counts the items left out for lack of room.
    """

    task_id: str
    text: str
    items: tuple[ContextItem, ...]
    budget_chars: int
    omitted: int = 0

    @property
    def chars(self) -> int:
        return len(self.text)


# -- pure decisions -----------------------------------------------------------------------------


def step_text(action: str, observation: str) -> str:
    """How a step is stored and shown."""
    return f"Action: {action}\nObservation: {observation}" if observation else f"Action: {action}"


def summary_text(
    goal: str, status: Status, result: str | None, body: str, *, max_chars: int
) -> str:
    """A finished subgoal's summary: the goal, how it ended, its result, then the gist."""
    head = f"Subgoal: {goal} ({status})."
    if result:
        head += f" Result: {result.strip()}"
        if head[-1] not in ".!?":
            head += "."
    text = f"{head} {body.strip()}".strip() if body.strip() else head
    return extractive.clip(text, max_chars)


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def step_from_record(record: MemoryRecord) -> Step:
    """A ``Step`` from its episode memory."""
    meta = record.metadata
    cut = _int(meta.get("action_chars"), -1)
    prefix = "Action: "
    if cut >= 0 and record.text.startswith(prefix):
        action = record.text[len(prefix) : len(prefix) + cut]
        observation = record.text[len(prefix) + cut :].removeprefix("\nObservation: ")
    else:  # written by something else: keep the text whole
        action, observation = record.text, ""
    return Step(
        memory_id=record.id,
        message_id=record.sources[0] if record.sources else record.id,
        seq=_int(meta.get("seq")),
        subgoal=_str(meta.get("subgoal")),
        action=action,
        observation=observation,
        at=record.valid_from,
        flagged=guard.flagged(record.metadata),
    )


def subgoal_from_record(record: MemoryRecord) -> Subgoal:
    """A ``Subgoal`` from its ``working`` memory (its summary is attached by ``build_tree``)."""
    meta = record.metadata
    status = meta.get("status")
    closed = meta.get("closed_seq")
    return Subgoal(
        id=record.id,
        goal=record.text,
        parent=_str(meta.get("parent")),
        status=status if status in STATUSES else "open",
        seq=_int(meta.get("seq")),
        depth=_int(meta.get("depth")),
        result=_str(meta.get("result")),
        summary_id=_str(meta.get("summary")),
        closed_seq=closed if isinstance(closed, int) else None,
    )


def build_tree(
    task_id: str,
    subgoals: Sequence[MemoryRecord],
    steps: Sequence[MemoryRecord],
    summaries: Sequence[MemoryRecord],
) -> TaskTree:
    """The task tree from stored records.

    A subgoal still marked open that already has a summary was being closed when its process
    stopped: it counts as closed (``WorkingMemory`` then finishes the status change).
    """
    by_subgoal = {_str(s.metadata.get(SUBGOAL)): s for s in summaries}
    nodes: dict[str, Subgoal] = {}
    for record in subgoals:
        node = subgoal_from_record(record)
        summary = by_subgoal.get(node.id)
        if summary is not None:
            meta = summary.metadata
            status = meta.get("status")
            node = replace(
                node,
                status=node.status if node.status != "open" else _closed(status),
                result=node.result or _str(meta.get("result")),
                summary_id=summary.id,
                summary=summary.text,
                sources=summary.sources,
                closed_seq=node.closed_seq or _int(meta.get("seq"), node.seq),
            )
        nodes[node.id] = node
    open_ids = {n.id for n in nodes.values() if n.is_open}
    kept = sorted((step_from_record(r) for r in steps), key=lambda s: s.seq)
    kept = [s for s in kept if s.subgoal is None or s.subgoal in open_ids]
    return TaskTree(task_id=task_id, subgoals=nodes, steps=tuple(kept))


def _closed(status: Any) -> Status:
    return "failed" if status == "failed" else "done"


def _render_item(item: ContextItem) -> str:
    return "- " + item.text.replace("\n", "\n  ")


_SECTIONS: tuple[tuple[str, str], ...] = (
    ("goal", "Open goals (outermost first):"),
    ("summary", "Finished subgoals:"),
    ("earlier", "Earlier steps of the open goals:"),
    ("step", "Current steps (oldest first):"),
)


def render_context(task_id: str, items: Sequence[ContextItem]) -> str:
    """The text of a context: a header, then one section per kind of item, each in order."""
    lines = [f"Task {task_id}"]
    for kind, title in _SECTIONS:
        chosen = sorted((i for i in items if i.kind == kind), key=lambda i: i.seq)
        if chosen:
            lines.append(title)
            lines.extend(_render_item(i) for i in chosen)
    return "\n".join(lines)


def _candidates(tree: TaskTree, recent_steps: int) -> list[ContextItem]:
    """Every item that could be shown, most important first.

    The open goals; then the newest ``recent_steps`` steps of the current subgoal; then
    the summaries of finished subgoals whose parent is still open (or who have none), the
    nearest to the current subgoal first and the newest first among equals; then the older
    current steps, newest first; then the steps of the open parent goals, nearest first.
    """
    path = tree.path()
    current = path[-1].id if path else None
    goals = [ContextItem("goal", n.id, n.goal, n.seq, subgoal=n.parent) for n in path]
    current_steps = [
        ContextItem("step", s.memory_id, s.text, s.seq, s.subgoal, (s.message_id,))
        for s in reversed(tree.steps_of(current))
    ]
    lineage: list[str | None] = [current, *[n.id for n in reversed(path[:-1])]]
    if current is not None:
        lineage.append(None)
    finished: list[ContextItem] = []
    earlier: list[ContextItem] = []
    for owner in lineage:
        done = [n for n in tree.children(owner) if not n.is_open and n.summary]
        done.sort(key=lambda n: n.closed_seq or n.seq, reverse=True)
        finished += [
            ContextItem(
                "summary", n.summary_id or n.id, n.summary or n.goal,
                n.closed_seq or n.seq, n.id, n.sources,
            )
            for n in done
        ]  # fmt: skip
        if owner != current:
            earlier += [
                ContextItem("earlier", s.memory_id, s.text, s.seq, s.subgoal, (s.message_id,))
                for s in reversed(tree.steps_of(owner))
            ]
    recent = max(0, recent_steps)
    return [*goals, *current_steps[:recent], *finished, *current_steps[recent:], *earlier]


def select_context(
    tree: TaskTree, budget_chars: int, *, recent_steps: int = RECENT_STEPS
) -> WorkingContext:
    """The most important items of ``tree`` whose rendering fits in ``budget_chars``.

    Items are taken in order of importance (see ``_candidates``); one that does not fit is
    left out and smaller ones after it may still come in, except that an item is cut to the
    room left when at least ``MIN_CLIP_CHARS`` remain. The text is never longer than the
    budget.
    """
    if isinstance(budget_chars, bool) or not isinstance(budget_chars, int) or budget_chars < 1:
        raise InvalidInputError("budget_chars must be a positive integer")
    header = f"Task {tree.task_id}"
    if len(header) > budget_chars:
        return WorkingContext(tree.task_id, "", (), budget_chars, len(_candidates(tree, 0)))
    used = len(header)
    titled: set[str] = set()
    titles = dict(_SECTIONS)
    chosen: list[ContextItem] = []
    candidates = _candidates(tree, recent_steps)
    for item in candidates:
        title_cost = 0 if item.kind in titled else len(titles[item.kind]) + 1
        line = _render_item(item)
        room = budget_chars - used - title_cost - 1
        if len(line) <= room:
            chosen.append(item)
        elif room >= MIN_CLIP_CHARS:
            text = extractive.clip(item.text, room - (len(line) - len(item.text)))
            item = replace(item, text=text, clipped=True)
            line = _render_item(item)
            if len(line) > room:
                continue
            chosen.append(item)
        else:
            continue
        used += title_cost + 1 + len(line)
        titled.add(item.kind)
    text = render_context(tree.task_id, chosen)
    return WorkingContext(
        tree.task_id, text, tuple(chosen), budget_chars, len(candidates) - len(chosen)
    )


class _ScopeArgs(TypedDict):
    user_id: str | None
    agent_id: str | None
    run_id: str | None


# -- the working memory -------------------------------------------------------------------------


class WorkingMemory:
    """The working memory of one agent task, kept in a ``Memory`` or a ``RemoteMemory`` (or an
    ``AsyncMemory``, whose calls it then makes blocking: see ``api.blocking``).

    >>> wm = WorkingMemory(mem, "task-42", user_id="ada")                    # doctest: +SKIP
    >>> wm.open_subgoal("find the failing test")                             # doctest: +SKIP
    >>> wm.step("run pytest", "3 failed: test_io, test_cli, test_db")        # doctest: +SKIP
    >>> wm.close_subgoal("test_db fails: the fixture leaks a connection")    # doctest: +SKIP
    >>> print(wm.context(2000))                                              # doctest: +SKIP

    Creating one for a task that already has records picks the task up where it was (as
    ``resume`` does). With an ``llm``, finished subgoals are summarised by the model (the
    ``summarize`` prompt); without one, or when the model gives no usable answer, by
    extractive summary.
    """

    def __init__(
        self,
        memory: AnyMemory,
        task_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        llm: LLM | None = None,
        summary_chars: int = SUMMARY_CHARS,
        recent_steps: int = RECENT_STEPS,
    ) -> None:
        memory = self.memory = blocking(memory)
        self.scope = Scope(user_id=user_id, agent_id=agent_id, run_id=task_id, tenant=memory.tenant)
        self.task_id = task_id
        self.llm = llm
        if isinstance(summary_chars, bool) or not isinstance(summary_chars, int):
            raise InvalidInputError("summary_chars must be an integer")
        if summary_chars < 40:
            raise InvalidInputError("summary_chars must be at least 40")
        if isinstance(recent_steps, bool) or not isinstance(recent_steps, int) or recent_steps < 0:
            raise InvalidInputError("recent_steps must be a non-negative integer")
        self.summary_chars = summary_chars
        self.recent_steps = recent_steps
        self._tree, interrupted = self._load()
        self._seq = self._tree.next_seq
        for subgoal_id in interrupted:  # closed by a process that stopped before marking it
            self._mark_closed(self._tree.subgoals[subgoal_id])

    @classmethod
    def resume(
        cls,
        memory: AnyMemory,
        task_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        llm: LLM | None = None,
        summary_chars: int = SUMMARY_CHARS,
        recent_steps: int = RECENT_STEPS,
    ) -> WorkingMemory:
        """Pick up a task another process started; ``NotFoundError`` when it has no records.

        The user and agent default to those the task was recorded with.
        """
        memory = blocking(memory)
        probe = Scope(user_id=user_id, agent_id=agent_id, run_id=task_id, tenant=memory.tenant)
        page = memory.list(
            user_id=user_id, agent_id=agent_id, run_id=task_id, limit=1, metadata={"task": task_id}
        )
        if not page.records:
            raise NotFoundError(f"no working memory for task {task_id!r} in {probe}")
        found = page.records[0].scope
        return cls(
            memory,
            task_id,
            user_id=user_id or found.user_id,
            agent_id=agent_id or found.agent_id,
            llm=llm,
            summary_chars=summary_chars,
            recent_steps=recent_steps,
        )

    # -- reading the store ----------------------------------------------------------------------
    def _ids(self) -> _ScopeArgs:
        scope = self.scope
        return {"user_id": scope.user_id, "agent_id": scope.agent_id, "run_id": scope.run_id}

    def _all(self, **query: Any) -> Iterator[MemoryRecord]:
        cursor = None
        while True:
            page = self.memory.list(**self._ids(), limit=_PAGE, cursor=cursor, **query)
            yield from page.records
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def _load(self) -> tuple[TaskTree, list[str]]:
        task = {"task": self.task_id}
        subgoals = list(self._all(kinds=["working"], metadata={MARK: SUBGOAL, **task}))
        summaries = list(self._all(kinds=["summary"], metadata={MARK: SUMMARY, **task}))
        closed = {_str(s.metadata.get(SUBGOAL)) for s in summaries}
        steps: list[MemoryRecord] = []
        owners: list[str | None] = [None]
        owners += [r.id for r in subgoals if r.metadata.get("status") == "open"]
        for owner in owners:
            if owner is not None and owner in closed:
                continue
            query = {MARK: STEP, **task, SUBGOAL: owner}
            steps += self._all(kinds=["episode"], metadata=query)
        tree = build_tree(self.task_id, subgoals, steps, summaries)
        interrupted = [r.id for r in subgoals if r.metadata.get("status") == "open"]
        return tree, [i for i in interrupted if i in closed]

    # -- views ----------------------------------------------------------------------------------
    @property
    def tree(self) -> TaskTree:
        """The task tree as this process knows it."""
        return self._tree

    @property
    def current(self) -> Subgoal | None:
        """The subgoal steps go to now, or ``None`` when none is open."""
        return self._tree.current

    def path(self) -> list[Subgoal]:
        """The open goals, outermost first."""
        return self._tree.path()

    def subgoals(self) -> list[Subgoal]:
        """Every subgoal of the task, in the order they were opened."""
        return sorted(self._tree.subgoals.values(), key=lambda n: n.seq)

    def steps(self) -> list[Step]:
        """The steps of the current subgoal (the root's when none is open), oldest first."""
        current = self._tree.current
        return self._tree.steps_of(current.id if current else None)

    def structured_context(self, budget_chars: int = 4000) -> WorkingContext:
        """The context as items with their ids and sources, and its rendered text."""
        return select_context(self._tree, budget_chars, recent_steps=self.recent_steps)

    def context(self, budget_chars: int = 4000) -> str:
        """The text an agent should see of its task, at most ``budget_chars`` characters:
        the open goals, the current subgoal's steps and the summaries of finished subgoals
        (see ``select_context`` for what comes first when not everything fits)."""
        return self.structured_context(budget_chars).text

    # -- writing --------------------------------------------------------------------------------
    def _next_seq(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    def step(
        self,
        action: str,
        observation: str = "",
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> MemoryRecord:
        """Record a step of the current subgoal; return its ``episode`` memory."""
        action = check_text(action, "action").strip()
        if not isinstance(observation, str):
            raise InvalidInputError("observation must be a string")
        observation = observation.strip()
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInputError("metadata must be a mapping")
        clash = RESERVED & set(metadata or {})
        if clash:
            raise InvalidInputError(
                f"step metadata may not use the keys {', '.join(sorted(clash))}; "
                "working memory sets them"
            )
        current = self._tree.current
        record = self._write_step(current.id if current else None, action, observation, metadata)
        self._tree = replace(self._tree, steps=(*self._tree.steps, step_from_record(record)))
        return record

    def _write_step(
        self,
        subgoal: str | None,
        action: str,
        observation: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> MemoryRecord:
        """Store a step of ``subgoal`` as a message (its episode is returned)."""
        meta = {
            **(metadata or {}),
            MARK: STEP,
            "task": self.task_id,
            SUBGOAL: subgoal,
            "seq": self._next_seq(),
            "action_chars": len(action),
        }
        message = {
            "text": step_text(action, observation),
            "role": "assistant",
            "speaker": self.scope.agent_id or "agent",
        }
        return self.memory.add(message, **self._ids(), metadata=meta).added[0]

    def open_subgoal(self, goal: str) -> str:
        """Open a subgoal under the current one (a top-level one when none is open); steps
        go to it until it is closed. Returns its id."""
        goal = check_text(goal, "goal").strip()
        parent = self._tree.current
        seq = self._next_seq()
        meta = {
            MARK: SUBGOAL,
            "task": self.task_id,
            "parent": parent.id if parent else None,
            "status": "open",
            "seq": seq,
            "depth": parent.depth + 1 if parent else 0,
        }
        record = self.memory.remember(
            goal, kind="working", **self._ids(), metadata=meta, reason="subgoal opened"
        )
        nodes = {**self._tree.subgoals, record.id: subgoal_from_record(record)}
        self._tree = replace(self._tree, subgoals=nodes)
        return record.id

    def close_subgoal(
        self, result: str | None = None, *, status: Literal["done", "failed"] = "done"
    ) -> MemoryRecord:
        """Close the current subgoal: summarise its steps (and its finished children's
        summaries) into a ``summary`` memory that cites every step message below it, mark
        the subgoal ``status``, and return the summary. The steps stay in the store."""
        node = self._tree.current
        if node is None:
            raise InvalidInputError("no subgoal is open")
        if status not in ("done", "failed"):
            raise InvalidInputError("status must be 'done' or 'failed'")
        if result is not None:
            result = check_text(result, "result").strip()
        steps = self._tree.steps_of(node.id)
        children = [c for c in self._tree.children(node.id) if c.summary]
        sources = [s.message_id for s in steps]
        for child in children:
            sources += [m for m in child.sources if m not in sources]
        body, prompt_version = self._summarise(node, steps, children, result)
        text = summary_text(node.goal, status, result, body, max_chars=self.summary_chars)
        if guard.is_instruction(text):  # the goal or the result gives orders: not repeated here
            text = summary_text(node.goal, status, result, "", max_chars=self.summary_chars)
            text = f"Subgoal ({status})." if guard.is_instruction(text) else text
            prompt_version = None
        if not sources:  # a summary cites messages: with no step to cite, the closing is one
            sources = [self._closing_step(node, status, result)]
        seq = self._next_seq()
        meta = {
            MARK: SUMMARY,
            "task": self.task_id,
            SUBGOAL: node.id,
            "parent": node.parent,
            "status": status,
            "result": result,
            "seq": seq,
            "steps": len(steps),
            "method": "llm" if prompt_version else "extractive",
        }
        summary = self.memory.remember(
            text, kind="summary", **self._ids(), sources=sources, metadata=meta,
            reason="subgoal closed", prompt_version=prompt_version,
        )  # fmt: skip
        closed = replace(
            node, status=status, result=result, summary_id=summary.id, summary=text,
            sources=tuple(sources), closed_seq=seq,
        )  # fmt: skip
        self._mark_closed(closed)
        if status == "done" and node.parent is None:
            self._write_procedure(node, steps, sources)
        nodes = {**self._tree.subgoals, node.id: closed}
        kept = tuple(s for s in self._tree.steps if s.subgoal != node.id)
        self._tree = replace(self._tree, subgoals=nodes, steps=kept)
        return summary

    def _write_procedure(
        self, node: Subgoal, steps: Sequence[Step], sources: Sequence[str]
    ) -> MemoryRecord | None:
        """A finished top-level subgoal as a ``procedure`` memory: its finished sub-subgoals and
        its own steps, in the order they began, citing every step message below it, so that a
        later "how do I …" finds the way it was done. Steps the guard flagged are left out."""
        done = [c for c in self._tree.children(node.id) if c.status == "done"]
        ordered = [(c.seq, c.goal) for c in done]
        ordered += [
            (s.seq, s.action) for s in steps if not (s.flagged or guard.is_instruction(s.text))
        ]
        lines = [text for _, text in sorted(ordered)]
        if not lines:
            return None
        text = procedure_text(node.goal, lines)
        if guard.is_instruction(text):
            return None
        meta = {MARK: PROCEDURE, "task": self.task_id, SUBGOAL: node.id, "steps": lines}
        return self.memory.remember(
            text, kind="procedure", **self._ids(), sources=list(sources), metadata=meta,
            reason="task finished",
        )  # fmt: skip

    def _closing_step(self, node: Subgoal, status: Status, result: str | None) -> str:
        """Record the closing of a subgoal that has no step as a step of its own (what a
        summary of it can cite); return its message id."""
        observation = f"{status}: {result}" if result else status
        record = self._write_step(node.id, f"close subgoal: {node.goal}", observation)
        return record.sources[0]

    def _mark_closed(self, node: Subgoal) -> None:
        meta = {
            MARK: SUBGOAL,
            "task": self.task_id,
            "parent": node.parent,
            "seq": node.seq,
            "depth": node.depth,
            "status": node.status,
            "result": node.result,
            "summary": node.summary_id,
            "closed_seq": node.closed_seq,
        }
        self.memory.update(node.id, **self._ids(), metadata=meta, reason=f"subgoal {node.status}")

    def _summarise(
        self,
        node: Subgoal,
        steps: Sequence[Step],
        children: Sequence[Subgoal],
        result: str | None,
    ) -> tuple[str, str | None]:
        """The gist of a subgoal's work, and the prompt version when a model wrote it."""
        room = max(0, self.summary_chars - len(node.goal) - len(result or "") - 40)
        steps = [s for s in steps if not (s.flagged or guard.is_instruction(s.text))]  # quoted
        texts = [c.summary or "" for c in children] + [_sentence(s) for s in steps]
        if not texts or room == 0:
            return "", None
        if self.llm is not None:
            written = _llm_summary(self.llm, self.memory, node, steps, children, room)
            if written is not None and not guard.is_instruction(written[0]):
                return written
        query = f"{node.goal} {result or ''}"
        return extractive.summarize(texts, max_chars=room, query=query), None


def _sentence(step: Step) -> str:
    """A step as one sentence for the extractive summariser: "action → observation."."""
    text = f"{step.action} → {step.observation}" if step.observation else step.action
    text = " ".join(text.split())
    return text if text[-1] in ".!?…" else text + "."


def _llm_summary(
    llm: LLM,
    memory: Facade,
    node: Subgoal,
    steps: Sequence[Step],
    children: Sequence[Subgoal],
    room: int,
) -> tuple[str, str] | None:
    """A model's summary of a subgoal (the ``summarize`` prompt), or ``None`` if it gave none."""
    from memstrata.llms.parsing import ask_structured
    from memstrata.prompts import PromptMessage, summarize

    shown: list[PromptMessage] = [
        PromptMessage(id=c.summary_id or c.id, speaker="finished subgoal", text=c.summary or "")
        for c in children
    ]
    for s in steps:
        stamp = s.at.isoformat() if s.at else None
        shown.append(PromptMessage(id=s.message_id, speaker="agent", text=s.text, timestamp=stamp))
    while len(shown) > 1 and sum(len(m.text) for m in shown) > LLM_INPUT_CHARS:
        shown.pop(len(children) if len(shown) > len(children) else 0)  # drop the oldest step
    data = summarize.Input(
        messages=shown,
        today=memory.clock.now().date(),
        session=f"one subgoal of an agent's task: {node.goal}",
        max_words=min(1_000, max(20, room // 6)),
    )
    output = ask_structured(llm, summarize.render(data), summarize.Output)
    if output is None:
        return None
    return extractive.clip(output.summary, room), summarize.VERSION
