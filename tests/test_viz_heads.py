"""Tests for coursekit.viz.heads: the head overview carries every head's value of every
measure, each head's example matrix and average pattern, filtered by its radio and its
head selection; the relation selector carries the held-out accuracies and each sentence's
gold, head and baseline picks; both render, fit a phone, and reject bad input."""

from __future__ import annotations

import re

import pytest
import torch

from coursekit.viz.heads import head_box, head_overview, relation_selector
from test_viz import svg  # rendered with this Altair's Vega-Lite
from test_viz_schedules import datasets, params, walk

L, H, T = 3, 4, 6
TOKENS = ["[CLS]", "the", "cat", "sat", ".", "[SEP]"]


def attentions(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(L, H, T, T, generator=g), dim=-1)  # (L, H, T, T), rows sum to 1


def measures(a: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"to [SEP]": a[..., -1].mean(-1), "entropy": -(a * a.log()).sum(-1).mean(-1)}


def width(image: str) -> float:
    return float(re.search(r'width="([\d.]+)"', image).group(1))


def test_overview_carries_every_head_of_every_measure():
    a = attentions()
    m = measures(a)
    spec = head_overview(m, a, TOKENS).to_dict()
    cells = next(d for d in datasets(spec) if d and "measure" in d[0])
    assert len(cells) == 2 * L * H
    got = {(c["measure"], c["layer"], c["head"]): c["value"] for c in cells}
    assert got[("to [SEP]", 2, 1)] == pytest.approx(float(m["to [SEP]"][2, 1]), abs=1e-4)
    assert got[("entropy", 0, 3)] == pytest.approx(float(m["entropy"][0, 3]), abs=1e-4)


def test_overview_example_matrices_and_default_bars():
    a = attentions()
    spec = head_overview(measures(a), a, TOKENS).to_dict()
    mats = next(d for d in datasets(spec) if d and "w" in d[0])
    one = next(r for r in mats if (r["layer"], r["head"]) == (1, 2))
    torch.testing.assert_close(torch.tensor(one["w"]).reshape(T, T), a[1, 2].float(), atol=6e-4, rtol=0)
    bars = next(d for d in datasets(spec) if d and "label" in d[0])
    assert {b["label"] for b in bars} == {"to [SEP]", "entropy"}  # no average given: the measures themselves


def test_overview_takes_an_average_pattern_and_per_layer_tensors():
    a = attentions()
    avg = torch.rand(L, H, 3, generator=torch.Generator().manual_seed(1))
    per_layer = [a[l][None] for l in range(L)]  # what transformers returns: L tensors of (1, H, T, T)
    spec = head_overview(measures(a), per_layer, TOKENS, average=avg, average_labels=["-1", "self", "+1"]).to_dict()
    bars = next(d for d in datasets(spec) if d and "label" in d[0])
    b = next(x for x in bars if (x["layer"], x["head"], x["label"]) == (2, 3, "+1"))
    assert b["value"] == pytest.approx(float(avg[2, 3, 2]), abs=1e-4)


def test_overview_radio_and_head_selection():
    a = attentions()
    m = measures(a)
    spec = head_overview(m, a, TOKENS).to_dict()
    ps = params(spec)
    radio = next(p for n, p in ps.items() if n.startswith("measure_"))
    assert radio["bind"]["input"] == "radio" and radio["bind"]["options"] == list(m) and radio["value"] == "to [SEP]"
    sel = next(p for n, p in ps.items() if n.startswith("head_"))
    best = divmod(int(m["to [SEP]"].argmax()), H)  # the default head: the largest value of the first measure
    assert sel["select"]["fields"] == ["layer", "head"] and sel["value"] == [{"layer": best[0], "head": best[1]}]
    filters = [d["filter"] for d in walk(spec) if "filter" in d]
    assert f"datum.measure == {radio['name']}" in filters
    assert sum(f == {"param": sel["name"]} for f in filters) == 2  # the bars and the matrix follow the pick
    spec = head_overview(m, a, TOKENS, head=(2, 0)).to_dict()
    sel = next(p for n, p in params(spec).items() if n.startswith("head_"))
    assert sel["value"] == [{"layer": 2, "head": 0}]


