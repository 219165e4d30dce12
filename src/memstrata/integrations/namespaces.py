"""How LangGraph's items map onto memstrata's memories, as pure functions (no LangGraph here).

A **namespace template** names which label of a namespace is which part of a memstrata scope:
``("{user_id}", "{agent_id}", "{run_id}")`` (the default) reads ``("ada", "support")`` as
``user_id="ada", agent_id="support"``; ``("memories", "{user_id}")`` reads ``("memories",
"ada")`` as ``user_id="ada"`` and wants the literal label ``memories`` first. A namespace may
stop before the template does: a shorter one is a wider scope, which is what a namespace
*prefix* means in LangGraph and what a scope *filter* means in memstrata.

An item's **value** becomes a memory: its text is the value's text field (``fields``, or the
paths given to ``put(index=...)``), and the rest of the value is kept in the memory's metadata
with the item's key, so ``get`` gives back exactly what ``put`` stored, and filters on the
value's fields run inside memstrata's store. The metadata keys memstrata keeps on a message of
its own (``OWN``: who spoke, the guard's marks) are not the value's: a value's fields of those
names are kept apart, under ``SHADOW``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from memstrata.api import SCOPE_FIELDS, ScopeArgs
from memstrata.errors import InvalidInputError
from memstrata.types import MemoryRecord
from memstrata.write.guard import guard_episode

#: Metadata keys the store keeps beside an item's value.
KEY = "langgraph_key"
TEXT_FIELD = "langgraph_text_field"
SHADOW = "langgraph_fields"
RESERVED = (KEY, TEXT_FIELD, SHADOW)
#: Metadata keys memstrata keeps on a message itself: its role, and the guard's marks.
OWN = ("role", "flags", "guard")
_PLACEHOLDER = re.compile(r"^\{(user_id|agent_id|run_id)\}$")
_PLAIN = re.compile(r"^[A-Za-z0-9_-]+$")

Template = tuple[tuple[str, str], ...]  # ("field", name) or ("literal", label), per position


def parse_template(labels: Sequence[str]) -> Template:
    """Check a namespace template: ``{user_id}``, ``{agent_id}``, ``{run_id}`` (each once, at
    least one) and literal labels."""
    parts: list[tuple[str, str]] = []
    for label in labels:
        match = _PLACEHOLDER.match(label)
        if match:
            parts.append(("field", match.group(1)))
        elif not label or "{" in label or "}" in label or "." in label:
            raise InvalidInputError(
                f"namespace template label {label!r} is neither a literal label nor one of "
                "{user_id}, {agent_id}, {run_id}"
            )
        else:
            parts.append(("literal", label))
    fields = [name for kind, name in parts if kind == "field"]
    if not fields or len(fields) != len(set(fields)):
        raise InvalidInputError(
            f"namespace template {tuple(labels)} must name each of {{user_id}}, {{agent_id}}, "
            "{run_id} at most once, and at least one of them"
        )
    return tuple(parts)


def show(template: Template) -> str:
    return str(tuple(name if kind == "literal" else f"{{{name}}}" for kind, name in template))


def scope_of(template: Template, namespace: Sequence[str]) -> ScopeArgs | None:
    """The scope a namespace (or a namespace prefix) names, or ``None`` when it does not fit
    the template. A namespace that names no scope field gives an empty scope."""
    if len(namespace) > len(template):
        return None
    scope: ScopeArgs = {"user_id": None, "agent_id": None, "run_id": None}
    for label, (kind, name) in zip(namespace, template, strict=False):
        if kind == "literal" and label != name:
            return None
        if kind == "field":
            scope[name] = label  # type: ignore[literal-required]
    return scope


def namespace_of(template: Template, scope: Mapping[str, object]) -> tuple[str, ...] | None:
    """The namespace of the memories stored under ``scope``: the template filled in up to its
    last given field, with the literal labels that follow it; ``None`` when the scope leaves
    a field of the template empty before a given one (no namespace can say that)."""
    given = [i for i, (kind, name) in enumerate(template) if kind == "field" and scope.get(name)]
    if not given or any(scope.get(name) and name not in _names(template) for name in SCOPE_FIELDS):
        return None
    labels: list[str] = []
    for i, (kind, name) in enumerate(template):
        if kind == "literal":
            labels.append(name)
            continue
        if i > given[-1]:
            break
        value = scope.get(name)
        if not isinstance(value, str) or not value:
            return None
        labels.append(value)
    return tuple(labels)


def _names(template: Template) -> set[str]:
    return {name for kind, name in template if kind == "field"}


# -- values ---------------------------------------------------------------------------------------
def to_memory(
    key: str,
    value: Mapping[str, Any],
    paths: Sequence[str],
    texts_at: Callable[[Mapping[str, Any], str], list[str]],
) -> tuple[str, dict[str, Any]]:
    """An item's value as a memory: ``(text, metadata)``.

    When ``paths`` is one top-level field holding text, that text is the memory's text and the
    field is left out of the metadata (``from_memory`` puts the memory's current text back, so a
    correction made elsewhere shows). Otherwise the text is what ``texts_at`` finds at the paths
    (the whole value as JSON when nothing), and the value is kept whole.
    """
    for name in RESERVED:
        if name in value:
            raise InvalidInputError(f"the value field {name!r} is reserved by MemstrataStore")
    shadowed = {k: v for k, v in value.items() if k in OWN}
    kept = {KEY: key, **({SHADOW: shadowed} if shadowed else {})}
    if len(paths) == 1 and _PLAIN.match(paths[0]):
        field = paths[0]
        text = value.get(field)
        if isinstance(text, str) and text.strip():
            rest = {k: v for k, v in value.items() if k != field and k not in OWN}
            return text, {**rest, **kept, TEXT_FIELD: field}
    found = [t for path in paths for t in texts_at(value, path) if t.strip()]
    text = "\n".join(found) or json.dumps(dict(value), ensure_ascii=False, sort_keys=True)
    return text, {**{k: v for k, v in value.items() if k not in OWN}, **kept}


def next_version(current: MemoryRecord, text: str, metadata: Mapping[str, Any]) -> MemoryRecord:
    """The item's memory after another ``put``: the new text and metadata, the role it was
    said in kept, and a message's text guarded as ``Memory.add`` guards it (text that gives
    orders to an assistant becomes a quotation, flagged)."""
    role = {"role": current.metadata["role"]} if "role" in current.metadata else {}
    new = replace(current, text=text, metadata={**metadata, **role})
    return guard_episode(new) if new.kind == "episode" else new


def from_memory(record: MemoryRecord) -> tuple[str, dict[str, Any]]:
    """A memory as an item: ``(key, value)``. A memory the store did not write (an episode
    from ``Memory.add``, say) has its id as key and ``{"text", "kind"}`` and its metadata as
    value."""
    metadata = dict(record.metadata)
    key = metadata.pop(KEY, None)
    if key is None:
        return record.id, {**metadata, "text": record.text, "kind": record.kind}
    for name in OWN:
        metadata.pop(name, None)
    shadowed = metadata.pop(SHADOW, None)
    metadata.update(shadowed if isinstance(shadowed, Mapping) else {})
    field = metadata.pop(TEXT_FIELD, None)
    if isinstance(field, str):
        metadata[field] = record.text
    return str(key), metadata


# -- filters --------------------------------------------------------------------------------------
def split_filter(
    flt: Mapping[str, Any] | None, text_fields: Iterable[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(pushed, after)``: the equality conditions memstrata's store can apply itself (a plain
    top-level key, a scalar value, not a text field nor a field of ``OWN``'s names), and the
    rest, checked on each item."""
    pushed: dict[str, Any] = {}
    after: dict[str, Any] = {}
    skip = set(text_fields) | set(RESERVED) | set(OWN)
    for key, given in (flt or {}).items():
        want = given["$eq"] if isinstance(given, Mapping) and set(given) == {"$eq"} else given
        if isinstance(want, str | int | float | bool) and _PLAIN.match(key) and key not in skip:
            pushed[key] = want
        else:
            after[key] = given
    return pushed, after


