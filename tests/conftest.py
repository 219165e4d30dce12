"""Shared fixtures: real stores in temporary files, the hashing embedder, no network."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from memstrata import Memory


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may only talk to loopback: a connection anywhere else fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        outside = isinstance(host, str) and host not in ("::1", "localhost")
        if outside and self.family in (socket.AF_INET, socket.AF_INET6):
            assert isinstance(host, str)
            if not host.startswith("127."):
                raise OSError(f"tests may not reach {host}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memories.db"


@pytest.fixture
def mem(db_path: Path) -> Iterator[Memory]:
    with Memory(db_path, embedder="hashing") as memory:
        yield memory
