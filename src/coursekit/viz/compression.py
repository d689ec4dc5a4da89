"""Chapter 10's compression trade-off chart: accuracy against size and against CPU latency, one
colour and shape per method, the Pareto front drawn, a method picked by clicking the legend.

The chart is Altair (Vega-Lite): the legend-bound selection works in the static book, no kernel.
Its rows are :func:`coursekit.compression.compression_results`'s; the front is
:func:`coursekit.compression.pareto_front`'s (the points no other point beats on both axes),
computed separately for size and for latency.

Legend: kB thousands of bytes, ms milliseconds.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import altair as alt

from ._inputs import _check_rows, _number, _require_keys
from ._style import FADED, MUTED_TEXT, PANEL_WIDTH, _fresh, _legend, _listing, _series_scales, _title

__all__ = ["compression_chart"]

FIELDS = ("method", "setting", "params", "bytes", "accuracy", "latency_ms")
AXES = {"bytes": ("kB", "size (kB)"), "latency_ms": ("latency_ms", "CPU latency (ms)")}


def compression_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    axes: Sequence[str] = ("bytes", "latency_ms"),
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """Accuracy against each of ``axes`` ("bytes", shown in kB, and/or "latency_ms"), one panel each
    (PANEL_WIDTH wide, so the chart fits a 390 px phone), stacked.

    ``rows``: dicts with ``method``, ``setting``, ``params``, ``bytes``, ``accuracy`` (a share in
    [0, 1]) and ``latency_ms``, and optionally ``trained_steps`` (training after compression, shown
    in the tooltip) and ``measured`` (False: size or latency computed, not measured; drawn hollow). Each method has its own colour and point shape; clicking a legend
    entry picks that method (shift-click for several) and fades the others. A dashed step line joins
    each panel's Pareto front (smaller x and higher accuracy are better), whose points are ringed; hovering a point shows its
    setting and every measurement."""
    rows = _check_rows(rows, "rows")
    if isinstance(axes, str) or not axes or any(a not in AXES for a in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"axes must be a non-empty sequence of distinct names from {tuple(AXES)}, got {axes!r}")
    values = []
    for i, r in enumerate(rows):
        _require_keys(r, f"rows[{i}]", FIELDS)
        v = {k: _number(r[k], f"rows[{i}][{k!r}]") for k in FIELDS[2:]}
        if not 0 <= v["accuracy"] <= 1:
            raise ValueError(f"rows[{i}]['accuracy'] must be a share in [0, 1], got {v['accuracy']}")
        if v["bytes"] <= 0 or v["latency_ms"] <= 0 or v["params"] < 0:
            raise ValueError(f"rows[{i}] needs bytes > 0, latency_ms > 0 and params >= 0, got {v}")
        extra = {}
        if "trained_steps" in r:
            extra["trained_steps"] = int(_number(r["trained_steps"], f"rows[{i}]['trained_steps']"))
        if "measured" in r:
            if not isinstance(r["measured"], bool):
                raise ValueError(f"rows[{i}]['measured'] must be a bool, got {r['measured']!r}")
            extra["sizes"] = "measured" if r["measured"] else "computed, not measured"
        values.append({"method": str(r["method"]), "setting": str(r["setting"]), **v, "kB": v["bytes"] / 1000,
                       **extra})
    from ..compression.experiments import pareto_front  # the one definition of the front

    methods = list(dict.fromkeys(v["method"] for v in values))
    scales = _series_scales(methods)
    pick = alt.selection_point(name=_fresh("method"), fields=["method"], bind="legend")
    y = alt.Y("accuracy:Q", title="held-out accuracy", axis=alt.Axis(format=".0%"), scale=alt.Scale(zero=False))
    tooltip = [alt.Tooltip("method:N"), alt.Tooltip("setting:N"), alt.Tooltip("accuracy:Q", format=".1%"),
               alt.Tooltip("params:Q", format=","), alt.Tooltip("kB:Q", title="size (kB)", format=",.0f"),
               alt.Tooltip("latency_ms:Q", title="latency (ms)", format=".2f")]
    if any("trained_steps" in v for v in values):
        tooltip.append(alt.Tooltip("trained_steps:Q", title="training steps after compression"))
    hollow = any("sizes" in v for v in values)
    if hollow:
        tooltip.append(alt.Tooltip("sizes:N", title="size and latency"))
    fronts = {}
    panels = []
    for k, axis in enumerate(axes):
        field, label = AXES[axis]
        x = alt.X(f"{field}:Q", title=label, scale=alt.Scale(zero=False, nice=True))
        points = (
            alt.Chart(alt.Data(values=values))
            .mark_point(size=70, filled=True, strokeWidth=1)
            .encode(
                x=x, y=y,
                color=alt.Color("method:N", scale=scales["color"], legend=_legend(None, methods)),
                shape=alt.Shape("method:N", scale=scales["shape"], legend=None),
                opacity=alt.when(pick).then(alt.value(0.95)).otherwise(alt.value(FADED)),
                tooltip=tooltip,
            )
        )
        if hollow:  # computed sizes or latencies: an outline only
            points = points.encode(fillOpacity=alt.when(alt.datum.sizes == "measured").then(alt.value(1))
                                   .otherwise(alt.value(0)))
        if k == 0:
            points = points.add_params(pick)
        front = [dict(f, front=label) for f in pareto_front(values, x=field, y="accuracy")]
        fronts[axis] = front
        line = (
            alt.Chart(alt.Data(values=front))
            .mark_line(interpolate="step-after", color=MUTED_TEXT, strokeDash=[5, 3], strokeWidth=1.5)
            .encode(x=x, y=y, tooltip=tooltip)
        )
        rings = (
            alt.Chart(alt.Data(values=front))
            .mark_point(shape="circle", size=200, filled=False, color=MUTED_TEXT, strokeWidth=1.2)
            .encode(x=x, y=y, tooltip=tooltip)
        )
        panel = alt.layer(line, rings, points).properties(width=PANEL_WIDTH, height=170)
        if k == 0:
            panel = panel.properties(title=_title(
                title or "What each method trades: accuracy against size and speed",
                "Ringed and joined by a dashed line: the Pareto front (nothing is smaller, or faster, and more "
                "accurate). " + ("Hollow: size or latency computed, not measured. " if hollow else "")
                + "Click a legend entry to pick a method.", anchor="start"))
        panels.append(panel)
    best = max(values, key=lambda v: v["accuracy"])
    parts = "; ".join(f"{AXES[a][1]}: {_listing([f['method'] + ' ' + f['setting'] for f in fr])}"
                      for a, fr in fronts.items())
    text = description or (
        f"Scatter plot{'s' if len(axes) > 1 else ''} of held-out accuracy against "
        f"{' and against '.join(AXES[a][1] for a in axes)} for {len(values)} compressed models by "
        f"{len(methods)} methods ({_listing(methods, 10)}). Most accurate: {best['method']} {best['setting']} at "
        f"{best['accuracy']:.1%}. On the Pareto front, {parts}."
    )
    return alt.vconcat(*panels, spacing=10, description=text)
