"""Chapter 12's diagrams (GANs): the two-player game and its losses (Goodfellow et al. 2014,
"Generative Adversarial Nets", https://arxiv.org/abs/1406.2661, Sec. 3); the optimal
discriminator between two densities (their Proposition 1 and Theorem 1); mode collapse on a
ring of eight Gaussians (the toy of Metz et al. 2017, https://arxiv.org/abs/1611.02163, and
Srivastava et al. 2017, https://arxiv.org/abs/1705.07761); where each training trick acts
(Salimans et al. 2016, https://arxiv.org/abs/1606.03498; Karras et al. 2018,
https://arxiv.org/abs/1710.10196; soumith's ganhacks); and a DCGAN for 8×8 digits (Radford
et al. 2016, ICLR; https://arxiv.org/abs/1511.06434, Sec. 3).

Shape letters in the labels: B batch, Z noise width, C channels.
"""

from __future__ import annotations

import math
import random

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []


def _normal(x: float, mu: float, sd: float) -> float:
    return math.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def _curve(c: Canvas, xs, ys, to_x, to_y, role: str, *, width: float = 2.5, dashed: bool = False) -> None:
    c.path("M" + " L".join(f"{to_x(x):.1f},{to_y(y):.1f}" for x, y in zip(xs, ys)), role, width=width, dashed=dashed)


@diagram(
    "gan_game",
    chapter=12,
    title="The GAN game: a generator against a discriminator",
    alt="""Noise z, drawn from a standard normal, goes into the generator G, which turns it into a
    fake sample G(z). Real samples x come from the data. The discriminator D reads one sample at a
    time, real or fake, and outputs D of that sample, its probability that the sample is real. The
    two losses sit underneath: D maximises log D(x) plus log(1 minus D(G(z))), telling real from fake;
    G, in the minimax form, minimises log(1 minus D(G(z))), or, in the non-saturating form used in
    practice, maximises log D(G(z)). A dashed arrow from D back to G marks that the generator learns
    only through the discriminator's gradient (Goodfellow et al. 2014, Sec. 3).""",
)
def gan_game() -> Canvas:
    c = Canvas("gan_game", height=470)
    z = c.box(100, 40, 150, 44, "noise $z$", "neutral", sub="(B, Z) ~ N(0, I)")
    g = c.box(100, 122, 150, 44, "generator $G$", "dec", sub="an MLP or DCGAN")
    fake = c.box(100, 204, 150, 44, "fake $G(z)$", "dec", sub="like $x$", sub_mono=False)
    real = c.box(300, 204, 150, 44, "real $x$", "ffn", sub="(B, 2) ~ p_data")
    d = c.box(200, 300, 200, 44, "discriminator $D$", "enc", sub="one logit per sample", sub_mono=False)
    out = c.box(200, 378, 250, 34, "$D(·)$ = P(real)", "enc")
    c.arrow(z.bottom, g.top)
    c.arrow(g.bottom, fake.top, role="dec")
    c.arrow(fake.bottom, (100, 262), (150, 262), (150, d.y), role="dec")
    c.arrow(real.bottom, (300, 262), (250, 262), (250, d.y), role="ffn")
    c.arrow(d.bottom, out.top, role="enc")
    # G learns only through D's gradient
    c.arrow((d.x, d.cy), (14, d.cy), (14, g.cy), g.left, dashed=True, role="enc")
    c.text(300, 122, "G's gradient comes", colour="muted")
    c.text(300, 140, "only through D (dashed)", colour="muted")
    c.text(200, 428, "D: max log D(x) + log(1 − D(G(z)))", colour="enc")
    c.text(200, 450, "G: min log(1 − D(G(z)))  or  max log D(G(z))", colour="dec")
    return c


