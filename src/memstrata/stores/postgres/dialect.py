"""How PostgreSQL writes values and the clauses that differ (``stores.sql.dialect.Dialect``):
``timestamptz`` times, ``jsonb`` and ``text[]`` columns, pgvector vectors, a ``tsvector`` kept
in each memory's row, text sorted by bytes (``COLLATE "C"``) as SQLite sorts it, and every
statement about one memory naming its ``user_id`` (partitions and Citus shards by user)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from memstrata.ports import Vector, stacked
from memstrata.stores.postgres.schema import TEXT_SEARCH_CONFIG
from memstrata.stores.sql.dialect import Scalar
from memstrata.text import is_cjk, keyword_form
from memstrata.types import MemoryRecord

_WORD = re.compile(r"\w+")
#: A memory's ``search`` column: its text weighted A, its keys B.
SEARCH = (
    f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', ?), 'A') || "
    f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', ?), 'B')"
)
#: The unique keys by exact scope, as ``ON CONFLICT`` names them.
_EXACT_KEYS = {
    "message_status": "ON CONSTRAINT message_status_scope_id",
    "scope_stats": "ON CONSTRAINT scope_stats_scope",
}


def fold(text: str) -> str:
    """Text with its diacritics removed (as SQLite's ``remove_diacritics``), for indexing."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tsquery_words(text: str) -> list[str]:
    """The distinct words of ``text`` a keyword search may ask for (the same words as SQLite's
    ``query_words``, diacritics folded), sorted."""
    found = _WORD.findall(fold(keyword_form(text)).lower())
    return sorted({w for w in found if len(w) > 1 or w.isdigit() or is_cjk(w)})


def tsquery_text(words: Sequence[str]) -> str | None:
    """A ``to_tsquery`` OR-query of ``words``, each quoted."""
    if not words:
        return None
    return " | ".join(f"'{w}'" for w in words)


def metadata_candidates(value: str | int | float | bool) -> list[Jsonb]:
    """The JSON values SQLite's ``json_extract(...) = ?`` treats as equal to ``value``.

    SQLite reads JSON ``true``/``false`` as 1/0 and binds a bool as 1/0, so booleans and the
    numbers 1 and 0 match each other; numbers compare by value.
    """
    if isinstance(value, bool):
        return [Jsonb(value), Jsonb(int(value))]
    out = [Jsonb(value)]
    if isinstance(value, int | float) and value in (0, 1):
        out.append(Jsonb(bool(value)))
    return out


def json_path(path: Sequence[str]) -> str:
    """A strict SQL/JSON path of object keys (words: ``memstrata.where`` checks them): a key
    never indexes an array, and a path through a value that is not an object finds nothing."""
    return "strict $" + "".join(f'."{key}"' for key in path)


def _at(column: str) -> str:
    """The JSON value in ``column`` at the path bound to one ``?`` (``json_path``); NULL when
    there is none."""
    return f"jsonb_path_query_first({column}, ?::jsonpath, '{{}}'::jsonb, true)"


@functools.lru_cache(maxsize=2048)
def _placeholders(text: str) -> str:
    return text.replace("%", "%%").replace("?", "%s")


class PostgresDialect:
    by_user = True
    lock = " FOR UPDATE"
    max_list = 10_000
    collate = ' COLLATE "C"'
    nulls_first = " NULLS FIRST"
    index_columns = ", search"
    index_values = f", {SEARCH}"

    def sql(self, text: str) -> str:
        return _placeholders(text)

    def through(self, index: str) -> str:
        return ""

    def by_key(self) -> str:
        return ""

    def time(self, value: datetime | None) -> datetime | None:
        return value

    def time_of(self, value: Any) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def json(self, value: Any) -> Jsonb:
        return Jsonb(value)

    def json_of(self, value: Any) -> Any:
        return value

    def strings(self, values: Sequence[str]) -> list[str]:
        return list(values)

    def strings_of(self, value: Any) -> tuple[str, ...]:
        return tuple(value)

    def vector(self, value: Any) -> Vector | None:
        return None if value is None else np.asarray(value, dtype=np.float32).reshape(-1)

    def vector_of(self, value: Any) -> Vector | None:
        return None if value is None else value.to_numpy().astype(np.float32)

    def kept(self, value: Any) -> Vector | None:
        return self.vector(value)

    def days_of(self, values: Sequence[Any]) -> list[int]:
        return [value.astimezone(UTC).toordinal() for value in values]

    def matrix_of(self, values: Sequence[Any]) -> Vector:
        return stacked([self.vector_of(value) for value in values])

    def index_params(self, record: MemoryRecord) -> tuple[Any, ...]:
        return fold(keyword_form(record.text)), fold(keyword_form(" ".join(record.keys)))

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def exact(self, column: str, value: str | None) -> tuple[str, list[Any]]:
        # ``= ?`` and ``IS NULL`` let PostgreSQL prune partitions and Citus route a statement
        # to one shard (``IS NOT DISTINCT FROM`` does neither).
        return (f"{column} IS NULL", []) if value is None else (f"{column} = ?", [value])

    def same(self, left: str, right: str) -> str:
        return f"{left} IS NOT DISTINCT FROM {right}"

    def metadata_equals(self, column: str, key: str, value: Scalar) -> tuple[str, list[Any]]:
        path = f"({column} -> ?)"
        if value is None:
            return f"({path} IS NULL OR {path} = 'null'::jsonb)", [key, key]
        candidates = metadata_candidates(value)
        return f"{path} IN ({', '.join('?' * len(candidates))})", [key, *candidates]

    def json_exists(self, column: str, path: Sequence[str]) -> tuple[str, list[Any]]:
        return f"coalesce(jsonb_typeof({_at(column)}), 'null') <> 'null'", [json_path(path)]

    def json_compare(
        self, column: str, path: Sequence[str], op: str, value: str | int | float | bool
    ) -> tuple[str, list[Any]]:
        at, found = json_path(path), _at(column)
        if isinstance(value, str):
            # ``#>> '{}'`` is the text of any JSON value, so the comparison never fails to cast.
            return (
                f"(coalesce(jsonb_typeof({found}), 'null') = 'string' AND "
                f"({found} #>> '{{}}') COLLATE \"C\" {op} ?)"
            ), [at, at, value]
        # jsonb compares numbers by value, exactly, and a boolean only to a boolean.
        kind = "boolean" if isinstance(value, bool) else "number"
        return (f"(coalesce(jsonb_typeof({found}), 'null') = '{kind}' AND {found} {op} ?)"), [
            at,
            at,
            Jsonb(value),
        ]

    def json_contains(
        self, column: str, path: Sequence[str], value: str | int | float | bool
    ) -> tuple[str, list[Any]]:
        at, found = json_path(path), _at(column)
        kind = f"coalesce(jsonb_typeof({found}), 'null')"
        array = f"({kind} = 'array' AND {found} @> ?)"
        params = [at, at, Jsonb([value])]
        if isinstance(value, str):
            text = f"({kind} = 'string' AND strpos({found} #>> '{{}}', ?) > 0)"
            return f"({text} OR {array})", [at, at, value, *params]
        return array, params

    def substring(self, column: str) -> str:
        return f"strpos({column}, ?) > 0"

    def list_has(self, column: str) -> str:
        return f"? = ANY({column})"

    def conflict(self, table: str) -> str:
        return _EXACT_KEYS[table]

    def pairs(self, weights: Mapping[str, float]) -> tuple[str, list[Any]]:
        return "SELECT * FROM unnest(?::text[], ?::float8[])", [
            list(weights),
            [float(v) for v in weights.values()],
        ]

    def words(self, text: str) -> list[str]:
        return tsquery_words(text)
