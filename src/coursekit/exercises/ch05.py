"""Chapter 5 exercises (the Transformer): the sinusoidal positional encoding, RMSNorm,
the warm-up schedule, a SwiGLU feed-forward network.

Learner functions, as the notebook's stubs declare them::

    def my_sinusoidal_encoding(T, d_model):                # int, int -> (T, D) float
    def my_rms_norm(x, weight, eps):                       # (..., D), (D,), float -> (..., D)
    def my_warmup_lr(step, d_model, warmup_steps):         # (N,) float steps 1, 2, ..., int, int -> (N,)
    def my_swiglu(x, W_gate, W_up, W_down):                # (B, T, D), (F, D), (F, D), (D, F) -> (B, T, D)

References: :func:`coursekit.transformer.sinusoidal_encoding`, :class:`coursekit.transformer.RMSNorm`,
:func:`coursekit.transformer.warmup_lr`, :class:`coursekit.transformer.FeedForward` (``"swiglu"``).
Weights are stored as ``nn.Linear`` stores them, (out, in): apply W as ``x @ W.T``.
Legend: B batch, T length, D d_model, F d_ff, N steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..transformer import FeedForward, RMSNorm, sinusoidal_encoding, warmup_lr
from . import TIME_LIMIT, Case, CheckResult, Mistake, run_check

__all__ = ["check_sinusoidal_encoding", "check_rms_norm", "check_warmup_lr", "check_swiglu"]


# ----------------------------------------------------------------------------- sinusoidal encoding
def _angles(T, d_model, exponent):
    pos = torch.arange(T, dtype=torch.float32)[:, None]
    return pos / 10000 ** exponent  # (T, D/2) or (T, D)


def _pe_swapped(T, d_model):
    pe = sinusoidal_encoding(T, d_model)
    return torch.stack([pe[:, 1::2], pe[:, 0::2]], dim=-1).flatten(1)  # cos at even columns, sin at odd


def _pe_concatenated(T, d_model):
    pe = sinusoidal_encoding(T, d_model)
    return torch.cat([pe[:, 0::2], pe[:, 1::2]], dim=1)  # [all sines | all cosines]


def _pe_i_over_d(T, d_model):
    a = _angles(T, d_model, torch.arange(d_model // 2) / d_model)  # 10000^(i/d)
    return torch.stack([a.sin(), a.cos()], dim=-1).flatten(1)


def _pe_column_index(T, d_model):
    a = _angles(T, d_model, torch.arange(d_model) / d_model)  # 10000^(j/d) with j the column, not 2i
    out = a.sin()
    out[:, 1::2] = a[:, 1::2].cos()
    return out


def _pe_transposed(got, expected, case) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == expected.shape[::-1] and expected.shape[0] != expected.shape[1]


_PE_MISTAKES = (
    Mistake(
        what="your sines and cosines are swapped: column 2i holds a cosine and column 2i+1 a sine.",
        hint="The paper puts sin at the even columns and cos at the odd ones: `pe[:, 0::2] = sin(angle)`, "
        "`pe[:, 1::2] = cos(angle)`. At position 0 every even column should be 0 and every odd column 1.",
        output=_pe_swapped,
    ),
    Mistake(
        what="your sines and cosines are not interleaved: all the sines come first, then all the cosines.",
        hint="Each frequency owns a pair of neighbouring columns (2i, 2i+1): fill them with "
        "`pe[:, 0::2] = sin(angle)` and `pe[:, 1::2] = cos(angle)` rather than concatenating two halves.",
        output=_pe_concatenated,
    ),
    Mistake(
        what="your frequencies use 10000^(i/d_model) with i the pair index: the exponent should be 2i/d_model.",
        hint="The wavelength of pair i is 2π·10000^(2i/d): use the even column index 2i, e.g. "
        "`torch.arange(0, d_model, 2) / d_model`, so the slowest pair reaches (almost) 10000.",
        output=_pe_i_over_d,
    ),
    Mistake(
        what="each column j has its own frequency 10000^(j/d_model): the sine and cosine of one pair must share a frequency.",
        hint="Columns 2i and 2i+1 are the sine and cosine of the *same* angle pos / 10000^(2i/d). "
        "Compute the angles once per pair (d_model/2 of them), then take sin and cos of them.",
        output=_pe_column_index,
    ),
    Mistake(
        what="your matrix is transposed: shape (d_model, T) instead of (T, d_model).",
        hint="Rows are positions and columns are features: build `pos` as a column `(T, 1)` and the "
        "frequencies as a row `(1, d_model/2)`.",
        test=_pe_transposed,
    ),
)


def check_sinusoidal_encoding(fn, *, seed: int = 0, time_limit: float | None = TIME_LIMIT) -> CheckResult:
    """Check ``fn(T, d_model) -> (T, d_model)`` against :func:`coursekit.transformer.sinusoidal_encoding`
    (Vaswani et al. 2017, Sec. 3.5)."""
    names = ("T", "d_model")
    cases = [
        Case("T=6, d_model=8", (6, 8), names),
        Case("T=20, d_model=16 (long enough for the slow frequencies to matter)", (20, 16), names),
        Case("T=3, d_model=2 (a single sin/cos pair)", (3, 2), names),
    ]
    return run_check(
        "sinusoidal positional encoding",
        fn,
        signature="(T, d_model)",
        cases=cases,
        reference=lambda T, d: sinusoidal_encoding(T, d),
        reference_name="`coursekit.transformer.sinusoidal_encoding`",
        outputs=("pe",),
        mistakes=_PE_MISTAKES,
        value_hint="PE[pos, 2i] = sin(pos / 10000^(2i/d_model)) and PE[pos, 2i+1] = cos(the same angle), float32.",
        time_limit=time_limit,
    )


# ----------------------------------------------------------------------------- RMSNorm
def _rms_reference(x, weight, eps):
    with torch.random.fork_rng(devices=[]):
        norm = RMSNorm(x.shape[-1], eps)
    with torch.no_grad():
        norm.weight.copy_(weight)
        return norm(x)


def _rms_centred(x, weight, eps):
    c = x - x.mean(-1, keepdim=True)
    return c / torch.sqrt(c.pow(2).mean(-1, keepdim=True) + eps) * weight


def _rms_eps_outside(x, weight, eps):
    return x / (torch.sqrt(x.pow(2).mean(-1, keepdim=True)) + eps) * weight


def _rms_no_gain(x, weight, eps):
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def _rms_sum(x, weight, eps):
    return x / torch.sqrt(x.pow(2).sum(-1, keepdim=True) + eps) * weight


def _rms_std(x, weight, eps):
    return x / torch.sqrt(x.var(-1, keepdim=True) + eps) * weight


def _rms_wrong_dim(got, expected, case) -> bool:
    x, weight, eps = case.args
    wrong = x / torch.sqrt(x.pow(2).mean(0, keepdim=True) + eps) * weight
    return isinstance(got, torch.Tensor) and got.shape == wrong.shape and torch.allclose(got, wrong, atol=1e-5)


_RMS_MISTAKES = (
    Mistake(
        what="you subtracted the mean: that is LayerNorm, not RMSNorm.",
        hint="RMSNorm drops the re-centring (Zhang & Sennrich's point): divide x itself by "
        "sqrt(mean(x**2) + eps), without `x - x.mean(...)`.",
        output=_rms_centred,
    ),
    Mistake(
        what="your eps is added outside the square root: x / (sqrt(mean(x²)) + eps).",
        hint="Add eps to the mean square, inside the root: `torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps)` "
        "(or `torch.rsqrt(... + eps)`), as torch.nn.RMSNorm does.",
        output=_rms_eps_outside,
    ),
    Mistake(
        what="you forgot the learned gain `weight`.",
        hint="Multiply the normalised x by `weight` (shape (D,), it broadcasts over the leading dimensions).",
        output=_rms_no_gain,
    ),
    Mistake(
        what="you divided by the root of the *sum* of squares, not the mean.",
        hint="Use `.mean(-1, keepdim=True)`: the root *mean* square is independent of the width D.",
        output=_rms_sum,
    ),
    Mistake(
        what="you divided by the standard deviation (the variance is mean((x - mean)²)), not the root mean square.",
        hint="RMS is sqrt(mean(x²)): no mean is subtracted anywhere, not even inside the variance.",
        output=_rms_std,
    ),
    Mistake(
        what="you normalised over the first dimension instead of the last (the features).",
        hint="Each token is normalised over its own D features: reduce with `dim=-1, keepdim=True`.",
        test=_rms_wrong_dim,
    ),
)


def check_rms_norm(fn, *, seed: int = 0, time_limit: float | None = TIME_LIMIT) -> CheckResult:
    """Check ``fn(x, weight, eps) -> y`` against :class:`coursekit.transformer.RMSNorm`
    (Zhang & Sennrich 2019, Eq. 4): ``y = x / sqrt(mean(x², last dim) + eps) * weight``."""
    g = torch.Generator().manual_seed(seed)
    names = ("x", "weight", "eps")
    cases = [
        Case("x (2, 3, 8) with a non-zero mean, eps=1e-6", (torch.randn(2, 3, 8, generator=g) + 2.0, torch.randn(8, generator=g), 1e-6), names),
        Case("x (4, 4) of small values with a large eps=0.5", (0.3 * torch.randn(4, 4, generator=g), torch.rand(4, generator=g) + 0.5, 0.5), names),
        Case("x (5, 6), eps=1e-5", (3 * torch.randn(5, 6, generator=g), torch.randn(6, generator=g), 1e-5), names),
    ]
    return run_check(
        "RMSNorm",
        fn,
        signature="(x, weight, eps)",
        cases=cases,
        reference=_rms_reference,
        reference_name="`coursekit.transformer.RMSNorm`",
        outputs=("y",),
        mistakes=_RMS_MISTAKES,
        value_hint="y = x / sqrt(mean(x**2 over the last dim) + eps) * weight.",
        time_limit=time_limit,
    )


# ----------------------------------------------------------------------------- warm-up schedule
def _lr_of(rule):
    def lr(step, d_model, warmup_steps):
        return torch.tensor([rule(float(s), d_model, warmup_steps) for s in step.tolist()], dtype=step.dtype)

    return lr


_lr_reference = _lr_of(lambda s, d, w: warmup_lr(int(s), d, w))
_lr_max = _lr_of(lambda s, d, w: d**-0.5 * max(s**-0.5, s * w**-1.5))
_lr_shifted_early = _lr_of(lambda s, d, w: warmup_lr(int(s) + 1, d, w))
_lr_wrong_power = _lr_of(lambda s, d, w: d**-0.5 * min(s**-0.5, s * w**-0.5))
_lr_no_d = _lr_of(lambda s, d, w: min(s**-0.5, s * w**-1.5))
_lr_d_power = _lr_of(lambda s, d, w: d**-1.5 * min(s**-0.5, s * w**-1.5))


def _lr_shifted_late(step, d_model, warmup_steps):
    steps = step - 1  # the learner counted from 0: step 1 becomes 0, whose rate is 0
    return torch.tensor([d_model**-0.5 * min(s**-0.5 if s > 0 else float("inf"), s * warmup_steps**-1.5) for s in steps.tolist()], dtype=step.dtype)


_LR_MISTAKES = (
    Mistake(
        what="you took the max of the two terms; Eq. 3 takes the min.",
        hint="During warm-up the linear term step·warmup^-1.5 is the smaller one, after it step^-0.5 is: "
        "`torch.minimum(step ** -0.5, step * warmup_steps ** -1.5)`.",
        output=_lr_max,
    ),
    Mistake(
        what="your schedule is one step ahead: at step s you return the rate of step s + 1.",
        hint="Steps count from 1 in Eq. 3 and `step` already holds 1, 2, 3, ...: use it as it is, no `+ 1`.",
        output=_lr_shifted_early,
    ),
    Mistake(
        what="your schedule is one step behind: at step s you return the rate of step s - 1 (step 1 gets 0).",
        hint="`step` already counts from 1: use it as it is, no `- 1` (LambdaLR's 0-based count is the "
        "scheduler's business, not this formula's).",
        output=_lr_shifted_late,
    ),
    Mistake(
        what="the warm-up term uses warmup_steps ** -0.5; Eq. 3 has warmup_steps ** -1.5.",
        hint="With step · warmup^-1.5 the two terms meet exactly at step = warmup (check: warmup · warmup^-1.5 "
        "= warmup^-0.5), which makes the peak sit there.",
        output=_lr_wrong_power,
    ),
    Mistake(
        what="you left out the factor d_model ** -0.5.",
        hint="Multiply by `d_model ** -0.5`: wider models get smaller rates.",
        output=_lr_no_d,
    ),
    Mistake(
        what="the d_model factor has the wrong power.",
        hint="It is `d_model ** -0.5` (one over the square root of the width).",
        output=_lr_d_power,
    ),
)


def check_warmup_lr(fn, *, seed: int = 0, time_limit: float | None = TIME_LIMIT) -> CheckResult:
    """Check ``fn(step, d_model, warmup_steps) -> lr`` (step a float tensor of 1, 2, ...) against
    :func:`coursekit.transformer.warmup_lr` (Vaswani et al. 2017, Eq. 3)."""
    names = ("step", "d_model", "warmup_steps")
    cases = [
        Case("steps 1..12, d_model=512, warmup_steps=4", (torch.arange(1, 13, dtype=torch.float64), 512, 4), names),
        Case("steps around the peak, d_model=64, warmup_steps=100", (torch.tensor([1.0, 50, 99, 100, 101, 400], dtype=torch.float64), 64, 100), names),
        Case("the paper's setting, d_model=512, warmup_steps=4000", (torch.tensor([1.0, 4000, 100000], dtype=torch.float64), 512, 4000), names),
    ]
    return run_check(
        "warm-up learning-rate schedule",
        fn,
        signature="(step, d_model, warmup_steps)",
        cases=cases,
        reference=_lr_reference,
        reference_name="`coursekit.transformer.warmup_lr`",
        outputs=("lr",),
        mistakes=_LR_MISTAKES,
        value_hint="lr = d_model^-0.5 · min(step^-0.5, step · warmup_steps^-1.5), elementwise over `step` "
        "(`torch.minimum`), with the dtype of `step`.",
        time_limit=time_limit,
    )


# ----------------------------------------------------------------------------- SwiGLU
def _swiglu_reference(x, W_gate, W_up, W_down):
    F_, D = W_gate.shape
    with torch.random.fork_rng(devices=[]):
        ffn = FeedForward(D, F_, "swiglu", bias=False)
    with torch.no_grad():
        ffn.gate.weight.copy_(W_gate), ffn.up.weight.copy_(W_up), ffn.down.weight.copy_(W_down)
        return ffn(x)


def _glu_with(act, *, swap=False):
    def ffn(x, W_gate, W_up, W_down):
        a, b = (W_up, W_gate) if swap else (W_gate, W_up)
        return (act(x @ a.T) * (x @ b.T)) @ W_down.T

    return ffn


def _swiglu_no_gate(x, W_gate, W_up, W_down):
    return F.silu(x @ W_gate.T) @ W_down.T


def _swiglu_no_transpose(got, expected, case) -> bool:
    x, W_gate, W_up, W_down = case.args
    try:
        wrong = (F.silu(x @ W_gate.T) * (x @ W_up.T)) @ W_down
    except RuntimeError:
        return False
    return isinstance(got, torch.Tensor) and got.shape == wrong.shape and torch.allclose(got, wrong, atol=1e-5)


_SWIGLU_MISTAKES = (
    Mistake(
        what="you used a sigmoid gate: that is the original GLU (Dauphin et al.), not SwiGLU.",
        hint="Swish is x·sigmoid(x), i.e. `F.silu`: gate with `F.silu(x @ W_gate.T)`.",
        output=_glu_with(torch.sigmoid),
    ),
    Mistake(
        what="you used a ReLU gate (ReGLU), not Swish.",
        hint="SwiGLU gates with Swish: `F.silu(x @ W_gate.T)`.",
        output=_glu_with(F.relu),
    ),
    Mistake(
        what="you used a GELU gate (GEGLU), not Swish.",
        hint="SwiGLU gates with Swish: `F.silu(x @ W_gate.T)`.",
        output=_glu_with(F.gelu),
    ),
    Mistake(
        what="the activation is on the wrong branch: Swish(x W_up) * (x W_gate).",
        hint="The activation goes on the gate: `F.silu(x @ W_gate.T) * (x @ W_up.T)`.",
        output=_glu_with(F.silu, swap=True),
    ),
    Mistake(
        what="there is no gating: you applied Swish and the down projection but never multiplied by x W_up.",
        hint="The gated unit is the *product* of two projections: `F.silu(x @ W_gate.T) * (x @ W_up.T)`, then `@ W_down.T`.",
        output=_swiglu_no_gate,
    ),
    Mistake(
        what="you multiplied by W_down without transposing it.",
        hint="The weights are stored as nn.Linear stores them, (out, in): W_down is (D, F), so apply it as `h @ W_down.T`.",
        test=_swiglu_no_transpose,
    ),
)


def check_swiglu(fn, *, seed: int = 0, time_limit: float | None = TIME_LIMIT) -> CheckResult:
    """Check ``fn(x, W_gate, W_up, W_down) -> y`` against ``FeedForward(D, F, "swiglu", bias=False)``
    (Shazeer 2020, Eq. 6): ``y = (Swish(x W_gate^T) * (x W_up^T)) W_down^T``."""
    g = torch.Generator().manual_seed(seed)

    def case(B, T, D, F_):
        return (
            torch.randn(B, T, D, generator=g),
            torch.randn(F_, D, generator=g) / D**0.5,
            torch.randn(F_, D, generator=g) / D**0.5,
            torch.randn(D, F_, generator=g) / F_**0.5,
        )

    names = ("x", "W_gate", "W_up", "W_down")
    cases = [
        Case("B=2, T=3, D=4, F=6", case(2, 3, 4, 6), names),
        Case("B=1, T=5, D=8, F=8 (square weights)", case(1, 5, 8, 8), names),
        Case("B=3, T=2, D=6, F=4", case(3, 2, 6, 4), names),
    ]
    return run_check(
        "SwiGLU feed-forward network",
        fn,
        signature="(x, W_gate, W_up, W_down)",
        cases=cases,
        reference=_swiglu_reference,
        reference_name='`coursekit.transformer.FeedForward(D, F, "swiglu", bias=False)`',
        outputs=("y",),
        mistakes=_SWIGLU_MISTAKES,
        value_hint="y = (F.silu(x @ W_gate.T) * (x @ W_up.T)) @ W_down.T",
        time_limit=time_limit,
    )
