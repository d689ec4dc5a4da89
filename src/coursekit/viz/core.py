"""Charts every chapter reuses: attention heatmaps, training curves, accuracy by length, bars.

Every chart is an Altair (Vega-Lite) chart whose interactions are Vega-Lite
parameters and selections, so they work in the static book with no kernel:
the example menu and the hovered decoder step of :func:`attention_explorer`,
and the clickable legends of :func:`training_curves` and
:func:`metric_by_length`. bertviz's head view (:func:`show_cross_attention`)
is the other interactive figure; bertviz is imported only there.

Conventions
-----------
- Legend: T output (target, query) length, S source (key) length, L layers,
  H heads.
- Attention weights are ``(T, S)``: row ``t`` is the distribution decoder step
  ``t`` puts over the source, as in ``Seq2SeqOutput.alignments[b]``.
- Inputs may be torch tensors, NumPy arrays or nested lists; they are converted
  once, and a bad shape raises ValueError naming what was expected and what
  was received.
- Data reach Altair as lists of dicts (``alt.Data(values=...)``, no pandas)
  with explicit encoding types. Cells are indexed by *position*
  (``src_pos``, ``tgt_pos``), never by token text, so repeated tokens stay
  separate; the axes show the token text through a ``labelExpr`` lookup.
- No chart calls ``.configure_*``: the charts can still be layered or
  concatenated by a notebook.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any, Iterable, Mapping, Sequence

import altair as alt
import numpy as np
import torch

__all__ = [
    "attention_heatmap",
    "attention_explorer",
    "training_curves",
    "metric_by_length",
    "metric_bars",
    "to_bertviz_cross_attention",
    "show_cross_attention",
]

# Sizes fit a ~700 px book column: the plot itself, plus room for axis labels and a legend.
MAX_PLOT_PX = 560
CURVE_WIDTH, CURVE_HEIGHT = 440, 260  # 440 + axes + a legend fit the ~620 px output area at a 1200 px window
WEIGHT_SCHEME = "blues"  # sequential and perceptually ordered: darker = more weight
HIGHLIGHT = "#e4572e"  # the hovered decoder step; orange stands out against blues
FADED = 0.15  # opacity of the series a legend click does not pick
_PARAM_IDS = itertools.count(1)


# ----------------------------------------------------------------------------- input helpers
def _describe(x: object) -> str:
    if isinstance(x, (torch.Tensor, np.ndarray)):
        return f"a {x.ndim}-d {type(x).__name__} of shape {tuple(x.shape)}"
    return f"{type(x).__name__}"


def _as_array(x: object, name: str) -> np.ndarray:
    """A float64 NumPy copy of a tensor, array or nested list (finite values only)."""
    if isinstance(x, torch.Tensor):
        arr = x.detach().to("cpu", torch.float64).numpy()
    else:
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be a tensor, array or rectangular nested list of numbers, got {_describe(x)}"
            ) from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(arr)).sum())} NaN/inf values")
    return arr


def _as_tokens(tokens: object, name: str) -> list[str]:
    if isinstance(tokens, str) or not isinstance(tokens, Iterable):
        raise ValueError(f"{name} must be a list of tokens (e.g. list('abc')), got {type(tokens).__name__}")
    return [str(t) for t in tokens]


def _weights_2d(weights: object, src_tokens: object, tgt_tokens: object, name: str = "weights"):
    """Validate one alignment: (T, S) weights with T target tokens and S source tokens."""
    w = _as_array(weights, name)
    src, tgt = _as_tokens(src_tokens, "src_tokens"), _as_tokens(tgt_tokens, "tgt_tokens")
    if w.ndim == 3 and w.shape[0] == 1:
        w = w[0]  # (1, T, S): a batch of one
    if w.ndim != 2:
        hint = " (pick one example, e.g. alignments[0])" if w.ndim == 3 else ""
        raise ValueError(f"{name} must have shape (T, S), got {_describe(w)}{hint}")
    T, S = w.shape
    if (T, S) != (len(tgt), len(src)):
        raise ValueError(
            f"{name} must have shape (T, S) = (len(tgt_tokens), len(src_tokens)) = ({len(tgt)}, {len(src)}), "
            f"got {tuple(w.shape)}"
        )
    if T == 0 or S == 0:
        raise ValueError(f"{name} must have at least one row and one column, got shape {tuple(w.shape)}")
    return w, src, tgt


def _display(token: str) -> str:
    """Token text as shown on an axis: whitespace made visible."""
    if token == "":
        return "∅"
    return token.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥")


def _field(name: str) -> str:
    """A data key as a Vega-Lite field name (dots and brackets would mean nested access)."""
    return name.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")


def _check_rows(rows: object, name: str) -> list[Mapping[str, Any]]:
    if not isinstance(rows, Sequence) or isinstance(rows, (str, bytes)) or not rows:
        raise ValueError(f"{name} must be a non-empty list of dicts, got {_describe(rows)}")
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping):
            raise ValueError(f"{name}[{i}] must be a dict, got {type(r).__name__}")
    return list(rows)


def _require_keys(record: Mapping[str, Any], where: str, required: Sequence[str], optional: Sequence[str] = ()) -> None:
    """Raise ValueError naming the keys ``record`` lacks, the keys it should have, and those it has."""
    missing = [key for key in required if key not in record]
    if missing:
        want = ", ".join(f"'{key}'" for key in required)
        extra = f" (and optionally {', '.join(repr(key) for key in optional)})" if optional else ""
        raise ValueError(f"{where} must have keys {want}{extra}; missing {missing}, got keys {sorted(record)}")


def _number(value: object, what: str) -> float | int:
    """A plain, finite Python number (ints stay ints) from a number, 0-d tensor or NumPy scalar."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{what} must be finite, got {v}")
    return v


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


