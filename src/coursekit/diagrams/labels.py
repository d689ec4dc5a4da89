"""Chapter 13's diagrams (label smoothing and label flipping): hard against smoothed targets
and what smoothing asks of the logits (Szegedy et al. 2016, Sec. 7; Müller et al. 2019, Sec. 2
and Fig. 1); a reliability diagram explained, bins, gaps and the expected calibration error
(Guo et al. 2017, Sec. 2, Eq. 3); random against adversarial label flips near an SVM's
boundary and kNN sanitisation relabelling them (Xiao et al. 2012; Paudice et al. 2018); and
the chapter's distinction: smoothing acts on every label, right or wrong; flipping is about
which labels are wrong.

The numbers drawn in these diagrams are illustrations (a sketch's data), computed here from
the few values each diagram states; the chapter's measurements are in its notebook.
"""

from __future__ import annotations

import math

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []

_K, _EPS = 5, 0.1  # the smoothing diagram's classes and epsilon


def _smoothed(k: int, target: int, eps: float = _EPS, classes: int = _K) -> float:
    """Szegedy et al.'s smoothed target: (1 - eps) * one-hot + eps / K."""
    return (1 - eps) * (k == target) + eps / classes


def _target_bars(c: Canvas, x0: float, base: float, values: list[float], role: str, tall: float = 100) -> None:
    """K bars of width 22 from ``x0``, heights ``values`` * ``tall``, with their values above them."""
    for k, v in enumerate(values):
        x = x0 + k * 30
        h = max(v * tall, 1.5)
        c.bar(x, base - h, 22, h, role)
        c.text(x + 11, base + 12, str(k + 1), colour="muted")
        c.text(x + 11, base - h - 10, f"{v:g}" if v in (0, 1) else f"{v:.2f}".lstrip("0"), colour="ink")
    c.path(f"M{x0 - 6:g},{base:g} H{x0 + 30 * len(values) - 2:g}")


@diagram(
    "smoothing_targets",
    chapter=13,
    title="Hard targets against smoothed targets, and what each asks of the logits",
    alt="""Two bar charts over five classes with the true class third. The hard (one-hot) target
    puts probability 1 on the true class and 0 on the others; the smoothed target, with epsilon
    0.1, mixes it with the uniform distribution: (1 - epsilon) times the one-hot plus epsilon
    over K, which is 0.92 on the true class and 0.02 on each other class. Below: with the hard
    target the loss keeps falling as the true class's logit moves away from the others, so
    training pushes the gap towards infinity and the confidence towards 1; with the smoothed
    target the loss has its minimum at a finite gap, the log of 0.92 over 0.02, about 3.8, so
    the logits stay bounded, and each class's penultimate activations are pulled towards its
    own template at the same distance from every other class (Müller et al. 2019, Fig. 1).""",
)
def smoothing_targets() -> Canvas:
    c = Canvas("smoothing_targets", height=404)
    c.text(100, 20, "hard target", size="head")
    c.text(300, 20, f"smoothed, ε = {_EPS:g}", size="head", colour="attn")
    base = 150
    _target_bars(c, 33, base, [float(k == 2) for k in range(_K)], "enc")
    _target_bars(c, 233, base, [_smoothed(k, 2) for k in range(_K)], "attn")
    c.arrow((176, 96), (224, 96), role="attn")
    c.text(100, 186, "class (true class: 3)", colour="muted")
    c.text(300, 186, "(1 − ε)·one-hot + ε/K", colour="muted", mono=True)
    c.text(200, 222, "what the loss asks of the logits $z$", size="head")
    hard = c.box(200, 262, 372, 44, "hard: loss falls as $z_y − z_k$ → ∞", "enc", sub="logits grow, confidence → 1",
                 sub_mono=False)
    gap = math.log(_smoothed(2, 2) / _smoothed(0, 2))
    soft = c.box(200, 330, 372, 44, f"smoothed: optimum at $z_y − z_k$ = log(.92/.02) ≈ {gap:.1f}", "attn",
                 sub="bounded logits, confidence at most .92", sub_mono=False)
    c.arrow(hard.bottom, soft.top, role="attn")
    c.text(200, 372, "penultimate layer: each class pulled to its template,", colour="muted")
    c.text(200, 390, "equally far from every other class (Müller et al., Fig. 1)", colour="muted")
    return c


