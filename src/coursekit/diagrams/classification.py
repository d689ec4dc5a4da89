"""Chapter 3's diagrams: attention pooling over a BiLSTM, and the Hierarchical
Attention Network."""

from __future__ import annotations

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []


@diagram(
    "attention_pooling",
    chapter=3,
    title="Attention pooling over a BiLSTM",
    alt="""The words of a sentence ("the film was not dull") are read by a bidirectional
    LSTM into states h1 to h5, shape (B, S, H). One learned scorer gives each state a score,
    e(t) = u_w^T tanh(W h(t) + b), with the same learned query u_w for every step; shape (B, S).
    A softmax over the steps turns the scores into weights that sum to one, here largest on
    "not" and "dull". The pooled vector c is the weighted sum of the states, shape (B, H),
    drawn with lines as thick as the weights, and a linear layer with a softmax classifies it.""",
)
def attention_pooling() -> Canvas:
    c = Canvas("attention_pooling", height=416)
    cols = (40, 98, 156, 214, 272)
    words = ("the", "film", "was", "not", "dull")
    alphas = (0.05, 0.08, 0.04, 0.33, 0.50)  # illustrative weights

    def lane(y: float, name: str, shape: str, colour: str = "ink", mono: bool = True) -> None:
        c.caption(396, y, name, shape, colour=colour, anchor="end", mono=mono)

    for x, w in zip(cols, words):
        c.text(x, 22, w, size="label")
    lane(22, "words", "(B, S)")
    hs = [c.box(x, 76, 48, 30, f"$h_{t}$", "enc") for t, x in enumerate(cols, start=1)]
    for x, h in zip(cols, hs):
        c.arrow((x, 32), h.top)
    for a, b in zip(hs, hs[1:]):  # the recurrence runs both ways
        c.arrow(a.right, b.left, head=False)
    lane(76, "BiLSTM", "(B, S, H)", "enc")

    score = c.box(156, 150, 280, 44, "$e_t$ = $u_w^T$ tanh($W h_t$ + $b$)", "attn",
                  sub="one learned query $u_w$ for every $t$", sub_mono=False)
    for h in hs:
        c.arrow(h.bottom, (h.cx, score.y), role="attn")
    lane(150, "scores", "(B, S)", "attn")

    base = 252
    for x, a in zip(cols, alphas):
        h = 110 * a
        c.bar(x - 9, base - h, 18, h, "attn")
        c.text(x, base - h - 10, f"{a:.2f}", colour="attn")
    c.path(f"M{cols[0] - 22},{base} H{cols[-1] + 22}", width=1)
    lane(base - 26, "weights α", "softmax, Σ = 1", "attn", mono=False)

    pooled = c.box(156, 326, 150, 34, "$c$ = Σ $α_t h_t$", "attn", strong=True)
    for x, a in zip(cols, alphas):
        c.arrow((x, base + 4), (pooled.cx + (x - 156) * 0.3, pooled.y), role="attn", head=False,
                width=1 + 9 * a)
    lane(326, "pooled", "(B, H)", "attn")
    clf = c.box(156, 392, 150, 34, "linear + softmax")
    c.arrow(pooled.bottom, clf.top)
    lane(392, "label", "(B, classes)")
    return c


@diagram(
    "han",
    chapter=3,
    title="The Hierarchical Attention Network, read from the bottom up",
    alt="""Bottom to top. Three sentences of three words each, a batch of shape (B, N, L).
    The word level folds the sentences into one batch: a word BiLSTM reads each sentence,
    shape (B·N, L, H), and word attention with a learned query u_w pools each sentence into a
    sentence vector s1, s2, s3, unfolded to (B, N, H). A sentence BiLSTM reads the sentence
    vectors, and sentence attention with a learned query u_s pools them into the document
    vector v = sum of beta(i) h(i), shape (B, H). A linear layer with a softmax classifies it.""",
)
def han() -> Canvas:
    c = Canvas("han", height=438)
    groups = (166, 258, 350)  # sentence centres
    offsets = (-29, 0, 29)  # word positions within a sentence

    def lane(y: float, name: str, shape: str, colour: str = "ink", mono: bool = True) -> None:
        c.caption(8, y, name, shape, colour=colour, mono=mono)

    y_words, y_wenc, y_watt, y_sent, y_senc, y_satt, y_doc, y_clf = 418, 372, 314, 258, 200, 144, 88, 28
    lane(y_words, "words", "(B, N, L)")
    lane(y_wenc, "word BiLSTM", "(B·N, L, H)", "enc")
    lane(y_watt, "word attention", "query $u_w$", "attn", mono=False)
    lane(y_sent, "sentence vectors", "(B, N, H)", "attn")
    lane(y_senc, "sentence BiLSTM", "(B, N, H)", "enc")
    lane(y_satt, "sentence attention", "query $u_s$", "attn", mono=False)
    lane(y_doc, "document", "(B, H)", "attn")
    lane(y_clf, "classifier", "(B, classes)")

    sent_boxes = []
    for i, gx in enumerate(groups, start=1):
        watt = c.box(gx, y_watt, 86, 30, "attention", "attn")
        prev = None
        for t, dx in enumerate(offsets, start=1):
            c.text(gx + dx, y_words, f"$w_{{{i}{t}}}$", size="label")
            h = c.box(gx + dx, y_wenc, 26, 28, f"$h_{{{i}{t}}}$", "enc", size="small")
            c.arrow((gx + dx, y_words - 10), h.bottom)
            c.arrow(h.top, (h.cx, watt.y + watt.h), role="enc")
            if prev:
                c.arrow(prev.right, h.left, head=False)
            prev = h
        s = c.box(gx, y_sent, 40, 28, f"$s_{i}$", "attn", strong=True)
        c.arrow(watt.top, s.bottom, role="attn")
        sent_boxes.append(s)
    satt = c.box(258, y_satt, 224, 30, "attention", "attn")
    prev = None
    for s in sent_boxes:
        h = c.box(s.cx, y_senc, 40, 28, f"$h_{sent_boxes.index(s) + 1}$", "enc")
        c.arrow(s.top, h.bottom)
        c.arrow(h.top, (h.cx, satt.y + satt.h), role="enc")
        if prev:
            c.arrow(prev.right, h.left, head=False)
        prev = h
    doc = c.box(258, y_doc, 150, 32, "$v$ = Σ $β_i h_i$", "attn", strong=True)
    c.arrow(satt.top, doc.bottom, role="attn")
    clf = c.box(258, y_clf, 180, 32, "softmax($W_c v$ + $b_c$)")
    c.arrow(doc.top, clf.bottom)
    return c
