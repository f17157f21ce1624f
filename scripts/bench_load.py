"""Benchmark of the load generator's engines against nginx on loopback, with wrk as reference.

    .venv/bin/python scripts/bench_load.py                 # the full table (about 10 minutes)
    .venv/bin/python scripts/bench_load.py --seconds 2 --rates 500,2000 --engines raw --loops uvloop
    .venv/bin/python scripts/bench_load.py --rates 5000 --modes keepalive --repeat 3  # noisy box
    .venv/bin/python scripts/bench_load.py --profile raw uvloop keepalive 8000  # cProfile one cell

Starts its own nginx (own config, pid file and port on 127.0.0.1, pinned to CPU 1) and stops
only that process; each cell runs `chaos.load.run_load` in a fresh subprocess pinned to CPU 0
on the named event loop (uvloop or asyncio) and reports achieved rate, dropped, send lag
p50/p99, latency p50/p99 and the generator's CPU seconds per 1,000 requests. Needs nginx and
wrk: `bash scripts/setup.sh --bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GEN_CPU = 0
SERVER_CPU = 1
RATES = (250, 500, 1000, 2000, 2500, 4000, 5000, 6000, 8000, 12000)
ENGINES = ("raw", "aiohttp", "httpx")
MODES = ("keepalive", "new")
LOOPS = ("uvloop", "asyncio")
BODY = b"x" * 612  # about the size of nginx's default index page

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {dir}/www;
    }}
}}
"""