@diagram(
    "optimal_discriminator",
    chapter=12,
    title="The optimal discriminator between two densities",
    alt="""Top panel: two one-dimensional densities on the same axis, the data's p_data, a mixture of
    two bumps, and the generator's p_g, one wide bump between and around them. Bottom panel: the
    discriminator that is best for this fixed generator, D star of x equal to p_data of x divided by
    the sum p_data of x plus p_g of x (Goodfellow et al. 2014, Proposition 1). It is near 1 where only
    the data has mass, near 0 where only the generator has, and crosses one half exactly where the
    two densities are equal. A dashed line at one half marks the end of the game: when p_g equals
    p_data, D star is one half everywhere and the value of the game is minus log 4 (Theorem 1).""",
)
def optimal_discriminator() -> Canvas:
    c = Canvas("optimal_discriminator", height=444)
    lo, hi = -4.0, 4.0
    xs = [lo + (hi - lo) * k / 160 for k in range(161)]
    p_data = [0.5 * _normal(x, -1.5, 0.45) + 0.5 * _normal(x, 1.5, 0.45) for x in xs]
    p_g = [_normal(x, 0.3, 1.3) for x in xs]
    x0, x1 = 40.0, 380.0

    def to_x(x: float) -> float:
        return x0 + (x1 - x0) * (x - lo) / (hi - lo)

    # densities
    c.text(200, 18, "two densities", size="head")
    base, top = 176.0, 52.0
    peak = max(max(p_data), max(p_g))
    c.arrow((x0, base), (x1 + 8, base))
    _curve(c, xs, p_data, to_x, lambda y: base - (base - top) * y / peak, "ffn")
    _curve(c, xs, p_g, to_x, lambda y: base - (base - top) * y / peak, "dec", dashed=True)
    c.text(to_x(-1.5), top - 14, "$p_{data}$", colour="ffn")
    c.text(to_x(3.0), 142, "$p_g$", colour="dec")
    c.text(x1 + 2, base + 16, "$x$", anchor="end", colour="muted")
    # D*
    c.text(200, 214, "the best discriminator for this $G$", size="head")
    dstar = [a / (a + b) for a, b in zip(p_data, p_g)]
    b2, t2 = 370.0, 244.0

    def to_y(y: float) -> float:
        return b2 - (b2 - t2) * y

    c.arrow((x0, b2), (x1 + 8, b2))
    c.arrow((x0, b2), (x0, t2 - 10))
    c.path(f"M{x0:g},{to_y(0.5):.1f} H{x1:g}", width=1, dashed=True)
    _curve(c, xs, dstar, to_x, to_y, "enc")
    c.text(x0 - 6, to_y(1.0), "1", anchor="end")
    c.text(x0 - 6, to_y(0.5), "½", anchor="end")
    c.text(x0 - 6, b2, "0", anchor="end")
    for k in range(1, len(xs)):  # dots where the densities cross: there D* is exactly one half
        if (dstar[k - 1] - 0.5) * (dstar[k] - 0.5) < 0:
            c.dot(to_x(xs[k]), to_y(0.5), "enc")
    c.text(200, t2 - 8, "dots: ½ where $p_{data} = p_g$", colour="muted")
    c.text(200, 398, "$D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))$", colour="enc")
    c.text(200, 424, "at $p_g = p_{data}$: $D^*$ = ½ everywhere, $V$ = −log 4", colour="ink")
    return c


def _ring(n: int = 8, radius: float = 1.0) -> list[tuple[float, float]]:
    return [(radius * math.cos(2 * math.pi * k / n), radius * math.sin(2 * math.pi * k / n)) for k in range(n)]


@diagram(
    "ring_collapse",
    chapter=12,
    title="Mode collapse on a ring of eight Gaussians",
    alt="""Two square panels, each showing the eight modes of a ring of Gaussians as small circles
    of three standard deviations. Left, a generator that covers the data: samples fall inside all
    eight circles, so eight modes are covered and almost every sample is of high quality (within three
    standard deviations of a mode). Right, mode collapse: the samples pile into one circle; over
    training the pile hops from mode to mode, drawn as curved arrows around the ring, because the
    discriminator learns to reject the mode the generator sits on and the generator then jumps to
    another one. Counting the modes that receive enough high-quality samples, and the share of
    samples that are of high quality, measures it.""",
)
def ring_collapse() -> Canvas:
    c = Canvas("ring_collapse", height=300)
    rng = random.Random(0)
    modes = _ring()
    for k, (cx, title, note) in enumerate(((100, "covered", "8 of 8 modes"), (300, "collapsed", "1 mode at a time"))):
        cy, scale = 130.0, 62.0
        c.text(cx, 22, title, size="head", colour="ffn" if k == 0 else "alert")
        c.frame(cx - 92, 40, 184, 180, "neutral")
        for mx, my in modes:
            c.path(f"M{cx + scale * mx + 11:.1f},{cy - scale * my:.1f} "
                   f"A11,11 0 1,0 {cx + scale * mx - 11:.1f},{cy - scale * my:.1f} "
                   f"A11,11 0 1,0 {cx + scale * mx + 11:.1f},{cy - scale * my:.1f}", width=1)
        chosen = modes if k == 0 else modes[:1]
        for mx, my in chosen:
            for _ in range(10 if k == 0 else 26):
                c.dot(cx + scale * (mx + rng.gauss(0, 0.06)), cy - scale * (my + rng.gauss(0, 0.06)),
                      "ffn" if k == 0 else "dec")
        c.text(cx, 240, note, colour="ink")
    # the pile hops around the ring as training goes on
    cx, cy, scale = 300.0, 130.0, 62.0
    for a, b in ((0, 1), (1, 2)):
        (ax, ay), (bx, by) = modes[a], modes[b]
        c.arrow((cx + scale * ax * 0.8, cy - scale * ay * 0.8 - 8), (cx + scale * bx * 0.8 + 8, cy - scale * by * 0.8),
                role="dec", dashed=True)
    c.text(296, 260, "then hops as D adapts", colour="muted")
    c.text(200, 288, "circles: 3 standard deviations around each mode", colour="muted")
    return c


