"""Chapter 9's interactive figures (BERT): the fill-the-mask explorer and the sentence
similarity heatmap (static, no kernel), two live boxes (need a kernel), and bertviz's head
and model views of a sentence pair.

- :func:`fill_mask_explorer`: a menu picks a sentence; tapping one of its tokens masks it
  and shows the model's top predictions for that position, with their probabilities, the
  true token highlighted when it is among them. All predictions are precomputed (a table
  of rows, see the function), so Vega-Lite only filters.
- :func:`similarity_heatmap`: an N x N matrix of cosine similarities between sentences;
  pointing at a cell highlights its row and column and prints the two full sentences and
  their cosine under the grid (long sentences are shortened on the axes).
- :func:`fill_mask_box`, :func:`similarity_box`: ipywidgets controls that run a model in the
  kernel on the learner's own text; in a static page they show but do nothing.
- :func:`show_bert_attention`: bertviz's ``head_view`` or ``model_view`` (every layer and
  head) of one encoded sentence or pair, with sentence B marked by ``sentence_b_start``.

Devlin et al. (2019), *BERT*, https://arxiv.org/abs/1810.04805, Sec. 3.1 (the masked LM);
Reimers & Gurevych (2019), *Sentence-BERT*, https://arxiv.org/abs/1908.10084, Sec. 3 (cosine
similarity of mean-pooled sentence vectors); Vig (2019), *A Multiscale Visualization of
Attention in the Transformer Model*, https://arxiv.org/abs/1906.05714 (bertviz).

Legend: N sentences, T tokens, L layers, H heads, K predictions per position.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any, Callable, Sequence

import altair as alt
import numpy as np

from ._inputs import _as_array, _as_tokens, _check_rows, _describe, _number, _require_keys
from ._style import HIGHLIGHT, MAIN_COLOR, PANEL_WIDTH, WEIGHT_SCHEME, _display, _fresh, _gradient_legend, _title
from .headview import to_bertviz_cross_attention

__all__ = [
    "shorten",
    "fill_mask_explorer",
    "similarity_heatmap",
    "fill_mask_box",
    "similarity_box",
    "show_bert_attention",
]

TOKENS_PER_LINE = 6  # the explorer's token grid: 6 tokens of 50 px a line fit a phone
TOKEN_PX, LINE_PX = 50, 26
HEATMAP_PX = 220  # the similarity grid's side; with its sentence labels it fits 390 px
LABEL_CHARS = 18  # a sentence on the heatmap's axes
READOUT_CHARS = 50  # a line of the heatmap's readout (11 px text in ~330 px)


def shorten(text: str, chars: int = LABEL_CHARS) -> str:
    """``text`` cut to at most ``chars`` characters at a word boundary, with "…" when cut."""
    text = " ".join(str(text).split())
    if len(text) <= chars:
        return text
    cut = text[: chars - 1]
    if " " in cut[chars // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def _unique_labels(texts: Sequence[str], chars: int) -> list[str]:
    """Shortened labels, made distinct by a number where two sentences shorten alike."""
    labels, seen = [], {}
    for i, t in enumerate(texts):
        label = shorten(t, chars)
        if label in seen:
            label = f"{i + 1}. {shorten(t, chars - 3)}"
        seen[label] = i
        labels.append(label)
    return labels


# ----------------------------------------------------------------------------- fill the mask
FILL_KEYS = ("sentence", "tokens", "position", "rank", "prediction", "probability")


def _fill_rows(table: object) -> tuple[list[str], dict[str, list[str]], list[dict]]:
    """Sentences in order, each one's tokens, and the prediction rows, checked."""
    rows = _check_rows(table, "table")
    sentences: list[str] = []
    tokens: dict[str, list[str]] = {}
    out = []
    for i, r in enumerate(rows):
        _require_keys(r, f"table[{i}]", FILL_KEYS)
        s = str(r["sentence"])
        toks = _as_tokens(r["tokens"], f"table[{i}]['tokens']")
        if s not in tokens:
            if not toks:
                raise ValueError(f"table[{i}]['tokens'] must hold at least one token, got an empty list")
            sentences.append(s)
            tokens[s] = toks
        elif toks != tokens[s]:
            raise ValueError(f"table[{i}]['tokens'] must be the same for every row of sentence {s!r}, got {toks} "
                             f"and {tokens[s]}")
        pos, rank = _number(r["position"], f"table[{i}]['position']"), _number(r["rank"], f"table[{i}]['rank']")
        if not isinstance(pos, int) or not 0 <= pos < len(toks):
            raise ValueError(f"table[{i}]['position'] must be an int in [0, {len(toks)}), got {r['position']!r}")
        if not isinstance(rank, int) or rank < 1:
            raise ValueError(f"table[{i}]['rank'] must be an int >= 1, got {r['rank']!r}")
        p = float(_number(r["probability"], f"table[{i}]['probability']"))
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"table[{i}]['probability'] must be in [0, 1], got {p}")
        out.append({"s": sentences.index(s), "position": pos, "rank": rank, "prediction": _display(str(r["prediction"])),
                    "probability": round(p, 5), "true": str(r["prediction"]) == toks[pos]})
    return sentences, tokens, out


