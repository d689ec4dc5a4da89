"""Tests for coursekit.viz.senses: the sense map carries each layer's own 2-D projection of
the vectors, coloured by sense, filtered by its layer slider; it renders, fits a phone and
rejects bad input. The live sense box prints the rows its callable returns."""

from __future__ import annotations

import re

import pytest
import torch

from coursekit.senses import pca_2d
from coursekit.viz.senses import MAP_PX, sense_box, sense_map
from test_viz import svg  # rendered with this Altair's Vega-Lite
from test_viz_schedules import datasets, params, walk

torch.manual_seed(0)
N = 12
SENSES = ["bird"] * 4 + ["dodge"] * 4 + ["food"] * 4
TEXTS = [f"sentence {i}" for i in range(N)]
LAYERS = torch.randn(3, N, 8)
LAYERS[2, :, 0] += 5 * torch.tensor([0.0] * 4 + [1.0] * 4 + [2.0] * 4)  # the top layer separates the senses
NAMES = ["characters", "LSTM 1", "LSTM 2"]


def test_map_carries_each_layers_projection_scaled_to_one():
    spec = sense_map(LAYERS, SENSES, TEXTS, layer_names=NAMES).to_dict()
    rows = next(d for d in datasets(spec) if d and "sense" in d[0])
    assert len(rows) == 3 * N and {r["layer"] for r in rows} == {0, 1, 2}
    for j in range(3):
        xy = pca_2d(LAYERS[j])
        xy = xy / xy.abs().max()
        got = torch.tensor([[r["x"], r["y"]] for r in rows if r["layer"] == j])
        torch.testing.assert_close(got, xy, atol=1e-4, rtol=0)
    assert [r["sense"] for r in rows if r["layer"] == 0] == SENSES
    assert [r["text"] for r in rows if r["layer"] == 2] == TEXTS
    # layers of different widths (two models on one slider) as a list
    mixed = sense_map([LAYERS[0], LAYERS[1, :, :3]], SENSES, TEXTS).to_dict()
    rows = next(d for d in datasets(mixed) if d and "sense" in d[0])
    xy = pca_2d(LAYERS[1, :, :3])
    torch.testing.assert_close(torch.tensor([[r["x"], r["y"]] for r in rows if r["layer"] == 1]), xy / xy.abs().max(),
                               atol=1e-4, rtol=0)


def test_map_has_a_layer_slider_that_filters_the_points():
    spec = sense_map(LAYERS, SENSES, TEXTS, layer_names=NAMES, layer=2).to_dict()
    slider = next(p for n, p in params(spec).items() if n.startswith("layer_"))
    assert slider["bind"]["input"] == "range" and (slider["bind"]["min"], slider["bind"]["max"]) == (0, 2)
    assert slider["value"] == 2
    filters = [d["filter"] for d in walk(spec) if isinstance(d.get("filter"), str)]
    assert f"datum.layer == {slider['name']}" in filters


def test_map_renders_fits_a_phone_and_names_the_layer():
    image = svg(sense_map(LAYERS, SENSES, TEXTS, layer_names=NAMES, layer=1))
    width = float(re.search(r'width="([\d.]+)"', image).group(1))
    assert image.startswith("<svg") and width <= 390 and MAP_PX <= 300
    assert "LSTM 1" in image and "characters" not in image  # the label shows the chosen layer only


@pytest.mark.parametrize(
    "layers, senses, texts, kw, match",
    [
        (LAYERS[0], SENSES, TEXTS, {}, r"layers must be an \(L\+1, N, D\) tensor"),
        ([LAYERS[0], LAYERS[1, :5]], SENSES, TEXTS, {}, r"or a list of \(N, D_j\) tensors"),
        (LAYERS, SENSES[:-1], TEXTS, {}, "one entry per sentence"),
        (LAYERS, SENSES, TEXTS, {"layer_names": ["a"]}, "name each of the 3 layers"),
        (LAYERS, SENSES, TEXTS, {"layer": 3}, r"layer must be an int in \[0, 3\)"),
        (LAYERS, "bird", TEXTS, {}, "senses must be a list"),
    ],
)
def test_map_rejects_bad_input(layers, senses, texts, kw, match):
    with pytest.raises(ValueError, match=match):
        sense_map(layers, senses, texts, **kw)


def test_sense_box_prints_the_rows_and_reports_bad_sentences():
    def nearest(sentence):
        if "duck" not in sentence:
            raise ValueError("sentence must contain 'duck'")
        return [("layer 0", "bird", 0.5), ("layer 1", "food", 0.75)]

    box = sense_box(nearest, "we ate roast duck")
    text = "".join(o.get("text", "") for o in box.children[-1].outputs)
    assert "food" in text and "0.75" in text
    box.children[0].value = "no such word"
    box.run()
    assert "must contain" in "".join(o.get("text", "") for o in box.children[-1].outputs)
    with pytest.raises(ValueError, match="nearest must be a callable"):
        sense_box("not callable")
