"""Low-rank factorisation: each weight matrix W (out, in) replaced by its best rank-r approximation
from the truncated SVD, stored as two thin factors, U_r sqrt(S_r) (out, r) and sqrt(S_r) V_r^T (r, in).

Eckart & Young (1936), *The approximation of one matrix by another of lower rank*, Psychometrika 1:
the truncated SVD is the closest rank-r matrix in Frobenius norm. Ben Noach & Goldberg (2020),
*Compressing Pre-trained Language Models by Matrix Decomposition*, AACL,
https://aclanthology.org/2020.aacl-main.88/, decompose BERT's matrices into smaller ones and then
recover with feature distillation; here the decomposition alone, no training after. A rank-r factor pair has r (in + out) numbers instead
of in * out: smaller only when r < in * out / (in + out).

Legend: D model width, F FFN width, r rank.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_choice, check_int
from .pruning import _layers

__all__ = ["LowRankLinear", "svd_linear", "low_rank", "LOW_RANK_PARTS"]

LOW_RANK_PARTS = ("attention", "ffn")


class LowRankLinear(nn.Module):
    """y = (x first^T) second^T + bias with ``first`` (r, in) and ``second`` (out, r): a Linear whose
    weight is the product ``second @ first`` (``weight``, materialised on demand, for code that
    reads a Linear's weight, such as the fused q/k/v projection of coursekit's attention)."""

    def __init__(self, first: torch.Tensor, second: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.first = nn.Parameter(first)
        self.second = nn.Parameter(second)
        self.bias = None if bias is None else nn.Parameter(bias)
        self.in_features, self.out_features, self.rank = first.shape[1], second.shape[0], first.shape[0]

    @property
    def weight(self) -> torch.Tensor:
        return self.second @ self.first  # (out, in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(F.linear(x, self.first), self.second, self.bias)  # (..., in) -> (..., r) -> (..., out)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}"


@torch.no_grad()
def svd_linear(linear: nn.Linear, rank: int) -> LowRankLinear:
    """The rank-``rank`` truncated SVD of ``linear``'s weight as a :class:`LowRankLinear` (the bias
    kept); at rank min(in, out) it computes the same function as ``linear``."""
    if not isinstance(linear, nn.Linear):
        raise ValueError(f"linear must be an nn.Linear, got {type(linear).__name__}")
    check_int("rank", rank, min=1, max=min(linear.weight.shape))
    U, S, Vh = torch.linalg.svd(linear.weight.double(), full_matrices=False)  # (out, k), (k,), (k, in)
    root = S[:rank].sqrt()
    dtype = linear.weight.dtype
    first = (root[:, None] * Vh[:rank]).to(dtype)  # (r, in)
    second = (U[:, :rank] * root).to(dtype)  # (out, r)
    return LowRankLinear(first, second, None if linear.bias is None else linear.bias.clone())


def low_rank(model: nn.Module, rank: int, *, parts: tuple[str, ...] = LOW_RANK_PARTS) -> nn.Module:
    """A copy of ``model`` whose encoder matrices of ``parts`` ("attention": q/k/v/out projections;
    "ffn": the FFN's matrices) are replaced by their rank-``rank`` SVD (:func:`svd_linear`; a matrix
    whose smaller side is at most ``rank`` is kept as it is)."""
    check_int("rank", rank, min=1)
    if isinstance(parts, str) or not parts:
        raise ValueError(f"parts must be a non-empty tuple of {LOW_RANK_PARTS}, got {parts!r}")
    for p in parts:
        check_choice("parts entry", p, LOW_RANK_PARTS)
    out = copy.deepcopy(model)
    for block in _layers(out):
        owners = ([block.self_attn] if "attention" in parts else []) + ([block.ffn] if "ffn" in parts else [])
        for owner in owners:
            for name, child in list(owner.named_children()):
                if isinstance(child, nn.Linear) and rank < min(child.weight.shape):
                    setattr(owner, name, svd_linear(child, rank))
    return out
