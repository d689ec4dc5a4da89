"""Sparse alternatives to softmax: sparsemax, 1.5-entmax, alpha-entmax, and attention with a learned alpha per head.

- Andre F. T. Martins, Ramon F. Astudillo (2016), "From Softmax to Sparsemax: A Sparse Model of
  Attention and Multi-Label Classification", https://arxiv.org/abs/1602.02068, Sec. 2 (Alg. 1, the
  sort-based projection onto the simplex; Prop. 2, its Jacobian).
- Ben Peters, Vlad Niculae, Andre F. T. Martins (2019), "Sparse Sequence-to-Sequence Models",
  https://arxiv.org/abs/1905.05702, Sec. 3 (alpha-entmax, Eq. 9-10; the exact sort-based 1.5-entmax;
  bisection for any alpha; the backward pass through p^(2 - alpha)).
- Goncalo M. Correia, Vlad Niculae, Andre F. T. Martins (2019), "Adaptively Sparse Transformers",
  EMNLP, https://arxiv.org/abs/1909.00015, Sec. 3 (alpha per head, alpha = 1 + sigmoid(a) in (1, 2);
  the gradient with respect to alpha, their Prop. 1).

alpha-entmax(z)_i = [(alpha - 1) z_i - tau]_+ ^ (1 / (alpha - 1)), with the threshold tau chosen so the
entries sum to one. alpha -> 1 is softmax, alpha = 2 is sparsemax; every alpha > 1 can give exact zeros.

Gradients: :func:`sparsemax` and :func:`entmax15` are differentiated by autograd (once the support is
known, the threshold is a smooth function of the sorted scores, so autograd through sort and gather is
exact away from ties); :func:`entmax_bisect` has a custom backward (Peters et al. 2019 for the scores,
Correia et al. 2019 Prop. 1 for alpha), because bisection's iterates carry no useful gradient.

Legend: B batch, T query length, S key length, D model width, H heads, Dh head width, N entries
along the normalised dimension.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..attention import MultiHeadAttention, causal_mask, merge_heads, split_heads
from ..utils import check_int, check_positive, check_real, check_tensor

__all__ = [
    "sparsemax",
    "entmax15",
    "entmax_bisect",
    "count_zeros",
    "EntmaxAttention",
    "HeadSparsity",
    "entmax_heads_batch",
    "train_entmax_heads",
]


def _check_scores(name: str, x: object, dim: int) -> int:
    check_tensor(name, x, dtype="float")
    check_int("dim", dim)
    if x.dim() == 0 or not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim must index a dimension of the {x.dim()}-d tensor {name}, got dim={dim}")
    return dim % x.dim()


def _sorted_cumulants(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores sorted in decreasing order along ``dim`` and the support sizes 1..N shaped to broadcast."""
    z, _ = torch.sort(x, dim=dim, descending=True)
    shape = [1] * x.dim()
    shape[dim] = x.shape[dim]
    rho = torch.arange(1, x.shape[dim] + 1, device=x.device, dtype=x.dtype).view(shape)  # 1, 2, ..., N
    return z, rho


