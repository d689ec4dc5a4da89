"""Linear attention ("Transformers are RNNs"): parallel and recurrent forms.

Replace the softmax similarity ``exp(q . k)`` by a kernel ``phi(q) . phi(k)`` with the
positive feature map ``phi(x) = elu(x) + 1``. Then

    out_i = phi(q_i) (sum_j phi(k_j)^T v_j) / (phi(q_i) . sum_j phi(k_j)),

and the two sums, a (Dh, Dv) matrix and a (Dh,) vector, are computed once for all
queries: time and memory O(n * Dh * Dv) instead of O(n^2). With a causal mask the sums
run over ``j <= i`` (cumulative sums, :func:`linear_attention` with ``causal=True``); kept
as a running state ``S_i = S_{i-1} + phi(k_i)^T v_i``, ``z_i = z_{i-1} + phi(k_i)`` they make
the model an RNN whose every generation step costs the same time and memory whatever
the position (:func:`linear_attention_step`).

Paper: Angelos Katharopoulos, Apoorv Vyas, Nikolaos Pappas, Francois Fleuret (2020),
"Transformers are RNNs: Fast Autoregressive Transformers with Linear Attention", ICML,
https://arxiv.org/abs/2006.16236, Sec. 3.2 (linearized attention; the feature map
``elu(x) + 1``, Eq. 7), Sec. 3.3 (causal masking by cumulative sums), Sec. 3.4
(Transformers are RNNs: the recurrent form). The chunked causal form (``chunk=``) is
not in the paper; it computes the same sums with matrix products instead of a
(T, Dh, Dv) cumulative sum, as later linear-attention code does.

Legend: ... leading dims (batch, heads), T query length, S key length, Dh query/key
width (the feature map keeps it), Dv value width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..utils import check_bool, check_positive, check_real, check_tensor

__all__ = ["elu_feature_map", "linear_attention", "LinearAttentionState", "linear_attention_step"]


def elu_feature_map(x: torch.Tensor) -> torch.Tensor:
    """phi(x) = elu(x) + 1 > 0, elementwise (Katharopoulos et al. 2020, Eq. 7)."""
    return F.elu(x) + 1.0


def _check_eps(eps: float) -> None:
    check_real("eps", eps, low=0.0)


def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = False,
    eps: float = 1e-6,
    chunk: int | None = None,
) -> torch.Tensor:
    """Linear attention, parallel form.

    q (..., T, Dh), k (..., S, Dh), v (..., S, Dv), floating, same leading dims. Returns
    (..., T, Dv). ``causal=True`` needs T == S and lets query i use keys ``j <= i`` only.
    With ``chunk=None`` it does so by cumulative sums, the paper's equations as written:
    a (..., T, Dh, Dv) tensor, O(T * Dh * Dv) memory and slow to fill. With ``chunk=c``,
    the same numbers chunk by chunk: inside a chunk the masked (c, c) kernel matrix,
    across chunks the running state at each chunk's start (O(T * c + T/c * Dh * Dv)).
    ``eps`` >= 0 is added to the normaliser, as in the paper's code.
    """
    check_tensor("q", q, dtype="float")
    if q.dim() < 2:
        raise ValueError(f"q must have shape (..., T, Dh), got a {q.dim()}-d tensor")
    lead = [None] * (q.dim() - 2)
    dims = check_tensor("k", k, shape=(*lead, "S", q.shape[-1]), dtype="float")
    check_tensor("v", v, shape=(*lead, "S", None), dtype="float", dims=dims)
    if k.shape[:-2] != q.shape[:-2] or v.shape[:-2] != q.shape[:-2]:
        raise ValueError(
            f"q, k and v must share their leading dims, got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    check_bool("causal", causal)
    _check_eps(eps)
    fq, fk = elu_feature_map(q), elu_feature_map(k)  # (..., T, Dh), (..., S, Dh)
    if not causal:
        kv = fk.transpose(-2, -1) @ v  # (..., Dh, Dv): sum_j phi(k_j)^T v_j
        z = fk.sum(dim=-2)  # (..., Dh)
        num = fq @ kv  # (..., T, Dv)
        den = (fq * z.unsqueeze(-2)).sum(-1, keepdim=True)  # (..., T, 1)
        return num / (den + eps)
    if q.shape[-2] != k.shape[-2]:
        raise ValueError(f"causal linear attention needs as many queries as keys, got T={q.shape[-2]}, S={k.shape[-2]}")
    if chunk is not None:
        check_positive("chunk", chunk)
        return _chunked_causal(fq, fk, v, chunk, eps)
    kv = torch.cumsum(fk.unsqueeze(-1) * v.unsqueeze(-2), dim=-3)  # (..., T, Dh, Dv): S_i = sum_{j<=i}
    z = torch.cumsum(fk, dim=-2)  # (..., T, Dh): z_i = sum_{j<=i} phi(k_j)
    num = (fq.unsqueeze(-2) @ kv).squeeze(-2)  # (..., T, Dv)
    den = (fq * z).sum(-1, keepdim=True)  # (..., T, 1)
    return num / (den + eps)


def _chunked_causal(fq: torch.Tensor, fk: torch.Tensor, v: torch.Tensor, c: int, eps: float) -> torch.Tensor:
    """Causal linear attention from features fq, fk (..., T, Dh) and v (..., T, Dv), by chunks of c."""
    T = fq.shape[-2]
    C = -(-T // c)
    pad = C * c - T  # zero features add nothing to any sum (padding after the feature map)
    fq_c = F.pad(fq, (0, 0, 0, pad)).unflatten(-2, (C, c))  # (..., C, c, Dh)
    fk_c = F.pad(fk, (0, 0, 0, pad)).unflatten(-2, (C, c))  # (..., C, c, Dh)
    v_c = F.pad(v, (0, 0, 0, pad)).unflatten(-2, (C, c))  # (..., C, c, Dv)
    a = (fq_c @ fk_c.transpose(-2, -1)).tril()  # (..., C, c, c): phi(q_i) . phi(k_j), j <= i in the chunk
    kv = torch.cumsum(fk_c.transpose(-2, -1) @ v_c, dim=-3)  # (..., C, Dh, Dv): state at each chunk's end
    kv = F.pad(kv, (0, 0, 0, 0, 1, 0))[..., :-1, :, :]  # (..., C, Dh, Dv): state at each chunk's start
    z = torch.cumsum(fk_c.sum(-2), dim=-2)  # (..., C, Dh)
    z = F.pad(z, (0, 0, 1, 0))[..., :-1, :]  # (..., C, Dh): at each chunk's start
    num = a @ v_c + fq_c @ kv  # (..., C, c, Dv)
    den = a.sum(-1, keepdim=True) + fq_c @ z.unsqueeze(-1)  # (..., C, c, 1)
    return (num / (den + eps)).flatten(-3, -2)[..., :T, :]  # (..., T, Dv)


@dataclass(frozen=True)
class LinearAttentionState:
    """The recurrent state of causal linear attention after some tokens.

    ``kv`` (..., Dh, Dv) = sum_j phi(k_j)^T v_j; ``z`` (..., Dh) = sum_j phi(k_j);
    ``steps`` tokens seen. Its size does not depend on ``steps``: that is the point.
    """

    kv: torch.Tensor
    z: torch.Tensor
    steps: int = 0

    @classmethod
    def empty(
        cls,
        d_key: int,
        d_value: int,
        batch_shape: tuple[int, ...] = (),
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> "LinearAttentionState":
        """The state before any token: zeros of shape (*batch_shape, d_key, d_value) and (*batch_shape, d_key)."""
        return cls(
            torch.zeros(*batch_shape, d_key, d_value, dtype=dtype, device=device),
            torch.zeros(*batch_shape, d_key, dtype=dtype, device=device),
        )

    @property
    def nbytes(self) -> int:
        """Bytes the state occupies (constant over time)."""
        return self.kv.numel() * self.kv.element_size() + self.z.numel() * self.z.element_size()


def linear_attention_step(
    state: LinearAttentionState | None,
    q_t: torch.Tensor,
    k_t: torch.Tensor,
    v_t: torch.Tensor,
    *,
    eps: float = 1e-6,
) -> tuple[torch.Tensor, LinearAttentionState]:
    """One token of causal linear attention, recurrent form (Sec. 3.4).

    q_t (..., Dh), k_t (..., Dh), v_t (..., Dv): the new token's query, key and value.
    ``state`` from the previous step (None: start from :meth:`LinearAttentionState.empty`).
    Adds phi(k_t)^T v_t and phi(k_t) to the state, then reads it with phi(q_t). Returns
    (out_t (..., Dv), new state); equals row t of ``linear_attention(..., causal=True)``.
    Time and memory per call are O(Dh * Dv), independent of t.
    """
    check_tensor("q_t", q_t, dtype="float")
    if q_t.dim() < 1:
        raise ValueError("q_t must have shape (..., Dh), got a 0-d tensor")
    lead = list(q_t.shape[:-1])
    check_tensor("k_t", k_t, shape=(*lead, q_t.shape[-1]), dtype="float")
    check_tensor("v_t", v_t, shape=(*lead, None), dtype="float")
    _check_eps(eps)
    Dh, Dv = q_t.shape[-1], v_t.shape[-1]
    if state is None:
        state = LinearAttentionState.empty(Dh, Dv, tuple(lead), dtype=q_t.dtype, device=q_t.device)
    elif not isinstance(state, LinearAttentionState):
        raise ValueError(f"state must be a LinearAttentionState or None, got {type(state).__name__}")
    elif tuple(state.kv.shape) != (*lead, Dh, Dv):
        raise ValueError(f"state.kv must have shape {(*lead, Dh, Dv)} for these inputs, got {tuple(state.kv.shape)}")
    fq, fk = elu_feature_map(q_t), elu_feature_map(k_t)  # (..., Dh)
    kv = state.kv + fk.unsqueeze(-1) * v_t.unsqueeze(-2)  # (..., Dh, Dv)
    z = state.z + fk  # (..., Dh)
    num = (fq.unsqueeze(-2) @ kv).squeeze(-2)  # (..., Dv)
    den = (fq * z).sum(-1, keepdim=True)  # (..., 1)
    return num / (den + eps), LinearAttentionState(kv, z, state.steps + 1)
