"""Label smoothing: the smoothed targets and the cross-entropy against them (Chapter 13).

Szegedy, Vanhoucke, Ioffe, Shlens & Wojna (2016), *Rethinking the Inception Architecture for
Computer Vision*, https://arxiv.org/abs/1512.00567, Sec. 7 ("Model Regularization via Label
Smoothing"): replace the one-hot target by q'(k) = (1 - eps) * delta_{k,y} + eps * u(k) with the
uniform u(k) = 1/K. Müller, Kornblith & Hinton (2019), *When Does Label Smoothing Help?*,
https://arxiv.org/abs/1906.02629, Sec. 2, write the same targets as y_k^LS = y_k (1 - alpha) +
alpha / K (their alpha is our ``eps``) and minimise the cross-entropy -sum_k y_k^LS log p_k.

:func:`smoothed_cross_entropy` is that cross-entropy, written so that it equals
``torch.nn.CrossEntropyLoss(weight=w, ignore_index=i, reduction=r, label_smoothing=eps)``
exactly, class weights and ignored targets included. With class weights w, torch's loss is
(1 - eps) * w_y * (-log p_y) + (eps / K) * sum_k w_k (-log p_k) = -sum_k w_k q'_k log p_k
(w_k = w_y where q'_k has its one-hot part), and its mean divides by sum_i w_{y_i} over the
targets not ignored, as weighted NLL does.

Legend: N examples, K classes, d extra dimensions (torch's (N, K, d1, d2, ...) layout: the class
dimension is dim 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..utils import check_choice, check_ids, check_int, check_real, check_tensor

__all__ = ["smooth_targets", "smoothed_cross_entropy"]

REDUCTIONS = ("mean", "sum", "none")


def _check_eps(eps: object) -> None:
    check_real("eps", eps, low=0.0, high=1.0)


def smooth_targets(labels: torch.Tensor, num_classes: int, eps: float) -> torch.Tensor:
    """The smoothed targets (1 - eps) * one_hot(labels) + eps / K (Szegedy et al. 2016, Sec. 7).

    ``labels`` (N, ...) long in [0, K); returns (N, ..., K) float32 (rows sum to 1). ``eps`` in
    [0, 1]: 0 gives the one-hot targets, 1 the uniform distribution."""
    check_tensor("labels", labels, dtype=torch.long)
    check_int("num_classes", num_classes, min=1)
    _check_eps(eps)
    check_ids("labels", labels, num_classes)
    return _smooth(labels, num_classes, eps)


def _smooth(labels: torch.Tensor, num_classes: int, eps: float) -> torch.Tensor:
    """:func:`smooth_targets` without its checks (for callers that checked their inputs)."""
    one_hot = F.one_hot(labels, num_classes).to(torch.float32)  # (N, ..., K)
    return one_hot * (1.0 - eps) + eps / num_classes


def smoothed_cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    eps: float = 0.1,
    *,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy against :func:`smooth_targets`, equal to torch's
    ``F.cross_entropy(logits, labels, weight=weight, ignore_index=ignore_index,
    reduction=reduction, label_smoothing=eps)``.

    ``logits`` (N, K) or (N, K, d1, ...) float (the class dimension is dim 1, as in torch);
    ``labels`` (N,) or (N, d1, ...) long, each in [0, K) or equal to ``ignore_index`` (that
    position contributes 0 and is left out of the mean). ``weight`` (K,) float class weights or
    None. ``reduction``: ``"mean"`` (over the kept positions, weighted by w_y), ``"sum"`` or
    ``"none"`` (the per-position losses, shaped like ``labels``). Soft (probability) targets are
    not accepted: ``labels`` must be class indices."""
    check_tensor("logits", logits, dtype="float")
    if logits.dim() < 2:
        raise ValueError(f"logits must have shape (N, K) or (N, K, d1, ...), got a {logits.dim()}-d tensor of shape {tuple(logits.shape)}")
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point():
        got = labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels must be a long tensor of class indices (probability targets are not supported), got {got}")
    N, K = logits.shape[:2]
    check_tensor("labels", labels, shape=(N, *logits.shape[2:]), dtype=torch.long)
    _check_eps(eps)
    check_int("ignore_index", ignore_index)
    check_choice("reduction", reduction, REDUCTIONS)
    if weight is not None:
        check_tensor("weight", weight, shape=(K,), dtype="float")
    keep = labels != ignore_index  # (N, d...)
    if bool(((labels[keep] < 0) | (labels[keep] >= K)).any()):
        raise ValueError(f"labels must be in [0, {K}) or equal to ignore_index={ignore_index}, "
                         f"got values in [{int(labels.min())}, {int(labels.max())}]")
    log_p = F.log_softmax(logits, dim=1).movedim(1, -1)  # (N, d..., K)
    safe = torch.where(keep, labels, torch.zeros_like(labels))  # ignored positions point at class 0, then are zeroed
    q = _smooth(safe, K, eps).to(log_p.dtype)  # (N, d..., K)
    w = torch.ones(K, dtype=log_p.dtype, device=log_p.device) if weight is None else weight.to(log_p.dtype)
    loss = -(q * w * log_p).sum(-1) * keep  # (N, d...)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (w[safe] * keep).sum()
