"""Tests for coursekit.viz.lineage: the rows come from the configs' counts, the chart carries
them on a log axis with hover and legend selections, renders, fits a phone, and rejects bad
input."""

from __future__ import annotations

import re

import pytest

from coursekit.bert.family_sizes import FAMILY_SIZES, count_family
from coursekit.viz.lineage import LINEAGE_MODELS, lineage_chart, lineage_rows
from test_viz import svg  # rendered with this Altair's Vega-Lite
from test_viz_schedules import datasets, params


def test_rows_are_the_configs_counts_and_dates():
    rows = lineage_rows()
    assert [r["model"] for r in rows] == list(LINEAGE_MODELS)
    by = {r["model"]: r for r in rows}
    assert by["RoBERTa-large"]["params"] == count_family(FAMILY_SIZES["RoBERTa-large"].size)
    assert by["ALBERT-base"]["params"] < by["DistilBERT"]["params"] < by["BERT-base"]["params"]
    assert by["BERT-base"]["date"] == "2018-10-01" and by["DistilBERT"]["date"] == "2019-10-01"
    assert by["XLNet-large"]["published"] is None and by["ALBERT-xxlarge"]["published"] == 235_000_000
    assert all(r["changed"] for r in rows)


def test_chart_carries_every_model_on_a_log_axis():
    rows = lineage_rows()
    spec = lineage_chart(rows).to_dict()
    data = next(d for d in datasets(spec) if d and "M" in d[0])
    assert [d["model"] for d in data] == list(LINEAGE_MODELS)
    by = {d["model"]: d for d in data}
    assert by["BERT-base"]["M"] == pytest.approx(109.48224) and by["BERT-base"]["paper"] == "110M"
    assert by["XLNet-base"]["paper"] == "not given"
    point = spec["layer"][0]["encoding"]
    assert point["y"]["scale"]["type"] == "log" and point["x"]["type"] == "temporal"
    assert "what changed" in [t.get("title") for t in point["tooltip"]]


def test_chart_has_a_hover_and_a_legend_selection():
    ps = params(lineage_chart(lineage_rows()).to_dict())
    hover = next(p for n, p in ps.items() if n.startswith("model_"))
    family = next(p for n, p in ps.items() if n.startswith("family_"))
    assert hover["select"]["on"] == "pointerover" and hover["select"]["fields"] == ["model"]
    assert family["bind"] == "legend" and family["select"]["fields"] == ["family"]


def test_chart_renders_and_fits_a_phone():
    image = svg(lineage_chart(lineage_rows()))
    width = float(re.search(r'width="([\d.]+)"', image).group(1))
    assert image.startswith("<svg") and width <= 390
    assert "ALBERT" in image and "RoBERTa" in image  # the legend


@pytest.mark.parametrize("rows, match", [
    ([], "rows"),
    ([{"model": "a", "family": "f", "date": "2019-01-01"}], "params"),
    ([{"model": "a", "family": "f", "date": "2019-01-01", "params": 0}], "> 0"),
    ([{"model": "a", "family": "f", "date": 2019, "params": 5}], "ISO date"),
])
def test_bad_rows(rows, match):
    with pytest.raises(ValueError, match=match):
        lineage_chart(rows)


def test_bad_models():
    with pytest.raises(ValueError, match="FAMILY_SIZES"):
        lineage_rows(["GPT-2"])
    with pytest.raises(ValueError, match="list of model names"):
        lineage_rows("BERT-base")
