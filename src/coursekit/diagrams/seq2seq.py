"""Chapter 1's diagrams: the encoder-decoder with its fixed context vector, and
teacher forcing against free running."""

from __future__ import annotations

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []


@diagram(
    "seq2seq_bottleneck",
    chapter=1,
    title="The encoder–decoder and its fixed context vector",
    alt="""A bidirectional GRU encoder reads the source tokens x1, x2, x3: a forward GRU
    left to right and a backward GRU right to left. The final forward state and the final
    backward state are concatenated into one context vector c of shape (B, H), the same
    size for any source length S. Below, the GRU decoder starts from s0 = tanh(W_b c + b_b);
    its steps s1, s2, s3 each read only the previous output token (dashed), never c. After
    each step a read-out W_c [s_t; c] joins the step's state with c, which a line from c
    brings to every read-out, and emits the output token y1, y2, y3.""",
)
def seq2seq_bottleneck() -> Canvas:
    c = Canvas("seq2seq_bottleneck", height=432)
    c.text(12, 18, "Encoder", size="head", colour="enc", anchor="start")
    c.text(84, 18, "bidirectional GRU", colour="muted", anchor="start")
    cols = (150, 245, 340)
    c.text(12, 48, "tokens", colour="muted", anchor="start")
    c.text(12, 90, "forward", colour="muted", anchor="start")
    c.text(12, 118, "backward", colour="muted", anchor="start")
    enc = []
    for j, x in enumerate(cols, start=1):
        tok = c.box(x, 48, 40, 24, f"$x_{j}$", size="label")
        b = c.box(x, 104, 64, 56, "", "enc")
        c.path(f"M{b.x:g},{b.cy:g} H{b.x + b.w:g}", "enc", width=1)
        c.text(x, 90, f"→$h_{j}$", size="label")
        c.text(x, 118, f"←$h_{j}$", size="label")
        c.arrow(tok.bottom, b.top)
        enc.append(b)
    for a, b in zip(enc, enc[1:]):
        c.arrow((a.x + a.w, 90), (b.x, 90))  # forward: left to right
        c.arrow((b.x, 118), (a.x + a.w, 118))  # backward: right to left
    ctx = c.box(245, 172, 230, 44, "$c$ = [ →$h_3$ ; ←$h_1$ ]", "attn", sub="(B, H), the same for any S",
                sub_mono=False, strong=True)
    c.arrow((enc[2].x + enc[2].w, 90), (388, 90), (388, ctx.cy), ctx.right, role="attn")
    c.arrow((enc[0].x, 118), (102, 118), (102, 166), (ctx.x, 166), role="attn")

    # The decoder: c sets s0 and reaches every step's read-out W_c [s_t; c], never the GRU itself.
    # c's line runs down the left margin and along the bottom, so it crosses no other line.
    c.text(24, 226, "Decoder", size="head", colour="dec", anchor="start")
    dcols = (174, 266, 358)
    s_y, r_y, y_y, bus_y = 270, 322, 370, 402
    s0 = c.box(73, s_y, 98, 36, "$s_0$", "dec", sub="tanh($W_b c + b_b$)", sub_mono=False)
    trunk_x = 14
    c.path(f"M{ctx.x:g},184 H{trunk_x + 6} Q{trunk_x},184 {trunk_x},190 V{bus_y - 6} "
           f"Q{trunk_x},{bus_y} {trunk_x + 6},{bus_y} H{dcols[-1] - 24}", "attn")
    c.dot(100, 184, "attn")
    c.arrow((100, 184), (100, s0.y), role="attn")
    prev, prev_y = s0, None
    for t, x in enumerate(dcols, start=1):
        s = c.box(x, s_y, 52, 34, f"$s_{t}$", "dec")
        c.arrow(prev.right, s.left)
        r = c.box(x, r_y, 72, 28, f"$W_c$[$s_{t}$; $c$]", "dec", size="small")
        c.arrow(s.bottom, r.top)
        c.arrow((r.x + 12, bus_y), (r.x + 12, r.y + r.h), role="attn")
        y = c.box(x, y_y, 32, 24, f"$y_{t}$")
        c.arrow(r.bottom, y.top)
        if prev_y is not None:  # the previous output is this step's input
            jog = s.y + s.h + 9
            c.arrow(prev_y.right, (r.x - 10, prev_y.cy), (r.x - 10, jog), (s.x + 10, jog), (s.x + 10, s.y + s.h),
                    dashed=True, radius=4)
        prev, prev_y = s, y
    c.text(24, bus_y + 18, "the same $c$ reaches every step's read-out, not its GRU", colour="attn", anchor="start")
    return c


