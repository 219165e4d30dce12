"""OpenAICompatLLM against a real HTTP server on 127.0.0.1 (the scripted one)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from memstrata.errors import ConfigurationError, LLMError, LLMTruncatedError
from memstrata.llms import OpenAICompatLLM, Usage
from memstrata.llms.openai_compat import (
    Completion,
    answer_text,
    build_payload,
    is_retryable_status,
    is_truncated,
    next_json_mode,
    parse_retry_after,
    rejects_response_format,
    response_format,
    retry_delay,
)
from memstrata.ports import LLM
from memstrata.testing import Reply, ScriptedLLMServer

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello?"}]
SCHEMA = {"title": "Answer", "type": "object", "properties": {"a": {"type": "integer"}}}


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as scripted:
        yield scripted


class Sleeps:
    """Records the waits the client asks for, and waits them for real."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        time.sleep(seconds)


def client(server: ScriptedLLMServer, **options: object) -> OpenAICompatLLM:
    options.setdefault("backoff", 0.01)
    return OpenAICompatLLM(server.base_url, "test-model", **options)  # type: ignore[arg-type]


def test_meets_the_llm_protocol(server: ScriptedLLMServer) -> None:
    with client(server) as llm:
        assert isinstance(llm, LLM)
        assert llm.model == "test-model"


def test_success_sends_an_openai_request(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.text("Hi!"))
    with client(server, api_key="sk-test", extra_body={"seed": 7}) as llm:
        assert llm.complete(CHAT, temperature=0.2, max_tokens=50) == "Hi!"
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["model"] == "test-model"
    assert request.body["messages"] == CHAT
    assert request.body["temperature"] == 0.2
    assert request.body["max_tokens"] == 50
    assert request.body["seed"] == 7
    assert request.body["stream"] is False
    assert "response_format" not in request.body  # no schema, no JSON mode


def test_no_api_key_sends_no_authorization(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.text("ok"))
    with client(server) as llm:
        llm.complete(CHAT)
    assert "authorization" not in server.requests[0].headers


def test_base_url_is_normalised(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.text("ok"))
    with OpenAICompatLLM(server.base_url + "/chat/completions/", "m") as llm:
        assert llm.base_url == server.base_url
        assert llm.complete(CHAT) == "ok"


def test_usage_is_counted(server: ScriptedLLMServer) -> None:
    server.enqueue(
        Reply(content="one", prompt_tokens=10, completion_tokens=3),
        Reply.server_error(),
        Reply(content="two", prompt_tokens=12, completion_tokens=4),
    )
    with client(server) as llm:
        before = llm.usage
        llm.complete(CHAT)
        llm.complete(CHAT)
        spent = llm.usage - before
        assert spent == Usage(calls=2, requests=3, prompt_tokens=22, completion_tokens=7)
        assert spent.total_tokens == 29
        assert spent.to_dict()["total_tokens"] == 29
        assert llm.reset_usage() == spent
        assert llm.usage == Usage()


def test_retries_429_honouring_retry_after(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.rate_limited(retry_after=0.05), Reply.text("done"))
    sleeps = Sleeps()
    with client(server, backoff=5.0, sleep=sleeps) as llm:
        assert llm.complete(CHAT) == "done"
    assert sleeps.delays == [0.05]  # the server's wait, not the 5 s backoff
    assert len(server.requests) == 2


def test_retries_500_with_backoff_then_succeeds(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.server_error(), Reply.server_error(503), Reply.text("done"))
    sleeps = Sleeps()
    with client(server, backoff=0.01, sleep=sleeps) as llm:
        assert llm.complete(CHAT) == "done"
        assert llm.usage.requests == 3 and llm.usage.calls == 1
    assert len(sleeps.delays) == 2
    assert 0.0075 <= sleeps.delays[0] <= 0.01
    assert 0.015 <= sleeps.delays[1] <= 0.02


def test_gives_up_on_persistent_500(server: ScriptedLLMServer) -> None:
    server.enqueue(*[Reply.server_error()] * 5)
    with client(server, max_retries=2) as llm, pytest.raises(LLMError) as info:
        llm.complete(CHAT)
    message = str(info.value)
    assert "HTTP 500" in message
    assert "internal server error (scripted)" in message
    assert "gave up after 3 attempts" in message
    assert len(server.requests) == 3


