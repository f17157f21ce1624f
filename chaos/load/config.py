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
# Beyond this the pacer cannot even hand requests out on time (one Python thread; the best
# clean rate measured is 5,000 req/s keep-alive, BENCHMARKS.md): refused, not attempted.
MAX_RATE = 20_000.0
# Memory is bounded by the requests in flight (a task, a socket and a parser each): past the
# cap a due request is dropped (counted as the generator's), never queued.
MAX_IN_FLIGHT = 10_000


class Connection(StrEnum):
    """``new``: a fresh TCP connection per request (``Connection: close``, like curl in a loop),
    so the routing mesh balances every request and dead backends show. ``keepalive``: pooled
    connections, each recycled after a bounded number of requests."""

    NEW = "new"
    KEEPALIVE = "keepalive"


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """One load run.

    ``targets``: URLs, requests go round-robin (request i to ``targets[i % len]``); each
    names loopback or an address of ``cluster`` (the node IPs of the cluster under test).
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
    cluster: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.targets:
            raise UsageError("no target URL given: pass at least one, e.g. http://127.0.0.1:8080/")
        for url in self.targets:
            check_target(url, self.cluster)
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise UsageError(f"invalid rate {self.rate}: must be greater than zero, e.g. 300/s")
        if self.rate > MAX_RATE:
            raise UsageError(
                f"rate {self.rate:g}/s: the generator cannot schedule more than "
                f"{MAX_RATE:,.0f} req/s (one thread; 5,000 req/s keep-alive measured clean, "
                "see BENCHMARKS.md); use a lower rate"
            )
        if self.duration is not None and not self.duration > 0:
            raise UsageError(
                f"invalid duration {self.duration}: must be greater than zero, e.g. 30s"
            )
        if not self.timeout > 0:
            raise UsageError(f"invalid timeout {self.timeout}: must be greater than zero, e.g. 2s")
        if self.max_in_flight is not None and not 1 <= self.max_in_flight <= MAX_IN_FLIGHT:
            raise UsageError(f"invalid in-flight cap: must be between 1 and {MAX_IN_FLIGHT}")
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
        return min(math.ceil(self.rate * self.timeout) + 16, MAX_IN_FLIGHT)


def target_ip(url: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IP a target URL names (``localhost`` is loopback); UsageError when it is not an
    http(s) URL with an IP."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"invalid target URL {url!r}: use http://IP[:PORT]/PATH")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise UsageError(f"invalid port in target URL {url!r}") from None
    if parts.hostname == "localhost":
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(parts.hostname)
    except ValueError:
        raise UsageError(
            f"target {url!r} names a host; use an IP (loopback or a node of the cluster)"
        ) from None


def check_target(url: str, cluster: tuple[str, ...] = ()) -> None:
    """Raise :class:`UsageError` unless ``url`` is http(s) to loopback or to one of the
    ``cluster`` addresses (the nodes of the cluster under test). Nothing else is ever a
    target: not another private address, not a host name."""
    ip = target_ip(url)
    if ip.is_loopback or str(ip) in cluster:
        return
    nodes = f" ({', '.join(cluster)})" if cluster else " (none is up)"
    raise UsageError(
        f"target {url!r} is neither loopback nor a node of the cluster under test{nodes}: "
        "chaos load only sends to those"
    )
