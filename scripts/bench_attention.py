"""Forward + backward time of four multi-head attention implementations on CPU.

Compares, at B=32, T=128, D=256, H=8 (self-attention, no mask):

1. coursekit's ``MultiHeadAttention``, from-scratch path (``need_weights=True``),
2. its fast path (``need_weights=False``, through ``F.scaled_dot_product_attention``),
3. ``torch.nn.MultiheadAttention(batch_first=True)`` (default call: it returns weights,
   so it also takes its explicit softmax path),
4. the same four projections written plainly around ``F.scaled_dot_product_attention``.

Targets: (1) within 1.1x of (3), and (2) within 1.1x of (4).

Then the linear-vs-softmax crossover (Chapter 7, ``coursekit.efficient.scaling``): the
forward time of full softmax attention (the (n, n) score matrix materialised) and of
linear attention (Katharopoulos et al. 2020) at lengths 32 ... 4096, one head of width
64, one thread, and the length from which linear attention is faster for good,
non-causal and causal. Usage::

    python scripts/bench_attention.py                # 1 and 2 threads, then the crossover
    python scripts/bench_attention.py --threads 1 --repeats 30
    python scripts/bench_attention.py --parts crossover --crossover-repeats 9
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.attention import MultiHeadAttention
from coursekit.efficient import crossover_length, measure_attention


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


def crossover(lengths: list[int], d: int, repeats: int, causal: bool) -> None:
    """Print full vs linear attention time per length and the crossover length (one thread)."""
    torch.set_num_threads(1)
    full = measure_attention("full", lengths, d=d, repeats=repeats, causal=causal)
    linear = measure_attention("linear", lengths, d=d, repeats=repeats, causal=causal)
    print(f"\nlinear vs softmax attention, {'causal' if causal else 'non-causal'}, d={d}, 1 thread, "
          f"forward, median of {repeats}:")
    print(f"  {'n':>6s} {'full ms':>10s} {'linear ms':>10s} {'full MiB':>9s} {'linear MiB':>10s}")
    for a, b in zip(full, linear):
        print(f"  {a.n:6d} {a.seconds * 1e3:10.3f} {b.seconds * 1e3:10.3f} "
              f"{a.peak_bytes / 2**20:9.2f} {b.peak_bytes / 2**20:10.2f}")
    for field, what in (("seconds", "time"), ("peak_bytes", "peak memory")):
        n = crossover_length(full, linear, field=field)
        where = f"n = {n:.0f}" if n is not None else f"none up to n = {lengths[-1]}"
        print(f"  crossover ({what}): linear attention cheaper from {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--B", type=int, default=32)
    parser.add_argument("--T", type=int, default=128)
    parser.add_argument("--D", type=int, default=256)
    parser.add_argument("--H", type=int, default=8)
    parser.add_argument("--parts", nargs="+", choices=["mha", "crossover"], default=["mha", "crossover"])
    parser.add_argument("--crossover-lengths", type=int, nargs="+", default=[2**i for i in range(5, 13)])
    parser.add_argument("--crossover-d", type=int, default=64)
    parser.add_argument("--crossover-repeats", type=int, default=5)
    args = parser.parse_args()
    if "mha" in args.parts:
        mha(args)
    if "crossover" in args.parts:
        for causal in (False, True):
            crossover(args.crossover_lengths, args.crossover_d, args.crossover_repeats, causal)


def mha(args: argparse.Namespace) -> None:
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
