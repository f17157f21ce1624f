"""``chaos lab up|status|down --platform vagrant`` through the real CLI, python-vagrant and
driver, with the stand-in ``vagrant`` acting on the lab nodes. Whole runs through the vagrant
and ssh drivers are the vm tests' (tests/vm: the same CLI on three real guests); the stand-in
and the lab's sshds meet the driver contract in test_contract.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.lab import Lab
from chaos.platform.vagrant import VagrantPlatform

pytestmark = [pytest.mark.lab, pytest.mark.timeout(240)]

CHAOS = Path(sys.executable).parent / "chaos"


def test_lab_up_and_status_on_vagrant(
    lab: Lab, standin_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**os.environ, **standin_env}
    up = subprocess.run(
        [str(CHAOS), "lab", "up", "--platform", "vagrant"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    assert "vms up: node-001, node-002, node-003" in up.stdout
    assert "vagrant swarm up: 3 managers, mesh emulated" in up.stdout
    status = subprocess.run(
        [str(CHAOS), "lab", "status", "--platform", "vagrant"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    rows = [line.split() for line in status.stdout.splitlines()[1:4]]
    assert [r[:6] for r in rows] == [
        [f"node-00{i}", f"10.213.77.1{i}", "running", "running", "manager", "ready"]
        for i in (1, 2, 3)
    ]


def test_vagrant_down_halts_gracefully_and_closes_forwards(
    lab: Lab, standin_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in standin_env.items():
        monkeypatch.setenv(key, value)
    vp = VagrantPlatform.connect()
    assert vp.engine_up("node-003")  # a forward for `down` to close
    down = subprocess.run(
        [str(CHAOS), "lab", "down", "--platform", "vagrant"],
        env={**os.environ, **standin_env}, cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert down.returncode == 0, down.stderr
    # at least the forward this test opened (earlier tests of the module may have left more)
    closed = re.search(r"vagrant down: VMs halted, (\d+) ssh forwards closed", down.stdout)
    assert closed is not None and int(closed.group(1)) >= 1, down.stdout
    assert [lab.power(n) for n in ("node-001", "node-002", "node-003")] == ["halted"] * 3
    assert not list((Path(standin_env["CHAOS_VAGRANT_STATE"]) / "forwards").glob("*.pid"))
