"""Features that let the discriminator look at the whole minibatch, and the per-seed layers that
train several GANs as one batched model.

Minibatch standard deviation: Karras, Aila, Laine & Lehtinen (2018), *Progressive Growing of
GANs for Improved Quality, Stability, and Variation*, https://arxiv.org/abs/1710.10196, Sec. 3:
the standard deviation of each feature over the minibatch, averaged over the features into one
number, appended to every example as one more feature. (Their code splits the batch into groups
of 4; here the group is the whole minibatch, as the section's text describes.)

Minibatch discrimination: Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen (2016), *Improved
Techniques for Training GANs*, https://arxiv.org/abs/1606.03498, Sec. 3.2: the features f(x_i) in
R^A times a tensor T in R^{A x K x C} give M_i in R^{K x C}; c_k(x_i, x_j) = exp(-||M_{i,k} -
M_{j,k}||_1); o(x_i)_k = sum_j c_k(x_i, x_j) (j runs over the whole minibatch, i included, as in
the paper); o(x_i) in R^K is concatenated to f(x_i). Real and generated minibatches go through
the discriminator separately, so the features are computed separately for each, as the paper says.

Both leave D a function of the whole batch: a generator that puts every sample in one place gives
a batch with a tell-tale (near-zero) spread.

Per-seed ("ensemble") layers carry a leading member dimension E: ``EnsembleLinear`` is E
independent linear maps done as one batched matmul, ``EnsembleBatchNorm`` is E independent batch
norms done as one BatchNorm1d over E * F channels. Trained on the sum of the members' losses with
an element-wise optimiser (Adam), each member follows exactly the run it would have had alone.

Legend: E members (seeds), B batch, A feature width, K kernels, C kernel dimension, F features.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..utils import check_int, check_tensor

__all__ = ["MinibatchStd", "MinibatchDiscrimination", "EnsembleLinear", "EnsembleBatchNorm"]


def _check_members(name: str, ensemble: int | None) -> None:
    if ensemble is not None:
        check_int(name, ensemble, min=1)


class MinibatchStd(nn.Module):
    """Append the minibatch standard deviation as one feature: (..., B, F) -> (..., B, F + 1).

    The batch is the second-to-last dimension, so an ensemble's (E, B, F) gets one number per
    member. std is the biased one plus 1e-8 under the root, as in Karras et al.'s code."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, dtype="float")
        if x.dim() < 2:
            raise ValueError(f"x must have shape (..., B, F), got a {x.dim()}-d tensor of shape {tuple(x.shape)}")
        centred = x - x.mean(dim=-2, keepdim=True)  # (..., B, F)
        var = (centred * centred).mean(dim=-2, keepdim=True)  # (..., 1, F); biased (twice as fast as .var's backward)
        std = torch.sqrt(var + 1e-8).mean(dim=-1, keepdim=True)  # (..., 1, 1)
        return torch.cat([x, std.expand(*x.shape[:-1], 1)], dim=-1)  # (..., B, F + 1)


class MinibatchDiscrimination(nn.Module):
    """Salimans et al.'s minibatch features: (B, A) -> (B, A + K), or (E, B, A) -> (E, B, A + K)
    with ``ensemble=E`` (one T per member)."""

    def __init__(self, in_features: int, kernels: int = 5, kernel_dim: int = 3, ensemble: int | None = None):
        super().__init__()
        check_int("in_features", in_features, min=1)
        check_int("kernels", kernels, min=1)
        check_int("kernel_dim", kernel_dim, min=1)
        _check_members("ensemble", ensemble)
        self.in_features, self.kernels, self.kernel_dim, self.ensemble = in_features, kernels, kernel_dim, ensemble
        shape = (in_features, kernels * kernel_dim) if ensemble is None else (ensemble, in_features, kernels * kernel_dim)
        self.T = nn.Parameter(torch.randn(shape) / math.sqrt(in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        want = ("B", self.in_features) if self.ensemble is None else (self.ensemble, "B", self.in_features)
        check_tensor("x", x, shape=want, dtype="float")
        M = torch.matmul(x, self.T)  # (..., B, K * C)
        M = M.unflatten(-1, (self.kernels, self.kernel_dim)).movedim(-2, -3)  # (..., K, B, C)
        l1 = torch.cdist(M, M, p=1)  # (..., K, B, B): |M_{i,k} - M_{j,k}|_1 (twice as fast as broadcasting)
        o = torch.exp(-l1).sum(-1).transpose(-1, -2)  # (..., B, K): sum over j
        return torch.cat([x, o], dim=-1)  # (..., B, A + K)

    @torch.no_grad()
    def load_members(self, layers: list["MinibatchDiscrimination"]) -> None:
        self.T.copy_(torch.stack([m.T for m in layers]))

    @torch.no_grad()
    def export_member(self, i: int, layer: "MinibatchDiscrimination") -> None:
        layer.T.copy_(self.T[i])

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, kernels={self.kernels}, kernel_dim={self.kernel_dim}, ensemble={self.ensemble}"


class EnsembleLinear(nn.Module):
    """E independent linear maps: (E, B, in) -> (E, B, out) by one ``baddbmm``.

    ``weight`` is (E, in, out) (the transpose of each member's ``nn.Linear.weight``) and
    ``bias`` (E, 1, out) (None with ``bias=False``). Each member starts as ``nn.Linear`` would
    (uniform in +-1/sqrt(in))."""

    def __init__(self, ensemble: int, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        check_int("ensemble", ensemble, min=1)
        check_int("in_features", in_features, min=1)
        check_int("out_features", out_features, min=1)
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(ensemble, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(ensemble, 1, out_features).uniform_(-bound, bound)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(x, self.weight)  # (E, B, out)
        return torch.baddbmm(self.bias, x, self.weight)  # (E, B, out)

    @torch.no_grad()
    def load_members(self, layers: list[nn.Linear]) -> None:
        self.weight.copy_(torch.stack([m.weight.t() for m in layers]))
        if self.bias is not None:
            self.bias.copy_(torch.stack([m.bias for m in layers]).unsqueeze(1))

    @torch.no_grad()
    def export_member(self, i: int, layer: nn.Linear) -> None:
        layer.weight.copy_(self.weight[i].t())
        if self.bias is not None:
            layer.bias.copy_(self.bias[i, 0])


class EnsembleBatchNorm(nn.Module):
    """E independent ``BatchNorm1d(F)``: (E, B, F) -> (E, B, F), as one BatchNorm1d(E * F) on
    the (B, E * F) view (the statistics of each channel are over B, which is each member's own)."""

    def __init__(self, ensemble: int, num_features: int):
        super().__init__()
        check_int("ensemble", ensemble, min=1)
        check_int("num_features", num_features, min=1)
        self.ensemble, self.num_features = ensemble, num_features
        self.bn = nn.BatchNorm1d(ensemble * num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        E, B, F = x.size()
        y = self.bn(x.transpose(0, 1).reshape(B, E * F))  # (B, E * F)
        return y.reshape(B, E, F).transpose(0, 1)  # (E, B, F)

    @torch.no_grad()
    def load_members(self, layers: list[nn.BatchNorm1d]) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(self.bn, name).copy_(torch.cat([getattr(m, name) for m in layers]))
        self.bn.num_batches_tracked.copy_(layers[0].num_batches_tracked)

    @torch.no_grad()
    def export_member(self, i: int, layer: nn.BatchNorm1d) -> None:
        F = self.num_features
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(layer, name).copy_(getattr(self.bn, name)[i * F : (i + 1) * F])
        layer.num_batches_tracked.copy_(self.bn.num_batches_tracked)