# ----------------------------------------------------------------------------- reliability diagram
_BIN_COUNTS = (4, 6, 10, 25, 155)  # an overconfident model: most predictions in the top bin
_BIN_CONF = (0.13, 0.31, 0.52, 0.71, 0.93)  # mean confidence in each of 5 equal-width bins
_BIN_ACC = (0.25, 0.33, 0.40, 0.52, 0.78)  # accuracy in each bin (illustrative)


def _ece(counts, conf, acc) -> float:
    n = sum(counts)
    return sum(m / n * abs(a - p) for m, p, a in zip(counts, conf, acc))


@diagram(
    "reliability_explained",
    chapter=13,
    title="A reliability diagram explained: bins, gaps and the expected calibration error",
    alt="""A reliability diagram for an illustrative overconfident classifier. The horizontal axis
    is the confidence (the largest predicted probability), cut into five equal-width bins from 0
    to 1; the vertical axis is accuracy. Each bar is the accuracy of the predictions whose
    confidence falls in that bin; a red band marks the gap between the bar and the bin's mean
    confidence, and the dashed diagonal is perfect calibration, where accuracy equals
    confidence. Most predictions sit in the top bin, where the gap is largest. Under the axis
    are the bins' counts. The expected calibration error is the sum over bins of the bin's share
    of the predictions times the absolute gap (Guo et al. 2017, Eq. 3), so a large gap in a
    nearly empty bin counts for little and the crowded top bin dominates.""",
)
def reliability_explained() -> Canvas:
    c = Canvas("reliability_explained", height=440)
    x0, y0, side = 44, 44, 230  # the plot's left, top and size
    bw = side / len(_BIN_COUNTS)

    def px(conf: float) -> float:
        return x0 + conf * side

    def py(acc: float) -> float:
        return y0 + (1 - acc) * side

    c.path(f"M{x0:g},{y0:g} V{y0 + side:g} H{x0 + side:g}")  # axes
    for m, (conf, acc) in enumerate(zip(_BIN_CONF, _BIN_ACC)):
        left = x0 + m * bw
        c.bar(left + 3, py(acc), bw - 6, y0 + side - py(acc), "enc")
        lo, hi = sorted((py(acc), py(conf)))
        c.cell(left + 3, lo, bw - 6, hi - lo, "alert", 0.45)
        c.path(f"M{left + 3:g},{py(conf):g} H{left + bw - 3:g}", role="alert", width=2.5)
    c.path(f"M{x0:g},{y0 + side:g} L{x0 + side:g},{y0:g}", dashed=True)
    for t in (0, 0.5, 1):
        c.text(px(t), y0 + side + 12, f"{t:g}", colour="muted")
        c.text(x0 - 8, py(t), f"{t:g}", colour="muted", anchor="end")
    c.text(x0 + side / 2, y0 + side + 30, "confidence (5 bins)", colour="ink")
    c.text(x0 - 30, y0 - 22, "accuracy", colour="ink", anchor="start")
    c.text(x0 - 8, y0 + side + 50, "n:", colour="muted", anchor="end")
    for m, n in enumerate(_BIN_COUNTS):
        c.text(x0 + (m + 0.5) * bw, y0 + side + 50, str(n), colour="muted")
    # the legend, to the right of the plot
    lx = x0 + side + 14
    c.bar(lx, 58, 14, 14, "enc")
    c.text(lx + 20, 65, "accuracy", anchor="start")
    c.text(lx + 20, 83, "in the bin", anchor="start", colour="muted")
    c.cell(lx, 106, 14, 14, "alert", 0.45)
    c.text(lx + 20, 113, "gap to its", anchor="start")
    c.text(lx + 20, 131, "confidence", anchor="start", colour="muted")
    c.path(f"M{lx:g},{162:g} L{lx + 14:g},{150:g}", dashed=True)
    c.text(lx + 20, 156, "calibrated:", anchor="start")
    c.text(lx + 20, 174, "acc = conf", anchor="start", colour="muted")
    c.arrow((lx + 30, 200), (px(0.9) + 4, py(0.86)), role="alert")
    c.text(lx, 214, "overconfident", anchor="start", colour="alert")
    n = sum(_BIN_COUNTS)
    c.text(200, 352, "ECE = Σ$_m$ (|$B_m$| / $n$) · |acc($B_m$) − conf($B_m$)|", size="label")
    c.text(200, 376, "each bin's gap, weighted by its share of the predictions", colour="muted")
    c.text(200, 398, f"here: ECE = {_ece(_BIN_COUNTS, _BIN_CONF, _BIN_ACC):.3f} over n = {n} (illustrative)",
           colour="ink")
    c.text(200, 420, "a big gap in a near-empty bin counts for little", colour="muted")
    return c


