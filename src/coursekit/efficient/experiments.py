"""Chapter 7's small measurements that are counts, not clocks: deterministic on any machine.

- :func:`attention_flops`: the floating-point operations of full, blocked-local and linear
  attention at each length, counted from the shapes of the matrix products the real
  functions of :mod:`coursekit.efficient.scaling` dispatch (:func:`count_flops`, the
  convention of torch's own FLOP counter: 2 per multiply-add). Doubling n doubles a
  linear cost and quadruples a quadratic one, whatever the hardware.
- :func:`scaling_rows`: :func:`coursekit.efficient.scaling.measure_attention` for several
  kinds at once, with the profiler's C++ log lines kept off the notebook page.
- :func:`generation_costs`: the cost of generating token t, for t along a sequence: causal
  softmax attention reads a cache of t keys and values; causal linear attention
  (Katharopoulos et al. 2020, Sec. 3.4) updates and reads a fixed-size state. Counted FLOPs
  (the matrix products, plus the linear step's state update, an outer product that torch
  computes element-wise) and bytes held, plus the measured time per step.

Paper: Angelos Katharopoulos, Apoorv Vyas, Nikolaos Pappas, Francois Fleuret (2020),
"Transformers are RNNs: Fast Autoregressive Transformers with Linear Attention", ICML,
https://arxiv.org/abs/2006.16236, Sec. 3.4 and Fig. 1 (constant time per generated token).

Legend: n sequence length, t position of the generated token, Dh head width (= Dv), w window.
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..attention import scaled_dot_product_attention
from ..transformer.table1 import interleaved_ms
from ..utils import check_int, check_positive
from .linear import LinearAttentionState, elu_feature_map, linear_attention_step
from .scaling import SCALING_KINDS, ScalingRow, attention_fn, measure_attention

__all__ = ["count_flops", "attention_flops", "generation_costs", "scaling_rows"]


def scaling_rows(
    kinds: Sequence[str] = SCALING_KINDS, lengths: Sequence[int] = (128, 256, 512, 1024, 2048), **kwargs
) -> dict[str, list[ScalingRow]]:
    """{kind: :func:`coursekit.efficient.scaling.measure_attention` rows} for each kind.
    ``kwargs`` go to ``measure_attention`` (``d``, ``window``, ``repeats``, ``device``, ...)."""
    if isinstance(kinds, str) or not kinds:
        raise ValueError(f"kinds must be a non-empty sequence of {SCALING_KINDS}, got {kinds!r}")
    return {kind: measure_attention(kind, lengths, **kwargs) for kind in kinds}


def _product_flops(op, args, out) -> int:
    """2 x multiply-adds of one matrix product (mm, bmm, addmm, baddbmm), from its shapes."""
    a, b = (args[1], args[2]) if op in ("addmm", "baddbmm") else (args[0], args[1])
    inner = a.shape[-1]
    return 2 * out.numel() * inner


def count_flops(fn, *args) -> int:
    """Floating-point operations of the matrix products in ``fn(*args)``: 2 per multiply-add,
    read off the shapes of every ``aten`` mm / bmm / addmm / baddbmm the call dispatches
    (the convention of ``torch.utils.flop_counter``, without importing the compiler stack it
    pulls in). Element-wise work (softmax, exp, sums) is not counted."""
    from torch.utils._python_dispatch import TorchDispatchMode

    counted = ("mm", "bmm", "addmm", "baddbmm")
    total = 0

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            nonlocal total
            out = func(*args, **(kwargs or {}))
            name = func.overloadpacket.__name__
            if name in counted:
                total += _product_flops(name, args, out)
            return out

    with torch.no_grad(), Count():
        fn(*args)
    return total


def _lengths(lengths: Sequence[int]) -> list[int]:
    if isinstance(lengths, (str, bytes)) or not isinstance(lengths, Sequence) or not lengths:
        raise ValueError(f"lengths must be a non-empty sequence of positive ints, got {lengths!r}")
    for n in lengths:
        check_positive("each of lengths", n)
    return [int(n) for n in lengths]


def attention_flops(
    kinds: Sequence[str], lengths: Sequence[int], *, d: int = 32, window: int = 16, seed: int = 0
) -> dict[tuple[str, int], int]:
    """{(kind, n): FLOPs} of one (1, 1, n, d) self-attention call of each ``kind``
    ("full", "blocked_local", "linear", as :func:`coursekit.efficient.scaling.attention_fn`
    builds them) at each length. Deterministic: the count depends on the shapes only."""
    if isinstance(kinds, str) or not kinds:
        raise ValueError(f"kinds must be a non-empty sequence of {SCALING_KINDS}, got {kinds!r}")
    lengths = _lengths(lengths)
    check_positive("d", d)
    check_positive("window", window)
    check_int("seed", seed, min=0)
    out = {}
    for kind in kinds:
        fn = attention_fn(kind, window=window)
        for n in lengths:
            g = torch.Generator().manual_seed(seed)
            q, k, v = (torch.randn(1, 1, n, d, generator=g) for _ in range(3))  # (B, H, n, Dh)
            out[kind, n] = count_flops(fn, q, k, v)
    return out


def generation_costs(
    positions: Sequence[int], *, d: int = 32, repeats: int = 20, seed: int = 0
) -> list[dict[str, object]]:
    """What generating the token at position t costs, for each t in ``positions``.

    Rows ``{"method", "t", "flops", "bytes_held", "ms"}`` for two methods on one head of
    width ``d``: ``"softmax + KV cache"`` (the new query against t cached keys and values:
    FLOPs and cache grow with t) and ``"linear, recurrent"`` (:func:`linear_attention_step`
    on a state of t tokens: a (d, d) matrix and a (d,) vector whatever t). ``ms`` is the
    median of ``repeats`` timed steps (wall clock, so it varies by machine); the FLOPs and
    bytes are counts.

    ``flops`` is :func:`count_flops` of the step (its matrix products, 2 per multiply-add),
    and for the linear step also the state update ``S + phi(k_t) v_t^T``: ``linear_attention_step``
    forms that outer product by broadcasting, which :func:`count_flops` does not see, so its
    Dh * Dv multiply-adds (2 * Dh * Dv FLOPs, the count of the same product as a matrix
    product) are added here. Both steps then count every multiply-add of their attention:
    4 t d for the cached softmax step (scores and weighted sum), 4 d^2 for the linear step
    (update and read). Element-wise work (softmax, feature maps, normaliser) is not counted.
    """
    positions = _lengths(positions)
    check_positive("d", d)
    check_positive("repeats", repeats)
    check_int("seed", seed, min=0)
    rows: list[dict[str, object]] = []
    for t in positions:
        g = torch.Generator().manual_seed(seed)
        keys, values = torch.randn(1, 1, t, d, generator=g), torch.randn(1, 1, t, d, generator=g)  # the cache
        q_t, k_t, v_t = (torch.randn(1, d, generator=g) for _ in range(3))  # the new token
        # The linear state after the t cached tokens: the two sums the recurrence accumulates (Sec. 3.4).
        fk = elu_feature_map(keys[0, 0])  # (t, Dh)
        state = LinearAttentionState((fk.T @ values[0, 0])[None], fk.sum(0)[None], t)  # (1, Dh, Dv), (1, Dh)

        def softmax_step():
            return scaled_dot_product_attention(q_t[:, None, None], keys, values)[0]  # (1, 1, 1, Dh)

        def linear_step():
            return linear_attention_step(state, q_t, k_t, v_t)[0]

        update_flops = 2 * state.kv.shape[-2] * state.kv.shape[-1]  # the outer product phi(k_t) v_t^T, (Dh, Dv)
        for method, step, held, extra in (
            ("softmax + KV cache", softmax_step, (keys.numel() + values.numel()) * keys.element_size(), 0),
            ("linear, recurrent", linear_step, state.nbytes, update_flops),
        ):
            with torch.no_grad():
                ms = interleaved_ms({method: step}, warmup=1, rounds=repeats)[method]
            rows.append({"method": method, "t": t, "flops": count_flops(step) + extra, "bytes_held": int(held),
                         "ms": ms})
    return rows
