"""Chapter 8's diagrams (contextual embeddings): one static vector per word against one vector
per occurrence, ELMo's biLM (character CNN, highway, forward and backward LSTMs sharing the
token representation and the softmax), its scalar mix, and ULMFiT's three stages with the
slanted triangular schedule, discriminative rates and gradual unfreezing."""

from __future__ import annotations

from ..ulmfit import stlr
from .registry import diagram
from .svg import Canvas

__all__: list[str] = []

_SENTENCES = ("a duck swam by", "duck under the beam", "roast duck with rice")
# Made-up vector entries (opacity 0..1) for the drawing: one row for the static vector, one per sentence.
_STATIC = (0.9, 0.3, 0.6, 0.15, 0.75, 0.45)
_CONTEXTUAL = ((0.85, 0.2, 0.7, 0.1, 0.8, 0.35), (0.2, 0.9, 0.3, 0.75, 0.15, 0.6), (0.55, 0.4, 0.95, 0.5, 0.3, 0.1))


def _vector(c: Canvas, x0: float, cy: float, values, role: str) -> tuple[float, float]:
    """A row of cells (a vector) starting at x0, centred on cy; returns its left-middle point."""
    for i, v in enumerate(values):
        c.cell(x0 + 18 * i, cy - 9, 16, 18, role, 0.15 + 0.85 * v)
    return (x0 - 4, cy)


@diagram(
    "static_vs_contextual",
    chapter=8,
    title="Static vectors: one per word; contextual vectors: one per occurrence",
    alt="""Two panels, each with the same three sentences that use the word duck: a duck swam by (the
    bird), duck under the beam (the verb) and roast duck with rice (the food). Top, a static embedding such
    as GloVe or word2vec: all three occurrences point to the same single vector for duck, so the three
    senses share one vector, a blend of them. Bottom, a contextual model such as ELMo: each occurrence
    gets its own vector, computed from the whole sentence, so the bird, the verb and the food can land in
    different places.""",
)
def static_vs_contextual() -> Canvas:
    c = Canvas("static_vs_contextual", height=404)
    vx = 268  # where the vectors start
    # top: static
    c.frame(10, 12, 380, 176, "neutral")
    c.text(20, 32, "static: one vector per word", size="head", colour="neutral", anchor="start")
    ys = (70, 110, 150)
    target = _vector(c, vx, 110, _STATIC, "neutral")
    for y, s in zip(ys, _SENTENCES):
        c.text(24, y, s, anchor="start")
        c.arrow((184, y), (target[0] - 2, target[1] + (y - 110) * 0.12), role="neutral")
    c.text(vx + 53, 84, "duck", colour="muted")
    # bottom: contextual
    c.frame(10, 204, 380, 176, "enc")
    c.text(20, 224, "contextual: one per occurrence", size="head", colour="enc", anchor="start")
    for k, (s, values) in enumerate(zip(_SENTENCES, _CONTEXTUAL)):
        y = 262 + 40 * k
        c.text(24, y, s, anchor="start")
        left = _vector(c, vx, y, values, "enc")
        c.arrow((184, y), left, role="enc")
    c.text(200, 394, "the bird, the verb, the food: one blend, or three vectors", colour="muted")
    return c


@diagram(
    "elmo_bilm",
    chapter=8,
    title="ELMo's biLM: characters to a shared token representation, two LSTM language models, one softmax",
    alt="""Read from the bottom up. The characters of one token, wrapped in begin- and end-of-word marks,
    are embedded and run through a character CNN (filters of several widths, max-pooled over the word),
    then highway layers and a linear projection, giving the token representation x_k, which does not
    depend on the context. The same x_k feeds two stacks of two LSTM layers: a forward language model
    that reads left to right and a backward one that reads right to left, each with its own weights.
    The top layers of both feed one shared softmax: the forward state predicts the next token t_k+1,
    the backward state the previous token t_k-1.""",
)
def elmo_bilm() -> Canvas:
    c = Canvas("elmo_bilm", height=540)
    c.text(200, 20, "forward predicts $t_{k+1}$, backward $t_{k−1}$", colour="ink")
    soft = c.box(200, 56, 300, 34, "softmax (shared)", "neutral")
    cols = {"fwd": (110, "enc", "forward LM →"), "bwd": (290, "dec", "← backward LM")}
    tops, bottoms = [], []
    for key, (cx, role, head) in cols.items():
        c.frame(cx - 84, 96, 168, 164, role)
        c.text(cx, 114, head, size="head", colour=role)
        l2 = c.box(cx, 152, 140, 36, "LSTM layer 2", role)
        l1 = c.box(cx, 222, 140, 36, "LSTM layer 1", role)
        c.arrow(l1.top, l2.bottom, role=role)
        tops.append(l2.top)
        bottoms.append(l1.bottom)
    for x, y in tops:
        c.arrow((x, y), (x, soft.y + soft.h), role="neutral")
    token = c.box(200, 300, 300, 36, "token representation $x_k$ (shared)", "attn")
    for x, y in bottoms:
        c.arrow((x, token.y), (x, y), role="attn")
    highway = c.box(200, 364, 300, 34, "highway layers, then a projection", "ffn")
    c.arrow(highway.top, token.bottom)
    cnn = c.box(200, 424, 300, 34, "char CNN: filters, max-pool", "ffn")
    c.arrow(cnn.top, highway.bottom)
    chars = ("‹w›", "d", "u", "c", "k", "‹/w›")
    xs = [200 + 44 * (i - 2.5) for i in range(len(chars))]
    for x, ch in zip(xs, chars):
        b = c.box(x, 484, 38, 28, ch, "neutral", size="small")
        c.arrow(b.top, (x, cnn.y + cnn.h))
    c.text(200, 520, "the characters of token $t_k$ (no vocabulary)", colour="muted")
    return c


