"""Benchmark: the local lab from nothing to a converged 2-replica web service answering on
every node IP, and the time of ``lab down``. Needs root.

    .venv/bin/python scripts/bench_lab.py [--runs 5]

Prints a Markdown table for BENCHMARKS.md. Leaves no lab behind.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from chaos.lab import Lab, down
from chaos.lab.web import deploy_web
from chaos.swarm.engine import DockerEngine


def one_run() -> tuple[float, float, float]:
    down()
    started = time.monotonic()
    lab = Lab.up()
    up_done = time.monotonic()
    deploy_web(lab, replicas=2)
    serving = time.monotonic()
    down_started = time.monotonic()
    down()
    return up_done - started, serving - started, time.monotonic() - down_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    lab = Lab.up()
    version = DockerEngine(lab.nodes[0].docker_host).server_version()
    mesh = lab.state.mesh
    rows = [one_run() for _ in range(args.runs)]
    print(f"kernel {platform.release()}, dockerd {version}, {mesh} mesh, {args.runs} runs\n")
    print("| measure | median | min | max |")
    print("|---|---|---|---|")
    names = (
        "`lab up` (3 managers, images loaded)",
        "nothing -> 2-replica service answering on all 3 IPs",
        "`lab down`",
    )
    for i, name in enumerate(names):
        values = [r[i] for r in rows]
        print(
            f"| {name} | {statistics.median(values):.1f} s | {min(values):.1f} s "
            f"| {max(values):.1f} s |"
        )


if __name__ == "__main__":
    main()
