"""HTTP engines behind one small interface (:class:`~chaos.load.engines.base.HttpEngine`).

``raw`` (the default) speaks HTTP/1.1 over asyncio protocols itself; ``aiohttp`` and ``httpx``
wrap those libraries. ``HELD_RATES`` holds, per engine and connection mode, the highest rate
the engine held on one core (uvloop) in ``scripts/bench_load.py`` with zero dropped: for
``raw`` also cleanly (send lag p99 <= 1 ms keep-alive, latency p99 <= 5 ms new connections) in
repeated runs; see the "Load generator" section of BENCHMARKS.md. ``chaos load`` warns when
asked for more.
"""

from __future__ import annotations

from chaos.errors import UsageError
from chaos.load.config import DEFAULT_ENGINE, Connection, LoadConfig
from chaos.load.engines.base import HttpEngine

__all__ = ["DEFAULT_ENGINE", "ENGINE_NAMES", "HELD_RATES", "held_rate", "make_engine"]

ENGINE_NAMES = ("raw", "aiohttp", "httpx")

# Event-loop timers count from a clock cached once per loop iteration (whole milliseconds on
# uvloop), so a deadline armed with ``timeout`` can fire up to about 1 ms before ``timeout``
# has passed on time.monotonic. Engines get this much more so that a request is never given up
# before its deadline; it ends at most a few milliseconds after it.
DEADLINE_SLACK_S = 0.002

# requests/s held cleanly on one core against nginx on loopback (BENCHMARKS.md, Load generator)
HELD_RATES: dict[tuple[str, Connection], float] = {
    ("raw", Connection.KEEPALIVE): 5000.0,
    ("raw", Connection.NEW): 2500.0,
    ("aiohttp", Connection.KEEPALIVE): 4000.0,
    ("aiohttp", Connection.NEW): 2000.0,
    ("httpx", Connection.KEEPALIVE): 500.0,
    ("httpx", Connection.NEW): 500.0,
}


def held_rate(engine: str, connection: Connection) -> float | None:
    return HELD_RATES.get((engine, connection))


def make_engine(config: LoadConfig) -> HttpEngine:
    """Build the engine named in ``config``; raises :class:`UsageError` for unknown names."""
    if config.engine == "raw":
        from chaos.load.engines.raw_engine import RawEngine

        return RawEngine(
            connection=config.connection,
            timeout=config.timeout + DEADLINE_SLACK_S,
            max_connections=config.in_flight_cap,
            keepalive_max_requests=config.keepalive_max_requests,
        )
    if config.engine == "aiohttp":
        from chaos.load.engines.aiohttp_engine import AiohttpEngine

        return AiohttpEngine(
            connection=config.connection,
            timeout=config.timeout + DEADLINE_SLACK_S,
            max_connections=config.in_flight_cap,
            keepalive_max_requests=config.keepalive_max_requests,
        )
    if config.engine == "httpx":
        from chaos.load.engines.httpx_engine import HttpxEngine

        return HttpxEngine(
            connection=config.connection,
            timeout=config.timeout + DEADLINE_SLACK_S,
            max_connections=config.in_flight_cap,
            keepalive_max_requests=config.keepalive_max_requests,
        )
    raise UsageError(f"unknown engine {config.engine!r}: choose one of {', '.join(ENGINE_NAMES)}")
