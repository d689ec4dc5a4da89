"""Chapter 5's interactive figures: positional encodings and the warm-up schedule.

Both are Altair (Vega-Lite) charts whose sliders are Vega-Lite parameters, so they
work in the static book with no kernel:

- :func:`positional_encoding_explorer`: the (T, D) position matrix as a heatmap; one
  slider picks a dimension (highlighted, and drawn below as a wave over positions),
  another picks a position p, and the last panel shows PE_p . PE_q for every q.
- :func:`warmup_explorer`: Vaswani et al. (2017), Eq. 3, with ``d_model`` and
  ``warmup_steps`` on sliders; the curve is recomputed in the browser by a Vega-Lite
  calculate transform, so it is the formula itself, not a picture of it.

Legend: T positions, D features.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import altair as alt
import numpy as np

from ..utils import check_positive
from ._inputs import _as_array, _check_rows, _describe, _number
from ._style import CURVE_WIDTH, HIGHLIGHT, MAIN_COLOR, PALETTE, PANEL_WIDTH, _fresh, _gradient_legend, _title

__all__ = ["positional_encoding_explorer", "warmup_explorer"]


def _positive_int(value: object, name: str) -> int:
    check_positive(name, value)
    return int(value)


def positional_encoding_explorer(
    pe: object,
    *,
    dim: int = 0,
    position: int | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """Explore a (T, D) matrix of positional encodings (sinusoidal or learned).

    Three panels, driven by two sliders (parameters ``dim_<n>`` and ``pos_<n>``):
    the heatmap of every value (position on x, feature on y, the chosen feature
    outlined); that feature as a function of position; and the dot product
    ``pe[p] . pe[q]`` for the chosen p against every q. For sinusoidal encodings the
    last panel peaks at q = p and has the same shape wherever p is: it depends on
    the offset q - p only. The panels are PANEL_WIDTH wide (they fit a phone), the colour
    bar sits below the heatmap, and ``description`` replaces the generated text that
    screen readers announce.
    """
    m = _as_array(pe, "pe")
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 1:
        raise ValueError(f"pe must have shape (T, D) with T >= 2 positions, got {_describe(m)}")
    T, D = m.shape
    position = T // 2 if position is None else position
    for name, value, hi in (("dim", dim, D), ("position", position, T)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < hi:
            raise ValueError(f"{name} must be an int in [0, {hi}), got {value!r}")
    cells = [{"pos": t, "dim": d, "value": round(float(m[t, d]), 5)} for t in range(T) for d in range(D)]
    gram = m @ m.T  # (T, T)
    dots = [{"p": p, "q": q, "dot": round(float(gram[p, q]), 5)} for p in range(T) for q in range(T)]
    dim_name, pos_name = _fresh("dim"), _fresh("pos")
    dim_p = alt.param(name=dim_name, value=dim, bind=alt.binding_range(min=0, max=D - 1, step=1, name="feature i: "))
    pos_p = alt.param(name=pos_name, value=position, bind=alt.binding_range(min=0, max=T - 1, step=1, name="position p: "))
    lim = float(np.abs(m).max()) or 1.0
    x_pos = alt.X("pos:Q", title="position", scale=alt.Scale(domain=[0, T - 1], nice=False))
    heat = (
        alt.Chart(alt.Data(values=cells))
        .mark_rect()
        .encode(
            x=alt.X("pos:O", title="position", axis=alt.Axis(labelExpr=f"datum.value % {max(1, T // 8)} == 0 ? datum.value : ''", labelAngle=0, ticks=False)),
            y=alt.Y("dim:O", title="feature", axis=alt.Axis(labelExpr=f"datum.value % {max(1, D // 8)} == 0 ? datum.value : ''", ticks=False)),
            color=alt.Color(
                "value:Q", scale=alt.Scale(scheme="redblue", domain=[-lim, lim], reverse=True), legend=_gradient_legend("value", PANEL_WIDTH)
            ),
            stroke=alt.when(f"datum.dim == {dim_name}").then(alt.value(HIGHLIGHT)).otherwise(alt.value(None)),
            tooltip=[alt.Tooltip("pos:O", title="position"), alt.Tooltip("dim:O", title="feature"), alt.Tooltip("value:Q", format=".3f")],
        )
        .add_params(dim_p, pos_p)
        .properties(
            width=PANEL_WIDTH,
            height=min(240, max(60, 4 * D)),
            title=_title(title or "Positional encodings", "Drag the sliders: feature i is outlined and drawn below; position p sets the last panel.", anchor="start"),
        )
    )
    wave = (
        alt.Chart(alt.Data(values=cells))
        .transform_filter(f"datum.dim == {dim_name}")
        .mark_line(point=True, color=MAIN_COLOR)
        .encode(x=x_pos, y=alt.Y("value:Q", title="value", scale=alt.Scale(domain=[-lim, lim])),
                tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("value:Q", format=".3f")])
        .properties(width=PANEL_WIDTH, height=110, title=alt.Title(alt.expr(f"'Feature ' + {dim_name} + ' over positions'"), fontSize=12, anchor="start"))
    )
    dot_base = alt.Chart(alt.Data(values=dots)).transform_filter(f"datum.p == {pos_name}")
    dot_line = dot_base.mark_line(point={"shape": "square", "color": PALETTE[3]}, color=PALETTE[3], strokeDash=[6, 3]).encode(
        x=alt.X("q:Q", title="position q", scale=alt.Scale(domain=[0, T - 1], nice=False)),
        y=alt.Y("dot:Q", title="pe[p] · pe[q]", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("q:Q", title="q"), alt.Tooltip("dot:Q", format=".3f")],
    )
    dot_rule = dot_base.transform_filter(f"datum.q == {pos_name}").mark_rule(color=HIGHLIGHT, strokeDash=[4, 3]).encode(x="q:Q")
    dot = alt.layer(dot_line, dot_rule).properties(
        width=PANEL_WIDTH, height=110,
        title=alt.Title(alt.expr(f"'Dot product of position ' + {pos_name} + ' with every position q'"), fontSize=12, anchor="start"),
    )
    text = description or (
        f"Interactive chart of a {T} by {D} matrix of positional encodings (position by feature), with sliders for "
        f"a feature i and a position p: a heatmap of every value, feature i over the positions (now i = {dim}), and "
        f"the dot product of position p (now {position}) with every position, which peaks at q = "
        f"{int(gram[position].argmax())}."
    )
    return alt.vconcat(heat, wave, dot, spacing=10, description=text)


def warmup_explorer(
    d_model: int = 512,
    warmup_steps: int = 4000,
    *,
    max_steps: int = 20000,
    d_model_range: tuple[int, int] = (16, 2048),
    warmup_range: tuple[int, int] = (100, 16000),
    points: int = 400,
    measured: Sequence[Mapping[str, Any]] | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.LayerChart:
    """The learning rate of Vaswani et al. (2017), Eq. 3, over training steps, with sliders.

    ``lrate = d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)`` is evaluated in
    Vega-Lite (a calculate transform over ``points`` steps from 1 to ``max_steps``) from two
    slider parameters, ``d_model_<n>`` and ``warmup_<n>``. A dashed rule marks the peak, at
    step = warmup_steps. ``measured`` (optional) is a list of ``{"step", "lr"}`` dicts, e.g.
    the rates a real scheduler produced, drawn as dots so the two can be compared. The
    chart takes its container's width; ``description`` replaces the generated text that
    screen readers announce.
    """
    d_model, warmup_steps = _positive_int(d_model, "d_model"), _positive_int(warmup_steps, "warmup_steps")
    max_steps, points = _positive_int(max_steps, "max_steps"), _positive_int(points, "points")
    (d_lo, d_hi), (w_lo, w_hi) = (
        tuple(_positive_int(v, name) for v in rng) if isinstance(rng, (tuple, list)) and len(rng) == 2 else (0, 0)
        for rng, name in ((d_model_range, "d_model_range"), (warmup_range, "warmup_range"))
    )
    if not d_lo <= d_model <= d_hi:
        raise ValueError(f"d_model must lie in d_model_range, a (lo, hi) pair of positive ints; got {d_model} and {d_model_range!r}")
    if not w_lo <= warmup_steps <= w_hi:
        raise ValueError(f"warmup_steps must lie in warmup_range, a (lo, hi) pair of positive ints; got {warmup_steps} and {warmup_range!r}")
    if points < 2 or max_steps < 2:
        raise ValueError(f"need points >= 2 and max_steps >= 2, got points={points}, max_steps={max_steps}")
    steps = sorted({1, *np.linspace(1, max_steps, points).round().astype(int).tolist()})
    d_name, w_name = _fresh("d_model"), _fresh("warmup")
    d_p = alt.param(name=d_name, value=d_model, bind=alt.binding_range(min=d_lo, max=d_hi, step=16 if d_lo % 16 == 0 else 1, name="d_model: "))
    w_p = alt.param(name=w_name, value=warmup_steps, bind=alt.binding_range(min=w_lo, max=w_hi, step=100 if w_lo % 100 == 0 else 1, name="warmup_steps: "))
    rate = f"pow({d_name}, -0.5) * min(pow(datum.step, -0.5), datum.step * pow({w_name}, -1.5))"  # Eq. 3
    x = alt.X("step:Q", title="training step", scale=alt.Scale(domain=[0, max_steps], nice=False))
    curve = (
        alt.Chart(alt.Data(values=[{"step": s} for s in steps]))
        .transform_calculate(lr=rate)
        .mark_line(color=MAIN_COLOR, strokeWidth=2)
        .encode(x=x, y=alt.Y("lr:Q", title="learning rate", axis=alt.Axis(format=".1e")),
                tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("lr:Q", format=".3e")])
        .add_params(d_p, w_p)
    )
    peak = (
        alt.Chart(alt.Data(values=[{"one": 1}]))
        .transform_calculate(step=w_name, lr=f"pow({d_name} * {w_name}, -0.5)",
                             label=f"'peak ' + format(pow({d_name} * {w_name}, -0.5), '.2e') + ' at step ' + {w_name}")
    )
    layers = [
        curve,
        peak.mark_rule(color=HIGHLIGHT, strokeDash=[4, 3]).encode(x="step:Q"),
        peak.mark_text(align="left", dx=5, dy=-6, color=HIGHLIGHT, fontSize=11).encode(x="step:Q", y="lr:Q", text="label:N"),
    ]
    if measured is not None:
        rows = _check_rows(measured, "measured")
        values = []
        for i, r in enumerate(rows):
            if "step" not in r or "lr" not in r:
                raise ValueError(f"measured[{i}] must have the keys 'step' and 'lr', got keys {sorted(r)}")
            values.append({"step": _number(r["step"], "step"), "lr": _number(r["lr"], "lr")})
        layers.append(
            alt.Chart(alt.Data(values=values)).mark_point(color="#333", size=18, filled=True)
            .encode(x="step:Q", y="lr:Q", tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("lr:Q", title="measured lr", format=".3e")])
        )
    subtitle = "lrate = d_model^-0.5 · min(step^-0.5, step · warmup^-1.5); drag the sliders"
    subtitle += " (dots: rates from a real scheduler)" if measured is not None else ""
    peak_lr = (d_model * warmup_steps) ** -0.5
    text = description or (
        f"Line chart of the learning rate over {max_steps} training steps, Vaswani et al. (2017) Eq. 3, with sliders "
        f"for d_model (now {d_model}) and warmup_steps (now {warmup_steps}): it rises linearly to a peak of "
        f"{peak_lr:.2e} at step {warmup_steps}, then decays as one over the square root of the step"
        + (f"; {len(values)} dots show the rates a real scheduler produced." if measured is not None else ".")
    )
    return alt.layer(*layers).properties(
        width=CURVE_WIDTH, height=260,
        title=_title(title or "The Transformer's warm-up schedule (Eq. 3)", subtitle, anchor="start"),
        description=text,
    )
