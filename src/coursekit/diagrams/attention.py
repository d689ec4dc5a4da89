"""Chapter 2's diagrams: Bahdanau's and Luong's wiring of attention into the
decoder, and Luong's local attention window."""

from __future__ import annotations

import math

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []


@diagram(
    "bahdanau_vs_luong",
    chapter=2,
    title="Bahdanau's and Luong's attention decoders, one step each",
    alt="""Two decoder steps side by side. Left, Bahdanau: the previous state s(t−1) is
    the query; attention over the annotations h1 … hS gives the context c(t), which enters
    the GRU together with the previous token y(t−1) and also the output layer; the GRU gives
    s(t), and the output layer gives y(t). The steps must run one after another. Right,
    Luong without input feeding: the GRU first turns s(t−1) and y(t−1) into the current state s(t); s(t) is the
    query; the context c(t) enters only the output layer, tanh(W_c [s(t); c(t)]), which
    gives y(t). Under teacher forcing the GRU can run over all steps at once.""",
)
def bahdanau_vs_luong() -> Canvas:
    c = Canvas("bahdanau_vs_luong", height=412)
    rows = (76, 132, 188, 244, 300, 348)
    c.path("M200,8 V404", width=1, dashed=True)

    def column(x0: float, name: str, query: str, order: tuple[str, ...], notes: tuple[str, str]):
        ax, lane = x0 + 72, x0 + 158  # main axis, side lane
        c.text(x0 + 100, 20, name, size="head", anchor="middle")
        c.text(x0 + 100, 42, f"query: {query}", colour="attn")
        boxes = {}
        for r, kind in zip(rows, order):
            if kind == "prev":
                boxes[kind] = c.box(ax, r, 96, 30, "$s_{t−1}$", "dec")
            elif kind == "attn":
                boxes[kind] = b = c.box(ax, r, 96, 30, "attention", "attn")
                h = c.box(lane, r, 52, 30, "$h_1…h_S$", "enc")
                c.arrow(h.left, b.right, role="enc")
            elif kind == "gru":
                boxes[kind] = b = c.box(ax, r, 96, 30, "GRU", "dec")
                y = c.box(lane, r, 52, 26, "$y_{t−1}$")
                c.arrow(y.left, b.right)
            elif kind == "state":
                boxes[kind] = c.box(ax, r, 96, 30, "$s_t$", "dec")
            elif kind == "out":
                boxes[kind] = c.box(ax, r, 96, 30, "output layer")
        out = boxes["out"]
        y_t = c.box(ax, rows[5], 44, 26, "$y_t$")
        c.arrow(out.bottom, y_t.top)
        c.text(x0 + 100, 380, notes[0], colour="muted")
        c.text(x0 + 100, 398, notes[1], colour="muted")
        return boxes, ax

    # Bahdanau: query s_{t-1}; the context enters the GRU (and the output layer).
    b, ax = column(0, "Bahdanau", "$s_{t−1}$", ("prev", "attn", "gru", "state", "out"),
                   ("$c_t$ enters the GRU's input;", "steps run one after another"))
    c.arrow(b["prev"].bottom, b["attn"].top, role="attn")
    c.arrow(b["attn"].bottom, b["gru"].top, role="attn")
    c.text(ax - 8, (rows[1] + rows[2]) / 2, "$c_t$", colour="attn", anchor="end")
    c.arrow(b["prev"].left, (12, rows[0]), (12, rows[2]), b["gru"].left)
    c.arrow(b["gru"].bottom, b["state"].top)
    c.arrow(b["state"].bottom, b["out"].top)
    mid = (rows[1] + rows[2]) / 2
    c.arrow((ax, mid), (192, mid), (192, rows[4]), b["out"].right, role="attn")
    c.dot(ax, mid, "attn")

    # Luong: the GRU first; query s_t; the context enters the output layer only.
    l, ax = column(200, "Luong, no input feeding", "$s_t$", ("prev", "gru", "state", "attn", "out"),
                   ("$c_t$ enters only the output;", "the GRU runs all steps at once"))
    c.arrow(l["prev"].bottom, l["gru"].top)
    c.arrow(l["gru"].bottom, l["state"].top)
    c.arrow(l["state"].bottom, l["attn"].top, role="attn")
    c.arrow(l["attn"].bottom, l["out"].top, role="attn")
    c.text(ax - 8, (rows[3] + rows[4]) / 2, "$c_t$", colour="attn", anchor="end")
    c.arrow(l["state"].left, (212, rows[2]), (212, rows[4]), l["out"].left)
    return c


