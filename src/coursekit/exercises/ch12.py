"""Chapter 12 exercises (GANs): the optimal discriminator between two densities and the value of
the game assembled from it (Goodfellow et al. 2014, Proposition 1 and Theorem 1); the
discriminator's loss with one-sided label smoothing (Salimans et al. 2016, Sec. 3.4); the
generator's non-saturating loss (Goodfellow et al. 2014, Sec. 3); the 3-sigma rule for
high-quality samples and the modes it covers, assembled from the learner's rule (the ring metric
of Srivastava et al. 2017, VEEGAN); and a "predict, then run" question on the gradient each
generator loss gives when the discriminator rejects the fakes.

Learner functions, as the notebook's stubs declare them::

    def my_optimal_d(p_data, p_g)                    # (N,) float, (N,) float -> (N,) float
    def my_game_value(p_data, p_g, x)                # (N,) float, (N,) float, (N,) float grid -> 0-d float
    def my_d_loss(real_logits, fake_logits, real_label)   # (B,) float, (B,) float, float -> 0-d
    def my_g_loss(fake_logits)                       # (B,) float -> 0-d float, non-saturating
    def my_high_quality(samples, centres, std)       # (N, 2) float, (K, 2) float, float -> (N,) bool
    def my_covered_modes(samples, centres, std, min_count)  # ... , int -> (K,) bool
    def my_saturation_prediction()                   # -> one of SATURATION_CHOICES

References: :func:`coursekit.gan.theory.optimal_discriminator` and
:func:`coursekit.gan.theory.value_exact`, :func:`coursekit.gan.losses.discriminator_loss` and
:func:`coursekit.gan.losses.generator_loss`, :func:`coursekit.gan.metrics.mode_coverage`; each
exercise's reference below calls one of them (the 3-sigma mask restates mode_coverage's rule, and a
unit test compares the two).

Legend: N grid points or samples, B batch, K modes.
By the time of these checks the notebook has imported ``torch`` and ``torch.nn.functional as F``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..gan.losses import discriminator_loss, generator_loss
from ..gan.metrics import mode_coverage
from ..gan.theory import optimal_discriminator, value_exact
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_optimal_d",
    "check_game_value",
    "check_d_loss",
    "check_g_loss",
    "check_high_quality",
    "check_covered_modes",
    "check_saturation_prediction",
]


def _normal(x: torch.Tensor, mu: float, sd: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


# ----------------------------------------------------------------------------- D* (Prop. 1)
optimal_d = optimal_discriminator  # D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Prop. 1)


def _density_cases(g):
    cases = []
    for n, (lo, hi) in ((41, (-4.0, 4.0)), (61, (-5.0, 5.0))):
        x = torch.linspace(lo, hi, n, dtype=torch.float64)
        a, b = (torch.rand(2, generator=g, dtype=torch.float64) * 2 - 1).tolist()
        p_data = 0.5 * _normal(x, -1.5 + a, 0.6) + 0.5 * _normal(x, 1.5 + a, 0.6)
        p_g = _normal(x, b, 1.5)
        cases.append(Case(f"two densities on {n} points in [{lo:g}, {hi:g}]", (p_data, p_g, x)))
    x = torch.linspace(-4.0, 4.0, 41, dtype=torch.float64)
    p = _normal(x, 0.0, 1.0)
    cases.append(Case("p_g equal to p_data", (p, p.clone(), x)))
    return cases


def _without_dx(cases):
    return lambda g: [Case(c.description, c.args[:2]) for c in cases(g)]


check_optimal_d = checker(Exercise(
    name="optimal_d",
    title="the optimal discriminator D*",
    signature="(p_data, p_g)",
    reference=optimal_d,
    reference_name="`coursekit.gan.theory.optimal_discriminator`",
    cases=_without_dx(_density_cases),
    outputs=("D*",),
    mistakes=(
        Mistake(
            what="the output is the generator's share, p_g / (p_data + p_g): that is 1 - D*.",
            hint="D outputs the probability that x is real, so the data's density goes on top: "
                 "p_data / (p_data + p_g).",
            output=lambda p_data, p_g: p_g / (p_data + p_g),
        ),
        Mistake(
            what="the output is the likelihood ratio p_data / p_g, which is not a probability (it exceeds 1).",
            hint="Divide by the sum of the two densities, not by p_g alone: D* must lie between 0 and 1.",
            output=lambda p_data, p_g: p_data / p_g,
        ),
        Mistake(
            what="the output is 1/2 everywhere: that is D* only when p_g equals p_data.",
            hint="For a fixed generator that is not yet perfect, D* follows the two densities: "
                 "p_data / (p_data + p_g) at each point.",
            output=lambda p_data, p_g: torch.full_like(p_data, 0.5),
        ),
    ),
    value_hint="D*(x) = p_data(x) / (p_data(x) + p_g(x)), point by point.",
    doc="p_data, p_g (N,) float densities on a grid -> (N,) float",
))


# ----------------------------------------------------------------------------- the value V(D*, G) (Thm. 1)
def game_value(p_data: torch.Tensor, p_g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """V(D*, G) = ∫ p_data log D* + p_g log(1 - D*) dx by the trapezoid rule on the grid ``x``:
    -log 4 + 2 JSD(p_data ‖ p_g) (Goodfellow et al. 2014, Eq. 6 and Theorem 1). A 0-d tensor of
    :func:`coursekit.gan.theory.value_exact`."""
    return torch.tensor(value_exact(p_data, p_g, x), dtype=p_data.dtype)


def _near(got, target, rel: float) -> bool:
    """Whether ``got`` is a number within ``rel`` (relative) of ``target``."""
    try:
        return abs(float(got) - float(target)) <= rel * abs(float(target))
    except (TypeError, ValueError, RuntimeError):
        return False


def _value_base2(p_data, p_g, x):
    return game_value(p_data, p_g, x) / math.log(2)


check_game_value = checker(Exercise(
    name="game_value",
    title="the value of the game at D* (assembled from my_optimal_d)",
    signature="(p_data, p_g, x)",
    reference=game_value,
    reference_name="`coursekit.gan.theory.value_exact`",
    cases=_density_cases,
    outputs=("V(D*, G)",),
    mistakes=(
        Mistake(
            what="the values were summed without the grid's spacing, so the result is not an integral "
                 "(it grows with the number of points).",
            hint="Integrate over x: `torch.trapezoid(values, x)`, or sum and multiply by the spacing x[1] - x[0].",
            test=lambda got, want, case: _near(got, want / float(case.args[2][1] - case.args[2][0]), 0.02),
        ),
        Mistake(
            what="D* was taken as 1/2 everywhere, which gives about -log 4 for every generator.",
            hint="Use your my_optimal_d(p_data, p_g): D* is 1/2 only when p_g = p_data, and the value is "
                 "then -log 4; otherwise it is larger.",
            output=lambda p_data, p_g, x: torch.trapezoid((p_data + p_g) * math.log(0.5), x),
        ),
        Mistake(
            what="both terms use log D*; the generator's term is log(1 - D*).",
            hint="V = ∫ p_data log D* dx + ∫ p_g log(1 - D*) dx: the fakes are scored by 1 - D.",
            output=lambda p_data, p_g, x: torch.trapezoid((p_data + p_g) * torch.log(optimal_d(p_data, p_g)), x),
        ),
        Mistake(
            what="the logarithms are in base 2; the paper's value -log 4 uses the natural logarithm.",
            hint="Use `torch.log` (natural log), so that the minimum is -log 4 ≈ -1.386.",
            output=_value_base2,
        ),
    ),
    value_hint="V = ∫ [p_data · log D* + p_g · log(1 - D*)] dx over the grid x, with D* from your my_optimal_d.",
    doc="p_data, p_g (N,) float densities on the grid x (N,) float -> 0-d float",
))


# ----------------------------------------------------------------------------- D's loss
def _d_loss_reference(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float) -> torch.Tensor:
    return discriminator_loss(real_logits, fake_logits, real_label=real_label)


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(target)))


def _logit_cases(g):
    return [Case(f"B={B}, real_label={label:g}", (torch.randn(B, generator=g) * 2 + 1, torch.randn(B, generator=g) * 2 - 1,
                                                  label))
            for B, label in ((8, 1.0), (6, 0.9), (10, 0.8))]


check_d_loss = checker(Exercise(
    name="d_loss",
    title="the discriminator's loss, with one-sided label smoothing",
    signature="(real_logits, fake_logits, real_label)",
    reference=_d_loss_reference,
    reference_name="`coursekit.gan.losses.discriminator_loss`",
    cases=_logit_cases,
    outputs=("loss",),
    mistakes=(
        Mistake(
            what="the fakes' target was smoothed too (1 - real_label instead of 0): that is two-sided smoothing.",
            hint="Salimans et al. smooth only the positives: a fake target above 0 puts p_g into the numerator of "
                 "D*, and fakes where the data has no mass lose their push towards the data. Keep the fakes at 0.",
            output=lambda r, f, a: _bce(r, a) + _bce(f, 1 - a),
        ),
        Mistake(
            what="real_label was ignored: the real samples' target is always 1.",
            hint="Use real_label as the real samples' target (0.9 smooths them), e.g. "
                 "`torch.full_like(real_logits, real_label)`.",
            output=lambda r, f, a: _bce(r, 1.0) + _bce(f, 0.0),
        ),
        Mistake(
            what="the targets are swapped: the real samples are scored as fakes and the fakes as real.",
            hint="D outputs the probability that its input is real: real samples get target real_label, fakes 0.",
            output=(lambda r, f, a: _bce(r, 0.0) + _bce(f, a), lambda r, f, a: _bce(r, 0.0) + _bce(f, 1.0)),
        ),
        Mistake(
            what="the logits went through a sigmoid before a loss that applies its own sigmoid.",
            hint="`F.binary_cross_entropy_with_logits` takes raw logits: pass them as they are.",
            output=lambda r, f, a: _bce(torch.sigmoid(r), a) + _bce(torch.sigmoid(f), 0.0),
        ),
        Mistake(
            what="the two halves were averaged; this course adds the mean over the real batch to the mean over the fakes.",
            hint="Return the sum of the two means (the negative of the paper's V, estimated on the two batches).",
            output=lambda r, f, a: 0.5 * (_bce(r, a) + _bce(f, 0.0)),
        ),
    ),
    value_hint="BCE(real_logits, real_label) + BCE(fake_logits, 0), each a mean over its batch, on logits.",
    doc="real_logits (B,) float, fake_logits (B,) float, real_label float -> 0-d float",
))


# ----------------------------------------------------------------------------- G's non-saturating loss
def _g_loss_reference(fake_logits: torch.Tensor) -> torch.Tensor:
    return generator_loss(fake_logits, "non-saturating")


def _fake_cases(g):
    return [Case("B=8, D unsure", (torch.randn(8, generator=g),)),
            Case("B=6, D rejects the fakes (logits near -4)", (torch.randn(6, generator=g) - 4,)),
            Case("B=5, D fooled", (torch.randn(5, generator=g) + 3,))]


check_g_loss = checker(Exercise(
    name="g_loss",
    title="the generator's non-saturating loss",
    signature="(fake_logits)",
    reference=_g_loss_reference,
    reference_name="`coursekit.gan.losses.generator_loss(..., 'non-saturating')`",
    cases=_fake_cases,
    outputs=("loss",),
    mistakes=(
        Mistake(
            what="this is the minimax loss, mean log(1 - D(G(z))): it saturates when D rejects the fakes.",
            hint="The non-saturating form maximises log D(G(z)) instead: minimise "
                 "`F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))`.",
            output=lambda f: torch.log1p(-torch.sigmoid(f)).mean(),
        ),
        Mistake(
            what="the sign is flipped: you return mean log D(G(z)), which the generator wants to be large, "
                 "so minimising it helps the discriminator.",
            hint="A loss is minimised: return -mean log D(G(z)).",
            output=lambda f: F.logsigmoid(f).mean(),
        ),
        Mistake(
            what="the fakes are scored against target 0: that is the discriminator's term for the fakes, not G's.",
            hint="G wants D to call its samples real: the target is 1, `torch.ones_like(fake_logits)`.",
            output=lambda f: F.softplus(f).mean(),
        ),
        Mistake(
            what="the loss is summed over the batch, not averaged.",
            hint="Take the mean over the batch (`.mean()`), so the loss does not grow with the batch size.",
            output=lambda f: F.softplus(-f).sum(),
        ),
    ),
    value_hint="-mean log sigmoid(fake_logits), i.e. BCE with logits against target 1.",
    doc="fake_logits (B,) float, D's logits on G's samples -> 0-d float",
))


# ----------------------------------------------------------------------------- the 3-sigma rule
def high_quality(samples: torch.Tensor, centres: torch.Tensor, std: float) -> torch.Tensor:
    """(N, 2), (K, 2), std -> (N,) bool: True where a sample lies within 3 std of its nearest mode
    (the rule of :func:`coursekit.gan.metrics.mode_coverage`, whose ``high_quality`` is its mean)."""
    return torch.cdist(samples, centres).min(dim=1).values <= 3 * std


def covered_modes(samples: torch.Tensor, centres: torch.Tensor, std: float, min_count: int) -> torch.Tensor:
    """(N, 2), (K, 2), std, min_count -> (K,) bool: True for the modes that at least ``min_count``
    high-quality samples have as their nearest mode (:func:`coursekit.gan.metrics.mode_coverage`'s
    ``counts``; its ``modes`` is the number of True)."""
    counts = mode_coverage(samples, centres, std, min_count=min_count).counts  # K ints
    return torch.tensor(counts) >= min_count


def _ring(k, radius=2.0):
    angle = torch.arange(k, dtype=torch.float32) * (2 * math.pi / k)
    return torch.stack([radius * torch.sin(angle), radius * torch.cos(angle)], dim=1)  # (K, 2)


def _ring_cases(g):
    cases = []
    for n, k, std, spread, used in ((64, 8, 0.05, 2.5, 8), (80, 8, 0.02, 4.0, 3), (50, 6, 0.1, 2.0, 6)):
        centres = _ring(k)
        which = torch.randint(0, used, (n,), generator=g)
        samples = centres[which] + torch.randn(n, 2, generator=g) * std * spread
        samples[:4] = torch.randn(4, 2, generator=g) * 0.3  # a few far from every mode
        cases.append((f"{n} samples, {k} modes, std {std:g}", samples, centres, std))
    return cases


check_high_quality = checker(Exercise(
    name="high_quality",
    title="high-quality samples: within 3 standard deviations of a mode",
    signature="(samples, centres, std)",
    reference=high_quality,
    reference_name="`coursekit.gan.metrics.mode_coverage` (its high-quality rule)",
    cases=lambda g: [Case(d, (s, c, std)) for d, s, c, std in _ring_cases(g)],
    outputs=("mask",),
    mistakes=(
        Mistake(
            what="the threshold is one standard deviation, not three.",
            hint="A sample is of high quality within 3 standard deviations of its nearest mode: compare with `3 * std`.",
            output=lambda s, c, std: torch.cdist(s, c).min(dim=1).values <= std,
        ),
        Mistake(
            what="the squared distance was compared with 3 std, a radius that was not squared.",
            hint="Compare the distance itself with 3 * std (or the squared distance with (3 * std) ** 2).",
            output=lambda s, c, std: ((s[:, None, :] - c[None]) ** 2).sum(-1).min(dim=1).values <= 3 * std,
        ),
        Mistake(
            what="a sample must be near every mode at once (or near the first one only): use its nearest mode.",
            hint="Take the distance to each mode (`torch.cdist(samples, centres)`, shape (N, K)) and its minimum "
                 "over the modes (`.min(dim=1).values`).",
            output=(lambda s, c, std: (torch.cdist(s, c) <= 3 * std).all(dim=1),
                    lambda s, c, std: (s - c[0]).norm(dim=1) <= 3 * std),
        ),
    ),
    value_hint="For each sample, the distance to its nearest mode ≤ 3 · std.",
    doc="samples (N, 2) float, centres (K, 2) float, std float -> (N,) bool",
))


check_covered_modes = checker(Exercise(
    name="covered_modes",
    title="the modes covered (assembled from my_high_quality)",
    signature="(samples, centres, std, min_count)",
    reference=covered_modes,
    reference_name="`coursekit.gan.metrics.mode_coverage` (its counts)",
    cases=lambda g: [Case(f"{d}, min_count {m}", (s, c, std, m)) for (d, s, c, std), m in zip(_ring_cases(g), (1, 5, 3))],
    outputs=("covered",),
    mistakes=(
        Mistake(
            what="every sample was counted for its nearest mode, even the ones far from every mode.",
            hint="Count only the high-quality samples: filter with your my_high_quality(samples, centres, std) "
                 "before counting per mode.",
            output=lambda s, c, std, m: torch.bincount(torch.cdist(s, c).argmin(dim=1), minlength=c.shape[0]) >= m,
        ),
        Mistake(
            what="a mode needs more than min_count samples; it is covered at exactly min_count.",
            hint="Use `>=`: a mode with min_count high-quality samples is covered.",
            output=lambda s, c, std, m: covered_modes(s, c, std, m + 1),
        ),
        Mistake(
            what="the output counts samples per mode; it should say, per mode, whether it is covered.",
            hint="Compare the counts with min_count: `counts >= min_count` gives a (K,) bool tensor.",
            test=lambda got, want, case: isinstance(got, torch.Tensor) and got.shape == want.shape
            and not got.dtype == torch.bool and not got.is_floating_point(),
        ),
    ),
    value_hint="Per mode: the number of high-quality samples whose nearest mode it is, ≥ min_count.",
    doc="samples (N, 2) float, centres (K, 2) float, std float, min_count int -> (K,) bool",
))


# ----------------------------------------------------------------------------- predict: saturation
SATURATION_CHOICES = ("the minimax loss", "the non-saturating loss", "about the same")


def measure_saturation() -> Measured:
    """Early in training D rejects the fakes: logits near -5, D(G(z)) below 1%. Measure, with autograd, the
    mean size of the gradient each generator loss sends back through D's logit."""
    logits = (torch.randn(256, generator=torch.Generator().manual_seed(0)) * 0.5 - 5).requires_grad_()
    (g_mm,) = torch.autograd.grad(generator_loss(logits, "minimax"), logits)  # G minimises log(1 - D(G(z)))
    (g_ns,) = torch.autograd.grad(generator_loss(logits, "non-saturating"), logits)  # G minimises -log D(G(z))
    mm, ns = float(g_mm.abs().mean() * logits.numel()), float(g_ns.abs().mean() * logits.numel())
    ratio = ns / mm
    answer = SATURATION_CHOICES[1] if ratio > 2 else SATURATION_CHOICES[0] if ratio < 0.5 else SATURATION_CHOICES[2]
    d = float(torch.sigmoid(logits.detach()).mean())
    return Measured(answer, f"with D(G(z)) ≈ {d:.2%} on average, the gradient per sample with respect to the logit is "
                            f"{mm:.4f} for the minimax loss and {ns:.4f} for the non-saturating loss "
                            f"({ratio:.0f} times larger).")


check_saturation_prediction = prediction_checker(Prediction(
    name="saturation_prediction",
    title="predict: which generator loss still learns when D rejects every fake?",
    question="Early in training, D rejects the generator's samples with confidence (D(G(z)) below 1%). "
             "Which generator loss sends the larger gradient back to G?",
    choices=SATURATION_CHOICES,
    measure=measure_saturation,
    why="The derivative of log(1 - sigmoid(l)) with respect to the logit l is -sigmoid(l): tiny when D is sure "
        "the sample is fake. The derivative of -log sigmoid(l) is -(1 - sigmoid(l)): close to -1 there. Both "
        "losses have the same fixed point, but only the non-saturating one pushes hard where G is worst "
        "(Goodfellow et al. 2014, Sec. 3).",
))
