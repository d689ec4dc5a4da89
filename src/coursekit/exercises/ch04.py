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

By the time of each check the notebook has imported ``torch``, ``math`` (in the
attention stub) and ``scaled_dot_product_attention``; a hint that needs anything
else says how to import it.
"""

from __future__ import annotations

import math

import torch

from ..attention import causal_mask, masked_softmax, scaled_dot_product_attention, split_heads
from ..hopfield import hopfield_update
from .spec import Case, Exercise, Mistake, checker

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


def _sdpa_cases(g):
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    pad = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)[:, None, :]  # (2, 1, 6)
    per_query = torch.rand(3, 4, 5, generator=g) > 0.4
    per_query[:, :, 0] = True
    per_query[1, 2] = False  # one query may attend nothing
    return [
        Case("q (2, 3, 16), k (2, 6, 16), v (2, 6, 5), padding mask (2, 1, 6)", (r(2, 3, 16), r(2, 6, 16), r(2, 6, 5), pad)),
        Case("(3, 4, 9) queries over 5 keys, per-query mask (3, 4, 5), one query fully masked", (r(3, 4, 9), r(3, 5, 9), r(3, 5, 2), per_query)),
        Case("4-d (batch, heads) inputs (1, 2, 4, 4) with a causal mask (4, 4)", (r(1, 2, 4, 4), r(1, 2, 4, 4), r(1, 2, 4, 3), causal_mask(4))),
    ]


check_scaled_dot_product_attention = checker(Exercise(
    name="scaled_dot_product_attention",
    title="scaled dot-product attention",
    signature="(q, k, v, mask)",
    reference=scaled_dot_product_attention,
    reference_name="`coursekit.attention.scaled_dot_product_attention`",
    doc="""Vaswani et al. 2017, Eq. 1. q (..., T, Dh), k (..., S, Dh), v (..., S, Dv); mask bool
    broadcastable to (..., T, S), True = may attend. weights = softmax(q k^T / sqrt(Dh)) with masked
    keys at 0 (a fully masked row all 0); out = weights @ v.""",
    cases=_sdpa_cases,
    outputs=("out", "weights"),
    mistakes=(
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
            "or use chapter 2's masked softmax: `from coursekit.attention import masked_softmax`, then "
            "`masked_softmax(scores, mask)`.",
            output=_sdpa_with(_RIGHT, mask_of=lambda m: None),
        ),
        Mistake(
            what="your softmax normalises over the queries (dim -2), so the weights of each query do not sum to 1.",
            hint="Each query's weights are a distribution over the keys: softmax over the last dimension, `dim=-1`.",
            output=_sdpa_with(_RIGHT, dim=-2),
        ),
        Mistake(
            what="a query whose keys are all masked comes out as NaN; the reference gives zero weights and a zero "
            "output.",
            hint="softmax of a row of -inf is 0/0 = NaN. Set the masked weights to 0 after the softmax "
            "(`weights.masked_fill(~mask, 0.0)`), which is what chapter 2's masked softmax does.",
            output=_sdpa_nan_rows,
        ),
    ),
    value_hint="weights = softmax of `q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])` over the keys, with the "
    "masked keys at -inf before and at 0 after; out = `weights @ v`. Return `out, weights`.",
))


# ----------------------------------------------------------------------------- split heads
def _split_no_transpose(got, expected, case) -> bool:
    x, n_heads = case.args
    B, T, D = x.shape
    return isinstance(got, torch.Tensor) and got.shape == (B, T, n_heads, D // n_heads) and T != n_heads


check_split_heads = checker(Exercise(
    name="split_heads",
    title="splitting heads",
    signature="(x, n_heads)",
    reference=split_heads,
    reference_name="`coursekit.attention.split_heads`",
    doc="x (B, T, D), n_heads H dividing D -> (B, H, T, D // H): head h holds features h*Dh to (h+1)*Dh - 1.",
    cases=lambda g: [
        Case("x (2, 5, 12), 3 heads", (torch.randn(2, 5, 12, generator=g), 3)),
        Case("x (1, 4, 8), 2 heads", (torch.randn(1, 4, 8, generator=g), 2)),
        Case("x (3, 2, 6), 6 heads of width 1", (torch.randn(3, 2, 6, generator=g), 6)),
    ],
    outputs=("heads",),
    mistakes=(
        Mistake(
            what="you reshaped (B, T, D) straight to (B, H, T, Dh): the shape is right, but each head now holds a "
            "block of *positions*, mixing tokens.",
            hint="A reshape keeps the memory order, in which the D features of one position are contiguous. Split "
            "the last dimension first, `x.view(B, T, H, Dh)`, then move the heads forward with `.transpose(1, 2)`.",
            output=lambda x, n_heads: x.reshape(x.shape[0], n_heads, x.shape[1], x.shape[2] // n_heads),
        ),
        Mistake(
            what="your output has shape (B, T, H, Dh): the heads are not in front of the positions yet.",
            hint="After `x.view(B, T, H, Dh)`, swap the T and H axes: `.transpose(1, 2)` gives (B, H, T, Dh).",
            test=_split_no_transpose,
        ),
        Mistake(
            what="your heads get interleaved features (head h: features h, h + H, ...), not a contiguous block each.",
            hint="Split D as (H, Dh), not (Dh, H): `x.view(B, T, H, Dh)`, so head h gets features h*Dh to "
            "(h+1)*Dh - 1, the same block that q_proj's rows h*Dh .. (h+1)*Dh - 1 produce (and torch's module "
            "expects).",
            output=lambda x, n_heads: x.reshape(*x.shape[:2], x.shape[2] // n_heads, n_heads).permute(0, 3, 1, 2),
        ),
        Mistake(
            what="your output is (B, H, Dh, T): the last two axes are swapped.",
            hint="Only swap T and H: `x.view(B, T, H, Dh).transpose(1, 2)` (not `.permute(0, 2, 3, 1)`).",
            output=lambda x, n_heads: split_heads(x, n_heads).transpose(-2, -1),
        ),
    ),
    value_hint="`x.view(B, T, n_heads, D // n_heads).transpose(1, 2)`.",
))


# ----------------------------------------------------------------------------- causal mask
def _pattern_as(got, expected, dtype_test) -> bool:
    """The right True/False pattern, as 1/0 of a dtype that ``dtype_test`` accepts."""
    return (
        isinstance(got, torch.Tensor)
        and dtype_test(got)
        and got.shape == expected.shape
        and bool(((got == 0) | (got == 1)).all())
        and torch.equal(got != 0, expected)
    )


def _additive(got, expected, case) -> bool:
    """0 where the reference may attend and -inf where it may not: the mask to *add* to the scores."""
    return (
        isinstance(got, torch.Tensor)
        and got.is_floating_point()
        and got.shape == expected.shape
        and torch.equal(got == 0, expected)
        and bool((got[~expected] == float("-inf")).all())
    )


_BOOL_HINT = (
    "Make it bool: create it with `dtype=torch.bool` (`torch.tril(torch.ones(T, T, dtype=torch.bool))`) or "
    "finish with `.bool()`. Attention code selects with a boolean mask; torch's attention would *add* a float "
    "mask to the scores instead."
)

check_causal_mask = checker(Exercise(
    name="causal_mask",
    title="causal mask",
    signature="(T)",
    reference=causal_mask,
    reference_name="`coursekit.attention.causal_mask`",
    doc="T -> (T, T) bool, True where query i may attend key j, i.e. j <= i.",
    cases=lambda g: [Case(f"T={T}", (T,)) for T in (4, 1, 7)],
    outputs=("mask",),
    mistakes=(
        Mistake(
            what="your mask hides the diagonal: a position may not attend to itself.",
            hint="Query i may attend keys 0..i *including* i: `torch.tril(..., diagonal=0)`, not `diagonal=-1`.",
            output=lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1),
        ),
        Mistake(
            what="your mask lets each position see one step into the future (off by one).",
            hint="Use `torch.tril(torch.ones(T, T, dtype=torch.bool))`, whose diagonal is the last key each query "
            "sees.",
            output=lambda T: torch.ones(T, T, dtype=torch.bool).tril(1),
        ),
        Mistake(
            what="your mask is True on the future: it follows the 'True = masked' convention.",
            hint="In coursekit True means *may attend* (as in `torch.nn.functional.scaled_dot_product_attention`): "
            "the lower triangle with the diagonal is True. `torch.triu(..., 1)` is the convention of "
            "`torch.nn.MultiheadAttention`'s `attn_mask`.",
            output=lambda T: torch.ones(T, T, dtype=torch.bool).triu(1),
        ),
        Mistake(
            what="your mask lets each position see the future and hides the past (upper triangle).",
            hint="Query i (row i) may attend keys j <= i (columns up to i): that is the lower triangle, `torch.tril`.",
            output=lambda T: torch.ones(T, T, dtype=torch.bool).triu(),
        ),
        Mistake(
            what="your mask has the right pattern, but as a float tensor of 1.0 and 0.0, not a boolean one.",
            hint=_BOOL_HINT,
            test=lambda got, expected, case: _pattern_as(got, expected, torch.Tensor.is_floating_point),
        ),
        Mistake(
            what="your mask has the right pattern, but as an integer tensor of 1 and 0, not a boolean one.",
            hint=_BOOL_HINT,
            test=lambda got, expected, case: _pattern_as(
                got, expected, lambda t: not t.is_floating_point() and t.dtype != torch.bool
            ),
        ),
        Mistake(
            what="your mask is a float tensor of 0 and -inf (an additive mask), not a boolean one.",
            hint="coursekit's masks are bool, True where a query may attend: "
            "`torch.tril(torch.ones(T, T, dtype=torch.bool))`. (An additive mask is what you would add to the scores "
            "yourself.)",
            test=lambda got, expected, case: _additive(got, expected, case),
        ),
    ),
    value_hint="Row i is query i; it may attend columns 0..i: `torch.tril(torch.ones(T, T, dtype=torch.bool))`.",
))


# ----------------------------------------------------------------------------- one Hopfield update
def _hopfield_cases(g):
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    return [
        Case("3 states, 5 stored patterns of width 4, beta=3", (r(3, 4), r(5, 4), 3.0)),
        Case("1 state, 7 patterns of width 16, beta=0.3", (r(1, 16), r(7, 16), 0.3)),
        Case("4 states, 2 patterns of width 9, beta=5", (r(4, 9), r(2, 9), 5.0)),
    ]


check_hopfield_update = checker(Exercise(
    name="hopfield_update",
    title="one modern Hopfield update",
    signature="(state, stored, beta)",
    reference=lambda state, stored, beta: hopfield_update(state, stored, beta)[0],
    reference_name="`coursekit.hopfield.hopfield_update`",
    doc="Ramsauer et al. 2020, Eq. 3, rows as patterns: state (M, d), stored (N, d), beta float -> "
    "new_state (M, d) = softmax(beta state stored^T) stored.",
    cases=_hopfield_cases,
    outputs=("new_state",),
    mistakes=(
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
            hint="Each state's weights are a distribution over the N stored patterns: softmax over the last "
            "dimension.",
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
    ),
    value_hint="`torch.softmax(beta * state @ stored.T, dim=-1) @ stored`.",
))
