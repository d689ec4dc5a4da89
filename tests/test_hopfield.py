"""Tests for coursekit.hopfield: the modern Hopfield update is attention (Ramsauer et al. 2020)."""

import re

import pytest
import torch
import torch.nn.functional as F

from coursekit.attention import scaled_dot_product_attention
from coursekit.hopfield import HopfieldLayer, hopfield_energy, hopfield_update, retrieval_accuracy, retrieve

pytestmark = pytest.mark.usefixtures("one_thread")


def test_update_is_the_papers_column_formula():
    """xi_new = X softmax(beta X^T xi), X (d, N) with the patterns as columns, for each state."""
    torch.manual_seed(0)
    stored, state, beta = torch.randn(7, 5), torch.randn(3, 5), 0.7
    new, p = hopfield_update(state, stored, beta)
    X = stored.T  # (d, N)
    for m in range(3):
        xi = state[m]
        torch.testing.assert_close(new[m], X @ torch.softmax(beta * X.T @ xi, 0))
    torch.testing.assert_close(p.sum(-1), torch.ones(3))


@pytest.mark.parametrize("beta", [0.05, 1.0, 8.0])
def test_one_update_is_attention(beta):
    """queries = state patterns, keys = values = stored patterns, scale = beta."""
    torch.manual_seed(1)
    stored, state = torch.randn(2, 9, 6), torch.randn(2, 4, 6)
    new, p = hopfield_update(state, stored, beta)
    out, w = scaled_dot_product_attention(state, stored, stored, scale=beta)
    torch.testing.assert_close(new, out)
    torch.testing.assert_close(p, w)
    torch.testing.assert_close(new, F.scaled_dot_product_attention(state, stored, stored, scale=beta))


def test_energy_never_increases_under_updates():
    """Ramsauer et al. 2020, Theorem 1."""
    torch.manual_seed(2)
    stored, state = torch.randn(20, 8), torch.randn(10, 8) * 3
    for beta in (0.1, 1.0, 5.0):
        s = state
        e = hopfield_energy(s, stored, beta)
        for _ in range(5):
            s, _ = hopfield_update(s, stored, beta)
            e_new = hopfield_energy(s, stored, beta)
            assert torch.all(e_new <= e + 1e-5)
            e = e_new


def test_energy_formula():
    torch.manual_seed(3)
    stored, xi, beta = torch.randn(4, 3), torch.randn(1, 3), 2.0
    lse = torch.log(torch.exp(beta * stored @ xi[0]).sum()) / beta
    expected = -lse + 0.5 * xi[0] @ xi[0] + torch.log(torch.tensor(4.0)) / beta + 0.5 * stored.norm(dim=1).max() ** 2
    torch.testing.assert_close(hopfield_energy(xi, stored, beta)[0], expected)


def test_large_beta_retrieves_in_one_step_small_beta_averages():
    torch.manual_seed(4)
    d, N = 64, 32
    stored = F.normalize(torch.randn(N, d), dim=-1)  # random patterns: nearly orthogonal
    targets = torch.arange(N)
    queries = stored + 0.3 * torch.randn(N, d) / d**0.5  # corrupted copies
    big, p_big = retrieve(queries, stored, beta=50.0)
    assert retrieval_accuracy(big, stored, targets) == 1.0
    assert p_big.amax(-1).min() > 0.99  # one pattern each
    small, p_small = retrieve(queries, stored, beta=0.5)
    assert retrieval_accuracy(small, stored, targets) == 0.0
    torch.testing.assert_close(small, stored.mean(0).expand(N, d), atol=0.05, rtol=0)  # close to the global average
    assert p_small.amax(-1).max() < 0.1


def test_more_steps_converge_to_a_fixed_point():
    torch.manual_seed(5)
    stored = F.normalize(torch.randn(10, 16), dim=-1)
    s, _ = retrieve(torch.randn(3, 16), stored, beta=4.0, steps=30)
    s2, _ = hopfield_update(s, stored, 4.0)
    torch.testing.assert_close(s2, s, atol=1e-4, rtol=0)


def test_retrieval_accuracy_counts_within_tolerance():
    stored = torch.eye(3)
    retrieved = torch.tensor([[1.0, 0.05, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.95]])
    assert retrieval_accuracy(retrieved, stored, torch.tensor([0, 1, 2])) == pytest.approx(2 / 3)


def test_hopfield_layer_attends_over_learned_patterns():
    torch.manual_seed(6)
    layer = HopfieldLayer(5, n_patterns=7, d=4, beta=2.0)
    x = torch.randn(2, 3, 5)
    out, w = layer(x)
    assert out.shape == (2, 3, 4) and w.shape == (2, 3, 7)
    ref, ref_w = scaled_dot_product_attention(layer.state_proj(x), layer.patterns, layer.patterns, scale=2.0)
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert layer.patterns.grad.abs().sum() > 0 and layer.state_proj.weight.grad.abs().sum() > 0
    assert HopfieldLayer(5, 7, 16).beta == 0.25


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: hopfield_update(torch.zeros(2, 3), torch.zeros(4, 5), 1.0), "state must have shape (..., M, d) and stored (..., N, d) with the same d, got state (2, 3) and stored (4, 5)"),
        (lambda: hopfield_update(torch.zeros(2, 3), torch.zeros(4, 3), 0.0), "beta must be a positive finite number, got 0.0"),
        (lambda: hopfield_update(torch.zeros(2, 3, dtype=torch.long), torch.zeros(4, 3), 1.0), "state must have a floating dtype, got torch.int64"),
        (lambda: retrieve(torch.zeros(2, 3), torch.zeros(4, 3), 1.0, steps=0), "steps must be a positive int, got 0"),
        (lambda: retrieval_accuracy(torch.zeros(2, 3), torch.zeros(4, 3), torch.zeros(3, dtype=torch.long)), "targets must have shape (M) with M=2, got (3,)"),
        (lambda: HopfieldLayer(4, 0, 4), "n_patterns must be a positive int, got 0"),
    ],
)
def test_bad_input_is_rejected(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
