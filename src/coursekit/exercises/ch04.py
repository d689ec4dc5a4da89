"""Chapter 4 exercises (self-attention): scaled dot-product attention, splitting heads,
the causal mask, multi-head attention assembled from the learner's pieces, one modern
Hopfield update, and a "predict, then run" question on the 1/sqrt(d_k) scaling.

Learner functions, as the notebook's stubs declare them::

    def my_scaled_dot_product_attention(q, k, v, mask):  # (..., T, Dh), (..., S, Dh), (..., S, Dv), bool -> (..., T, Dv), (..., T, S)
    def my_split_heads(x, n_heads):                      # (B, T, D), int -> (B, H, T, Dh)
    def my_causal_mask(T):                               # int -> (T, T) bool
    def my_multi_head_attention(x, W_q, W_k, W_v, W_o, n_heads, mask)
                                                         # (B, T, D), 4 x (D, D), int, bool -> (B, T, D)
    def my_hopfield_update(state, stored, beta):         # (M, d), (N, d), float -> (M, d)
    def my_scaling_prediction():                         # -> "flatter", "peakier" or "unchanged"

References: :func:`coursekit.attention.scaled_dot_product_attention`,
:func:`coursekit.attention.split_heads`, :func:`coursekit.attention.causal_mask`,
:class:`coursekit.attention.MultiHeadAttention` (with the learner's weights copied in),
:func:`coursekit.hopfield.hopfield_update`; the prediction is measured by
:func:`coursekit.attention.score_statistics`. Mask convention: bool, True = may attend.
Legend: B batch, T query length, S key length, D width, H heads, Dh = D / H,
M state patterns, N stored patterns, d pattern width.

By the time of each check the notebook has imported ``torch``, ``math`` (in the
attention stub) and ``scaled_dot_product_attention``, and before the multi-head check
also ``causal_mask``, ``padding_mask``, ``nn`` and ``MultiHeadAttention``; a hint that
needs anything else says how to import it.
"""

from __future__ import annotations

import math

import torch

from ..attention import (
    MultiHeadAttention,
    causal_mask,
    masked_softmax,
    merge_heads,
    scaled_dot_product_attention,
    score_statistics,
    split_heads,
)
from ..hopfield import hopfield_update
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_scaled_dot_product_attention",
    "check_split_heads",
    "check_causal_mask",
    "check_multi_head_attention",
    "check_hopfield_update",
    "check_scaling_prediction",
]


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


# ----------------------------------------------------------------------------- multi-head attention, assembled
@torch.no_grad()
def multi_head_attention_reference(x, W_q, W_k, W_v, W_o, n_heads, mask):
    """coursekit's :class:`MultiHeadAttention` (no biases) with the exercise's weights copied in.

    The exercise applies each weight as ``x @ W`` (the paper's x W^Q); ``nn.Linear`` computes
    ``x @ weight.T``, so ``weight = W.T``.
    """
    mha = MultiHeadAttention(x.shape[-1], n_heads, bias=False).to(x.dtype)
    for proj, W in ((mha.q_proj, W_q), (mha.k_proj, W_k), (mha.v_proj, W_v), (mha.out_proj, W_o)):
        proj.weight.copy_(W.T)
    return mha(x, mask=mask)[0]  # (B, T, D)


def _mha_with(*, transpose=False, out_proj=True, merge="right", heads="split", scale="head", use_mask=True):
    """A wrong multi-head attention, built from coursekit's pieces; the keywords name the slip."""

    def attend(x, W_q, W_k, W_v, W_o, n_heads, mask):
        B, T, D = x.shape
        W_q, W_k, W_v, W_o = (W.T if transpose else W for W in (W_q, W_k, W_v, W_o))
        q, k, v = x @ W_q, x @ W_k, x @ W_v  # (B, T, D)
        m = mask if use_mask else None
        if heads == "one":  # one head over the full width: no split at all
            out, _ = scaled_dot_product_attention(q, k, v, m[:, 0] if m is not None and m.dim() == 4 else m)
        else:
            q, k, v = (split_heads(t, n_heads) for t in (q, k, v))  # (B, H, T, Dh)
            width = q.shape[-1] if scale == "head" else D
            out, _ = scaled_dot_product_attention(q, k, v, m, scale=1.0 / math.sqrt(width))  # (B, H, T, Dh)
            out = merge_heads(out) if merge == "right" else out.reshape(B, T, D)
        return out @ W_o if out_proj else out

    return attend


def _mha_cases(g):
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    weights = lambda D: tuple(r(D, D) / math.sqrt(D) for _ in range(4))  # noqa: E731
    lengths = torch.tensor([4, 2])
    pad = (torch.arange(4)[None, :] < lengths[:, None])[:, None, None, :]  # (B, 1, 1, S)
    return [
        Case("x (2, 5, 12), 3 heads, causal mask (5, 5)", (r(2, 5, 12), *weights(12), 3, causal_mask(5))),
        Case("x (2, 4, 8), 2 heads, padding mask (2, 1, 1, 4) for lengths 4 and 2", (r(2, 4, 8), *weights(8), 2, pad)),
        Case("x (1, 3, 6), 6 heads of width 1, nothing masked (1, 1, 1, 3)",
             (r(1, 3, 6), *weights(6), 6, torch.ones(1, 1, 1, 3, dtype=torch.bool))),
    ]


