"""The consoles commands draw on, and when drawing in place is right.

Progress and live views go to stderr, so stdout stays what a script reads (``--json``, the
lines of ``lab up``). They redraw in place only on an interactive terminal: not in CI, not
into a pipe or a file, not with ``TERM=dumb``; rich also honours ``NO_COLOR``.
"""

from __future__ import annotations

from rich.console import Console


def stderr_console() -> Console:
    # highlight=False: rich's repr highlighter would colour IPs and numbers at random in
    # lines that are the tool's own words
    return Console(stderr=True, highlight=False)


def stdout_console() -> Console:
    return Console(highlight=False)


def interactive(console: Console) -> bool:
    """Redraw in place on this console (a terminal that can move its cursor)."""
    return console.is_terminal and not console.is_dumb_terminal
