"""Tests for coursekit.viz.efficient: the pattern gallery carries exactly the allowed cells of
every pattern and filters them by its radio parameter; the scaling chart carries the
measurements on log axes with the crossover; both render, fit a phone, and reject bad input."""

from __future__ import annotations

import re

import pytest
import torch

from coursekit.viz.efficient import GALLERY_PX, pattern_gallery, scaling_chart
from test_viz import svg  # rendered with this Altair's Vega-Lite
from test_viz_schedules import datasets, params, walk

N = 8
I = torch.arange(N)
PATTERNS = {
    "full": torch.ones(N, N, dtype=torch.bool),
    "causal": I[:, None] >= I[None, :],
    "local": (I[:, None] >= I[None, :]) & (I[:, None] - I[None, :] < 3),
}


def test_gallery_carries_exactly_the_allowed_cells_of_each_pattern():
    spec = pattern_gallery(PATTERNS).to_dict()
    cells = next(d for d in datasets(spec) if d and "k" in d[0])
    for name, mask in PATTERNS.items():
        got = {(c["q"], c["k"]) for c in cells if c["pattern"] == name}
        assert got == {(int(q), int(k)) for q, k in mask.nonzero().tolist()}
    reads = next(d for d in datasets(spec) if d and "keys" in d[0])
    assert {(r["pattern"], r["q"]): r["keys"] for r in reads}[("local", 5)] == 3


def test_gallery_has_a_radio_for_the_pattern_and_a_row_selection():
    spec = pattern_gallery(PATTERNS, query=4).to_dict()
    ps = params(spec)
    radio = next(p for n, p in ps.items() if n.startswith("pattern_"))
    assert radio["bind"]["input"] == "radio" and radio["bind"]["options"] == list(PATTERNS) and radio["value"] == "full"
    row = next(p for n, p in ps.items() if n.startswith("query_"))
    assert row["select"]["fields"] == ["q"] and row["value"] == [{"q": 4}]
    filters = [d["filter"] for d in walk(spec) if isinstance(d.get("filter"), str)]
    assert f"datum.pattern == {radio['name']}" in filters


def test_gallery_renders_and_fits_a_phone():
    image = svg(pattern_gallery(PATTERNS))
    width = float(re.search(r'width="([\d.]+)"', image).group(1))
    assert image.startswith("<svg") and width <= 390 and GALLERY_PX <= 330
    assert "reads 8 of 8 keys" in image  # the default row is the last query of the first pattern (full)


@pytest.mark.parametrize(
    "patterns, kw, match",
    [
        ({}, {}, "non-empty dict"),
        ([torch.ones(3, 3)], {}, "non-empty dict"),
        ({"a": torch.ones(3, 4)}, {}, "square"),
        ({"a": torch.ones(3, 3), "b": torch.ones(4, 4)}, {}, "same size"),
        ({"a": torch.full((3, 3), 0.5)}, {}, "boolean"),
        (PATTERNS, {"query": N}, r"query must be an int in \[0, 8\)"),
    ],
)
def test_gallery_rejects_bad_input(patterns, kw, match):
    with pytest.raises(ValueError, match=match):
        pattern_gallery(patterns, **kw)


ROWS = [
    {"method": m, "n": n, "seconds": 1e-6 * n**p, "peak_bytes": 64 * n**p}
    for m, p in (("full", 2), ("linear", 1))
    for n in (64, 128, 256)
]


def test_scaling_chart_carries_the_measurements_on_log_axes():
    spec = scaling_chart(ROWS, crossover=150).to_dict()
    values = next(d for d in datasets(spec) if d and "ms" in d[0])
    full256 = next(v for v in values if v["method"] == "full" and v["n"] == 256)
    assert full256["ms"] == pytest.approx(1e-3 * 256**2) and full256["MiB"] == pytest.approx(64 * 256**2 / 2**20)
    scales = [d["scale"]["type"] for d in walk(spec) if isinstance(d.get("scale"), dict) and "type" in d["scale"]]
    assert scales.count("log") >= 4  # x and y of both panels
    assert any(v.get("n") == 150 for d in datasets(spec) for v in d if isinstance(v, dict) and "label" in v)


def test_scaling_chart_renders_with_its_legend_and_fits_a_phone():
    image = svg(scaling_chart(ROWS, crossover=150))
    width = float(re.search(r'width="([\d.]+)"', image).group(1))
    assert width <= 390 and "crossover ≈ 150" in image and "linear" in image


@pytest.mark.parametrize(
    "rows, kw, match",
    [
        ([], {}, "non-empty list"),
        ([{"method": "a", "n": 4, "seconds": 1.0}], {}, "peak_bytes"),
        ([{"method": "a", "n": 4, "seconds": 0.0, "peak_bytes": 1}], {}, "> 0 for log axes"),
        (ROWS, {"crossover": -3}, "crossover must be a positive"),
    ],
)
def test_scaling_chart_rejects_bad_input(rows, kw, match):
    with pytest.raises(ValueError, match=match):
        scaling_chart(rows, **kw)
