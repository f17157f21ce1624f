"""What ``chaos run`` prints once a run is over: the summary, and with ``--json`` the headline.

Without ``--json``: the summary on stdout (colour on a terminal, plain lines otherwise).
With ``--json``: the summary on stderr and ONE JSON object on stdout, the run's headline
(:mod:`chaos.report.headline`), so ``chaos run X --json | jq .verdict`` works; everything
else a run prints (the live view, its lines) is on stderr already.

The command calls it with what :func:`chaos.experiment.runner.run_experiment` returned::

    outcome = run_experiment(exp, opts)
    sys.exit(print_run_end(outcome.out_dir, outcome.exit_code, as_json=as_json,
                           fallback=outcome.lines))
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chaos.analysis.result import load_result
from chaos.errors import UsageError
from chaos.report.headline import HEADLINE_VERSION, RESULT_FILE, headline
from chaos.report.terminal import summary, summary_lines
from chaos.ui.console import interactive, stderr_console, stdout_console


def print_run_end(
    out_dir: Path, exit_code: int, *, as_json: bool, fallback: Sequence[str] = ()
) -> int:
    """Print the end of run ``out_dir`` and return ``exit_code`` (for ``sys.exit``).
    ``fallback``: the runner's own lines, printed only when ``result.json`` cannot be read
    (the JSON then carries ``verdict: unknown`` and the reason in ``error``)."""
    console = stderr_console() if as_json else stdout_console()
    try:
        result = load_result(out_dir / RESULT_FILE)
    except UsageError as exc:
        for line in [*fallback, f"no summary: {exc}"]:
            console.file.write(line + "\n")
        if as_json:
            _json_line(no_result(out_dir, exit_code, str(exc)))
        return exit_code
    head = headline(result, exit_code=exit_code, run_dir=out_dir)
    if interactive(console):
        console.print(summary(head), crop=False)  # a long path stays whole
    else:
        console.file.write("\n".join(summary_lines(head)) + "\n")
    console.file.flush()
    if as_json:
        _json_line(dict(head))
    return exit_code


def no_result(out_dir: Path, exit_code: int, why: str) -> dict[str, Any]:
    """The headline of a run without a readable ``result.json``: the same keys a script
    reads first, and the reason."""
    return {
        "headline_version": HEADLINE_VERSION,
        "run": out_dir.name,
        "verdict": "unknown",
        "exit_code": exit_code,
        "error": why,
        "paths": {"run_dir": str(out_dir), "result": str(out_dir / RESULT_FILE)},
    }


def _json_line(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()
