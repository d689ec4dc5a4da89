"""Chapter 8's figures: the sense map (static, no kernel) and a live sense box (a kernel).

- :func:`sense_map`: the contextual vectors of one ambiguous word, one point per sentence,
  projected to two dimensions (:func:`coursekit.senses.pca_2d`, each layer on its own axes)
  and coloured by the sense the sentence uses. A slider (a Vega-Lite parameter) steps
  through the model's layers, so it works in the static book: where the senses form
  separate clusters, that layer's vectors tell them apart.
- :func:`sense_box`: an ipywidgets control: type a sentence, see the nearest sense of the
  word in every layer (a callable computes it). It runs a model, so it needs a running kernel.

Legend: L+1 layers, N occurrences (one per sentence), D vector width.
"""

from __future__ import annotations

import json
from typing import Callable, Sequence

import altair as alt
import torch

from ._inputs import _as_tokens, _describe
from ._style import PANEL_WIDTH, _fresh, _legend, _listing, _series_scales, _title

__all__ = ["sense_map", "sense_box"]

MAP_PX = PANEL_WIDTH  # the plot's side: with its axes and the legend below it fits a 390 px phone


def sense_map(
    layers: torch.Tensor | Sequence[torch.Tensor],
    senses: Sequence[str],
    texts: Sequence[str],
    *,
    layer_names: Sequence[str] | None = None,
    layer: int = 0,
    title: str | None = None,
    description: str | None = None,
) -> alt.LayerChart:
    """A 2-D map of one word's vectors, one point per sentence, coloured (and shaped) by sense.

    ``layers`` (L+1, N, D): the word's vector in each of the model's layers for each of N
    sentences (e.g. :func:`coursekit.senses.at_positions` of :func:`coursekit.elmo.elmo_layers`),
    or a list of (N, D_j) tensors, one per slider position (layers of models of different widths);
    ``senses`` and ``texts``: each sentence's sense and text (shown when pointing at a
    point). Each layer is projected on its own first two principal components and scaled
    so its largest coordinate is 1 (the axes stay put while the slider moves).
    ``layer_names`` label the slider's positions (default "layer 0", ...); ``layer`` is the
    one shown first. The slider is the parameter ``layer_<k>``.
    """
    from ..senses import pca_2d

    feats = list(layers.unbind(0)) if isinstance(layers, torch.Tensor) and layers.dim() == 3 else layers
    if not isinstance(feats, (list, tuple)) or not feats or not all(
        isinstance(f, torch.Tensor) and f.dim() == 2 and f.shape[0] >= 2 and f.shape[1] >= 2 and f.shape[0] == feats[0].shape[0]
        for f in feats
    ):
        raise ValueError(
            f"layers must be an (L+1, N, D) tensor or a list of (N, D_j) tensors with N >= 2 and D >= 2, got {_describe(layers)}"
        )
    n_layers, N = len(feats), feats[0].shape[0]
    senses = _as_tokens(senses, "senses")
    texts = _as_tokens(texts, "texts")
    if len(senses) != N or len(texts) != N:
        raise ValueError(f"senses and texts must have one entry per sentence (N = {N}), got {len(senses)} and {len(texts)}")
    names = [f"layer {j}" for j in range(n_layers)] if layer_names is None else _as_tokens(layer_names, "layer_names")
    if len(names) != n_layers:
        raise ValueError(f"layer_names must name each of the {n_layers} layers, got {len(names)}")
    if not isinstance(layer, int) or isinstance(layer, bool) or not 0 <= layer < n_layers:
        raise ValueError(f"layer must be an int in [0, {n_layers}), got {layer!r}")
    values = []
    for j in range(n_layers):
        xy = pca_2d(feats[j])  # (N, 2)
        xy = xy / xy.abs().max().clamp_min(1e-12)
        values += [
            {"layer": j, "x": round(float(x), 4), "y": round(float(y), 4), "sense": s, "text": t}
            for (x, y), s, t in zip(xy.tolist(), senses, texts)
        ]
    kinds = list(dict.fromkeys(senses))
    scales = _series_scales(kinds)
    pick = alt.param(name=_fresh("layer"), value=layer,
                     bind=alt.binding_range(min=0, max=n_layers - 1, step=1, name="layer: "))
    axis = alt.Axis(labels=False, ticks=False, grid=True, domain=False)
    scale = alt.Scale(domain=[-1.1, 1.1])
    points = (
        alt.Chart(alt.Data(values=values))
        .transform_filter(f"datum.layer == {pick.name}")
        .mark_point(filled=True, size=60, opacity=0.8)
        .encode(
            x=alt.X("x:Q", title="first principal component", scale=scale, axis=axis),
            y=alt.Y("y:Q", title="second principal component", scale=scale, axis=axis),
            color=alt.Color("sense:N", scale=scales["color"], legend=_legend("sense", kinds)),
            shape=alt.Shape("sense:N", scale=scales["shape"], legend=None),
            tooltip=[alt.Tooltip("sense:N"), alt.Tooltip("text:N", title="sentence")],
        )
    )
    label = (
        alt.Chart(alt.Data(values=[{}]))
        .mark_text(align="left", baseline="top", x=4, y=4, fontSize=12, fontWeight="bold",
                   text=alt.expr(f"{json.dumps(names)}[{pick.name}]"))
    )
    chart = alt.layer(points, label).add_params(pick).properties(
        width=MAP_PX,
        height=MAP_PX,
        title=_title(title or "Where the senses fall, layer by layer",
                     "Move the slider to change the layer; point at a dot to read its sentence.", anchor="start"),
    )
    counts = ", ".join(f"{k} {senses.count(k)}" for k in kinds)
    return chart.properties(description=description or (
        f"Interactive scatter plot of {N} contextual vectors of one word, one per sentence, projected to two "
        f"dimensions and coloured by sense ({counts}); a slider chooses among {n_layers} layers "
        f"({_listing(names)}). Pointing at a point shows its sentence."
    ))


def sense_box(nearest: Callable[[str], Sequence[tuple[str, str, float]]], sentence: str = "") -> object:
    """A live control (ipywidgets): a sentence box and a button; ``nearest(sentence)`` returns
    rows ``(layer name, nearest sense, cosine)``, printed as a small table. It runs in the
    kernel, so it needs one: in a static page it shows but does nothing. Returns the
    ``ipywidgets.VBox``; ``.children[-1]`` is the output area. It runs once for the sentence
    given, and again on each click (``box.run()`` does the same from code)."""
    import ipywidgets as widgets

    if not callable(nearest):
        raise ValueError(f"nearest must be a callable sentence -> rows, got {_describe(nearest)}")
    if not isinstance(sentence, str):
        raise ValueError(f"sentence must be a str, got {_describe(sentence)}")
    text = widgets.Text(value=sentence, description="sentence:", layout=widgets.Layout(width="95%"))
    button = widgets.Button(description="Nearest sense")
    out = widgets.Output()

    def run(_=None) -> None:
        out.outputs = ()  # clear
        try:
            rows = nearest(text.value)
        except ValueError as error:  # e.g. the word is missing: say so in the box
            out.append_stdout(f"{error}\n")
            return
        out.append_stdout("".join(f"{name:>22}: {sense:<12} (cosine {cos:.2f})\n" for name, sense, cos in rows))

    button.on_click(run)
    box = widgets.VBox([text, button, out])
    box.run = run
    run()
    return box
