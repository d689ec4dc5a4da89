"""Chapter 7 exercises (efficient and sparse attention): the Sparse Transformer's strided
mask, sparsemax, the elu + 1 feature map, causal linear attention in its recurrent form
assembled from the learner's feature map, and a "predict, then run" question on how
linear attention's cost grows with the length.

Learner functions, as the notebook's stubs declare them::

    def my_strided_mask(n, stride):           # int, int -> (n, n) bool, True = may attend
    def my_sparsemax(z):                      # (..., N) float -> (..., N), along the last dim
    def my_elu_feature_map(x):                # (...) float -> (...) float, all > 0
    def my_causal_linear_attention(q, k, v)   # (..., T, Dh), (..., T, Dh), (..., T, Dv) -> (..., T, Dv)
    def my_linear_scaling_prediction():       # -> "stays the same", "doubles" or "quadruples"

References: :func:`coursekit.efficient.patterns.strided_mask` (causal, both factors),
:func:`coursekit.efficient.sparsemax.sparsemax`, :func:`coursekit.efficient.linear.elu_feature_map`,
:func:`coursekit.efficient.linear.linear_attention` (``causal=True``, the parallel form); the
prediction is measured by :func:`coursekit.efficient.experiments.attention_flops`.
Legend: n sequence length, l stride, N scores per row, T length, Dh key width, Dv value width.

By the time of these checks the notebook has imported ``torch`` and
``torch.nn.functional as F``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..efficient.linear import elu_feature_map, linear_attention
from ..efficient.patterns import strided_mask
from ..efficient.experiments import attention_flops
from ..efficient.sparsemax import sparsemax
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_strided_mask",
    "check_sparsemax",
    "check_elu_feature_map",
    "check_causal_linear_attention",
    "check_linear_scaling_prediction",
]


# ----------------------------------------------------------------------------- strided mask
def _offsets(n):
    i = torch.arange(n)
    return i[:, None] - i[None, :]  # (n, n) i - j


check_strided_mask = checker(Exercise(
    name="strided_mask",
    title="the Sparse Transformer's strided mask",
    signature="(n, stride)",
    reference=lambda n, stride: strided_mask(n, stride),
    reference_name="`coursekit.efficient.patterns.strided_mask`",
    doc="Child et al. 2019, Sec. 4.3. n positions, stride l -> (n, n) bool, True where query i may read key j: "
    "j <= i and (i - j <= l or (i - j) % l == 0), the union of the two heads' patterns.",
    cases=lambda g: [
        Case("n=9, stride=3", (9, 3)),
        Case("n=16, stride=4", (16, 4)),
        Case("n=10, stride=3 (n not a multiple of the stride)", (10, 3)),
        Case("n=6, stride=1 (every earlier key)", (6, 1)),
    ],
    outputs=("mask",),
    exact_dtype=True,
    mistakes=(
        Mistake(
            what="your mask lets queries read later keys: the pattern is for an autoregressive model, so j <= i.",
            hint="Both conditions apply to keys at or before the query only: require `i - j >= 0` as well "
            "(or `& torch.ones(n, n, dtype=torch.bool).tril()`).",
            output=lambda n, stride: strided_mask(n, stride, causal=False),
        ),
        Mistake(
            what="you built only the first head's pattern, the local window: the every-l-th-key part is missing.",
            hint="The strided pattern is the union of two sets: the previous l keys *or* every key whose distance "
            "is a multiple of l: `(d <= stride) | (d % stride == 0)`, both with `d = i - j >= 0`.",
            output=lambda n, stride: strided_mask(n, stride, head=1),
        ),
        Mistake(
            what="you built only the second head's pattern, every l-th key: the local window is missing.",
            hint="Add the first head's set, the previous l keys: `(d <= stride) | (d % stride == 0)` with "
            "`d = i - j >= 0`.",
            output=lambda n, stride: strided_mask(n, stride, head=2),
        ),
        Mistake(
            what="your every-l-th keys are counted from position 0 (j % l == 0), not back from the query "
            "((i - j) % l == 0).",
            hint="The second head reads i, i - l, i - 2l, ...: the *distance* i - j is a multiple of l. Columns "
            "j % l == 0 fixed for every query belong to the fixed pattern's idea, not the strided one.",
            output=lambda n, stride: strided_mask(n, stride, head=1)
            | ((torch.arange(n)[None, :] % stride == 0) & (_offsets(n) >= 0)),
        ),
        Mistake(
            what="your mask is transposed: rows should be queries and columns keys (row i may read column j <= i).",
            hint="Build the offsets as `i[:, None] - i[None, :]` (query index minus key index), so that row i lists "
            "what query i reads.",
            output=lambda n, stride: strided_mask(n, stride).T,
        ),
    ),
    value_hint="mask[i, j] = (i - j >= 0) and ((i - j <= stride) or ((i - j) % stride == 0)), a bool tensor.",
))


# ----------------------------------------------------------------------------- sparsemax
def _sparsemax_with(*, descending=True, minus_one=True):
    """Alg. 1 along the last dim, with one thing done differently."""

    def fn(z):
        s, _ = torch.sort(z, dim=-1, descending=descending)
        k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype)
        cs = s.cumsum(-1)
        support = (1 + k * s > cs).sum(-1, keepdim=True).clamp_min(1)
        tau = (cs.gather(-1, support - 1) - (1 if minus_one else 0)) / support.to(z.dtype)
        return (z - tau).clamp_min(0)

    return fn


def _sparsemax_cases(g):
    r = lambda *shape, scale=1.0: torch.randn(*shape, generator=g) * scale  # noqa: E731
    return [
        Case("z (4, 6), scores of spread 1", (r(4, 6),)),
        Case("z (2, 3, 5), scores of spread 3: most entries exactly 0", (r(2, 3, 5, scale=3.0),)),
        Case("z (3, 8), scores of spread 0.1: nearly uniform, no zero", (r(3, 8, scale=0.1),)),
        Case("z (7,), one row with a clear winner", (torch.tensor([0.1, 2.5, 0.3, -1.0, 0.2, 1.1, 0.0]),)),
    ]


check_sparsemax = checker(Exercise(
    name="sparsemax",
    title="sparsemax",
    signature="(z)",
    reference=lambda z: sparsemax(z, dim=-1),
    reference_name="`coursekit.efficient.sparsemax.sparsemax`",
    doc="Martins & Astudillo 2016, Alg. 1. z (..., N) float -> (..., N): the Euclidean projection of each row "
    "onto the probability simplex, p = [z - tau]_+ with tau chosen so that p sums to 1.",
    cases=_sparsemax_cases,
    outputs=("p",),
    mistakes=(
        Mistake(
            what="you returned the softmax: dense, every entry above zero.",
            hint="Sparsemax subtracts a threshold and clips at zero: p = [z - tau]_+, no exponential. Sort z in "
            "decreasing order, find the support size k, then tau = (sum of the k largest - 1) / k.",
            output=lambda z: torch.softmax(z, dim=-1),
        ),
        Mistake(
            what="you clipped the negative scores and renormalised ([z]_+ / sum): there is no threshold tau.",
            hint="The zero line is not at 0 but at tau, which depends on the row: p = [z - tau]_+ with "
            "tau = (z_(1) + ... + z_(k) - 1) / k over the k largest scores (Alg. 1). Then p sums to 1 by itself.",
            output=lambda z: z.clamp_min(0) / z.clamp_min(0).sum(-1, keepdim=True),
        ),
        Mistake(
            what="you sorted the scores in increasing order: the support must be built from the largest scores.",
            hint="Sort with `torch.sort(z, dim=-1, descending=True)`: the support is the k *largest* scores, where "
            "k is the largest index with 1 + k z_(k) > z_(1) + ... + z_(k).",
            output=_sparsemax_with(descending=False),
        ),
        Mistake(
            what="your threshold leaves out the '- 1': tau = (sum of the k largest) / k.",
            hint="tau = (z_(1) + ... + z_(k) - 1) / k: the '- 1' is what makes the kept entries sum to one.",
            output=_sparsemax_with(minus_one=False),
        ),
        Mistake(
            what="you normalised along the first dimension instead of the last.",
            hint="Each row (the last dimension) is one distribution: sort, cumsum and gather along `dim=-1`.",
            output=lambda z: sparsemax(z, dim=0),
        ),
    ),
    value_hint="p = [z - tau]_+ along the last dim, with tau = (sum of the k largest scores - 1) / k and k the "
    "largest index with 1 + k z_(k) > z_(1) + ... + z_(k) (scores sorted decreasingly).",
))


# ----------------------------------------------------------------------------- elu + 1 feature map
def _feature_cases(g):
    return [
        Case("x (3, 5), standard normal", (torch.randn(3, 5, generator=g),)),
        Case("x (2, 4, 6), large negative and positive values", (4 * torch.randn(2, 4, 6, generator=g),)),
        Case("x (5,), around zero", (torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0]),)),
    ]


check_elu_feature_map = checker(Exercise(
    name="elu_feature_map",
    title="the feature map elu(x) + 1",
    signature="(x)",
    reference=elu_feature_map,
    reference_name="`coursekit.efficient.linear.elu_feature_map`",
    doc="Katharopoulos et al. 2020, Eq. 7. x (...) float -> phi(x) = elu(x) + 1, elementwise: x + 1 for x > 0, "
    "exp(x) for x <= 0, so phi(x) > 0 everywhere.",
    cases=_feature_cases,
    outputs=("phi",),
    mistakes=(
        Mistake(
            what="you returned elu(x) without the + 1: it is negative for negative x.",
            hint="Add one: `F.elu(x) + 1`. The similarity phi(q) . phi(k) must stay positive, like exp(q . k), "
            "or the normaliser could be zero or negative.",
            output=F.elu,
        ),
        Mistake(
            what="you used relu(x) + 1: right for x > 0, but constant for x < 0 (no gradient there).",
            hint="elu(x) is exp(x) - 1 for x <= 0: `F.elu(x) + 1` is exp(x) there, still positive and still "
            "changing with x.",
            output=lambda x: F.relu(x) + 1,
        ),
        Mistake(
            what="you used exp(x): that is the softmax's kernel feature by feature, not elu(x) + 1.",
            hint="The paper's map is `F.elu(x) + 1`: equal to exp(x) for x <= 0, but x + 1 for x > 0, so it "
            "never overflows.",
            output=torch.exp,
        ),
        Mistake(
            what="you returned x + 1: negative for x < -1.",
            hint="Apply elu first: `F.elu(x) + 1`, which bends the negative half into exp(x) > 0.",
            output=lambda x: x + 1,
        ),
        Mistake(
            what="you computed elu(x + 1), not elu(x) + 1.",
            hint="Add the one after the elu: `F.elu(x) + 1`.",
            output=lambda x: F.elu(x + 1),
        ),
    ),
    value_hint="phi(x) = `F.elu(x) + 1`, elementwise.",
))


# ----------------------------------------------------------------------------- causal linear attention (assembling)
def _recurrent(q, k, v, *, phi=elu_feature_map, include_self=True, normalise=True):
    """Causal linear attention by the recurrence, with one thing done differently."""
    fq, fk = phi(q), phi(k)  # (..., T, Dh)
    S = torch.zeros(*q.shape[:-1][:-1], q.shape[-1], v.shape[-1], dtype=q.dtype)  # (..., Dh, Dv)
    z = torch.zeros(*q.shape[:-1][:-1], q.shape[-1], dtype=q.dtype)  # (..., Dh)
    outs = []
    for t in range(q.shape[-2]):
        if include_self:
            S = S + fk[..., t, :, None] * v[..., t, None, :]
            z = z + fk[..., t, :]
        num = (fq[..., t, None, :] @ S).squeeze(-2)  # (..., Dv)
        den = (fq[..., t, :] * z).sum(-1, keepdim=True)  # (..., 1)
        outs.append(num / den if normalise else num)
        if not include_self:
            S = S + fk[..., t, :, None] * v[..., t, None, :]
            z = z + fk[..., t, :]
    return torch.stack(outs, dim=-2)


def _linear_cases(g):
    def case(*lead, T, Dh, Dv):
        r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
        return (r(*lead, T, Dh), r(*lead, T, Dh), r(*lead, T, Dv))

    return [
        Case("q, k (2, 6, 4), v (2, 6, 3)", case(2, T=6, Dh=4, Dv=3)),
        Case("q, k (1, 2, 5, 8), v (1, 2, 5, 8): batch and heads", case(1, 2, T=5, Dh=8, Dv=8)),
        Case("q, k (3, 1, 4), v (3, 1, 2): one token", case(3, T=1, Dh=4, Dv=2)),
    ]


check_causal_linear_attention = checker(Exercise(
    name="causal_linear_attention",
    title="causal linear attention, recurrent form, from your feature map",
    signature="(q, k, v)",
    reference=lambda q, k, v: linear_attention(q, k, v, causal=True, eps=0.0),
    reference_name="`coursekit.efficient.linear.linear_attention(q, k, v, causal=True)`, the parallel form",
    doc="""Katharopoulos et al. 2020, Sec. 3.4. q, k (..., T, Dh), v (..., T, Dv) float -> (..., T, Dv): for
    t = 0, 1, ..., T-1: S += phi(k_t)^T v_t, z += phi(k_t), out_t = phi(q_t) S / (phi(q_t) . z), with
    phi = elu + 1.""",
    cases=_linear_cases,
    outputs=("out",),
    mistakes=(
        Mistake(
            what="you read the state before adding the current token: query t must also see key t (j <= t).",
            hint="Update first, then read: `S = S + phi(k_t)^T v_t` and `z = z + phi(k_t)`, then "
            "`out_t = phi(q_t) S / (phi(q_t) . z)`. (At t = 0 the other order divides by zero.)",
            output=lambda q, k, v: _recurrent(q, k, v, include_self=False),
        ),
        Mistake(
            what="there is no normaliser: the output is phi(q_t) S alone.",
            hint="Divide by phi(q_t) . z, with z the running sum of phi(k_j): this plays the softmax's denominator, "
            "so the weights phi(q_t) . phi(k_j) / (phi(q_t) . z) sum to one.",
            output=lambda q, k, v: _recurrent(q, k, v, normalise=False),
        ),
        Mistake(
            what="your attention is not causal: every query sees the sums over all T keys.",
            hint="Keep running sums and read them at step t, before the later tokens are added: the state after "
            "t tokens holds keys 0..t only.",
            output=lambda q, k, v: linear_attention(q, k, v, causal=False, eps=0.0),
        ),
        Mistake(
            what="you used q and k without the feature map.",
            hint="Apply your `my_elu_feature_map` to q and k first: phi(q_t) and phi(k_t) are positive, so every "
            "weight is positive and the normaliser never crosses zero.",
            output=lambda q, k, v: _recurrent(q, k, v, phi=lambda x: x),
        ),
        Mistake(
            what="you used exp as the feature map: that is not elu + 1.",
            hint="Use your `my_elu_feature_map` (elu(x) + 1) on q and k.",
            output=lambda q, k, v: _recurrent(q, k, v, phi=torch.exp),
        ),
    ),
    value_hint="phi = my_elu_feature_map; for each t: S += phi(k_t)^T v_t (an outer product, (Dh, Dv)), "
    "z += phi(k_t), out_t = (phi(q_t) @ S) / (phi(q_t) . z); stack the out_t along the length dimension.",
))


# ----------------------------------------------------------------------------- predict: doubling n
DOUBLING_PROBE = dict(n=256, d=32)
"""The prediction's experiment: FLOPs counted at n and 2n, well under a second on a CPU."""


