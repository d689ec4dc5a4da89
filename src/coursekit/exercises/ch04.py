"""Chapter 4 exercises (self-attention): scaled dot-product attention, splitting heads,
the causal mask, one modern Hopfield update.

Learner functions, as the notebook's stubs declare them::

    def my_scaled_dot_product_attention(q, k, v, mask):  # (..., T, Dh), (..., S, Dh), (..., S, Dv), bool -> (..., T, Dv), (..., T, S)
    def my_split_heads(x, n_heads):                      # (B, T, D), int -> (B, H, T, Dh)
    def my_causal_mask(T):                               # int -> (T, T) bool
    def my_hopfield_update(state, stored, beta):         # (M, d), (N, d), float -> (M, d)

References: :func:`coursekit.attention.scaled_dot_product_attention`,
:func:`coursekit.attention.split_heads`, :func:`coursekit.attention.causal_mask`,
:func:`coursekit.hopfield.hopfield_update`. Mask convention: bool, True = may attend.
Legend: B batch, T query length, S key length, D width, H heads, Dh = D / H,
M state patterns, N stored patterns, d pattern width.
"""

from __future__ import annotations

import math

import torch

from ..attention import causal_mask, masked_softmax, scaled_dot_product_attention, split_heads
from ..hopfield import hopfield_update
from . import TIME_LIMIT, Case, CheckResult, Mistake, run_check

__all__ = ["check_scaled_dot_product_attention", "check_split_heads", "check_causal_mask", "check_hopfield_update"]


# ----------------------------------------------------------------------------- scaled dot-product attention
def _sdpa_with(scale_of, *, mask_of=lambda m: m, dim=-1):
    """A wrong attention: another scale, another mask, or the softmax over another dim."""

    def attend(q, k, v, mask):
        scores = q @ k.transpose(-2, -1) * scale_of(q, k)
        weights = masked_softmax(scores, mask_of(mask), dim=dim) if mask_of(mask) is not None else torch.softmax(scores, dim)
        return weights @ v, weights

    return attend


_ONE = lambda q, k: 1.0  # noqa: E731
_RIGHT = lambda q, k: 1.0 / math.sqrt(q.shape[-1])  # noqa: E731


def _sdpa_nan_rows(q, k, v, mask):
    weights = torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(~mask, float("-inf")), -1)
    return weights @ v, weights


_SDPA_MISTAKES = (
    Mistake(
        what="your scores are not scaled: you computed softmax(Q K^T) V.",
        hint="Divide the scores by sqrt(d_k), d_k = `q.shape[-1]`: for unit-variance q and k, q·k has variance "
        "d_k, and without the scaling the softmax saturates (one weight near 1) and its gradients vanish.",
        output=_sdpa_with(_ONE),
    ),
    Mistake(
        what="you divided the scores by d_k instead of sqrt(d_k).",
        hint="The standard deviation of q·k is sqrt(d_k), so that is what brings the scores back to unit scale: "
        "`scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])`.",
        output=_sdpa_with(lambda q, k: 1.0 / q.shape[-1]),
    ),
    Mistake(
        what="you scaled by 1/sqrt of the number of keys S, not of the key width d_k.",
        hint="d_k is the width of each query and key vector, the last dimension: `q.shape[-1]`, not `k.shape[-2]`.",
        output=_sdpa_with(lambda q, k: 1.0 / math.sqrt(k.shape[-2])),
    ),
    Mistake(
        what="you multiplied the scores by sqrt(d_k) instead of dividing.",
        hint="The scale is 1/sqrt(d_k): `/ math.sqrt(d_k)` (or `* d_k ** -0.5`).",
        output=_sdpa_with(lambda q, k: math.sqrt(q.shape[-1])),
    ),
    Mistake(
        what="your mask is inverted: the weight goes to the positions where `mask` is False.",
        hint="In coursekit, `True` means *may attend*. Fill the scores where the mask is False: "
        "`scores.masked_fill(~mask, float('-inf'))` (torch's nn.MultiheadAttention uses the opposite convention).",
        output=_sdpa_with(_RIGHT, mask_of=lambda m: ~m),
    ),
    Mistake(
        what="the mask has no effect: masked keys still get weight.",
        hint="Before the softmax, set the masked scores to -inf (`scores.masked_fill(~mask, float('-inf'))`), "
        "or use chapter 2's `masked_softmax(scores, mask)`.",
        output=_sdpa_with(_RIGHT, mask_of=lambda m: None),
    ),
    Mistake(
        what="your softmax normalises over the queries (dim -2), so the weights of each query do not sum to 1.",
        hint="Each query's weights are a distribution over the keys: softmax over the last dimension, `dim=-1`.",
        output=_sdpa_with(_RIGHT, dim=-2),
    ),
    Mistake(
        what="a query whose keys are all masked comes out as NaN; the reference gives zero weights and a zero output.",
        hint="softmax of a row of -inf is 0/0 = NaN. Set the masked weights to 0 after the softmax "
        "(`weights.masked_fill(~mask, 0.0)`), which is what `masked_softmax` does.",
        output=_sdpa_nan_rows,
    ),
)


