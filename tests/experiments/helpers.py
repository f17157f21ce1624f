"""Running catalogue experiments for real through the CLI, with short phases."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from chaos.analysis import RunResult, load_result
from chaos.lab import Lab
from chaos.timeline import Event, StepEnd, TasksChange

CHAOS = str(Path(sys.executable).with_name("chaos"))
E = TypeVar("E", bound=Event)
# shorter than the catalogue's, but long enough for the checks the experiments make: client
# recovery needs 5 good seconds after the last bad one, and an error rate over a much shorter
# window than the file's would not be the rate its SLO was written for
SHORT = ("phases.warmup=1s", "phases.baseline=4s", "phases.observe=10s")
# the experiments this test session ran on its lab, in order (a test that needs a history, a
# clean baseline after the faults, checks it is there)
HISTORY: list[str] = []


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    result: RunResult
    lab: Lab

    def events(self, kind: type[E]) -> list[E]:
        return [e for e in self.result.events if isinstance(e, kind)]

    def step_nodes(self, index: int) -> list[str]:
        ends = [e for e in self.events(StepEnd) if e.index == index]
        assert ends and ends[0].ok, f"step {index} did not succeed: {ends}"
        return list(ends[0].nodes)

    def last_tasks(self) -> TasksChange:
        return self.events(TasksChange)[-1]


def run(name: str, out: Path, *sets: str, seed: int = 1) -> Ran:
    args = [CHAOS, "run", name, "--out", str(out), "--seed", str(seed), "--quiet"]
    for item in (*SHORT, *sets):
        args += ["--set", item]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    HISTORY.append(name)
    assert (out / "result.json").exists(), proc.stdout + proc.stderr
    return Ran(
        proc.returncode, proc.stdout, proc.stderr, load_result(out / "result.json"), Lab.attach()
    )


def ok_on(ran: Ran, node: str, phases: Sequence[str] = ("fault", "observe")) -> int:
    """Successful requests to ``node``'s IP during the given phases."""
    total = 0
    for phase in ran.result.phases:
        if phase.name in phases:
            total += sum(n.requests.ok for n in phase.nodes if n.node == node)
    return total


def assert_slo_holds(result: RunResult, code: int | None = None) -> None:
    """An experiment whose SLO is written from its ``expect`` text for a healthy swarm
    passes; or is unknown when the generator measured itself (send lag p99 > 10 ms: this
    host's two cores are shared with the engines), never fail. ``code``: the exit code, which
    must say the same."""
    limited = result.load is not None and result.load.generator_limited
    want = "unknown" if limited else "pass"
    assert result.verdict == want, result.verdict_reasons
    if code is not None:
        assert code == (5 if limited else 0), (code, result.verdict_reasons)
