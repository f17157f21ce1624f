"""The gate's checks as people and CI read them: one line each with a summary line, JUnit
XML, and a Markdown job summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from chaos.gate.report import GateCheck, GateReport


def line(c: GateCheck) -> str:
    """``FAIL    error_rate: RUN_DIR: error_rate 0.539% > 0.1%``."""
    tail = " (unknown counts as a failure)" if c.status == "unknown" else ""
    if c.status == "skipped":
        tail = " (neither pass nor fail)"
    return f"{c.status.upper():<7} {c.name}: {c.message}{tail}"


def summary(report: GateReport) -> str:
    n = len(report.checks)
    skipped = f", {report.skipped} interrupted runs not judged" if report.skipped else ""
    if report.passed:
        return f"gate: PASS ({n - report.skipped} checks{skipped})"
    if not report.judged:
        return f"gate: FAIL (no run was judged: {report.skipped} interrupted)"
    return (
        f"gate: FAIL ({report.failed} failed, {report.unknown} unknown of "
        f"{n - report.skipped} checks{skipped})"
    )


def lines(report: GateReport) -> list[str]:
    """A line per check, then the summary."""
    return [line(c) for c in report.checks] + [summary(report)]


def junit(report: GateReport) -> str:
    """JUnit XML: one testcase per check, named after the metric; a failed check is a
    ``<failure>``, an unknown one an ``<error>`` (both fail CI)."""
    n = str(len(report.checks))
    attrs = {"tests": n, "failures": str(report.failed), "errors": str(report.unknown)}
    root = ET.Element("testsuites", {"name": "chaos gate", **attrs})
    skipped = str(report.skipped)
    suite = ET.SubElement(root, "testsuite", {"name": "chaos gate", **attrs, "skipped": skipped})
    for c in report.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"chaos.gate.{c.experiment}", "name": c.name, "time": "0"},
        )
        if c.status == "fail":
            ET.SubElement(case, "failure", {"type": "fail", "message": c.message}).text = line(c)
        elif c.status == "unknown":
            ET.SubElement(case, "error", {"type": "unknown", "message": c.message}).text = line(c)
        elif c.status == "skipped":
            ET.SubElement(case, "skipped", {"message": c.message}).text = line(c)
        else:
            ET.SubElement(case, "system-out").text = line(c)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


ICON = {"pass": "✅", "fail": "❌", "unknown": "❓", "skipped": "⏹️"}


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: GateReport) -> str:
    """A job summary: the outcome, the rule, one table row per check (failures first)."""
    head = "✅ pass" if report.passed else "❌ fail"
    out = [f"## chaos gate: {head}", "", summary(report).removeprefix("gate: ") + "."]
    if report.baseline is not None:
        out.append(
            f"Baseline `{report.baseline}`, tolerance {report.tolerance * 100:g}%: "
            "limit = max(baseline median x (1 + tolerance), baseline max) + floor."
        )
    out += ["Unknown counts as a failure.", "", "| | check | run | detail |", "|---|---|---|---|"]
    order = {"fail": 0, "unknown": 1, "skipped": 2, "pass": 3}
    for c in sorted(report.checks, key=lambda c: order[c.status]):
        out.append(f"| {ICON[c.status]} | {_md(c.what)} | `{_md(c.subject)}` | {_md(c.message)} |")
    return "\n".join(out) + "\n"
