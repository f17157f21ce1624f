"""The real lab: a three-manager swarm, a web service on every node IP, node power."""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from chaos import netns as ns
from chaos.lab import Lab
from chaos.lab import state as lab_state
from chaos.lab.config import CLIENT_NETNS
from tests.lab.helpers import deploy_web, get, leader, poll, swarm_snapshot, views_by_name
from tests.netprobe import udp_sends

pytestmark = pytest.mark.lab
CHAOS = [str(Path(sys.executable).with_name("chaos"))]


def connect(ip: str, port: int, timeout: float, netns: str = CLIENT_NETNS) -> str:
    """A TCP connect from the lab's client namespace (or ``netns``): connected, refused,
    timeout, or eperm (the sender's own firewall refused to send: no network does that)."""

    def once() -> str:
        try:
            with socket.create_connection((ip, port), timeout=timeout):
                return "connected"
        except ConnectionRefusedError:
            return "refused"
        except PermissionError:
            return "eperm"
        except TimeoutError:
            return "timeout"
        except OSError as error:  # said by name, so an assertion shows what it was
            return errno.errorcode.get(error.errno or 0, str(error))

    return ns.call_in(netns, once)


def task_ports() -> dict[str, int]:
    """Per node, the port its web task is published on (what the mesh DNATs to)."""
    mesh = lab_state.mesh_status()
    ports = {}
    for entry in mesh["services"].get("web:80", []):  # "10.213.77.11:32768 (node-001)"
        address, node = entry.split(" ", 1)
        ports[node.strip("()")] = int(address.rsplit(":", 1)[1])
    return ports


