"""One encoder layer and one decoder layer, with pre- or post-norm residual blocks.

Vaswani et al. (2017), https://arxiv.org/abs/1706.03762, Sec. 3.1: each sublayer
(self-attention, cross-attention, FFN) is wrapped as ``LayerNorm(x + Sublayer(x))``
(post-norm), with a residual connection (He et al. 2016, https://arxiv.org/abs/1512.03385)
and layer normalisation (Ba et al. 2016). Xiong et al. (2020), *On Layer Normalization
in the Transformer Architecture*, https://arxiv.org/abs/2002.04745: the pre-norm block
``x + Sublayer(LayerNorm(x))`` keeps gradients well-behaved at initialisation and trains
without warm-up.

The layers give the same outputs as ``torch.nn.TransformerEncoderLayer`` /
``TransformerDecoderLayer`` (batch_first=True, same ``norm_first``) once
``load_torch_weights`` has copied their weights (tests check both placements).

Legend: B batch, T target (query) length, S source length, D d_model, H heads.
Masks: bool, True = may attend.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..attention import MultiHeadAttention
from .config import TransformerConfig
from .ffn import FeedForward
from .norms import make_norm
from .positions import RotaryEmbedding

__all__ = ["residual", "EncoderLayer", "DecoderLayer"]


def residual(
    x: torch.Tensor,
    sublayer: Callable[[torch.Tensor], torch.Tensor],
    norm: nn.Module,
    dropout: nn.Module,
    norm_first: bool,
) -> torch.Tensor:
    """One residual block. Post-norm (the paper): ``norm(x + dropout(sublayer(x)))``.
    Pre-norm: ``x + dropout(sublayer(norm(x)))``, an identity path from input to output."""
    if norm_first:
        return x + dropout(sublayer(norm(x)))
    return norm(x + dropout(sublayer(x)))


class _Layer(nn.Module):
    """What both layers share: the config, a rotary callable (or None), the FFN and dropout."""

    def __init__(self, cfg: TransformerConfig, n_norms: int):
        super().__init__()
        if not isinstance(cfg, TransformerConfig):
            raise ValueError(f"cfg must be a TransformerConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, dropout=cfg.dropout, bias=cfg.bias)
        self.ffn = FeedForward(cfg.d_model, cfg.d_ff, cfg.ffn, bias=cfg.bias, dropout=cfg.dropout)
        self.norms = nn.ModuleList(make_norm(cfg.norm, cfg.d_model, cfg.norm_eps, cfg.bias) for _ in range(n_norms))
        self.dropout = nn.Dropout(cfg.dropout)
        self.rotary = RotaryEmbedding(cfg.d_head) if cfg.positions == "rotary" else None

    def _block(self, x, sublayer, i):
        return residual(x, sublayer, self.norms[i], self.dropout, self.cfg.norm_first)

    @torch.no_grad()
    def _load_common(self, layer: nn.Module, attn_pairs) -> None:
        if self.cfg.norm != "layernorm" or self.cfg.ffn not in ("relu", "gelu") or not self.cfg.bias:
            raise ValueError(
                "torch's layers use LayerNorm, a relu/gelu FFN and biases; this layer has "
                f"norm={self.cfg.norm!r}, ffn={self.cfg.ffn!r}, bias={self.cfg.bias}"
            )
        if layer.norm_first != self.cfg.norm_first:
            raise ValueError(f"norm_first differs: torch layer {layer.norm_first}, this layer {self.cfg.norm_first}")
        for mine, theirs in attn_pairs:
            mine.load_torch_weights(theirs)
        for mine, theirs in ((self.ffn.up, layer.linear1), (self.ffn.down, layer.linear2)):
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
        for i, norm in enumerate(self.norms):
            theirs = getattr(layer, f"norm{i + 1}")
            norm.weight.copy_(theirs.weight)
            norm.bias.copy_(theirs.bias)


class EncoderLayer(_Layer):
    """Self-attention then FFN, each in a residual block: (B, S, D) -> (B, S, D)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__(cfg, n_norms=2)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, *, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, S, D); mask bool (B, 1, S) or (S, S) etc., True = may attend.
        Returns (x (B, S, D), self-attention weights (B, H, S, S) or None)."""
        weights = None

        def attend(h):
            nonlocal weights
            out, weights = self.self_attn(h, mask=mask, need_weights=need_weights, rotary=self.rotary)
            return out

        x = self._block(x, attend, 0)
        x = self._block(x, self.ffn, 1)
        return x, weights

    def load_torch_weights(self, layer: nn.TransformerEncoderLayer) -> "EncoderLayer":
        """Copy a ``torch.nn.TransformerEncoderLayer``'s weights (norm1/norm2, linear1/linear2); returns self."""
        if not isinstance(layer, nn.TransformerEncoderLayer):
            raise ValueError(f"layer must be a torch.nn.TransformerEncoderLayer, got {type(layer).__name__}")
        self._load_common(layer, [(self.self_attn, layer.self_attn)])
        return self


class DecoderLayer(_Layer):
    """Masked self-attention, cross-attention over the encoder's memory, FFN: (B, T, D) -> (B, T, D)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__(cfg, n_norms=3)
        self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, dropout=cfg.dropout, bias=cfg.bias)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        *,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D); memory (B, S, D) from the encoder; self_mask (T, T) causal (or (B, T, T));
        memory_mask (B, 1, S) source padding. Returns (x (B, T, D), cross-attention weights
        (B, H, T, S) or None). Rotary positions apply to self-attention only: source and
        target positions are not on one axis."""
        weights = None

        def attend_self(h):
            return self.self_attn(h, mask=self_mask, rotary=self.rotary)[0]

        def attend_memory(h):
            nonlocal weights
            out, weights = self.cross_attn(h, memory, memory, mask=memory_mask, need_weights=need_weights)
            return out

        x = self._block(x, attend_self, 0)
        x = self._block(x, attend_memory, 1)
        x = self._block(x, self.ffn, 2)
        return x, weights

    def load_torch_weights(self, layer: nn.TransformerDecoderLayer) -> "DecoderLayer":
        """Copy a ``torch.nn.TransformerDecoderLayer``'s weights (self_attn, multihead_attn,
        norm1-3, linear1/linear2); returns self."""
        if not isinstance(layer, nn.TransformerDecoderLayer):
            raise ValueError(f"layer must be a torch.nn.TransformerDecoderLayer, got {type(layer).__name__}")
        self._load_common(layer, [(self.self_attn, layer.self_attn), (self.cross_attn, layer.multihead_attn)])
        return self
