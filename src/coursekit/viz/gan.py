"""Chapter 12's figures: a GAN's samples and its discriminator, as Altair charts that stay
interactive in the static book (no kernel).

- :func:`ring_slider`: generated 2-D samples on the ring of Gaussians, one snapshot per point
  of training, a slider (a Vega-Lite parameter) stepping through them; the mode centres are
  marked, so a collapsed generator shows as one cluster among empty rings.
- :func:`digits_grid`: a grid of generated 8x8 digits (rect heatmaps), one grid per snapshot
  of training, on a slider.
- :func:`dstar_chart`: a discriminator trained against a fixed generator beside the
  closed-form optimum D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al., 2014,
  "Generative Adversarial Nets", https://arxiv.org/abs/1406.2661, Prop. 1), over the two
  densities.
- :func:`ablation_chart`: one dot per seed and the mean per arm (a trick, or a loss), for each
  measure (modes covered, high-quality share, the discriminator's steadiness); clicking a dot
  picks its seed in every panel. Published numbers can stand beside them as dashed rules.
- :func:`ring_trainer`: an ipywidgets control: pick a trick, a seed and a number of steps, train
  (a callable does it) and see the samples on a :func:`ring_slider`. It trains in the kernel, so
  it needs a running one: in a static page it shows but does nothing.

Snapshots are dicts ``{"step": int, "samples": (N, 2)}`` (ring) or ``{"step": int, "images":
(N, 1, 8, 8)}`` (digits) with optional measures, as :mod:`coursekit.gan.experiments` returns
them. Every chart has a ``description`` (what it shows, with its numbers) for screen readers.

Legend: S snapshots, N samples (or images) per snapshot, K modes, G grid points.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Mapping, Sequence

import altair as alt
import numpy as np

from ._inputs import _as_array, _check_rows, _describe, _number, _require_keys
from ._style import (
    FADED,
    HIGHLIGHT,
    MAIN_COLOR,
    MUTED_TEXT,
    PANEL_WIDTH,
    _fresh,
    _legend,
    _listing,
    _series_scales,
    _title,
)

__all__ = ["ring_slider", "digits_grid", "dstar_chart", "ablation_chart", "ring_trainer"]

RING_PX = PANEL_WIDTH  # the square plot's side: with its axes it fits a 390 px phone
DIGIT_GAP = 1  # blank pixels between two digits of the grid
METRIC_LABELS = {
    "modes_covered": "modes covered",
    "hq_share": "high-quality share",
    "d_std": "std of D's loss (late training)",
    "d_gap_std": "std of D(real) - D(fake) (late training)",
    "classes_covered": "digit classes covered",
}
SHARE_METRICS = ("hq_share", "confident_share")


# ----------------------------------------------------------------------------- shared checks
def _snapshots(snapshots: object, key: str) -> list[Mapping[str, Any]]:
    """Snapshots as a list of dicts with an int ``step`` (increasing) and ``key``."""
    if not isinstance(snapshots, Sequence) or isinstance(snapshots, (str, bytes)) or not snapshots:
        raise ValueError(f"snapshots must be a non-empty list of dicts with 'step' and {key!r}, got {_describe(snapshots)}")
    last = -1
    for j, s in enumerate(snapshots):
        if not isinstance(s, Mapping):
            raise ValueError(f"snapshots[{j}] must be a dict, got {type(s).__name__}")
        _require_keys(s, f"snapshots[{j}]", ("step", key))
        step = s["step"]
        if not isinstance(step, (int, np.integer)) or isinstance(step, bool) or step < 0 or step <= last:
            raise ValueError(f"snapshots[{j}]['step'] must be an int >= 0, larger than the one before ({last}), got {step!r}")
        last = int(step)
    return list(snapshots)


def _slider(n: int, start: int | None, prefix: str, label: str) -> tuple[alt.Parameter, int]:
    if start is None:
        start = n - 1
    if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start < n:
        raise ValueError(f"snapshot must be an int in [0, {n}) (the snapshot shown first), got {start!r}")
    pick = alt.param(name=_fresh(prefix), value=start, bind=alt.binding_range(min=0, max=n - 1, step=1, name=label))
    return pick, start


def _label_layer(texts: Sequence[str], pick: alt.Parameter) -> alt.Chart:
    """The chosen snapshot's caption (a Vega expression indexes the list), top left of the plot."""
    return alt.Chart(alt.Data(values=[{}])).mark_text(
        align="left", baseline="top", x=4, y=4, fontSize=12, fontWeight="bold", color=MUTED_TEXT,
        text=alt.expr(f"{json.dumps(list(texts))}[{pick.name}]"))


