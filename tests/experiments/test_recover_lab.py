"""Faults are undone: after a SIGKILL of ``chaos run`` through ``chaos recover``, and on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from chaos.journal import Journal
from chaos.lab import Lab
from tests.experiments.helpers import CHAOS, SHORT
from tests.lab.helpers import poll, views_by_name

pytestmark = pytest.mark.lab


def start_run(out: Path, *extra: str, experiment: str = "leader-kill") -> subprocess.Popen[str]:
    args = [CHAOS, "run", experiment, "--out", str(out), "--seed", "1", "--quiet"]
    for item in (*SHORT, *extra):
        args += ["--set", item]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_halt(out: Path, proc: subprocess.Popen[str]) -> str:
    """Block until the run's halt step has acted; returns the halted node."""

    def halted() -> str | None:
        assert proc.poll() is None, "the run ended before its fault"
        path = out / "events.jsonl"
        if not path.exists():
            return None
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event["kind"] == "step_end" and event["data"].get("index") == 0:
                return str(event["data"]["nodes"][0])
        return None

    return poll(halted, 120, "the halt step of the run")


@pytest.mark.parametrize(
    ("experiment", "fault", "healed"),
    [("leader-kill", "halt", "started"), ("leader-isolate", "isolate", "reconnected")],
)
def test_recover_undoes_the_faults_of_a_sigkilled_run(
    lab: Lab, tmp_path: Path, experiment: str, fault: str, healed: str
) -> None:
    proc = start_run(tmp_path, "steps.1.timeout=300s", experiment=experiment)
    try:
        victim = wait_for_halt(tmp_path, proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        proc.communicate()
    # the fault outlived the killed run
    assert lab.power(victim) == "halted" if fault == "halt" else lab.isolated(victim)
    pending = Journal().pending(platform="lab")
    assert [(f.action, f.node) for f in pending if f.action == fault] == [(fault, victim)]
    out = subprocess.run(
        [CHAOS, "recover"], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    assert f"{victim} {healed}" in out.stdout
    assert "service web removed" in out.stdout
    assert Journal().pending(platform="lab") == []
    assert lab.power(victim) == "running" and not lab.isolated(victim)

    # a reconnected node deposes the leader once it is heard again (its raised raft term):
    # settled when the victim is heard (Reachable, or even Leader again: it may win the
    # election it caused), every node Ready and there is one leader
    def settled() -> bool:
        views = views_by_name(lab)
        return (
            views[victim].manager_status in ("Reachable", "Leader")
            and all(v.state == "ready" for v in views.values())
            and sum(v.leader for v in views.values()) == 1
        )

    poll(settled, 150, "the victim heard again, all Ready under one leader")
    engine = lab.manager_engines()[0]
    assert [s.name for s in engine.services()] == []
    again = subprocess.run(
        [CHAOS, "recover"], capture_output=True, text=True, timeout=60, check=False
    )
    assert again.returncode == 0 and "nothing to recover" in again.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_restores_before_exiting(lab: Lab, tmp_path: Path, sig: signal.Signals) -> None:
    """Ctrl-C, SIGTERM and SIGHUP all stop the run, restore and write the result; a second
    signal during the restore only makes it say "please wait" (it is shielded)."""
    proc = start_run(tmp_path, "steps.1.timeout=300s")
    try:
        victim = wait_for_halt(tmp_path, proc)
        time.sleep(1.0)
        proc.send_signal(sig)
        poll(lambda: restoring(tmp_path), 60, "the restore to begin")
        proc.send_signal(sig)  # the second: never aborts the restore
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stdout + stderr
    assert "please wait" in stderr, stderr
    assert "NOT restored" not in stdout
    assert lab.power(victim) == "running"
    assert Journal().pending(platform="lab") == []
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["restored"] is True
    assert result["verdict"] == "interrupted"
    name = {signal.SIGINT: "(Ctrl-C)", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}[sig]
    assert [r for r in result["verdict_reasons"] if name in r], result["verdict_reasons"]
    # an interrupted run lists no failed checks: nothing was judged
    assert not [r for r in result["verdict_reasons"] if r.startswith(("fail:", "unknown:"))]
    assert lab.manager_engines()[0].services() == []


def restoring(out: Path) -> bool:
    """The run's timeline shows its restore at work (the load has stopped: phase end)."""
    path = out / "events.jsonl"
    if not path.exists():
        return False
    kinds = [json.loads(line)["data"].get("name") for line in path.read_text().splitlines()]
    return "end" in kinds
