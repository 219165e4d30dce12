"""JSON Lines bodies as streams, both ways, so that an export or import of any size passes
through the server without being held in memory whole.

- ``spool_lines`` reads a request body chunk by chunk into a temporary file (in memory while
  small, on disk beyond), checking as it goes that it is UTF-8, that no line is longer than the
  line limit and the whole within the total limit; ``Memory.import_`` then reads that file.
- ``stream_writes`` runs a writer such as ``Memory.export`` on a worker thread and yields what it
  writes, a chunk at a time, as it writes it; the writer waits while the client is slower.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import queue
import tempfile
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import IO, Any, cast

from anyio import to_thread
from starlette.exceptions import HTTPException

from memstrata.errors import InvalidInputError

#: A body is kept in memory up to this size, then spooled to a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024
#: The size of the chunks ``stream_writes`` yields.
CHUNK_BYTES = 64 * 1024


class LineMeter:
    """Counts the bytes of a body and of its current line, chunk by chunk; ``feed`` raises 413
    when a line passes ``line_limit`` or the body passes ``total_limit`` (None: no limit)."""

    def __init__(self, line_limit: int, total_limit: int | None) -> None:
        self.line_limit = line_limit
        self.total_limit = total_limit
        self.total = 0
        self.line = 1
        self.current = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.total_limit is not None and self.total > self.total_limit:
            raise HTTPException(
                413, f"the JSON Lines body is over the limit of {self.total_limit:,} bytes"
            )
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            length = self.current + (len(chunk) if end == -1 else end) - start
            if length > self.line_limit:
                raise HTTPException(
                    413, f"line {self.line} is over the limit of {self.line_limit:,} bytes a line"
                )
            if end == -1:
                self.current = length
                return
            self.line += 1
            self.current = 0
            start = end + 1


async def spool_lines(
    chunks: AsyncIterable[bytes], *, line_limit: int, total_limit: int | None
) -> IO[str]:
    """The body as a text file positioned at its start (the caller closes it)."""
    meter = LineMeter(line_limit, total_limit)
    decoder = codecs.getincrementaldecoder("utf-8")()
    out = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (returned open, closed by the caller)
        max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", newline=""
    )
    try:
        async for chunk in chunks:
            out.write(_decode(decoder, chunk, meter.line))
            meter.feed(chunk)
        out.write(_decode(decoder, b"", meter.line, final=True))
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


def _decode(decoder: codecs.IncrementalDecoder, chunk: bytes, line: int, **kw: Any) -> str:
    """``chunk`` decoded; an error names its line (``line``: the one the chunk starts in)."""
    pending = len(decoder.getstate()[0])
    try:
        text: str = decoder.decode(chunk, **kw)
    except UnicodeDecodeError as exc:
        line += chunk[: max(0, exc.start - pending)].count(b"\n")
        raise InvalidInputError(f"line {line}: the body is not valid UTF-8") from None
    return text


class _Stop(Exception):
    """The reader went away: the writer stops."""


class _ChunkWriter(io.TextIOBase):
    """A text stream that hands what is written to ``put`` in chunks of about CHUNK_BYTES."""

    def __init__(self, put: Callable[[bytes], None]) -> None:
        super().__init__()
        self.put = put
        self.parts: list[str] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= CHUNK_BYTES:
            self.drain()
        return len(text)

    def drain(self) -> None:
        if self.parts:
            self.put("".join(self.parts).encode("utf-8"))
            self.parts, self.size = [], 0


async def stream_writes(write: Callable[[IO[str]], object]) -> AsyncIterator[bytes]:
    """What ``write(stream)`` writes on a worker thread, yielded as it writes it.

    Waits for the first chunk, so that an error raised before it (a missing scope…) is raised
    here, while the caller can still answer with an error status; a later error is raised by
    the iterator. Closing the iterator early stops the writer at its next write.
    """
    items: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def put(item: bytes | BaseException | None) -> None:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stop

    def take() -> bytes | BaseException | None:
        while not stop.is_set():
            try:
                return items.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def produce() -> None:
        try:
            writer = _ChunkWriter(put)
            write(cast(IO[str], writer))
            writer.drain()
            put(None)
        except _Stop:
            pass
        except BaseException as exc:  # handed to the reader, who raises it
            with contextlib.suppress(_Stop):
                put(exc)

    async def chunks(first: bytes | BaseException | None) -> AsyncIterator[bytes]:
        try:
            item = first
            while item is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
                item = await to_thread.run_sync(take)
        finally:
            stop.set()

    threading.Thread(target=produce, name="memstrata-export", daemon=True).start()
    try:
        first = await to_thread.run_sync(take)
        if isinstance(first, BaseException):
            raise first
    except BaseException:
        stop.set()
        raise
    return chunks(first)
