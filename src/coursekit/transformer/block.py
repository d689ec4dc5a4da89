"""The Transformer block, defined once for every model in the course: the 2017 encoder and
decoder (Chapter 5), GPT's causal block (Chapter 6), BERT's and ALBERT's bidirectional
block (Chapters 9-10).

- :class:`BlockConfig`: what a block needs (width, heads, FFN width and kind, norm kind
  and placement, bias, eps, dropout) and nothing about vocabularies or positions.
- :class:`Block`: self-attention then FFN, each in a residual block, pre- or post-norm;
  bidirectional (BERT, the 2017 encoder) or causal (GPT), chosen per call.
- :class:`CrossAttentionBlock`: the same parts plus attention over an encoder's output
  (the 2017 decoder).

Vaswani et al. (2017), https://arxiv.org/abs/1706.03762, Sec. 3.1: each sublayer
(self-attention, cross-attention, FFN) is wrapped as ``LayerNorm(x + Sublayer(x))``
(post-norm), with a residual connection (He et al. 2016, https://arxiv.org/abs/1512.03385)
and layer normalisation (Ba et al. 2016). Xiong et al. (2020), *On Layer Normalization
in the Transformer Architecture*, https://arxiv.org/abs/2002.04745: the pre-norm block
``x + Sublayer(LayerNorm(x))`` keeps gradients well-behaved at initialisation and trains
without warm-up.

The blocks give the same outputs as ``torch.nn.TransformerEncoderLayer`` /
``TransformerDecoderLayer`` (batch_first=True, same ``norm_first``, activation and eps)
once ``load_torch_weights`` has copied their weights (tests check both placements and
both activations, outputs and gradients).

Legend: B batch, T query length, S key (source) length, D d_model, H heads, F d_ff.
Masks: bool, True = may attend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..attention import MultiHeadAttention
from ..utils import check_bool, check_choice, check_positive, check_real, plain_numbers
from .ffn import FFNS, FeedForward, ffn_parameters
from .norms import NORMS, make_norm, norm_parameters

__all__ = ["BlockConfig", "residual", "Block", "CrossAttentionBlock", "block_parameters"]


@dataclass(frozen=True)
class BlockConfig:
    """One Transformer block. CPU-sized defaults; the 2017 base model in the comments."""

    d_model: int = 64  # paper base: 512
    n_heads: int = 4  # paper base: 8
    d_ff: int = 128  # paper base: 2048 = 4 * d_model
    ffn: str = "relu"  # paper: "relu"; BERT, GPT: "gelu"; LLaMA: "swiglu"
    norm: str = "layernorm"  # paper: "layernorm"; LLaMA: "rmsnorm"
    norm_first: bool = False  # paper, BERT: False (post-norm); GPT-2, LLaMA: True (pre-norm)
    bias: bool = True  # paper: True; LLaMA: False
    norm_eps: float = 1e-5  # paper: not stated; torch's default; BERT: 1e-12; LLaMA: 1e-6
    dropout: float = 0.0  # paper base: 0.1

    def __post_init__(self):
        plain_numbers(self)
        for name in ("d_model", "n_heads", "d_ff"):
            check_positive(name, getattr(self, name))
        check_choice("ffn", self.ffn, FFNS)
        check_choice("norm", self.norm, NORMS)
        check_bool("norm_first", self.norm_first)
        check_bool("bias", self.bias)
        check_real("norm_eps", self.norm_eps, low=0.0, low_open=True)
        check_real("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got d_model={self.d_model}, n_heads={self.n_heads}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


def block_parameters(cfg: BlockConfig, *, cross_attention: bool = False) -> int:
    """How many parameters ``Block(cfg)`` (or ``CrossAttentionBlock(cfg)``) has, without building it."""
    D, b = cfg.d_model, cfg.bias
    attention = 4 * (D * D + (D if b else 0))  # W^Q, W^K, W^V, W^O
    n_attn = 2 if cross_attention else 1
    norm = norm_parameters(cfg.norm, D, b)
    return n_attn * attention + ffn_parameters(D, cfg.d_ff, cfg.ffn, b) + (n_attn + 1) * norm


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


def _torch_activation(layer: nn.Module) -> str:
    """The FFN kind of a torch Transformer layer: "relu", "gelu", or a description of anything else."""
    act = layer.activation
    if act is F.relu or isinstance(act, nn.ReLU):
        return "relu"
    if act is F.gelu or (isinstance(act, nn.GELU) and act.approximate == "none"):
        return "gelu"
    return repr(act)


class Block(nn.Module):
    """Self-attention then FFN, each in a residual block: (B, T, D) -> (B, T, D).

    Submodules ``self_attn``, ``ffn``, ``norm1`` (around attention), ``norm2`` (around the
    FFN), named as in ``torch.nn.TransformerEncoderLayer``. The block has no positions of
    its own: rotary positions come in as ``rotary`` from the model that owns them.
    """

    n_norms = 2

    def __init__(self, cfg: BlockConfig):
        super().__init__()
        if not isinstance(cfg, BlockConfig):
            raise ValueError(f"cfg must be a BlockConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, dropout=cfg.dropout, bias=cfg.bias)
        self.ffn = FeedForward(cfg.d_model, cfg.d_ff, cfg.ffn, bias=cfg.bias, dropout=cfg.dropout)
        for i in range(1, self.n_norms + 1):
            self.add_module(f"norm{i}", make_norm(cfg.norm, cfg.d_model, cfg.norm_eps, cfg.bias))
        self.dropout = nn.Dropout(cfg.dropout)

    def _residual(self, x, sublayer, norm):
        return residual(x, sublayer, norm, self.dropout, self.cfg.norm_first)

    def _self_attention(self, x, key_padding_mask, mask, is_causal, need_weights, rotary, position_offset, kv_cache=None):
        weights = None

        def attend(h):
            nonlocal weights
            out, weights = self.self_attn(
                h, mask=mask, key_padding_mask=key_padding_mask, is_causal=is_causal, need_weights=need_weights,
                rotary=rotary, position_offset=position_offset, kv_cache=kv_cache,
            )
            return out

        return self._residual(x, attend, self.norm1), weights

    def forward(
        self,
        x: torch.Tensor,
        *,
        key_padding_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        is_causal: bool = False,
        need_weights: bool = False,
        rotary: Callable[..., torch.Tensor] | None = None,
        position_offset: int = 0,
        kv_cache: Any = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D) float; key_padding_mask (B, T) bool; mask (T, T), (B, T, T) or
        (B, H, T, T) bool; is_causal: position t sees positions <= t (GPT). Masks combine with "and"
        (see :class:`coursekit.attention.MultiHeadAttention`). ``kv_cache``: this layer's key/value
        cache, passed on to the self-attention (the masks then span the S cached + new keys).
        Returns (x (B, T, D), self-attention weights (B, H, T, T), or (B, H, T, S) with a cache,
        with ``need_weights``, else None)."""
        x, weights = self._self_attention(
            x, key_padding_mask, mask, is_causal, need_weights, rotary, position_offset, kv_cache
        )
        return self._residual(x, self.ffn, self.norm2), weights

    @torch.no_grad()
    def load_torch_weights(self, layer: nn.Module) -> "Block":
        """Copy a ``torch.nn.TransformerEncoderLayer``'s weights (self_attn, linear1/linear2,
        norm1/norm2); refuses a layer that computes something else. Returns self."""
        if not isinstance(layer, nn.TransformerEncoderLayer):
            raise ValueError(f"layer must be a torch.nn.TransformerEncoderLayer, got {type(layer).__name__}")
        self._load_common(layer, [(self.self_attn, layer.self_attn)])
        return self

    def _load_common(self, layer: nn.Module, attn_pairs) -> None:
        cfg = self.cfg
        if cfg.norm != "layernorm" or cfg.ffn not in ("relu", "gelu") or not cfg.bias:
            raise ValueError(
                "torch's layers use LayerNorm, a relu/gelu FFN and biases; this block has "
                f"norm={cfg.norm!r}, ffn={cfg.ffn!r}, bias={cfg.bias}"
            )
        if layer.norm_first != cfg.norm_first:
            raise ValueError(f"norm_first differs: torch layer {layer.norm_first}, this block {cfg.norm_first}")
        activation = _torch_activation(layer)
        if activation != cfg.ffn:
            raise ValueError(f"the activation differs: torch layer {activation}, this block ffn={cfg.ffn!r}")
        for i in range(1, self.n_norms + 1):
            eps = getattr(layer, f"norm{i}").eps
            if eps != cfg.norm_eps:
                raise ValueError(f"the norm eps differs: torch layer norm{i}.eps={eps:g}, this block norm_eps={cfg.norm_eps:g}")
        if (layer.linear1.in_features, layer.linear1.out_features) != (cfg.d_model, cfg.d_ff):
            raise ValueError(
                f"the FFN differs: torch layer linear1 is {layer.linear1.in_features} -> {layer.linear1.out_features}, "
                f"this block d_model={cfg.d_model} -> d_ff={cfg.d_ff}"
            )
        for mine, theirs in attn_pairs:
            mine.load_torch_weights(theirs)
        for mine, theirs in ((self.ffn.up, layer.linear1), (self.ffn.down, layer.linear2)):
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
        for i in range(1, self.n_norms + 1):
            mine, theirs = getattr(self, f"norm{i}"), getattr(layer, f"norm{i}")
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)


