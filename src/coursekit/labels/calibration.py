"""Calibration: reliability-diagram bins, the expected calibration error, temperature scaling
(Chapter 13).

Guo, Pleiss, Sun & Weinberger (2017), *On Calibration of Modern Neural Networks*, ICML,
https://arxiv.org/abs/1706.04599. Sec. 2: a model is calibrated when P(correct | confidence = p)
= p, the confidence being the top class's probability. Reliability diagrams group the N
predictions into M equal-width bins I_m = ((m-1)/M, m/M] of confidence and plot each bin's
accuracy acc(B_m) against its mean confidence conf(B_m). Eq. 3, the expected calibration error
of Naeini, Cooper & Hauskrecht (2015), *Obtaining Well Calibrated Probabilities Using Bayesian
Binning*, AAAI: ECE = sum_m |B_m| / N * |acc(B_m) - conf(B_m)|. Sec. 4.2: temperature scaling
divides the logits by one scalar T > 0 fitted by minimising the NLL on a validation set; it
never changes the predicted class (so accuracy stays the same).

Bins: the paper's bins are closed on the right, ((m-1)/M, m/M], with 0 in the first bin.
torchmetrics' ``calibration_error`` bins [lo, hi) instead and keeps a confidence of exactly 1.0
in a bin of its own, so the two agree unless some confidence lies exactly on a bin edge (which
happens: a saturated float32 softmax gives exactly 1.0).

Legend: N examples, K classes, M bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..utils import check_ids, check_int, check_real, check_tensor

__all__ = ["ReliabilityBins", "reliability_bins", "expected_calibration_error", "fit_temperature",
           "apply_temperature"]


@dataclass(frozen=True)
class ReliabilityBins:
    """One reliability diagram. ``edges`` (M+1,) from 0 to 1; per bin (M,): ``count`` (long),
    ``confidence`` (mean top-class probability) and ``accuracy`` (share of correct top-class
    predictions), both 0 in an empty bin. ``n`` = N, the number of predictions."""

    edges: torch.Tensor
    count: torch.Tensor
    confidence: torch.Tensor
    accuracy: torch.Tensor

    @property
    def n(self) -> int:
        return int(self.count.sum())

    @property
    def ece(self) -> float:
        """Guo et al.'s Eq. 3: sum over bins of |B_m| / N * |acc - conf|."""
        return float((self.count.to(self.accuracy.dtype) / self.n * (self.accuracy - self.confidence).abs()).sum())

    @property
    def overconfidence(self) -> float:
        """sum over bins of |B_m| / N * (conf - acc), which is the mean confidence minus the accuracy
        (the bins cancel out): > 0 when the model claims more than it delivers, < 0 when less."""
        return float((self.count.to(self.accuracy.dtype) / self.n * (self.confidence - self.accuracy)).sum())

    def records(self, **extra) -> list[dict]:
        """One plain dict per non-empty bin (``bin``, ``lo``, ``hi``, ``count``, ``share``,
        ``confidence``, ``accuracy``, ``gap`` = accuracy - confidence) plus ``extra`` columns,
        ready for Altair."""
        rows = []
        for m in range(len(self.count)):
            c = int(self.count[m])
            if c == 0:
                continue
            acc, conf = float(self.accuracy[m]), float(self.confidence[m])
            rows.append({"bin": m, "lo": float(self.edges[m]), "hi": float(self.edges[m + 1]), "count": c,
                         "share": c / self.n, "confidence": conf, "accuracy": acc, "gap": acc - conf, **extra})
        return rows


def _probabilities(scores: torch.Tensor, labels: torch.Tensor, from_logits: bool) -> torch.Tensor:
    """(N, K) probabilities from (N, K) probabilities or logits, or from (N,) binary P(class 1)."""
    if not isinstance(from_logits, bool):
        raise ValueError(f"from_logits must be True or False, got {from_logits!r}")
    check_tensor("probs", scores, dtype="float")
    if scores.dim() not in (1, 2):
        raise ValueError(f"probs must have shape (N, K) or (N,) (binary: P(class 1)), got a {scores.dim()}-d tensor "
                         f"of shape {tuple(scores.shape)}")
    N = scores.shape[0]
    check_tensor("labels", labels, shape=(N,), dtype=torch.long)
    if N == 0:
        raise ValueError("probs must hold at least one prediction, got N=0")
    if scores.dim() == 1:  # binary: the probability (or logit) of class 1
        p1 = torch.sigmoid(scores) if from_logits else scores
        probs = torch.stack([1 - p1, p1], dim=1)  # (N, 2)
    else:
        probs = F.softmax(scores, dim=1) if from_logits else scores
    K = probs.shape[1]
    if not from_logits:
        bad = (probs < 0) | (probs > 1)
        if bool(bad.any()) or (scores.dim() == 2 and bool(((probs.sum(1) - 1).abs() > 1e-3).any())):
            sums = probs.sum(1)
            raise ValueError("probs must be probabilities (each in [0, 1], rows summing to 1), got values in "
                             f"[{float(scores.min()):.3g}, {float(scores.max()):.3g}] and row sums in "
                             f"[{float(sums.min()):.3g}, {float(sums.max()):.3g}]; pass from_logits=True for logits")
    check_ids("labels", labels, K)
    return probs