@diagram(
    "local_attention",
    chapter=2,
    title="Luong's local attention: a window around a predicted centre",
    alt="""The decoder state s(t) predicts a centre p(t) = S · sigmoid(v_p^T tanh(W_p s(t)))
    on the source positions 1 to 12 (here p(t) = 6.5). Only the positions inside the window
    from p(t) − D to p(t) + D (D = 3, positions 4 to 9) get weight; every other position gets
    exactly zero. Inside the window the softmax weights, drawn as bars, are multiplied by a
    Gaussian centred on p(t) with sigma = D/2, drawn as a curve, so the weights fall off
    away from the centre and the loss is differentiable with respect to p(t).""",
)
def local_attention() -> Canvas:
    c = Canvas("local_attention", height=378)
    S, p, D = 12, 6.5, 3
    sigma = D / 2

    def X(u: float) -> float:  # source position (1-based, may be fractional) -> x
        return 75 + (u - 1) * 26

    s = c.box(44, 40, 56, 30, "$s_t$", "dec")
    f = c.box(248, 40, 268, 30, "$p_t$ = $S$ · σ($v_p^T$ tanh($W_p s_t$))")
    c.arrow(s.right, f.left)
    base, peak = 226, 96  # bars and curve stand on y = base; a weight of 1 is `peak` high
    lo, hi = p - D, p + D
    c.frame(X(lo), 108, X(hi) - X(lo), 178, "attn")  # lo, hi fall between cells
    c.text(X(hi) + 6, 120, "window", colour="attn", anchor="start")
    c.text(X(hi) + 6, 138, "|$j$ − $p_t$| ≤ $D$", colour="attn", anchor="start")
    c.arrow((X(p), f.y + f.h), (X(p), 258), role="attn", dashed=True)

    inside = [j for j in range(1, S + 1) if abs(j - p) <= D]
    scores = dict(zip(inside, (0.4, 1.1, 0.2, 0.9, 0.6, -0.2)))  # illustrative scores
    z = sum(math.exp(v) for v in scores.values())
    soft = {j: math.exp(v) / z for j, v in scores.items()}
    top = max(soft.values())
    for j in inside:  # weight_j = softmax_j * gauss_j, scaled so the tallest bar nearly meets the curve
        g = math.exp(-((j - p) ** 2) / (2 * sigma**2))
        h = peak * 0.92 * g * soft[j] / top
        c.bar(X(j) - 8, base - h, 16, h, "attn")
    pts = [(X(u), base - peak * math.exp(-((u - p) ** 2) / (2 * sigma**2))) for u in
           [1 + k * 0.1 for k in range(int((S - 1) / 0.1) + 1)]]
    c.path("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts), "attn", dashed=True)
    c.text(X(lo) - 8, 150, "Gaussian,", colour="attn", anchor="end")
    c.text(X(lo) - 8, 168, "σ = $D$/2", colour="attn", anchor="end")
    c.text(X(lo) - 8, 208, "weights", colour="attn", anchor="end")

    c.text(12, 260, "$h_j$", size="label", anchor="start")
    for j in range(1, S + 1):
        c.box(X(j), 260, 24, 26, str(j), "enc" if j in inside else "neutral", size="small")
    for u, label in ((lo, "$p_t$ − $D$"), (p, "$p_t$"), (hi, "$p_t$ + $D$")):
        c.path(f"M{X(u):.1f},276 V282", width=1)
        c.text(X(u), 292, label, colour="ink")
    c.arrow((X(p), 312), (X(hi), 312), both=True)
    c.text((X(p) + X(hi)) / 2, 324, "$D$", colour="ink")
    c.text(200, 346, "weight: softmax inside the window, times", colour="muted")
    c.text(200, 364, "exp(−($j$ − $p_t$)² / 2σ²); zero outside it", colour="muted")
    return c