@diagram(
    "teacher_forcing",
    chapter=1,
    title="Teacher forcing against free running",
    alt="""Two rows of the same four decoder steps s1 to s4. Top, teacher forcing (training):
    every step reads the true previous token (<bos>, a, c, b) and must predict the next
    true token (a, c, b, <eos>). All the inputs are known in advance, so one RNN call covers
    every step, still in order. Bottom, free running
    (test): step 1 reads <bos>, and every later step reads the model's own previous output.
    The second output is wrong (b instead of c, in red), and that wrong token becomes the
    input of step 3: exposure bias.""",
)
def teacher_forcing() -> Canvas:
    c = Canvas("teacher_forcing", height=410)
    cols = (130, 210, 290, 370)

    def tokens(y: float, words, roles=None):
        roles = roles or ["neutral"] * len(words)
        return [c.box(x, y, 50, 24, w, r, size="small", sub=None) if w else None
                for x, w, r in zip(cols, words, roles)]

    def steps(y: float):
        boxes = [c.box(x, y, 56, 30, f"$s_{t}$", "dec") for t, x in enumerate(cols, start=1)]
        for a, b in zip(boxes, boxes[1:]):
            c.arrow(a.right, b.left)
        return boxes

    # Teacher forcing
    c.text(12, 18, "Teacher forcing", size="head", anchor="start")
    c.text(136, 18, "(training)", colour="muted", anchor="start")
    c.text(12, 56, "predicts", colour="muted", anchor="start")
    c.text(12, 104, "decoder", colour="muted", anchor="start")
    c.text(12, 152, "reads", colour="muted", anchor="start")
    outs = tokens(56, ["a", "c", "b", "<eos>"])
    dec = steps(104)
    ins = tokens(152, ["<bos>", "a", "c", "b"])
    for o, s, i in zip(outs, dec, ins):
        c.arrow(s.top, o.bottom)
        c.arrow(i.top, s.bottom)
    c.text(12, 182, "the true previous token: all known in advance,", colour="muted", anchor="start")
    c.text(12, 199, "so one RNN call covers every step, still in order", colour="muted", anchor="start")

    # Free running
    y0 = 232
    c.path(f"M12,{y0 - 14} H388", width=1, dashed=True)
    c.text(12, y0 + 16, "Free running", size="head", anchor="start")
    c.text(118, y0 + 16, "(test)", colour="muted", anchor="start")
    c.text(12, y0 + 54, "predicts", colour="muted", anchor="start")
    c.text(12, y0 + 102, "decoder", colour="muted", anchor="start")
    c.text(12, y0 + 150, "reads", colour="muted", anchor="start")
    outs = tokens(y0 + 54, ["a", "b", "b", "<eos>"], ["neutral", "alert", "neutral", "neutral"])
    dec = steps(y0 + 102)
    (bos,) = [b for b in tokens(y0 + 150, ["<bos>", None, None, None]) if b]
    c.arrow(bos.top, dec[0].bottom)
    for t, (o, s) in enumerate(zip(outs, dec)):
        c.arrow(s.top, o.bottom)
        if t + 1 < len(dec):
            nxt = dec[t + 1]
            c.arrow((o.x + o.w - 4, o.y + o.h), (nxt.x + 8, nxt.y), role="alert" if t == 1 else None, dashed=True)
    c.text(172, y0 + 143, "its own previous output: a wrong", colour="muted", anchor="start")
    c.text(172, y0 + 161, "token (red) becomes the next input", colour="muted", anchor="start")
    return c
