"""Chapter 11's diagrams (what does BERT look at?): the zoo of head patterns Clark et al.
(2019, "What Does BERT Look At? An Analysis of BERT's Attention", arXiv:1906.04341, Sec. 3,
Fig. 1) found; word-level attention from WordPiece attention (their Sec. 4.1); reading a
dependency off one head against a fixed-offset baseline (Sec. 4.2); and attention rollout
across layers (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers",
arXiv:2005.00928, Sec. 2)."""

from __future__ import annotations

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []

_ZOO_TOKENS = ["[CLS]", "the", "cat", "sat", ".", "[SEP]"]


def _zoo_weight(pattern: str, i: int, j: int, n: int) -> float:
    """How strongly row (query) ``i`` attends to column (key) ``j`` in each textbook pattern."""
    if pattern == "[CLS]":
        return 1.0 if j == 0 else 0.0
    if pattern == "[SEP]":
        return 1.0 if j == n - 1 else 0.0
    if pattern == "punctuation":
        return 1.0 if j == n - 2 else 0.0
    if pattern == "previous":
        return 1.0 if j == max(i - 1, 0) else 0.0
    if pattern == "next":
        return 1.0 if j == min(i + 1, n - 1) else 0.0
    return 1.0 / n  # broad: close to uniform, high entropy


@diagram(
    "head_pattern_zoo",
    chapter=11,
    title="The head patterns Clark et al. found, as attention grids",
    alt="""Six small attention grids for the tokens [CLS], the, cat, sat, full stop, [SEP]; rows
    are the attending (query) tokens, columns the attended (key) tokens. Attend to [CLS]: every
    row puts its weight on the first column. Attend to [SEP]: every row puts its weight on the
    last column, the pattern that takes over half the attention in BERT-base's layers 6 to 10. Attend to
    punctuation: every row looks at the full stop. Previous token: the filled cells sit one to
    the left of the diagonal. Next token: one to the right. Broad: every cell is pale, the
    weight spread over the whole sentence (high entropy), the pattern of the first layer. After
    Clark et al. 2019, Figure 1 and Sec. 3.1 to 3.3.""",
)
def head_pattern_zoo() -> Canvas:
    c = Canvas("head_pattern_zoo", height=440)
    n, size = len(_ZOO_TOKENS), 15
    c.text(12, 18, "Rows attend (query); columns are attended (key).", colour="muted", anchor="start")
    c.text(12, 38, "Tokens: [CLS] the cat sat . [SEP]", colour="muted", anchor="start", mono=False)
    panels = [
        ("[CLS]", "attend to [CLS]", "attn"),
        ("[SEP]", "attend to [SEP]", "attn"),
        ("punctuation", "to punctuation", "attn"),
        ("previous", "previous token", "enc"),
        ("next", "next token", "enc"),
        ("broad", "broad (entropy)", "ffn"),
    ]
    for k, (pattern, heading, role) in enumerate(panels):
        col, row = k % 3, k // 3
        x0 = 22 + col * 128
        y0 = 96 + row * 150
        c.text(x0 + n * size / 2, y0 - 22, heading, size="label")
        for i in range(n):
            for j in range(n):
                w = _zoo_weight(pattern, i, j, n)
                opacity = 0.08 + 0.72 * w if pattern != "broad" else 0.28
                c.cell(x0 + j * size + 1, y0 + i * size + 1, size - 2, size - 2, role if w > 0 else "neutral", opacity)
        note = {"[CLS]": "early layers", "[SEP]": "layers 6–10", "punctuation": "deep layers",
                "previous": "a few heads", "next": "a few heads", "broad": "lower layers"}[pattern]
        c.text(x0 + n * size / 2, y0 + n * size + 16, note, colour="muted")
    # the axes, once
    y_axis = 96 + 2 * 150 + 4
    c.arrow((22, y_axis), (22 + n * size, y_axis))
    c.text(22 + n * size + 8, y_axis, "key", colour="muted", anchor="start")
    c.text(200, y_axis + 22, "grey: where Clark et al. saw it in BERT-base", colour="muted")
    return c


