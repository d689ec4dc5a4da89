"""Tests for coursekit.viz: the Vega-Lite specs carry the right data, interactions and errors.

``chart.to_dict()`` validates each spec against the Vega-Lite schema; the tests
then read the data values and parameters out of the spec, and render each chart
to SVG with vl-convert to show that Vega accepts it.
"""

from __future__ import annotations

import json
import math
import re

import altair as alt
import numpy as np
import pytest
import torch
import vl_convert

from coursekit.data import copy_task
from coursekit.seq2seq import Seq2Seq, Seq2SeqConfig, accuracy_by_length
from coursekit.train import History
from coursekit.viz import (
    attention_explorer,
    attention_heatmap,
    metric_bars,
    metric_by_length,
    show_cross_attention,
    to_bertviz_cross_attention,
    training_curves,
)


# ------------------------------------------------------------------ helpers
def datasets(spec: dict) -> list[list[dict]]:
    """Every inline dataset of a spec (Altair moves inline values to top-level ``datasets``)."""
    found = list(spec.get("datasets", {}).values())

    def walk(node):
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and "values" in data:
                found.append(data["values"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return found


def dataset_with(spec: dict, key: str) -> list[dict]:
    """The one dataset whose rows have ``key``."""
    hits = [d for d in datasets(spec) if d and key in d[0]]
    assert len(hits) == 1, f"expected one dataset with {key!r}, found {len(hits)}"
    return hits[0]


def units(spec: dict) -> list[dict]:
    """Every single-view spec (those with a mark) in a layered or concatenated spec."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            if "mark" in node:
                out.append(node)
            for key in ("layer", "vconcat", "hconcat", "concat"):
                for child in node.get(key, []):
                    walk(child)

    walk(spec)
    return out


def params(spec: dict) -> list[dict]:
    """Every parameter, at the top level or in a view."""
    return list(spec.get("params", [])) + [p for u in units(spec) for p in u.get("params", [])]


# Render with the Vega-Lite this Altair writes for, as a notebook's renderer does: 5.20 for
# Colab's Altair 5.5 (make colab-versions), 6.x for Altair 6.
VL_VERSION = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]


def svg(chart: alt.TopLevelMixin) -> str:
    return vl_convert.vegalite_to_svg(chart.to_json(), vl_version=VL_VERSION)


def label_lookup(label_expr: str) -> list:
    """The JSON token table at the front of a ``labelExpr`` such as ``["a", "b"][datum.value]``."""
    table = label_expr.lstrip("(")
    return json.JSONDecoder().raw_decode(table)[0]


SRC, TGT = ["x", "y", "z", "w"], ["p", "q", "r"]
W = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 100  # w[t, s] = (4t + s) / 100: each cell unique


# ------------------------------------------------------------------ attention_heatmap
def test_heatmap_puts_each_weight_at_its_target_and_source_position():
    spec = attention_heatmap(W, SRC, TGT).to_dict()
    rows = dataset_with(spec, "weight")
    assert len(rows) == 12
    for r in rows:
        t, s = r["tgt_pos"], r["src_pos"]
        assert r["weight"] == pytest.approx(W[t, s].item())
        assert (r["tgt_token"], r["src_token"]) == (TGT[t], SRC[s])
    enc = spec["encoding"]
    assert (enc["x"]["field"], enc["x"]["type"]) == ("src_pos", "ordinal")
    assert (enc["y"]["field"], enc["y"]["type"]) == ("tgt_pos", "ordinal")
    assert enc["color"]["type"] == "quantitative" and enc["color"]["scale"]["scheme"] == "blues"
    assert enc["color"]["scale"]["domain"] == [0, 1]
    weight_tip = [t for t in enc["tooltip"] if t["field"] == "weight"]
    assert weight_tip and weight_tip[0]["format"] == ".3f"
    assert {t["field"] for t in enc["tooltip"]} == {"src_token", "src_pos", "tgt_token", "tgt_pos", "weight"}


def test_heatmap_axes_show_tokens_in_order():
    enc = attention_heatmap(W, SRC, TGT).to_dict()["encoding"]
    assert label_lookup(enc["x"]["axis"]["labelExpr"]) == SRC
    assert label_lookup(enc["y"]["axis"]["labelExpr"]) == TGT
    assert enc["x"]["axis"]["labelExpr"].endswith("[datum.value]")


def test_heatmap_keeps_duplicate_tokens_as_separate_cells():
    src, tgt = ["a", "a", "b"], ["a", "a"]
    w = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])
    chart = attention_heatmap(w, src, tgt)
    rows = dataset_with(chart.to_dict(), "weight")
    cells = {(r["tgt_pos"], r["src_pos"]): r["weight"] for r in rows}
    assert len(cells) == 6  # 2 x 3 distinct cells, not merged by token text
    assert cells[(0, 0)] == pytest.approx(0.7) and cells[(0, 1)] == pytest.approx(0.2)
    assert cells[(1, 0)] == pytest.approx(0.1) and cells[(1, 1)] == pytest.approx(0.6)
    # The rendered SVG shows each token once per position: three x labels, two y labels.
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg(chart))
    assert labels.count("a") == 4 and labels.count("b") == 1


def test_heatmap_accepts_tensor_array_list_and_batch_of_one():
    expected = dataset_with(attention_heatmap(W, SRC, TGT).to_dict(), "weight")
    for w in (W.numpy(), W.tolist(), W[None], W.to(torch.float64).requires_grad_()):
        assert dataset_with(attention_heatmap(w, SRC, TGT).to_dict(), "weight") == expected


def test_heatmap_shows_whitespace_tokens_visibly():
    rows = dataset_with(attention_heatmap([[1.0, 0.0]], ["a", " "], ["b"]).to_dict(), "weight")
    assert [r["src_token"] for r in rows] == ["a", "␣"]


def test_heatmap_scores_outside_unit_interval_use_their_own_range():
    enc = attention_heatmap(W * 100 - 3, SRC, TGT, value_name="score").to_dict()["encoding"]
    assert enc["color"]["scale"]["domain"] == pytest.approx([-3.0, 8.0])
    assert enc["color"]["legend"]["title"] == "score"


def test_heatmap_size_fits_a_book_column():
    chart = attention_heatmap(torch.rand(8, 40), [str(i) for i in range(40)], [str(i) for i in range(8)])
    spec = chart.to_dict()
    assert spec["width"]["step"] * 40 <= 560 < 22 * 40  # the 22 px default shrinks to fit
    assert spec["width"]["step"] == spec["height"]["step"]  # square cells


@pytest.mark.parametrize(
    "weights, src, tgt, match",
    [
        (torch.rand(3, 4), ["a", "b", "c"], ["x", "y", "z"], r"\(T, S\) = .*\(3, 3\), got \(3, 4\)"),
        (torch.rand(3, 4), list("abcd"), ["x", "y"], r"\(2, 4\), got \(3, 4\)"),
        (torch.rand(2, 3, 4), list("abcd"), list("xyz"), r"pick one example"),
        (torch.rand(4), list("abcd"), ["x"], r"shape \(T, S\), got a 1-d"),
        ([[0.5, float("nan")]], ["a", "b"], ["x"], r"finite"),
        ([[1.0, 2.0], [3.0]], ["a", "b"], ["x", "y"], r"rectangular"),
        (torch.rand(1, 2), "ab", ["x"], r"src_tokens must be a list of tokens"),
    ],
)
def test_heatmap_rejects_bad_input_with_a_helpful_message(weights, src, tgt, match):
    with pytest.raises(ValueError, match=match):
        attention_heatmap(weights, src, tgt)


# ------------------------------------------------------------------ attention_explorer
def _examples():
    return [
        {"weights": W, "src_tokens": SRC, "tgt_tokens": TGT, "label": "first"},
        {
            "weights": torch.tensor([[0.9, 0.1], [0.25, 0.75]]),
            "src_tokens": ["a", "a"],
            "tgt_tokens": ["b", "c"],
            "label": "second",
        },
    ]


def test_explorer_menu_parameter_is_bound_to_a_select_input_and_filters_the_data():
    spec = attention_explorer(_examples()).to_dict()
    (example,) = [p for p in params(spec) if p["name"] == "example"]
    assert example["bind"]["input"] == "select"
    assert example["bind"]["options"] == [0, 1] and example["bind"]["labels"] == ["first", "second"]
    assert example["value"] == 0
    for unit in units(spec):
        filters = [t["filter"] for t in unit.get("transform", []) if "filter" in t]
        assert any(isinstance(f, str) and re.search(r"datum\.example\s*===?\s*example", f) for f in filters)


def test_explorer_data_carries_every_example_at_the_right_positions():
    spec = attention_explorer(_examples()).to_dict()
    rows = dataset_with(spec, "example")
    first = {(r["tgt_pos"], r["src_pos"]): r["weight"] for r in rows if r["example"] == 0}
    second = {(r["tgt_pos"], r["src_pos"]): r["weight"] for r in rows if r["example"] == 1}
    assert len(first) == 12 and len(second) == 4  # different T and S per example
    assert all(first[t, s] == pytest.approx(W[t, s].item()) for t, s in first)
    assert second == pytest.approx({(0, 0): 0.9, (0, 1): 0.1, (1, 0): 0.25, (1, 1): 0.75})
    # The axis labels look the tokens up by example, then by position.
    heat = units(spec)[0]
    assert label_lookup(heat["encoding"]["x"]["axis"]["labelExpr"]) == [SRC, ["a", "a"]]
    assert label_lookup(heat["encoding"]["y"]["axis"]["labelExpr"]) == [TGT, ["b", "c"]]


def test_explorer_hovered_row_drives_the_bar_chart():
    spec = attention_explorer(_examples()).to_dict()
    (step,) = [p for p in params(spec) if p["name"] == "out_step"]
    assert step["select"]["type"] == "point" and step["select"]["fields"] == ["tgt_pos"]
    assert step["select"]["on"] == "pointerover"
    assert step["value"] == [{"tgt_pos": 0}]
    heat, bars = units(spec)
    assert heat["mark"]["type"] == "rect" and bars["mark"]["type"] == "bar"
    assert heat["encoding"]["stroke"]["condition"][0]["param"] == "out_step"
    step_filters = [t["filter"] for t in bars["transform"] if isinstance(t.get("filter"), dict)]
    assert step_filters == [{"param": "out_step", "empty": False}]
    assert bars["encoding"]["x"]["field"] == "src_pos" and bars["encoding"]["y"]["field"] == "weight"


def test_explorer_renders_to_svg_showing_the_first_example():
    image = svg(attention_explorer(_examples(), title="Two examples"))
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", image)
    assert "Two examples" in texts
    assert {"x", "y", "z", "w", "p", "q", "r"} <= set(texts)  # example 0 is shown
    assert "c" not in texts  # example 1's tokens are not
    assert any(t.startswith("Weights while writing output step 0") for t in texts)


@pytest.mark.parametrize(
    "examples, match",
    [
        ([], r"non-empty list"),
        ([{"weights": W, "src_tokens": SRC}], r"missing \['tgt_tokens'\]"),
        (
            [_examples()[0], {"weights": W, "src_tokens": ["a"], "tgt_tokens": TGT}],
            r"examples\[1\]\['weights'\] must have shape \(T, S\)",
        ),
        (["not a dict"], r"examples\[0\] must be a dict"),
    ],
)
def test_explorer_rejects_bad_examples(examples, match):
    with pytest.raises(ValueError, match=match):
        attention_explorer(examples)


# ------------------------------------------------------------------ training_curves
def _history_records() -> list[dict]:
    records = []
    for model, scale in (("attention", 80.0), ("plain", 200.0)):
        h = History()
        for step in range(10, 110, 10):
            h.rows.append({"step": step, "split": "train", "loss": 3 * math.exp(-step / scale)})
            if step % 50 == 0:
                h.rows.append({"step": step, "split": "eval", "seq_acc": step / 100, "tok_acc": 0.5})
        records += h.records(model=model)
    return records


def test_training_curves_draws_only_rows_with_y_and_has_a_legend_highlight():
    spec = training_curves(_history_records()).to_dict()
    rows = dataset_with(spec, "loss")
    assert len(rows) == 20 and {r["model"] for r in rows} == {"attention", "plain"}
    assert all("seq_acc" not in r for r in rows)
    (legend,) = [p for p in params(spec) if p.get("bind") == "legend"]
    assert legend["select"]["fields"] == ["model"]
    line = next(u for u in units(spec) if u["mark"]["type"] == "line")
    assert line["encoding"]["color"]["field"] == "model"
    assert line["encoding"]["opacity"]["condition"][0]["param"] == legend["name"]
    assert line["encoding"]["opacity"]["value"] < 0.5  # the series not picked fade
    assert "strokeDash" not in line["encoding"]  # one split only
    tips = next(u for u in units(spec) if u["mark"]["type"] == "point")["encoding"]["tooltip"]
    assert {t["field"] for t in tips} == {"model", "step", "loss"}


def test_training_curves_eval_metric_and_log_scale():
    spec = training_curves(_history_records(), y="seq_acc", y_format=".0%").to_dict()
    rows = dataset_with(spec, "seq_acc")
    assert sorted((r["model"], r["step"]) for r in rows) == [
        ("attention", 50), ("attention", 100), ("plain", 50), ("plain", 100)
    ]
    spec = training_curves(_history_records(), log_y=True).to_dict()
    line = next(u for u in units(spec) if u["mark"]["type"] == "line")
    assert line["encoding"]["y"]["scale"]["type"] == "log"


def test_training_curves_dashes_eval_when_train_and_eval_share_y():
    records = _history_records() + [{"step": 50, "split": "eval", "loss": 1.0, "model": "plain"}]
    line = next(u for u in units(training_curves(records).to_dict()) if u["mark"]["type"] == "line")
    assert line["encoding"]["strokeDash"]["field"] == "split"
    assert line["encoding"]["strokeDash"]["scale"]["domain"] == ["train", "eval"]  # train solid


def test_training_curves_without_a_model_key_colours_by_split():
    h = History(rows=[{"step": 1, "split": "train", "loss": 2.0}, {"step": 1, "split": "eval", "loss": 2.5}])
    spec = training_curves(h.rows).to_dict()
    (legend,) = [p for p in params(spec) if p.get("bind") == "legend"]
    assert legend["select"]["fields"] == ["split"]


@pytest.mark.parametrize(
    "kwargs, records, match",
    [
        ({"y": "bleu"}, None, r"no record has the key y='bleu'; the records have keys \[.*'loss'"),
        ({"log_y": True}, [{"step": 1, "loss": 0.0, "model": "a"}], r"log_y=True needs every 'loss' > 0"),
        ({}, [{"loss": 1.0}], r"must also have the key x='step'"),
        ({}, [{"step": 1, "loss": 1.0, "model": "a"}, {"step": 2, "loss": 1.0}], r"lack the color key 'model'"),
        ({}, [], r"non-empty list"),
    ],
)
def test_training_curves_rejects_bad_records(kwargs, records, match):
    with pytest.raises(ValueError, match=match):
        training_curves(_history_records() if records is None else records, **kwargs)


# ------------------------------------------------------------------ metric_by_length
def _length_rows() -> list[dict]:
    return [
        {"length": n, "seq_acc": acc, "tok_acc": 0.9, "n": 40, "model": model}
        for model, accs in (("none", (1.0, 0.5, 0.0)), ("attention", (1.0, 1.0, 0.9)))
        for n, acc in zip((4, 8, 12), accs)
    ]


def test_metric_by_length_has_percent_axis_legend_highlight_and_training_band():
    spec = metric_by_length(_length_rows(), train_range=(3, 8)).to_dict()
    rows = dataset_with(spec, "seq_acc")
    assert {(r["model"], r["length"], r["seq_acc"]) for r in rows} >= {("none", 8, 0.5), ("attention", 12, 0.9)}
    line = next(u for u in units(spec) if u["mark"]["type"] == "line")
    assert line["encoding"]["y"]["scale"]["domain"] == [0, 1]
    assert line["encoding"]["y"]["axis"]["format"] == "%"
    (legend,) = [p for p in params(spec) if p.get("bind") == "legend"]
    assert legend["select"]["fields"] == ["model"]
    assert line["encoding"]["opacity"]["condition"][0]["param"] == legend["name"]
    rect = next(u for u in units(spec) if u["mark"]["type"] == "rect")
    band = dataset_with(spec, "lo")
    assert band[0]["lo"] == 2.5 and band[0]["hi"] == 8.5  # lengths 3..8 inclusive, shaded edge to edge
    assert rect["encoding"]["x"]["field"] == "lo" and rect["encoding"]["x2"]["field"] == "hi"


def test_metric_by_length_takes_accuracy_by_length_rows():
    torch.manual_seed(0)
    data = copy_task(12, lengths=(3, 5), seed=0)
    model = Seq2Seq(Seq2SeqConfig.for_data(data, attention="dot", emb_dim=8, hidden_size=8))
    rows = [dict(r, model="untrained") for r in accuracy_by_length(model, data)]
    spec = metric_by_length(rows, metric="tok_acc").to_dict()
    assert sorted(r["length"] for r in dataset_with(spec, "tok_acc")) == sorted({len(s) for s, _ in data.pairs})


@pytest.mark.parametrize(
    "rows, kwargs, match",
    [
        ([{"length": 3, "seq_acc": 45.0, "model": "a"}], {}, r"fraction in \[0, 1\], got 45.0"),
        ([{"length": 3, "model": "a"}], {}, r"must have the keys 'length' and 'seq_acc'"),
        (_length_rows(), {"train_range": (8, 3)}, r"train_range must be \(lo, hi\)"),
    ],
)
def test_metric_by_length_rejects_bad_rows(rows, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metric_by_length(rows, **kwargs)


# ------------------------------------------------------------------ metric_bars
def test_metric_bars_keeps_row_order_and_labels_values():
    rows = [{"score": "dot", "exact-match accuracy": 0.8}, {"score": "additive", "exact-match accuracy": 0.95}]
    spec = metric_bars(rows, category="score", value="exact-match accuracy").to_dict()
    assert dataset_with(spec, "score") == rows
    bars, text = units(spec)
    assert bars["mark"]["type"] == "bar" and text["mark"]["type"] == "text"
    assert bars["encoding"]["y"]["sort"] == ["dot", "additive"]  # the caller's order, not alphabetical
    assert bars["encoding"]["x"]["scale"]["domain"] == [0, 1]
    assert text["encoding"]["text"]["format"] == ".0%"
    assert {t["field"] for t in bars["encoding"]["tooltip"]} == {"score", "exact-match accuracy"}


def test_metric_bars_groups_by_colour_and_formats_counts():
    rows = [{"task": t, "steps": s, "model": m} for t, s, m in [("copy", 120, "a"), ("copy", 300, "b")]]
    spec = metric_bars(rows, category="task", value="steps", color="model", value_format=".0f").to_dict()
    bars = units(spec)[0]
    assert bars["encoding"]["yOffset"]["field"] == "model" and bars["encoding"]["color"]["field"] == "model"
    assert "domain" not in bars["encoding"]["x"]["scale"]
    with pytest.raises(ValueError, match=r"must have the keys \['task', 'steps'\]"):
        metric_bars([{"task": "copy"}], category="task", value="steps")


# ------------------------------------------------------------------ every chart renders
CHARTS = {
    "heatmap": lambda: attention_heatmap(W, SRC, TGT, title="t"),
    "explorer": lambda: attention_explorer(_examples()),
    "curves": lambda: training_curves(_history_records()),
    "curves_log_split": lambda: training_curves(
        _history_records() + [{"step": 50, "split": "eval", "loss": 1.0, "model": "plain"}], log_y=True
    ),
    "by_length": lambda: metric_by_length(_length_rows(), train_range=(3, 8)),
    "bars": lambda: metric_bars([{"c": "a", "v": 0.5}, {"c": "b", "v": 0.25}], category="c", value="v"),
    # Charts from this module compose (no .configure_*, no duplicate parameter or signal names).
    "concat": lambda: alt.hconcat(training_curves(_history_records()), metric_by_length(_length_rows())),
    "concat_same": lambda: alt.vconcat(*(training_curves(_history_records()) for _ in range(2))),
}


@pytest.mark.parametrize("name", list(CHARTS))
def test_every_chart_renders_to_svg(name):
    image = svg(CHARTS[name]())
    assert image.startswith("<svg") and "<text" in image


# ------------------------------------------------------------------ bertviz
def test_bertviz_format_from_one_alignment():
    for w in (W, W[None], W.numpy(), W.tolist()):
        layers = to_bertviz_cross_attention(w)
        assert len(layers) == 1 and layers[0].shape == (1, 1, 3, 4)  # (batch 1, heads, T, S)
        assert layers[0].dtype == torch.float32
        torch.testing.assert_close(layers[0][0, 0], W)


def test_bertviz_format_keeps_layers_and_heads_apart():
    w = torch.rand(2, 3, 4, 5)  # (L, H, T, S)
    layers = to_bertviz_cross_attention(w)
    assert len(layers) == 2 and all(a.shape == (1, 3, 4, 5) for a in layers)
    for layer in range(2):
        for head in range(3):
            torch.testing.assert_close(layers[layer][0, head], w[layer, head])
    # transformers' layout (a tuple of per-layer (1, H, T, S)) passes through unchanged.
    passed = to_bertviz_cross_attention(tuple(a.clone() for a in layers))
    assert all(torch.equal(a, b) for a, b in zip(passed, layers))


@pytest.mark.parametrize(
    "weights, match",
    [
        (torch.rand(2, 3, 4), r"batch of one \(1, T, S\), got shape \(2, 3, 4\)"),
        (torch.rand(1, 2, 3, 4, 5), r"\(T, S\), \(1, T, S\) or \(L, H, T, S\)"),
        ([torch.rand(1, 2, 3, 4), torch.rand(1, 2, 3, 5)], r"same shape"),
        ([torch.rand(2, 2, 3, 4)], r"weights\[0\] must have shape \(1, H, T, S\)"),
    ],
)
def test_bertviz_format_rejects_bad_shapes(weights, match):
    with pytest.raises(ValueError, match=match):
        to_bertviz_cross_attention(weights)


def test_show_cross_attention_gives_bertviz_decoder_rows_and_encoder_columns():
    html = show_cross_attention(W, SRC, TGT, html_action="return").data
    params_json = re.search(r"const params = (\{.*?\});", html, re.S).group(1)
    (cross,) = json.loads(params_json)["attention"]
    assert cross["name"] == "Cross"
    assert cross["left_text"] == TGT and cross["right_text"] == SRC  # decoder on the left, encoder on the right
    assert np.allclose(np.array(cross["attn"]), W.numpy()[None, None])  # (L=1, H=1, T, S)


def test_show_cross_attention_displays_and_checks_tokens(capsys):
    assert show_cross_attention(W, SRC, TGT) is None  # displayed through IPython.display
    with pytest.raises(ValueError, match=r"= \(3, 3\), got \(T, S\) = \(3, 4\)"):
        show_cross_attention(W, SRC[:3], TGT)


def test_two_legends_below_a_curve_share_one_phone_row():
    # Vega-Lite puts a chart's bottom legends side by side: the series legend gets the room the
    # split legend leaves (Chapter 6's three widths with training and held-out curves).
    from coursekit.viz._style import LEGEND_PX, _legend_columns

    rows = [dict(step=s, loss=1.0 / s, model=f"n_embd={w}", split=split)
            for w in (32, 64, 128) for split in ("train", "held-out") for s in (1, 2, 3)]
    spec = training_curves(rows, y="loss", color="model").to_dict()
    legends = {}
    for layer in spec["layer"]:
        for channel, enc in layer.get("encoding", {}).items():
            if isinstance(enc, dict) and isinstance(enc.get("legend"), dict) and "columns" in enc["legend"]:
                legends[enc["field"]] = enc["legend"]["columns"]
    assert set(legends) == {"model", "split"}
    widths = {"model": _legend_columns(["n_embd=128"] * legends["model"])[1],
              "split": _legend_columns(["held-out"] * legends["split"])[1]}
    assert widths["model"] + widths["split"] <= LEGEND_PX