def test_client_errors_are_not_retried(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.error(401, "invalid api key"), Reply.text("never"))
    with client(server) as llm, pytest.raises(LLMError, match="check the API key"):
        llm.complete(CHAT)
    assert len(server.requests) == 1


def test_unknown_model_names_the_base_url(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.error(404, "model 'x' not found"))
    with client(server) as llm, pytest.raises(LLMError, match="check the base URL"):
        llm.complete(CHAT)


def test_timeout_on_a_slow_answer(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.slow("late", delay=1.0))
    with client(server, timeout=0.2, max_retries=0) as llm:
        started = time.monotonic()
        with pytest.raises(LLMError, match=r"did not answer within 0.2 s"):
            llm.complete(CHAT)
        assert time.monotonic() - started < 0.9


def test_timeout_is_retried(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.slow("late", delay=0.6), Reply.text("in time"))
    with client(server, timeout=0.2, max_retries=1) as llm:
        assert llm.complete(CHAT) == "in time"
        assert llm.usage.requests == 2


def test_refused_connection_is_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    with OpenAICompatLLM(
        f"http://127.0.0.1:{port}/v1", "m", max_retries=2, backoff=0.001, sleep=sleeps
    ) as llm:
        with pytest.raises(LLMError, match=r"cannot reach .*is it running"):
            llm.complete(CHAT)
        assert llm.usage.requests == 3
    assert len(sleeps.delays) == 2


def test_json_schema_is_sent_by_default(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.json({"a": 1}))
    with client(server) as llm:
        assert llm.complete(CHAT, json_schema=SCHEMA) == '{"a": 1}'
    fmt = server.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Answer"
    assert fmt["json_schema"]["schema"] == SCHEMA


def test_auto_falls_back_to_json_object_and_remembers() -> None:
    with ScriptedLLMServer(supported_formats=("json_object",)) as server:
        server.enqueue(Reply.json({"a": 1}), Reply.json({"a": 2}))
        with client(server) as llm:
            assert llm.complete(CHAT, json_schema=SCHEMA) == '{"a": 1}'
            assert llm.json_mode == "json_object"
            assert llm.complete(CHAT, json_schema=SCHEMA) == '{"a": 2}'
            assert llm.usage.calls == 2 and llm.usage.requests == 3
        sent = [r.response_format for r in server.requests]
        assert sent == ["json_schema", "json_object", "json_object"]


def test_auto_falls_back_to_no_format() -> None:
    with ScriptedLLMServer(supported_formats=()) as server:
        server.enqueue(Reply.json({"a": 1}))
        with client(server) as llm:
            assert llm.complete(CHAT, json_schema=SCHEMA) == '{"a": 1}'
            assert llm.json_mode == "none"
        assert [r.response_format for r in server.requests] == ["json_schema", "json_object", None]


def test_explicit_json_mode_is_not_changed() -> None:
    with ScriptedLLMServer(supported_formats=("json_object",)) as server:
        with client(server, json_mode="json_schema") as llm, pytest.raises(LLMError) as info:
            llm.complete(CHAT, json_schema=SCHEMA)
        assert "response_format" in str(info.value)
        assert "json_mode" in str(info.value)
        assert len(server.requests) == 1


def test_json_mode_none_sends_no_format(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.json({"a": 1}))
    with client(server, json_mode="none") as llm:
        llm.complete(CHAT, json_schema=SCHEMA)
    assert server.requests[0].response_format is None


def test_non_json_body_is_a_clear_error(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.raw("<html>proxy login</html>"))
    with client(server) as llm, pytest.raises(LLMError, match=r"not JSON.*ending in /v1"):
        llm.complete(CHAT)


def test_empty_answer_is_an_error(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply(content="", finish_reason="stop"), Reply.truncated(""))
    with client(server) as llm:
        with pytest.raises(LLMError, match="no text") as info:
            llm.complete(CHAT)
        assert not isinstance(info.value, LLMTruncatedError)
        with pytest.raises(LLMTruncatedError, match="no text"):
            llm.complete(CHAT)  # a reasoning model that spent the limit before answering


