"""Every chart as a reader meets it: it fits a phone, colour is never the only thing that
tells series apart, and a screen reader has a description to announce.

The specs are read (``chart.to_dict()``); the browser side (charts no wider than a
390 px phone, legends inside the chart, the description as the accessible name) is
checked on the built book by tests/test_book.py.
"""

from __future__ import annotations

import math
import re

import altair as alt
import pytest
import torch

from coursekit.viz import (
    attention_explorer,
    attention_heatmap,
    document_explorer,
    metric_bars,
    metric_by_length,
    positional_encoding_explorer,
    temperature_explorer,
    training_curves,
    warmup_explorer,
)
from coursekit.viz._style import PALETTE, PANEL_WIDTH, SHAPES, SUBTITLE_CHARS, TITLE_CHARS
from test_viz import SRC, TGT, W, _examples, _history_records, _length_rows, dataset_with, svg, units

DOCS = [
    {
        "sentences": [["the", "film", "was", "great"], ["i", "liked", "it"]],
        "word_weights": [[0.1, 0.2, 0.1, 0.6], [0.2, 0.7, 0.1, 0.0]],
        "sentence_weights": [0.8, 0.2],
        "key_sentence": 0,
        "label": "doc 0",
    }
]
GROUPED = [{"pooling": p, "accuracy": a, "seed": f"seed {k}"} for p in ("mean", "attention") for k, a in enumerate((0.8, 0.9))]

CHARTS = {
    "heatmap": lambda: attention_heatmap(W, SRC, TGT),
    "explorer": lambda: attention_explorer(_examples()),
    "curves": lambda: training_curves(_history_records()),
    "curves_split": lambda: training_curves(
        _history_records() + [{"step": 50, "split": "eval", "loss": 1.0, "model": "plain"}]
    ),
    "by_length": lambda: metric_by_length(_length_rows(), train_range=(3, 8)),
    "bars": lambda: metric_bars([{"c": "a", "v": 0.5}, {"c": "b", "v": 0.25}], category="c", value="v"),
    "bars_grouped": lambda: metric_bars(GROUPED, category="pooling", value="accuracy", color="seed"),
    "documents": lambda: document_explorer(DOCS),
    "temperature": lambda: temperature_explorer([2.0, 1.0, 0.5, -1.0], ["cat", "dog", "car", "sky"]),
    "positions": lambda: positional_encoding_explorer(torch.randn(16, 8)),
    "warmup": lambda: warmup_explorer(512, 4000),
}
# Charts of one view (or layers of one view): these take their container's width.
CONTAINER_WIDE = ["curves", "curves_split", "by_length", "bars", "bars_grouped", "warmup"]


def legends(spec: dict) -> list[dict]:
    """Every legend definition in the spec's encodings (None legends left out)."""
    found = []
    for unit in units(spec):
        for channel in unit.get("encoding", {}).values():
            if isinstance(channel, dict) and isinstance(channel.get("legend"), dict):
                found.append(channel["legend"])
    return found


def title_lines(title) -> list[str]:
    text = title.get("text") if isinstance(title, dict) else title
    return [text] if isinstance(text, str) else list(text)


@pytest.mark.parametrize("name", list(CHARTS))
def test_every_chart_has_a_description_for_screen_readers(name):
    spec = CHARTS[name]().to_dict()
    text = spec.get("description", "")
    assert len(text) > 30, f"{name}: description {text!r}"
    assert re.search(r"\d", text), f"{name}: the description should carry the chart's numbers: {text!r}"


def test_descriptions_say_what_the_chart_shows():
    curves = training_curves(_history_records()).to_dict()["description"]
    assert curves.startswith("Line chart of loss against step, one line per model (attention and plain)")
    last = [r for r in _history_records() if r["model"] == "plain" and "loss" in r][-1]
    assert f"plain: {last['loss']:.3g} at step {last['step']}" in curves
    by_length = metric_by_length(_length_rows(), train_range=(3, 8)).to_dict()["description"]
    assert "none: 100% at length 4, 0% at length 12" in by_length and "lengths 3 to 8 were seen in training" in by_length
    bars = metric_bars(GROUPED, category="pooling", value="accuracy", color="seed").to_dict()["description"]
    assert "mean (seed 1): 90%" in bars
    heat = attention_heatmap(W, SRC, TGT).to_dict()["description"]
    assert "“pqr”" in heat and "r→w 0.11" in heat  # row 2 of W peaks at source w (0.11)
    assert training_curves(_history_records(), description="Mine.").to_dict()["description"] == "Mine."


@pytest.mark.parametrize("name", CONTAINER_WIDE)
def test_line_and_bar_charts_take_their_containers_width(name):
    spec = CHARTS[name]().to_dict()
    assert spec["width"] == "container"
    image = svg(CHARTS[name]())  # vl-convert gives a container-wide chart its default width
    assert image.startswith("<svg")


def test_charts_of_several_panels_fit_a_phone():
    temp = temperature_explorer([1.0] * 12).to_dict()
    (bars,) = [u for u in units(temp) if u["mark"]["type"] == "bar"]
    top = temp["vconcat"][0]
    assert top["width"]["step"] * 12 <= PANEL_WIDTH
    pe = positional_encoding_explorer(torch.randn(48, 32)).to_dict()
    assert all(view["width"] == PANEL_WIDTH for view in pe["vconcat"])


