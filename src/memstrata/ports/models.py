"""The boundaries to models and time: ``Embedder``, ``LLM`` and ``Clock``.

Concrete classes live in ``embedders/`` and ``llms/``; nothing outside those folders knows
which one it talks to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from memstrata.types import utcnow

Vector = npt.NDArray[np.float32]

EmbedKind = Literal["query", "document"]


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return utcnow()


class FixedClock:
    """A clock that says what it is told; for tests and evaluations."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors, in batches.

    ``name`` identifies the model and its settings (the store records it with ``dim``, and a
    store built with one embedder refuses to be searched with another).
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        """Return a ``(len(texts), dim)`` float32 matrix of L2-normalised rows."""
        ...


@runtime_checkable
class LLM(Protocol):
    """A chat model behind an OpenAI-compatible API (or a scripted stand-in in tests)."""

    @property
    def model(self) -> str: ...

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        json_schema: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> str:
        """Return the assistant's text for a chat; raise ``LLMError`` when none comes."""
        ...