def fill_mask_explorer(
    table: Sequence[dict],
    *,
    source: str | None = None,
    sentence: int = 0,
    position: int | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """Choose a sentence and a token to mask; see the model's top predictions there.

    ``table`` is a list of rows, one per (sentence, masked position, rank), with keys
    ``sentence`` (the text), ``tokens`` (its WordPiece tokens without [CLS]/[SEP], the same
    list on every row of the sentence), ``position`` (the index in ``tokens`` that was
    replaced by [MASK]), ``rank`` (1 = most probable), ``prediction`` (a token) and
    ``probability`` (the model's softmax probability of it). ``source`` names the model in
    the subtitle. A menu (parameter ``sentence_<k>``) picks the sentence, shown first as
    ``sentence``; tapping a token (selection ``masked_<k>``, at first ``position``, by default
    the first position that has predictions) selects the masked position; bars show its
    predictions, the true token's bar in the highlight colour. Tokens without predictions
    are grey. Width :data:`PANEL_WIDTH`, fits a phone.
    """
    sentences, tokens, rows = _fill_rows(table)
    if isinstance(sentence, bool) or not isinstance(sentence, int) or not 0 <= sentence < len(sentences):
        raise ValueError(f"sentence must be an int in [0, {len(sentences)}), got {sentence!r}")
    have = {(r["s"], r["position"]) for r in rows}
    if position is None:
        position = min(p for s, p in have if s == sentence)
    elif (sentence, position) not in have:
        raise ValueError(f"position must be a masked position of sentence {sentence} with predictions "
                         f"({sorted(p for s, p in have if s == sentence)}), got {position!r}")
    cells = [
        {"s": s, "position": p, "token": _display(t), "line": p // TOKENS_PER_LINE, "col": p % TOKENS_PER_LINE,
         "has": (s, p) in have}
        for s, text in enumerate(sentences) for p, t in enumerate(tokens[text])
    ]
    labels = _unique_labels(sentences, 40)
    pick = alt.param(name=_fresh("sentence"), value=sentence,
                     bind=alt.binding_select(options=list(range(len(sentences))), labels=labels, name="sentence: "))
    masked = alt.selection_point(name=_fresh("masked"), fields=["position"], on="click", clear=False,
                                 value=[{"position": int(position)}])
    lines = max(len(t) for t in tokens.values()) // TOKENS_PER_LINE + 1
    grid_x = alt.X("col:O", axis=None, scale=alt.Scale(domain=list(range(TOKENS_PER_LINE))))
    grid_y = alt.Y("line:O", axis=None, scale=alt.Scale(domain=list(range(lines))))
    base = alt.Chart(alt.Data(values=cells)).transform_filter(f"datum.s == {pick.name}")
    boxes = base.mark_rect(cornerRadius=3, stroke="white", strokeWidth=2).encode(
        x=grid_x, y=grid_y,
        color=alt.when(masked, empty=False).then(alt.value(HIGHLIGHT)).when("datum.has").then(alt.value("#dbe9f6"))
        .otherwise(alt.value("#eeeeee")),
        tooltip=[alt.Tooltip("token:N"), alt.Tooltip("position:O")],
    ).add_params(pick, masked)
    words = base.mark_text(fontSize=12, limit=TOKEN_PX - 4).encode(
        x=grid_x, y=grid_y, text=alt.Text("token:N"),
        color=alt.when(masked, empty=False).then(alt.value("white")).otherwise(alt.value("#222")),
    )
    grid = alt.layer(boxes, words).properties(
        width=TOKEN_PX * TOKENS_PER_LINE, height=LINE_PX * lines,
        title=_title(title or "Fill the mask: tap a token to hide it",
                     (f"Model: {source}. " if source else "") + "Bars: the model's top guesses for the tapped "
                     "token; orange: the true token.", anchor="start"),
    )
    k = max(r["rank"] for r in rows)
    preds = (
        alt.Chart(alt.Data(values=rows))
        .transform_filter(f"datum.s == {pick.name}")
        .transform_filter(masked)
    )
    bars = preds.mark_bar(height={"band": 0.75}).encode(
        y=alt.Y("prediction:N", sort=alt.EncodingSortField("rank", op="min"), title=None,
                axis=alt.Axis(labelFontSize=11, ticks=False, labelLimit=110)),
        x=alt.X("probability:Q", title="probability with the token masked", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("truth:N", scale=alt.Scale(domain=["true token", "other"], range=[HIGHLIGHT, MAIN_COLOR]),
                        legend=None),
        tooltip=[alt.Tooltip("rank:O"), alt.Tooltip("prediction:N"), alt.Tooltip("probability:Q", format=".3f")],
    ).transform_calculate(truth="datum.true ? 'true token' : 'other'")
    values = preds.mark_text(align="left", dx=3, fontSize=11, color="#333").encode(
        y=alt.Y("prediction:N", sort=alt.EncodingSortField("rank", op="min")), x="probability:Q",
        text=alt.Text("probability:Q", format=".1%"),
    )
    chart = alt.layer(bars, values).properties(width=PANEL_WIDTH, height=18 * k)
    first = sentences[sentence]
    text = description or (
        f"Interactive fill-the-mask explorer over {len(sentences)} sentences: a menu picks the sentence and tapping "
        f"a token masks it; a bar chart shows the model's {k} most probable tokens at that position with their "
        f"probabilities, the true token highlighted. First shown: {first!r}, position {position} "
        f"({tokens[first][position]!r})."
    )
    return alt.vconcat(grid, chart, spacing=8, description=text)


# ----------------------------------------------------------------------------- similarity heatmap
def similarity_heatmap(
    sentences: Sequence[str],
    matrix: object,
    *,
    source: str | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.VConcatChart:
    """Cosine similarities of N sentences as an N x N grid, with hover highlighting.

    ``sentences`` (N strings) and ``matrix`` (N, N) of cosine similarities in [-1, 1]
    (symmetric, as cosine is). The axes show each sentence shortened to
    :data:`LABEL_CHARS` characters; pointing at (or tapping) a cell (selections ``row_<k>`` and ``col_<k>``)
    outlines it, brightens its row and column, and prints both full sentences and their cosine below the
    grid. ``source`` names the model in the subtitle. :data:`HEATMAP_PX` wide.
    """
    texts = _as_tokens(sentences, "sentences")
    m = _as_array(matrix, "matrix")
    n = len(texts)
    if n < 2 or m.shape != (n, n):
        raise ValueError(f"matrix must be (N, N) with N = len(sentences) >= 2, got {_describe(m)} for {n} sentences")
    if (np.abs(m) > 1 + 1e-4).any():
        raise ValueError(f"matrix must hold cosine similarities in [-1, 1], got values up to {np.abs(m).max():.3g}")
    if not np.allclose(m, m.T, atol=1e-4):
        raise ValueError("matrix must be symmetric (cosine(a, b) = cosine(b, a)), got an asymmetric one")
    labels = _unique_labels(texts, LABEL_CHARS)
    def readout_text(i: int, j: int) -> str:  # wrapped in Python: Vega's text marks do not wrap
        words = f"cosine {m[i, j]:.3f} between “{texts[i]}” and “{texts[j]}”"
        return "\n".join(textwrap.wrap(words, READOUT_CHARS, break_on_hyphens=False))

    cells = [{"i": i, "j": j, "a": texts[i], "b": texts[j], "cos": round(float(m[i, j]), 4),
              "line": readout_text(i, j)} for i in range(n) for j in range(n)]
    readout_lines = max(c["line"].count("\n") + 1 for c in cells)
    row = alt.selection_point(name=_fresh("row"), fields=["i"], on="pointerover", clear=False, value=[{"i": 0}])
    col = alt.selection_point(name=_fresh("col"), fields=["j"], on="pointerover", clear=False, value=[{"j": 1}])
    pair = row & col
    lookup = json.dumps(labels, ensure_ascii=False)
    cell_px = HEATMAP_PX / n
    axis = dict(labelExpr=f"{lookup}[datum.value]", ticks=False, domain=False, labelFontSize=11, labelLimit=130)
    x = alt.X("j:O", title=None, axis=alt.Axis(orient="top", labelAngle=-90, labelAlign="left", labelBaseline="middle", **axis))
    y = alt.Y("i:O", title=None, axis=alt.Axis(**axis))
    lo = min(0.0, float(m.min()))
    base = alt.Chart(alt.Data(values=cells))
    heat = base.mark_rect().encode(
        x=x, y=y,
        color=alt.Color("cos:Q", title="cosine", scale=alt.Scale(scheme=WEIGHT_SCHEME, domain=[lo, 1.0]),
                        legend=_gradient_legend("cosine similarity", HEATMAP_PX)),
        stroke=alt.when(pair, empty=False).then(alt.value("#000")).otherwise(alt.value(None)),
        strokeWidth=alt.when(pair, empty=False).then(alt.value(2.5)).otherwise(alt.value(0)),
        opacity=alt.when(row | col, empty=False).then(alt.value(1.0)).otherwise(alt.value(0.6)),
        tooltip=[alt.Tooltip("a:N", title="sentence"), alt.Tooltip("b:N", title="and"),
                 alt.Tooltip("cos:Q", title="cosine", format=".3f")],
    ).add_params(row, col)
    parts = [heat]
    if cell_px >= 24:
        parts.append(base.mark_text(fontSize=10).encode(
            x=x, y=y, text=alt.Text("cos:Q", format=".2f"),
            color=alt.condition("datum.cos > 0.6", alt.value("white"), alt.value("#222")),
        ))
    grid = alt.layer(*parts).properties(
        width=HEATMAP_PX, height=HEATMAP_PX,
        title=_title(title or "Which sentences mean alike?", (f"Model: {source}. " if source else "")
                     + "Cosine of the sentence vectors; point at a cell to read its pair.", anchor="start"),
    )
    readout = base.transform_filter(pair).mark_text(align="left", baseline="top", fontSize=11, lineBreak="\n",
                                                    color="#333").encode(
        x=alt.value(0), y=alt.value(0), text="line:N",
    ).properties(width=HEATMAP_PX, height=14 * readout_lines)
    off = [(i, j) for i in range(n) for j in range(n) if i < j]
    best = max(off, key=lambda ij: m[ij])
    text = description or (
        f"Interactive heatmap of cosine similarities between {n} sentences (darker = more similar); pointing at a "
        f"cell prints its two sentences and their cosine. The most similar pair is {texts[best[0]]!r} and "
        f"{texts[best[1]]!r} ({m[best]:.2f})."
    )
    return alt.vconcat(grid, readout, spacing=6, description=text)


# ----------------------------------------------------------------------------- live boxes (need a kernel)
def fill_mask_box(fill: Callable[[str], Any], text: str = "The cat sat on the [MASK].", *, mask_token: str = "[MASK]") -> Any:
    """A live control (ipywidgets): a text box for a sentence with ``mask_token`` in it and a
    "Predict" button that prints ``fill(text)``: for each mask, a list of (token, probability).

    It runs the model in the kernel, so it needs one: in a static page it shows but does
    nothing. Returns the ``ipywidgets.VBox``; ``.children[-1]`` is the output area and
    ``box.predict()`` does what the button does."""
    import ipywidgets as widgets

    if not callable(fill):
        raise ValueError(f"fill must be a function text -> [[(token, probability), ...] per mask], got {type(fill).__name__}")
    box_text = widgets.Text(value=text, description="sentence:", layout=widgets.Layout(width="95%"))
    button = widgets.Button(description="Predict")
    out = widgets.Output()

    def predict(_=None) -> None:
        out.outputs = ()  # clear
        sentence = box_text.value
        if mask_token not in sentence:
            out.append_stdout(f"Write {mask_token} where a word should be guessed.\n")
            return
        lines = []
        for k, guesses in enumerate(fill(sentence)):
            shown = ", ".join(f"{tok} {p:.1%}" for tok, p in guesses)
            lines.append(f"{mask_token} #{k + 1}: {shown}")
        out.append_stdout("\n".join(lines) + "\n")

    button.on_click(predict)
    box = widgets.VBox([box_text, button, out])
    box.predict = predict
    return box


def similarity_box(similarity: Callable[[list[str]], Any], sentences: Sequence[str] = (), *, digits: int = 2) -> Any:
    """A live control (ipywidgets): a text area, one sentence a line, and a "Compare" button that
    prints the cosine matrix ``similarity(lines)`` (an (N, N) array) as a table.

    It runs the model in the kernel, so it needs one. Returns the ``ipywidgets.VBox``;
    ``.children[-1]`` is the output area and ``box.compare()`` does what the button does."""
    import ipywidgets as widgets

    if not callable(similarity):
        raise ValueError(f"similarity must be a function [sentences] -> (N, N) cosines, got {type(similarity).__name__}")
    area = widgets.Textarea(value="\n".join(sentences), description="one a line:",
                            layout=widgets.Layout(width="95%", height="110px"))
    button = widgets.Button(description="Compare")
    out = widgets.Output()

    def compare(_=None) -> None:
        out.outputs = ()
        lines = [s.strip() for s in area.value.splitlines() if s.strip()]
        if len(lines) < 2:
            out.append_stdout("Write at least two sentences, one a line.\n")
            return
        m = _as_array(similarity(lines), "similarity(lines)")
        rows = [f"{k + 1:>2}. {shorten(s, 40)}" for k, s in enumerate(lines)]
        head = "    " + " ".join(f"{k + 1:>{digits + 3}}" for k in range(len(lines)))
        table = [f"{k + 1:>2}  " + " ".join(f"{v:>{digits + 3}.{digits}f}" for v in m[k]) for k in range(len(lines))]
        out.append_stdout("\n".join(rows + ["", head, *table]) + "\n")

    button.on_click(compare)
    box = widgets.VBox([area, button, out])
    box.compare = compare
    return box


# ----------------------------------------------------------------------------- bertviz
def show_bert_attention(
    attentions: object,
    tokens: Sequence[str],
    *,
    view: str = "head",
    sentence_b_start: int | None = None,
    layer: int | None = None,
    html_action: str = "view",
) -> Any:
    """bertviz's view of a BERT's self-attention over every layer: ``view="head"`` (one layer at a
    time, a menu for the layer, lines from each token to those it reads) or ``"model"`` (every
    layer and head as a grid of thumbnails; click one to enlarge it).

    ``attentions``: one tensor per layer, each (1, H, T, T) (``BertOutput.attentions`` of a
    batch of one, or transformers' ``outputs.attentions``); T = ``len(tokens)``.
    ``sentence_b_start``: the index of sentence B's first token in a pair (bertviz then
    offers A -> B, B -> A and so on). ``"view"`` displays and returns None; ``"return"``
    returns bertviz's ``IPython.display.HTML``.
    """
    from bertviz import head_view, model_view

    if view not in ("head", "model"):
        raise ValueError(f"view must be 'head' or 'model', got {view!r}")
    if html_action not in ("view", "return"):
        raise ValueError(f"html_action must be 'view' or 'return', got {html_action!r}")
    if isinstance(attentions, (list, tuple)):
        for i, a in enumerate(attentions):
            if hasattr(a, "dim") and a.dim() == 4 and a.shape[0] != 1:
                raise ValueError(f"attentions[{i}] must be a batch of one (1, H, T, T), got {tuple(a.shape)}")
    layers = to_bertviz_cross_attention(attentions)
    toks = [_display(t) for t in _as_tokens(tokens, "tokens")]
    _, H, T, S = layers[0].shape
    if T != S or T != len(toks):
        raise ValueError(f"attentions must be (1, H, T, T) with T = len(tokens) = {len(toks)}, got (T, S) = ({T}, {S})")
    if sentence_b_start is not None and (isinstance(sentence_b_start, bool) or not isinstance(sentence_b_start, int)
                                         or not 0 < sentence_b_start < T):
        raise ValueError(f"sentence_b_start must be None or an int in (0, {T}), got {sentence_b_start!r}")
    if view == "head":
        return head_view(attention=layers, tokens=toks, sentence_b_start=sentence_b_start, layer=layer,
                         html_action=html_action)
    return model_view(attention=layers, tokens=toks, sentence_b_start=sentence_b_start, display_mode="light",
                      html_action=html_action)
