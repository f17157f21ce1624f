"""Outcome kinds and the errno mapping at the engine boundary."""

from __future__ import annotations

import errno

import pytest

from chaos.load.engines.base import classify_oserror, exception_chain
from chaos.load.outcome import Outcome, Result


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.OK),
        (204, Outcome.OK),
        (302, Outcome.OK),
        (404, Outcome.HTTP_4XX),
        (429, Outcome.HTTP_4XX),
        (500, Outcome.HTTP_5XX),
        (503, Outcome.HTTP_5XX),
        (101, Outcome.OTHER),
    ],
)
def test_from_status(status: int, outcome: Outcome) -> None:
    assert Outcome.from_status(status) is outcome


def _wrapped(inner: Exception, how: str) -> Exception:
    outer = RuntimeError("library error")
    if how == "cause":
        outer.__cause__ = inner
    elif how == "context":
        outer.__context__ = inner
    else:
        outer.__cause__ = ExceptionGroup("attempts", [ValueError("x"), inner])
    return outer


@pytest.mark.parametrize("how", ["cause", "context", "group"])
@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (errno.ECONNREFUSED, Outcome.REFUSED),
        (errno.ETIMEDOUT, Outcome.CONNECT_TIMEOUT),
        (errno.EHOSTUNREACH, Outcome.UNREACHABLE),
        (errno.ENETUNREACH, Outcome.UNREACHABLE),
        (errno.ECONNRESET, Outcome.RESET),
        (errno.EPIPE, Outcome.RESET),
    ],
)
def test_errno_found_through_the_chain(code: int, outcome: Outcome, how: str) -> None:
    exc = _wrapped(OSError(code, "boom"), how)
    assert classify_oserror(exc) is outcome


def test_no_errno_gives_none() -> None:
    assert classify_oserror(_wrapped(ValueError("x"), "cause")) is None


def test_chain_survives_cycles() -> None:
    a, b = RuntimeError("a"), RuntimeError("b")
    a.__context__, b.__context__ = b, a
    assert len(list(exception_chain(a))) == 2


def test_generator_faults() -> None:
    assert {o for o in Outcome if o.is_generator_fault} == {Outcome.DROPPED, Outcome.POOL}
    assert not Outcome.OK.is_error


def test_result_times() -> None:
    r = Result(0, 0, intended=1.0, sent=1.002, done=1.010, outcome=Outcome.OK)
    assert r.latency == pytest.approx(0.010)
    assert r.service_time == pytest.approx(0.008)
    assert r.send_lag == pytest.approx(0.002)
    dropped = Result(1, 0, intended=1.0, sent=None, done=1.0, outcome=Outcome.DROPPED)
    assert dropped.service_time is None and dropped.send_lag is None