check_multi_head_attention = checker(Exercise(
    name="multi_head_attention",
    title="multi-head attention, assembled from your pieces",
    signature="(x, W_q, W_k, W_v, W_o, n_heads, mask)",
    reference=multi_head_attention_reference,
    reference_name="`coursekit.attention.MultiHeadAttention` with your weights copied in",
    doc="""Vaswani et al. 2017, Sec. 3.2.2, without biases. x (B, T, D) float; W_q, W_k, W_v, W_o (D, D),
    applied as x @ W; n_heads H dividing D; mask bool broadcastable to (B, H, T, T), True = may attend.
    Returns (B, T, D) = Concat(head_1, ..., head_H) W_o, head_h = Attention(x W_q, x W_k, x W_v) on
    features h*Dh .. (h+1)*Dh - 1, scaled by 1/sqrt(Dh).""",
    cases=_mha_cases,
    outputs=("out",),
    mistakes=(
        Mistake(
            what="your output is the merged heads without the output projection W_o.",
            hint="Multi-head attention ends with `merged @ W_o`: W^O mixes what the heads found (Vaswani et al., "
            "Sec. 3.2.2).",
            output=_mha_with(out_proj=False),
        ),
        Mistake(
            what="your merge reshapes (B, H, T, Dh) straight to (B, T, D): the shape is right, but each position now "
            "holds pieces of other positions.",
            hint="Undo the split in reverse order: move the heads back behind the positions first, "
            "`out.transpose(1, 2)` gives (B, T, H, Dh), then `.reshape(B, T, D)`.",
            output=_mha_with(merge="no transpose"),
        ),
        Mistake(
            what="your projections use the transposed weights (x @ W.T).",
            hint="Here every weight is applied as `x @ W_q` (the paper's x W^Q), not as `nn.Linear` stores it "
            "(`x @ weight.T`).",
            output=_mha_with(transpose=True),
        ),
        Mistake(
            what="you computed one attention over the full width D: there is only one head.",
            hint="Split q, k and v into heads with your `my_split_heads(q, n_heads)` before the attention, so each "
            "head gets its own softmax over its own Dh features.",
            output=_mha_with(heads="one"),
        ),
        Mistake(
            what="your heads scale their scores by 1/sqrt(D), the model width, not 1/sqrt(Dh), the head width.",
            hint="Each head is an attention of width Dh = D / n_heads, so its scale is 1/sqrt(Dh). Your "
            "`my_scaled_dot_product_attention(q, k, v, mask)` on the split heads already uses `q.shape[-1]` = Dh.",
            output=_mha_with(scale="model"),
        ),
        Mistake(
            what="the mask has no effect: masked keys still get weight.",
            hint="Pass `mask` to your attention on the split heads: `my_scaled_dot_product_attention(q, k, v, mask)` "
            "broadcasts a (T, T) or (B, 1, 1, T) mask over the heads.",
            output=_mha_with(use_mask=False),
        ),
    ),
    value_hint="q, k, v = `x @ W_q`, `x @ W_k`, `x @ W_v`; split each with your `my_split_heads`; attend with your "
    "`my_scaled_dot_product_attention(q, k, v, mask)`; merge with `out.transpose(1, 2).reshape(B, T, D)`; "
    "finish with `@ W_o`.",
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
    doc="Ramsauer et al. 2021, Eq. 3, rows as patterns: state (M, d), stored (N, d), beta float -> "
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


# ----------------------------------------------------------------------------- predict: no 1/sqrt(d_k)
def measure_unscaled_peakiness(small: int = 4, large: int = 256, keys: int = 16) -> Measured:
    """Unscaled softmax over ``keys`` random keys at d_k = ``small`` and ``large`` (seeded, ~30 ms on a CPU)."""
    a = score_statistics(small, queries=200, keys=keys, scaled=False, seed=0)
    b = score_statistics(large, queries=200, keys=keys, scaled=False, seed=0)
    change = b.max_weight - a.max_weight
    answer = "peakier" if change > 0.05 else "flatter" if change < -0.05 else "unchanged"
    return Measured(
        answer,
        f"without the scaling, the largest of {keys} softmax weights averaged {a.max_weight:.2f} at d_k = {small} "
        f"and {b.max_weight:.2f} at d_k = {large} (uniform weights would give {1 / keys:.2f}).",
    )


check_scaling_prediction = prediction_checker(Prediction(
    name="scaling_prediction",
    title="predict: the softmax without 1/sqrt(d_k)",
    question="Without the 1/sqrt(d_k) scaling, as d_k grows, do the softmax weights of random queries and keys "
    "become flatter, peakier, or stay the same?",
    choices=("flatter", "peakier", "unchanged"),
    measure=measure_unscaled_peakiness,
    why="q·k is a sum of d_k independent terms, so its standard deviation grows like sqrt(d_k); the softmax of "
    "ever more spread-out scores puts nearly all the weight on the largest one, and its gradient shrinks.",
))
