"""Tests for coursekit.viz.text.document_explorer: spec data, parameters, SVG rendering, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coursekit.viz.text import document_explorer
from test_viz import dataset_with, svg  # the spec readers of the chapter 1-2 chart tests

DOC_A = {
    "sentences": [["the", "film", "was", "good"], ["a", "plot"]],
    "word_weights": [[0.1, 0.2, 0.3, 0.4], [0.25, 0.75, 0.0, 0.0]],
    "sentence_weights": [0.9, 0.1],
    "key_sentence": 0,
    "label": "doc A: positive",
}
DOC_B = {  # padded, as a model returns it: (3, 3) word weights for 2 sentences, (3,) sentence weights
    "sentences": [["x"], ["y", "z"]],
    "word_weights": torch.tensor([[1.0, 0.0, 0.0], [0.4, 0.6, 0.0], [0.0, 0.0, 0.0]]),
    "sentence_weights": np.array([0.3, 0.7, 0.0]),
}


def test_spec_holds_every_word_and_sentence_of_every_document():
    spec = document_explorer([DOC_A, DOC_B]).to_dict()
    words = dataset_with(spec, "word")
    assert len(words) == 6 + 3  # padding dropped
    first = [w for w in words if w["doc"] == 0]
    assert [(w["sent"], w["pos"], w["word"]) for w in first] == [
        (0, 0, "the"), (0, 1, "film"), (0, 2, "was"), (0, 3, "good"), (1, 0, "a"), (1, 1, "plot"),
    ]
    assert [w["weight"] for w in first] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.25, 0.75])
    assert {w["sent_weight"] for w in first if w["sent"] == 0} == {0.9}
    bars = dataset_with(spec, "role")
    assert [(b["doc"], b["sent"], b["role"]) for b in bars] == [
        (0, 0, "key sentence"), (0, 1, "other sentence"), (1, 0, "other sentence"), (1, 1, "other sentence"),
    ]
    assert [b["sent_weight"] for b in bars if b["doc"] == 1] == pytest.approx([0.3, 0.7])


def test_menu_parameter_and_hover_selection():
    spec = document_explorer([DOC_A, DOC_B]).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    menu = params["document"]
    assert menu["bind"]["input"] == "select" and menu["bind"]["options"] == [0, 1]
    assert menu["bind"]["labels"] == ["doc A: positive", "document 1"] and menu["value"] == 0
    hover = params["sentence"]
    assert hover["select"]["type"] == "point" and hover["select"]["fields"] == ["sent"]
    text = str(spec)
    assert "(datum.doc === document)" in text  # every panel shows the chosen document only
    assert '["doc A: positive", "document 1"][document]' in text  # the title follows the menu


def test_renders_to_svg_with_words_and_tooltips():
    chart = document_explorer([DOC_A, DOC_B], title="demo")
    svg_text = svg(chart)
    assert svg_text.startswith("<svg") and "good" in svg_text and "plot" in svg_text and "doc A: positive" in svg_text
    tooltips = str(chart.to_dict())
    assert "word weight" in tooltips and "sentence weight" in tooltips


@pytest.mark.parametrize(
    "docs, phrase",
    [
        ([], "documents must be a non-empty list"),
        (["text"], r"documents\[0\] must be a dict"),
        ([{"sentences": [["a"]]}], "missing \\['word_weights', 'sentence_weights'\\]"),
        ([dict(DOC_A, sentences="the film")], "must be a non-empty list of sentences"),
        ([dict(DOC_A, word_weights=[[0.5, 0.5], [0.5, 0.5]])], r"must have shape \(N, L\) with N >= 2 sentences and L >= 4"),
        ([dict(DOC_A, sentence_weights=[1.0])], r"must have shape \(N,\) with N >= 2"),
        ([dict(DOC_A, sentence_weights=[2.0, -1.0])], r"must be weights in \[0, 1\]"),
        ([dict(DOC_A, key_sentence=5)], "key_sentence'\\] must be a sentence index in 0..1"),
        ([dict(DOC_A, sentences=[["a"], []])], "must not hold empty sentences"),
        ([dict(DOC_A, sentence_weights=[float("nan"), 0.1])], "must be finite"),
    ],
)
def test_bad_input_raises_value_error(docs, phrase):
    with pytest.raises(ValueError, match=phrase):
        document_explorer(docs)
