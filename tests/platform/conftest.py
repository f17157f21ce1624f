"""Every platform driver against the real lab: the lab itself, the vagrant driver through
python-vagrant with a stand-in ``vagrant`` on PATH, and the ssh driver through one real OpenSSH
server per lab node (in the node's network namespace, on the node's IP, port 22).

The sshds are Debian's ``/usr/sbin/sshd`` (openssh-server) with host and client keys made in a
temporary directory and ``SetEnv DOCKER_HOST=unix://…/node-00N/docker.sock``, so a login
"on the node" reaches that node's engine as on a VM. They are started under
``nsenter --net=/run/netns/chaoslab-node-00N`` and stopped by pid; the host's own sshd and
port 22 on the host's addresses are never touched. They are not in the node's cgroup, so a
halted node's sshd survives but is unreachable (cable pulled), as a powered-off VM would be.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.lab import Lab
from chaos.lab.config import CLIENT_NETNS
from chaos.platform.base import Platform
from chaos.platform.sshlink import Forwards, port_open

SSHD = Path("/usr/sbin/sshd")
REPO = Path(__file__).resolve().parents[2]
CHAOS = Path(sys.executable).parent / "chaos"


def _children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent:
            pids.append(int(entry.name))
    return pids


class SshNodes:
    """One sshd per lab node; ``ensure()`` (re)starts any that a rebuilt lab lost."""

    def __init__(self, base: Path) -> None:
        self.dir = base
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "hostkey")],
            check=True,
        )
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "id")], check=True
        )
        shutil.copy(base / "id.pub", base / "authorized_keys")
        self.hostkey = (base / "hostkey.pub").read_text().split()[:2]

    def ensure(self, lab: Lab) -> None:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        known = []
        client = []
        for node in lab.nodes:
            known.append(f"{node.ip} {' '.join(self.hostkey)}")
            client.append(
                f"Host {node.ip}\n  User root\n  IdentityFile {self.dir}/id\n"
                f"  IdentitiesOnly yes\n  UserKnownHostsFile {self.dir}/known_hosts\n"
                "  StrictHostKeyChecking yes\n  LogLevel ERROR\n"
            )
            proc = self.procs.get(node.name)
            listening = port_open(node.ip, 22, netns=CLIENT_NETNS)
            if proc is not None and proc.poll() is None and listening:
                continue
            self.stop(node.name)
            cfg = self.dir / f"sshd-{node.name}.conf"
            cfg.write_text(
                f"ListenAddress {node.ip}:22\nHostKey {self.dir}/hostkey\n"
                f"AuthorizedKeysFile {self.dir}/authorized_keys\n"
                "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                f"PidFile {self.dir}/sshd-{node.name}.pid\nMaxStartups 100\nMaxSessions 100\n"
                "ClientAliveInterval 2\nClientAliveCountMax 3\n"
                f"SetEnv DOCKER_HOST={node.docker_host}\n"
            )
            with (self.dir / f"sshd-{node.name}.log").open("ab") as log:
                self.procs[node.name] = subprocess.Popen(
                    ["nsenter", f"--net=/run/netns/chaoslab-{node.name}", str(SSHD), "-D",
                     "-e", "-f", str(cfg)],
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )  # fmt: skip
            deadline = time.monotonic() + 5
            while not port_open(node.ip, 22, netns=CLIENT_NETNS) and time.monotonic() < deadline:
                time.sleep(0.05)
        (self.dir / "known_hosts").write_text("\n".join(known) + "\n")
        (self.dir / "client.config").write_text("\n".join(client))

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            # Sessions first, while their parent can still reap them (a session whose client
            # vanished with a halted node would otherwise outlive the listener).
            for pid in _children(proc.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


@pytest.fixture(scope="session")
def ssh_nodes(lab_session: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshNodes]:
    if not SSHD.exists():
        pytest.skip("needs Debian's openssh-server (/usr/sbin/sshd)")
    nodes = SshNodes(tmp_path_factory.mktemp("sshd"))
    nodes.ensure(lab_session)
    yield nodes
    nodes.stop_all()


@pytest.fixture(scope="session")
def standin_env(
    ssh_nodes: SshNodes, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Environment that puts the stand-in ``vagrant`` first on PATH and points the driver at
    the repository's Vagrantfile, the lab's addresses and a temporary state directory."""
    bin_dir = tmp_path_factory.mktemp("bin")
    exe = bin_dir / "vagrant"
    source = (Path(__file__).parent / "standin_vagrant.py").read_text()
    exe.write_text(f"#!{sys.executable}\n{source}")
    exe.chmod(0o755)
    state = tmp_path_factory.mktemp("vagrant-state")
    yield {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STANDIN_SSH_DIR": str(ssh_nodes.dir),
        "CHAOS_VAGRANT_ROOT": str(REPO),
        "CHAOS_VAGRANT_STATE": str(state),
        "CHAOS_VAGRANT_IP_PREFIX": "10.213.77.",
        "CHAOS_VAGRANT_IP_START": "11",
        "CHAOS_VAGRANT_NETNS": CLIENT_NETNS,
        # the stand-in is no libvirt: never start libvirtd or build a box for it
        "CHAOS_VAGRANT_PROVIDER": "standin",
    }
    # What `chaos lab down --platform vagrant` does for forwards (the CLI runs leave them up).
    Forwards(state / "forwards").close_all()