class CrossAttentionBlock(Block):
    """Self-attention, attention over a memory (the encoder's output), FFN: (B, T, D) -> (B, T, D).

    The 2017 decoder block. ``cross_attn`` and ``norm2`` (around it) sit between the
    self-attention and the FFN, whose norm is ``norm3``, as in ``torch.nn.TransformerDecoderLayer``.
    """

    n_norms = 3

    def __init__(self, cfg: BlockConfig):
        super().__init__(cfg)
        self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, dropout=cfg.dropout, bias=cfg.bias)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        *,
        key_padding_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        is_causal: bool = True,
        memory_padding_mask: torch.Tensor | None = None,
        need_weights: bool = False,
        rotary: Callable[..., torch.Tensor] | None = None,
        position_offset: int = 0,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, torch.Tensor | None]]:
        """x (B, T, D); memory (B, S, D); self-attention masks as for :class:`Block` (causal by
        default); memory_padding_mask (B, S) bool, False at padded source positions.
        Returns (x (B, T, D), (self-attention weights (B, H, T, T), cross-attention weights
        (B, H, T, S))), the weights None without ``need_weights``. Rotary positions apply to
        self-attention only: source and target positions are not on one axis."""
        x, self_weights = self._self_attention(x, key_padding_mask, mask, is_causal, need_weights, rotary, position_offset)
        cross_weights = None

        def attend_memory(h):
            nonlocal cross_weights
            out, cross_weights = self.cross_attn(h, memory, memory, key_padding_mask=memory_padding_mask, need_weights=need_weights)
            return out

        x = self._residual(x, attend_memory, self.norm2)
        return self._residual(x, self.ffn, self.norm3), (self_weights, cross_weights)

    @torch.no_grad()
    def load_torch_weights(self, layer: nn.Module) -> "CrossAttentionBlock":
        """Copy a ``torch.nn.TransformerDecoderLayer``'s weights (self_attn, multihead_attn,
        norm1-3, linear1/linear2); refuses a layer that computes something else. Returns self."""
        if not isinstance(layer, nn.TransformerDecoderLayer):
            raise ValueError(f"layer must be a torch.nn.TransformerDecoderLayer, got {type(layer).__name__}")
        self._load_common(layer, [(self.self_attn, layer.self_attn), (self.cross_attn, layer.multihead_attn)])
        return self
