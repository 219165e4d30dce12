"""How SQLite writes values and the clauses that differ (``stores.sql.dialect.Dialect``):
times as integer microseconds, JSON and lists as text, vectors as float32 blobs, scope ids
compared through ``ifnull(…, '')`` as the unique indexes are built."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from memstrata.errors import StoreError
from memstrata.ports import Vector, stacked
from memstrata.stores import codec
from memstrata.stores.codec import day_of_micros, from_micros, to_micros
from memstrata.stores.sql.dialect import Scalar, marks
from memstrata.stores.sqlite.keywords import query_words
from memstrata.types import MemoryRecord

#: The unique keys by exact scope, as ``ON CONFLICT`` names them (the indexes' expressions).
_EXACT_KEYS = {
    "message_status": "(tenant, ifnull(user_id, ''), ifnull(agent_id, ''), ifnull(run_id, ''), "
    "message_id)",
    "scope_stats": "(tenant, ifnull(user_id, ''), ifnull(agent_id, ''), ifnull(run_id, ''))",
}


#: Searches read the same rows again and again; their JSON is decoded once (a JSON object comes
#: back as a fresh dict, a list as a tuple, so no caller can change what is kept), for the
#: latest this many values of each kind: about 9 MiB in a process searching 2,000 scopes, where
#: 65,536 held 51 MiB and searched no faster (docs/benchmarks.md, "Servers under load").
_DECODED = 8_192


@functools.lru_cache(maxsize=_DECODED)
def _strings(value: str) -> tuple[str, ...]:
    return tuple(json.loads(value))


@functools.lru_cache(maxsize=_DECODED)
def _json(value: str) -> Any:
    return json.loads(value)


def json_path(path: Sequence[str]) -> str:
    """A JSON path of object keys (words: ``memstrata.where`` checks them), as ``$."a"."b"``."""
    return "$" + "".join(f'."{key}"' for key in path)


#: The ways a SQLite store may keep vectors (``meta.vector_format``), little-endian.
VECTOR_FORMATS: dict[str, np.dtype[Any]] = {"float16": np.dtype("<f2"), "float32": np.dtype("<f4")}


def vector_dtype(name: str) -> np.dtype[Any]:
    """The element type of a store's vectors as its ``vector_format`` names it."""
    try:
        return VECTOR_FORMATS[name]
    except KeyError:
        raise StoreError(f"the store keeps vectors as {name!r}, which this memstrata cannot "
                         "read; upgrade memstrata to open it") from None  # fmt: skip


