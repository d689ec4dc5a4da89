"""Lines and bars of numbers a run produced: training curves, accuracy by input
length, and bars comparing models (chapters 1-5).

Clicking a legend entry of :func:`training_curves` or :func:`metric_by_length`
highlights that series (a Vega-Lite selection bound to the legend), so the
charts stay interactive in the static book. Rows are plain dicts, e.g. from
``History.records(model=...)`` or ``accuracy_by_length``.

The charts take their container's width, with the legend below the plot, so they
fit a phone. Series differ by a colour-blind-safe colour *and* a point shape (in
:func:`training_curves` the dash tells train from eval); grouped bars carry their
group's point shape at their ends. Each chart has a
``description`` (what it shows, with its numbers), which the page gives screen
readers as the chart's accessible name.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

import altair as alt

from ._inputs import _check_rows, _number
from ._style import (
    CURVE_HEIGHT,
    CURVE_WIDTH,
    FADED,
    LEGEND_PX,
    MAIN_COLOR,
    MUTED_TEXT,
    _field,
    _fresh,
    _legend,
    _legend_columns,
    _listing,
    _number_text,
    _series_scales,
    _title,
)

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


def _series_encoding(
    series: str | None, names: Sequence[str] = (), channels: Sequence[str] = ("color",), *, legend_px: int = LEGEND_PX
) -> tuple[list[alt.Parameter], dict[str, Any]]:
    """Encode ``series`` (whose values are ``names``, in the rows' order) on ``channels``
    ("color", "shape", "strokeDash"), and a legend click that highlights one series, the
    others fading (shift-click for several).

    Every channel gets the same domain and the same legend (below the plot), so Vega-Lite
    draws one legend whose symbols show colour, shape and dash together. Returns the
    legend-bound selection (to add to one layer) and the encodings, ``opacity`` included;
    nothing when ``series`` is None.
    """
    if series is None:
        return [], {}
    scales = _series_scales(names)
    legend = _legend(series, names, budget=legend_px, symbolStrokeWidth=2)
    pick = alt.selection_point(name="legend", fields=[_field(series)], bind="legend")
    kinds = {"color": alt.Color, "shape": alt.Shape, "strokeDash": alt.StrokeDash}
    enc: dict[str, Any] = {
        ch: kinds[ch](field=_field(series), type="nominal", scale=scales[ch], legend=legend) for ch in channels
    }
    enc["opacity"] = alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(FADED))
    return [pick], enc


def _markers(values: list[dict[str, Any]], series: str | None, x: str, every: int = 12) -> None:
    """Set ``_marker`` on the rows where a series draws its point symbol: every row when a
    series has at most ``every`` points, else about 8 spread along it, each series starting
    at a different offset so that their symbols do not sit on top of each other."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for v in values:
        groups.setdefault(v.get(series) if series else None, []).append(v)
    for k, rows in enumerate(groups.values()):
        rows.sort(key=lambda r: r[x])
        stride = 1 if len(rows) <= every else math.ceil(len(rows) / 8)
        start = (k * stride) // max(len(groups), 1)
        for i, r in enumerate(rows):
            r["_marker"] = i % stride == start % stride or i == len(rows) - 1


def training_curves(
    records: Sequence[Mapping[str, Any]],
    *,
    x: str = "step",
    y: str = "loss",
    color: str | None = "model",
    title: str | None = None,
    log_y: bool = False,
    y_format: str | None = None,
    description: str | None = None,
) -> alt.LayerChart:
    """Curves of ``y`` against ``x``, one per ``color`` value, e.g. from ``History.records(model=...)``.

    Only rows that have ``y`` are drawn (train rows have ``loss``; eval rows
    have the eval metrics). When the kept rows carry more than one ``split``
    (train and eval loss), the split sets the dash. When no row has ``color``,
    the series are the splits. Each series has its colour and its point shape
    (symbols spread along the curve). Clicking a legend entry highlights that
    series (the others fade); hovering shows the nearest point's values.
    ``log_y`` uses a log scale (all y values must then be > 0); ``y_format`` is
    a d3 format for the y axis (e.g. ``".0%"`` for accuracies). ``description``
    replaces the generated text that screen readers announce.
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
    names = list(dict.fromkeys(v[series] for v in values)) if series is not None else []
    _markers(values, series if series is not None else ("split" if dash else None), x)

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
    split_px = 0
    if dash is not None:
        ordered = sorted(splits, key=lambda name: (name != "train", name))  # train solid, the others dashed
        _, split_px = _legend_columns(ordered)
    # The two legends share one row below the plot: the series legend gets what the split one leaves.
    params, extra = _series_encoding(series, names, ("color", "shape"), legend_px=max(LEGEND_PX - split_px, 0))
    shape = extra.pop("shape", None)
    if dash is not None:
        extra["strokeDash"] = alt.StrokeDash(
            field="split", type="nominal", title="split", scale=alt.Scale(domain=ordered),
            legend=_legend("split", ordered, symbolStrokeWidth=2),
        )
    hover = alt.selection_point(
        name=_fresh("hover"), fields=[fx], nearest=True, on="pointerover", clear="pointerout", empty=False
    )
    single = {} if series is not None else {"color": MAIN_COLOR}
    line = base.mark_line(strokeWidth=2, **single).encode(**extra)
    keyed = {k: v for k, v in extra.items() if k != "opacity" and k != "strokeDash"}
    if shape is not None:
        keyed["shape"] = shape
    points = (
        base.mark_point(filled=True, size=60, **single)
        .encode(
            **keyed,
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
    # Each series' symbol at a few points, so that shape as well as colour tells them apart.
    markers = (
        base.transform_filter(alt.datum._marker)
        .mark_point(filled=True, size=40, **single)
        .encode(**{k: v for k, v in extra.items() if k != "strokeDash"}, **({"shape": shape} if shape else {}))
    )
    # The points come first: Vega-Lite binds a legend selection only when its layer is the
    # first one that draws the legend.
    return alt.layer(points, line, markers, rule, data=alt.Data(values=values)).properties(
        width=CURVE_WIDTH,
        height=CURVE_HEIGHT,
        title=_title(title or f"{y} by {x}"),
        description=description or _curves_description(values, x, y, series, dash, y_format),
    )


def _last_points(values: list[dict[str, Any]], x: str, y: str, key: str | None) -> dict[Any, dict[str, Any]]:
    last: dict[Any, dict[str, Any]] = {}
    for v in values:
        k = v.get(key) if key else None
        if k not in last or v[x] >= last[k][x]:
            last[k] = v
    return last


def _curves_description(values, x, y, series, dash, y_format) -> str:
    kinds = list(dict.fromkeys(v[series] for v in values)) if series else []
    text = f"Line chart of {y} against {x}"
    text += f", one line per {series} ({_listing(kinds)})" if series else ""
    text += "; solid lines are train, dashed lines eval" if dash else ""
    ends = _last_points([v for v in values if not dash or v.get("split") == "train"], x, y, series)
    parts = [
        (f"{k}: " if series else "") + f"{_number_text(v[y], y_format)} at {x} {v[x]:g}"
        for k, v in list(ends.items())[:8]
    ]
    return text + ". Last values: " + "; ".join(parts) + "."


def metric_by_length(
    rows: Sequence[Mapping[str, Any]],
    *,
    metric: str = "seq_acc",
    color: str | None = "model",
    title: str | None = None,
    train_range: tuple[int, int] | None = None,
    description: str | None = None,
) -> alt.LayerChart:
    """Accuracy (a fraction in [0, 1]) against input length, one line per ``color`` value.

    ``rows`` are dicts ``{"length": int, metric: float, "n": int, color: str,
    ...}``, as from ``coursekit.seq2seq.accuracy_by_length`` plus a model key.
    ``train_range=(lo, hi)`` shades the lengths seen in training, so the
    extrapolation beyond ``hi`` is visible (Bahdanau et al. 2015, Fig. 2).
    Each model has its colour and point shape; clicking a legend entry
    highlights that model. ``description`` replaces the generated text that
    screen readers announce.
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
    names = list(dict.fromkeys(v[series] for v in values)) if series is not None else []
    params, enc = _series_encoding(series, names, ("color", "shape"))
    point_only = {k: enc.pop(k) for k in ("shape",) if k in enc}
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
    single = {} if series is not None else {"color": MAIN_COLOR}
    layers.append(base.mark_line(strokeWidth=2, **single).add_params(*params))
    layers.append(base.mark_point(filled=True, size=45, **single).encode(tooltip=tooltip, **point_only))
    heading = title or f"{metric} by input length"
    return alt.layer(*layers, data=alt.Data(values=values)).properties(
        width=CURVE_WIDTH,
        height=CURVE_HEIGHT,
        title=_title(heading, subtitle),
        description=description or _length_description(values, metric, series, train_range),
    )


def _length_description(values, metric, series, train_range) -> str:
    lengths = [v["length"] for v in values]
    text = f"Line chart of {metric} (0 to 100%) against input length from {min(lengths):g} to {max(lengths):g}"
    kinds = list(dict.fromkeys(v[series] for v in values)) if series else [None]
    text += f", one line per {series} ({_listing(kinds)})" if series else ""
    if train_range is not None:
        text += f"; lengths {train_range[0]} to {train_range[1]} were seen in training"
    parts = []
    for k in kinds[:8]:
        mine = sorted((v for v in values if not series or v[series] == k), key=lambda v: v["length"])
        first, last = mine[0], mine[-1]
        parts.append(
            (f"{k}: " if series else "")
            + f"{first[metric]:.0%} at length {first['length']:g}, {last[metric]:.0%} at length {last['length']:g}"
        )
    return text + ". " + "; ".join(parts) + "."


def metric_bars(
    rows: Sequence[Mapping[str, Any]],
    *,
    category: str,
    value: str,
    title: str | None = None,
    color: str | None = None,
    value_format: str = ".0%",
    description: str | None = None,
) -> alt.LayerChart:
    """Horizontal bars of ``value`` per ``category``, labelled with the value, in the rows' order.

    For comparisons such as "score function -> accuracy" or "steps to 90%".
    With ``color`` (another key, e.g. "model"), each category gets one bar per
    colour value, side by side, each group with its point shape at the bar's end
    (as in the line charts), so the bars are told apart without colour. The bars
    stop short of the right edge by the width of the labels, which always fit.
    ``value_format`` is a d3 format (".0%" for fractions, ".0f" for counts);
    with a percent format and values in [0, 1] the axis spans 0-100%.
    ``description`` replaces the generated text that screen readers announce.
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
    # The bars end short of the plot's right edge by the widest label (and a symbol), so that
    # a label never runs past the chart, whatever width the container gives it.
    reserve = alt.ExprRef(f"width - {_label_px(nums, value_format) + (14 if color else 0)}")
    scale = alt.Scale(domain=[0, 1], rangeMax=reserve) if fractions else alt.Scale(zero=True, rangeMax=reserve)
    order = list(dict.fromkeys(v[category] for v in values))
    y = alt.Y(field=fc, type="nominal", title=category, sort=order)
    x = alt.X(field=fv, type="quantitative", title=value, scale=scale, axis=alt.Axis(format=value_format))
    tooltip = [alt.Tooltip(field=fc, type="nominal", title=category)]
    tooltip += [alt.Tooltip(field=_field(color), type="nominal", title=color)] if color else []
    tooltip += [alt.Tooltip(field=fv, type="quantitative", title=value, format=value_format)]
    enc: dict[str, Any] = {}
    groups = list(dict.fromkeys(v[color] for v in values)) if color else []
    if color:
        scales = _series_scales(groups)
        legend = _legend(color, groups)
        enc["color"] = alt.Color(field=_field(color), type="nominal", title=color, sort=None, scale=scales["color"], legend=legend)
        enc["yOffset"] = alt.YOffset(field=_field(color), type="nominal", sort=None)
    offset = {"yOffset": enc.pop("yOffset")} if "yOffset" in enc else {}
    base = alt.Chart().encode(y=y, x=x, tooltip=tooltip, **offset)
    bars = base.mark_bar(**({} if color else {"color": MAIN_COLOR})).encode(**enc)
    label = base.mark_text(align="left", baseline="middle", dx=14 if color else 3, fontSize=11, color=MUTED_TEXT)
    text = label.encode(text=alt.Text(field=fv, type="quantitative", format=value_format))
    layers = [bars, text]
    if color:  # each group's point shape at its bars' ends: the bars differ by more than their colour
        shape = alt.Shape(field=_field(color), type="nominal", sort=None, scale=scales["shape"], legend=legend)
        layers.append(
            base.mark_point(filled=True, size=55, opacity=1, stroke="#1b1b1b", strokeWidth=0.7, xOffset=7).encode(**enc, shape=shape)
        )
    height = 22 * len(values) if color else 26 * len(order)  # px per bar (a number: the width is the container's)
    return alt.layer(*layers, data=alt.Data(values=values)).properties(
        width=CURVE_WIDTH,
        height=height,
        title=_title(title or f"{value} by {category}"),
        description=description or _bars_description(values, category, value, color, value_format),
    )


def _label_px(nums: Sequence[float], value_format: str) -> int:
    """About how wide (px, 11 px text) the widest value label is, formatted as d3 would."""
    def shown(v: float) -> str:
        try:
            return format(v, value_format.lstrip("~"))
        except ValueError:
            return f"{v:.4g}"

    return 8 + 7 * max(len(shown(v)) for v in nums)


def _json_str(text: str) -> str:
    """``text`` as a string literal in a Vega expression."""
    return json.dumps(text, ensure_ascii=False)


def _bars_description(values, category, value, color, value_format) -> str:
    text = f"Bar chart of {value} by {category}" + (f" and {color}" if color else "")
    parts = [
        f"{v[category]}" + (f" ({v[color]})" if color else "") + f": {_number_text(v[value], value_format)}"
        for v in values[:16]
    ]
    more = f"; and {len(values) - 16} more bars" if len(values) > 16 else ""
    return text + ". " + "; ".join(parts) + more + "."
