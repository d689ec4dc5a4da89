"""XLNet's permutation language model at a size a reader can print.

Yang, Dai, Yang, Carbonell, Salakhutdinov & Le (2019), *XLNet: Generalized Autoregressive
Pretraining for Language Understanding*, NeurIPS, https://arxiv.org/abs/1906.08237:

- Sec. 2.2, Eq. (3): maximise the expected log-likelihood over factorisation orders z of
  the positions, sum_t log p(x_{z_t} | x_{z_<t}). The tokens keep their positions; only the
  order in which they are predicted changes, which attention masks express.
- Sec. 2.3, two-stream self-attention: the content stream h_{z_t} sees x_{z_<=t} (itself
  included), as a standard Transformer state; the query stream g_{z_t} sees x_{z_<t} and
  the position z_t but not x_{z_t}, the token it must predict. g starts from one trainable
  vector w, h from the token embedding; both streams use the same weights (the two-stream update of Sec. 2.3).
- Sec. 2.3, partial prediction: only the last tokens of an order (the targets) are predicted;
  the others are context. In the released code (and transformers'
  ``DataCollatorForPermutationLanguageModeling``) the context tokens are visible to every
  position and see no target.

Simplification: XLNet's layers are Transformer-XL's, with relative positions and a memory;
here the position is an absolute embedding added to both streams (so the query stream knows
*where* it predicts), one layer, no feed-forward.

Masks are the course's convention, bool with True = may attend. transformers' ``perm_mask``
is the opposite (1.0 = may *not* attend) and is the query stream's mask; XLNetModel derives the
content stream's by letting each position see itself (:func:`to_hf_perm_mask`).

Legend: B batch, T sequence length, D width, H heads, V vocabulary, N orders.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import MultiHeadAttention
from .utils import check_int, check_positive, check_tensor

__all__ = [
    "sample_orders",
    "order_ranks",
    "partial_targets",
    "TwoStreamMasks",
    "permutation_masks",
    "to_hf_perm_mask",
    "TwoStreamConfig",
    "TwoStreamOutput",
    "TwoStreamAttention",
    "plm_loss",
]


def _check_generator(generator: object) -> None:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")


def sample_orders(length: int, n: int, *, generator: torch.Generator) -> torch.Tensor:
    """``n`` factorisation orders of ``length`` positions, (N, T) long: row k lists the
    positions in the order they are predicted (``order[k, t]`` = z_t), each a uniform random
    permutation drawn from ``generator``."""
    check_positive("length", length)
    check_positive("n", n)
    _check_generator(generator)
    return torch.stack([torch.randperm(length, generator=generator) for _ in range(n)])


def _check_order(order: torch.Tensor) -> torch.Tensor:
    """``order`` (T,) or (B, T) long, each row a permutation of 0..T-1; returned as (B, T)."""
    if not isinstance(order, torch.Tensor) or order.dtype != torch.long or order.dim() not in (1, 2):
        raise ValueError(f"order must be a (T,) or (B, T) long tensor of positions, got {order!r:.80}")
    rows = order.reshape(-1, order.shape[-1])
    T = rows.shape[-1]
    if T == 0 or not torch.equal(rows.sort(-1).values, torch.arange(T, device=rows.device).expand_as(rows)):
        raise ValueError(f"order must hold each position 0..{T - 1} exactly once per row, got {order.tolist()}")
    return rows


def order_ranks(order: torch.Tensor) -> torch.Tensor:
    """The step at which each position is predicted: ``rank[.., order[.., t]] = t``; same
    shape as ``order`` (the inverse permutation)."""
    rows = _check_order(order)
    ranks = torch.empty_like(rows)
    ranks.scatter_(-1, rows, torch.arange(rows.shape[-1], device=rows.device).expand_as(rows))
    return ranks.reshape(order.shape)


def partial_targets(order: torch.Tensor, num_predict: int) -> torch.Tensor:
    """Partial prediction (Sec. 2.3): the last ``num_predict`` positions of each order are the
    targets. Returns a bool tensor shaped like ``order``, True at a target position."""
    rows = _check_order(order)
    check_int("num_predict", num_predict, min=1, max=rows.shape[-1])
    return (order_ranks(rows) >= rows.shape[-1] - num_predict).reshape(order.shape)


@dataclass(frozen=True)
class TwoStreamMasks:
    """The two streams' masks, each (B, T, T) bool (or (T, T) for one order), True = the
    query position (row) may attend to the key position (column)."""

    content: torch.Tensor
    query: torch.Tensor


def permutation_masks(order: torch.Tensor, targets: torch.Tensor | None = None) -> TwoStreamMasks:
    """Content and query stream masks for factorisation order(s) ``order`` ((T,) or (B, T) long).

    With every position a target (``targets`` None): the content stream at position i sees j
    when j comes no later than i in the order (itself included); the query stream when j
    comes strictly earlier. With ``targets`` (bool, shaped like ``order``): the non-targets are
    context, as in XLNet's code and transformers' collator: every position sees them, and they
    see each other but no target (the order decides only among targets).
    """
    rows = _check_order(order)
    ranks = order_ranks(rows)  # (B, T)
    if targets is not None:
        check_tensor("targets", targets, shape=tuple(order.shape), dtype=torch.bool)
        ranks = torch.where(targets.reshape(rows.shape).to(rows.device), ranks, -1)
    content = ranks[:, None, :] <= ranks[:, :, None]  # (B, T, T): key j no later than query i
    query = ranks[:, None, :] < ranks[:, :, None]  # (B, T, T): strictly earlier
    if targets is not None:
        context = (ranks < 0)[:, None, :]  # (B, 1, T): context keys, seen by everyone
        query = query | context
    shape = order.shape + order.shape[-1:]
    return TwoStreamMasks(content.reshape(shape), query.reshape(shape))


def to_hf_perm_mask(masks: TwoStreamMasks) -> torch.Tensor:
    """transformers' ``perm_mask`` (float, 1.0 = may not attend) from our query-stream mask;
    ``XLNetModel`` gives the content stream the same mask with each position seeing itself."""
    if not isinstance(masks, TwoStreamMasks):
        raise ValueError(f"masks must be a TwoStreamMasks, got {type(masks).__name__}")
    return (~masks.query).float()


@dataclass(frozen=True)
class TwoStreamConfig:
    """A one-layer two-stream attention model: tiny by default, for printing."""

    vocab_size: int = 16
    d_model: int = 8
    n_heads: int = 1
    max_len: int = 16

    def __post_init__(self):
        for name in ("vocab_size", "d_model", "n_heads", "max_len"):
            check_positive(name, getattr(self, name))
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got d_model={self.d_model}, n_heads={self.n_heads}")


@dataclass(frozen=True)
class TwoStreamOutput:
    """``content`` and ``query`` (B, T, D): the streams after the layer; ``logits`` (B, T, V):
    the query stream's prediction of the token at each position; ``content_weights`` and
    ``query_weights`` (B, H, T, T): the attention weights of each stream."""

    content: torch.Tensor
    query: torch.Tensor
    logits: torch.Tensor
    content_weights: torch.Tensor
    query_weights: torch.Tensor


class TwoStreamAttention(nn.Module):
    """One layer of XLNet's two-stream self-attention (Sec. 2.3), shared weights.

    h^(0)_i = e(x_i) + p_i,  g^(0)_i = w + p_i  (w trainable: the query stream's start);
    h^(1) = h^(0) + Attn(Q = h^(0), KV = h^(0), content mask);
    g^(1) = g^(0) + Attn(Q = g^(0), KV = h^(0), query mask);
    logits = g^(1) e^T (the output layer tied to the token embedding).
    A query row that sees no key (the first target of an order) gets a zero update and
    predicts from w and its position alone.
    """

    def __init__(self, config: TwoStreamConfig):
        super().__init__()
        if not isinstance(config, TwoStreamConfig):
            raise ValueError(f"config must be a TwoStreamConfig, got {type(config).__name__}")
        self.config = config
        D = config.d_model
        self.tok = nn.Embedding(config.vocab_size, D)
        self.pos = nn.Embedding(config.max_len, D)
        self.w = nn.Parameter(torch.randn(D) * 0.02)  # the query stream's learned start (XLNet's mask_emb)
        self.attn = MultiHeadAttention(D, config.n_heads, bias=False)  # one set for both streams; no biases, as XLNet

    def forward(self, ids: torch.Tensor, order: torch.Tensor, targets: torch.Tensor | None = None) -> TwoStreamOutput:
        """ids (B, T) long; order (T,) or (B, T) long; targets as :func:`permutation_masks`."""
        dims = check_tensor("ids", ids, shape=("B", "T"), dtype=torch.long)
        B, T = dims["B"], dims["T"]
        if T > self.config.max_len:
            raise ValueError(f"ids must have at most max_len={self.config.max_len} positions, got {T}")
        masks = permutation_masks(order, targets)
        content_mask, query_mask = masks.content, masks.query
        if content_mask.shape[-1] != T:
            raise ValueError(f"order must have T={T} positions like ids, got {content_mask.shape[-1]}")
        p = self.pos(torch.arange(T, device=ids.device))  # (T, D)
        h = self.tok(ids) + p  # (B, T, D)
        g = self.w.expand(B, T, -1) + p  # (B, T, D)
        dh, cw = self.attn(h, h, h, mask=content_mask, need_weights=True)  # (B, T, D), (B, H, T, T)
        dg, qw = self.attn(g, h, h, mask=query_mask, need_weights=True)
        h, g = h + dh, g + dg
        return TwoStreamOutput(h, g, g @ self.tok.weight.T, cw, qw)


def plm_loss(logits: torch.Tensor, ids: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy of the query stream's predictions at the target positions
    (every position when ``targets`` is None): logits (B, T, V), ids (B, T) long, targets
    (B, T) bool."""
    dims = check_tensor("logits", logits, shape=("B", "T", "V"), dtype="float")
    check_tensor("ids", ids, shape=("B", "T"), dtype=torch.long, dims=dims)
    labels = ids
    if targets is not None:
        check_tensor("targets", targets, shape=("B", "T"), dtype=torch.bool, dims=dims)
        labels = torch.where(targets, ids, -100)
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
