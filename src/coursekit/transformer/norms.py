"""Normalisation layers: LayerNorm and RMSNorm.

- Ba, Kiros & Hinton (2016), *Layer Normalization*, https://arxiv.org/abs/1607.06450, Eq. 4:
  ``y = g * (x - mean) / sqrt(var + eps) + b`` over the features of each token.
- Zhang & Sennrich (2019), *Root Mean Square Layer Normalization*,
  https://arxiv.org/abs/1910.07467, Eq. 4: drop the re-centring,
  ``y = g * x / sqrt(mean(x^2) + eps)``. Cheaper, and as good in their experiments;
  LLaMA (Touvron et al. 2023) uses it.

Both normalise over the last dimension D (d_model) of a (..., D) tensor.
"""

from __future__ import annotations

import torch
from torch import nn

from ..utils import check_choice, check_positive

__all__ = ["NORMS", "LayerNorm", "RMSNorm", "make_norm"]

NORMS = ("layernorm", "rmsnorm")


def _check_last(x: torch.Tensor, d: int, who: str) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() == 0 or x.shape[-1] != d:
        got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who} expects a float tensor of shape (..., {d}), got {got}")


class LayerNorm(nn.Module):
    """Ba et al. (2016): centre and scale each token's features, then a learned gain and bias.

    Same parameters (``weight``, ``bias``) and output as ``torch.nn.LayerNorm(d)``.
    """

    def __init__(self, d: int, eps: float = 1e-5, bias: bool = True):
        super().__init__()
        check_positive("d", d)
        self.d, self.eps = d, eps
        self.weight = nn.Parameter(torch.ones(d))  # the gain g
        self.bias = nn.Parameter(torch.zeros(d)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_last(x, self.d, "LayerNorm")
        centred = x - x.mean(-1, keepdim=True)  # (..., D)
        var = centred.pow(2).mean(-1, keepdim=True)  # (..., 1) the biased variance, as in the paper
        y = centred * torch.rsqrt(var + self.eps) * self.weight
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return f"{self.d}, eps={self.eps:g}, bias={self.bias is not None}"


class RMSNorm(nn.Module):
    """Zhang & Sennrich (2019): scale each token's features by their root mean square; a learned gain.

    No mean subtracted and no bias. Same output as ``torch.nn.RMSNorm(d, eps=eps)``.
    """

    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        check_positive("d", d)
        self.d, self.eps = d, eps
        self.weight = nn.Parameter(torch.ones(d))  # the gain g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_last(x, self.d, "RMSNorm")
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    def extra_repr(self) -> str:
        return f"{self.d}, eps={self.eps:g}"


def make_norm(kind: str, d: int, eps: float = 1e-5, bias: bool = True) -> nn.Module:
    """``"layernorm"`` or ``"rmsnorm"`` of width d (``bias`` applies to LayerNorm only)."""
    check_choice("norm", kind, NORMS)
    return LayerNorm(d, eps, bias) if kind == "layernorm" else RMSNorm(d, eps)


def norm_parameters(kind: str, d: int, bias: bool = True) -> int:
    """How many parameters :func:`make_norm` creates (for the config-only parameter count)."""
    check_choice("norm", kind, NORMS)
    return 2 * d if kind == "layernorm" and bias else d