# ----------------------------------------------------------------------------- label flips
# A sketch in unit coordinates (u right, v up); the clean boundary is v = u.
_A = ((0.1, 0.5), (0.15, 0.85), (0.3, 0.72), (0.38, 0.95), (0.2, 0.3), (0.52, 0.82), (0.06, 0.14), (0.42, 0.6),
      (0.66, 0.92), (0.26, 0.5))
_B = ((0.5, 0.2), (0.72, 0.42), (0.86, 0.14), (0.9, 0.62), (0.64, 0.08), (0.4, 0.12), (0.82, 0.7), (0.95, 0.36),
      (0.58, 0.4), (0.76, 0.58))
_RANDOM = {("A", 3), ("B", 2)}  # random flips: anywhere, here two points far from the boundary
_ALFA = {("B", 8), ("B", 9)}  # ALFA: points near the boundary, chosen to move it most


def _flip_panel(c: Canvas, top: float, flips: set, boundary: tuple, restored: bool, heading: str, notes: tuple,
                role: str) -> None:
    x0, w, h = 24, 196, 128  # the plot inside the panel
    y0 = top + 30

    def at(u: float, v: float) -> tuple[float, float]:
        return (x0 + u * w, y0 + (1 - v) * h)

    c.frame(8, top, 384, h + 44, role)
    c.text(16, top + 15, heading, size="head", colour=role, anchor="start")
    c.path(f"M{at(0, 0)[0]:g},{at(0, 0)[1]:g} L{at(1, 1)[0]:g},{at(1, 1)[1]:g}", width=1.2, dashed=True)
    (u0, v0), (u1, v1) = boundary
    if boundary != ((0, 0), (1, 1)):
        a, b = at(u0, v0), at(u1, v1)
        c.path(f"M{a[0]:.1f},{a[1]:.1f} L{b[0]:.1f},{b[1]:.1f}", role="alert", width=2.2)
    for cls, pts in (("A", _A), ("B", _B)):
        for i, (u, v) in enumerate(pts):
            x, y = at(u, v)
            flipped = (cls, i) in flips and not restored
            shown = {"A": "B", "B": "A"}[cls] if flipped else cls
            if shown == "A":
                c.items.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" class="ckd-bar-enc"/>')
            else:
                c.bar(x - 4, y - 4, 8, 8, "dec")
            if (cls, i) in flips:
                c.items.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8.5" class="ckd-line ckd-line-alert"/>')
    for k, line in enumerate(notes):
        c.text(236, top + 42 + 19 * k, line, anchor="start", colour="ink" if k == 0 else "muted")


