"""The boundaries: small protocols that every store, embedder, language model and clock meets.

``models`` holds ``Embedder``, ``LLM`` and ``Clock``; ``store`` the storage capabilities and
``Store``, their composition. Concrete classes live in ``stores/``, ``embedders/`` and
``llms/``; nothing outside those folders knows which one it talks to.
"""

from memstrata.ports.models import (
    LLM,
    Clock,
    Embedder,
    EmbedKind,
    FixedClock,
    SystemClock,
    Vector,
)
from memstrata.ports.store import (
    ApiKey,
    ApiKeys,
    Entity,
    EntityGraph,
    EntityIndex,
    Keywords,
    Lifecycle,
    Link,
    Links,
    MessageLog,
    MessageStatus,
    PendingMessage,
    RecordReads,
    Records,
    RecordWrites,
    Scans,
    Searchable,
    SearchLog,
    Store,
    StoredSettings,
    Transfer,
    Triple,
    Vectors,
)

__all__ = [
    "LLM",
    "ApiKey",
    "ApiKeys",
    "Clock",
    "EmbedKind",
    "Embedder",
    "Entity",
    "EntityGraph",
    "EntityIndex",
    "FixedClock",
    "Keywords",
    "Lifecycle",
    "Link",
    "Links",
    "MessageLog",
    "MessageStatus",
    "PendingMessage",
    "RecordReads",
    "RecordWrites",
    "Records",
    "Scans",
    "SearchLog",
    "Searchable",
    "Store",
    "StoredSettings",
    "SystemClock",
    "Transfer",
    "Triple",
    "Vector",
    "Vectors",
]