def as_float32(values: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Stored vector values as float32 (those kept so already, without a copy)."""
    return values if values.dtype == np.float32 else values.astype(np.float32)


class SQLiteDialect:
    by_user = False
    lock = ""
    #: Well below SQLite's 32,766 parameters a statement (999 before SQLite 3.32).
    max_list = 500
    collate = ""
    nulls_first = ""
    #: The full-text index is the FTS5 table ``memories_fts`` (``SQLiteStore._after_insert``).
    index_columns = ""
    index_values = ""

    def __init__(self, vectors: str = "float16") -> None:
        #: How the store keeps vectors (its ``vector_format``): they are read as float32.
        self.stored = vector_dtype(vectors)

    def sql(self, text: str) -> str:
        return text

    def through(self, index: str) -> str:
        return f" INDEXED BY {index}"

    def by_key(self) -> str:
        return " NOT INDEXED"

    def time(self, value: datetime | None) -> int | None:
        return to_micros(value)

    def time_of(self, value: Any) -> datetime | None:
        return from_micros(value)

    def json(self, value: Any) -> str:
        return codec.dumps(value)

    def json_of(self, value: Any) -> Any:
        if value == "{}":
            return {}
        found = _json(value)
        return dict(found) if isinstance(found, dict) else found

    def strings(self, values: Sequence[str]) -> str:
        return json.dumps(list(values))

    def strings_of(self, value: Any) -> tuple[str, ...]:
        if value == "[]":
            return ()
        # Most lists hold one plain string (a memory's source message): read it without the
        # JSON decoder. ``strings`` escapes every quote, backslash and non-ASCII character, so
        # a string between '["' and '"]' with neither a quote nor a backslash is as it was.
        if len(value) >= 4 and value.startswith('["') and value.endswith('"]'):
            inner = value[2:-2]
            if '"' not in inner and "\\" not in inner:
                return (inner,)
        return _strings(value)

    def vector(self, value: Any) -> bytes | None:
        return None if value is None else np.asarray(value, dtype=self.stored).tobytes()

    def vector_of(self, value: Any) -> Vector | None:
        return None if value is None else as_float32(np.frombuffer(value, dtype=self.stored))

    def kept(self, value: Any) -> Vector | None:
        return None if value is None else as_float32(np.asarray(value, dtype=self.stored))

    def days_of(self, values: Sequence[Any]) -> list[int]:
        return [day_of_micros(value) for value in values]

    def matrix_of(self, values: Sequence[Any]) -> Vector:
        # Vectors of one width (as one embedder writes them) are one buffer; read-only.
        if values and None not in values and len(set(map(len, values))) == 1:
            rows = as_float32(np.frombuffer(b"".join(values), dtype=self.stored))
            return rows.reshape(len(values), len(values[0]) // self.stored.itemsize)
        return stacked([self.vector_of(value) for value in values])

    def index_params(self, record: MemoryRecord) -> tuple[Any, ...]:
        return ()

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} IN ({marks(len(values))})", list(values)

    def exact(self, column: str, value: str | None) -> tuple[str, list[Any]]:
        return f"ifnull({column}, '') = ?", [value or ""]

    def same(self, left: str, right: str) -> str:
        return f"ifnull({left}, '') = ifnull({right}, '')"

    def metadata_equals(self, column: str, key: str, value: Scalar) -> tuple[str, list[Any]]:
        path = f"json_extract({column}, '$.\"{key}\"')"  # a key is a plain word (Filters)
        if value is None:
            return f"{path} IS NULL", []
        return f"{path} = ?", [int(value) if isinstance(value, bool) else value]

    def json_exists(self, column: str, path: Sequence[str]) -> tuple[str, list[Any]]:
        return f"coalesce(json_type({column}, ?), 'null') <> 'null'", [json_path(path)]

    def json_compare(
        self, column: str, path: Sequence[str], op: str, value: str | int | float | bool
    ) -> tuple[str, list[Any]]:
        at = json_path(path)
        kind = f"coalesce(json_type({column}, ?), 'null')"
        if isinstance(value, bool):
            return f"{kind} = ?", [at, "true" if value else "false"]
        types = "= 'text'" if isinstance(value, str) else "IN ('integer', 'real')"
        return f"({kind} {types} AND json_extract({column}, ?) {op} ?)", [at, at, value]

    def json_contains(
        self, column: str, path: Sequence[str], value: str | int | float | bool
    ) -> tuple[str, list[Any]]:
        at = json_path(path)
        kind = f"coalesce(json_type({column}, ?), 'null')"
        eparams: list[Any]
        if isinstance(value, bool):
            element, eparams = "j.type = ?", ["true" if value else "false"]
        elif isinstance(value, str):
            element, eparams = "j.type = 'text' AND j.value = ?", [value]
        else:
            element, eparams = "j.type IN ('integer', 'real') AND j.value = ?", [value]
        array = (
            f"({kind} = 'array' AND EXISTS (SELECT 1 FROM json_each({column}, ?) j "
            f"WHERE {element}))"
        )
        params = [at, at, *eparams]
        if isinstance(value, str):
            text = f"({kind} = 'text' AND instr(json_extract({column}, ?), ?) > 0)"
            return f"({text} OR {array})", [at, at, value, *params]
        return array, params

    def substring(self, column: str) -> str:
        return f"instr({column}, ?) > 0"

    def list_has(self, column: str) -> str:
        return f"EXISTS (SELECT 1 FROM json_each({column}) j WHERE j.value = ?)"

    def conflict(self, table: str) -> str:
        return _EXACT_KEYS[table]

    def pairs(self, weights: Mapping[str, float]) -> tuple[str, list[Any]]:
        values = ", ".join("(?, ?)" for _ in weights)
        return f"VALUES {values}", [x for kv in weights.items() for x in (kv[0], float(kv[1]))]

    def words(self, text: str) -> list[str]:
        return query_words(text)
