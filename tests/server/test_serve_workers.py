"""``memstrata serve --workers N``: N processes answering on one port, among which the kernel
deals the connections, each with its own store connections, that see each other's writes and
stop together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from memstrata.evals.load import children, free_port, listeners

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for the workers")


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie that nobody has reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(ready: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():  # type: ignore[operator]
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)


@pytest.fixture
def served(db_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    env = {**os.environ, "MEMSTRATA_DB": str(db_path), "MEMSTRATA_EMBEDDER": "hashing"}
    process = subprocess.Popen(
        [sys.executable, "-m", "memstrata.cli", "serve", "--port", str(port), "--workers", "2",
         "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, process.communicate()[1]
        if len(children(process.pid)) < 2 or listeners(port) < 2:
            return False
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up)
        yield process, url
    finally:
        process.terminate()
        process.wait(30)


def connections(pid: int) -> set[tuple[int, int]]:
    """The established TCP connections of process ``pid`` (its own sockets, not its
    namespace's): each one's local and remote port."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    out = set()
    for table in ("tcp", "tcp6"):
        for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "01" and fields[9] in inodes:  # 01: established
                local, remote = (int(end.rsplit(":", 1)[1], 16) for end in fields[1:3])
                out.add((local, remote))
    return out


def test_each_worker_serves_and_sees_the_others_writes(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = served
    workers = children(process.pid)
    port = int(url.rsplit(":", 1)[1])
    clients = [httpx.Client(base_url=url, timeout=30) for _ in range(16)]
    try:
        for client in clients:  # each keeps its connection, to the worker that took it
            assert client.get("/healthz").status_code == 200
        ours = {local for local, remote in connections(os.getpid()) if remote == port}
        assert len(ours) == 16
        taken = [sum(1 for local, remote in connections(pid) if local == port and remote in ours)
                 for pid in workers]  # fmt: skip
        assert sum(taken) == 16 and min(taken) > 0, taken  # the kernel dealt them to both
        added = clients[0].post("/v1/memories", json={"messages": ["My cat is called Miso."],
                                                      "user_id": "ada"})  # fmt: skip
        assert added.status_code == 201, added.text
        searches = []
        for client in clients:
            found = client.post("/v1/memories/search", json={"query": "cat", "user_id": "ada"})
            assert found.status_code == 200, found.text
            assert [hit["text"] for hit in found.json()["hits"]] == ["My cat is called Miso."]
            searches.append(found.json())
        # Feedback on each search through the next client: both workers hold clients, so for
        # one pair at least the feedback reaches the worker that did not search.
        for client, answered in zip(clients[1:] + clients[:1], searches, strict=True):
            used = [answered["hits"][0]["id"]]
            told = client.post("/v1/feedback", json={"search_id": answered["search_id"],
                                                     "used": used, "user_id": "ada"})  # fmt: skip
            assert told.status_code == 200, told.text
    finally:
        for client in clients:
            client.close()


def test_the_server_stops_with_its_workers(served: tuple[subprocess.Popen[str], str]) -> None:
    process, _ = served
    workers = children(process.pid)
    process.terminate()
    assert process.wait(30) == 0
    wait_until(lambda: not any(map(alive, workers)), 30)


def test_a_worker_that_dies_stops_the_server(served: tuple[subprocess.Popen[str], str]) -> None:
    process, _ = served
    first, second = children(process.pid)
    os.kill(first, signal.SIGKILL)
    assert process.wait(30) != 0
    wait_until(lambda: not alive(second), 30)
    assert "exited" in process.communicate()[1]


def test_workers_must_be_at_least_one(db_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "memstrata.cli", "serve", "--db", str(db_path), "--workers", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--workers" in done.stderr


def test_port_0_serves_on_the_port_the_system_gave_and_says_which(db_path: Path) -> None:
    env = {**os.environ, "MEMSTRATA_DB": str(db_path), "MEMSTRATA_EMBEDDER": "hashing"}
    process = subprocess.Popen(
        [sys.executable, "-m", "memstrata.cli", "serve", "--port", "0", "--workers", "2",
         "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        said = process.stderr.readline()
        url = said.split(" on ", 1)[1].split()[0]
        assert not url.endswith(":0"), said

        def up() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up)
    finally:
        process.terminate()
        process.wait(30)


def test_workers_stop_when_their_server_is_killed(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, _ = served
    workers = children(process.pid)
    process.kill()  # no chance to stop them itself
    process.wait(30)
    wait_until(lambda: not any(map(alive, workers)), 30)
