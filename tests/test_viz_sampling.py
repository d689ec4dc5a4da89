"""Tests for coursekit.viz.sampling: the explorer's Vega-Lite transforms keep exactly the tokens
coursekit.gpt's filters keep (checked on the rendered chart), its sliders are parameters, it fits
a phone, and bad input raises ValueError; the live box runs its callable."""

from __future__ import annotations

import re

import pytest
import torch

from coursekit.gpt import filter_logits
from coursekit.viz.sampling import generation_box, sampling_explorer
from test_viz import svg  # rendered with this Altair's Vega-Lite
from test_viz_schedules import params, walk

V = 60
LOGITS = torch.randn(V, generator=torch.Generator().manual_seed(0)) * 2
TOKENS = [f"w{i}" for i in range(V)]


def kept_in_chart(**kw) -> int:
    text = svg(sampling_explorer(LOGITS, TOKENS, **kw))
    (n,) = re.findall(r">kept (\d+) of \d+ tokens", text)
    return int(n)


@pytest.mark.parametrize(
    "temperature, top_k, top_p",
    [(0.5, 10, 0.5), (2.0, 60, 0.95), (0.7, 3, 0.05)],
)
def test_the_browser_keeps_the_tokens_coursekit_keeps(temperature, top_k, top_p):
    want = torch.isfinite(filter_logits(LOGITS, temperature=temperature, top_k=top_k, top_p=top_p)).sum().item()
    assert kept_in_chart(temperature=temperature, top_k=top_k, top_p=top_p) == want


def test_ties_at_the_kth_place_are_kept_as_coursekit_keeps_them():
    logits = torch.tensor([3.0, 2.0, 2.0, 1.0, 0.0])
    text = svg(sampling_explorer(logits, list("abcde"), top_k=2, top_p=1.0))
    assert ">kept 3 of 5 tokens" in text
    assert torch.isfinite(filter_logits(logits, top_k=2)).sum() == 3


def test_sliders_carry_every_logit_and_fit_a_phone():
    spec = sampling_explorer(LOGITS, TOKENS, temperature=0.8, top_k=7, top_p=0.6, shown=12).to_dict()
    ps = params(spec)
    t = next(p for n, p in ps.items() if n.startswith("temperature_"))
    k = next(p for n, p in ps.items() if n.startswith("top_k_"))
    p = next(p for n, p in ps.items() if n.startswith("top_p_"))
    assert (t["value"], k["value"], p["value"]) == (0.8, 7, 0.6)
    assert all(q["bind"]["input"] == "range" for q in (t, k, p))
    rows = next(d["data"]["values"] for d in walk(spec) if isinstance(d.get("data"), dict) and "values" in d["data"])
    assert len(rows) == V and {r["token"] for r in rows} == set(TOKENS)
    assert spec["width"] == "container" and spec["height"] == 14 * 12
    assert "description" in spec and "12 most probable" in spec["description"]


@pytest.mark.parametrize(
    "args, kw, message",
    [
        ((torch.zeros(2, 3), ["a"] * 3), {}, "logits must be a 1-d"),
        ((LOGITS, TOKENS[:-1]), {}, "one string per logit"),
        ((LOGITS, TOKENS), dict(top_k=0), "top_k must be an int"),
        ((LOGITS, TOKENS), dict(top_p=1.5), "top_p must be a number"),
        ((LOGITS, TOKENS), dict(temperature=0.0), "temperature must be a number"),
        ((LOGITS, TOKENS), dict(shown=V + 1), "shown must be an int"),
    ],
)
def test_bad_input_raises_value_error(args, kw, message):
    with pytest.raises(ValueError, match=message):
        sampling_explorer(*args, **kw)


def test_generation_box_calls_the_model_with_the_slider_values():
    calls = []

    def complete(prompt, *, temperature, top_k, top_p, max_new_tokens):
        calls.append((prompt, temperature, top_k, top_p, max_new_tokens))
        return prompt + " and more"

    box = generation_box(complete, "Return", max_new_tokens=5, temperature=0.7, top_k=9, top_p=0.8)
    box.generate()
    assert calls == [("Return", 0.7, 9, 0.8, 5)]
    out = box.children[-1]
    assert "Return and more" in "".join(o.get("text", "") for o in out.outputs)
    with pytest.raises(ValueError, match="complete must be a function"):
        generation_box("not a function")
