"""Preflight for a platform (``chaos doctor``): can experiments run here, and what to fix.

Checks, in order, each ``ok``, ``warn`` or ``fail`` with what to do about it:

- engines: every node's engine answers (all asked at once, 5 s each), and its version
  (versions that differ: warn);
- swarm: a manager answers, one leader, every node Ready (managers Reachable);
- ports: from each node, TCP 2377 (cluster management) and 7946 (gossip) on every other node
  answer within 2 s (UDP 7946/4789 cannot be probed by a connect; Ready nodes and a working
  overlay are their evidence); every node probes all its targets at once, all nodes at once;
- mesh: swarm's ingress (IPVS on the nodes) or the emulated one, and whether that works here;
- clock: skew between the nodes' clocks (each engine's ``SystemTime`` against this host's,
  measured around the call), which skews every timeline and can break swarm's TLS.

Pure policy on what the platform reports; the only acting step is a read.
"""

from __future__ import annotations

import datetime as dt
import shlex
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from chaos.errors import ChaosError
from chaos.platform.base import Platform
from chaos.platform.view import cluster_view

Status = Literal["ok", "warn", "fail"]
SKEW_WARN_S = 0.5
SKEW_FAIL_S = 2.0
SWARM_PORTS = (2377, 7946)
NodeShell = Callable[[str, str], str]  # (node, command) -> its standard output


