"""Attention primitives shared by every chapter.

Mask convention (everywhere in coursekit): a boolean tensor, ``True`` = may be
attended, as in ``torch.nn.functional.scaled_dot_product_attention``. Note that
``torch.nn.MultiheadAttention``'s ``key_padding_mask`` uses the opposite
convention (``True`` = ignore).

Legend: B batch, T query length, S key length.
"""

from __future__ import annotations

import torch

__all__ = ["masked_softmax"]


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None, dim: int = -1) -> torch.Tensor:
    """Softmax of ``scores`` over ``dim`` where masked-out entries get exactly zero weight.

    ``mask`` is boolean, broadcastable to ``scores``, True = may attend. A row
    in which nothing may be attended comes out all zeros (not NaN), so padded
    queries are harmless.
    """
    if mask is None:
        return torch.softmax(scores, dim=dim)
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor (True = may attend), got dtype {mask.dtype}")
    try:
        if torch.broadcast_shapes(mask.shape, scores.shape) != scores.shape:
            raise RuntimeError
    except RuntimeError:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to scores of shape {tuple(scores.shape)}"
        ) from None
    filled = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(filled, dim=dim)
    # A fully masked row is softmax(-inf, ..., -inf) = NaN; make it zeros instead.
    return weights.masked_fill(~mask, 0.0)
