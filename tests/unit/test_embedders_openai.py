"""The OpenAI-compatible embedder against a real HTTP server on 127.0.0.1 (no mocks).

The server embeds with the hashing embedder, scaled so rows arrive un-normalised, and answers
in reverse order with explicit indices. A few model names make it misbehave on purpose.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from memstrata.embedders import EmbedderError, HashingEmbedder, OpenAIEmbedder, make_embedder
from memstrata.embedders.openai_compat import backoff_delay, parse_response, should_retry
from memstrata.errors import ConfigurationError

DIM = 32
REFERENCE = HashingEmbedder(DIM)


@dataclass
class Recorder:
    """What the server saw, and how many failures it still owes per model."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _answer(recorder: Recorder, body: dict[str, Any], auth: str | None) -> tuple[int, Any]:
    model = body.get("model", "")
    texts: list[str] = body["input"]
    with recorder.lock:
        recorder.bodies.append(body)
        recorder.auth.append(auth)
        owed = recorder.failures_left.get(model, 0)
        if owed:
            recorder.failures_left[model] = owed - 1
    if model == "secret" and auth != "Bearer sk-test":
        return 401, {"error": {"message": "Incorrect API key provided"}}
    if model == "missing":
        return 404, {"error": {"message": "model 'missing' not found"}}
    if model == "bad-request":
        return 400, {"error": {"message": "input is too long"}}
    if model == "always-down" or owed:
        return (429 if model == "rate-limited" else 503), {"error": {"message": "busy"}}
    if model == "short":
        return 200, {"data": [{"embedding": [1.0], "index": 0}]}
    vectors = REFERENCE.embed(texts) * 7.0  # not unit length: the client must normalise
    if model == "wide":
        vectors = np.hstack([vectors, vectors])
    data = [
        {"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)
    ]
    return 200, {"object": "list", "model": model, "data": data[::-1]}


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/v1/embeddings":
                status, payload = 404, {"error": {"message": f"no route {self.path}"}}
            else:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                status, payload = _answer(recorder, body, self.headers.get("Authorization"))
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", recorder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _embedder(url: str, model: str = "tiny", **kwargs: Any) -> OpenAIEmbedder:
    kwargs.setdefault("sleep", lambda _s: None)
    return OpenAIEmbedder(url, model, **kwargs)


def test_embeds_in_batches_in_input_order_normalised(server: tuple[str, Recorder]) -> None:
    url, rec = server
    texts = [f"memory number {i} about coffee" for i in range(5)]
    with _embedder(url, batch_size=2) as emb:
        out = emb.embed(texts, kind="query")
    assert out.shape == (5, DIM) and out.dtype == np.float32
    np.testing.assert_allclose(out, REFERENCE.embed(texts), atol=1e-6)
    assert [len(b["input"]) for b in rec.bodies] == [2, 2, 1]
    assert all(b["model"] == "tiny" and "dimensions" not in b for b in rec.bodies)
    assert rec.auth == [None, None, None]


def test_dim_is_learned_from_the_first_answer(server: tuple[str, Recorder]) -> None:
    url, rec = server
    emb = _embedder(url)
    assert emb.dim == DIM  # one probe request
    assert len(rec.bodies) == 1
    assert emb.embed([]).shape == (0, DIM)
    assert len(rec.bodies) == 1


def test_empty_texts_are_sent_as_a_space(server: tuple[str, Recorder]) -> None:
    url, rec = server
    out = _embedder(url).embed(["", "hi"])
    assert rec.bodies[0]["input"] == [" ", "hi"]
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_api_key_is_sent_and_a_refused_key_is_a_configuration_error(
    server: tuple[str, Recorder],
) -> None:
    url, rec = server
    assert _embedder(url, "secret", api_key="sk-test").embed(["x"]).shape == (1, DIM)
    assert rec.auth[-1] == "Bearer sk-test"
    with pytest.raises(ConfigurationError, match="refused the API key"):
        _embedder(url, "secret", api_key="wrong").embed(["x"])


def test_make_embedder_passes_the_key(server: tuple[str, Recorder]) -> None:
    url, rec = server
    emb = make_embedder(f"openai:secret@{url}", api_key="sk-test")
    assert emb.embed(["x"]).shape == (1, DIM)
    assert rec.auth == ["Bearer sk-test"]


def test_retries_429_and_5xx_with_backoff_then_succeeds(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.failures_left = {"rate-limited": 2, "flaky": 3}
    waits: list[float] = []
    emb = OpenAIEmbedder(url, "rate-limited", backoff=0.25, sleep=waits.append)
    assert emb.embed(["a"]).shape == (1, DIM)
    assert waits == [0.0, 0.0]  # Retry-After: 0 wins over the schedule
    waits.clear()
    emb = OpenAIEmbedder(url, "flaky", backoff=0.25, sleep=waits.append)
    assert emb.embed(["a"]).shape == (1, DIM)
    assert waits == [0.25, 0.5, 1.0]
    assert len(rec.bodies) == 3 + 4


def test_gives_up_after_max_retries(server: tuple[str, Recorder]) -> None:
    url, rec = server
    with pytest.raises(EmbedderError, match="503"):
        _embedder(url, "always-down", max_retries=2).embed(["a"])
    assert len(rec.bodies) == 3


@pytest.mark.parametrize(
    ("model", "error", "match"),
    [
        ("missing", ConfigurationError, "404.*not found"),
        ("bad-request", EmbedderError, "400: input is too long"),
        ("short", EmbedderError, "1 embeddings for 2 texts"),
    ],
)
def test_clear_errors(
    server: tuple[str, Recorder], model: str, error: type[Exception], match: str
) -> None:
    url, _ = server
    with pytest.raises(error, match=match):
        _embedder(url, model).embed(["a", "b"])


def test_wrong_base_url_and_dimension_mismatch(server: tuple[str, Recorder]) -> None:
    url, _ = server
    with pytest.raises(ConfigurationError, match="base_url"):
        _embedder(url.removesuffix("/v1")).embed(["a"])
    with pytest.raises(ConfigurationError, match=f"answered {2 * DIM}-dimensional.*reembed"):
        _embedder(url, "wide", dim=DIM).embed(["a"])


def test_dimensions_is_sent_and_named(server: tuple[str, Recorder]) -> None:
    url, rec = server
    emb = _embedder(url, dimensions=DIM)
    assert emb.name == "openai:tiny:32" and emb.dim == DIM
    emb.embed(["a"])
    assert rec.bodies[0]["dimensions"] == DIM


def test_unreachable_server_is_a_clear_error() -> None:
    emb = OpenAIEmbedder("http://127.0.0.1:9/v1", "m", max_retries=1, sleep=lambda _s: None)
    with pytest.raises(EmbedderError, match="cannot reach"):
        emb.embed(["a"])


def test_thread_safety_smoke(server: tuple[str, Recorder]) -> None:
    url, _ = server
    emb = _embedder(url, batch_size=3)
    texts = [f"text {i}" for i in range(10)]
    expected = REFERENCE.embed(texts)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            np.testing.assert_allclose(emb.embed(texts), expected, atol=1e-6)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# -- the pure pieces --------------------------------------------------------------------------


def test_should_retry_and_backoff() -> None:
    assert all(should_retry(s) for s in (408, 409, 429, 500, 503, 599))
    assert not any(should_retry(s) for s in (200, 400, 401, 404, 422))
    assert backoff_delay(0, 0.5, None) == 0.5
    assert backoff_delay(3, 0.5, None) == 4.0
    assert backoff_delay(3, 0.5, "2") == 2.0
    assert backoff_delay(0, 0.5, "3600") == 30.0
    assert backoff_delay(1, 0.5, "Wed, 21 Oct 2015 07:28:00 GMT") == 1.0


def test_parse_response_orders_by_index_and_rejects_garbage() -> None:
    payload = {"data": [{"index": 1, "embedding": [2.0]}, {"index": 0, "embedding": [1.0]}]}
    assert parse_response(payload, 2) == [[1.0], [2.0]]
    with pytest.raises(EmbedderError, match="repeated"):
        parse_response({"data": [{"index": 0, "embedding": [1.0]}] * 2}, 2)
    with pytest.raises(EmbedderError, match="base64"):
        parse_response({"data": [{"index": 0, "embedding": "AAAA"}]}, 1)
    with pytest.raises(EmbedderError, match="no embeddings"):
        parse_response({"error": "x"}, 1)
