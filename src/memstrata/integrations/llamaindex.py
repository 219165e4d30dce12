"""LlamaIndex on memstrata: ``MemstrataMemoryBlock`` and ``memstrata_tools``.

``MemstrataMemoryBlock`` is a long-term block for LlamaIndex's ``Memory``: before each model
call it searches memstrata with the latest message and hands the memories that answer it to
the prompt; the messages ``Memory`` flushes out of its short-term queue are added to
memstrata, so the conversation becomes long-term memory. ``memstrata_tools`` gives an agent
``search_memories`` and ``remember`` as ``FunctionTool``s. Needs
``pip install 'memstrata[llamaindex]'``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Unpack

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import Field, field_validator
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.core.tools import FunctionTool

from memstrata.api import blocking
from memstrata.integrations.tools import (
    LONG_TERM,
    ToolOptions,
    memory_tools,
    scope_args,
    search_args,
)
from memstrata.memory import AsyncMemory, Memory
from memstrata.types import MAX_TEXT_CHARS, MemoryKind, SearchResult

if TYPE_CHECKING:
    from memstrata.remote import RemoteMemory

__all__ = ["MemstrataMemoryBlock", "memstrata_tools"]


def message_text(message: ChatMessage) -> str:
    """The text of a chat message (its text blocks), or ``""``."""
    return (message.content or "").strip()


class MemstrataMemoryBlock(BaseMemoryBlock[str]):
    """memstrata as a block of LlamaIndex's ``Memory`` (``Memory.from_defaults(memory_blocks=
    [MemstrataMemoryBlock(memory=..., user_id=...)])``).

    Each read searches with the text of the latest ``query_messages`` messages and returns
    one line per memory (``- (date) speaker: text``), best first; ``limit``, ``budget``
    (characters) and ``kinds`` shape the search. Messages flushed from short-term memory are
    added in the block's scope (``accept_short_term_memory=False`` turns that off), with the
    ``Memory``'s session id in their metadata. Priority 0 (the default) is never truncated;
    with a higher one, truncation drops the lowest-ranked lines first.
    """

    name: str = Field(default="long_term_memory", description="The block's name.")
    description: str | None = Field(
        default="What memstrata remembers that answers the latest message.",
        description="A description of the memory block.",
    )
    memory: Any = Field(description="A memstrata Memory, AsyncMemory or RemoteMemory.")
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    limit: int | None = Field(default=5, description="At most this many memories.")
    budget: int | None = Field(default=None, description="Characters the lines may take.")
    kinds: list[MemoryKind] | None = Field(default_factory=lambda: list(LONG_TERM))
    query_messages: int = Field(default=1, ge=1, description="Latest messages searched with.")

    @field_validator("memory", mode="after")
    @classmethod
    def _sync(cls, value: Any) -> Any:
        if not hasattr(value, "search") and not isinstance(value, AsyncMemory):
            raise ValueError("memory must be a memstrata Memory, AsyncMemory or RemoteMemory")
        return blocking(value)

    def model_post_init(self, context: Any, /) -> None:
        scope_args(self.user_id, self.agent_id, self.run_id)

    async def _aget(self, messages: list[ChatMessage] | None = None, **block_kwargs: Any) -> str:
        texts = [message_text(m) for m in (messages or [])[-self.query_messages :]]
        query = "\n".join(t for t in texts if t)[-MAX_TEXT_CHARS:]
        if not query:
            return ""
        scope = scope_args(self.user_id, self.agent_id, self.run_id)

        def search() -> SearchResult:
            limits = search_args(self.limit, self.budget)
            found: SearchResult = self.memory.search(query, **scope, kinds=self.kinds, **limits)
            return found

        result = await asyncio.to_thread(search)
        return "\n".join(f"- {hit.context}" for hit in result)

    async def _aput(self, messages: list[ChatMessage]) -> None:
        batch = []
        for message in messages:
            text = message_text(message)
            if not text:
                continue  # a tool call without text: nothing was said
            extra = message.additional_kwargs.get("session_id")
            metadata = {} if extra is None else {"session_id": str(extra)}
            role = message.role.value
            batch.append({"text": text[:MAX_TEXT_CHARS], "role": role, "metadata": metadata})
        if batch:
            scope = scope_args(self.user_id, self.agent_id, self.run_id)
            await asyncio.to_thread(self.memory.add, batch, **scope)

    async def atruncate(self, content: str, tokens_to_truncate: int) -> str | None:
        """Drop the lowest-ranked lines until about ``tokens_to_truncate`` tokens are gone
        (four characters a token)."""
        lines = content.splitlines()
        budget = tokens_to_truncate * 4
        while lines and budget > 0:
            budget -= len(lines.pop()) + 1
        return "\n".join(lines) or None


def memstrata_tools(
    memory: Memory | AsyncMemory | RemoteMemory, **options: Unpack[ToolOptions]
) -> list[FunctionTool]:
    """``search_memories`` and ``remember`` as LlamaIndex tools, bound to one scope (the model
    cannot choose another); ``options`` are ``MemoryTools``' (``user_id=``, ``limit=``,
    ``budget=``, ``kind=``…)."""
    tools = memory_tools(memory, **options)
    return [
        FunctionTool.from_defaults(fn=sync, async_fn=run)
        for sync, run in zip(tools.functions(), tools.async_functions(), strict=True)
    ]
