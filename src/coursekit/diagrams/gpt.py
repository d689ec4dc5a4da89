"""Chapter 6's diagrams (GPT, decoder-only language models): the GPT-2 stack with its shapes,
the causal mask with the shifted next-token targets, and the KV cache during generation."""

from __future__ import annotations

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []


@diagram(
    "gpt_stack",
    chapter=6,
    title="The GPT-2 decoder-only stack, with the shape of every tensor",
    alt="""Read from the bottom up. Token ids of shape (B, T) are looked up in the token
    embedding, a V by D matrix, and a learned position embedding of shape P by D is added,
    giving (B, T, D). Then L identical pre-norm blocks: LayerNorm, causal (masked)
    self-attention, a residual addition, LayerNorm, a GELU feed-forward network and a second
    residual addition; there is no cross-attention, since there is no encoder. A final
    LayerNorm follows the last block. The output layer multiplies by the transpose of the
    token embedding matrix itself (tied weights), giving next-token logits of shape (B, T, V):
    row t scores the token that follows position t.""",
)
def gpt_stack() -> Canvas:
    c = Canvas("gpt_stack", height=560)
    cx, w = 170, 176
    rows = dict(logits=30, out=84, lnf=136, add2=178, ffn=214, ln2=258, add1=302, attn=338, ln1=382,
                pos=430, emb=476, ids=530)
    c.text(cx, rows["logits"] - 4, "next-token logits", size="label")
    c.text(cx, rows["logits"] + 14, "(B, T, V)", colour="muted", mono=True)
    out = c.box(cx, rows["out"], w, 34, "$h$ · $W_{te}^T$ (tied)", "dec")
    c.arrow(out.top, (cx, rows["logits"] + 24))
    lnf = c.box(cx, rows["lnf"], w, 30, "final LayerNorm")
    c.arrow(lnf.top, out.bottom)
    frame_top, frame_bottom = rows["add2"] - 24, rows["ln1"] + 26
    c.frame(cx - 116, frame_top, 250, frame_bottom - frame_top, "dec")
    c.text(cx - 108, frame_top + 14, "× $L$", size="head", colour="dec", anchor="start")
    add2 = c.add_node(cx, rows["add2"])
    ffn = c.box(cx, rows["ffn"], w, 30, "FFN (GELU, 4D)", "ffn")
    ln2 = c.box(cx, rows["ln2"], w, 30, "LayerNorm")
    add1 = c.add_node(cx, rows["add1"])
    attn = c.box(cx, rows["attn"], w, 30, "causal self-attention", "attn")
    ln1 = c.box(cx, rows["ln1"], w, 30, "LayerNorm")
    c.arrow(add2.top, lnf.bottom)
    c.arrow(ffn.top, add2.bottom)
    c.arrow(ln2.top, ffn.bottom)
    c.arrow(add1.top, ln2.bottom)
    c.arrow(attn.top, add1.bottom)
    c.arrow(ln1.top, attn.bottom)
    # residual paths: branch below each norm, join at its ⊕ (the identity path, no norm on it)
    rx = cx + 104
    for below, node in ((rows["ln1"] + 22, add1), ((rows["add1"] + rows["ln2"]) / 2 + 4, add2)):
        c.dot(cx, below)
        c.arrow((cx, below), (rx, below), (rx, node.cy), node.right, strong=True)
    pos = c.add_node(cx, rows["pos"])
    c.arrow(pos.top, ln1.bottom)
    c.text(cx - 16, rows["pos"], "learned positions $W_{pe}$", colour="muted", anchor="end")
    c.text(cx + 16, rows["pos"], "(P × D)", colour="muted", anchor="start", mono=True)
    emb = c.box(cx, rows["emb"], w, 34, "token embedding $W_{te}$", sub="(V × D)")
    c.arrow(emb.top, pos.bottom)
    c.text(cx, rows["ids"], "token ids (B, T)", size="label")
    c.arrow((cx, rows["ids"] - 10), emb.bottom)
    c.text(cx + 40, rows["pos"] + 22, "(B, T, D)", colour="muted", anchor="start", mono=True)
    # the tie: the output layer's weight is the embedding matrix
    tx = 378
    c.path(f"M{cx + w / 2:g},{rows['out']:g} H{tx} V{rows['emb']:g} H{cx + w / 2:g}", dashed=True)
    c.text(tx - 6, rows["ffn"], "same", colour="muted", anchor="end")
    c.text(tx - 6, rows["ffn"] + 16, "matrix", colour="muted", anchor="end")
    c.text(cx - 20, 552, "no cross-attention: there is no encoder", colour="muted")
    return c


