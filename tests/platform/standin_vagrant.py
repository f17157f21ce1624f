"""A stand-in ``vagrant`` executable that acts on the local lab's nodes (VirtualBox cannot run
here). The fixture copies it as ``vagrant`` into a test's temporary bin directory, with this
interpreter in its shebang, and puts that directory first on PATH: python-vagrant and the
vagrant platform driver then run for real; only the hypervisor is replaced.

What each command does to the lab node (the VM's view of it):

    status --machine-readable [NODE]   running / poweroff (halted) / saved (suspended)
    up [NODE]                          halted -> ``Lab.start``; suspended -> ``Lab.resume``
    halt --force NODE                  ``Lab.halt`` (power cut)
    halt NODE                          ``Lab.stop_engine`` then ``Lab.halt`` (systemd stops
                                       dockerd before the power goes: a goodbye to the swarm)
    suspend / resume NODE              ``Lab.suspend`` / ``Lab.resume``
    ssh-config NODE                    the per-node sshd the fixture runs in the node's netns
    ssh NODE --command CMD             ``systemctl stop|start docker`` -> ``Lab.stop_engine`` /
                                       ``Lab.start`` (the VM's systemd); anything else over ssh

Environment: ``STANDIN_SSH_DIR`` holds ``id`` and ``known_hosts`` of the fixture's sshds.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from chaos.errors import ChaosError
from chaos.lab import Lab

_STATE = {"running": "running", "halted": "poweroff", "suspended": "saved"}


def _nodes(lab: Lab, args: list[str]) -> list[str]:
    names = [n.name for n in lab.nodes]
    picked = [a for a in args if not a.startswith("-")]
    for name in picked:
        if name not in names:
            sys.exit(f"The machine with the name '{name}' was not found configured.")
    return picked or names


def _ssh_config(lab: Lab, node: str) -> str:
    d = os.environ["STANDIN_SSH_DIR"]
    return (
        f"Host {node}\n  HostName {lab.node(node).ip}\n  User root\n  Port 22\n"
        f"  UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking yes\n"
        f"  PasswordAuthentication no\n  IdentityFile {d}/id\n  IdentitiesOnly yes\n"
        "  LogLevel ERROR\n"
    )


def _status(lab: Lab, args: list[str]) -> int:
    now = int(time.time())
    for node in _nodes(lab, args):
        print(f"{now},{node},provider-name,standin")
        print(f"{now},{node},state,{_STATE[lab.power(node)]}")
    return 0


def _ssh_configs(lab: Lab, args: list[str]) -> int:
    for node in _nodes(lab, args):
        print(_ssh_config(lab, node))
    return 0


def _ssh(lab: Lab, args: list[str]) -> int:
    node, command = args[0], args[args.index("--command") + 1]
    if command == "sudo systemctl stop docker":
        print(lab.stop_engine(node))
        return 0
    if command == "sudo systemctl start docker":
        print(lab.start(node))
        return 0
    cfg = os.path.join(os.environ["STANDIN_SSH_DIR"], f"{node}.standin.config")
    with open(cfg, "w") as f:
        f.write(_ssh_config(lab, node))
    argv = ["/usr/bin/ssh", "-F", cfg, "-o", "BatchMode=yes", node, command]
    netns = os.environ.get("CHAOS_VAGRANT_NETNS")  # as vagrant's own ssh would be run
    if netns:
        argv = ["/usr/bin/nsenter", f"--net=/run/netns/{netns}", "--", *argv]
    os.execv(argv[0], argv)


def _up(lab: Lab, node: str, args: list[str]) -> None:
    power = lab.power(node)
    if power == "suspended":
        lab.resume(node)
    elif power == "halted":
        lab.start(node)


def _halt(lab: Lab, node: str, args: list[str]) -> None:
    if lab.power(node) == "running":
        if "--force" not in args:
            lab.stop_engine(node)
        lab.halt(node)


_PER_NODE: dict[str, Callable[[Lab, str, list[str]], None]] = {
    "up": _up,
    "halt": _halt,
    "suspend": lambda lab, node, _args: print(lab.suspend(node)),
    "resume": lambda lab, node, _args: print(lab.resume(node)),
}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        print("Vagrant 2.4.1")
        return 0
    lab = Lab.attach()
    cmd, args = argv[0], argv[1:]
    whole = {"status": _status, "ssh-config": _ssh_configs, "ssh": _ssh}.get(cmd)
    if whole is not None:
        return whole(lab, args)
    action = _PER_NODE.get(cmd)
    if action is None:
        sys.exit(f"stand-in vagrant: {cmd!r} is not implemented")
    for node in _nodes(lab, args):
        action(lab, node, args)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ChaosError as exc:
        sys.exit(f"stand-in vagrant: {exc}")