def _token_cells(w: np.ndarray, src: list[str], tgt: list[str], **extra: Any) -> list[dict[str, Any]]:
    """One dict per (target position, source position) cell."""
    return [
        {
            **extra,
            "tgt_pos": t,
            "src_pos": s,
            "tgt_token": _display(tgt[t]),
            "src_token": _display(src[s]),
            "weight": round(float(w[t, s]), 6),
        }
        for t in range(len(tgt))
        for s in range(len(src))
    ]


def _cell_px(cell_size: int, n_cols: int, n_rows: int) -> int:
    """Square cells no larger than ``cell_size`` that keep the plot within MAX_PLOT_PX."""
    if not isinstance(cell_size, int) or isinstance(cell_size, bool) or cell_size < 4:
        raise ValueError(f"cell_size must be an int >= 4 (pixels), got {cell_size!r}")
    return max(4, min(cell_size, MAX_PLOT_PX // max(n_cols, 1), MAX_PLOT_PX // max(n_rows, 1)))


def _token_axis(
    labels: str, title: str, cell: int, longest: int | str, orient: str | None = None
) -> alt.Axis:
    """An axis over positions that shows token text (``labels`` is a Vega expression).

    Horizontal axes tilt their labels when a token is longer than two
    characters; ``longest`` is that length, or a Vega expression giving it.
    """
    kwargs: dict[str, Any] = dict(
        title=title,
        labelExpr=labels,
        labelFontSize=11 if cell >= 14 else max(6, cell - 3),
        labelPadding=3,
        ticks=False,
        domain=False,
        labelOverlap=False,
    )
    if orient is not None:
        kwargs["orient"] = orient
    if orient in ("top", "bottom"):
        tilt = "left" if orient == "top" else "right"
        if isinstance(longest, str):  # decided when the chart runs (the explorer's examples differ)
            kwargs["labelAngle"] = alt.expr(f"{longest} > 2 ? -50 : 0")
            kwargs["labelAlign"] = alt.expr(f"{longest} > 2 ? '{tilt}' : 'center'")
        else:
            kwargs["labelAngle"] = 0 if longest <= 2 else -50
            kwargs["labelAlign"] = tilt if longest > 2 else "center"
    return alt.Axis(**kwargs)


def _legend_px(plot_height: int) -> int:
    """A colour bar no taller than the plot beside it (within 80-200 px)."""
    return max(80, min(200, plot_height))


def _weight_scale(values: np.ndarray) -> alt.Scale:
    """Weights in [0, 1] share the fixed domain [0, 1], so charts compare; other scores use their range."""
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0.0 and hi <= 1.0:
        return alt.Scale(scheme=WEIGHT_SCHEME, domain=[0, 1])
    return alt.Scale(scheme="viridis", domain=[lo, hi])


def _tooltips(x_title: str, y_title: str, value_name: str) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("tgt_token:N", title=f"{y_title} token"),
        alt.Tooltip("tgt_pos:O", title=f"{y_title} position"),
        alt.Tooltip("src_token:N", title=f"{x_title} token"),
        alt.Tooltip("src_pos:O", title=f"{x_title} position"),
        alt.Tooltip("weight:Q", title=value_name, format=".3f"),
    ]


# ----------------------------------------------------------------------------- heatmaps
def attention_heatmap(
    weights: object,
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    *,
    title: str | None = None,
    cell_size: int = 22,
    x_title: str = "source",
    y_title: str = "output",
    value_name: str = "weight",
) -> alt.Chart:
    """An alignment heatmap (Bahdanau et al. 2015, Fig. 3): where each output token looked.

    weights (T, S) float (a (1, T, S) batch of one is accepted): row t is
    output step t's distribution over the source. src_tokens has S entries
    (the x axis, left to right), tgt_tokens has T (the y axis, top to bottom).
    Weights in [0, 1] use the fixed colour domain [0, 1]; anything else (raw
    scores) uses its own range. ``x_title``/``y_title`` rename the axes (e.g.
    "key"/"query" for self-attention); ``value_name`` names the value in the
    legend and tooltip (e.g. "score").
    """
    w, src, tgt = _weights_2d(weights, src_tokens, tgt_tokens)
    T, S = w.shape
    cell = _cell_px(cell_size, S, T)
    src_labels = json.dumps([_display(t) for t in src], ensure_ascii=False) + "[datum.value]"
    tgt_labels = json.dumps([_display(t) for t in tgt], ensure_ascii=False) + "[datum.value]"
    longest = max(len(_display(t)) for t in src)
    return (
        alt.Chart(alt.Data(values=_token_cells(w, src, tgt)))
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("src_pos:O", axis=_token_axis(src_labels, x_title, cell, longest, orient="top")),
            y=alt.Y("tgt_pos:O", axis=_token_axis(tgt_labels, y_title, cell, 0)),
            color=alt.Color(
                "weight:Q",
                scale=_weight_scale(w),
                legend=alt.Legend(title=value_name, gradientLength=_legend_px(T * cell)),
            ),
            tooltip=_tooltips(x_title, y_title, value_name),
        )
        .properties(width=alt.Step(cell), height=alt.Step(cell), title=title or f"Attention {value_name}s")
    )


