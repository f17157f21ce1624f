"""Pure pacing arithmetic, table tests, no clock."""

from __future__ import annotations

import pytest

from chaos.load.pacer import Pacer


@pytest.mark.parametrize(
    ("rate", "i", "due"),
    [(100.0, 0, 0.0), (100.0, 1, 0.01), (100.0, 250, 2.5), (3.0, 1, 1 / 3), (0.5, 3, 6.0)],
)
def test_due_time_of_request_i(rate: float, i: int, due: float) -> None:
    assert Pacer(rate).due(i) == pytest.approx(due)


@pytest.mark.parametrize(
    ("rate", "duration", "t", "count"),
    [
        (100.0, None, -0.001, 0),
        (100.0, None, 0.0, 1),  # request 0 is due at t0
        (100.0, None, 0.0099, 1),
        (100.0, None, 0.01, 2),  # exactly on the due time counts as due
        (100.0, None, 1.0, 101),
        (300.0, None, 0.1, 31),  # float products like 0.1 * 300 land on their due time
        (3.0, None, 1.0, 4),
        (100.0, 1.0, 5.0, 100),  # capped by the run's total
        (100.0, 1.0, 0.995, 100),
    ],
)
def test_due_count(rate: float, duration: float | None, t: float, count: int) -> None:
    assert Pacer(rate, duration).due_count(t) == count


@pytest.mark.parametrize(
    ("rate", "duration", "total"),
    [
        (300.0, 30.0, 9000),
        (100.0, 0.0, 0),
        (3.0, 1.0, 3),
        (3.0, 1.1, 4),
        (1000.0, 0.1, 100),
        (7.0, None, None),
    ],
)
def test_total(rate: float, duration: float | None, total: int | None) -> None:
    assert Pacer(rate, duration).total == total


def test_finished_only_with_duration() -> None:
    assert Pacer(10.0, 1.0).finished(10)
    assert not Pacer(10.0, 1.0).finished(9)
    assert not Pacer(10.0).finished(10**9)


def test_every_request_is_due_exactly_once_when_dispatching_in_batches() -> None:
    """Waking at irregular times and dispatching all due requests covers each i once."""
    pacer = Pacer(1234.0, 2.0)
    sent = 0
    wakeups = [k * 0.00137 for k in range(1500)] + [2.5]
    for t in wakeups:
        n = pacer.due_count(t)
        for i in range(sent, n):
            assert pacer.due(i) <= t + 1e-9
        sent = max(sent, n)
    assert sent == pacer.total == 2468


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError):
        Pacer(rate)
