"""The live view of a run: plain lines off a terminal, a panel redrawn in place on one,
nothing with --quiet; the same numbers either way, safe to feed from several threads."""

from __future__ import annotations

import io
import re
import threading

from rich.console import Console
from rich.live import Live

from chaos.experiment.live import LiveView
from chaos.experiment.livepanel import status_line
from chaos.experiment.schedule import Schedule
from chaos.fmt import NA
from chaos.timeline import ApiError, LeaderChange, NodePowerChange, StepEnd, StepStart
from tests.ui.fakes import (
    TARGETS,
    FakeObserver,
    Ticker,
    experiment,
    second_of_windows,
    snapshot,
)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain_console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=False, width=200), buf


def terminal_console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=160, height=60), buf


def fault_under_way(view: LiveView, tick: Ticker) -> FakeObserver:
    """node-001 (the leader) halted, the wait for a new leader 2.5 s in, its IP failing."""
    obs = FakeObserver(snapshot(leader=None, down=("node-001",)))
    view.observer = obs
    obs.clock.t = 14.0
    view.phase = "fault"
    obs.log.emit(StepStart(detail="halt leader", index=0, action="halt"))
    obs.clock.t = 14.2
    obs.log.emit(
        NodePowerChange(
            detail="node-001 running -> halted", node="node-001", old="running", new="halted"
        )
    )
    obs.log.emit(
        StepEnd(
            detail="node-001 halted: cable pulled",
            index=0,
            action="halt",
            nodes=("node-001",),
            ok=True,
        )
    )
    obs.log.emit(StepStart(detail="wait for leader elected", index=1, action="wait_for"))
    no_leader = "node ls failed: The swarm does not have a leader"
    obs.log.emit(ApiError(detail=no_leader, node="node-002", message=no_leader))
    obs.log.emit(LeaderChange(detail="leader node-001 -> None", old="node-001", new=None))
    view.on_window(second_of_windows(12.0, errors={"node-001": {"connect_timeout": 6}}))
    obs.clock.t = 16.7
    tick.t += 2.5
    return obs


def test_plain_lines_every_five_seconds_off_a_terminal() -> None:
    console, buf = plain_console()
    tick = Ticker()
    view = LiveView(TARGETS, console=console, clock=tick, schedule=Schedule.of(experiment()))
    view.say("run x: halt the leader")
    view.on_window(second_of_windows(0.0))  # the first window: a status line at once
    tick.t += 4.9
    view.on_window(second_of_windows(1.0))  # within 5 s: none
    tick.t += 0.2
    view.on_window(second_of_windows(2.0))
    lines = buf.getvalue().splitlines()
    assert lines[0] == "run x: halt the leader"
    assert len(lines) == 3 and all(line.startswith("[setup ") for line in lines[1:])
    assert "210 req/s" in lines[2] and "errors none" in lines[2]
    assert not ANSI.search(buf.getvalue())
    view.close()


def test_plain_status_line_says_what_the_panel_says() -> None:
    console, _ = plain_console()
    tick = Ticker()
    view = LiveView(TARGETS, console=console, clock=tick, schedule=Schedule.of(experiment()))
    fault_under_way(view, tick)
    line = status_line(view.frame())
    assert line.startswith("[fault       2.5s step 2/4] 200 req/s")
    assert "errors node-001:60/s (failed so far 60)" in line
    assert "leader none" in line and "node-001=halt/down node-002=runn/ready" in line
    assert line.endswith("~1m32s left")  # the wait's 57.5 s at most, the sleep, observe


def test_quiet_prints_nothing() -> None:
    console, buf = plain_console()
    view = LiveView(TARGETS, enabled=False, console=console)
    view.say("hello")
    view.on_window(second_of_windows(0.0))
    view.phase = "warmup"
    view.close()
    assert buf.getvalue() == ""


def test_panel_on_a_terminal() -> None:
    console, buf = terminal_console()
    tick = Ticker()
    view = LiveView(TARGETS, console=console, clock=tick, auto_refresh=False,
                    schedule=Schedule.of(experiment()))  # fmt: skip
    fault_under_way(view, tick)
    view.say("   1. halt leader: node-001 halted")
    view.refresh()
    drawn = ANSI.sub("", buf.getvalue())
    assert "   1. halt leader: node-001 halted" in drawn  # a line that stays, above the panel
    panel = io.StringIO()
    Console(file=panel, width=160, color_system=None).print(view.render())
    text = panel.getvalue()
    row = next(line for line in text.splitlines() if line.startswith("node-001"))
    assert row.split()[:6] == [
        "node-001",
        "10.213.77.11",
        "halted",
        "down",
        "active",
        "Unreachable",
    ]
    assert row.split()[6:] == ["0", "60", "connect_timeout:60", NA, "60"]
    assert "✓ 1. halt leader" in text and "▶ 2. wait for leader elected" in text
    assert "2.5s / 1m00s" in text and "· 3. sleep 5s" in text
    assert "no leader" in text and "API failing" not in text  # the snapshot's API answers
    assert "14.2s node ls failed: The swarm does not have a leader" in text
    assert "~1m32s left" in text
    view.close()
    view.close()  # idempotent
    assert view._live is None


def test_under_another_live_display() -> None:
    console, buf = terminal_console()
    with Live("outer spinner", console=console, auto_refresh=False) as outer:
        view = LiveView(TARGETS, console=console, auto_refresh=False)
        view.say("one")
        view.on_window(second_of_windows(0.0))
        outer.refresh()
        view.close()
    drawn = ANSI.sub("", buf.getvalue())
    # rich >= 14 stacks live displays on one console; an older one refuses the second and
    # the view falls back to plain lines: the line is there either way, nothing raised
    assert "one" in drawn
    assert "NODE" in drawn or not view.tty


def test_windows_from_threads_while_drawing() -> None:
    console, _ = terminal_console()
    view = LiveView(TARGETS, console=console, auto_refresh=False)
    view.observer = FakeObserver()
    batches = [second_of_windows(float(k), errors={"node-002": {"reset": 1}}) for k in range(50)]

    def feed(part: list[list[object]]) -> None:
        for batch in part:
            view.on_window(batch)  # type: ignore[arg-type]

    threads = [threading.Thread(target=feed, args=(batches[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for _ in range(50):
        view.refresh()
        view.say("a line")
    for t in threads:
        t.join()
    frame = view.frame()
    failed = {n.node: n.failed for n in frame.nodes}
    assert failed == {"node-001": 0, "node-002": 500, "node-003": 0}
    view.close()