def matches(value: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    """LangGraph's filter semantics: equality, nested objects, and ``$eq``, ``$ne``, ``$gt``,
    ``$gte``, ``$lt``, ``$lte``."""
    return all(_compare(value.get(key), want) for key, want in flt.items())


def _compare(got: Any, want: Any) -> bool:
    if isinstance(want, Mapping):
        if any(str(k).startswith("$") for k in want):
            return all(_operator(got, op, operand) for op, operand in want.items())
        return isinstance(got, Mapping) and all(_compare(got.get(k), v) for k, v in want.items())
    if isinstance(want, list | tuple):
        return (
            isinstance(got, list | tuple)
            and len(got) == len(want)
            and all(_compare(g, w) for g, w in zip(got, want, strict=True))
        )
    return bool(got == want)


_ORDER: dict[str, Callable[[float, float], bool]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _operator(got: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return bool(got == operand)
    if op == "$ne":
        return bool(got != operand)
    if op not in _ORDER:
        raise InvalidInputError(f"unsupported filter operator {op!r}")
    try:
        return _ORDER[op](float(got), float(operand))
    except (TypeError, ValueError):
        return False


def namespace_matches(
    namespace: Sequence[str], conditions: Iterable[tuple[str, Sequence[str]]]
) -> bool:
    """LangGraph's ``list_namespaces`` conditions: ``("prefix" | "suffix", path)``, where a
    ``*`` label matches any label."""
    for kind, path in conditions:
        if len(namespace) < len(path):
            return False
        pairs = (
            zip(namespace, path, strict=False)
            if kind == "prefix"
            else zip(reversed(namespace), reversed(path), strict=False)
        )
        if any(want != "*" and got != want for got, want in pairs):
            return False
    return True
