"""A real OpenAI-compatible HTTP server on 127.0.0.1 that replays scripted answers.

Tests (ours and yours) point any OpenAI-compatible client at ``server.base_url`` and get
canned answers over real HTTP, with real faults: malformed JSON, slow answers, 429 with
``Retry-After``, 500, and servers that refuse a ``response_format``. Every request is recorded
for assertions. ``/embeddings`` answers with deterministic hashing vectors.

Which reply a chat request gets, first match wins:

1. the queue (``enqueue``), consumed in order;
2. a rule for the prompt named by the ``[prompt: NAME/VERSION]`` marker in the system message
   (``on_prompt("extract_facts")`` matches every version, ``on_prompt("extract_facts/1")`` one);
3. a rule for the sha256 of the last user message's content (``on_message`` / ``on_hash``);
4. ``default`` (a 404 error naming the prompt and hash when there is none).

A rule given several replies serves them in order and then repeats the last. A reply may also
be a function of the chat's messages that returns a ``Reply`` (an answer computed from the
prompt: one fact per message shown, say).

A reply may call tools (``Reply.tool_call``), so an agent loop runs against it: the agent gets
the call, runs its tool and sends the result back in its next request, where a test finds it
(``RecordedRequest.tool_results``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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

_MARKER = re.compile(r"\[prompt:\s*([A-Za-z0-9_.\-]+?)(?:(?:/|\s+v)([A-Za-z0-9_.\-]+))?\s*\]")
_TOKEN = re.compile(r"\w+", re.UNICODE)


#: A reply computed from the chat's messages.
Responder = Callable[[list[dict[str, Any]]], "Reply"]


def content_key(text: str) -> str:
    """The hash a reply is keyed by: sha256 of the last user message's content, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prompt_of(messages: Sequence[Mapping[str, Any]]) -> tuple[str, str | None] | None:
    """``(name, version)`` from the ``[prompt: …]`` marker of the system messages, if any."""
    for message in messages:
        if message.get("role") in ("system", "developer"):
            match = _MARKER.search(_text(message.get("content")))
            if match:
                return match.group(1), match.group(2)
    return None


