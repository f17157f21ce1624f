"""How far is the lab from a real swarm? The same experiments on the lab (emulated mesh) and on
the three QEMU guests (swarm's own ingress mesh), at the same rate, side by side.

    .venv/bin/python scripts/bench_platforms.py [--repeat 3] [--rate 30/s]
        [--experiments leader-kill,follower-kill,...] [--platforms vagrant,lab]
        [--observe 60s] [--out reports/platforms] [--table-only]

Needs root, `bash scripts/setup.sh --vm` and the box (`chaos lab box`); brings the guests up
(`chaos lab up --platform vagrant`) and the lab up as needed, and takes the guests down at
the end unless ``--keep-vms``. Each run is `chaos run EXP --platform P --seed N --quiet --set
load.rate=RATE --set phases.observe=OBSERVE --out OUT/P/EXP/rep-N`; a run already in OUT is
not run again (``--table-only`` runs nothing), so an interrupted campaign resumes.

Prints a Markdown table per experiment: for each measure, the median and the range over the
repeats, per platform. The measures (seconds after the fault start unless said):

- ``leader elected``, ``node Down seen``, ``tasks rescheduled``, ``API unavailable`` (total),
  ``client recovered``: as in result.json (docs/metrics.md);
- ``live-IP errors``: failed requests on the live node IPs from the fault start to the end,
  and their share of what was sent there; ``live-IP first burst``: from the first 100 ms
  window with a failure on a live IP until a gap of 2 s without one (the mesh still sending
  to the dead node's task), and the failures after that burst;
- ``dead-IP errors``: the faulted nodes' IPs, by kind;
- ``restarted node serves``: from the faulted node's ``ready`` after its restart to the first
  second of its IP's 5 s in a row with at most 10 % failures (``never`` when that did not
  happen before the run ended);
- ``update``: a rolling update's failed requests on every IP and its duration.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chaos.faults import FAULTS

CHAOS = str(Path(sys.executable).with_name("chaos"))
EXPERIMENTS = (
    "leader-kill", "follower-kill", "leader-freeze", "quorum-loss", "rolling-update",
    "leader-isolate",
)  # fmt: skip
Result = dict[str, Any]
BURST_GAP_S = 2.0
Window = dict[str, Any]


def chaos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHAOS, *args], capture_output=True, text=True, check=False)


def run_one(platform: str, experiment: str, rep: int, args: argparse.Namespace) -> Path:
    out = Path(args.out) / platform / experiment / f"rep-{rep}"
    if (out / "result.json").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        "run", experiment, "--platform", platform, "--seed", str(rep), "--quiet",
        "--set", f"load.rate={args.rate}", "--set", f"phases.observe={args.observe}",
        "--out", str(out), "--replace",
    ]  # fmt: skip
    print(f"{platform} {experiment} rep {rep} ...", file=sys.stderr, flush=True)
    done = chaos(*argv)
    tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
    print(f"  exit {done.returncode}: {tail[0]}", file=sys.stderr, flush=True)
    return out


# -- measures of one run -------------------------------------------------------------------
def windows(run: Path) -> list[Window]:
    path = run / "load" / "timeline.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fault_start(r: Result) -> float | None:
    return next((p["start"] for p in r["phases"] if p["name"] == "fault"), None)


def faulted(r: Result) -> set[str]:
    out: set[str] = set()
    on_node = {name for name, k in FAULTS.items() if k.on_node}
    for e in r["events"]:
        if e["kind"] == "step_end" and e["data"].get("ok") and e["data"]["action"] in on_node:
            out.update(e["data"].get("nodes", []))
    return out


def targets_of(r: Result) -> dict[str, str]:
    """URL -> node name."""
    return {n["target"]: n["node"] for p in r["phases"] for n in p["nodes"]}


def live_errors(r: Result, ws: Sequence[Window]) -> tuple[int, int, float, int]:
    """On the live IPs from the fault start: (failed, sent, the first burst's duration, the
    failures after it). The first burst: the windows with a failure from the first one on,
    until a gap of ``BURST_GAP_S`` without any (the mesh still sending to the dead task)."""
    start = fault_start(r)
    if start is None:
        return 0, 0, 0.0, 0
    names = targets_of(r)
    dead = faulted(r)
    mine = [w for w in ws if w["t"] >= start - 1e-9 and names.get(w["target"]) not in dead]
    failed = sum(sum(w["errors"].values()) for w in mine)
    sent = sum(w["total"] - sum(v for k, v in w["errors"].items() if k in ("dropped", "pool"))
               for w in mine)  # fmt: skip
    bad = sorted({w["t"] for w in mine if w["errors"]})
    if not bad:
        return failed, sent, 0.0, 0
    end = bad[0]
    for t in bad[1:]:
        if t - end > BURST_GAP_S:
            break
        end = t
    later = sum(sum(w["errors"].values()) for w in mine if w["t"] > end + 1e-9)
    return failed, sent, end - bad[0] + 0.1, later


def dead_kinds(r: Result, ws: Sequence[Window]) -> Counter[str]:
    start = fault_start(r)
    names = targets_of(r)
    dead = faulted(r)
    out: Counter[str] = Counter()
    for w in ws:
        if start is not None and w["t"] >= start and names.get(w["target"]) in dead:
            out.update(w["errors"])
    return out


def restarted_serves(r: Result, ws: Sequence[Window]) -> float | str | None:
    """Seconds from the restarted node's ``ready`` to its IP serving 5 s in a row; ``never``;
    None when no faulted node was restarted and seen ready."""
    start = fault_start(r)
    dead = faulted(r)
    if start is None or not dead:
        return None
    healed = [
        e["t"] for e in r["events"]
        if e["kind"] == "step_end" and e["data"].get("ok")
        and e["data"]["action"] in ("start", "resume", "reconnect")
        and set(e["data"].get("nodes", [])) & dead
    ]  # fmt: skip
    if not healed:
        return None
    ready = [
        e["t"] for e in r["events"]
        if e["kind"] == "node_status" and e["data"]["node"] in dead
        and e["data"]["new"] == "ready" and e["t"] >= healed[0]
    ]  # fmt: skip
    if not ready:
        return None
    names = targets_of(r)
    seconds: dict[int, list[int]] = {}
    for w in ws:
        if names.get(w["target"]) in dead and w["t"] >= ready[0]:
            sec = int((w["t"] - ready[0]) // 1)
            got = seconds.setdefault(sec, [0, 0])
            got[0] += w["total"]
            got[1] += sum(w["errors"].values())
    good = [s for s, (total, bad) in sorted(seconds.items()) if total and bad <= 0.1 * total]
    for s in good:
        if all(s + k in good for k in range(5)):
            return float(s)
    return "never"


def update_measures(r: Result, ws: Sequence[Window]) -> tuple[int, float | None] | None:
    if not any(e["kind"] == "update_state" for e in r["events"]):
        return None
    start = fault_start(r) or 0.0
    failed = sum(sum(w["errors"].values()) for w in ws if w["t"] >= start)
    return failed, r["recovery"]["service_converged_s"]


def measures(run: Path) -> dict[str, Any]:
    r = json.loads((run / "result.json").read_text())
    ws = windows(run)
    rec = r["recovery"]
    failed, sent, burst, later = live_errors(r, ws)
    load, phases = r["experiment"]["settings"]["load"], r["experiment"]["settings"]["phases"]
    out: dict[str, Any] = {
        "settings": f"rate {r['load']['run']['rate']:g}/s, observe {phases['observe']:g} s, "
        f"{load['connection']} connections",
        "verdict": r["verdict"],
        "leader elected": rec["leader_elected_s"],
        "node Down seen": rec["node_down_detected_s"],
        "tasks rescheduled": rec["tasks_rescheduled_s"],
        "API unavailable": rec["api_unavailable_s"],
        "client recovered": rec["client_recovered_s"],
        "live-IP errors": failed,
        "live-IP error share": (failed / sent) if sent else None,
        "live-IP first burst": burst,
        "live-IP errors after it": later,
        "dead-IP errors": dict(dead_kinds(r, ws)),
        "restarted node serves": restarted_serves(r, ws),
    }
    update = update_measures(r, ws)
    if update is not None:
        out["update errors"], out["update duration"] = update
    return out


# -- the table ---------------------------------------------------------------------------
def spread(values: Sequence[Any], show: Callable[[float], str]) -> str:
    nums = [v for v in values if isinstance(v, int | float)]
    others = sorted({str(v) for v in values if not isinstance(v, int | float) and v is not None})
    missing = sum(v is None for v in values)
    parts = []
    if nums:
        med = statistics.median(nums)
        parts.append(show(med) if len(nums) == 1 else
                     f"{show(med)} ({show(min(nums))}-{show(max(nums))})")  # fmt: skip
    parts += [f"{o} x{sum(str(v) == o for v in values)}" for o in others]
    if missing:
        parts.append(f"n/a x{missing}")
    return ", ".join(parts) or "-"


def kinds(values: Sequence[dict[str, int]]) -> str:
    total: Counter[str] = Counter()
    for v in values:
        total.update(v)
    n = max(len(values), 1)
    return ", ".join(f"{k} {c / n:.0f}" for k, c in total.most_common()) or "none"


SHOW: dict[str, Callable[[float], str]] = {
    "live-IP errors": lambda v: f"{v:.0f}",
    "live-IP error share": lambda v: f"{v:.1%}",
    "live-IP errors after it": lambda v: f"{v:.0f}",
    "update errors": lambda v: f"{v:.0f}",
}


def table(experiment: str, by_platform: dict[str, list[dict[str, Any]]]) -> list[str]:
    platforms = list(by_platform)
    reps = {p: len(v) for p, v in by_platform.items()}
    head = " | ".join(f"{p} ({reps[p]} runs)" for p in platforms)
    settings = sorted({m["settings"] for runs in by_platform.values() for m in runs})
    lines = [f"### {experiment} ({'; '.join(settings)})", "",
             f"| measure | {head} |", "|---|" + "---|" * len(platforms)]  # fmt: skip
    keys = [
        k for k in next(iter(by_platform.values()))[0] if k not in ("dead-IP errors", "settings")
    ]
    for key in keys:
        cells = []
        for p in platforms:
            values = [m.get(key) for m in by_platform[p]]
            show = SHOW.get(key, lambda v: f"{v:.1f} s")
            cells.append(spread(values, show) if key != "verdict" else
                         ", ".join(f"{v} x{c}" for v, c in Counter(values).items()))  # fmt: skip
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    cells = [kinds([m["dead-IP errors"] for m in by_platform[p]]) for p in platforms]
    lines.append("| dead-IP errors per run, by kind | " + " | ".join(cells) + " |")
    return [*lines, ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rate", default="30/s")
    ap.add_argument("--observe", default="60s")
    ap.add_argument("--experiments", default=",".join(EXPERIMENTS))
    ap.add_argument("--platforms", default="vagrant,lab")
    ap.add_argument("--out", default="reports/platforms")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--keep-vms", action="store_true")
    args = ap.parse_args()
    experiments = args.experiments.split(",")
    platforms = args.platforms.split(",")
    if not args.table_only:
        for platform in platforms:
            up = chaos("lab", "up", "--platform", platform)
            if up.returncode != 0:
                raise SystemExit(f"{platform} up failed: {up.stdout[-2000:]}{up.stderr[-2000:]}")
            for experiment in experiments:
                for rep in range(1, args.repeat + 1):
                    run_one(platform, experiment, rep, args)
            if platform == "vagrant" and not args.keep_vms:
                chaos("lab", "down", "--platform", "vagrant")
    print(f"Seeds 1..{args.repeat}; median (range) over the runs in {args.out}.\n")
    for experiment in experiments:
        by_platform: dict[str, list[dict[str, Any]]] = {}
        for platform in platforms:
            runs = sorted((Path(args.out) / platform / experiment).glob("rep-*/result.json"))
            if runs:
                by_platform[platform] = [measures(r.parent) for r in runs]
        if by_platform:
            print("\n".join(table(experiment, by_platform)))


if __name__ == "__main__":
    main()