@dataclass(frozen=True, slots=True)
class Check:
    area: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<5}{self.area:<9}{self.detail}"
        return text + (f"\n{'':<14}fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True, slots=True)
class Report:
    platform: str
    checks: tuple[Check, ...]

    @property
    def healthy(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def lines(self) -> list[str]:
        fails = sum(c.status == "fail" for c in self.checks)
        warns = sum(c.status == "warn" for c in self.checks)
        verdict = "ready for experiments" if not fails else "not ready: fix the failures above"
        return [
            *(c.line() for c in self.checks),
            f"doctor ({self.platform}): {fails} failed, {warns} warnings: {verdict}",
        ]


def _parse_time(text: str) -> float | None:
    # Engines give RFC 3339 with nanoseconds; Python wants at most microseconds.
    try:
        head, _, frac = text.partition(".")
        tz = ""
        for sign in ("Z", "+", "-"):
            if sign in frac:
                frac, _, rest = frac.partition(sign)
                tz = sign + rest
                break
        iso = f"{head}.{frac[:6] or '0'}{'+00:00' if tz in ('Z', '') else tz}"
        return dt.datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


def node_shell(platform: Platform) -> NodeShell | None:
    """How to run a command on a node, where the platform allows it (else None)."""
    run = getattr(platform, "run_on_node", None)
    if callable(run):
        return lambda node, cmd: str(run(node, cmd))
    if platform.name == "lab":

        def lab_run(node: str, cmd: str) -> str:
            argv = ["nsenter", f"--net=/run/netns/chaoslab-{node}", "sh", "-c", cmd]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            if done.returncode != 0:
                raise ChaosError(done.stderr.strip() or f"exit {done.returncode}")
            return done.stdout

        return lab_run
    return None


@dataclass(frozen=True, slots=True)
class _Engine:
    """What one node's engine said: its check, and its version and clock offset if it answered."""

    check: Check
    version: str | None = None
    offset: float | None = None


def _engine(platform: Platform, node: str, power: str) -> _Engine:
    if power != "running" or not platform.engine_up(node):
        return _Engine(
            Check("engines", "fail", f"{node}: engine not answering (power {power})",
                  f"start it: chaos lab start {node} / --platform start; check its ssh"),
        )  # fmt: skip
    try:
        with platform.engine(node, timeout=5.0) as engine:
            before = time.time()
            info = engine.info()
            after = time.time()
    except ChaosError as exc:
        return _Engine(Check("engines", "fail", f"{node}: {exc}", "see the engine's log"))
    version = str(info.get("ServerVersion", "?"))
    remote = _parse_time(str(info.get("SystemTime", "")))
    return _Engine(
        Check("engines", "ok", f"{node}: docker {version}, "
              f"kernel {info.get('KernelVersion', '?')}, {info.get('NCPU', '?')} CPUs"),
        version,
        None if remote is None else remote - (before + after) / 2,
    )  # fmt: skip


def _engines(platform: Platform, nodes: list[str]) -> tuple[list[Check], dict[str, float]]:
    # every engine at once: a manager cut off from its leader can take the whole timeout to
    # answer ``docker info``, and that should cost one timeout, not one per such node
    powers = {n: platform.power(n) for n in nodes}
    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        said = dict(zip(nodes, pool.map(lambda n: _engine(platform, n, powers[n]), nodes),
                        strict=True))  # fmt: skip
    checks = [e.check for e in said.values()]
    offsets = {n: e.offset for n, e in said.items() if e.offset is not None}
    versions = {n: e.version for n, e in said.items() if e.version is not None}
    if len(set(versions.values())) > 1:
        checks.append(
            Check("engines", "warn", "engine versions differ: " + ", ".join(
                f"{n}={v}" for n, v in versions.items()),
                "run one docker version on every node (swarm tolerates skew, results less so)"),
        )  # fmt: skip
    return checks, offsets


def _swarm(platform: Platform) -> list[Check]:
    view = cluster_view(platform)
    if not any(n.role for n in view):
        return [Check("swarm", "fail", "no manager answers",
                      "form the swarm: chaos lab up [--platform vagrant]")]  # fmt: skip
    leaders = [n.name for n in view if n.leader]
    checks = [
        Check("swarm", "ok" if len(leaders) == 1 else "fail",
              f"leader {leaders[0] if leaders else 'none'}; "
              f"{sum(n.role == 'manager' for n in view)} managers, "
              f"{sum(n.role == 'worker' for n in view)} workers",
              "" if leaders else "restore quorum: start the halted managers"),
    ]  # fmt: skip
    for n in view:
        if not n.member().ready:
            checks.append(
                Check("swarm", "fail", f"{n.name}: {n.status or 'unknown'}"
                      f"{'/' + n.reachability if n.reachability else ''}",
                      f"bring {n.name} back (start/resume) and check the swarm ports"),
            )  # fmt: skip
    return checks


def _ports(platform: Platform, nodes: list[str]) -> list[Check]:
    shell = node_shell(platform)
    if shell is None:
        return [Check("ports", "warn", "cannot run commands on the nodes: ports not probed")]
    running = [n for n in nodes if platform.power(n) == "running"]
    ips = {n: platform.node_ip(n) for n in running}

    def from_node(src: str) -> list[str]:
        targets = {
            f"{ips[dst]}:{port}": f"{src}->{dst}:{port}"
            for dst in running
            if dst != src
            for port in SWARM_PORTS
        }
        return [targets[t] for t in _unanswered(shell, src, list(targets))]

    # every node probes at once: a cut-off node costs one 2 s timeout in all, not one per node
    with ThreadPoolExecutor(max_workers=max(1, len(running))) as pool:
        closed = [probe for found in pool.map(from_node, running) for probe in found]
    if closed:
        ours = [n for n in running if _isolated(platform, n)]
        fix = (
            f"{', '.join(ours)} isolated by swarm-chaos: run `chaos recover` (or reconnect it)"
            if ours
            else "open 2377/tcp, 7946/tcp+udp, 4789/udp between the nodes "
            "(firewall, security group)"
        )
        return [Check("ports", "fail", "closed: " + ", ".join(closed), fix)]
    return [Check("ports", "ok", f"2377/tcp and 7946/tcp open between all {len(nodes)} nodes "
                  "(UDP 7946/4789 not probeable by connect)")]  # fmt: skip


def _unanswered(shell: NodeShell, src: str, targets: list[str]) -> list[str]:
    """The ``ip:port`` targets that a TCP connect from ``src`` did not reach within 2 s: one
    command on the node that tries them all at once (a dropped port costs its timeout once,
    not once per probe, and a remote node one ssh round trip). All of them when the node
    cannot run it."""
    if not targets:
        return []
    script = (
        f"for t in {' '.join(targets)}; do "
        '(timeout 2 bash -c "</dev/tcp/${t%:*}/${t##*:}" 2>/dev/null || echo "closed $t") & '
        "done; wait"
    )
    try:
        out = shell(src, f"bash -c {shlex.quote(script)}")
    except (ChaosError, subprocess.TimeoutExpired):
        return targets
    said = {line.split()[1] for line in out.splitlines() if line.startswith("closed ")}
    return [t for t in targets if t in said]


def _isolated(platform: Platform, node: str) -> bool:
    try:
        return platform.isolated(node)
    except ChaosError:
        return False


def _mesh(platform: Platform) -> Check:
    if platform.mesh == "ingress":
        return Check("mesh", "ok", "swarm's ingress routing mesh (IPVS on the nodes)")
    if platform.name == "lab":
        return Check("mesh", "ok", "emulated (this kernel has no IPVS; iptables DNAT per task, "
                     "see README 'The routing mesh')")  # fmt: skip
    return Check("mesh", "warn", "no IPVS on the nodes: swarm's ingress mesh will not answer",
                 "load it on every node (modprobe ip_vs; the Vagrantfile does) or publish "
                 "in host mode")  # fmt: skip


def _clock(offsets: dict[str, float]) -> Check:
    if len(offsets) < 2:
        return Check("clock", "warn", "fewer than two engines answered: skew not measured")
    skew = max(offsets.values()) - min(offsets.values())
    each = ", ".join(f"{n} {o * 1000:+.0f} ms" for n, o in sorted(offsets.items()))
    detail = f"skew between nodes {skew * 1000:.0f} ms ({each} vs this host)"
    fix = "run chrony or systemd-timesyncd on every node"
    if skew > SKEW_FAIL_S:
        return Check("clock", "fail", detail, fix)
    if skew > SKEW_WARN_S:
        return Check("clock", "warn", detail, fix)
    return Check("clock", "ok", detail)


def diagnose(platform: Platform) -> Report:
    """Every check against the live platform; never raises for what it finds."""
    nodes = platform.node_names()
    checks, offsets = _engines(platform, nodes)
    try:
        checks += _swarm(platform)
    except ChaosError as exc:
        checks.append(Check("swarm", "fail", str(exc), "form the swarm: chaos lab up"))
    checks += _ports(platform, nodes)
    checks.append(_mesh(platform))
    checks.append(_clock(offsets))
    return Report(platform.name, tuple(checks))
