"""What a run checks against the live cluster before it acts: the plan (targets resolved,
quorum effect, actions the platform can do) and that every image it needs is on every node.

A mistake the cluster can show at once is refused at once (exit 2) instead of after a set-up
timeout: an image missing on a node without a registry would leave its tasks pending.
"""

from __future__ import annotations

from chaos import faults
from chaos.errors import ChaosError, UsageError
from chaos.experiment.plan import Plan, plan
from chaos.experiment.spec import Experiment, ServiceStep, ServiceUpdateStep
from chaos.platform import Platform
from chaos.platform.view import cluster_view


def required_images(exp: Experiment) -> list[str]:
    """The service's image and every image an update or create step names, in order."""
    images = [exp.service.image]
    for step in exp.steps:
        if isinstance(step, ServiceUpdateStep) and step.image is not None:
            images.append(step.image)
        if isinstance(step, ServiceStep) and step.service is not None:
            images.append(step.service.image)
    return list(dict.fromkeys(images))


def missing_images(platform: Platform, images: list[str]) -> dict[str, list[str]]:
    """image -> the nodes (engine answering) that do not have it."""
    missing: dict[str, list[str]] = {}
    for node in platform.node_names():
        if platform.power(node) != "running" or not platform.engine_up(node):
            continue
        try:
            with platform.engine(node, timeout=5.0) as engine:
                for image in images:
                    if not engine.has_image(image):
                        missing.setdefault(image, []).append(node)
        except ChaosError:
            continue  # an engine that does not answer now is the set-up's business
    return missing


def check_images(exp: Experiment, platform: Platform) -> None:
    if platform.pulls_images:
        return
    missing = missing_images(platform, required_images(exp))
    if missing:
        image, nodes = next(iter(missing.items()))
        more = f" (and {len(missing) - 1} more images)" if len(missing) > 1 else ""
        raise UsageError(
            f"{exp.source or exp.name}: image {image} is not on {', '.join(nodes)}{more}; "
            f"this {platform.name} cluster has no registry: load it on every node first, or "
            "use an image the nodes have (the lab has chaoslab/web:1, :2, :bad)"
        )


def preflight(exp: Experiment, platform: Platform, seed: int) -> Plan:
    """The plan against the live cluster, after the image check; raises UsageError."""
    check_images(exp, platform)
    supported = frozenset(c for c in faults.capabilities() if platform.supports(c))
    return plan(exp, cluster_view(platform), seed, supported)
