"""The ssh platform's inventory: validated up front (one line, exit 2), faults it cannot do
refused by ``chaos plan`` before anything acts. No cluster needed except where marked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chaos.errors import UsageError
from chaos.experiment import catalogue, rate
from chaos.experiment import observer as observer_mod
from chaos.experiment.apiprobe import ApiProber
from chaos.experiment.observer import Observer
from chaos.lab import Lab
from chaos.platform import get_platform
from chaos.platform.ssh import SshPlatform, load_inventory
from chaos.timeline import Clock, EventLog
from tests.platform.conftest import SshNodes, write_inventory

pytestmark = pytest.mark.timeout(60)

CHAOS = Path(sys.executable).parent / "chaos"
GOOD = "nodes:\n  - name: a\n    ssh: admin@10.0.0.1\n  - name: b\n    ssh: 10.0.0.2:2222\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nodes: [", "not valid YAML"),
        ("- 1\n", "(top)"),
        ("nodes: []\n", "at least one node"),
        ("nodes:\n  - name: a\n", "nodes.0.ssh: Field required"),
        ("nodes:\n  - {name: a, ssh: h, colour: red}\n", "nodes.0.colour"),
        ("nodes:\n  - {name: a, ssh: h, docker_host: http://h}\n", "must start with ssh://"),
        ("nodes:\n  - {name: a, ssh: h}\n  - {name: a, ssh: g}\n", "names must be unique"),
        ("nodes:\n  - {name: a, ssh: 'h:port'}\n", "bad ssh target"),
        ("mesh: ipvs\nnodes:\n  - {name: a, ssh: h}\n", "must be ingress or emulated"),
        ("ssh_config: /nonexistent\nnodes:\n  - {name: a, ssh: h}\n", "does not exist"),
        ("commands: {reboot: x}\nnodes:\n  - {name: a, ssh: h}\n", "commands.reboot"),
        ("max_rate: fast\nnodes:\n  - {name: a, ssh: h}\n", "max_rate: Value error, invalid"),
        ("time_scale: 0.5\nnodes:\n  - {name: a, ssh: h}\n", "time_scale"),
    ],
)
def test_bad_inventory_is_one_usage_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match="inventory") as info:
        load_inventory(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_inventory_facts_and_supported_faults(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(GOOD)
    p = get_platform("ssh", inventory=path)
    assert isinstance(p, SshPlatform)
    assert p.node_names() == ["a", "b"] and p.node_ip("b") == "10.0.0.2"
    assert p.supports("stop_engine") and p.supports("start")
    assert not p.supports("halt") and not p.supports("suspend")
    path.write_text("commands: {power_off: 'virsh destroy {node}', power_on: x}\n" + GOOD)
    assert load_inventory(path).commands.power_off == "virsh destroy {node}"
    assert SshPlatform.connect(path).supports("halt")


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    good = tmp_path / "inv.yaml"
    good.write_text(GOOD)
    suite = Path(__file__).resolve().parents[2] / "experiments" / "suites" / "ci.yaml"
    for args, message in (
        (["plan", "leader-kill", "--platform", "ssh"], "needs --inventory"),
        (["plan", "leader-kill", "--platform", "ssh", "--inventory", str(tmp_path / "none")],
         "inventory"),
        (["run", "leader-kill", "--inventory", str(good)], "--inventory is for --platform ssh"),
        (["suite", str(suite), "--platform", "ssh"], "needs --inventory"),
        (["recover", "--platform", "vagrant", "--inventory", str(good)], "not --platform vagrant"),
        (["doctor", "--platform", "ssh"], "needs --inventory"),
    ):  # fmt: skip
        done = subprocess.run([str(CHAOS), *args], capture_output=True, text=True, check=False)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1
        assert message in done.stderr, (args, done.stderr)
    args = ["plan", "leader-kill", "--platform", "cloud"]  # click's own usage error
    done = subprocess.run([str(CHAOS), *args], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "'lab', 'vagrant', 'ssh'" in done.stderr


# the timeout covers the lab fixture's restore too: after a test that cut a node off, a
# steady leader under every node Ready took 58 s of CI's 60
@pytest.mark.lab
@pytest.mark.timeout(240)
def test_plan_refuses_a_fault_the_inventory_cannot_do(
    lab: Lab, ssh_nodes: SshNodes, tmp_path: Path
) -> None:
    ssh_nodes.ensure(lab)
    path = write_inventory(tmp_path / "inv.yaml", ssh_nodes, lab)
    no_power = "\n".join(line for line in path.read_text().splitlines() if "power_o" not in line)
    path.write_text(no_power + "\n")
    args = ["plan", "leader-kill", "--platform", "ssh", "--inventory", str(path)]
    done = subprocess.run([str(CHAOS), *args], capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "this platform cannot halt" in done.stderr
    done = subprocess.run(
        [str(CHAOS), "plan", "follower-kill", "--platform", "ssh", "--inventory", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "cannot halt" in done.stderr


def test_slow_nodes_cap_the_rate_and_stretch_the_waits(tmp_path: Path) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text("max_rate: 30/s\ntime_scale: 4\n" + GOOD)
    platform = SshPlatform.connect(path)
    exp = catalogue.load("leader-kill", {})
    capped, said = rate.for_platform(exp, platform)
    assert (exp.load.rate, capped.load.rate) == (200.0, 30.0)
    assert said == ["load rate 200/s capped at 30/s for --platform ssh (CHAOS_MAX_RATE overrides)"]
    assert rate.scaled(90.0, platform) == 360.0
    # a healthcheck an emulated guest cannot answer in 1 s gets the platform's time too; the
    # update's own delay and monitor are what the run measures and stay
    update = catalogue.load("rolling-update", {})
    fitted, said = rate.for_platform(update, platform)
    check, was = fitted.service.healthcheck, update.service.healthcheck
    assert check is not None and was is not None
    assert (check.interval, check.timeout, check.retries) == (4.0, 4.0, 4 * was.retries)
    assert fitted.service.update == update.service.update
    assert said[-1] == (
        "healthcheck interval 1s, timeout 1s, retries 3 stretched x4 for --platform ssh "
        "(its time_scale)"
    )
    fast = tmp_path / "fast.yaml"
    fast.write_text(GOOD)
    assert rate.for_platform(exp, SshPlatform.connect(fast)) == (exp, [])
    assert rate.for_platform(update, SshPlatform.connect(fast)) == (update, [])


def test_slow_nodes_are_watched_at_their_own_pace(tmp_path: Path) -> None:
    # the observer's and the API prober's beat and timeouts: a 1 s timeout on an emulated
    # guest would call a slow answer an outage, and four polls a second load its engine
    slow, fast = tmp_path / "slow.yaml", tmp_path / "fast.yaml"
    slow.write_text("time_scale: 4\n" + GOOD)
    fast.write_text(GOOD)
    paces = {}
    for path in (slow, fast):
        platform = SshPlatform.connect(path)
        observer = Observer(platform, EventLog(None, Clock()), "web")
        prober = ApiProber(platform, Clock(), tmp_path, list)
        paces[path.stem] = (
            observer.interval, observer.managers.timeout, prober.interval, prober.timeout
        )  # fmt: skip
    assert paces["fast"] == (observer_mod.INTERVAL, observer_mod.API_TIMEOUT, 1.0, 5.0)
    assert paces["slow"] == tuple(4 * v for v in paces["fast"])


def test_example_inventory_is_valid() -> None:
    inv = load_inventory(Path(__file__).resolve().parents[2] / "inventory.example.yaml")
    assert [n.name for n in inv.nodes] == ["node-001", "node-002", "node-003"]
    assert SshPlatform(inv, Path("x")).supports("halt")