def attention_explorer(
    examples: Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
    cell_size: int = 22,
    x_title: str = "source",
    y_title: str = "output",
) -> alt.VConcatChart:
    """Several alignment heatmaps behind one menu, plus the hovered step's weights as bars.

    ``examples`` is a list of dicts ``{"weights": (T, S), "src_tokens": [S
    tokens], "tgt_tokens": [T tokens], "label": str}`` (label optional); T and
    S may differ between examples. Two Vega-Lite interactions, both live in the
    static book:

    - the parameter ``example`` (bound to a drop-down menu) picks which example
      the heatmap shows; all examples share one dataset with an ``example``
      field that a filter compares with the parameter;
    - the point selection ``out_step`` follows the pointer over the heatmap's
      rows: the hovered output step is outlined, and the bar chart below shows
      that step's weights over the source tokens (step 0 at first).
    """
    examples = _check_rows(examples, "examples")
    rows: list[dict[str, Any]] = []
    src_lists, tgt_lists, labels, all_w = [], [], [], []
    for k, ex in enumerate(examples):
        _require_keys(ex, f"examples[{k}]", ("weights", "src_tokens", "tgt_tokens"), ("label",))
        w, src, tgt = _weights_2d(
            ex["weights"], ex["src_tokens"], ex["tgt_tokens"], name=f"examples[{k}]['weights']"
        )
        rows.extend(_token_cells(w, src, tgt, example=k))
        src_lists.append([_display(t) for t in src])
        tgt_lists.append([_display(t) for t in tgt])
        labels.append(str(ex.get("label", f"example {k}")))
        all_w.append(w.ravel())
    weights = np.concatenate(all_w)
    max_s, max_t = max(map(len, src_lists)), max(map(len, tgt_lists))
    cell = _cell_px(cell_size, max_s, max_t)
    longest = f"{json.dumps([max(len(t) for t in toks) for toks in src_lists])}[example]"

    example = alt.param(
        name="example",
        value=0,
        bind=alt.binding_select(options=list(range(len(examples))), labels=labels, name="Example: "),
    )
    out_step = alt.selection_point(
        name="out_step", fields=["tgt_pos"], on="pointerover", clear=False, value=[{"tgt_pos": 0}]
    )
    # Token text for the axes: a lookup table indexed by the current example, then by position.
    src_labels = f"({json.dumps(src_lists, ensure_ascii=False)}[example] || [])[datum.value]"
    tgt_labels = f"({json.dumps(tgt_lists, ensure_ascii=False)}[example] || [])[datum.value]"
    x = alt.X("src_pos:O", axis=_token_axis(src_labels, x_title, cell, longest, orient="top"))

    base = alt.Chart(alt.Data(values=rows)).transform_filter(alt.datum.example == example)
    heat = (
        base.mark_rect()
        .encode(
            x=x,
            y=alt.Y("tgt_pos:O", axis=_token_axis(tgt_labels, y_title, cell, 0)),
            color=alt.Color(
                "weight:Q",
                scale=_weight_scale(weights),
                legend=alt.Legend(title="weight", gradientLength=_legend_px(min(map(len, tgt_lists)) * cell)),
            ),
            stroke=alt.when(out_step, empty=False).then(alt.value(HIGHLIGHT)).otherwise(alt.value("white")),
            strokeWidth=alt.when(out_step, empty=False).then(alt.value(2.0)).otherwise(alt.value(0.5)),
            tooltip=_tooltips(x_title, y_title, "weight"),
        )
        .add_params(example, out_step)
        .properties(
            width=alt.Step(cell),
            height=alt.Step(cell),
            title=alt.Title(
                title or "Attention weights",
                subtitle=f"Pick an example in the menu; point at an {y_title} row to see its weights below.",
                anchor="start",
            ),
        )
    )
    in_unit = weights.min() >= 0 and weights.max() <= 1
    bar_scale = alt.Scale(domain=[0, 1]) if in_unit else alt.Scale(zero=True)
    hovered = "(out_step.tgt_pos ? out_step.tgt_pos[0] : 0)"  # the selection's value, as a Vega expression
    step_label = f"({json.dumps(tgt_lists, ensure_ascii=False)}[example] || [])[{hovered}]"
    bars = (
        base.transform_filter(out_step, empty=False)
        .mark_bar(color="#3d7ab8")
        .encode(
            x=alt.X("src_pos:O", axis=_token_axis(src_labels, x_title, cell, longest, orient="bottom")),
            y=alt.Y("weight:Q", scale=bar_scale, axis=alt.Axis(title="weight", tickCount=3)),
            tooltip=_tooltips(x_title, y_title, "weight"),
        )
        .properties(
            width=alt.Step(cell),
            height=90,
            title=alt.Title(
                alt.expr(f"'Weights while writing {y_title} step ' + {hovered} + ': ' + {step_label}"),
                fontSize=12,
                fontWeight="normal",
                anchor="start",
            ),
        )
    )
    # An independent legend sits beside the heatmap rather than beside the whole figure.
    return alt.vconcat(heat, bars, spacing=12).resolve_legend(color="independent")


