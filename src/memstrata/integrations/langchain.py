"""LangChain tools over memstrata: ``memstrata_tools`` (search and remember, for one scope).

They work in any LangChain or LangGraph agent (``create_agent(model, tools=...)``); each has a
synchronous and an asynchronous implementation. Needs ``pip install 'memstrata[langgraph]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Unpack

from langchain_core.tools import BaseTool, StructuredTool

from memstrata.integrations.tools import ToolOptions, memory_tools
from memstrata.memory import AsyncMemory, Memory

if TYPE_CHECKING:
    from memstrata.remote import RemoteMemory

__all__ = ["memstrata_tools"]


def memstrata_tools(
    memory: Memory | AsyncMemory | RemoteMemory, **options: Unpack[ToolOptions]
) -> list[BaseTool]:
    """``search_memories`` and ``remember`` as LangChain tools, bound to one scope (the model
    cannot choose another); ``options`` are ``MemoryTools``' (``user_id=``, ``limit=``,
    ``budget=``, ``kind=``…)."""
    tools = memory_tools(memory, **options)
    return [
        StructuredTool.from_function(func=sync, coroutine=run, parse_docstring=True)
        for sync, run in zip(tools.functions(), tools.async_functions(), strict=True)
    ]