@diagram(
    "word_attention",
    chapter=11,
    title="From WordPiece attention to word attention",
    alt="""A five by five attention matrix over the WordPieces the, play, ##ing, kid, ##s, with
    rows (attending pieces) that each sum to one. First step, over the columns: the weights a
    piece gives to play and ##ing are added together, and those to kid and ##s, giving a five by
    three matrix whose rows still sum to one, since attention to a word is the attention to any
    of its pieces. Second step, over the rows: the rows of play and ##ing are averaged, and those
    of kid and ##s, giving a three by three word-level matrix over the, playing, kids whose rows
    still sum to one. Sum over the attended word, mean over the attending word, as in Clark et
    al. 2019, Section 4.1.""",
)
def word_attention() -> Canvas:
    pieces = ["the", "play", "##ing", "kid", "##s"]
    words = ["the", "playing", "kids"]
    owner = [0, 1, 1, 2, 2]
    a = [
        [0.40, 0.30, 0.10, 0.15, 0.05],
        [0.10, 0.20, 0.40, 0.20, 0.10],
        [0.05, 0.55, 0.10, 0.20, 0.10],
        [0.30, 0.10, 0.10, 0.10, 0.40],
        [0.20, 0.20, 0.10, 0.40, 0.10],
    ]
    c = Canvas("word_attention", height=684)
    size, rh, cw = 32, 28, 56  # piece cell, word-grid row height, word-grid column width
    # 1. the piece matrix
    x0, y0 = 130, 78
    c.text(12, 18, "1. WordPiece attention", size="head", anchor="start")
    c.text(388, 18, "rows sum to 1", colour="muted", anchor="end")
    for j, p in enumerate(pieces):
        c.text(x0 + j * size + size / 2, y0 - 12 - 18 * (j % 2), p, mono=p.startswith("#"))
    for i, p in enumerate(pieces):
        c.text(x0 - 10, y0 + i * size + size / 2, p, anchor="end", mono=p.startswith("#"))
        for j in range(len(pieces)):
            c.cell(x0 + j * size + 1, y0 + i * size + 1, size - 2, size - 2, "attn", 0.08 + 1.3 * a[i][j])
    # 2. sum over the columns of one word
    y1 = y0 + 5 * size + 12
    c.arrow((60, y1), (60, y1 + 30), role="attn")
    c.text(72, y1 + 15, "sum the attended word's pieces", colour="attn", anchor="start")
    y2 = y1 + 80
    c.text(12, y2 - 34, "2. pieces → words (columns)", size="head", anchor="start")
    summed = [[sum(a[i][j] for j in range(5) if owner[j] == w) for w in range(3)] for i in range(5)]
    for w, word in enumerate(words):
        c.text(x0 + w * cw + cw / 2, y2 - 12, word)
    for i, p in enumerate(pieces):
        c.text(x0 - 10, y2 + i * rh + rh / 2, p, anchor="end", mono=p.startswith("#"))
        for w in range(3):
            c.cell(x0 + w * cw + 1, y2 + i * rh + 1, cw - 2, rh - 2, "attn", 0.08 + 1.1 * summed[i][w])
    # 3. mean over the rows of one word
    y3 = y2 + 5 * rh + 12
    c.arrow((60, y3), (60, y3 + 30), role="attn")
    c.text(72, y3 + 15, "average the attending word's rows", colour="attn", anchor="start")
    y4 = y3 + 80
    c.text(12, y4 - 34, "3. word attention (rows too)", size="head", anchor="start")
    for w, word in enumerate(words):
        c.text(x0 + w * cw + cw / 2, y4 - 12, word)
    for v, word in enumerate(words):
        rows = [i for i in range(5) if owner[i] == v]
        c.text(x0 - 10, y4 + v * rh + rh / 2, word, anchor="end")
        for w in range(3):
            mean = sum(summed[i][w] for i in rows) / len(rows)
            c.cell(x0 + w * cw + 1, y4 + v * rh + 1, cw - 2, rh - 2, "attn", 0.08 + 1.1 * mean)
    c.text(200, y4 + 3 * rh + 20, "rows still sum to 1: over words now", colour="muted")
    return c


