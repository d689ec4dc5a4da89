"""Chapter 5's diagrams: the Transformer block with post-norm and with pre-norm, and
the whole encoder-decoder (Vaswani et al. 2017, Fig. 1, redrawn)."""

from __future__ import annotations

from .registry import diagram
from .svg import Box, Canvas

__all__: list[str] = []


def _stack_column(c: Canvas, cx: float, items, y_of):
    """Draw a bottom-to-top column: ``items`` are ("box", label, role) or ("add",), at rows
    1, 2, ... (row 0 is the input). Returns the drawn shapes by row and connects them."""
    shapes: dict[int, Box] = {}
    for k, item in enumerate(items, start=1):
        if item[0] == "add":
            shapes[k] = c.add_node(cx, y_of(k))
        else:
            _, label, role = item
            shapes[k] = c.box(cx, y_of(k), 132, 32, label, role)
    for k in range(1, len(items)):
        c.arrow(shapes[k].top, shapes[k + 1].bottom)
    return shapes


@diagram(
    "transformer_blocks",
    chapter=5,
    title="One Transformer block, post-norm and pre-norm",
    alt="""Two versions of the same block, read from the bottom up. Left, post-norm (the 2017
    paper): x goes through self-attention, is added to itself by a residual connection, then
    layer-normalised; then the feed-forward network, another residual addition and another
    LayerNorm: x ← LN(x + F(x)). Every path from input to output passes a LayerNorm. Right,
    pre-norm (GPT-2 and later): each sublayer reads a LayerNorm of x and its output is added to
    x: x ← x + F(LN(x)). The residual additions form an identity path from the input to the
    output with no norm on it, so the stack needs one final LayerNorm after its last block.""",
)
def transformer_blocks() -> Canvas:
    c = Canvas("transformer_blocks", height=492)
    c.path("M200,8 V484", width=1, dashed=True)

    def y_of(k: int) -> float:
        return 428 - 46 * k

    ln, sa, ffn = ("box", "LayerNorm", "neutral"), ("box", "Self-attention", "attn"), ("box", "FFN", "ffn")
    add = ("add",)
    columns = (
        (100, "Post-norm", "the 2017 paper", "$x$ ← LN($x$ + F($x$))", (sa, add, ln, ffn, add, ln),
         ((0, 2), (3, 5)), ("every path from input to", "output passes a LayerNorm")),
        (300, "Pre-norm", "GPT-2 and later", "$x$ ← $x$ + F(LN($x$))", (ln, sa, add, ln, ffn, add),
         ((0, 3), (3, 6)), ("the bold identity path has no", "norm: a final LN ends the stack")),
    )
    for cx, name, when, rule, items, skips, notes in columns:
        c.text(cx, 20, name, size="head")
        c.text(cx, 40, when, colour="muted")
        c.text(cx, 64, rule, size="label")
        shapes = _stack_column(c, cx, items, y_of)
        c.text(cx, y_of(0) + 12, "$x$", size="label")
        c.arrow((cx, y_of(0)), shapes[1].bottom)
        top = shapes[len(items)]
        c.arrow(top.top, (cx, y_of(len(items) + 1) + 14), strong=name == "Pre-norm")
        c.text(cx, y_of(len(items) + 1) + 4, "to the next block", colour="muted")
        pre = name == "Pre-norm"
        for start, end in skips:  # residual connections: branch below the sublayer, join at ⊕
            if start == 0:
                y_branch = y_of(0) - 16
            else:  # halfway between row `start` and the row above it
                y_branch = (shapes[start].y + shapes[start + 1].y + shapes[start + 1].h) / 2
            rx = cx + 82
            c.dot(cx, y_branch)
            c.arrow((cx, y_branch), (rx, y_branch), (rx, y_of(end)), shapes[end].right, strong=pre)
            if pre and start:  # the stretch of the trunk that belongs to the identity path
                c.arrow(shapes[start].top, (cx, y_branch), head=False, strong=True)
        c.text(cx, 462, notes[0], colour="ink" if pre else "muted")
        c.text(cx, 480, notes[1], colour="ink" if pre else "muted")
    return c


