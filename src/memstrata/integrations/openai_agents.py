"""The OpenAI Agents SDK on memstrata: ``MemstrataSession`` and ``memstrata_tools``.

``MemstrataSession`` is the SDK's ``Session``: it keeps a conversation in memstrata under the
scope ``run_id=session_id`` (plus the user and agent when given). What was said (user,
assistant, system and developer messages) is stored as ``episode`` memories, so the
conversation is searchable and, with a language model, distilled into facts; the rest of a run
(tool calls, tool results, reasoning) is stored as ``working`` memories whose text only names
the step, so a tool's output never comes back as a memory of its own. Every item is kept whole
in its memory's metadata and comes back exactly as it was added. ``pop_item`` and
``clear_session`` soft-delete: ``Memory.restore`` brings an item back.

``memstrata_tools`` gives an agent ``search_memories`` and ``remember`` for one scope. Needs
``pip install 'memstrata[openai-agents]'``.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Unpack

from agents import FunctionTool, SessionSettings, function_tool
from agents.items import TResponseInputItem
from agents.memory.session_settings import resolve_session_limit

from memstrata.api import ScopeArgs, blocking
from memstrata.errors import InvalidInputError
from memstrata.integrations.tools import (
    ToolOptions,
    memory_tools,
    same_scope,
    scope_args,
)
from memstrata.memory import MAX_LIMIT, AsyncMemory, Memory
from memstrata.types import MAX_TEXT_CHARS, MemoryKind, MemoryRecord

if TYPE_CHECKING:
    from memstrata.remote import RemoteMemory

__all__ = ["MemstrataSession", "memstrata_tools"]

#: Metadata keys of a session's memories: the session id, and the item as the SDK gave it.
SESSION = "agents_session"
ITEM = "agents_item"
SPOKEN = ("user", "assistant", "system", "developer")


def spoken_text(item: Mapping[str, Any]) -> str | None:
    """The text of a message item (``None`` for anything else, or a message without text)."""
    role = item.get("role")
    if role not in SPOKEN or item.get("type", "message") != "message":
        return None
    content = item.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        parts = [p.get("text") or p.get("refusal") for p in content if isinstance(p, Mapping)]
        text = "\n".join(p for p in parts if isinstance(p, str))
    else:
        return None
    return text[:MAX_TEXT_CHARS] if text.strip() else None


def step_text(item: Mapping[str, Any]) -> str:
    """What a ``working`` memory says about a step that is not a message: its type, and the
    tool's name and arguments for a call (never a tool's output)."""
    kind = str(item.get("type") or item.get("role") or "item")
    if isinstance(item.get("name"), str):
        arguments = item.get("arguments")
        call = f"{item['name']}({arguments if isinstance(arguments, str) else ''})"
        return f"{kind}: {call}"[:MAX_TEXT_CHARS]
    if isinstance(item.get("call_id"), str):
        return f"{kind} for {item['call_id']}"
    return kind


class MemstrataSession:
    """A conversation kept in memstrata, for ``Runner.run(agent, input, session=...)``.

    ``session_id`` is the memstrata ``run_id``; ``user_id`` and ``agent_id`` narrow the scope,
    so ``Memory.search(..., user_id=...)`` finds what the user said in every session.
    ``session_settings`` is the SDK's (``limit``: how many items a run reads back).
    """

    def __init__(
        self,
        session_id: str,
        memory: Memory | AsyncMemory | RemoteMemory,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_settings: SessionSettings | None = None,
    ) -> None:
        self.session_id = session_id
        self.memory = blocking(memory)
        self.scope: ScopeArgs = scope_args(user_id, agent_id, session_id)
        self.session_settings = session_settings

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The latest ``limit`` items (all when ``None``), oldest first."""
        wanted = resolve_session_limit(limit, self.session_settings)
        return await asyncio.to_thread(self._latest, wanted)

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append items, in order: runs of messages in one ``Memory.add``."""
        await asyncio.to_thread(self._add, [dict(item) for item in items])

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove (soft-delete) and return the newest item; ``None`` when there is none."""
        return await asyncio.to_thread(self._pop)

    async def clear_session(self) -> None:
        """Remove (soft-delete) every item of the session."""
        await asyncio.to_thread(self._clear)

    # -- synchronous work, on a worker thread ---------------------------------------------------
    def _records(self) -> Iterator[MemoryRecord]:
        """The session's active memories, newest first."""
        kinds: list[MemoryKind] = ["episode", "working"]
        cursor = None
        while True:
            page = self.memory.list(
                **self.scope, kinds=kinds, metadata={SESSION: self.session_id},
                limit=MAX_LIMIT, cursor=cursor,
            )  # fmt: skip
            yield from (r for r in page.records if same_scope(r, self.scope))
            cursor = page.next_cursor
            if cursor is None:
                return

    def _latest(self, limit: int | None) -> list[TResponseInputItem]:
        items: list[TResponseInputItem] = []
        if limit is not None and limit <= 0:
            return items
        for record in self._records():
            items.append(copy.deepcopy(record.metadata[ITEM]))
            if limit is not None and len(items) >= limit:
                break
        return items[::-1]

    def _add(self, items: Sequence[dict[str, Any]]) -> None:
        for item in items:  # every item is checked before any is written
            try:
                json.dumps(item)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(f"a session item must be JSON: {exc}") from None
        messages: list[dict[str, Any]] = []
        for item in items:
            text = spoken_text(item)
            meta = {SESSION: self.session_id, ITEM: item}
            if text is not None:
                messages.append({"text": text, "role": item["role"], "metadata": meta})
                continue
            self._flush(messages)
            self.memory.remember(step_text(item), kind="working", metadata=meta, **self.scope)
        self._flush(messages)

    def _flush(self, messages: list[dict[str, Any]]) -> None:
        if messages:
            self.memory.add(list(messages), **self.scope)
            messages.clear()

    def _pop(self) -> TResponseInputItem | None:
        for record in self._records():
            self.memory.delete(record.id, reason="popped from the session", **self.scope)
            item: TResponseInputItem = copy.deepcopy(record.metadata[ITEM])
            return item
        return None

    def _clear(self) -> None:
        for record in list(self._records()):
            self.memory.delete(record.id, reason="session cleared", **self.scope)


def memstrata_tools(
    memory: Memory | AsyncMemory | RemoteMemory, **options: Unpack[ToolOptions]
) -> list[FunctionTool]:
    """``search_memories`` and ``remember`` as function tools, bound to one scope (the model
    cannot choose another); ``options`` are ``MemoryTools``' (``user_id=``, ``limit=``,
    ``budget=``, ``kind=``…)."""
    return [function_tool(fn) for fn in memory_tools(memory, **options).async_functions()]