def hashing_vector(text: str, dim: int = 64) -> list[float]:
    """A deterministic unit vector from the hashed words of ``text`` (signed feature hashing)."""
    vector = [0.0] * dim
    for token in _TOKEN.findall(text.lower()):
        digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dim
        vector[bucket] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return [v / norm for v in vector]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else json.dumps(content, sort_keys=True)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call the scripted assistant makes: a tool name and its JSON arguments."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None

    def to_wire(self, default_id: str) -> dict[str, Any]:
        return {
            "id": self.id or default_id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(dict(self.arguments))},
        }


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer: assistant text, or an HTTP error, or a raw body; maybe late.
    It may call tools (``tool_calls``), with or without text."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    #: Sent as the choice's ``finish_reason``; ``None`` leaves the field out, as some
    #: servers do.
    finish_reason: str | None = "stop"
    tool_calls: tuple[ToolCall, ...] = ()

    @classmethod
    def text(cls, content: str, *, delay: float = 0.0) -> Reply:
        return cls(content=content, delay=delay)

    @classmethod
    def json(cls, value: Any, *, delay: float = 0.0) -> Reply:
        """Assistant text that is ``value`` as JSON."""
        return cls(content=json.dumps(value), delay=delay)

    @classmethod
    def tool_call(
        cls, name: str, arguments: Mapping[str, Any] | None = None, *, id: str | None = None
    ) -> Reply:
        """The assistant calls one tool (``finish_reason`` ``tool_calls``, no text)."""
        return cls.calling(ToolCall(name, dict(arguments or {}), id))

    @classmethod
    def calling(cls, *calls: ToolCall, content: str | None = None) -> Reply:
        """The assistant calls these tools, in one turn, maybe saying ``content`` too."""
        if not calls:
            raise ValueError("give at least one tool call")
        return cls(content=content, tool_calls=calls, finish_reason="tool_calls")

    @classmethod
    def malformed(cls, content: str = '{"facts": [{"text": "unfinished",') -> Reply:
        """Assistant text that is broken JSON. The default is a fragment that stops inside a
        fact, which a client must not take for one."""
        return cls(content=content)

    @classmethod
    def truncated(cls, content: str = '{"facts": [{"text": "cut off') -> Reply:
        """Assistant text that stopped at the output limit (``finish_reason`` ``length``)."""
        return cls(content=content, finish_reason="length")

    @classmethod
    def slow(cls, content: str, delay: float) -> Reply:
        return cls(content=content, delay=delay)

    @classmethod
    def error(cls, status: int, message: str, *, retry_after: float | None = None) -> Reply:
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        body = json.dumps({"error": {"message": message, "type": "scripted", "code": status}})
        return cls(status=status, body=body, headers=headers)

    @classmethod
    def rate_limited(cls, retry_after: float = 1.0) -> Reply:
        return cls.error(429, "rate limit reached (scripted)", retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        return cls.error(status, "internal server error (scripted)")

    @classmethod
    def raw(cls, body: str, status: int = 200) -> Reply:
        """An HTTP body sent as is (to test clients against broken servers)."""
        return cls(status=status, body=body)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    prompt: str | None = None
    prompt_version: str | None = None
    key: str | None = None
    reply: Reply | None = None
    at: float = 0.0

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return list(messages) if isinstance(messages, list) else []

    @property
    def response_format(self) -> str | None:
        fmt = self.body.get("response_format") if isinstance(self.body, dict) else None
        return fmt.get("type") if isinstance(fmt, dict) else None

    @property
    def last_user(self) -> str | None:
        for message in reversed(self.messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return _text(message.get("content"))
        return None

    @property
    def images(self) -> list[str]:
        """The URL of every image content part the request's messages carry, in order (an
        ``image_url`` part, or the Responses API's ``input_image``)."""
        urls: list[str] = []
        for message in self.messages:
            content = message.get("content") if isinstance(message, dict) else None
            for part in content if isinstance(content, list) else ():
                if not isinstance(part, dict) or part.get("type") not in (
                    "image_url",
                    "input_image",
                ):
                    continue
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else image
                if isinstance(url, str):
                    urls.append(url)
        return urls

    @property
    def tool_names(self) -> list[str]:
        """The names of the function tools the request offered the model."""
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        names = []
        for tool in tools if isinstance(tools, list) else ():
            function = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                names.append(function["name"])
        return names

    @property
    def tool_results(self) -> list[str]:
        """The text of every tool result the request carries (``role: tool`` messages), in
        order: what the agent's tools answered to the calls of earlier replies."""
        return [_text(m.get("content")) for m in self.messages if m.get("role") == "tool"]


class ScriptedLLMServer:
    """An OpenAI-compatible server for tests; use it as a context manager.

    ``supported_formats`` lists the ``response_format`` types it accepts (others get a 400
    naming ``response_format``, like servers that lack structured output). ``model`` is what
    ``/models`` lists; any model name is accepted in requests.
    """

    def __init__(
        self,
        *,
        default: Reply | Responder | None = None,
        supported_formats: Collection[str] = ("json_schema", "json_object", "text"),
        embedding_dim: int = 64,
        model: str = "scripted",
    ) -> None:
        self.default = default
        self.supported_formats = frozenset(supported_formats)
        self.embedding_dim = embedding_dim
        self.model = model
        self._lock = threading.Lock()
        self._queue: deque[Reply | Responder] = deque()
        self._by_prompt: dict[str, deque[Reply | Responder]] = {}
        self._by_key: dict[str, deque[Reply | Responder]] = {}
        self._requests: list[RecordedRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply | Responder) -> ScriptedLLMServer:
        """Replies served, in order, before any rule is consulted."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def on_prompt(self, prompt: str, *replies: Reply | Responder) -> ScriptedLLMServer:
        """Answer chats whose system message names ``prompt`` (``NAME`` or ``NAME/VERSION``)."""
        return self._rule(self._by_prompt, prompt, replies)

    def on_message(self, text: str, *replies: Reply | Responder) -> ScriptedLLMServer:
        """Answer chats whose last user message is exactly ``text``."""
        return self._rule(self._by_key, content_key(text), replies)

    def on_hash(self, key: str, *replies: Reply | Responder) -> ScriptedLLMServer:
        """Answer chats whose last user message has sha256 ``key`` (see ``content_key``)."""
        return self._rule(self._by_key, key, replies)

    def _rule(
        self,
        table: dict[str, deque[Reply | Responder]],
        key: str,
        replies: Iterable[Reply | Responder],
    ) -> ScriptedLLMServer:
        queue = deque(replies)
        if not queue:
            raise ValueError("give at least one reply")
        with self._lock:
            table[key] = queue
        return self

    def clear(self) -> None:
        """Forget every rule, queued reply and recorded request."""
        with self._lock:
            self._queue.clear()
            self._by_prompt.clear()
            self._by_key.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # -- life cycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the scripted server is not running: use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> ScriptedLLMServer:
        if self._httpd is not None:
            return self
        handler = type("Handler", (_Handler,), {"scripted": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- answering ------------------------------------------------------------------------------

    def _choose(
        self, prompt: tuple[str, str | None] | None, key: str | None
    ) -> Reply | Responder | None:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            tables: list[tuple[dict[str, deque[Reply | Responder]], str]] = []
            if prompt is not None:
                name, version = prompt
                if version:
                    tables.append((self._by_prompt, f"{name}/{version}"))
                tables.append((self._by_prompt, name))
            if key is not None:
                tables.append((self._by_key, key))
            for table, name in tables:
                replies = table.get(name)
                if replies:
                    return replies.popleft() if len(replies) > 1 else replies[0]
            return self.default

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def chat(self, headers: Mapping[str, str], body: Any) -> tuple[int, dict[str, str], str]:
        """Answer one ``/chat/completions`` request: (status, headers, body)."""
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return _error(400, "messages must be a list of objects")
        prompt = prompt_of(messages)
        users = [m for m in messages if m.get("role") == "user"]
        key = content_key(_text(users[-1].get("content"))) if users else None
        fmt = body.get("response_format")
        fmt_type = fmt.get("type") if isinstance(fmt, dict) else None
        if fmt_type is not None and fmt_type not in self.supported_formats:
            reply: Reply | None = Reply.error(
                400, f"response_format type {fmt_type!r} is not supported by this server"
            )
        else:
            chosen = self._choose(prompt, key)
            reply = chosen(list(messages)) if callable(chosen) else chosen
        self._record(
            RecordedRequest(
                method="POST",
                path="/v1/chat/completions",
                headers=headers,
                body=body,
                prompt=prompt[0] if prompt else None,
                prompt_version=prompt[1] if prompt else None,
                key=key,
                reply=reply,
                at=time.time(),
            )
        )
        if reply is None:
            named = f"{prompt[0]}/{prompt[1]}" if prompt and prompt[1] else (prompt or ("-",))[0]
            return _error(404, f"no scripted reply for prompt {named} or message hash {key}")
        if reply.delay > 0:
            time.sleep(reply.delay)
        if reply.body is not None or reply.status != 200:
            return reply.status, dict(reply.headers), reply.body or ""
        content = reply.content or ""
        prompt_chars = sum(len(_text(m.get("content"))) for m in messages)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if reply.tool_calls:
            message["content"] = reply.content
            turn = len(self.requests)
            message["tool_calls"] = [
                call.to_wire(f"call_{turn}_{i}") for i, call in enumerate(reply.tool_calls)
            ]
        answer = {
            "id": f"chatcmpl-scripted-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model") or self.model),
            "choices": [_choice(message, reply.finish_reason)],
            "usage": _usage(
                reply.prompt_tokens if reply.prompt_tokens is not None else prompt_chars // 4 + 1,
                reply.completion_tokens
                if reply.completion_tokens is not None
                else len(content) // 4 + 1,
            ),
        }
        return 200, dict(reply.headers), json.dumps(answer)

    def embeddings(self, headers: Mapping[str, str], body: Any) -> tuple[int, dict[str, str], str]:
        """Answer one ``/embeddings`` request with hashing vectors."""
        raw = body.get("input") if isinstance(body, dict) else None
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return _error(400, "input must be a string or a list of strings")
        dim = body.get("dimensions") or self.embedding_dim
        self._record(RecordedRequest("POST", "/v1/embeddings", headers, body, at=time.time()))
        data = [
            {"object": "embedding", "index": i, "embedding": hashing_vector(t, int(dim))}
            for i, t in enumerate(texts)
        ]
        tokens = sum(len(_TOKEN.findall(t)) for t in texts)
        answer = {
            "object": "list",
            "data": data,
            "model": str(body.get("model") or self.model),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return 200, {}, json.dumps(answer)

    def models(self) -> tuple[int, dict[str, str], str]:
        answer = {"object": "list", "data": [{"id": self.model, "object": "model"}]}
        return 200, {}, json.dumps(answer)


def _choice(message: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "message": message}
    if finish_reason is not None:
        choice["finish_reason"] = finish_reason
    return choice


def facts_per_message(fits: int | None = None) -> Responder:
    """A reply for the ``extract_facts`` prompt: one fact per new message shown
    (``"<speaker> said: <text>"``, about the speaker, citing the message). With ``fits``, the
    answer for more messages than that stops halfway at the output limit (``finish_reason``
    ``length``), as a model's does when its limit is too small for the batch."""

    def reply(messages: list[dict[str, Any]]) -> Reply:
        users = [m for m in messages if m.get("role") == "user"]
        task = _text(users[0].get("content")) if users else ""
        shown = [
            json.loads(line)
            for line in task.split("NEW MESSAGES\n", 1)[-1].splitlines()
            if line.startswith("{")
        ]
        facts = [
            {"text": f"{m['speaker']} said: {m['text']}", "subject": m["speaker"],
             "sources": [m["id"]], "entities": [m["speaker"]]}
            for m in shown
        ]  # fmt: skip
        answer = json.dumps({"facts": facts})
        if fits is not None and len(shown) > fits:
            return Reply.truncated(answer[: len(answer) // 2])
        return Reply.text(answer)

    return reply


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _error(status: int, message: str) -> tuple[int, dict[str, str], str]:
    return status, {}, json.dumps({"error": {"message": message, "code": status}})


class _Handler(BaseHTTPRequestHandler):
    scripted: ScriptedLLMServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection's thread ends after this

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send(*self.scripted.models())
        else:
            self._send(*_error(404, f"no such path: {self.path}"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._send(*_error(400, "the request body is not JSON"))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.endswith("/chat/completions"):
            self._send(*self.scripted.chat(headers, body))
        elif path.endswith("/embeddings"):
            self._send(*self.scripted.embeddings(headers, body))
        else:
            self._send(*_error(404, f"no such path: {self.path}"))

    def _send(self, status: int, headers: Mapping[str, str], body: str) -> None:
        data = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test)
