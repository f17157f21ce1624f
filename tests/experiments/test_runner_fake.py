"""The runner's logic on the fake platform (chaos.platform.fake): set-up, phases on the window
grid, steps, the restore's order, every way a run stops, the verdict and the exit code, with
the real load generator against the fake's real HTTP servers. Fast, and no root."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos.analysis import RunResult, load_result
from chaos.experiment.runner import RunOptions, RunOutcome, run_experiment
from chaos.experiment.spec import Experiment, parse_experiment
from chaos.journal import Journal
from chaos.platform.fake import FakePlatform
from chaos.timeline import StepEnd
from tests.experiments.helpers import assert_slo_holds

PORT = 18080


@pytest.fixture()
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlatform]:
    monkeypatch.setenv("CHAOS_JOURNAL", str(tmp_path / "journal.jsonl"))
    monkeypatch.setenv("CHAOS_LOCK_DIR", str(tmp_path / "locks"))
    platform = FakePlatform(election_s=1.0, down_s=1.5, update_s=0.5).install()
    yield platform
    platform.close()


def experiment(steps: list[Any], **over: Any) -> Experiment:
    doc: dict[str, Any] = {
        "name": "fake-run",
        "description": "a run on the fake platform",
        "service": {"image": "chaoslab/web:1", "replicas": 3, "port": PORT},
        "load": {"rate": "100/s", "timeout": "1s"},
        "phases": {"warmup": "0.5s", "baseline": "1s", "observe": "1s"},
        "steps": steps,
        "slo": {"max_error_rate": "50%"},
        **over,
    }
    return parse_experiment(yaml.safe_load(yaml.safe_dump(doc)), "fake-run.yaml")


def run(exp: Experiment, out: Path, seed: int = 1, **opts: Any) -> tuple[RunOutcome, RunResult]:
    out = out / "run"  # beside the test's journal and locks
    outcome = run_experiment(exp, RunOptions("fake", seed=seed, out_dir=out, live=False, **opts))
    return outcome, load_result(out / "result.json")


def fault_span(r: RunResult) -> float:
    """How long the fault phase lasted on the run's own clock (seconds)."""
    fault = next(p for p in r.phases if p.name == "fault")
    return fault.end - fault.start


def signal_on(action: str, sig: signal.Signals) -> Callable[[str, str], None]:
    """A fake hook that sends ``sig`` to this process when the run performs ``action``."""

    def hook(what: str, node: str) -> None:
        if what == action:
            os.kill(os.getpid(), sig)

    return hook


def healthy(fake: FakePlatform) -> bool:
    nodes = fake.swarm.nodes.values()
    return (
        all(n.power == "running" and n.engine and not n.isolated for n in nodes)
        and fake.swarm.leader is not None
        and not fake.swarm.services
    )


def test_a_run_with_no_fault_passes_and_judges_every_phase(
    fake: FakePlatform, tmp_path: Path
) -> None:
    outcome, r = run(experiment([], slo={"max_error_rate": "0%"}), tmp_path)
    assert_slo_holds(r, outcome.exit_code)  # a busy machine: never pass, but unknown
    assert [p.name for p in r.phases] == ["warmup", "baseline", "fault", "observe"]
    # phases start on the load's 100 ms grid, the first at t0: every request is in one
    assert r.phases[0].start == 0.0
    assert all(round(p.start * 10, 6) == round(p.start * 10) for p in r.phases)
    # every request sent before the end mark is in exactly one phase (the load stops after)
    end = r.phases[-1].end
    lines = (tmp_path / "run" / "load" / "timeline.jsonl").read_text().splitlines()
    timeline = [json.loads(x) for x in lines]
    before_end = sum(e["total"] for e in timeline if e["t"] < end - 1e-6)
    assert sum(p.requests.total for p in r.phases) == before_end > 0
    assert r.restored and healthy(fake)
    assert Journal().pending() == []


def test_halting_the_leader_elects_another_and_the_restore_starts_it(
    fake: FakePlatform, tmp_path: Path
) -> None:
    steps = [{"halt": "leader", "as": "victim"}, {"wait_for": "leader_elected", "timeout": "10s"}]
    outcome, r = run(experiment(steps), tmp_path)
    assert r.leader_before == "node-001"
    assert r.leader_after not in (None, "node-001")
    assert r.recovery.leader_elected_s is not None and 0.9 < r.recovery.leader_elected_s < 5
    assert r.failed_by_node["node-001"] > 0  # its IP refused while it was off
    assert_slo_holds(r, outcome.exit_code)
    assert fake.swarm.calls == ["halt node-001", "start node-001"]  # the restore healed it
    assert r.restored and healthy(fake)


