"""Chapter 10 exercises (the BERT family and compression): RoBERTa's position ids (the padding
offset), XLNet's query-stream mask, DistilBERT's soft-target loss, symmetric per-row fake
quantisation, a magnitude-pruning mask and global pruning assembled from the learner's mask,
and a "predict, then run" question on the error of int8 fake quantisation.

Learner functions, as the notebook's stubs declare them::

    def my_roberta_positions(input_ids, pad_token_id)   # (B, T) long, int -> (B, T) long
    def my_xlnet_query_mask(order)                      # (T,) long -> (T, T) bool, True = may attend
    def my_distillation_loss(student_logits, teacher_logits, temperature)
        # (N, K) float, (N, K) float, float -> scalar
    def my_fake_quantize(weight, bits)                  # (R, C) float, int -> (R, C) float
    def my_magnitude_mask(weight, amount)               # (R, C) float, float -> (R, C) bool, True = kept
    def my_global_prune(weights, amount)                # list of (R_i, C_i) float, float -> list, pruned
    def my_quantisation_error_prediction()              # -> one of QUANT_ERROR_CHOICES

References: :func:`coursekit.bert.variants.roberta_position_ids` (Liu et al. 2019; fairseq's
``make_positions``), :func:`coursekit.xlnet.permutation_masks` (Yang et al. 2019, Sec. 2.3),
:func:`coursekit.compression.distillation_loss` (Hinton et al. 2015; Sanh et al. 2019, Sec. 2),
:func:`coursekit.compression.fake_quantize` and :func:`coursekit.compression.magnitude_prune`
(Han et al. 2015; Gordon et al. 2020), whose one-matrix and global rules :func:`magnitude_mask`
and :func:`global_prune` restate for tensors.

Legend: B batch, T length, N rows, K classes, R rows (output features), C columns.
By the time of these checks the notebook has imported ``torch`` and ``torch.nn.functional as F``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..bert.variants import roberta_position_ids
from ..compression import distillation_loss, fake_quantize
from ..xlnet import permutation_masks
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_roberta_positions",
    "check_xlnet_query_mask",
    "check_distillation_loss",
    "check_fake_quantize",
    "check_magnitude_mask",
    "check_global_prune",
    "check_quantisation_error_prediction",
]


# ----------------------------------------------------------------------------- RoBERTa's positions
def _positions_cases(g):
    cases = []
    for B, T, pad, lengths, left in ((2, 6, 1, (6, 4), False), (3, 7, 1, (7, 3, 5), True), (1, 5, 0, (3,), False)):
        ids = torch.randint(pad + 3, 50, (B, T), generator=g)
        for r, n in enumerate(lengths):
            if left:
                ids[r, : T - n] = pad
            else:
                ids[r, n:] = pad
        side = "left" if left else "right"
        cases.append(Case(f"B={B}, T={T}, padding {side}, pad id {pad}", (ids, pad)))
    return cases


check_roberta_positions = checker(Exercise(
    name="roberta_positions",
    title="RoBERTa's position ids",
    signature="(input_ids, pad_token_id)",
    reference=roberta_position_ids,
    reference_name="`coursekit.bert.variants.roberta_position_ids`",
    cases=_positions_cases,
    outputs=("position ids",),
    mistakes=(
        Mistake(
            what="padding tokens got positions of their own; they should all get the padding id itself.",
            hint="Count only the real tokens: `real = input_ids.ne(pad_token_id).long()`, and multiply the "
                 "running count by `real` so that padding stays at the padding id.",
            output=lambda ids, pad: torch.arange(ids.shape[1]).expand_as(ids) + pad + 1,
        ),
        Mistake(
            what="the real tokens' positions start at 1, not at pad_token_id + 1.",
            hint="RoBERTa offsets every position by the padding id: the first real token is pad_token_id + 1 "
                 "(2 when the padding id is 1), which is why its table has 514 rows for 512 tokens.",
            output=lambda ids, pad: torch.cumsum(ids.ne(pad).long(), 1) * ids.ne(pad).long(),
        ),
        Mistake(
            what="the real tokens' positions start at pad_token_id, one too early.",
            hint="The running count of real tokens is 1 at the first one (`torch.cumsum` of the 0/1 mask); "
                 "add pad_token_id to it, not pad_token_id - 1.",
            output=lambda ids, pad: (torch.cumsum(ids.ne(pad).long(), 1) - 1) * ids.ne(pad).long() + pad,
        ),
    ),
    value_hint="Position = pad_token_id + (the number of real tokens up to and including this one); "
               "padding keeps pad_token_id.",
    doc="input_ids (B, T) long, pad_token_id int -> (B, T) long",
))


# ----------------------------------------------------------------------------- XLNet's query stream
def _query_reference(order):
    return permutation_masks(order).query


def _order_cases(g):
    fig1 = torch.tensor([2, 1, 3, 0])  # Yang et al.'s Fig. 1: 3 -> 2 -> 4 -> 1
    return [Case("the order 3, 2, 4, 1 of Fig. 1 (0-based: 2, 1, 3, 0)", (fig1,)),
            Case("a random order of 6", (torch.randperm(6, generator=g),)),
            Case("a random order of 5", (torch.randperm(5, generator=g),))]


def _ranks(order):
    return torch.argsort(order)


check_xlnet_query_mask = checker(Exercise(
    name="xlnet_query_mask",
    title="XLNet's query-stream mask",
    signature="(order)",
    reference=_query_reference,
    reference_name="`coursekit.xlnet.permutation_masks(order).query`",
    cases=_order_cases,
    outputs=("mask",),
    mistakes=(
        Mistake(
            what="each position may attend to itself: that is the content stream's mask.",
            hint="The query stream predicts the token at its own position, so it must not see that token: "
                 "use strictly earlier (`<`), not no later (`<=`).",
            output=lambda order: permutation_masks(order).content,
        ),
        Mistake(
            what="the mask is causal in the positions (left to right), not in the factorisation order.",
            hint="Compare the steps at which positions are predicted: rank[order[t]] = t, then i may see j "
                 "when rank[j] < rank[i].",
            output=lambda order: torch.ones(len(order), len(order)).tril(-1).bool(),
        ),
        Mistake(
            what="the mask is transposed: rows should be the position computed, columns what it reads.",
            hint="mask[i, j] is True when j comes before i in the order; you have mask[j, i].",
            output=lambda order: permutation_masks(order).query.T,
        ),
        Mistake(
            what="the order was used as if it held each position's step (its ranks).",
            hint="order[t] is the position predicted at step t; the step of position p is its rank, "
                 "`torch.argsort(order)[p]`.",
            output=lambda order: order[None, :] < order[:, None],
        ),
    ),
    value_hint="mask[i, j] = rank[j] < rank[i], where rank[p] is the step at which position p is predicted.",
    doc="order (T,) long, a permutation of 0..T-1 -> (T, T) bool, True = may attend",
))


# ----------------------------------------------------------------------------- DistilBERT's soft loss
def _distill_reference(student_logits, teacher_logits, temperature):
    return distillation_loss(student_logits, teacher_logits, temperature=temperature).soft


def _distill_cases(g):
    return [Case(f"N={N}, K={K}, T={T}", (torch.randn(N, K, generator=g) * 2, torch.randn(N, K, generator=g) * 3, T))
            for N, K, T in ((4, 5, 2.0), (6, 3, 4.0), (3, 7, 1.5))]


def _kl(p_log, q_log):  # KL(p || q), batchmean
    return (p_log.exp() * (p_log - q_log)).sum(-1).mean()


check_distillation_loss = checker(Exercise(
    name="distillation_loss",
    title="DistilBERT's soft-target loss",
    signature="(student_logits, teacher_logits, temperature)",
    reference=_distill_reference,
    reference_name="`coursekit.compression.distillation_loss(...).soft`",
    cases=_distill_cases,
    outputs=("loss",),
    mistakes=(
        Mistake(
            what="the loss is missing the factor temperature², so it shrinks as the temperature grows.",
            hint="Hinton et al. multiply the soft loss by T² so that its gradients keep their size when T "
                 "changes: `* temperature ** 2`.",
            output=lambda s, t, T: _kl(F.log_softmax(t / T, -1), F.log_softmax(s / T, -1)),
        ),
        Mistake(
            what="the KL divergence goes the wrong way: KL(student ‖ teacher) instead of KL(teacher ‖ student).",
            hint="The teacher's distribution is the target: `F.kl_div(student_log_probs, teacher_log_probs, "
                 "reduction='batchmean', log_target=True)` computes KL(teacher ‖ student).",
            output=lambda s, t, T: _kl(F.log_softmax(s / T, -1), F.log_softmax(t / T, -1)) * T**2,
        ),
        Mistake(
            what="the loss is averaged over every entry (rows × classes), not over the rows.",
            hint="Sum the KL over the classes and average over the rows: reduction='batchmean', not 'mean'.",
            output=lambda s, t, T: _kl(F.log_softmax(t / T, -1), F.log_softmax(s / T, -1)) * T**2 / s.shape[-1],
        ),
        Mistake(
            what="only one of the two distributions was softened by the temperature.",
            hint="Divide both the student's and the teacher's logits by the temperature before the softmax.",
            output=(lambda s, t, T: _kl(F.log_softmax(t, -1), F.log_softmax(s / T, -1)) * T**2,
                    lambda s, t, T: _kl(F.log_softmax(t / T, -1), F.log_softmax(s, -1)) * T**2),
        ),
    ),
    value_hint="T² · KL(softmax(teacher / T) ‖ softmax(student / T)), summed over classes, averaged over rows.",
    doc="student_logits, teacher_logits (N, K) float, temperature float -> 0-d float",
))


# ----------------------------------------------------------------------------- fake quantisation
def _weights_cases(g):
    w1 = torch.randn(4, 6, generator=g) * torch.tensor([[0.1], [1.0], [3.0], [0.5]])  # rows of different scales
    w2 = torch.randn(5, 3, generator=g)
    return [Case("(4, 6) weight, 8 bits", (w1, 8)), Case("(4, 6) weight, 4 bits", (w1, 4)),
            Case("(5, 3) weight, 3 bits", (w2, 3))]


def _per_tensor(w, bits):
    scale = w.abs().max() / (2 ** (bits - 1) - 1)
    return torch.round(w / scale) * scale


def _per_row(w, bits, qmax, rounding=torch.round, clamp=True):
    scale = w.abs().amax(1, keepdim=True) / qmax
    q = rounding(w / scale)
    limit = 2 ** (bits - 1) - 1
    return (q.clamp(-limit, limit) if clamp else q) * scale


check_fake_quantize = checker(Exercise(
    name="fake_quantize",
    title="symmetric per-row fake quantisation",
    signature="(weight, bits)",
    reference=fake_quantize,
    reference_name="`coursekit.compression.fake_quantize`",
    cases=_weights_cases,
    outputs=("quantised weight",),
    mistakes=(
        Mistake(
            what="one scale for the whole matrix: rows of small weights lose most of their precision.",
            hint="Give each row (output feature) its own scale: `weight.abs().amax(dim=1, keepdim=True)`.",
            output=_per_tensor,
        ),
        Mistake(
            what="values are truncated (or floored), not rounded to the nearest level.",
            hint="Use `torch.round(weight / scale)`: rounding halves the worst error.",
            output=(lambda w, b: _per_row(w, b, 2 ** (b - 1) - 1, torch.trunc),
                    lambda w, b: _per_row(w, b, 2 ** (b - 1) - 1, torch.floor)),
        ),
        Mistake(
            what="the scale uses 2^(bits-1) levels per side, so a row's largest weight lands outside the "
                 "integer range.",
            hint="A symmetric signed code has 2^(bits-1) - 1 levels on each side (127 for 8 bits): "
                 "scale = max |w| / (2 ** (bits - 1) - 1).",
            output=(lambda w, b: _per_row(w, b, 2 ** (b - 1), clamp=False),
                    lambda w, b: _per_row(w, b, 2 ** (b - 1), clamp=True)),
        ),
        Mistake(
            what="the levels are unsigned (2^bits - 1 of them per side), too fine for `bits` bits with a sign.",
            hint="With a sign bit, `bits` bits give integers from -(2^(bits-1) - 1) to 2^(bits-1) - 1.",
            output=lambda w, b: _per_row(w, b, 2**b - 1, clamp=False),
        ),
    ),
    value_hint="Per row: scale = max |w| / (2^(bits-1) - 1); return scale · round(w / scale).",
    doc="weight (R, C) float, bits int -> (R, C) float, the dequantised weight",
))


# ----------------------------------------------------------------------------- magnitude pruning
def magnitude_mask(weight: torch.Tensor, amount: float) -> torch.Tensor:
    """(R, C) float, share in [0, 1] -> (R, C) bool, False at the round(amount * numel) weights of
    smallest |w| (ties by position), True elsewhere: :func:`coursekit.compression.magnitude_prune`'s
    rule for one matrix."""
    flat = weight.abs().reshape(-1)  # (N,)
    k = int(round(amount * flat.numel()))
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    if k:
        keep[flat.topk(k, largest=False).indices] = False
    return keep.view_as(weight)


def global_prune(weights: list, amount: float) -> list:
    """Every matrix of ``weights`` with the round(amount * N) weights of smallest |w| among all N
    of them set to 0: one threshold for all (``magnitude_prune(..., scope="global")``)."""
    flat = torch.cat([w.reshape(-1) for w in weights])  # (N,)
    keep = magnitude_mask(flat, amount)
    return [w * k.view_as(w) for w, k in zip(weights, keep.split([w.numel() for w in weights]))]


def _mask_cases(g):
    return [Case("(4, 5) weight, amount 0.5", (torch.randn(4, 5, generator=g), 0.5)),
            Case("(2, 5) weight, amount 0.37 (3.7 weights: round to 4)", (torch.randn(2, 5, generator=g), 0.37)),
            Case("(3, 3) weight, amount 0", (torch.randn(3, 3, generator=g), 0.0))]


check_magnitude_mask = checker(Exercise(
    name="magnitude_mask",
    title="a magnitude-pruning mask",
    signature="(weight, amount)",
    reference=magnitude_mask,
    reference_name="`coursekit.exercises.ch10.magnitude_mask` (the rule of `magnitude_prune`)",
    cases=_mask_cases,
    outputs=("mask",),
    mistakes=(
        Mistake(
            what="True marks the weights to drop; the mask should be True at the weights that are kept.",
            hint="Return the complement: True where a weight survives, so that `weight * mask` prunes.",
            output=lambda w, a: ~magnitude_mask(w, a),
        ),
        Mistake(
            what="the most negative weights were dropped, not the smallest in magnitude.",
            hint="Rank by size, not by sign: use `weight.abs()`.",
            output=lambda w, a: magnitude_mask(w - w.min() + 1, a),
        ),
        Mistake(
            what="the number of weights to drop was truncated, not rounded.",
            hint="Drop `round(amount * weight.numel())` weights; `int(...)` alone rounds 3.7 down to 3.",
            output=lambda w, a: magnitude_mask(w, int(a * w.numel()) / w.numel()),
        ),
    ),
    value_hint="Drop exactly round(amount · numel) weights, those of smallest |w|: `torch.topk(..., largest=False)`.",
    doc="weight (R, C) float, amount float in [0, 1] -> (R, C) bool, True = kept",
))


def _prune_cases(g):
    def mats(scales, shapes):
        return [torch.randn(*s, generator=g) * k for s, k in zip(shapes, scales)]

    return [Case("two matrices, the second 3x larger, amount 0.5", (mats((1.0, 3.0), ((4, 4), (3, 5))), 0.5)),
            Case("three matrices of different scales, amount 0.3", (mats((0.5, 1.0, 2.0), ((2, 3), (3, 3), (4, 2))), 0.3))]


check_global_prune = checker(Exercise(
    name="global_prune",
    title="global magnitude pruning (assembled from my_magnitude_mask)",
    signature="(weights, amount)",
    reference=global_prune,
    reference_name="`coursekit.exercises.ch10.global_prune` (`magnitude_prune(..., scope='global')` for tensors)",
    cases=_prune_cases,
    outputs=("pruned weights",),
    mistakes=(
        Mistake(
            what="each matrix lost the same share; global pruning uses one threshold for all of them, so a "
                 "matrix of small weights loses more than its share.",
            hint="Flatten every matrix and concatenate them (`torch.cat`), build one mask with your "
                 "my_magnitude_mask, then split it back (`.split`) to each matrix's size.",
            output=lambda ws, a: [w * magnitude_mask(w, a) for w in ws],
        ),
        Mistake(
            what="the output holds masks, not the pruned weights.",
            hint="Multiply each weight by its mask: `w * mask`.",
            output=lambda ws, a: [k.view_as(w) for w, k in zip(ws, magnitude_mask(torch.cat(
                [w.reshape(-1) for w in ws]), a).split([w.numel() for w in ws]))],
        ),
    ),
    value_hint="Zero the round(amount · N) weights of smallest |w| among all N weights of all matrices; "
               "return the matrices in their shapes.",
    doc="weights: list of (R_i, C_i) float, amount float -> list of the same shapes, pruned",
))


# ----------------------------------------------------------------------------- predict: int8 error
QUANT_ERROR_CHOICES = ("under 1%", "1% to 10%", "over 10%")


def measure_quantisation_error(bits: int = 8) -> Measured:
    """Fake-quantise a seeded (64, 64) Gaussian weight to ``bits`` bits (per row) and measure the
    largest error relative to the largest |weight| of its row."""
    w = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    err = (fake_quantize(w, bits) - w).abs().amax(1) / w.abs().amax(1)  # (64,)
    worst = float(err.max())
    answer = QUANT_ERROR_CHOICES[0] if worst < 0.01 else QUANT_ERROR_CHOICES[1] if worst <= 0.10 else QUANT_ERROR_CHOICES[2]
    return Measured(answer, f"the largest error of int{bits} fake quantisation on a (64, 64) Gaussian weight is "
                            f"{worst:.2%} of its row's largest |weight|.")


check_quantisation_error_prediction = prediction_checker(Prediction(
    name="quantisation_error_prediction",
    title="predict: how far does int8 move a weight?",
    question="Fake-quantise a weight matrix to 8 bits, one scale per row. The largest error on any weight, "
             "as a share of its row's largest |weight|, is ...",
    choices=QUANT_ERROR_CHOICES,
    measure=measure_quantisation_error,
    why="With 127 levels on each side the step is max |w| / 127, and rounding moves a weight by at most half "
        "a step: 1/254 of the row's largest weight. Quantisation's cost is rarely the rounding of single "
        "weights; it is their sum over thousands of products, and outliers that stretch a row's scale.",
))
