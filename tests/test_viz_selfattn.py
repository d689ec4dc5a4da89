"""Tests for coursekit.viz.selfattn: the temperature explorer computes softmax in Vega-Lite,
and show_self_attention hands bertviz the self-attention of every layer."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch

from coursekit.attention import SelfAttentionConfig, SelfAttentionModel
from coursekit.viz.selfattn import show_self_attention, temperature_explorer
from test_viz import svg  # rendered with this Altair's Vega-Lite

pytestmark = pytest.mark.usefixtures("one_thread")

SCORES = [2.0, 1.0, 0.5, -1.0]
TOKENS = ["cat", "dog", "car", "sky"]


def svg_texts(chart) -> list[str]:
    image = svg(chart)
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", image, re.S)]


def slider(spec: dict) -> dict:
    found = [p for v in [spec, *spec["vconcat"]] for p in v.get("params", []) if "bind" in p]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("temperature", [1.0, 0.25, 4.0])
def test_explorer_computes_softmax_of_scores_over_temperature_in_vega(temperature):
    chart = temperature_explorer(SCORES, TOKENS, temperature=temperature)
    texts = svg_texts(chart)
    expected = torch.softmax(torch.tensor(SCORES) / temperature, 0)
    for w in expected.tolist():
        assert f"{w:.2f}" in texts
    entropy = -(expected * expected.log()).sum().item()
    line = next(t for t in texts if "largest weight" in t)
    assert f"{expected.max().item():.3f}" in line and f"{entropy:.3f}" in line
    assert f"uniform: {math.log(4):.3f}" in line and line.startswith(f"T = {temperature:.2f}:")
    for tok in TOKENS:
        assert tok in texts


def test_explorer_slider_is_a_range_bound_parameter_used_by_the_transform():
    spec = temperature_explorer(SCORES, TOKENS, t_range=(0.1, 3.0), step=0.1).to_dict()
    p = slider(spec)
    assert p["name"].startswith("temperature_") and p["value"] == 1.0
    assert p["bind"]["input"] == "range" and (p["bind"]["min"], p["bind"]["max"], p["bind"]["step"]) == (0.1, 3.0, 0.1)
    assert f"exp((datum.score - datum.max_score) / {p['name']})" in json.dumps(spec)


def test_explorer_saturates_at_low_temperature_and_flattens_at_high():
    low = next(t for t in svg_texts(temperature_explorer(SCORES, temperature=0.05)) if "largest weight" in t)
    high = next(t for t in svg_texts(temperature_explorer(SCORES, temperature=5.0)) if "largest weight" in t)
    assert low.startswith("T = 0.05:") and "largest weight 1.000" in low
    assert float(high.split("largest weight ")[1].split(",")[0]) < 0.4


def test_explorer_takes_tensors_and_default_labels():
    texts = svg_texts(temperature_explorer(torch.tensor([0.0, 0.0])))
    assert "k0" in texts and "k1" in texts and "0.50" in texts


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (([1.0],), {}, "scores must have shape (S,) with S >= 2, got a 1-d ndarray of shape (1,)"),
        (([[1.0, 2.0]],), {}, "scores must have shape (S,) with S >= 2, got a 2-d ndarray of shape (1, 2)"),
        ((SCORES, TOKENS[:3]), {}, "tokens must have one label per score: expected 4, got 3"),
        ((SCORES,), {"temperature": 9.0}, "need 0 < t_range[0] <= temperature <= t_range[1]"),
        ((SCORES,), {"t_range": (0.0, 2.0)}, "need 0 < t_range[0]"),
        (([1.0, float("nan")],), {}, "scores must be finite"),
    ],
)
def test_explorer_rejects_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        temperature_explorer(*args, **kwargs)


def _attentions():
    torch.manual_seed(0)
    model = SelfAttentionModel(SelfAttentionConfig(vocab_size=8, max_len=5, d_model=8, n_heads=2, n_layers=2))
    with torch.no_grad():
        return model(torch.tensor([[1, 2, 3, 4, 5]])).attentions


def test_show_self_attention_gives_bertviz_every_layer_and_head():
    atts = _attentions()
    html = show_self_attention(atts, list("abcde"), html_action="return").data
    params = json.loads(re.search(r"const params = (\{.*?\});", html, re.S).group(1))
    (view,) = params["attention"]
    assert view["left_text"] == list("abcde") and view["right_text"] == list("abcde")
    attn = np.array(view["attn"])  # (L, H, T, T)
    assert attn.shape == (2, 2, 5, 5)
    for i, a in enumerate(atts):
        np.testing.assert_allclose(attn[i], a[0].numpy(), rtol=1e-5, atol=1e-6)


def test_show_self_attention_displays_and_accepts_unbatched_heads():
    atts = _attentions()
    assert show_self_attention([a[0] for a in atts], list("abcde")) is None  # (H, T, T) per layer, displayed


@pytest.mark.parametrize(
    "make, tokens, message",
    [
        (lambda a: tuple(torch.cat([x, x]) for x in a), list("abcde"), "attentions[0] must be a batch of one (1, H, T, T), got (2, 2, 5, 5); pick one example"),
        (lambda a: a, list("abc"), "attentions must be (.., T, T) with T = len(tokens) = 3, got (T, S) = (5, 5)"),
        (lambda a: (a[0][..., :3],), list("abcde"), "attentions must be (.., T, T) with T = len(tokens) = 5, got (T, S) = (5, 3)"),
    ],
)
def test_show_self_attention_rejects_bad_input(make, tokens, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        show_self_attention(make(_attentions()), tokens)


def test_explorer_labels_keep_their_spaces():
    texts = svg_texts(temperature_explorer([1.0, 0.0], ["Notting Hill", "Die Hard"]))
    assert "Notting Hill" in texts and "Die Hard" in texts
