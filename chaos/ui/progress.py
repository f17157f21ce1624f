"""Progress of the long waits: a wait made of stages (``lab up``, a VM boot, an image build)
and a series of runs (a suite, a sweep: run i of N, elapsed, estimated time left).

Both print the same lines with or without a terminal, so logs keep what they had; on an
interactive terminal :class:`Stages` adds a spinner with the elapsed time on stderr, and a
:class:`Series` puts its "run i of N" line into the live view of the run under way
(:func:`current_series`; rich draws one live display at a time, so the series has none of
its own while a run draws its view).

Usage::

    with Stages("lab up") as stages:          # a ``log`` callback: each call is a line
        Lab.up(config, log=stages)            # stages.doing("booting node-002") for the spinner

    with Series("suite ci.yaml", [exp_seconds, ...]) as series:   # or series.close() after
        for ...:
            series.start("leader-kill -> reports/...")
            # prints "[2/5] leader-kill -> reports/...  (3m12s elapsed, ~8m05s left)"
            ...
            series.done("verdict: pass (exit 0)")
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from rich.console import Console
from rich.errors import LiveError
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from chaos.fmt import text_estimate
from chaos.ui.console import interactive, stderr_console

Out = Callable[[str], None]


def _print(message: str) -> None:
    print(message, flush=True)


class Stages:
    """A wait made of stages, each ending with a line; callable, so it goes wherever a
    ``log: Callable[[str], None]`` does. Lines go to ``out`` (stdout by default); on an
    interactive terminal (stdout and stderr both) they are printed above a transient
    spinner on stderr that shows the title, what is under way and the elapsed time."""

    def __init__(
        self,
        title: str,
        *,
        out: Out = _print,
        console: Console | None = None,
        stdout_is_terminal: bool | None = None,
        auto_refresh: bool = True,
    ) -> None:
        self.title = title
        self.out = out
        self.console = console or stderr_console()
        self.stdout_is_terminal = (
            sys.stdout.isatty() if stdout_is_terminal is None else stdout_is_terminal
        )
        self.auto_refresh = auto_refresh
        self.lines: list[str] = []
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._lock = threading.Lock()  # a log callback may be called from worker threads

    def __enter__(self) -> Stages:
        # interactive only when stdout is the terminal too: lines piped to a file must stay
        # on stdout, and then a spinner on stderr would only interleave with them
        if interactive(self.console) and self.stdout_is_terminal:
            progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
                auto_refresh=self.auto_refresh,
            )
            try:
                progress.start()
            except LiveError:  # another live display (a run's view) is up: lines only
                return self
            self._progress = progress
            self._task = progress.add_task(self.title, total=None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            progress, self._progress = self._progress, None
        if progress is not None:
            progress.stop()

    def __call__(self, message: str) -> None:
        """A line that stays (a stage is done, or something worth keeping happened)."""
        with self._lock:
            self.lines.append(message)
            if self._progress is None:
                self.out(message)
                return
            self._progress.console.print(Text(message))
            self._describe(message)

    def doing(self, what: str) -> None:
        """What the wait is on now: shown by the spinner only (nothing in a log)."""
        with self._lock:
            self._describe(what)

    def _describe(self, what: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=f"{self.title}: {what}")


def estimate_left(
    took: Sequence[float],
    expected_done: Sequence[float | None],
    expected_todo: Sequence[float | None],
    current_elapsed: float = 0.0,
) -> float | None:
    """Seconds left in a series. ``took``: how long each finished run took; ``expected_done``
    their expected seconds (a schedule's phases and step bounds: set-up and restore come on
    top, so runs take longer than that); ``expected_todo``: the expected seconds of the run
    under way (first, ``current_elapsed`` into it) and of the ones after it.

    Runs with an expectation are scaled by how much longer the finished ones took than
    expected; those without count as the mean finished run. None when nothing is known."""
    pairs = [(t, e) for t, e in zip(took, expected_done, strict=True) if e]
    ratio = sum(t for t, _ in pairs) / sum(e for _, e in pairs) if pairs else None
    mean = sum(took) / len(took) if took else None
    total = 0.0
    for i, expected in enumerate(expected_todo):
        if expected is not None:
            est = expected * (ratio if ratio is not None else 1.0)
        elif mean is not None:
            est = mean
        else:
            return None
        total += max(0.0, est - current_elapsed) if i == 0 else est
    return total


_active: list[Series] = []
_active_lock = threading.Lock()


def current_series() -> str | None:
    """The innermost running series' line ("suite ci.yaml: run 2 of 5, ..."), if any."""
    with _active_lock:
        series = _active[-1] if _active else None
    return series.line() if series is not None else None


class Series:
    """Runs in sequence: ``start`` before each, ``done`` after it. ``expected``: each run's
    expected seconds, in order (``None``: unknown); its length is N."""

    def __init__(
        self,
        title: str,
        expected: Sequence[float | None],
        *,
        out: Out = _print,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.title = title
        self.expected = list(expected)
        self.out = out
        self.clock = clock
        self.started = clock()
        self.took: list[float] = []
        self._index = 0  # 1-based number of the run under way (0: none yet)
        self._run_started: float | None = None

    @property
    def total(self) -> int:
        return len(self.expected)

    def __enter__(self) -> Series:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """No longer the current series (idempotent)."""
        with _active_lock:
            if self in _active:
                _active.remove(self)

    def left(self) -> float | None:
        done = len(self.took)
        elapsed = self.clock() - self._run_started if self._run_started is not None else 0.0
        return estimate_left(self.took, self.expected[:done], self.expected[done:], elapsed)

    def _progress(self) -> str:
        left = self.left()
        elapsed = f"{text_estimate(self.clock() - self.started)} elapsed"
        return elapsed if left is None else f"{elapsed}, ~{text_estimate(left)} left"

    def start(self, label: str) -> None:
        """Run ``label`` starts; from now until :meth:`close` this is the current series."""
        with _active_lock:
            if self not in _active:
                _active.append(self)
        self._index = len(self.took) + 1
        self._run_started = self.clock()
        self.out(f"[{self._index}/{self.total}] {label}  ({self._progress()})")

    def done(self, message: str) -> None:
        if self._run_started is not None:
            self.took.append(self.clock() - self._run_started)
            self._run_started = None
        took = text_estimate(self.took[-1]) if self.took else "?"
        self.out(f"  {message}  (took {took})")

    def line(self) -> str:
        if self._index == 0:
            return f"{self.title}: {self.total} runs, {self._progress()}"
        return f"{self.title}: run {self._index} of {self.total}, {self._progress()}"
