"""Why self-attention (Vaswani et al. 2017, Sec. 4, Table 1), measured on one layer of each kind.

Table 1 compares layer types on three counts, for a sequence of n vectors of width d:

=================  ======================  =====================  ===================
layer              complexity per layer    sequential operations  maximum path length
=================  ======================  =====================  ===================
self-attention     O(n^2 * d)              O(1)                   O(1)
recurrent          O(n * d^2)              O(n)                   O(n)
=================  ======================  =====================  ===================

Each count is measured here on real layers: coursekit's
:class:`~coursekit.attention.MultiHeadAttention` and ``torch.nn.GRU`` (one unidirectional
layer, the recurrent layer of Table 1).

- **Cost per layer**: :func:`forward_backward_ms`, the wall time of one forward and
  backward pass, as n grows with d fixed and as d grows with n fixed
  (:func:`layer_timings`); :func:`loglog_slope` reads the growth exponent off the rows.
  :func:`interleaved_ms` times whole training steps of several models fairly on a busy
  machine: in alternation, after warm-up, the median of several short timings each.
- **Sequential operations**: :func:`sequential_operations`, the longest chain of
  dependent operations in the layer's autograd graph (its critical path). With unlimited
  parallel hardware a layer cannot run in fewer steps than that.
- **Path length**: :func:`rounds_to_connect`, the number of rounds of computation, each
  updating every position at once, after which output n-1 depends on input 0 (its
  gradient is non-zero). One self-attention layer connects every pair of positions; a
  recurrence computed in parallel rounds (:func:`gru_in_rounds`, a Jacobi iteration of
  the GRU, which equals ``nn.GRU`` after n rounds) moves information one position per round.

Paper: https://arxiv.org/abs/1706.03762, Sec. 4 and Table 1.
Legend: B batch, n length, d width (d_model, and the GRU's hidden size).
"""

from __future__ import annotations

import math
import time
import statistics
from typing import Callable, Mapping, Sequence

import torch
from torch import nn

from ..attention import MultiHeadAttention
from ..utils import check_choice, check_positive, check_tensor

__all__ = [
    "LAYER_KINDS",
    "make_layer",
    "forward_backward_ms",
    "interleaved_ms",
    "layer_timings",
    "loglog_slope",
    "sequential_operations",
    "gru_in_rounds",
    "rounds_to_connect",
]

LAYER_KINDS = ("self-attention", "recurrent")


class _GRULayer(nn.Module):
    """``nn.GRU`` (one layer, batch_first) that returns only its outputs: (B, n, d) -> (B, n, d)."""

    def __init__(self, d: int):
        super().__init__()
        self.gru = nn.GRU(d, d, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gru(x)[0]


class _SelfAttentionLayer(nn.Module):
    """:class:`MultiHeadAttention` as a self-attention layer: (B, n, d) -> (B, n, d)."""

    def __init__(self, d: int, n_heads: int):
        super().__init__()
        self.attn = MultiHeadAttention(d, n_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x)[0]


def make_layer(kind: str, d: int, *, n_heads: int = 4) -> nn.Module:
    """One layer of Table 1: ``"self-attention"`` (``n_heads`` heads) or ``"recurrent"`` (a GRU),
    both mapping (B, n, d) -> (B, n, d)."""
    check_choice("kind", kind, LAYER_KINDS)
    check_positive("d", d)
    return _SelfAttentionLayer(d, n_heads) if kind == "self-attention" else _GRULayer(d)


def forward_backward_ms(module: nn.Module, x: torch.Tensor, *, repeats: int = 3) -> float:
    """Wall time in ms of ``module(x)`` forward plus backward (of the output's sum), the fastest of
    ``repeats`` runs after one untimed warm-up run. ``x`` gets ``requires_grad`` so the backward
    pass reaches the input, as in a layer inside a network."""
    check_positive("repeats", repeats)
    x = x.detach().requires_grad_(True)
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    best = math.inf
    for i in range(repeats + 1):
        sync()
        start = time.perf_counter()
        module(x).sum().backward()
        sync()
        if i:  # the first run pays for allocations and kernel selection
            best = min(best, time.perf_counter() - start)
        module.zero_grad(set_to_none=True)
        x.grad = None
    return 1000 * best


def interleaved_ms(
    steps: Mapping[str, Callable[[], object]], *, warmup: int = 2, rounds: int = 5, calls: int = 1,
    cuda: bool = False,
) -> dict[str, float]:
    """Median wall time in ms of one call of each function in ``steps`` (name -> a function
    that runs, say, one training step), timed in alternation so that a change in the
    machine's load falls on every function alike.

    Each function first runs ``warmup`` untimed calls (allocations, kernel selection); then
    ``rounds`` rounds each time ``calls`` calls of every function in turn, and each
    function's result is the median over the rounds of the time per call. With ``cuda``
    the device is synchronised around each timing."""
    check_positive("rounds", rounds)
    check_positive("calls", calls)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for r in range(rounds):
        order = list(steps.items())
        for name, fn in order if r % 2 == 0 else order[::-1]:  # alternate who goes first
            sync()
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            sync()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def layer_timings(
    ns: Sequence[int],
    ds: Sequence[int],
    *,
    n_fixed: int,
    d_fixed: int,
    batch: int = 16,
    n_heads: int = 4,
    repeats: int = 3,
    device: torch.device | str | None = None,
    seed: int = 0,
) -> list[dict]:
    """Time one self-attention and one recurrent layer (:func:`forward_backward_ms`) as n grows
    (``ns``, width ``d_fixed``) and as d grows (``ds``, length ``n_fixed``).

    Rows ``{"layer", "sweep" ("n" or "d"), "n", "d", "ms"}``, ready for a chart."""
    rows = []
    gen = torch.Generator().manual_seed(seed)
    sweeps = [("n", n, d_fixed) for n in ns] + [("d", n_fixed, d) for d in ds]
    for sweep, n, d in sweeps:
        check_positive("n", n)
        check_positive("d", d)
        x = torch.randn(batch, n, d, generator=gen).to(device)
        for kind in LAYER_KINDS:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                layer = make_layer(kind, d, n_heads=n_heads).to(device)
            rows.append({"layer": kind, "sweep": sweep, "n": n, "d": d, "ms": forward_backward_ms(layer, x, repeats=repeats)})
    return rows


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The least-squares slope of log(y) against log(x): the exponent k of y ~ x^k."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(f"need at least two (x, y) pairs of equal length, got {len(xs)} and {len(ys)}")
    if min(xs) <= 0 or min(ys) <= 0:
        raise ValueError("x and y must be positive for a log-log slope")
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    var = sum((a - mx) ** 2 for a in lx)
    if var == 0:
        raise ValueError("x must take at least two different values")
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / var


def sequential_operations(output: torch.Tensor) -> int:
    """The critical path of the computation that produced ``output``: the number of autograd
    operations on the longest chain of dependent operations from any leaf to ``output``.

    Operations on one chain must run one after another; operations on different chains could
    run at the same time. So with unlimited parallel hardware the forward pass takes at least
    this many steps (and the backward pass, which mirrors the graph, as many again)."""
    if not isinstance(output, torch.Tensor) or output.grad_fn is None:
        raise ValueError("output must be a tensor computed from inputs that require grad (it has no grad_fn)")
    depth: dict = {}  # node -> longest chain of operations ending at it (leaves count 0)
    stack = [(output.grad_fn, False)]
    while stack:  # iterative post-order DFS: a GRU over a long sequence is thousands of nodes deep
        node, children_done = stack.pop()
        if node in depth:
            continue
        children = [f for f, _ in node.next_functions if f is not None]
        if children_done:
            is_leaf = type(node).__name__ == "AccumulateGrad"
            depth[node] = 0 if is_leaf else 1 + max((depth[c] for c in children), default=0)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if c not in depth)
    return depth[output.grad_fn]


