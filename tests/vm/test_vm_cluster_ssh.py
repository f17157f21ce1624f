"""The same three guests as an *existing* swarm reached over SSH (``--platform ssh``): an
inventory names their addresses, logs in with the box's key from the tool's namespace, and
powers them through libvirt's own command line, as docs/platforms.md shows. The leader is
paused and resumed by the inventory's commands under load (a pause, not a power cut: the
guest needs no minutes of boot to come back); the others elect a new leader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.analysis import load_result
from chaos.platform.vagrant_libvirt import LibvirtVagrantPlatform
from chaos.platform.view import cluster_view
from chaos.timeline import StepEnd
from chaos.vm import box
from chaos.vm import libvirt as lv
from tests.vm.conftest import chaos

pytestmark = [pytest.mark.vm, pytest.mark.timeout(1800)]


def platform_rate(vp: LibvirtVagrantPlatform) -> str:
    return "null" if vp.max_rate is None else f"{vp.max_rate:g}/s"


def inventory(vp: LibvirtVagrantPlatform, tmp_path: Path) -> Path:
    config = tmp_path / "ssh.config"
    config.write_text(
        "Host 192.168.0.*\n  User vagrant\n"
        f"  IdentityFile {box.vagrant_home() / 'insecure_private_key'}\n"
        "  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
        "  LogLevel ERROR\n"
    )
    virsh = f"virsh -q -c {lv.URI}"
    lines = [
        f"ssh_config: {config}",
        f"netns: {vp.client_netns}",
        "mesh: ingress",
        # the guests are emulated: the same cap and patience as the vagrant driver's
        f"max_rate: {platform_rate(vp)}",
        f"time_scale: {vp.time_scale:g}",
        "commands:",
        f"  power_off: {virsh} destroy {lv.PREFIX}{{node}}",
        f"  power_on: {virsh} start {lv.PREFIX}{{node}}",
        f"  suspend: {virsh} suspend {lv.PREFIX}{{node}}",
        # libvirt's word for the guest's state, in the driver's: a paused guest is suspended
        f"  power_status: case $({virsh} domstate {lv.PREFIX}{{node}}) in running) echo running"
        ";; paused) echo suspended;; *) echo halted;; esac",
        f"  resume: {virsh} resume {lv.PREFIX}{{node}}",
        "nodes:",
        *(f"  - {{name: {n}, ssh: {vp.node_ip(n)}}}" for n in vp.node_names()),
    ]
    path = tmp_path / "guests.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_leader_freeze_over_ssh_on_the_guests(
    platform: LibvirtVagrantPlatform, vm_env: dict[str, str], tmp_path: Path
) -> None:
    inv = inventory(platform, tmp_path)
    doctor = chaos(vm_env, "doctor", "--platform", "ssh", "--inventory", str(inv), timeout=300)
    assert doctor.returncode == 0, doctor.stdout[-3000:] + doctor.stderr[-2000:]
    out = tmp_path / "run"
    done = chaos(
        vm_env, "run", "leader-freeze", "--platform", "ssh", "--inventory", str(inv),
        # a baseline and an observe phase long enough for the checks asserted below
        "--set", "phases.baseline=5s", "--set", "phases.observe=10s",
        "--seed", "1", "--quiet", "--out", str(out), timeout=1700,
    )  # fmt: skip
    assert (out / "result.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    r = load_result(out / "result.json")
    assert r.environment.platform == "ssh" and r.environment.mesh == "ingress"
    assert r.restored, r.errors
    ends = [e for e in r.events if isinstance(e, StepEnd)]
    assert ends[0].detail.endswith("commands.suspend"), ends[0]
    (victim,) = ends[0].nodes
    assert victim == r.leader_before and r.leader_after not in (None, victim)
    # expect (leader-freeze.yaml): a new leader within the SLO, and live-IP errors only while
    # swarm's mesh still sends to the frozen node's task: both checks pass (recovery is not
    # asserted under TCG, where the guests' latency is the emulator's)
    checks = {c.name: c for c in r.checks}
    for name in ("error_rate", "leader_election"):
        assert checks[name].status == "pass", checks[name]
    # the frozen node answered nothing: its IP's failures are timeouts
    fault = next(p for p in r.phases if p.name == "fault")
    dead = next(n.requests for n in fault.nodes if n.node == victim)
    assert dead.errors.get("connect_timeout", 0) + dead.errors.get("timeout", 0) > 0, dead
    run_json = json.loads((out / "load" / "run.json").read_text())
    assert run_json["rate"] == (platform.max_rate or 200.0)  # capped for the emulated guests
    view = cluster_view(platform)
    assert all(n.power == "running" and n.status == "ready" for n in view), view
