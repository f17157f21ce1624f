"""Which subnets the host guard fences (the fence itself is checked on the real guests,
tests/vm/test_vm_e2e.py, and its removal by their down)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from chaos.vm import guard

Routes = list[dict[str, object]]
GUESTS: Routes = [  # `ip -4 -j route show` in the guests' namespace
    {"dst": "192.168.0.0/24", "dev": "virbr2", "protocol": "kernel", "scope": "link"},
    {"dst": "192.168.121.0/24", "dev": "virbr1", "protocol": "kernel", "scope": "link"},
]
HOST: Routes = [{"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
        {"dst": "192.0.2.0/24", "dev": "eth0", "protocol": "kernel"}]  # fmt: skip


def routes(host: Routes) -> Callable[..., Routes]:
    return lambda netns, *match: GUESTS if netns is not None else host


def test_the_guests_subnets_are_their_namespaces_direct_routes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(guard, "_routes", routes(HOST))
    assert guard.guest_subnets("chaosvm") == ["192.168.0.0/24", "192.168.121.0/24"]
    # the host reaches them only through its default route: both are fenced
    assert not guard._host_owns("192.168.0.0/24") and not guard._host_owns("192.168.121.0/24")


def test_a_network_of_the_hosts_own_is_never_fenced(monkeypatch: pytest.MonkeyPatch) -> None:
    lan: Routes = [*HOST, {"dst": "192.168.0.0/16", "dev": "wlan0", "protocol": "kernel"}]
    monkeypatch.setattr(guard, "_routes", routes(lan))
    assert guard._host_owns("192.168.0.0/24")  # a workstation's LAN: its traffic is its own
    ran: list[tuple[str, ...]] = []

    def ip(netns: str | None, *args: str) -> subprocess.CompletedProcess[str]:
        ran.append(args)
        return subprocess.CompletedProcess(list(args), 0, "", "")

    monkeypatch.setattr(guard, "_ip", ip)
    said: list[str] = []
    assert guard.install("chaosvm", said.append) == []
    assert said == [
        "host guard: 192.168.0.0/24 is a network of this host's own; not fenced",
        "host guard: 192.168.121.0/24 is a network of this host's own; not fenced",
    ]
    assert not any("add" in a for a in ran)


def test_the_guards_own_routes_are_no_network_of_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # after one install, the host has the tool's unreachable routes: a second install (an
    # `up` run again) must fence again, not take them for a network of the host's own
    fenced: Routes = [*HOST, {"type": "unreachable", "dst": "192.168.0.0/24", "flags": []}]
    monkeypatch.setattr(guard, "_routes", routes(fenced))
    assert not guard._host_owns("192.168.0.0/24")
