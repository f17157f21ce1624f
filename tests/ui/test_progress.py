"""Progress of long waits: a stage wait (lab up) and a series of runs (a suite, a sweep)."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from chaos.fmt import text_estimate
from chaos.ui.progress import Series, Stages, current_series, estimate_left
from tests.ui.fakes import Ticker

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.mark.parametrize(
    ("s", "text"), [(0.4, "0s"), (42.2, "42s"), (192, "3m12s"), (3900, "1h05m"), (-3, "0s")]
)
def test_text_estimate(s: float, text: str) -> None:
    assert text_estimate(s) == text


def test_estimate_before_any_run_is_the_schedules() -> None:
    assert estimate_left([], [], [60.0, 60.0, 30.0]) == 150.0
    assert estimate_left([], [], [60.0, None]) is None  # nothing to go on for the second


def test_estimate_learns_how_much_longer_runs_take_than_their_phases() -> None:
    # two runs of 60 s of phases took 90 s each (set-up, restore): the rest scale by 1.5
    assert estimate_left([90.0, 90.0], [60.0, 60.0], [60.0, 40.0]) == 90.0 + 60.0
    # 30 s into the third: 60 s of it left
    assert estimate_left([90.0, 90.0], [60.0, 60.0], [60.0, 40.0], 30.0) == 60.0 + 60.0
    # a run with no expectation counts as the mean finished run
    assert estimate_left([80.0, 100.0], [None, None], [None]) == 90.0
    assert estimate_left([90.0], [60.0], [], 0.0) == 0.0


def test_series_lines_and_the_live_views_header() -> None:
    lines: list[str] = []
    tick = Ticker(0.0)
    with Series("suite ci.yaml", [60.0, 60.0, 60.0], out=lines.append, clock=tick) as series:
        assert current_series() is None  # not before its first run starts
        series.start("rolling-update -> reports/s/01-rolling-update")
        assert current_series() == "suite ci.yaml: run 1 of 3, 0s elapsed, ~3m00s left"
        tick.t = 90.0
        series.done("verdict: pass (exit 0)")
        series.start("leader-kill -> reports/s/02-leader-kill")
        tick.t = 120.0
        assert current_series() == "suite ci.yaml: run 2 of 3, 2m00s elapsed, ~2m30s left"
    assert current_series() is None
    assert lines == [
        "[1/3] rolling-update -> reports/s/01-rolling-update  (0s elapsed, ~3m00s left)",
        "  verdict: pass (exit 0)  (took 1m30s)",
        "[2/3] leader-kill -> reports/s/02-leader-kill  (1m30s elapsed, ~3m00s left)",
    ]


def test_innermost_series_is_current() -> None:
    tick = Ticker(0.0)
    outer = Series("sweep", [10.0], out=lambda _: None, clock=tick)
    inner = Series("suite", [10.0], out=lambda _: None, clock=tick)
    outer.start("a")
    inner.start("b")
    assert (current_series() or "").startswith("suite: run 1 of 1")
    inner.close()
    assert (current_series() or "").startswith("sweep: run 1 of 1")
    outer.close()
    outer.close()  # idempotent
    assert current_series() is None


def test_stages_off_a_terminal_are_the_lines_of_today() -> None:
    out: list[str] = []
    buf = io.StringIO()
    with Stages("lab up", out=out.append, console=Console(file=buf)) as stages:
        stages("engines up: node-001, node-002, node-003")
        stages.doing("loading images")  # spinner only: nothing in a log
        stages("images loaded on every node")
    assert out == ["engines up: node-001, node-002, node-003", "images loaded on every node"]
    assert buf.getvalue() == ""


def test_stages_on_a_terminal_print_above_a_spinner_that_goes() -> None:
    out: list[str] = []
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100)
    with Stages("lab up", out=out.append, console=console, stdout_is_terminal=True,
                auto_refresh=False) as stages:  # fmt: skip
        stages("engines up: node-001")
        stages.doing("loading images")
        assert stages._progress is not None
        stages._progress.refresh()
        assert "lab up: loading images" in ANSI.sub("", buf.getvalue())
    assert stages._progress is None
    assert out == [] and stages.lines == ["engines up: node-001"]
    assert "engines up: node-001" in ANSI.sub("", buf.getvalue())


def test_stages_with_stdout_piped_are_plain() -> None:
    out: list[str] = []
    console = Console(file=io.StringIO(), force_terminal=True)
    with Stages("lab up", out=out.append, console=console, stdout_is_terminal=False) as stages:
        stages("swarm: 3 managers")
    assert out == ["swarm: 3 managers"]
