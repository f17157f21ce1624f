"""The end-of-run summary on the terminal, as k6 prints one: the verdict and its reasons,
each check with its value and threshold, the recovery numbers, the judged requests, failed
requests per node IP, and where the report is.

Drawn from a :class:`~chaos.report.headline.Headline`, so the terminal says exactly what
``chaos run --json`` prints. :func:`summary` gives rich renderables (a terminal);
:func:`summary_lines` the same as plain lines (a log, a pipe, ``verdict.txt``).
"""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from chaos import fmt
from chaos.report.headline import CheckHead, Headline
from chaos.verdict import meaning

PLAIN_WIDTH = 120
VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "unknown": "bold yellow",
                 "interrupted": "bold yellow", "guard_tripped": "bold magenta"}  # fmt: skip
MARK = {"pass": ("✓", "green"), "fail": ("✗", "bold red"), "unknown": ("?", "yellow")}
# how each check's value and threshold read (units as in chaos.analysis.checks)
UNIT = {"error_rate": "fraction", "p99": "seconds", "recovery": "seconds",
        "leader_election": "seconds", "dropped": "count"}  # fmt: skip


def _value(name: str, v: float | None) -> str:
    unit = UNIT.get(name)
    if v is None:
        return fmt.NA
    if unit == "fraction":
        return fmt.pct(v)
    if unit == "seconds":
        return fmt.duration(v)
    if unit == "count":
        return fmt.count(int(v))
    return f"{v:g}"


def _check_row(c: CheckHead) -> tuple[Text, str, str, str, Text]:
    mark, style = MARK.get(c["status"], ("?", "yellow"))
    limit = f"≤ {_value(c['name'], c['threshold'])}" if c["threshold"] is not None else ""
    # the message says what the numbers cannot: why a check failed or is unknown
    why = c["message"] if c["status"] != "pass" else ""
    return (
        Text(mark, style=style),
        c["name"],
        _value(c["name"], c["value"]),
        limit,
        Text(why, style=style if why else ""),
    )


def _recovery_rows(head: Headline) -> list[tuple[str, str]]:
    r = head["recovery"]
    rows = []
    if r["leader_elected_s"] is not None:
        change = f"{head['leader_before']} -> {head['leader_after']}"
        rows.append(("leader elected", f"{fmt.seconds(r['leader_elected_s'])}   {change}"))
    elif head["leader_before"] in head["faulted"]:
        rows.append(("leader elected", "no new leader"))
    else:
        rows.append(("leader elected", f"n/a (leader {head['leader_after'] or 'none'} kept)"))
    status = r["client_status"]
    if status == "recovered":
        client = fmt.seconds(r["client_recovered_s"])
    elif status == "not_recovered":
        client = "not recovered before the run ended"
    else:
        client = "n/a (clients saw no fault)"
    if r["outage_s"]:
        client += f"   (outage {fmt.seconds(r['outage_s'])})"
    rows.append(("client recovered", client))
    rows.append(("API unavailable", fmt.seconds(r["api_unavailable_s"])))
    for label, value in (
        ("node down seen", r["node_down_detected_s"]),
        ("tasks rescheduled", r["tasks_rescheduled_s"]),
        ("service converged", r["service_converged_s"]),
    ):
        if value is not None:
            rows.append((label, fmt.seconds(value)))
    return rows


def _grid(*justify: str) -> Table:
    table = Table(box=None, padding=(0, 1), show_header=False)
    for j in justify:
        table.add_column(justify="right" if j == "r" else "left", no_wrap=j != "f", overflow="fold")
    return table


def _path_line(label: str, path: str) -> Text:
    """`` result  /the/path``: never folded or cut, however long (a user copies it whole)."""
    line = Text(" ")
    line.append(label, style="bold")
    line.append(f"  {path}")
    line.no_wrap, line.overflow = True, "ignore"
    return line


API_PHASES = ("baseline", "fault", "observe")