def check_scaled_dot_product_attention(fn, *, seed: int = 0, time_limit: float | None = TIME_LIMIT) -> CheckResult:
    """Check ``fn(q, k, v, mask) -> (out, weights)`` against
    :func:`coursekit.attention.scaled_dot_product_attention` (Vaswani et al. 2017, Eq. 1).

    q (..., T, Dh), k (..., S, Dh), v (..., S, Dv); mask bool broadcastable to (..., T, S),
    True = may attend. weights = softmax(q k^T / sqrt(Dh)) with masked keys at 0 (a fully
    masked row all 0); out = weights @ v.
    """
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    pad = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)[:, None, :]  # (2, 1, 6)
    per_query = torch.rand(3, 4, 5, generator=g) > 0.4
    per_query[:, :, 0] = True
    per_query[1, 2] = False  # one query may attend nothing
    names = ("q", "k", "v", "mask")
    cases = [
        Case("q (2, 3, 16), k (2, 6, 16), v (2, 6, 5), padding mask (2, 1, 6)", (r(2, 3, 16), r(2, 6, 16), r(2, 6, 5), pad), names),
        Case("(3, 4, 9) queries over 5 keys, per-query mask (3, 4, 5), one query fully masked", (r(3, 4, 9), r(3, 5, 9), r(3, 5, 2), per_query), names),
        Case("4-d (batch, heads) inputs (1, 2, 4, 4) with a causal mask (4, 4)", (r(1, 2, 4, 4), r(1, 2, 4, 4), r(1, 2, 4, 3), causal_mask(4)), names),
    ]
    return run_check(
        "scaled dot-product attention",
        fn,
        signature="(q, k, v, mask)",
        cases=cases,
        reference=scaled_dot_product_attention,
        reference_name="`coursekit.attention.scaled_dot_product_attention`",
        outputs=("out", "weights"),
        mistakes=_SDPA_MISTAKES,
        value_hint="weights = masked_softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), mask); "
        "out = weights @ v. Return `out, weights`.",
        time_limit=time_limit,
    )


