"""How a run stops early, and why a stop never costs the cluster its restore.

An operator stops a run with Ctrl-C (SIGINT), SIGTERM, SIGHUP (the terminal went away) or
``chaos stop`` (SIGUSR1, sent to the lock's holder); the run itself stops when its cluster
disappears. Every way means the same: stop acting, stop the load, restore, write the
result, exit 130. What a signal does depends on where the run is:

    setup     the set-up is interrupted at once (:class:`Interrupted` is raised)
    phases    the stop is *requested*: the phases' watcher cancels the steps and sleeps,
              a step already acting on the cluster finishes first (never abandoned), the
              load is stopped cleanly
    restore   shielded: the restore finishes; a further signal only says "restoring,
              please wait"; the third signal of the run gives up (:class:`RestoreAbandoned`)
              with an honest message naming what is left and ``chaos recover``
    finish    results are being written: the signal is only acknowledged
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Literal

Stage = Literal["setup", "phases", "restore", "finish"]
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1)
GIVE_UP_AFTER = 3  # the signal of the run that abandons a restore


class Interrupted(KeyboardInterrupt):
    """A signal interrupted the set-up; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RestoreAbandoned(KeyboardInterrupt):
    """The operator insisted (a third signal): the restore is given up."""


def describe(signum: int) -> str:
    if signum == signal.SIGUSR1:
        return "stopped by `chaos stop`"
    if signum == signal.SIGINT:
        return "interrupted (Ctrl-C)"
    return f"interrupted by {signal.Signals(signum).name}"


def _say(message: str) -> None:
    try:  # after a SIGHUP the terminal may be gone; the restore must not die of it
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except OSError:
        pass


class Stopper:
    """The run's stop request: set by a signal, the kill switch or the run itself (its
    cluster vanished); read by the phases' watcher and the steps. Installs its signal
    handlers for the ``with`` block (main thread only)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""
        self.stage: Stage = "setup"
        self.signals = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Stopper:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    @property
    def requested(self) -> bool:
        return self.event.is_set()

    def request(self, reason: str) -> None:
        """Ask the run to stop (the first reason is kept)."""
        if not self.event.is_set():
            self.reason = reason
            self.event.set()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.signals += 1
        if self.stage in ("restore", "finish"):
            if self.stage == "restore" and self.signals >= GIVE_UP_AFTER:
                raise RestoreAbandoned(describe(signum))
            more = GIVE_UP_AFTER - self.signals
            tail = (
                f"; interrupt {more} more time{'s' if more > 1 else ''} to give up the "
                "restore (then run `chaos recover`)"
                if self.stage == "restore" and more > 0
                else ""
            )
            _say(f"restoring the cluster, please wait{tail}")
            return
        if self.requested:
            _say("already stopping: the run restores the cluster next, please wait")
            return
        self.request(describe(signum))
        if self.stage == "setup":
            raise Interrupted(self.reason)
        _say(f"{self.reason}: stopping the run, then restoring the cluster")
