"""The aiohttp engine: the only module that imports aiohttp."""

from __future__ import annotations

import asyncio
import random
import weakref
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler

from chaos.load.config import Connection
from chaos.load.engines.base import classify_oserror, describe
from chaos.load.outcome import Outcome, Response


class _RecyclingConnector(aiohttp.TCPConnector):
    """Closes each kept-alive connection after a per-connection random number of requests in
    [n/2, 2n], so the routing mesh sees reconnects without every connection cycling at once."""

    def __init__(self, *, max_requests: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lo = max(1, max_requests // 2)
        self._hi = max(self._lo, max_requests * 2)
        self._left: weakref.WeakKeyDictionary[ResponseHandler, int] = weakref.WeakKeyDictionary()

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        conn = await super().connect(req, traces, timeout)
        proto = conn.protocol
        if proto is not None:
            left = self._left.get(proto)
            if left is None:
                left = random.randint(self._lo, self._hi)
            left -= 1
            self._left[proto] = left
            if left <= 0:
                # closed by the connector when released after this response
                proto.force_close()
        return conn


class AiohttpEngine:
    name = "aiohttp"

    def __init__(
        self,
        *,
        connection: Connection,
        timeout: float,
        max_connections: int,
        keepalive_max_requests: int,
    ) -> None:
        # The connect phase gets 99% of the deadline so that a connect that hangs to the end
        # is named connect_timeout rather than timeout; ceil_threshold stops aiohttp from
        # rounding deadlines up to whole seconds.
        self._timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=timeout * 0.99, ceil_threshold=timeout + 1
        )
        self._headers: dict[str, str] = {}
        connector: aiohttp.TCPConnector
        if connection is Connection.NEW:
            # the server closes first, so TIME_WAIT lands on the server, not on our ports
            self._headers["Connection"] = "close"
            connector = aiohttp.TCPConnector(
                limit=max_connections, force_close=True, use_dns_cache=False
            )
        else:
            connector = _RecyclingConnector(
                max_requests=keepalive_max_requests,
                limit=max_connections,
                limit_per_host=0,
                use_dns_cache=False,
            )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            auto_decompress=False,
            trust_env=False,
            skip_auto_headers=("User-Agent",),
        )

    async def send(self, url: str) -> Response:
        try:
            async with self._session.get(url, headers=self._headers, allow_redirects=False) as resp:
                await resp.read()
                return Response(Outcome.from_status(resp.status), resp.status)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # request failures are data: classify, never propagate
            return Response(_classify(exc), None, describe(exc))

    async def aclose(self) -> None:
        await self._session.close()


def _classify(exc: BaseException) -> Outcome:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return Outcome.CONNECT_TIMEOUT
    if isinstance(exc, TimeoutError):  # the total deadline after connecting
        return Outcome.TIMEOUT
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Outcome.SERVER_DISCONNECTED
    found = classify_oserror(exc)
    if found is not None:
        return found
    if isinstance(exc, aiohttp.ClientPayloadError):  # connection lost mid-body
        return Outcome.SERVER_DISCONNECTED
    return Outcome.OTHER
