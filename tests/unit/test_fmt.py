"""The text forms of numbers (check and gate messages, logs, Markdown quote them); the page
forms are tested with the page data (tests/report/test_series.py)."""

from __future__ import annotations

from chaos import fmt
from chaos.sweep.metrics import fmt as sweep_fmt


def test_text_forms() -> None:
    assert [fmt.text_pct(x) for x in (0.00539, 0.12, 0.0)] == ["0.539%", "12%", "0%"]
    assert [fmt.text_duration(x) for x in (0.0187, 0.85, 2.5, 61.0)] == [
        "18.7ms", "850.0ms", "2.50s", "61.00s",
    ]  # fmt: skip
    assert (fmt.text_ms(18.74), fmt.text_ms(1.6449, 2), fmt.text_s(17.33, 1)) == (
        "18.7ms", "1.64ms", "17.3s",
    )  # fmt: skip
    assert {fmt.text_pct(None), fmt.text_ms(None), fmt.text_s(None), fmt.text_duration(None)} == {
        "-"
    }


def test_sweep_metrics_read_in_text_forms() -> None:
    assert [sweep_fmt("failed", 23.0), sweep_fmt("error_rate", 0.00539)] == ["23", "0.539%"]
    assert [sweep_fmt("p99_ms", 18.74), sweep_fmt("update_s", 17.33)] == ["18.7ms", "17.3s"]
    assert sweep_fmt("update_s", None) == "-"
