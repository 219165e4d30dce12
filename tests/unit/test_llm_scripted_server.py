"""The scripted OpenAI-compatible server itself, spoken to with plain httpx."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import httpx
import pytest

from memstrata.testing import Reply, ScriptedLLMServer, ToolCall, content_key, hashing_vector
from memstrata.testing.scripted_llm import prompt_of


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as scripted:
        yield scripted


def chat(server: ScriptedLLMServer, system: str, user: str, **extra: object) -> httpx.Response:
    body = {
        "model": "m",
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        **extra,
    }
    return httpx.post(server.base_url + "/chat/completions", json=body, timeout=5)


def answer(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    content = response.json()["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    return content


def test_queue_comes_first_and_in_order(server: ScriptedLLMServer) -> None:
    server.on_prompt("p", Reply.text("rule"))
    server.enqueue(Reply.text("first"), Reply.text("second"))
    got = [answer(chat(server, "[prompt: p/1]", "x")) for _ in range(3)]
    assert got == ["first", "second", "rule"]


def test_prompt_rules_by_name_and_version(server: ScriptedLLMServer) -> None:
    server.on_prompt("extract_facts", Reply.text("any version"))
    server.on_prompt("extract_facts/2", Reply.text("version 2"))
    assert answer(chat(server, "[prompt: extract_facts/1]\nRules", "x")) == "any version"
    assert answer(chat(server, "Rules\n[prompt: extract_facts v2]", "x")) == "version 2"


def test_rules_serve_in_order_then_repeat_the_last(server: ScriptedLLMServer) -> None:
    server.on_prompt("p", Reply.text("a"), Reply.text("b"))
    assert [answer(chat(server, "[prompt: p]", "x")) for _ in range(4)] == ["a", "b", "b", "b"]


def test_message_hash_rules(server: ScriptedLLMServer) -> None:
    server.on_message("What is 2+2?", Reply.text("4"))
    server.on_hash(content_key("Capital of France?"), Reply.text("Paris"))
    assert answer(chat(server, "sys", "What is 2+2?")) == "4"
    assert answer(chat(server, "sys", "Capital of France?")) == "Paris"
    assert server.requests[0].key == content_key("What is 2+2?")


def test_unmatched_requests_get_a_clear_404_or_the_default() -> None:
    with ScriptedLLMServer() as server:
        response = chat(server, "[prompt: p/3]", "hello")
        assert response.status_code == 404
        assert "p/3" in response.text and content_key("hello") in response.text
    with ScriptedLLMServer(default=Reply.text("fallback")) as server:
        assert answer(chat(server, "sys", "hello")) == "fallback"


def test_faults(server: ScriptedLLMServer) -> None:
    server.enqueue(
        Reply.rate_limited(retry_after=2),
        Reply.server_error(),
        Reply.malformed(),
        Reply.raw("not json"),
    )
    limited = chat(server, "s", "u")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert chat(server, "s", "u").status_code == 500
    assert answer(chat(server, "s", "u")).startswith('{"facts": [{"text": "unfinished",')
    assert chat(server, "s", "u").text == "not json"


def test_finish_reason_is_sent_as_scripted_or_left_out(server: ScriptedLLMServer) -> None:
    server.enqueue(
        Reply.text("done"), Reply.truncated('{"facts": ['), Reply(content="x", finish_reason=None)
    )
    choices = [chat(server, "s", "u").json()["choices"][0] for _ in range(3)]
    assert [c.get("finish_reason", "left out") for c in choices] == ["stop", "length", "left out"]
    assert choices[1]["message"]["content"] == '{"facts": ['


def test_a_reply_can_be_computed_from_the_chat(server: ScriptedLLMServer) -> None:
    server.on_prompt("p", lambda messages: Reply.text(messages[-1]["content"].upper()))
    assert answer(chat(server, "[prompt: p/1]", "shout")) == "SHOUT"
    assert server.requests[0].reply == Reply.text("SHOUT")


def test_slow_reply_is_late(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.slow("late", delay=0.5))
    body = {"messages": [{"role": "user", "content": "u"}]}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.base_url + "/chat/completions", json=body, timeout=0.1)


def test_unsupported_response_format_is_refused() -> None:
    with ScriptedLLMServer(supported_formats=("json_object",), default=Reply.text("{}")) as server:
        refused = chat(server, "s", "u", response_format={"type": "json_schema"})
        assert refused.status_code == 400 and "response_format" in refused.text
        assert answer(chat(server, "s", "u", response_format={"type": "json_object"})) == "{}"


def test_usage_is_reported(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply(content="abcdefgh"), Reply(content="x", prompt_tokens=5))
    first = chat(server, "s", "u").json()["usage"]
    assert first["completion_tokens"] == 3 and first["total_tokens"] > 3
    assert chat(server, "s", "u").json()["usage"]["prompt_tokens"] == 5


def test_requests_are_recorded_and_cleared(server: ScriptedLLMServer) -> None:
    server.enqueue(Reply.text("ok"))
    chat(server, "[prompt: p/1]", "hello", temperature=0.3)
    (request,) = server.chat_requests
    assert request.prompt == "p" and request.prompt_version == "1"
    assert request.last_user == "hello"
    assert request.body["temperature"] == 0.3
    assert request.reply == Reply.text("ok")
    server.clear()
    assert server.requests == []


def test_embeddings_are_deterministic_unit_vectors(server: ScriptedLLMServer) -> None:
    url = server.base_url + "/embeddings"
    one = httpx.post(url, json={"input": ["hello world", "hello"], "model": "e"}).json()
    two = httpx.post(url, json={"input": "hello world"}).json()
    first = one["data"][0]["embedding"]
    assert first == two["data"][0]["embedding"]
    assert len(first) == 64 and math.isclose(sum(v * v for v in first), 1.0)
    assert one["data"][1]["index"] == 1
    assert (
        len(httpx.post(url, json={"input": "x", "dimensions": 8}).json()["data"][0]["embedding"])
        == 8
    )
    assert httpx.post(url, json={"input": [1, 2]}).status_code == 400


def test_hashing_vector_similarity() -> None:
    a, b, c = (hashing_vector(t) for t in ("red apple pie", "red apple", "quantum physics"))
    assert sum(x * y for x, y in zip(a, b, strict=True)) > sum(
        x * y for x, y in zip(a, c, strict=True)
    )
    assert math.isclose(sum(v * v for v in hashing_vector("")), 1.0)


def test_models_and_bad_paths(server: ScriptedLLMServer) -> None:
    models = httpx.get(server.base_url + "/models").json()
    assert models["data"][0]["id"] == "scripted"
    assert httpx.post(server.base_url + "/nope", json={}).status_code == 404
    bad = httpx.post(server.base_url + "/chat/completions", content=b"{not json")
    assert bad.status_code == 400


def test_base_url_needs_a_running_server() -> None:
    server = ScriptedLLMServer()
    with pytest.raises(RuntimeError, match="context manager"):
        _ = server.base_url
    with server:
        assert server.base_url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_prompt_marker_parsing() -> None:
    assert prompt_of([{"role": "system", "content": "[prompt: a_b/12]"}]) == ("a_b", "12")
    assert prompt_of([{"role": "system", "content": "x [prompt: a v3] y"}]) == ("a", "3")
    assert prompt_of([{"role": "system", "content": "[prompt: plain]"}]) == ("plain", None)
    assert prompt_of([{"role": "user", "content": "[prompt: a/1]"}]) is None


def test_a_reply_calls_tools_and_the_next_request_carries_their_results(
    server: ScriptedLLMServer,
) -> None:
    server.enqueue(Reply.tool_call("search_memories", {"query": "Lisbon"}), Reply.text("Lisbon."))
    tools = [{"type": "function", "function": {"name": "search_memories", "parameters": {}}}]
    first = chat(server, "sys", "Where does Ada live?", tools=tools)
    assert first.status_code == 200, first.text
    choice = first.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "search_memories"
    assert json.loads(call["function"]["arguments"]) == {"query": "Lisbon"}
    messages = [
        {"role": "user", "content": "Where does Ada live?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "Ada moved to Lisbon"},
    ]
    body = {"model": "m", "messages": messages}
    second = httpx.post(server.base_url + "/chat/completions", json=body, timeout=5)
    assert answer(second) == "Lisbon."
    recorded = server.chat_requests
    assert recorded[0].tool_names == ["search_memories"]
    assert recorded[0].tool_results == []
    assert recorded[1].tool_results == ["Ada moved to Lisbon"]


def test_several_tool_calls_in_one_turn_have_distinct_ids(server: ScriptedLLMServer) -> None:
    server.enqueue(
        Reply.calling(ToolCall("a", {"x": 1}), ToolCall("b"), content="Looking."),
        Reply.tool_call("a", id="mine"),
    )
    first = chat(server, "sys", "go").json()["choices"][0]["message"]
    second = chat(server, "sys", "go").json()["choices"][0]["message"]
    assert first["content"] == "Looking."
    ids = [c["id"] for c in first["tool_calls"]] + [c["id"] for c in second["tool_calls"]]
    assert ids[-1] == "mine"
    assert len(set(ids)) == 3
    with pytest.raises(ValueError):
        Reply.calling()
