"""Chapter 12 checkers: each accepts a learner-style solution and another correct formulation,
rejects the stub with the not-implemented message, and rejects each plausible mistake with that
mistake's own hint; the value of the game and the covered modes are assembled from the learner's
my_optimal_d and my_high_quality (an unfinished one is reported as such); the references agree
with coursekit.gan; the prediction's measurement is deterministic."""

import math

import pytest
import torch
import torch.nn.functional as F

from coursekit.exercises.ch12 import (
    SATURATION_CHOICES,
    check_covered_modes,
    check_d_loss,
    check_g_loss,
    check_game_value,
    check_high_quality,
    check_optimal_d,
    check_saturation_prediction,
    covered_modes,
    game_value,
    high_quality,
    measure_saturation,
    optimal_d,
)

from checkresults import assert_not_yet, assert_passed


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


def hint_of(check, mistake_index):
    return check.exercise.mistakes[mistake_index].hint


# ----------------------------------------------------------------------------- D*
def d_star(p_data, p_g):
    return p_data / (p_data + p_g)


def d_star_by_logs(p_data, p_g):
    return torch.sigmoid(torch.log(p_data) - torch.log(p_g))  # the logit of D* is the log density ratio


def test_optimal_d_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_optimal_d(d_star))
    assert_passed(check_optimal_d(d_star_by_logs))
    assert_not_yet(check_optimal_d(stub), "haven't implemented")


@pytest.mark.parametrize("fn, index", [
    (lambda p, q: 1 - p / (p + q), 0),
    (lambda p, q: p / q, 1),
    (lambda p, q: torch.ones_like(p) / 2, 2),
])
def test_optimal_d_names_each_mistake(fn, index):
    assert_not_yet(check_optimal_d(fn), hint_of(check_optimal_d, index))


# ----------------------------------------------------------------------------- the value of the game
def make_game_value(my_optimal_d):
    def my_game_value(p_data, p_g, x):
        d = my_optimal_d(p_data, p_g)
        return torch.trapezoid(p_data * torch.log(d) + p_g * torch.log(1 - d), x)
    return my_game_value


def value_by_jsd(p_data, p_g, x):
    m = (p_data + p_g) / 2
    integral = lambda f: ((f[1:] + f[:-1]) / 2 * (x[1:] - x[:-1])).sum()  # the trapezoid rule by hand
    kl = lambda p, q: integral(p * torch.log(p / q))
    mass = integral(p_data + p_g)  # 2 for densities; the grid comes close
    return -math.log(2) * mass + kl(p_data, m) + kl(p_g, m)  # Goodfellow et al.'s Eq. 6: -log 4 + 2 JSD


def test_game_value_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_game_value(make_game_value(d_star)))
    assert_passed(check_game_value(value_by_jsd))
    assert_not_yet(check_game_value(stub), "haven't implemented")


def test_game_value_sees_an_unfinished_optimal_d():
    assert_not_yet(check_game_value(make_game_value(stub)), "not implemented yet", "finish that exercise first")


def test_game_value_is_minus_log_4_at_the_optimum_and_larger_elsewhere():
    x = torch.linspace(-6, 6, 601, dtype=torch.float64)
    p = torch.exp(-x**2 / 2) / math.sqrt(2 * math.pi)
    q = torch.exp(-(x - 1) ** 2 / 2) / math.sqrt(2 * math.pi)
    assert float(game_value(p, p, x)) == pytest.approx(-math.log(4), abs=1e-6)
    assert float(game_value(p, q, x)) > -math.log(4) + 0.05


@pytest.mark.parametrize("fn, index", [
    (lambda p, q, x: (p * torch.log(d_star(p, q)) + q * torch.log(1 - d_star(p, q))).sum(), 0),
    (lambda p, q, x: torch.trapezoid(p * torch.log(d_star(p, q)) + q * torch.log(1 - d_star(p, q))), 0),
    (lambda p, q, x: torch.trapezoid(torch.full_like(p, -math.log(4)) * (p + q) / 2, x), 1),
    (lambda p, q, x: torch.trapezoid((p + q) * torch.log(d_star(p, q)), x), 2),
    (lambda p, q, x: torch.trapezoid(p * torch.log2(d_star(p, q)) + q * torch.log2(1 - d_star(p, q)), x), 3),
])
def test_game_value_names_each_mistake(fn, index):
    assert_not_yet(check_game_value(fn), hint_of(check_game_value, index))


