"""Language models: one OpenAI-compatible chat client, and tolerant reading of its answers."""

from memstrata.llms.openai_compat import OpenAICompatLLM, Usage
from memstrata.llms.parsing import ParseResult, ask_structured, parse_json, parse_output

__all__ = [
    "OpenAICompatLLM",
    "ParseResult",
    "Usage",
    "ask_structured",
    "parse_json",
    "parse_output",
]
