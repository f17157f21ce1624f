"""The load run's configuration, validated once: plain floats in SI units from here on."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from chaos.errors import UsageError

DEFAULT_TIMEOUT_S = 2.0
# the engine that met the bar in scripts/bench_load.py (BENCHMARKS.md, Load generator)
DEFAULT_ENGINE = "raw"
# Event-loop timers fire late by up to about a millisecond (epoll and libuv both count whole
# milliseconds), so by default the pacer sleeps until 1 ms before the next due time and then
# yields to the loop (``sleep(0)``: I/O is still served) until it is due.
DEFAULT_SPIN_S = 0.001
WINDOW_S = 0.1


class Connection(StrEnum):
    """``new``: a fresh TCP connection per request (``Connection: close``, like curl in a loop),
    so the routing mesh balances every request and dead backends show. ``keepalive``: pooled
    connections, each recycled after a bounded number of requests."""

    NEW = "new"
    KEEPALIVE = "keepalive"


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """One load run.

    ``targets``: URLs, requests go round-robin (request i to ``targets[i % len]``).
    ``rate``: total requests per second over all targets. ``duration``: seconds, ``None`` for
    open-ended (stop with the ``stop`` event of :func:`run_load`). ``timeout``: one total
    deadline per request in seconds (connect + send + read). ``max_in_flight``: cap on
    concurrent requests, default ``ceil(rate * timeout) + 16``; requests due while the cap is
    full are counted as ``dropped``. ``keepalive_max_requests``: a kept-alive connection is
    closed after a number of requests drawn per connection from [n/2, 2n]. ``spin``: seconds
    before each due time during which the pacer yields instead of sleeping (sub-millisecond
    send lag at the price of up to ``spin x rate`` of a core at low rates; 0 sleeps only).
    """

    targets: tuple[str, ...]
    rate: float
    duration: float | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    connection: Connection = Connection.NEW
    engine: str = DEFAULT_ENGINE
    max_in_flight: int | None = None
    keepalive_max_requests: int = 100
    window: float = WINDOW_S
    spin: float = DEFAULT_SPIN_S

    def __post_init__(self) -> None:
        if not self.targets:
            raise UsageError("no target URL given: pass at least one, e.g. http://127.0.0.1:8080/")
        for url in self.targets:
            check_target(url)
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise UsageError(f"invalid rate {self.rate}: must be greater than zero, e.g. 300/s")
        if self.duration is not None and not self.duration > 0:
            raise UsageError(
                f"invalid duration {self.duration}: must be greater than zero, e.g. 30s"
            )
        if not self.timeout > 0:
            raise UsageError(f"invalid timeout {self.timeout}: must be greater than zero, e.g. 2s")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise UsageError("invalid in-flight cap: must be at least 1")
        if self.keepalive_max_requests < 1:
            raise UsageError("invalid keep-alive request bound: must be at least 1")
        if not self.window > 0:
            raise UsageError("invalid window: must be greater than zero")
        if not 0 <= self.spin <= 0.1:
            raise UsageError("invalid spin: must be between 0 and 0.1 s")

    @property
    def in_flight_cap(self) -> int:
        if self.max_in_flight is not None:
            return self.max_in_flight
        return math.ceil(self.rate * self.timeout) + 16


def check_target(url: str) -> None:
    """Raise :class:`UsageError` unless ``url`` is http(s) to a loopback or private (lab) IP."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"invalid target URL {url!r}: use http://IP[:PORT]/PATH")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"invalid port in target URL {url!r}") from None
    del port
    host = parts.hostname
    if host == "localhost":
        return
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(
            f"target {url!r} names a host; use a node IP (loopback or lab address)"
        ) from None
    if not (ip.is_loopback or ip.is_private):
        raise UsageError(
            f"target {url!r} is not a loopback or lab (private) address;"
            " chaos load only targets those"
        )
