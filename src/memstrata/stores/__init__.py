"""Stores: where memories live. Backend-specific SQL stays inside this package."""

from __future__ import annotations

import importlib
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from memstrata.errors import ConfigurationError
from memstrata.ports import Store
from memstrata.settings import default_db_path


def open_store(
    target: str | Path, *, read_only: bool = False, cache_bytes: int | None = None
) -> Store:
    """Open a store from a path or URL.

    ``/path/to/file.db``, ``sqlite:///abs/path.db``, ``sqlite:///:memory:`` and
    ``postgresql://user@host/db`` (with the ``postgres`` extra) are understood. A SQLite file
    is opened read-only with ``read_only`` or ``sqlite:///path?mode=ro`` (it must exist then).
    A SQLite file's directory must exist, except the default store's
    (``settings.default_db_path``), which is made. ``cache_bytes`` bounds what a SQLite store
    keeps in memory for searches: its vector matrices and page caches (``sqlite.store.ReadMemory``).
    """
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        try:
            postgres = importlib.import_module("memstrata.stores.postgres")
        except ImportError as exc:
            raise ConfigurationError(
                f"PostgreSQL needs the postgres extra: pip install 'memstrata[postgres]' ({exc})"
            ) from None
        store: Store = postgres.PostgresStore(text)
        return store
    from memstrata.stores.sqlite import SQLiteStore
    from memstrata.stores.sqlite.vectors import DEFAULT_CACHE_BYTES

    cache = DEFAULT_CACHE_BYTES if cache_bytes is None else cache_bytes

    if text.startswith("sqlite:"):
        parsed = urlparse(text)
        path = unquote(parsed.path)
        options = parse_qsl(parsed.query, keep_blank_values=True)
        if options not in ([], [("mode", "ro")]):
            raise ConfigurationError(
                f"a sqlite URL takes one option, mode=ro (read-only), not {parsed.query!r}"
            )
        if path in ("/:memory:", ":memory:"):
            return SQLiteStore(":memory:", cache_bytes=cache)
        if parsed.netloc:
            raise ConfigurationError(f"a sqlite URL has no host: use sqlite:///path ({text})")
        return SQLiteStore(path, read_only=read_only or bool(options), cache_bytes=cache)
    if "://" in text:
        raise ConfigurationError(
            f"unknown store URL {text!r}: use a path, sqlite:///path or postgresql://…"
        )
    if not read_only and Path(text).expanduser() == default_db_path():
        default_db_path(create=True)
    return SQLiteStore(text, read_only=read_only, cache_bytes=cache)


__all__ = ["Store", "open_store"]
