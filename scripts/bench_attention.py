"""Forward + backward time of four multi-head attention implementations on CPU.

Compares, at B=32, T=128, D=256, H=8 (self-attention, no mask):

1. coursekit's ``MultiHeadAttention``, from-scratch path (``need_weights=True``),
2. its fast path (``need_weights=False``, through ``F.scaled_dot_product_attention``),
3. ``torch.nn.MultiheadAttention(batch_first=True)`` (default call: it returns weights,
   so it also takes its explicit softmax path),
4. the same four projections written plainly around ``F.scaled_dot_product_attention``.

Targets: (1) within 1.1x of (3), and (2) within 1.1x of (4). Usage::

    python scripts/bench_attention.py                # 1 and 2 threads
    python scripts/bench_attention.py --threads 1 --repeats 30
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.attention import MultiHeadAttention


def plain_sdpa(x: torch.Tensor, mha: MultiHeadAttention) -> torch.Tensor:
    """Four separate projections + F.scaled_dot_product_attention, the way one would write it inline."""
    B, T, D = x.shape
    H, Dh = mha.n_heads, mha.d_head
    q = mha.q_proj(x).view(B, T, H, Dh).transpose(1, 2)  # (B, H, T, Dh)
    k = mha.k_proj(x).view(B, T, H, Dh).transpose(1, 2)
    v = mha.v_proj(x).view(B, T, H, Dh).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v)  # (B, H, T, Dh)
    return mha.out_proj(out.transpose(1, 2).reshape(B, T, D))


def time_fwd_bwd(fn, x: torch.Tensor, repeats: int, warmup: int = 3) -> list[float]:
    times = []
    for i in range(warmup + repeats):
        x.grad = None
        t0 = time.perf_counter()
        fn(x).sum().backward()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def bench(threads: int, B: int, T: int, D: int, H: int, repeats: int) -> dict[str, float]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(D, H, batch_first=True)
    ours = MultiHeadAttention(D, H).load_torch_weights(ref)
    x = torch.randn(B, T, D, requires_grad=True)
    fns = {
        "coursekit from-scratch (need_weights=True)": lambda x: ours(x, need_weights=True)[0],
        "torch nn.MultiheadAttention": lambda x: ref(x, x, x)[0],
        "coursekit fast path (need_weights=False)": lambda x: ours(x)[0],
        "plain projections + F.sdpa": lambda x: plain_sdpa(x, ours),
    }
    # Interleave the implementations round by round, so that load from other
    # processes on a shared machine hits all of them alike.
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for name, fn in fns.items():
        time_fwd_bwd(fn, x, repeats=0, warmup=3)
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name] += time_fwd_bwd(fn, x, repeats=1, warmup=0)
    return {name: statistics.median(s) for name, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--B", type=int, default=32)
    parser.add_argument("--T", type=int, default=128)
    parser.add_argument("--D", type=int, default=256)
    parser.add_argument("--H", type=int, default=8)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, B={args.B} T={args.T} D={args.D} H={args.H}, "
          f"forward + backward, median of {args.repeats}")
    for threads in args.threads:
        med = bench(threads, args.B, args.T, args.D, args.H, args.repeats)
        print(f"\n{threads} thread(s):")
        for name, t in med.items():
            print(f"  {name:45s} {t * 1e3:8.2f} ms")
        names = list(med)
        r1 = med[names[0]] / med[names[1]]
        r2 = med[names[2]] / med[names[3]]
        print(f"  from-scratch / torch module  = {r1:.3f}  (target <= 1.1: {'met' if r1 <= 1.1 else 'MISSED'})")
        print(f"  fast path / plain + F.sdpa   = {r2:.3f}  (target <= 1.1: {'met' if r2 <= 1.1 else 'MISSED'})")


if __name__ == "__main__":
    main()
