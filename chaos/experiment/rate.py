"""The load rate an experiment runs at on a given platform, and how long it waits there.

The catalogue's rates (``load.rate`` in ``experiments/*.yaml``, 200/s mostly) fit the local
lab. Guests emulated by QEMU (TCG, no hardware virtualisation) serve tens of requests a second
per service: at 200/s the run would measure the load generator's backlog, not swarm. A
platform that knows its limit says so (``max_rate``); the run then caps the file's rate there
and says it did. ``CHAOS_MAX_RATE`` overrides the platform's cap (``0``: no cap).

Such a platform is slow in the tool's own waits too (a task starts in tens of seconds, a
guest boots in minutes): its ``time_scale`` multiplies the run's set-up and restore deadlines,
its ``wait_for`` timeouts and the service's healthcheck timings.
"""

from __future__ import annotations

import math
import os
from typing import Protocol, runtime_checkable

from chaos.experiment.spec import Experiment
from chaos.units import parse_rate


@runtime_checkable
class RateLimited(Protocol):
    @property
    def max_rate(self) -> float | None:
        """Requests per second the cluster holds, or None for no known limit."""
        ...


@runtime_checkable
class Slow(Protocol):
    @property
    def time_scale(self) -> float:
        """How much longer than the local lab the cluster takes to start and heal (>= 1)."""
        ...


@runtime_checkable
class Compressed(Protocol):
    @property
    def speedup(self) -> float:
        """How many times faster than a real swarm the cluster's own clock runs (> 1: the
        fake platform, whose managers elect a leader in a second)."""
        ...


def calm(seconds: float, platform: object) -> float:
    """A window of calm (one leader, every node Ready) to wait for on ``platform``: as long on
    a compressed clock as ``seconds`` is on a real one, so a fast cluster is not waited on
    like a slow one."""
    return seconds / max(1.0, platform.speedup) if isinstance(platform, Compressed) else seconds


def scaled(seconds: float, platform: object) -> float:
    """A set-up or restore deadline for ``platform``."""
    return seconds * max(1.0, platform.time_scale) if isinstance(platform, Slow) else seconds


def cap(platform: object) -> float | None:
    override = os.environ.get("CHAOS_MAX_RATE")
    if override is not None:
        if override.strip() in ("0", ""):
            return None
        return parse_rate(override)  # UsageError (exit 2) on a bad value
    return platform.max_rate if isinstance(platform, RateLimited) else None


def for_platform(exp: Experiment, platform: object) -> tuple[Experiment, list[str]]:
    """``exp`` fitted to ``platform``, and a line for each change (none: unchanged).

    Its rate is capped at what the platform holds. On a slow platform its service's
    healthcheck gets ``time_scale`` times its interval, timeout, start period and retries:
    the check is the experiment's scaffolding, not what it measures, and a ``wget`` that an
    emulated guest runs in seconds would fail a 1 s timeout, and swarm would then replace
    every task as unhealthy. The retries too, because an emulated guest that starts a
    container starves its other tasks' checks for tens of seconds at a time (three in a row
    at 4 s timed out there), while a new task is healthy at its first good check whatever the
    retries. The update's own settings (delay, monitor) are what the run measures and stay
    as written."""
    said: list[str] = []
    name = getattr(platform, "name", "this platform")
    limit = cap(platform)
    if limit is not None and exp.load.rate > limit:
        said.append(
            f"load rate {exp.load.rate:g}/s capped at {limit:g}/s for --platform {name} "
            "(CHAOS_MAX_RATE overrides)"
        )
        exp = exp.model_copy(update={"load": exp.load.model_copy(update={"rate": limit})})
    check = exp.service.healthcheck
    factor = scaled(1.0, platform)
    if check is not None and factor > 1.0:
        slower = check.model_copy(
            update={
                "interval": check.interval * factor,
                "timeout": check.timeout * factor,
                "start_period": check.start_period * factor,
                "retries": math.ceil(check.retries * factor),
            }
        )
        service = exp.service.model_copy(update={"healthcheck": slower})
        exp = exp.model_copy(update={"service": service})
        said.append(
            f"healthcheck interval {check.interval:g}s, timeout {check.timeout:g}s, retries "
            f"{check.retries} stretched x{factor:g} for --platform {name} (its time_scale)"
        )
    return exp, said
