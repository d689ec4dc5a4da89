"""Token embeddings with positions, and a stack of blocks that runs on any embeddings module.

- :class:`Embeddings`: token ids (B, T) -> vectors (B, T, D), optionally scaled by sqrt(D)
  (Vaswani et al. 2017, Sec. 3.4; GPT and BERT do not scale), plus sinusoidal or learned
  positions from any offset (a key/value cache decodes position t after t earlier ones).
- :class:`Stack`: an embeddings module, L blocks (:class:`~.block.Block` or
  :class:`~.block.CrossAttentionBlock`), and one more norm at the end when the blocks are
  pre-norm. It returns every layer's attention weights as a tuple of (B, H, T, S) tensors,
  the format transformers returns and bertviz's ``head_view`` reads.

An embeddings module for :class:`Stack` is any module called as
``embed(ids, position_offset=..., **kwargs) -> (B, T, D)``; BERT's (tokens + positions +
segments, then LayerNorm) is one, passed its ``token_type_ids`` through ``**kwargs``.

Legend: B batch, T length, S source length, D d_model, H heads, V vocabulary, L layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..utils import check_bool, check_choice, check_int, check_positive, check_real
from .block import Block, BlockConfig, CrossAttentionBlock
from .norms import make_norm
from .positions import LearnedPositions, RotaryEmbedding, SinusoidalPositions

__all__ = ["POSITIONS", "Embeddings", "StackOutput", "Stack"]

POSITIONS = ("sinusoidal", "learned", "rotary", "none")


class Embeddings(nn.Module):
    """Token ids (B, T) -> vectors (B, T, D): ``embed(ids) * (sqrt(D) if scale else 1)`` plus
    positions, then dropout.

    ``embed`` may be an existing ``nn.Embedding`` to share (one vocabulary, Sec. 3.4). A new
    one is initialised N(0, 1/D) when ``scale`` (so the scaled embedding has unit variance,
    like the sinusoids), else N(0, 0.02^2) (GPT-2, BERT). Rotary positions live inside
    attention and "none" adds nothing: both leave the vectors as they are here.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        *,
        positions: str = "sinusoidal",
        max_len: int = 128,
        scale: bool = True,
        dropout: float = 0.0,
        padding_idx: int | None = 0,
        embed: nn.Embedding | None = None,
    ):
        super().__init__()
        check_positive("vocab_size", vocab_size)
        check_positive("d_model", d_model)
        check_choice("positions", positions, POSITIONS)
        check_positive("max_len", max_len)
        check_bool("scale", scale)
        check_real("dropout", dropout, low=0.0, high=1.0, high_open=True)
        if padding_idx is not None:
            check_int("padding_idx", padding_idx, min=0, max=vocab_size - 1)
        if embed is None:
            embed = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
            nn.init.normal_(embed.weight, std=d_model**-0.5 if scale else 0.02)
            if padding_idx is not None:
                with torch.no_grad():
                    embed.weight[padding_idx].zero_()
        elif tuple(embed.weight.shape) != (vocab_size, d_model):
            raise ValueError(f"embed must be a ({vocab_size}, {d_model}) embedding, got {tuple(embed.weight.shape)}")
        self.vocab_size, self.d_model = vocab_size, d_model
        self.embed, self.scale = embed, (math.sqrt(d_model) if scale else 1.0)
        if positions == "sinusoidal":
            self.positions = SinusoidalPositions(d_model)
        elif positions == "learned":
            self.positions = LearnedPositions(d_model, max_len)
        else:
            self.positions = None
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor, *, position_offset: int = 0) -> torch.Tensor:
        """ids (B, T) long, already checked against the vocabulary by the model -> (B, T, D)."""
        x = self.embed(ids)  # (B, T, D)
        if self.scale != 1.0:  # GPT and BERT do not scale: skip a pass over x (and its backward)
            x = x * self.scale
        if self.positions is not None:
            x = self.positions(x, position_offset)
        return self.dropout(x)


