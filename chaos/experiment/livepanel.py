"""How a :class:`~chaos.experiment.livedata.LiveFrame` reads: a rich panel for a terminal
(redrawn in place) and one plain status line for logs (CI, a pipe). Pure functions of the
frame: no clock, no I/O.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from chaos import fmt
from chaos.experiment.livedata import LiveFrame, NodeLine, StepLine
from chaos.experiment.schedule import Left

MARK = {"pending": "·", "running": "▶", "done": "✓", "deviated": "!", "failed": "✗"}
STEP_STYLE = {
    "pending": "dim", "running": "bold cyan", "done": "green", "deviated": "yellow",
    "failed": "bold red",
}  # fmt: skip
POWER_STYLE = {"running": "green", "halted": "bold red", "suspended": "yellow"}
STATUS_STYLE = {"ready": "green", "down": "bold red", "unknown": "yellow", "disconnected": "red"}
ERROR_KINDS_SHOWN = 2


def clock(s: float | None) -> str:
    """``7.4s``, ``1m05s`` (:func:`chaos.fmt.text_clock`); an en dash before it is known."""
    return fmt.NA if s is None else fmt.text_clock(s)


def left_text(left: Left | None) -> str:
    if left is None:
        return ""
    prefix = {"exact": "", "at_most": "≤ ", "about": "~"}[left.certainty]
    return f"{prefix}{clock(left.seconds)} left"


def _rate(v: float) -> str:
    return f"{v:.0f}"


def error_kinds(node: NodeLine) -> str:
    if node.second is None or not node.second.errors:
        return ""
    kinds = list(node.second.errors.items())
    shown = " ".join(f"{k}:{n}" for k, n in kinds[:ERROR_KINDS_SHOWN])
    more = len(kinds) - ERROR_KINDS_SHOWN
    return shown + (f" +{more}" if more > 0 else "")


# -- the terminal panel -------------------------------------------------------------------
# Rows are laid out here as padded Text lines rather than rich Tables: a Table measures and
# wraps every cell on each redraw, which made a refresh cost ~12 ms of CPU; lines cropped at
# the terminal's width cost a fraction of that (scripts/bench_live.py).
Cell = Text | str


def _line(text: Text) -> Text:
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def columns(
    rows: list[list[Cell]], right: frozenset[int] = frozenset(), gap: int = 2
) -> list[Text]:
    """Rows of cells as lines, each column as wide as its widest cell (``right``: the
    indexes of right-aligned columns); the last column is not padded."""
    cells = [[c if isinstance(c, Text) else Text(c) for c in row] for row in rows]
    widths = [max((r[i].cell_len for r in cells if i < len(r)), default=0)
              for i in range(max((len(r) for r in cells), default=0))]  # fmt: skip
    lines = []
    for row in cells:
        line = Text()
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - cell.cell_len)
            if i in right:
                line.append(pad)
            line.append_text(cell)
            if i < len(row) - 1:
                line.append(("" if i in right else pad) + " " * gap)
        line.rstrip()  # empty last cells leave no trailing blanks
        lines.append(_line(line))
    return lines


def panel(frame: LiveFrame) -> RenderableType:
    parts: list[RenderableType] = []
    if frame.series:
        parts.append(_line(Text(frame.series, style="dim")))
    parts.append(_phase_line(frame))
    parts += _steps(frame.steps)
    parts += _nodes(frame)
    parts.append(_line(_control_plane(frame)))
    parts += columns(
        [[Text(f"{e.t:.1f}s", style="dim"),
          Text(e.detail or e.kind, style="red" if e.kind == "api_error" else "")]
         for e in frame.events],
        right=frozenset({0}), gap=1,
    )  # fmt: skip
    return Group(*parts)


def bar(done: float, total: float, width: int = 24) -> Text:
    """A progress bar of ``width`` cells: the done part bold, the rest dim."""
    filled = round(width * min(max(done / total, 0.0), 1.0)) if total > 0 else width
    return Text.assemble(("━" * filled, "bold magenta"), ("━" * (width - filled), "grey23"))


def _phase_line(frame: LiveFrame) -> Text:
    line = Text.assemble((f"{frame.phase:<8}", "bold"), " ")
    if frame.phase_length_s:
        line.append_text(bar(frame.phase_elapsed_s, frame.phase_length_s))
        line.append(f" {clock(frame.phase_elapsed_s)} / {clock(frame.phase_length_s)}")
    else:
        line.append(clock(frame.phase_elapsed_s))
    line.append(f"   run {clock(frame.run_elapsed_s)}  {left_text(frame.left)}", style="dim")
    return _line(line)


def _steps(steps: tuple[StepLine, ...]) -> list[Text]:
    rows: list[list[Cell]] = []
    for s in steps:
        took = ""
        if s.elapsed_s is not None:
            took = clock(s.elapsed_s)
            if s.state == "running" and s.bound_s is not None:
                took += f" / {clock(s.bound_s)}"
        style = STEP_STYLE[s.state]
        rows.append([Text(f"{MARK[s.state]} {s.number}.", style=style), Text(s.text, style=style),
                     took, Text(s.detail, style="dim")])  # fmt: skip
    return columns(rows, right=frozenset({0}), gap=1)


NODE_HEADER = ("NODE", "IP", "POWER", "STATUS", "AVAIL", "MANAGER", "OK/s", "ERR/s", "ERRORS",
               "P99", "FAILED")  # fmt: skip
NODE_RIGHT = frozenset({6, 7, 9, 10})


def _nodes(frame: LiveFrame) -> list[Text]:
    rows: list[list[Cell]] = [[Text(h, style="bold dim") for h in NODE_HEADER]]
    for n in frame.nodes:
        s = n.second
        errors_per_s = s.errors_per_s if s is not None else 0.0
        rows.append([
            n.node,
            n.ip,
            Text(n.power or "?", style=POWER_STYLE.get(n.power, "")),
            Text(n.status or "?", style=STATUS_STYLE.get(n.status, "")),
            n.availability or "?",
            Text(n.manager, style="bold" if n.manager == "Leader" else ""),
            _rate(s.ok_per_s) if s is not None else fmt.NA,
            Text(_rate(errors_per_s) if s is not None else fmt.NA,
                 style="bold red" if errors_per_s > 0 else ""),
            Text(error_kinds(n), style="red"),
            fmt.ms(s.p99_ms) if s is not None else fmt.NA,
            fmt.count(n.failed),
        ])  # fmt: skip
    # ERRORS is the one column of varying width: keep it last-but-two and pad it
    return columns(rows, right=NODE_RIGHT)


def _control_plane(frame: LiveFrame) -> Text:
    ok, err = frame.totals()
    line = Text()
    if not frame.observed:
        line.append("leader ?", style="dim")
    elif frame.leader is not None:
        line.append("leader ").append(frame.leader, style="bold")
    else:
        line.append("no leader", style="bold red")
    if frame.observed and not frame.api_ok:
        line.append("  API failing: ", style="bold red").append(frame.api_error[:80], style="red")
    line.append(f"   load {_rate(ok)} ok/s  ")
    line.append(f"{_rate(err)} err/s", style="bold red" if err > 0 else "")
    if frame.load_t is not None and frame.now is not None:
        # windows close once each of their requests ended: in an outage they trail the clock
        lag = frame.now - frame.load_t
        line.append(f"  (as of {clock(frame.load_t)}, {clock(max(lag, 0.0))} ago)", style="dim")
    return line


# -- the plain line -----------------------------------------------------------------------
def status_line(frame: LiveFrame) -> str:
    """One line for a log: ``[fault   16.5s] 200 ok/s errors node-001:67/s p99 18.7ms ...``."""
    ok, err = frame.totals()
    step = ""
    running = [s for s in frame.steps if s.state == "running"]
    if running:
        step = f" step {running[0].number}/{len(frame.steps)}"
    errors = (
        " ".join(
            f"{n.node}:{_rate(n.second.errors_per_s)}/s"
            for n in frame.nodes
            if n.second is not None and n.second.errors_per_s > 0
        )
        or "none"
    )
    p99s = [n.second.p99_ms for n in frame.nodes if n.second and n.second.p99_ms is not None]
    p99 = fmt.ms(max(p99s)) if p99s else fmt.NA
    leader = frame.leader or ("none" if frame.api_ok else "API down")
    if not frame.observed:
        leader = "?"
    nodes = " ".join(f"{n.node}={(n.power or '?')[:4]}/{n.status or '?'}" for n in frame.nodes)
    failed = sum(n.failed for n in frame.nodes)
    left = left_text(frame.left)
    return (
        f"[{frame.phase:<8} {frame.run_elapsed_s:6.1f}s{step}] {_rate(ok + err)} req/s "
        f"errors {errors} (failed so far {failed})  p99 {p99}  leader {leader}  {nodes}"
        + (f"  {left}" if left else "")
    )