# ----------------------------------------------------------------------------- curves
def _series_color(series: str) -> alt.Color:
    """Colour by series, legend entries drawn as line segments, in the rows' order."""
    legend = alt.Legend(title=series, symbolType="stroke", symbolStrokeWidth=3)
    return alt.Color(field=_field(series), type="nominal", sort=None, legend=legend)


def _legend_highlight(field: str) -> alt.Parameter:
    """Click a legend entry to highlight that series (shift-click for several)."""
    return alt.selection_point(name="legend", fields=[field], bind="legend")


def _fresh(prefix: str) -> str:
    """A parameter name unique in this process: Altair names identical selections
    identically, and two charts that share one legend-bound selection cannot be
    concatenated (Vega: "Duplicate signal name")."""
    return f"{prefix}_{next(_PARAM_IDS)}"


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
    extra: dict[str, Any] = {}
    params = []
    if series is not None:
        pick = _legend_highlight(_field(series))
        params.append(pick)
        extra["color"] = _series_color(series)
        extra["opacity"] = alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(FADED))
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
    enc: dict[str, Any] = {}
    params = []
    if series is not None:
        pick = _legend_highlight(_field(series))
        params.append(pick)
        enc["color"] = _series_color(series)
        enc["opacity"] = alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(FADED))
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


