"""Bringing the cluster back: undo the journaled faults in an order that works, and wait for
a Ready swarm (used at the end of every run, at its start, and by ``chaos recover``).

Order: the nodes back on the network first (start, resume, reconnect), then nodes that left
are joined again (that needs a leader), then every node must be Ready with one leader, and
only then the faults that need a working control plane (drain, roles, labels, services).

A node whose engine answers but that the managers keep ``Down`` long after it came back is
restarted once: swarm (20.10) can lose the race between a restarted node's new session and
the expiry of its old one's heartbeat, and then never marks it Ready again (moby #34827);
an operator would restart its engine. The restore says so, so the report shows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from chaos import faults as registry
from chaos.errors import ChaosError, NotRestoredError
from chaos.experiment import actions, rate
from chaos.experiment.actions import Context
from chaos.experiment.spec import Experiment
from chaos.faults import Stage
from chaos.journal import Fault, Journal
from chaos.platform import Platform
from chaos.platform.view import CALL_TIMEOUT, Managers, cluster_view
from chaos.swarm.steady import Readiness, SteadyLeader
from chaos.timeline import EventLog, RestoreDone

RESTORE_TIMEOUT = 180.0
STUCK_DOWN_S = 45.0  # Down this long with its engine answering: restart the engine once
STEADY_S = 2.0  # all Ready under one leader this long (a rejoining node can depose a leader)

Say = Callable[[str], None]


def stage_of(fault: Fault) -> Stage:
    heal = registry.HEALS.get(fault.undo)
    return heal.stage if heal is not None else Stage.CONTROL


def heal(ctx: Context, pending: Sequence[Fault], say: Say) -> list[str]:
    """Undo ``pending`` (one run's faults) stage by stage (:class:`chaos.faults.Stage`);
    returns the errors."""
    errors: list[str] = []
    for stage in Stage:
        mine = [f for f in pending if stage_of(f) == stage]
        if stage is Stage.MEMBERSHIP and mine:
            wait_leader(ctx)  # a rejoin needs a leader to join
        if stage is Stage.CONTROL:
            wait_ready(ctx, say=say)  # what follows needs a working control plane
        errors += actions.undo_all(ctx, mine, say)
    return errors


def restore(
    ctx: Context, exp: Experiment, keep: bool, say: Say, log: EventLog | None = None
) -> None:
    """Undo this run's faults, wait for a Ready swarm, remove the service (unless ``keep``)."""
    faults = ctx.journal.pending(ctx.run)
    service = [f for f in faults if f.action == "create_service" and f.node == exp.service.name]
    errors = heal(ctx, [f for f in faults if f not in service], say)
    if keep:
        for f in service:
            ctx.journal.undone(f)
        say(f"service {exp.service.name} kept (--keep)")
    else:
        errors += actions.undo_all(ctx, service, say)
    if log is not None:
        log.emit(RestoreDone(detail="; ".join(errors) or "all faults undone", errors=tuple(errors)))
    if errors:
        raise NotRestoredError("; ".join(errors) + "; run `chaos recover`")


def recover(platform: Platform, journal: Journal, log: Say) -> list[str]:
    """Undo every pending fault of every run on this platform (``chaos recover``); the
    caller holds the cluster's lock, so none of them belongs to a live run."""
    faults = journal.pending(platform=platform.name)
    done: list[str] = []
    # an emulated guest's manager takes seconds over one call (a service update: 4 s)
    managers = Managers(platform, timeout=rate.scaled(CALL_TIMEOUT, platform))
    for run in dict.fromkeys(f.run for f in faults):
        ctx = Context(platform, managers, journal, run, "", Path("."))
        mine = [f for f in faults if f.run == run]
        errors = heal(ctx, mine, log)
        if errors:
            raise NotRestoredError("; ".join(errors))
        done += [f.describe() for f in mine]
    return done


def wait_leader(ctx: Context, timeout: float = RESTORE_TIMEOUT) -> None:
    timeout = rate.scaled(timeout, ctx.platform)  # emulated guests boot in minutes
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(v.leader for v in ctx.managers.call(lambda e: e.nodes())):
                return
        except ChaosError:
            pass
        time.sleep(0.5)
    raise NotRestoredError(f"no leader after {timeout:.0f}s; run `chaos recover`")


def wait_ready(ctx: Context, timeout: float = RESTORE_TIMEOUT, say: Say = print) -> None:
    """Every node powered with its engine up, all Ready, the same one leader for ``STEADY_S``
    (:func:`chaos.experiment.rate.calm`: less on a compressed clock); a node stuck Down with
    its engine answering is restarted once (see the module docstring)."""
    timeout = rate.scaled(timeout, ctx.platform)  # emulated guests boot in minutes
    deadline = time.monotonic() + timeout
    down_since: dict[str, float] = {}
    kicked: set[str] = set()
    steady = SteadyLeader(rate.calm(STEADY_S, ctx.platform))
    why = ""
    while time.monotonic() < deadline:
        view = cluster_view(ctx.platform, ctx.managers)
        off = [n.name for n in view if n.power != "running" or not n.engine_up]
        swarm = Readiness.of(n.member() for n in view)
        not_ready, leaders = list(swarm.waiting), list(swarm.leaders)
        now = time.monotonic()
        if not off and swarm.settled(len(view)):
            if steady.healthy(leaders[0]):
                return
            time.sleep(0.5)
            continue
        steady.unhealthy()
        for n in view:
            if n.status == "down" and n.name not in off and len(leaders) == 1:
                since = down_since.setdefault(n.name, now)
                if now - since >= rate.scaled(STUCK_DOWN_S, ctx.platform) and n.name not in kicked:
                    kicked.add(n.name)
                    say(kick(ctx.platform, n.name, now - since))
            else:
                down_since.pop(n.name, None)
        why = f"powered off: {off or 'none'}, not Ready: {not_ready or 'none'}, leaders: {leaders}"
        time.sleep(0.5)
    raise NotRestoredError(
        f"the cluster is not back after {timeout:.0f}s ({why}); run `chaos recover`"
    )


def kick(platform: Platform, node: str, stuck_s: float) -> str:
    try:
        if platform.isolated(node):  # not ours to undo here: say what keeps it Down
            return f"{node} is Down because it is isolated: `chaos lab reconnect {node}`"
    except ChaosError:
        pass
    try:
        platform.stop_engine(node)
        platform.start(node)
    except ChaosError as exc:
        return f"{node} stuck Down for {stuck_s:.0f}s; restarting its engine failed: {exc}"
    return (
        f"{node} was still Down {stuck_s:.0f}s after its engine came back (swarm lost its "
        "re-registration): its engine was restarted"
    )
