"""Helpers for testing code that uses memstrata, shipped with the package."""

from memstrata.testing.scripted_llm import (
    RecordedRequest,
    Reply,
    ScriptedLLMServer,
    ToolCall,
    content_key,
    hashing_vector,
)

__all__ = [
    "RecordedRequest",
    "Reply",
    "ScriptedLLMServer",
    "ToolCall",
    "content_key",
    "hashing_vector",
]
