"""Chapter 5 exercises (the Transformer): the sinusoidal positional encoding, RMSNorm,
the warm-up schedule, a SwiGLU feed-forward network, a LLaMA-style pre-norm block
assembled from the learner's RMSNorm and SwiGLU, and a "predict, then run" question on
post-norm without warm-up.

Learner functions, as the notebook's stubs declare them::

    def my_sinusoidal_encoding(T, d_model):                # int, int -> (T, D) float32
    def my_rms_norm(x, weight, eps):                       # (..., D), (D,), float -> (..., D)
    def my_warmup_lr(step, d_model, warmup_steps):         # (N,) float steps 1, 2, ..., int, int -> (N,)
    def my_swiglu(x, W_gate, W_up, W_down):                # (B, T, D), (F, D), (F, D), (D, F) -> (B, T, D)
    def my_pre_norm_block(x, attn, ffn, norms, n_heads, eps)
        # (B, T, D); attn = (W_q, W_k, W_v, W_o), each (D, D); ffn = (W_gate, W_up, W_down) as for
        # my_swiglu; norms = (g1, g2), each (D,); int; float -> (B, T, D)
    def my_placement_prediction():                         # -> "diverges", "trains slower" or "trains the same"

References: :func:`coursekit.transformer.sinusoidal_encoding`, :class:`coursekit.transformer.RMSNorm`,
:func:`coursekit.transformer.warmup_lr`, :class:`coursekit.transformer.FeedForward` (``"swiglu"``),
:class:`coursekit.transformer.Block` (pre-norm, RMSNorm, SwiGLU, no biases, with the learner's
weights copied in); the prediction is measured by :func:`coursekit.transformer.placement_run`.
Weights are stored as ``nn.Linear`` stores them, (out, in): apply W as ``x @ W.T``.
Legend: B batch, T length, D d_model, F d_ff, H heads, Dh = D / H, N steps.

By the time of these checks the notebook has imported ``torch`` but not
``torch.nn.functional as F`` (the SwiGLU solution does), so the hints spell it out.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..transformer import (
    Block,
    BlockConfig,
    FeedForward,
    PlacementConfig,
    RMSNorm,
    placement_run,
    sinusoidal_encoding,
    warmup_lr,
)
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_sinusoidal_encoding",
    "check_rms_norm",
    "check_warmup_lr",
    "check_swiglu",
    "check_pre_norm_block",
    "check_placement_prediction",
]


# ----------------------------------------------------------------------------- sinusoidal encoding
def _interleaved(angles):
    """sin at the even columns and cos at the odd ones: (T, D/2) angles -> (T, D)."""
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)


def _pe_swapped(T, d_model):
    pe = sinusoidal_encoding(T, d_model)
    return torch.stack([pe[:, 1::2], pe[:, 0::2]], dim=-1).flatten(1)  # cos at even columns, sin at odd


def _pe_column_index(T, d_model):
    a = torch.arange(T, dtype=torch.float32)[:, None] / 10000 ** (torch.arange(d_model) / d_model)  # j, not 2i
    out = a.sin()
    out[:, 1::2] = a[:, 1::2].cos()
    return out


check_sinusoidal_encoding = checker(Exercise(
    name="sinusoidal_encoding",
    title="sinusoidal positional encoding",
    signature="(T, d_model)",
    reference=lambda T, d_model: sinusoidal_encoding(T, d_model),
    reference_name="`coursekit.transformer.sinusoidal_encoding`",
    doc="Vaswani et al. 2017, Sec. 3.5. T positions, even d_model -> (T, d_model) float32 with "
    "PE[pos, 2i] = sin(pos / 10000^(2i/d_model)) and PE[pos, 2i+1] = cos of the same angle.",
    cases=lambda g: [
        Case("T=6, d_model=8", (6, 8)),
        Case("T=20, d_model=16 (long enough for the slow frequencies to matter)", (20, 16)),
        Case("T=3, d_model=2 (a single sin/cos pair)", (3, 2)),
    ],
    outputs=("pe",),
    exact_dtype=True,  # the stub asks for float32, the dtype of an embedding it is added to
    mistakes=(
        Mistake(
            what="your sines and cosines are swapped: column 2i holds a cosine and column 2i+1 a sine.",
            hint="The paper puts sin at the even columns and cos at the odd ones: `pe[:, 0::2] = torch.sin(angle)`, "
            "`pe[:, 1::2] = torch.cos(angle)`. At position 0 every even column should be 0 and every odd column 1.",
            output=_pe_swapped,
        ),
        Mistake(
            what="your sines and cosines are not interleaved: all the sines come first, then all the cosines.",
            hint="Each frequency owns a pair of neighbouring columns (2i, 2i+1): fill them with "
            "`pe[:, 0::2] = torch.sin(angle)` and `pe[:, 1::2] = torch.cos(angle)` rather than concatenating two "
            "halves.",
            output=lambda T, d_model: torch.cat(
                [sinusoidal_encoding(T, d_model)[:, 0::2], sinusoidal_encoding(T, d_model)[:, 1::2]], dim=1
            ),
        ),
        Mistake(
            what="your frequencies use 10000^(i/d_model) with i the pair index: the exponent should be 2i/d_model.",
            hint="The wavelength of pair i is 2π·10000^(2i/d): use the even column index 2i, e.g. "
            "`torch.arange(0, d_model, 2) / d_model`, so the slowest pair reaches (almost) 10000.",
            output=lambda T, d_model: _interleaved(
                torch.arange(T, dtype=torch.float32)[:, None] / 10000 ** (torch.arange(d_model // 2) / d_model)
            ),
        ),
        Mistake(
            what="each column j has its own frequency 10000^(j/d_model): the sine and cosine of one pair must share "
            "a frequency.",
            hint="Columns 2i and 2i+1 are the sine and cosine of the *same* angle pos / 10000^(2i/d). "
            "Compute the angles once per pair (d_model/2 of them), then take sin and cos of them.",
            output=_pe_column_index,
        ),
        Mistake(
            what="your matrix is transposed: shape (d_model, T) instead of (T, d_model).",
            hint="Rows are positions and columns are features: build `pos` as a column `(T, 1)` and the "
            "frequencies as a row `(1, d_model/2)`.",
            test=lambda got, expected, case: isinstance(got, torch.Tensor)
            and got.shape == expected.shape[::-1] != expected.shape,
        ),
    ),
    value_hint="PE[pos, 2i] = sin(pos / 10000^(2i/d_model)) and PE[pos, 2i+1] = cos(the same angle), float32.",
))


# ----------------------------------------------------------------------------- RMSNorm
def _rms_reference(x, weight, eps):
    with torch.random.fork_rng(devices=[]):
        norm = RMSNorm(x.shape[-1], eps)
    with torch.no_grad():
        norm.weight.copy_(weight)
        return norm(x)


def _rms_with(square_mean, *, centre=False, eps_inside=True, gain=True, dim=-1):
    """x / sqrt(square_mean(x) + eps) * weight, with one thing done differently."""

    def norm(x, weight, eps):
        x = x - x.mean(dim, keepdim=True) if centre else x
        ms = square_mean(x, dim)
        y = x / torch.sqrt(ms + eps) if eps_inside else x / (torch.sqrt(ms) + eps)
        return y * weight if gain else y

    return norm


_MEAN_SQUARE = lambda x, dim: x.pow(2).mean(dim, keepdim=True)  # noqa: E731


def _rms_cases(g):
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    return [
        Case("x (2, 3, 8) with a non-zero mean, eps=1e-6", (r(2, 3, 8) + 2.0, r(8), 1e-6)),
        Case("x (4, 4) of small values with a large eps=0.5", (0.3 * r(4, 4), torch.rand(4, generator=g) + 0.5, 0.5)),
        Case("x (5, 6), eps=1e-5", (3 * r(5, 6), r(6), 1e-5)),
    ]


check_rms_norm = checker(Exercise(
    name="rms_norm",
    title="RMSNorm",
    signature="(x, weight, eps)",
    reference=_rms_reference,
    reference_name="`coursekit.transformer.RMSNorm`",
    doc="Zhang & Sennrich 2019, Eq. 4. x (..., D), weight (D,), eps -> "
    "``y = x / sqrt(mean(x², last dim) + eps) * weight``.",
    cases=_rms_cases,
    outputs=("y",),
    mistakes=(
        Mistake(
            what="you subtracted the mean: that is LayerNorm, not RMSNorm.",
            hint="RMSNorm drops the re-centring (Zhang & Sennrich's point): divide x itself by "
            "sqrt(mean(x**2) + eps), without `x - x.mean(...)`.",
            output=_rms_with(_MEAN_SQUARE, centre=True),
        ),
        Mistake(
            what="your eps is added outside the square root: x / (sqrt(mean(x²)) + eps).",
            hint="Add eps to the mean square, inside the root: `torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps)` "
            "(or `torch.rsqrt(... + eps)`), as torch.nn.RMSNorm does.",
            output=_rms_with(_MEAN_SQUARE, eps_inside=False),
        ),
        Mistake(
            what="you forgot the learned gain `weight`.",
            hint="Multiply the normalised x by `weight` (shape (D,), it broadcasts over the leading dimensions).",
            output=_rms_with(_MEAN_SQUARE, gain=False),
        ),
        Mistake(
            what="you divided by the root of the *sum* of squares, not the mean.",
            hint="Use `.mean(-1, keepdim=True)`: the root *mean* square is independent of the width D.",
            output=_rms_with(lambda x, dim: x.pow(2).sum(dim, keepdim=True)),
        ),
        Mistake(
            what="you divided by the standard deviation (the variance is mean((x - mean)²)), not the root mean "
            "square.",
            hint="RMS is sqrt(mean(x²)): no mean is subtracted anywhere, not even inside the variance.",
            output=_rms_with(lambda x, dim: x.var(dim, keepdim=True)),
        ),
        Mistake(
            what="you normalised over the first dimension instead of the last (the features).",
            hint="Each token is normalised over its own D features: reduce with `dim=-1, keepdim=True`.",
            output=_rms_with(_MEAN_SQUARE, dim=0),
        ),
    ),
    value_hint="y = x / sqrt(mean(x**2 over the last dim) + eps) * weight.",
))


# ----------------------------------------------------------------------------- warm-up schedule
def _lr_of(rule):
    """The schedule ``rule(step, d_model, warmup_steps)``, one Python float step at a time."""

    def lr(step, d_model, warmup_steps):
        return torch.tensor([rule(float(s), d_model, warmup_steps) for s in step.tolist()], dtype=step.dtype)

    return lr


def _late(s, d, w):
    """The learner counted from 0: step 1 becomes 0, whose rate is 0."""
    s = s - 1
    return d**-0.5 * min(s**-0.5 if s > 0 else float("inf"), s * w**-1.5)


def _lr_cases(g):
    def steps(*values):
        return torch.tensor(values, dtype=torch.float64)

    return [
        Case("steps 1..12, d_model=512, warmup_steps=4", (steps(*range(1, 13)), 512, 4)),
        Case("steps around the peak, d_model=64, warmup_steps=100", (steps(1, 50, 99, 100, 101, 400), 64, 100)),
        Case("the paper's setting, d_model=512, warmup_steps=4000", (steps(1, 4000, 100000), 512, 4000)),
    ]


check_warmup_lr = checker(Exercise(
    name="warmup_lr",
    title="warm-up learning-rate schedule",
    signature="(step, d_model, warmup_steps)",
    reference=_lr_of(lambda s, d, w: warmup_lr(int(s), d, w)),
    reference_name="`coursekit.transformer.warmup_lr`",
    doc="Vaswani et al. 2017, Eq. 3. step (N,) a float tensor of 1, 2, ...; d_model, warmup_steps ints -> "
    "(N,) learning rates d_model^-0.5 · min(step^-0.5, step · warmup_steps^-1.5).",
    cases=_lr_cases,
    outputs=("lr",),
    mistakes=(
        Mistake(
            what="you took the max of the two terms; Eq. 3 takes the min.",
            hint="During warm-up the linear term step·warmup^-1.5 is the smaller one, after it step^-0.5 is: "
            "`torch.minimum(step ** -0.5, step * warmup_steps ** -1.5)`.",
            output=_lr_of(lambda s, d, w: d**-0.5 * max(s**-0.5, s * w**-1.5)),
        ),
        Mistake(
            what="your schedule is one step ahead: at step s you return the rate of step s + 1.",
            hint="Steps count from 1 in Eq. 3 and `step` already holds 1, 2, 3, ...: use it as it is, no `+ 1`.",
            output=_lr_of(lambda s, d, w: warmup_lr(int(s) + 1, d, w)),
        ),
        Mistake(
            what="your schedule is one step behind: at step s you return the rate of step s - 1 (step 1 gets 0).",
            hint="`step` already counts from 1: use it as it is, no `- 1` (LambdaLR's 0-based count is the "
            "scheduler's business, not this formula's).",
            output=_lr_of(_late),
        ),
        Mistake(
            what="the warm-up term uses warmup_steps ** -0.5; Eq. 3 has warmup_steps ** -1.5.",
            hint="With step · warmup^-1.5 the two terms meet exactly at step = warmup (check: warmup · "
            "warmup^-1.5 = warmup^-0.5), which makes the peak sit there.",
            output=_lr_of(lambda s, d, w: d**-0.5 * min(s**-0.5, s * w**-0.5)),
        ),
        Mistake(
            what="you left out the factor d_model ** -0.5.",
            hint="Multiply by `d_model ** -0.5`: wider models get smaller rates.",
            output=_lr_of(lambda s, d, w: min(s**-0.5, s * w**-1.5)),
        ),
        Mistake(
            what="the d_model factor has the wrong power.",
            hint="It is `d_model ** -0.5` (one over the square root of the width).",
            output=_lr_of(lambda s, d, w: d**-1.5 * min(s**-0.5, s * w**-1.5)),
        ),
    ),
    value_hint="lr = d_model^-0.5 · min(step^-0.5, step · warmup_steps^-1.5), elementwise over `step` "
    "(`torch.minimum`).",
))


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


def _swiglu_cases(g):
    def case(B, T, D, F_):
        return (
            torch.randn(B, T, D, generator=g),
            torch.randn(F_, D, generator=g) / D**0.5,
            torch.randn(F_, D, generator=g) / D**0.5,
            torch.randn(D, F_, generator=g) / F_**0.5,
        )

    return [  # square weights first: there a W_down applied without .T still runs, and gets its own hint
        Case("B=1, T=5, D=8, F=8 (square weights)", case(1, 5, 8, 8)),
        Case("B=2, T=3, D=4, F=6", case(2, 3, 4, 6)),
        Case("B=3, T=2, D=6, F=4", case(3, 2, 6, 4)),
    ]


_SWISH_GATE = "`torch.nn.functional.silu(x @ W_gate.T)`"

check_swiglu = checker(Exercise(
    name="swiglu",
    title="SwiGLU feed-forward network",
    signature="(x, W_gate, W_up, W_down)",
    reference=_swiglu_reference,
    reference_name='`coursekit.transformer.FeedForward(D, F, "swiglu", bias=False)`',
    doc="Shazeer 2020, Eq. 6. x (B, T, D), W_gate (F, D), W_up (F, D), W_down (D, F) -> (B, T, D): "
    "``y = (Swish(x W_gate^T) * (x W_up^T)) W_down^T``.",
    cases=_swiglu_cases,
    outputs=("y",),
    mistakes=(
        Mistake(
            what="you used a sigmoid gate: that is the original GLU (Dauphin et al.), not SwiGLU.",
            hint=f"Swish is z·sigmoid(z), which torch calls SiLU: gate with {_SWISH_GATE}.",
            output=_glu_with(torch.sigmoid),
        ),
        Mistake(
            what="you used a ReLU gate (ReGLU), not Swish.",
            hint=f"SwiGLU gates with Swish: {_SWISH_GATE}.",
            output=_glu_with(F.relu),
        ),
        Mistake(
            what="you used a GELU gate (GEGLU), not Swish.",
            hint=f"SwiGLU gates with Swish: {_SWISH_GATE}.",
            output=_glu_with(F.gelu),
        ),
        Mistake(
            what="the activation is on the wrong branch: Swish(x W_up) * (x W_gate).",
            hint=f"The activation goes on the gate: {_SWISH_GATE} times `x @ W_up.T`.",
            output=_glu_with(F.silu, swap=True),
        ),
        Mistake(
            what="there is no gating: you applied Swish and the down projection but never multiplied by x W_up.",
            hint=f"The gated unit is the *product* of two projections: {_SWISH_GATE} times `x @ W_up.T`, then "
            "`@ W_down.T`.",
            output=lambda x, W_gate, W_up, W_down: F.silu(x @ W_gate.T) @ W_down.T,
        ),
        Mistake(
            what="you multiplied by W_down without transposing it.",
            hint="The weights are stored as nn.Linear stores them, (out, in): W_down is (D, F), so apply it as "
            "`h @ W_down.T`.",
            output=lambda x, W_gate, W_up, W_down: (F.silu(x @ W_gate.T) * (x @ W_up.T)) @ W_down,
        ),
    ),
    value_hint="y = `(torch.nn.functional.silu(x @ W_gate.T) * (x @ W_up.T)) @ W_down.T`.",
))


# ----------------------------------------------------------------------------- pre-norm block (assembling)
def _pre_norm_block_reference(x, attn, ffn, norms, n_heads, eps):
    """coursekit's LLaMA-style Block with the learner's weights copied in."""
    W_q, W_k, W_v, W_o = attn
    W_gate, W_up, W_down = ffn
    D, F_ = x.shape[-1], W_gate.shape[0]
    cfg = BlockConfig(d_model=D, n_heads=n_heads, d_ff=F_, ffn="swiglu", norm="rmsnorm", norm_first=True,
                      bias=False, norm_eps=eps)
    with torch.random.fork_rng(devices=[]):
        block = Block(cfg).eval()
    pairs = [(block.self_attn.q_proj, W_q), (block.self_attn.k_proj, W_k), (block.self_attn.v_proj, W_v),
             (block.self_attn.out_proj, W_o), (block.ffn.gate, W_gate), (block.ffn.up, W_up), (block.ffn.down, W_down),
             (block.norm1, norms[0]), (block.norm2, norms[1])]
    with torch.no_grad():
        for module, weight in pairs:
            module.weight.copy_(weight)
        return block(x)[0]


def _rms(x, g, eps, *, centre=False):
    x = x - x.mean(-1, keepdim=True) if centre else x
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def _swiglu(h, W_gate, W_up, W_down):
    return (F.silu(h @ W_gate.T) * (h @ W_up.T)) @ W_down.T


def _self_attention(h, W_q, W_k, W_v, W_o, n_heads, *, heads="right", scale="head", causal=False, out_proj=True):
    B, T, D = h.shape
    H = 1 if heads == "one" else n_heads
    Dh = D // H

    def split(t):
        if heads == "interleaved":  # feature j goes to head j % H instead of head j // Dh
            return t.view(B, T, Dh, H).permute(0, 3, 1, 2)
        return t.view(B, T, H, Dh).transpose(1, 2)  # (B, H, T, Dh)

    q, k, v = split(h @ W_q.T), split(h @ W_k.T), split(h @ W_v.T)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D if scale == "model" else Dh)  # (B, H, T, T)
    if causal:
        scores = scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v  # (B, H, T, Dh)
    out = out.permute(0, 2, 3, 1) if heads == "interleaved" else out.transpose(1, 2)
    out = out.reshape(B, T, D)
    return out @ W_o.T if out_proj else out


def _block_with(*, placement="pre", residual=True, residual_from="x", ffn_norm=True, swap_norms=False,
                centre=False, **attention):
    """A LLaMA-style block with one thing done differently (the mistakes the check names)."""

    def block(x, attn, ffn, norms, n_heads, eps):
        g1, g2 = norms[::-1] if swap_norms else norms

        def attend(h):
            return _self_attention(h, *attn, n_heads, **attention)

        if placement == "post":
            x = _rms(x + attend(x), g1, eps)
            return _rms(x + _swiglu(x, *ffn), g2, eps)
        h = _rms(x, g1, eps, centre=centre)
        if not residual:
            a = attend(h)
            return _swiglu(_rms(a, g2, eps, centre=centre), *ffn)
        x = (h if residual_from == "normed" else x) + attend(h)
        h2 = _rms(x, g2, eps, centre=centre) if ffn_norm else x
        return (h2 if residual_from == "normed" else x) + _swiglu(h2, *ffn)

    return block


def _block_cases(g):
    def case(B, T, D, H, F_, eps):
        r = lambda *shape, scale=1.0: torch.randn(*shape, generator=g) * scale  # noqa: E731
        x = r(B, T, D, scale=2.0) + 1.0  # a non-zero mean and a scale far from 1, so every norm matters
        attn = tuple(r(D, D, scale=D**-0.5) for _ in range(4))
        ffn = (r(F_, D, scale=D**-0.5), r(F_, D, scale=D**-0.5), r(D, F_, scale=F_**-0.5))
        norms = (1.0 + 0.5 * r(D), 1.0 + 0.5 * r(D))
        return (x, attn, ffn, norms, H, eps)

    return [
        Case("B=2, T=5, D=8, 2 heads, F=12, eps=1e-6", case(2, 5, 8, 2, 12, 1e-6)),
        Case("B=1, T=4, D=12, 3 heads, F=8, eps=1e-5", case(1, 4, 12, 3, 8, 1e-5)),
        Case("B=3, T=6, D=8, 4 heads, F=6, eps=0.1 (a large eps)", case(3, 6, 8, 4, 6, 0.1)),
    ]


check_pre_norm_block = checker(Exercise(
    name="pre_norm_block",
    title="a LLaMA-style pre-norm block, assembled from your RMSNorm and SwiGLU",
    signature="(x, attn, ffn, norms, n_heads, eps)",
    reference=_pre_norm_block_reference,
    reference_name="`coursekit.transformer.Block` (pre-norm, RMSNorm, SwiGLU, no biases) with your weights copied in",
    doc="""x (B, T, D) float; attn = (W_q, W_k, W_v, W_o), each (D, D); ffn = (W_gate, W_up, W_down) as for
    my_swiglu; norms = (g1, g2), the RMSNorm gains, each (D,); n_heads dividing D; eps for both norms.
    Weights are stored as nn.Linear stores them, (out, in). Returns (B, T, D):
    x = x + MultiHead(RMSNorm(x; g1)), then x + SwiGLU(RMSNorm(x; g2)); bidirectional (no mask).""",
    cases=_block_cases,
    outputs=("y",),
    mistakes=(
        Mistake(
            what="you normalised after each residual addition: that is the post-norm block of 2017, not pre-norm.",
            hint="Pre-norm normalises the sublayer's *input* and adds the sublayer's output to the un-normalised x: "
            "`x = x + attention(my_rms_norm(x, g1, eps))`, then `x + my_swiglu(my_rms_norm(x, g2, eps), ...)`.",
            output=_block_with(placement="post"),
        ),
        Mistake(
            what="there is no residual connection: the output is the sublayers' output alone.",
            hint="Each sublayer's output is *added* to its input: `x = x + attention(...)`, then "
            "`return x + my_swiglu(...)`.",
            output=_block_with(residual=False),
        ),
        Mistake(
            what="your residual path carries the normalised x: you added the sublayer's output to my_rms_norm(x), "
            "not to x.",
            hint="Keep x itself on the residual path (that is the point of pre-norm: an un-normalised identity "
            "path from input to output): `x = x + attention(my_rms_norm(x, g1, eps))`.",
            output=_block_with(residual_from="normed"),
        ),
        Mistake(
            what="the FFN reads x without its norm: only the attention sublayer is normalised.",
            hint="Both sublayers get their own norm: `x + my_swiglu(my_rms_norm(x, g2, eps), W_gate, W_up, W_down)`.",
            output=_block_with(ffn_norm=False),
        ),
        Mistake(
            what="the two gains are swapped: g2 normalises the attention's input and g1 the FFN's.",
            hint="`norms = (g1, g2)`: g1 belongs to the norm before attention, g2 to the norm before the FFN.",
            output=_block_with(swap_norms=True),
        ),
        Mistake(
            what="your norm subtracts the mean: that is LayerNorm, and this block uses RMSNorm.",
            hint="Use your `my_rms_norm(x, g, eps)` for both norms.",
            output=_block_with(centre=True),
        ),
        Mistake(
            what="you computed one attention over the full width D: there is only one head.",
            hint="Split q, k and v into n_heads heads of width Dh = D // n_heads: "
            "`q.view(B, T, n_heads, Dh).transpose(1, 2)` gives (B, H, T, Dh), and each head gets its own softmax.",
            output=_block_with(heads="one"),
        ),
        Mistake(
            what="your heads take every n_heads-th feature: head h should own the contiguous features "
            "h*Dh .. (h+1)*Dh - 1.",
            hint="Split with `.view(B, T, n_heads, Dh).transpose(1, 2)` (heads first, then the features within a "
            "head), and merge back with `.transpose(1, 2).reshape(B, T, D)`.",
            output=_block_with(heads="interleaved"),
        ),
        Mistake(
            what="your heads scale their scores by 1/sqrt(D), the model width, not 1/sqrt(Dh), the head width.",
            hint="Each head is an attention of width Dh = D // n_heads, so divide the scores by `Dh ** 0.5`; "
            "`torch.nn.functional.scaled_dot_product_attention(q, k, v)` on the split heads does it for you.",
            output=_block_with(scale="model"),
        ),
        Mistake(
            what="you applied a causal mask: this block is bidirectional, every position attends to every other.",
            hint="Leave the mask out here (the encoder's block, and BERT's). A decoder's block adds the causal mask; "
            "GPT in Chapter 6 does.",
            output=_block_with(causal=True),
        ),
        Mistake(
            what="the attention output is the merged heads without the output projection W_o.",
            hint="Multi-head attention ends with the output projection: `merged @ W_o.T`.",
            output=_block_with(out_proj=False),
        ),
    ),
    value_hint="h = my_rms_norm(x, g1, eps); q, k, v = h @ W_q.T, h @ W_k.T, h @ W_v.T, each split into heads "
    "(B, H, T, Dh); attention per head, merged back to (B, T, D), then `@ W_o.T`; x = x + that; "
    "return x + my_swiglu(my_rms_norm(x, g2, eps), W_gate, W_up, W_down).",
))


# ----------------------------------------------------------------------------- predict: post-norm without warm-up
PLACEMENT_PROBE = PlacementConfig(n_layers=4, d_model=16, n_heads=2, d_ff=32, vocab=5, length=5, batch=16, steps=30,
                                  lr=3e-2)
"""The prediction's experiment: small enough to run in well under a second on a CPU."""


