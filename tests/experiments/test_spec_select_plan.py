"""Experiment files, seeded selection and the plan's quorum effect: pure, no cluster."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from chaos import faults
from chaos.errors import UsageError
from chaos.experiment import catalogue
from chaos.experiment.plan import plan
from chaos.experiment.select import SelectionError, select
from chaos.experiment.spec import (
    Target,
    apply_overrides,
    load_experiment,
    parse_experiment,
    parse_set,
)
from chaos.journal import Journal
from chaos.platform.base import NodeInfo

ALL = frozenset(faults.capabilities())  # a platform that can do every fault kind


def cluster(leader: str = "node-001", workers: tuple[str, ...] = ()) -> list[NodeInfo]:
    names = ["node-001", "node-002", "node-003", *workers]
    return [
        NodeInfo(
            name=n, ip=f"10.0.0.{i + 11}", power="running", engine_up=True,
            role="worker" if n in workers else "manager", leader=n == leader,
            status="ready", availability="active", labels={"zone": "a"} if n == "node-002" else {},
        )
        for i, n in enumerate(names)
    ]  # fmt: skip


def exp(steps: list[Any], **extra: Any) -> Any:
    return parse_experiment({"name": "t", "description": "d", "steps": steps, **extra}, "t.yaml")


def test_every_catalogue_experiment_is_valid() -> None:
    files = catalogue.experiment_files()
    names = {p.stem for p in files}
    assert names >= {
        "baseline", "follower-kill", "leader-kill", "leader-freeze", "quorum-loss",
        "rolling-update", "bad-update", "scale-out", "drain-leader", "label-placement",
        "global-service", "demote-promote", "stack-deploy", "leader-isolate", "leader-shutdown",
    }  # fmt: skip
    for path in files:
        e = load_experiment(path)
        assert e.name == path.stem
        assert e.expect.strip(), f"{path}: the expected swarm behaviour is written down"
        supported = ALL
        plan(e, cluster(), seed=1, supported=supported)  # every one plans on a 3-manager swarm


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"steps": [{"halt": "@nope"}]}, "@nope is not named by an earlier step"),
        ({"steps": [{"explode": "leader"}]}, "unknown step 'explode'"),
        ({"steps": [{"halt": "leader", "start": "leader"}]}, "exactly one action"),
        ({"phases": {"observe": "5 parsecs"}}, "phases.observe: invalid duration"),
        ({"slo": {"max_error_rate": "150%"}}, "slo.max_error_rate"),
        ({"service": {"update": {"order": "random"}}}, "service.update.order"),
        ({"load": {"rate": "fast"}}, "load.rate: invalid rate"),
        ({"service": {"constraints": ["zone=a"]}}, "service.constraints"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_invalid_files_name_the_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_experiment({"name": "t", "description": "d", **doc}, "experiments/t.yaml")
    assert str(err.value).startswith("experiments/t.yaml: ")
    assert message in str(err.value)


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\ndescription: a: b\n")
    with pytest.raises(UsageError, match=r"x\.yaml: not valid YAML"):
        load_experiment(path)


def test_set_overrides_with_types() -> None:
    data: dict[str, Any] = {
        "phases": {"observe": "30s"},
        "steps": [{"sleep": "5s"}],
        "service": {"replicas": 3},
    }
    out = apply_overrides(
        data, parse_set(("phases.observe=5s", "service.replicas=2", "steps.0.sleep=1s"))
    )
    assert out == {
        "phases": {"observe": "5s"},
        "steps": [{"sleep": "1s"}],
        "service": {"replicas": 2},
    }
    assert data["phases"]["observe"] == "30s"  # the original is untouched
    with pytest.raises(UsageError, match="key=value"):
        parse_set(("phases.observe",))
    with pytest.raises(UsageError, match="no list item 7"):
        apply_overrides(data, {"steps.7.sleep": "1s"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("leader", ("node-001",)),
        ("node-003", ("node-003",)),
        ("label:zone=a", ("node-002",)),
        ({"managers": 3}, ("node-001", "node-002", "node-003")),
        ("@v", ("node-009",)),
    ],
)
def test_select_is_deterministic(raw: Any, expected: tuple[str, ...]) -> None:
    """A named, labelled, referenced or whole-set target is the same whatever the seed, and
    one seed always gives the same answer."""
    target = Target.model_validate(raw)
    for seed in range(25):
        runs = [select(target, cluster(), {"v": ("node-009",)}, random.Random(seed)) for _ in "ab"]
        assert runs[0] == runs[1], (seed, runs)
        got = runs[0]
        assert got == expected if raw != {"managers": 3} else sorted(got) == list(expected)


def test_follower_and_managers_choice_follows_the_seed() -> None:
    nodes = cluster()
    follower = Target.model_validate("follower")
    picks = {select(follower, nodes, {}, random.Random(s))[0] for s in range(30)}
    assert picks == {"node-002", "node-003"}  # never the leader, both reachable by some seed
    for seed in range(30):  # a seed is a choice: the same every time it is replayed
        same = {select(follower, nodes, {}, random.Random(seed)) for _ in range(5)}
        assert len(same) == 1, (seed, same)
    two = select(Target.model_validate({"managers": 2}), nodes, {}, random.Random(3))
    assert two[0] == "node-001" and len(set(two)) == 2  # the leader is always among them


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("worker", "no powered worker"),
        ("node-007", "no such node"),
        ("label:zone=b", "no node has that label"),
        ({"managers": 4}, "only 3 managers"),
    ],
)
def test_select_errors(raw: Any, message: str) -> None:
    with pytest.raises(SelectionError, match=message):
        select(Target.model_validate(raw), cluster(), {}, random.Random(0))


def test_plan_refuses_an_unexpected_quorum_loss() -> None:
    e = exp([{"halt": {"managers": 2}}])
    with pytest.raises(UsageError, match=r"would lose quorum \(1/3 managers up\)"):
        plan(e, cluster(), 0, ALL)
    ok = plan(exp([{"halt": {"managers": 2}}], expect_quorum_loss=True), cluster(), 0, ALL)
    assert ok.loses_quorum and not ok.steps[0].quorum


def test_plan_tracks_leadership_and_managers() -> None:
    p = plan(
        exp([
            {"halt": "leader", "as": "v"}, {"wait_for": "leader_elected"},
            {"halt": "leader"}, {"start": "@v"},
        ], expect_quorum_loss=True),
        cluster(), 0, ALL,
    )  # fmt: skip
    assert p.steps[0].nodes == ("node-001",)
    assert p.steps[0].quorum and p.steps[0].managers_up == 2
    assert p.steps[2].nodes[0] != "node-001"  # the newly elected leader
    assert not p.steps[2].quorum
    assert p.steps[3].managers_up == 2 and p.steps[3].quorum
    text = "\n".join(p.lines())
    assert "leader now node-001" in text and "QUORUM LOST" in text


def test_plan_demotion_shrinks_the_manager_set() -> None:
    p = plan(exp([{"demote": "leader"}]), cluster(), 0, ALL)
    assert (p.steps[0].managers_up, p.steps[0].managers_total) == (2, 2)
    assert p.steps[0].quorum
    # after the demotion, 1 of the 2 managers left is not a majority
    with pytest.raises(UsageError, match=r"\(1/2 managers up\)"):
        plan(exp([{"demote": "leader"}, {"halt": "follower"}]), cluster(), 0, ALL)


def test_plan_counts_an_isolated_or_departed_manager_as_lost_to_raft() -> None:
    p = plan(exp([{"isolate": "leader", "as": "v"}, {"wait_for": "leader_elected"},
                  {"reconnect": "@v"}]), cluster(), 0, ALL)  # fmt: skip
    assert p.steps[0].nodes == ("node-001",) and p.steps[0].managers_up == 2
    assert p.steps[1].quorum and p.steps[2].managers_up == 3
    with pytest.raises(UsageError, match=r"would lose quorum \(1/3 managers up\)"):
        plan(exp([{"isolate": {"managers": 2}}]), cluster(), 0, ALL)
    # a manager that left still counts in raft, as an unreachable member, until rejoined
    p = plan(exp([{"leave": "follower", "as": "v"}, {"rejoin": "@v"}]), cluster(), 0, ALL)
    assert (p.steps[0].managers_up, p.steps[0].managers_total) == (2, 3)
    assert p.steps[1].managers_up == 3
    assert "rejoin" in p.steps[1].text


def test_plan_refuses_what_the_platform_cannot_do() -> None:
    with pytest.raises(UsageError, match="cannot suspend"):
        plan(exp([{"suspend": "leader"}]), cluster(), 0, frozenset({"halt", "start"}))
    with pytest.raises(UsageError, match="cannot isolate"):
        plan(exp([{"isolate": "leader"}]), cluster(), 0, frozenset({"halt", "start"}))


def test_leader_target_after_halting_the_leader_needs_an_election() -> None:
    with pytest.raises(UsageError, match="wait_for: leader_elected"):
        plan(
            exp([{"halt": "leader"}, {"halt": "leader"}], expect_quorum_loss=True),
            cluster(),
            0,
            ALL,
        )


def test_journal_pending_and_undone(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.jsonl")
    a = j.applied("run1", "lab", "halt", "node-001", "start")
    b = j.applied(
        "run1", "lab", "label_add", "node-002", "label_restore", {"key": "zone", "old": None}
    )
    c = j.applied("run2", "lab", "drain", "node-003", "activate")
    assert [f.undo for f in j.pending()] == ["start", "label_restore", "activate"]
    assert [f.undo for f in j.pending(platform="vagrant")] == []
    j.undone(a)
    assert [f.id for f in j.pending("run1")] == [b.id]
    with open(j.path, "a") as fh:
        fh.write('{"op": "undo", "id": "tor')  # a torn line after a crash
    assert [f.id for f in j.pending()] == [b.id, c.id]
    assert j.pending()[0].arg == {"key": "zone", "old": None}


def test_journal_forgets_the_faults_of_a_removed_cluster(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.jsonl")
    j.applied("run1", "lab", "halt", "node-001", "start")
    kept = j.applied("run1", "vagrant", "halt", "node-002", "start")
    assert j.forget("lab") == 1
    assert [f.id for f in j.pending()] == [kept.id]
    assert j.forget("lab") == 0


def test_every_fault_kind_has_a_heal_and_the_spec_names_every_step_action() -> None:
    """The registry is the one list: every fault heals with a registered heal, every step
    action the spec accepts is the registry's, and the journal records the registry's heal."""
    from chaos import faults
    from chaos.experiment import spec

    for kind in faults.FAULTS.values():
        assert kind.heal in faults.HEALS, kind.name
    for step in ("power", "node", "label", "task", "stress", "degrade"):
        for action in faults.step_actions(step):
            assert spec.STEP_KINDS[action] == step
    assert set(spec.POWER_ACTIONS) == {"halt", "shutdown", "stop_engine", "suspend", "isolate",
                                       "start", "resume", "reconnect"}  # fmt: skip
    assert faults.healed_by("start") == {"halt", "shutdown", "stop_engine"}
    caps = ("halt", "shutdown", "stop_engine", "suspend", "isolate", "stress", "degrade",
            "start", "resume", "reconnect", "delay")  # fmt: skip
    assert faults.capabilities() == caps
