"""Chapter 10's lineage timeline: the BERT family by date and size, drawn from the configs.

:func:`lineage_rows` takes each model's date and exact parameter count from
:data:`coursekit.bert.family_sizes.FAMILY_SIZES` (counted from its published configuration,
not typed in); :func:`lineage_chart` draws them as an Altair (Vega-Lite) chart that works in
the static book with no kernel: x is the month of the paper's first arXiv version, y the
parameters on a log axis, one mark per model size, colour and shape the family. Pointing at (or
tapping) a mark shows the model, its count beside the paper's figure and what it changed; a
click on a legend entry highlights one family.

Papers: Devlin et al. 2019 (BERT, arXiv:1810.04805), Yang et al. 2019 (XLNet,
arXiv:1906.08237), Liu et al. 2019 (RoBERTa, arXiv:1907.11692), Lan et al. 2020 (ALBERT,
arXiv:1909.11942), Sanh et al. 2019 (DistilBERT, arXiv:1910.01108).

Legend: one row per model size; parameters in millions (M).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import altair as alt

from ._inputs import _check_rows, _number, _require_keys
from ._style import FADED, HIGHLIGHT, PANEL_WIDTH, _fresh, _legend, _listing, _series_scales, _title

__all__ = ["LINEAGE_MODELS", "lineage_rows", "lineage_chart"]

# The released sizes of each family (ALBERT's all-shared models; the not-shared ones and BERT as
# ALBERT recounts it stay in the size table)
LINEAGE_MODELS = (
    "BERT-base", "BERT-large", "XLNet-base", "XLNet-large", "RoBERTa-base", "RoBERTa-large",
    "ALBERT-base", "ALBERT-large", "ALBERT-xlarge", "ALBERT-xxlarge", "DistilBERT",
)


def lineage_rows(models: Sequence[str] = LINEAGE_MODELS) -> list[dict]:
    """One dict per model of ``models`` (names of ``FAMILY_SIZES``): ``model``, ``family``,
    ``date`` ("YYYY-MM-01", the paper's first arXiv month), ``params`` (counted from the
    config), ``published`` (the paper's figure or None) and ``changed``."""
    from ..bert.family_sizes import FAMILY_SIZES, count_family

    if isinstance(models, str) or not all(isinstance(m, str) for m in models):
        raise ValueError(f"models must be a list of model names, got {models!r}")
    unknown = [m for m in models if m not in FAMILY_SIZES]
    if unknown or not models:
        raise ValueError(f"models must name models of FAMILY_SIZES ({_listing(list(FAMILY_SIZES), 20)}), got {unknown or models}")
    rows = []
    for name in models:
        p = FAMILY_SIZES[name]
        year, month = p.date
        rows.append({"model": name, "family": p.family, "date": f"{year:04d}-{month:02d}-01",
                     "params": count_family(p.size), "published": p.published, "changed": p.changed})
    return rows


def lineage_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
    description: str | None = None,
) -> alt.LayerChart:
    """The lineage as a timeline: date against parameters (log), a mark per model.

    ``rows``: dicts with ``model``, ``family``, ``date`` (an ISO date string), ``params`` (> 0)
    and optionally ``published`` (the paper's figure, or None) and ``changed`` (what the model
    changed), e.g. :func:`lineage_rows`. Pointing at a mark selects it (parameter
    ``model_<k>``): it grows and turns the highlight colour, and the line under the title
    names it; the tooltip gives the counts and what changed. Clicking a legend entry
    (parameter ``family_<k>``) fades the other families. The plot is PANEL_WIDTH wide (it fits
    a phone).
    """
    rows = _check_rows(rows, "rows")
    values = []
    for i, r in enumerate(rows):
        _require_keys(r, f"rows[{i}]", ("model", "family", "date", "params"), ("published", "changed"))
        params = _number(r["params"], f"rows[{i}]['params']")
        if params <= 0:
            raise ValueError(f"rows[{i}]['params'] must be > 0 for a log axis, got {params}")
        published = r.get("published")
        if published is not None:
            published = _number(published, f"rows[{i}]['published']")
        if not isinstance(r["date"], str) or len(r["date"]) < 7:
            raise ValueError(f"rows[{i}]['date'] must be an ISO date string such as '2019-07-01', got {r['date']!r}")
        values.append({
            "model": str(r["model"]), "family": str(r["family"]), "date": r["date"],
            "M": params / 1e6, "paper": "not given" if published is None else f"{published / 1e6:g}M",
            "changed": str(r.get("changed") or ""),
        })
    families = list(dict.fromkeys(v["family"] for v in values))
    scales = _series_scales(families)
    legend = alt.selection_point(name=_fresh("family"), fields=["family"], bind="legend")
    hover = alt.selection_point(name=_fresh("model"), fields=["model"], on="pointerover", nearest=True,
                                clear="pointerout", empty=False)
    x = alt.X("date:T", title="first arXiv version", scale=alt.Scale(padding=14),  # no mark on the plot's edge
              axis=alt.Axis(format="%b %Y", tickCount=4, labelAngle=0))
    y = alt.Y("M:Q", title="parameters (millions, log)", scale=alt.Scale(type="log"), axis=alt.Axis(format="~g"))
    base = alt.Chart(alt.Data(values=values))
    points = base.mark_point(filled=True, opacity=0.9).encode(
        x=x,
        y=y,
        color=alt.when(hover).then(alt.value(HIGHLIGHT)).otherwise(
            alt.Color("family:N", scale=scales["color"], legend=_legend(None, families))),
        shape=alt.Shape("family:N", scale=scales["shape"], legend=None),
        size=alt.when(hover).then(alt.value(180)).otherwise(alt.value(70)),
        opacity=alt.when(legend).then(alt.value(0.95)).otherwise(alt.value(FADED)),
        tooltip=[
            alt.Tooltip("model:N"), alt.Tooltip("family:N"), alt.Tooltip("date:T", title="paper", format="%B %Y"),
            alt.Tooltip("M:Q", title="counted (M)", format=".1f"), alt.Tooltip("paper:N", title="paper's figure"),
            alt.Tooltip("changed:N", title="what changed"),
        ],
    ).add_params(legend, hover)
    label = base.mark_text(align="left", dx=8, dy=-8, fontSize=11, color=HIGHLIGHT).encode(
        x=x, y=y, text="model:N").transform_filter(hover)
    text = description or (
        f"Timeline of {len(values)} models of {_listing(families)}: the date of each paper against its parameter "
        f"count (log axis), from "
        + ", ".join(f"{v['model']} {v['M']:.0f}M ({v['date'][:7]})" for v in values)
        + ". Pointing at a mark names it and shows what it changed; clicking a family in the legend highlights it."
    )
    return alt.layer(points, label).properties(
        width=PANEL_WIDTH,
        height=240,
        title=_title(title or "The BERT family: when and how big",
                     "Counted from each published configuration. Point at a model; click a family.", anchor="start"),
        description=text,
    )
