"""The raw engine (the default): HTTP/1.1 GET straight over asyncio protocols.

No client library: per request one ``asyncio.timeout`` (the total deadline, the only timer),
one protocol callback per chunk of bytes, and :mod:`chaos.load.engines.http1` to find the end
of the response. It runs on any asyncio loop and is fastest on uvloop.

- ``new``: a fresh connection per request, sending ``Connection: close``; when the server
  says it closes, we let it close first, so TIME_WAIT lands on the server, not on our ports.
- ``keepalive``: an idle-connection stack per host and port; each connection serves a number
  of requests drawn from [n/2, 2n] and its last request asks the server to close.

Errors map to the same outcome kinds as the other engines: the deadline during connect is
``connect_timeout``, after it ``timeout``; errno-carrying failures via
:func:`~chaos.load.engines.base.classify_oserror`; the peer closing before a complete response
is ``server_disconnected``; an invalid response is ``other``.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from chaos.load.config import Connection
from chaos.load.engines.base import classify_oserror, describe
from chaos.load.engines.http1 import Head, ProtocolError, ResponseParser
from chaos.load.outcome import Outcome, Response


class ServerDisconnected(ConnectionError):
    """The peer closed the connection before a complete response."""


@dataclass(frozen=True, slots=True)
class _Target:
    """One URL, parsed once: where to connect and the request bytes to send."""

    host: str
    port: int
    tls: bool
    request: bytes  # keeps the connection
    request_close: bytes  # asks the server to close after answering


def _parse_target(url: str) -> _Target:
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if tls else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host_header = parts.netloc.rpartition("@")[2]
    base = f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nAccept: */*\r\n"
    return _Target(
        host=host,
        port=port,
        tls=tls,
        request=(base + "\r\n").encode("latin-1"),
        request_close=(base + "Connection: close\r\n\r\n").encode("latin-1"),
    )


class _Conn(asyncio.Protocol):
    """One TCP connection carrying one request at a time."""

    def __init__(self, owner: set[_Conn], left: int) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.waiter: asyncio.Future[Head] | None = None
        self.closed = False
        self.left = left  # requests this connection may still carry
        self._owner = owner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods
        self.transport = cast(asyncio.Transport, transport)
        self._owner.add(self)

    def request(self, data: bytes, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Head]:
        """Send ``data`` and return a future for the response head (set once complete)."""
        assert self.transport is not None
        self.parser.reset()
        self.left -= 1
        waiter: asyncio.Future[Head] = loop.create_future()
        self.waiter = waiter
        self.transport.write(data)
        return waiter

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():  # bytes nobody asked for: not reusable
            self.close()
            return
        try:
            complete = self.parser.feed(data)
        except ProtocolError as exc:
            waiter.set_exception(exc)
            self.close()
            return
        if complete:
            head = self.parser.head
            assert head is not None
            waiter.set_result(head)

    def eof_received(self) -> bool | None:
        self._end(None)
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._owner.discard(self)
        self._end(exc)

    def _end(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if exc is None and self.parser.feed_eof():
            head = self.parser.head
            assert head is not None
            waiter.set_result(head)
        elif exc is not None:
            waiter.set_exception(exc)
        else:
            waiter.set_exception(ServerDisconnected("server closed before a complete response"))

    def reusable(self) -> bool:
        head = self.parser.head
        return (
            not self.closed
            and self.left > 0
            and head is not None
            and head.keep_alive
            and not self.parser.trailing
        )

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class RawEngine:
    name = "raw"

    def __init__(
        self,
        *,
        connection: Connection,
        timeout: float,
        max_connections: int,
        keepalive_max_requests: int,
    ) -> None:
        del max_connections  # the generator's in-flight cap bounds the connections
        self._deadline = timeout
        self._new = connection is Connection.NEW
        self._lo = max(1, keepalive_max_requests // 2)
        self._hi = max(self._lo, keepalive_max_requests * 2)
        self._targets: dict[str, _Target] = {}
        self._idle: dict[tuple[str, int, bool], list[_Conn]] = {}
        self._open: set[_Conn] = set()
        self._ssl: ssl.SSLContext | None = None

    async def send(self, url: str) -> Response:
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = _parse_target(url)
        conn: _Conn | None = None
        connecting = True
        try:
            async with asyncio.timeout(self._deadline):
                conn = self._take_idle(target)
                if conn is None:
                    conn = await self._connect(target)
                connecting = False
                last = self._new or conn.left <= 1
                head = await conn.request(
                    target.request_close if last else target.request, asyncio.get_running_loop()
                )
        except asyncio.CancelledError:
            if conn is not None:
                conn.abort()
            raise
        except Exception as exc:  # request failures are data: classify, never propagate
            if conn is not None:
                conn.abort()
            return Response(_classify(exc, connecting), None, describe(exc))
        self._release(target, conn, head)
        return Response(Outcome.from_status(head.status), head.status)

    def _take_idle(self, target: _Target) -> _Conn | None:
        if self._new:
            return None
        stack = self._idle.get((target.host, target.port, target.tls))
        while stack:
            conn = stack.pop()
            if not conn.closed:
                return conn
        return None

    def _release(self, target: _Target, conn: _Conn, head: Head) -> None:
        if not self._new and conn.reusable():
            self._idle.setdefault((target.host, target.port, target.tls), []).append(conn)
        elif head.keep_alive or conn.parser.trailing:
            conn.close()  # the server keeps it open: we close
        # else the server closes (Connection: close): it closes first, we follow on EOF

    async def _connect(self, target: _Target) -> _Conn:
        loop = asyncio.get_running_loop()
        left = 1 if self._new else random.randint(self._lo, self._hi)
        conn = _Conn(self._open, left)
        ssl_ctx: ssl.SSLContext | None = None
        if target.tls:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            ssl_ctx = self._ssl
        await loop.create_connection(lambda: conn, target.host, target.port, ssl=ssl_ctx)
        return conn

    async def aclose(self) -> None:
        for conn in list(self._open):
            conn.abort()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports run connection_lost


def _classify(exc: BaseException, connecting: bool) -> Outcome:
    if isinstance(exc, TimeoutError):
        return Outcome.CONNECT_TIMEOUT if connecting else Outcome.TIMEOUT
    if isinstance(exc, ServerDisconnected):
        return Outcome.SERVER_DISCONNECTED
    found = classify_oserror(exc)
    if found is not None:
        return found
    return Outcome.OTHER