def test_an_answer_cut_at_the_output_limit_raises_a_typed_error(
    server: ScriptedLLMServer,
) -> None:
    server.enqueue(Reply.truncated('{"facts": [{"text": "Ana moved'))
    with client(server) as llm:
        with pytest.raises(LLMTruncatedError, match=r"output limit.*max_tokens") as info:
            llm.complete(CHAT, max_tokens=8)
        assert isinstance(info.value, LLMError) and info.value.code == "llm_truncated"
        assert info.value.partial == '{"facts": [{"text": "Ana moved'
        assert (llm.usage.calls, llm.usage.requests) == (1, 1)  # spent, and not retried
        assert llm.usage.completion_tokens > 0


def test_a_server_that_sends_no_finish_reason_is_taken_at_its_word(
    server: ScriptedLLMServer,
) -> None:
    server.enqueue(Reply(content='{"a": 1}', finish_reason=None))
    with client(server) as llm:
        assert llm.complete(CHAT) == '{"a": 1}'


@pytest.mark.parametrize(
    ("reason", "cut"), [("length", True), ("stop", False), (None, False), ("tool_calls", False)]
)
def test_answer_text_reads_the_finish_reason(reason: str | None, cut: bool) -> None:
    answer = Completion("text", 10, 5, reason)
    assert is_truncated(reason) is cut
    if cut:
        with pytest.raises(LLMTruncatedError):
            answer_text(answer)
    else:
        assert answer_text(answer) == "text"


def test_empty_chat_is_refused(server: ScriptedLLMServer) -> None:
    with client(server) as llm, pytest.raises(LLMError, match="empty chat"):
        llm.complete([])


@pytest.mark.parametrize(
    "options",
    [
        {"base_url": "localhost:11434/v1"},
        {"model": ""},
        {"json_mode": "xml"},
        {"timeout": 0},
        {"max_retries": -1},
    ],
)
def test_bad_configuration(options: dict[str, object]) -> None:
    args: dict[str, object] = {"base_url": "http://localhost:1/v1", "model": "m", **options}
    with pytest.raises(ConfigurationError):
        OpenAICompatLLM(**args)  # type: ignore[arg-type]


# -- the pure decisions -----------------------------------------------------------------------


def test_retryable_statuses() -> None:
    assert all(is_retryable_status(s) for s in (408, 429, 500, 502, 503, 504, 529))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))


def test_retry_delay() -> None:
    assert retry_delay(0, 0.5, 30.0, jitter=0.0) == 0.5
    assert retry_delay(3, 0.5, 30.0, jitter=0.0) == 4.0
    assert retry_delay(10, 0.5, 30.0, jitter=0.0) == 30.0
    assert retry_delay(0, 0.5, 30.0, jitter=1.0) == 0.375
    assert retry_delay(0, 0.5, 30.0, retry_after=7.0) == 7.0
    assert retry_delay(0, 0.5, 30.0, retry_after=600.0) == 30.0


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "1"}) == 0.25
    assert parse_retry_after({"Retry-After": "Mon, 01 Jan 2024 12:00:10 GMT"}, now) == 10.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_response_format_rejection_is_recognised() -> None:
    assert rejects_response_format(400, "response_format type 'json_schema' is not supported")
    assert rejects_response_format(400, "'response_format.type' must be 'json_schema' or 'text'")
    assert rejects_response_format(422, "json_object is not a valid value")
    assert not rejects_response_format(400, "context length exceeded")
    assert not rejects_response_format(500, "response_format")


def test_response_format_and_fallback_order() -> None:
    assert response_format("json_schema", None) is None
    assert response_format("none", SCHEMA) is None
    assert response_format("json_object", SCHEMA) == {"type": "json_object"}
    assert response_format("auto", {"title": "my schema!"}) is not None
    assert next_json_mode("json_schema") == "json_object"
    assert next_json_mode("json_object") == "none"
    assert next_json_mode("none") == "none"


def test_build_payload_keeps_only_role_and_content() -> None:
    payload = build_payload("m", [{"role": "user", "content": "x", "name": "ana"}])
    assert payload["messages"] == [{"role": "user", "content": "x"}]
    assert "max_tokens" not in payload and "response_format" not in payload
