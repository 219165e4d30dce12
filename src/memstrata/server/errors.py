"""How both servers word invalid input, so that REST's ``{"error": {"code", "message"}}`` and an
MCP tool error (``invalid_input: <message>``) say the same thing in the same words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """One line for pydantic-style errors whose ``loc`` starts with where the input came from
    (``body``, ``query``, ``path``, ``header``, or a tool's ``arguments``): ``limit: Input
    should be greater than or equal to 1; user_id (query): …``."""
    parts = []
    for error in errors[:5]:
        loc = [str(p) for p in error.get("loc", ())]
        where = ".".join(loc[1:]) if len(loc) > 1 else (loc[0] if loc else "request")
        part = f"{where}: {error.get('msg', 'invalid')}"
        if loc and loc[0] in ("query", "path", "header"):
            part = f"{where} ({loc[0]}): {error.get('msg', 'invalid')}"
        parts.append(part)
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more
