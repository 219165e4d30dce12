"""One exception tree. Every message says what went wrong and, where it can, what to do."""

from __future__ import annotations


class MemstrataError(Exception):
    """The base of every error memstrata raises on purpose."""

    #: A short machine-readable name, used by the CLI and the REST server.
    code = "error"


class InvalidInputError(MemstrataError, ValueError):
    """The caller handed over something memstrata cannot store or understand."""

    code = "invalid_input"


class ScopeRequiredError(InvalidInputError):
    """A read or write came without a scope (user, agent or run)."""

    code = "scope_required"


class ConfirmationRequiredError(InvalidInputError):
    """A destructive call (reset, purge) was made without its explicit confirmation."""

    code = "confirmation_required"


class NotFoundError(MemstrataError, LookupError):
    """No memory with that id exists in the given scope."""

    code = "not_found"


class ConflictError(MemstrataError):
    """An update was based on a version that is no longer the latest."""

    code = "conflict"


class StoreError(MemstrataError):
    """The store cannot be opened or used (bad URL, newer schema, corrupt file)."""

    code = "store_error"


class ReadOnlyStoreError(StoreError):
    """A write reached a store that is open read-only (asked for, or its file or directory is
    not writable). Reads and searches work; searches keep no log, so feedback needs a writable
    store."""

    code = "read_only"


class CorruptStoreError(StoreError):
    """The store's file failed an integrity check. It refuses every write from then on; restore
    it from a backup, or export what can still be read into a new store."""

    code = "corrupt_store"


class EmbedderMismatchError(StoreError):
    """The store was built with another embedder than the one it is opened with."""

    code = "embedder_mismatch"


class ConfigurationError(MemstrataError):
    """Settings are missing or contradict each other."""

    code = "configuration"


class LLMError(MemstrataError):
    """The language model could not be reached or gave no usable answer."""

    code = "llm_error"


class LLMTruncatedError(LLMError):
    """The model stopped at its output limit (``finish_reason`` ``length``): the answer is
    incomplete. Ask for less per call (a smaller batch) or raise the server's output limit.

    ``partial`` holds the text that came, for callers that want to look at it.
    """

    code = "llm_truncated"

    def __init__(self, message: str, partial: str = "") -> None:
        super().__init__(message)
        self.partial = partial
