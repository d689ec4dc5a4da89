"""Chapter 10's diagrams (the BERT family and compression): the family as BERT plus one
difference each (Liu et al. 2019, RoBERTa; Lan et al. 2020, ALBERT; Sanh et al. 2019,
DistilBERT; Yang et al. 2019, XLNet; Sun et al. 2019, ERNIE; Cui et al. 2019, BERT-wwm);
XLNet's content and query stream masks for one factorisation order (Yang et al. 2019,
Fig. 1 and Sec. 2.3); ALBERT's factorised embedding and cross-layer sharing (Lan et al.
2020, Sec. 3.1); and the compression toolbox the chapter measures."""

from __future__ import annotations

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []


def _tree(c: Canvas, rows, *, top: float, step: float, trunk_x: float = 22, box_w: float = 118) -> None:
    """Rows hanging off a vertical trunk: each a named box and two lines of text to its right."""
    ys = [top + k * step for k in range(len(rows))]
    c.path(f"M{trunk_x:g},{top - step / 2 - 4:g} V{ys[-1]:g}")
    for y, (name, sub, role, line1, line2, mono2) in zip(ys, rows):
        b = c.box(trunk_x + 14 + box_w / 2, y, box_w, 40, name, role, sub=sub, sub_mono=False)
        c.arrow((trunk_x, y), b.left)
        x_text = b.x + b.w + 10
        c.text(x_text, y - 9, line1, anchor="start")
        c.text(x_text, y + 10, line2, anchor="start", colour="muted", mono=mono2)


@diagram(
    "bert_family",
    chapter=10,
    title="The BERT family: one BERT plus one difference each",
    alt="""BERT, a bidirectional encoder pretrained with masked language modelling and next
    sentence prediction on WordPiece tokens, sits at the top; five descendants hang off it,
    each with the one change that defines it. RoBERTa: new masks every epoch (dynamic
    masking), no next sentence prediction, byte-level BPE and 514 position rows. ALBERT: the
    embedding factorised through a small width E before the hidden width H, every layer
    sharing one set of weights, and sentence order prediction instead of next sentence
    prediction. DistilBERT: half the layers, initialised from every other teacher layer and
    trained with a triple loss, no segments and no pooler. XLNet: a permutation language
    model that predicts tokens in a random factorisation order with two attention streams
    instead of masking. ERNIE and BERT-wwm: the same BERT, masking whole words, phrases and
    entities instead of single word pieces.""",
)
def bert_family() -> Canvas:
    c = Canvas("bert_family", height=432)
    bert = c.box(200, 34, 360, 44, "BERT (2018): MLM + NSP", "enc", sub="WordPiece, segments, pooler")
    c.arrow((22, bert.y + bert.h), (22, 84), head=False)
    rows = (
        ("RoBERTa", "2019", "enc", "dynamic masks, no NSP", "byte BPE, 514 positions", False),
        ("ALBERT", "2019", "ffn", "E → H factorised embedding", "one shared layer, SOP", False),
        ("DistilBERT", "2019", "dec", "half the layers, from BERT", "triple loss, no pooler", False),
        ("XLNet", "2019", "attn", "permutation LM, no [MASK]", "content + query streams", False),
        ("ERNIE, wwm", "2019", "neutral", "mask whole words,", "phrases and entities", False),
    )
    _tree(c, rows, top=118, step=62)
    c.text(200, 420, "each a small, visible change to one BERT", colour="muted")
    return c


_ORDER = (2, 1, 3, 0)  # Yang et al.'s Fig. 1 example order 3 -> 2 -> 4 -> 1, 0-based


def _stream_grid(c: Canvas, x0: float, y0: float, cell: float, strict: bool, role: str) -> None:
    rank = {pos: step for step, pos in enumerate(_ORDER)}
    n = len(_ORDER)
    for i in range(n):
        for j in range(n):
            sees = rank[j] < rank[i] or (not strict and i == j)
            c.cell(x0 + j * cell + 1.5, y0 + i * cell + 1.5, cell - 3, cell - 3,
                   role if sees else "neutral", 0.6 if sees else 0.08)
    for k in range(n):
        c.text(x0 + (k + 0.5) * cell, y0 - 12, f"$x_{k + 1}$")
        c.text(x0 - 8, y0 + (k + 0.5) * cell, f"$x_{k + 1}$", anchor="end")


@diagram(
    "xlnet_streams",
    chapter=10,
    title="XLNet's two streams: content and query masks for one order",
    alt="""The factorisation order 3, 2, 4, 1 over four tokens x1 to x4 (Yang et al. 2019,
    Figure 1), drawn as four boxes joined by arrows, and below it two 4 by 4 grids whose rows
    are the positions being computed and whose columns are the positions they may read. The
    content stream grid fills a cell when the column comes no later than the row in the order,
    the row itself included: x3 reads only itself, x2 reads x3 and itself, x4 reads x3, x2
    and itself, x1 reads all four. The query stream grid is the same without the diagonal: a
    position reads only what comes strictly before it in the order, so it knows where it is
    but not which token it is, which is what it must predict; x3, first in the order, reads
    nothing.""",
)
def xlnet_streams() -> Canvas:
    c = Canvas("xlnet_streams", height=396)
    c.text(200, 20, "factorisation order", size="head")
    xs = [64 + k * 91 for k in range(4)]
    for k, (x, pos) in enumerate(zip(xs, _ORDER)):
        b = c.box(x, 56, 56, 32, f"$x_{pos + 1}$", "attn" if k else "dec")
        if k:
            c.arrow((xs[k - 1] + 28, 56), b.left)
    c.text(200, 90, "each position is predicted after the ones left of it", colour="muted")
    cell, y0 = 34, 160
    for x0, name, strict, role, note1, note2 in (
        (40, "content stream $h$", False, "enc", "itself and earlier", "(like a normal layer)"),
        (232, "query stream $g$", True, "attn", "strictly earlier only", "(its position, no token)"),
    ):
        c.text(x0 + 2 * cell, 124, name, size="head")
        _stream_grid(c, x0, y0, cell, strict, role)
        c.text(x0 + 2 * cell, y0 + 4 * cell + 16, note1, colour="muted")
        c.text(x0 + 2 * cell, y0 + 4 * cell + 34, note2, colour="muted")
    c.text(200, 362, "rows: the position computed; columns: what it reads", colour="ink")
    c.text(200, 382, "the query stream predicts its own token", colour="attn")
    return c


