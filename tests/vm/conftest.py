"""Three real QEMU guests through the vagrant driver on libvirt (``vm`` tests).

The package's guests are brought up once, with the real CLI (``chaos lab up --platform
vagrant``: the box built from Debian packages when this machine has none, libvirtd started
inside the tool's network namespace, three managers, swarm's own ingress mesh), and taken
down by the last test of ``test_vm_e2e.py``, which checks that nothing is left on the host.
Every test before it gets the guests powered, connected and Ready, with no services.

Their own fault journal and lock directory (``CHAOS_JOURNAL``, ``CHAOS_LOCK_DIR`` when set,
else temporary ones): nothing here touches the lab's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chaos.errors import ChaosError
from chaos.platform.vagrant_libvirt import LibvirtVagrantPlatform
from chaos.platform.view import Managers, cluster_view
from chaos.swarm.client import EngineClient
from chaos.swarm.steady import SteadyLeader

REPO = Path(__file__).resolve().parents[2]
CHAOS = Path(sys.executable).parent / "chaos"
UP_TIMEOUT = 40 * 60.0
# The same leader this long before a test starts. After a partition it takes longer: a
# reconnected guest's raised raft term can depose the leader seconds later (slower on
# emulated guests than on the lab), so the test after one that cut a node off waits longer.
STEADY_S = 3.0
STEADY_AFTER_PARTITION_S = 10.0
_PREVIOUS: list[str] = []  # the name of the test that ran last in this package


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="the guests need root (libvirtd, namespaces)")
    for item in items:
        if "vm" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="package")
def vm_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    state = tmp_path_factory.mktemp("vm-state")
    return {
        **os.environ,
        "CHAOS_VAGRANT_ROOT": str(REPO),
        "CHAOS_VAGRANT_PROVIDER": "libvirt",
        "CHAOS_JOURNAL": os.environ.get("CHAOS_JOURNAL", str(state / "journal.jsonl")),
        "CHAOS_LOCK_DIR": os.environ.get("CHAOS_LOCK_DIR", str(state / "locks")),
    }


def chaos(env: dict[str, str], *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHAOS), *args], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="package")
def vms(vm_env: dict[str, str]) -> Iterator[LibvirtVagrantPlatform]:
    started = time.monotonic()
    up = chaos(vm_env, "lab", "up", "--platform", "vagrant", timeout=UP_TIMEOUT)
    took = time.monotonic() - started
    print(f"\nvm: chaos lab up --platform vagrant took {took:.0f}s\n{up.stdout}", flush=True)
    if up.returncode != 0:
        # what a failed up started (daemons, namespace, domains) must not outlive the tests
        down = chaos(vm_env, "lab", "down", "--platform", "vagrant", timeout=600)
        raise AssertionError(f"{up.stdout[-3000:]}{up.stderr[-3000:]}\ndown: {down.stdout[-1000:]}")
    old = {k: os.environ.get(k) for k in vm_env}
    os.environ.update(vm_env)  # the driver in this process reads the same settings
    try:
        yield LibvirtVagrantPlatform.connect()
    finally:
        # the e2e module's last test took them down; if it did not run, this does (harmless
        # when nothing is up)
        chaos(vm_env, "lab", "down", "--platform", "vagrant", timeout=600)
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def restore(vp: LibvirtVagrantPlatform, timeout: float = 600.0, steady_s: float = STEADY_S) -> None:
    """Every guest powered, connected and Ready under one leader; no services."""
    for node in vp.node_names():
        power = vp.power(node)
        if power == "suspended":
            vp.resume(node)
        elif power == "halted" or not vp.engine_up(node):
            vp.start(node)
    deadline = time.monotonic() + timeout
    # the same leader for a while: a node reconnected from a partition can depose the leader
    # some seconds later (its raised raft term), slower on emulated guests than on the lab
    steady = SteadyLeader(steady_s)
    unchecked = vp.node_names()  # whether cut off: asked once, of every guest at once (ssh)
    while True:
        try:
            if unchecked:
                with ThreadPoolExecutor(len(unchecked)) as pool:
                    cut = dict(zip(unchecked, pool.map(vp.isolated, unchecked), strict=True))
                for node in (n for n, isolated in cut.items() if isolated):
                    vp.reconnect(node)
                unchecked = []
            view = cluster_view(vp)
            leaders = [n.name for n in view if n.leader]
            if len(leaders) == 1 and all(n.status == "ready" for n in view):
                if steady.healthy(leaders[0]):
                    break
            else:
                steady.unhealthy()
        except ChaosError:
            steady.unhealthy()
        if time.monotonic() > deadline:
            raise AssertionError(f"guests not Ready after {timeout:g}s: {cluster_view(vp)}")
        time.sleep(0.5)

    def remove_all(engine: EngineClient) -> None:
        for svc in engine.services():
            engine.remove_service(svc.name)

    Managers(vp, timeout=10.0).call(remove_all)


@pytest.fixture()
def platform(
    vms: LibvirtVagrantPlatform, request: pytest.FixtureRequest
) -> Iterator[LibvirtVagrantPlatform]:
    partitioned = bool(_PREVIOUS) and any(w in _PREVIOUS[-1] for w in ("isolate", "loss"))
    restore(vms, steady_s=STEADY_AFTER_PARTITION_S if partitioned else STEADY_S)
    yield vms
    _PREVIOUS.append(request.node.name)