@diagram(
    "causal_shift",
    chapter=6,
    title="The causal mask and the shifted next-token targets",
    alt="""A five by five grid of attention scores for the input tokens The, cat, sat, on, the:
    rows are queries, columns are keys. Cells on and below the diagonal are filled (a position
    may read itself and earlier positions); cells above it are empty (masked to minus infinity
    before the softmax, so no position reads the future). Below the grid, the inputs are the
    sequence without its last token; above it, the targets are the same sequence shifted left
    by one, ending with mat: position t is trained to predict token t + 1, and all T
    predictions are trained at once.""",
)
def causal_shift() -> Canvas:
    c = Canvas("causal_shift", height=392)
    tokens = ["The", "cat", "sat", "on", "the", "mat"]
    n, size, x0, y0 = 5, 40, 150, 96
    c.text(12, 44, "targets", anchor="start")
    c.text(12, 62, "(shifted by one)", colour="muted", anchor="start")
    c.text(12, y0 + n * size + 30, "inputs", anchor="start")
    for j in range(n):
        cxj = x0 + j * size + size / 2
        c.text(cxj, 52, tokens[j + 1], size="label", colour="dec")
        c.arrow((cxj, y0 - 4), (cxj, 66), role="dec")
        c.text(cxj, y0 + n * size + 30, tokens[j], size="label")
    for i in range(n):
        c.text(x0 - 10, y0 + i * size + size / 2, tokens[i], anchor="end")
        for j in range(n):
            if j <= i:
                c.cell(x0 + j * size + 2, y0 + i * size + 2, size - 4, size - 4, "attn", 0.25 + 0.5 * (j == i))
            else:
                c.cell(x0 + j * size + 2, y0 + i * size + 2, size - 4, size - 4, "neutral", 0.06)
    c.text(x0 - 10, y0 - 14, "query ↓ key →", colour="muted", anchor="end")
    c.text(200, y0 + n * size + 58, "above the diagonal: −∞ (the future is hidden)", colour="muted")
    c.text(200, y0 + n * size + 78, "row $t$ predicts token $t$ + 1; all rows at once", colour="muted")
    return c


@diagram(
    "kv_cache",
    chapter=6,
    title="The KV cache: what one generation step computes and what it reuses",
    alt="""Two panels for the step that reads positions 0 to t (here t = 4, five positions) and
    predicts token t + 1. Top, without a cache: all five positions go through the model again,
    and every layer recomputes the keys and values of all of them, work that grows with the prefix.
    Bottom, with a KV cache: every layer keeps the keys and values of the earlier positions
    (shaded grey, reused), computes the query, key and value of the new position only
    (highlighted), appends that key and value to its cache, and the one new query attends
    over all t + 1 keys (the t cached ones and its own). The cache holds 2 L tensors of shape (B, H, t, Dh).""",
)
def kv_cache() -> Canvas:
    c = Canvas("kv_cache", height=414)
    size, x0 = 34, 112
    panels = (
        (28, "Without a cache", "every step recomputes K, V for all $t$ + 1 positions"),
        (228, "With a KV cache", "only the new position: append its $k$, $v$; reuse the rest"),
    )
    for y, head, note in panels:
        cached = head == "With a KV cache"
        c.text(12, y, head, size="head", anchor="start")
        c.text(12, y + 20, note, colour="muted", anchor="start")
        for r, name in enumerate(("K", "V")):
            yy = y + 44 + r * (size + 6)
            c.text(x0 - 12, yy + size / 2, f"${name}$", size="label", anchor="end")
            for j in range(5):
                new = j == 4
                role = "attn" if (new or not cached) else "neutral"
                opacity = 0.7 if new else (0.35 if not cached else 0.18)
                c.cell(x0 + j * size + 2, yy + 2, size - 4, size - 4, role, opacity)
        q_y = y + 44 + 2 * (size + 6) + 22
        qx = x0 + 4 * size + size / 2
        c.text(qx, q_y + 8, "$q_t$", size="label", colour="attn")
        c.arrow((qx, q_y - 4), (qx, y + 44 + 2 * (size + 6) - 4), role="attn")
        c.text(x0 + 2.5 * size, q_y + 26, "positions 0 … $t$", colour="muted")
        label_x = x0 + 5 * size + 12
        if cached:
            c.text(label_x, y + 62, "cached:", colour="muted", anchor="start")
            c.text(label_x, y + 80, "(B, H, $t$, Dh)", colour="muted", anchor="start", mono=True)
            c.text(label_x, y + 108, "new: 1 position", colour="attn", anchor="start")
        else:
            c.text(label_x, y + 62, "recomputed:", colour="muted", anchor="start")
            c.text(label_x, y + 80, "$t$ + 1 positions", colour="muted", anchor="start")
            c.text(label_x, y + 108, "every step", colour="muted", anchor="start")
    return c
