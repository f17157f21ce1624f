"""Does the live view slow the load generator? The same experiment on the lab, alternately with
the live view on a terminal (a pseudo-terminal from util-linux ``script``) and with
``--quiet``, and the generator's own send lag of each run side by side.

    .venv/bin/python scripts/bench_live_lab.py --pairs 3 [--experiment baseline] [--out DIR]

The generator runs in a process of its own and the view in the run's main process, so the
send lag (how late each request left against its schedule, from the load summary) is the
number that would show a view stealing the generator's core. Prints a Markdown table (the one
in BENCHMARKS.md) and writes ``live-vs-quiet.json``. Needs root and the lab.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

CHAOS = str(Path(sys.executable).with_name("chaos"))


def one(experiment: str, out: Path, *, live: bool, seed: int) -> dict[str, object]:
    cmd = [CHAOS, "run", experiment, "--out", str(out), "--replace", "--seed", str(seed)]
    if live:  # a terminal of 120 columns: the view draws as it would for a user
        line = "stty cols 120 rows 40; " + shlex.join(cmd)
        argv = ["script", "-qefc", line, "/dev/null"]
    else:
        argv = [*cmd, "--quiet"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    summary = json.loads((out / "load" / "summary.json").read_text())
    drew = live and "\x1b[" in done.stdout  # the view drew on the terminal (escape codes)
    return {
        "mode": "live" if live else "quiet",
        "exit": done.returncode,
        "drew": drew,
        "send_lag_p50_ms": summary["send_lag_ms"]["p50"],
        "send_lag_p99_ms": summary["send_lag_ms"]["p99"],
        "send_lag_max_ms": summary["send_lag_ms"]["max"],
        "achieved_rate": summary["achieved_rate"],
        "generator_limited": summary["generator_limited"],
    }


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| mode | runs | send lag p50 (median) | p99 (median, min..max) | max (median) | "
        "limited | view drew |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in ("live", "quiet"):
        mine = [r for r in rows if r["mode"] == mode]
        if not mine:
            continue

        def col(key: str, rs: list[dict[str, object]] = mine) -> list[float]:
            return [float(str(r[key])) for r in rs]

        p99 = col("send_lag_p99_ms")
        lines.append(
            f"| {mode} | {len(mine)} | {statistics.median(col('send_lag_p50_ms')):.2f} ms | "
            f"{statistics.median(p99):.2f} ms ({min(p99):.2f}..{max(p99):.2f}) | "
            f"{statistics.median(col('send_lag_max_ms')):.1f} ms | "
            f"{sum(bool(r['generator_limited']) for r in mine)} | "
            f"{sum(bool(r['drew']) for r in mine) if mode == 'live' else '-'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--experiment", default="baseline")
    parser.add_argument("--out", type=Path, default=Path("reports/live-vs-quiet"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(args.pairs):  # alternate, so a drift of the host hits both modes alike
        for live in (True, False) if i % 2 == 0 else (False, True):
            row = one(args.experiment, args.out / f"{i}-{'live' if live else 'quiet'}",
                      live=live, seed=i + 1)  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    (args.out / "live-vs-quiet.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