def sparsemax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Euclidean projection of ``x`` onto the probability simplex along ``dim`` (Martins & Astudillo 2016, Alg. 1).

    Sort z decreasingly; the support is the largest k with 1 + k z_(k) > sum_{j<=k} z_(j); the threshold
    is tau = (sum_{j<=k} z_(j) - 1) / k; the output is [x - tau]_+. Exact, O(N log N).
    """
    dim = _check_scores("x", x, dim)
    x = x - x.amax(dim=dim, keepdim=True)  # shift-invariant; keeps cumsums small for large inputs
    z, rho = _sorted_cumulants(x, dim)
    cumsum = z.cumsum(dim)
    support = (1 + rho * z > cumsum).sum(dim=dim, keepdim=True)  # k(z) >= 1: the largest entry is always in
    tau = (cumsum.gather(dim, support - 1) - 1) / support.to(x.dtype)
    return (x - tau).clamp_min(0)


def entmax15(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """1.5-entmax along ``dim``, exactly, by sorting (Peters et al. 2019, Sec. 3.2).

    With alpha = 1.5, p_i = [x_i / 2 - tau]_+^2. For each candidate support size k over the sorted
    halves z, the threshold solving sum_{j<=k} (z_j - tau)^2 = 1 is
    tau_k = mean_k - sqrt((1 - k (meansq_k - mean_k^2)) / k); the support is the largest k with
    tau_k <= z_(k).
    """
    dim = _check_scores("x", x, dim)
    x = (x - x.amax(dim=dim, keepdim=True)) / 2  # (alpha - 1) x, shifted so the largest is 0
    z, rho = _sorted_cumulants(x, dim)
    mean = z.cumsum(dim) / rho
    mean_sq = (z * z).cumsum(dim) / rho
    ss = rho * (mean_sq - mean * mean)  # k times the variance of the k largest
    delta = ((1 - ss) / rho).clamp_min(0)
    tau = mean - delta.sqrt()
    support = (tau <= z).sum(dim=dim, keepdim=True)
    tau_star = tau.gather(dim, support - 1)
    return (x - tau_star).clamp_min(0).pow(2)


class _EntmaxBisect(torch.autograd.Function):
    """alpha-entmax by bisection on tau, with the closed-form backward for the scores and for alpha."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: torch.Tensor, dim: int, n_iter: int) -> torch.Tensor:
        am1 = alpha - 1  # broadcast against x, size 1 along dim
        z = x * am1
        d = x.shape[dim]
        top = z.amax(dim=dim, keepdim=True)
        # p_i = [z_i - tau]_+^(1/(alpha-1)) sums to >= 1 at tau = max - 1 (the top entry alone gives 1)
        # and to <= 1 at tau = max - (1/d)^(alpha-1) (every entry at most 1/d); the root lies between.
        lo = top - 1
        hi = top - (1.0 / d) ** am1
        width = hi - lo
        for _ in range(n_iter):
            width = width / 2
            mid = lo + width
            p = (z - mid).clamp_min(0) ** (1 / am1)
            lo = torch.where(p.sum(dim=dim, keepdim=True) >= 1, mid, lo)  # the sum falls as tau rises
        p = (z - lo).clamp_min(0) ** (1 / am1)
        p = p / p.sum(dim=dim, keepdim=True)  # remove the last bisection error, so rows sum to one
        ctx.dim = dim
        ctx.save_for_backward(p, alpha)
        return p

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        p, alpha = ctx.saved_tensors
        dim = ctx.dim
        # Jacobian (Peters et al. 2019, Prop. 1): dp/dx = diag(g) - g g^T / sum(g), g = p^(2 - alpha) on the support.
        g = torch.where(p > 0, p.clamp_min(1e-30) ** (2 - alpha), torch.zeros_like(p))
        g_sum = g.sum(dim=dim, keepdim=True)
        gx = g * grad
        gx = gx - g * gx.sum(dim=dim, keepdim=True) / g_sum
        ga = None
        if ctx.needs_input_grad[1]:
            # Correia et al. (2019), Prop. 1: dp/dalpha = (p - g~) / (alpha-1)^2 - (p log p - g~ H) / (alpha-1),
            # with g~ = g / sum(g) and H = sum_j p_j log p_j (the negative Shannon entropy).
            plogp = torch.where(p > 0, p * p.clamp_min(1e-30).log(), torch.zeros_like(p))
            neg_ent = plogp.sum(dim=dim, keepdim=True)
            g_tilde = g / g_sum
            am1 = alpha - 1
            dp_da = (p - g_tilde) / am1**2 - (plogp - g_tilde * neg_ent) / am1
            ga = (grad * dp_da).sum(dim=dim, keepdim=True).sum_to_size(alpha.shape)
        return gx, ga, None, None


def entmax_bisect(x: torch.Tensor, alpha: float | torch.Tensor = 1.5, dim: int = -1, n_iter: int = 50) -> torch.Tensor:
    """alpha-entmax along ``dim`` for any alpha > 1, by ``n_iter`` halvings of the threshold's bracket.

    ``alpha`` is a number or a tensor that broadcasts against ``x`` with size 1 along ``dim`` (e.g. one
    alpha per head: shape (H, 1, 1) for (B, H, T, S) scores); it gets a gradient when it requires one.
    The bracket starts 1 wide, so 50 halvings leave a threshold error below float32's resolution.
    """
    dim = _check_scores("x", x, dim)
    check_positive("n_iter", n_iter)
    if isinstance(alpha, torch.Tensor):
        if not alpha.is_floating_point():
            raise ValueError(f"alpha must be a floating tensor, got dtype {alpha.dtype}")
        if alpha.dim() > x.dim():
            raise ValueError(f"alpha must broadcast against x of shape {tuple(x.shape)}, got shape {tuple(alpha.shape)}")
        a = alpha.view((1,) * (x.dim() - alpha.dim()) + tuple(alpha.shape))
        if a.shape[dim] != 1:
            raise ValueError(f"alpha must have size 1 along dim={dim} (one alpha per row), got shape {tuple(alpha.shape)}")
        try:
            torch.broadcast_shapes(a.shape, x.shape)
        except RuntimeError:
            raise ValueError(f"alpha of shape {tuple(alpha.shape)} does not broadcast against x of shape {tuple(x.shape)}") from None
        if bool((a <= 1).any()):
            raise ValueError(f"alpha must be > 1 (alpha = 1 is softmax), got values down to {float(a.min())}")
        a = a.to(x.dtype)
    else:
        check_real("alpha", alpha, low=1.0, low_open=True)
        a = torch.full((1,) * x.dim(), float(alpha), dtype=x.dtype, device=x.device)
    return _EntmaxBisect.apply(x, a, dim, n_iter)


