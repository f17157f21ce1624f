"""``chaos lab …``: build, inspect, power and tear down the local lab swarm."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Literal, cast

import click

from chaos import lock
from chaos.lab import Lab, LabConfig, down
from chaos.lab import web as web_service
from chaos.lab.config import DEFAULT_SUBNET
from chaos.platform import cluster_id
from chaos.ui.progress import Stages

if TYPE_CHECKING:
    from chaos.platform.vagrant import VagrantPlatform


def _say(message: str) -> None:
    click.echo(message)


_platform = click.option(
    "--platform",
    type=click.Choice(["lab", "vagrant"]),
    default="lab",
    show_default=True,
    help="The local lab, or the tutorial's VMs (top-level Vagrantfile, python-vagrant).",
)


def _vagrant() -> VagrantPlatform:
    from chaos.platform import vagrant_platform

    return vagrant_platform()


@click.group()
def lab() -> None:
    """The local lab: a real Docker Swarm of engines in network namespaces (needs root)."""


@lab.command()
@click.option("--nodes", default=3, show_default=True, help="How many nodes (node-001…).")
@click.option("--managers", default=3, show_default=True, help="How many of them are managers.")
@click.option("--subnet", default=DEFAULT_SUBNET, show_default=True, help="The lab's own subnet.")
@click.option(
    "--mesh",
    type=click.Choice(["auto", "ingress", "emulated"]),
    default="auto",
    show_default=True,
    help="Routing mesh: swarm's ingress (needs IPVS) or the lab's emulation.",
)
@_platform
def up(nodes: int, managers: int, subnet: str, mesh: str, platform: str) -> None:
    """Start the lab (idempotent; cleans a stale lab first). Refused while a run holds it."""
    # engines, images, swarm: each stage's line as it ends, a spinner with the time meanwhile
    with lock.holding(cluster_id(platform)), Stages(f"{platform} up", out=_say) as stages:
        if platform == "vagrant":
            stages(_vagrant().up(log=stages))
            return
        mode = cast(Literal["auto", "ingress", "emulated"], mesh)
        Lab.up(LabConfig(nodes=nodes, managers=managers, subnet=subnet), mesh=mode, log=stages)


@lab.command(name="down")
@_platform
def down_cmd(platform: str) -> None:
    """Remove everything the lab made (also after a crash). Refused while a run holds it."""
    with lock.holding(cluster_id(platform), remove=True):
        if platform == "vagrant":
            _say(_vagrant().down())
            return
        removed = down(log=_say)
    _say("lab down: nothing was up" if not removed else "lab down: everything removed")


@lab.command()
@click.option("--rebuild", is_flag=True, help="Build anew even when the cache has the box.")
def box(rebuild: bool) -> None:
    """Build the VMs' libvirt box from Debian packages (cached; no box registry)."""
    from chaos.vm.box import ensure

    _say(ensure(_say, rebuild=rebuild))


@lab.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (stable).")
@_platform
def status(as_json: bool, platform: str) -> None:
    """Nodes, addresses, engines, swarm roles, power state and the mesh in use."""
    if platform == "vagrant":
        from chaos.platform.vagrant import status_lines

        for line in status_lines(_vagrant()):
            click.echo(line)
        return
    st = Lab.attach().status()
    if as_json:
        click.echo(json.dumps(st.to_json(), indent=2))
        return
    header = f"{'NODE':<10}{'IP':<16}{'POWER':<11}{'ENGINE':<9}{'ROLE':<9}{'MANAGER':<13}"
    click.echo(header + f"{'STATUS':<9}{'AVAIL':<8}{'NETWORK':<11}DOCKER_HOST")
    for n in st.nodes:
        click.echo(
            f"{n.name:<10}{n.ip:<16}{n.power:<11}{n.engine:<9}{n.role or '-':<9}"
            f"{n.manager_status or '-':<13}{n.status or '-':<9}{n.availability or '-':<8}"
            f"{n.network:<11}{n.docker_host}"
        )
    click.echo(f"mesh: {st.mesh}   subnet: {st.subnet}   leader: {st.leader or 'none'}")


def _power_command(name: str, doc: str) -> None:
    @lab.command(name=name, help=doc)
    @click.argument("node")
    def command(node: str) -> None:
        with lock.holding(cluster_id("lab")):  # a manual fault under a run would be its SLO's
            target = Lab.attach()
            action = getattr(target, name.replace("-", "_"))
            _say(action(node))


_power_command("halt", "Power a node off as a cut cable and power would: no goodbye.")
_power_command("start", "Power a halted (or engine-stopped) node back on.")
_power_command("suspend", "Freeze every process of a node (like vagrant suspend).")
_power_command("resume", "Thaw a suspended node.")
_power_command("stop-engine", "Stop a node's dockerd gracefully (SIGTERM).")
_power_command("isolate", "Cut a node off the swarm: its swarm ports dropped silently both ways.")
_power_command("reconnect", "Undo isolate: open the node's swarm ports again.")


@lab.command(
    name="docker",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("node")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def docker_cmd(node: str, args: tuple[str, ...]) -> None:
    """Run the docker CLI against NODE: chaos lab docker node-001 -- node ls"""
    sys.exit(web_service.docker_cli(Lab.attach(), node, list(args)))


@lab.command()
@click.option("--replicas", default=2, show_default=True, help="Tasks of the service.")
@click.option("--image", default="chaoslab/web:1", show_default=True, help="A lab image.")
@click.option("--port", default=80, show_default=True, help="Port published on every node IP.")
@click.option("--name", default="web", show_default=True, help="Service name.")
def web(replicas: int, image: str, port: int, name: str) -> None:
    """Deploy (or redeploy) the demo web service and wait until every node IP answers."""
    with lock.holding(cluster_id("lab")):
        lines = web_service.deploy_web(
            Lab.attach(), name=name, image=image, replicas=replicas, published=port
        )
    for line in lines:
        _say(line)
