"""The ``where`` filter: one JSON expression over a memory's fields and metadata, the same in the
library, REST, MCP and the CLI (docs/filters.md).

An expression is a JSON object. Each key is a field (``kind``, ``importance``, ``metadata.topic``
…) or a combinator (``and``, ``or``, ``not``); every key of one object must hold, so an object is
an implicit ``and``::

    {"and": [{"metadata.topic": {"in": ["work", "health"]}},
             {"importance": {">=": 0.5}},
             {"not": {"metadata.city": {"exists": true}}}]}

A field's value is either a plain value (equality) or an object of operators, all of which must
hold: ``eq``, ``ne``, ``in``, ``not_in``, ``lt``, ``lte``, ``gt``, ``gte``, ``contains``,
``exists`` (with the aliases ``=``, ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``nin``).

The logic has two values: a comparison with a missing or null value is false, so its negation
(``ne``, ``not_in``, ``not``) is true. Metadata values compare by JSON type: a string equals only a
string, a number only a number (``1`` equals ``1.0``), ``true`` only ``true``.

``parse`` turns the JSON into a typed, validated tree (``InvalidInputError`` naming where it is
wrong); ``matches`` decides it for one record in Python; ``stores.sql.where.expr_sql`` writes it
as SQL. The two agree (a property test runs both over random expressions and records).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from memstrata.errors import InvalidInputError

if TYPE_CHECKING:
    from memstrata.types import MemoryRecord

#: How deep ``and``/``or``/``not`` may nest, and how many comparisons one expression may hold.
MAX_DEPTH = 8
MAX_TERMS = 100
#: The most values one ``in`` list may hold, and the longest string value, in characters.
MAX_VALUES = 100
MAX_STRING = 1000
#: The numbers a filter takes: integers compare exactly on every backend up to this size.
MAX_INT = 2**53

FieldType = Literal["string", "enum", "number", "time", "list", "metadata"]
#: The operators after aliases are resolved; ``ne``, ``not_in`` and ``exists: false`` become
#: ``not`` of ``eq``, ``in`` and ``exists: true``.
Op = Literal["eq", "in", "lt", "lte", "gt", "gte", "contains", "exists"]
ORDER_OPS: tuple[str, ...] = ("lt", "lte", "gt", "gte")

ALIASES = {
    "=": "eq", "==": "eq", "!=": "ne", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte",
    "nin": "not_in",
}  # fmt: skip
OPERATORS = ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains", "exists")


def _enums() -> dict[str, tuple[str, ...]]:
    from memstrata.types import KINDS, LAYERS, STATES

    return {"kind": KINDS, "state": STATES, "layer": LAYERS}


#: The record's own fields a filter may name, with their type. ``*_id``, ``actor`` and
#: ``subject`` may be null; ``sources``, ``keys`` and ``entities`` are lists of strings.
FIELDS: dict[str, FieldType] = {
    "id": "string", "user_id": "string", "agent_id": "string", "run_id": "string",
    "actor": "string", "subject": "string", "text": "string",
    "kind": "enum", "state": "enum", "layer": "enum",
    "importance": "number", "strength": "number", "recall_count": "number", "version": "number",
    "valid_from": "time", "valid_to": "time", "recorded_at": "time", "expired_at": "time",
    "last_recalled": "time", "expires_at": "time",
    "sources": "list", "keys": "list", "entities": "list",
}  # fmt: skip

#: The operators each type of field takes.
ALLOWED: dict[FieldType, tuple[str, ...]] = {
    "string": ("eq", "in", "contains", "exists"),
    "enum": ("eq", "in"),
    "number": ("eq", "in", "lt", "lte", "gt", "gte"),
    "time": ("eq", "lt", "lte", "gt", "gte", "exists"),
    "list": ("contains",),
    "metadata": ("eq", "in", "lt", "lte", "gt", "gte", "contains", "exists"),
}

Scalar = str | int | float | bool
Value = Scalar | datetime | None


@dataclass(frozen=True, slots=True)
class Compare:
    """One comparison: ``field`` (for ``metadata``, at ``path``) ``op`` ``value`` (for ``in``, a
    tuple of values; for ``exists``, True)."""

    field: str
    op: Op
    value: Value | tuple[Value, ...]
    path: tuple[str, ...] = ()

    @property
    def type(self) -> FieldType:
        return "metadata" if self.field == "metadata" else FIELDS[self.field]


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


Expr = Compare | And | Or | Not


# -- parsing -------------------------------------------------------------------------------------
def parse(value: object, what: str = "where") -> Expr:
    """The expression ``value`` (a JSON object, or an ``Expr`` already parsed) as a checked tree;
    ``InvalidInputError`` saying where and why it is wrong."""
    if isinstance(value, Compare | And | Or | Not):
        return value
    counter = [0]
    return _parse(value, what, 1, counter)


def from_text(text: str | None, what: str = "where") -> Expr | None:
    """An expression written as JSON text (a query parameter, a command-line option)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInputError(
            f'{what} must be a filter expression in JSON, e.g. {{"importance": {{">=": 0.5}}}} '
            "(see docs/filters.md)"
        ) from None
    return parse(value, what)


