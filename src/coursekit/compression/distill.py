"""Knowledge distillation into a smaller student, DistilBERT's way: the student keeps the
teacher's width, has half its layers, starts from every other teacher layer, and learns from the
triple loss.

Hinton, Vinyals & Dean (2015), *Distilling the Knowledge in a Neural Network*,
https://arxiv.org/abs/1503.02531, Sec. 2: soft targets softmax(z / T) at a temperature T; the
gradient of the soft loss scales as 1 / T^2, so it is multiplied by T^2.
Sanh, Debut, Chaumond & Wolf (2019), *DistilBERT, a distilled version of BERT: smaller, faster,
cheaper and lighter*, https://arxiv.org/abs/1910.01108, Sec. 2-3: the loss is a linear combination
of the distillation loss L_ce = sum_i t_i log(s_i) over the teacher's soft targets, the masked-LM
loss L_mlm (for a classifier: cross-entropy on the hard labels) and a cosine embedding loss L_cos
aligning the student's and teacher's hidden-state directions; the student is initialised "from the
teacher by taking one layer out of two". The weights 5 : 2 : 1 and T = 2 are those of their
released training script (transformers' ``examples/research_projects/distillation``).

The soft term here is KL(teacher || student), which differs from L_ce only by the teacher's
entropy (a constant for the student): its gradient is the same, and it is 0 when the student
matches the teacher.

Legend: B batch, T tokens, K classes (or V vocabulary), H hidden size, L layers.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from ..bert.config import BertConfig
from ..bert.model import BertForSequenceClassification
from ..utils import check_int, check_positive, check_real, check_tensor

__all__ = ["DISTILBERT_WEIGHTS", "DistillLoss", "distillation_loss", "student_from_teacher", "distill_student"]

DISTILBERT_WEIGHTS = (5.0, 2.0, 1.0)  # soft targets, hard labels / MLM, cosine (DistilBERT's released script)


@dataclass(frozen=True)
class DistillLoss:
    """``total`` = w_soft * soft + w_hard * hard + w_cos * cosine, and its three parts (0-d tensors;
    ``hard`` / ``cosine`` are 0 when their inputs were not given)."""

    total: torch.Tensor
    soft: torch.Tensor
    hard: torch.Tensor
    cosine: torch.Tensor


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    student_hidden: torch.Tensor | None = None,
    teacher_hidden: torch.Tensor | None = None,
    hidden_mask: torch.Tensor | None = None,
    temperature: float = 2.0,
    weights: tuple[float, float, float] = DISTILBERT_WEIGHTS,
) -> DistillLoss:
    """DistilBERT's triple loss. ``student_logits``, ``teacher_logits`` (..., K): soft =
    T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over the rows (batchmean).
    ``labels`` (...) long, -100 = ignore (the MLM convention): hard = mean cross-entropy of the
    student's logits. ``student_hidden``, ``teacher_hidden`` (..., H) with ``hidden_mask`` (...)
    bool (True = count this position; None = all): cosine = mean of 1 - cos(student, teacher)
    (torch's ``CosineEmbeddingLoss`` with target 1). The teacher gets no gradient."""
    check_tensor("student_logits", student_logits, dtype="float")
    check_tensor("teacher_logits", teacher_logits, shape=tuple(student_logits.shape), dtype="float")
    check_real("temperature", temperature, low=0.0, low_open=True)
    if len(weights) != 3:
        raise ValueError(f"weights must be (soft, hard, cosine), got {weights!r}")
    K = student_logits.shape[-1]
    s = F.log_softmax(student_logits.reshape(-1, K) / temperature, dim=-1)
    t = F.log_softmax(teacher_logits.detach().reshape(-1, K) / temperature, dim=-1)
    soft = F.kl_div(s, t, reduction="batchmean", log_target=True) * temperature ** 2
    zero = student_logits.new_zeros(())
    hard = zero
    if labels is not None:
        check_tensor("labels", labels, shape=tuple(student_logits.shape[:-1]), dtype=torch.long)
        hard = F.cross_entropy(student_logits.reshape(-1, K), labels.reshape(-1), ignore_index=-100)
    cosine = zero
    if (student_hidden is None) != (teacher_hidden is None):
        raise ValueError("student_hidden and teacher_hidden must be given together")
    if student_hidden is not None:
        check_tensor("student_hidden", student_hidden, dtype="float")
        check_tensor("teacher_hidden", teacher_hidden, shape=tuple(student_hidden.shape), dtype="float")
        sh, th = student_hidden, teacher_hidden.detach()
        if hidden_mask is not None:
            check_tensor("hidden_mask", hidden_mask, shape=tuple(student_hidden.shape[:-1]), dtype=torch.bool)
            sh, th = sh[hidden_mask], th[hidden_mask]  # (N, H)
        cosine = (1 - F.cosine_similarity(sh, th, dim=-1)).mean()
    ws, wh, wc = weights
    return DistillLoss(ws * soft + wh * hard + wc * cosine, soft, hard, cosine)


def student_from_teacher(teacher: BertForSequenceClassification, layers: tuple[int, ...] | None = None, *,
                         copy_weights: bool = True, seed: int = 0) -> BertForSequenceClassification:
    """A classifier like ``teacher`` with only ``len(layers)`` encoder layers (default every other:
    0, 2, 4, ...). ``copy_weights``: DistilBERT's initialisation, student layer j = a copy of
    teacher layer ``layers[j]``, and the embeddings, pooler and classifier copied; otherwise
    BERT's random initialisation from ``seed`` (the same student from scratch). Written for
    coursekit's BertForSequenceClassification (the student keeps token types and pooler, unlike
    DistilBERT, so that only depth differs)."""
    if not isinstance(teacher, BertForSequenceClassification):
        raise ValueError(f"teacher must be a coursekit BertForSequenceClassification, got {type(teacher).__name__}")
    L = teacher.config.num_hidden_layers
    layers = tuple(range(0, L, 2)) if layers is None else tuple(layers)
    if not layers or any(not isinstance(i, int) or not 0 <= i < L for i in layers):
        raise ValueError(f"layers must be a non-empty tuple of teacher layer indices in [0, {L}), got {layers!r}")
    config: BertConfig = replace(teacher.config, num_hidden_layers=len(layers))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        student = BertForSequenceClassification(config, teacher.num_labels)
    if copy_weights:
        state = {k: v for k, v in teacher.state_dict().items() if ".layers." not in k}
        for j, i in enumerate(layers):
            prefix = f"bert.encoder.layers.{i}."
            state.update({f"bert.encoder.layers.{j}." + k[len(prefix):]: v
                          for k, v in teacher.state_dict().items() if k.startswith(prefix)})
        student.load_state_dict(copy.deepcopy(state))
    return student.to(next(teacher.parameters()).device)


def distill_student(student: nn.Module, teacher: nn.Module, input_ids: torch.Tensor, key_padding_mask: torch.Tensor,
            labels: torch.Tensor, *, steps: int = 200, lr: float = 5e-4, batch_size: int = 32,
            temperature: float = 2.0, weights: tuple[float, float, float] = DISTILBERT_WEIGHTS,
            seed: int = 0) -> list[float]:
    """Train ``student`` in place on :func:`distillation_loss` against ``teacher`` (a sequence
    classifier; frozen, eval mode) over random minibatches of (input_ids (N, T), key_padding_mask
    (N, T) bool, labels (N,)) from ``seed``: soft targets from the teacher's logits, the hard
    labels, and the cosine loss between the last hidden states at real tokens (student and teacher
    of one width). Adam, ``lr`` with linear warm-up over a tenth of the steps then linear decay,
    gradients clipped at 1. Returns the total loss at each step."""
    dims = check_tensor("input_ids", input_ids, shape=("N", "T"), dtype=torch.long)
    check_tensor("key_padding_mask", key_padding_mask, shape=("N", "T"), dtype=torch.bool, dims=dims)
    check_tensor("labels", labels, shape=("N",), dtype=torch.long, dims=dims)
    check_positive("steps", steps)
    check_positive("batch_size", batch_size)
    check_int("seed", seed)
    teacher.eval()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps))
    student.train()
    losses = []
    for _ in range(steps):
        rows = torch.randint(0, len(labels), (min(batch_size, len(labels)),), generator=gen)
        T = int(key_padding_mask[rows].sum(1).max())
        ids, real = input_ids[rows, :T], key_padding_mask[rows, :T]
        with torch.no_grad():
            t = teacher(ids, key_padding_mask=real)
        s = student(ids, key_padding_mask=real)
        loss = distillation_loss(s.logits, t.logits, labels[rows], student_hidden=s.hidden_states[-1],
                                 teacher_hidden=t.hidden_states[-1], hidden_mask=real, temperature=temperature,
                                 weights=weights).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    student.eval()
    return losses