def count_zeros(weights: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """How many entries along ``dim`` are exactly zero (an integer tensor of the other dimensions).

    For attention weights (B, H, T, S) with dim=-1: (B, H, T), the keys each query ignores entirely.
    Softmax never gives one (unless a score is -inf); sparsemax and entmax do.
    """
    dim = _check_scores("weights", weights, dim)
    return (weights == 0).sum(dim=dim)


class EntmaxAttention(MultiHeadAttention):
    """Multi-head attention whose heads normalise with alpha-entmax, one learned alpha per head
    (Correia et al. 2019, Sec. 3.2): alpha_h = 1 + sigmoid(a_h), in (1, 2), a_h a parameter.

    The same projections as :class:`coursekit.attention.MultiHeadAttention` (and its masks); the
    forward returns ``(out (B, T, D), weights (B, H, T, S))`` so exact zeros can be counted per head.
    ``alpha_init`` sets every head's starting alpha (1.5: a = 0); ``learn_alpha=False`` freezes it.
    """

    def __init__(
        self, d_model: int, n_heads: int, *, alpha_init: float = 1.5, learn_alpha: bool = True, n_iter: int = 25,
        bias: bool = True,
    ):
        super().__init__(d_model, n_heads, bias=bias)
        check_real("alpha_init", alpha_init, low=1.0, high=2.0, low_open=True, high_open=True)
        check_positive("n_iter", n_iter)
        a0 = torch.logit(torch.tensor(alpha_init - 1.0))
        self.alpha_logit = nn.Parameter(torch.full((n_heads,), float(a0)), requires_grad=bool(learn_alpha))
        self.n_iter = n_iter

    @property
    def alpha(self) -> torch.Tensor:
        """(H,) the heads' current alpha = 1 + sigmoid(a), in (1, 2)."""
        return 1 + torch.sigmoid(self.alpha_logit)

    def forward(
        self, query: torch.Tensor, key: torch.Tensor | None = None, value: torch.Tensor | None = None,
        mask: torch.Tensor | None = None, *, key_padding_mask: torch.Tensor | None = None, is_causal: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """query (B, T, D), key/value (B, S, D) (default: query); masks as for MultiHeadAttention (True = may attend)."""
        key = query if key is None else key
        value = key if value is None else value
        dims = check_tensor("query", query, shape=("B", "T", self.d_model), dtype="float")
        dims = check_tensor("key", key, shape=("B", "S", self.d_model), dtype="float", dims=dims)
        check_tensor("value", value, shape=("B", "S", self.d_model), dtype="float", dims=dims)
        B, T, S = dims["B"], dims["T"], dims["S"]
        m, causal = self._attn_mask(mask, key_padding_mask, is_causal, B, T, S, query.device)
        if causal:
            m = causal_mask(T, S, device=query.device)
        q, k, v = (split_heads(t, self.n_heads) for t in self._project(query, key, value))  # (B, H, T or S, Dh)
        scores = (q @ k.transpose(-2, -1)) * self.d_head**-0.5  # (B, H, T, S)
        if m is not None:
            empty = ~m.any(-1, keepdim=True)  # rows with nothing to attend: give them finite scores, zero them after
            scores = scores.masked_fill(~m, float("-inf")).masked_fill(empty, 0.0)
        weights = entmax_bisect(scores, self.alpha.view(self.n_heads, 1, 1), dim=-1, n_iter=self.n_iter)  # (B, H, T, S)
        if m is not None:
            weights = weights.masked_fill(empty, 0.0)
        return self.out_proj(merge_heads(weights @ v)), weights  # (B, H, T, Dh) -> (B, T, D)


# ----------------------------------------------------------------------------- learned alpha per head, at toy scale
def entmax_heads_batch(batch_size: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of the two-part task :func:`train_entmax_heads` learns, drawn from ``generator`` (CPU).

    Each of the ``length`` items carries three features: a value v ~ N(0, 1), a marker (exactly one
    item per sequence has 1, the rest 0) and a salience s ~ N(0, 1). Two targets per sequence:
    a lookup, y1 = v at the marked item (one item matters: ideal attention is one-hot), and a soft
    average, y2 = sum_t softmax(s)_t v_t (every item matters a little: ideal attention is dense).
    Returns x (B, L, 3) float and y (B, 2) float.
    """
    check_positive("batch_size", batch_size)
    check_int("length", length, min=2)
    v = torch.randn(batch_size, length, generator=generator)
    s = torch.randn(batch_size, length, generator=generator)
    where = torch.randint(length, (batch_size,), generator=generator)
    marker = F.one_hot(where, length).float()  # (B, L)
    x = torch.stack([v, marker, s], dim=-1)  # (B, L, 3)
    y = torch.stack([v.gather(1, where[:, None]).squeeze(1), (torch.softmax(s, -1) * v).sum(-1)], dim=-1)  # (B, 2)
    return x, y


class _TwoTargetReader(nn.Module):
    """A learned query reads the items with one EntmaxAttention layer; a linear layer gives (y1, y2)."""

    def __init__(self, d_model: int, n_heads: int, alpha_init: float):
        super().__init__()
        self.embed = nn.Linear(3, d_model)
        self.query = nn.Parameter(torch.randn(1, 1, d_model) / d_model**0.5)
        self.attn = EntmaxAttention(d_model, n_heads, alpha_init=alpha_init)
        self.readout = nn.Linear(d_model, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, L, _ = x.size()
        items = self.embed(x)  # (B, L, D)
        out, weights = self.attn(self.query.expand(B, 1, -1), items, items)  # (B, 1, D), (B, H, 1, L)
        return self.readout(out[:, 0]), weights


@dataclass(frozen=True)
class HeadSparsity:
    """What :func:`train_entmax_heads` learned: per head, its alpha and the share of exactly-zero weights
    on held-out sequences; the held-out mean squared error of each target; the wall time."""

    alpha: tuple[float, ...]  # (H,) learned alpha per head, in (1, 2)
    zero_fraction: tuple[float, ...]  # (H,) share of attention weights that are exactly 0
    initial_alpha: float
    mse_lookup: float  # held-out MSE of y1 (the variance of y1 is 1: predicting 0 scores 1)
    mse_average: float  # held-out MSE of y2
    seconds: float


def train_entmax_heads(
    *, n_heads: int = 4, d_model: int = 32, length: int = 16, steps: int = 300, batch_size: int = 64,
    lr: float = 1e-2, alpha_lr: float = 0.2, alpha_init: float = 1.5, seed: int = 0,
) -> HeadSparsity:
    """Train a one-layer EntmaxAttention reader with a learned alpha per head on :func:`entmax_heads_batch`
    and report each head's alpha and exact-zero share on 512 held-out sequences. Seeded, CPU, Adam.

    The two targets pull in opposite directions: the lookup is best served by a head that puts all its
    weight on one item (sparse), the soft average by one that keeps every item (dense, softmax-like).
    Correia et al. (2019) found, on translation, that heads learn different alphas (some near softmax,
    some sparse); this is the same measurement on a task built to need both kinds.

    ``alpha_lr``: the alphas' own Adam learning rate (our choice, not the paper's): at the rate of the
    other weights they move only a few hundredths in a few hundred steps, since each head can also
    sharpen or flatten its weights by scaling its scores.
    """
    check_positive("n_heads", n_heads)
    check_positive("d_model", d_model)
    check_positive("steps", steps)
    check_real("lr", lr, low=0.0, low_open=True)
    check_real("alpha_lr", alpha_lr, low=0.0, low_open=True)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    model = _TwoTargetReader(d_model, n_heads, alpha_init)
    gen = torch.Generator().manual_seed(seed)
    others = [p for name, p in model.named_parameters() if name != "attn.alpha_logit"]
    opt = torch.optim.Adam([{"params": others, "lr": lr}, {"params": [model.attn.alpha_logit], "lr": alpha_lr}])
    for _ in range(steps):
        x, y = entmax_heads_batch(batch_size, length, gen)
        pred, _ = model(x)
        loss = F.mse_loss(pred, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    x, y = entmax_heads_batch(512, length, torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        pred, weights = model(x)  # (512, 2), (512, H, 1, L)
    zeros = (weights == 0).float().mean(dim=(0, 2, 3))  # (H,)
    mse = ((pred - y) ** 2).mean(0)
    return HeadSparsity(
        alpha=tuple(model.attn.alpha.detach().tolist()),
        zero_fraction=tuple(zeros.tolist()),
        initial_alpha=float(alpha_init),
        mse_lookup=float(mse[0]),
        mse_average=float(mse[1]),
        seconds=time.perf_counter() - t0,
    )
