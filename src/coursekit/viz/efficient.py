"""Chapter 7's interactive figures: the attention-pattern gallery and the scaling chart.

Both are Altair (Vega-Lite) charts whose controls are Vega-Lite parameters and
selections, so they work in the static book with no kernel:

- :func:`pattern_gallery`: boolean attention patterns (True = may attend) for one length
  n, all precomputed as data; radio buttons pick a pattern (the Vega-Lite filter does the
  rest) and pointing at (or tapping) a query row highlights the keys that query may read,
  with their count in the title below.
- :func:`scaling_chart`: time and peak memory of several attention methods against the
  sequence length n, both axes logarithmic, one panel each, with the measured crossover
  length marked by a dashed rule.

Legend: n sequence length (queries = keys), q query position, k key position.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import altair as alt
import numpy as np

from ._inputs import _as_array, _check_rows, _describe, _number, _require_keys
from ._style import (
    FADED,
    HIGHLIGHT,
    MAIN_COLOR,
    PANEL_WIDTH,
    _fresh,
    _legend,
    _listing,
    _series_scales,
    _title,
)

__all__ = ["pattern_gallery", "scaling_chart"]

GALLERY_PX = 300  # the grid's side: with its axis it stays inside a 390 px phone


def _masks(patterns: object) -> tuple[list[str], list[np.ndarray]]:
    """Names and (n, n) 0/1 arrays of ``patterns``, all of one size."""
    if not isinstance(patterns, Mapping) or not patterns:
        raise ValueError(f"patterns must be a non-empty dict of name -> (n, n) boolean mask, got {_describe(patterns)}")
    names, masks = [], []
    for name, mask in patterns.items():
        m = _as_array(mask, f"patterns[{name!r}]")
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
            raise ValueError(f"patterns[{name!r}] must be a square (n, n) mask with n >= 2, got {_describe(m)}")
        if not np.isin(m, (0.0, 1.0)).all():
            raise ValueError(f"patterns[{name!r}] must be boolean (True = may attend), got other values")
        if masks and m.shape != masks[0].shape:
            raise ValueError(
                f"every pattern must have the same size; patterns[{names[0]!r}] is {masks[0].shape}, "
                f"patterns[{name!r}] is {m.shape}"
            )
        names.append(str(name))
        masks.append(m)
    return names, masks


def pattern_gallery(
    patterns: Mapping[str, Any],
    *,
    query: int | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """Attention patterns as grids: which key (column) each query (row) may read.

    ``patterns`` maps a name to an ``(n, n)`` boolean mask, True = may attend (the course's
    one mask convention), every mask of the same n. Radio buttons (parameter
    ``pattern_<k>``) choose the pattern; pointing at or tapping a cell selects its query row
    (``query`` is the row selected at first, by default the last one), whose keys are drawn
    in the highlight colour, and a bar below counts the keys each query reads. Only the
    allowed cells travel as data, so the chart stays small; the grid is
    :data:`GALLERY_PX` wide (it fits a phone). ``description`` replaces the generated text
    that screen readers announce.
    """
    names, masks = _masks(patterns)
    n = masks[0].shape[0]
    query = n - 1 if query is None else query
    if not isinstance(query, int) or isinstance(query, bool) or not 0 <= query < n:
        raise ValueError(f"query must be an int in [0, {n}), got {query!r}")
    cells = [
        {"pattern": name, "q": int(q), "k": int(k)}
        for name, m in zip(names, masks)
        for q, k in zip(*np.nonzero(m))
    ]
    reads = [{"pattern": name, "q": q, "keys": int(m[q].sum())} for name, m in zip(names, masks) for q in range(n)]
    pick = alt.param(name=_fresh("pattern"), value=names[0], bind=alt.binding_radio(options=names, name="pattern: "))
    row = alt.selection_point(
        name=_fresh("query"), fields=["q"], on="pointerover", clear=False, value=[{"q": query}]
    )
    cell = GALLERY_PX / n
    every = max(1, n // 8)
    axis = dict(labelExpr=f"datum.value % {every} == 0 ? datum.value : ''", labelAngle=0, ticks=False, domain=False)
    x = alt.X("k:O", title="key position k (what is read)", scale=alt.Scale(domain=list(range(n))),
              axis=alt.Axis(orient="top", **axis))
    y = alt.Y("q:O", title="query position q", scale=alt.Scale(domain=list(range(n))), axis=alt.Axis(**axis))
    # The empty grid: every (q, k), made in the browser, so a query row can be picked anywhere.
    grid = (
        alt.Chart(alt.sequence(0, n * n, as_="i"))
        .transform_calculate(q=f"floor(datum.i / {n})", k=f"datum.i % {n}")
        .mark_rect(color="#f3f4f6", stroke="white", strokeWidth=0.5)
        .encode(x=x, y=y, tooltip=[alt.Tooltip("q:O", title="query"), alt.Tooltip("k:O", title="key")])
        .add_params(row)
    )
    allowed = (
        alt.Chart(alt.Data(values=cells))
        .transform_filter(f"datum.pattern == {pick.name}")
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=x,
            y=y,
            color=alt.when(row, empty=False).then(alt.value(HIGHLIGHT)).otherwise(alt.value(MAIN_COLOR)),
            opacity=alt.when(row, empty=False).then(alt.value(1.0)).otherwise(alt.value(0.55)),
            tooltip=[alt.Tooltip("q:O", title="query"), alt.Tooltip("k:O", title="key (may read)")],
        )
    )
    chosen = "(" + row.name + ".q ? " + row.name + f".q[0] : {query})"
    heat = alt.layer(grid, allowed).add_params(pick).properties(
        width=GALLERY_PX,
        height=GALLERY_PX,
        title=_title(
            title or "Which keys may each query read?",
            "Choose a pattern; point at (or tap) a row: its keys turn orange.",
            anchor="start",
        ),
    )
    counts = (
        alt.Chart(alt.Data(values=reads))
        .transform_filter(f"datum.pattern == {pick.name}")
        .mark_bar()
        .encode(
            x=alt.X("q:O", title="query position q", scale=alt.Scale(domain=list(range(n))), axis=alt.Axis(**axis)),
            y=alt.Y("keys:Q", title="keys read", scale=alt.Scale(domain=[0, n]), axis=alt.Axis(tickCount=3)),
            color=alt.condition(f"datum.q == {chosen}", alt.value(HIGHLIGHT), alt.value(MAIN_COLOR)),
            tooltip=[alt.Tooltip("q:O", title="query"), alt.Tooltip("keys:Q", title="keys read")],
        )
        .properties(
            width=GALLERY_PX,
            height=70,
            title=alt.Title(
                alt.expr(
                    f"'Query ' + {chosen} + ' reads ' + "
                    f"({json.dumps({nm: [int(v) for v in m.sum(1)] for nm, m in zip(names, masks)})}"
                    f"[{pick.name}] || [])[{chosen}] + ' of {n} keys; bars: every query'"
                ),
                fontSize=12,
                fontWeight="normal",
                anchor="start",
            ),
        )
    )
    dens = ", ".join(f"{nm} {m.mean():.0%}" for nm, m in zip(names, masks))
    text = description or (
        f"Interactive grid of {len(names)} attention patterns over {n} positions ({_listing(names)}), chosen with "
        f"radio buttons: a cell is filled where query q (row) may read key k (column). Pointing at a row highlights "
        f"the keys that query reads; bars below count the keys of every query. Share of allowed pairs: {dens}."
    )
    return alt.vconcat(heat, counts, spacing=8, description=text)


def scaling_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    crossover: float | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """Time and peak memory of attention methods against the length n, log-log, with the crossover.

    ``rows``: dicts with ``method`` (a name), ``n``, ``seconds`` and ``peak_bytes`` (e.g. the
    rows of :func:`coursekit.efficient.scaling.measure_attention`, each tagged with its
    method). Two panels share the x axis: milliseconds and MiB, both axes logarithmic, so
    a power law ``n^p`` is a straight line of slope p. ``crossover`` (optional) is the
    length where two methods' times cross; a dashed rule marks it in both panels. Clicking a
    legend entry highlights one method. The panels are PANEL_WIDTH wide (they fit a phone).
    """
    rows = _check_rows(rows, "rows")
    values = []
    for i, r in enumerate(rows):
        _require_keys(r, f"rows[{i}]", ("method", "n", "seconds", "peak_bytes"))
        n, s, b = (_number(r[key], f"rows[{i}][{key!r}]") for key in ("n", "seconds", "peak_bytes"))
        if n <= 0 or s <= 0 or b <= 0:
            raise ValueError(f"rows[{i}] needs n, seconds and peak_bytes > 0 for log axes, got {n}, {s}, {b}")
        values.append({"method": str(r["method"]), "n": n, "ms": 1000 * s, "MiB": b / 2**20})
    if crossover is not None:
        crossover = _number(crossover, "crossover")
        if crossover <= 0:
            raise ValueError(f"crossover must be a positive length, got {crossover}")
    methods = list(dict.fromkeys(v["method"] for v in values))
    scales = _series_scales(methods)
    legend = alt.selection_point(name=_fresh("method"), fields=["method"], bind="legend")
    ns = sorted({v["n"] for v in values})
    x = alt.X("n:Q", title="sequence length n", scale=alt.Scale(type="log", base=2, nice=False),
              axis=alt.Axis(format=",d", values=ns[:: max(1, (len(ns) + 5) // 6)], labelOverlap=True))

    def panel(field: str, label: str, fmt: str, first: bool) -> alt.LayerChart:
        lines = (
            alt.Chart(alt.Data(values=values))
            .mark_line(point=True, strokeWidth=2)
            .encode(
                x=x,
                y=alt.Y(f"{field}:Q", title=label, scale=alt.Scale(type="log"), axis=alt.Axis(format=fmt)),
                color=alt.Color("method:N", scale=scales["color"], legend=_legend(None, methods)),
                shape=alt.Shape("method:N", scale=scales["shape"], legend=None),
                strokeDash=alt.StrokeDash("method:N", scale=scales["strokeDash"], legend=None),
                opacity=alt.when(legend).then(alt.value(1.0)).otherwise(alt.value(FADED)),
                tooltip=[alt.Tooltip("method:N"), alt.Tooltip("n:Q"), alt.Tooltip(f"{field}:Q", format=".3g")],
            )
        )
        if first:
            lines = lines.add_params(legend)
        layers = [lines]
        if crossover is not None:
            mark = alt.Chart(alt.Data(values=[{"n": crossover, "label": f"crossover ≈ {crossover:,.0f}"}]))
            layers.append(mark.mark_rule(color=HIGHLIGHT, strokeDash=[4, 3]).encode(x="n:Q"))
            if first:
                layers.append(mark.mark_text(align="left", dx=4, dy=-4, baseline="top", y=2, color=HIGHLIGHT,
                                             fontSize=11).encode(x="n:Q", text="label:N"))
        return alt.layer(*layers).properties(width=PANEL_WIDTH, height=150)

    top = panel("ms", "time (ms)", "~g", True).properties(
        title=_title(title or "Attention cost against length", "Both axes logarithmic: slope 1 = linear, 2 = quadratic.",
                     anchor="start")
    )
    bottom = panel("MiB", "peak memory (MiB)", "~g", False)
    by_method = {m: sorted((v for v in values if v["method"] == m), key=lambda v: v["n"]) for m in methods}
    parts = "; ".join(
        f"{m}: {vs[0]['ms']:.3g} ms and {vs[0]['MiB']:.3g} MiB at n = {vs[0]['n']}, {vs[-1]['ms']:.3g} ms and "
        f"{vs[-1]['MiB']:.3g} MiB at n = {vs[-1]['n']}"
        for m, vs in by_method.items()
    )
    text = description or (
        f"Two log-log line charts against the sequence length n: time in milliseconds and peak memory in MiB of "
        f"{_listing(methods)}. {parts}."
        + (f" A dashed rule marks the crossover at n ≈ {crossover:,.0f}." if crossover is not None else "")
    )
    return alt.vconcat(top, bottom, spacing=8, description=text)
