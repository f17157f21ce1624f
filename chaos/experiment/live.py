"""The live view of a run on stderr.

On an interactive terminal: a panel redrawn twice a second in place (rich), with the phase
and its progress, elapsed and time left, the fault steps, per node IP the last second's ok
and error rates, error kinds, p99 and failures so far, each node's power, status,
availability and manager status, the leader, and the last control-plane events; lines that
stay (:meth:`LiveView.say`) scroll above it. Otherwise (CI, a pipe, ``TERM=dumb``): those
lines, and one status line every 5 s. ``enabled=False`` (``--quiet``): nothing.

Its numbers are the ones that go to disk: the load's windows as the runner reads them back
from ``timeline.jsonl`` (:meth:`on_window`) and the run's event log, which it reads through
``observer.log`` (the observer's :class:`~chaos.timeline.EventLog`, the one every step,
phase and control-plane event is emitted to), so steps and events need no calls of their own.

How the runner drives it (every method is thread-safe; ``on_window`` comes from the load's
tail thread, the rest from the main thread)::

    live = LiveView(targets, enabled=opts.live, schedule=Schedule.of(exp))
    live.say("run ...")              # a line that stays
    live.observer = observer         # once it started: leader, nodes, power, events
    live.phase = "warmup"            # each phase as it starts
    ...
    live.close()                     # after the restore, before the end-of-run summary

The view never slows the load: the load generator runs in a process of its own, and this
view's work is folding 30 small records a second plus a redraw every 0.5 s (see
``scripts/bench_live.py``).
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol

from rich.console import Console, RenderableType
from rich.errors import LiveError
from rich.live import Live
from rich.text import Text

from chaos.experiment.livedata import EventTail, LiveFrame, NodeLine, Rolling, Steps, ip_of
from chaos.experiment.livepanel import panel, status_line
from chaos.experiment.observer import Snapshot
from chaos.experiment.schedule import Schedule
from chaos.load import TimelineEntry
from chaos.timeline import EventLog
from chaos.ui.console import interactive, stderr_console
from chaos.ui.progress import current_series


class Observed(Protocol):
    """What the view reads of :class:`chaos.experiment.observer.Observer`."""

    @property
    def snapshot(self) -> Snapshot: ...

    @property
    def log(self) -> EventLog: ...


REFRESH_PER_SECOND = 2.0  # the issue asks for at least once a second; each redraw costs CPU
PLAIN_EVERY = 5.0  # seconds between status lines in a log


class LiveView:
    def __init__(
        self,
        node_of: dict[str, str],
        enabled: bool = True,
        *,
        schedule: Schedule | None = None,
        console: Console | None = None,
        auto_refresh: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``node_of``: target URL -> node name (the load's targets, one per node IP);
        ``schedule``: the run's phase lengths and steps (elapsed/left, the steps before they
        start); ``console``, ``auto_refresh`` and ``clock`` are for tests."""
        self.node_of = node_of
        self.enabled = enabled
        self.console = console or stderr_console()
        self.tty = interactive(self.console)
        self.schedule = schedule
        self.observer: Observed | None = None
        self._clock = clock
        self._auto_refresh = auto_refresh
        self.started = clock()
        self._lock = threading.Lock()
        self._phase = "setup"
        self._phase_started = self.started
        self._rolling = Rolling()
        self._steps = Steps(schedule)
        self._tail = EventTail(self._steps)
        self._live: Live | None = None
        self._closed = False
        self._starting = False
        self._last_plain: float | None = None

    # -- what the runner calls -----------------------------------------------------------
    @property
    def phase(self) -> str:
        return self._phase

    @phase.setter
    def phase(self, name: str) -> None:
        with self._lock:
            self._phase = name
            self._phase_started = self._clock()
        self._start()

    def on_window(self, entries: Sequence[TimelineEntry]) -> None:
        """The load's newest windows (100 ms per target), as read back from disk."""
        with self._lock:
            self._rolling.add(entries)
        if not self.enabled:
            return
        if self.tty and self._start():
            return  # the live display redraws on its own thread
        now = self._clock()
        if self._last_plain is None or now - self._last_plain >= PLAIN_EVERY:
            self._last_plain = now
            self._write(status_line(self.frame()))

    def say(self, message: str) -> None:
        """A line that stays (the plan, phase changes, steps, the restore)."""
        if not self.enabled:
            return
        if self.tty and self._start():
            # through the console: while the panel is up, rich prints the line above it
            self.console.print(Text(message))
        else:
            self._write(message)

    def close(self) -> None:
        """Stop redrawing (the panel goes; the lines stay). Idempotent."""
        with self._lock:
            live, self._live = self._live, None
            self._closed = True
        if live is not None:
            live.stop()
            atexit.unregister(self.close)

    def __enter__(self) -> LiveView:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- what is drawn -------------------------------------------------------------------
    def frame(self) -> LiveFrame:
        """The numbers of one refresh, taken under the lock (cheap: no drawing here)."""
        observer = self.observer
        with self._lock:
            now = None
            snap = None
            if observer is not None:
                self._tail.read(observer.log.events)
                now = observer.log.clock.now()
                snap = observer.snapshot
            clock = self._clock()
            phase_elapsed = clock - self._phase_started
            schedule = self.schedule
            left = None
            if schedule is not None:
                left = schedule.left(
                    self._phase,
                    phase_elapsed,
                    self._steps.current(),
                    self._steps.elapsed_of_current(now),
                )
            nodes = []
            for url, node in self.node_of.items():
                view = snap.nodes.get(node) if snap is not None else None
                nodes.append(
                    NodeLine(
                        node=node,
                        ip=ip_of(url),
                        power=snap.power.get(node, "") if snap is not None else "",
                        status=view.state if view else "",
                        availability=view.availability if view else "",
                        manager=view.manager_status if view else "",
                        second=self._rolling.second(url),
                        failed=self._rolling.failed.get(url, 0),
                    )
                )
            return LiveFrame(
                phase=self._phase,
                run_elapsed_s=clock - self.started,
                phase_elapsed_s=phase_elapsed,
                phase_length_s=schedule.phase_length(self._phase) if schedule else None,
                left=left,
                steps=self._steps.lines(now),
                nodes=tuple(nodes),
                observed=snap is not None and snap.at > 0.0,
                leader=snap.leader if snap is not None else None,
                api_ok=snap.api_ok if snap is not None else True,
                api_error=snap.api_error if snap is not None else "",
                now=now,
                events=tuple(self._tail.tail),
                series=current_series(),
            )

    def render(self) -> RenderableType:
        try:
            return panel(self.frame())
        except Exception as exc:  # a drawing bug must not end the run (or the refresh thread)
            return Text(f"live view: cannot draw ({exc!r})", style="red")

    def refresh(self) -> None:
        """Redraw now (the display also redraws on its own every 0.5 s)."""
        live = self._live
        if live is not None:
            live.refresh()

    # -- internals -----------------------------------------------------------------------
    def _start(self) -> bool:
        """Start the live display on first use (constructing a view draws nothing); True
        when it runs. Off a terminal, disabled, closed, or when another live display is up
        (rich draws one at a time): False, and the view prints plain lines."""
        if not (self.enabled and self.tty):
            return False
        with self._lock:
            if self._live is not None or self._starting:
                return True  # up, or coming up on another thread
            if self._closed:
                return False
            self._starting = True
        # built and started outside the lock: rich draws the first frame right away, and
        # drawing takes the lock
        live = Live(
            console=self.console,
            get_renderable=self.render,
            auto_refresh=self._auto_refresh,
            refresh_per_second=REFRESH_PER_SECOND,
            transient=True,
            # a stray write to stderr (a warning) scrolls above the panel instead of tearing
            # it; stdout is left alone: it may be a pipe that --json writes to
            redirect_stdout=False,
            redirect_stderr=True,
        )
        try:
            live.start()
        except LiveError:
            with self._lock:
                self._starting = False
                self.tty = False
            return False
        with self._lock:
            self._live, self._starting = live, False
        atexit.register(self.close)  # a crash must not leave the cursor hidden
        return True

    def _write(self, line: str) -> None:
        out = self.console.file
        out.write(line + "\n")
        out.flush()
