"""How one request ended: an :class:`Outcome` kind and the per-request :class:`Result` record.

Request failures are data, never exceptions. Every request ends as exactly one outcome:

    ok                    2xx or 3xx
    http_4xx / http_5xx   the server answered with that status class
    refused               connect got ECONNREFUSED (nothing listening)
    connect_timeout       the connection was not established before the deadline
    unreachable           EHOSTUNREACH / ENETUNREACH
    reset                 ECONNRESET / EPIPE while sending or reading
    server_disconnected   the peer closed the connection before a full response
    timeout               the total per-request deadline ran out after connecting
    pool                  generator-side: the client library's pool could not give a connection
    dropped               generator-side: the in-flight cap was full, the request was never sent
    other                 anything else (``Result.detail`` keeps the exception's repr)

``pool`` and ``dropped`` are the generator's fault, never the server's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    OK = "ok"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    REFUSED = "refused"
    CONNECT_TIMEOUT = "connect_timeout"
    UNREACHABLE = "unreachable"
    RESET = "reset"
    SERVER_DISCONNECTED = "server_disconnected"
    TIMEOUT = "timeout"
    POOL = "pool"
    DROPPED = "dropped"
    OTHER = "other"

    @property
    def is_error(self) -> bool:
        return self is not Outcome.OK

    @property
    def is_generator_fault(self) -> bool:
        """True for outcomes caused by the load generator itself, not by the server."""
        return self in _GENERATOR_FAULTS

    @classmethod
    def from_status(cls, status: int) -> Outcome:
        if 200 <= status < 400:
            return cls.OK
        if 400 <= status < 500:
            return cls.HTTP_4XX
        if status >= 500:
            return cls.HTTP_5XX
        return cls.OTHER  # 1xx as a final status: not something a server should send


_GENERATOR_FAULTS = frozenset({Outcome.POOL, Outcome.DROPPED})


@dataclass(frozen=True, slots=True)
class Response:
    """What an engine returns for one request: the outcome, the status if any, and a detail."""

    outcome: Outcome
    status: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Result:
    """One request, start to end. Times are seconds since the run's t0 on the monotonic clock.

    ``intended`` is when the pacer scheduled it, ``sent`` when it actually left (``None`` if
    dropped), ``done`` when its outcome was known. Latency counts from ``intended`` so that a
    stalled server or a stalled generator is charged to latency (no coordinated omission).
    """

    seq: int
    target: int
    intended: float
    sent: float | None
    done: float
    outcome: Outcome
    status: int | None = None
    detail: str = ""

    @property
    def latency(self) -> float:
        """Seconds from intended send time to outcome."""
        return max(0.0, self.done - self.intended)

    @property
    def service_time(self) -> float | None:
        """Seconds from actual send to outcome; ``None`` when never sent."""
        return None if self.sent is None else max(0.0, self.done - self.sent)

    @property
    def send_lag(self) -> float | None:
        """Seconds the send was late against its schedule; ``None`` when never sent."""
        return None if self.sent is None else max(0.0, self.sent - self.intended)
