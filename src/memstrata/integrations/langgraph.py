"""A LangGraph ``BaseStore`` backed by memstrata: ``MemstrataStore``.

Namespaces map to scopes through a template (see ``memstrata.integrations.namespaces``); an
item is a memory whose text is the value's text field and whose metadata keeps the rest of the
value and the item's key. ``put`` writes a new message (``Memory.add``) or a new version of
the item's memory (the old one is kept, as every memstrata update); deleting soft-deletes it
(restorable); ``search`` with a query is memstrata's search (its ranking, filters and context
budget); without one it lists the newest items first. Needs
``pip install 'memstrata[langgraph]'``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    validate_op_namespace,
)
from langgraph.store.base.embed import get_text_at_path

from memstrata.api import ScopeArgs, blocking
from memstrata.errors import NotFoundError
from memstrata.integrations import namespaces as ns
from memstrata.integrations.tools import (
    check_kind,
    same_scope,
    search_args,
    write_statement,
)
from memstrata.memory import MAX_LIMIT, AsyncMemory, Memory
from memstrata.types import MemoryKind, MemoryRecord, utcnow

if TYPE_CHECKING:
    from memstrata.remote import RemoteMemory

__all__ = ["MemstrataStore"]

DEFAULT_TEMPLATE = ("{user_id}", "{agent_id}", "{run_id}")


class MemstrataStore(BaseStore):
    """LangGraph's long-term store on memstrata.

    ``namespace`` is the template that maps a namespace to a scope, e.g. ``("memories",
    "{user_id}")``. ``fields`` are the value paths whose text becomes the memory's text (as
    LangGraph's index ``fields``; ``"$"`` is the whole value as JSON). ``kind`` is what ``put``
    writes: a message from the assistant through ``Memory.add`` (``"episode"``, the default: its
    own provenance, and with a language model the source of extracted facts), or a
    ``"procedure"`` or ``"working"`` note; a derived kind is refused. ``kinds`` narrows search
    and listing to those kinds (default: every memory of the scope, the conversation's episodes
    included). ``budget`` (characters) makes a query search return what fits in a prompt of
    that size.
    """

    def __init__(
        self,
        memory: Memory | AsyncMemory | RemoteMemory,
        *,
        namespace: Sequence[str] = DEFAULT_TEMPLATE,
        fields: Sequence[str] = ("text",),
        kind: MemoryKind = "episode",
        kinds: Sequence[MemoryKind] | None = None,
        budget: int | None = None,
    ) -> None:
        self.memory = blocking(memory)
        self.template = ns.parse_template(namespace)
        self.fields = tuple(fields)
        self.kind = check_kind(kind)
        self.kinds = None if kinds is None else tuple(kinds)
        self.budget = budget

    # -- the BaseStore contract -----------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return [self._run(op) for op in ops]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    def _run(self, op: Op) -> Result:
        validate_op_namespace(op)
        if isinstance(op, GetOp):
            record = self._find(self._exact(op.namespace), op.key)
            return None if record is None else Item(**self._parts(record))
        if isinstance(op, PutOp):
            self._put(op)
            return None
        if isinstance(op, SearchOp):
            return self._search(op)
        if isinstance(op, ListNamespacesOp):
            return self._namespaces(op)
        raise TypeError(f"unknown store operation {type(op).__name__}")

    # -- scopes ---------------------------------------------------------------------------------
    def _scope(self, namespace: Sequence[str]) -> ScopeArgs:
        """The scope a namespace prefix names: at least one scope label is needed."""
        scope = ns.scope_of(self.template, namespace)
        if scope is None:
            raise InvalidNamespaceError(
                f"namespace {tuple(namespace)} does not fit the template "
                f"{ns.show(self.template)} of this MemstrataStore"
            )
        if not any(scope.values()):
            raise InvalidNamespaceError(
                f"namespace {tuple(namespace)} names no scope: memstrata keeps every memory "
                f"under a user, agent or run, so give the labels of {ns.show(self.template)} "
                "up to at least one of them"
            )
        return scope

    def _exact(self, namespace: Sequence[str]) -> ScopeArgs:
        """The scope of an item's namespace, which must be the one its scope lists under."""
        scope = self._scope(namespace)
        if ns.namespace_of(self.template, scope) != tuple(namespace):
            raise InvalidNamespaceError(
                f"namespace {tuple(namespace)} stops inside the template "
                f"{ns.show(self.template)}: an item's namespace ends at a scope label or at "
                "the literal labels that follow it"
            )
        return scope

    def _namespace(self, record: MemoryRecord) -> tuple[str, ...] | None:
        return ns.namespace_of(self.template, record.scope.as_dict())

    # -- items ----------------------------------------------------------------------------------
    def _parts(self, record: MemoryRecord) -> dict[str, Any]:
        """An item's fields from its memory: created when first put, updated at its version."""
        key, value = ns.from_memory(record)
        namespace = self._namespace(record)
        assert namespace is not None
        return {
            "namespace": namespace,
            "key": key,
            "value": value,
            "created_at": record.valid_from or record.recorded_at,
            "updated_at": record.recorded_at,
        }

    def _pages(
        self,
        scope: ScopeArgs,
        metadata: Mapping[str, Any] | None,
        kinds: Sequence[MemoryKind] | None,
    ) -> Iterator[MemoryRecord]:
        """Every active memory of the scope (and narrower ones), newest first."""
        cursor = None
        while True:
            page = self.memory.list(
                **scope, limit=MAX_LIMIT, cursor=cursor, kinds=kinds, metadata=metadata
            )
            yield from page.records
            cursor = page.next_cursor
            if cursor is None:
                return

    def _find(self, scope: ScopeArgs, key: str) -> MemoryRecord | None:
        """The active memory of the item ``key`` stored exactly under ``scope``."""
        for record in self._pages(scope, {ns.KEY: key}, kinds=None):
            if same_scope(record, scope):
                return record
        try:
            record = self.memory.get(key, **scope)
        except NotFoundError:
            return None
        native = ns.KEY not in record.metadata and record.state == "active"
        return record if native and same_scope(record, scope) else None

    def _put(self, op: PutOp) -> None:
        scope = self._exact(op.namespace)
        current = self._find(scope, op.key)
        if op.value is None:
            if current is not None:
                self.memory.delete(current.id, reason="deleted through LangGraph", **scope)
            return
        paths = op.index if isinstance(op.index, list) else self.fields
        text, metadata = ns.to_memory(op.key, op.value, paths, get_text_at_path)
        if current is None:
            write_statement(
                self.memory, text, kind=self.kind, scope=scope, metadata=metadata,
                valid_from=utcnow(),
            )  # fmt: skip
            return
        new = ns.next_version(current, text, metadata)
        if (new.text, new.metadata) != (current.text, current.metadata):
            self.memory.update(
                current.id, new.text, metadata=new.metadata, reason="put through LangGraph",
                **scope,
            )  # fmt: skip

    def _search(self, op: SearchOp) -> list[SearchItem]:
        scope = self._scope(op.namespace_prefix)
        pushed, after = ns.split_filter(op.filter, self.fields)
        wanted = op.offset + op.limit
        found: list[SearchItem] = []
        if op.query:
            depth = MAX_LIMIT if after else min(wanted, MAX_LIMIT)
            result = self.memory.search(
                op.query,
                **scope,
                kinds=self.kinds,
                metadata=pushed or None,
                **search_args(depth, self.budget),
            )
            ranked: Iterable[tuple[MemoryRecord, float | None]] = (
                (hit.record, hit.score) for hit in result
            )
        else:
            ranked = ((r, None) for r in self._pages(scope, pushed or None, self.kinds))
        for record, score in ranked:
            if self._namespace(record) is None:
                continue
            item = SearchItem(**self._parts(record), score=score)
            if ns.matches(item.value, after):
                found.append(item)
                if len(found) >= wanted:
                    break
        return found[op.offset : wanted]

    def _namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        conditions = [(c.match_type, c.path) for c in op.match_conditions or ()]
        seen: set[tuple[str, ...]] = set()
        for row in self.memory.scopes():
            if not row.get("active"):
                continue
            namespace = ns.namespace_of(self.template, row)
            if namespace is None or not ns.namespace_matches(namespace, conditions):
                continue
            seen.add(namespace if op.max_depth is None else namespace[: op.max_depth])
        return sorted(seen)[op.offset : op.offset + op.limit]
