"""Shared fixtures: the real local lab (root only), restored to a healthy state per test.

The fixtures bring the lab up, restore it and take it down under the lab's lock, as `chaos
lab up|down` do: a test session started while a run holds the lab (another session, a
user's `chaos run`) fails its lab tests with the holder's name instead of tearing the lab
down under that run."""

from __future__ import annotations

import contextlib
import os
import re
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
        for node in current.nodes:
            if current.power(node.name) == "suspended":
                current.resume(node.name)
            if not engines.alive(node):
                current.start(node.name)
            if current.isolated(node.name):
                current.reconnect(node.name)
        with contextlib.suppress(ChaosError):
            current.wait_swarm_ready()
    lab = Lab.up()  # a no-op when healthy; rebuilds a lab that a test destroyed
    for engine in lab.manager_engines():
        try:
            for svc in engine.services():
                engine.remove_service(svc.name)
            break
        except ChaosError:
            continue
    return lab
