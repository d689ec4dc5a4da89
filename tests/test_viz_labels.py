"""Tests for coursekit.viz.labels: the reliability explorer carries every bin, a model dropdown
(and a setting dropdown) that filter them, and each model's ECE computed from its bins; the
flip-rate chart carries the mean and range over seeds per attack and defence, with radio
buttons that filter them; the penultimate scatter has one panel per epsilon and a split switch.
Each renders, fits a phone and rejects bad input."""

from __future__ import annotations

import re

import pytest
import torch

from coursekit.viz.labels import flip_rate_chart, penultimate_scatter, reliability_explorer
from test_viz import svg  # rendered with this Altair's Vega-Lite
from test_viz_schedules import datasets, params, walk


def _bins(method, setting, acc_shift, counts):
    return [{"method": method, "setting": setting, "bin": m + 1, "lo": m / 5, "hi": (m + 1) / 5, "count": n,
             "confidence": m / 5 + 0.1, "accuracy": max(0.0, min(1.0, m / 5 + 0.1 + acc_shift))}
            for m, n in enumerate(counts) if n]


REL = (_bins("LS eps=0", "overconfident", -0.1, [0, 2, 3, 5, 30])
       + _bins("LS eps=0.1", "overconfident", 0.02, [1, 2, 6, 10, 21])
       + _bins("LS eps=0", "calibrated", 0.0, [0, 4, 4, 4, 8]))


def _width(image: str) -> float:
    return float(re.search(r'width="([\d.]+)"', image).group(1))


def test_reliability_carries_the_bins_and_each_models_ece():
    spec = reliability_explorer(REL).to_dict()
    bins = next(d for d in datasets(spec) if d and "lo" in d[0] and "count" in d[0])
    assert len(bins) == len(REL)
    assert {(b["model"], b["setting"]) for b in bins} == {("LS eps=0", "overconfident"), ("LS eps=0.1", "overconfident"),
                                                          ("LS eps=0", "calibrated")}
    notes = {(n["setting"], n["model"]): n["text"] for n in next(d for d in datasets(spec) if d and "text" in d[0])}
    # overconfident, no smoothing: every non-empty bin is 0.1 below its confidence, so ECE = 0.1
    assert notes["overconfident", "LS eps=0"] == "ECE 0.100 (n = 40)"
    assert notes["calibrated", "LS eps=0"].startswith("ECE 0.000")
    want = sum(n / 40 * abs(min(1.0, m / 5 + 0.12) - (m / 5 + 0.1)) for m, n in enumerate([1, 2, 6, 10, 21]))
    assert notes["overconfident", "LS eps=0.1"] == f"ECE {want:.3f} (n = 40)"
    assert "Lowest ECE: LS eps=0 (calibrated)" in spec["description"]


def test_reliability_dropdowns_filter_the_bins():
    spec = reliability_explorer(REL, value="LS eps=0.1").to_dict()
    ps = params(spec)
    model = next(p for n, p in ps.items() if n.startswith("model_"))
    setting = next(p for n, p in ps.items() if n.startswith("setting_"))
    assert model["bind"]["input"] == "select" and model["bind"]["options"] == ["LS eps=0", "LS eps=0.1"]
    assert model["value"] == "LS eps=0.1" and setting["bind"]["options"] == ["overconfident", "calibrated"]
    filters = [d["filter"] for d in walk(spec) if isinstance(d.get("filter"), str)]
    assert f"datum.model == {model['name']} && datum.setting == {setting['name']}" in filters
    # one setting: no second dropdown
    single = reliability_explorer([r for r in REL if r["setting"] == "calibrated"]).to_dict()
    assert not [n for n in params(single) if n.startswith("setting_")]


def test_reliability_renders_and_fits_a_phone():
    image = svg(reliability_explorer(REL))
    assert image.startswith("<svg") and _width(image) <= 390
    assert "ECE 0.100 (n = 40)" in image and "confidence (bins)" in image


@pytest.mark.parametrize("rows, kw, match", [
    ([], {}, "non-empty list"),
    ([{"lo": 0, "hi": 0.5, "count": 3, "confidence": 0.3}], {}, "missing"),
    ([{**REL[0], "lo": 0.5, "hi": 0.5}], {}, "lo < hi"),
    ([{**REL[0], "count": 0}], {}, "positive whole number"),
    ([{**REL[0], "accuracy": 80}], {}, r"share in \[0, 1\]"),
    (REL, {"value": "TS"}, "value must be one of"),
    (REL, {"by": "eps"}, "missing"),
])
def test_reliability_rejects_bad_input(rows, kw, match):
    with pytest.raises(ValueError, match=match):
        reliability_explorer(rows, **kw)


# ----------------------------------------------------------------------------- flip rate
FLIPS = [{"attack": a, "defence": d, "rate": r, "seed": s,
          "accuracy": 0.95 - r * (1.2 if a == "alfa" else 0.4) * (0.5 if d == "knn" else 1.0) - 0.01 * s}
         for a in ("random", "alfa") for d in ("none", "knn") for r in (0.0, 0.1, 0.2) for s in (0, 1, 2)]


