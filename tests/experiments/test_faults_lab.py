"""The fault kinds every chaos tool has, on the real lab: a killed task replaced, a degraded
network (loss, delay) really degraded and really healed, a stressed node's processes in its
cgroups, the live guard stopping a run, and ``chaos recover`` leaving nothing of them after a
SIGKILL."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from chaos.journal import Journal
from chaos.lab import Lab, cgroups
from chaos.lab.pressure import degraded, stressed
from chaos.platform.degrade import Degradation
from chaos.platform.lab import LabPlatform
from chaos.timeline import StepEnd, TasksChange
from tests import netprobe
from tests.experiments.helpers import CHAOS, assert_slo_holds, run
from tests.experiments.test_recover_lab import start_run
from tests.lab.helpers import poll

pytestmark = pytest.mark.lab


def connect_times(lab: Lab, src: str, dst: str, port: int, n: int, timeout: float) -> list[float]:
    """TCP connect times from ``src``'s namespace to ``dst``'s port (inf: no connection)."""
    return netprobe.connect_times(lab.node(src).netns, lab.node(dst).ip, port, n, timeout)


def test_kill_task_is_replaced_and_counted(lab: Lab, tmp_path: Path) -> None:
    ran = run("task-kill", tmp_path)
    r = ran.result
    assert "SIGKILLed (exit 137)" in ran.events(StepEnd)[0].detail
    running = [e.running for e in ran.events(TasksChange)]
    assert 2 in running and running[-1] == 3, running  # one short, then replaced
    assert r.recovery.service_converged_s is not None and r.recovery.service_converged_s > 1
    assert r.leader_after == r.leader_before
    # expect: the mesh drops a dead container within a poll: few errors, well under the SLO
    assert_slo_holds(r, ran.code)
    assert r.restored and Journal().pending(platform="lab") == []


def test_a_graceful_kill_stops_the_task_by_sigterm_within_its_grace(
    lab: Lab, tmp_path: Path
) -> None:
    # the lab's web image traps SIGTERM and exits 0: a graceful stop never needs the SIGKILL
    ran = run("task-kill", tmp_path, "steps.0.kill_task.signal=TERM")
    detail = ran.events(StepEnd)[0].detail
    assert re.search(r"stopped by SIGTERM in \d+\.\d s \(exit 0, within its 10 s grace\)",
                     detail), detail  # fmt: skip
    running = [e.running for e in ran.events(TasksChange)]
    assert 2 in running and running[-1] == 3, running  # replaced as a killed one is
    assert ran.result.restored and Journal().pending(platform="lab") == []


def test_degrade_delays_and_drops_swarm_traffic_both_ways_and_heals(lab: Lab) -> None:
    p = LabPlatform(lab)
    before = connect_times(lab, "node-002", "node-001", 2377, 5, 2.0)
    assert max(before) < 0.2, before
    p.degrade("node-001", Degradation(delay_s=0.3, jitter_s=0.0))
    try:
        slow = connect_times(lab, "node-002", "node-001", 2377, 5, 3.0)
        # the SYN waits on the way in, the SYN-ACK on the way out: two delays per connect
        assert all(0.55 < t < 1.5 for t in slow), slow
        other = connect_times(lab, "node-002", "node-003", 2377, 3, 2.0)
        assert max(other) < 0.2, other  # only the degraded node's traffic
        assert degraded(lab.node("node-001"))
    finally:
        print(p.undegrade("node-001"))
    assert max(connect_times(lab, "node-002", "node-001", 2377, 5, 2.0)) < 0.2
    assert not degraded(lab.node("node-001"))
    assert not cgroups.pids("chaoslab/node-001/delayer")
    p.degrade("node-001", Degradation(loss=0.5))
    try:
        lossy = connect_times(lab, "node-003", "node-001", 2377, 30, 0.5)
        lost = sum(t == float("inf") for t in lossy)
        # a connect within 0.5 s needs the SYN in and the SYN-ACK out: 0.5 x 0.5 get
        # through, about 22 of 30 are lost (all 30: 0.75^30, 2 in 10,000)
        assert 10 <= lost <= 29, lossy
        # the node's own sends are lost on the way, never refused to the sender: gossip
        # suspects a peer whose acks do not come, not one it could not send to
        n1 = lab.node("node-001")
        assert set(netprobe.udp_sends(n1.netns, lab.node("node-002").ip, 7946, 50)) == {"sent"}
        assert cgroups.pids(f"{n1.cgroup}/delayer")  # what loses them
    finally:
        p.undegrade("node-001")
    assert not degraded(lab.node("node-001"))
    # loss and delay together: every matched packet is queued, and a packet the delayer
    # accepts leaves the mangle table, so the delayer itself must lose them (a drop rule
    # beside the queue never saw one: 0 of 30 lost)
    p.degrade("node-001", Degradation(loss=0.5, delay_s=0.05))
    try:
        lossy = connect_times(lab, "node-003", "node-001", 2377, 30, 0.5)
        assert 10 <= sum(t == float("inf") for t in lossy) <= 29, lossy
    finally:
        p.undegrade("node-001")
    assert not degraded(lab.node("node-001"))


def test_stress_runs_in_the_nodes_cgroups_and_is_undone(lab: Lab) -> None:
    p = LabPlatform(lab)
    node = lab.node("node-002")
    p.stress("node-002", 2, 64 * 2**20)
    try:
        pids = cgroups.pids(f"{node.cgroup}/stress")
        assert len(pids) == 3 and stressed(node)
        cpu = Path(f"/sys/fs/cgroup/cpu/{node.cgroup}/cgroup.procs").read_text().split()
        assert set(map(str, pids)) <= set(cpu)  # its own cpu group: it starves this node

        def resident() -> bool:  # the holder touches its pages right after it starts
            pages = sum(int(Path(f"/proc/{pid}/statm").read_text().split()[1]) for pid in pids)
            return pages * os.sysconf("SC_PAGE_SIZE") >= 64 * 2**20

        poll(resident, 10, "64 MiB resident in the stress cgroup")
    finally:
        p.unstress("node-002")
    assert not stressed(node) and "nothing done" in p.unstress("node-002")


GUARDED = """\
name: guarded-kill
description: The leader halted under a guard that allows little.
service: {image: "chaoslab/web:1", replicas: 3, port: 80}
load: {rate: 200/s, connection: new, timeout: 1s}
phases: {warmup: 1s, baseline: 4s, observe: 4s}
steps:
  - halt: leader
  - sleep: 60s
