"""Reaching remote engines over SSH with the OpenSSH client (no Python SSH library).

docker-py's ``ssh://`` transport needs paramiko, which this project does not depend on. The
remote platforms instead keep one ``ssh -N -L LOCAL.sock:REMOTE.sock`` forward per node (the
tutorial's ``vagrant ssh node-001``, kept open) and give :class:`chaos.swarm.engine.DockerEngine` a
``unix://`` URL on this host. The remote socket is whatever the node's ``DOCKER_HOST`` says
(default ``/var/run/docker.sock``), as ``docker system dial-stdio`` would use.

A forward whose ``ssh`` died (node halted, rebooted) is replaced on the next use; the pid and
socket of each forward live in the platform's state directory, so a later ``chaos`` process
reuses them and ``close_all`` stops them by pid.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from chaos import netns as ns
from chaos.errors import MissingBinaryError, PlatformError

SSH = "/usr/bin/ssh"
DEFAULT_SOCKET = "/var/run/docker.sock"
# Fail fast on a dead node: the observer polls every 250 ms and a halted VM must read as down.
_OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=3",
    "-o", "ServerAliveInterval=1",
    "-o", "ServerAliveCountMax=3",
)  # fmt: skip


def port_open(host: str, port: int, timeout: float = 1.0, netns: str | None = None) -> bool:
    """Whether a TCP connection to ``host:port`` (from namespace ``netns``, see
    :mod:`chaos.netns`) is accepted within ``timeout`` seconds."""

    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            return False

    try:
        return ns.call_in(netns, probe)
    except PlatformError:  # the namespace is gone: nothing is reachable
        return False


@dataclass(frozen=True, slots=True)
class SshTarget:
    """Where to ssh: a ``Host`` alias of ``config`` or ``[user@]host``, with an optional port."""

    host: str
    user: str = ""
    port: int | None = None
    config: Path | None = None
    netns: str | None = None  # where ssh runs (:mod:`chaos.netns`); None: this namespace

    def argv(self, *extra: str) -> list[str]:
        if not Path(SSH).exists():
            raise MissingBinaryError("ssh not found: install Debian's openssh-client")
        if self.netns is not None and not ns.exists(self.netns):
            raise PlatformError(f"network namespace {self.netns} is gone: is the cluster up?")
        args = [SSH, *_OPTIONS]
        if self.config is not None:
            args += ["-F", str(self.config)]
        if self.user:
            args += ["-l", self.user]
        if self.port is not None:
            args += ["-p", str(self.port)]
        return ns.command(self.netns, [*args, *extra])

    def run(self, command: str, *, timeout: float = 30.0) -> str:
        """Run ``command`` on the node; its stdout, or PlatformError with its stderr."""
        argv = self.argv("--", self.host, command)
        try:
            done = subprocess.run(
                argv, check=False, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise PlatformError(
                f"ssh {self.host}: {command!r} timed out after {timeout:g}s"
            ) from exc
        if done.returncode != 0:
            err = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            raise PlatformError(f"ssh {self.host}: {command!r} failed: {err}")
        return done.stdout


# Forwards outlive the call that started them; holding the Popen here keeps Python from
# warning that a child it dropped is still running (they are stopped by pid in close()).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@atexit.register
def _reap() -> None:
    # A forward another process stopped (e.g. `chaos lab down`) is our zombie: collect it.
    for child in list(_CHILDREN.values()):
        child.poll()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _socket_answers(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(str(path))
    except OSError:
        return False
    return True


class Forwards:
    """One ``ssh -N -L`` per node, under ``state_dir`` (``NODE.sock``, ``NODE.pid``)."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir

    def socket(self, node: str) -> Path:
        return self.dir / f"{node}.sock"

    def url(self, node: str) -> str:
        return f"unix://{self.socket(node)}"

    def _pid(self, node: str) -> int | None:
        try:
            return int((self.dir / f"{node}.pid").read_text())
        except (OSError, ValueError):
            return None

    def alive(self, node: str) -> bool:
        pid = self._pid(node)
        return pid is not None and _alive(pid) and _socket_answers(self.socket(node))

    def ensure(self, node: str, target: SshTarget, remote_socket: str) -> str:
        """The local ``unix://`` URL of the node's engine, (re)starting the forward if needed."""
        if self.alive(node):
            return self.url(node)
        self.close(node)
        self.dir.mkdir(parents=True, exist_ok=True)
        sock = self.socket(node)
        argv = target.argv(
            "-N",
            "-o", "ExitOnForwardFailure=yes",
            "-o", "StreamLocalBindUnlink=yes",
            "-L", f"{sock}:{remote_socket}",
            "--", target.host,
        )  # fmt: skip
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # outlives this command; stopped by close() by pid
        )
        _CHILDREN[proc.pid] = proc
        (self.dir / f"{node}.pid").write_text(str(proc.pid))
        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
                raise PlatformError(
                    f"ssh forward to {node} ({target.host}) failed: {err or 'ssh exited'}"
                )
            if sock.exists():
                if proc.stderr is not None:
                    proc.stderr.close()
                return self.url(node)
            time.sleep(0.05)
        self.close(node)
        raise PlatformError(f"ssh forward to {node} ({target.host}) not ready after 6s")

    def close(self, node: str) -> None:
        """Stop the node's forward (harmless when none runs)."""
        pid = self._pid(node)
        if pid is not None and _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        child = _CHILDREN.pop(pid, None) if pid is not None else None
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(2)
        for path in (self.dir / f"{node}.pid", self.socket(node)):
            path.unlink(missing_ok=True)

    def close_all(self) -> list[str]:
        """Stop every forward under the state directory; the nodes whose forward was stopped."""
        if not self.dir.is_dir():
            return []
        nodes = sorted(p.stem for p in self.dir.glob("*.pid"))
        for node in nodes:
            self.close(node)
        with contextlib.suppress(OSError):  # leave nothing behind; kept if not empty
            self.dir.rmdir()
        return nodes


def remote_socket(target: SshTarget) -> str:
    """The engine socket the node's own ``DOCKER_HOST`` names (default /var/run/docker.sock)."""
    out = target.run('printf %s "${DOCKER_HOST:-}"', timeout=10.0).strip()
    if not out:
        return DEFAULT_SOCKET
    if not out.startswith("unix://"):
        raise PlatformError(
            f"{target.host}: DOCKER_HOST={out} is not a unix socket; forward it yourself"
        )
    return out.removeprefix("unix://")