@diagram(
    "label_flips",
    chapter=13,
    title="Random and adversarial label flips near an SVM's boundary, and kNN sanitisation",
    alt="""Three sketches of the same two-class data, blue circles above a dashed diagonal
    boundary and orange squares below it. Top, random flips: two labels chosen at random are
    flipped, here two points far from the boundary; the SVM's boundary barely moves. Middle,
    the adversarial label flip attack (ALFA, Xiao et al. 2012) spends the same budget of two
    flips on the points whose flipped labels move the boundary most, squares next to the
    boundary made circles, and the retrained boundary, drawn in red, tilts into the orange
    class. Bottom, label sanitisation (Paudice et al. 2018): each point's k nearest neighbours
    vote, and a point whose neighbours mostly carry the other label, with a share of at least
    eta, is relabelled to the majority; the two flipped points are restored and the boundary
    returns to the diagonal. The flipped points are ringed in red in every panel.""",
)
def label_flips() -> Canvas:
    c = Canvas("label_flips", height=584)
    straight = ((0, 0), (1, 1))
    _flip_panel(c, 8, _RANDOM, straight, False, "random flips (budget 2)",
                ("flips fall anywhere,", "mostly far from the", "boundary: it barely", "moves"), "neutral")
    _flip_panel(c, 196, _ALFA, ((0.15, 0), (1, 0.72)), False, "ALFA (same budget 2)",
                ("flips chosen where they", "move the boundary most:", "the retrained SVM (red)", "tilts"), "alert")
    _flip_panel(c, 384, _ALFA, straight, True, "kNN sanitisation",
                ("k neighbours vote; a", "share ≥ η relabels the", "point: flips restored,", "boundary back"), "ffn")
    c.arrow((300, 356), (300, 378), role="ffn")
    c.text(200, 576, "ringed: flipped labels · a sketch, not data", colour="muted")
    return c


# ----------------------------------------------------------------------------- the distinction
@diagram(
    "smoothing_vs_flipping",
    chapter=13,
    title="Smoothing acts on every label; flipping is about which labels are wrong",
    alt="""Two columns that start from the same training labels. Label smoothing, on the left,
    changes every target, right or wrong, in the same way: each one-hot label is mixed with the
    uniform distribution before the loss sees it; it is a regulariser of the model's confidence,
    and it knows nothing about which labels are wrong. Label flipping, on the right, changes some
    labels: at random (label noise, measured by how much noise a model absorbs) or chosen by an
    adversary (ALFA), and its defences look for the wrong labels and fix them, as kNN
    sanitisation does. A note at the bottom says that smoothing may soften the damage of a few
    wrong labels but cannot find them.""",
)
def smoothing_vs_flipping() -> Canvas:
    c = Canvas("smoothing_vs_flipping", height=372)
    top = c.box(200, 30, 240, 40, "training labels $y$", "neutral", sub="right, or some of them wrong", sub_mono=False)
    left = c.box(104, 112, 184, 48, "label smoothing", "attn", sub="every target, the same way", sub_mono=False)
    right = c.box(296, 112, 184, 48, "label flipping", "alert", sub="some labels, changed", sub_mono=False)
    c.arrow(top.at("bottom", 0.25), left.top, role="attn")
    c.arrow(top.at("bottom", 0.75), right.top, role="alert")
    for k, line in enumerate(("mixes each one-hot", "with uniform, ε/K", "acts on the loss:", "a confidence regulariser",
                              "blind to which", "labels are wrong")):
        c.text(104, 158 + 19 * k, line, colour="ink" if k % 2 == 0 else "muted")
    for k, line in enumerate(("random: label noise,", "how much it absorbs", "adversarial: ALFA", "picks the worst flips",
                              "defence: find and fix", "them (kNN sanitise)")):
        c.text(296, 158 + 19 * k, line, colour="ink" if k % 2 == 0 else "muted")
    c.path("M200,140 V262", dashed=True)
    c.text(200, 300, "smoothing may soften a few wrong labels' damage,", colour="ink")
    c.text(200, 320, "but it cannot tell which ones they are:", colour="ink")
    c.text(200, 342, "the chapter measures both, clean and noisy", colour="muted")
    return c