@diagram(
    "syntax_head",
    chapter=11,
    title="Reading a dependency off one head, against a fixed-offset baseline",
    alt="""The sentence she ate the red apple, with its gold dependency arc from the dependent
    apple to its head ate, labelled dobj (direct object). Below the words, bars show how much
    attention one head gives from apple to every other word; the tallest bar is on ate, so the
    head predicts ate as apple's head: correct. A dashed arrow shows the fixed-offset baseline,
    which always predicts the word a fixed number of places away (the offset most common for
    this relation, here two to the left), and lands on the: wrong. Accuracy over a relation is
    the share of its dependents whose predicted head is the gold head; a head tracks the
    relation only if it beats the baseline on sentences it was not chosen on.""",
)
def syntax_head() -> Canvas:
    words = ["she", "ate", "the", "red", "apple"]
    att = [0.08, 0.62, 0.12, 0.10, 0.0]  # from "apple"; the word itself left out
    c = Canvas("syntax_head", height=440)
    step, x0, yw = 74, 52, 128
    xs = [x0 + k * step for k in range(len(words))]
    # the gold arc above the words: dependent apple -> head ate
    c.path(f"M{xs[4]:g},{yw - 16:g} C{xs[4]:g},{yw - 80:g} {xs[1]:g},{yw - 80:g} {xs[1]:g},{yw - 18:g}", "ffn")
    c.arrow((xs[1] + 0.01, yw - 24), (xs[1], yw - 16), role="ffn")
    c.text((xs[1] + xs[4]) / 2, 40, "gold: dobj(ate, apple)", colour="ffn")
    for k, w in enumerate(words):
        c.box(xs[k], yw, 62, 26, w, "attn" if k == 4 else "neutral")
    # attention bars from "apple"
    top, height = 168, 96
    c.text(12, top - 4 + height + 24, "one head's attention from “apple”:", colour="attn", anchor="start")
    for k in range(4):
        h = height * att[k] / max(att)
        c.bar(xs[k] - 14, top + height - h, 28, h, "attn" if k == 1 else "neutral")
    c.text(xs[4], top + height - 10, "(itself)", colour="muted")
    c.text(xs[1] + 22, top + 12, "argmax", colour="attn", anchor="start")
    # predictions
    yp = 330
    c.text(12, yp, "head predicts:", anchor="start")
    c.text(150, yp, "ate ✓ (the gold head)", colour="ffn", anchor="start")
    c.text(12, yp + 26, "offset −2 predicts:", anchor="start")
    c.text(150, yp + 26, "the ✗", colour="alert", anchor="start")
    c.arrow((xs[4], yw + 16), (xs[4], yw + 26), (xs[2], yw + 26), (xs[2], yw + 15), dashed=True, radius=4)
    c.text(12, yp + 60, "Score: the share of dependents whose predicted", colour="muted", anchor="start")
    c.text(12, yp + 80, "head is right; heads picked on half the sentences,", colour="muted", anchor="start")
    c.text(12, yp + 100, "scored on the other half, beside the best offset.", colour="muted", anchor="start")
    return c


@diagram(
    "attention_rollout",
    chapter=11,
    title="Attention rollout: following attention through the layers and the residuals",
    alt="""Four tokens drawn at the input and after each of three layers, one row per layer,
    with lines from every token in one row to the tokens it attends to in the row below; line
    width is the attention weight, and a vertical line from each token to itself stands for the
    residual connection. Attention rollout, after Abnar and Zuidema 2020, mixes each layer's
    head-averaged attention with the identity, A-tilde equals one half of A plus I, and
    multiplies these matrices from the first layer up, R equals A-tilde 3 times A-tilde 2 times
    A-tilde 1, so that R's row for a token says how much of each input token flows into it
    through every path. A single layer's attention shows one step of that flow only.""",
)
def attention_rollout() -> Canvas:
    c = Canvas("attention_rollout", height=450)
    n, layers = 4, 3
    xs = [60 + k * 58 for k in range(n)]
    ys = [370 - r * 100 for r in range(layers + 1)]  # input at the bottom
    att = [  # layer -> query -> key: a few strong links each
        [[0.7, 0.3, 0, 0], [0.5, 0.5, 0, 0], [0, 0.6, 0.4, 0], [0, 0, 0.3, 0.7]],
        [[0.4, 0, 0, 0.6], [0.8, 0.2, 0, 0], [0, 0.3, 0.2, 0.5], [0, 0, 0.1, 0.9]],
        [[1.0, 0, 0, 0], [0, 0.2, 0.8, 0], [0.6, 0, 0.4, 0], [0, 0, 0, 1.0]],
    ]
    for r in range(layers):
        for i in range(n):
            for j in range(n):
                w = att[r][i][j]
                if w > 0 and i != j:
                    c.path(f"M{xs[j]:g},{ys[r] - 10:g} L{xs[i]:g},{ys[r + 1] + 10:g}", "attn", width=0.6 + 3.5 * w)
            c.path(f"M{xs[i]:g},{ys[r] - 10:g} L{xs[i]:g},{ys[r + 1] + 10:g}", dashed=True)
    for r, y in enumerate(ys):
        for x in xs:
            c.dot(x, y, "attn")
        label = "input tokens" if r == 0 else f"layer {r}"
        c.text(xs[-1] + 28, y, label, anchor="start")
    for k, x in enumerate(xs):
        c.text(x, ys[0] + 24, f"$x_{k + 1}$", size="label")
    c.text(12, 20, "Rollout:  $Ã_ℓ$ = ½ ($A_ℓ$ + $I$)", size="label", anchor="start")
    c.text(12, 42, "$R$ = $Ã_3$ $Ã_2$ $Ã_1$", size="label", anchor="start")
    c.text(200, 20, "dashed: residual", colour="muted", anchor="start")
    c.text(200, 42, "width: attention", colour="attn", anchor="start")
    c.arrow((xs[-1] + 70, ys[0] - 20), (xs[-1] + 70, ys[-1] + 20), role="attn")
    c.text(xs[-1] + 80, (ys[0] + ys[-1]) / 2, "multiply", colour="attn", anchor="start")
    c.text(200, ys[0] + 52, "$R$'s row for a token: how much of each input reaches it", colour="muted")
    return c