def _share_text(value: float) -> str:
    return f"{value:.0%}"


# ----------------------------------------------------------------------------- ring slider
def ring_slider(
    snapshots: Sequence[Mapping[str, Any]],
    modes: object,
    *,
    max_points: int = 300,
    snapshot: int | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.LayerChart:
    """Generated 2-D samples at each snapshot of training, a slider choosing the snapshot.

    ``snapshots``: dicts with ``step`` (int, increasing) and ``samples`` ((N, 2) tensor or array),
    and optionally ``modes_covered`` (int) and ``hq_share`` (a share in [0, 1]), shown in the
    snapshot's caption. ``modes`` (K, 2): the mode centres, drawn as hollow diamonds. At most
    ``max_points`` samples per snapshot are drawn (evenly spaced picks, so the spec stays small).
    The axes are fixed (1.5 times the ring's radius), so the slider moves only the points;
    samples outside are clipped. ``snapshot`` is the index shown first (default: the last).
    The slider is the parameter ``snapshot_<k>``.
    """
    snaps = _snapshots(snapshots, "samples")
    centres = _as_array(modes, "modes")
    if centres.ndim != 2 or centres.shape[1] != 2 or centres.shape[0] < 1:
        raise ValueError(f"modes must be a (K, 2) array of mode centres, got {_describe(modes)}")
    if not isinstance(max_points, int) or isinstance(max_points, bool) or max_points < 1:
        raise ValueError(f"max_points must be an int >= 1, got {max_points!r}")
    values, texts = [], []
    for j, s in enumerate(snaps):
        xy = _as_array(s["samples"], f"snapshots[{j}]['samples']")
        if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] < 1:
            raise ValueError(f"snapshots[{j}]['samples'] must be an (N, 2) array, got {_describe(s['samples'])}")
        keep = np.unique(np.linspace(0, xy.shape[0] - 1, min(max_points, xy.shape[0])).round().astype(int))
        # one row per snapshot holding its points as two lists (flattened in the chart: a small spec)
        values.append({"snap": j, "x": [round(float(a), 3) for a in xy[keep, 0]],
                       "y": [round(float(b), 3) for b in xy[keep, 1]]})
        texts.append(_ring_caption(s, j, centres.shape[0]))
    pick, start = _slider(len(snaps), snapshot, "snapshot", "snapshot: ")
    reach = 1.5 * float(np.abs(centres).max()) or 1.0
    scale = alt.Scale(domain=[-reach, reach], nice=False)
    axis = alt.Axis(grid=True, tickCount=5)
    points = (
        alt.Chart(alt.Data(values=values))
        .transform_filter(f"datum.snap == {pick.name}")
        .transform_flatten(["x", "y"])
        .mark_circle(size=14, opacity=0.55, color=MAIN_COLOR, clip=True)
        .encode(x=alt.X("x:Q", title="x₁", scale=scale, axis=axis), y=alt.Y("y:Q", title="x₂", scale=scale, axis=axis))
    )
    marks = (
        alt.Chart(alt.Data(values=[{"mode": k, "mx": round(float(a), 4), "my": round(float(b), 4)}
                                   for k, (a, b) in enumerate(centres)]))
        .mark_point(shape="diamond", size=140, filled=False, strokeWidth=2, color=HIGHLIGHT)
        .encode(x=alt.X("mx:Q", scale=scale), y=alt.Y("my:Q", scale=scale),
                tooltip=[alt.Tooltip("mode:Q", title="mode"), alt.Tooltip("mx:Q", title="x₁"),
                         alt.Tooltip("my:Q", title="x₂")])
    )
    chart = alt.layer(points, marks, _label_layer(texts, pick)).add_params(pick).properties(
        width=RING_PX, height=RING_PX,
        title=_title(title or "The generator's samples during training",
                     "Move the slider to step through training; the diamonds mark the modes of the data.",
                     anchor="start"),
    )
    steps = [int(s["step"]) for s in snaps]
    return chart.properties(description=description or (
        f"Interactive scatter plot of a generator's 2-D samples at {len(snaps)} snapshots of training "
        f"(steps {_listing([str(t) for t in steps])}), up to {max_points} points each, with the "
        f"{centres.shape[0]} mode centres of the data marked as diamonds; a slider chooses the snapshot. "
        f"First shown: {texts[start]}. Last: {texts[-1]}."
    ))