@dataclass(frozen=True)
class StackOutput:
    """``hidden`` (B, T, D), after the final norm when the blocks are pre-norm;
    ``attentions``: one (B, H, T, T) self-attention tensor per layer, and ``cross_attentions``
    one (B, H, T, S) tensor per layer for a stack of cross-attention blocks; both None unless
    asked for with ``need_weights=True``. ``hidden_states``: L + 1 tensors (B, T, D), the
    embeddings' output and each layer's (the last one equal to ``hidden``), as transformers'
    ``output_hidden_states``; None unless asked for with ``need_hidden_states=True``."""

    hidden: torch.Tensor
    attentions: tuple[torch.Tensor, ...] | None = None
    cross_attentions: tuple[torch.Tensor, ...] | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class Stack(nn.Module):
    """``embed``, then ``n_layers`` blocks built from ``cfg``, then a final norm if pre-norm.

    ``cross_attention=True`` builds :class:`CrossAttentionBlock` layers (the 2017 decoder),
    which read a ``memory``. ``rotary=True`` gives the stack one :class:`RotaryEmbedding`
    that every block's self-attention uses (Su et al. 2021; LLaMA).
    """

    def __init__(
        self, cfg: BlockConfig, n_layers: int, embed: nn.Module, *, cross_attention: bool = False, rotary: bool = False
    ):
        super().__init__()
        if not isinstance(cfg, BlockConfig):
            raise ValueError(f"cfg must be a BlockConfig, got {type(cfg).__name__}")
        check_positive("n_layers", n_layers)
        check_bool("cross_attention", cross_attention)
        check_bool("rotary", rotary)
        if rotary and cfg.d_head % 2:
            raise ValueError(f"rotary positions need an even head width d_model/n_heads, got {cfg.d_head}")
        self.cfg, self.cross_attention = cfg, cross_attention
        self.embed = embed
        block = CrossAttentionBlock if cross_attention else Block
        self.layers = nn.ModuleList(block(cfg) for _ in range(n_layers))
        # Pre-norm leaves the residual stream un-normalised: the stack ends with one more norm.
        self.norm = make_norm(cfg.norm, cfg.d_model, cfg.norm_eps, cfg.bias) if cfg.norm_first else nn.Identity()
        self.rotary = RotaryEmbedding(cfg.d_head) if rotary else None

    def forward(
        self,
        ids: torch.Tensor,
        *,
        memory: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        is_causal: bool = False,
        memory_padding_mask: torch.Tensor | None = None,
        need_weights: bool = False,
        position_offset: int = 0,
        kv_cache: Sequence | None = None,
        need_hidden_states: bool = False,
        **embed_kwargs,
    ) -> StackOutput:
        """ids (B, T) long (checked by the model that owns the vocabulary); memory (B, S, D)
        for cross-attention stacks; masks as for :class:`Block` / :class:`CrossAttentionBlock`,
        True = may attend; ``position_offset``: the position of ids[:, 0]; ``kv_cache``: one
        key/value cache per layer (e.g. :class:`coursekit.gpt.KVCache`), self-attention stacks only;
        ``need_hidden_states``: also return every layer's output (:class:`StackOutput`)."""
        if self.cross_attention and memory is None:
            raise ValueError("memory must be a (B, S, D) tensor for a stack of cross-attention blocks, got None")
        if not self.cross_attention and (memory is not None or memory_padding_mask is not None):
            raise ValueError("memory and memory_padding_mask are only for a stack built with cross_attention=True")
        x = self.embed(ids, position_offset=position_offset, **embed_kwargs)  # (B, T, D)
        common = dict(
            key_padding_mask=key_padding_mask, mask=mask, is_causal=is_causal, need_weights=need_weights,
            rotary=self.rotary, position_offset=position_offset,
        )
        if kv_cache is not None and (self.cross_attention or len(kv_cache) != len(self.layers)):
            raise ValueError(
                f"kv_cache must hold one cache per layer ({len(self.layers)}) of a self-attention stack, "
                f"got {len(kv_cache)} for a stack with cross_attention={self.cross_attention}"
            )
        check_bool("need_hidden_states", need_hidden_states)
        attentions, cross, states = [], [], [x]
        for i, layer in enumerate(self.layers):
            if self.cross_attention:
                x, (w, c) = layer(x, memory, memory_padding_mask=memory_padding_mask, **common)
                cross.append(c)
            else:
                x, w = layer(x, kv_cache=None if kv_cache is None else kv_cache[i], **common)
            attentions.append(w)
            states.append(x)
        hidden = self.norm(x)
        states[-1] = hidden  # after the final norm (pre-norm), as transformers' GPT-2 reports it
        hidden_states = tuple(states) if need_hidden_states else None
        if not need_weights:
            return StackOutput(hidden, hidden_states=hidden_states)
        return StackOutput(hidden, tuple(attentions), tuple(cross) if self.cross_attention else None, hidden_states)
