"""Attention primitives shared by every chapter: masked softmax, scaled dot-product
attention, masks, and multi-head attention.

Mask convention (everywhere in coursekit): a boolean tensor, ``True`` = may be
attended, as in ``torch.nn.functional.scaled_dot_product_attention``. Note that
``torch.nn.MultiheadAttention``'s ``key_padding_mask`` uses the opposite
convention (``True`` = ignore): pass it ``~mask``.

Legend: B batch, T query length, S key length, D model width, H heads,
Dh = D / H head width, Dv value width, V vocabulary size.

Paper: Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit, Llion Jones,
Aidan N. Gomez, Lukasz Kaiser, Illia Polosukhin (2017), "Attention Is All You
Need", https://arxiv.org/abs/1706.03762, Sec. 3.2 (Eq. 1, scaled dot-product
attention; Sec. 3.2.2, multi-head attention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .utils import check_ids, check_positive, check_real, check_tensor, plain_numbers

__all__ = [
    "masked_softmax",
    "scaled_dot_product_attention",
    "causal_mask",
    "padding_mask",
    "split_heads",
    "merge_heads",
    "MultiHeadAttention",
    "ScoreStatistics",
    "score_statistics",
    "SelfAttentionConfig",
    "SelfAttentionOutput",
    "SelfAttentionModel",
]


def _check_mask(mask: torch.Tensor, shape: torch.Size | tuple[int, ...], target: str = "scores") -> None:
    """Raise ValueError unless ``mask`` is a bool tensor that broadcasts to ``shape``."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = f"dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a bool tensor (True = may attend), got {got}")
    try:
        if torch.broadcast_shapes(mask.shape, shape) != tuple(shape):
            raise RuntimeError
    except RuntimeError:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to {target} of shape {tuple(shape)}"
        ) from None


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None, dim: int = -1) -> torch.Tensor:
    """Softmax of ``scores`` over ``dim`` where masked-out entries get exactly zero weight.

    ``mask`` is boolean, broadcastable to ``scores``, True = may attend. A row
    in which nothing may be attended comes out all zeros (not NaN), so padded
    queries are harmless.
    """
    if mask is None:
        return torch.softmax(scores, dim=dim)
    _check_mask(mask, scores.shape)
    filled = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(filled, dim=dim)
    # A fully masked row is softmax(-inf, ..., -inf) = NaN; make it zeros instead.
    return weights.masked_fill(~mask, 0.0)


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V, from scratch (Vaswani et al. 2017, Eq. 1).

    q (..., T, Dh), k (..., S, Dh), v (..., S, Dv), all floating; ``mask`` bool,
    broadcastable to (..., T, S), True = may attend; ``scale`` defaults to
    1/sqrt(Dh). Returns (out (..., T, Dv), weights (..., T, S)); a fully masked
    row gets zero weights and a zero output (see :func:`masked_softmax`).
    """
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or not x.is_floating_point():
            got = f"{x.dim()}-d {x.dtype} tensor" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} must be a floating tensor of shape (..., L, width), got {got}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same width Dh, got q {tuple(q.shape)} and k {tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same length S, got k {tuple(k.shape)} and v {tuple(v.shape)}")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    scores = (q * scale) @ k.transpose(-2, -1)  # (..., T, S); scaling q (T*Dh products) beats scaling scores (T*S) when Dh < S
    weights = masked_softmax(scores, mask)
    return weights @ v, weights  # (..., T, Dv), (..., T, S)


def causal_mask(T: int, S: int | None = None, *, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, S) bool mask: query i may attend key j iff j <= i + (S - T); S defaults to T.

    With S > T (a cache of S - T earlier keys), the last query sees every key.
    """
    check_positive("T", T)
    S = T if S is None else S
    check_positive("S", S)
    if S < T:
        raise ValueError(f"S must be >= T for a causal mask (the queries are the last T of S positions), got T={T}, S={S}")
    return torch.ones(T, S, dtype=torch.bool, device=device).tril(diagonal=S - T)