# ----------------------------------------------------------------------------- bertviz
def to_bertviz_cross_attention(weights: object) -> list[torch.Tensor]:
    """Alignments in the layout bertviz's ``head_view(cross_attention=...)`` reads.

    Accepts (T, S), a batch of one (1, T, S), (L, H, T, S), or a list of L
    per-layer tensors of shape (1, H, T, S) or (H, T, S) (what transformers
    returns). Returns a list of L float32 CPU tensors, each (1, H, T, S): one
    per layer, batch of one, heads second, decoder (target) positions as rows.
    A single RNN alignment becomes one layer with one head.
    """
    if isinstance(weights, (list, tuple)) and weights and all(isinstance(w, torch.Tensor) for w in weights):
        layers = []
        for i, w in enumerate(weights):
            a = torch.as_tensor(_as_array(w, f"weights[{i}]"), dtype=torch.float32)
            if a.dim() == 3:
                a = a[None]
            if a.dim() != 4 or a.shape[0] != 1:
                raise ValueError(
                    f"weights[{i}] must have shape (1, H, T, S) or (H, T, S), got {tuple(w.shape)}"
                )
            if layers and a.shape != layers[0].shape:
                raise ValueError(
                    f"every layer must have the same shape, got {tuple(layers[0].shape)} "
                    f"and {tuple(a.shape)} (layer {i})"
                )
            layers.append(a)
        return layers
    a = torch.as_tensor(_as_array(weights, "weights"), dtype=torch.float32)
    if a.dim() == 2:  # (T, S): one layer, one head
        a = a[None, None]  # (L=1, H=1, T, S)
    elif a.dim() == 3:
        if a.shape[0] != 1:
            raise ValueError(
                f"3-d weights must be a batch of one (1, T, S), got shape {tuple(a.shape)}; pick one example "
                f"(alignments[i]), or pass heads as (L, H, T, S), e.g. weights[None] for one layer"
            )
        a = a[None]  # (1, 1, T, S): the batch axis becomes the single head
    elif a.dim() != 4:
        raise ValueError(f"weights must have shape (T, S), (1, T, S) or (L, H, T, S), got {_describe(a)}")
    if a.shape[-1] == 0 or a.shape[-2] == 0:
        raise ValueError(f"weights must have at least one row and one column, got shape {tuple(a.shape)}")
    return [layer[None].contiguous() for layer in a]  # L tensors of (1, H, T, S)


def show_cross_attention(
    weights: object,
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    *,
    layer: int | None = None,
    heads: list[int] | None = None,
    html_action: str = "view",
) -> Any:
    """bertviz's head view of cross-attention: lines from each output token to the source tokens.

    weights as for :func:`to_bertviz_cross_attention`; T must equal
    ``len(tgt_tokens)`` and S ``len(src_tokens)``. With ``html_action="view"``
    the view is displayed (IPython.display) and None is returned; with
    ``"return"`` bertviz returns an ``IPython.display.HTML`` instead. bertviz
    loads d3 and jQuery with require.js from a CDN (the book vendors them).
    """
    from bertviz import head_view

    cross = to_bertviz_cross_attention(weights)
    src, tgt = _as_tokens(src_tokens, "src_tokens"), _as_tokens(tgt_tokens, "tgt_tokens")
    _, H, T, S = cross[0].shape
    if (T, S) != (len(tgt), len(src)):
        raise ValueError(
            f"weights must have (T, S) = (len(tgt_tokens), len(src_tokens)) = ({len(tgt)}, {len(src)}), "
            f"got (T, S) = ({T}, {S})"
        )
    if html_action not in ("view", "return"):
        raise ValueError(f"html_action must be 'view' or 'return', got {html_action!r}")
    return head_view(
        cross_attention=cross,
        encoder_tokens=[_display(t) for t in src],
        decoder_tokens=[_display(t) for t in tgt],
        layer=layer,
        heads=heads,
        html_action=html_action,
    )
