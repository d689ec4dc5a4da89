"""sparsemax, entmax15 and entmax_bisect against the entmax package; EntmaxAttention; the learned-alpha run."""

import pytest
import torch

from coursekit.efficient.sparsemax import (
    EntmaxAttention,
    count_zeros,
    entmax15,
    entmax_bisect,
    entmax_heads_batch,
    sparsemax,
    train_entmax_heads,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: two threads on a busy machine are far slower


def _inputs(seed: int, dtype=torch.float64) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 9, generator=g, dtype=dtype)
    ties = torch.randint(-2, 3, (6, 9), generator=g).to(dtype)  # many equal scores
    large = x * 1e3  # far outside softmax's comfortable range
    return [x, ties, large, x * 0.01]


@pytest.mark.parametrize("seed", [0, 1])
def test_sparsemax_and_entmax15_match_the_package(seed):
    import entmax

    for x in _inputs(seed):
        for dim in (-1, 0):
            torch.testing.assert_close(sparsemax(x, dim=dim), entmax.sparsemax(x, dim=dim), atol=1e-12, rtol=0)
            torch.testing.assert_close(entmax15(x, dim=dim), entmax.entmax15(x, dim=dim), atol=1e-12, rtol=0)


@pytest.mark.parametrize("alpha", [1.1, 1.5, 1.8, 2.0])
def test_entmax_bisect_matches_the_package(alpha):
    import entmax

    for x in _inputs(2, torch.float32):
        torch.testing.assert_close(entmax_bisect(x, alpha), entmax.entmax_bisect(x, alpha), atol=1e-5, rtol=0)


def test_gradients_match_the_package():
    import entmax

    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 7, generator=g, dtype=torch.float64)
    up = torch.randn(5, 7, generator=g, dtype=torch.float64)
    for mine, ref in ((sparsemax, entmax.sparsemax), (entmax15, entmax.entmax15)):
        a = x.clone().requires_grad_()
        b = x.clone().requires_grad_()
        (ga,) = torch.autograd.grad((mine(a) * up).sum(), a)
        (gb,) = torch.autograd.grad((ref(b) * up).sum(), b)
        torch.testing.assert_close(ga, gb, atol=1e-10, rtol=0)
    # bisection: gradients with respect to the scores and to a per-row alpha
    alpha = (1.2 + torch.rand(5, 1, generator=g, dtype=torch.float64)).requires_grad_()
    a = x.clone().requires_grad_()
    (ga, gal) = torch.autograd.grad((entmax_bisect(a, alpha) * up).sum(), (a, alpha))
    alpha2 = alpha.detach().clone().requires_grad_()
    b = x.clone().requires_grad_()
    (gb, gbl) = torch.autograd.grad((entmax.entmax_bisect(b, alpha2) * up).sum(), (b, alpha2))
    torch.testing.assert_close(ga, gb, atol=1e-8, rtol=0)
    torch.testing.assert_close(gal, gbl, atol=1e-8, rtol=0)


