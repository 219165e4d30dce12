"""The faces (the CLI, the servers, the integrations) reach storage through the library: none
opens a store of its own."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "memstrata"
FACES = [SRC / "cli.py", SRC / "remote.py", *(SRC / "server").rglob("*.py"),
         *(SRC / "integrations").rglob("*.py")]  # fmt: skip
OPENS_A_STORE = re.compile(r"\bopen_store\b|\bSQLiteStore\b|\bPostgresStore\b")


def test_no_face_opens_a_store() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in FACES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OPENS_A_STORE.search(line)
    ]
    assert offenders == []
