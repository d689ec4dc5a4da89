"""Chapter 4's measurements: the softmax on random scores (coursekit.attention.score_statistics,
Vaswani et al. 2017, footnote 4) and the Hopfield measures (coursekit.hopfield.separation and
metastable_size, Ramsauer et al. 2021)."""

import math

import pytest
import torch

from coursekit.attention import ScoreStatistics, score_statistics
from coursekit.hopfield import hopfield_update, metastable_size, retrieve, separation

pytestmark = pytest.mark.usefixtures("one_thread")


def test_score_statistics_is_deterministic_and_shares_draws_between_scaled_and_unscaled():
    a = score_statistics(16, queries=100, scaled=False, seed=3)
    assert isinstance(a, ScoreStatistics) and a == score_statistics(16, queries=100, scaled=False, seed=3)
    b = score_statistics(16, queries=100, scaled=True, seed=3)
    assert a.dot_variance == b.dot_variance and b.scaled and not a.scaled
    assert score_statistics(16, queries=100, seed=4).dot_variance != b.dot_variance


def test_score_statistics_measures_footnote_4():
    for d_k in (4, 64, 512):
        stats = score_statistics(d_k, queries=400, keys=16, scaled=False)
        assert stats.dot_variance == pytest.approx(d_k, rel=0.15)  # Var(q·k) = d_k


def test_unscaled_scores_saturate_and_scaled_ones_do_not():
    small, large = (score_statistics(d, queries=300, scaled=False) for d in (4, 512))
    assert large.max_weight > 0.9 > small.max_weight and large.entropy < small.entropy
    assert large.grad_norm < small.grad_norm / 3 and large.vanishing > small.vanishing
    s_small, s_large = (score_statistics(d, queries=300, scaled=True) for d in (4, 512))
    assert s_large.max_weight == pytest.approx(s_small.max_weight, rel=0.2)
    assert s_large.grad_norm == pytest.approx(s_small.grad_norm, rel=0.2)


def test_score_statistics_gradient_is_the_softmax_jacobian():
    """grad_norm is ||a * (g - a·g)||, the softmax's vector-Jacobian product, averaged over queries."""
    g = torch.Generator().manual_seed(0)
    d_k, queries, keys = 8, 5, 4
    q = torch.randn(queries, 1, d_k, generator=g)
    k = torch.randn(queries, keys, d_k, generator=g)
    up = torch.randn(queries, keys, generator=g)
    a = torch.softmax((q @ k.transpose(-2, -1)).squeeze(1) / math.sqrt(d_k), -1)
    want = (a * (up - (a * up).sum(-1, keepdim=True))).norm(dim=-1).mean().item()
    got = score_statistics(d_k, queries=queries, keys=keys, seed=0).grad_norm
    assert got == pytest.approx(want, rel=1e-5)


def test_score_statistics_rejects_bad_arguments():
    with pytest.raises(ValueError):
        score_statistics(0)
    with pytest.raises(ValueError):
        score_statistics(4, scaled=1)


def test_separation_is_own_similarity_minus_the_nearest_other():
    x = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 2.0]])
    sims = x @ x.T
    want = torch.stack([sims[i, i] - max(sims[i, j] for j in range(3) if j != i) for i in range(3)])
    torch.testing.assert_close(separation(x), want)
    assert separation(torch.randn(2, 5, 3)).shape == (2, 5)
    with pytest.raises(ValueError):
        separation(torch.randn(1, 3))


def test_metastable_size_counts_the_weights_that_reach_the_mass():
    p = torch.tensor([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.1, 0.45, 0.45]])
    assert metastable_size(p).tolist() == [3, 1, 3, 2]
    assert metastable_size(p, mass=0.5).tolist() == [1, 1, 2, 2]
    uniform = torch.full((4, 10), 0.1)
    assert metastable_size(uniform).tolist() == [9] * 4  # nine tenths reach 0.9 (within float slack)
    with pytest.raises(ValueError):
        metastable_size(p, mass=0.0)


def test_metastable_size_follows_beta_in_a_hopfield_update():
    g = torch.Generator().manual_seed(0)
    stored = torch.nn.functional.normalize(torch.randn(50, 64, generator=g), dim=-1)
    _, p_small = hopfield_update(stored, stored, 1.0)
    _, p_large = hopfield_update(stored, stored, 64.0)
    assert (metastable_size(p_small) > 25).all() and (metastable_size(p_large) == 1).all()


def test_a_family_of_similar_patterns_is_a_metastable_fixed_point_and_a_small_beta_the_global_one():
    """Ramsauer et al. 2021, Sec. 2: similar patterns, well separated from the rest, have a metastable state,
    a fixed point averaging them (k >= 2); with a small beta every state goes to one global fixed point."""
    g = torch.Generator().manual_seed(0)
    families, per, d = 4, 5, 32
    proto = torch.nn.functional.normalize(torch.randn(families, d, generator=g), dim=-1).repeat_interleave(per, 0)
    stored = torch.nn.functional.normalize(proto + 0.5 * torch.nn.functional.normalize(
        torch.randn(families * per, d, generator=g), dim=-1), dim=-1)
    ten, _ = retrieve(stored, stored, 8.0, steps=10)
    twenty, p = retrieve(ten, stored, 8.0, steps=10)
    assert ((twenty - ten).norm(dim=-1) / ten.norm(dim=-1) < 0.01).all()  # at rest
    family = torch.arange(families * per) // per
    own = p.view(-1, families, per).sum(-1)[torch.arange(families * per), family]
    assert (own > 0.9).all() and (metastable_size(p) >= 2).all()          # on the family, spread over it
    one, _ = retrieve(stored, stored, 64.0, steps=20)                     # a large beta: the single patterns
    torch.testing.assert_close(one, stored, atol=1e-3, rtol=0)
    glob, _ = retrieve(stored.mean(0, keepdim=True), stored, 0.5, steps=100)
    cues, _ = retrieve(stored, stored, 0.5, steps=10)
    assert ((cues - glob).norm(dim=-1) / glob.norm() < 0.01).all()       # one global fixed point