def gru_in_rounds(gru: nn.GRU, x: torch.Tensor, rounds: int) -> torch.Tensor:
    """The GRU's recurrence h_t = cell(x_t, h_{t-1}) computed in parallel rounds (a Jacobi
    iteration): every round updates all n positions at once from the previous round's states,
    ``h^(r)_t = cell(x_t, h^(r-1)_{t-1})``, starting from zeros.

    After round r, positions t < r hold exactly the GRU's states; after n rounds the whole
    output equals ``gru(x)[0]``. x (B, n, d) -> (B, n, H)."""
    if not isinstance(gru, nn.GRU) or gru.num_layers != 1 or gru.bidirectional or not gru.batch_first:
        raise ValueError("gru must be a one-layer, unidirectional nn.GRU with batch_first=True")
    dims = check_tensor("x", x, shape=("B", "n", gru.input_size), dtype="float")
    check_positive("rounds", rounds)
    B, n, H = dims["B"], dims["n"], gru.hidden_size
    flat_x = x.reshape(B * n, -1)  # (B*n, d): every position is one row of one batched cell call
    h = x.new_zeros(B, n, H)
    for _ in range(rounds):
        h_prev = torch.cat([x.new_zeros(B, 1, H), h[:, :-1]], dim=1)  # (B, n, H): state of t - 1
        h = torch.gru_cell(
            flat_x, h_prev.reshape(B * n, H), gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0
        ).view(B, n, H)
    return h


def rounds_to_connect(kind: str, n: int, d: int = 8, *, n_heads: int = 2, seed: int = 0, max_rounds: int | None = None) -> int:
    """Table 1's path length, measured: the number of rounds of computation, each updating every
    position at once, after which output position n-1 depends on input position 0 (the gradient
    of the one with respect to the other is non-zero).

    ``"self-attention"``: a round is one self-attention layer (rounds = layers stacked).
    ``"recurrent"``: a round is one parallel update of the GRU's recurrence (:func:`gru_in_rounds`).
    Returns the first round count that connects them; raises if ``max_rounds`` (default n + 1) do not.
    """
    check_choice("kind", kind, LAYER_KINDS)
    check_positive("n", n)
    max_rounds = n + 1 if max_rounds is None else max_rounds
    check_positive("max_rounds", max_rounds)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer = make_layer(kind, d, n_heads=n_heads)
        x = torch.randn(1, n, d, requires_grad=True)
    if kind == "self-attention":
        def output_after(r: int) -> torch.Tensor:
            h = x
            for _ in range(r):
                h = layer(h)
            return h
    else:
        def output_after(r: int) -> torch.Tensor:
            return gru_in_rounds(layer.gru, x, r)
    for r in range(1, max_rounds + 1):
        (grad,) = torch.autograd.grad(output_after(r)[0, n - 1].sum(), x, allow_unused=True)
        if grad is not None and bool(grad[0, 0].abs().sum() > 0):
            return r
    raise ValueError(f"output {n - 1} does not depend on input 0 after {max_rounds} rounds")