def test_a_shutdown_leader_is_replaced_and_started_again_by_the_restore(
    fake: FakePlatform, tmp_path: Path
) -> None:
    steps = [{"shutdown": "leader"}, {"wait_for": "leader_elected", "timeout": "10s"}]
    _, r = run(experiment(steps), tmp_path)
    assert r.leader_after not in (None, "node-001")
    assert fake.swarm.calls == ["shutdown node-001", "start node-001"]
    ends = [e for e in r.events if isinstance(e, StepEnd)]
    assert ends[0].action == "shutdown" and ends[0].nodes == ("node-001",)
    assert r.failed_by_node["node-001"] > 0  # its IP is a dead IP while it is off
    assert r.restored and healthy(fake)


def test_the_restore_heals_stage_by_stage(fake: FakePlatform, tmp_path: Path) -> None:
    steps = [
        {"drain": "node-003"},
        {"label_add": {"node": "node-002", "label": "zone=a"}},
        {"halt": "node-002"},
        {"isolate": "node-003"},
    ]
    _, r = run(experiment(steps, expect_quorum_loss=True), tmp_path)
    assert r.restored, r.errors
    # the network first (newest first within a stage), the control plane after a Ready swarm
    assert fake.swarm.calls[2:] == ["reconnect node-003", "start node-002"]
    node = fake.swarm.nodes
    assert node["node-003"].availability == "active" and "zone" not in node["node-002"].labels
    assert healthy(fake)


def test_a_wait_that_times_out_fails_the_run(fake: FakePlatform, tmp_path: Path) -> None:
    steps = [{"wait_for": {"condition": "node_status", "node": "node-002", "status": "down"},
              "timeout": "1s"}]  # fmt: skip
    outcome, r = run(experiment(steps), tmp_path)
    assert (outcome.verdict, outcome.exit_code) == ("fail", 1)
    assert any("timed out" in reason for reason in r.verdict_reasons)


@pytest.mark.parametrize(("scale", "verdict"), [(1.0, "fail"), (3.0, "pass")])
def test_a_slow_platform_waits_longer_for_swarm(
    fake: FakePlatform, tmp_path: Path, scale: float, verdict: str
) -> None:
    # the fake sees a halted node Down after 1.5 s: past a 1 s wait, inside it at 3x (TCG guests)
    fake.time_scale = scale  # type: ignore[attr-defined]
    steps = [{"halt": "node-002"},
             {"wait_for": {"condition": "node_status", "node": "node-002", "status": "down"},
              "timeout": "1s"}]  # fmt: skip
    outcome, r = run(experiment(steps), tmp_path)
    assert outcome.verdict == verdict, r.verdict_reasons


def test_a_failing_step_is_a_platform_error_and_still_restores(
    fake: FakePlatform, tmp_path: Path
) -> None:
    fake.broken.add("suspend")  # the plan allows it; the platform fails when it acts
    outcome, r = run(experiment([{"drain": "node-003"}, {"suspend": "node-002"}]), tmp_path)
    assert outcome.exit_code == 3, r.verdict_reasons
    assert r.verdict == "unknown"
    assert r.errors == [
        "step 2 (suspend node-002) failed: suspend node-002 failed (the fake was told to fail it)"
    ]
    assert r.restored and healthy(fake)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGUSR1])
def test_a_signal_stops_the_run_restores_and_exits_130(
    fake: FakePlatform, tmp_path: Path, sig: signal.Signals
) -> None:
    steps = [{"halt": "leader"}, {"sleep": "30s"}]
    fake.on_action = signal_on("halt", sig)
    outcome, r = run(experiment(steps), tmp_path)
    assert fault_span(r) < 29  # the 30 s sleep was cut short (the run's own clock)
    assert (outcome.verdict, outcome.exit_code) == ("interrupted", 130)
    assert len(r.verdict_reasons) == 1 and "not judged" in r.verdict_reasons[0]
    assert r.restored and healthy(fake)
    assert signal.getsignal(sig) is not None  # the run put the previous handler back


def test_a_step_acting_when_the_stop_comes_is_finished_not_abandoned(
    fake: FakePlatform, tmp_path: Path
) -> None:
    fake.action_s = 2.0  # each power action takes 2 s (a slow VM): the signal comes mid-halt
    steps = [{"halt": "node-002"}, {"sleep": "30s"}]
    fake.on_action = signal_on("halt", signal.SIGTERM)
    outcome, r = run(experiment(steps), tmp_path)
    assert outcome.exit_code == 130
    # the halt ran to its end before the restore began, then the restore started the node
    assert fake.swarm.calls == ["halt node-002", "start node-002"]
    assert r.restored and healthy(fake)


