"""Tests for coursekit.viz.schedules: the Vega-Lite specs carry the data, the slider
parameters and the formula, render to SVG, and reject bad input with ValueError."""

from __future__ import annotations

import math

import pytest
import torch

from coursekit.transformer import sinusoidal_encoding, warmup_lr
from coursekit.viz.schedules import positional_encoding_explorer, warmup_explorer
from test_viz import svg  # rendered with this Altair's Vega-Lite


def walk(node):
    """Every dict inside a spec."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def datasets(spec: dict) -> list[list[dict]]:
    found = list(spec.get("datasets", {}).values())
    found += [d["data"]["values"] for d in walk(spec) if isinstance(d.get("data"), dict) and "values" in d["data"]]
    return found


def params(spec: dict) -> dict[str, dict]:
    return {p["name"]: p for d in walk(spec) for p in d.get("params", []) if isinstance(p, dict) and "name" in p}




# ----------------------------------------------------------------------------- positional encodings
def test_pe_explorer_carries_every_value_and_the_dot_products():
    pe = sinusoidal_encoding(6, 4)
    spec = positional_encoding_explorer(pe, dim=1, position=2).to_dict()
    cells = next(d for d in datasets(spec) if d and "dim" in d[0])
    assert len(cells) == 24
    got = {(c["pos"], c["dim"]): c["value"] for c in cells}
    assert got[(3, 1)] == pytest.approx(math.cos(3), abs=1e-4)
    dots = next(d for d in datasets(spec) if d and "dot" in d[0])
    assert len(dots) == 36
    want = pe @ pe.T
    assert all(r["dot"] == pytest.approx(want[r["p"], r["q"]].item(), abs=1e-4) for r in dots)


def test_pe_explorer_has_two_sliders_that_the_panels_read():
    spec = positional_encoding_explorer(sinusoidal_encoding(8, 6), dim=3, position=5).to_dict()
    ps = params(spec)
    dim = next(p for n, p in ps.items() if n.startswith("dim_"))
    pos = next(p for n, p in ps.items() if n.startswith("pos_"))
    assert dim["value"] == 3 and dim["bind"]["input"] == "range" and dim["bind"]["max"] == 5
    assert pos["value"] == 5 and pos["bind"]["max"] == 7
    filters = [d["filter"] for d in walk(spec) if isinstance(d.get("filter"), str)]
    assert f"datum.dim == {dim['name']}" in filters and f"datum.p == {pos['name']}" in filters


def test_pe_explorer_renders_to_svg_and_accepts_learned_tables():
    image = svg(positional_encoding_explorer(torch.nn.Embedding(10, 8).weight.detach()))
    assert image.startswith("<svg") and "Dot product of position 5" in image


@pytest.mark.parametrize(
    "pe, kw, match",
    [
        (torch.zeros(5), {}, r"shape \(T, D\)"),
        (torch.zeros(1, 4), {}, "T >= 2"),
        (sinusoidal_encoding(4, 4), {"dim": 4}, r"dim must be an int in \[0, 4\)"),
        (sinusoidal_encoding(4, 4), {"position": -1}, r"position must be an int in \[0, 4\)"),
        ([[1.0, float("nan")], [0.0, 1.0]], {}, "finite"),
    ],
)
def test_pe_explorer_rejects_bad_input(pe, kw, match):
    with pytest.raises(ValueError, match=match):
        positional_encoding_explorer(pe, **kw)


# ----------------------------------------------------------------------------- warm-up
def test_warmup_explorer_sliders_and_formula_match_eq_3():
    spec = warmup_explorer(256, 1000, max_steps=5000, points=50).to_dict()
    ps = params(spec)
    d = next(p for n, p in ps.items() if n.startswith("d_model_"))
    w = next(p for n, p in ps.items() if n.startswith("warmup_"))
    assert d["value"] == 256 and w["value"] == 1000 and d["bind"]["input"] == w["bind"]["input"] == "range"
    calc = next(t["calculate"] for t in walk(spec) if t.get("as") == "lr" and "min(" in t.get("calculate", ""))
    steps = next(x for x in datasets(spec) if x and set(x[0]) == {"step"})
    assert steps[0]["step"] == 1 and steps[-1]["step"] == 5000
    # Evaluate the Vega expression in Python for a few steps: it is Eq. 3.
    expr = calc.replace(d["name"], "256").replace(w["name"], "1000").replace("datum.step", "{s}")
    expr = expr.replace("pow", "math.pow")
    for s in (1, 10, 999, 1000, 1001, 4000):
        assert eval(expr.format(s=s), {"math": math, "min": min}) == pytest.approx(warmup_lr(s, 256, 1000))


def test_warmup_explorer_draws_measured_rates_and_renders():
    rows = [{"step": s, "lr": warmup_lr(s, 512, 4000)} for s in (1, 2000, 4000, 8000)]
    chart = warmup_explorer(measured=rows)
    spec = chart.to_dict()
    assert any(x and x[0].get("lr") == pytest.approx(rows[0]["lr"]) for x in datasets(spec))
    image = svg(chart)
    assert image.startswith("<svg") and "peak 6.99e-4 at step 4000" in image


@pytest.mark.parametrize(
    "args, kw, match",
    [
        ((0,), {}, "d_model must be a positive int"),
        ((512, 4000.5), {}, "warmup_steps must be a positive int"),
        ((8,), {}, "d_model must lie in d_model_range"),
        ((512, 50), {}, "warmup_steps must lie in warmup_range"),
        ((), {"points": 1}, "points >= 2"),
        ((), {"measured": [{"step": 1}]}, r"measured\[0\] must have the keys 'step' and 'lr'"),
        ((), {"measured": []}, "non-empty list"),
    ],
)
def test_warmup_explorer_rejects_bad_input(args, kw, match):
    with pytest.raises(ValueError, match=match):
        warmup_explorer(*args, **kw)
