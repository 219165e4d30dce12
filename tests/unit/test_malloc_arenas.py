"""The servers cap glibc's malloc arenas, unless the user chose how many."""

from __future__ import annotations

import ctypes
import sys

import pytest

from memstrata.settings import few_malloc_arenas


def on_glibc() -> bool:
    return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


@pytest.mark.skipif(not on_glibc(), reason="glibc's malloc only")
def test_the_arenas_are_capped_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert few_malloc_arenas()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not few_malloc_arenas()
