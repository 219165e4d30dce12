"""Tolerant handling of model output: find the JSON in an answer, repair it, validate it.

Small local models wrap JSON in prose, code fences and ``<think>`` blocks, leave trailing
commas, write Python literals, quote with apostrophes, or stop mid-object when they run out of
tokens. Every function here except ``ask_structured`` is pure and never raises on bad text.
``ask_structured`` adds the one piece of I/O: it re-asks the model with the validation error a
bounded number of times and returns ``None`` when it gives up, so the caller can fall back to
the path that needs no model.

What a cut answer keeps. An answer that stops early (at the output limit) is repaired only as
far as it is complete. Brackets it leaves open are closed, but a value the text ends inside is
not kept: a string without its closing quote, a number or word whose end is not seen, an
object that is not closed (a fact without its closing brace may lack its sources or its
flags). An unclosed array keeps the elements it completed, and the outermost object (the
frame) the members it completed. The answer is *cut* when this loses something, or when the
text ends where a value was due (after ``{``, ``[``, ``,`` or ``:``); brackets alone missing
after complete values are not a cut (an answer stopped exactly between two items looks the
same: the server's ``finish_reason`` tells those apart). ``parse_json`` returns what a cut
answer completed; ``parse_output`` never takes a cut answer (``truncated=True``), and
``ask_structured`` raises ``LLMTruncatedError`` for it, as for an answer the server says
stopped at its limit, so the caller asks for less instead of storing a fragment.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_origin

from pydantic import BaseModel, ValidationError

from memstrata.errors import LLMError, LLMTruncatedError
from memstrata.ports import LLM

__all__ = [
    "ParseResult",
    "ask_structured",
    "format_validation_error",
    "json_candidates",
    "loads_lenient",
    "parse_json",
    "parse_output",
    "reask_message",
    "strip_reasoning",
]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

#: Containers nested deeper than this are not followed (bad output, not data).
MAX_DEPTH = 64
#: How many opening brackets in one text are tried as the start of a JSON value.
MAX_STARTS = 16
#: How much of a rejected answer is echoed back to the model when re-asking.
MAX_ECHO_CHARS = 2_000
#: Why a cut answer is refused.
CUT_OFF = "the answer stops in the middle of its JSON (cut off at the output limit?)"

# Patterns are bounded so that no text makes them scan quadratically.
_OPEN_REASONING = re.compile(
    r"<(?:think|thinking|reasoning|reflection)\b[^>]{0,100}>", re.IGNORECASE
)
_CLOSE_REASONING = re.compile(r"</(?:think|thinking|reasoning|reflection)\s{0,10}>", re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n`]*\n(.*?)(?:```|\Z)", re.DOTALL)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$\-]*")
_WORDS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "none": None,
    "nil": None,
    "undefined": None,
    "nan": None,
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}
_CLOSING_QUOTE = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019"}
_WHITESPACE = " \t\r\n\ufeff\xa0"


# -- cleaning ---------------------------------------------------------------------------------


def strip_reasoning(text: str) -> str:
    """Drop the ``<think>…</think>`` (and similar) reasoning that models put before answers.

    What follows the last closing tag is the answer (some servers strip the opening tag); an
    opening tag that is never closed drops everything after it.
    """
    closes = list(_CLOSE_REASONING.finditer(text))
    if closes:
        text = text[closes[-1].end() :]
    opened = _OPEN_REASONING.search(text)
    if opened:
        text = text[: opened.start()]
    return text.strip()


def _bodies(text: str) -> list[str]:
    """Texts that may hold the answer, most likely first: fenced blocks, then the whole text."""
    out: list[str] = []
    for source in (strip_reasoning(text), text):
        fences = list(_FENCE.finditer(source))
        fences.sort(key=lambda m: m.group(1).lower() not in ("json", "json5", "javascript", ""))
        for fence in fences:
            out.append(fence.group(2))
        out.append(source)
    seen: set[str] = set()
    unique: list[str] = []
    for body in out:
        body = body.strip()
        if body and body not in seen:
            seen.add(body)
            unique.append(body)
    return unique


# -- a lenient JSON reader ----------------------------------------------------------------------


class _Fail(Exception):
    """Raised inside the reader when the text cannot be read as JSON, even leniently."""


class _Cut:
    """Stands for a value the text ended in the middle of (a truncated answer)."""


_CUT = _Cut()


class _Reader:
    """A forgiving recursive-descent JSON reader.

    Beyond JSON it accepts comments (``//``, ``/* */``, ``#``), single and typographic quotes,
    unquoted keys and bare-word values, Python and JavaScript literals, missing or extra
    commas, raw control characters in strings, and text that ends before its closing
    brackets. Of text that ends early it keeps only complete values (the rule in the module
    docstring); ``cut`` is set when the end of the text lost something.
    """

    def __init__(self, text: str, start: int = 0) -> None:
        self.s = text
        self.n = len(text)
        self.i = start
        # Set once a string had no quote followed by punctuation: from then on every quote
        # closes its string, which keeps reading linear on text full of stray quotes.
        self.plain_quotes = False
        #: The text ended inside a value, or where one was due: something was lost.
        self.cut = False

    def skip(self) -> None:
        s, n = self.s, self.n
        while self.i < n:
            c = s[self.i]
            if c in _WHITESPACE:
                self.i += 1
            elif s.startswith("//", self.i) or c == "#":
                end = s.find("\n", self.i)
                self.i = n if end < 0 else end + 1
            elif s.startswith("/*", self.i):
                end = s.find("*/", self.i + 2)
                self.i = n if end < 0 else end + 2
            else:
                return

    def _lost(self) -> _Cut:
        self.cut = True
        return _CUT

    def value(self, depth: int) -> Any:
        self.skip()
        if self.i >= self.n:
            return self._lost()  # a value was due
        c = self.s[self.i]
        if c == "{":
            return self.object(depth + 1)
        if c == "[":
            return self.array(depth + 1)
        if c in _CLOSING_QUOTE:
            return self.string()
        if c in "-+.0123456789":
            value = self.number()
        elif c.isalpha() or c in "_$":
            value = self.word()
        else:
            raise _Fail
        if depth > 0 and self.i >= self.n:
            return self._lost()  # ``0.`` of ``0.75``, ``tru`` of ``true``: its end is not seen
        return value

    def object(self, depth: int) -> dict[str, Any] | _Cut:
        """An object. One the text ends inside is lost, unless it is the outermost value
        (the frame), which keeps the members it completed."""
        if depth > MAX_DEPTH:
            raise _Fail
        self.i += 1
        out: dict[str, Any] = {}
        due = True  # after ``{`` or a comma a member may follow
        while True:
            self.skip()
            if self.i >= self.n:
                if due or depth > 1:
                    self.cut = True
                return out if depth == 1 else _CUT
            c = self.s[self.i]
            if c == "}":
                self.i += 1
                return out
            if c in ",;":
                self.i += 1
                due = True
                continue
            key = self.key()
            self.skip()
            if not isinstance(key, _Cut) and self.i < self.n:
                if self.s[self.i] not in ":=":
                    raise _Fail
                self.i += 1
                value = self.value(depth)
                if not isinstance(value, _Cut):
                    out[key] = value
                    due = False
                    continue
            self.cut = True  # the text ended in a key or a member's value
            return out if depth == 1 else _CUT

    def array(self, depth: int) -> list[Any]:
        """An array. One the text ends inside keeps the elements it completed."""
        if depth > MAX_DEPTH:
            raise _Fail
        self.i += 1
        out: list[Any] = []
        due = True  # after ``[`` or a comma an element may follow
        while True:
            self.skip()
            if self.i >= self.n:
                self.cut = self.cut or due
                return out
            c = self.s[self.i]
            if c == "]":
                self.i += 1
                return out
            if c == ",":
                self.i += 1
                due = True
                continue
            if c == "}":
                raise _Fail
            value = self.value(depth)
            if isinstance(value, _Cut):
                return out
            out.append(value)
            due = False

    def key(self) -> str | _Cut:
        c = self.s[self.i]
        if c in _CLOSING_QUOTE:
            return self.string()
        match = _WORD.match(self.s, self.i)
        if not match:
            raise _Fail
        self.i = match.end()
        return match.group()

    def string(self) -> str | _Cut:
        s, n = self.s, self.n
        close = _CLOSING_QUOTE[s[self.i]]
        buf: list[str] = []
        first_close: tuple[int, int] | None = None  # (index in s, length of buf)
        i = self.i + 1
        while i < n:
            c = s[i]
            if c == "\\":
                if i + 1 >= n:
                    break
                e = s[i + 1]
                if e == "u":
                    digits = s[i + 2 : i + 6]
                    if len(digits) == 4 and all(d in "0123456789abcdefABCDEF" for d in digits):
                        buf.append(chr(int(digits, 16)))
                        i += 6
                        continue
                buf.append(_ESCAPES.get(e, e))
                i += 2
                continue
            if c == close:
                if self.plain_quotes or self._closes(i + 1):
                    self.i = i + 1
                    return _join(buf)
                if first_close is None:
                    first_close = (i, len(buf))
            buf.append(c)
            i += 1
        if first_close is not None:
            # No quote was followed by punctuation: the first one closes the string after all.
            self.plain_quotes = True
            self.i = first_close[0] + 1
            return _join(buf[: first_close[1]])
        self.i = n
        return self._lost()

    def _closes(self, j: int) -> bool:
        """Whether a quote ending at ``j`` closes its string: what follows must be punctuation.

        This lets ``'Alice's cat'`` and ``"he said "hi" twice"`` through as single strings.
        """
        s, n = self.s, self.n
        while j < n and s[j] in _WHITESPACE:
            j += 1
        return j >= n or s[j] in ",:}]=;/#"

    def number(self) -> Any:
        match = _NUMBER.match(self.s, self.i)
        if not match:
            raise _Fail
        self.i = match.end()
        text = match.group().lstrip("+")
        try:
            if any(c in text for c in ".eE"):
                return float(text)
            return int(text)
        except ValueError:
            raise _Fail from None

    def word(self) -> Any:
        match = _WORD.match(self.s, self.i)
        if not match:
            raise _Fail
        self.i = match.end()
        word = match.group()
        return _WORDS.get(word.lower(), word)


def _join(parts: list[str]) -> str:
    text = "".join(parts)
    try:  # a \\ud83d\\ude00 pair arrives as two lone surrogates; join them into one character
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeError:
        return text


def _read(text: str, start: int) -> tuple[Any, int, bool] | None:
    """The value read from ``start``, where reading stopped, and whether the text cut it."""
    reader = _Reader(text, start)
    try:
        value = reader.value(0)
    except (_Fail, RecursionError, ValueError, OverflowError):
        return None
    if isinstance(value, _Cut):
        return None
    return value, reader.i, reader.cut


def loads_lenient(text: str) -> Any | None:
    """Read one JSON-ish value from the start of ``text``; ``None`` when there is none.

    Strict JSON is read by ``json.loads``; anything else by the forgiving reader.
    """
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    found = _read(text, 0)
    return None if found is None else found[0]


def json_candidates(text: str) -> Iterator[Any]:
    """Every JSON value that may be the answer in a model's text, most likely first.

    Looks inside code fences and past reasoning blocks, tries strict JSON, then reads leniently
    from each of the first ``MAX_STARTS`` opening brackets. A value that is itself a JSON string
    (double-encoded output) is decoded once more. A value the text cut off gives only what it
    completed (the module docstring says what that is).
    """
    for value, _ in _candidates(text):
        yield value


def _candidates(text: str) -> Iterator[tuple[Any, bool]]:
    """``json_candidates`` with, for each, whether the end of the text cut it."""
    if not isinstance(text, str):
        return
    seen: list[Any] = []
    for body in _bodies(text):
        for value, cut in _values(body):
            if isinstance(value, str) and value.strip()[:1] in ("{", "["):
                inner = _read(value.strip(), 0)
                if inner is not None and isinstance(inner[0], dict | list):
                    value, cut = inner[0], inner[2]
            if value not in seen:
                seen.append(value)
                yield value, cut


def _values(body: str) -> Iterator[tuple[Any, bool]]:
    try:
        yield json.loads(body), False
        return
    except (ValueError, RecursionError):
        pass
    starts = [i for i, c in enumerate(body) if c in "{["][: MAX_STARTS * 4]
    tried = 0
    end = 0
    for start in starts:
        if start < end:
            continue  # inside a value already read: a part of it is not another answer
        if tried >= MAX_STARTS:
            return
        tried += 1
        found = _read(body, start)
        if found is not None:
            value, end, cut = found
            yield value, cut


def parse_json(text: str) -> Any | None:
    """The JSON object (else array) found in ``text``, repaired if need be; else ``None``.

    Objects win over arrays: in ``"[JSON] below: {...}"`` the answer is the object. Of an
    answer the text cut off, only what it completed.
    """
    first_list: list[Any] | None = None
    for value in json_candidates(text):
        if isinstance(value, dict):
            return value
        if isinstance(value, list) and first_list is None:
            first_list = value
    return first_list


# -- validation ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParseResult(Generic[M]):
    """The outcome of reading one answer: a validated value, or why there is none.

    ``truncated``: the answer stops in the middle of its JSON, so none was taken.
    """

    value: M | None
    error: str | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.value is not None


def format_validation_error(error: ValidationError, limit: int = 6) -> str:
    """A short, model-readable account of what failed: ``facts.0.text: Field required; …``."""
    parts = []
    for item in error.errors()[:limit]:
        where = ".".join(str(p) for p in item.get("loc", ())) or "(top level)"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _shapes(value: Any, model: type[BaseModel]) -> Iterator[Any]:
    """The value, then the shapes a model commonly meant when it got the outer layer wrong."""
    yield value
    if isinstance(value, list):
        lists = [n for n, f in model.model_fields.items() if get_origin(f.annotation) is list]
        if len(lists) == 1:
            yield {lists[0]: value}  # ``[{...}]`` for ``{"facts": [{...}]}``
        if len(value) == 1 and isinstance(value[0], dict):
            yield value[0]  # ``[{...}]`` for ``{...}``
    if isinstance(value, dict) and len(value) == 1:
        inner = next(iter(value.values()))
        if isinstance(inner, dict) and next(iter(value)) not in model.model_fields:
            yield inner  # ``{"answer": {...}}`` for ``{...}``


def parse_output(text: str, model: type[M]) -> ParseResult[M]:
    """Find, repair and validate a ``model`` in a model's answer. Never raises on bad text.

    An answer the text cut off is never taken, even when what it completed validates (a
    truncated list of facts would pass for all of them; a cut decision may lack its text).
    """
    first_error: str | None = None
    truncated = False
    for candidate, cut in _candidates(text):
        if cut:
            truncated = True
            continue
        for shape in _shapes(candidate, model):
            try:
                return ParseResult(model.model_validate(shape))
            except ValidationError as exc:
                if first_error is None:
                    first_error = format_validation_error(exc)
            except (ValueError, TypeError, RecursionError) as exc:  # a validator's own failure
                if first_error is None:
                    first_error = f"invalid value: {exc}"
    if truncated:
        return ParseResult(None, CUT_OFF, truncated=True)
    if first_error is None:
        first_error = "the answer holds no JSON object"
    return ParseResult(None, first_error)


# -- asking -------------------------------------------------------------------------------------


def reask_message(error: str) -> dict[str, str]:
    """The user turn that tells the model why its answer was refused."""
    return {
        "role": "user",
        "content": (
            f"Your answer could not be used: {error[:1_000]}\n"
            "Answer again with one JSON object only, matching the required format, "
            "and no other text."
        ),
    }


def ask_structured(
    llm: LLM,
    messages: Sequence[Mapping[str, str]],
    output: type[M],
    *,
    retries: int = 2,
    strict: bool = False,
    temperature: float = 0.0,
    max_tokens: int | None = None,
) -> M | None:
    """Ask ``llm`` for an ``output``; re-ask up to ``retries`` times with the validation error.

    Returns ``None`` when no usable answer came (bad output every time, or the model could not
    be reached, or the client failed), so the caller can take the path that needs no model.
    With ``strict=True`` it raises ``LLMError`` instead: ``LLMTruncatedError`` when the answer
    was cut off (the server said so, or its JSON stops midway), which asking again the same
    way would not mend, so it is not re-asked.
    """
    schema = output.model_json_schema()
    chat: list[Mapping[str, str]] = list(messages)
    error = "no answer"
    for attempt in range(max(0, retries) + 1):
        try:
            answer = llm.complete(
                chat, json_schema=schema, temperature=temperature, max_tokens=max_tokens
            )
            result = parse_output(answer, output)
            if result.truncated:
                raise LLMTruncatedError(f"{output.__name__}: {result.error}", answer)
        except LLMError as exc:
            logger.warning("%s: no answer from the model: %s", output.__name__, exc)
            if strict:
                raise
            return None
        except Exception as exc:  # a third-party LLM class failing its own way
            logger.exception("%s: the model client failed", output.__name__)
            if strict:
                raise LLMError(f"the model client failed: {exc!r}") from exc
            return None
        if result.value is not None:
            return result.value
        error = result.error or "invalid answer"
        logger.info("%s: answer %d refused: %s", output.__name__, attempt + 1, error)
        chat = [
            *chat,
            {"role": "assistant", "content": answer[:MAX_ECHO_CHARS]},
            reask_message(error),
        ]
    message = (
        f"the model gave no valid {output.__name__} after {max(0, retries) + 1} attempts; "
        f"last problem: {error}"
    )
    if strict:
        raise LLMError(message)
    logger.warning("%s", message)
    return None
