"""``chaos run leader-kill --platform vagrant`` end to end: the real CLI, runner, python-vagrant
and driver, with the stand-in ``vagrant`` acting on the lab nodes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.analysis import load_result
from chaos.lab import Lab
from chaos.platform.vagrant import VagrantPlatform
from tests.experiments.helpers import SHORT, assert_slo_holds
from tests.platform.conftest import SshNodes, write_inventory

pytestmark = [pytest.mark.lab, pytest.mark.timeout(240)]

CHAOS = Path(sys.executable).parent / "chaos"
# the catalogue tests' short phases: long enough for the checks the experiments make
PHASES = [arg for item in SHORT for arg in ("--set", item)]


def test_leader_kill_on_vagrant(lab: Lab, standin_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = subprocess.run(
        [str(CHAOS), "run", "leader-kill", "--platform", "vagrant", "--seed", "1", "--quiet",
         *PHASES, "--out", str(out)],
        env={**os.environ, **standin_env}, cwd=tmp_path, capture_output=True, text=True,
        timeout=220, check=False,
    )  # fmt: skip
    assert (out / "result.json").is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    # the same lab nodes through another driver: the SLO the catalogue's test sees holds
    assert_slo_holds(load_result(out / "result.json"), done.returncode)
    result = json.loads((out / "result.json").read_text())
    assert result["environment"]["platform"] == "vagrant"
    assert result["leader_before"] and result["leader_after"]
    assert result["leader_after"] != result["leader_before"]


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


def test_follower_kill_on_ssh_inventory(lab: Lab, ssh_nodes: SshNodes, tmp_path: Path) -> None:
    ssh_nodes.ensure(lab)
    inventory = write_inventory(tmp_path / "inventory.yaml", ssh_nodes, lab)
    out = tmp_path / "run"
    done = subprocess.run(
        [str(CHAOS), "run", "follower-kill", "--platform", "ssh", "--inventory", str(inventory),
         "--seed", "1", "--quiet", *PHASES, "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=220, check=False,
    )  # fmt: skip
    assert (out / "result.json").is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    assert_slo_holds(load_result(out / "result.json"), done.returncode)
    result = json.loads((out / "result.json").read_text())
    assert result["environment"]["platform"] == "ssh"
    assert result["leader_after"] == result["leader_before"]


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
