"""A real HTTP/1.1 server in the test process, on 127.0.0.1, whose behaviour tests control.

It runs its own asyncio loop in a thread. Paths choose the behaviour of one request:

    /ok, / (anything else)   200 with a small body, after ``delay`` seconds
    /status/NNN              answers with status NNN
    /abort                   reads the request, then resets the connection (SO_LINGER 0)
    /close                   reads the request, then closes without answering
    /hang                    reads the request and never answers
    /chunked                 200 with a chunked body (and a trailer)
    /until-close             200 whose body ends when the server closes (no length)
    /partial                 a head promising 100 bytes, 10 bytes, then close
    /garbage                 a line that is not HTTP, then close

``stall(start, end)``: requests arriving between the monotonic times start and end are held
until end (a server stall).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

_BODY = b"hello from the test server\n"
_RAW_RESPONSES = {
    "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"6\r\nhello \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n",
    "/until-close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until close",
    "/partial": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
    "/garbage": b"this is not HTTP\r\n\r\n",
}


class TestServer:
    __test__ = False

    def __init__(self) -> None:
        self.delay = 0.0
        self._stall = (0.0, 0.0)
        self.requests = 0
        self.arrivals: list[float] = []
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="test-http", daemon=True)
        self._hung: set[asyncio.StreamWriter] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    def url(self, path: str = "/ok") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stall(self, start: float, end: float) -> None:
        self._stall = (start, end)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test server did not start")

    def stop(self) -> None:
        async def _shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.transport.abort()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # a connection accepted while the first aborts ran registered itself since
            for w in list(self._writers):
                w.transport.abort()
            await asyncio.sleep(0)  # let the aborted transports finish closing

        asyncio.run_coroutine_threadsafe(_shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, "127.0.0.1", 0, backlog=1024)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # registered at accept time, before any task runs, so shutdown can always abort it
        self._writers.add(writer)
        self._tasks.add(self._loop.create_task(self._handle(reader, writer)))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # at shutdown the handler is cancelled; end its task normally
        with contextlib.suppress(asyncio.CancelledError):
            await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.requests += 1
                self.arrivals.append(time.monotonic())
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                close = any(ln.lower() == "connection: close" for ln in lines[1:])
                if not await self._respond(path, close, writer):
                    return
                if close:
                    return
        finally:
            if writer not in self._hung:
                writer.close()
                self._writers.discard(writer)

    async def _respond(self, path: str, close: bool, writer: asyncio.StreamWriter) -> bool:
        start, end = self._stall
        now = time.monotonic()
        if start <= now < end:
            await asyncio.sleep(end - now)
        if self.delay:
            await asyncio.sleep(self.delay)
        if path == "/abort":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if path == "/close":
            return False
        if path == "/hang":
            self._hung.add(writer)
            return False
        raw = _RAW_RESPONSES.get(path)
        if raw is not None:
            writer.write(raw)
            await writer.drain()
            return path == "/chunked"
        status = int(path.rsplit("/", 1)[1]) if path.startswith("/status/") else 200
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Length: {len(_BODY)}\r\n"
            f"Content-Type: text/plain\r\nConnection: {'close' if close else 'keep-alive'}\r\n\r\n"
        )
        writer.write(head.encode() + _BODY)
        await writer.drain()
        return True


@pytest.fixture
def server() -> Iterator[TestServer]:
    srv = TestServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
