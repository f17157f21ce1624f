"""The load generator in a process of its own, so the observer and the steps (docker SDK
calls, JSON parsing: Python work under the GIL) never delay a send.

The child runs :func:`chaos.load.run_load` open-ended until the parent sets the stop event;
it ignores SIGINT (the parent handles Ctrl-C and stops it cleanly, so the summary is written)
and exits on its own if the parent dies. The parent tails ``timeline.jsonl`` for the live view.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path

from chaos.errors import PlatformError
from chaos.load import LoadConfig, TimelineEntry
from chaos.load.summary import RunInfo, load_run_info

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def _child(config: LoadConfig, out_dir: Path, stop: MpEvent, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import anyio

    from chaos.load import run_load

    async def main() -> None:
        done = anyio.Event()

        async def watch() -> None:
            while not stop.is_set() and os.getppid() == parent:
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
    ) -> None:
        self.config = config
        self.out_dir = out_dir
        self.on_window = on_window
        ctx = mp.get_context("spawn")
        self._stop = ctx.Event()
        self._proc = ctx.Process(
            target=_child, args=(config, out_dir, self._stop, os.getpid()), name="chaos-load",
            daemon=True,
        )  # fmt: skip
        self._tail_stop = threading.Event()
        self._tail = threading.Thread(target=self._tail_loop, name="load-tail", daemon=True)

    def start(self) -> RunInfo:
        """Start the child; returns its run info (t0) once it is sending."""
        self._proc.start()
        deadline = time.monotonic() + START_TIMEOUT
        run_json = self.out_dir / "run.json"
        while not run_json.exists():
            if not self._proc.is_alive() or time.monotonic() > deadline:
                raise PlatformError(
                    f"the load generator did not start (exit {self._proc.exitcode})"
                )
            time.sleep(0.01)
        info = load_run_info(self.out_dir)
        self._tail.start()
        return info

    def stop(self) -> None:
        self._stop.set()
        self._proc.join(STOP_TIMEOUT)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
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
