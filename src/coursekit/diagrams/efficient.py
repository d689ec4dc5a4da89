"""Chapter 7's diagrams (efficient and sparse attention): the sparse patterns as grids, linear
attention's reordering of the products, and Transformer-XL's segment recurrence."""

from __future__ import annotations

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []

_N = 12  # positions in the pattern grids


def _grid(c: Canvas, x0: float, y0: float, size: float, allowed, query: int) -> int:
    """An n x n grid at (x0, y0): allowed cells in violet, the chosen query's row in orange."""
    cell = size / _N
    for i in range(_N):
        for j in range(_N):
            if allowed(i, j):
                role, alpha = ("dec", 1.0) if i == query else ("attn", 0.55)
            else:
                role, alpha = "neutral", 0.08
            c.cell(x0 + j * cell + 0.5, y0 + i * cell + 0.5, cell - 1, cell - 1, role, alpha)
    return sum(bool(allowed(query, j)) for j in range(_N))


@diagram(
    "attention_patterns",
    chapter=7,
    title="Four attention patterns: which keys each query reads",
    alt="""Four 12 by 12 grids, rows are queries and columns keys; a filled cell means the query may
    read that key, and the row of query 10 is drawn in orange. Causal full attention fills the whole
    lower triangle: query 10 reads all 11 keys up to itself. The strided pattern (stride 3) reads the
    previous 3 keys and every third key before them. The fixed pattern (blocks of 3) reads its own
    block and the last cell of every earlier block. The local window (4 keys) reads only the 4 most
    recent keys, a band along the diagonal. Full attention costs n squared; the sparse patterns about
    n times the square root of n, or n times the window.""",
)
def attention_patterns() -> Canvas:
    c = Canvas("attention_patterns", height=436)
    size, q, l, w = 132, 10, 3, 4
    panels = (
        ("causal full", lambda i, j: j <= i, "$O(n^2)$"),
        ("strided, $l$ = 3", lambda i, j: j <= i and (i - j <= l or (i - j) % l == 0), "$O(n \u221an)$"),
        ("fixed, $l$ = 3", lambda i, j: j <= i and (j // l == i // l or j % l == l - 1), "$O(n \u221an)$"),
        ("local, $w$ = 4", lambda i, j: 0 <= i - j < w, "$O(n w)$"),
    )
    for k, (name, rule, cost) in enumerate(panels):
        x0 = 50 + (k % 2) * 190
        y0 = 40 + (k // 2) * 196
        c.text(x0 + size / 2, y0 - 16, name, size="head", colour="attn")
        reads = _grid(c, x0, y0, size, rule, q)
        c.text(x0 + size / 2, y0 + size + 14, f"{reads} keys; cost {cost}", colour="muted")
        yq = y0 + (q + 0.5) * size / _N
        c.text(x0 - 30, yq, "$q$", anchor="end", colour="dec")
        c.arrow((x0 - 26, yq), (x0 - 3, yq), role="dec")
    c.text(200, 404, "rows: queries; columns: keys, earlier to later", colour="ink")
    c.text(200, 424, "orange: the keys query 10 may read", colour="dec")
    return c


@diagram(
    "linear_reorder",
    chapter=7,
    title="Linear attention: the same products in another order",
    alt="""Two ways to multiply three matrices. Left, softmax attention: Q (n by d) times K transposed
    (d by n) gives an n by n matrix of scores, drawn as a large square, which then multiplies V (n by d):
    time and memory grow as n squared times d. Right, linear attention with a feature map phi: phi of K
    transposed (d by n) times V (n by d) gives a small d by d matrix first, computed once, and phi of Q
    (n by d) times it gives the output: time grows as n times d squared and no n by n matrix exists.
    The softmax cannot be reordered this way; the kernel phi(q) dot phi(k) can.""",
)
def linear_reorder() -> Canvas:
    c = Canvas("linear_reorder", height=380)
    c.text(100, 18, "softmax: $(Q K^T) V$", size="head", colour="attn")
    c.text(300, 18, "linear: $\u03c6(Q) (\u03c6(K)^T V)$", size="head", colour="ffn")
    # left: Q (n x d), K^T (d x n) -> scores (n x n) -> times V
    q = c.box(52, 92, 30, 96, "$Q$", "attn")
    kt = c.box(148, 58, 96, 30, "$K^T$", "attn")
    c.text(52, 152, "n × d", colour="muted", mono=True)
    s = c.box(148, 150, 96, 96, "$Q K^T$", "attn", sub="n × n", strong=True)
    c.arrow(q.right, (s.x, 100), role="attn")
    c.arrow(kt.bottom, s.top, role="attn")
    v = c.box(52, 250, 30, 96, "$V$", "neutral")
    out_l = c.box(148, 250, 30, 96, "out", "neutral", size="small")
    c.arrow(s.bottom, out_l.top, role="attn")
    c.arrow(v.right, out_l.left)
    c.text(100, 318, "cost $n^2 d$, memory $n^2$", colour="ink")
    # right: phi(K)^T V (d x d) first, then phi(Q) times it
    ktr = c.box(300, 58, 96, 30, "$\u03c6(K)^T$", "ffn")
    vr = c.box(370, 128, 30, 96, "$V$", "neutral")
    kv = c.box(300, 150, 34, 34, "", "ffn", strong=True)
    c.text(300, 182, "d × d", colour="muted", mono=True)
    c.arrow(ktr.bottom, kv.top, role="ffn")
    c.arrow(vr.left, kv.right)
    qr = c.box(236, 250, 44, 96, "$\u03c6(Q)$", "ffn", size="small")
    out_r = c.box(330, 250, 30, 96, "out", "neutral", size="small")
    c.arrow(kv.bottom, (330, out_r.y), role="ffn")
    c.arrow(qr.right, out_r.left, role="ffn")
    c.text(300, 318, "cost $n d^2$, memory $d^2$", colour="ink")
    c.text(200, 350, "the $d \u00d7 d$ sum is a running state: an RNN when causal", colour="muted")
    c.text(200, 370, "softmax's exp does not factor, so it cannot be reordered", colour="muted")
    return c


@diagram(
    "xl_recurrence",
    chapter=7,
    title="Transformer-XL: each segment attends to the cached states of the one before",
    alt="""Two segments of 4 tokens side by side, previous segment on the left, current on the right,
    each with two layers of hidden states above its tokens. In the current segment, every state in
    layer 1 and layer 2 attends to the states of the layer below in its own segment (up to itself)
    and also to the cached layer-below states of the previous segment, the memory, drawn dashed
    because no gradient flows into it. So information travels one segment further back per layer:
    the longest dependency grows with the number of layers times the segment length. Without the
    memory, a segment sees only its own tokens.""",
)
def xl_recurrence() -> Canvas:
    c = Canvas("xl_recurrence", height=330)
    xs_prev = [40 + 40 * i for i in range(4)]
    xs_cur = [232 + 40 * i for i in range(4)]
    ys = {0: 270, 1: 190, 2: 110}  # tokens, layer 1, layer 2
    c.frame(18, 74, 168, 220, "neutral")
    c.frame(210, 74, 172, 220, "dec")
    c.text(102, 60, "segment $\u03c4$ \u2212 1: memory", colour="muted")
    c.text(296, 60, "segment $\u03c4$: being computed", colour="dec")
    for layer, y in ys.items():
        for x in xs_prev:
            c.box(x, y, 26, 22, "", "neutral", dashed=layer > 0)
        for x in xs_cur:
            c.box(x, y, 26, 22, "", "dec" if layer else "neutral")
    # the last current state of each layer reads the layer below: its own segment and the memory
    for layer in (1, 2):
        y, below = ys[layer], ys[layer - 1]
        target = (xs_cur[-1], y + 11)
        for x in xs_cur[-3:]:
            c.arrow((x, below - 11), target, role="dec")
        for x in xs_prev[-2:]:
            c.arrow((x, below - 11), target, role="attn", dashed=True)
    c.text(200, 22, "a state reads the layer below: its own segment", colour="ink")
    c.text(200, 40, "and the cached previous one (dashed: no gradient)", colour="attn")
    c.text(200, 314, "tokens; without the memory a segment sees only itself", colour="muted")
    return c
