"""Tests for coursekit.viz.compression: the trade-off chart carries every row, a legend-bound method
selection, and each panel's Pareto front; it renders, fits a phone, and rejects bad input."""

from __future__ import annotations

import re

import pytest

from coursekit.compression import pareto_front
from coursekit.viz.compression import compression_chart
from test_viz import datasets, params, svg, units

ROWS = [
    {"method": "original", "setting": "fine-tuned", "params": 1000, "bytes": 4000, "accuracy": 0.80, "latency_ms": 9.0},
    {"method": "fake quantisation", "setting": "int8", "params": 1000, "bytes": 1100, "accuracy": 0.79, "latency_ms": 9.2},
    {"method": "fake quantisation", "setting": "int4", "params": 1000, "bytes": 600, "accuracy": 0.70, "latency_ms": 9.1},
    {"method": "distillation", "setting": "1 of 2 layers", "params": 700, "bytes": 2800, "accuracy": 0.78,
     "latency_ms": 5.0},
    {"method": "magnitude pruning", "setting": "global 90%", "params": 300, "bytes": 1300, "accuracy": 0.5,
     "latency_ms": 9.3},
]


def test_chart_carries_every_row_and_the_fronts():
    spec = compression_chart(ROWS).to_dict()
    data = datasets(spec)
    points = next(d for d in data if len(d) == len(ROWS))
    assert {(p["method"], p["setting"]) for p in points} == {(r["method"], r["setting"]) for r in ROWS}
    assert next(p for p in points if p["setting"] == "int4")["kB"] == pytest.approx(0.6)
    fronts = [d for d in data if d and "front" in d[0]]
    by_size = next(f for f in fronts if f[0]["front"] == "size (kB)")
    by_time = next(f for f in fronts if f[0]["front"] == "CPU latency (ms)")
    assert [f["setting"] for f in by_size] == ["int4", "int8", "fine-tuned"]
    assert [f["setting"] for f in by_time] == ["1 of 2 layers", "fine-tuned"]
    assert [f["setting"] for f in by_size] == [r["setting"] for r in pareto_front(ROWS)]
    lines = [u for u in units(spec) if (u["mark"]["type"] if isinstance(u["mark"], dict) else u["mark"]) == "line"]
    assert len(lines) == 2 and all(u["mark"]["interpolate"] == "step-after" for u in lines)


def test_chart_has_a_legend_bound_method_selection():
    spec = compression_chart(ROWS).to_dict()
    sel = [p for p in params(spec) if p["name"].startswith("method_")]
    assert len(sel) == 1 and sel[0]["bind"] == "legend" and sel[0]["select"]["fields"] == ["method"]
    assert "Most accurate: original fine-tuned at 80.0%" in spec["description"]


def test_chart_renders_and_fits_a_phone():
    image = svg(compression_chart(ROWS, axes=("bytes",)))
    width = float(re.search(r'width="([\d.]+)"', image).group(1))
    assert image.startswith("<svg") and width <= 390
    assert "held-out accuracy" in image and "size (kB)" in image


@pytest.mark.parametrize(
    "rows, kw, match",
    [
        ([], {}, "non-empty list"),
        ([{"method": "a"}], {}, "missing"),
        ([{**ROWS[0], "accuracy": 80}], {}, r"share in \[0, 1\]"),
        ([{**ROWS[0], "bytes": 0}], {}, "bytes > 0"),
        (ROWS, {"axes": ("params",)}, "axes"),
        (ROWS, {"axes": "bytes"}, "axes"),
    ],
)
def test_chart_rejects_bad_input(rows, kw, match):
    with pytest.raises(ValueError, match=match):
        compression_chart(rows, **kw)


def test_chart_marks_computed_points_hollow_and_shows_training():
    rows = [dict(r, trained_steps=120 if r["method"] == "distillation" else 0,
                 measured=r["method"] not in ("fake quantisation", "magnitude pruning")) for r in ROWS]
    spec = compression_chart(rows).to_dict()
    points = next(d for d in datasets(spec) if len(d) == len(ROWS))
    assert {p["setting"]: p["sizes"] for p in points}["int4"] == "computed, not measured"
    assert {p["setting"]: p["trained_steps"] for p in points}["1 of 2 layers"] == 120
    marks = [u for u in units(spec) if "fillOpacity" in u.get("encoding", {})]
    assert len(marks) == 2 and marks[0]["encoding"]["fillOpacity"]["value"] == 0
    assert "Hollow" in " ".join(spec["vconcat"][0]["title"]["subtitle"])
    assert not [u for u in units(compression_chart(ROWS).to_dict()) if "fillOpacity" in u.get("encoding", {})]
    with pytest.raises(ValueError, match="measured"):
        compression_chart([{**ROWS[0], "measured": "yes"}])