def _api_rows(head: Headline) -> Table | None:
    """Per manager: p50 / p99 in the baseline, the fault and observe phases, and the calls
    that failed there (timeouts, errors)."""
    rows = head["api_latency"]
    if not rows:
        return None
    table = _grid("l", "r", "r", "r", "l")
    table.add_row("", *(Text(p, style="dim") for p in API_PHASES), "")
    for node in sorted({a["node"] for a in rows}):
        cells = []
        failed = 0
        for phase in API_PHASES:
            a = next((a for a in rows if a["node"] == node and a["phase"] == phase), None)
            if a is None:
                cells.append("-")
                continue
            cells.append(f"{fmt.text_ms(a['p50_ms'])} / {fmt.text_ms(a['p99_ms'])}")
            failed += a["timeouts"] + a["errors"] if phase != "baseline" else 0
        note = Text(f"{failed} failed after the fault" if failed else "", style="red")
        table.add_row(node, *cells, note)
    return table


def summary(head: Headline) -> RenderableType:
    verdict = head["verdict"]
    code = head["exit_code"]
    top = Text()
    top.append(f"{head['experiment']}  ", style="bold")
    top.append(verdict.upper(), style=VERDICT_STYLE.get(verdict, "bold"))
    top.append(f"   exit {code} ({meaning(code)})   run {head['run']}", style="dim")
    parts: list[RenderableType] = [top, *(Text(f"  {reason}") for reason in head["reasons"])]

    def section(title: str, body: RenderableType) -> None:
        parts.extend((Text(), Text(title, style="bold"), body))

    if head["checks"]:
        checks = _grid("l", "l", "r", "l", "f")
        for c in head["checks"]:
            checks.add_row(*_check_row(c))
        section("checks", checks)
    tripped = head["guard"]
    if tripped is not None:
        guard = _grid("l", "f")
        guard.add_row("reason", tripped["reason"])
        guard.add_row("tripped", f"{fmt.text_s(tripped['tripped_s'])} after the fault start")
        guard.add_row(
            "latency",
            f"{fmt.text_s(tripped['detect_latency_s'])} from the violating window to the trip, "
            f"{fmt.text_s(tripped['restore_latency_s'])} from the trip to the restore",
        )
        section("guard", guard)
    recovery = _grid("l", "f")
    for label, value in _recovery_rows(head):
        recovery.add_row(label, value)
    section("recovery", recovery)
    judged = head["judged"]
    if judged is not None:
        section(
            "requests on the live node IPs, fault + observe",
            Text(
                f" {fmt.count(judged['sent'])} sent, {fmt.count(judged['failed'])} failed "
                f"({fmt.pct(judged['error_rate'])}), p99 {fmt.ms(judged['p99_ms'])}"
            ),
        )
    api = _api_rows(head)
    if api is not None:
        section("manager API latency (node ls on each manager, p50 / p99)", api)
    if head["failed_by_node"]:
        nodes = _grid("l", "l", "r", "l")
        for node, failed in head["failed_by_node"].items():
            nodes.add_row(
                node,
                head["node_ips"].get(node, "?"),
                Text(fmt.count(failed), style="red" if failed else ""),
                Text("faulted" if node in head["faulted"] else "", style="dim"),
            )
        section("failed requests by node IP, from the fault start", nodes)
    trouble = [Text(f"error: {e}", style="red") for e in head["errors"]]
    if not head["restored"]:
        trouble.append(Text("the cluster was NOT restored: run `chaos recover`", style="bold red"))
    if trouble:
        parts += [Text(), *trouble]
    paths = head["paths"]
    report = paths["report"] or f"not written; try `chaos report {paths['run_dir']}`"
    parts += [Text(), _path_line("report", report), _path_line("result", paths["result"])]
    return Group(*parts)


def summary_lines(head: Headline, width: int = PLAIN_WIDTH) -> list[str]:
    """The summary as plain text lines (no colour, no escape codes)."""
    buf = io.StringIO()
    console = Console(
        file=buf, width=width, color_system=None, force_terminal=False, highlight=False
    )
    console.print(summary(head), crop=False)  # a long path stays whole
    return [line.rstrip() for line in buf.getvalue().splitlines()]
