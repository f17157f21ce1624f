"""The platform contract suite (tests/platform/test_contract.py) against the vagrant driver on
three real QEMU guests: their addresses, swarm's own ingress mesh, and their timescale
(a power cycle takes minutes under TCG where the lab takes seconds)."""

from __future__ import annotations

import pytest

from chaos.platform.vagrant_libvirt import LibvirtVagrantPlatform
from tests.platform import test_contract as contract
from tests.platform.test_contract import (  # noqa: F401 (collected here, on the guests)
    test_deploy_answers_on_every_node_ip,
    test_halt_then_start,
    test_isolate_then_reconnect,
    test_leader_lookup,
    test_nodes_and_addresses,
    test_observer_events,
    test_stop_engine_then_start,
    test_suspend_then_resume,
)

pytestmark = [pytest.mark.vm, pytest.mark.timeout(1200)]


@pytest.fixture(autouse=True)
def _guests(vms: LibvirtVagrantPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract, "NODE_IPS", [vms.node_ip(n) for n in contract.NODES])
    monkeypatch.setattr(contract, "MESH", {vms.name: "ingress"})  # the guests' kernel has IPVS
    monkeypatch.setattr(contract, "TIME_SCALE", 8.0)
