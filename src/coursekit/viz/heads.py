"""Chapter 11's interactive figures: what each attention head looks at.

Both are Altair (Vega-Lite) charts whose controls are parameters and selections, so they
work in the static book with no kernel:

- :func:`head_overview`: every head of a model as a layer x head grid coloured by a
  measure chosen with radio buttons (attention to [CLS], to [SEP], to the previous token,
  entropy, ... after Clark et al. 2019, Sec. 3); clicking (or tapping) a head shows its
  average pattern (a bar per category, e.g. the share of attention by relative position)
  and its attention matrix on an example sentence.
- :func:`head_box`: a live control (ipywidgets, needs a running kernel): type a sentence, pick
  a layer and a head, and read where each token looks.
- :func:`relation_selector`: for each dependency relation, the best head's accuracy beside
  the best fixed-offset baseline's (a static bar chart), and a sentence menu that shows,
  for each dependent in the chosen sentence, the gold head, the best head's prediction and
  the baseline's (Clark et al. 2019, Sec. 4.2).

bertviz's head and model views of the same attentions: :func:`coursekit.viz.bert.show_bert_attention`.

Legend: L layers, H heads per layer, T tokens of the example sentence, K categories of a
head's average pattern. Layers and heads are counted from 0, as in Python.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Sequence

import altair as alt
import numpy as np

from ._inputs import _as_array, _as_tokens, _check_rows, _describe, _number, _require_keys
from ._style import (
    HIGHLIGHT,
    MAIN_COLOR,
    PALETTE,
    PANEL_WIDTH,
    WEIGHT_SCHEME,
    _display,
    _fresh,
    _gradient_legend,
    _legend,
    _title,
    _token_axis,
)

__all__ = ["head_overview", "relation_selector", "head_box"]

GRID_PX = 300  # the layer x head grid's width: with its axis it fits a 390 px phone
EXAMPLE_PX = 260  # the example attention matrix's side


def _measures(measures: object) -> tuple[list[str], list[np.ndarray]]:
    if not isinstance(measures, Mapping) or not measures:
        raise ValueError(f"measures must be a non-empty dict of name -> (L, H) array, got {_describe(measures)}")
    names, arrays = [], []
    for name, value in measures.items():
        a = _as_array(value, f"measures[{name!r}]")
        if a.ndim != 2 or min(a.shape) < 1:
            raise ValueError(f"measures[{name!r}] must be an (L, H) array, one value per head, got {_describe(a)}")
        if arrays and a.shape != arrays[0].shape:
            raise ValueError(
                f"every measure must have the same (L, H); measures[{names[0]!r}] is {arrays[0].shape}, "
                f"measures[{name!r}] is {a.shape}"
            )
        names.append(str(name))
        arrays.append(a)
    return names, arrays


def head_overview(
    measures: Mapping[str, Any],
    example: Any,
    tokens: Sequence[str],
    *,
    average: Any | None = None,
    average_labels: Sequence[str] | None = None,
    head: tuple[int, int] | None = None,
    start: int = 0,
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """Every head as a cell of a layer x head grid, coloured by a chosen measure; pick a head
    to see its average pattern and its attention on an example sentence.

    ``measures``: name -> ``(L, H)`` array (one number per head, e.g. the mean attention to
    [SEP]); radio buttons (parameter ``measure_<k>``) pick which one colours the grid (the
    colour scale follows the chosen measure's range). ``example``: ``(L, H, T, T)``
    attention weights on one sentence (rows attend, columns are attended), or a list of L
    per-layer ``(1, H, T, T)`` tensors as transformers returns them; ``tokens`` its T
    tokens. ``average`` (optional): ``(L, H, K)``, each head's average pattern over many
    sentences in K categories named by ``average_labels`` (e.g. "[CLS]", "−2", "−1",
    "self", "+1", "[SEP]"); without it the bars show the head's value of every measure.
    ``head``: the (layer, head) picked at first (default: the head with the largest value
    of the first measure). Clicking (or tapping) a cell picks a head (selection ``head_<k>``).
    ``start``: the number the labels give the first layer and head: 0 (Python's indices, and
    ``head``'s) or 1 (Clark et al.'s "layer-head" notation, e.g. head 8-10).
    """
    names, arrays = _measures(measures)
    L, H = arrays[0].shape
    toks = [_display(t) for t in _as_tokens(tokens, "tokens")]
    if isinstance(example, (list, tuple)):
        example = np.stack([_as_array(a, f"example[{i}]").reshape(-1, *np.shape(a)[-2:]) for i, a in enumerate(example)])
    ex = _as_array(example, "example")
    T = len(toks)
    if ex.shape != (L, H, T, T):
        raise ValueError(f"example must be (L, H, T, T) = ({L}, {H}, {T}, {T}) to match measures and tokens, "
                         f"got {_describe(ex)}")
    if average is not None:
        avg = _as_array(average, "average")
        if avg.ndim != 3 or avg.shape[:2] != (L, H):
            raise ValueError(f"average must be (L, H, K) = ({L}, {H}, K), got {_describe(avg)}")
        labels = [str(x) for x in (average_labels or [])]
        if len(labels) != avg.shape[2]:
            raise ValueError(f"average_labels must name the K = {avg.shape[2]} categories of average, got {len(labels)}")
    else:
        avg, labels = np.stack(arrays, axis=-1), names
    if head is None:
        head = tuple(int(i) for i in np.unravel_index(int(np.argmax(arrays[0])), (L, H)))
    if (not isinstance(head, tuple) or len(head) != 2 or not all(isinstance(i, int) and not isinstance(i, bool)
                                                                  for i in head)
            or not (0 <= head[0] < L and 0 <= head[1] < H)):
        raise ValueError(f"head must be a (layer, head) pair of ints inside ({L}, {H}), got {head!r}")
    if start not in (0, 1) or isinstance(start, bool):
        raise ValueError(f"start must be 0 or 1 (the first layer's and head's number), got {start!r}")
    s0 = start

    cells = [{"measure": n, "layer": l + s0, "head": h + s0, "value": round(float(a[l, h]), 4)}
             for n, a in zip(names, arrays) for l in range(L) for h in range(H)]
    bars = [{"layer": l + s0, "head": h + s0, "k": k, "label": labels[k], "value": round(float(avg[l, h, k]), 4)}
            for l in range(L) for h in range(H) for k in range(len(labels))]
    mats = [{"layer": l + s0, "head": h + s0, "w": [round(float(v), 3) for v in ex[l, h].reshape(-1)]}
            for l in range(L) for h in range(H)]

    pick = alt.param(name=_fresh("measure"), value=names[0], bind=alt.binding_radio(options=names, name="colour by: "))
    sel = alt.selection_point(name=_fresh("head"), fields=["layer", "head"], on="click", clear=False,
                              value=[{"layer": head[0] + s0, "head": head[1] + s0}])
    chosen_l = f"({sel.name}.layer ? {sel.name}.layer[0] : {head[0] + s0})"
    chosen_h = f"({sel.name}.head ? {sel.name}.head[0] : {head[1] + s0})"
    cell = GRID_PX / H
    grid = (
        alt.Chart(alt.Data(values=cells))
        .transform_filter(f"datum.measure == {pick.name}")
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("head:O", title="head", axis=alt.Axis(orient="top", labelAngle=0, ticks=False, domain=False)),
            y=alt.Y("layer:O", title="layer", axis=alt.Axis(ticks=False, domain=False)),
            color=alt.Color("value:Q", scale=alt.Scale(scheme=WEIGHT_SCHEME), title=None,
                            legend=_gradient_legend("value of the chosen measure", GRID_PX)),
            stroke=alt.when(sel, empty=False).then(alt.value(HIGHLIGHT)).otherwise(alt.value("white")),
            strokeWidth=alt.when(sel, empty=False).then(alt.value(3.0)).otherwise(alt.value(0.5)),
            tooltip=[alt.Tooltip("layer:O"), alt.Tooltip("head:O"), alt.Tooltip("measure:N"),
                     alt.Tooltip("value:Q", format=".3f")],
        )
        .add_params(pick, sel)
        .properties(
            width=GRID_PX, height=max(60, min(GRID_PX, cell * L)),
            title=_title(title or "What each head attends to",
                         "Choose a measure; click (or tap) a head to see its pattern below.", anchor="start"),
        )
    )
    head_title = alt.expr(f"'Layer ' + {chosen_l} + ', head ' + {chosen_h} + ': average pattern'")
    profile = (
        alt.Chart(alt.Data(values=bars))
        .transform_filter(sel)
        .mark_bar(color=MAIN_COLOR)
        .encode(
            x=alt.X("label:N", title=None, sort=labels, axis=alt.Axis(labelAngle=0 if max(map(len, labels)) <= 5
                                                                         else -40, labelOverlap=False)),
            y=alt.Y("value:Q", title="mean", axis=alt.Axis(tickCount=3)),
            tooltip=[alt.Tooltip("label:N", title="category"), alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=GRID_PX, height=90, title=alt.Title(head_title, fontSize=12, anchor="start"))
    )
    labels_expr = f"{json.dumps(toks, ensure_ascii=False)}[datum.value]"
    longest = max(len(t) for t in toks)
    side = EXAMPLE_PX / T
    matrix = (
        alt.Chart(alt.Data(values=mats))
        .transform_filter(sel)
        .transform_flatten(["w"])
        .transform_window(i="row_number()")
        .transform_calculate(q=f"floor((datum.i - 1) / {T})", k=f"(datum.i - 1) % {T}")
        .mark_rect()
        .encode(
            x=alt.X("k:O", scale=alt.Scale(domain=list(range(T))),
                    axis=_token_axis(labels_expr, "attended (key)", int(side), longest, orient="bottom")),
            y=alt.Y("q:O", scale=alt.Scale(domain=list(range(T))),
                    axis=_token_axis(labels_expr, "attending (query)", int(side), longest)),
            color=alt.Color("w:Q", scale=alt.Scale(scheme=WEIGHT_SCHEME, domain=[0, 1]), legend=None),
            tooltip=[alt.Tooltip("q:O", title="query"), alt.Tooltip("k:O", title="key"),
                     alt.Tooltip("w:Q", title="weight", format=".3f")],
        )
        .properties(width=EXAMPLE_PX, height=EXAMPLE_PX,
                    title=alt.Title(alt.expr(f"'Layer ' + {chosen_l} + ', head ' + {chosen_h} + ' on the example'"),
                                    fontSize=12, anchor="start"))
    )
    top = {n: tuple(int(i) for i in np.unravel_index(int(np.argmax(a)), (L, H))) for n, a in zip(names, arrays)}
    text = description or (
        f"Interactive grid of the {L} x {H} attention heads (layers down, heads across, counted from {s0}), "
        f"coloured by a measure "
        f"chosen with radio buttons: {', '.join(names)}. The largest value of each: "
        + "; ".join(f"{n} at layer {l + s0}, head {h + s0}" for n, (l, h) in top.items())
        + f". Clicking a head shows its average pattern as bars and its attention matrix on the example "
        f"sentence of {T} tokens."
    )
    return alt.vconcat(grid, profile, matrix, spacing=10, description=text).resolve_scale(color="independent")


def _selector_rows(table: object, sentences: object) -> tuple[list[dict], list[list[str]], list[dict]]:
    rows = _check_rows(table, "table")
    relations = []
    for i, r in enumerate(rows):
        _require_keys(r, f"table[{i}]", ("relation", "layer", "head", "head_acc", "offset", "baseline_acc"))
        relations.append({
            "relation": str(r["relation"]),
            "best head": f"{int(_number(r['layer'], f'table[{i}].layer'))}-{int(_number(r['head'], f'table[{i}].head'))}",
            "offset": int(_number(r["offset"], f"table[{i}].offset")),
            "head": float(_number(r["head_acc"], f"table[{i}].head_acc")),
            "baseline": float(_number(r["baseline_acc"], f"table[{i}].baseline_acc")),
        })
    sents = _check_rows(sentences, "sentences")
    known = {r["relation"] for r in relations}
    words, marks = [], []
    for s, sent in enumerate(sents):
        _require_keys(sent, f"sentences[{s}]", ("words", "arcs"))
        ws = _as_tokens(sent["words"], f"sentences[{s}]['words']")
        n = len(ws)
        words.append([_display(w) for w in ws])
        for a, arc in enumerate(sent["arcs"]):
            where = f"sentences[{s}]['arcs'][{a}]"
            _require_keys(arc, where, ("dep", "head", "relation", "predicted", "baseline"))
            if str(arc["relation"]) not in known:
                raise ValueError(f"{where} has relation {arc['relation']!r}, which table does not list ({sorted(known)})")
            pos = {k: None if arc[k] is None and k in ("predicted", "baseline") else int(_number(arc[k], f"{where}[{k!r}]"))
                   for k in ("dep", "head", "predicted", "baseline")}
            for k, v in pos.items():
                if v is not None and not 0 <= v < n:
                    raise ValueError(f"{where}[{k!r}] must be a word position in [0, {n}), got {v}")
            row = f"{ws[pos['dep']]} ({arc['relation']})"
            for kind, key in (("gold head", "head"), ("best head", "predicted"), ("baseline", "baseline")):
                if pos[key] is None:  # e.g. an offset that points outside the sentence: no pick to draw
                    continue
                marks.append({"s": s, "row": row, "order": pos["dep"], "kind": kind, "pos": pos[key],
                              "word": ws[pos[key]], "right": pos[key] == pos["head"]})
    return relations, words, marks


def relation_selector(
    table: Sequence[Mapping[str, Any]],
    sentences: Sequence[Mapping[str, Any]],
    *,
    sentence: int = 0,
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """Each relation's best head against the best fixed-offset baseline, then one sentence at a time.

    ``table``: one dict per relation with ``relation``, ``layer``, ``head`` (the head chosen
    on the selection half), ``head_acc``, ``offset`` (the baseline's) and ``baseline_acc``
    (both scored on the held-out half). ``sentences``: dicts with ``words`` and ``arcs``,
    each arc a dict with ``dep``, ``head`` (the gold head), ``relation``, ``predicted`` (what
    the relation's best head predicts) and ``baseline`` (what its offset predicts), all word
    positions (``predicted`` or ``baseline`` may be None: an offset that points outside the
    sentence picks no word). The top panel is a grouped bar chart; below it a menu (parameter
    ``sentence_<k>``) picks a sentence, whose dependents are rows and whose words are
    columns: a square marks the gold head, a circle the best head's pick, a cross the
    baseline's.
    """
    relations, words, marks = _selector_rows(table, sentences)
    if isinstance(sentence, bool) or not isinstance(sentence, int) or not 0 <= sentence < len(words):
        raise ValueError(f"sentence must be an int in [0, {len(words)}), got {sentence!r}")
    names = [r["relation"] for r in relations]
    long = [{"relation": r["relation"], "who": who, "acc": r[key], "detail": detail}
            for r in relations
            for who, key, detail in (("best head", "head", f"head {r['best head']}"),
                                     ("baseline", "baseline", f"offset {r['offset']:+d}"))]
    kinds = ["best head", "baseline"]
    colour = alt.Scale(domain=kinds, range=[MAIN_COLOR, PALETTE[1]])
    bars = (
        alt.Chart(alt.Data(values=long))
        .mark_bar()
        .encode(
            y=alt.Y("relation:N", sort=names, title=None),
            yOffset=alt.YOffset("who:N", sort=kinds),
            x=alt.X("acc:Q", title="accuracy on held-out sentences", scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(format="%", tickCount=5)),
            color=alt.Color("who:N", scale=colour, legend=_legend(None, kinds)),
            tooltip=[alt.Tooltip("relation:N"), alt.Tooltip("who:N", title="scorer"), alt.Tooltip("detail:N"),
                     alt.Tooltip("acc:Q", format=".1%")],
        )
        .properties(width=PANEL_WIDTH, height=max(60, 26 * len(names)),
                    title=_title(title or "Does a head track each relation?",
                                 "Best head (chosen on other sentences) against the best fixed offset.",
                                 anchor="start"))
    )
    labels = [f"{i}: " + " ".join(w)[:44] + ("…" if len(" ".join(w)) > 44 else "") for i, w in enumerate(words)]
    pick = alt.param(name=_fresh("sentence"), value=sentence,
                     bind=alt.binding_select(options=list(range(len(words))), labels=labels, name="sentence: "))
    word_table = json.dumps(words, ensure_ascii=False)
    x_labels = f"({word_table}[{pick.name}] || [])[datum.value]"
    cols = [{"s": s, "pos": p} for s, ws in enumerate(words) for p in range(len(ws))]
    x = alt.X("pos:O", title=None, axis=_token_axis(x_labels, "predicted head (word)", 16, 3, orient="bottom"))
    frame = alt.Chart(alt.Data(values=cols)).transform_filter(f"datum.s == {pick.name}").mark_tick(opacity=0).encode(x=x)
    shapes = alt.Scale(domain=["gold head", "best head", "baseline"], range=["square", "circle", "cross"])
    dots = (
        alt.Chart(alt.Data(values=marks))
        .transform_filter(f"datum.s == {pick.name}")
        .mark_point(filled=False, strokeWidth=2)
        .encode(
            x=x,
            size=alt.Size("kind:N", scale=alt.Scale(domain=shapes.domain, range=[300, 110, 50]), legend=None),
            y=alt.Y("row:N", title=None, sort=alt.EncodingSortField("order")),
            shape=alt.Shape("kind:N", scale=shapes, legend=_legend(None, shapes.domain)),
            color=alt.Color("kind:N", scale=alt.Scale(domain=shapes.domain, range=["#000000", MAIN_COLOR, PALETTE[1]]),
                            legend=_legend(None, shapes.domain)),
            tooltip=[alt.Tooltip("row:N", title="dependent"), alt.Tooltip("kind:N"), alt.Tooltip("word:N"),
                     alt.Tooltip("right:N", title="the gold head?")],
        )
    )
    sentence_panel = alt.layer(frame, dots).add_params(pick).properties(
        width=PANEL_WIDTH, height=alt.Step(22),
        title=alt.Title("One sentence: where each dependent's head is", fontSize=12, anchor="start"),
    )
    text = description or (
        "Grouped bars of accuracy per dependency relation on held-out sentences, the best attention head against "
        "the best fixed-offset baseline: "
        + "; ".join(f"{r['relation']}: head {r['best head']} {r['head']:.0%}, offset {r['offset']:+d} "
                    f"{r['baseline']:.0%}" for r in relations)
        + f". Below, a menu of {len(words)} sentences; for the chosen one, each dependent is a row and the words "
        "are columns, with the gold head, the best head's prediction and the baseline's marked."
    )
    return alt.vconcat(bars, sentence_panel, spacing=14, description=text).resolve_scale(
        color="independent", shape="independent", size="independent")


def head_box(read: Callable[[str], Any], text: str = "The cat that the dog chased sat on the mat.", *,
             layer: int = 0, head: int = 0) -> Any:
    """A live control (ipywidgets): a text box for a sentence, menus for a layer and a head (labelled
    from 1, as Clark et al. write heads), and a "Show" button that prints, for each token, the token
    that head attends to most and its weight.

    ``read(text) -> (tokens, attention)``: the sentence's T tokens and its ``(L, A, T, T)`` attention
    (e.g. a model run in the kernel). It needs a running kernel: in a static page it shows but does
    nothing. Returns the ``ipywidgets.VBox``; ``box.show()`` does what the button does."""
    import ipywidgets as widgets

    if not callable(read):
        raise ValueError(f"read must be a function text -> (tokens, (L, A, T, T) attention), got {type(read).__name__}")

    def run(sentence: str) -> tuple[list[str], np.ndarray]:
        tokens, attention = read(sentence)
        toks = _as_tokens(tokens, "the tokens read returns")
        att = _as_array(attention, "the attention read returns")
        if att.ndim != 4 or att.shape[-2:] != (len(toks), len(toks)):
            raise ValueError(f"read must return (L, A, T, T) attention with T = {len(toks)} tokens, got {_describe(att)}")
        return toks, att

    _, first = run(text)
    L, H = first.shape[:2]
    if not (isinstance(layer, int) and isinstance(head, int) and 0 <= layer < L and 0 <= head < H):
        raise ValueError(f"layer and head must be ints in [0, {L}) and [0, {H}), got {layer!r} and {head!r}")
    box_text = widgets.Text(value=text, description="sentence:", layout=widgets.Layout(width="95%"))
    pick_layer = widgets.Dropdown(options=[(str(l + 1), l) for l in range(L)], value=layer, description="layer:")
    pick_head = widgets.Dropdown(options=[(str(h + 1), h) for h in range(H)], value=head, description="head:")
    button = widgets.Button(description="Show")
    out = widgets.Output()

    def show(_=None) -> None:
        out.outputs = ()  # clear
        toks, att = run(box_text.value)
        a = att[pick_layer.value, pick_head.value]  # (T, T)
        width = max(len(t) for t in toks)
        lines = [f"layer {pick_layer.value + 1}, head {pick_head.value + 1}: each token -> the token it attends to most"]
        for i, t in enumerate(toks):
            j = int(a[i].argmax())
            lines.append(f"{t:>{width}} -> {toks[j]:<{width}} {a[i, j]:.2f}")
        out.append_stdout("\n".join(lines) + "\n")

    button.on_click(show)
    box = widgets.VBox([box_text, widgets.HBox([pick_layer, pick_head, button]), out])
    box.show = show
    return box
