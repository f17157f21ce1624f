"""The load generator in a process of its own, so the observer and the steps (docker SDK
calls, JSON parsing: Python work under the GIL) never delay a send.

The child enters the platform's client namespace first (:mod:`chaos.netns`: its sockets can
reach the cluster and nothing else), then runs :func:`chaos.load.run_load` open-ended until
the parent says stop on a pipe. It ignores the terminal's signals (the parent handles them
and stops it cleanly, so the summary is written) and stops on its own when the pipe closes
(the parent died). A pipe rather than a multiprocessing Event: an Event is a named semaphore,
which a SIGKILLed parent leaks. If the child fails, it writes ``error.txt`` into the load
directory, so the cause is never lost.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from chaos.errors import PlatformError
from chaos.load import LoadConfig, TimelineEntry
from chaos.load.summary import RunInfo, load_run_info

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
ERROR_FILE = "error.txt"


def _child(config: LoadConfig, out_dir: Path, stop: Connection, netns: str | None) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    try:
        _serve(config, out_dir, stop, netns)
    except BaseException as exc:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / ERROR_FILE).write_text(
            f"the load generator failed: {exc!r}\n\n{traceback.format_exc()}"
        )
        raise SystemExit(1) from None


# The generator is the measuring instrument: where it shares the cores with the cluster under
# test (the local lab, the VMs), a busy engine must not delay its sends, or the run measures
# the generator. A higher CFS weight gives it the core when both are runnable.
NICE = -10


def _serve(config: LoadConfig, out_dir: Path, stop: Connection, netns: str | None) -> None:
    with contextlib.suppress(OSError):  # not root: run at the normal priority
        os.nice(NICE)
    if netns is not None:
        from chaos import netns as ns

        ns.enter(netns)  # before any thread or socket exists: all of them live there
    import anyio

    from chaos.load import run_load

    async def main() -> None:
        done = anyio.Event()

        async def watch() -> None:
            # a message or EOF (the parent is gone) both mean stop
            while not stop.poll():
                await anyio.sleep(0.05)
            done.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            await run_load(config, out_dir=out_dir, stop=done)
            tg.cancel_scope.cancel()

    options: dict[str, bool] = {}
    try:
        import uvloop  # noqa: F401

        options["use_uvloop"] = True
    except ImportError:
        pass
    anyio.run(main, backend="asyncio", backend_options=options)


class LoadProcess:
    def __init__(
        self,
        config: LoadConfig,
        out_dir: Path,
        on_window: Callable[[Sequence[TimelineEntry]], None] | None = None,
        *,
        netns: str | None = None,
    ) -> None:
        self.config = config
        self.out_dir = out_dir
        self.on_window = on_window
        ctx = mp.get_context("spawn")
        self._their_end, self._stop = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_child, args=(config, out_dir, self._their_end, netns), name="chaos-load",
            daemon=True,
        )  # fmt: skip
        self._tail_stop = threading.Event()
        self._tail = threading.Thread(target=self._tail_loop, name="load-tail", daemon=True)

    def start(self) -> RunInfo:
        """Start the child; returns its run info (t0) once it is sending."""
        self._proc.start()
        self._their_end.close()  # the child has its own copy
        deadline = time.monotonic() + START_TIMEOUT
        run_json = self.out_dir / "run.json"
        while not run_json.exists():
            if not self._proc.is_alive() or time.monotonic() > deadline:
                raise PlatformError(f"the load generator did not start: {self.failure()}")
            time.sleep(0.01)
        info = load_run_info(self.out_dir)
        self._tail.start()
        return info

    def failure(self) -> str:
        """Why the child ended early: its own words (``error.txt``), else how it died, which
        is then written to ``error.txt`` too (a signal or the kernel's OOM killer leave the
        child no time to say it): the load directory always says why it stopped."""
        try:
            return (self.out_dir / ERROR_FILE).read_text().splitlines()[0]
        except (OSError, IndexError):
            pass
        code = self._proc.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = f"the load generator was killed by {name}"
            if -code == signal.SIGKILL:
                why += " (by another process, or the kernel's out-of-memory killer)"
        else:
            why = f"the load generator exited with status {code}"
        with contextlib.suppress(OSError):
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / ERROR_FILE).write_text(why + "\n")
        return why

    def alive(self) -> bool:
        return self._proc.is_alive()

    def stop(self) -> None:
        if self._proc.is_alive():
            with contextlib.suppress(OSError):  # the child is gone already
                self._stop.send(True)
        self._proc.join(STOP_TIMEOUT)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._stop.close()
        self._tail_stop.set()
        if self._tail.is_alive():
            self._tail.join(timeout=5)

    def _tail_loop(self) -> None:
        path = self.out_dir / "timeline.jsonl"
        offset = 0
        pending = ""
        while not self._tail_stop.wait(0.25):
            try:
                with open(path, encoding="utf-8") as fh:
                    fh.seek(offset)
                    chunk = fh.read()
                    offset = fh.tell()
            except OSError:
                continue
            pending += chunk
            *lines, pending = pending.split("\n")
            entries = []
            for line in lines:
                try:
                    entries.append(TimelineEntry.model_validate_json(line))
                except ValueError:
                    continue
            if entries and self.on_window is not None:
                self.on_window(entries)
