"""The consoles commands draw on, and when drawing in place is right.

Progress and live views go to stderr, so stdout stays what a script reads (``--json``, the
lines of ``lab up``). They redraw in place only on an interactive terminal: not in CI, not
into a pipe or a file, not with ``TERM=dumb``; rich also honours ``NO_COLOR``.
"""

from __future__ import annotations

from rich.console import Console

_stderr: Console | None = None


def stderr_console() -> Console:
    """The process's one stderr console: live displays (a run's view, a spinner) coordinate
    through their console, so two of them must share it to stack instead of tearing each
    other. It writes to whatever ``sys.stderr`` is at the time."""
    global _stderr  # noqa: PLW0603 - one per process, made on first use
    if _stderr is None:
        # highlight=False: rich's repr highlighter would colour IPs and numbers at random in
        # lines that are the tool's own words
        _stderr = Console(stderr=True, highlight=False)
    return _stderr


def stdout_console() -> Console:
    return Console(highlight=False)


def interactive(console: Console) -> bool:
    """Redraw in place on this console (a terminal that can move its cursor)."""
    return console.is_terminal and not console.is_dumb_terminal
