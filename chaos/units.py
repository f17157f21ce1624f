"""Parsing of unit-bearing values at the edge: ``300/s``, ``30s``, ``250ms``, ``0.1%``.

Everything deeper in the program works with floats in SI units (seconds, requests per second,
fractions); strings with units never travel past these functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator

from chaos.errors import UsageError

_N = TypeVar("_N", int, float)


def _number(value: object, what: str, example: str) -> float | None:
    """A plain number as a float; ``None`` for a string (parsed by the caller); UsageError for
    anything else. YAML gives booleans (``yes``), lists and mappings too: none is a quantity."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UsageError(f"invalid {what} {value!r}: use e.g. {example}")
    if isinstance(value, str):
        return None
    number = float(value)
    if not math.isfinite(number):
        raise UsageError(f"invalid {what} {value!r}: must be a finite number, e.g. {example}")
    return number


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h)?\s*$")
_DURATION_SCALE = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute))?\s*$")


def parse_duration(text: str | float | int, *, what: str = "duration") -> float:
    """Return seconds for ``30s``, ``250ms``, ``1.5m``, ``2h``; a bare number means seconds."""
    number = _number(text, what, "30s, 250ms, 2m")
    if number is not None:
        value = number
    else:
        assert isinstance(text, str)
        match = _DURATION.match(text)
        if match is None:
            raise UsageError(
                f"invalid {what} {text!r}: use a number with a unit, e.g. 30s, 250ms, 2m"
            )
        value = float(match.group(1)) * _DURATION_SCALE[match.group(2) or "s"]
    if value < 0:
        raise UsageError(f"invalid {what} {text!r}: must not be negative")
    return value


def parse_rate(text: str | float | int) -> float:
    """Return requests per second for ``300/s``, ``300``, ``6000/m``; must be positive."""
    number = _number(text, "rate", "300/s")
    if number is not None:
        value = number
    else:
        assert isinstance(text, str)
        match = _RATE.match(text)
        if match is None:
            raise UsageError(f"invalid rate {text!r}: use requests per second, e.g. 300/s")
        value = float(match.group(1))
        if (match.group(2) or "s").startswith("m"):
            value /= 60.0
    if value <= 0:
        raise UsageError(f"invalid rate {text!r}: must be greater than zero")
    return value


_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]i?[bB]?|[bB])?\s*$")
_BYTE_SCALE = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30}


def parse_bytes(text: str | float | int) -> int:
    """Return bytes for ``256M``, ``1.5G``, ``512Mi``, ``64k``; a bare number means bytes."""
    number = _number(text, "size", "256M")
    if number is not None:
        value = number
    else:
        assert isinstance(text, str)
        match = _BYTES.match(text)
        if match is None:
            raise UsageError(f"invalid size {text!r}: use e.g. 256M, 1G, 64k")
        unit = (match.group(2) or "").lower()[:1]
        value = float(match.group(1)) * _BYTE_SCALE[unit]
    if value < 0:
        raise UsageError(f"invalid size {text!r}: must not be negative")
    return int(value)


def parse_fraction(text: str | float | int, *, what: str = "ratio") -> float:
    """Return a fraction for ``0.1%`` (0.001) or ``0.001``; must lie in [0, 1]."""
    number = _number(text, what, "0.1% or 0.001")
    if number is not None:
        value = number
    else:
        assert isinstance(text, str)
        raw = text.strip()
        try:
            value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
        except ValueError:
            raise UsageError(
                f"invalid {what} {text!r}: use a percentage like 0.1% or a fraction like 0.001"
            ) from None
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"invalid {what} {text!r}: must lie between 0% and 100%")
    return value


# The units as pydantic field types, for every validated file (experiments, inventories): a
# parser's UsageError becomes a ValueError there, so the message carries the field's path.
def _field(parse: Callable[[Any], _N]) -> Callable[[Any], _N]:
    def validate(value: Any) -> _N:
        try:
            return parse(value)
        except UsageError as exc:
            raise ValueError(str(exc)) from None

    return validate


Seconds = Annotated[float, BeforeValidator(_field(parse_duration))]
Bytes = Annotated[int, BeforeValidator(_field(parse_bytes))]
Rate = Annotated[float, BeforeValidator(_field(parse_rate))]
Fraction = Annotated[float, BeforeValidator(_field(parse_fraction))]
