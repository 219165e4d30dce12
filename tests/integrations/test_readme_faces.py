"""The README's "Use it from…" snippets work as written: each one is run here (the TypeScript
one in test_typescript_client.py, which builds the client first)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from memstrata.cli import build_parser
from memstrata.server.rest import create_app
from memstrata.server.runner import running

from .conftest import framework

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def faces() -> list[tuple[str, str]]:
    """``(language, code)`` of each block of the README's "Use it from…" section, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use it from…", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S)


def blocks(language: str) -> list[str]:
    return [code for lang, code in faces() if lang == language]


def env(tmp_path: Path) -> dict[str, str]:
    """The default store and data directory under ``tmp_path``, never the user's."""
    return {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "MEMSTRATA_DB": str(tmp_path / "cli.db"),
        "MEMSTRATA_EMBEDDER": "hashing",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "OPENAI_API_KEY": "not-used-the-snippets-call-no-model",
    }


def test_every_face_has_a_snippet() -> None:
    assert [lang for lang, _ in faces()] == [
        "python", "bash", "bash", "json", "python", "python", "python", "python", "ts",
    ]  # fmt: skip


def test_the_library_snippet(tmp_path: Path) -> None:
    library = blocks("python")[0]
    out = subprocess.run(
        [sys.executable, "-c", library], env=env(tmp_path), cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "I moved to Lisbon in May"
    assert (tmp_path / "data" / "memstrata" / "memstrata.db").exists()


@pytest.mark.parametrize(
    ("index", "module"),
    [(1, "langgraph"), (2, "agents"), (3, "pydantic_ai"), (4, "llama_index.core")],
)
def test_the_framework_snippets(tmp_path: Path, index: int, module: str) -> None:
    framework(module)
    code = blocks("python")[index]
    out = subprocess.run(
        [sys.executable, "-c", code], env=env(tmp_path), cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr


def test_the_command_line_snippet(tmp_path: Path) -> None:
    lines = blocks("bash")[0].strip().splitlines()
    outputs = [
        subprocess.run(
            line, shell=True, env=env(tmp_path), capture_output=True, text=True, timeout=120
        )
        for line in lines
    ]
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    assert "I moved to Lisbon in May" in outputs[1].stdout
    assert "I moved to Lisbon in May" in outputs[2].stdout


def test_the_rest_snippet(tmp_path: Path) -> None:
    serve, add, search = blocks("bash")[1].strip().splitlines()
    assert serve == "memstrata serve &"  # the test serves the same app itself, on a free port
    app = create_app(tmp_path / "rest.db", embedder="hashing")
    with running(app) as url:
        host = url.removeprefix("http://")
        for line in (add, search):
            assert "127.0.0.1:8420" in line
        lines = [line.replace("127.0.0.1:8420", host) for line in (add, search)]
        calls = [
            subprocess.run(line, shell=True, capture_output=True, text=True, timeout=60)
            for line in lines
        ]
    assert [c.returncode for c in calls] == [0, 0]
    assert json.loads(calls[0].stdout)["added"][0]["text"] == "I moved to Lisbon in May"
    assert json.loads(calls[1].stdout)["hits"][0]["text"] == "I moved to Lisbon in May"


def test_the_mcp_snippet_is_a_valid_command() -> None:
    config = json.loads(blocks("json")[0])
    server = config["mcpServers"]["memstrata"]
    assert server["command"] == "memstrata"
    args = build_parser().parse_args(server["args"])
    assert (args.command, args.user) == ("mcp", "ada")