def chaos(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = [*CHAOS, *args]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def urls(lab: Lab) -> list[str]:
    return [f"http://{n.ip}/" for n in lab.nodes]


def test_up_gives_three_ready_managers_with_one_leader(lab: Lab) -> None:
    views = views_by_name(lab)
    assert sorted(views) == ["node-001", "node-002", "node-003"]
    assert all(v.role == "manager" and v.state == "ready" for v in views.values())
    assert sum(v.leader for v in views.values()) == 1
    assert {v.addr for v in views.values()} == {n.ip for n in lab.nodes}


def test_status_json_is_the_stable_interface(lab: Lab) -> None:
    out = chaos("lab", "status", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["mesh"] in ("ingress", "emulated")
    assert [n["name"] for n in doc["nodes"]] == ["node-001", "node-002", "node-003"]
    for node in doc["nodes"]:
        assert {"name", "ip", "docker_host", "power"} <= set(node)
        assert node["power"] == "running"
        assert node["docker_host"].startswith("unix://")
        assert node["manager_status"] in ("Leader", "Reachable")
    assert sum(n["manager_status"] == "Leader" for n in doc["nodes"]) == 1


def test_up_is_idempotent(lab: Lab) -> None:
    out = chaos("lab", "up")
    assert out.returncode == 0, out.stderr
    assert "already up" in out.stdout
    assert Lab.attach().state == lab.state


def test_web_service_answers_on_every_node_ip(lab: Lab) -> None:
    deploy_web(lab, replicas=2)
    poll(lambda: all(get(u)[0] == 200 for u in urls(lab)), 30, "200 on every node IP")

    # the mesh follows the task list within a poll: wait until it lists both tasks
    def both_tasks() -> bool:
        answers = [get(urls(lab)[0]) for _ in range(20)]
        return len({body for status, body in answers if status == 200}) == 2

    poll(both_tasks, 30, "both tasks in the mesh")
    hosts: Counter[str] = Counter()
    for url in urls(lab):
        for _ in range(20):
            status, body = get(url)
            assert status == 200, f"{url}: {body}\n{swarm_snapshot(lab)}"
            assert body.startswith("version=1 host=")
            hosts[body.split("host=")[1].strip()] += 1
    # The mesh spreads new connections over both tasks, from every node IP.
    assert len(hosts) == 2, hosts


def test_mesh_follows_the_task_list(lab: Lab) -> None:
    deploy_web(lab, replicas=1)
    url = urls(lab)[0]
    poll(lambda: get(url)[0] == 200, 30, "the single task to answer")
    engine = lab.manager_engines()[0]
    engine.scale_service("web", 3)

    def three_hosts() -> bool:
        seen = {get(url)[1] for _ in range(30)}
        return len({b for b in seen if b.startswith("version=1")}) == 3

    poll(three_hosts, 30, "the mesh to spread over 3 tasks after scale-out")


def test_halting_the_leader_moves_leadership_and_live_ips_keep_serving(lab: Lab) -> None:
    deploy_web(lab, replicas=2)
    poll(lambda: all(get(u)[0] == 200 for u in urls(lab)), 30, "200 on every node IP")

    def running_on() -> list[str]:
        return [t.node_id for t in lab.manager_engines()[0].tasks("web") if t.running]

    poll(lambda: len(running_on()) == 2, 30, "both tasks running")
    placed = set(running_on())
    assert len(placed) == 2, f"swarm did not spread the 2 tasks:\n{swarm_snapshot(lab)}"
    old = leader(lab)
    assert old is not None
    assert "halted" in lab.halt(old)
    assert lab.power(old) == "halted"
    assert "already halted" in lab.halt(old)
    new = poll(lambda: (lead := leader(lab)) and lead != old and lead, 30, "a new leader")
    assert new != old
    live = [f"http://{n.ip}/" for n in lab.nodes if n.name != old]
    # The live IPs answer (tasks on the halted node drop out of the mesh within seconds).
    last: dict[str, tuple[int, str]] = {}

    def live_answer() -> bool:
        last.update({u: get(u) for u in live})
        return all(status == 200 for status, _ in last.values())

    try:
        # gossip's 4 s suspicion plus a supervisor poll, then the dead backend's conntrack
        # entries go with it (they once kept live IPs failing for over 30 s: a new connection
        # that reused a stale entry's source port followed it to the dead node)
        poll(live_answer, 20, "live IPs to answer")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last answers {last}\n{swarm_snapshot(lab)}") from None
    assert get(f"http://{lab.node(old).ip}/", timeout=1)[0] == 0
    lab.start(old)
    poll(
        lambda: (
            views_by_name(lab)[old].manager_status == "Reachable"
            and views_by_name(lab)[old].state == "ready"
        ),
        60,
        f"{old} back Reachable and Ready",
    )


def test_a_halted_node_boots_without_the_old_containers_links(lab: Lab) -> None:
    # A power cut leaves nothing of the old containers' networking. Here a killed task's veth
    # can outlive the boot (the kernel frees a dead container's namespace when it gets to
    # it), still on docker0 with the address and MAC the booted engine then gives a new task:
    # label-placement saw part of every node IP's requests go to the dead twin, refused, for
    # as long as it lasted. The boot removes every link but the node's loopback and cable.
    node = next(n for n in lab.nodes if n.name != leader(lab))
    lab.halt(node.name)
    ip = ["ip", "netns", "exec", node.netns, "ip"]
    subprocess.run([*ip, "link", "add", "stale0", "type", "veth", "peer", "name", "stale1"],
                   check=True)  # fmt: skip
    subprocess.run([*ip, "link", "set", "stale0", "master", "docker0"], check=True)
    # nor any iptables rule: the engine's come back with it, the mesh's once it answers
    ipt = ["ip", "netns", "exec", node.netns, "iptables", "-w", "5"]
    subprocess.run([*ipt, "-t", "nat", "-N", "STALE-RULES"], check=True)
    lab.start(node.name)
    links = json.loads(subprocess.run([*ip, "-j", "link", "show"], check=True,
                                      capture_output=True, text=True).stdout)  # fmt: skip
    names = {link["ifname"] for link in links}
    assert not names & {"stale0", "stale1"}, names
    assert {"lo", "eth0"} <= names
    nat = subprocess.run([*ipt, "-t", "nat", "-S"], check=True, capture_output=True, text=True)
    assert "STALE-RULES" not in nat.stdout, nat.stdout
    poll(
        lambda: "CHAOS-MESH" in subprocess.run([*ipt, "-t", "nat", "-S"], check=True,
                                               capture_output=True, text=True).stdout or None,
        30, "the mesh's rules written anew on the booted node",
    )  # fmt: skip
    poll(lambda: views_by_name(lab)[node.name].state == "ready" or None, 60, "back Ready")


def test_suspend_and_resume_a_follower(lab: Lab) -> None:
    lead = leader(lab)
    follower = next(n.name for n in lab.nodes if n.name != lead)
    assert "suspended" in lab.suspend(follower)
    assert lab.power(follower) == "suspended"
    assert "already suspended" in lab.suspend(follower)
    # a paused machine answers nothing, not even a SYN: its swarm port times out
    ip = lab.node(follower).ip
    assert connect(ip, 2377, timeout=1.0) == "timeout"
    poll(
        lambda: views_by_name(lab)[follower].manager_status == "Unreachable",
        40,
        f"{follower} to be Unreachable while frozen",
    )
    assert "resumed" in lab.resume(follower)
    assert connect(ip, 2377, timeout=5.0) == "connected"
    poll(
        lambda: (
            views_by_name(lab)[follower].manager_status == "Reachable"
            and views_by_name(lab)[follower].state == "ready"
        ),
        40,
        f"{follower} back Reachable and Ready",
    )


def test_stop_engine_is_graceful_and_start_brings_it_back(lab: Lab) -> None:
    lead = leader(lab)
    follower = next(n.name for n in lab.nodes if n.name != lead)
    assert "stopped gracefully" in lab.stop_engine(follower)
    assert lab.power(follower) == "running"  # the "VM" is still on; only its engine stopped
    assert "already stopped" in lab.stop_engine(follower)
    lab.start(follower)
    poll(lambda: views_by_name(lab)[follower].state == "ready", 40, f"{follower} Ready again")


def test_isolated_follower_keeps_serving_and_the_mesh_drops_it_for_the_others(lab: Lab) -> None:
    deploy_web(lab, replicas=3)
    poll(lambda: all(get(u)[0] == 200 for u in urls(lab)), 30, "200 on every node IP")
    poll(lambda: len(task_ports()) == 3, 30, "a task on every node in the mesh")
    ports = task_ports()
    lead = leader(lab)
    victim = next(n for n in lab.nodes if n.name != lead)
    peer = next(n for n in lab.nodes if n != victim)
    assert connect(peer.ip, ports[peer.name], 2.0, netns=victim.netns) == "connected"
    out = chaos("lab", "isolate", victim.name)
    assert out.returncode == 0 and "isolated" in out.stdout, out.stderr
    # the mesh's leg from one node to another node's task is swarm's overlay (VXLAN), which
    # the partition cuts: silent both ways, while clients still reach every node
    assert connect(peer.ip, ports[peer.name], 1.0, netns=victim.netns) == "timeout"
    assert connect(victim.ip, ports[victim.name], 1.0, netns=peer.netns) == "timeout"
    # swarm's own ports too, and the isolated node's sends leave it (a partition loses them;
    # a refused send would tell its gossip that it is cut off, and it would suspect nobody)
    assert connect(peer.ip, 2377, 1.0, netns=victim.netns) == "timeout"
    assert connect(victim.ip, 2377, 1.0, netns=peer.netns) == "timeout"
    assert udp_sends(victim.netns, peer.ip, 7946, 1) == ["sent"]
    assert connect(victim.ip, ports[victim.name], 2.0) == "connected"
    assert "already isolated" in chaos("lab", "isolate", victim.name).stdout
    doc = json.loads(chaos("lab", "status", "--json").stdout)
    net = {n["name"]: n["network"] for n in doc["nodes"]}
    assert net[victim.name] == "isolated" and list(net.values()).count("connected") == 2
    assert lab.power(victim.name) == "running"
    poll(
        lambda: views_by_name(lab)[victim.name].manager_status == "Unreachable",
        40,
        f"{victim.name} Unreachable while isolated",
    )

    def mesh_split() -> bool:  # gossip's view on both sides, after the suspicion time
        mesh = lab_state.mesh_status()
        backends = mesh["services"].get("web:80", [])
        return victim.name in mesh["isolated_nodes"] and all(victim.name not in b for b in backends)

    poll(mesh_split, 30, "the mesh to drop the isolated node's task")
    # every IP still answers: the isolated one from its own (one) task, the others from theirs
    own: set[str] = set()
    for _ in range(12):
        status, body = get(f"http://{victim.ip}/")
        assert status == 200, f"{body}\n{swarm_snapshot(lab)}"
        own.add(body)
    assert len(own) == 1, own
    others = {get(f"http://{n.ip}/")[1] for n in lab.nodes if n != victim for _ in range(12)}
    assert own.isdisjoint(others), (own, others)
    assert lab.power(victim.name) == "running"
    out = chaos("lab", "reconnect", victim.name)
    assert out.returncode == 0 and "reconnected" in out.stdout, out.stderr
    assert "already connected" in chaos("lab", "reconnect", victim.name).stdout
    assert connect(peer.ip, ports[peer.name], 2.0, netns=victim.netns) == "connected"
    poll(
        lambda: (
            views_by_name(lab)[victim.name].manager_status == "Reachable"
            and views_by_name(lab)[victim.name].state == "ready"
        ),
        60,
        f"{victim.name} back Reachable and Ready",
    )


def test_unknown_node_is_one_clear_line(lab: Lab) -> None:
    out = chaos("lab", "halt", "node-009")
    assert out.returncode == 3
    assert out.stderr.strip().splitlines() == [
        "chaos: error: no node named 'node-009' in the lab; nodes are: node-001, node-002, node-003"
    ]


def test_halted_node_refuses_its_engine(lab: Lab) -> None:
    lead = leader(lab)
    follower = next(n.name for n in lab.nodes if n.name != lead)
    lab.halt(follower)
    out = chaos("lab", "docker", follower, "--", "ps")
    assert out.returncode == 3
    assert out.stderr.strip() == (
        f"chaos: error: {follower} is halted: start it with `chaos lab start {follower}`"
    )
    out = chaos("lab", "stop-engine", follower)
    assert out.returncode == 3


def test_docker_passthrough_runs_the_cli_on_a_node(lab: Lab) -> None:
    out = chaos("lab", "docker", "node-002", "--", "node", "ls", "--format", "{{.Hostname}}")
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.split()) == ["node-001", "node-002", "node-003"]


def test_not_root_is_refused_with_one_line() -> None:
    out = chaos("lab", "status", user="65534")
    assert out.returncode == 3
    assert "needs root" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_subnet_in_use_is_refused(lab: Lab) -> None:
    routes = json.loads(
        subprocess.run(
            ["ip", "-j", "-4", "route"], capture_output=True, text=True, check=True
        ).stdout
    )
    taken = next(
        r["dst"]
        for r in routes
        if r.get("dst") not in (None, "default") and r.get("dev") != "chaoslab0"
    )
    out = chaos("lab", "up", "--subnet", taken if "/" in taken else f"{taken}/32")
    assert out.returncode == 2
    assert "already in use" in out.stderr and "--subnet" in out.stderr
    assert Lab.attach().healthy()  # the running lab was not touched
