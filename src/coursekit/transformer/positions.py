"""Where a token is: sinusoidal, learned and rotary positions.

Self-attention is permutation-equivariant (Chapter 4): shuffle the tokens and
the outputs shuffle with them. Order has to be put in by hand.

- Vaswani et al. (2017), *Attention Is All You Need*, https://arxiv.org/abs/1706.03762,
  Sec. 3.5: the sinusoidal encoding, added to the embeddings;
  learned position embeddings (Gehring et al. 2017) "produced nearly identical results".
- Su, Lu, Pan, Murtadha, Wen & Liu (2021), *RoFormer: Enhanced Transformer with Rotary
  Position Embedding*, https://arxiv.org/abs/2104.09864, Sec. 3.2-3.4 (Eq. 34): rotary
  positions rotate each pair of query/key features by an angle proportional to the
  position, so q_m . k_n depends on m - n only.

Legend: B batch, T length, D d_model, H heads, Dh head width.
"""

from __future__ import annotations

import torch
from torch import nn

from ..utils import check_positive, check_tensor

__all__ = ["sinusoidal_encoding", "SinusoidalPositions", "LearnedPositions", "RotaryEmbedding"]


def _check_even(name: str, value: int) -> None:
    check_positive(name, value)
    if value % 2:
        raise ValueError(f"{name} must be even (features come in sin/cos pairs), got {value}")


def sinusoidal_encoding(
    T: int, d_model: int, *, base: float = 10000.0, device=None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The (T, D) matrix of Vaswani et al. (2017), Sec. 3.5:
    ``PE[pos, 2i] = sin(pos / base^(2i/D))``, ``PE[pos, 2i+1] = cos(pos / base^(2i/D))``.

    Each pair of columns is a clock with its own frequency; the wavelengths form
    a geometric progression from 2*pi to base*2*pi.
    """
    check_positive("T", T)
    _check_even("d_model", d_model)
    pos = torch.arange(T, device=device, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, device=device, dtype=torch.float64)  # (D/2,) the even indices 2i
    angle = pos / base ** (two_i / d_model)  # (T, D/2)
    pe = torch.empty(T, d_model, device=device, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)  # interleaved: sin, cos, sin, cos, ...
    return pe.to(dtype)


class SinusoidalPositions(nn.Module):
    """Adds :func:`sinusoidal_encoding` to (B, T, D) embeddings. No parameters, any length."""

    def __init__(self, d_model: int, base: float = 10000.0):
        super().__init__()
        _check_even("d_model", d_model)
        self.d_model, self.base = d_model, base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = check_tensor("x", x, shape=("B", "T", self.d_model), dtype="float")
        return x + sinusoidal_encoding(dims["T"], self.d_model, base=self.base, device=x.device, dtype=x.dtype)


class LearnedPositions(nn.Module):
    """Adds a learned (max_len, D) table to (B, T, D) embeddings (Gehring et al. 2017; BERT, GPT).

    Cannot go past ``max_len``: a position never seen in training has no vector.
    """

    def __init__(self, d_model: int, max_len: int):
        super().__init__()
        check_positive("d_model", d_model)
        check_positive("max_len", max_len)
        self.d_model, self.max_len = d_model, max_len
        self.table = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.table.weight, std=0.02)  # small, like BERT's and GPT-2's initialisation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = check_tensor("x", x, shape=("B", "T", self.d_model), dtype="float")
        if dims["T"] > self.max_len:
            raise ValueError(f"sequence length must be <= max_len={self.max_len} for learned positions, got T={dims['T']}")
        return x + self.table.weight[: dims["T"]]  # (T, D) broadcasts over B


class RotaryEmbedding(nn.Module):
    """Rotary positions (Su et al. 2021, Eq. 34) for ``MultiHeadAttention(..., rotary=...)``.

    Called on queries or keys of shape (..., T, Dh) after the head split, with
    positions 0..T-1. Feature pair (2i, 2i+1) at position m is rotated by the
    angle ``m * theta_i``, ``theta_i = base^(-2i/Dh)``. A rotation keeps the
    norm, and ``R_m q . R_n k = q . R_{n-m} k``: scores see the offset only.
    No parameters.
    """

    def __init__(self, d_head: int, base: float = 10000.0):
        super().__init__()
        _check_even("d_head", d_head)
        self.d_head, self.base = d_head, base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or x.shape[-1] != self.d_head or not x.is_floating_point():
            got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a float tensor of shape (..., T, Dh={self.d_head}), got {got}")
        T = x.shape[-2]
        theta = self.base ** (-torch.arange(0, self.d_head, 2, device=x.device, dtype=torch.float32) / self.d_head)
        angle = torch.arange(T, device=x.device, dtype=torch.float32)[:, None] * theta  # (T, Dh/2)
        cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
        even, odd = x[..., 0::2], x[..., 1::2]  # (..., T, Dh/2) each
        out = torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)  # (..., T, Dh/2, 2)
        return out.flatten(-2)  # back to interleaved (..., T, Dh)

    def extra_repr(self) -> str:
        return f"d_head={self.d_head}, base={self.base:g}"