@pytest.mark.parametrize("name", list(CHARTS))
def test_legends_sit_below_the_plot(name):
    for legend in legends(CHARTS[name]().to_dict()):
        assert legend.get("orient") == "bottom", f"{name}: a legend beside the plot is cut off on a phone: {legend}"


def test_series_get_okabe_ito_colours_and_their_own_shapes():
    spec = training_curves(_history_records()).to_dict()
    layers = units(spec)
    coloured = [u["encoding"]["color"] for u in layers if "color" in u.get("encoding", {})]
    assert coloured and all(c["scale"]["range"] == PALETTE[:2] for c in coloured)
    assert all(c["scale"]["domain"] == ["attention", "plain"] for c in coloured)
    shaped = [u["encoding"]["shape"] for u in layers if "shape" in u.get("encoding", {})]
    assert shaped and all(s["scale"]["range"] == SHAPES[:2] and s["field"] == "model" for s in shaped)
    # Symbols drawn along every line (not only under the pointer): a few rows carry _marker.
    markers = [u for u in layers if any(t.get("filter") == {"field": "_marker", "equal": True} or t.get("filter") == "datum._marker" for t in u.get("transform", []))]
    assert markers and markers[0]["mark"]["type"] == "point"
    by_length = [u for u in units(metric_by_length(_length_rows()).to_dict()) if u["mark"]["type"] == "point"]
    assert by_length[0]["encoding"]["shape"]["field"] == "model"


def test_markers_spread_along_long_series():
    records = [{"step": s, "loss": 1 / s, "model": m} for m in ("a", "b") for s in range(1, 101)]
    values = dataset_with(training_curves(records).to_dict(), "loss")
    for m in ("a", "b"):
        marked = [r["step"] for r in values if r["model"] == m and r["_marker"]]
        assert 6 <= len(marked) <= 12 and marked[-1] == 100
    a = {r["step"] for r in values if r["model"] == "a" and r["_marker"]}
    b = {r["step"] for r in values if r["model"] == "b" and r["_marker"]}
    assert len(a & b) <= 1  # offset: the two series' symbols do not sit on top of each other


def test_palette_is_colour_blind_safe_okabe_ito():
    assert PALETTE[:7] == ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    assert len(set(SHAPES)) == len(SHAPES) >= len(PALETTE)


def test_grouped_bars_carry_their_groups_shape_and_labels_fit():
    spec = metric_bars(GROUPED, category="pooling", value="accuracy", color="seed").to_dict()
    bars, text, marks = units(spec)
    assert bars["encoding"]["color"]["scale"]["range"] == PALETTE[:2]
    assert "color" not in text["encoding"]  # labels stay dark text, readable on white
    assert marks["mark"]["type"] == "point" and marks["encoding"]["shape"]["scale"]["range"] == SHAPES[:2]
    assert marks["encoding"]["shape"]["legend"] == bars["encoding"]["color"]["legend"]  # one legend: colour and shape
    # The bars leave room for the widest label ("90%") at the right: the x range ends early.
    assert bars["encoding"]["x"]["scale"]["rangeMax"] == {"expr": "width - 43"}
    single = metric_bars([{"c": "a", "v": 0.5}], category="c", value="v").to_dict()
    assert units(single)[0]["encoding"]["x"]["scale"]["rangeMax"] == {"expr": "width - 29"}


def test_long_titles_wrap_to_fit_a_phone():
    title = "Copy task: exact-match accuracy by length, without and with attention"
    spec = metric_by_length(_length_rows(), train_range=(3, 16), title=title).to_dict()
    lines = title_lines(spec["title"])
    assert len(lines) > 1 and all(len(line) <= TITLE_CHARS for line in lines) and " ".join(lines) == title
    assert all(len(line) <= SUBTITLE_CHARS for line in title_lines({"text": spec["title"]["subtitle"]}))
    assert training_curves(_history_records(), title="Short").to_dict()["title"]["text"] == "Short"


@pytest.mark.parametrize("name", list(CHARTS))
def test_charts_still_compose(name):
    """A description and container width do not stop a notebook from concatenating charts."""
    chart = alt.vconcat(CHARTS[name](), metric_bars([{"c": "a", "v": 0.5}], category="c", value="v"))
    assert svg(chart).startswith("<svg")


def test_temperature_summary_keeps_its_numbers_on_two_lines():
    chart = temperature_explorer([2.0, 1.0], temperature=1.0)
    texts = [re.sub(r"<[^>]+>", "\n", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg(chart), re.S)]
    line = next(t for t in texts if "largest weight" in t)
    parts = [p for p in line.split("\n") if p.strip()]
    p = torch.softmax(torch.tensor([2.0, 1.0]), 0)
    assert parts[0].startswith("T = 1.00:") and parts[0].rstrip().endswith(f"{p.max():.3f},")
    assert parts[1].startswith("entropy") and f"uniform: {math.log(2):.3f}" in parts[1]