def measure_placement(cfg: PlacementConfig = PLACEMENT_PROBE, seed: int = 0, margin: float = 0.1) -> Measured:
    """Train the same stack post-norm and pre-norm, both without warm-up, at ``cfg.lr``
    (:func:`coursekit.transformer.placement_run`); compare the mean loss of their last steps."""
    post, pre = (placement_run(cfg, norm_first, seed=seed) for norm_first in (False, True))
    k = max(1, cfg.steps // 5)
    post_end, pre_end = sum(post[-k:]) / k, sum(pre[-k:]) / k
    if not math.isfinite(post_end) or post_end > post[0] + 0.5:
        answer = "diverges"
    elif post_end - pre_end > margin:
        answer = "trains slower"
    else:
        answer = "trains the same"
    chance = math.log(cfg.vocab)
    return Measured(
        answer,
        f"after {cfg.steps} steps at lr {cfg.lr:g} with no warm-up, the {cfg.n_layers}-layer post-norm stack's loss "
        f"was {post_end:.2f} (it started at {post[0]:.2f}; guessing uniformly gives ln {cfg.vocab} = {chance:.2f}), "
        f"the pre-norm stack's {pre_end:.2f}.",
    )


check_placement_prediction = prediction_checker(Prediction(
    name="placement_prediction",
    title="predict: post-norm at a high learning rate, no warm-up",
    question="Trained at a high learning rate from the first step (no warm-up), does a post-norm stack diverge, "
    "train slower than the same stack in pre-norm, or train the same?",
    choices=("diverges", "trains slower", "trains the same"),
    measure=measure_placement,
    why="In a post-norm stack every residual sum passes through a norm, so the gradients of the layers near the "
    "output are large at initialisation (Xiong et al. 2020); a full-size step on them knocks the model into a "
    "poor region, where it makes little progress: its loss stalls rather than blowing up. Pre-norm keeps an "
    "identity path from input to output, and its gradients are well-behaved from the first step.",
))
