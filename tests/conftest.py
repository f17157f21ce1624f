"""Shared fixtures: the real local lab (root only), restored to a healthy state per test.

The fixtures bring the lab up, restore it and take it down under the lab's lock, as `chaos
lab up|down` do: a test session started while a run holds the lab (another session, a
user's `chaos run`) fails its lab tests with the holder's name instead of tearing the lab
down under that run."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from chaos import lock
from chaos.errors import ChaosError
from chaos.lab import Lab, down, engines, forensics
from chaos.lab import state as lab_state
from chaos.platform import cluster_id

LAB = cluster_id("lab")
REPO = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="the lab needs root (CI runs as root)")
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A lab test that failed leaves the lab's routing state as it was when it failed (the
    mesh's log, each node's nat rules and tracked connections), named in its report: an
    intermittent error is found from the evidence of the run that showed it."""
    report = yield
    if report.when == "call" and report.failed and "lab" in item.keywords:
        base = item.funcargs.get("tmp_path") if isinstance(item, pytest.Function) else None
        name = re.sub(r"[^\w.-]+", "_", item.name)[:80]
        out = base if isinstance(base, Path) else REPO / "build" / "forensics" / name
        out = out / "lab-forensics"
        with contextlib.suppress(ChaosError, OSError):  # a bonus; the failure is the report
            if forensics.snapshot(out) is not None:
                report.sections.append(("lab forensics", f"the lab's routing state: {out}"))
    return report


# The same leader this long before a test starts, unless the lab has been calm (below).
STEADY_S = 2.0
# A node back from a partition, a freeze or a degraded link deposes the leader (with its
# raised raft term) at its first exchange with it, a heartbeat (1 s) after it is heard again;
# the emulated mesh's supervisor polls every node twice a second and says when it last found
# one disturbed (not answering, booted, cut off, degraded, stressed). Calm this long: nothing
# is left to move raft, and the steady window is not waited out again.
CALM_S = 5.0


def calm() -> bool:
    """Whether the mesh supervisor, writing lately, found no node disturbed for ``CALM_S``."""
    status = lab_state.mesh_status()
    now = time.time()
    updated, since = status.get("updated"), status.get("calm_since")
    if not isinstance(updated, float) or not isinstance(since, float):
        return False
    return now - updated < 2.0 and now - since >= CALM_S


@pytest.fixture(scope="session")
def lab_session() -> Iterator[Lab]:
    """One lab for the whole session, removed at the end (``down`` leaves nothing)."""
    with lock.holding(LAB, "test session"):
        lab = Lab.up()
    yield lab
    if not os.environ.get("CHAOS_KEEP_LAB"):  # set it to inspect a failed run's lab
        with lock.holding(LAB, "test session", remove=True):
            down()


@pytest.fixture()
def lab(lab_session: Lab) -> Lab:
    """The session's lab with every node powered, connected and Ready under a steady leader,
    and no services. Restored before each test only: whatever a test leaves, the next test's
    restore (or the session's ``down``) deals with, so it is not paid twice."""
    with lock.holding(LAB, "test fixture"):
        return restore(lab_session)


def restore(lab: Lab) -> Lab:
    """Power every node back on (and reconnect it), wait for a Ready swarm, remove services;
    rebuild the lab if it is broken."""
    st = lab_state.load()
    if st is not None:
        current = Lab(st)
        acted = False  # whether this restore had to bring something back itself
        for node in current.nodes:
            if current.power(node.name) == "suspended":
                current.resume(node.name)
                acted = True
            if not engines.alive(node):
                current.start(node.name)
                acted = True
            if current.isolated(node.name):
                current.reconnect(node.name)
                acted = True
        with contextlib.suppress(ChaosError):
            current.wait_swarm_ready(steady=0.0 if not acted and calm() else STEADY_S)
    lab = Lab.up()  # a no-op when healthy; rebuilds a lab that a test destroyed
    for engine in lab.manager_engines():
        try:
            for svc in engine.services():
                engine.remove_service(svc.name)
            break
        except ChaosError:
            continue
    return lab
