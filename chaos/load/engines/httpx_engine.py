"""The httpx engine: the only module that imports httpx.

httpx's timeouts are per phase (and per read chunk), so the total deadline is our own
``asyncio.timeout`` around the request. The pool is never the bottleneck (its limit is above
the generator's in-flight cap), which keeps httpcore's cancel-while-waiting-for-the-pool slot
leak (encode/httpcore#1093) out of reach.
"""

from __future__ import annotations

import asyncio

import httpx

from chaos.load.config import Connection
from chaos.load.engines.base import classify_oserror, describe
from chaos.load.outcome import Outcome, Response


class HttpxEngine:
    name = "httpx"

    def __init__(
        self,
        *,
        connection: Connection,
        timeout: float,
        max_connections: int,
        keepalive_max_requests: int,
    ) -> None:
        self._deadline = timeout
        self._new = connection is Connection.NEW
        # httpx cannot bound requests per connection; in keep-alive mode every n-th request
        # asks the server to close its connection, which recycles connections at the same
        # average pace.
        self._every = max(1, keepalive_max_requests)
        self._count = 0
        limits = httpx.Limits(
            max_connections=max_connections + 16,
            max_keepalive_connections=0 if self._new else max_connections,
        )
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=timeout * 0.99),
            limits=limits,
            trust_env=False,
            follow_redirects=False,
            http2=False,
        )

    async def send(self, url: str) -> Response:
        self._count += 1
        close = self._new or self._count % self._every == 0
        headers = {"Connection": "close"} if close else None
        try:
            async with asyncio.timeout(self._deadline):
                resp = await self._client.get(url, headers=headers)
            return Response(Outcome.from_status(resp.status_code), resp.status_code)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # request failures are data: classify, never propagate
            return Response(_classify(exc), None, describe(exc))

    async def aclose(self) -> None:
        await self._client.aclose()


def _classify(exc: BaseException) -> Outcome:
    if isinstance(exc, httpx.ConnectTimeout):
        return Outcome.CONNECT_TIMEOUT
    if isinstance(exc, httpx.PoolTimeout):
        return Outcome.POOL
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return Outcome.TIMEOUT
    if isinstance(exc, httpx.RemoteProtocolError) and "disconnected" in str(exc).lower():
        return Outcome.SERVER_DISCONNECTED
    found = classify_oserror(exc)
    if found is not None:
        return found
    if isinstance(exc, httpx.ConnectError):
        return Outcome.REFUSED if "refused" in str(exc).lower() else Outcome.OTHER
    if isinstance(exc, httpx.RemoteProtocolError):
        return Outcome.SERVER_DISCONNECTED
    return Outcome.OTHER
