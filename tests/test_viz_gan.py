"""Tests for coursekit.viz.gan: the ring slider, the digits grid, the D* chart and the ablation
chart carry their data and their interactions, render, fit a phone and reject bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from coursekit.viz.gan import ablation_chart, digits_grid, dstar_chart, ring_slider, ring_trainer
from test_viz import svg  # rendered with this Altair's Vega-Lite
from test_viz_schedules import datasets, params, walk

ANGLES = torch.arange(8) * (2 * torch.pi / 8)
MODES = torch.stack([2 * ANGLES.cos(), 2 * ANGLES.sin()], 1)  # (8, 2)
GEN = torch.Generator().manual_seed(0)
SNAPS = [
    {"step": 0, "samples": 0.1 * torch.randn(50, 2, generator=GEN), "modes_covered": 0, "hq_share": 0.0},
    {"step": 100, "samples": MODES[:1] + 0.02 * torch.randn(40, 2, generator=GEN), "modes_covered": 1, "hq_share": 0.9},
    {"step": 200, "samples": MODES.repeat(5, 1) + 0.02 * torch.randn(40, 2, generator=GEN), "modes_covered": 8,
     "hq_share": 0.75},
]


def width_of(image: str) -> float:
    return float(re.search(r'width="([\d.]+)"', image).group(1))


# ----------------------------------------------------------------------------- ring slider
def test_ring_slider_carries_each_snapshot_and_the_modes():
    spec = ring_slider(SNAPS, MODES, max_points=30).to_dict()
    rows = next(d for d in datasets(spec) if d and "snap" in d[0])
    assert [r["snap"] for r in rows] == [0, 1, 2]
    assert [len(r["x"]) for r in rows] == [30, 30, 30]  # at most max_points, evenly picked
    assert rows[2]["x"][0] == pytest.approx(float(SNAPS[2]["samples"][0, 0]), abs=1e-3)
    assert rows[1]["y"][-1] == pytest.approx(float(SNAPS[1]["samples"][-1, 1]), abs=1e-3)
    modes = next(d for d in datasets(spec) if d and "mx" in d[0])
    np.testing.assert_allclose([[m["mx"], m["my"]] for m in modes], MODES.numpy(), atol=1e-4)
    assert "2 of 8 modes" not in spec["description"] and "step 200 · 8 of 8 modes · 75% high quality" in spec["description"]


def test_ring_slider_filters_the_points_by_its_slider():
    spec = ring_slider(SNAPS, MODES, snapshot=1).to_dict()
    slider = next(p for n, p in params(spec).items() if n.startswith("snapshot_"))
    assert slider["bind"]["input"] == "range" and (slider["bind"]["min"], slider["bind"]["max"]) == (0, 2)
    assert slider["value"] == 1
    assert f"datum.snap == {slider['name']}" in [d["filter"] for d in walk(spec) if isinstance(d.get("filter"), str)]
    assert any(d.get("flatten") == ["x", "y"] for d in walk(spec))


def test_ring_slider_renders_fits_a_phone_and_names_the_snapshot():
    image = svg(ring_slider(SNAPS, MODES, snapshot=1))
    assert image.startswith("<svg") and width_of(image) <= 390
    assert "step 100 · 1 of 8 modes · 90% high quality" in image and "step 200" not in image


@pytest.mark.parametrize(
    "snaps, modes, kw, match",
    [
        ([], MODES, {}, "non-empty list"),
        ([{"step": 0}], MODES, {}, "missing"),
        ([{"step": 5, "samples": torch.zeros(3, 2)}, {"step": 5, "samples": torch.zeros(3, 2)}], MODES, {}, "larger"),
        ([{"step": 0, "samples": torch.zeros(3, 3)}], MODES, {}, r"\(N, 2\)"),
        (SNAPS, MODES[:, :1], {}, r"\(K, 2\)"),
        (SNAPS, MODES, {"snapshot": 3}, r"snapshot must be an int in \[0, 3\)"),
        (SNAPS, MODES, {"max_points": 0}, "max_points"),
        ([dict(SNAPS[0], modes_covered=9)], MODES, {}, r"in \[0, 8\]"),
        ([dict(SNAPS[0], hq_share=1.5)], MODES, {}, "share"),
    ],
)
def test_ring_slider_rejects_bad_input(snaps, modes, kw, match):
    with pytest.raises(ValueError, match=match):
        ring_slider(snaps, modes, **kw)


# ----------------------------------------------------------------------------- digits grid
IMAGES = torch.linspace(-1, 1, 6 * 64).reshape(6, 1, 8, 8)
DIGITS = [{"step": 0, "images": IMAGES.flip(0), "classes": [3, 3, 3, 3, 3, 3], "classes_covered": 1},
          {"step": 50, "images": IMAGES, "classes": torch.tensor([0, 1, 2, 3, 4, 5]), "classes_covered": 6}]


def test_digits_grid_carries_each_image_pixel_by_pixel():
    spec = digits_grid(DIGITS, columns=3, max_images=4).to_dict()
    rows = next(d for d in datasets(spec) if d and "v" in d[0])
    assert len(rows) == 2 * 4 and {(r["snap"], r["i"]) for r in rows} == {(s, i) for s in (0, 1) for i in range(4)}
    got = next(r for r in rows if r["snap"] == 1 and r["i"] == 2)
    np.testing.assert_allclose(got["v"], IMAGES[2].reshape(64).numpy(), atol=5e-3)
    assert got["c"] == "2" and next(r for r in rows if r["snap"] == 0)["c"] == "3"
    calcs = " ".join(d["calculate"] for d in walk(spec) if "calculate" in d)
    assert "(datum.i % 3) * 9 + datum.p % 8" in calcs  # 3 columns, a one-pixel gap
    assert "step 50 · 6 of 10 classes" in spec["description"]


def test_digits_grid_slider_renders_and_fits_a_phone():
    spec = digits_grid(DIGITS, snapshot=0).to_dict()
    slider = next(p for n, p in params(spec).items() if n.startswith("snapshot_"))
    assert slider["value"] == 0 and slider["bind"]["max"] == 1
    image = svg(digits_grid(DIGITS, snapshot=0))
    assert image.startswith("<svg") and width_of(image) <= 390
    assert "step 0 · 1 of 10 classes" in image and "step 50" not in image
    # (N, 8, 8) and (N, 64) inputs give the same pixels
    flat = datasets(digits_grid([{"step": 0, "images": IMAGES.reshape(6, 64)}]).to_dict())
    square = datasets(digits_grid([{"step": 0, "images": IMAGES[:, 0]}]).to_dict())
    assert next(d for d in flat if d and "v" in d[0]) == next(d for d in square if d and "v" in d[0])


@pytest.mark.parametrize(
    "snaps, kw, match",
    [
        ([{"step": 0, "images": torch.zeros(2, 7, 7)}], {}, r"\(N, 1, 8, 8\)"),
        ([{"step": 0, "images": 2 * torch.ones(2, 8, 8)}], {}, r"\[-1, 1\]"),
        ([{"step": 0, "images": IMAGES, "classes": [1, 2]}], {}, "one class per image"),
        ([{"step": 0, "images": IMAGES, "classes_covered": 11}], {}, r"\[0, 10\]"),
        (DIGITS, {"columns": 0}, "columns"),
        (DIGITS, {"snapshot": -1}, "snapshot"),
    ],
)
def test_digits_grid_rejects_bad_input(snaps, kw, match):
    with pytest.raises(ValueError, match=match):
        digits_grid(snaps, **kw)


# ----------------------------------------------------------------------------- D* chart
X = torch.linspace(-4, 4, 41)
P_DATA = torch.exp(-0.5 * (X - 1) ** 2) / (2 * torch.pi) ** 0.5
P_G = torch.exp(-0.5 * (X + 1) ** 2) / (2 * torch.pi) ** 0.5
D_STAR = P_DATA / (P_DATA + P_G)
TRAINED = (D_STAR + 0.03 * torch.sin(X)).clamp(0, 1)


def test_dstar_chart_carries_both_curves_and_densities_and_states_the_gap():
    mask = (P_DATA + P_G) > 0.05
    spec = dstar_chart(X, TRAINED, D_STAR, P_DATA, P_G, mask=mask).to_dict()
    d_rows = next(d for d in datasets(spec) if d and "counted" in d[0])
    trained = [r["value"] for r in d_rows if r["curve"] == "trained D"]
    np.testing.assert_allclose(trained, TRAINED.numpy(), atol=1e-4)
    np.testing.assert_allclose([r["value"] for r in d_rows if r["curve"] == "closed-form D*"], D_STAR.numpy(), atol=1e-4)
    p_rows = next(d for d in datasets(spec) if d and d[0]["curve"] == "p_data")
    np.testing.assert_allclose([r["value"] for r in p_rows if r["curve"] == "p_g"], P_G.numpy(), atol=1e-5)
    gap = float((TRAINED - D_STAR).abs()[mask].max())
    assert f"largest gap between them where the densities are not negligible (grey: left out) is {gap:.3f}" in spec[
        "description"]
    spans = next(d for d in datasets(spec) if d and "lo" in d[0])
    assert spans[0]["lo"] == pytest.approx(-4.0) and len(spans) == 2  # both tails greyed
    legend = [p for n, p in params(spec).items() if n.startswith("curve_")]
    assert len(legend) == 1 and legend[0]["bind"] == "legend"


def test_dstar_chart_renders_and_fits_a_phone():
    image = svg(dstar_chart(X, TRAINED, D_STAR, P_DATA, P_G))
    assert image.startswith("<svg") and width_of(image) <= 390
    assert "closed-form D*" in image and "density" in image


@pytest.mark.parametrize(
    "args, kw, match",
    [
        ((X.flip(0), TRAINED, D_STAR, P_DATA, P_G), {}, "increasing"),
        ((X, TRAINED[:-1], D_STAR, P_DATA, P_G), {}, r"trained must have one value per grid point, shape \(41,\)"),
        ((X, TRAINED + 1, D_STAR, P_DATA, P_G), {}, r"probabilities in \[0, 1\]"),
        ((X, TRAINED, D_STAR, -P_DATA, P_G), {}, "density"),
        ((X, TRAINED, D_STAR, P_DATA, P_G), {"mask": torch.zeros(41, dtype=torch.bool)}, "at least one"),
        ((X, TRAINED, D_STAR, P_DATA, P_G), {"mask": np.ones(40, dtype=bool)}, "bool array of shape"),
    ],
)
def test_dstar_chart_rejects_bad_input(args, kw, match):
    with pytest.raises(ValueError, match=match):
        dstar_chart(*args, **kw)


# ----------------------------------------------------------------------------- ablation chart
ROWS = [{"trick": t, "seed": s, "modes_covered": m, "hq_share": q, "d_std": 0.1 * (s + 1)}
        for t, ms in (("none", (1, 2, 1)), ("minibatch_std", (8, 7, 6))) for s, (m, q) in
        enumerate(zip(ms, (0.9, 0.5, 0.7)))]


def test_ablation_chart_carries_every_seed_the_means_and_the_references():
    ref = [{"label": "GAN, VEEGAN Table 1", "metric": "modes_covered", "value": 1.0}]
    spec = ablation_chart(ROWS, metrics=("modes_covered", "hq_share", "d_std"), max_modes=8, reference=ref).to_dict()
    dots = next(d for d in datasets(spec) if d and "seed" in d[0])
    assert len(dots) == 6 and {(r["arm"], r["seed"]) for r in dots} == {(t, str(s)) for t in ("none", "minibatch_std")
                                                                       for s in range(3)}
    means = next(d for d in datasets(spec) if d and "seed" not in d[0] and "arm" in d[0])
    assert {m["arm"]: m["modes_covered"] for m in means} == {"none": pytest.approx(4 / 3, abs=1e-4),
                                                              "minibatch_std": 7.0}
    assert next(d for d in datasets(spec) if d and "label" in d[0]) == [{"label": "GAN, VEEGAN Table 1",
                                                                          "modes_covered": 1.0}]
    assert "none: mean modes covered 1.33, mean high-quality share 70%" in spec["description"]
    seed = [p for n, p in params(spec).items() if n.startswith("seed_")]
    assert len(seed) == 1 and seed[0]["select"]["fields"] == ["seed"]
    assert len(spec["vconcat"]) == 3


def test_ablation_chart_renders_and_fits_a_phone():
    image = svg(ablation_chart(ROWS, group="trick"))
    assert image.startswith("<svg") and width_of(image) <= 390
    assert "minibatch_std" in image and "high-quality share" in image


@pytest.mark.parametrize(
    "rows, kw, match",
    [
        ([], {}, "non-empty list"),
        ([{"trick": "none", "seed": 0}], {}, "missing"),
        ([dict(ROWS[0], hq_share=1.2)], {}, r"share in \[0, 1\]"),
        (ROWS, {"metrics": "hq_share"}, "metrics"),
        (ROWS, {"group": ""}, "group"),
        (ROWS, {"max_modes": 0}, "max_modes"),
        (ROWS, {"reference": [{"label": "x", "metric": "d_std", "value": 1}]}, "charted metrics"),
        (ROWS, {"reference": [{"label": "x", "value": 1}]}, "missing"),
    ],
)
def test_ablation_chart_rejects_bad_input(rows, kw, match):
    with pytest.raises(ValueError, match=match):
        ablation_chart(rows, **kw)


# ----------------------------------------------------------------------------- live trainer
def test_ring_trainer_trains_the_chosen_trick_and_shows_its_samples():
    calls = []

    def train(trick, seed, steps):
        calls.append((trick, seed, steps))
        if steps > 2000:
            raise ValueError("steps must be at most 2000 here")
        return SNAPS, MODES

    box = ring_trainer(train, ("none", "label_flip"), seed=3, steps=400)
    assert calls == []  # nothing trains until asked
    box.children[0].children[0].value = "label_flip"
    box.run()
    assert calls == [("label_flip", 3, 400)]
    outputs = box.children[-1].outputs
    text = "".join(o.get("text", "") for o in outputs)
    assert "label_flip, seed 3: step 200 · 8 of 8 modes · 75% high quality" in text
    shown = [o for o in outputs if o["output_type"] == "display_data"]  # the chart, as the renderer gives it
    assert len(shown) == 1 and "label_flip, seed 3" in str(shown[0]["data"])
    box.children[2].value = 3000
    box.run()
    assert "at most 2000" in "".join(o.get("text", "") for o in box.children[-1].outputs)
    with pytest.raises(ValueError, match="train must be a callable"):
        ring_trainer("not callable")
    with pytest.raises(ValueError, match="max_steps must be an int >= 400"):
        ring_trainer(train, steps=400, max_steps=300)