def test_overview_can_count_from_one_as_clark_et_al_do():
    a = attentions()
    m = measures(a)
    spec = head_overview(m, a, TOKENS, head=(2, 0), start=1).to_dict()
    sel = next(p for n, p in params(spec).items() if n.startswith("head_"))
    assert sel["value"] == [{"layer": 3, "head": 1}]
    cells = next(d for d in datasets(spec) if d and "measure" in d[0])
    assert {c["layer"] for c in cells} == {1, 2, 3} and {c["head"] for c in cells} == {1, 2, 3, 4}
    got = {(c["measure"], c["layer"], c["head"]): c["value"] for c in cells}
    assert got[("entropy", 1, 1)] == pytest.approx(float(m["entropy"][0, 0]), abs=1e-4)
    mats = next(d for d in datasets(spec) if d and "w" in d[0])
    assert {(r["layer"], r["head"]) for r in mats} == {(l, h) for l in (1, 2, 3) for h in (1, 2, 3, 4)}


def test_overview_renders_and_fits_a_phone():
    a = attentions()
    image = svg(head_overview(measures(a), a, TOKENS, head=(1, 2)))
    assert image.startswith("<svg") and width(image) <= 390
    assert "Layer 1, head 2" in image


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(measures={}), "non-empty dict"),
        (dict(measures={"a": torch.ones(3)}), r"\(L, H\)"),
        (dict(measures={"a": torch.ones(L, H), "b": torch.ones(L, H + 1)}), "same"),
        (dict(example=torch.ones(L, H, T, T + 1)), "example must be"),
        (dict(tokens=TOKENS[:-1]), "example must be"),
        (dict(average=torch.ones(L, H)), "average must be"),
        (dict(average=torch.ones(L, H, 2), average_labels=["a"]), "average_labels"),
        (dict(head=(L, 0)), "head must be"),
        (dict(head=[0, 0]), "head must be"),
        (dict(tokens="abcdef"), "list of tokens"),
        (dict(start=2), "start must be"),
    ],
)
def test_overview_rejects_bad_input(kwargs, match):
    a = attentions()
    args = dict(measures=measures(a), example=a, tokens=TOKENS) | kwargs
    with pytest.raises(ValueError, match=match):
        head_overview(**args)


TABLE = [
    {"relation": "det", "layer": 1, "head": 2, "head_acc": 0.8, "offset": 1, "baseline_acc": 0.7},
    {"relation": "nsubj", "layer": 2, "head": 0, "head_acc": 0.5, "offset": 1, "baseline_acc": 0.4},
]
SENTENCES = [
    {"words": ["the", "cat", "sat"], "arcs": [
        {"dep": 0, "head": 1, "relation": "det", "predicted": 1, "baseline": 1},
        {"dep": 1, "head": 2, "relation": "nsubj", "predicted": 0, "baseline": 2}]},
    {"words": ["a", "dog", "ran", "home"], "arcs": [
        {"dep": 0, "head": 1, "relation": "det", "predicted": 1, "baseline": 1}]},
]