@diagram(
    "elmo_scalar_mix",
    chapter=8,
    title="ELMo's scalar mix: softmax-normalised layer weights and a scale gamma, learned per task",
    alt="""The biLM gives every token three vectors: layer 0, the token representation written twice
    [x_k; x_k], and layers 1 and 2, the forward and backward LSTM states side by side [h_forward; h_backward].
    Each layer j is multiplied by a weight s_j; the weights are a softmax of three learned numbers, so they
    are positive and sum to one. The weighted layers are added and the sum is multiplied by a learned
    scale gamma, giving the ELMo vector of the token for one downstream task. Another task learns its own
    weights and gamma from the same frozen biLM.""",
)
def elmo_scalar_mix() -> Canvas:
    c = Canvas("elmo_scalar_mix", height=392)
    rows = ((2, "LSTM 2: $[h^→; h^←]$", 62), (1, "LSTM 1: $[h^→; h^←]$", 132), (0, "layer 0: $[x_k; x_k]$", 202))
    add = c.add_node(300, 132, r=11)
    for j, label, y in rows:
        b = c.box(96, y, 164, 38, label, "enc" if j else "attn")
        node = c.add_node(214, y, symbol="x")
        c.arrow(b.right, node.left)
        c.text(214, y - 22, f"$s_{j}$", colour="ink")
        c.arrow(node.right, add.at("left", 0.5) if j == 1 else (add.cx, add.y if j == 2 else add.y + add.h), role="attn")
    c.text(96, 28, "a token's three layers", colour="muted")
    gamma = c.box(300, 224, 72, 34, "× $γ$", "attn")
    c.arrow(add.bottom, gamma.top, role="attn")
    out = c.box(300, 290, 140, 36, "ELMo$_k^{task}$", "attn", strong=True)
    c.arrow(gamma.bottom, out.top, role="attn")
    c.text(200, 336, "$s$ = softmax($w$): positive, summing to one", colour="ink")
    c.text(200, 356, "$w$ and $γ$ are learned for each task", colour="muted")
    c.text(200, 376, "the biLM's own weights stay frozen", colour="muted")
    return c


@diagram(
    "ulmfit_recipe",
    chapter=8,
    title="ULMFiT: three stages, the slanted triangular schedule, discriminative rates, gradual unfreezing",
    alt="""Top, ULMFiT's three stages from left to right: a language model pretrained on general text
    (Wikitext-103), the same language model fine-tuned on the target task's text, and a classifier
    fine-tuned on the task's labels. Middle, the slanted triangular learning-rate schedule computed with
    cut_frac 0.1 and ratio 32: the rate rises linearly from eta_max divided by 32 to eta_max during the first
    10 percent of the steps, then falls linearly back over the remaining 90 percent. Bottom left, discriminative
    fine-tuning: each layer group's rate is the rate of the group above divided by 2.6, drawn as bars that
    shrink from the top layer down. Bottom right, gradual unfreezing: in the first epoch only the top group
    trains, then one more group joins each epoch, until all four train.""",
)
def ulmfit_recipe() -> Canvas:
    c = Canvas("ulmfit_recipe", height=540)
    # the three stages
    stages = (("general LM", "Wikitext-103"), ("task LM", "task's text"), ("classifier", "task's labels"))
    boxes = [c.box(72 + 128 * i, 40, 116, 46, f"{i + 1}. {name}", "enc" if i < 2 else "dec", sub=data, sub_mono=False)
             for i, (name, data) in enumerate(stages)]
    for a, b in zip(boxes, boxes[1:]):
        c.arrow(a.right, b.left)
    # the slanted triangular schedule, computed
    c.text(200, 92, "slanted triangular rates (Eq. 3)", size="head", colour="dec")
    x0, x1, yb, yt, T = 80, 380, 244, 140, 200
    c.arrow((x0, yb), (x1, yb))
    c.arrow((x0, yb), (x0, yt - 8))
    pts = [(x0 + (x1 - x0 - 8) * t / T, yb - (yb - yt) * stlr(t, T)) for t in range(0, T + 1, 2)]
    c.path("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts), role="dec", width=2.5)
    c.text(x0 - 6, yt, "$η_{max}$", anchor="end")
    c.text(x0 - 6, yb - 8, "$η_{max}$/32", anchor="end")
    peak = pts[T // 20][0]
    c.text(peak + 4, yt - 14, "peak at 10% of the steps", anchor="start", colour="muted")
    c.text(230, yb + 16, "iteration $t$", colour="muted")
    # discriminative rates: each group below gets 1/2.6 of the rate above
    c.text(104, 286, "rate per layer group", size="head", colour="ffn")
    for k in range(4):  # k = 0 the top group
        y = 312 + 34 * k
        c.text(60, y, f"group {4 - k}", anchor="end")
        c.bar(68, y - 9, 118 / 2.6**k, 18, "ffn")
    c.text(104, 454, "$η^{l−1} = η^l / 2.6$", colour="ink")
    # gradual unfreezing: epochs x groups
    c.text(300, 286, "gradual unfreezing", size="head", colour="attn")
    for e in range(4):
        c.text(226, 312 + 34 * e, f"epoch {e + 1}", anchor="start")
        for g in range(4):
            trains = 3 - g <= e
            c.cell(294 + 24 * g, 303 + 34 * e, 20, 18, "attn" if trains else "neutral", 0.9 if trains else 0.12)
    c.text(338, 454, "groups 1 … 4", colour="muted")
    c.text(200, 494, "filled: the group trains that epoch;", colour="ink")
    c.text(200, 514, "the top group first, one more each epoch", colour="ink")
    return c