def test_a_third_signal_gives_the_restore_up_and_says_what_is_left(
    fake: FakePlatform, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [{"halt": "node-002"}, {"sleep": "30s"}]

    def insist(what: str, node: str) -> None:
        # Ctrl-C once the halt is done; twice more while the restore starts the node
        if what in ("halt", "start"):
            os.kill(os.getpid(), signal.SIGINT)
        if what == "start":
            os.kill(os.getpid(), signal.SIGINT)

    fake.on_action = insist
    outcome, r = run(experiment(steps), tmp_path)
    assert outcome.exit_code == 4
    assert not r.restored
    assert any("restore given up" in e and "halt node-002" in e for e in r.errors), r.errors
    assert "please wait" in capsys.readouterr().err
    assert [f.action for f in Journal().pending()] == ["create_service", "halt"]


def test_a_cluster_that_vanishes_stops_the_load_at_once(fake: FakePlatform, tmp_path: Path) -> None:
    steps = [{"halt": "node-003"}, {"sleep": "30s"}]

    def vanish(what: str, node: str) -> None:
        fake.gone = True

    fake.on_action = vanish
    outcome, r = run(experiment(steps), tmp_path)
    assert outcome.exit_code == 3 and r.verdict == "interrupted"
    assert any("disappeared" in e for e in r.errors)
    assert r.load is not None and r.load.duration_s < 5


def _load_children() -> list[int]:
    """This process's children that run the load generator (multiprocessing's spawn)."""
    me = str(os.getpid())
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == me and b"spawn_main" in cmdline:  # not the resource tracker
            found.append(int(proc.name))
    return found


def test_a_generator_killed_mid_run_is_said_and_written_down(
    fake: FakePlatform, tmp_path: Path
) -> None:
    """SIGKILL leaves the generator no time to say why: the run says it, writes it into the
    load directory, stops, restores and keeps its result."""
    killed: list[int] = []

    def kill_the_generator(what: str, node: str) -> None:
        if what == "halt":
            for pid in _load_children():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    fake.on_action = kill_the_generator
    outcome, r = run(experiment([{"halt": "node-003"}, {"sleep": "30s"}]), tmp_path)
    assert killed, "no load generator process found"
    why = "the load generator was killed by SIGKILL"
    assert any(why in e for e in r.errors), r.errors
    assert outcome.exit_code == 3 and fault_span(r) < 29
    assert (tmp_path / "run" / "load" / "error.txt").read_text().startswith(why)
    assert r.restored and healthy(fake)


def test_errors_in_the_baseline_make_the_verdict_unknown(
    fake: FakePlatform, tmp_path: Path
) -> None:
    # node-003's IP resets every third connection, before any fault as after it
    original = fake.swarm.answer
    count = iter(range(10**9))

    def flaky(node: str, service: str) -> str | None:
        if node == "node-003" and next(count) % 3 == 0:
            return None
        return original(node, service)

    fake.swarm.answer = flaky  # type: ignore[method-assign]
    outcome, r = run(experiment([{"sleep": "0.5s"}]), tmp_path)
    assert outcome.verdict == "unknown"
    steady = [x for x in r.verdict_reasons if "not steady before the fault" in x]
    assert steady and "on node-003 in the baseline phase" in steady[0], r.verdict_reasons


def test_an_out_dir_in_use_is_refused_before_anything_acts(
    fake: FakePlatform, tmp_path: Path
) -> None:
    from chaos.errors import UsageError

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "result.json").write_text("{}")
    with pytest.raises(UsageError, match="not empty"):
        run(experiment([{"halt": "leader"}]), tmp_path)
    assert fake.swarm.calls == [] and not fake.swarm.services


def test_kill_task_kills_one_task_and_swarm_replaces_it(fake: FakePlatform, tmp_path: Path) -> None:
    steps = [{"kill_task": {"node": "any", "count": 1}},
             {"wait_for": "service_converged", "timeout": "10s"}]  # fmt: skip
    outcome, r = run(experiment(steps), tmp_path)
    assert len(fake.swarm.killed) == 1
    assert r.recovery.service_converged_s is not None
    assert r.restored
    assert_slo_holds(r, outcome.exit_code)
    # journaled, and its heal (swarm's replacement) closes it: nothing pending
    assert Journal().pending() == []


def test_a_share_of_tasks_is_chosen_by_the_seed(fake: FakePlatform, tmp_path: Path) -> None:
    steps = [{"kill_task": {"share": "67%", "signal": "TERM"}}]  # of every node's tasks
    picked = []
    # Random(seed).sample of 2 of 3: [0, 2] for seeds 1-3, [0, 1] for 4, [1, 2] for 5
    for i, seed in enumerate((1, 1, 4, 5)):
        before = len(fake.swarm.killed)
        _, r = run(experiment(steps), tmp_path / str(i), seed=seed)
        assert len(fake.swarm.killed) - before == 2  # round(0.67 * 3) of the 3 running
        (end,) = [e for e in r.events if isinstance(e, StepEnd)]
        picked.append(end.nodes)
    assert picked[0] == picked[1]  # the same seed picks the same tasks
    assert len(set(picked)) > 1, picked  # and the seed decides: another picks others