def padding_mask(ids_or_lengths: torch.Tensor, S: int | None = None, *, pad_id: int = 0) -> torch.Tensor:
    """(B, 1, S) bool key mask, True at real tokens.

    From (B, S) integer ids (True where id != pad_id) or from (B,) lengths plus
    S (default: the longest length). The shape broadcasts against (B, T, S)
    scores and, inside :class:`MultiHeadAttention`, against (B, H, T, S).
    """
    x = ids_or_lengths
    if not isinstance(x, torch.Tensor) or x.is_floating_point() or x.dtype == torch.bool or x.dim() not in (1, 2):
        got = f"a {x.dim()}-d {x.dtype} tensor" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"ids_or_lengths must be an integer tensor of shape (B, S) ids or (B,) lengths, got {got}")
    if x.dim() == 2:
        if S is not None and S != x.shape[1]:
            raise ValueError(f"S must equal ids.shape[1]={x.shape[1]} when ids are given, got S={S}")
        return (x != pad_id)[:, None, :]
    S = int(x.max()) if S is None else S
    check_positive("S", S)
    if (x < 0).any() or (x > S).any():
        raise ValueError(f"lengths must lie in [0, S={S}], got {x.tolist()}")
    return (torch.arange(S, device=x.device)[None, :] < x[:, None])[:, None, :]


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(B, T, D) -> (B, H, T, Dh): head h gets features h*Dh .. (h+1)*Dh - 1 of every position.

    A view plus a transpose, no copy. Viewing (B, T, D) directly as (B, H, T, Dh) would
    instead hand each head a block of positions, mixing tokens across heads.
    """
    B, T, D = x.shape
    return x.view(B, T, n_heads, D // n_heads).transpose(1, 2)  # (B, T, H, Dh) -> (B, H, T, Dh)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, T, Dh) -> (B, T, D = H * Dh), the inverse of :func:`split_heads` (one copy)."""
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)  # (B, T, H, Dh) -> (B, T, D)


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1, ..., head_H) W^O, head_h = Attention(Q W^Q_h, K W^K_h, V W^V_h)
    (Vaswani et al. 2017, Sec. 3.2.2).

    Submodules ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj`` are
    ``nn.Linear(d_model, d_model, bias=bias)`` (the names map one to one onto
    BERT's query/key/value/output.dense); attributes ``n_heads``, ``d_head``.
    """

    def __init__(self, d_model: int, n_heads: int, *, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        check_positive("d_model", d_model)
        check_positive("n_heads", n_heads)
        if d_model % n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got d_model={d_model}, n_heads={n_heads}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.d_model, self.n_heads, self.d_head, self.dropout = d_model, n_heads, d_model // n_heads, dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _project(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor):
        """q, k, v = query W^Q, key W^K, value W^V. For self-attention, one matmul with the
        three weights concatenated (as torch's in_proj_weight), which is faster on CPU."""
        projs = (self.q_proj, self.k_proj, self.v_proj)
        if query is key and key is value:
            weight = torch.cat([p.weight for p in projs])  # (3D, D)
            bias = None if self.q_proj.bias is None else torch.cat([p.bias for p in projs])
            return F.linear(query, weight, bias).chunk(3, dim=-1)
        return tuple(p(x) for p, x in zip(projs, (query, key, value)))

    def _attn_mask(
        self, mask: torch.Tensor | None, key_padding_mask: torch.Tensor | None, is_causal: bool, B: int, T: int, S: int,
        device: torch.device,
    ) -> tuple[torch.Tensor | None, bool]:
        """Combine the three ways of masking into one bool mask broadcastable to (B, H, T, S),
        or None; the second value says whether ``is_causal`` can go to the fused kernel as it is."""
        m = None
        if mask is not None:
            if not isinstance(mask, torch.Tensor) or mask.dim() not in (2, 3, 4):
                got = f"a {mask.dim()}-d tensor of shape {tuple(mask.shape)}" if isinstance(mask, torch.Tensor) else type(mask).__name__
                raise ValueError(f"mask must have shape (T, S), (B, T, S) or (B, H, T, S), got {got}")
            if mask.dim() == 2 and tuple(mask.shape) != (T, S):  # 2-d always means (T, S), never (B, S)
                raise ValueError(
                    f"mask of shape {tuple(mask.shape)} does not broadcast to attention scores (B, H, T, S) of shape "
                    f"{(B, self.n_heads, T, S)}: a 2-d mask means (T, S) = ({T}, {S}); for a (B, S) key-padding "
                    "mask pass key_padding_mask= instead"
                )
            m = mask.unsqueeze(1) if mask.dim() == 3 else mask  # (B, T, S) -> (B, 1, T, S)
            _check_mask(m, (B, self.n_heads, T, S), target="attention scores (B, H, T, S)")
        if key_padding_mask is not None:
            check_tensor("key_padding_mask", key_padding_mask, shape=(B, S), dtype=torch.bool)
            kp = key_padding_mask[:, None, None, :]  # (B, 1, 1, S)
            m = kp if m is None else m & kp
        if not isinstance(is_causal, bool):
            raise ValueError(f"is_causal must be True or False, got {is_causal!r}")
        if is_causal:
            if m is None and T == S:
                return None, True  # the fused kernels skip the masked half
            if m is None and T == 1:
                return None, False  # one query, the last position: it may see every key (cached decoding)
            c = causal_mask(T, S, device=device)  # (T, S), queries are the last T of S positions
            m = c if m is None else m & c
        return m, False

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        *,
        key_padding_mask: torch.Tensor | None = None,
        is_causal: bool = False,
        need_weights: bool = False,
        rotary: Callable[..., torch.Tensor] | None = None,
        position_offset: int = 0,
        kv_cache: Any = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """query (B, T, D) float; key, value (B, S, D) of the same dtype; key defaults to query
        (self-attention), value to key.

        Three masks, all bool with True = may attend, combined with "and":
        - ``mask``: (T, S) for every row of the batch, (B, T, S) or (B, H, T, S); broadcasting
          allowed in the 3-d and 4-d forms (so :func:`padding_mask`'s (B, 1, S) works). A 2-d
          mask is always (T, S): a (B, S) key-padding mask goes in ``key_padding_mask``.
        - ``key_padding_mask``: (B, S), False at padded keys. (``nn.MultiheadAttention``'s
          ``key_padding_mask`` is the opposite: True = ignore.)
        - ``is_causal``: query i sees keys j <= i + (S - T) (:func:`causal_mask`). Alone and with
          T == S it goes to ``F.scaled_dot_product_attention(is_causal=True)`` on the fast path.
        rotary: optional callable ``rotary(x, offset)`` applied to q and k after the head split,
        (B, H, T, Dh) -> same shape, at positions ``position_offset`` .. (self-attention only).
        kv_cache: optional object with ``update(k, v) -> (k, v)`` that stores this call's keys
        and values (B, H, S, Dh) after the earlier ones and returns all of them (B, H, S', Dh)
        (e.g. one layer of :class:`coursekit.gpt.KVCache`); the queries are then the last T of
        S' positions, and masks (``key_padding_mask`` included) are over the S' keys.
        need_weights=True: the from-scratch path, returns (out (B, T, D), weights (B, H, T, S)),
        per head. need_weights=False: the fast path through ``F.scaled_dot_product_attention``,
        returns (out, None).
        """
        key = query if key is None else key
        value = key if value is None else value
        dims = check_tensor("query", query, shape=("B", "T", self.d_model), dtype="float")
        dims = check_tensor("key", key, shape=("B", "S", self.d_model), dtype="float", dims=dims)
        dims = check_tensor("value", value, shape=("B", "S", self.d_model), dtype="float", dims=dims)
        if not query.dtype == key.dtype == value.dtype:
            raise ValueError(
                f"query, key and value must have one dtype, got {query.dtype}, {key.dtype} and {value.dtype}"
            )
        B, T, S = dims["B"], dims["T"], dims["S"]
        if kv_cache is None:
            mask, causal_kernel = self._attn_mask(mask, key_padding_mask, is_causal, B, T, S, query.device)

        q, k, v = self._project(query, key, value)  # each (B, T or S, D)
        q = split_heads(q, self.n_heads)  # (B, H, T, Dh)
        k = split_heads(k, self.n_heads)  # (B, H, S, Dh)
        v = split_heads(v, self.n_heads)  # (B, H, S, Dh)
        if rotary is not None:
            if T != S:
                raise ValueError(f"rotary positions need self-attention (T == S), got T={T}, S={S}")
            q, k = rotary(q, position_offset), rotary(k, position_offset)
        if kv_cache is not None:
            k, v = kv_cache.update(k, v)  # (B, H, S', Dh): the cached keys and values, then these
            S = k.shape[-2]
            mask, causal_kernel = self._attn_mask(mask, key_padding_mask, is_causal, B, T, S, query.device)
        p = self.dropout if self.training else 0.0
        if need_weights:
            if causal_kernel:
                mask = causal_mask(T, S, device=query.device)
            out, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, H, T, Dh), (B, H, T, S)
            if p > 0:  # dropout on the weights, as in torch's module; the returned weights are the dropped ones
                weights = F.dropout(weights, p)
                out = weights @ v
        else:
            weights = None
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal_kernel)
            if mask is not None:  # a fully masked row: zeros, as in the from-scratch path, on every backend
                keep = mask.any(-1, keepdim=True)  # (B, H or 1, T or 1, 1): False where a query sees no key
                # On the CPU, reading `keep` costs no device sync, so a batch with no fully masked row
                # (the usual padded batch) skips the pass; elsewhere torch.where keeps SDPA's layout.
                if keep.device.type != "cpu" or not bool(keep.all()):
                    out = torch.where(keep, out, 0.0)
        return self.out_proj(merge_heads(out)), weights  # (B, H, T, Dh) -> (B, T, D) -> (B, T, D)

    @torch.no_grad()
    def load_torch_weights(self, mha: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of a ``torch.nn.MultiheadAttention`` (packed in_proj_weight) into
        q_proj/k_proj/v_proj/out_proj; returns self."""
        if not isinstance(mha, nn.MultiheadAttention):
            raise ValueError(f"mha must be a torch.nn.MultiheadAttention, got {type(mha).__name__}")
        if (mha.embed_dim, mha.num_heads) != (self.d_model, self.n_heads):
            raise ValueError(
                f"mha must have embed_dim={self.d_model}, num_heads={self.n_heads}, "
                f"got embed_dim={mha.embed_dim}, num_heads={mha.num_heads}"
            )
        if not mha._qkv_same_embed_dim or mha.bias_k is not None or mha.add_zero_attn:
            raise ValueError("mha must use kdim = vdim = embed_dim, add_bias_kv=False, add_zero_attn=False")
        has_bias = mha.in_proj_bias is not None
        if has_bias != (self.q_proj.bias is not None):
            raise ValueError(f"mha must have bias={self.q_proj.bias is not None}, got bias={has_bias}")
        projs = (self.q_proj, self.k_proj, self.v_proj)
        for proj, w in zip(projs, mha.in_proj_weight.chunk(3)):
            proj.weight.copy_(w)
        if has_bias:
            for proj, b in zip(projs, mha.in_proj_bias.chunk(3)):
                proj.bias.copy_(b)
            self.out_proj.bias.copy_(mha.out_proj.bias)
        self.out_proj.weight.copy_(mha.out_proj.weight)
        return self


# ----------------------------------------------------------------------------- why 1/sqrt(d_k), measured
@dataclass(frozen=True)
class ScoreStatistics:
    """What the softmax does with random dot-product scores at one width ``d_k``
    (Vaswani et al. 2017, Sec. 3.2.1 and footnote 4). Means are over the queries."""

    d_k: int
    scaled: bool  # scores divided by sqrt(d_k) or not
    dot_variance: float  # variance of the raw dot products q·k (footnote 4: d_k)
    max_weight: float  # mean largest softmax weight: 1/S for uniform weights, 1 for one-hot
    entropy: float  # mean entropy of the weights in nats: log S uniform, 0 one-hot
    grad_norm: float  # mean ||dL/ds|| over queries, L = sum_j a_j g_j for a random upstream gradient g
    vanishing: float  # share of queries whose ||dL/ds|| < 1e-3


def score_statistics(
    d_k: int, *, queries: int = 500, keys: int = 16, scaled: bool = True, seed: int = 0,
    device: torch.device | str | None = None,
) -> ScoreStatistics:
    """Draw ``queries`` queries, each with its own ``keys`` keys, all components independent N(0, 1)
    (footnote 4's assumption), and measure the softmax over the scores q·k (divided by sqrt(d_k) if
    ``scaled``): its largest weight, its entropy, and the gradient reaching the scores.

    Deterministic for a given ``seed`` and device; the same seed gives the same draws scaled or not.
    """
    check_positive("d_k", d_k)
    check_positive("queries", queries)
    check_positive("keys", keys)
    if not isinstance(scaled, bool):
        raise ValueError(f"scaled must be True or False, got {scaled!r}")
    g = torch.Generator(device=device or "cpu").manual_seed(seed)
    q = torch.randn(queries, 1, d_k, generator=g, device=device)  # one query per row
    k = torch.randn(queries, keys, d_k, generator=g, device=device)  # its own S keys
    upstream = torch.randn(queries, keys, generator=g, device=device)  # g, a random dL/da
    dots = (q @ k.transpose(-2, -1)).squeeze(1)  # (queries, S) raw q·k
    with torch.enable_grad():
        s = (dots / math.sqrt(d_k) if scaled else dots).requires_grad_(True)
        a = torch.softmax(s, dim=-1)  # (queries, S)
        (grad,) = torch.autograd.grad((a * upstream).sum(), s)  # dL/ds = a * (g - a·g), per row
    a, grad = a.detach(), grad.norm(dim=-1)
    return ScoreStatistics(
        d_k=d_k,
        scaled=scaled,
        dot_variance=dots.var().item(),
        max_weight=a.amax(-1).mean().item(),
        entropy=-(a * a.clamp_min(1e-30).log()).sum(-1).mean().item(),
        grad_norm=grad.mean().item(),
        vanishing=(grad < 1e-3).float().mean().item(),
    )


# ----------------------------------------------------------------------------- a small self-attention model
@dataclass(frozen=True)
class SelfAttentionConfig:
    """A stack of attention-only layers for the chapter's toy tasks (no FFN, no norm: chapter 5 adds them)."""

    vocab_size: int = 16  # token ids 0..vocab_size-1, 0 = padding
    max_len: int = 16  # learned positions; the paper used sinusoids (chapter 5)
    d_model: int = 32  # paper: 512
    n_heads: int = 2  # paper: 8
    n_layers: int = 1  # paper: 6, each with an FFN
    dropout: float = 0.0  # paper: 0.1

    def __post_init__(self):
        plain_numbers(self)
        for name in ("vocab_size", "max_len", "d_model", "n_heads", "n_layers"):
            check_positive(name, getattr(self, name))
        check_real("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got d_model={self.d_model}, n_heads={self.n_heads}")


@dataclass(frozen=True)
class SelfAttentionOutput:
    """logits (B, T, V); attentions: one (B, H, T, T) tensor per layer (bertviz's format for B = 1)."""

    logits: torch.Tensor
    attentions: tuple[torch.Tensor, ...]


class SelfAttentionModel(nn.Module):
    """Token embeddings + learned positions, ``n_layers`` residual self-attention layers, a linear readout.

    Without positions self-attention cannot tell positions apart (it is permutation
    equivariant), so tasks such as reversal need the position embeddings.
    """

    def __init__(self, cfg: SelfAttentionConfig = SelfAttentionConfig()):
        super().__init__()
        if not isinstance(cfg, SelfAttentionConfig):
            raise ValueError(f"cfg must be a SelfAttentionConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.max_len, cfg.d_model)
        self.layers = nn.ModuleList(
            MultiHeadAttention(cfg.d_model, cfg.n_heads, dropout=cfg.dropout) for _ in range(cfg.n_layers)
        )
        self.readout = nn.Linear(cfg.d_model, cfg.vocab_size)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> SelfAttentionOutput:
        """ids (B, T) long; mask as for :class:`MultiHeadAttention` (e.g. :func:`padding_mask` or :func:`causal_mask`)."""
        B, T = check_tensor("ids", ids, shape=("B", "T"), dtype=torch.long).values()
        if T > self.cfg.max_len:
            raise ValueError(f"ids must have at most max_len={self.cfg.max_len} positions, got T={T}")
        check_ids("ids", ids, self.cfg.vocab_size)
        x = self.tok(ids) + self.pos(torch.arange(T, device=ids.device))  # (B, T, D)
        attentions = []
        for layer in self.layers:
            a, w = layer(x, mask=mask, need_weights=True)  # (B, T, D), (B, H, T, T)
            x = x + a  # residual: each position keeps its own token and adds what it read
            attentions.append(w)
        return SelfAttentionOutput(self.readout(x), tuple(attentions))
