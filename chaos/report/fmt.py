"""Number formatting for pages: one place decides how seconds, milliseconds, fractions and
counts read. Every function takes ``None`` and returns an en dash for it."""

from __future__ import annotations

NA = "\u2013"


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


def count(n: int | None) -> str:
    """``6,593``."""
    return NA if n is None else f"{n:,}"


def signed(delta: float | None, unit: str = "", digits: int = 2) -> str:
    """``+1.20 s``, ``\u22120.5%``; empty for ``None`` or no change."""
    if delta is None or round(delta, digits) == 0:
        return ""
    sign = "+" if delta > 0 else "\u2212"
    return f"{sign}{abs(delta):.{digits}f}{unit}"