def test_stress_and_degrade_for_a_duration_heal_themselves(
    fake: FakePlatform, tmp_path: Path
) -> None:
    steps = [
        {"stress": {"node": "leader", "cpu": 2, "memory": "64M", "duration": "0.5s"}},
        {"degrade": {"node": "node-002", "loss": "30%", "delay": "100ms", "duration": "0.5s"}},
    ]
    _, r = run(experiment(steps), tmp_path)
    assert fake.swarm.calls == ["stress node-001", "unstress node-001", "degrade node-002",
                                "undegrade node-002"]  # fmt: skip
    assert fake.swarm.stressed == {} and fake.swarm.degraded == {}
    ends = [e for e in r.events if isinstance(e, StepEnd)]
    assert ends and all(e.healed for e in ends)
    assert r.restored and Journal().pending() == []


def test_a_slow_leader_slows_the_followers_api_calls_and_not_its_own(
    fake: FakePlatform, tmp_path: Path
) -> None:
    # the fake forwards a follower's control call to the leader, paying the leader's swarm
    # delay each way (as swarmkit proxies it over 2377): the prober's times show it
    steps = [{"degrade": {"node": "leader", "delay": "300ms", "duration": "3s"}}]
    _, r = run(experiment(steps, phases={"warmup": "0.5s", "baseline": "2s", "observe": "1s"}),
               tmp_path)  # fmt: skip
    rows = {(a.phase, a.node): a for a in r.api_latency}
    assert {n for _p, n in rows} == {"node-001", "node-002", "node-003"}
    for node in ("node-002", "node-003"):
        base, fault = rows[("baseline", node)], rows[("fault", node)]
        assert base.p50_ms is not None and base.p50_ms < 100
        assert fault.calls >= 2 and fault.p50_ms is not None and fault.p50_ms >= 600
    leader = rows[("fault", "node-001")]
    assert leader.p50_ms is not None and leader.p50_ms < 100  # its own calls stay local
    lines = (tmp_path / "run" / "api.jsonl").read_text().splitlines()
    assert len(lines) >= sum(a.calls for a in r.api_latency)


def test_a_fault_left_on_is_healed_by_the_restore(fake: FakePlatform, tmp_path: Path) -> None:
    steps = [{"degrade": {"node": "node-002", "loss": "30%"}}, {"stress": "node-003"}]
    _, r = run(experiment(steps), tmp_path)
    assert fake.swarm.calls[2:] == ["unstress node-003", "undegrade node-002"]
    assert r.restored and fake.swarm.degraded == {} and fake.swarm.stressed == {}


def test_a_platform_that_cannot_delay_is_refused_by_the_plan(
    fake: FakePlatform, tmp_path: Path
) -> None:
    from chaos.errors import UsageError

    fake.unsupported.add("delay")
    with pytest.raises(UsageError, match="cannot delay packets"):
        run(experiment([{"degrade": {"node": "leader", "delay": "300ms"}}]), tmp_path)
    fake.unsupported.add("stress")
    with pytest.raises(UsageError, match="cannot stress"):
        run(experiment([{"stress": "leader"}]), tmp_path)
    assert fake.swarm.calls == []


def test_the_guard_stops_a_run_that_hurts_more_than_agreed(
    fake: FakePlatform, tmp_path: Path
) -> None:
    # every node IP fails once the fault starts: the guard must stop the run well before the
    # 30 s sleep, within its window plus the windows' delivery
    original = fake.swarm.answer
    broken = threading.Event()

    def failing(node: str, service: str) -> str | None:
        return None if broken.is_set() else original(node, service)

    fake.swarm.answer = failing  # type: ignore[method-assign]
    fake.on_action = lambda what, node: broken.set()
    guard = {"max_error_rate": "50%", "window": "1s"}
    steps = [{"degrade": {"node": "node-003", "loss": "10%"}}, {"sleep": "30s"}]
    outcome, r = run(experiment(steps, guard=guard), tmp_path)
    assert fault_span(r) < 29  # stopped long before the 30 s sleep ended
    assert (outcome.verdict, outcome.exit_code) == ("guard_tripped", 6), r.verdict_reasons
    assert re.match(
        r"guard tripped: error rate (9\d|100)\.\d% > 50\.0% on the live IPs", r.verdict_reasons[0]
    )
    g = r.guard
    assert g is not None and g.restore_started is not None
    assert g.data_end >= r.phases[2].start + 1.0  # a whole window of data after the fault
    assert 0 <= g.detect_latency_s < 3.0 and g.restore_latency_s is not None
    assert g.tripped - (r.phases[2].start + 1.0) < 1.0 + 3.0  # its window plus delivery
    assert r.restored and healthy(fake)
