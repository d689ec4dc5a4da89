"""Blocked local (sliding-window) attention: memory O(n * w) instead of O(n^2).

The sequence is cut into blocks of ``w`` positions; each block of queries reads only
its own block of keys and the block before it (and, centred, the block after it),
never the whole sequence. Inside those 2w (or 3w) keys the exact sliding-window rule
of :func:`coursekit.efficient.patterns.local_mask` is applied, so the result equals
full attention with that mask, while the score tensor holds ``n * 2w`` (or ``n * 3w``)
numbers instead of ``n * n``.

Papers: Niki Parmar, Ashish Vaswani, Jakob Uszkoreit, Lukasz Kaiser, Noam Shazeer,
Alexander Ku, Dustin Tran (2018), "Image Transformer", https://arxiv.org/abs/1802.05751,
Sec. 3.2 (local 1D attention: query blocks attend to their block and a memory block
before it); Iz Beltagy, Matthew E. Peters, Arman Cohan (2020), "Longformer: The
Long-Document Transformer", https://arxiv.org/abs/2004.05150, Sec. 3.1 (sliding window:
w/2 keys on each side, Fig. 2b; its computation grows as O(n x w), linearly in n).

Legend: ... leading dims (batch, heads), T sequence length (queries = keys), Dh
query/key width, Dv value width, w window = block size, C = ceil(T / w) blocks,
K = 2w (causal) or 3w (centred) keys per block.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..utils import check_bool, check_positive, check_tensor

__all__ = ["blocked_local_attention"]


def _key_windows(x: torch.Tensor, w: int, n_blocks: int, causal: bool) -> torch.Tensor:
    """(..., T, E) -> (..., C, K, E): for each block c, the positions (c-1)w .. cw+K-w-1,
    zeros outside the sequence. One padded copy of ``x``; the windows are a strided view
    into it (``unfold``), not K/w more copies."""
    K = (2 if causal else 3) * w
    T = x.shape[-2]
    back = n_blocks * w + K - 2 * w - T  # zeros after the sequence so the last window fits
    xp = F.pad(x, (0, 0, w, back))  # (..., w + T + back, E): one block of zeros in front
    return xp.unfold(-2, K, w).transpose(-2, -1)  # (..., C, K, E), a view


def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[int, int]:
    """Validate self-attention inputs q (..., T, Dh), k (..., T, Dh), v (..., T, Dv); return (T, Dh)."""
    check_tensor("q", q, dtype="float")
    if q.dim() < 2:
        raise ValueError(f"q must have shape (..., T, Dh), got a {q.dim()}-d tensor")
    lead = [None] * (q.dim() - 2)
    T, Dh = q.shape[-2:]
    check_tensor("k", k, shape=(*lead, T, Dh), dtype="float")
    check_tensor("v", v, shape=(*lead, T, None), dtype="float")
    if k.shape[:-2] != q.shape[:-2] or v.shape[:-2] != q.shape[:-2]:
        raise ValueError(
            f"q, k and v must share their leading dims, got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    return T, Dh


def blocked_local_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    window: int,
    *,
    causal: bool = True,
    scale: float | None = None,
) -> torch.Tensor:
    """Sliding-window softmax attention computed block by block.

    q (..., T, Dh), k (..., T, Dh), v (..., T, Dv), floating (self-attention: queries
    and keys are the same T positions); ``window`` w >= 1. ``causal=True``: query i reads
    keys ``i - w + 1 .. i``; ``causal=False``: keys within ``w // 2`` of i. Returns
    (..., T, Dv), equal to ``scaled_dot_product_attention(q, k, v, local_mask(T, w, causal=...))``
    for any T (the last block is zero-padded and the padding masked out). The largest
    intermediate is the (..., C, w, K) score tensor: about ``T * K`` numbers, O(T * w).
    """
    check_positive("window", window)
    check_bool("causal", causal)
    T, Dh = _check_qkv(q, k, v)
    w = window
    scale = 1.0 / math.sqrt(Dh) if scale is None else scale
    C = -(-T // w)  # ceil(T / w) blocks
    qb = F.pad(q * scale, (0, 0, 0, C * w - T)).unflatten(-2, (C, w))  # (..., C, w, Dh)
    kb = _key_windows(k, w, C, causal)  # (..., C, K, Dh)
    vb = _key_windows(v, w, C, causal)  # (..., C, K, Dv)
    scores = qb @ kb.transpose(-2, -1)  # (..., C, w, K)

    # The window rule depends only on the offset inside a block pair, so it is one (w, K)
    # table for every block; the (C, K) key positions hide the zero padding before the
    # first block and after the last. Query a of block c is position cw + a; key b of its
    # window is position (c - 1)w + b; i - j = a - b + w.
    dev = q.device
    K = kb.shape[-2]
    rel = torch.arange(w, device=dev)[:, None] - torch.arange(K, device=dev) + w  # (w, K): i - j
    rule = (rel >= 0) & (rel < w) if causal else rel.abs() <= w // 2  # (w, K)
    kpos = (torch.arange(C, device=dev)[:, None] - 1) * w + torch.arange(K, device=dev)  # (C, K)
    qpos = torch.arange(C, device=dev)[:, None] * w + torch.arange(w, device=dev)  # (C, w)
    allowed = rule & ((kpos >= 0) & (kpos < T))[:, None, :]  # (C, w, K)
    # Padded queries (cut below) read everything, so that no row is all -inf: a NaN there
    # would reach the values' gradient through weights^T @ grad. Every real query reads itself.
    allowed |= (qpos >= T)[:, :, None]
    # Masked in place: two score-sized tensors alive, not three.
    weights = torch.softmax(scores.masked_fill_(~allowed, float("-inf")), dim=-1)  # (..., C, w, K)
    out = weights @ vb  # (..., C, w, Dv)
    return out.flatten(-3, -2)[..., :T, :]  # (..., T, Dv)
