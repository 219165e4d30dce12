"""pydantic-ai on memstrata: ``MemstrataToolset``, a toolset with memory tools for one scope.

The toolset holds one tool for each of ``MemoryTools.functions()``: ``search_memories`` and
``remember`` today. That list is the one place a new verb becomes a tool for every framework, so
a ``profile`` tool joins this toolset when the library grows a profile verb, with no change
here. The toolset's ``instructions`` tell the model when to use them. Needs
``pip install 'memstrata[pydantic-ai]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Unpack

from pydantic_ai import FunctionToolset, Tool
from pydantic_ai.tools import AgentDepsT

from memstrata.integrations.tools import INSTRUCTIONS, MemoryTools, ToolOptions, memory_tools
from memstrata.memory import AsyncMemory, Memory

if TYPE_CHECKING:
    from memstrata.remote import RemoteMemory

__all__ = ["MemstrataToolset"]


class MemstrataToolset(FunctionToolset[AgentDepsT]):
    """Memory tools for one scope, for ``Agent(model, toolsets=[MemstrataToolset(...)])``.

    ``options`` are ``MemoryTools``' (``user_id=``, ``limit=``, ``budget=``, ``kind=``…); the
    scope is fixed here, never chosen by the model. ``instructions`` go to the model with the
    tools (``None`` for none). The tools run the store's work on a worker thread.
    """

    def __init__(
        self,
        memory: Memory | AsyncMemory | RemoteMemory,
        *,
        instructions: str | None = INSTRUCTIONS,
        **options: Unpack[ToolOptions],
    ) -> None:
        self.memory_tools: MemoryTools = memory_tools(memory, **options)
        tools: list[Tool[AgentDepsT]] = [
            Tool(fn, takes_ctx=False) for fn in self.memory_tools.async_functions()
        ]
        super().__init__(tools, instructions=instructions)
