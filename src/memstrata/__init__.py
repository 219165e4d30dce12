"""memstrata: long-term memory for LLM agents.

Persistent by default (SQLite in the user data directory), offline by default (a bundled
embedding model and keyword search), with provenance (``sources``) and time (event and system
time) on every memory.
"""

from typing import TYPE_CHECKING, Any

from memstrata.errors import (
    ConfigurationError,
    ConfirmationRequiredError,
    ConflictError,
    EmbedderMismatchError,
    InvalidInputError,
    LLMError,
    MemstrataError,
    NotFoundError,
    ScopeRequiredError,
    StoreError,
)
from memstrata.memory import AsyncMemory, Memory
from memstrata.options import Retrieval
from memstrata.settings import Settings
from memstrata.stores import open_store
from memstrata.types import (
    AddResult,
    Filters,
    HistoryEvent,
    Hit,
    MemoryRecord,
    Message,
    Page,
    Scope,
    SearchResult,
    Signal,
)
from memstrata.version import __version__
from memstrata.working import WorkingMemory
from memstrata.write.reflect import reflect

if TYPE_CHECKING:
    from memstrata.remote import RemoteMemory


def __getattr__(name: str) -> Any:
    """``RemoteMemory`` is imported on first use (it brings the HTTP client along)."""
    if name == "RemoteMemory":
        from memstrata.remote import RemoteMemory

        return RemoteMemory
    raise AttributeError(f"module 'memstrata' has no attribute {name!r}")


__all__ = [
    "AddResult",
    "AsyncMemory",
    "ConfigurationError",
    "ConfirmationRequiredError",
    "ConflictError",
    "EmbedderMismatchError",
    "Filters",
    "HistoryEvent",
    "Hit",
    "InvalidInputError",
    "LLMError",
    "Memory",
    "MemoryRecord",
    "MemstrataError",
    "Message",
    "NotFoundError",
    "Page",
    "RemoteMemory",
    "Retrieval",
    "Scope",
    "ScopeRequiredError",
    "SearchResult",
    "Settings",
    "Signal",
    "StoreError",
    "WorkingMemory",
    "__version__",
    "open_store",
    "reflect",
]
