"""The graph of a scope's memory, for an application: its entities, what it holds about one,
and the links between memories (A-MEM).

The views are built on the verbs (``Memory.entities``, ``Memory.about``, ``Memory.links``), so
they work on a ``Memory``, a ``RemoteMemory`` and, blocking, an ``AsyncMemory``. How entities
are named, registered and searched is ``read.entities``, re-exported here.
"""

from __future__ import annotations

from typing import Unpack

from memstrata.api import AnyMemory, ScopeArgs, blocking
from memstrata.ports import Entity, EntityView, Link
from memstrata.read.entities import (
    entity_key,
    entity_signal,
    entity_weights,
    graph_of,
    index,
    query_keys,
    triples,
)
from memstrata.types import MemoryRecord

__all__ = [
    "EntityView",
    "about",
    "entities",
    "entity_key",
    "entity_signal",
    "entity_weights",
    "graph_of",
    "index",
    "links",
    "query_keys",
    "triples",
]


def entities(memory: AnyMemory, *, limit: int = 100, **scope: Unpack[ScopeArgs]) -> list[Entity]:
    """The entities of a scope, most mentioned first."""
    return blocking(memory).entities(limit=limit, **scope)


def about(
    memory: AnyMemory, name: str, *, limit: int = 20, **scope: Unpack[ScopeArgs]
) -> EntityView | None:
    """What a scope's memory holds about one entity, or ``None`` when it names none such."""
    return blocking(memory).about(name, limit=limit, **scope)


def links(
    memory: AnyMemory, memory_id: str, **scope: Unpack[ScopeArgs]
) -> list[tuple[Link, MemoryRecord]]:
    """The memories linked to ``memory_id`` (A-MEM notes), each with its link."""
    return blocking(memory).links(memory_id, **scope)
