"""Engines against response framings the contract suite does not cover, for real (the
in-process server), on both event loops; and the raw engine's own rules."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable

import anyio
import pytest

from chaos.load.config import Connection, LoadConfig
from chaos.load.engines import ENGINE_NAMES, make_engine
from chaos.load.engines.base import HttpEngine
from chaos.load.engines.raw_engine import RawEngine, ServerDisconnected, _classify
from chaos.load.loops import LOOP_NAMES, UVLOOP
from chaos.load.outcome import Outcome, Response

from .conftest import TestServer


def _send_all(loop: str, make: Callable[[], HttpEngine], urls: list[str]) -> list[Response]:
    """Send ``urls`` one after another with an engine built inside the running loop."""

    async def main() -> list[Response]:
        engine = make()
        try:
            return [await engine.send(u) for u in urls]
        finally:
            await engine.aclose()

    return anyio.run(main, backend_options={"use_uvloop": loop == UVLOOP})


def _engine(name: str, connection: Connection, timeout: float = 1.0) -> HttpEngine:
    return make_engine(
        LoadConfig(
            targets=("http://127.0.0.1:1/",),
            rate=1.0,
            engine=name,
            connection=connection,
            timeout=timeout,
        )
    )


@pytest.mark.parametrize("loop", LOOP_NAMES)
@pytest.mark.parametrize("connection", list(Connection))
@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_chunked_and_close_delimited_bodies_are_ok(
    server: TestServer, engine: str, loop: str, connection: Connection
) -> None:
    urls = [server.url("/chunked"), server.url("/until-close"), server.url("/ok")] * 3
    got = _send_all(loop, lambda: _engine(engine, connection), urls)
    assert [r.outcome for r in got] == [Outcome.OK] * len(urls), got
    assert {r.status for r in got} == {200}


@pytest.mark.parametrize("loop", LOOP_NAMES)
@pytest.mark.parametrize("connection", list(Connection))
def test_raw_engine_truncated_and_invalid_responses(
    server: TestServer, loop: str, connection: Connection
) -> None:
    urls = [server.url("/partial"), server.url("/garbage"), server.url("/ok")]
    got = _send_all(loop, lambda: _engine("raw", connection), urls)
    assert [r.outcome for r in got] == [
        Outcome.SERVER_DISCONNECTED,
        Outcome.OTHER,
        Outcome.OK,
    ], got
    assert "ProtocolError" in got[1].detail


@pytest.mark.parametrize("loop", LOOP_NAMES)
def test_raw_engine_keepalive_reuses_and_recycles_connections(
    server: TestServer, loop: str
) -> None:
    def engine() -> HttpEngine:
        return RawEngine(
            connection=Connection.KEEPALIVE,
            timeout=1.0,
            max_connections=4,
            keepalive_max_requests=4,
        )

    got = _send_all(loop, engine, [server.url("/ok")] * 40)
    assert all(r.outcome is Outcome.OK for r in got)
    # each connection serves 2..8 requests, its last one asking the server to close
    assert 40 / 8 <= server.connections <= 40 / 2, server.connections


@pytest.mark.parametrize("loop", LOOP_NAMES)
def test_raw_engine_timeout_closes_the_connection(server: TestServer, loop: str) -> None:
    def engine() -> HttpEngine:
        return RawEngine(
            connection=Connection.KEEPALIVE,
            timeout=0.2,
            max_connections=4,
            keepalive_max_requests=100,
        )

    got = _send_all(loop, engine, [server.url("/hang"), server.url("/ok")])
    assert [r.outcome for r in got] == [Outcome.TIMEOUT, Outcome.OK]
    assert server.connections == 2  # the timed-out connection was not reused


@pytest.mark.parametrize(
    ("exc", "connecting", "outcome"),
    [
        (TimeoutError(), True, Outcome.CONNECT_TIMEOUT),
        (TimeoutError(), False, Outcome.TIMEOUT),
        (OSError(errno.ETIMEDOUT, "timed out"), True, Outcome.CONNECT_TIMEOUT),
        (ServerDisconnected("x"), False, Outcome.SERVER_DISCONNECTED),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), True, Outcome.REFUSED),
        (OSError(errno.EHOSTUNREACH, "unreachable"), True, Outcome.UNREACHABLE),
        (ConnectionResetError(errno.ECONNRESET, "reset"), False, Outcome.RESET),
        (ValueError("?"), False, Outcome.OTHER),
    ],
)
def test_raw_engine_error_mapping(exc: Exception, connecting: bool, outcome: Outcome) -> None:
    assert _classify(exc, connecting) is outcome


def test_raw_engine_cancellation_propagates(server: TestServer) -> None:
    async def main() -> None:
        engine = RawEngine(
            connection=Connection.NEW, timeout=5.0, max_connections=4, keepalive_max_requests=1
        )
        task = asyncio.ensure_future(engine.send(server.url("/hang")))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await engine.aclose()

    asyncio.run(main())
