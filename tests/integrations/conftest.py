"""Helpers for the framework integrations' tests: the frameworks, the docs' examples, and the
scripted model they talk to."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from memstrata import Memory
from memstrata.testing import ScriptedLLMServer

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "integrations"


def framework(name: str) -> ModuleType:
    """Import a framework; skip when it is not installed, except in CI (``scripts/test.sh``
    installs every extra there, so a missing one is a failure)."""
    if os.environ.get("CI"):
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=f"{name} is not installed (pip install the extra)")


def example(name: str) -> ModuleType:
    """Import ``docs/integrations/examples/NAME.py``, the file a docs page shows."""
    path = DOCS / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shown_in_docs(page: str, name: str) -> None:
    """The docs page shows the example file exactly, in a ```python block."""
    text = (DOCS / page).read_text(encoding="utf-8")
    code = (DOCS / "examples" / f"{name}.py").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert code in blocks, f"docs/integrations/{page} must show examples/{name}.py verbatim"


@pytest.fixture
def two_users(db_path: Path) -> Memory:
    """A store where Ada and Bob each said where they moved."""
    memory = Memory(db_path, embedder="hashing")
    memory.add("Ada moved to Lisbon in May", user_id="ada")
    memory.add("Bob moved to Berlin", user_id="bob")
    return memory


@pytest.fixture
def scripted() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as server:
        yield server
