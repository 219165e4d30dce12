"""A client for any OpenAI-compatible ``/embeddings`` endpoint: OpenAI, Ollama, vLLM, llama.cpp.

Texts go in batches; 429 and 5xx answers and dropped connections are retried with exponential
backoff (honouring ``Retry-After``); the rows that come back are checked and L2-normalised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import numpy as np

from memstrata.embedders.common import EmbedderError, check_kind, check_texts, empty, l2_normalise
from memstrata.errors import ConfigurationError, InvalidInputError
from memstrata.ports import EmbedKind, Vector

#: Answers worth another try (as OpenAI's own clients do): timeouts, conflicts, rate limits,
#: and every server error.
RETRY_STATUSES = frozenset({408, 409, 429})
#: Longest wait honoured from a ``Retry-After`` header, in seconds.
MAX_RETRY_AFTER = 30.0


def should_retry(status: int) -> bool:
    """Whether an answer with this status is worth another try."""
    return status in RETRY_STATUSES or status >= 500


def backoff_delay(attempt: int, base: float, retry_after: str | None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based).

    A numeric ``Retry-After`` wins (capped at ``MAX_RETRY_AFTER``); else ``base * 2**attempt``.
    """
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass  # an HTTP date: fall back to our own schedule
    return float(base * (2**attempt))


def parse_response(payload: Any, expected: int) -> list[list[float]]:
    """The embeddings of an ``/embeddings`` answer, in input order; raise on a malformed one."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or len(data) != expected:
        got = len(data) if isinstance(data, list) else "no"
        raise EmbedderError(f"the endpoint answered {got} embeddings for {expected} texts")
    rows: list[list[float] | None] = [None] * expected
    for position, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("embedding"), list):
            raise EmbedderError(
                "the endpoint answered embeddings that are not float lists; it may be sending "
                "base64, which this client does not request"
            )
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < expected or rows[index] is not None:
            raise EmbedderError(f"the endpoint answered a bad or repeated index {index!r}")
        rows[index] = item["embedding"]
    return [row for row in rows if row is not None]


def error_message(response: httpx.Response) -> str:
    """The server's own error text, if it sent one in the usual ``{"error": ...}`` shape."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", error))[:200]
    return str(error if error is not None else body)[:200]


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible server.

    Args:
        base_url: the API root, e.g. ``https://api.openai.com/v1`` or
            ``http://localhost:11434/v1`` (``/embeddings`` is appended).
        model: the model name the server knows.
        api_key: sent as a bearer token when given (local servers usually need none).
        dim: the vector size, when known; otherwise it is learned from the first answer
            (reading ``dim`` before any ``embed`` sends one probe request). Answers of
            another size are an error.
        dimensions: ask the server for shortened vectors (OpenAI's ``dimensions`` parameter,
            text-embedding-3 models only); implies ``dim``.
        timeout: seconds per request.
        batch_size: texts per request.
        max_retries: retries of a request after a 429, a 5xx or a dropped connection.
        backoff: the first retry's wait in seconds; each next one doubles.
        client: an ``httpx.Client`` to use instead of a new one (it is not closed here).
        sleep: how to wait between retries (tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        dim: int | None = None,
        dimensions: int | None = None,
        timeout: float = 30.0,
        batch_size: int = 128,
        max_retries: int = 4,
        backoff: float = 0.5,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"embedding base_url must be an http(s) URL, not {base_url!r}")
        if not model:
            raise ConfigurationError("an OpenAI-compatible embedder needs a model name")
        if batch_size < 1 or max_retries < 0:
            raise InvalidInputError("batch_size must be at least 1 and max_retries at least 0")
        if dimensions is not None and dim is not None and dim != dimensions:
            raise ConfigurationError(f"dim={dim} contradicts dimensions={dimensions}")
        self._url = base_url.rstrip("/") + "/embeddings"
        self._model = model
        self._dimensions = dimensions
        self._dim = dim if dim is not None else dimensions
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._backoff = backoff
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout)
        self._headers = headers
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        suffix = f":{self._dimensions}" if self._dimensions is not None else ""
        return f"openai:{self._model}{suffix}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vector:
        check_kind(kind)  # the OpenAI API has no query/document distinction
        items = check_texts(texts)
        if not items:
            return empty(self.dim)  # learns the size from the server if it is not known yet
        # Most servers refuse an empty input string; a space embeds as "nothing".
        items = [text if text.strip() else " " for text in items]
        parts = [
            self._embed_batch(items[start : start + self._batch_size])
            for start in range(0, len(items), self._batch_size)
        ]
        return np.concatenate(parts)

    def _embed_batch(self, texts: list[str]) -> Vector:
        body: dict[str, Any] = {"model": self._model, "input": texts}
        if self._dimensions is not None:
            body["dimensions"] = self._dimensions
        rows = parse_response(self._post(body), len(texts))
        widths = {len(row) for row in rows}
        if len(widths) != 1 or 0 in widths:
            raise EmbedderError(f"the endpoint answered vectors of sizes {sorted(widths)}")
        width = widths.pop()
        with self._lock:
            if self._dim is None:
                self._dim = width
        if width != self._dim:
            raise ConfigurationError(
                f"{self._model} at {self._url} answered {width}-dimensional vectors, not "
                f"{self._dim}; set dim to {width} (a store built with {self._dim} needs "
                "`memstrata reembed`)"
            )
        try:
            return l2_normalise(np.asarray(rows, dtype=np.float32))
        except (TypeError, ValueError) as exc:
            raise EmbedderError("the endpoint answered embeddings that are not numbers") from exc

    def _post(self, body: Mapping[str, Any]) -> Any:
        for attempt in range(self._max_retries + 1):
            last = attempt == self._max_retries
            try:
                response = self._client.post(self._url, json=body, headers=self._headers)
            except httpx.TransportError as exc:
                if last:
                    raise EmbedderError(
                        f"cannot reach the embedding endpoint {self._url}: {exc}; is the server "
                        "running and the base_url right?"
                    ) from exc
                self._sleep(backoff_delay(attempt, self._backoff, None))
                continue
            if should_retry(response.status_code) and not last:
                self._sleep(
                    backoff_delay(attempt, self._backoff, response.headers.get("retry-after"))
                )
                continue
            return self._decode(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _decode(self, response: httpx.Response) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise ConfigurationError(
                f"the embedding endpoint {self._url} refused the API key ({status}: "
                f"{error_message(response)}); check the key in your settings"
            )
        if status == 404:
            raise ConfigurationError(
                f"{self._url} answered 404 ({error_message(response)}); check the base_url "
                f"(it should end before /embeddings, e.g. .../v1) and the model {self._model!r}"
            )
        if status >= 400:
            raise EmbedderError(
                f"the embedding endpoint {self._url} answered {status}: {error_message(response)}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise EmbedderError(f"the embedding endpoint {self._url} did not answer JSON") from exc

    def close(self) -> None:
        """Close the HTTP client (only one this embedder created)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> OpenAIEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
