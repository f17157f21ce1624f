"""``lab down`` leaves nothing behind, also after a SIGKILLed ``lab up``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.lab import Lab, down, leftovers
from chaos.lab.config import RUN_DIR, STATE_DIR

pytestmark = pytest.mark.lab
CHAOS = str(Path(sys.executable).with_name("chaos"))


def host_iptables() -> str:
    """The host's rules, without iptables-save's "# Generated/Completed on <time>" lines."""
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return " ".join(line for line in out.splitlines() if not line.startswith("#"))


def snapshot() -> dict[str, object]:
    """What a lab could leave on the host: namespaces, links, mounts, processes, cgroups."""
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    mounts = Path("/proc/self/mountinfo").read_text()
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    netns = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    return {
        "netns": [n for n in netns if n.startswith("chaoslab")],
        "links": [
            ln
            for ln in links.splitlines()
            if "chaoslab" in ln or "cl-node" in ln or "cl-client" in ln
        ],
        # the lab's own paths: the VM platform's daemons live under swarm-chaos/vagrant
        "mounts": [
            m
            for m in mounts.splitlines()
            if str(STATE_DIR) in m or str(RUN_DIR) in m or "chaoslab" in m
        ],
        "engines": [
            p
            for p in procs.splitlines()
            if str(STATE_DIR) in p or str(RUN_DIR) in p or "chaos.lab.meshd" in p
        ],
        "cgroups": [str(p) for p in Path("/sys/fs/cgroup").glob("*/chaoslab")],
        "dirs": [str(d) for d in (STATE_DIR, RUN_DIR) if d.exists()],
    }


def assert_clean() -> None:
    assert leftovers() == []
    assert snapshot() == {
        "netns": [],
        "links": [],
        "mounts": [],
        "engines": [],
        "cgroups": [],
        "dirs": [],
    }


def test_down_leaves_nothing_and_does_not_touch_host_iptables() -> None:
    before = host_iptables()
    lab = Lab.up()
    lab.suspend("node-002")  # a frozen node's processes must die too
    lab.isolate("node-003")  # its rules live in its namespace, which goes
    removed = down()
    assert any("netns" in r for r in removed)
    assert_clean()
    assert host_iptables() == before
    out = subprocess.run([CHAOS, "lab", "down"], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "nothing was up" in out.stdout


def test_up_after_a_sigkilled_up_works() -> None:
    down()
    with subprocess.Popen([CHAOS, "lab", "up"], stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        # kill it in the middle: once the engines are up, before the swarm is complete
        first = proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
    assert "engines up" in first
    assert leftovers() != []  # it did leave a half-built lab
    lab = Lab.up()
    assert lab.healthy()
    down()
    assert_clean()
