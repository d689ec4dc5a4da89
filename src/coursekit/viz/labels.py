"""Chapter 13's interactive figures: reliability diagrams with a smoothing selector, accuracy
against flip rate with attack and defence toggles, and the penultimate-layer picture.

All three are Altair (Vega-Lite) charts whose controls are Vega-Lite parameters, so they work
in the static book with no kernel:

- :func:`reliability_explorer`: reliability diagrams (Guo et al. 2017, Sec. 2): per
  equal-width confidence bin, the accuracy as a bar, the gap to the bin's mean confidence in
  red, the diagonal of perfect calibration, and the ECE in the corner; a dropdown chooses the
  model (e.g. the smoothing ε, or temperature scaling) and, when the rows carry several, a
  second dropdown the setting. Rows: :meth:`coursekit.labels.ReliabilityBins.records`.
- :func:`flip_rate_chart`: test accuracy against the share of flipped training labels, one
  line per attack (random flips, ALFA: Xiao et al. 2012) with and without a defence (kNN
  sanitisation: Paudice et al. 2018), the mean over seeds with a band from the lowest to the
  highest seed; radio buttons show one attack or defence or all. Rows:
  :func:`coursekit.labels.flipping_experiments.flip_rate_curves`.
- :func:`penultimate_scatter`: penultimate-layer activations of three classes projected on
  the plane through their templates (Müller et al. 2019, Fig. 1), one panel per ε, with a
  train/test switch. Rows: :func:`coursekit.labels.smoothing_experiments.penultimate_picture`.

Legend: M bins, ε smoothing, K classes.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import altair as alt

from ._inputs import _check_rows, _number, _require_keys
from ._style import (
    MAIN_COLOR,
    MUTED_TEXT,
    PANEL_WIDTH,
    _fresh,
    _legend,
    _listing,
    _series_scales,
    _title,
)

__all__ = ["reliability_explorer", "flip_rate_chart", "penultimate_scatter"]

GAP_COLOR = "#D55E00"  # Okabe & Ito's vermillion: the gap between accuracy and confidence
PLOT_PX = PANEL_WIDTH  # square plots: with their axes they fit a 390 px phone


def _share(value: Any, what: str) -> float:
    v = _number(value, what)
    if not 0 <= v <= 1:
        raise ValueError(f"{what} must be a share in [0, 1], got {v}")
    return float(v)


def _label(value: Any) -> str:
    """A series name as the controls show it (floats without trailing zeros)."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ----------------------------------------------------------------------------- reliability
