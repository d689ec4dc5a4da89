"""Documents coloured by attention (chapter 3): :func:`document_explorer`.

One row per sentence: a bar for the sentence's weight (the sentence-level
pooling), then the sentence's words, each a cell shaded by its word weight
(the word-level pooling), as in Yang et al. (2016), Fig. 5. A drop-down menu
(a Vega-Lite parameter bound to a select) picks the document, and pointing at
a sentence outlines it in both panels (a point selection), so the figure is
interactive in the static book with no kernel. Its ``description`` (the first
document's sentences with their weights and most-weighted words) is what screen
readers announce.

Legend: N sentences, L words per sentence.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import altair as alt
import numpy as np

from ._inputs import _as_array, _as_tokens, _check_rows, _describe, _require_keys
from ._style import HIGHLIGHT, PALETTE, SUBTITLE_CHARS, WEIGHT_SCHEME, _count, _display, _listing, _wrap

__all__ = ["document_explorer"]

WORD_PX = 50  # one word cell; 9 words + the bars fit the ~620 px output area of a book page
ROW_PX = 22
BAR_PX = 80
KEY_COLOR, OTHER_COLOR = PALETTE[1], PALETTE[0]  # vermillion and blue (Okabe-Ito): told apart in colour-blind vision


def _one_document(doc: Mapping[str, Any], k: int) -> tuple[list[list[str]], np.ndarray, np.ndarray, int | None, str]:
    """Validate ``documents[k]``; return sentences, word weights (N, L), sentence weights (N,), key, label."""
    where = f"documents[{k}]"
    _require_keys(doc, where, ("sentences", "word_weights", "sentence_weights"), ("label", "key_sentence"))
    raw = doc["sentences"]
    if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
        raise ValueError(f"{where}['sentences'] must be a non-empty list of sentences (lists of words), got {_describe(raw)}")
    sentences = [_as_tokens(s, f"{where}['sentences'][{i}]") for i, s in enumerate(raw)]
    if any(not s for s in sentences):
        raise ValueError(f"{where}['sentences'] must not hold empty sentences")
    N, L = len(sentences), max(map(len, sentences))
    ww = _as_array(doc["word_weights"], f"{where}['word_weights']")
    sw = _as_array(doc["sentence_weights"], f"{where}['sentence_weights']")
    # Padded weights (as a model returns them) are fine: extra rows and columns are ignored.
    if ww.ndim != 2 or ww.shape[0] < N or ww.shape[1] < L:
        raise ValueError(
            f"{where}['word_weights'] must have shape (N, L) with N >= {N} sentences and L >= {L} words, "
            f"got {_describe(ww)}"
        )
    if sw.ndim != 1 or sw.shape[0] < N:
        raise ValueError(f"{where}['sentence_weights'] must have shape (N,) with N >= {N}, got {_describe(sw)}")
    for name, w in (("word_weights", ww), ("sentence_weights", sw)):
        if w.min() < 0 or w.max() > 1:
            raise ValueError(f"{where}['{name}'] must be weights in [0, 1], got values in [{w.min():g}, {w.max():g}]")
    key = doc.get("key_sentence")
    if key is not None:
        key = int(key)
        if not 0 <= key < N:
            raise ValueError(f"{where}['key_sentence'] must be a sentence index in 0..{N - 1}, got {key}")
    return sentences, ww[:N, :L], sw[:N], key, str(doc.get("label", f"document {k}"))


def _describe_document(sentences: list[list[str]], ww: np.ndarray, sw: np.ndarray, key: int | None, label: str) -> str:
    parts = []
    for n, words in enumerate(sentences[:12]):
        top = int(ww[n, : len(words)].argmax())
        role = " (key sentence)" if n == key else ""
        parts.append(f"sentence {n}{role}, weight {sw[n]:.2f}, top word '{_display(words[top])}' {ww[n, top]:.2f}")
    return f"{label}: " + "; ".join(parts)


def document_explorer(
    documents: Sequence[Mapping[str, Any]], *, title: str | None = None, description: str | None = None
) -> alt.HConcatChart:
    """Sentence and word attention over documents, one document at a time behind a menu.

    ``documents`` is a list of dicts: ``"sentences"``, a list of N sentences
    (each a list of words); ``"word_weights"``, (N, L) with row n the weights
    over sentence n's words; ``"sentence_weights"``, (N,); optionally
    ``"label"`` (the menu entry, e.g. "doc 3: true positive, predicted
    positive") and ``"key_sentence"`` (an index whose bar is drawn in orange).
    Weights may be tensors, arrays or lists, padded beyond the document's size
    (as in :class:`coursekit.classification.ClassifierOutput`); the padding is
    ignored. Interactions: the parameter ``document`` (a drop-down menu) picks
    the document; the selection ``sentence`` follows the pointer and outlines
    the sentence under it in both panels. Tooltips give each word's weight and
    its sentence's weight. ``description`` replaces the generated text that
    screen readers announce.
    """
    documents = _check_rows(documents, "documents")
    words: list[dict[str, Any]] = []
    bars: list[dict[str, Any]] = []
    labels = []
    first = ""
    for k, doc in enumerate(documents):
        sentences, ww, sw, key, label = _one_document(doc, k)
        labels.append(label)
        first = first or _describe_document(sentences, ww, sw, key, label)
        for n, sentence in enumerate(sentences):
            role = "key sentence" if n == key else "other sentence"
            bars.append({"doc": k, "sent": n, "sent_weight": round(float(sw[n]), 6), "role": role})
            for i, word in enumerate(sentence):
                words.append(
                    {
                        "doc": k,
                        "sent": n,
                        "pos": i,
                        "word": _display(word),
                        "weight": round(float(ww[n, i]), 6),
                        "sent_weight": round(float(sw[n]), 6),
                        "dark": bool(ww[n, i] > 0.55),  # white text on dark cells
                    }
                )
    document = alt.param(
        name="document",
        value=0,
        bind=alt.binding_select(options=list(range(len(documents))), labels=labels, name="Document: "),
    )
    sentence = alt.selection_point(name="sentence", fields=["sent"], on="pointerover", clear="pointerout", empty=False)
    y = alt.Y("sent:O", title="sentence", axis=alt.Axis(ticks=False, domain=False, labelPadding=4))
    y_words = alt.Y("sent:O", axis=None)  # the rows line up with the bars, which carry the sentence axis
    outline = alt.when(sentence).then(alt.value(HIGHLIGHT)).otherwise(alt.value("white"))
    outline_width = alt.when(sentence).then(alt.value(2.0)).otherwise(alt.value(0.5))
    word_tips = [
        alt.Tooltip("word:N"),
        alt.Tooltip("weight:Q", title="word weight", format=".3f"),
        alt.Tooltip("sent:O", title="sentence"),
        alt.Tooltip("pos:O", title="word position"),
        alt.Tooltip("sent_weight:Q", title="sentence weight", format=".3f"),
    ]

    roles = ["key sentence", "other sentence"]
    bar = (
        alt.Chart(alt.Data(values=bars))
        .transform_filter(alt.datum.doc == document)
        .mark_bar(height={"band": 0.8})
        .encode(
            y=y,
            x=alt.X("sent_weight:Q", title="sentence weight", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(tickCount=2, format=".1f")),
            color=alt.Color("role:N", scale=alt.Scale(domain=roles, range=[KEY_COLOR, OTHER_COLOR]), legend=alt.Legend(title=None, orient="bottom", direction="vertical")),
            stroke=outline,
            strokeWidth=outline_width,
            tooltip=[
                alt.Tooltip("sent:O", title="sentence"),
                alt.Tooltip("sent_weight:Q", title="sentence weight", format=".3f"),
                alt.Tooltip("role:N", title="role"),
            ],
        )
        .add_params(document)
        .properties(width=BAR_PX, height=alt.Step(ROW_PX))
    )
    base = alt.Chart(alt.Data(values=words)).transform_filter(alt.datum.doc == document)
    x = alt.X("pos:O", title="word position", axis=alt.Axis(orient="top", ticks=False, domain=False, labelAngle=0))
    cells = base.mark_rect().encode(
        x=x,
        y=y_words,
        color=alt.Color(
            "weight:Q",
            scale=alt.Scale(scheme=WEIGHT_SCHEME, domain=[0, 1]),
            legend=alt.Legend(title="word weight", orient="bottom", gradientLength=120),
        ),
        stroke=outline,
        strokeWidth=outline_width,
        tooltip=word_tips,
    ).add_params(sentence)
    # limit: a word wider than its cell is cut with an ellipsis rather than overlapping the next one.
    text = base.mark_text(fontSize=9, baseline="middle", limit=WORD_PX - 4).encode(
        x=x,
        y=y_words,
        text="word:N",
        color=alt.when(alt.datum.dark).then(alt.value("white")).otherwise(alt.value("#1b1b1b")),
        tooltip=word_tips,
    )
    # The title is the chosen document's menu label (a Vega expression of the parameter).
    heading = alt.Title(
        alt.expr(f"{json.dumps(labels, ensure_ascii=False)}[document]"),
        subtitle=_wrap(title or "Sentence weights (bars; orange: the key sentence) and word weights (shading)", SUBTITLE_CHARS),
        anchor="start",
    )
    words_panel = alt.layer(cells, text).properties(width=alt.Step(WORD_PX), height=alt.Step(ROW_PX))
    text = description or (
        f"Interactive chart of sentence and word attention for {_count(len(documents), 'document')}, picked in a menu "
        f"({_listing(labels)}): a bar per sentence for its weight, and its words shaded by their weights. "
        f"First document, {first}."
    )
    return (
        alt.hconcat(bar, words_panel, spacing=8, title=heading, description=text)
        .resolve_scale(color="independent", y="shared")
        .resolve_legend(color="independent")
    )
