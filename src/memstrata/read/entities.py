"""Entities and relations (Mem0's graph variant), kept in the store's own tables.

Extraction names the people, places and things in each fact and the relations between them
("Ana -lives_in-> Lisbon"). The pipeline registers them per memory (``index``); search uses
them as a retrieval signal (``entity_signal``): the entities a query names are found among the
scope's known entities by their normalised names, and the memories that name them rank by how
rare each entity is, with the entities one relation away (their neighbours) counting half.

Pure functions decide the keys and weights; the store only joins. ``Memory.entities``,
``Memory.about`` and ``Memory.links`` read the graph for an application (``memstrata.graph``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from memstrata.ports import Entity, EntityGraph, EntityIndex, Triple
from memstrata.text import STOPWORDS, words
from memstrata.types import Filters, MemoryRecord, Scope

__all__ = [
    "entity_key",
    "entity_signal",
    "entity_weights",
    "graph_of",
    "index",
    "query_keys",
    "triples",
]

#: The longest entity name matched in a query, in words.
MAX_NAME_WORDS = 4
#: How much an entity one relation away from a query's entity counts, relative to it.
NEIGHBOUR_FACTOR = 0.5
#: The most neighbours one search follows.
MAX_NEIGHBOURS = 20
_LEADING = frozenset({"the", "a", "an", "my", "our", "his", "her", "their"})


def entity_key(name: str) -> str:
    """The normalised name that identifies an entity: tokens, casefolded, possessives and a
    leading article dropped ("The Lisbon Zoo" and "lisbon zoo's" agree)."""
    tokens = words(name)
    while len(tokens) > 1 and tokens[0] in _LEADING:
        tokens = tokens[1:]
    return " ".join(tokens)


def query_keys(query: str, max_words: int = MAX_NAME_WORDS) -> list[str]:
    """Every run of up to ``max_words`` words of ``query`` that could name an entity: runs
    that neither start nor end with a stop word, in order of first appearance."""
    tokens = words(query)
    out: dict[str, None] = {}
    for size in range(1, max_words + 1):
        for start in range(len(tokens) - size + 1):
            run = tokens[start : start + size]
            if run[0] in STOPWORDS or run[-1] in STOPWORDS:
                continue
            out[" ".join(run)] = None
    return list(out)


def _named(names: Iterable[str]) -> list[Entity]:
    out: dict[str, Entity] = {}
    for name in names:
        name = " ".join(name.split())
        key = entity_key(name)
        if key and key not in out and not (len(key) < 2 and not key.isdigit()):
            out[key] = Entity(key=key, name=name)
    return list(out.values())


def triples(relations: Iterable[tuple[str, str, str]]) -> list[Triple]:
    """Relation triples of names as stored: keyed ends, predicate in snake_case."""
    out: dict[tuple[str, str, str], Triple] = {}
    for subject, predicate, obj in relations:
        s_key, o_key = entity_key(subject), entity_key(obj)
        verb = "_".join(words(predicate)) or "related_to"
        if s_key and o_key and (s_key, verb, o_key) not in out:
            out[(s_key, verb, o_key)] = Triple(s_key, subject.strip(), verb, o_key, obj.strip())
    return list(out.values())


def graph_of(
    names: Iterable[str], relations: Iterable[tuple[str, str, str]]
) -> tuple[list[Entity], list[Triple]]:
    """The entities (named, or ends of a relation) and triples one memory states."""
    found = triples(relations)
    ends = [t.subject for t in found] + [t.object for t in found]
    return _named([*names, *ends]), found


def relations_of(record: MemoryRecord) -> list[tuple[str, str, str]]:
    """A memory's ``(subject, predicate, object)`` relations, as the write path keeps them in
    ``metadata["relations"]`` (anything else there is left out)."""
    raw = record.metadata.get("relations")
    return [
        (str(r[0]), str(r[1]), str(r[2]))
        for r in (raw if isinstance(raw, list) else [])
        if isinstance(r, list | tuple) and len(r) == 3
    ]


def index(store: EntityGraph, scope: Scope, record: MemoryRecord) -> int:
    """Register what ``record`` names (its ``entities`` and ``metadata["relations"]``);
    return the number of entities. Replaces what was registered for it before."""
    names, found = graph_of(record.entities, relations_of(record))
    store.put_graph(scope, record.id, names, found)
    return len(names)


def entity_weights(found: Sequence[Entity], neighbours: Sequence[Triple] = ()) -> dict[str, float]:
    """Weights for the entity signal: ``1 / log2(1 + mentions)`` for each entity the query
    names (a name in every memory counts little, a rare one a lot), and ``NEIGHBOUR_FACTOR``
    of that for the entities one relation away that the query does not name."""
    weights = {e.key: 1.0 / math.log2(1.0 + max(1, e.mentions)) for e in found}
    extra: dict[str, float] = {}
    for t in neighbours[:MAX_NEIGHBOURS]:
        for near, far in ((t.subject_key, t.object_key), (t.object_key, t.subject_key)):
            if near in weights and far not in weights:
                extra[far] = max(extra.get(far, 0.0), NEIGHBOUR_FACTOR * weights[near])
    return {**weights, **extra}


def entity_signal(
    store: EntityIndex, scope: Scope, query: str, filters: Filters, *, limit: int
) -> list[tuple[MemoryRecord, float]]:
    """The memories that name the entities of ``query`` (or their neighbours), best first."""
    keys = query_keys(query)
    if not keys:
        return []
    found = store.find_entities(scope, keys, limit=len(keys))
    if not found:
        return []
    neighbours = store.relations(scope, [e.key for e in found], limit=MAX_NEIGHBOURS)
    return store.entity_search(scope, entity_weights(found, neighbours), filters, limit=limit)