def reliability_explorer(
    rows: Sequence[Mapping[str, Any]],
    *,
    by: str = "method",
    setting: str | None = "setting",
    value: Any = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.LayerChart:
    """Reliability diagrams, one per value of ``rows[i][by]``, chosen from a dropdown.

    ``rows``: one dict per non-empty confidence bin with ``lo`` and ``hi`` (the bin's edges),
    ``count`` (examples in it), ``confidence`` (their mean confidence) and ``accuracy`` (a share),
    plus the key ``by`` (e.g. ``"method"``: "LS eps=0.1", or ``"eps"``) naming the model, and,
    when ``setting`` names a key the rows have, that key (e.g. the data set) for a second
    dropdown. :meth:`coursekit.labels.ReliabilityBins.records` returns such rows (pass the model's
    name as an extra). Each bin is a bar of its accuracy over its confidence range, with the gap
    to its mean confidence in red; the dashed diagonal is perfect calibration; the corner states
    the selected model's ECE, Σ (count / n) |accuracy − confidence| over its bins (Guo et al. 2017,
    Eq. 3). ``value`` is the model shown first (default: the first). The dropdowns are the
    parameters ``model_<k>`` and ``setting_<k>``.
    """
    rows = _check_rows(rows, "rows")
    if not isinstance(by, str):
        raise ValueError(f"by must be the name of a key of the rows, got {by!r}")
    use_setting = setting is not None and all(setting in r for r in rows)
    if setting is not None and not isinstance(setting, str):
        raise ValueError(f"setting must be None or the name of a key of the rows, got {setting!r}")
    values = []
    for i, r in enumerate(rows):
        _require_keys(r, f"rows[{i}]", ("lo", "hi", "count", "confidence", "accuracy", by))
        lo, hi = _share(r["lo"], f"rows[{i}]['lo']"), _share(r["hi"], f"rows[{i}]['hi']")
        if not lo < hi:
            raise ValueError(f"rows[{i}] needs lo < hi (a bin's edges), got lo={lo}, hi={hi}")
        count = _number(r["count"], f"rows[{i}]['count']")
        if count <= 0 or int(count) != count:
            raise ValueError(f"rows[{i}]['count'] must be a positive whole number (rows are non-empty bins), got {count}")
        values.append({
            "model": _label(r[by]), "setting": _label(r[setting]) if use_setting else "",
            "lo": lo, "hi": hi, "count": int(count),
            "confidence": _share(r["confidence"], f"rows[{i}]['confidence']"),
            "accuracy": _share(r["accuracy"], f"rows[{i}]['accuracy']"),
        })
    models = list(dict.fromkeys(v["model"] for v in values))
    settings = list(dict.fromkeys(v["setting"] for v in values))
    first = models[0] if value is None else _label(value)
    if first not in models:
        raise ValueError(f"value must be one of the rows' {by!r} values {models}, got {value!r}")
    # the ECE of each (setting, model), from its bins
    totals: dict[tuple[str, str], int] = {}
    for v in values:
        totals[v["setting"], v["model"]] = totals.get((v["setting"], v["model"]), 0) + v["count"]
    ece: dict[tuple[str, str], float] = {}
    for v in values:
        key = (v["setting"], v["model"])
        v["gap"] = v["accuracy"] - v["confidence"]
        v["share"] = v["count"] / totals[key]
        ece[key] = ece.get(key, 0.0) + v["share"] * abs(v["gap"])
    notes = [{"setting": s, "model": m, "text": f"ECE {e:.3f} (n = {totals[s, m]})"} for (s, m), e in ece.items()]

    model = alt.param(name=_fresh("model"), value=first,
                      bind=alt.binding_select(options=models, name=f"{'ε / model' if by in ('eps', 'method') else by}: "))
    params = [model]
    keep = f"datum.model == {model.name}"
    if len(settings) > 1:
        pick = alt.param(name=_fresh("setting"), value=settings[0],
                         bind=alt.binding_select(options=settings, name=f"{setting}: "))
        params.append(pick)
        keep += f" && datum.setting == {pick.name}"
    unit = alt.Scale(domain=[0, 1])
    x = alt.X("lo:Q", title="confidence (bins)", scale=unit, axis=alt.Axis(format=".1f", tickCount=5))
    tooltip = [alt.Tooltip("model:N", title=by), alt.Tooltip("lo:Q", title="bin from", format=".2f"),
               alt.Tooltip("hi:Q", title="bin to", format=".2f"), alt.Tooltip("count:Q", title="examples"),
               alt.Tooltip("confidence:Q", title="mean confidence", format=".3f"),
               alt.Tooltip("accuracy:Q", format=".3f"), alt.Tooltip("gap:Q", title="accuracy − confidence", format="+.3f")]
    base = alt.Chart(alt.Data(values=values)).transform_filter(keep)
    bars = base.mark_rect(color=MAIN_COLOR, opacity=0.85, stroke="white", strokeWidth=0.5).encode(
        x=x, x2="hi:Q", y=alt.Y("accuracy:Q", title="accuracy", scale=unit, axis=alt.Axis(format=".1f", tickCount=5)),
        y2=alt.datum(0), tooltip=tooltip)
    gaps = base.mark_rect(color=GAP_COLOR, opacity=0.45).encode(x=x, x2="hi:Q", y="accuracy:Q", y2="confidence:Q",
                                                                tooltip=tooltip)
    ticks = base.mark_rule(color=GAP_COLOR, strokeWidth=2).encode(x=x, x2="hi:Q", y="confidence:Q", tooltip=tooltip)
    diagonal = alt.Chart(alt.Data(values=[{"lo": 0.0, "accuracy": 0.0}, {"lo": 1.0, "accuracy": 1.0}])).mark_line(
        color=MUTED_TEXT, strokeDash=[4, 3], strokeWidth=1.2).encode(x=x, y="accuracy:Q")
    corner = (alt.Chart(alt.Data(values=notes)).transform_filter(keep)
              .mark_text(align="left", baseline="top", x=6, y=6, fontSize=12, fontWeight="bold", color=MUTED_TEXT)
              .encode(text="text:N"))
    chart = alt.layer(diagonal, bars, gaps, ticks, corner).add_params(*params).properties(
        width=PLOT_PX, height=PLOT_PX,
        title=_title(title or "Reliability diagram: accuracy against confidence",
                     "Bars: accuracy per confidence bin; red: the gap to the bin's mean confidence (a bar below the "
                     "dashed diagonal is overconfident). Choose the model below the chart.", anchor="start"),
    )
    worst = max(ece, key=ece.get)
    best = min(ece, key=ece.get)
    where = lambda key: f"{key[1]}" + (f" ({key[0]})" if key[0] else "")  # noqa: E731
    return chart.properties(description=description or (
        f"Interactive reliability diagram: accuracy against confidence in equal-width bins for {len(ece)} models "
        f"({_listing(models)})" + (f" in {len(settings)} settings ({_listing(settings)})" if len(settings) > 1 else "")
        + f", chosen from a dropdown. Lowest ECE: {where(best)} at {ece[best]:.3f}; highest: {where(worst)} at "
        f"{ece[worst]:.3f}."
    ))


# ----------------------------------------------------------------------------- flip rate
_ATTACKS = {"random": "random flips", "alfa": "ALFA"}
_DEFENCES = {"none": "no defence", "knn": "kNN sanitisation"}


def flip_rate_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    metric: str = "accuracy",
    published: Sequence[Mapping[str, Any]] = (),
    title: str | None = None,
    description: str | None = None,
) -> alt.LayerChart:
    """Test ``metric`` ("accuracy" or "error", shares) against the flip rate, one line per attack
    and defence, with radio buttons to show one attack or one defence (or all).

    ``rows``: dicts with ``attack`` ("random" or "alfa", or any name), ``defence`` ("none" or "knn",
    or any name), ``rate`` (the share of training labels flipped), ``seed`` and ``metric``, as
    :func:`coursekit.labels.flipping_experiments.flip_rate_curves` returns. Each line is the mean
    over seeds, its band the lowest to the highest seed. ``published``: optional dicts with
    ``attack``, ``defence``, ``rate``, ``metric`` and ``source`` (e.g. numbers read from Xiao et
    al.'s figure), drawn as hollow diamonds of the same colour. The radio buttons are the
    parameters ``attack_<k>`` and ``defence_<k>``; the legend names each line.
    """
    rows = _check_rows(rows, "rows")
    if metric not in ("accuracy", "error"):
        raise ValueError(f"metric must be 'accuracy' or 'error', got {metric!r}")
    groups: dict[tuple[str, str, float], list[float]] = {}
    for i, r in enumerate(rows):
        _require_keys(r, f"rows[{i}]", ("attack", "defence", "rate", metric))
        key = (str(r["attack"]), str(r["defence"]), _share(r["rate"], f"rows[{i}]['rate']"))
        groups.setdefault(key, []).append(_share(r[metric], f"rows[{i}][{metric!r}]"))

    def name(attack: str, defence: str) -> str:
        a, d = _ATTACKS.get(attack, attack), _DEFENCES.get(defence, defence)
        return a if defence == "none" else f"{a} + {d}"

    values = [{"attack": _ATTACKS.get(a, a), "defence": _DEFENCES.get(d, d), "series": name(a, d), "rate": rate,
               "mean": sum(v) / len(v), "low": min(v), "high": max(v), "seeds": len(v)}
              for (a, d, rate), v in groups.items()]
    extra = []
    for i, p in enumerate(published):
        _require_keys(p, f"published[{i}]", ("attack", "defence", "rate", metric, "source"))
        a, d = str(p["attack"]), str(p["defence"])
        extra.append({"attack": _ATTACKS.get(a, a), "defence": _DEFENCES.get(d, d), "series": name(a, d),
                      "rate": _share(p["rate"], f"published[{i}]['rate']"),
                      "mean": _share(p[metric], f"published[{i}][{metric!r}]"), "source": str(p["source"])})
    series = list(dict.fromkeys([v["series"] for v in values] + [e["series"] for e in extra]))
    attacks = ["all", *dict.fromkeys(v["attack"] for v in values)]
    defences = ["all", *dict.fromkeys(v["defence"] for v in values)]
    scales = _series_scales(series)
    attack = alt.param(name=_fresh("attack"), value="all", bind=alt.binding_radio(options=attacks, name="attack: "))
    defence = alt.param(name=_fresh("defence"), value="all", bind=alt.binding_radio(options=defences, name="defence: "))
    keep = (f"({attack.name} == 'all' || datum.attack == {attack.name}) && "
            f"({defence.name} == 'all' || datum.defence == {defence.name})")
    label = "test accuracy" if metric == "accuracy" else "test error"
    x = alt.X("rate:Q", title="share of training labels flipped", axis=alt.Axis(format=".0%", tickCount=5))
    y = alt.Y("mean:Q", title=f"{label} (mean over seeds)", axis=alt.Axis(format=".0%"), scale=alt.Scale(zero=False))
    colour = alt.Color("series:N", scale=scales["color"], legend=_legend(None, series, symbolOpacity=1))
    tooltip = [alt.Tooltip("series:N", title="attack"), alt.Tooltip("rate:Q", title="flipped", format=".0%"),
               alt.Tooltip("mean:Q", title=f"{label}, mean", format=".1%"),
               alt.Tooltip("low:Q", title="lowest seed", format=".1%"),
               alt.Tooltip("high:Q", title="highest seed", format=".1%"), alt.Tooltip("seeds:Q")]
    base = alt.Chart(alt.Data(values=values)).transform_filter(keep)
    band = base.mark_area(opacity=0.15).encode(x=x, y=alt.Y("low:Q"), y2="high:Q", color=colour)
    lines = base.mark_line(point=True, strokeWidth=2).encode(
        x=x, y=y, color=colour,
        strokeDash=alt.StrokeDash("series:N", scale=scales["strokeDash"], legend=None),
        shape=alt.Shape("series:N", scale=scales["shape"], legend=None), tooltip=tooltip)
    layers = [band, lines]
    if extra:
        layers.append(
            alt.Chart(alt.Data(values=extra)).transform_filter(keep)
            .mark_point(shape="diamond", size=90, filled=False, strokeWidth=1.8)
            .encode(x=x, y=y, color=alt.Color("series:N", scale=scales["color"], legend=None),
                    tooltip=[alt.Tooltip("series:N", title="attack"), alt.Tooltip("rate:Q", title="flipped", format=".0%"),
                             alt.Tooltip("mean:Q", title=label, format=".1%"), alt.Tooltip("source:N")]))
    chart = alt.layer(*layers).add_params(attack, defence).properties(
        width=PLOT_PX, height=220,
        title=_title(title or f"{label.capitalize()} as more training labels are flipped",
                     "Lines: mean over seeds; bands: lowest to highest seed"
                     + ("; hollow diamonds: the paper's numbers" if extra else "")
                     + ". Choose an attack or a defence below the chart.", anchor="start"),
    )
    top = max(v["rate"] for v in values)
    at_top = {v["series"]: v["mean"] for v in values if v["rate"] == top}
    return chart.properties(description=description or (
        f"Interactive line chart of {label} against the share of flipped training labels (0 to {top:.0%}) for "
        f"{len(at_top) or len(series)} attack and defence combinations ({_listing(series)}), means over seeds with "
        f"bands; radio buttons filter by attack and defence. At {top:.0%}: "
        + "; ".join(f"{s} {m:.1%}" for s, m in at_top.items()) + "."
    ))


