"""The run loop against a real HTTP server in the test process (see conftest.py).

One contract suite, run against every engine on both event loops (asyncio's default and
uvloop, through the same runner options an experiment uses). No test bounds performance: timing
assertions check pacing and deadlines with tolerances for a loaded 2-core machine.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest

from chaos.load import Connection, LoadConfig, TimelineEntry, load_summary, load_timeline, run_load
from chaos.load.engines import ENGINE_NAMES
from chaos.load.hlog import read_hlog
from chaos.load.loops import LOOP_NAMES, UVLOOP
from chaos.load.summary import HLOG_ALL_FILE, HLOG_FILE, LoadSummary, load_run_info

from .conftest import TestServer

T = TypeVar("T")

pytestmark = [
    pytest.mark.parametrize("engine", ENGINE_NAMES),
    pytest.mark.parametrize("loop", LOOP_NAMES),
]


def _anyio_run(loop: str, main: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(main, backend_options={"use_uvloop": loop == UVLOOP})


def _run(loop: str, config: LoadConfig, **kwargs: Any) -> LoadSummary:
    async def main() -> LoadSummary:
        return await run_load(config, **kwargs)

    summary = _anyio_run(loop, main)
    assert summary.run.loop == loop
    return summary


def test_pacing_counts_per_window_match_rate(server: TestServer, engine: str, loop: str) -> None:
    # httpx costs 5-9x the CPU per request (BENCHMARKS.md) and shares the GIL with the test's
    # server thread: pace it at a rate it holds with room to spare on a busy 2-core machine
    rate, duration = (100.0 if engine == "httpx" else 200.0), 2.5
    summary = _run(
        loop, LoadConfig(targets=(server.url(),), rate=rate, duration=duration, engine=engine)
    )
    assert summary.requests.total == int(rate * duration)
    assert summary.requests.ok == int(rate * duration)
    assert summary.requests.dropped == 0
    # Count what the server actually received per 100 ms (by arrival, not by schedule).
    t0 = summary.run.t0_monotonic
    per_window = Counter(int((a - t0) / 0.1) for a in server.arrivals)
    counts = [per_window.get(w, 0) for w in range(25)]
    expected = rate * 0.1
    assert statistics.median(counts) == pytest.approx(expected, abs=2)
    near = sum(1 for c in counts if abs(c - expected) <= 0.25 * expected)
    assert near >= 0.8 * len(counts), counts
    per_second = [sum(counts[s * 10 : (s + 1) * 10]) for s in range(2)]
    for n in per_second:
        # httpx's heavy per-request path shifts a few arrivals across the 1 s boundary
        assert n == pytest.approx(rate, rel=0.12 if engine == "httpx" else 0.05), per_second
    assert summary.achieved_rate == pytest.approx(rate, rel=0.02)
    # the timeline buckets by intended time: exactly rate x window per window
    assert [e.total for e in summary.timeline] == [int(expected)] * 25
    assert [e.t for e in summary.timeline] == [round(k * 0.1, 6) for k in range(25)]


def test_server_stall_is_charged_to_requests_scheduled_during_it(
    server: TestServer, engine: str, loop: str
) -> None:
    base = time.monotonic()
    server.stall(base + 1.0, base + 2.0)
    summary = _run(
        loop,
        LoadConfig(targets=(server.url(),), rate=200.0, duration=3.0, timeout=3.0, engine=engine),
    )
    offset = base - summary.run.t0_monotonic  # stall times on the run's clock
    assert summary.requests.ok == 600  # nothing omitted: all sent, all answered
    stall_end = offset + 2.0
    by_t = {e.t: e for e in summary.timeline}
    for t in (1.1, 1.3, 1.5, 1.7):
        entry = by_t[t]
        assert entry.ok == 20  # requests scheduled during the stall are all there...
        # ...and their latency runs from their intended time to the stall's end
        assert entry.p50_ms is not None
        expected_ms = (stall_end - (t + 0.05)) * 1000
        assert entry.p50_ms >= expected_ms - 60, (t, entry)
    assert summary.latency_ms.max is not None and summary.latency_ms.max >= 850
    early = [by_t[t].p50_ms for t in (0.2, 0.4, 0.6)]
    assert all(p is not None and p < 500 for p in early), early


def test_each_error_kind_for_real_and_per_target(
    server: TestServer, closed_port: int, engine: str, loop: str
) -> None:
    targets = (
        server.url("/ok"),
        server.url("/status/404"),
        server.url("/status/503"),
        f"http://127.0.0.1:{closed_port}/",
        server.url("/abort"),
        server.url("/close"),
        server.url("/hang"),
    )
    summary = _run(
        loop, LoadConfig(targets=targets, rate=70.0, duration=1.0, timeout=0.5, engine=engine)
    )
    assert summary.requests.total == 70
    kinds = {url: t.requests for url, t in summary.targets.items()}
    assert list(kinds) == list(targets)
    for counts in kinds.values():
        assert counts.total == 10
    assert kinds[targets[0]].ok == 10
    assert kinds[targets[1]].errors == {"http_4xx": 10}
    assert kinds[targets[2]].errors == {"http_5xx": 10}
    assert kinds[targets[3]].errors == {"refused": 10}
    abort = kinds[targets[4]].errors
    assert set(abort) <= {"reset", "server_disconnected"} and sum(abort.values()) == 10, abort
    assert kinds[targets[5]].errors == {"server_disconnected": 10}
    assert kinds[targets[6]].errors == {"timeout": 10}
    assert summary.requests.ok == 10
    assert summary.requests.errors["timeout"] == 10
    # the timeout lands at the deadline (0.5 s), not at the generator's backstop
    hang = summary.targets[targets[6]]
    assert hang.latency_all_ms.p50 is not None and 500 <= hang.latency_all_ms.p50 < 1200
    # errors stay out of the success latency
    assert summary.targets[targets[3]].latency_ms.p50 is None


def test_in_flight_cap_drops_and_blames_the_generator(
    server: TestServer, engine: str, loop: str
) -> None:
    summary = _run(
        loop,
        LoadConfig(
            targets=(server.url("/hang"),),
            rate=50.0,
            duration=0.4,
            timeout=0.5,
            max_in_flight=2,
            engine=engine,
        ),
    )
    assert summary.requests.total == 20
    assert summary.requests.dropped == 18
    assert summary.requests.errors == {"dropped": 18, "timeout": 2}
    assert summary.requests.generator_errors == 18
    assert summary.generator_limited is True
    assert summary.achieved_rate == pytest.approx(2 / 0.4)


@pytest.mark.parametrize("connection", list(Connection))
def test_connection_modes(
    server: TestServer, engine: str, loop: str, connection: Connection
) -> None:
    summary = _run(
        loop,
        LoadConfig(
            targets=(server.url(),),
            rate=200.0,
            duration=1.0,
            engine=engine,
            connection=connection,
            keepalive_max_requests=10,
        ),
    )
    assert summary.requests.ok == 200
    if connection is Connection.NEW:
        assert server.connections == 200
    else:  # recycled after a bounded number of requests: about every 10 (5 to 20)
        assert 200 / 20 - 2 <= server.connections <= 200 / 5 + 10, server.connections


def test_out_dir_streams_files_that_agree(
    server: TestServer, engine: str, loop: str, tmp_path: Path
) -> None:
    targets = (server.url("/ok"), server.url("/status/500"))
    seen: list[Sequence[TimelineEntry]] = []
    summary = _run(
        loop,
        LoadConfig(targets=targets, rate=200.0, duration=1.0, engine=engine),
        out_dir=tmp_path,
        on_window=seen.append,
    )
    assert load_summary(tmp_path) == summary
    timeline = load_timeline(tmp_path)
    assert timeline == summary.timeline
    assert [e for entries in seen for e in entries] == timeline
    assert len(timeline) == 10 * 2
    info = load_run_info(tmp_path)
    assert info.t0_epoch == pytest.approx(time.time(), abs=60)
    # the interval logs decode back to the same counts, per window and target and in total
    ok_log, all_log = read_hlog(tmp_path / HLOG_FILE), read_hlog(tmp_path / HLOG_ALL_FILE)
    assert ok_log.start_epoch == pytest.approx(info.t0_epoch, abs=1e-3)
    for entry in timeline:
        ok_hist = ok_log.merged(entry.target, entry.t - 1e-6, entry.t + 0.05)
        all_hist = all_log.merged(entry.target, entry.t - 1e-6, entry.t + 0.05)
        assert ok_hist.get_total_count() == entry.ok
        assert all_hist.get_total_count() == entry.total
    assert all_log.merged(None).get_total_count() == summary.requests.total == 200
    assert ok_log.merged(None).get_total_count() == summary.requests.ok == 100
    assert ok_log.merged(targets[1]).get_total_count() == 0


def test_open_ended_run_stops_on_event(server: TestServer, engine: str, loop: str) -> None:
    seen: list[float] = []

    async def main() -> LoadSummary:
        stop = anyio.Event()

        async def stopper() -> None:
            await anyio.sleep(0.6)
            stop.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(stopper)
            result = await run_load(
                LoadConfig(targets=(server.url(),), rate=100.0, engine=engine),
                stop=stop,
                on_window=lambda es: seen.extend(e.t for e in es),
            )
        return result

    summary = _anyio_run(loop, main)
    assert 30 <= summary.requests.total <= 100
    assert summary.requests.ok == summary.requests.total
    assert seen == sorted(seen) and len(seen) >= 5
    assert summary.achieved_rate == pytest.approx(100.0, rel=0.1)


# Known, not yet fixed: cancelling a run while requests hang sometimes leaves one socket for
# the garbage collector (ResourceWarning, reported as unraisable). The test checks what it is
# for (the run ends at once, files are closed, no summary); the leak is tracked separately.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_cancellation_ends_the_run_and_closes_files(
    server: TestServer, engine: str, loop: str, tmp_path: Path
) -> None:
    async def main() -> None:
        with anyio.move_on_after(0.5):
            await run_load(
                LoadConfig(
                    targets=(server.url("/hang"),),
                    rate=50.0,
                    duration=10.0,
                    timeout=5.0,
                    engine=engine,
                ),
                out_dir=tmp_path,
            )

    started = time.monotonic()
    _anyio_run(loop, main)
    assert time.monotonic() - started < 4.0  # did not wait for the 10 s run or 5 s deadlines
    assert not (tmp_path / "summary.json").exists()
    assert (tmp_path / "run.json").exists()
    gc.collect()  # a leaked socket is reported here, under this test's filters


def test_pacing_without_spin_sleeps_only(server: TestServer, engine: str, loop: str) -> None:
    summary = _run(
        loop,
        LoadConfig(targets=(server.url(),), rate=200.0, duration=1.0, engine=engine, spin=0.0),
    )
    assert summary.requests.ok == 200
    assert [e.total for e in summary.timeline] == [20] * 10
