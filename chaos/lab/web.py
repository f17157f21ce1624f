"""The lab's web service and docker CLI: what ``chaos lab web`` and ``chaos lab docker`` do,
on top of the :class:`~chaos.lab.lab.Lab`."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence

from chaos.errors import PlatformError, UsageError
from chaos.lab import images
from chaos.lab.config import CLIENT_NETNS, WEB_PORT
from chaos.lab.lab import Lab
from chaos.platform.probe import wait_http
from chaos.swarm.model import ServiceRequest


def deploy_web(
    lab: Lab,
    *,
    name: str = "web",
    image: str = "chaoslab/web:1",
    replicas: int = 2,
    published: int = WEB_PORT,
    timeout: float = 60.0,
) -> list[str]:
    """Replace service ``name`` with a fresh one and wait until every node IP answers."""
    if not image.startswith(images.REPOSITORY + ":"):
        known = ", ".join(i.ref for i in images.IMAGES)
        raise UsageError(
            f"image {image!r} is not in the lab (no registry here); use one of {known}"
        )
    if replicas < 1:
        raise UsageError("--replicas must be at least 1")
    engine = lab.manager_engines()[0]
    removed = engine.remove_service(name)
    ports, labels = lab.publish(published, WEB_PORT)
    started = time.monotonic()
    engine.create_service(
        ServiceRequest(name=name, image=image, replicas=replicas, ports=ports, labels=labels)
    )
    urls = [f"http://{n.ip}:{published}/" for n in lab.nodes]
    bodies = wait_http(urls, timeout=timeout, netns=CLIENT_NETNS)
    took = time.monotonic() - started
    lines = [f"removed the old service {name}"] if removed else []
    lines.append(f"service {name}: {replicas} x {image}, answering on every node IP in {took:.1f}s")
    lines += [f"  {url} -> {body.strip()}" for url, body in bodies.items()]
    return lines


def docker_cli(lab: Lab, name: str, args: Sequence[str]) -> int:
    """Run the docker CLI against one node, like ``vagrant ssh node -c 'docker …'``."""
    node = lab.node(name)
    lab.engine(name)  # refuses halted / suspended nodes with a clear message
    docker = shutil.which("docker", path="/usr/bin:/usr/local/bin:" + os.environ.get("PATH", ""))
    if docker is None:
        raise PlatformError("the docker CLI is not installed: apt-get install docker.io")
    env = {**os.environ, "DOCKER_HOST": node.docker_host}
    env.pop("DOCKER_CONTEXT", None)
    return subprocess.run([docker, *args], env=env, check=False).returncode