# ----------------------------------------------------------------------------- penultimate layer
def penultimate_scatter(
    points: Sequence[Mapping[str, Any]],
    metrics: Sequence[Mapping[str, Any]] = (),
    *,
    split: str = "train",
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """Penultimate-layer activations projected on the plane through three class templates, one
    panel per smoothing ε (Müller et al. 2019, Fig. 1), coloured and shaped by class.

    ``points``: dicts with ``eps``, ``split`` ("train" or "test"), ``label`` (and optionally
    ``digit``, which then names the class) and the projected ``x`` and ``y``, as :func:`coursekit.labels.smoothing_experiments.penultimate_picture` returns.
    ``metrics``: optional dicts with ``eps`` and ``split`` and any of ``spread_ratio``,
    ``asymmetry``, ``centre_ratio`` (or ``equidistance``) and ``accuracy``, written under each
    panel's heading. Each panel keeps its
    own axes (smoothing shrinks the activations' scale). Radio buttons (parameter ``split_<k>``)
    switch between the training and test points; ``split`` is the one shown first.
    """
    points = _check_rows(points, "points")
    values = []
    for i, p in enumerate(points):
        _require_keys(p, f"points[{i}]", ("eps", "split", "label", "x", "y"))
        name = f"digit {p['digit']}" if "digit" in p else f"class {p['label']}"
        values.append({"eps": _label(_number(p["eps"], f"points[{i}]['eps']")), "split": str(p["split"]),
                       "label": name, "x": float(_number(p["x"], f"points[{i}]['x']")),
                       "y": float(_number(p["y"], f"points[{i}]['y']"))})
    splits = list(dict.fromkeys(v["split"] for v in values))
    if split not in splits:
        raise ValueError(f"split must be one of the points' splits {splits}, got {split!r}")
    by_eps: dict[str, list[str]] = {}
    for i, m in enumerate(metrics):
        _require_keys(m, f"metrics[{i}]", ("eps", "split"))
        parts = []
        if "spread_ratio" in m:
            parts.append(f"spread {_number(m['spread_ratio'], f'metrics[{i}][spread_ratio]'):.2f}")
        if "asymmetry" in m:
            parts.append(f"asym. {_number(m['asymmetry'], f'metrics[{i}][asymmetry]'):.2f}")
        for key in ("equidistance", "centre_ratio"):
            if key in m:
                parts.append(f"centres {_number(m[key], f'metrics[{i}][{key}]'):.2f}")
        if "accuracy" in m:
            parts.append(f"acc. {_share(m['accuracy'], f'metrics[{i}][accuracy]'):.0%}")
        by_eps.setdefault(_label(_number(m["eps"], f"metrics[{i}]['eps']")), []).append(f"{m['split']}: " + " · ".join(parts))
    classes = sorted(dict.fromkeys(v["label"] for v in values))
    scales = _series_scales(classes)
    pick = alt.param(name=_fresh("split"), value=split, bind=alt.binding_radio(options=splits, name="points: "))
    axis = alt.Axis(labels=False, ticks=False, grid=True, domain=False)
    panels = []
    for k, eps in enumerate(dict.fromkeys(v["eps"] for v in values)):
        panel = (
            alt.Chart(alt.Data(values=[v for v in values if v["eps"] == eps]))
            .transform_filter(f"datum.split == {pick.name}")
            .mark_point(filled=True, size=28, opacity=0.7)
            .encode(
                x=alt.X("x:Q", title="template plane, axis 1", axis=axis, scale=alt.Scale(zero=False)),
                y=alt.Y("y:Q", title="axis 2", axis=axis, scale=alt.Scale(zero=False)),
                color=alt.Color("label:N", scale=scales["color"], legend=_legend(None, classes) if k == 0 else None),
                shape=alt.Shape("label:N", scale=scales["shape"], legend=None),
                tooltip=[alt.Tooltip("label:N", title="class"), alt.Tooltip("split:N")],
            )
            .properties(width=PLOT_PX, height=200,
                        title=_title("without label smoothing" if eps == "0" else f"label smoothing ε = {eps}",
                                     "; ".join(by_eps.get(eps, [])) or None, anchor="start"))
        )
        if k == 0:
            panel = panel.add_params(pick)
        panels.append(panel)
    chart = alt.vconcat(*panels, spacing=12).properties(
        title=_title(title or "Penultimate-layer activations of three classes",
                     "Projected on the plane through the three class templates. Choose training or test points.",
                     anchor="start"))
    n = sum(1 for v in values if v["split"] == split and v["eps"] == values[0]["eps"])
    return chart.properties(description=description or (
        f"Scatter plots of penultimate-layer activations of {len(classes)} classes ({_listing(classes)}), "
        f"projected on the plane through the class templates, one panel per smoothing value "
        f"({_listing(['ε = ' + e for e in dict.fromkeys(v['eps'] for v in values)])}), about {n} points each; radio "
        f"buttons switch between {_listing(splits)} points."
        + (" " + " ".join(f"ε = {e}: {'; '.join(t)}." for e, t in by_eps.items()) if by_eps else "")
    ))
