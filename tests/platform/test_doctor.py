"""``chaos doctor`` on every driver (real lab nodes), a closed swarm port, and its pure parts."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.doctor import _clock, _parse_time, diagnose
from chaos.lab import Lab
from chaos.platform.base import Platform
from chaos.platform.lab import LabPlatform
from chaos.platform.ssh import SshPlatform
from tests.platform.conftest import SshNodes, write_inventory

CHAOS = Path(sys.executable).parent / "chaos"


def test_parse_engine_time() -> None:
    utc = dt.datetime(2026, 11, 27, 15, 9, 6, tzinfo=dt.UTC).timestamp()
    assert _parse_time("2026-11-27T15:09:06.123456789Z") == pytest.approx(utc + 0.123456)
    assert _parse_time("2026-11-27T16:09:06.5+01:00") == pytest.approx(utc + 0.5)
    assert _parse_time("yesterday") is None


def test_clock_skew_thresholds() -> None:
    assert _clock({"a": 0.0, "b": 0.1}).status == "ok"
    assert _clock({"a": 0.0, "b": 0.9}).status == "warn"
    assert _clock({"a": -2.0, "b": 0.9}).status == "fail"
    assert _clock({"a": 0.0}).status == "warn"


@pytest.mark.timeout(120)
def test_doctor_on_every_platform(platform: Platform) -> None:  # lab marks on the real params
    report = diagnose(platform)
    assert report.healthy, report.lines()
    areas = {c.area for c in report.checks}
    assert areas == {"engines", "swarm", "ports", "mesh", "clock"}
    assert sum(c.area == "engines" and c.status == "ok" for c in report.checks) == 3
    mesh = next(c for c in report.checks if c.area == "mesh")
    # swarm's own mesh is ok; its emulation is expected on the lab (no IPVS on this kernel)
    # and something to fix on VMs or a real swarm (the stand-in vagrant and ssh here)
    expected = "ok" if platform.mesh == "ingress" or platform.name == "lab" else "warn"
    assert mesh.status == expected, (platform.name, platform.mesh, mesh)


@pytest.fixture()
def blocked_gossip(lab: Lab) -> Iterator[Lab]:
    """node-002 drops TCP 7946 (inside its own namespace only: the host is untouched)."""
    rule = ["INPUT", "-p", "tcp", "--dport", "7946", "-j", "DROP"]
    ns = ["nsenter", "--net=/run/netns/chaoslab-node-002", "iptables"]
    subprocess.run([*ns, "-I", *rule], check=True)
    yield lab
    subprocess.run([*ns, "-D", *rule], check=False)


@pytest.mark.lab
@pytest.mark.timeout(60)
def test_doctor_names_a_closed_port_and_the_fix(blocked_gossip: Lab) -> None:
    report = diagnose(LabPlatform(blocked_gossip))
    assert not report.healthy
    ports = next(c for c in report.checks if c.area == "ports")
    assert ports.status == "fail"
    assert "node-001->node-002:7946" in ports.detail and "node-003->node-002:7946" in ports.detail
    assert "2377/tcp" in ports.fix


@pytest.mark.lab
@pytest.mark.timeout(120)
def test_doctor_cli_vagrant(lab: Lab, standin_env: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(
        [str(CHAOS), "doctor", "--platform", "vagrant"], env={**os.environ, **standin_env},
        cwd=tmp_path, capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "doctor (vagrant): 0 failed, 1 warnings" in done.stdout
    halted = subprocess.run(
        [str(CHAOS), "lab", "halt", "node-003"], capture_output=True, text=True, check=True
    )
    assert halted.returncode == 0
    done = subprocess.run(
        [str(CHAOS), "doctor", "--platform", "vagrant"], env={**os.environ, **standin_env},
        cwd=tmp_path, capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "fail engines  node-003: engine not answering (power halted)" in done.stdout


@pytest.mark.lab
@pytest.mark.timeout(90)
def test_ssh_platform_isolates_and_reconnects_a_node(
    lab: Lab, ssh_nodes: SshNodes, tmp_path: Path
) -> None:
    ssh_nodes.ensure(lab)
    p = SshPlatform.connect(write_inventory(tmp_path / "inv.yaml", ssh_nodes, lab),
                            state_dir=tmp_path / "state")  # fmt: skip
    try:
        assert "isolated" in p.isolate("node-003")
        assert "already isolated" in p.isolate("node-003")  # twice is harmless
        assert p.isolated("node-003") and lab.isolated("node-003")
        ports = next(c for c in diagnose(p).checks if c.area == "ports")
        assert ports.status == "fail"
        assert (
            "node-001->node-003:2377" in ports.detail and "node-002->node-003:7946" in ports.detail
        )
        assert "node-003->node-001:2377" in ports.detail  # both ways
        assert "node-003 isolated by swarm-chaos" in ports.fix
    finally:
        p.reconnect("node-003")
        assert "already connected" in p.reconnect("node-003")
        p.close()
    assert not lab.isolated("node-003")
    ports = next(c for c in diagnose(LabPlatform(lab)).checks if c.area == "ports")
    assert ports.status == "ok"