guard: {max_error_rate: 10%, window: 2s}
"""


def test_the_guard_stops_a_run_that_breaks_its_threshold(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "guarded.yaml"
    path.write_text(GUARDED)
    started = time.monotonic()
    ran = run(str(path), tmp_path / "out")
    r = ran.result
    assert ran.code == 6 and r.verdict == "guard_tripped", r.verdict_reasons
    assert time.monotonic() - started < 120  # not the 60 s sleep plus its restore
    g = r.guard
    assert g is not None and g.restore_started is not None and g.restore_latency_s is not None
    fault = next(p for p in r.phases if p.name == "fault")
    # the live IPs fail (about a third of their connections) from the halt on: the guard's
    # window fills 2 s later and trips once those windows are in (a window closes when its
    # slowest request has ended: the 1 s timeout)
    assert g.data_end - fault.start >= 2.0 - 1e-6
    # tripped within its window plus one second of the harm, give or take the windows'
    # delivery (up to the load's 1 s timeout); restoring once the requests in flight are done
    assert g.tripped - fault.start <= 2.0 + 1.0 + 1.0, g
    assert g.restore_started - g.tripped <= 1.0 + 1.0, g
    assert r.restored and Journal().pending(platform="lab") == []


def test_recover_leaves_nothing_of_a_degraded_and_stressed_node(lab: Lab, tmp_path: Path) -> None:
    faults = """\
name: pressed
description: Stress, loss and delay held on two nodes, then the run is SIGKILLed.
service: {image: "chaoslab/web:1", replicas: 3, port: 80}
load: {rate: 100/s, connection: new, timeout: 2s}
phases: {warmup: 1s, baseline: 2s, observe: 2s}
steps:
  - stress: {node: node-002, cpu: 1, memory: 32M}
  - degrade: {node: node-003, loss: 10%, delay: 200ms}
  - sleep: 300s
"""
    path = tmp_path / "pressed.yaml"
    path.write_text(faults)
    proc = start_run(tmp_path / "out", experiment=str(path))
    try:
        n2, n3 = lab.node("node-002"), lab.node("node-003")
        poll(lambda: stressed(n2) and cgroups.pids(f"{n3.cgroup}/delayer"), 120, "the faults")
        proc.kill()
    finally:
        proc.wait()
        proc.communicate()
    assert degraded(n3) and stressed(n2)
    done = subprocess.run([CHAOS, "recover"], capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not stressed(n2) and not degraded(n3)
    assert not cgroups.pids(f"{n3.cgroup}/delayer") and not cgroups.pids(f"{n2.cgroup}/stress")
    rules = subprocess.run(["ip", "netns", "exec", n3.netns, "iptables-save", "-t", "mangle"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "CHAOS-DEGRADE" not in rules and "CHAOS-DELAY" not in rules and "NFQUEUE" not in rules
    assert Journal().pending(platform="lab") == []
    assert not (tmp_path / "out" / "result.json").exists()  # killed: only the journal knew
