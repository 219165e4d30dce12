"""LangChain tools over memstrata: ``memstrata_tools`` (search and remember, for one scope).

They work in any LangChain or LangGraph agent (``create_agent(model, tools=...)``); each has a
synchronous and an asynchronous implementation. Needs ``pip install 'memstrata[langgraph]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.tools import BaseTool, StructuredTool

from memstrata.integrations.tools import MemoryTools, backend
from memstrata.memory import AsyncMemory, Memory
from memstrata.types import MemoryKind

if TYPE_CHECKING:
    from memstrata.remote import RemoteMemory

__all__ = ["memstrata_tools"]


def memstrata_tools(
    memory: Memory | AsyncMemory | RemoteMemory,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    limit: int | None = None,
    budget: int | None = None,
    kind: MemoryKind = "fact",
) -> list[BaseTool]:
    """``search_memories`` and ``remember`` as LangChain tools, bound to one scope (the model
    cannot choose another). ``limit`` and ``budget`` shape every search; ``kind`` is what
    ``remember`` writes."""
    tools = MemoryTools(
        backend(memory), user_id=user_id, agent_id=agent_id, run_id=run_id, limit=limit,
        budget=budget, kind=kind,
    )  # fmt: skip
    return [
        StructuredTool.from_function(func=sync, coroutine=run, parse_docstring=True)
        for sync, run in zip(tools.functions(), tools.async_functions(), strict=True)
    ]
