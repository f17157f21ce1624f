"""What the live view of ``chaos run`` costs the run's main process, with synthetic data.

The load generator runs in a process of its own, so the view cannot delay a send directly;
what it can do is take CPU from a machine whose cores the generator and the cluster share.
This measures that CPU: feeding the load's windows (``on_window``, as the tail thread does
every 0.25 s) and one redraw of the panel, on the real rich code path (a ``Live`` refreshed
by hand on a terminal console writing to /dev/null), and the plain status line of a log.

    .venv/bin/python scripts/bench_live.py [--nodes 3] [--events 2000] [--refreshes 400]

Prints CPU milliseconds per operation (median of 5 rounds, min..max) and what that is at
the view's 2 redraws a second as a share of one core.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from rich.console import Console
from rich.live import Live

from chaos.experiment.live import REFRESH_PER_SECOND, LiveView
from chaos.experiment.livepanel import status_line
from chaos.experiment.observer import Snapshot
from chaos.experiment.schedule import Schedule
from chaos.experiment.spec import Experiment
from chaos.load import TimelineEntry
from chaos.swarm.model import NodeView
from chaos.timeline import Clock, EventLog, StepEnd, StepStart, TaskChange

ROUNDS = 5


class Observed:
    def __init__(self, nodes: list[str], events: int) -> None:
        self.log = EventLog(None, Clock())
        for i in range(events):  # a long run's worth of control-plane chatter
            node = nodes[i % len(nodes)]
            self.log.emit(TaskChange(detail=f"web.{i % 9} on {node}: running -> shutdown",
                                     service="web", slot=i % 9, task=f"t{i}", node=node,
                                     old="running", new="shutdown", error=""))  # fmt: skip
        self.log.emit(StepStart(detail="halt leader", index=0, action="halt"))
        self.log.emit(StepEnd(detail="halted", index=0, action="halt", nodes=(nodes[0],),
                              ok=True))  # fmt: skip
        self.log.emit(StepStart(detail="wait for leader elected", index=1, action="wait_for"))
        views = {
            n: NodeView(id=n, hostname=n, addr="", role="manager", state="down" if i == 0 else
                        "ready", availability="active", leader=i == 1, reachability="reachable",
                        engine_version="20.10")
            for i, n in enumerate(nodes)
        }  # fmt: skip
        power = {n: "halted" if i == 0 else "running" for i, n in enumerate(nodes)}
        self.snapshot = Snapshot(at=1.0, api_ok=True, leader=nodes[1], nodes=views, power=power)


def windows(targets: list[str], start: float, count: int) -> list[TimelineEntry]:
    out = []
    for k in range(count):
        for i, url in enumerate(targets):
            failing = i == 0
            out.append(TimelineEntry(
                t=round(start + k * 0.1, 3), target=url, total=7, ok=0 if failing else 7,
                errors={"connect_timeout": 5, "refused": 2} if failing else {},
                p50_ms=None if failing else 1.5, p99_ms=None if failing else 8.0,
                p99_all_ms=2000.0 if failing else 8.0, send_lag_max_ms=0.2,
            ))  # fmt: skip
    return out


def cpu_ms(fn: Callable[[], None], n: int) -> list[float]:
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(n):
            fn()
        rounds.append((time.process_time() - started) * 1000 / n)
    return rounds


def show(what: str, rounds: list[float], per_second: float) -> None:
    med = statistics.median(rounds)
    print(f"{what:<44} {med:7.3f} ms  ({min(rounds):.3f}..{max(rounds):.3f})  "
          f"at {per_second:g}/s: {med * per_second / 10:.2f}% of a core")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--refreshes", type=int, default=400)
    args = ap.parse_args()
    nodes = [f"node-{i:03d}" for i in range(1, args.nodes + 1)]
    targets = [f"http://10.213.77.{10 + i}:80/" for i in range(1, args.nodes + 1)]
    exp = Experiment.model_validate({
        "name": "bench", "description": "", "phases": {"observe": 30},
        "steps": [{"halt": "leader"}, {"wait_for": "leader_elected"}, {"sleep": 5},
                  {"start": "node-001"}],
    })  # fmt: skip
    devnull = open("/dev/null", "w")  # noqa: SIM115 - open for the whole run
    console = Console(file=devnull, force_terminal=True, width=160, height=50)
    view = LiveView(dict(zip(targets, nodes, strict=True)), console=console, auto_refresh=False,
                    schedule=Schedule.of(exp))  # fmt: skip
    view.observer = Observed(nodes, args.events)
    view.phase = "fault"
    batch = windows(targets, 0.0, 3)  # what one 0.25 s tail read brings: 2-3 windows a target
    view.on_window(windows(targets, 0.0, 10))
    print(
        f"{args.nodes} nodes, {args.events} events in the log, {args.refreshes} refreshes a round"
    )
    show("on_window (one tail read, 3 windows/target)", cpu_ms(lambda: view.on_window(batch),
         args.refreshes * 4), 4.0)  # fmt: skip
    view.close()
    # as LiveView draws it, minus the redirection (this script's own lines go to stdout)
    live = Live(console=console, get_renderable=view.render, auto_refresh=False, transient=True,
                redirect_stdout=False, redirect_stderr=False)  # fmt: skip
    live.start()
    show("redraw (frame + panel + terminal output)", cpu_ms(live.refresh, args.refreshes),
         REFRESH_PER_SECOND)  # fmt: skip
    live.stop()

    def frame() -> None:
        view.frame()

    def plain() -> None:
        status_line(view.frame())

    show("frame only (numbers under the lock)", cpu_ms(frame, args.refreshes), REFRESH_PER_SECOND)
    show("plain status line (a log, every 5 s)", cpu_ms(plain, args.refreshes), 0.2)
    devnull.close()


if __name__ == "__main__":
    main()
