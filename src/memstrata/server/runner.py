"""Running an ASGI app under uvicorn: in the foreground (the CLI) or on a background thread
(tests, benchmarks, and applications that embed the server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def serve(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8420,
    log_level: str = "info",
    fd: int | None = None,
) -> None:
    """Serve ``app`` until interrupted: on ``host`` and ``port``, or on the listening socket
    ``fd`` (bound by another process, which may share it with other servers)."""
    uvicorn.run(app, host=host, port=port, fd=fd, log_level=log_level, server_header=False)


@contextmanager
def running(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on a background thread; yield its base URL (``http://127.0.0.1:PORT``).

    ``port=0`` picks a free port. The server stops, and the thread is joined, on exit.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="memstrata-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}" if ":" not in host else f"http://[{host}]:{bound}"
    finally:
        server.should_exit = True
        thread.join(30)
