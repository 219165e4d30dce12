"""The TypeScript client (clients/typescript): its types are generated from the server's
current OpenAPI document, and its Node tests pass against a real ``memstrata serve``."""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from memstrata.server.rest import create_app
from memstrata.server.runner import running

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "typescript"
REGENERATE = "run scripts/gen_ts_client.sh and commit clients/typescript/"


def test_the_checked_in_openapi_document_is_the_servers() -> None:
    dump = runpy.run_path(str(ROOT / "scripts" / "dump_openapi.py"))
    current = dump["render"](dump["openapi_document"]())
    checked_in = (CLIENT / "openapi.json").read_text(encoding="utf-8")
    assert json.loads(checked_in) == json.loads(current), f"the REST API changed: {REGENERATE}"
    assert checked_in == current, f"openapi.json is not as the script writes it: {REGENERATE}"


def test_the_package_is_ready_to_publish() -> None:
    package = json.loads((CLIENT / "package.json").read_text(encoding="utf-8"))
    assert package["license"] == "Apache-2.0"
    assert package["exports"]["."] == {"types": "./dist/index.d.ts", "import": "./dist/index.js"}
    assert set(package["files"]) >= {"dist", "README.md", "LICENSE"}
    assert "Apache License" in (CLIENT / "LICENSE").read_text(encoding="utf-8")
    lock = json.loads((CLIENT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][""]["version"] == package["version"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_node_tests_pass_against_a_real_server() -> None:
    assert shutil.which("npm"), "node is installed without npm"
    assert (CLIENT / "node_modules").is_dir(), (
        "the client's Node dependencies are missing: run `npm ci --prefix clients/typescript` "
        "(scripts/test.sh does)"
    )
    memstrata = Path(sys.executable).parent / "memstrata"
    assert memstrata.exists(), f"no memstrata command beside {sys.executable}"
    run = subprocess.run(
        ["npm", "test"],
        cwd=CLIENT,
        env={**os.environ, "MEMSTRATA_BIN": str(memstrata)},
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert "ℹ fail 0" in run.stdout


def typescript_snippet(readme: Path) -> str:
    """The first ```ts block of a README (plain JavaScript as well, so node runs it)."""
    blocks = re.findall(r"```ts\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, f"no ts block in {readme}"
    return str(blocks[0])


@pytest.fixture(scope="module")
def built() -> None:
    """The client built into dist/, as the package's exports name it."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    assert (CLIENT / "node_modules").is_dir(), "run `npm ci --prefix clients/typescript`"
    build = subprocess.run(["npm", "run", "--silent", "build"], cwd=CLIENT, capture_output=True)
    assert build.returncode == 0, build.stdout + build.stderr


@pytest.mark.parametrize(
    "readme", [ROOT / "README.md", CLIENT / "README.md"], ids=["repo", "client"]
)
def test_the_readme_snippets_run(built: None, readme: Path, tmp_path: Path) -> None:
    code = typescript_snippet(readme)
    assert "http://127.0.0.1:8420" in code
    app = create_app(tmp_path / "m.db", embedder="hashing")
    with running(app) as url:
        run = subprocess.run(
            ["node", "--input-type=module", "-e", code.replace("http://127.0.0.1:8420", url)],
            cwd=CLIENT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "I moved to Lisbon in May" in run.stdout