def test_flip_chart_carries_means_and_ranges_over_seeds():
    spec = flip_rate_chart(FLIPS).to_dict()
    lines = next(d for d in datasets(spec) if d and "mean" in d[0])
    assert len(lines) == 4 * 3
    alfa = next(v for v in lines if v["series"] == "ALFA" and v["rate"] == 0.2)
    assert alfa["mean"] == pytest.approx(0.95 - 0.24 - 0.01) and alfa["low"] == pytest.approx(0.95 - 0.24 - 0.02)
    assert alfa["high"] == pytest.approx(0.95 - 0.24) and alfa["seeds"] == 3
    assert {v["series"] for v in lines} == {"random flips", "random flips + kNN sanitisation", "ALFA",
                                            "ALFA + kNN sanitisation"}
    assert "At 20%: random flips 86.0%" in spec["description"]


def test_flip_chart_radio_buttons_filter_attack_and_defence():
    spec = flip_rate_chart(FLIPS).to_dict()
    ps = params(spec)
    attack = next(p for n, p in ps.items() if n.startswith("attack_"))
    defence = next(p for n, p in ps.items() if n.startswith("defence_"))
    assert attack["bind"]["input"] == "radio" and attack["bind"]["options"] == ["all", "random flips", "ALFA"]
    assert defence["bind"]["options"] == ["all", "no defence", "kNN sanitisation"] and defence["value"] == "all"
    filters = [d["filter"] for d in walk(spec) if isinstance(d.get("filter"), str)]
    assert any(f"datum.attack == {attack['name']}" in f and f"datum.defence == {defence['name']}" in f for f in filters)


def test_flip_chart_shows_published_points_and_errors():
    published = [{"attack": "alfa", "defence": "none", "rate": 0.1, "error": 0.3, "source": "a paper, Fig. 1"}]
    rows = [dict(r, error=1 - r["accuracy"]) for r in FLIPS]
    spec = flip_rate_chart(rows, metric="error", published=published).to_dict()
    paper = next(d for d in datasets(spec) if d and "source" in d[0])
    assert paper == [{"attack": "ALFA", "defence": "no defence", "series": "ALFA", "rate": 0.1, "mean": 0.3,
                      "source": "a paper, Fig. 1"}]
    image = svg(flip_rate_chart(rows, metric="error", published=published))
    assert _width(image) <= 390 and "test error" in image and "ALFA + kNN sanitisation" in image


@pytest.mark.parametrize("rows, kw, match", [
    ("rows", {}, "non-empty list"),
    ([{"attack": "random", "defence": "none", "rate": 0.1}], {}, "missing"),
    ([{**FLIPS[0], "rate": 10}], {}, r"share in \[0, 1\]"),
    (FLIPS, {"metric": "loss"}, "metric must be"),
    (FLIPS, {"published": [{"attack": "alfa"}]}, "published"),
])
def test_flip_chart_rejects_bad_input(rows, kw, match):
    with pytest.raises(ValueError, match=match):
        flip_rate_chart(rows, **kw)


# ----------------------------------------------------------------------------- penultimate
g = torch.Generator().manual_seed(0)
POINTS = [{"eps": e, "split": s, "label": c, "x": float(torch.randn(1, generator=g)) + 3 * c,
           "y": float(torch.randn(1, generator=g)) - c}
          for e in (0.0, 0.1) for s in ("train", "test") for c in (0, 1, 2) for _ in range(5)]
METRICS = [{"eps": e, "split": s, "spread_ratio": 0.5 - e, "asymmetry": 0.3 - e, "centre_ratio": 0.8 + e, "accuracy": 0.9}
           for e in (0.0, 0.1) for s in ("train", "test")]


def test_penultimate_has_a_panel_per_eps_and_a_split_switch():
    spec = penultimate_scatter(POINTS, METRICS, split="test").to_dict()
    assert len(spec["vconcat"]) == 2
    titles = [p["title"]["text"] for p in spec["vconcat"]]
    assert titles == ["without label smoothing", "label smoothing ε = 0.1"]
    subtitle = " ".join(spec["vconcat"][1]["title"]["subtitle"])
    assert "spread 0.40" in subtitle and "asym. 0.20" in subtitle and "centres 0.90" in subtitle
    panel_points = [d for d in datasets(spec) if d and "label" in d[0]]
    assert sorted(len(d) for d in panel_points) == [30, 30]
    switch = next(p for n, p in params(spec).items() if n.startswith("split_"))
    assert switch["bind"]["input"] == "radio" and switch["value"] == "test"
    filters = [d["filter"] for d in walk(spec) if isinstance(d.get("filter"), str)]
    assert filters.count(f"datum.split == {switch['name']}") == 2


def test_penultimate_renders_and_fits_a_phone():
    image = svg(penultimate_scatter(POINTS))
    assert image.startswith("<svg") and _width(image) <= 390 and "class 2" in image
    named = penultimate_scatter([dict(p, digit=7 - p["label"]) for p in POINTS]).to_dict()
    assert {v["label"] for d in datasets(named) if d and "label" in d[0] for v in d} == {"digit 7", "digit 6", "digit 5"}


@pytest.mark.parametrize("points, metrics, kw, match", [
    ([], (), {}, "non-empty list"),
    ([{"eps": 0, "split": "train", "label": 0, "x": 1.0}], (), {}, "missing"),
    (POINTS, (), {"split": "val"}, "split must be one of"),
    (POINTS, [{"eps": 0.0}], {}, "missing"),
])
def test_penultimate_rejects_bad_input(points, metrics, kw, match):
    with pytest.raises(ValueError, match=match):
        penultimate_scatter(points, metrics, **kw)
