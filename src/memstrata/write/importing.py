"""Checking an export before it is imported: the rules of the verbs that write the same records.

An import must not be a way around ``add`` and ``remember``. Every line of a JSON Lines export
is held to what those verbs enforce (``Memory.import_`` has checked each line's shape with
``stores/codec.py``, messages and history rows included, before these rules run):

- limits: texts, ids, names, keys and entities as ``add``/``remember`` bound them, metadata
  that is JSON;
- ranges: ``importance`` from 0 to 1, ``strength`` within what the lifecycle can produce (from a
  new memory's least strength to its greatest plus one recall boost per recall counted),
  whole counts where counts are whole;
- provenance: a derived memory (``write.episodes.DERIVED_KINDS``) and an episode cite at least
  one message, and every source of a memory is a message in the file, in a scope the memory's
  scope covers, or one already in the target store (``found``);
- the poisoning guard: an episode's text is guarded as ``add`` guards it (quoted and flagged
  when it gives orders to an assistant; one flagged already stays as it is), and a derived
  memory whose text (in any version) gives such orders is refused, as memstrata never writes one;
- settings: a scope's extraction rules as ``set_extraction`` checks them, and what feedback
  taught it as ``feedback`` keeps it (``write.carried``).

A file memstrata exported passes unchanged. Everything here is pure: ``Memory.import_`` reads
the file, asks the store for the sources the file does not hold (``missing_sources``), then
calls ``vet``, and writes only if every line passed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from memstrata.errors import InvalidInputError
from memstrata.lifecycle.strength import DEFAULT_POLICY, LifecyclePolicy
from memstrata.types import MemoryRecord, Scope, check_id, check_metadata, check_text
from memstrata.write import carried
from memstrata.write.episodes import DERIVED_KINDS, check_derived_text, check_name
from memstrata.write.guard import guard_episode

__all__ = ["Line", "check_fields", "missing_sources", "strength_range", "vet"]


@dataclass(frozen=True, slots=True)
class Line:
    """One item of an export and the line it was read from (counting from 1)."""

    number: int
    item: dict[str, Any]


def strength_range(
    recall_count: int, policy: LifecyclePolicy = DEFAULT_POLICY
) -> tuple[float, float]:
    """The least and the greatest strength a memory recalled ``recall_count`` times can have:
    a new memory's strength grows with its importance, and each used recall adds a boost."""
    low, high = policy.base_strength
    return low, high + policy.recall_boost * recall_count


def _messages(lines: Sequence[Line], tenant: str) -> dict[str, list[Scope]]:
    """The scopes of the file's messages, by message id."""
    out: dict[str, list[Scope]] = defaultdict(list)
    for line in lines:
        if line.item["type"] == "message":
            data = line.item["message"]
            scope = Scope(data.get("user_id"), data.get("agent_id"), data.get("run_id"), tenant)
            out[data["id"]].append(scope)
    return out


def _in_file(messages: Mapping[str, list[Scope]], scope: Scope, source: str) -> bool:
    return any(scope.covers(found) for found in messages.get(source, ()))


def missing_sources(lines: Sequence[Line], tenant: str) -> dict[Scope, set[str]]:
    """The sources the file's memories cite that no message of the file provides, by the scope
    of the memory citing them (the target store may hold them)."""
    messages = _messages(lines, tenant)
    out: dict[Scope, set[str]] = defaultdict(set)
    for line in lines:
        if line.item["type"] != "memory":
            continue
        record = MemoryRecord.from_dict(line.item["record"], tenant)
        out[record.scope] |= {s for s in record.sources if not _in_file(messages, record.scope, s)}
    return {scope: ids for scope, ids in out.items() if ids}