def test_bisect_alpha_gradient_matches_finite_differences():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(3, 6, generator=g, dtype=torch.float64)
    up = torch.randn(3, 6, generator=g, dtype=torch.float64)
    alpha = torch.tensor([[1.3], [1.6], [1.9]], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad((entmax_bisect(x, alpha, n_iter=80) * up).sum(), alpha)
    eps = 1e-6
    with torch.no_grad():
        f = lambda a: (entmax_bisect(x, a, n_iter=80) * up).sum(-1, keepdim=True)  # noqa: E731
        numeric = (f(alpha + eps) - f(alpha - eps)) / (2 * eps)
    torch.testing.assert_close(grad, numeric, atol=1e-5, rtol=1e-4)


def test_rows_sum_to_one_and_exact_zeros_exist():
    x = torch.randn(4, 3, 12, generator=torch.Generator().manual_seed(5)) * 3
    for p in (sparsemax(x), entmax15(x), entmax_bisect(x, 1.3)):
        torch.testing.assert_close(p.sum(-1), torch.ones(4, 3))
        assert (p >= 0).all()
        assert int(count_zeros(p).sum()) > 0
    assert int(count_zeros(torch.softmax(x, -1)).sum()) == 0
    assert count_zeros(sparsemax(x)).shape == (4, 3)


def test_alpha_limits():
    x = torch.randn(4, 10, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    torch.testing.assert_close(entmax_bisect(x, 2.0), sparsemax(x), atol=1e-10, rtol=0)
    torch.testing.assert_close(entmax_bisect(x, 1.5), entmax15(x), atol=1e-10, rtol=0)
    gap = [(entmax_bisect(x, a) - torch.softmax(x, -1)).abs().max().item() for a in (1.1, 1.01, 1.001)]
    assert gap[0] > gap[1] > gap[2] and gap[2] < 2e-3


def test_per_head_alpha_broadcasts():
    x = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(7))
    alpha = torch.tensor([1.2, 1.5, 2.0]).view(3, 1, 1)
    p = entmax_bisect(x, alpha)
    for h, a in enumerate((1.2, 1.5, 2.0)):
        torch.testing.assert_close(p[:, h], entmax_bisect(x[:, h], a))


def test_bad_inputs():
    x = torch.randn(2, 3)
    with pytest.raises(ValueError, match="alpha must be > 1"):
        entmax_bisect(x, torch.tensor([[1.0], [1.5]]))
    with pytest.raises(ValueError, match="alpha must be > 1, got 1.0"):
        entmax_bisect(x, 1.0)
    with pytest.raises(ValueError, match="size 1 along dim"):
        entmax_bisect(x, torch.full((2, 3), 1.5))
    with pytest.raises(ValueError, match="dim must index"):
        sparsemax(x, dim=2)
    with pytest.raises(ValueError, match="floating dtype"):
        entmax15(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="alpha_init"):
        EntmaxAttention(8, 2, alpha_init=2.0)


def test_entmax_attention_shapes_alpha_and_masks():
    torch.manual_seed(0)
    attn = EntmaxAttention(16, 4, alpha_init=1.5)
    x = torch.randn(2, 6, 16)
    out, w = attn(x, is_causal=True)
    assert out.shape == (2, 6, 16) and w.shape == (2, 4, 6, 6)
    torch.testing.assert_close(attn.alpha, torch.full((4,), 1.5))
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 6))
    assert (w.triu(1) == 0).all()  # the causal mask gives exact zeros above the diagonal
    out.sum().backward()
    assert attn.alpha_logit.grad is not None and attn.alpha_logit.grad.abs().sum() > 0
    # a fully masked row gives zero weights, not NaN
    kp = torch.tensor([[True] * 6, [False] * 6])
    out, w = attn(x, key_padding_mask=kp)
    assert torch.isfinite(out).all() and (w[1] == 0).all()


def test_entmax_attention_at_alpha_two_is_sparsemax_attention():
    torch.manual_seed(1)
    attn = EntmaxAttention(8, 2, alpha_init=1.5, n_iter=60)
    with torch.no_grad():
        attn.alpha_logit.fill_(30.0)  # sigmoid(30) = 1 - 1e-13: alpha = 2 to float precision
    x = torch.randn(1, 5, 8)
    _, w = attn(x)
    q = attn.q_proj(x).view(1, 5, 2, 4).transpose(1, 2)
    k = attn.k_proj(x).view(1, 5, 2, 4).transpose(1, 2)
    torch.testing.assert_close(w, sparsemax(q @ k.transpose(-2, -1) / 2.0), atol=1e-5, rtol=0)


def test_task_batch_properties():
    x, y = entmax_heads_batch(8, 5, torch.Generator().manual_seed(0))
    assert x.shape == (8, 5, 3) and y.shape == (8, 2)
    assert (x[..., 1].sum(-1) == 1).all()
    torch.testing.assert_close(y[:, 0], (x[..., 0] * x[..., 1]).sum(-1))
    torch.testing.assert_close(y[:, 1], (torch.softmax(x[..., 2], -1) * x[..., 0]).sum(-1))


def test_train_entmax_heads_splits_sparse_and_dense_heads():
    r = train_entmax_heads(n_heads=2, d_model=16, length=8, steps=60, batch_size=32, seed=0)
    assert len(r.alpha) == len(r.zero_fraction) == 2
    assert all(1 < a < 2 for a in r.alpha)
    assert max(r.zero_fraction) > 0.5 and min(r.zero_fraction) < 0.1  # one head sparse, one dense
    assert r.mse_lookup < 0.2 and r.mse_average < 0.2  # both targets learned (predicting 0 scores about 1 and 0.1+)