def _ring_caption(s: Mapping[str, Any], j: int, k: int) -> str:
    text = f"step {int(s['step'])}"
    if "modes_covered" in s:
        covered = _number(s["modes_covered"], f"snapshots[{j}]['modes_covered']")
        if not 0 <= covered <= k:
            raise ValueError(f"snapshots[{j}]['modes_covered'] must be in [0, {k}], got {covered}")
        text += f" · {covered:g} of {k} modes"
    if "hq_share" in s:
        share = _number(s["hq_share"], f"snapshots[{j}]['hq_share']")
        if not 0 <= share <= 1:
            raise ValueError(f"snapshots[{j}]['hq_share'] must be a share in [0, 1], got {share}")
        text += f" · {_share_text(share)} high quality"
    return text


# ----------------------------------------------------------------------------- digits grid
def digits_grid(
    snapshots: Sequence[Mapping[str, Any]],
    *,
    columns: int = 4,
    max_images: int = 16,
    snapshot: int | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.LayerChart:
    """A grid of generated 8x8 digits at each snapshot of training, a slider choosing the snapshot.

    ``snapshots``: dicts with ``step`` (int, increasing) and ``images`` ((N, 1, 8, 8), (N, 8, 8)
    or (N, 64) values in [-1, 1], ink high), and optionally ``classes`` (N predicted digit classes,
    shown when pointing at a digit) and ``classes_covered`` (int, in the caption). The first
    ``max_images`` images of each snapshot are drawn in ``columns`` columns, each pixel a grey
    rect (ink dark on white). ``snapshot`` is the index shown first (default: the last).
    """
    snaps = _snapshots(snapshots, "images")
    for name, v in (("columns", columns), ("max_images", max_images)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    values, texts, shown = [], [], 0
    for j, s in enumerate(snaps):
        imgs = _as_array(s["images"], f"snapshots[{j}]['images']")
        if imgs.ndim == 4 and imgs.shape[1] == 1:
            imgs = imgs[:, 0]
        if imgs.ndim == 2 and imgs.shape[1] == 64:
            imgs = imgs.reshape(-1, 8, 8)
        if imgs.ndim != 3 or imgs.shape[1:] != (8, 8) or imgs.shape[0] < 1:
            raise ValueError(f"snapshots[{j}]['images'] must be (N, 1, 8, 8), (N, 8, 8) or (N, 64), "
                             f"got {_describe(s['images'])}")
        if imgs.min() < -1 - 1e-6 or imgs.max() > 1 + 1e-6:
            raise ValueError(f"snapshots[{j}]['images'] must lie in [-1, 1], got values in "
                             f"[{imgs.min():.3g}, {imgs.max():.3g}]")
        n = min(max_images, imgs.shape[0])
        shown = max(shown, n)
        classes = None
        if "classes" in s:
            classes = [str(int(c)) for c in _as_array(s["classes"], f"snapshots[{j}]['classes']").reshape(-1)]
            if len(classes) != imgs.shape[0]:
                raise ValueError(f"snapshots[{j}]['classes'] must give one class per image ({imgs.shape[0]}), "
                                 f"got {len(classes)}")
        flat = imgs[:n].reshape(n, 64)  # (n, 64): pixel p at row p // 8, column p % 8
        for i in range(n):  # one row per image, its 64 pixels as a list (flattened in the chart)
            row = {"snap": j, "i": i, "v": [round(float(v), 2) for v in flat[i]]}
            if classes is not None:
                row["c"] = classes[i]
            values.append(row)
        text = f"step {int(s['step'])}"
        if "classes_covered" in s:
            covered = _number(s["classes_covered"], f"snapshots[{j}]['classes_covered']")
            if not 0 <= covered <= 10:
                raise ValueError(f"snapshots[{j}]['classes_covered'] must be in [0, 10], got {covered}")
            text += f" · {covered:g} of 10 classes"
        texts.append(text)
    pick, start = _slider(len(snaps), snapshot, "snapshot", "snapshot: ")
    cols = min(columns, shown)
    rows = math.ceil(shown / cols)
    cell = 8 + DIGIT_GAP
    top = 3  # room for the caption above the grid, in digit pixels
    wide, high = cols * cell - DIGIT_GAP, rows * cell - DIGIT_GAP + top
    px = PANEL_WIDTH / wide
    none = alt.Axis(labels=False, ticks=False, domain=False, grid=False, title=None)
    tooltip = [alt.Tooltip("i:Q", title="image")] + ([alt.Tooltip("c:N", title="classified as")]
                                                      if any("c" in v for v in values[:1]) else [])
    grid = (
        alt.Chart(alt.Data(values=values))
        .transform_filter(f"datum.snap == {pick.name}")
        .transform_flatten(["v"])
        .transform_window(p1="row_number()", groupby=["i"])
        .transform_calculate(p="datum.p1 - 1")
        .transform_calculate(
            gx=f"(datum.i % {cols}) * {cell} + datum.p % 8",
            gy=f"{top} + floor(datum.i / {cols}) * {cell} + floor(datum.p / 8)",
        )
        .transform_calculate(gx2="datum.gx + 1", gy2="datum.gy + 1")
        .mark_rect()
        .encode(
            x=alt.X("gx:Q", scale=alt.Scale(domain=[0, wide], nice=False, zero=True), axis=none),
            x2="gx2:Q",
            y=alt.Y("gy:Q", scale=alt.Scale(domain=[0, high], nice=False, reverse=True), axis=none),
            y2="gy2:Q",
            color=alt.Color("v:Q", scale=alt.Scale(domain=[-1, 1], range=["#ffffff", "#111111"]), legend=None),
            tooltip=tooltip,
        )
    )
    frames = (  # a faint frame around each digit, so white paper tells one digit from the next
        alt.Chart(alt.Data(values=[{k: v[k] for k in ("snap", "i")} for v in values]))
        .transform_filter(f"datum.snap == {pick.name}")
        .transform_calculate(bx=f"(datum.i % {cols}) * {cell}", by=f"{top} + floor(datum.i / {cols}) * {cell}")
        .transform_calculate(bx2="datum.bx + 8", by2="datum.by + 8")
        .mark_rect(fill=None, stroke="#c8c8c8", strokeWidth=1)
        .encode(x=alt.X("bx:Q", scale=alt.Scale(domain=[0, wide], nice=False, zero=True), axis=none), x2="bx2:Q",
                y=alt.Y("by:Q", scale=alt.Scale(domain=[0, high], nice=False, reverse=True), axis=none), y2="by2:Q")
    )
    chart = alt.layer(grid, frames, _label_layer(texts, pick)).add_params(pick).properties(
        width=PANEL_WIDTH, height=round(high * px),
        title=_title(title or "Generated digits during training",
                     "Move the slider to step through training.", anchor="start"),
    )
    steps = [int(s["step"]) for s in snaps]
    return chart.properties(description=description or (
        f"Interactive grid of {shown} generated 8 by 8 digit images ({rows} rows of {cols}) at {len(snaps)} "
        f"snapshots of training (steps {_listing([str(t) for t in steps])}); a slider chooses the snapshot. "
        f"First shown: {texts[start]}. Last: {texts[-1]}."
    ))


# ----------------------------------------------------------------------------- D* chart
def dstar_chart(
    x: object,
    trained: object,
    closed_form: object,
    p_data: object,
    p_g: object,
    *,
    mask: object | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """A discriminator trained against a fixed generator beside the closed form D* (lower panel),
    over the two densities (upper panel), on a grid ``x`` (G,).

    ``trained`` and ``closed_form`` (G,): D(x) of the trained discriminator and D*(x) =
    p_data/(p_data + p_g); ``p_data`` and ``p_g`` (G,): the two densities. ``mask`` (G,) bool,
    optional: where the densities are not negligible (where D* means something); the grid
    points outside are greyed in the lower panel and left out of the largest gap the
    description states. Clicking a legend entry picks a curve (shift-click for several).
    """
    grid = _as_array(x, "x")
    if grid.ndim != 1 or grid.shape[0] < 2 or not np.all(np.diff(grid) > 0):
        raise ValueError(f"x must be an increasing 1-D grid of at least 2 points, got {_describe(x)}")
    G = grid.shape[0]
    curves = {}
    for name, arr in (("trained", trained), ("closed_form", closed_form), ("p_data", p_data), ("p_g", p_g)):
        a = _as_array(arr, name)
        if a.shape != (G,):
            raise ValueError(f"{name} must have one value per grid point, shape ({G},), got {_describe(arr)}")
        curves[name] = a
    for name in ("trained", "closed_form"):
        if curves[name].min() < 0 or curves[name].max() > 1:
            raise ValueError(f"{name} must be probabilities in [0, 1], got values in "
                             f"[{curves[name].min():.3g}, {curves[name].max():.3g}]")
    for name in ("p_data", "p_g"):
        if curves[name].min() < 0:
            raise ValueError(f"{name} must be a density (>= 0), got a minimum of {curves[name].min():.3g}")
    keep = np.ones(G, dtype=bool)
    if mask is not None:
        m = np.asarray(mask.detach().cpu() if hasattr(mask, "detach") else mask)
        if m.shape != (G,) or m.dtype != bool:
            raise ValueError(f"mask must be a bool array of shape ({G},), got {_describe(mask)} of dtype {m.dtype}")
        if not m.any():
            raise ValueError("mask must keep at least one grid point, got all False")
        keep = m
    names_d = ["trained D", "closed-form D*"]
    names_p = ["p_data", "p_g"]
    d_rows = [{"x": round(float(grid[g]), 4), "curve": n, "value": round(float(curves[k][g]), 4),
               "counted": bool(keep[g])}
              for k, n in (("trained", names_d[0]), ("closed_form", names_d[1])) for g in range(G)]
    p_rows = [{"x": round(float(grid[g]), 4), "curve": n, "value": round(float(curves[k][g]), 5)}
              for k, n in (("p_data", names_p[0]), ("p_g", names_p[1])) for g in range(G)]
    scales = _series_scales(names_d + names_p)
    pick = alt.selection_point(name=_fresh("curve"), fields=["curve"], bind="legend")
    xenc = alt.X("x:Q", title="x", scale=alt.Scale(nice=False, domain=[float(grid[0]), float(grid[-1])]))

    def lines(rows, names, ytitle, yscale):
        return (
            alt.Chart(alt.Data(values=rows))
            .mark_line(strokeWidth=2.2)
            .encode(
                x=xenc,
                y=alt.Y("value:Q", title=ytitle, scale=yscale),
                color=alt.Color("curve:N", scale=scales["color"], legend=_legend(None, names_d + names_p)),
                strokeDash=alt.StrokeDash("curve:N", scale=scales["strokeDash"], legend=None),
                opacity=alt.when(pick).then(alt.value(1)).otherwise(alt.value(FADED)),
                tooltip=[alt.Tooltip("curve:N"), alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("value:Q", format=".3f")],
            )
        )

    dens = lines(p_rows, names_p, "density", alt.Scale(zero=True)).properties(width=PANEL_WIDTH, height=110)
    half = alt.Chart(alt.Data(values=[{"h": 0.5}])).mark_rule(color=MUTED_TEXT, strokeDash=[2, 3]).encode(y="h:Q")
    layers = [half, lines(d_rows, names_d, "D(x)", alt.Scale(domain=[0, 1])).add_params(pick)]
    if not keep.all():
        spans = _runs(grid, ~keep)
        shade = (alt.Chart(alt.Data(values=spans)).mark_rect(color="#bbbbbb", opacity=0.25)
                 .encode(x="lo:Q", x2="hi:Q"))
        layers.insert(0, shade)
    disc = alt.layer(*layers).properties(width=PANEL_WIDTH, height=160)
    gap = float(np.abs(curves["trained"] - curves["closed_form"])[keep].max())
    where = "" if keep.all() else " where the densities are not negligible (grey: left out)"
    chart = alt.vconcat(dens, disc, spacing=8).properties(title=_title(
        title or "The trained discriminator against the closed-form optimum",
        "Upper: the data density and the generator's. Lower: D trained to convergence and "
        "D* = p_data / (p_data + p_g); the dotted line is 1/2.", anchor="start"))
    return chart.properties(description=description or (
        f"Two stacked line charts over x from {grid[0]:.3g} to {grid[-1]:.3g} ({G} grid points). Upper: the "
        f"densities p_data and p_g. Lower: the trained discriminator's D(x) and the closed-form D*(x); the "
        f"largest gap between them{where} is {gap:.3f}. Clicking a legend entry picks a curve."
    ))


def _runs(grid: np.ndarray, flag: np.ndarray) -> list[dict]:
    """The x-intervals where ``flag`` holds (for shading)."""
    out, g, G = [], 0, len(grid)
    while g < G:
        if flag[g]:
            h = g
            while h + 1 < G and flag[h + 1]:
                h += 1
            out.append({"lo": round(float(grid[g]), 4), "hi": round(float(grid[h]), 4)})
            g = h + 1
        else:
            g += 1
    return out


# ----------------------------------------------------------------------------- ablation chart
def ablation_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    group: str = "trick",
    metrics: Sequence[str] = ("modes_covered", "hq_share"),
    max_modes: int | None = None,
    reference: Sequence[Mapping[str, Any]] | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """One panel per measure in ``metrics``: a dot per seed and a bar tick at the mean, one row per arm.

    ``rows``: dicts with ``group`` (the arm: a trick, a loss ...), ``seed`` and each of ``metrics``
    (numbers; ``hq_share`` and other shares in [0, 1] are shown in percent). ``max_modes`` sets
    the modes panel's axis to [0, max_modes]. ``reference``: optional published numbers, dicts with
    ``label``, ``metric`` and ``value``, drawn as dashed vertical rules in that metric's panel
    (pointing at one shows its label). Clicking a dot picks its seed in every panel (click empty
    space to clear); the arms keep their order of first appearance.
    """
    rows = _check_rows(rows, "rows")
    if isinstance(metrics, str) or not metrics or len(set(metrics)) != len(metrics):
        raise ValueError(f"metrics must be a non-empty sequence of distinct keys, got {metrics!r}")
    if not isinstance(group, str) or not group:
        raise ValueError(f"group must be the name of the key holding the arm, got {group!r}")
    values = []
    for i, r in enumerate(rows):
        _require_keys(r, f"rows[{i}]", (group, "seed", *metrics))
        v = {"arm": str(r[group]), "seed": str(r["seed"])}
        for m in metrics:
            v[m] = _number(r[m], f"rows[{i}][{m!r}]")
            if m in SHARE_METRICS and not 0 <= v[m] <= 1:
                raise ValueError(f"rows[{i}][{m!r}] must be a share in [0, 1], got {v[m]}")
        values.append(v)
    if max_modes is not None and (not isinstance(max_modes, int) or isinstance(max_modes, bool) or max_modes < 1):
        raise ValueError(f"max_modes must be an int >= 1 or None, got {max_modes!r}")
    refs = []
    for i, ref in enumerate(reference or ()):
        if not isinstance(ref, Mapping):
            raise ValueError(f"reference[{i}] must be a dict, got {type(ref).__name__}")
        _require_keys(ref, f"reference[{i}]", ("label", "metric", "value"))
        if ref["metric"] not in metrics:
            raise ValueError(f"reference[{i}]['metric'] must be one of the charted metrics {tuple(metrics)}, "
                             f"got {ref['metric']!r}")
        refs.append({"label": str(ref["label"]), "metric": ref["metric"],
                     "value": _number(ref["value"], f"reference[{i}]['value']")})
    arms = list(dict.fromkeys(v["arm"] for v in values))
    means = {(a, m): float(np.mean([v[m] for v in values if v["arm"] == a])) for a in arms for m in metrics}
    mean_rows = [{"arm": a, **{m: round(means[(a, m)], 4) for m in metrics}} for a in arms]
    scales = _series_scales(arms)
    seeds = list(dict.fromkeys(v["seed"] for v in values))
    pick = alt.selection_point(name=_fresh("seed"), fields=["seed"], on="click", clear="dblclick", empty=True)
    y = alt.Y("arm:N", title=None, sort=arms)
    panels = []
    for k, m in enumerate(metrics):
        share = m in SHARE_METRICS
        fmt = ".0%" if share else "~g"
        label = METRIC_LABELS.get(m, m.replace("_", " "))
        if share:
            xscale = alt.Scale(domain=[0, 1])
        elif m == "modes_covered" and max_modes is not None:
            xscale = alt.Scale(domain=[0, max_modes])
        else:
            xscale = alt.Scale(zero=True)
        x = alt.X(f"{m}:Q", title=label, scale=xscale, axis=alt.Axis(format=fmt))
        dots = (
            alt.Chart(alt.Data(values=values))
            .mark_point(filled=True, size=55, opacity=0.85)
            .encode(
                x=x, y=y,
                yOffset=alt.YOffset("seed:N", sort=seeds),
                color=alt.Color("arm:N", scale=scales["color"], legend=None),
                shape=alt.Shape("arm:N", scale=scales["shape"], legend=None),
                opacity=alt.when(pick).then(alt.value(0.9)).otherwise(alt.value(FADED)),
                tooltip=[alt.Tooltip("arm:N", title=group), alt.Tooltip("seed:N"), alt.Tooltip(f"{m}:Q", title=label,
                                                                                                 format=fmt)],
            )
        )
        if k == 0:
            dots = dots.add_params(pick)
        ticks = (
            alt.Chart(alt.Data(values=mean_rows))
            .mark_tick(color=MUTED_TEXT, thickness=2.5, size=22)
            .encode(x=x, y=y, tooltip=[alt.Tooltip("arm:N", title=group),
                                       alt.Tooltip(f"{m}:Q", title=f"mean {label}", format=".3~g" if not share else ".1%")])
        )
        layers = [ticks, dots]
        mine = [r for r in refs if r["metric"] == m]
        if mine:
            rules = (
                alt.Chart(alt.Data(values=[{"label": r["label"], m: r["value"]} for r in mine]))
                .mark_rule(color=HIGHLIGHT, strokeDash=[5, 3], strokeWidth=1.5)
                .encode(x=x, tooltip=[alt.Tooltip("label:N", title="published"),
                                      alt.Tooltip(f"{m}:Q", title=label, format=fmt)])
            )
            layers.insert(0, rules)
        panels.append(alt.layer(*layers).properties(width=PANEL_WIDTH - 60, height=max(60, 26 * len(arms))))
    chart = alt.vconcat(*panels, spacing=10).properties(title=_title(
        title or "Each trick, seed by seed",
        "A dot per seed (click one to pick that seed everywhere; double-click to clear); the bar marks the mean."
        + (" Dashed: published numbers (point at one for its source)." if refs else ""), anchor="start"))
    summary = "; ".join(
        f"{a}: " + ", ".join(f"mean {METRIC_LABELS.get(m, m)} "
                             + (_share_text(means[(a, m)]) if m in SHARE_METRICS else f"{means[(a, m)]:.3g}")
                             for m in metrics)
        for a in arms)
    return chart.properties(description=description or (
        f"Dot plots, one panel per measure ({_listing([METRIC_LABELS.get(m, m) for m in metrics])}), with a dot "
        f"for each of {len(seeds)} seeds and a tick at the mean for each of {len(arms)} arms. {summary}."
        + (f" Published numbers are drawn as dashed rules: {_listing([r['label'] for r in refs])}." if refs else "")
    ))


# ----------------------------------------------------------------------------- live trainer
def ring_trainer(
    train: Callable[[str, int, int], tuple[Sequence[Mapping[str, Any]], object]],
    tricks: Sequence[str] = ("none", "label_flip", "one_sided_smoothing", "batch_norm", "batch_norm_g", "minibatch_std"),
    *,
    seed: int = 0,
    steps: int = 1000,
    max_steps: int = 4000,
    run_now: bool = False,
) -> object:
    """A live control (ipywidgets): a trick menu, a seed and a steps slider and a button;
    ``train(trick, seed, steps)`` returns ``(snapshots, modes)`` as :func:`ring_slider` takes them
    (e.g. from :func:`coursekit.gan.experiments.tricks_ablation`), and the box prints the last
    snapshot's measures and shows the slider chart. It trains in the kernel, so it needs one:
    in a static page it shows but does nothing. Returns the ``ipywidgets.VBox``;
    ``.children[-1]`` is the output area; ``box.run()`` does what a click does. With ``run_now``
    it trains once at once."""
    import ipywidgets as widgets

    if not callable(train):
        raise ValueError(f"train must be a callable (trick, seed, steps) -> (snapshots, modes), got {_describe(train)}")
    if isinstance(tricks, str) or not tricks:
        raise ValueError(f"tricks must be a non-empty list of trick names, got {tricks!r}")
    for name, v, low in (("seed", seed, 0), ("steps", steps, 1), ("max_steps", max_steps, steps)):
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
    pick = widgets.Dropdown(options=list(tricks), value=tricks[0], description="trick:")
    seed_box = widgets.IntSlider(value=seed, min=0, max=max(9, seed), description="seed:")
    steps_box = widgets.IntSlider(value=steps, min=min(100, steps), max=max_steps, step=100, description="steps:")
    button = widgets.Button(description="Train")
    out = widgets.Output()

    def run(_=None) -> None:
        out.outputs = ()  # clear
        out.append_stdout(f"training {pick.value}, seed {seed_box.value}, {steps_box.value} steps ...\n")
        try:
            snapshots, modes = train(pick.value, seed_box.value, steps_box.value)
            chart = ring_slider(snapshots, modes, title=f"{pick.value}, seed {seed_box.value}")
        except ValueError as error:  # a bad setting: say so in the box
            out.append_stdout(f"{error}\n")
            return
        last = snapshots[-1]
        out.outputs = ()
        out.append_stdout(f"{pick.value}, seed {seed_box.value}: {_ring_caption(last, len(snapshots) - 1, len(_as_array(modes, 'modes')))}\n")
        out.append_display_data(chart)

    button.on_click(run)
    box = widgets.VBox([widgets.HBox([pick, button]), seed_box, steps_box, out])
    box.run = run
    if run_now:
        run()
    return box
