"""Real load runs for the analysis tests: the real load generator against real HTTP servers in
the test process (see ``tests/load/conftest.py``) whose behaviour changes at known times."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaos.load import LoadConfig, LoadSummary, run_load
from tests.load.conftest import TestServer

RATE = 200.0  # requests per second over both targets
FAULT_AT = 1.2  # the fault phase starts here (seconds after t0, a window boundary, as a run's)
ACTS_AFTER = 0.08  # the fault acts this long after its phase began (as a step does): B
OUTAGE = 2.0  # answers 502 from then on, for this long
DURATION = 10.0  # long enough for SUSTAIN_BUCKETS good buckets after the outage
# A run the generator could not keep up with (a busy machine) measured itself; try again.
ATTEMPTS = 3


class FlakyServer(TestServer):
    """The test server, answering 502 to every request arriving in [fail_start, fail_end)
    (monotonic seconds)."""

    __test__ = False

    def __init__(self) -> None:
        super().__init__()
        self.failing = (0.0, 0.0)

    async def _respond(self, path: str, close: bool, writer: asyncio.StreamWriter) -> bool:
        start, end = self.failing
        if start <= time.monotonic() < end:
            path = "/status/502"
        return await super()._respond(path, close, writer)


def on_grid(t: float, up: bool) -> float:
    """``t`` moved to the load's window grid (100 ms), as the runner starts its phases."""
    steps = t / 0.1
    return round((math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)) * 0.1, 6)


@dataclass(frozen=True)
class Run:
    """A finished load run: ``fault_start`` and ``fault_end`` in seconds after its t0, the
    fault phase's bounds on the window grid (the fault acts inside them)."""

    load_dir: Path
    summary: LoadSummary
    a: str
    b: str
    fault_start: float
    fault_end: float


@pytest.fixture(scope="session")
def outage_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Targets A and B at 200/s total for 10 s; the fault phase starts at 1.2 s, and B answers
    502 for 2 s from 80 ms after that."""
    a, b = FlakyServer(), FlakyServer()
    a.start()
    b.start()
    try:
        for _attempt in range(ATTEMPTS):
            out = tmp_path_factory.mktemp("outage")
            base = time.monotonic()
            acts = base + FAULT_AT + ACTS_AFTER
            b.failing = (acts, acts + OUTAGE)
            config = LoadConfig(targets=(a.url(), b.url()), rate=RATE, duration=DURATION)
            summary = asyncio.run(run_load(config, out_dir=out))
            if not summary.generator_limited:
                break
        offset = base - summary.run.t0_monotonic  # server times on the run's clock
        acted = offset + FAULT_AT + ACTS_AFTER
        start, end = on_grid(acted, up=False), on_grid(acted + OUTAGE, up=True)
        yield Run(out, summary, a.url(), b.url(), start, end)
    finally:
        a.stop()
        b.stop()


@pytest.fixture(scope="session")
def stall_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """One target at 200/s for 3 s; the server holds every request arriving in [1 s, 2 s)."""
    srv = TestServer()
    srv.start()
    try:
        out = tmp_path_factory.mktemp("stall")
        base = time.monotonic()
        srv.stall(base + 1.0, base + 2.0)
        config = LoadConfig(targets=(srv.url(),), rate=RATE, duration=3.0, timeout=3.0)
        summary = asyncio.run(run_load(config, out_dir=out))
        offset = base - summary.run.t0_monotonic
        yield Run(out, summary, srv.url(), srv.url(), offset + 1.0, offset + 2.0)
    finally:
        srv.stop()


def require_clean(run: Run) -> None:
    """Skip a timing-precise assertion when the generator's own send lag went past the
    fault's margin (``ACTS_AFTER``): a request sent that late after its intended time can
    land on the other side of the fault, and the run measured the busy machine."""
    lag = run.summary.send_lag_ms.max
    if lag is not None and lag > ACTS_AFTER * 1000:
        pytest.skip(f"the machine was too busy: the generator was up to {lag:.0f} ms late")
