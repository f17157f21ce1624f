"""Benchmark: the wall time of ``chaos run leader-kill`` against its configured phase time.

    .venv/bin/python scripts/bench_run.py [--runs 2] [--experiment leader-kill]

Needs root (runs on the local lab, started if none is up). For each run: the wall time of the
whole command, the time the experiment itself took (first phase start to end, from
result.json: warmup + baseline + the fault steps, which include swarm's own waits such as the
election, + observe), and the overhead: everything else (deploy and converge the service,
start the load process, restore the cluster, analyse, write the result). Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHAOS = str(Path(sys.executable).with_name("chaos"))


def one(experiment: str, out: Path) -> tuple[float, float, float, float]:
    started = time.monotonic()
    proc = subprocess.run(
        [CHAOS, "run", experiment, "--quiet", "--seed", "1", "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.monotonic() - started
    if not (out / "result.json").exists():
        raise SystemExit(f"run failed: {proc.stderr.strip()}")
    result = json.loads((out / "result.json").read_text())
    phases = result["phases"]
    experiment_s = phases[-1]["end"] - phases[0]["start"]
    configured = sum(
        p["end"] - p["start"] for p in phases if p["name"] in ("warmup", "baseline", "observe")
    )
    return wall, experiment_s, configured, wall - experiment_s


def main() -> None:
    parser = argparse.ArgumentParser(description="chaos run overhead")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--experiment", default="leader-kill")
    args = parser.parse_args()
    subprocess.run([CHAOS, "lab", "up"], check=True, capture_output=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            rows.append(one(args.experiment, Path(tmp) / f"run{i}"))
    print(f"`chaos run {args.experiment}`, {args.runs} runs\n")
    print("| run | wall | experiment (phases + steps) | of which fixed phases | overhead |")
    print("|---|---|---|---|---|")
    for i, (wall, exp_s, fixed, over) in enumerate(rows, 1):
        print(f"| {i} | {wall:.1f} s | {exp_s:.1f} s | {fixed:.1f} s | {over:.1f} s |")
    print(f"\nmedian overhead: {statistics.median(r[3] for r in rows):.1f} s")


if __name__ == "__main__":
    main()