@diagram(
    "albert_factorised",
    chapter=10,
    title="ALBERT: a factorised embedding and one layer shared by all",
    alt="""Top: BERT's embedding is one V by H matrix, at V = 30000 and H = 768 about 23.0 million
    parameters; ALBERT's is a V by E matrix followed by an E by H projection, at E = 128 about
    3.9 million, because the word pieces need far fewer dimensions than the hidden states
    (Lan et al. 2020, Sec. 3.1). Bottom: BERT's encoder is L distinct blocks, each with its own
    attention and feed-forward weights; ALBERT keeps the L layers of computation but they all
    use one block's weights (all-shared), so the encoder's parameters do not grow with depth,
    while the compute does. Sharing only attention or only the feed-forward sublayers are the
    two intermediate modes.""",
)
def albert_factorised() -> Canvas:
    V, H, E = 30_000, 768, 128
    c = Canvas("albert_factorised", height=452)
    c.text(200, 18, "the embedding", size="head")
    # BERT: one V x H block
    c.text(100, 42, "BERT", size="label")
    c.bar(62, 56, 76, 96, "enc")
    c.text(100, 166, "V × H", mono=True)
    c.text(100, 186, f"{V * H / 1e6:.1f}M", colour="muted")
    # ALBERT: V x E then E x H
    c.text(300, 42, "ALBERT", size="label")
    c.bar(226, 56, 14, 96, "ffn")
    c.text(233, 166, "V × E", mono=True)
    c.arrow((246, 104), (280, 104))
    c.bar(286, 98, 76, 14, "ffn")
    c.text(324, 126, "E × H", mono=True)
    c.text(300, 186, f"{(V * E + E * H) / 1e6:.1f}M", colour="muted")
    c.text(200, 208, f"V = {V}, H = {H}, E = {E}", colour="muted")
    # sharing
    c.text(200, 240, "the layers", size="head")
    c.text(100, 264, "BERT: L blocks", size="label")
    c.text(300, 264, "ALBERT: one block", size="label")
    for k in range(4):
        y = 300 + k * 36
        c.box(100, y, 132, 28, f"layer {k + 1}" if k < 3 else "layer L", "enc", size="small")
        c.box(300, y, 132, 28, f"layer {k + 1}" if k < 3 else "layer L", "ffn", size="small", dashed=k > 0)
        if k:
            c.arrow((300, y - 22), (300, y - 14))
            c.arrow((100, y - 22), (100, y - 14))
    c.text(300, 436, "same weights, used L times", colour="muted")
    c.text(100, 436, "weights of their own", colour="muted")
    return c


@diagram(
    "compression_toolbox",
    chapter=10,
    title="The compression toolbox: six ways to make a fine-tuned BERT smaller",
    alt="""A fine-tuned BERT at the top and six methods hanging off it, each with what it
    removes and the coursekit function that does it. Magnitude pruning zeroes the smallest
    weights, globally or per layer (magnitude_prune). Head pruning switches off whole attention
    heads, least important first by Michel et al.'s gradient score (HeadGates). Low rank
    replaces a weight matrix by the product of two thin ones from its SVD (low_rank).
    Distillation trains a smaller student, initialised from every other teacher layer, to match
    the teacher's soft outputs (distill_student). Sharing makes every layer use one block's
    weights, as ALBERT does (share_all_layers). Quantisation stores each weight in 8 or 4 bits
    instead of 32 (quantize_weights).""",
)
def compression_toolbox() -> Canvas:
    c = Canvas("compression_toolbox", height=462)
    top = c.box(200, 30, 360, 40, "a fine-tuned BERT", "enc", sub="(size, accuracy, latency)")
    c.arrow((22, top.y + top.h), (22, 74), head=False)
    rows = (
        ("prune weights", "magnitude", "ffn", "zero the smallest weights", "magnitude_prune", True),
        ("prune heads", "Michel et al.", "attn", "switch off whole heads", "HeadGates", True),
        ("low rank", "SVD", "enc", "W ≈ thin × thin", "low_rank", True),
        ("distil", "DistilBERT", "dec", "train a smaller student", "distill_student", True),
        ("share", "ALBERT", "ffn", "one block for every layer", "share_all_layers", True),
        ("quantise", "int8 / int4", "neutral", "fewer bits per weight", "quantize_weights", True),
    )
    _tree(c, rows, top=106, step=58)
    c.text(200, 450, "each measured on one chart below", colour="muted")
    return c
