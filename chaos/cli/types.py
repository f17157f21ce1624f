"""Click parameter types for the units the CLI takes (``300/s``, ``250ms``, ``0.1%``, sweeps).

Units are parsed here, at the edge; a malformed value raises :class:`UsageError` naming the
option, which the CLI prints as one line and exit code 2.
"""

from __future__ import annotations

from typing import Any

import click

from chaos.errors import UsageError
from chaos.sweep import Axis, parse_axis
from chaos.units import parse_duration, parse_fraction, parse_rate


def _named(param: click.Parameter | None) -> str:
    return param.opts[0] if param is not None and param.opts else "value"


class _Unit(click.ParamType[float]):
    """A float parsed from text by ``parse``; errors are prefixed with the option's name."""

    def parse(self, text: str) -> float:
        raise NotImplementedError

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return self.parse(str(value))
        except UsageError as exc:
            raise UsageError(f"{_named(param)}: {exc}") from None


class Duration(_Unit):
    """``250ms``, ``30s``, ``1.5m`` -> seconds."""

    name = "duration"

    def parse(self, text: str) -> float:
        return parse_duration(text)


class Rate(_Unit):
    """``300/s``, ``6000/m`` -> requests per second."""

    name = "rate"

    def parse(self, text: str) -> float:
        return parse_rate(text)


class Ratio(_Unit):
    """``0.1%`` or ``0.001`` -> a fraction in [0, 1]."""

    name = "ratio"

    def parse(self, text: str) -> float:
        return parse_fraction(text, what="percentage")


class SweepAxis(click.ParamType[Axis]):
    """``update.parallelism=1,2,3`` -> :class:`chaos.sweep.Axis`."""

    name = "KEY=V1,V2"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Axis:
        return value if isinstance(value, Axis) else parse_axis(str(value))


class Repeat(click.ParamType[int | str]):
    """``3`` (runs per setting, at least 1) or ``auto`` (until sure: ``chaos.sweep.run``)."""

    name = "N|auto"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int | str:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text == "auto":
            return text
        if not text.isdigit() or int(text) < 1:
            raise UsageError(f"{_named(param)} {text!r}: a number of runs (1 or more) or auto")
        return int(text)