def measure_doubling(n: int = DOUBLING_PROBE["n"], d: int = DOUBLING_PROBE["d"]) -> Measured:
    """Count the FLOPs of linear and of full attention at n and 2n
    (:func:`coursekit.efficient.experiments.attention_flops`) and name linear attention's growth."""
    flops = attention_flops(("linear", "full"), (n, 2 * n), d=d)
    ratio = {kind: flops[kind, 2 * n] / flops[kind, n] for kind in ("linear", "full")}
    r = ratio["linear"]
    answer = "stays the same" if r < 1.4 else "doubles" if r < 3.0 else "quadruples"
    return Measured(
        answer,
        f"counted from the shapes of the matrix products (2 FLOPs per multiply-add), width {d}: linear attention {flops['linear', n]:,} FLOPs at n = {n}, "
        f"{flops['linear', 2 * n]:,} at n = {2 * n} (x{r:.2f}); full softmax attention {flops['full', n]:,} -> "
        f"{flops['full', 2 * n]:,} (x{ratio['full']:.2f}).",
    )


check_linear_scaling_prediction = prediction_checker(Prediction(
    name="linear_scaling_prediction",
    title="predict: linear attention's cost when the length doubles",
    question="When the sequence length n doubles (width fixed), does the arithmetic of linear attention stay "
    "the same, double, or quadruple?",
    choices=("stays the same", "doubles", "quadruples"),
    measure=measure_doubling,
    why="Linear attention computes phi(K)^T V, a (Dh, Dv) matrix, once: n outer products of width Dh x Dv, then "
    "one (Dh, Dv) product per query. Both are n times a cost that does not depend on n. Full attention's "
    "scores Q K^T are an n x n matrix: twice the length, four times the pairs.",
))
