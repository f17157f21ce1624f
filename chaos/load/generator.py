"""The run loop: pace, dispatch, collect, stream to disk.

Open loop: request i is due at ``t0 + i/rate`` on the monotonic clock (the event loop's clock,
``time.monotonic``); each wake-up dispatches every request that is due, each as its own task,
and never waits for earlier responses. At most ``config.in_flight_cap`` requests are in
flight; a request due while the cap is full is not sent and ends as ``dropped`` (the
generator's fault). Latency counts from the intended time, so stalls of the server or of the
generator are charged, not omitted.

Times are taken with :func:`time.monotonic` (not ``loop.time()``, which is a cached millisecond
clock on uvloop). The only timer per request is the engine's total deadline: every engine
returns by it (the engine contract), so the generator adds none of its own. Works on asyncio's
default loop and on uvloop; ``RunInfo.loop`` records which one ran.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio

from chaos.load.config import LoadConfig
from chaos.load.engines import make_engine
from chaos.load.engines.base import HttpEngine
from chaos.load.loops import running_loop_name
from chaos.load.outcome import Outcome, Result
from chaos.load.pacer import Pacer
from chaos.load.sink import OutDirSink, prepare_out_dir
from chaos.load.summary import LoadSummary, RunInfo, SummaryBuilder, TimelineEntry
from chaos.load.windows import ClosedWindow, WindowAccumulator

WindowCallback = Callable[[Sequence[TimelineEntry]], None]

# Longest sleep between wake-ups, so a stop event is seen promptly at low rates.
_MAX_NAP_S = 0.05


async def run_load(
    config: LoadConfig,
    *,
    out_dir: Path | None = None,
    on_window: WindowCallback | None = None,
    stop: anyio.Event | None = None,
) -> LoadSummary:
    """Run one load run to its ``duration`` (or until ``stop`` is set) and return the summary.

    ``on_window`` is called with the timeline entries (one per target) of each window as it
    closes, in time order. With ``out_dir`` the run streams ``run.json``, ``timeline.jsonl``,
    ``latency.hlog`` and ``latency-all.hlog`` there and writes ``summary.json`` at the end
    (see :mod:`chaos.load.sink`). Needs the asyncio backend. Cancelling the caller's scope
    cancels in-flight requests and closes the files; no summary is written then.
    """
    if config.duration is None and stop is None:
        raise ValueError("an open-ended run (duration=None) needs a stop event")
    if out_dir is not None:
        prepare_out_dir(out_dir)
    engine = make_engine(config)
    try:
        return await _Run(config, engine, out_dir, on_window, stop).run()
    finally:
        with anyio.CancelScope(shield=True):
            await engine.aclose()


class _Run:
    def __init__(
        self,
        config: LoadConfig,
        engine: HttpEngine,
        out_dir: Path | None,
        on_window: WindowCallback | None,
        stop: anyio.Event | None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.out_dir = out_dir
        self.on_window = on_window
        self.stop = stop
        self.pacer = Pacer(config.rate, config.duration)
        self.windows = WindowAccumulator(len(config.targets), config.window)
        self.in_flight = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.idle = asyncio.Event()
        self.t0 = 0.0
        self.builder: SummaryBuilder | None = None
        self.sink: OutDirSink | None = None

    async def run(self) -> LoadSummary:
        loop = asyncio.get_running_loop()
        clock = time.monotonic
        self.t0 = clock()
        t0_epoch = time.time()
        cfg = self.config
        info = RunInfo(
            targets=list(cfg.targets),
            rate=cfg.rate,
            duration_s=cfg.duration,
            timeout_s=cfg.timeout,
            connection=cfg.connection.value,
            engine=cfg.engine,
            in_flight_cap=cfg.in_flight_cap,
            window_s=cfg.window,
            t0_epoch=t0_epoch,
            t0_monotonic=self.t0,
            loop=running_loop_name(),
        )
        self.builder = SummaryBuilder(info)
        if self.out_dir is not None:
            self.sink = OutDirSink(self.out_dir, info)
        try:
            end = await self._send_all(loop, clock)
            await self._wait_idle(end)
            self._emit(self.windows.pop_all(end))
            summary = self.builder.build(end)
            if self.sink is not None:
                self.sink.write_summary(summary)
            return summary
        finally:
            with anyio.CancelScope(shield=True):
                for task in list(self.tasks):
                    task.cancel()
                if self.tasks:
                    await asyncio.gather(*self.tasks, return_exceptions=True)
                if self.sink is not None:
                    self.sink.close()

    async def _send_all(self, loop: asyncio.AbstractEventLoop, clock: Callable[[], float]) -> float:
        """Dispatch on schedule until the run's end; return the sending span in seconds."""
        pacer, t0, cap, spin = self.pacer, self.t0, self.config.in_flight_cap, self.config.spin
        targets = self.config.targets
        n_targets = len(targets)
        i = 0
        while True:
            now = clock() - t0
            if self.stop is not None and self.stop.is_set():
                return now
            due = pacer.due_count(now)
            while i < due:
                intended = pacer.due(i)
                k = i % n_targets
                self.windows.issue(intended)
                if self.in_flight >= cap:
                    self._finish(
                        Result(
                            i, k, intended, None, now, Outcome.DROPPED, detail="in-flight cap full"
                        )
                    )
                else:
                    self.in_flight += 1
                    task = loop.create_task(self._one(i, k, targets[k], intended, clock))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                i += 1
            self._emit(self.windows.pop_closed(now))
            if pacer.finished(i):
                # the schedule's span, however late the last send went out: a busy machine
                # must not add an empty window past the run's duration
                return pacer.duration if pacer.duration is not None else now
            nap = pacer.due(i) - (clock() - t0)
            # timers fire up to ~1 ms late: sleep until ``spin`` before due, then yield
            await asyncio.sleep(min(nap - spin, _MAX_NAP_S) if nap > spin else 0)

    async def _one(
        self, seq: int, target: int, url: str, intended: float, clock: Callable[[], float]
    ) -> None:
        sent = clock() - self.t0
        resp = await self.engine.send(url)
        done = clock() - self.t0
        self.in_flight -= 1
        self._finish(
            Result(seq, target, intended, sent, done, resp.outcome, resp.status, resp.detail)
        )
        if self.in_flight == 0:
            self.idle.set()

    def _finish(self, result: Result) -> None:
        self.windows.record(result)
        assert self.builder is not None
        self.builder.add_result(result)

    async def _wait_idle(self, end: float) -> None:
        """Wait for the requests in flight (each ends by its deadline), emitting windows."""
        clock = time.monotonic
        while self.in_flight > 0:
            self.idle.clear()
            try:
                async with asyncio.timeout(_MAX_NAP_S * 2):
                    await self.idle.wait()
            except TimeoutError:
                pass
            self._emit(self.windows.pop_closed(min(end, clock() - self.t0)))

    def _emit(self, closed: list[ClosedWindow]) -> None:
        if not closed:
            return
        assert self.builder is not None
        for window in closed:
            entries = self.builder.add_window(window)
            if self.sink is not None:
                self.sink.write_window(window, entries)
            if self.on_window is not None:
                self.on_window(entries)
        if self.sink is not None:
            self.sink.flush()