# ----------------------------------------------------------------------------- D's loss
def d_loss_bce(real_logits, fake_logits, real_label):
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def d_loss_by_hand(real_logits, fake_logits, real_label):
    a = real_label
    real = -(a * F.logsigmoid(real_logits) + (1 - a) * F.logsigmoid(-real_logits)).mean()
    fake = -torch.log(1 - torch.sigmoid(fake_logits)).mean()
    return real + fake


def test_d_loss_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_d_loss(d_loss_bce))
    assert_passed(check_d_loss(d_loss_by_hand))
    assert_not_yet(check_d_loss(stub), "haven't implemented")


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


@pytest.mark.parametrize("fn, index", [
    (lambda r, f, a: bce(r, a) + bce(f, 1.0 - a), 0),  # two-sided smoothing
    (lambda r, f, a: bce(r, 1.0) + bce(f, 0.0), 1),
    (lambda r, f, a: bce(r, 0.0) + bce(f, 1.0), 2),
    (lambda r, f, a: bce(torch.sigmoid(r), a) + bce(torch.sigmoid(f), 0.0), 3),
    (lambda r, f, a: (bce(r, a) + bce(f, 0.0)) / 2, 4),
])
def test_d_loss_names_each_mistake(fn, index):
    assert_not_yet(check_d_loss(fn), hint_of(check_d_loss, index))


# ----------------------------------------------------------------------------- G's loss
def g_loss_bce(fake_logits):
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def g_loss_logsigmoid(fake_logits):
    return -F.logsigmoid(fake_logits).mean()


def test_g_loss_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_g_loss(g_loss_bce))
    assert_passed(check_g_loss(g_loss_logsigmoid))
    assert_not_yet(check_g_loss(stub), "haven't implemented")


@pytest.mark.parametrize("fn, index", [
    (lambda f: torch.log(1 - torch.sigmoid(f)).mean(), 0),  # minimax
    (lambda f: torch.log(torch.sigmoid(f)).mean(), 1),
    (lambda f: F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)), 2),
    (lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f), reduction="sum"), 3),
])
def test_g_loss_names_each_mistake(fn, index):
    assert_not_yet(check_g_loss(fn), hint_of(check_g_loss, index))


def test_the_references_are_coursekit_gans_losses():
    from coursekit.gan.losses import discriminator_loss, generator_loss

    g = torch.Generator().manual_seed(1)
    r, f = torch.randn(7, generator=g), torch.randn(7, generator=g)
    torch.testing.assert_close(check_d_loss.exercise.reference(r, f, 0.9), discriminator_loss(r, f, real_label=0.9))
    torch.testing.assert_close(check_d_loss.exercise.reference(r, f, 0.9), d_loss_bce(r, f, 0.9))
    torch.testing.assert_close(check_g_loss.exercise.reference(f), generator_loss(f, "non-saturating"))
    torch.testing.assert_close(check_g_loss.exercise.reference(f), g_loss_bce(f))


# ----------------------------------------------------------------------------- the 3-sigma rule
def hq_cdist(samples, centres, std):
    return torch.cdist(samples, centres).min(dim=1).values <= 3 * std


def hq_squared(samples, centres, std):
    d2 = ((samples[:, None, :] - centres[None, :, :]) ** 2).sum(-1)  # (N, K)
    return (d2 <= (3 * std) ** 2).any(dim=1)


def test_high_quality_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_high_quality(hq_cdist))
    assert_passed(check_high_quality(hq_squared))
    assert_not_yet(check_high_quality(stub), "haven't implemented")


@pytest.mark.parametrize("fn, index", [
    (lambda s, c, std: torch.cdist(s, c).min(dim=1).values <= std, 0),
    (lambda s, c, std: ((s[:, None] - c[None]) ** 2).sum(-1).min(dim=1).values <= 3 * std, 1),
    (lambda s, c, std: (torch.cdist(s, c) <= 3 * std).all(dim=1), 2),
    (lambda s, c, std: torch.cdist(s, c[:1])[:, 0] <= 3 * std, 2),
])
def test_high_quality_names_each_mistake(fn, index):
    assert_not_yet(check_high_quality(fn), hint_of(check_high_quality, index))


