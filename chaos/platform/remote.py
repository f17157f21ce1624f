"""What the remote platforms (vagrant, ssh) share about acting on a node over ssh."""

from __future__ import annotations

from chaos.errors import NodeHaltedError


def require_running(node: str, power: str) -> None:
    if power != "running":
        raise NodeHaltedError(f"{node} is {power}: start or resume it first")
