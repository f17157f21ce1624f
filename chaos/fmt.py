"""How numbers read: the one place that decides the form of seconds, milliseconds, fractions
and counts, for pages and for text.

- **Page forms** (``seconds``, ``ms``, ``pct``, ``count``, ``number``, ``signed``): a space
  before the unit (``9.26 s``, ``1.64 ms``) and an en dash for ``None``; the HTML pages.
- **Text forms** (``text_*``): compact (``850.0ms``, ``2.50s``, ``0.539%``, ``1m05s``) and
  ``-`` for ``None``; check and gate messages, logs, the terminal and Markdown, where people
  and CI logs quote them (their form is part of those messages: do not change it lightly).
"""

from __future__ import annotations

NA = "\u2013"
TEXT_NA = "-"


# -- page forms ------------------------------------------------------------------------------
def seconds(s: float | None) -> str:
    """``9.26 s``, ``0.42 s``, ``2 min 05 s``."""
    if s is None:
        return NA
    if s >= 120:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


def ms(v: float | None) -> str:
    """``1.64 ms``, ``45.8 ms``, ``1.03 s``."""
    if v is None:
        return NA
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    if v >= 100:
        return f"{v:.0f} ms"
    return f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"


def pct(f: float | None) -> str:
    """A fraction as a percentage: ``8.23%``, ``0.539%``, ``0%``."""
    if f is None:
        return NA
    p = f * 100
    if p == 0:
        return "0%"
    if p >= 10:
        return f"{p:.1f}%"
    return f"{p:.2f}%" if p >= 1 else f"{p:.3g}%"


def duration(s: float | None) -> str:
    """Seconds in the unit that reads best: ``850 ms`` below a second, else as
    :func:`seconds`."""
    if s is None:
        return NA
    return ms(s * 1000) if s < 1 else seconds(s)


def count(n: int | None) -> str:
    """``6,593``."""
    return NA if n is None else f"{n:,}"


def number(v: float | None) -> str:
    """A value of no fixed unit (a check's value or threshold): ``0.0123``, ``60``."""
    return NA if v is None else f"{v:.4g}"


def signed(delta: float | None, unit: str = "", digits: int = 2) -> str:
    """``+1.20 s``, ``\u22120.5%``; empty for ``None`` or no change."""
    if delta is None or round(delta, digits) == 0:
        return ""
    sign = "+" if delta > 0 else "\u2212"
    return f"{sign}{abs(delta):.{digits}f}{unit}"


# -- text forms ------------------------------------------------------------------------------
def text_pct(f: float | None) -> str:
    """A fraction as a percentage, three significant digits: ``0.539%``, ``12%``."""
    return TEXT_NA if f is None else f"{f * 100:.3g}%"


def text_ms(v: float | None, digits: int = 1) -> str:
    """Milliseconds: ``18.7ms`` (``digits`` after the point)."""
    return TEXT_NA if v is None else f"{v:.{digits}f}ms"


def text_s(s: float | None, digits: int = 2) -> str:
    """Seconds: ``2.50s`` (``digits`` after the point)."""
    return TEXT_NA if s is None else f"{s:.{digits}f}s"


def text_duration(s: float | None) -> str:
    """Seconds in the unit that reads best: ``850.0ms`` below a second, else ``2.50s``."""
    if s is None:
        return TEXT_NA
    return text_ms(s * 1000) if s < 1 else text_s(s)


def _minutes(s: float) -> str:
    return f"{int(s // 60)}m{int(s % 60):02d}s"


def text_clock(s: float) -> str:
    """A running clock: ``7.4s``, ``1m05s`` (short, about fixed width, for a line that is
    redrawn)."""
    return f"{s:.1f}s" if s < 60 else _minutes(s)


def text_estimate(s: float) -> str:
    """``42s``, ``3m12s``, ``1h05m``: whole seconds, for estimates that are no finer (negative
    reads as 0)."""
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return _minutes(s)
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"