def reliability_bins(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15, *,
                     from_logits: bool = False) -> ReliabilityBins:
    """Equal-width confidence bins of Guo et al. (2017), Sec. 2 (their Fig. 1's diagrams use 10
    bins, the ECE of their Table 1 15).

    ``probs`` (N, K) float probabilities (rows sum to 1), or logits with ``from_logits=True``;
    or (N,) the probability (logit) of class 1 of a binary classifier. ``labels`` (N,) long.
    The confidence of a prediction is its largest class probability; bin m holds the
    confidences in ((m-1)/M, m/M] (0 goes to the first bin)."""
    check_int("n_bins", n_bins, min=1)
    probs = _probabilities(probs, labels, from_logits).detach()
    confidence, predicted = probs.max(dim=1)  # (N,), (N,)
    correct = (predicted == labels).to(confidence.dtype)
    edges = torch.linspace(0, 1, n_bins + 1, dtype=confidence.dtype, device=confidence.device)
    index = torch.bucketize(confidence, edges[1:-1], right=False)  # edges[m-1] < c <= edges[m] -> bin m
    count = torch.zeros(n_bins, dtype=torch.long, device=confidence.device).scatter_add_(0, index, torch.ones_like(index))
    safe = count.clamp(min=1).to(confidence.dtype)
    conf_sum = torch.zeros(n_bins, dtype=confidence.dtype, device=confidence.device).scatter_add_(0, index, confidence)
    acc_sum = torch.zeros(n_bins, dtype=confidence.dtype, device=confidence.device).scatter_add_(0, index, correct)
    return ReliabilityBins(edges=edges.cpu(), count=count.cpu(), confidence=(conf_sum / safe).cpu(),
                           accuracy=(acc_sum / safe).cpu())


def expected_calibration_error(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15, *,
                               from_logits: bool = False) -> float:
    """ECE, Guo et al. (2017) Eq. 3 (Naeini et al. 2015), over :func:`reliability_bins`' bins;
    the same arguments. 0 for a perfectly calibrated model on these bins; at most 1."""
    return reliability_bins(probs, labels, n_bins, from_logits=from_logits).ece


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``logits / temperature`` (Guo et al. 2017, Sec. 4.2): T > 1 softens every prediction,
    T < 1 sharpens it; the argmax is unchanged. ``logits`` (..., K) float."""
    check_tensor("logits", logits, dtype="float")
    check_real("temperature", temperature, low=0.0, low_open=True)
    return logits / temperature


def fit_temperature(val_logits: torch.Tensor, val_labels: torch.Tensor, *, max_iter: int = 100) -> float:
    """The temperature T > 0 that minimises the NLL of softmax(val_logits / T) on held-out data
    (Guo et al. 2017, Sec. 4.2). ``val_logits`` (N, K) float, ``val_labels`` (N,) long.

    L-BFGS on log T (so T stays positive), in float64, from T = 1; the NLL is convex in 1/T,
    so the minimum found is the global one. Never fit T on the training set: a model that has
    memorised it would get T < 1."""
    dims = check_tensor("val_logits", val_logits, shape=("N", "K"), dtype="float")
    check_tensor("val_labels", val_labels, shape=(dims["N"],), dtype=torch.long)
    check_int("max_iter", max_iter, min=1)
    if dims["N"] == 0:
        raise ValueError("val_logits must hold at least one example, got N=0")
    check_ids("val_labels", val_labels, dims["K"])
    z = val_logits.detach().to(torch.float64)
    y = val_labels.detach()
    log_t = torch.zeros((), dtype=torch.float64, device=z.device, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return float(log_t.detach().exp())