@diagram(
    "transformer",
    chapter=5,
    title="The Transformer encoder–decoder (after Vaswani et al. 2017, Fig. 1)",
    alt="""Read from the bottom up. Left, the encoder: source tokens are embedded, positional
    encodings are added, and N identical encoder layers follow, each self-attention then a
    feed-forward network, each sublayer followed by a residual addition and a LayerNorm (Add &
    Norm). Right, the decoder: target tokens shifted right are embedded, positions added, and
    N decoder layers follow, each masked self-attention, then cross-attention whose keys and
    values are the encoder's output and whose queries come from the decoder, then a
    feed-forward network, each with Add & Norm. On top, a linear layer whose weight is tied to
    the decoder's embedding matrix, and a softmax give the output probabilities.""",
)
def transformer() -> Canvas:
    c = Canvas("transformer", height=548)
    ex, dx = 104, 284  # column centres
    ew, dw = 132, 156  # box widths
    # y of every row, bottom to top; the frames (the N repeated layers) get a little more room
    y_tok, y_emb, y_pos, frame_bottom = 530, 494, 452, 432
    y_rows = (398, 358, 318, 278, 238, 198)  # sublayers and Add & Norms, bottom to top
    y_lin, y_soft, y_prob = 128, 88, 52

    def column(cx: float, w: float, labels, skip_x: float):
        emb = c.box(cx, y_emb, w, 28, "Embedding")
        pos = c.add_node(cx, y_pos)
        c.text(cx - 14, y_pos, "positions", colour="muted", anchor="end")
        c.arrow(emb.top, pos.bottom)
        shapes = [c.box(cx, y, w, 28, label, role) for y, (label, role) in zip(y_rows, labels)]
        c.arrow(pos.top, shapes[0].bottom)
        for a, b in zip(shapes, shapes[1:]):
            c.arrow(a.top, b.bottom)
        side = "left" if skip_x < cx else "right"
        for k in range(0, len(shapes), 2):  # each sublayer's residual joins at its Add & Norm
            below = pos.y if k == 0 else shapes[k - 1].y
            y_branch = (below + shapes[k].y + shapes[k].h) / 2 if k else frame_bottom - 10
            c.dot(cx, y_branch)
            c.arrow((cx, y_branch), (skip_x, y_branch), (skip_x, shapes[k + 1].cy), getattr(shapes[k + 1], side))
        return emb, shapes

    add_norm = ("Add & Norm", "neutral")
    n_enc, n_dec = 4, 6
    enc_top = y_rows[n_enc - 1] - 14 - 24
    c.frame(ex - 92, enc_top, 172, frame_bottom - enc_top, "enc")
    c.text(ex + 72, enc_top + 12, "× $N$", size="head", colour="enc", anchor="end")
    dec_top = y_rows[n_dec - 1] - 14 - 24
    c.frame(dx - 90, dec_top, 190, frame_bottom - dec_top, "dec")
    c.text(dx - 82, dec_top + 12, "× $N$", size="head", colour="dec", anchor="start")

    _, enc = column(ex, ew, [("Self-attention", "attn"), add_norm, ("FFN", "ffn"), add_norm], ex - 80)
    demb, dec = column(dx, dw, [("Masked self-attention", "attn"), add_norm, ("Cross-attention", "attn"), add_norm,
                                ("FFN", "ffn"), add_norm], dx + 88)
    for cx, words in ((ex, "source tokens"), (dx, "target, shifted right")):
        c.text(cx, y_tok, words, colour="muted")
        c.arrow((cx, y_tok - 10), (cx, y_emb + 14))
    lin = c.box(dx, y_lin, dw, 28, "Linear (tied)")
    soft = c.box(dx, y_soft, dw, 28, "Softmax")
    c.arrow(dec[-1].top, lin.bottom)
    c.arrow(lin.top, soft.bottom)
    c.arrow(soft.top, (dx, y_prob + 10))
    c.text(dx, y_prob, "output probabilities", colour="muted")
    c.text(dx, 20, "Decoder", size="head", colour="dec")

    # the encoder's output is the memory that every decoder layer's cross-attention reads
    y_mem, x_mem = enc_top - 14, dx - 94
    c.arrow(enc[-1].top, (ex, y_mem), (x_mem, y_mem), (x_mem, dec[2].cy), dec[2].left, role="enc")
    c.text((ex + x_mem) / 2, y_mem - 12, "keys, values", colour="enc")
    c.text(ex, 172, "Encoder", size="head", colour="enc")

    # tied output: the pre-softmax Linear uses the decoder embedding's matrix
    tie_x = 394
    c.path(f"M{dx + dw / 2:g},{y_lin:g} H{tie_x} V{y_emb:g} H{dx + dw / 2:g}", dashed=True)
    c.text(tie_x - 6, y_pos - 2, "same", colour="muted", anchor="end")
    c.text(tie_x - 6, y_pos + 14, "matrix", colour="muted", anchor="end")
    return c
