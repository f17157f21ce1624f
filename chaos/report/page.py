"""Rendering: one jinja2 environment over ``templates/``, the vendored chart library and the
page script inlined once per page, chart data embedded as JSON. Pages need nothing else: no
network, no other file, so they work from disk and as CI artifacts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from chaos import __version__, atomic
from chaos.errors import UsageError
from chaos.report.model import Chart

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#b07aa1",
    "#edc948",
    "#9c755f",
    "#ff9da7",
    "#bab0ac",
)  # fmt: skip  (Tableau 10)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


@cache
def _asset(name: str) -> str:
    return (
        resources.files("chaos.report")
        .joinpath("assets")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("chaos.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    return env


def embed_json(value: Any) -> str:
    """JSON safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(template: str, charts: Sequence[Chart], **context: Any) -> str:
    """The page ``template`` with the library, the page script and ``charts`` inlined."""
    env = environment()
    return env.get_template(template).render(
        uplot_js=_asset("uPlot.iife.min.js"),
        uplot_css=_asset("uPlot.min.css"),
        page_js=env.loader.get_source(env, "report.js")[0] if env.loader else "",
        page_css=env.loader.get_source(env, "report.css")[0] if env.loader else "",
        charts=charts,
        charts_json=embed_json([c.to_json() for c in charts]),
        **context,
    )


def write_page(path: Path, html: str) -> Path:
    """Write atomically (:mod:`chaos.atomic`)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, html)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    return path
