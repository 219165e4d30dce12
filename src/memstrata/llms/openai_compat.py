"""A chat client for any server that speaks the OpenAI ``/chat/completions`` API.

One class covers OpenAI, Ollama, vLLM, the llama.cpp server and LM Studio: they differ only in
their base URL, whether they want an API key, and which ``response_format`` they accept. The
last is found out at run time (``json_mode="auto"``): a server that answers 400 to a JSON
schema is asked for a JSON object instead, then for plain text, and the client remembers.

The decisions (what to retry, how long to wait, what a 400 means, what to send) are pure
functions below the class; the class holds the connection and the counters.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, get_args

import httpx

from memstrata.errors import ConfigurationError, LLMError, LLMTruncatedError

__all__ = [
    "Completion",
    "JsonMode",
    "OpenAICompatLLM",
    "Usage",
    "answer_text",
    "build_payload",
    "is_retryable_status",
    "is_truncated",
    "next_json_mode",
    "parse_retry_after",
    "read_completion",
    "rejects_response_format",
    "response_format",
    "retry_delay",
]

logger = logging.getLogger(__name__)

JsonMode = Literal["auto", "json_schema", "json_object", "none"]
JSON_MODES: tuple[str, ...] = get_args(JsonMode)

#: The order in which ``json_mode="auto"`` steps down when a server refuses a format.
_FALLBACK: dict[str, JsonMode] = {"json_schema": "json_object", "json_object": "none"}
_RETRYABLE = frozenset({408, 409, 425, 429})
_FORMAT_WORDS = re.compile(
    r"response[_ ]format|json[_ ]schema|json[_ ]object|structured output|grammar|guided",
    re.IGNORECASE,
)
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]+")
#: The ``finish_reason`` that says the answer stopped at the output limit (OpenAI, vLLM,
#: Ollama, llama.cpp and LM Studio all send it).
TRUNCATED = "length"


@dataclass(frozen=True, slots=True)
class Usage:
    """What a client has spent: completed calls, HTTP requests (retries included) and tokens.

    Subtract two snapshots to get the cost of the work between them.
    """

    calls: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.requests + other.requests,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.calls - other.calls,
            self.requests - other.requests,
            self.prompt_tokens - other.prompt_tokens,
            self.completion_tokens - other.completion_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


class OpenAICompatLLM:
    """The ``LLM`` port over an OpenAI-compatible HTTP API.

    ``base_url`` is the API root, usually ending in ``/v1`` (``http://localhost:11434/v1`` for
    Ollama). ``timeout`` bounds each request in seconds; ``max_retries`` retries follow a 429,
    a 5xx, a timeout or a refused connection, waiting ``backoff * 2**attempt`` seconds (at most
    ``max_backoff``) or what the server's ``Retry-After`` asks. ``json_mode`` picks the
    ``response_format`` sent when a caller passes a JSON schema (see the module docstring).
    ``extra_body`` is merged into every request, for server-specific options (vLLM's
    ``{"chat_template_kwargs": {"enable_thinking": False}}``, a ``seed``). ``vision`` says the
    model reads images in ``image_url`` content parts: ``add`` then has it caption the images
    in messages.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        json_mode: JsonMode = "auto",
        extra_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        vision: bool = False,
    ) -> None:
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"LLM base URL {base_url!r} must start with http:// or https:// "
                "(for example http://localhost:11434/v1)"
            )
        if not model:
            raise ConfigurationError("an LLM model name is required")
        if json_mode not in JSON_MODES:
            raise ConfigurationError(f"json_mode {json_mode!r} is not one of {JSON_MODES}")
        if timeout <= 0 or max_retries < 0 or backoff < 0:
            raise ConfigurationError("timeout must be positive; max_retries and backoff >= 0")
        self.base_url = _normalise_base_url(base_url)
        self.url = self.base_url + "/chat/completions"
        self._model = model
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.configured_json_mode: JsonMode = json_mode
        self._json_mode: JsonMode = "json_schema" if json_mode == "auto" else json_mode
        self.extra_body = dict(extra_body or {})
        self.vision = bool(vision)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._usage = Usage()
        all_headers = {"Accept": "application/json", **(headers or {})}
        if api_key:
            all_headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
            headers=all_headers,
            transport=transport,
        )

    # -- the port -----------------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self._model

    @property
    def usage(self) -> Usage:
        """A snapshot of what this client has spent so far."""
        with self._lock:
            return self._usage

    @property
    def json_mode(self) -> JsonMode:
        """The ``response_format`` in use now (``auto`` settles on one after a refusal)."""
        with self._lock:
            return self._json_mode

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        json_schema: Mapping[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> str:
        """Return the assistant's text for ``messages``; raise ``LLMError`` when none comes,
        and its subclass ``LLMTruncatedError`` when the server says the answer stopped at the
        output limit (``finish_reason`` ``length``; a server that sends no reason is trusted)."""
        if not messages:
            raise LLMError("cannot complete an empty chat: give at least one message")
        attempt = 0
        while True:
            mode = self.json_mode
            payload = build_payload(
                self._model,
                messages,
                response_format=response_format(mode, json_schema),
                temperature=temperature,
                max_tokens=max_tokens,
                extra=self.extra_body,
            )
            retry_after: float | None = None
            try:
                response = self._client.post(self.url, json=payload)
            except httpx.TimeoutException:
                self._count(requests=1)
                problem = (
                    f"{self.url} did not answer within {self.timeout:g} s "
                    "(raise the timeout for slow local models)"
                )
            except httpx.TransportError as exc:
                self._count(requests=1)
                problem = f"cannot reach {self.url}: {exc or type(exc).__name__} (is it running?)"
            else:
                self._count(requests=1)
                status = response.status_code
                if status == 200:
                    answer = read_completion(response, self.url)
                    self._count(
                        calls=1, prompt=answer.prompt_tokens, completion=answer.completion_tokens
                    )
                    return answer_text(answer, self.url)
                detail = _error_detail(response)
                if (
                    self.configured_json_mode == "auto"
                    and payload.get("response_format") is not None
                    and rejects_response_format(status, detail)
                ):
                    self._step_down(mode, detail)
                    continue  # not a failed attempt: the same request in a plainer format
                problem = _describe_status(self.url, self._model, status, detail, mode)
                if not is_retryable_status(status):
                    raise LLMError(problem)
                retry_after = parse_retry_after(response.headers)
            if attempt >= self.max_retries:
                tries = "1 attempt" if attempt == 0 else f"{attempt + 1} attempts"
                raise LLMError(f"{problem}; gave up after {tries}")
            delay = retry_delay(attempt, self.backoff, self.max_backoff, retry_after)
            logger.info("LLM request failed (%s); retrying in %.2f s", problem, delay)
            self._sleep(delay)
            attempt += 1

    # -- housekeeping -------------------------------------------------------------------------

    def reset_usage(self) -> Usage:
        """Zero the counters and return what they held."""
        with self._lock:
            spent, self._usage = self._usage, Usage()
            return spent

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatLLM:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OpenAICompatLLM(base_url={self.base_url!r}, model={self._model!r})"

    def _count(
        self, *, calls: int = 0, requests: int = 0, prompt: int = 0, completion: int = 0
    ) -> None:
        with self._lock:
            self._usage = self._usage + Usage(calls, requests, prompt, completion)

    def _step_down(self, refused: JsonMode, detail: str) -> None:
        with self._lock:
            if self._json_mode == refused:
                self._json_mode = next_json_mode(refused)
                logger.info(
                    "%s refused response_format %s (%s); using %s from now on",
                    self.base_url,
                    refused,
                    detail[:200],
                    self._json_mode,
                )


# -- decisions ----------------------------------------------------------------------------------


def _normalise_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    for suffix in ("/chat/completions", "/completions"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def response_format(mode: JsonMode, json_schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``response_format`` to send: none unless the caller wants JSON and the mode allows."""
    if json_schema is None or mode == "none":
        return None
    if mode == "json_object":
        return {"type": "json_object"}
    name = _SCHEMA_NAME.sub("_", str(json_schema.get("title") or "output"))[:64] or "output"
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": dict(json_schema), "strict": False},
    }


def next_json_mode(mode: JsonMode) -> JsonMode:
    """The plainer format to try after a server refused ``mode``."""
    return _FALLBACK.get(mode, "none")


def build_payload(
    model: str,
    messages: Sequence[Mapping[str, str]],
    *,
    response_format: Mapping[str, Any] | None = None,
    temperature: float = 0.0,
    max_tokens: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of one ``/chat/completions`` request."""
    payload: dict[str, Any] = {
        **(extra or {}),
        "model": model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "temperature": temperature,
        "stream": False,
    }
    if max_tokens is not None:
        payload["max_tokens"] = max_tokens
    if response_format is not None:
        payload["response_format"] = dict(response_format)
    return payload


def is_retryable_status(status: int) -> bool:
    """Rate limits, timeouts and server errors are worth another try; other 4xx are not."""
    return status in _RETRYABLE or status >= 500


def rejects_response_format(status: int, detail: str) -> bool:
    """Whether an error answer says the server does not accept the ``response_format`` sent."""
    return status in (400, 422, 501) and bool(_FORMAT_WORDS.search(detail))


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait as the server asks (``retry-after-ms``, ``Retry-After`` seconds or date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_delay(
    attempt: int,
    backoff: float,
    max_backoff: float,
    retry_after: float | None = None,
    jitter: float | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt + 1``.

    The server's ``Retry-After`` wins when given (capped at ``max_backoff``); otherwise
    exponential backoff with up to 25% random jitter, so clients that failed together do not
    retry together.
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), max_backoff)
    base = min(backoff * (2.0**attempt), max_backoff)
    spread = random.random() if jitter is None else jitter
    return base * (1.0 - 0.25 * spread)


@dataclass(frozen=True, slots=True)
class Completion:
    """What a 200 answer holds: the assistant text (possibly empty), the token counts, and
    why the model stopped (``None`` when the server does not say)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None


def is_truncated(finish_reason: str | None) -> bool:
    """Whether a ``finish_reason`` says the answer was cut at the output limit. A server that
    sends none is taken at its word."""
    return finish_reason == TRUNCATED


def answer_text(answer: Completion, url: str = "the server") -> str:
    """The text of a complete answer; ``LLMTruncatedError`` (holding what came) when the model
    stopped at its output limit, ``LLMError`` when it gave no text."""
    if is_truncated(answer.finish_reason):
        empty = "" if answer.text.strip() else ", with no text (all reasoning?)"
        raise LLMTruncatedError(
            f"{url} stopped the answer at its output limit (finish_reason="
            f"{answer.finish_reason!r}, {answer.completion_tokens} completion tokens{empty}): "
            "ask for less per call, or raise the server's limit (max_tokens, Ollama's "
            "num_predict, llama.cpp's --n-predict)",
            answer.text,
        )
    if not answer.text.strip():
        raise LLMError(
            f"{url} answered with no text (finish_reason={answer.finish_reason!r}); "
            "the model may have refused or spent its tokens on reasoning"
        )
    return answer.text


def read_completion(response: httpx.Response, url: str = "the server") -> Completion:
    """The assistant text, token counts and finish reason of a 200 answer."""
    try:
        data = response.json()
    except ValueError:
        raise LLMError(
            f"{url} answered 200 with a body that is not JSON: {response.text[:200]!r} "
            "(is the base URL an OpenAI-compatible API root, usually ending in /v1?)"
        ) from None
    if not isinstance(data, dict):
        raise LLMError(f"{url} answered with JSON that is not an object: {str(data)[:200]}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise LLMError(f"{url} answered without choices: {str(data)[:200]}")
    message = choices[0].get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # content parts
        content = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    reason = choices[0].get("finish_reason")
    usage = data.get("usage")
    if not isinstance(usage, dict):
        usage = {}
    return Completion(
        content if isinstance(content, str) else "",
        _int(usage.get("prompt_tokens")),
        _int(usage.get("completion_tokens")),
        reason if isinstance(reason, str) else None,
    )


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0
    try:
        return max(0, int(value))
    except (ValueError, OverflowError):
        return 0


def _error_detail(response: httpx.Response) -> str:
    """The server's own words about an error, from the usual places in its body."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:500]
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message") or error
        if error:
            return str(error)[:500]
    return str(data)[:500]


def _describe_status(url: str, model: str, status: int, detail: str, mode: JsonMode) -> str:
    said = f": {detail}" if detail else ""
    hint = ""
    if status in (401, 403):
        hint = " (check the API key)"
    elif status == 404:
        hint = f" (check the base URL, usually ending in /v1, and that model {model!r} exists)"
    elif status == 429:
        hint = " (rate limited)"
    elif status in (400, 422) and mode != "none" and _FORMAT_WORDS.search(detail):
        hint = " (the server refuses this response_format: set json_mode to 'auto' or 'none')"
    return f"{url} answered HTTP {status}{said}{hint}"
