"""Prompts, one module each: ``NAME``, ``VERSION``, typed ``Input`` and ``Output``, ``render``.

``render(input)`` returns chat messages; the system message starts with ``marker(VERSION)``,
``[prompt: NAME/N]``, which names the prompt to servers that replay scripted answers and to
logs. The version is recorded in history and in evaluation reports; change it whenever the
wording changes. Nothing here reads the clock: the current date comes in the ``Input``.

This module holds what the prompts share: the message line they show to the model, and
lenient field types for model output (a model that writes ``"entities": "Alice"`` or
``"importance": "0.8"`` or ``"valid_from": "May 2023"`` is understood, not rejected).
"""

from __future__ import annotations

import importlib
import json
import math
import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "PROMPTS",
    "Importance",
    "IsoDate",
    "PromptMessage",
    "StrList",
    "as_importance",
    "as_iso_date",
    "as_str_list",
    "marker",
    "versions",
]

#: The prompt modules of this package.
PROMPTS: tuple[str, ...] = ("extract_facts", "consolidate", "summarize", "caption_image")

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_YMD = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")
_MONTH_YEAR = re.compile(r"^([A-Za-z]+)\.?,?\s+(\d{4})$")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})$")
_MONTH_DAY_YEAR = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_WORDS_FOR_IMPORTANCE = {"low": 0.2, "medium": 0.5, "high": 0.8, "critical": 1.0}


def marker(version: str) -> str:
    """The line that names a prompt in its system message: ``[prompt: extract_facts/1]``."""
    return f"[prompt: {version}]"


def versions() -> dict[str, str]:
    """``{name: VERSION}`` of every prompt, for history rows and evaluation reports."""
    out: dict[str, str] = {}
    for name in PROMPTS:
        module = importlib.import_module(f"{__name__}.{name}")
        out[name] = str(module.VERSION)
    return out


# -- lenient field types ------------------------------------------------------------------------


def as_str_list(value: Any) -> list[str]:
    """A list of non-empty strings from a list, a comma-separated string, or nothing."""
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = [part for part in value.split(",")] if "," in value else [value]
    elif isinstance(value, list | tuple | set):
        items = list(value)
    else:
        items = [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, dict | list):
            text = json.dumps(item, ensure_ascii=False)
        else:
            text = "" if item is None else str(item)
        text = text.strip()
        if text and text not in out:
            out.append(text)
    return out


def as_iso_date(value: Any) -> str | None:
    """An ISO date (``YYYY-MM-DD``) or date-time from what a model wrote; ``None`` if unclear.

    A month or a year alone becomes its first day, so the value always parses as a date.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and 1000 <= value <= 9999:
        return f"{value:04d}-01-01"
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or text.lower() in ("null", "none", "unknown", "n/a", "present", "now"):
        return None
    match = _YMD.match(text)
    if match:
        year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
        return _ymd(year, month, day)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    if m := _MONTH_YEAR.match(text):
        return _ymd(int(m[2]), _MONTHS.get(m[1].lower(), 0), 1)
    if m := _DAY_MONTH_YEAR.match(text):
        return _ymd(int(m[3]), _MONTHS.get(m[2].lower(), 0), int(m[1]))
    if m := _MONTH_DAY_YEAR.match(text):
        return _ymd(int(m[3]), _MONTHS.get(m[1].lower(), 0), int(m[2]))
    return None


def _ymd(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def as_importance(value: Any) -> float:
    """A score in [0, 1] from a number, a numeric string, a percentage or low/medium/high."""
    if isinstance(value, bool) or value is None:
        return 0.5
    if isinstance(value, str):
        text = value.strip().lower().rstrip("%")
        if text in _WORDS_FOR_IMPORTANCE:
            return _WORDS_FOR_IMPORTANCE[text]
        try:
            number = float(text)
        except ValueError:
            return 0.5
        if value.strip().endswith("%"):
            number /= 100.0
    elif isinstance(value, int | float):
        number = float(value)
    else:
        return 0.5
    if math.isnan(number):
        return 0.5
    if 1.0 < number <= 10.0:  # a 1-10 scale
        number /= 10.0
    elif 10.0 < number <= 100.0:  # a percentage
        number /= 100.0
    return min(1.0, max(0.0, number))


StrList = Annotated[list[str], BeforeValidator(as_str_list)]
IsoDate = Annotated[str | None, BeforeValidator(as_iso_date)]
Importance = Annotated[float, BeforeValidator(as_importance), Field(ge=0.0, le=1.0)]


# -- what prompts show ---------------------------------------------------------------------------


class PromptMessage(BaseModel):
    """One conversation message as a prompt shows it: id, speaker, time and text."""

    model_config = ConfigDict(frozen=True)

    id: str
    speaker: str
    text: str
    timestamp: str | None = Field(default=None, description="ISO 8601 time the message was sent")

    def line(self) -> str:
        """One JSON line; quoting keeps the message's own text from passing for instructions."""
        item: dict[str, str] = {"id": self.id}
        if self.timestamp:
            item["time"] = self.timestamp
        item["speaker"] = self.speaker
        item["text"] = self.text
        return json.dumps(item, ensure_ascii=False)