# ----------------------------------------------------------------------------- split heads
def _split_view_only(x, n_heads):  # positions get mixed across heads
    B, T, D = x.shape
    return x.reshape(B, n_heads, T, D // n_heads)


def _split_interleaved(x, n_heads):  # head h gets features h, h + H, h + 2H, ...
    B, T, D = x.shape
    return x.reshape(B, T, D // n_heads, n_heads).permute(0, 3, 1, 2)


def _split_no_transpose(got, expected, case) -> bool:
    x, n_heads = case.args
    B, T, D = x.shape
    return isinstance(got, torch.Tensor) and got.shape == (B, T, n_heads, D // n_heads) and T != n_heads


def _split_swapped_t_dh(x, n_heads):
    return split_heads(x, n_heads).transpose(-2, -1)


_SPLIT_MISTAKES = (
    Mistake(
        what="you reshaped (B, T, D) straight to (B, H, T, Dh): the shape is right, but each head now holds a "
        "block of *positions*, mixing tokens.",
        hint="A reshape keeps the memory order, in which the D features of one position are contiguous. Split the "
        "last dimension first, `x.view(B, T, H, Dh)`, then move the heads forward with `.transpose(1, 2)`.",
        output=_split_view_only,
    ),
    Mistake(
        what="your output has shape (B, T, H, Dh): the heads are not in front of the positions yet.",
        hint="After `x.view(B, T, H, Dh)`, swap the T and H axes: `.transpose(1, 2)` gives (B, H, T, Dh).",
        test=_split_no_transpose,
    ),
    Mistake(
        what="your heads get interleaved features (head h: features h, h + H, ...), not a contiguous block each.",
        hint="Split D as (H, Dh), not (Dh, H): `x.view(B, T, H, Dh)`, so head h gets features h*Dh to (h+1)*Dh - 1, "
        "the same block that q_proj's rows h*Dh .. (h+1)*Dh - 1 produce (and torch's module expects).",
        output=_split_interleaved,
    ),
    Mistake(
        what="your output is (B, H, Dh, T): the last two axes are swapped.",
        hint="Only swap T and H: `x.view(B, T, H, Dh).transpose(1, 2)` (not `.permute(0, 2, 3, 1)`).",
        output=_split_swapped_t_dh,
    ),
)


def check_split_heads(fn, *, seed: int = 0, time_limit: float | None = TIME_LIMIT) -> CheckResult:
    """Check ``fn(x, n_heads) -> (B, H, T, Dh)`` against :func:`coursekit.attention.split_heads`."""
    g = torch.Generator().manual_seed(seed)
    names = ("x", "n_heads")
    cases = [
        Case("x (2, 5, 12), 3 heads", (torch.randn(2, 5, 12, generator=g), 3), names),
        Case("x (1, 4, 8), 2 heads", (torch.randn(1, 4, 8, generator=g), 2), names),
        Case("x (3, 2, 6), 6 heads of width 1", (torch.randn(3, 2, 6, generator=g), 6), names),
    ]
    return run_check(
        "splitting heads",
        fn,
        signature="(x, n_heads)",
        cases=cases,
        reference=split_heads,
        reference_name="`coursekit.attention.split_heads`",
        outputs=("heads",),
        mistakes=_SPLIT_MISTAKES,
        value_hint="`x.view(B, T, n_heads, D // n_heads).transpose(1, 2)`.",
        time_limit=time_limit,
    )


# ----------------------------------------------------------------------------- causal mask
_CAUSAL_MISTAKES = (
    Mistake(
        what="your mask hides the diagonal: a position may not attend to itself.",
        hint="Query i may attend keys 0..i *including* i: `torch.tril(..., diagonal=0)`, not `diagonal=-1`.",
        output=lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1),
    ),
    Mistake(
        what="your mask lets each position see one step into the future (off by one).",
        hint="Use `torch.tril(torch.ones(T, T, dtype=torch.bool))`, whose diagonal is the last key each query sees.",
        output=lambda T: torch.ones(T, T, dtype=torch.bool).tril(1),
    ),
    Mistake(
        what="your mask is True on the future: it follows the 'True = masked' convention.",
        hint="In coursekit True means *may attend* (as in `F.scaled_dot_product_attention`): the lower triangle "
        "with the diagonal is True. `torch.triu(..., 1)` is torch's `nn.MultiheadAttention` convention.",
        output=lambda T: torch.ones(T, T, dtype=torch.bool).triu(1),
    ),
    Mistake(
        what="your mask lets each position see the future and hides the past (upper triangle).",
        hint="Query i (row i) may attend keys j <= i (columns up to i): that is the lower triangle, `torch.tril`.",
        output=lambda T: torch.ones(T, T, dtype=torch.bool).triu(),
    ),
    Mistake(
        what="your mask is a float tensor of 0 and -inf (an additive mask), not a boolean one.",
        hint="coursekit's masks are bool: `torch.tril(torch.ones(T, T, dtype=torch.bool))`.",
        test=lambda got, expected, case: isinstance(got, torch.Tensor) and got.is_floating_point(),
    ),
)


def check_causal_mask(fn, *, seed: int = 0, time_limit: float | None = TIME_LIMIT) -> CheckResult:
    """Check ``fn(T) -> (T, T) bool`` against :func:`coursekit.attention.causal_mask`
    (True where query i may attend key j, i.e. j <= i)."""
    cases = [Case(f"T={T}", (T,), ("T",)) for T in (4, 1, 7)]
    return run_check(
        "causal mask",
        fn,
        signature="(T)",
        cases=cases,
        reference=causal_mask,
        reference_name="`coursekit.attention.causal_mask`",
        outputs=("mask",),
        mistakes=_CAUSAL_MISTAKES,
        value_hint="Row i is query i; it may attend columns 0..i: `torch.tril(torch.ones(T, T, dtype=torch.bool))`.",
        time_limit=time_limit,
    )


# ----------------------------------------------------------------------------- one Hopfield update
def _hopfield_ref(state, stored, beta):
    return hopfield_update(state, stored, beta)[0]


_HOPFIELD_MISTAKES = (
    Mistake(
        what="beta has no effect in your update.",
        hint="beta multiplies the similarities before the softmax: `softmax(beta * state @ stored.T, dim=-1)`. "
        "It is the inverse temperature, and the role 1/sqrt(d_k) plays in attention.",
        output=lambda state, stored, beta: torch.softmax(state @ stored.T, -1) @ stored,
    ),
    Mistake(
        what="you divided by beta instead of multiplying.",
        hint="beta is an *inverse* temperature: large beta = sharp softmax. Use `beta * state @ stored.T`.",
        output=lambda state, stored, beta: torch.softmax(state @ stored.T / beta, -1) @ stored,
    ),
    Mistake(
        what="you scaled by 1/sqrt(d), the Transformer's default, instead of beta.",
        hint="Here the scale is the given beta: `softmax(beta * state @ stored.T, dim=-1) @ stored`.",
        output=lambda state, stored, beta: torch.softmax(state @ stored.T / math.sqrt(state.shape[-1]), -1) @ stored,
    ),
    Mistake(
        what="your softmax runs over the states (dim 0), not over the stored patterns.",
        hint="Each state's weights are a distribution over the N stored patterns: softmax over the last dimension.",
        output=lambda state, stored, beta: torch.softmax(beta * state @ stored.T, 0) @ stored,
    ),
    Mistake(
        what="you returned the weights p = softmax(beta X^T xi), not the new state X p.",
        hint="The new state is the weighted average of the stored patterns: `p @ stored`, shape (M, d).",
        output=lambda state, stored, beta: torch.softmax(beta * state @ stored.T, -1),
    ),
    Mistake(
        what="your update has no softmax: the new state is linear in the old one.",
        hint="xi_new = X softmax(beta X^T xi): the softmax is what makes retrieval pick out one pattern.",
        output=lambda state, stored, beta: (beta * state @ stored.T) @ stored,
    ),
)


def check_hopfield_update(fn, *, seed: int = 0, time_limit: float | None = TIME_LIMIT) -> CheckResult:
    """Check ``fn(state, stored, beta) -> new_state`` against :func:`coursekit.hopfield.hopfield_update`
    (Ramsauer et al. 2020, Eq. 3): new_state = softmax(beta state stored^T) stored, rows as patterns."""
    g = torch.Generator().manual_seed(seed)
    names = ("state", "stored", "beta")
    cases = [
        Case("3 states, 5 stored patterns of width 4, beta=3", (torch.randn(3, 4, generator=g), torch.randn(5, 4, generator=g), 3.0), names),
        Case("1 state, 7 patterns of width 16, beta=0.3", (torch.randn(1, 16, generator=g), torch.randn(7, 16, generator=g), 0.3), names),
        Case("4 states, 2 patterns of width 9, beta=5", (torch.randn(4, 9, generator=g), torch.randn(2, 9, generator=g), 5.0), names),
    ]
    return run_check(
        "one modern Hopfield update",
        fn,
        signature="(state, stored, beta)",
        cases=cases,
        reference=_hopfield_ref,
        reference_name="`coursekit.hopfield.hopfield_update`",
        outputs=("new_state",),
        mistakes=_HOPFIELD_MISTAKES,
        value_hint="`torch.softmax(beta * state @ stored.T, dim=-1) @ stored`.",
        time_limit=time_limit,
    )
