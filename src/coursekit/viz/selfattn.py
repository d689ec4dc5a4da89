"""Self-attention figures (chapter 4): a softmax-temperature explorer and bertviz's head view.

- :func:`temperature_explorer`: an Altair chart whose slider (a Vega-Lite
  parameter) sets the temperature; a ``joinaggregate``/``calculate`` chain
  recomputes softmax(scores / temperature) in the browser, so it works in the
  static book with no kernel.
- :func:`show_self_attention`: bertviz's head view of self-attention, fed the
  per-layer tuple of (1, H, T, T) tensors that
  :class:`coursekit.attention.SelfAttentionModel` (and transformers) return.

Legend: S scores (keys), T tokens, L layers, H heads.
"""

from __future__ import annotations

import json
import math
from typing import Any, Sequence

import altair as alt
import torch

from ._inputs import _as_array, _as_tokens, _describe, _number
from ._style import MAIN_COLOR, MUTED_TEXT, PANEL_WIDTH, _display, _fresh, _listing, _title, _token_axis
from .headview import to_bertviz_cross_attention

__all__ = ["temperature_explorer", "show_self_attention"]


def temperature_explorer(
    scores: object,
    tokens: Sequence[str] | None = None,
    *,
    temperature: float = 1.0,
    t_range: tuple[float, float] = (0.05, 5.0),
    step: float = 0.05,
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """Bars of softmax(scores / temperature) over S keys, with a temperature slider.

    scores: (S,) finite numbers (tensor, array or list); tokens: S labels (default
    ``k0 .. k{S-1}``). The slider is the parameter ``temperature_<n>`` (range ``t_range``);
    the weights are computed in Vega-Lite as exp((s - max s) / T) / sum(...), and a line
    below reports the largest weight and the entropy (nats; log S is uniform). The bars
    share PANEL_WIDTH, so the chart fits a phone. ``description`` replaces the generated
    text (the weights at the starting temperature) that screen readers announce.
    """
    s = _as_array(scores, "scores")
    if s.ndim != 1 or s.size < 2:
        raise ValueError(f"scores must have shape (S,) with S >= 2, got {_describe(s)}")
    labels = [f"k{i}" for i in range(s.size)] if tokens is None else _as_tokens(tokens, "tokens")
    if len(labels) != s.size:
        raise ValueError(f"tokens must have one label per score: expected {s.size}, got {len(labels)}")
    lo, hi = (_number(v, "t_range") for v in t_range)
    t0, dt = _number(temperature, "temperature"), _number(step, "step")
    if not 0 < lo < hi or not lo <= t0 <= hi or not 0 < dt <= hi - lo:
        raise ValueError(
            f"need 0 < t_range[0] <= temperature <= t_range[1] and 0 < step <= the range, "
            f"got t_range={tuple(t_range)}, temperature={temperature}, step={step}"
        )
    shown = [str(t) for t in labels]  # labels, not tokens: spaces stay spaces
    rows = [{"pos": i, "token": shown[i], "score": round(float(v), 6)} for i, v in enumerate(s)]
    name = _fresh("temperature")
    temp = alt.param(name=name, value=t0, bind=alt.binding_range(min=lo, max=hi, step=dt, name="temperature T: "))
    weights = (
        alt.Chart(alt.Data(values=rows))
        .transform_joinaggregate(max_score="max(score)")
        .transform_calculate(e=f"exp((datum.score - datum.max_score) / {name})")  # stable: the max gets exp(0)
        .transform_joinaggregate(z="sum(e)")
        .transform_calculate(weight="datum.e / datum.z", plogp="datum.e > 0 ? -(datum.e / datum.z) * log(datum.e / datum.z) : 0")
    )
    axis = _token_axis(f"{json.dumps(shown, ensure_ascii=False)}[datum.value]", "key", 30, max(map(len, shown)), orient="bottom")
    x = alt.X("pos:O", axis=axis)
    tooltip = [alt.Tooltip("token:N"), alt.Tooltip("score:Q", format=".3f"), alt.Tooltip("weight:Q", format=".3f")]
    bars = weights.mark_bar(color=MAIN_COLOR).encode(
        x=x, y=alt.Y("weight:Q", scale=alt.Scale(domain=[0, 1]), title="softmax weight"), tooltip=tooltip
    )
    text = weights.mark_text(dy=-6, fontSize=10, color=MUTED_TEXT).encode(
        x=x, y="weight:Q", text=alt.Text("weight:Q", format=".2f")
    )
    chart = (
        alt.layer(bars, text)
        .add_params(temp)
        .properties(
            width=alt.Step(max(16, min(48, PANEL_WIDTH // s.size))),
            height=200,
            title=_title(
                title or "Softmax with temperature",
                "softmax(scores / T): drag the slider; T < 1 sharpens, T > 1 flattens",
                anchor="start",
            ),
        )
    )
    summary = (
        weights.transform_aggregate(max_weight="max(weight)", entropy="sum(plogp)")
        .transform_calculate(
            line=f"'T = ' + format({name}, '.2f') + ':  largest weight ' + format(datum.max_weight, '.3f') + ',\\nentropy ' + format(datum.entropy, '.3f') "
            f"+ ' nats (uniform: {math.log(s.size):.3f})'"
        )
        .mark_text(align="left", baseline="top", fontSize=12, lineBreak="\n")
        .encode(text="line:N", x=alt.value(0), y=alt.value(0))
        .properties(width=PANEL_WIDTH, height=32)
    )
    z = sum(math.exp((v - s.max()) / t0) for v in s)
    w0 = [math.exp((v - s.max()) / t0) / z for v in s]
    text = description or (
        f"Bar chart of the softmax weights over {s.size} keys with a temperature slider (T from {lo:g} to {hi:g}). "
        f"At T = {t0:g}: " + _listing([f"{shown[i]} {w0[i]:.2f}" for i in range(s.size)], 24) + "."
    )
    return alt.vconcat(chart, summary, spacing=4, description=text)


def show_self_attention(
    attentions: object,
    tokens: Sequence[str],
    *,
    layer: int | None = None,
    heads: list[int] | None = None,
    html_action: str = "view",
) -> Any:
    """bertviz's head view of self-attention: lines from each token to the tokens it reads.

    attentions: one tensor per layer, each (1, H, T, T) (``SelfAttentionOutput.attentions``
    of a batch of one) or (H, T, T); T must equal ``len(tokens)``. With
    ``html_action="view"`` the view is displayed and None is returned; ``"return"``
    returns bertviz's ``IPython.display.HTML``.
    """
    from bertviz import head_view

    if isinstance(attentions, (list, tuple)):
        for i, a in enumerate(attentions):
            if isinstance(a, torch.Tensor) and a.dim() == 4 and a.shape[0] != 1:
                raise ValueError(
                    f"attentions[{i}] must be a batch of one (1, H, T, T), got {tuple(a.shape)}; pick one "
                    f"example, e.g. tuple(a[i : i + 1] for a in out.attentions)"
                )
    layers = to_bertviz_cross_attention(attentions)
    toks = _as_tokens(tokens, "tokens")
    _, H, T, S = layers[0].shape
    if T != S or T != len(toks):
        raise ValueError(f"attentions must be (.., T, T) with T = len(tokens) = {len(toks)}, got (T, S) = ({T}, {S})")
    if html_action not in ("view", "return"):
        raise ValueError(f"html_action must be 'view' or 'return', got {html_action!r}")
    return head_view(attention=layers, tokens=[_display(t) for t in toks], layer=layer, heads=heads, html_action=html_action)