def test_selector_carries_accuracies_and_marks():
    spec = relation_selector(TABLE, SENTENCES, sentence=1).to_dict()
    accs = next(d for d in datasets(spec) if d and "who" in d[0])
    assert {(r["relation"], r["who"]): r["acc"] for r in accs} == {
        ("det", "best head"): 0.8, ("det", "baseline"): 0.7, ("nsubj", "best head"): 0.5, ("nsubj", "baseline"): 0.4}
    assert {r["detail"] for r in accs} >= {"head 1-2", "offset +1"}
    marks = next(d for d in datasets(spec) if d and "kind" in d[0])
    nsubj = {m["kind"]: (m["word"], m["right"]) for m in marks if m["s"] == 0 and m["row"] == "cat (nsubj)"}
    assert nsubj == {"gold head": ("sat", True), "best head": ("the", False), "baseline": ("sat", True)}
    pick = next(p for n, p in params(spec).items() if n.startswith("sentence_"))
    assert pick["value"] == 1 and pick["bind"]["input"] == "select" and pick["bind"]["options"] == [0, 1]
    assert pick["bind"]["labels"][0].startswith("0: the cat sat")


def test_selector_leaves_out_a_pick_outside_the_sentence():
    sentences = [{"words": ["the", "cat", "sat"], "arcs": [
        {"dep": 0, "head": 1, "relation": "det", "predicted": None, "baseline": 1}]}]
    spec = relation_selector(TABLE, sentences).to_dict()
    marks = next(d for d in datasets(spec) if d and "kind" in d[0])
    assert sorted(m["kind"] for m in marks) == ["baseline", "gold head"]


def test_selector_renders_and_fits_a_phone():
    image = svg(relation_selector(TABLE, SENTENCES))
    assert image.startswith("<svg") and width(image) <= 390
    assert "cat (nsubj)" in image and "accuracy on held-out sentences" in image


@pytest.mark.parametrize(
    "table, sentences, kwargs, match",
    [
        ([], SENTENCES, {}, "non-empty list"),
        ([{"relation": "det"}], SENTENCES, {}, "missing"),
        (TABLE, [{"words": ["a"]}], {}, "missing"),
        (TABLE, [{"words": ["a", "b"], "arcs": [{"dep": 0, "head": 1, "relation": "amod", "predicted": 1,
                                                  "baseline": 1}]}], {}, "does not list"),
        (TABLE, [{"words": ["a", "b"], "arcs": [{"dep": 0, "head": 2, "relation": "det", "predicted": 1,
                                                  "baseline": 1}]}], {}, "word position"),
        (TABLE, SENTENCES, {"sentence": 2}, "sentence must be"),
    ],
)
def test_selector_rejects_bad_input(table, sentences, kwargs, match):
    with pytest.raises(ValueError, match=match):
        relation_selector(table, sentences, **kwargs)


def read_sentence(text: str):
    """A sentence's tokens (its words) and a (L, H, T, T) attention where every token attends to
    the token before it (the first to itself): a head whose answer is known."""
    tokens = text.split()
    T = len(tokens)
    a = torch.zeros(L, H, T, T)
    a[..., 0, 0] = 1.0
    a[..., torch.arange(1, T), torch.arange(T - 1)] = 1.0
    return tokens, a


def test_head_box_prints_where_each_token_looks():
    box = head_box(read_sentence, "the cat sat", layer=2, head=3)
    text, (layer, head, button), out = box.children[0], box.children[1].children, box.children[2]
    assert (layer.value, head.value) == (2, 3) and [o[0] for o in layer.options] == ["1", "2", "3"]
    box.show()
    printed = "".join(o["text"] for o in out.outputs)
    assert "layer 3, head 4" in printed and "cat -> the" in printed and "sat -> cat" in printed
    text.value = "a b c d"
    button.click()
    printed = "".join(o["text"] for o in out.outputs)
    assert "d -> c" in printed and "sat" not in printed


@pytest.mark.parametrize(
    "read, kwargs, match",
    [
        ("not a function", {}, "read must be a function"),
        (lambda t: (t.split(), torch.ones(2, 2, 3)), {}, r"\(L, A, T, T\)"),
        (read_sentence, {"layer": L}, "layer and head"),
    ],
)
def test_head_box_rejects_bad_input(read, kwargs, match):
    with pytest.raises(ValueError, match=match):
        head_box(read, "the cat sat", **kwargs)
