"""Chapter 4's diagrams: scaled dot-product attention with its shapes, and
multi-head attention."""

from __future__ import annotations

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []


@diagram(
    "scaled_dot_product",
    chapter=4,
    title="Scaled dot-product attention, with the shape of every tensor",
    alt="""Top to bottom. Queries come from x, shape (B, T, D); keys and values from x itself
    (self-attention) or from a memory, shape (B, S, D). Three learned projections x W^Q,
    x W^K and x W^V are each split into H heads: Q is (B, H, T, Dh), K and V are (B, H, S, Dh).
    Q times K transposed, divided by the square root of Dh, gives the scores (B, H, T, S).
    An optional boolean mask (padding or causal) sets forbidden scores to minus infinity;
    a softmax over the S keys gives the weights (B, H, T, S). The weights times V give the
    output (B, H, T, Dh); the heads are merged and projected by W^O back to (B, T, D).""",
)
def scaled_dot_product() -> Canvas:
    c = Canvas("scaled_dot_product", height=484)
    qx, kx, vx = 70, 200, 330
    xq = c.box(qx, 28, 116, 40, "$x$", sub="(B, T, D)")
    xkv = c.box((kx + vx) / 2, 28, 240, 40, "$x$, or a memory", sub="(B, S, D)")
    heads = {}
    for name, x, length in (("Q", qx, "T"), ("K", kx, "S"), ("V", vx, "S")):
        src = xq if name == "Q" else xkv
        proj = c.box(x, 96, 116, 40, f"$x W^{name}$", sub="split: $H$ heads", sub_mono=False)
        c.arrow((x, src.y + src.h), proj.top)
        heads[name] = h = c.box(x, 164, 116, 40, f"${name}$", sub=f"(B, H, {length}, Dh)")
        c.arrow(proj.bottom, h.top)
    mid = (qx + kx) / 2
    scores = c.box(mid, 236, 240, 40, "$Q K^T$ / √$D_h$", "attn", sub="scores (B, H, T, S)")
    c.arrow(heads["Q"].bottom, (qx, scores.y), role="attn")
    c.arrow(heads["K"].bottom, (kx, scores.y), role="attn")
    mask = c.box(mid, 300, 240, 40, "mask: −∞ where False", dashed=True, sub="padding or causal; optional",
                 sub_mono=False)
    c.arrow(scores.bottom, mask.top, role="attn")
    soft = c.box(mid, 364, 240, 40, "softmax over the $S$ keys", "attn", sub="weights (B, H, T, S)")
    c.arrow(mask.bottom, soft.top, role="attn")
    out = c.box(200, 432, 370, 40, "weights · $V$", "attn", sub="out (B, H, T, Dh)")
    c.arrow(soft.bottom, (mid, out.y), role="attn")
    c.arrow(heads["V"].bottom, (vx, out.y))
    c.text(200, 472, "then the heads are merged and mixed by $W^O$: (B, T, D)", colour="muted")
    return c


@diagram(
    "multi_head",
    chapter=4,
    title="Multi-head attention: split, attend per head, merge, project",
    alt="""Top to bottom. The input x, shape (B, T, D), is projected by three D × D matrices
    into queries, keys and values, each (B, T, D). Their D features are split into H = 4
    slices of Dh = D / H features: head h gets features h·Dh to (h+1)·Dh − 1, giving
    (B, H, T, Dh). Each head runs scaled dot-product attention on its own slice and has its
    own T × S weight map (drawn as four small heat maps with different patterns), so the
    weights are (B, H, T, S). The heads' outputs are concatenated back into D features,
    (B, T, D), and one more D × D matrix W^O mixes them into the output, (B, T, D).""",
)
def multi_head() -> Canvas:
    c = Canvas("multi_head", height=430)
    seg, left = 68, 122  # four head slices of the D features, right of the row labels
    cx = [left + seg * (h + 0.5) for h in range(4)]
    mid = left + 2 * seg

    def lane(y: float, name: str, shape: str, mono: bool = True) -> None:
        c.caption(8, y, name, shape, mono=mono)

    rows = dict(x=24, proj=86, split=146, heads=226, merge=306, out=372)
    lane(rows["x"], "input", "(B, T, D)")
    x = c.box(mid, rows["x"], 120, 32, "$x$")
    lane(rows["proj"], "project", "$D$ × $D$ each", mono=False)
    proj = c.box(mid, rows["proj"], 250, 32, "$x W^Q$,  $x W^K$,  $x W^V$")
    c.arrow(x.bottom, proj.top)
    lane(rows["split"], "split", "(B, H, T, Dh)")
    for h in range(4):
        c.box(cx[h], rows["split"], seg, 24, f"$D_h$", "attn", size="small")
    c.arrow(proj.bottom, (mid, rows["split"] - 12))
    patterns = (
        lambda i, j: 1.0 if i == j else 0.08,  # itself
        lambda i, j: 1.0 if j == max(i - 1, 0) else 0.08,  # the previous token
        lambda i, j: 1.0 if j == 0 else 0.1,  # the first token
        lambda i, j: 0.35,  # everything, evenly
    )
    lane(rows["heads"], "attend", "(B, H, T, S)")
    for h in range(4):
        c.arrow((cx[h], rows["split"] + 12), (cx[h], rows["heads"] - 44), role="attn")
        c.box(cx[h], rows["heads"], 62, 88, f"head {h + 1}", "attn", size="small", top=True)
        n, size = 5, 9
        x0, y0 = cx[h] - n * size / 2, rows["heads"] - 12
        for i in range(n):
            for j in range(n):
                c.cell(x0 + j * size, y0 + i * size, size - 1, size - 1, "attn", patterns[h](i, j))
        c.arrow((cx[h], rows["heads"] + 44), (cx[h], rows["merge"] - 12), role="attn")
        c.box(cx[h], rows["merge"], seg, 24, f"head {h + 1}", size="small")
    lane(rows["merge"], "concatenate", "(B, T, D)")
    lane(rows["out"], "mix", "(B, T, D)")
    wo = c.box(mid, rows["out"], 120, 32, "$W^O$")
    c.arrow((mid, rows["merge"] + 12), wo.top)
    c.text(mid, 414, "each head: its own $T$ × $S$ weights", colour="muted")
    return c