@dataclass(frozen=True, slots=True)
class Cell:
    engine: str
    loop: str
    mode: str
    rate: int
    achieved: float
    dropped: int
    errors: int
    lag_p50: float | None
    lag_p99: float | None
    lat_p50: float | None
    lat_p99: float | None
    cpu_per_1k: float

    def collapsed(self) -> bool:
        """Far past the engine's limit: higher rates for this engine and mode are skipped."""
        return self.achieved < 0.9 * self.rate or self.dropped > 0.05 * self.rate

    def clean(self) -> bool:
        """The bar: zero dropped and no errors; keep-alive send lag p99 <= 1 ms, new-connection
        latency p99 <= 5 ms; and the rate actually achieved."""
        if self.dropped or self.errors or self.achieved < 0.99 * self.rate:
            return False
        if self.mode == "keepalive":
            return self.lag_p99 is not None and self.lag_p99 <= 1.0
        return self.lat_p99 is not None and self.lat_p99 <= 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class Nginx:
    """Our own nginx master process; stopped by its pid only."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/index.html"

    def start(self) -> None:
        (self.dir / "www").mkdir()
        (self.dir / "tmp").mkdir()
        (self.dir / "www" / "index.html").write_bytes(BODY)
        for p in (self.dir, self.dir / "www", self.dir / "www" / "index.html"):
            p.chmod(0o755)  # nginx workers run as an unprivileged user
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.dir, port=self.port))
        self.proc = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(self.dir)],
            preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CPU}),  # noqa: PLW1509 (no threads here)
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise SystemExit(f"nginx did not start; see {self.dir}/error.log")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful stop of this master and its worker
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_cell(engine: str, loop: str, mode: str, rate: int, seconds: float, url: str) -> Cell:
    """One cell in this process (called in the pinned subprocess) on event loop ``loop``."""
    from chaos.load import Connection, LoadConfig, run_load
    from chaos.load.loops import loop_factory

    config = LoadConfig(
        targets=(url,),
        rate=float(rate),
        duration=seconds,
        timeout=2.0,
        connection=Connection(mode),
        engine=engine,
    )
    before = resource.getrusage(resource.RUSAGE_SELF)
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        summary = runner.run(run_load(config))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    req = summary.requests
    errors = sum(n for k, n in req.errors.items() if k != "dropped")
    return Cell(
        engine=engine,
        loop=loop,
        mode=mode,
        rate=rate,
        achieved=summary.achieved_rate,
        dropped=req.dropped,
        errors=errors,
        lag_p50=summary.send_lag_ms.p50,
        lag_p99=summary.send_lag_ms.p99,
        lat_p50=summary.latency_ms.p50,
        lat_p99=summary.latency_ms.p99,
        cpu_per_1k=1000.0 * cpu / max(1, req.total),
    )


def cell_in_subprocess(
    engine: str, loop: str, mode: str, rate: int, seconds: float, url: str
) -> Cell | None:
    """One cell in a fresh process pinned to the generator's CPU; ``None`` if it hung."""
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--cell", engine, loop, mode, str(rate), str(seconds), url],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=4 * seconds + 30,
            preexec_fn=lambda: os.sched_setaffinity(0, {GEN_CPU}),
        )
    except subprocess.TimeoutExpired:
        return None
    return Cell(**json.loads(out.stdout.strip().splitlines()[-1]))


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if m is None:
        raise ValueError(f"cannot parse wrk time {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, connections: int, seconds: float) -> tuple[float, float]:
    """(requests per second, latency p50 in ms) from Debian's wrk pinned to CPU 0."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {GEN_CPU}),
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    return rps, p50


def fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def table(cells: list[Cell]) -> str:
    lines = [
        "| engine | loop | connection | target/s | achieved/s | dropped | errors "
        "| send lag p50/p99 ms | latency p50/p99 ms | CPU s per 1k req | clean |",
        "|---|---|---|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for c in cells:
        lines.append(
            f"| {c.engine} | {c.loop} | {c.mode} | {c.rate} | {c.achieved:.0f} | {c.dropped} "
            f"| {c.errors} | {fmt(c.lag_p50)} / {fmt(c.lag_p99)} "
            f"| {fmt(c.lat_p50)} / {fmt(c.lat_p99)} | {c.cpu_per_1k:.3f} "
            f"| {'yes' if c.clean() else 'no'} |"
        )
    return "\n".join(lines)


def profile(engine: str, loop: str, mode: str, rate: int, seconds: float) -> None:
    nginx = Nginx()
    nginx.start()
    try:
        os.sched_setaffinity(0, {GEN_CPU})
        prof = cProfile.Profile()
        prof.enable()
        cell = run_cell(engine, loop, mode, rate, seconds, nginx.url)
        prof.disable()
        print(table([cell]))
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    finally:
        nginx.stop()


def combos(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(engine, loop, mode) triples in table order."""
    return [
        (engine, loop, mode)
        for engine in args.engines.split(",")
        for loop in args.loops.split(",")
        for mode in args.modes.split(",")
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each cell")
    ap.add_argument("--rates", default=",".join(map(str, RATES)))
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--loops", default=",".join(LOOPS), help="event loops: uvloop,asyncio")
    ap.add_argument("--repeat", type=int, default=1, help="runs per cell (noisy machine)")
    ap.add_argument("--cell", nargs=6, help=argparse.SUPPRESS)
    ap.add_argument("--profile", nargs=4, metavar=("ENGINE", "LOOP", "MODE", "RATE"))
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.cell:
        engine, loop, mode, rate, seconds, url = args.cell
        print(json.dumps(asdict(run_cell(engine, loop, mode, int(rate), float(seconds), url))))
        return
    missing = [b for b in ("nginx", "wrk") if shutil.which(b) is None]
    if missing:
        raise SystemExit(f"{' and '.join(missing)} not found: run `bash scripts/setup.sh --bench`")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPUs: the generator and nginx are pinned to one each")
    if args.profile:
        engine, loop, mode, rate = args.profile
        profile(engine, loop, mode, int(rate), args.seconds)
        return
    nginx = Nginx()
    nginx.start()
    try:
        rps8, _ = wrk(nginx.url, 8, args.seconds)
        _, p50_1 = wrk(nginx.url, 1, args.seconds)
        print(
            f"wrk -t1 -c8: {rps8:,.0f} req/s; wrk -t1 -c1: latency p50 {p50_1:.3f} ms", flush=True
        )
        cells = []
        for engine, loop, mode in combos(args):
            for rate in (int(r) for r in args.rates.split(",")):
                runs = [
                    cell_in_subprocess(engine, loop, mode, rate, args.seconds, nginx.url)
                    for _ in range(args.repeat)
                ]
                done = [c for c in runs if c is not None]
                for cell in done:
                    cells.append(cell)
                    print(table([cell]).splitlines()[-1], flush=True)
                if len(done) < len(runs):
                    print(f"| {engine} | {loop} | {mode} | {rate} | did not finish |", flush=True)
                    break
                if all(c.collapsed() for c in done):
                    print(f"{engine} {loop} {mode} collapsed at {rate}/s: higher rates skipped")
                    break
    finally:
        nginx.stop()
    report(cells, args, rps8, p50_1)


def report(cells: list[Cell], args: argparse.Namespace, rps8: float, p50_1: float) -> None:
    """The table of every cell, then the highest clean rate per engine, loop and mode."""
    print()
    print(table(cells))
    print()
    for engine, loop, mode in combos(args):
        mine = [c for c in cells if (c.engine, c.loop, c.mode) == (engine, loop, mode)]
        rates = sorted({c.rate for c in mine})
        tally = {
            r: (sum(c.clean() for c in mine if c.rate == r), sum(c.rate == r for c in mine))
            for r in rates
        }
        best = max((r for r, (k, n) in tally.items() if k == n), default=0)
        per_rate = ", ".join(f"{r}: {k}/{n}" for r, (k, n) in tally.items())
        print(
            f"{engine} {loop} {mode}: highest clean rate {best}/s = {best / rps8:.1%} of wrk -c8"
            f" (clean runs per rate: {per_rate})"
        )
    print(f"reference: wrk -t1 -c8 {rps8:,.0f} req/s; wrk -t1 -c1 latency p50 {p50_1:.3f} ms")


if __name__ == "__main__":
    main()
