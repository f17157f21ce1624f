"""Every catalogue experiment, run for real on the lab with short phases; the assertions are
about what swarm really did, read back from result.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.lab import Lab
from chaos.timeline import (
    ApiError,
    LeaderChange,
    NodeAvailabilityChange,
    NodePowerChange,
    NodeRoleChange,
    NodeStatusChange,
    StepEnd,
    TasksChange,
    UpdateStateChange,
)
from tests.experiments.helpers import HISTORY, Ran, assert_slo_holds, ok_on, run
from tests.lab.helpers import swarm_snapshot

pytestmark = pytest.mark.lab


def assert_quiet(ran: Ran) -> None:
    """Not one error of any kind in any phase; else say what each phase saw and what the
    swarm and the mesh looked like (a lab that errs with nothing broken is a lab bug)."""
    noisy = {
        p.name: {
            n.node: {**n.requests.errors, **n.requests.generator}
            for n in p.nodes
            if n.requests.error_count or n.requests.generator
        }
        for p in ran.result.phases
        if p.requests.error_count or p.requests.generator
    }
    assert not noisy, f"errors with no fault: {noisy}\n{swarm_snapshot(ran.lab)}"


def test_baseline_passes_with_no_errors(lab: Lab, tmp_path: Path) -> None:
    # expect: every request to every node IP succeeds; any error is a set-up problem
    ran = run("baseline", tmp_path)
    r = ran.result
    assert_quiet(ran)
    # pass, or unknown when the generator measured itself (its send lag's p99 over 10 ms on
    # this shared 2-core host: a run that says so is right), as every catalogue test asks
    assert_slo_holds(r, ran.code)
    assert r.restored and not r.errors
    assert [p.name for p in r.phases] == ["warmup", "baseline", "fault", "observe"]
    assert r.load is not None and r.load.requests.ok > 0
    assert sum(r.failed_by_node.values()) == 0
    assert r.leader_before == r.leader_after
    assert r.environment.mesh == lab.state.mesh and r.environment.platform == "lab"
    assert set(r.environment.engine_versions) == {"node-001", "node-002", "node-003"}
    assert (tmp_path / "load" / "latency.hlog").stat().st_size > 0


def test_leader_kill_elects_a_new_leader_and_errors_hit_the_dead_ip(
    lab: Lab, tmp_path: Path
) -> None:
    ran = run("leader-kill", tmp_path)
    r = ran.result
    (victim,) = ran.step_nodes(0)
    assert victim == r.leader_before
    assert r.leader_after is not None and r.leader_after != victim
    elected = r.recovery.leader_elected_s
    # raft: randomised election timeout of 10-19 s after the last heartbeat
    assert elected is not None and 5.0 < elected < 60.0
    others = [n for n in r.failed_by_node if n != victim]
    assert r.failed_by_node[victim] > max(r.failed_by_node[n] for n in others)
    assert r.recovery.dead_ip_errors > 0
    assert r.restored
    # the live IPs fail only while the mesh still sends to the dead node's task (gossip's 4 s
    # suspicion), then serve like the baseline: client recovery is measured, within seconds
    rec = r.recovery
    assert rec.client_status == "recovered" and rec.client_recovered_s is not None, rec.notes
    if not (r.load is not None and r.load.generator_limited):  # else its times are its own
        assert rec.client_recovered_s < 15.0, rec
    # expect: a new leader in 10-20 s (< the SLO's 30 s), live-IP errors for a few seconds
    # only (< 10 %), recovered well inside 60 s: the SLO holds
    assert_slo_holds(ran.result, ran.code)


def test_leader_shutdown_elects_a_new_leader_and_the_mesh_drops_it_at_once(
    lab: Lab, tmp_path: Path
) -> None:
    ran = run("leader-shutdown", tmp_path)
    r = ran.result
    (victim,) = ran.step_nodes(0)
    assert victim == r.leader_before
    assert "engine stopped gracefully" in ran.events(StepEnd)[0].detail
    # expect: no leadership transfer on a shutdown: a full election, as for a halt
    elected = r.recovery.leader_elected_s
    assert r.leader_after not in (None, victim)
    assert elected is not None and 5.0 < elected < 60.0
    # expect: the goodbye to gossip comes before its containers stop, so the live IPs lose
    # nothing (the guests' real mesh: no refusal, 0-4 timeouts), where a power cut costs them
    # gossip's 5 s of suspicion (~100 connections each). At most a request in flight to its
    # task when the mesh forgot its connections; a goodbye after the containers stopped: 26-63.
    assert r.recovery.live_ip_errors <= 5, r.failed_by_node
    assert r.restored
    assert_slo_holds(ran.result, ran.code)


def test_follower_kill_keeps_the_leader_and_reschedules(lab: Lab, tmp_path: Path) -> None:
    ran = run("follower-kill", tmp_path)
    r = ran.result
    (victim,) = ran.step_nodes(0)
    assert victim != r.leader_before
    assert r.leader_after == r.leader_before  # no election: quorum held
    down = r.recovery.node_down_detected_s
    assert down is not None and 3.0 < down < 60.0  # 2-3 heartbeat periods of 5 s
    assert r.recovery.tasks_rescheduled_s is not None
    assert r.recovery.tasks_rescheduled_s >= down
    assert ran.step_nodes(2) == []  # service_converged was reached
    assert r.restored
    assert_slo_holds(ran.result, ran.code)


def test_leader_freeze_elects_a_new_leader(lab: Lab, tmp_path: Path) -> None:
    # The file's own observe phase (20 s), not the short one: its 10 % error budget is a rate
    # over fault + observe, and the live IPs' errors are a fixed amount (the frozen node's
    # task stays in the mesh until gossip gives up on the node, 6-8 s here), so with a 10 s
    # observe a quick election (11 s) leaves too small a denominator: 9.4 % and 10.6 % seen,
    # where the file's phases give 6-7 %.
    ran = run("leader-freeze", tmp_path, "phases.observe=20s")
    r = ran.result
    (victim,) = ran.step_nodes(0)
    assert victim == r.leader_before
    assert r.leader_after != victim
    assert any(e.new == "suspended" for e in ran.events(NodePowerChange))
    # a frozen node answers nothing: its IP's failures are timeouts, not refusals
    fault = next(p for p in r.phases if p.name == "fault")
    stats = next(n for n in fault.nodes if n.node == victim)
    timeouts = stats.requests.errors.get("timeout", 0) + stats.requests.errors.get(
        "connect_timeout", 0
    )
    assert timeouts > stats.requests.errors.get("refused", 0)
    assert r.restored
    assert_slo_holds(ran.result, ran.code)


def test_quorum_loss_fails_the_api_while_the_live_ip_keeps_serving(
    lab: Lab, tmp_path: Path
) -> None:
    # 15 s without quorum instead of the file's 30: what is asserted (the API failing for
    # over 5 s, the live IP serving) shows within it
    ran = run("quorum-loss", tmp_path, "steps.1.sleep=15s")
    r = ran.result
    lost = ran.step_nodes(0)
    assert len(lost) == 2 and r.leader_before in lost
    (live,) = {"node-001", "node-002", "node-003"} - set(lost)
    assert r.recovery.api_unavailable_s is not None and r.recovery.api_unavailable_s > 5.0
    assert r.recovery.api_first_error
    assert any(isinstance(e, ApiError) for e in r.events)
    # running tasks keep serving on the live node's IP during the outage
    assert ok_on(ran, live, ("fault",)) > 0
    assert r.restored
    assert_slo_holds(ran.result, ran.code)


def test_baseline_after_the_faults_has_not_one_error(lab: Lab, tmp_path: Path) -> None:
    """Run in file order after leader-kill, follower-kill, leader-freeze and quorum-loss on the
    same lab: after that history, a run with no fault sees not one error in any phase (a lab
    that errs with nothing broken would make every number it prints suspect)."""
    history = ("leader-kill", "follower-kill", "leader-freeze", "quorum-loss")
    missing = [name for name in history if name not in HISTORY]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} run before it on this lab (run the module)")
    ran = run("baseline", tmp_path)
    assert_quiet(ran)
    assert_slo_holds(ran.result, ran.code)  # pass, or unknown if the generator lagged


def test_rolling_update_ends_with_every_task_on_web_2(lab: Lab, tmp_path: Path) -> None:
    ran = run("rolling-update", tmp_path, "service.update.delay=1s")
    r = ran.result
    final = ran.last_tasks()
    assert final.images == {"chaoslab/web:2": 3}
    states = [e.new for e in ran.events(UpdateStateChange)]
    assert "updating" in states and states[-1] == "completed"
    assert r.recovery.service_converged_s is not None and r.recovery.service_converged_s > 0
    assert r.restored
    assert_slo_holds(ran.result, ran.code)


def test_bad_update_pauses_and_keeps_web_1_serving(lab: Lab, tmp_path: Path) -> None:
    ran = run("bad-update", tmp_path)
    states = [e.new for e in ran.events(UpdateStateChange)]
    assert "paused" in states
    images = ran.last_tasks().images
    assert images.get("chaoslab/web:1", 0) >= 2 and "chaoslab/web:2" not in images
    assert ran.result.restored
    assert_slo_holds(ran.result, ran.code)


def test_bad_update_with_rollback_action_rolls_back(lab: Lab, tmp_path: Path) -> None:
    ran = run("bad-update", tmp_path, "service.update.failure_action=rollback")
    states = [e.new for e in ran.events(UpdateStateChange)]
    assert "rollback_completed" in states or "rollback_started" in states
    assert ran.result.restored
    assert_slo_holds(ran.result, ran.code)


def test_scale_out_spreads_six_tasks(lab: Lab, tmp_path: Path) -> None:
    ran = run("scale-out", tmp_path)
    final = ran.last_tasks()
    assert final.running == 6
    assert sorted(final.by_node.values()) == [2, 2, 2]
    assert ran.result.restored
    assert_slo_holds(ran.result, ran.code)


def test_drain_leader_moves_its_tasks_and_keeps_leadership(lab: Lab, tmp_path: Path) -> None:
    ran = run("drain-leader", tmp_path)
    r = ran.result
    (drained,) = ran.step_nodes(0)
    assert drained == r.leader_before == r.leader_after
    after_drain = [e for e in ran.events(TasksChange) if e.running == 3]
    assert any(drained not in e.by_node for e in after_drain)
    avail = [(e.node, e.new) for e in ran.events(NodeAvailabilityChange)]
    assert (drained, "drain") in avail and (drained, "active") in avail
    assert r.restored
    assert_slo_holds(ran.result, ran.code)


def test_label_placement_has_no_node_to_move_to(lab: Lab, tmp_path: Path) -> None:
    # the catalogue's 15 s: a node back within ~10 s of a power cut can hit swarm's
    # re-registration race and stay Down (see chaos.experiment.restore)
    ran = run("label-placement", tmp_path)
    r = ran.result
    assert ran.step_nodes(0) == ["node-003"]
    first = ran.events(TasksChange)[0]
    assert first.by_node == {"node-003": 2}
    # while node-003 is down no other node may run the tasks
    assert all(set(e.by_node) <= {"node-003"} for e in ran.events(TasksChange))
    fault = next(p for p in r.phases if p.name == "fault")
    assert fault.requests.error_count > 0  # every IP fails: no backend anywhere
    assert ran.last_tasks().running == 2
    assert r.restored
    assert_slo_holds(ran.result, ran.code)


def test_global_service_task_is_not_replaced_elsewhere(lab: Lab, tmp_path: Path) -> None:
    ran = run("global-service", tmp_path)
    r = ran.result
    (victim,) = ran.step_nodes(0)
    assert all(max(e.by_node.values(), default=0) <= 1 for e in ran.events(TasksChange))
    assert any(victim not in e.by_node for e in ran.events(TasksChange))
    assert ran.last_tasks().running == 3
    assert r.restored
    assert_slo_holds(ran.result, ran.code)


def test_demote_promote_hands_leadership_over_fast(lab: Lab, tmp_path: Path) -> None:
    ran = run("demote-promote", tmp_path)
    r = ran.result
    (demoted,) = ran.step_nodes(0)
    assert demoted == r.leader_before and r.leader_after != demoted
    elected = r.recovery.leader_elected_s
    assert elected is not None and elected < 10.0  # a transfer, not an election timeout
    roles = [(e.node, e.new) for e in ran.events(NodeRoleChange)]
    assert (demoted, "worker") in roles and (demoted, "manager") in roles
    assert r.restored
    assert_slo_holds(ran.result, ran.code)


def test_stack_deploy_and_remove(lab: Lab, tmp_path: Path) -> None:
    ran = run("stack-deploy", tmp_path)
    assert ran.step_nodes(0) == [] and ran.step_nodes(2) == []
    assert ran.result.restored
    engine = lab.manager_engines()[0]
    assert not [s for s in engine.services() if s.name.startswith("shop_")]
    assert_slo_holds(ran.result, ran.code)


def test_leader_isolate_elects_a_new_leader_while_the_victim_serves_its_own_task(
    lab: Lab, tmp_path: Path
) -> None:
    ran = run("leader-isolate", tmp_path)
    r = ran.result
    (victim,) = ran.step_nodes(0)
    assert victim == r.leader_before
    # the majority's new leader; after the reconnect the victim may win again (its term)
    fault = next(p for p in r.phases if p.name == "fault")
    new = [e.new for e in ran.events(LeaderChange) if e.t >= fault.start and e.new]
    assert new and new[0] != victim, new
    elected = r.recovery.leader_elected_s
    assert elected is not None and 5.0 < elected < 60.0  # an election timeout, as for a halt
    assert ran.step_nodes(2) == [victim]  # the majority saw the victim Down
    # a partition is not a crash: the victim's own IP kept answering from its own task
    assert ok_on(ran, victim, ("fault",)) > 0
    assert r.restored and not lab.isolated(victim)
    assert_slo_holds(ran.result, ran.code)


LEAVE = """\
name: follower-leave
description: A follower manager leaves the swarm; the run's restore rejoins it.
expect: Raft keeps a manager that left as an unreachable member until it is demoted and removed.
service: {image: "chaoslab/web:1", replicas: 3, port: 80}
load: {rate: 100/s, connection: new, timeout: 2s}
phases: {warmup: 1s, baseline: 3s, observe: 3s}
steps:
  - leave: follower
    as: victim
  - wait_for: {condition: node_status, node: "@victim", status: down}
    timeout: 60s
