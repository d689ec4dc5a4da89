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

from ..utils import check_positive, check_real, check_tensor

__all__ = ["sinusoidal_encoding", "SinusoidalPositions", "LearnedPositions", "RotaryEmbedding", "half_to_interleaved"]


def _check_even(name: str, value: int) -> None:
    check_positive(name, value)
    if value % 2:
        raise ValueError(f"{name} must be even (features come in sin/cos pairs), got {value}")


def sinusoidal_encoding(
    T: int, d_model: int, *, base: float = 10000.0, offset: int = 0, device=None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The (T, D) matrix of Vaswani et al. (2017), Sec. 3.5, for positions offset .. offset+T-1:
    ``PE[pos, 2i] = sin(pos / base^(2i/D))``, ``PE[pos, 2i+1] = cos(pos / base^(2i/D))``.

    Each pair of columns is a clock with its own frequency; the wavelengths form
    a geometric progression from 2*pi to base*2*pi. ``offset`` > 0 gives the rows a
    key/value cache needs when the first T - 1... positions were already processed.
    """
    check_positive("T", T)
    _check_even("d_model", d_model)
    check_positive("offset", offset, allow_zero=True)
    check_real("base", base, low=1.0, low_open=True)
    pos = torch.arange(offset, offset + T, device=device, dtype=torch.float64)[:, None]  # (T, 1)
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
        check_real("base", base, low=1.0, low_open=True)
        self.d_model, self.base = d_model, base

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """x (B, T, D) at positions offset .. offset+T-1 -> x + PE (B, T, D)."""
        dims = check_tensor("x", x, shape=("B", "T", self.d_model), dtype="float")
        pe = sinusoidal_encoding(dims["T"], self.d_model, base=self.base, offset=offset, device=x.device, dtype=x.dtype)
        return x + pe


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

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """x (B, T, D) at positions offset .. offset+T-1 -> x + table rows (B, T, D)."""
        dims = check_tensor("x", x, shape=("B", "T", self.d_model), dtype="float")
        check_positive("offset", offset, allow_zero=True)
        if offset + dims["T"] > self.max_len:
            raise ValueError(
                f"sequence length must be <= max_len={self.max_len} for learned positions, "
                f"got T={dims['T']}" + (f" after offset={offset}" if offset else "")
            )
        return x + self.table.weight[offset : offset + dims["T"]]  # (T, D) broadcasts over B


class RotaryEmbedding(nn.Module):
    """Rotary positions (Su et al. 2021, Eq. 34) for ``MultiHeadAttention(..., rotary=...)``.

    Called on queries or keys of shape (..., T, Dh) after the head split, with
    positions offset .. offset+T-1. Feature pair (2i, 2i+1) at position m is rotated
    by the angle ``m * theta_i``, ``theta_i = base^(-2i/Dh)``. A rotation keeps the
    norm, and ``R_m q . R_n k = q . R_{n-m} k``: scores see the offset only.
    No parameters.

    Layout: the pairs are *interleaved*, (x0, x1), (x2, x3), ..., as in the RoFormer
    paper, GPT-J and Mesh-TensorFlow. transformers' LLaMA and GPT-NeoX pair feature i
    with feature i + Dh/2 instead ("rotate_half"). The two are the same rotation after a
    fixed permutation of the head's features (:func:`half_to_interleaved`); a model
    trained in one layout loads into the other by permuting the rows of W^Q and W^K.
    """

    def __init__(self, d_head: int, base: float = 10000.0):
        super().__init__()
        _check_even("d_head", d_head)
        check_real("base", base, low=1.0, low_open=True)
        self.d_head, self.base = d_head, base

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """x (..., T, Dh) float at positions offset .. offset+T-1 -> rotated, same shape."""
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or x.shape[-1] != self.d_head or not x.is_floating_point():
            got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a float tensor of shape (..., T, Dh={self.d_head}), got {got}")
        check_positive("offset", offset, allow_zero=True)
        T = x.shape[-2]
        theta = self.base ** (-torch.arange(0, self.d_head, 2, device=x.device, dtype=torch.float32) / self.d_head)
        pos = torch.arange(offset, offset + T, device=x.device, dtype=torch.float32)
        angle = pos[:, None] * theta  # (T, Dh/2)
        cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
        even, odd = x[..., 0::2], x[..., 1::2]  # (..., T, Dh/2) each
        out = torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)  # (..., T, Dh/2, 2)
        return out.flatten(-2)  # back to interleaved (..., T, Dh)

    def extra_repr(self) -> str:
        return f"d_head={self.d_head}, base={self.base:g}"


def half_to_interleaved(d_head: int, *, device=None) -> torch.Tensor:
    """The permutation ``p`` (Dh,) long with ``x_interleaved = x_half[..., p]``: feature pairs
    (i, i + Dh/2) of the rotate-half layout become pairs (2i, 2i+1) of :class:`RotaryEmbedding`'s.
    Its inverse is ``torch.argsort(p)``."""
    _check_even("d_head", d_head)
    half = torch.arange(d_head // 2, device=device)
    return torch.stack([half, half + d_head // 2], dim=-1).flatten()  # 0, Dh/2, 1, Dh/2+1, ...