def make_covered_modes(my_high_quality):
    def my_covered_modes(samples, centres, std, min_count):
        nearest = torch.cdist(samples, centres).argmin(dim=1)
        good = my_high_quality(samples, centres, std)
        return torch.bincount(nearest[good], minlength=len(centres)) >= min_count
    return my_covered_modes


def covered_by_loop(samples, centres, std, min_count):
    counts = [0] * len(centres)
    for s in samples:
        d = ((centres - s) ** 2).sum(-1).sqrt()
        k = int(d.argmin())
        if d[k] <= 3 * std:
            counts[k] += 1
    return torch.tensor([c >= min_count for c in counts])


def test_covered_modes_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_covered_modes(make_covered_modes(hq_cdist)))
    assert_passed(check_covered_modes(covered_by_loop))
    assert_not_yet(check_covered_modes(stub), "haven't implemented")


def test_covered_modes_sees_an_unfinished_high_quality():
    assert_not_yet(check_covered_modes(make_covered_modes(stub)), "not implemented yet", "finish that exercise first")


@pytest.mark.parametrize("fn, index", [
    (lambda s, c, std, m: torch.bincount(torch.cdist(s, c).argmin(1), minlength=len(c)) >= m, 0),
    (lambda s, c, std, m: torch.bincount(torch.cdist(s, c).argmin(1)[hq_cdist(s, c, std)], minlength=len(c)) > m, 1),
    (lambda s, c, std, m: torch.bincount(torch.cdist(s, c).argmin(1)[hq_cdist(s, c, std)], minlength=len(c)), 2),
])
def test_covered_modes_names_each_mistake(fn, index):
    assert_not_yet(check_covered_modes(fn), hint_of(check_covered_modes, index))


def test_the_ring_rule_on_a_perfect_and_a_collapsed_generator():
    angle = torch.arange(8) * (2 * math.pi / 8)
    centres = torch.stack([2 * torch.sin(angle), 2 * torch.cos(angle)], 1)
    g = torch.Generator().manual_seed(0)
    perfect = centres.repeat(50, 1) + 0.02 * torch.randn(400, 2, generator=g)
    collapsed = centres[:1].repeat(400, 1) + 0.02 * torch.randn(400, 2, generator=g)
    assert int(covered_modes(perfect, centres, 0.02, 10).sum()) == 8
    assert int(covered_modes(collapsed, centres, 0.02, 10).sum()) == 1
    assert float(high_quality(perfect, centres, 0.02).float().mean()) > 0.95  # 3 sigma in 2-D: 98.9%


# ----------------------------------------------------------------------------- prediction
def test_saturation_is_measured():
    m = measure_saturation()
    assert m == measure_saturation() and m.answer in SATURATION_CHOICES
    assert m.answer == "the non-saturating loss"  # d/dl of -log sigmoid(l) is ~ -1 where sigmoid(l) ~ 0


def test_saturation_prediction_checker():
    answer = measure_saturation().answer
    assert_passed(check_saturation_prediction(lambda: answer))
    for wrong in set(SATURATION_CHOICES) - {answer}:
        assert_not_yet(check_saturation_prediction(lambda w=wrong: w), "experiment shows")
    assert_not_yet(check_saturation_prediction(lambda: "minimax"), "not one of the answers")
    assert_not_yet(check_saturation_prediction(stub), "haven't implemented")


def test_optimal_d_reference_is_the_closed_form():
    x = torch.linspace(-3, 3, 31, dtype=torch.float64)
    p, q = torch.exp(-x**2), torch.exp(-(x - 1) ** 2)
    torch.testing.assert_close(optimal_d(p, q), 1 / (1 + q / p))


def test_the_3_sigma_mask_is_mode_coverages_rule():
    from coursekit.gan import mode_coverage, ring_centres, sample_ring

    g = torch.Generator().manual_seed(3)
    centres = ring_centres()
    samples, _ = sample_ring(500, std=0.05, generator=g)  # wider than the rule's std: some fail it
    samples[:100] = samples[:100] * 0.7
    cov = mode_coverage(samples, centres, 0.02, min_count=3)
    mask = high_quality(samples, centres, 0.02)
    assert 0 < float(mask.double().mean()) < 1
    assert float(mask.double().mean()) == pytest.approx(cov.high_quality)
    assert int(covered_modes(samples, centres, 0.02, 3).sum()) == cov.modes
