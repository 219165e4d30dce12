"""Messages whose content is a list of parts (OpenAI Chat Completions and Responses API
shapes), through the library: a real SQLite file, the hashing embedder, and the scripted
OpenAI-compatible server for a model that sees images."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp_helpers import error_text, run, session, structured

from memstrata import AsyncMemory, InvalidInputError, Memory, RemoteMemory
from memstrata.llms import OpenAICompatLLM
from memstrata.server.rest import create_app
from memstrata.server.runner import running
from memstrata.testing import Reply, ScriptedLLMServer

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8).decode()
DATA_URL = f"data:image/png;base64,{PNG}"


def image(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, "detail": "low"}, **extra}


def text(value: str) -> dict[str, str]:
    return {"type": "text", "text": value}


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as scripted:
        yield scripted


def test_text_and_image_parts_become_text_with_a_photo_and_its_reference(mem: Memory) -> None:
    message = {
        "role": "user",
        "content": [
            text("Look where we went on Saturday!"),
            image("https://example.org/pics/IMG_2041.jpg", alt="a lighthouse on a cliff"),
        ],
    }
    added = mem.add(message, user_id="ana").added
    assert [r.text for r in added] == [
        "Look where we went on Saturday! [photo: a lighthouse on a cliff]"
    ]
    assert added[0].metadata["attachments"] == [
        {
            "type": "image",
            "ref": "https://example.org/pics/IMG_2041.jpg",
            "caption": "a lighthouse on a cliff",
            "caption_source": "caller",
            "detail": "low",
        }
    ]
    hits = mem.search("lighthouse", user_id="ana")
    assert hits and hits[0].id == added[0].id
    (stored,) = mem.sources(added[0].id, user_id="ana")
    assert stored.text == added[0].text


def test_a_data_url_is_kept_as_a_short_reference_never_its_bytes(mem: Memory) -> None:
    added = mem.add({"content": [image(DATA_URL, caption="my new bike")]}, user_id="ana").added
    record = added[0]
    assert record.text == "[photo: my new bike]"
    ref = record.metadata["attachments"][0]["ref"]
    assert ref.startswith("data:image/png;bytes=2056;sha256=") and len(ref) < 80
    assert PNG[:40] not in str(mem.get(record.id, user_id="ana").to_dict())


def test_an_image_nobody_described_is_named_by_its_file(mem: Memory) -> None:
    first = mem.add({"content": [image("https://x.test/a/beach%20day.png")]}, user_id="u")
    second = mem.add({"content": [text("hi"), image(DATA_URL)]}, user_id="u")
    assert first.added[0].text == "[photo: beach day.png]"
    assert second.added[0].text == "hi [photo: image]"
    assert second.added[0].metadata["attachments"][0]["caption_source"] == "none"


def test_responses_api_part_names_and_audio_transcripts(mem: Memory) -> None:
    added = mem.add(
        [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Here is the cake."},
                    {"type": "input_image", "image_url": DATA_URL, "name": "chocolate cake"},
                ],
            },
            {
                "content": [
                    {
                        "type": "input_audio",
                        "input_audio": {"data": "UklGRg==", "format": "wav"},
                        "transcript": "I baked it for Maria's birthday.",
                    }
                ]
            },
        ],
        user_id="ana",
    ).added
    assert [r.text for r in added] == [
        "Here is the cake. [photo: chocolate cake]",
        "I baked it for Maria's birthday.",
    ]
    assert added[1].metadata["attachments"] == [
        {"type": "audio", "format": "wav", "transcribed": True}
    ]


def test_a_blank_part_transcript_falls_back_to_the_audio_objects_own(mem: Memory) -> None:
    part = {
        "type": "input_audio",
        "input_audio": {"data": "", "transcript": "We moved to Lyon."},
        "transcript": " ",
    }
    added = mem.add([{"role": "user", "content": [part]}], user_id="ana").added
    assert [r.text for r in added] == ["We moved to Lyon."]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ([{"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}],
         "transcript"),
        ([{"type": "video_url", "video_url": {"url": "https://x.test/v.mp4"}}], "video_url"),
        ([{"type": "image_url", "image_url": {}}], "image_url"),
        ([{"type": "text", "text": 3}], "text must be a string"),
        ([], "empty list"),
        (["   "], "empty"),
    ],
)  # fmt: skip
def test_bad_parts_are_refused_and_nothing_is_written(
    mem: Memory, content: list[Any], words: str
) -> None:
    good = {"id": "m1", "content": "I like tea."}
    with pytest.raises(InvalidInputError, match=words):
        mem.add([good, {"content": content}], user_id="ana")
    assert mem.list(user_id="ana").records == ()


def test_attachments_in_the_callers_metadata_are_refused(mem: Memory) -> None:
    with pytest.raises(InvalidInputError, match="attachments"):
        mem.add({"content": [image(DATA_URL)], "metadata": {"attachments": []}}, user_id="ana")


def test_a_model_that_sees_images_captions_them(db_path: Path, server: ScriptedLLMServer) -> None:
    server.on_prompt("caption_image", Reply.json({"caption": "A golden retriever [dog] on sand"}))
    llm = OpenAICompatLLM(server.base_url, model="scripted", vision=True, max_retries=0)
    with Memory(db_path, embedder="hashing", llm=llm) as mem:
        added = mem.add(
            {"content": [text("Meet Rex!"), image(DATA_URL, alt="my dog")]}, user_id="ana"
        ).added
    (request,) = server.chat_requests
    assert request.prompt == "caption_image"
    assert request.images == [DATA_URL]  # the model saw the image itself
    assert "my dog" in (request.last_user or "") and "Meet Rex!" in (request.last_user or "")
    assert added[0].text == "Meet Rex! [photo: A golden retriever (dog) on sand]"
    attachment = added[0].metadata["attachments"][0]
    assert attachment["caption_source"] == "model" and attachment["alt"] == "my dog"
    assert PNG[:40] not in added[0].text


def test_a_failing_vision_model_leaves_the_callers_caption(
    db_path: Path, server: ScriptedLLMServer
) -> None:
    server.on_prompt("caption_image", Reply.error(400, "this model does not take images"))
    llm = OpenAICompatLLM(server.base_url, model="scripted", vision=True, max_retries=0)
    with Memory(db_path, embedder="hashing", llm=llm) as mem:
        added = mem.add({"content": [image(DATA_URL, alt="my dog")]}, user_id="ana").added
    assert len(server.chat_requests) == 1
    assert added[0].text == "[photo: my dog]"


def test_a_model_that_does_not_see_images_is_not_asked(
    db_path: Path, server: ScriptedLLMServer
) -> None:
    llm = OpenAICompatLLM(server.base_url, model="scripted", max_retries=0)
    with Memory(db_path, embedder="hashing", llm=llm) as mem:
        added = mem.add({"content": [image(DATA_URL, alt="my dog")]}, user_id="ana").added
    assert server.chat_requests == []
    assert added[0].text == "[photo: my dog]"


def test_async_memory_takes_parts_too(db_path: Path) -> None:
    async def run() -> list[str]:
        async with AsyncMemory(db_path, embedder="hashing") as mem:
            result = await mem.add(
                {"content": [text("New glasses"), image(DATA_URL, alt="round frames")]},
                user_id="ana",
            )
            return [r.text for r in result.added]

    assert asyncio.run(run()) == ["New glasses [photo: round frames]"]


# -- the other faces ----------------------------------------------------------------------------

PARTS_MESSAGE = {
    "role": "user",
    "name": "Ana",
    "content": [
        {"type": "text", "text": "Our new flat!"},
        {"type": "image_url", "image_url": {"url": DATA_URL, "detail": "low"},
         "alt": "a bright living room"},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"},
         "transcript": "It has a balcony."},
    ],
}  # fmt: skip
PARTS_TEXT = "Our new flat! [photo: a bright living room] It has a balcony."


def test_rest_takes_messages_with_parts(db_path: Path) -> None:
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        response = http.post("/v1/memories", json={"user_id": "ana", "messages": [PARTS_MESSAGE]})
        assert response.status_code == 201, response.text
        (added,) = response.json()["added"]
        assert added["text"] == PARTS_TEXT
        assert added["metadata"]["attachments"][0]["ref"].startswith("data:image/png;bytes=")
        bad = {"content": [{"type": "input_audio", "input_audio": {"data": "UklGRg=="}}]}
        refused = http.post("/v1/memories", json={"user_id": "ana", "messages": [bad]})
        assert refused.status_code == 422, refused.text
        assert "transcript" in refused.json()["error"]["message"]
        unknown = {"content": [{"type": "video_url", "video_url": {"url": "https://x.test/v"}}]}
        refused = http.post("/v1/memories", json={"user_id": "ana", "messages": [unknown]})
        assert 400 <= refused.status_code < 500, refused.text
        listed = http.get("/v1/memories", params={"user_id": "ana"}).json()
        assert [m["text"] for m in listed["memories"]] == [PARTS_TEXT]


def test_the_rest_schema_describes_content_parts() -> None:
    schema = create_app(":memory:", embedder="hashing").openapi()
    parts = schema["components"]["schemas"]["MessageIn"]["properties"]["content"]
    assert "array" in json.dumps(parts) and "image_url" in json.dumps(schema)


def test_mcp_add_messages_takes_parts(db_path: Path) -> None:
    async def go() -> dict[str, Any]:
        async with session("http", db_path, {}) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert "add_messages" in tools
            result: dict[str, Any] = structured(
                await client.call_tool(
                    "add_messages", {"messages": [PARTS_MESSAGE], "user_id": "ana"}
                )
            )
            bad = await client.call_tool(
                "add_messages",
                {"messages": [{"content": [{"type": "text", "text": " "}]}], "user_id": "ana"},
            )
            assert "empty" in error_text(bad)
            return result

    added = run(go)["added"]
    assert [m["text"] for m in added] == [PARTS_TEXT]


def test_cli_add_reads_a_json_messages_file(tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text(json.dumps([PARTS_MESSAGE, {"role": "assistant", "content": "Lovely!"}]))
    env = {**os.environ, "MEMSTRATA_DB": str(db_path), "MEMSTRATA_EMBEDDER": "hashing"}
    command = [sys.executable, "-m", "memstrata.cli", "add", "--user", "ana", "--json"]
    done = subprocess.run(
        [*command, "--file", str(path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert [m["text"] for m in json.loads(done.stdout)["added"]] == [PARTS_TEXT, "Lovely!"]
    lines = '{"content": [{"type": "input_text", "text": "From stdin"}]}\n'
    done = subprocess.run(
        [*command, "--file", "-"], input=lines, capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    path.write_text('[{"content": [{"type": "input_audio", "input_audio": {"data": ""}}]}]')
    done = subprocess.run(
        [*command, "--file", str(path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 2 and "transcript" in done.stderr
    with Memory(db_path, embedder="hashing") as mem:
        assert len(mem.list(user_id="ana").records) == 3


def test_remote_memory_sends_parts_to_the_server(db_path: Path) -> None:
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, RemoteMemory(url) as remote:
        added = remote.add(PARTS_MESSAGE, user_id="ana").added
        assert [r.text for r in added] == [PARTS_TEXT]
        with pytest.raises(InvalidInputError, match="transcript"):
            remote.add({"content": [{"type": "input_audio", "input_audio": {"data": ""}}]},
                       user_id="ana")  # fmt: skip


def test_a_model_caption_that_would_overflow_the_text_is_not_taken(
    db_path: Path, server: ScriptedLLMServer
) -> None:
    server.on_prompt("caption_image", Reply.json({"caption": "a very long description " * 12}))
    llm = OpenAICompatLLM(server.base_url, model="scripted", vision=True, max_retries=0)
    long = "x" * (32_000 - len(" [photo: dog]"))
    with Memory(db_path, embedder="hashing", llm=llm) as mem:
        added = mem.add({"content": [text(long), image(DATA_URL, alt="dog")]}, user_id="a").added
    assert len(server.chat_requests) == 1
    assert added[0].text == f"{long} [photo: dog]"
