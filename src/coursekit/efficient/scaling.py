"""The O(n^2) wall, measured: time and peak memory of attention against sequence length.

Three algorithms on the same random (B, H, n, Dh) inputs:

- ``"full"``: softmax attention that materialises the (n, n) score matrix,
  :func:`coursekit.attention.scaled_dot_product_attention` (the textbook algorithm;
  torch's fused ``F.scaled_dot_product_attention`` may avoid the matrix, so it would
  hide the wall this chapter is about);
- ``"blocked_local"``: :func:`coursekit.efficient.local.blocked_local_attention`, O(n * w);
- ``"linear"``: :func:`coursekit.efficient.linear.linear_attention`, O(n * Dh * Dv).

Time: the median of ``repeats`` calls after one warm-up call (``time.perf_counter``;
``torch.cuda.synchronize`` around each call on CUDA). Peak memory, the bytes allocated
by the call beyond its inputs: on CUDA ``torch.cuda.max_memory_allocated`` (after
``reset_peak_memory_stats``); on CPU, one extra call under torch's (Kineto) profiler
with ``profile_memory=True``, whose allocation records (size and sign of every allocation and
free by torch's CPU allocator, in time order) are summed and their running maximum
taken. :func:`theoretical_bytes` gives the dominant terms from the algorithm's shapes,
so a chart can show the measurement beside the count.

Papers: the quadratic cost, Vaswani et al. (2017), "Attention Is All You Need",
https://arxiv.org/abs/1706.03762, Sec. 4 and Table 1 (O(n^2 * d) per self-attention
layer); linear attention, Katharopoulos et al. (2020), https://arxiv.org/abs/2006.16236,
Sec. 3.2 and Fig. 1 (time and memory against length); local attention, Beltagy et al.
(2020), https://arxiv.org/abs/2004.05150, Sec. 3.1.

Legend: B batch, H heads, n sequence length, Dh head width, w window.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from ..attention import causal_mask, scaled_dot_product_attention
from ..transformer.table1 import interleaved_ms
from ..utils import check_bool, check_choice, check_int, check_positive, check_real
from .linear import linear_attention
from .local import blocked_local_attention

__all__ = [
    "SCALING_KINDS",
    "ScalingRow",
    "attention_fn",
    "measure_attention",
    "theoretical_bytes",
    "crossover_length",
    "memory_budget_bytes",
    "full_attention_wall",
    "cpu_peak_bytes",
    "StepRow",
    "measure_step",
]

SCALING_KINDS = ("full", "blocked_local", "linear")


@dataclass(frozen=True)
class ScalingRow:
    """One measurement: ``kind`` at length ``n`` took ``seconds`` (median) and allocated
    ``peak_bytes`` at its peak beyond its inputs; ``theory_bytes`` from :func:`theoretical_bytes`."""

    kind: str
    n: int
    seconds: float
    peak_bytes: int
    theory_bytes: int


def _check_linear_chunk(linear_chunk: int | None) -> None:
    if linear_chunk is not None:
        check_positive("linear_chunk", linear_chunk)


def attention_fn(
    kind: str, *, window: int = 64, causal: bool = False, linear_chunk: int | None = 64
) -> Callable[..., torch.Tensor]:
    """The function ``f(q, k, v) -> out`` measured for ``kind`` (see the module docstring).

    Causal linear attention runs chunk by chunk (``linear_chunk``; None: the paper's
    cumulative sums, far slower on a CPU); see :func:`coursekit.efficient.linear.linear_attention`.
    """
    check_choice("kind", kind, SCALING_KINDS)
    check_positive("window", window)
    check_bool("causal", causal)
    _check_linear_chunk(linear_chunk)
    if kind == "full":

        def full(q, k, v):
            mask = causal_mask(q.shape[-2], device=q.device) if causal else None
            return scaled_dot_product_attention(q, k, v, mask)[0]

        return full
    if kind == "blocked_local":
        return lambda q, k, v: blocked_local_attention(q, k, v, window, causal=causal)
    return lambda q, k, v: linear_attention(q, k, v, causal=causal, chunk=linear_chunk if causal else None)


def theoretical_bytes(
    kind: str,
    n: int,
    *,
    d: int = 64,
    heads: int = 1,
    batch: int = 1,
    window: int = 64,
    causal: bool = False,
    linear_chunk: int | None = 64,
    dtype_bytes: int = 4,
) -> int:
    """Bytes of the largest intermediates ``kind`` materialises at length ``n`` (inputs excluded).

    Dominant terms per (batch, head), in numbers of ``dtype_bytes`` each (bools: 1 byte):

    - ``"full"``: scores and softmax weights, 2 n^2; causal, as coursekit's masked softmax
      does it: scores, masked scores, weights and zeroed weights, 4 n^2, plus two n^2 bool
      masks (the mask and its negation);
    - ``"blocked_local"``: scores and weights over the padded length n' = ceil(n/w) w,
      2 n' K with K = 2w (causal) or 3w keys per block; the key and value windows, which
      the batched product may make contiguous, 2 n' (K/w) d; the scaled and padded queries, 2 n' d;
    - ``"linear"``: the features phi(q), phi(k), numerator and output, 4 n d; causal with
      ``linear_chunk=None``: the n (d x d) outer products and their cumulative sum,
      2 n d^2; causal by chunks of c: the (c, c) kernel blocks n' c, the chunk states and
      their shifted cumulative sums 3 (n'/c) d^2, features, numerators and output 5 n' d
      (n' = ceil(n/c) c).

    Lower-order terms (row sums, the (n,) normaliser, masks shared by all heads) are left
    out. The measurement of :func:`measure_attention` comes within a few percent of this
    for full and linear attention at n >= 1024; for blocked local attention it lies
    between about 0.6 and 1.4 times it (whether the batched product copies the strided
    key windows depends on the sizes), and it grows as O(n * w) all the same.
    """
    check_choice("kind", kind, SCALING_KINDS)
    for name, value in (("n", n), ("d", d), ("heads", heads), ("batch", batch), ("window", window),
                        ("dtype_bytes", dtype_bytes)):
        check_positive(name, value)
    check_bool("causal", causal)
    _check_linear_chunk(linear_chunk)
    bh = batch * heads
    if kind == "full":
        per = (4 * n * n * dtype_bytes + 2 * n * n) if causal else 2 * n * n * dtype_bytes
    elif kind == "blocked_local":
        n_p = -(-n // window) * window
        blocks = 2 if causal else 3  # K / w
        per = (2 * n_p * blocks * window + 2 * n_p * blocks * d + 2 * n_p * d) * dtype_bytes
    elif not causal:
        per = 4 * n * d * dtype_bytes
    elif linear_chunk is None:
        per = 2 * n * d * d * dtype_bytes
    else:
        c = linear_chunk
        n_p = -(-n // c) * c
        per = (n_p * c + 3 * (n_p // c) * d * d + 5 * n_p * d) * dtype_bytes
    return bh * per


def _median_seconds(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` after one warm-up call (CUDA synchronised)."""
    return interleaved_ms({"fn": fn}, warmup=1, rounds=repeats, cuda=device.type == "cuda")["fn"] / 1000


@contextlib.contextmanager
def _quiet_c_stderr():
    """Silence writes to file descriptor 2 (not only ``sys.stderr``): torch's profiler logs a
    'profiler_start' / 'profiler_stop' line from C++ for every profiled call, and a notebook
    would show each of them (so would a terminal running ``scripts/bench_attention.py``)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def cpu_peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated by torch's CPU allocator while ``fn()`` runs, beyond what existed before.

    Runs ``fn`` once under torch's profiler with ``profile_memory=True`` and takes the
    running maximum of its allocation records (allocations positive, frees negative) in
    time order. The result of ``fn`` is dropped inside the profiled region, so it counts.
    (``torch.autograd.profiler.profile`` is the same Kineto profiler as ``torch.profiler.profile``
    without the activity set-up that costs the latter seconds on its first use.)
    """
    with _quiet_c_stderr(), torch.autograd.profiler.profile(profile_memory=True) as prof:
        out = fn()
        del out
    records: list[tuple[int, int]] = []
    stack = list(prof.kineto_results.experimental_event_tree())
    while stack:
        ev = stack.pop()
        extra = ev.extra_fields
        if type(extra).__name__ == "_ExtraFields_Allocation" and extra.device.type == "cpu":
            records.append((ev.start_time_ns, int(extra.alloc_size)))
        stack.extend(ev.children)
    records.sort()
    total = peak = 0
    for _, size in records:
        total += size
        peak = max(peak, total)
    return peak


def measure_attention(
    kind: str,
    lengths: Sequence[int],
    *,
    d: int = 64,
    heads: int = 1,
    batch: int = 1,
    window: int = 64,
    causal: bool = False,
    linear_chunk: int | None = 64,
    repeats: int = 3,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> list[ScalingRow]:
    """Time and peak memory of one attention ``kind`` at each length (module docstring).

    Inputs q, k, v are seeded standard normal (batch, heads, n, d) float32 tensors on
    ``device``. ``window``: blocked local attention's window; ``linear_chunk``: causal
    linear attention's chunk (:func:`attention_fn`). Returns one :class:`ScalingRow` per
    length, in the order given.
    """
    check_choice("kind", kind, SCALING_KINDS)
    if isinstance(lengths, (str, bytes)) or not isinstance(lengths, Sequence) or not lengths:
        raise ValueError(f"lengths must be a non-empty sequence of positive ints, got {lengths!r}")
    for n in lengths:
        check_positive("each of lengths", n)
    for name, value in (("d", d), ("heads", heads), ("batch", batch), ("window", window), ("repeats", repeats)):
        check_positive(name, value)
    check_int("seed", seed, min=0)
    dev = torch.device(device)
    fn = attention_fn(kind, window=window, causal=causal, linear_chunk=linear_chunk)
    cuda = dev.type == "cuda"
    rows = []
    for n in lengths:
        g = torch.Generator().manual_seed(seed)
        q, k, v = (torch.randn(batch, heads, n, d, generator=g).to(dev) for _ in range(3))  # (B, H, n, Dh)
        with torch.no_grad():
            seconds = _median_seconds(lambda: fn(q, k, v), repeats, dev)
            if cuda:
                torch.cuda.synchronize(dev)
                base = torch.cuda.memory_allocated(dev)
                torch.cuda.reset_peak_memory_stats(dev)
                out = fn(q, k, v)
                torch.cuda.synchronize(dev)
                peak = torch.cuda.max_memory_allocated(dev) - base
                del out
            else:
                peak = cpu_peak_bytes(lambda: fn(q, k, v))
        theory = theoretical_bytes(
            kind, n, d=d, heads=heads, batch=batch, window=window, causal=causal, linear_chunk=linear_chunk
        )
        rows.append(ScalingRow(kind, int(n), seconds, int(peak), theory))
    return rows


@dataclass(frozen=True)
class StepRow:
    """One generation step at position ``n``: ``seconds`` (median) and the ``state_bytes``
    the step reads (softmax: the key/value cache of n positions; linear: its fixed state)."""

    kind: str
    n: int
    seconds: float
    state_bytes: int


def measure_step(
    kind: str,
    positions: Sequence[int],
    *,
    d: int = 64,
    heads: int = 1,
    repeats: int = 5,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> list[StepRow]:
    """Time of generating one token's attention output at each position, by ``kind``:

    - ``"softmax"``: one query against a cache of ``n`` keys and values (heads, n, d),
      :func:`coursekit.attention.scaled_dot_product_attention`: time and memory grow with n;
    - ``"linear"``: one :func:`coursekit.efficient.linear.linear_attention_step` from a state
      that has seen ``n`` tokens: the same work at every position (Katharopoulos et al.
      2020, Sec. 3.4).

    Median of ``repeats`` after one warm-up (CUDA synchronised). Returns one :class:`StepRow`
    per position.
    """
    from .linear import LinearAttentionState, linear_attention_step

    check_choice("kind", kind, ("softmax", "linear"))
    if isinstance(positions, (str, bytes)) or not isinstance(positions, Sequence) or not positions:
        raise ValueError(f"positions must be a non-empty sequence of positive ints, got {positions!r}")
    for n in positions:
        check_positive("each of positions", n)
    for name, value in (("d", d), ("heads", heads), ("repeats", repeats)):
        check_positive(name, value)
    check_int("seed", seed, min=0)
    dev = torch.device(device)
    rows = []
    for n in positions:
        g = torch.Generator().manual_seed(seed)
        q, k, v = (torch.randn(heads, 1, d, generator=g).to(dev) for _ in range(3))  # (H, 1, Dh): the new token
        if kind == "softmax":
            cache_k = torch.randn(heads, n, d, generator=g).to(dev)  # (H, n, Dh)
            cache_v = torch.randn(heads, n, d, generator=g).to(dev)

            def step():
                return scaled_dot_product_attention(q, cache_k, cache_v)[0]

            nbytes = 2 * cache_k.numel() * cache_k.element_size()
        else:
            state = LinearAttentionState(
                torch.rand(heads, d, d, generator=g).to(dev), torch.rand(heads, d, generator=g).to(dev), n - 1
            )

            def step():
                return linear_attention_step(state, q[:, 0], k[:, 0], v[:, 0])[0]

            nbytes = state.nbytes
        with torch.no_grad():
            seconds = _median_seconds(step, repeats, dev)
        rows.append(StepRow(kind, int(n), seconds, int(nbytes)))
    return rows


def crossover_length(
    rows_a: Sequence[ScalingRow], rows_b: Sequence[ScalingRow], *, field: str = "seconds"
) -> float | None:
    """The length from which ``b`` is cheaper than ``a`` (by ``field``) and stays so.

    Both row lists must cover the same lengths. Finds the last length at which ``b`` is
    not cheaper; if ``b`` is cheaper at every length after it, interpolates (in log n and
    log cost) between that length and the next for where the two costs meet. Returns the
    shortest length if ``b`` is cheaper everywhere, None if it is not cheaper at the
    longest length.
    """
    check_choice("field", field, ("seconds", "peak_bytes", "theory_bytes"))
    na = [r.n for r in rows_a]
    nb = [r.n for r in rows_b]
    if na != nb or not na:
        raise ValueError(f"rows_a and rows_b must cover the same non-empty lengths, got {na} and {nb}")
    if na != sorted(set(na)):
        raise ValueError(f"lengths must be distinct and increasing, got {na}")
    ca = [float(getattr(r, field)) for r in rows_a]
    cb = [float(getattr(r, field)) for r in rows_b]
    for x in ca + cb:
        check_real(field, x, low=0.0, low_open=True)
    if cb[-1] >= ca[-1]:
        return None
    not_cheaper = [i for i in range(len(na)) if cb[i] >= ca[i]]
    if not not_cheaper:
        return float(na[0])
    i = not_cheaper[-1]
    d0 = math.log(ca[i] / cb[i])  # <= 0: a cheaper or equal
    d1 = math.log(ca[i + 1] / cb[i + 1])  # > 0: b cheaper
    t = (0.0 - d0) / (d1 - d0)
    return math.exp(math.log(na[i]) + t * (math.log(na[i + 1]) - math.log(na[i])))


def memory_budget_bytes() -> int:
    """This machine's memory for one process: physical RAM (``os.sysconf``), or the cgroup
    limit (``/sys/fs/cgroup/memory.max``) when a container sets a smaller one."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return int(total)


def full_attention_wall(
    budget_bytes: int | None = None,
    *,
    heads: int = 1,
    batch: int = 1,
    causal: bool = False,
    dtype_bytes: int = 4,
) -> int:
    """The shortest length at which full attention's intermediates (:func:`theoretical_bytes`,
    ``"full"``) exceed ``budget_bytes`` (default: :func:`memory_budget_bytes`, this machine).

    Computed from the byte count, not guessed: the first n with
    ``theoretical_bytes("full", n, ...) > budget``. (It ignores everything else a real
    program holds, so the real wall comes a little earlier.)
    """
    budget = memory_budget_bytes() if budget_bytes is None else budget_bytes
    check_positive("budget_bytes", budget)

    def over(n: int) -> bool:
        return theoretical_bytes("full", n, heads=heads, batch=batch, causal=causal, dtype_bytes=dtype_bytes) > budget

    lo, hi = 1, 2
    while not over(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # over(hi), not over(lo) (or lo == 1)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if over(mid) else (mid, hi)
    return 1 if over(1) else hi
