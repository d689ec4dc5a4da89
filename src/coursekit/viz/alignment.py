"""Alignment heatmaps: where each output token looked (chapters 2 and 5).

- :func:`attention_heatmap`: one (T, S) alignment, as in Bahdanau et al. (2015), Fig. 3.
- :func:`attention_explorer`: several alignments behind a menu, and the hovered
  output step's weights as bars below; both interactions are Vega-Lite
  parameters, so they work in the static book with no kernel.

Conventions
-----------
- Legend: T output (target, query) length, S source (key) length.
- Attention weights are ``(T, S)``: row ``t`` is the distribution decoder step
  ``t`` puts over the source, as in ``Seq2SeqOutput.alignments[b]``.
- Cells are indexed by *position* (``src_pos``, ``tgt_pos``), never by token
  text, so repeated tokens stay separate; the axes show the token text through
  a ``labelExpr`` lookup.
- The colour bar sits below the plot, and each chart has a ``description`` that
  names the tokens and, per output token, the source token it looked at most,
  which the page gives screen readers as the chart's accessible name.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import altair as alt
import numpy as np

from ._inputs import _as_array, _as_tokens, _check_rows, _describe, _require_keys
from ._style import (
    HIGHLIGHT,
    MAIN_COLOR,
    MAX_PLOT_PX,
    WEIGHT_SCHEME,
    _display,
    _gradient_legend,
    _count,
    _listing,
    _title,
    _tokens_text,
    _token_axis,
)

__all__ = ["attention_heatmap", "attention_explorer"]


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


def _describe_alignment(w: np.ndarray, src: list[str], tgt: list[str], x_title: str, y_title: str) -> str:
    """Per output token, the source token with the largest weight ("a→x 0.62"), for screen readers."""
    shown = [f"{_display(tgt[t])}→{_display(src[int(w[t].argmax())])} {w[t].max():.2f}" for t in range(len(tgt))]
    return (
        f"{_count(len(tgt), y_title + ' token')} ({_tokens_text([_display(t) for t in tgt])}) by "
        f"{_count(len(src), x_title + ' token')} ({_tokens_text([_display(t) for t in src])}). "
        f"Largest weight per {y_title} token: {_listing(shown, 24)}."
    )


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
    description: str | None = None,
) -> alt.Chart:
    """An alignment heatmap (Bahdanau et al. 2015, Fig. 3): where each output token looked.

    weights (T, S) float (a (1, T, S) batch of one is accepted): row t is
    output step t's distribution over the source. src_tokens has S entries
    (the x axis, left to right), tgt_tokens has T (the y axis, top to bottom).
    Weights in [0, 1] use the fixed colour domain [0, 1]; anything else (raw
    scores) uses its own range. ``x_title``/``y_title`` rename the axes (e.g.
    "key"/"query" for self-attention); ``value_name`` names the value in the
    legend and tooltip (e.g. "score"). ``description`` replaces the generated
    text that screen readers announce.
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
                legend=_gradient_legend(value_name, S * cell),
            ),
            tooltip=_tooltips(x_title, y_title, value_name),
        )
        .properties(
            width=alt.Step(cell),
            height=alt.Step(cell),
            title=_title(title or f"Attention {value_name}s"),
            description=description or f"Heatmap of attention {value_name}s: " + _describe_alignment(w, src, tgt, x_title, y_title),
        )
    )


def attention_explorer(
    examples: Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
    cell_size: int = 22,
    x_title: str = "source",
    y_title: str = "output",
    description: str | None = None,
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

    ``description`` replaces the generated text (the first example's alignment)
    that screen readers announce.
    """
    examples = _check_rows(examples, "examples")
    rows: list[dict[str, Any]] = []
    src_lists, tgt_lists, labels, all_w, first = [], [], [], [], None
    for k, ex in enumerate(examples):
        _require_keys(ex, f"examples[{k}]", ("weights", "src_tokens", "tgt_tokens"), ("label",))
        w, src, tgt = _weights_2d(
            ex["weights"], ex["src_tokens"], ex["tgt_tokens"], name=f"examples[{k}]['weights']"
        )
        rows.extend(_token_cells(w, src, tgt, example=k))
        first = first or (w, src, tgt)
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
                legend=_gradient_legend("weight", min(map(len, src_lists)) * cell),
            ),
            stroke=alt.when(out_step, empty=False).then(alt.value(HIGHLIGHT)).otherwise(alt.value("white")),
            strokeWidth=alt.when(out_step, empty=False).then(alt.value(2.0)).otherwise(alt.value(0.5)),
            tooltip=_tooltips(x_title, y_title, "weight"),
        )
        .add_params(example, out_step)
        .properties(
            width=alt.Step(cell),
            height=alt.Step(cell),
            title=_title(
                title or "Attention weights",
                f"Pick an example in the menu; point at an {y_title} row to see its weights below.",
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
        .mark_bar(color=MAIN_COLOR)
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
    # An independent legend sits below the heatmap rather than below the whole figure.
    text = description or (
        f"Interactive heatmap of attention weights for {_count(len(examples), 'example')}, picked in a menu "
        f"({_listing(labels)}), with the weights of the pointed-at {y_title} step as bars below. "
        f"First example: " + _describe_alignment(*first, x_title, y_title)
    )
    return alt.vconcat(heat, bars, spacing=12, description=text).resolve_legend(color="independent")