def write_inventory(path: Path, ssh_nodes: SshNodes, lab: Lab) -> Path:
    """An inventory of the lab nodes: engines over ssh, power through `chaos lab` commands."""
    lines = [
        f"ssh_config: {ssh_nodes.dir}/client.config",
        f"netns: {CLIENT_NETNS}",  # the sshds live on the lab's network
        "mesh: emulated",
        "commands:",
        # Run on the node over ssh. The lab's own commands read the host's network namespace
        # (the node's veth), so step back into it: the node's `systemctl stop|start docker`.
        f"  engine_stop: nsenter --net=/proc/{os.getpid()}/ns/net {CHAOS} lab stop-engine {{node}}",
        f"  engine_start: nsenter --net=/proc/{os.getpid()}/ns/net {CHAOS} lab start {{node}}",
        f"  power_off: {CHAOS} lab halt {{node}}",
        f"  power_on: {CHAOS} lab start {{node}}",
        "nodes:",
    ]
    for node in lab.nodes:
        lines += [f"  - name: {node.name}", f"    ssh: root@{node.ip}"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(
    params=[
        "fake",
        pytest.param("lab", marks=pytest.mark.lab),
        pytest.param("vagrant", marks=pytest.mark.lab),
        pytest.param("ssh", marks=pytest.mark.lab),
    ]
)
def platform(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Platform]:
    """Each driver over three nodes, all powered and Ready, no services: the fake in memory
    (no root), then the real lab's nodes through the lab, vagrant (stand-in) and ssh drivers."""
    if request.param == "fake":
        from chaos.platform.fake import FakePlatform

        fake = FakePlatform(election_s=1.0, down_s=1.5)
        yield fake
        fake.close()
        return
    lab: Lab = request.getfixturevalue("lab")
    ssh_nodes: SshNodes = request.getfixturevalue("ssh_nodes")
    standin_env: dict[str, str] = request.getfixturevalue("standin_env")
    ssh_nodes.ensure(lab)
    if request.param == "lab":
        from chaos.platform.lab import LabPlatform

        yield LabPlatform(lab)
        return
    if request.param == "vagrant":
        for key, value in standin_env.items():
            monkeypatch.setenv(key, value)
        from chaos.platform.vagrant import VagrantPlatform

        vp = VagrantPlatform.connect()
        yield vp
        vp.forwards.close_all()
        return
    from chaos.platform.ssh import SshPlatform

    sp = SshPlatform.connect(write_inventory(tmp_path / "inventory.yaml", ssh_nodes, lab),
                             state_dir=tmp_path / "ssh-state")  # fmt: skip
    yield sp
    sp.close()
