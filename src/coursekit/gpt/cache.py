"""The key/value cache: generate one token at a time without recomputing the past.

A causal model's keys and values at positions < t do not depend on the tokens after them,
so when decoding step t they are exactly those of step t - 1. The cache keeps them, per
layer; each step then runs the model on the one new token (T = 1) at position offset t,
which attends to the S = t + 1 cached keys. Cost per step: O(S) attention instead of the
O(S^2) of a full pass over the prefix (the notebook measures both).

Pope et al. (2022), *Efficiently Scaling Transformer Inference*, https://arxiv.org/abs/2211.05102,
Sec. 2 (the KV cache and its memory cost); the idea goes back to incremental decoding in
fairseq and Tensor2Tensor.

Legend: B batch, H heads, S keys so far, T new positions, Dh head width, L layers.
"""

from __future__ import annotations

import torch

from ..utils import check_int, check_positive

__all__ = ["KVCacheLayer", "KVCache"]


class KVCacheLayer:
    """One layer's keys and values, in buffers of ``capacity`` positions grown on demand.

    ``update(k, v)`` (each (B, H, T, Dh)) writes them after the stored ones and returns views
    of all of them, (B, H, S, Dh), which is what :class:`coursekit.attention.MultiHeadAttention`
    calls with its ``kv_cache`` argument.
    """

    def __init__(self, capacity: int):
        check_positive("capacity", capacity)
        self.capacity = capacity
        self.keys: torch.Tensor | None = None  # (B, H, capacity, Dh) buffer
        self.values: torch.Tensor | None = None
        self.length = 0

    def update(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if k.shape != v.shape or k.dim() != 4:
            raise ValueError(f"k and v must both be (B, H, T, Dh), got {tuple(k.shape)} and {tuple(v.shape)}")
        B, H, T, Dh = k.shape
        end = self.length + T
        if end > self.capacity:
            raise ValueError(f"the cache holds at most capacity={self.capacity} positions, got {self.length} + T={T}")
        if self.keys is None:
            self.keys = k.new_empty(B, H, self.capacity, Dh)  # (B, H, capacity, Dh)
            self.values = v.new_empty(B, H, self.capacity, Dh)
        elif self.keys.shape[:2] != (B, H) or self.keys.shape[-1] != Dh or self.keys.dtype != k.dtype:
            raise ValueError(
                f"k must match the cached keys (B, H, ., Dh) = {tuple(self.keys.shape[:2])} + ({self.keys.shape[-1]},) "
                f"{self.keys.dtype}, got {tuple(k.shape)} {k.dtype}"
            )
        self.keys[:, :, self.length : end] = k
        self.values[:, :, self.length : end] = v
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]  # (B, H, S, Dh) views


class KVCache:
    """Keys and values of every layer of one model, for one batch of sequences.

    ``len(cache)`` is the number of layers, ``cache[i]`` layer i's :class:`KVCacheLayer`,
    ``cache.length`` the positions stored so far, which is also the position of the next
    token (the model passes it on as ``position_offset``). ``capacity`` is the most positions
    it can hold (a GPT's ``n_positions``). Use it under ``torch.no_grad()`` for decoding.
    """

    def __init__(self, n_layer: int, capacity: int):
        check_positive("n_layer", n_layer)
        check_positive("capacity", capacity)
        self.capacity = capacity
        self.layers = [KVCacheLayer(capacity) for _ in range(n_layer)]

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> KVCacheLayer:
        return self.layers[i]

    @property
    def length(self) -> int:
        return self.layers[0].length

    def crop(self, length: int) -> "KVCache":
        """Forget every position from ``length`` on (the buffers stay); returns self."""
        check_int("length", length, min=0, max=self.length)
        for layer in self.layers:
            layer.length = length
        return self

    def nbytes(self) -> int:
        """Memory the buffers hold, in bytes (2 * L * B * H * capacity * Dh elements)."""
        return sum(t.numel() * t.element_size() for layer in self.layers for t in (layer.keys, layer.values) if t is not None)

    def __repr__(self) -> str:
        return f"KVCache(n_layer={len(self)}, length={self.length}, capacity={self.capacity})"
