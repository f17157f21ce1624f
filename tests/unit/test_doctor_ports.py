"""The doctor's port probe, run by a real bash against loopback: every target of a node in
one command, and what did not answer said by target."""

from __future__ import annotations

import socket
import subprocess

from chaos import doctor
from chaos.errors import ChaosError


def local_shell(calls: list[str]) -> doctor.NodeShell:
    def shell(node: str, command: str) -> str:
        calls.append(node)
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
        return done.stdout

    return shell


def test_one_command_per_node_says_which_targets_did_not_answer() -> None:
    with socket.socket() as listening, socket.socket() as bound:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        bound.bind(("127.0.0.1", 0))  # bound, not listening: a connect is refused
        answered = f"127.0.0.1:{listening.getsockname()[1]}"
        refused = f"127.0.0.1:{bound.getsockname()[1]}"
        calls: list[str] = []
        targets = [refused, answered, refused.replace("127.0.0.1", "127.0.0.2")]
        assert doctor._unanswered(local_shell(calls), "node-001", targets) == [
            refused,
            targets[2],
        ]
        assert calls == ["node-001"]
        assert doctor._unanswered(local_shell(calls), "node-001", [answered]) == []


def test_a_node_that_cannot_run_the_probe_reaches_nothing() -> None:
    def broken(node: str, command: str) -> str:
        raise ChaosError(f"{node}: ssh: connection refused")

    assert doctor._unanswered(broken, "node-002", ["127.0.0.1:2377"]) == ["127.0.0.1:2377"]
    assert doctor._unanswered(broken, "node-002", []) == []
