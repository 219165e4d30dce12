"""Embedder specs: the short strings that settings and the CLI use to name an embedder.

``"minilm"`` (the default), ``"hashing"`` or ``"hashing:512"``, ``"e5-multilingual"``,
``"openai:<model>"`` or ``"openai:<model>@<base_url>"``. Parsing is pure; building is in
``memstrata.embedders.make_embedder``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from memstrata.errors import ConfigurationError

DEFAULT_SPEC = "minilm"
DEFAULT_HASHING_DIM = 256
OPENAI_BASE_URL = "https://api.openai.com/v1"
SPECS_HELP = (
    "'minilm', 'hashing', 'hashing:<dim>', 'e5-multilingual', "
    "'openai:<model>' or 'openai:<model>@<base_url>'"
)

Family = Literal["minilm", "hashing", "e5", "openai"]


@dataclass(frozen=True)
class EmbedderSpec:
    """A parsed spec: the embedder family and its settings."""

    family: Family
    dim: int | None = None
    model: str | None = None
    base_url: str | None = None


def parse_spec(spec: str) -> EmbedderSpec:
    """Parse an embedder spec; raise ``ConfigurationError`` naming the valid forms."""
    text = spec.strip()
    head, sep, rest = text.partition(":")
    family = head.lower()
    if family == "minilm" and not sep:
        return EmbedderSpec("minilm")
    if family in ("e5-multilingual", "e5") and not sep:
        return EmbedderSpec("e5")
    if family == "hashing":
        if not sep:
            return EmbedderSpec("hashing", dim=DEFAULT_HASHING_DIM)
        if rest.isdigit() and int(rest) >= 2:
            return EmbedderSpec("hashing", dim=int(rest))
        raise ConfigurationError(f"bad hashing dimension in {spec!r}: use e.g. 'hashing:512'")
    if family == "openai" and sep:
        model, at, base_url = rest.partition("@")
        model, base_url = model.strip(), base_url.strip()
        if not model or (at and not base_url):
            raise ConfigurationError(
                f"bad OpenAI-compatible spec {spec!r}: use 'openai:<model>@<base_url>', e.g. "
                "'openai:nomic-embed-text@http://localhost:11434/v1'"
            )
        return EmbedderSpec("openai", model=model, base_url=base_url or OPENAI_BASE_URL)
    raise ConfigurationError(f"unknown embedder {spec!r}; use one of {SPECS_HELP}")
