"""The embedded SQLite store."""

from memstrata.stores.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
