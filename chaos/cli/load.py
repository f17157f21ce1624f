"""``chaos load``: open-loop constant-rate HTTP load against one or more URLs."""

from __future__ import annotations

from pathlib import Path

import anyio
import click

from chaos import netns as ns
from chaos.cli.types import Duration, Rate
from chaos.errors import UsageError
from chaos.experiment.loadproc import ERROR_FILE
from chaos.fmt import text_ms
from chaos.lab import state as lab_state
from chaos.lab.config import CLIENT_NETNS
from chaos.load.config import DEFAULT_TIMEOUT_S, Connection, LoadConfig, target_ip
from chaos.load.engines import DEFAULT_ENGINE, ENGINE_NAMES, held_rate
from chaos.load.generator import run_load
from chaos.load.live import LiveLine
from chaos.load.loops import LOOP_NAMES, UVLOOP, default_loop, uvloop_available
from chaos.load.summary import LoadSummary


@click.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--rate", type=Rate(), required=True, help="Total requests per second, e.g. 300/s.")
@click.option("--duration", type=Duration(), required=True, help="How long to send, e.g. 30s.")
@click.option(
    "--timeout",
    type=Duration(),
    default=DEFAULT_TIMEOUT_S,
    show_default="2s",
    help="One total deadline per request (connect + read).",
)
@click.option(
    "--connection",
    type=click.Choice([c.value for c in Connection]),
    default=Connection.NEW.value,
    show_default=True,
    help="new: a fresh TCP connection per request; keepalive: pooled, recycled.",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINE_NAMES),
    default=DEFAULT_ENGINE,
    show_default=True,
    help="HTTP client library.",
)
@click.option(
    "--loop",
    "loop_name",
    type=click.Choice(LOOP_NAMES),
    default=None,
    help="Event loop [default: uvloop when installed, else asyncio].",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write summary.json, timeline.jsonl and .hlog files here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print only the summary JSON on stdout.")
def load(
    urls: tuple[str, ...],
    rate: float,
    duration: float,
    timeout: float,
    connection: str,
    engine: str,
    loop_name: str | None,
    out_dir: Path | None,
    as_json: bool,
) -> None:
    """Send GET requests to URLS in rotation at a constant total RATE (open loop).

    Latency counts from each request's scheduled time; requests that the generator could
    not send are counted as dropped, not as server errors.
    """
    cluster, netns = _cluster_of(urls)
    config = LoadConfig(
        targets=urls,
        rate=rate,
        duration=duration,
        timeout=timeout,
        connection=Connection(connection),
        engine=engine,
        cluster=cluster,
    )
    held = held_rate(engine, config.connection)
    if held is not None and rate > held:
        click.echo(
            f"chaos: warning: {rate:g}/s is above the {held:g}/s that engine {engine} held "
            f"with --connection {connection} in the benchmark (BENCHMARKS.md); expect drops",
            err=True,
        )
    live = None if as_json else LiveLine()

    async def main() -> LoadSummary:
        return await run_load(config, out_dir=out_dir, on_window=live)

    loop = loop_name or default_loop()
    if loop == UVLOOP and not uvloop_available():
        raise UsageError("--loop uvloop: uvloop is not installed; use --loop asyncio")
    if netns is not None:
        ns.enter(netns)  # this command's only job: its sockets start where the lab is
    try:
        summary = anyio.run(main, backend_options={"use_uvloop": loop == UVLOOP})
    except Exception as exc:  # the cause stays with the results, not only on a terminal
        if out_dir is not None and out_dir.is_dir():
            (out_dir / ERROR_FILE).write_text(f"the load generator failed: {exc!r}\n")
        raise
    if live is not None:
        live.close()
    if as_json:
        click.echo(summary.model_dump_json(indent=2))
        return
    _print_human(summary, out_dir)


def _cluster_of(urls: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """The cluster under test that ``urls`` may name (the local lab's nodes, when a lab is
    up) and the namespace to send from: the lab's client namespace for its nodes, this one
    for loopback. Both at once is refused: they are reached from different namespaces."""
    st = lab_state.load()
    cluster = tuple(n.ip for n in st.config.lab_nodes()) if st is not None else ()
    lab = [u for u in urls if not _loopback(u)]
    if lab and len(lab) < len(urls):
        raise UsageError(
            "loopback targets and the lab's nodes are reached from different network "
            "namespaces: load one or the other"
        )
    return cluster, (CLIENT_NETNS if lab and cluster else None)


def _loopback(url: str) -> bool:
    try:
        return target_ip(url).is_loopback
    except UsageError:
        return True  # LoadConfig says what is wrong with it


def _print_human(s: LoadSummary, out_dir: Path | None) -> None:
    r, lat, lag = s.requests, s.latency_ms, s.send_lag_ms
    errors = ", ".join(f"{k}={n}" for k, n in r.errors.items()) or "none"

    click.echo(f"requests {r.total}  ok {r.ok}  dropped {r.dropped}  errors: {errors}")
    click.echo(f"achieved {s.achieved_rate:.1f}/s of {s.run.rate:g}/s over {s.duration_s:.1f}s")

    def ms(v: float | None) -> str:
        return text_ms(v, 2)

    click.echo(
        f"latency (ok) p50 {ms(lat.p50)}  p90 {ms(lat.p90)}  p99 {ms(lat.p99)}  "
        f"p99.9 {ms(lat.p999)}  max {ms(lat.max)}"
    )
    click.echo(f"send lag p50 {ms(lag.p50)}  p99 {ms(lag.p99)}")
    if s.generator_limited:
        click.echo(
            "warning: the generator could not keep its schedule (drops or send lag); "
            "latency figures include its own delays",
            err=True,
        )
    if out_dir is not None:
        click.echo(f"results in {out_dir}")
