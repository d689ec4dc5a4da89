"""Magnitude pruning: set the weights of smallest absolute value to zero, one-shot (no training
after), over the whole encoder at once (global) or layer by layer.

Han, Pool, Tran & Dally (2015), *Learning both Weights and Connections for Efficient Neural
Networks*, https://arxiv.org/abs/1506.02626, Sec. 3: connections whose weight is below a threshold
are removed. Gordon, Duh & Andrews (2020), *Compressing BERT: Studying the Effects of Weight Pruning
on Transfer Learning*, https://arxiv.org/abs/2002.08307: BERT's weights pruned by magnitude; low
levels of pruning (30-40%) affect neither pretraining loss nor transfer (their abstract). Here the pruned weights are the
encoder's matrices (attention projections and FFN, not the embeddings), with no recovery training.

Legend: L layers, N weights in a matrix.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..utils import check_choice, check_real

__all__ = ["PRUNE_SCOPES", "prunable_weights", "magnitude_prune", "sparsity"]

PRUNE_SCOPES = ("global", "layer")


def _layers(model: nn.Module) -> nn.ModuleList:
    bert = getattr(model, "bert", model)
    encoder = getattr(bert, "encoder", None)
    if encoder is None or not isinstance(getattr(encoder, "layers", None), nn.ModuleList):
        raise ValueError(f"model must be a coursekit BERT (an encoder with layers), got {type(model).__name__}")
    return encoder.layers


def prunable_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The encoder's weight matrices, name -> parameter: in each layer the attention's
    q/k/v/out projections and the FFN's matrices (every 2-d weight of the blocks)."""
    return {f"layers.{i}.{name}": p for i, block in enumerate(_layers(model))
            for name, p in block.named_parameters() if p.dim() == 2}


@torch.no_grad()
def magnitude_prune(model: nn.Module, amount: float, *, scope: str = "global") -> nn.Module:
    """A copy of ``model`` with a share ``amount`` in [0, 1] of its :func:`prunable_weights` set to
    0, those of smallest |w|. ``scope="global"``: one threshold for all matrices (round(amount * N)
    weights of the N in all; a matrix may lose more or less than its share); ``"layer"``: each
    matrix loses round(amount * its size). Ties are broken by position, so the count is exact."""
    check_real("amount", amount, low=0.0, high=1.0)
    check_choice("scope", scope, PRUNE_SCOPES)
    pruned = copy.deepcopy(model)
    weights = list(prunable_weights(pruned).values())
    groups = [weights] if scope == "global" else [[w] for w in weights]
    for group in groups:
        flat = torch.cat([w.abs().reshape(-1) for w in group])  # (N,)
        k = int(round(amount * flat.numel()))
        if k == 0:
            continue
        drop = torch.zeros(flat.numel(), dtype=torch.bool)
        drop[flat.topk(k, largest=False).indices] = True  # exactly k, the smallest magnitudes
        for w, d in zip(group, drop.split([w.numel() for w in group])):
            w.masked_fill_(d.view_as(w), 0.0)
    return pruned


def sparsity(model: nn.Module) -> float:
    """Share of :func:`prunable_weights` that are exactly 0."""
    weights = list(prunable_weights(model).values())
    return sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
