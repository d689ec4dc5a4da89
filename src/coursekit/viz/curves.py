"""Lines and bars of numbers a run produced: training curves, accuracy by input
length, and bars comparing models (chapters 1-5).

Clicking a legend entry of :func:`training_curves` or :func:`metric_by_length`
highlights that series (a Vega-Lite selection bound to the legend), so the
charts stay interactive in the static book. Rows are plain dicts, e.g. from
``History.records(model=...)`` or ``accuracy_by_length``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import altair as alt

from ._inputs import _check_rows, _number
from ._style import CURVE_HEIGHT, CURVE_WIDTH, FADED, _field, _fresh

__all__ = ["training_curves", "metric_by_length", "metric_bars"]


def _series_field(rows: Sequence[Mapping[str, Any]], color: str | None, what: str) -> str | None:
    """``color`` if every row has it, None if no row has it; a mix is an error."""
    if color is None:
        return None
    have = sum(color in r for r in rows)
    if have == 0:
        return None
    if have != len(rows):
        raise ValueError(f"{what}: {len(rows) - have} of {len(rows)} rows lack the color key {color!r}")
    return color


def _series_encoding(series: str | None) -> tuple[list[alt.Parameter], dict[str, Any]]:
    """Colour by ``series`` (legend entries drawn as line segments, in the rows' order) and a
    legend click that highlights one series, the others fading (shift-click for several).

    Returns the legend-bound selection (to add to one layer) and the ``color``/``opacity``
    encodings; nothing when ``series`` is None.
    """
    if series is None:
        return [], {}
    legend = alt.Legend(title=series, symbolType="stroke", symbolStrokeWidth=3)
    pick = alt.selection_point(name="legend", fields=[_field(series)], bind="legend")
    return [pick], {
        "color": alt.Color(field=_field(series), type="nominal", sort=None, legend=legend),
        "opacity": alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(FADED)),
    }


def training_curves(
    records: Sequence[Mapping[str, Any]],
    *,
    x: str = "step",
    y: str = "loss",
    color: str | None = "model",
    title: str | None = None,
    log_y: bool = False,
    y_format: str | None = None,
) -> alt.LayerChart:
    """Curves of ``y`` against ``x``, one per ``color`` value, e.g. from ``History.records(model=...)``.

    Only rows that have ``y`` are drawn (train rows have ``loss``; eval rows
    have the eval metrics). When the kept rows carry more than one ``split``
    (train and eval loss), the split sets the dash. When no row has ``color``,
    the series are the splits. Clicking a legend entry highlights that series
    (the others fade); hovering shows the nearest point's values. ``log_y``
    uses a log scale (all y values must then be > 0); ``y_format`` is a d3
    format for the y axis (e.g. ``".0%"`` for accuracies).
    """
    rows = _check_rows(records, "records")
    kept = [r for r in rows if r.get(y) is not None]
    if not kept:
        keys = sorted({k for r in rows for k in r})
        raise ValueError(f"no record has the key y={y!r}; the records have keys {keys}")
    for r in kept:
        if x not in r:
            raise ValueError(f"records with {y!r} must also have the key x={x!r}; one has keys {sorted(r)}")
    series = _series_field(kept, color, "training_curves")
    splits = sorted({str(r["split"]) for r in kept if "split" in r})
    dash = "split" if len(splits) > 1 and series is not None and series != "split" else None
    if series is None and len(splits) > 1 and all("split" in r for r in kept):
        series = "split"  # no model key: one curve per split
    values = []
    for r in kept:
        v = {x: _number(r[x], f"{x} in a record"), y: _number(r[y], f"{y} in a record")}
        if log_y and v[y] <= 0:
            raise ValueError(f"log_y=True needs every {y!r} > 0, got {v[y]} at {x}={v[x]}")
        if series is not None:
            v[series] = str(r[series])
        if dash is not None:
            v["split"] = str(r.get("split", ""))
        values.append(v)

    fx, fy = _field(x), _field(y)
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    enc_x = alt.X(field=fx, type="quantitative", title=x)
    y_axis = alt.Axis(format=y_format) if y_format else alt.Axis()
    enc_y = alt.Y(field=fy, type="quantitative", title=y, scale=y_scale, axis=y_axis)
    # format="" works around a Vega-Lite 6 bug: with a `nearest` selection, nominal tooltips read
    # datum[f] instead of datum.datum[f] and show "undefined" (vega/altair#3926, vega/vega-lite#9707).
    tooltip = [alt.Tooltip(field=_field(series), type="nominal", title=series, format="")] if series else []
    tooltip += [alt.Tooltip(field="split", type="nominal", format="")] if dash else []
    tooltip += [
        alt.Tooltip(field=fx, type="quantitative", title=x),
        alt.Tooltip(field=fy, type="quantitative", title=y, format=y_format or ".4g"),
    ]

    base = alt.Chart().encode(x=enc_x, y=enc_y)  # the data sit once, on the layer
    params, extra = _series_encoding(series)
    if dash is not None:
        ordered = sorted(splits, key=lambda name: (name != "train", name))  # train solid, the others dashed
        extra["strokeDash"] = alt.StrokeDash(
            field="split", type="nominal", title="split", scale=alt.Scale(domain=ordered)
        )
    hover = alt.selection_point(
        name=_fresh("hover"), fields=[fx], nearest=True, on="pointerover", clear="pointerout", empty=False
    )
    line = base.mark_line(strokeWidth=2).encode(**extra)
    points = (
        base.mark_point(filled=True, size=45)
        .encode(
            **{k: v for k, v in extra.items() if k != "opacity" and k != "strokeDash"},
            opacity=alt.when(hover).then(alt.value(1.0)).otherwise(alt.value(0.0)),
            tooltip=tooltip,
        )
        # Both parameters live on this one layer: in a concatenation Altair hands a layer's
        # parameters to every sub-layer that has any, and a legend bound twice is a
        # duplicate Vega signal.
        .add_params(*params, hover)
    )
    rule = base.mark_rule(color="#999").encode(
        y=alt.value(0),
        y2=alt.value(CURVE_HEIGHT),
        opacity=alt.when(hover).then(alt.value(1.0)).otherwise(alt.value(0.0)),
    )
    # The points come first: Vega-Lite binds a legend selection only when its layer is the
    # first one that draws the legend.
    return alt.layer(points, line, rule, data=alt.Data(values=values)).properties(
        width=CURVE_WIDTH, height=CURVE_HEIGHT, title=title or f"{y} by {x}"
    )


def metric_by_length(
    rows: Sequence[Mapping[str, Any]],
    *,
    metric: str = "seq_acc",
    color: str | None = "model",
    title: str | None = None,
    train_range: tuple[int, int] | None = None,
) -> alt.LayerChart:
    """Accuracy (a fraction in [0, 1]) against input length, one line per ``color`` value.

    ``rows`` are dicts ``{"length": int, metric: float, "n": int, color: str,
    ...}``, as from ``coursekit.seq2seq.accuracy_by_length`` plus a model key.
    ``train_range=(lo, hi)`` shades the lengths seen in training, so the
    extrapolation beyond ``hi`` is visible (Bahdanau et al. 2015, Fig. 2).
    Clicking a legend entry highlights that model.
    """
    rows = _check_rows(rows, "rows")
    series = _series_field(rows, color, "metric_by_length")
    has_n = all("n" in r for r in rows)
    values = []
    for i, r in enumerate(rows):
        for key in ("length", metric):
            if key not in r:
                raise ValueError(f"rows[{i}] must have the keys 'length' and {metric!r}; got keys {sorted(r)}")
        v = {"length": _number(r["length"], "length"), metric: _number(r[metric], metric)}
        if not 0.0 <= v[metric] <= 1.0:
            raise ValueError(
                f"{metric} must be a fraction in [0, 1], got {v[metric]} at length {v['length']:g}"
            )
        if series is not None:
            v[series] = str(r[series])
        if has_n:
            v["n"] = int(r["n"])
        values.append(v)

    fm = _field(metric)
    x = alt.X(
        "length:Q",
        title="input length (tokens)",
        scale=alt.Scale(zero=False),
        axis=alt.Axis(tickMinStep=1, format="d"),
    )
    y = alt.Y(
        field=fm, type="quantitative", title=metric, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")
    )
    tooltip = [alt.Tooltip(field=_field(series), type="nominal", title=series)] if series else []
    tooltip += [
        alt.Tooltip("length:Q", title="length"),
        alt.Tooltip(field=fm, type="quantitative", title=metric, format=".1%"),
    ]
    tooltip += [alt.Tooltip("n:Q", title="examples")] if has_n else []
    params, enc = _series_encoding(series)
    base = alt.Chart().encode(x=x, y=y, **enc)  # the data sit once, on the layer
    layers: list[alt.Chart] = []
    subtitle = None
    if train_range is not None:
        if (
            not isinstance(train_range, (tuple, list))
            or len(train_range) != 2
            or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in train_range)
            or train_range[0] > train_range[1]
        ):
            raise ValueError(f"train_range must be (lo, hi) with lo <= hi, got {train_range!r}")
        lo, hi = train_range
        band = alt.Chart(alt.Data(values=[{"lo": lo - 0.5, "hi": hi + 0.5, "label": f"{lo}–{hi}"}]))
        layers.append(
            band.mark_rect(color="#ececec").encode(
                x=alt.X("lo:Q", title="input length (tokens)"),
                x2="hi:Q",
                tooltip=[alt.Tooltip("label:N", title="lengths seen in training")],
            )
        )
        subtitle = f"Shaded: the lengths seen in training ({lo}–{hi}); beyond them the model extrapolates."
    layers.append(base.mark_line(strokeWidth=2).add_params(*params))
    layers.append(base.mark_point(filled=True, size=40).encode(tooltip=tooltip))
    heading = title or f"{metric} by input length"
    return alt.layer(*layers, data=alt.Data(values=values)).properties(
        width=CURVE_WIDTH,
        height=CURVE_HEIGHT,
        title=alt.Title(heading, subtitle=subtitle) if subtitle else heading,
    )


def metric_bars(
    rows: Sequence[Mapping[str, Any]],
    *,
    category: str,
    value: str,
    title: str | None = None,
    color: str | None = None,
    value_format: str = ".0%",
) -> alt.LayerChart:
    """Horizontal bars of ``value`` per ``category``, labelled with the value, in the rows' order.

    For comparisons such as "score function -> accuracy" or "steps to 90%".
    With ``color`` (another key, e.g. "model"), each category gets one bar per
    colour value, side by side. ``value_format`` is a d3 format (".0%" for
    fractions, ".0f" for counts); with a percent format and values in [0, 1]
    the axis spans 0-100%.
    """
    rows = _check_rows(rows, "rows")
    values = []
    for i, r in enumerate(rows):
        need = [category, value] + ([color] if color else [])
        if any(k not in r for k in need):
            raise ValueError(f"rows[{i}] must have the keys {need}; got keys {sorted(r)}")
        v = {category: str(r[category]), value: _number(r[value], f"{value} in rows[{i}]")}
        if color:
            v[color] = str(r[color])
        values.append(v)
    nums = [v[value] for v in values]
    fc, fv = _field(category), _field(value)
    fractions = value_format.endswith("%") and min(nums) >= 0 and max(nums) <= 1
    scale = alt.Scale(domain=[0, 1]) if fractions else alt.Scale(zero=True)
    order = list(dict.fromkeys(v[category] for v in values))
    y = alt.Y(field=fc, type="nominal", title=category, sort=order)
    x = alt.X(field=fv, type="quantitative", title=value, scale=scale, axis=alt.Axis(format=value_format))
    tooltip = [alt.Tooltip(field=fc, type="nominal", title=category)]
    tooltip += [alt.Tooltip(field=_field(color), type="nominal", title=color)] if color else []
    tooltip += [alt.Tooltip(field=fv, type="quantitative", title=value, format=value_format)]
    enc: dict[str, Any] = {}
    if color:
        enc["color"] = alt.Color(field=_field(color), type="nominal", title=color, sort=None)
        enc["yOffset"] = alt.YOffset(field=_field(color), type="nominal", sort=None)
    base = alt.Chart().encode(y=y, x=x, tooltip=tooltip, **enc)
    bars = base.mark_bar(**({} if color else {"color": "#4c78a8"}))
    text = base.mark_text(align="left", baseline="middle", dx=3, fontSize=11, color="#333").encode(
        text=alt.Text(field=fv, type="quantitative", format=value_format)
    )
    height = 22 * len(values) if color else alt.Step(26)  # grouped bars: 22 px per bar
    return alt.layer(bars, text, data=alt.Data(values=values)).properties(
        width=440, height=height, title=title or f"{value} by {category}"
    )
