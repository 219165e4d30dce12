"""A SQLite store's searches read on connections of their own, taken for a read and given back:
a process holds as many as it ran searches at once, not one for every thread that ever
searched (each keeps up to 16 MiB of pages), as a server's thread pool would have it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from memstrata import Memory

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc")


def handles_on(path: Path) -> int:
    """How many open file handles this process has on the file at ``path``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:
            continue
    return count


def test_threads_that_search_in_turn_share_one_connection(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Memory(path, embedder="hashing") as mem:
        mem.add(["I drink green tea", "We went to Porto"], user_id="u")
        mem.search("tea", user_id="u")
        before = handles_on(path)
        for _ in range(8):
            thread = threading.Thread(target=lambda: mem.search("Porto", user_id="u"))
            thread.start()
            thread.join()
        assert handles_on(path) == before
        assert mem.search("Porto", user_id="u").hits[0].record.text == "We went to Porto"


def test_searches_at_once_each_read_on_a_connection_of_their_own(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Memory(path, embedder="hashing", parallel_searches=4) as mem:
        mem.add(["I drink green tea", "We went to Porto"], user_id="u")
        found: list[str] = []
        threads = [
            threading.Thread(target=lambda: found.append(mem.search("tea", user_id="u")[0].text))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert found == ["I drink green tea"] * 8