def is_key(segment: str) -> bool:
    """A metadata key a filter may name: 1 to 64 letters, digits, ``_`` or ``-``."""
    return 0 < len(segment) <= 64 and all(c.isalnum() or c in "_-" for c in segment)


def _fail(where: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"{where}: {message} (see docs/filters.md)")


def _parse(value: object, where: str, depth: int, counter: list[int]) -> Expr:
    if depth > MAX_DEPTH:
        raise _fail(where, f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected a JSON object, not {_json_type(value)}")
    if not value:
        raise _fail(where, "an empty object filters nothing; leave the filter out instead")
    parts: list[Expr] = []
    for key, item in value.items():
        if not isinstance(key, str):
            raise _fail(where, "keys must be strings")
        at = f"{where}.{key}"
        if key in ("and", "or"):
            if not isinstance(item, list) or not item:
                raise _fail(at, "expected a non-empty list of expressions")
            items = tuple(_parse(x, f"{at}[{i}]", depth + 1, counter) for i, x in enumerate(item))
            parts.append(items[0] if len(items) == 1 else (And if key == "and" else Or)(items))
        elif key == "not":
            parts.append(Not(_parse(item, at, depth + 1, counter)))
        else:
            parts.extend(_field(key, item, at, counter))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _target(key: str, where: str) -> tuple[str, tuple[str, ...]]:
    if key == "metadata" or key.startswith("metadata."):
        path = tuple(key.split(".")[1:])
        if not path:
            raise _fail(where, "name a metadata key, e.g. metadata.topic")
        for segment in path:
            if not is_key(segment):
                raise _fail(
                    where,
                    f"metadata key {segment!r} must be a word of letters, digits, '_' or '-' "
                    "(at most 64 characters)",
                )
        return "metadata", path
    if key in FIELDS:
        return key, ()
    raise _fail(
        where,
        f"unknown field {key!r}; expected and, or, not, metadata.<key> or one of "
        + ", ".join(FIELDS),
    )


def _field(key: str, spec: object, where: str, counter: list[int]) -> list[Expr]:
    field, path = _target(key, where)
    if isinstance(spec, Mapping) and spec and all(isinstance(k, str) for k in spec):
        if not set(spec) & {*OPERATORS, *ALIASES}:
            raise _fail(where, f"unknown operator {next(iter(spec))!r}; expected one of "
                        + ", ".join(OPERATORS))  # fmt: skip
        ops = [(str(name), value, f"{where}.{name}") for name, value in spec.items()]
    else:
        ops = [("eq", spec, where)]
    out = []
    for name, value, at in ops:
        counter[0] += 1
        if counter[0] > MAX_TERMS:
            raise _fail(where, f"more than {MAX_TERMS} comparisons")
        out.append(_compare(field, path, ALIASES.get(name) or name, value, at))
    return out


def _compare(field: str, path: tuple[str, ...], op: str, value: object, where: str) -> Expr:
    kind: FieldType = "metadata" if field == "metadata" else FIELDS[field]
    if op not in OPERATORS:
        raise _fail(where, f"unknown operator {op!r}; expected one of {', '.join(OPERATORS)}")
    base = {"ne": "eq", "not_in": "in"}.get(op, op)
    if base not in ALLOWED[kind]:
        raise _fail(
            where,
            f"{op} does not apply to {_name(field, path)} ({kind}); it takes "
            + ", ".join(ALLOWED[kind]),
        )
    negate = op != base
    if base == "exists":
        if not isinstance(value, bool):
            raise _fail(where, "exists takes true or false")
        node: Expr = Compare(field, "exists", True, path)
        return node if value else Not(node)
    if base == "eq" and value is None:
        if kind not in ("string", "time", "metadata"):
            raise _fail(where, f"{_name(field, path)} is never null")
        node = Compare(field, "exists", True, path)
        return Not(node) if not negate else node
    if base == "in":
        if not isinstance(value, list | tuple) or not value:
            raise _fail(where, f"{op} takes a non-empty list of values")
        if len(value) > MAX_VALUES:
            raise _fail(where, f"{op} takes at most {MAX_VALUES} values")
        values = tuple(_value(field, kind, "in", v, f"{where}[{i}]") for i, v in enumerate(value))
        node = Compare(field, "in", values, path)
    else:
        node = Compare(field, base, _value(field, kind, base, value, where), path)  # type: ignore[arg-type]
    return Not(node) if negate else node


def _value(field: str, kind: FieldType, op: str, value: object, where: str) -> Value:
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise _fail(where, f"a string value is limited to {MAX_STRING} characters")
        if "\x00" in value:
            raise _fail(where, "a string value cannot hold a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _fail(where, "a string value must be valid UTF-8") from None
    if kind == "metadata":
        if isinstance(value, bool):
            if op in ORDER_OPS:
                raise _fail(where, f"{op} compares numbers or strings, not true/false")
            return value
        if isinstance(value, int | float):
            return _number(value, where)
        if isinstance(value, str):
            return value
        raise _fail(where, f"expected a string, number or boolean, not {_json_type(value)}")
    if kind in ("string", "list"):
        if isinstance(value, str):
            return value
        raise _fail(where, f"{field} takes a string, not {_json_type(value)}")
    if kind == "enum":
        allowed = _enums()[field]
        if value not in allowed:
            raise _fail(where, f"unknown {field} {value!r}; expected one of {', '.join(allowed)}")
        return str(value)
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _number(value, where)
        raise _fail(where, f"{field} takes a number, not {_json_type(value)}")
    from memstrata.types import as_utc  # time

    if isinstance(value, datetime) or (isinstance(value, str) and value):
        return as_utc(value, f"{where}")
    raise _fail(where, f"{field} takes an ISO 8601 date or time, not {_json_type(value)}")


def _number(value: int | float, where: str) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(where, "a number must be finite")
    if abs(value) > MAX_INT:
        raise _fail(where, f"a number must lie within ±2**53 ({MAX_INT})")
    return value


def _name(field: str, path: tuple[str, ...]) -> str:
    return ".".join((field, *path))


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Sequence):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


# -- back to JSON --------------------------------------------------------------------------------
def to_json(expr: Expr) -> dict[str, Any]:
    """The expression as the JSON ``parse`` reads back to the same tree."""
    if isinstance(expr, And):
        return {"and": [to_json(x) for x in expr.items]}
    if isinstance(expr, Or):
        return {"or": [to_json(x) for x in expr.items]}
    if isinstance(expr, Not):
        return {"not": to_json(expr.item)}

    def plain(v: Value) -> Any:
        return v.isoformat() if isinstance(v, datetime) else v

    value = expr.value
    out = [plain(v) for v in value] if isinstance(value, tuple) else plain(value)
    return {_name(expr.field, expr.path): {expr.op: out}}


def fields(expr: Expr) -> set[str]:
    """The fields an expression names (``metadata`` for any metadata key)."""
    if isinstance(expr, Compare):
        return {expr.field}
    if isinstance(expr, Not):
        return fields(expr.item)
    return set().union(*(fields(x) for x in expr.items))


# -- currency ------------------------------------------------------------------------------------
def expired(record: MemoryRecord, at: datetime) -> bool:
    """Whether ``record``'s own expiry (``expires_at``) has come by ``at``."""
    return record.expires_at is not None and record.expires_at <= at


def current_state(record: MemoryRecord, at: datetime) -> str:
    """The state ``record`` reads as at ``at``: an active memory that has expired is archived."""
    return "archived" if record.state == "active" and expired(record, at) else record.state


def ended(record: MemoryRecord, at: datetime) -> bool:
    """Whether ``record`` is a fact no longer true at ``at`` (its ``valid_to`` has passed): it
    is history, not current."""
    return record.kind == "fact" and record.valid_to is not None and record.valid_to <= at


# -- evaluation ----------------------------------------------------------------------------------
_MISSING = object()


def matches(expr: Expr | Mapping[str, Any], record: MemoryRecord) -> bool:
    """Whether ``record`` passes ``expr`` (a tree, or its JSON form): the Python twin of
    ``stores.sql.where.expr_sql``."""
    return _matches(parse(expr), record)


def _matches(expr: Expr, record: MemoryRecord) -> bool:
    if isinstance(expr, And):
        return all(_matches(x, record) for x in expr.items)
    if isinstance(expr, Or):
        return any(_matches(x, record) for x in expr.items)
    if isinstance(expr, Not):
        return not _matches(expr.item, record)
    if expr.field == "metadata":
        return _metadata(expr, _lookup(record.metadata, expr.path))
    if expr.field in ("user_id", "agent_id", "run_id"):
        got = getattr(record.scope, expr.field)
    else:
        got = getattr(record, expr.field)
    if expr.op == "exists":
        return got is not None
    if got is None:
        return False
    if expr.op == "contains":
        return expr.value in got
    return _holds(expr.op, got, expr.value)


def _holds(op: str, got: Any, want: Any) -> bool:
    if op == "eq":
        return bool(got == want)
    if op == "in":
        return any(got == w for w in want)
    if op == "lt":
        return bool(got < want)
    if op == "lte":
        return bool(got <= want)
    if op == "gt":
        return bool(got > want)
    return bool(got >= want)


def _lookup(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for segment in path:
        if not isinstance(value, Mapping) or segment not in value:
            return _MISSING
        value = value[segment]
    return _MISSING if value is None else value


def json_kind(value: Any) -> str:
    """A JSON value's type as the filter compares it: string, number, boolean, array, object."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def _same(got: Any, want: Any) -> bool:
    return json_kind(got) == json_kind(want) and bool(got == want)


def _metadata(expr: Compare, got: Any) -> bool:
    if got is _MISSING:
        return False
    if expr.op == "exists":
        return True
    want = expr.value
    if expr.op == "eq":
        return _same(got, want)
    if expr.op == "in":
        return any(_same(got, w) for w in want)  # type: ignore[union-attr]
    if expr.op == "contains":
        if isinstance(got, str) and isinstance(want, str):
            return want in got
        return isinstance(got, list) and any(_same(item, want) for item in got)
    if json_kind(got) != json_kind(want):
        return False
    return _holds(expr.op, got, want)
