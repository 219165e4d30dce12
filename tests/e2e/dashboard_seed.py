"""A seeded store and a real ``memstrata serve`` for the dashboard: shared by the end-to-end
tests (``tests/e2e``) and by ``scripts/dashboard_screenshots.py``, so the screenshots in the
docs show the store the tests check.

Tenant ``acme`` holds the sample conversation that ``memstrata demo`` uses (three sessions of
Ada and her assistant), run through the LLM write path with the scripted OpenAI-compatible
server: each message is an episode, and the facts drawn from it carry sources, event times,
entities, relations and links, each written at the time of its session (a fixed clock), so
event time and record time differ. Tenant ``globex`` holds memories of a user with the same
id, ``demo-ada``, that ``acme`` must never see.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from memstrata import Memory
from memstrata.llms import OpenAICompatLLM
from memstrata.ports import FixedClock
from memstrata.server.auth import create_key
from memstrata.stores import open_store
from memstrata.testing import Reply, ScriptedLLMServer
from memstrata.write.pipeline import PipelineConfig

USER = "demo-ada"
#: Facts the scripted model draws from each session of the sample conversation, in order.
FACTS: list[list[dict[str, Any]]] = [
    [
        {"text": "Ada signed the lease on a flat in Lisbon; she moves there in May 2026.",
         "subject": "Ada", "sources": ["s1:1"], "valid_from": "2026-05-01", "importance": 0.8,
         "entities": ["Ada", "Lisbon"], "relations": [["Ada", "moves_to", "Lisbon"]],
         "keywords": ["flat", "lease", "move"]},
        {"text": "Ada's flat is in Alfama, near the castle.", "subject": "Ada",
         "sources": ["s1:3"], "entities": ["Ada", "Alfama", "Lisbon"],
         "relations": [["Alfama", "part_of", "Lisbon"]], "keywords": ["flat", "home"]},
        {"text": "Ada's sister Maria lives two streets away from Ada's flat in Alfama.",
         "subject": "Maria", "sources": ["s1:3"], "entities": ["Maria", "Ada", "Alfama"],
         "relations": [["Maria", "sister_of", "Ada"], ["Maria", "lives_in", "Alfama"]],
         "keywords": ["sister", "family"]},
        {"text": "Ada is allergic to peanuts.", "subject": "Ada", "sources": ["s1:4"],
         "importance": 0.95, "entities": ["Ada", "peanuts"],
         "relations": [["Ada", "allergic_to", "peanuts"]], "keywords": ["allergy", "food"]},
    ],
    [
        {"text": "Ada learns Portuguese with a tutor called Joana every Tuesday evening.",
         "subject": "Ada", "sources": ["s2:1"], "valid_from": "2026-04-18",
         "entities": ["Ada", "Joana", "Portuguese"],
         "relations": [["Joana", "teaches", "Ada"], ["Ada", "learns", "Portuguese"]],
         "keywords": ["tutor", "lessons", "language"]},
        {"text": "Ada adopted a grey cat called Pixel.", "subject": "Ada", "sources": ["s2:2"],
         "valid_from": "2026-04-17", "importance": 0.7, "entities": ["Ada", "Pixel"],
         "relations": [["Ada", "has_pet", "Pixel"]], "keywords": ["cat", "pet"]},
        {"text": "Pixel hides under the sofa all day and purrs at night.", "subject": "Pixel",
         "sources": ["s2:4"], "entities": ["Pixel"], "keywords": ["cat", "behaviour"]},
        {"text": "Ada builds a tide-prediction model for the Tagus estuary, due at the end of "
         "June 2026.", "subject": "Ada", "sources": ["s2:5"], "valid_to": "2026-06-30",
         "entities": ["Ada", "Tagus estuary"], "relations": [["Ada", "works_on", "Tagus estuary"]],
         "keywords": ["work", "project", "deadline"]},
    ],
    [
        {"text": "Ada has lived in Lisbon since May 2026 and loves the trams.", "subject": "Ada",
         "sources": ["s3:1"], "valid_from": "2026-05-19", "importance": 0.8,
         "entities": ["Ada", "Lisbon"], "relations": [["Ada", "lives_in", "Lisbon"]],
         "keywords": ["home", "trams"]},
        {"text": "Ada and Maria plan a hiking trip to the Azores in September 2026.",
         "subject": "Ada", "sources": ["s3:2", "s3:4"], "valid_from": "2026-09-01",
         "entities": ["Ada", "Maria", "Azores"], "relations": [["Ada", "travels_to", "Azores"]],
         "keywords": ["trip", "hiking", "crater lakes"]},
        {"text": "Ada runs 10 km every Sunday.", "subject": "Ada", "sources": ["s3:4"],
         "entities": ["Ada"], "keywords": ["running", "fitness"]},
        {"text": "Ada's Portuguese is improving: she can order coffee without switching to "
         "English.", "subject": "Ada", "sources": ["s3:5"],
         "entities": ["Ada", "Portuguese", "Joana"], "keywords": ["language", "progress"]},
    ],
]  # fmt: skip
#: What tenant ``globex`` knows about its own ``demo-ada``.
GLOBEX = [
    {"id": "g1", "speaker": "Ada", "text": "The Globex launch code is tangerine-42."},
    {"id": "g2", "speaker": "Ada", "text": "I moved to Oslo for the Globex office."},
]


@dataclass(frozen=True, slots=True)
class Seeded:
    db: Path
    keys: dict[str, str]  # tenant -> API key secret


def sample() -> dict[str, Any]:
    text = resources.files("memstrata").joinpath("data/sample_conversation.json")
    data: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return data


def seed(db: Path) -> Seeded:
    """Write the two tenants' memories into a new store at ``db`` and create a key for each."""
    sessions = sample()["sessions"]
    with ScriptedLLMServer() as server:
        server.on_prompt("extract_facts", *(Reply.json({"facts": f}) for f in FACTS))
        server.on_prompt(
            "consolidate", Reply.json({"decision": "ADD", "id": None, "new_text": None,
                                       "reason": "a new fact"})
        )  # fmt: skip
        clock = FixedClock(datetime.fromisoformat(sessions[0]["date"]))
        llm = OpenAICompatLLM(server.base_url, model="scripted", backoff=0.01, max_retries=1)
        config = PipelineConfig(wait_for_full_batch=False, link_threshold=0.3)
        with llm, Memory(db, embedder="hashing", llm=llm, clock=clock, tenant="acme",
                         pipeline=config) as mem:  # fmt: skip
            for session in sessions:
                clock.at = datetime.fromisoformat(session["date"]) + timedelta(minutes=20)
                messages = [{**m, "timestamp": session["date"]} for m in session["messages"]]
                mem.add(messages, user_id=USER)
    with Memory(db, embedder="hashing", tenant="globex") as other:
        other.add(GLOBEX, user_id=USER, timestamp="2026-05-10T12:00:00Z")
    store = open_store(db)
    try:
        keys = {t: create_key(store, t, name=f"{t} dashboard").secret for t in ("acme", "globex")}
    finally:
        store.close()
    return Seeded(db=db, keys=keys)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(db: Path, *, timeout: float = 60.0) -> Iterator[str]:
    """Run ``memstrata serve`` on ``db`` (hashing embedder, 127.0.0.1, a free port) in its own
    process; yield its base URL; stop it on exit."""
    port = free_port()
    env = {**os.environ, "MEMSTRATA_DB": str(db), "MEMSTRATA_EMBEDDER": "hashing"}
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "memstrata.cli", "serve", "--port", str(port),
             "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"memstrata serve did not start:\n{log.read()}")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
