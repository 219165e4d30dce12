"""The PostgreSQL store (pgvector and full-text search), for servers and many processes."""

from memstrata.stores.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
