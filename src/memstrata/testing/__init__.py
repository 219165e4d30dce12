"""Helpers for testing code that uses memstrata, shipped with the package."""

from memstrata.testing.scripted_llm import (
    RecordedRequest,
    Reply,
    Responder,
    ScriptedLLMServer,
    ToolCall,
    content_key,
    facts_per_message,
    hashing_vector,
)

__all__ = [
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptedLLMServer",
    "ToolCall",
    "content_key",
    "facts_per_message",
    "hashing_vector",
]