@diagram(
    "gan_tricks",
    chapter=12,
    title="Where each training trick acts",
    alt="""One discriminator update drawn from top to bottom, with each of the chapter's tricks placed
    where it acts. A batch of real samples and a batch of fakes enter the discriminator. Batch norm acts
    inside the layers of both networks, normalising each layer over the batch. The minibatch standard
    deviation feature (Karras et al. 2018), or minibatch discrimination (Salimans et al. 2016), acts near
    the discriminator's end: it appends a statistic of the whole batch, so D can see that all the fakes
    look alike. The targets come last: one-sided label smoothing sets the real samples' target to 0.9
    and leaves the fakes at 0; label flipping swaps some real and fake targets at random. Batch norm and the
    minibatch feature change what the networks compute; smoothing and flipping change only what D is
    told.""",
)
def gan_tricks() -> Canvas:
    c = Canvas("gan_tricks", height=470)
    real = c.box(100, 36, 150, 40, "real batch", "ffn", sub="(B, 2)")
    fake = c.box(300, 36, 150, 40, "fake batch $G(z)$", "dec", sub="(B, 2)")
    c.frame(40, 84, 320, 206, "enc")
    c.text(200, 102, "discriminator $D$", size="head", colour="enc")
    layers = c.box(200, 146, 250, 40, "layers + batch norm", "enc", sub="normalise over the batch", sub_mono=False)
    mbstd = c.box(200, 210, 250, 40, "minibatch std feature", "attn", sub="+ spread of the batch", sub_mono=False)
    logit = c.box(200, 266, 120, 30, "logit", "enc")
    c.arrow(real.bottom, (100, layers.y), role="ffn")
    c.arrow(fake.bottom, (300, layers.y), role="dec")
    c.arrow(layers.bottom, mbstd.top)
    c.arrow(mbstd.bottom, logit.top)
    targets = c.box(200, 334, 300, 40, "BCE against targets", "neutral", sub="real 1, fake 0", sub_mono=False)
    c.arrow(logit.bottom, targets.top)
    c.text(200, 376, "one-sided smoothing: real 1 → 0.9, fake stays 0", colour="ink")
    c.text(200, 396, "label flipping: swap some real and fake targets", colour="ink")
    c.text(200, 428, "batch norm, minibatch std: what the networks compute", colour="attn")
    c.text(200, 450, "smoothing, flipping: what D is told", colour="muted")
    return c


@diagram(
    "dcgan_digits",
    chapter=12,
    title="A small DCGAN for 8×8 digits",
    alt="""Left column, the generator: noise z of shape (B, Z), read as a 1 by 1 image, goes through a
    transposed convolution with batch norm and ReLU to a (B, 2C, 2, 2) block, then a transposed
    convolution with stride 2, batch norm and ReLU to (B, C, 4, 4), then a transposed convolution
    with stride 2 and tanh to one 8 by 8 image in minus 1 to 1, (B, 1, 8, 8). Right column, the
    discriminator mirrors it: the image goes through a strided convolution with LeakyReLU 0.2 (no
    batch norm on the input layer) to (B, C, 4, 4), a strided convolution with batch norm and
    LeakyReLU to (B, 2C, 2, 2), and, flattened, a linear layer to one logit per image. These are
    Radford et al.'s rules (2016, Sec. 3): strided convolutions instead of pooling, batch norm in
    both networks except the generator's output and the discriminator's input, ReLU in G with tanh
    at its output, LeakyReLU in D.""",
)
def dcgan_digits() -> Canvas:
    c = Canvas("dcgan_digits", height=440)
    c.text(100, 20, "generator $G$", size="head", colour="dec")
    c.text(300, 20, "discriminator $D$", size="head", colour="enc")
    g_rows = (("$z$", "(B, Z)"), ("convT, BN, ReLU", "(B, 2C, 2, 2)"), ("convT s2, BN, ReLU", "(B, C, 4, 4)"),
              ("convT s2, tanh", "(B, 1, 8, 8)"))
    d_rows = (("image", "(B, 1, 8, 8)"), ("conv s2, LReLU", "(B, C, 4, 4)"), ("conv s2, BN, LReLU", "(B, 2C, 2, 2)"),
              ("flatten, linear", "(B, 1) logit"))
    ys = [64 + 82 * k for k in range(4)]
    for x, rows, role in ((100, g_rows, "dec"), (300, d_rows, "enc")):
        boxes = [c.box(x, y, 176, 44, name, role if k else "neutral", sub=shape) for k, (y, (name, shape)) in
                 enumerate(zip(ys, rows))]
        for a, b in zip(boxes, boxes[1:]):
            c.arrow(a.bottom, b.top, role=role)
    # the generated image is what D reads
    c.arrow((188, ys[3]), (200, ys[3]), (200, ys[0]), (212, ys[0]), role="dec", dashed=True)
    c.text(200, 380, "strided convs, no pooling; BN except", colour="ink")
    c.text(200, 400, "G's output and D's input (Radford et al.)", colour="ink")
    c.text(200, 422, "pixels in [−1, 1]; C channels", colour="muted")
    return c