"""


def test_a_leave_is_undone_by_rejoining_the_node(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "follower-leave.yaml"
    path.write_text(LEAVE)
    ran = run(str(path), tmp_path / "out")
    (victim,) = ran.step_nodes(0)
    assert ran.result.restored, ran.result.errors
    views = lab.swarm_nodes()
    assert sorted(v.hostname for v in views) == ["node-001", "node-002", "node-003"]
    assert all(v.role == "manager" and v.state == "ready" for v in views), views
    assert any(v.hostname == victim and v.manager_status == "Reachable" for v in views)


def test_lossy_managers_keep_their_leader(lab: Lab, tmp_path: Path) -> None:
    ran = run("lossy-managers", tmp_path, "steps.0.degrade.duration=15s")
    r = ran.result
    assert sorted(ran.step_nodes(0)) == ["node-001", "node-002", "node-003"]
    # expect: raft's TCP retransmits ride out about 30% loss between managers (16% on each of
    # them, both ways): no election, no node Down
    assert r.leader_after == r.leader_before and r.recovery.leader_elected_s is None
    assert not [e for e in ran.events(NodeStatusChange) if e.new == "down"]
    assert_slo_holds(ran.result, ran.code)
    assert r.restored


def test_slow_leader_keeps_leading_and_its_api_slows(lab: Lab, tmp_path: Path) -> None:
    ran = run("slow-leader", tmp_path, "steps.0.degrade.duration=15s")
    r = ran.result
    (victim,) = ran.step_nodes(0)
    assert victim == r.leader_before
    # expect: heartbeats still arrive well inside the election timeout
    assert r.leader_after == victim and r.recovery.leader_elected_s is None
    # expect: manager API calls slow down by about a second: a follower forwards them to the
    # leader, paying its 400 +- 100 ms each way; the leader's own calls stay local
    api = {(a.phase, a.node): a for a in r.api_latency}
    followers = sorted({n for _p, n in api} - {victim})
    assert len(followers) == 2, api
    for node in followers:
        base, fault = api[("baseline", node)].p50_ms, api[("fault", node)].p50_ms
        assert base is not None and base < 100, api[("baseline", node)]
        assert fault is not None and fault > 500, api[("fault", node)]
    own = api[("fault", victim)].p50_ms
    assert own is not None and own < 200, api[("fault", victim)]
    assert_slo_holds(ran.result, ran.code)  # the data plane is not delayed
    assert r.restored


def test_starved_leader_keeps_leading(lab: Lab, tmp_path: Path) -> None:
    ran = run("starved-leader", tmp_path, "steps.0.stress.duration=15s")
    r = ran.result
    assert ran.step_nodes(0) == [r.leader_before]
    assert r.leader_after == r.leader_before
    assert_slo_holds(ran.result, ran.code)
    assert r.restored