def vet(
    lines: Sequence[Line],
    found: Mapping[Scope, set[str]],
    tenant: str,
    policy: LifecyclePolicy = DEFAULT_POLICY,
) -> list[dict[str, Any]]:
    """The items of an export, checked and with their episodes guarded, ready for
    ``Store.import_`` (a ``settings`` item as the store's keys and values, ``{"type":
    "settings", "values": {...}}``); ``InvalidInputError`` naming the line at the first one
    that fails.

    ``found``: the sources ``missing_sources`` asked for that the target store holds, by scope.
    """
    messages = _messages(lines, tenant)
    out: list[dict[str, Any]] = []
    settled: set[str] = set()
    for line in lines:
        try:
            if line.item["type"] == "settings":
                out.append(_settings(line.item, tenant, settled))
            else:
                out.append(_vet(line.item, messages, found, tenant, policy))
        except InvalidInputError as exc:
            raise InvalidInputError(f"line {line.number}: {exc}") from None
    return out


def _settings(item: Mapping[str, Any], tenant: str, settled: set[str]) -> dict[str, Any]:
    """A ``settings`` item as ``Store.import_`` takes it: the store's keys and values."""
    values = carried.to_store(item, tenant)
    again = settled & set(values)
    if again:
        raise InvalidInputError(f"a second settings item for scope {item.get('scope')}")
    settled |= set(values)
    return {"type": "settings", "values": values}


def _vet(
    item: dict[str, Any],
    messages: Mapping[str, list[Scope]],
    found: Mapping[Scope, set[str]],
    tenant: str,
    policy: LifecyclePolicy,
) -> dict[str, Any]:
    if item["type"] != "memory":
        return item
    record = _checked(item["record"], tenant, policy)
    versions = [_checked(v, tenant, policy) for v in item.get("versions") or ()]
    kind = record.kind
    if (kind in DERIVED_KINDS or kind == "episode") and not record.sources:
        raise InvalidInputError(f"a {kind} must cite the messages it comes from in 'sources'")
    unknown = [
        s
        for s in record.sources
        if not _in_file(messages, record.scope, s) and s not in found.get(record.scope, ())
    ]
    if unknown:
        raise InvalidInputError(
            f"this {kind} cites messages that are neither in the file nor stored in scope "
            f"{record.scope}: {', '.join(sorted(unknown)[:10])}"
        )
    numbers = [v.version for v in versions] + [record.version]
    if any(a >= b for a, b in pairwise(numbers)):
        raise InvalidInputError(
            f"memory {record.id}: its past versions and the current one must have increasing "
            f"version numbers, not {numbers}"
        )
    for version in [*versions, record]:
        check_derived_text(kind, version.text)
    if kind == "episode":
        guarded = guard_episode(record)
        if guarded is not record:
            return {**item, "record": guarded.to_dict()}
    return item


def check_fields(data: Mapping[str, Any]) -> None:
    """The types of a record's numbers, lists and metadata, checked before anything reads
    them (``MemoryRecord.from_dict`` would turn ``true`` into 1.0 and ``"7"`` into 7)."""
    for name, least in (("version", 1), ("recall_count", 0)):
        value = data.get(name, least)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidInputError(f"{name!r} must be a whole number of at least {least}")
    for name in ("importance", "strength"):
        value = data.get(name, 0.5)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise InvalidInputError(f"{name!r} must be a number")
    for name in ("sources", "keys", "entities"):
        value = data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise InvalidInputError(f"{name!r} must be a list of strings")
    check_metadata(data.get("metadata"))


def _checked(data: Mapping[str, Any], tenant: str, policy: LifecyclePolicy) -> MemoryRecord:
    """A record of the file, held to the limits and ranges the writing verbs keep."""
    check_fields(data)
    record = MemoryRecord.from_dict(data, tenant)
    if not 0.0 <= record.importance <= 1.0:
        raise InvalidInputError(f"importance {record.importance:g} is not from 0 to 1")
    low, high = strength_range(record.recall_count, policy)
    if not low - 1e-9 <= record.strength <= high + 1e-9:
        raise InvalidInputError(
            f"strength {record.strength:g} is outside {low:g} to {high:g}, the range of a memory "
            f"recalled {record.recall_count} times"
        )
    for source in record.sources:
        check_id(source, "source id")
    for key in record.keys:
        check_text(key, "key")
    for entity in record.entities:
        check_text(entity, "entity")
    check_name(record.actor, "actor")
    check_name(record.subject, "subject")
    if record.supersedes is not None:
        check_id(record.supersedes, "supersedes")
    return record
