"""Chapter 13 exercises (label smoothing and label flipping): smoothed targets, the smoothed
cross-entropy assembled from the learner's targets, the expected calibration error, kNN label
sanitisation, and a "predict, then run" question on what smoothing does to a tiny model's ECE.

Learner functions, as the notebook's stubs declare them::

    def my_smooth_targets(labels, num_classes, eps)   # (N,) long, int, float -> (N, K) float
    def my_smoothed_ce(logits, labels, eps)           # (N, K) float, (N,) long, float -> 0-d float
    def my_ece(probs, labels, n_bins)                 # (N, K) float, (N,) long, int -> 0-d float
    def my_knn_sanitise(X, y, k, eta)                 # (N, D) float, (N,) long, int, float -> (N,) long
    def my_smoothing_ece_prediction()                 # -> one of SMOOTHING_ECE_CHOICES

References: :func:`coursekit.labels.smooth_targets` (Szegedy et al. 2016, Sec. 7), torch's
``F.cross_entropy(..., label_smoothing=eps)``, :func:`coursekit.labels.expected_calibration_error`
(Guo et al. 2017, Eq. 3), :func:`coursekit.labels.flipping.knn_sanitise` (Paudice et al. 2018, Algorithm 1),
wrapped here for tensors.

Legend: N examples, K classes, D features, M bins.
By the time of these checks the notebook has imported ``torch`` and ``torch.nn.functional as F``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..labels.calibration import expected_calibration_error, reliability_bins
from ..labels.flipping import knn_sanitise as _knn_sanitise
from ..labels.smoothing import smooth_targets
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_smooth_targets",
    "check_smoothed_ce",
    "check_ece",
    "check_knn_sanitise",
    "check_smoothing_ece_prediction",
]


# ----------------------------------------------------------------------------- smoothed targets
def _one_hot(labels, K):
    return F.one_hot(labels, K).float()


def _targets_cases(g):
    return [Case(f"N={N}, K={K}, eps={eps}", (torch.randint(0, K, (N,), generator=g), K, eps))
            for N, K, eps in ((4, 5, 0.1), (6, 3, 0.2), (3, 10, 0.3), (2, 4, 0.0))]


check_smooth_targets = checker(Exercise(
    name="smooth_targets",
    title="smoothed targets",
    signature="(labels, num_classes, eps)",
    reference=smooth_targets,
    reference_name="`coursekit.labels.smooth_targets`",
    cases=_targets_cases,
    outputs=("targets",),
    mistakes=(
        Mistake(
            what="the other classes get eps / (K - 1) and the true class 1 - eps: that spreads eps over the wrong "
                 "classes only, a different smoothing from Szegedy et al.'s (and torch's).",
            hint="Mix the one-hot with the uniform distribution over all K classes: (1 - eps) * one_hot + eps / K, "
                 "so the true class also gets its eps / K.",
            output=lambda y, K, eps: _one_hot(y, K) * (1 - eps) + (1 - _one_hot(y, K)) * eps / (K - 1),
        ),
        Mistake(
            what="the true class gets 1 - eps and the others eps / K, so the rows do not sum to 1.",
            hint="The uniform part eps / K goes to every class, the true one included: "
                 "(1 - eps) * one_hot + eps / K.",
            output=lambda y, K, eps: _one_hot(y, K) * (1 - eps) + (1 - _one_hot(y, K)) * eps / K,
        ),
        Mistake(
            what="the one-hot was not scaled by 1 - eps, so each row sums to 1 + eps.",
            hint="Take 1 - eps of the one-hot before adding eps / K: the result must still be a distribution.",
            output=lambda y, K, eps: _one_hot(y, K) + eps / K,
        ),
        Mistake(
            what="the uniform part was not divided by K: every class gets eps on top of the scaled one-hot.",
            hint="The uniform distribution puts 1 / K on each class, so eps of it is eps / K per class.",
            output=lambda y, K, eps: _one_hot(y, K) * (1 - eps) + eps,
        ),
    ),
    value_hint="targets[n, k] = (1 - eps) * (k == labels[n]) + eps / K.",
    doc="labels (N,) long, num_classes int, eps float -> (N, K) float",
))


# ----------------------------------------------------------------------------- smoothed cross-entropy
def smoothed_ce(logits: torch.Tensor, labels: torch.Tensor, eps: float) -> torch.Tensor:
    """torch's cross-entropy with label smoothing, the mean over the N rows."""
    return F.cross_entropy(logits, labels, label_smoothing=eps)


def _ce_cases(g):
    return [Case(f"N={N}, K={K}, eps={eps}", (torch.randn(N, K, generator=g) * 3, torch.randint(0, K, (N,), generator=g),
                                              eps))
            for N, K, eps in ((5, 4, 0.1), (8, 3, 0.25), (3, 7, 0.05))]


def _ce_with(targets):
    return lambda z, y, eps: -(targets(y, z.shape[-1], eps) * F.log_softmax(z, -1)).sum(-1).mean()


def _wrong_classes_only(y, K, eps):
    return _one_hot(y, K) * (1 - eps) + (1 - _one_hot(y, K)) * eps / (K - 1)


def _kl(z, y, eps):
    q = smooth_targets(y, z.shape[-1], eps)
    return (q * (q.clamp_min(1e-30).log() - F.log_softmax(z, -1))).sum(-1).mean()


check_smoothed_ce = checker(Exercise(
    name="smoothed_ce",
    title="the smoothed cross-entropy (assembled from my_smooth_targets)",
    signature="(logits, labels, eps)",
    reference=smoothed_ce,
    reference_name="torch's `F.cross_entropy(logits, labels, label_smoothing=eps)`",
    cases=_ce_cases,
    outputs=("loss",),
    mistakes=(
        Mistake(
            what="the targets spread eps over the K - 1 wrong classes (eps / (K - 1) each); torch and Szegedy et al. "
                 "spread it over all K (eps / K each, the true class included).",
            hint="Build the targets with your my_smooth_targets: (1 - eps) * one_hot + eps / K.",
            output=_ce_with(_wrong_classes_only),
        ),
        Mistake(
            what="eps was ignored: this is the plain cross-entropy with hard targets.",
            hint="Weight the log-probabilities by the smoothed targets, not the one-hot labels.",
            output=lambda z, y, eps: F.cross_entropy(z, y),
        ),
        Mistake(
            what="the loss is summed over the rows, not averaged.",
            hint="Sum over the classes, then take the mean over the N rows: `.sum(-1).mean()`.",
            output=lambda z, y, eps: F.cross_entropy(z, y, label_smoothing=eps) * z.shape[0],
        ),
        Mistake(
            what="the loss uses probabilities (or raw logits) where it needs log-probabilities.",
            hint="Cross-entropy is -Σ q log p: take `F.log_softmax(logits, dim=-1)`, not softmax or the logits.",
            output=(lambda z, y, eps: -(smooth_targets(y, z.shape[-1], eps) * z.softmax(-1)).sum(-1).mean(),
                    lambda z, y, eps: -(smooth_targets(y, z.shape[-1], eps) * z).sum(-1).mean()),
        ),
        Mistake(
            what="this is the KL divergence from the smoothed targets: the same gradients, but its value is the "
                 "cross-entropy minus the targets' entropy.",
            hint="Return the cross-entropy itself, -Σ q log p, as torch's CrossEntropyLoss(label_smoothing=eps) does; "
                 "drop the Σ q log q term.",
            output=_kl,
        ),
    ),
    value_hint="loss = mean over rows of -Σ_k q[n, k] · log_softmax(logits)[n, k], with q = my_smooth_targets(labels, K, eps).",
    doc="logits (N, K) float, labels (N,) long, eps float -> 0-d float (mean over N)",
))


# ----------------------------------------------------------------------------- expected calibration error
def _bins(probs: torch.Tensor, labels: torch.Tensor, n_bins: int):
    """(N, K), (N,), M -> per bin (M,): share of the N examples, accuracy, mean confidence (0 where empty),
    from :func:`coursekit.labels.reliability_bins` (equal-width bins ((m-1)/M, m/M], Guo et al. 2017, Sec. 2)."""
    bins = reliability_bins(probs, labels, n_bins)
    return bins.count.to(probs.dtype) / bins.n, bins.accuracy, bins.confidence


def ece(probs: torch.Tensor, labels: torch.Tensor, n_bins: int) -> torch.Tensor:
    """:func:`coursekit.labels.expected_calibration_error` as a 0-d tensor (the learner returns one)."""
    return torch.tensor(expected_calibration_error(probs, labels, n_bins), dtype=probs.dtype)


def _ece_cases(g):
    cases = []
    for N, K, M, sharp in ((200, 4, 10, 3.0), (60, 3, 5, 1.5), (120, 10, 15, 4.0)):
        logits = torch.randn(N, K, generator=g) * sharp
        labels = logits.argmax(-1)
        wrong = torch.rand(N, generator=g) < 0.35  # an overconfident model: a third of its answers are wrong
        labels[wrong] = torch.randint(0, K, (int(wrong.sum()),), generator=g)
        cases.append(Case(f"N={N}, K={K}, {M} bins", (logits.softmax(-1), labels, M)))
    return cases


def _gaps(probs, labels, M):
    share, acc, conf = _bins(probs, labels, M)
    return share, (acc - conf).abs()


def _true_class_conf(probs, labels, M):
    conf = probs.gather(1, labels[:, None])[:, 0]
    correct = (probs.argmax(-1) == labels).to(probs.dtype)
    idx = (torch.ceil(conf * M).long() - 1).clamp(0, M - 1)
    total = torch.zeros((), dtype=probs.dtype)
    for m in range(M):
        sel = idx == m
        if sel.any():
            total = total + sel.to(probs.dtype).mean() * (correct[sel].mean() - conf[sel].mean()).abs()
    return total


check_ece = checker(Exercise(
    name="ece",
    title="the expected calibration error",
    signature="(probs, labels, n_bins)",
    reference=ece,
    reference_name="`coursekit.labels.expected_calibration_error`",
    cases=_ece_cases,
    outputs=("ECE",),
    mistakes=(
        Mistake(
            what="the bins' gaps were averaged with equal weights; ECE weights each bin by its share of the "
                 "examples, so a big gap in a near-empty bin counts for little.",
            hint="Multiply each bin's |accuracy - confidence| by (examples in the bin) / N before summing.",
            output=(lambda p, y, M: _gaps(p, y, M)[1][_gaps(p, y, M)[0] > 0].mean(),
                    lambda p, y, M: _gaps(p, y, M)[1].sum() / M),
        ),
        Mistake(
            what="this is the largest gap of any bin (the maximum calibration error), not the weighted average.",
            hint="Sum the gaps weighted by each bin's share of the examples, instead of taking the maximum.",
            output=lambda p, y, M: _gaps(p, y, M)[1].max(),
        ),
        Mistake(
            what="the gaps were signed, so over- and under-confident bins cancel.",
            hint="Take the absolute value of each bin's accuracy - confidence before weighting and summing.",
            output=(lambda p, y, M: (_bins(p, y, M)[0] * (_bins(p, y, M)[1] - _bins(p, y, M)[2])).sum().abs(),
                    lambda p, y, M: (_bins(p, y, M)[0] * (_bins(p, y, M)[1] - _bins(p, y, M)[2])).sum()),
        ),
        Mistake(
            what="the confidence used is the probability of the true class; ECE uses the model's confidence in its "
                 "own prediction, the largest probability.",
            hint="conf, pred = probs.max(dim=-1): bin by conf, and count pred == labels as correct.",
            output=_true_class_conf,
        ),
    ),
    value_hint="Bin the examples by confidence = probs.max(-1) into n_bins equal-width bins on [0, 1]; "
               "ECE = Σ over bins of (bin size / N) · |accuracy in the bin - mean confidence in the bin|.",
    doc="probs (N, K) float (rows sum to 1), labels (N,) long, n_bins int -> 0-d float",
))


# ----------------------------------------------------------------------------- kNN sanitisation
def knn_sanitise(X: torch.Tensor, y: torch.Tensor, k: int, eta: float) -> torch.Tensor:
    """:func:`coursekit.labels.flipping.knn_sanitise` for tensors: each point takes the majority label of
    its k nearest other points when that label's share is at least eta (Paudice et al. 2018, Algorithm 1),
    all judged on the labels as given."""
    return torch.from_numpy(_knn_sanitise(X.numpy(), y.numpy(), k, eta))


def _knn_cases(g):
    cases = []
    for N, D, C, k, eta, flip in ((40, 2, 2, 5, 0.6, 6), (30, 3, 3, 5, 0.8, 5), (24, 2, 2, 4, 0.75, 5), (30, 2, 2, 3, 0.66, 12)):
        centres = torch.randn(C, D, generator=g) * 3
        y = torch.arange(N) % C
        X = centres[y] + torch.randn(N, D, generator=g)
        flipped = y.clone()
        idx = torch.randperm(N, generator=g)[:flip]
        flipped[idx] = (y[idx] + 1) % C
        cases.append(Case(f"N={N} points, {C} classes, {flip} flipped, k={k}, eta={eta}", (X, flipped, k, eta)))
    return cases


def _with_self(X, y, k, eta):
    nn_idx = torch.cdist(X, X).topk(k, largest=False).indices
    votes = F.one_hot(y[nn_idx], int(y.max()) + 1).sum(1)
    top, label = votes.max(-1)
    return torch.where(top >= eta * k, label, y)


def _strict(X, y, k, eta):
    d = torch.cdist(X, X)
    d.fill_diagonal_(float("inf"))
    votes = F.one_hot(y[d.topk(k, largest=False).indices], int(y.max()) + 1).sum(1)
    top, label = votes.max(-1)
    return torch.where(top > eta * k, label, y)


def _always(X, y, k, eta):
    return _strict(X, y, k, 0.0)


def _sequential(X, y, k, eta):
    d = torch.cdist(X, X)
    d.fill_diagonal_(float("inf"))
    nn_idx = d.topk(k, largest=False).indices
    out = y.clone()
    for i in range(len(y)):
        votes = torch.bincount(out[nn_idx[i]], minlength=int(y.max()) + 1)
        if votes.max() >= eta * k:
            out[i] = votes.argmax()
    return out


def _farthest(X, y, k, eta):
    d = torch.cdist(X, X)
    d.fill_diagonal_(float("-inf"))
    votes = F.one_hot(y[d.topk(k).indices], int(y.max()) + 1).sum(1)
    top, label = votes.max(-1)
    return torch.where(top >= eta * k, label, y)


check_knn_sanitise = checker(Exercise(
    name="knn_sanitise",
    title="kNN label sanitisation",
    signature="(X, y, k, eta)",
    reference=knn_sanitise,
    reference_name="`coursekit.labels.flipping.knn_sanitise`",
    cases=_knn_cases,
    outputs=("sanitised labels",),
    mistakes=(
        Mistake(
            what="each point counted itself among its k nearest neighbours (its distance to itself is 0), so its own, "
                 "possibly flipped, label votes for itself.",
            hint="Exclude the point itself: set the diagonal of the distance matrix to infinity "
                 "(`d.fill_diagonal_(float('inf'))`) before taking the k smallest.",
            output=_with_self,
        ),
        Mistake(
            what="a point whose majority share equals eta exactly was left alone; the rule relabels at a share of "
                 "at least eta.",
            hint="Compare with >=: relabel when (votes for the top label) / k >= eta.",
            output=_strict,
        ),
        Mistake(
            what="every point took its neighbours' majority label, whatever the majority's share.",
            hint="Relabel only when the majority is confident: its share of the k votes must be at least eta.",
            output=_always,
        ),
        Mistake(
            what="points were relabelled one after another, and later points voted with labels already changed.",
            hint="Read every vote from the labels as given (y), and write the new labels into a copy.",
            output=_sequential,
        ),
        Mistake(
            what="the k farthest points voted, not the k nearest.",
            hint="Take the k smallest distances: `topk(k, largest=False)`.",
            output=_farthest,
        ),
    ),
    value_hint="For each point: its k nearest other points vote with their given labels; if the top label has at "
               "least eta * k votes the point takes it, else it keeps its label.",
    doc="X (N, D) float, y (N,) long, k int, eta float in (0.5, 1] -> (N,) long",
))


# ----------------------------------------------------------------------------- predict: smoothing and ECE
SMOOTHING_ECE_CHOICES = ("lower", "higher", "about the same")


def measure_smoothing_ece(eps: float = 0.1, steps: int = 100, train: int = 200, test: int = 500) -> Measured:
    """Train one small MLP (64-128-10) on ``train`` of scikit-learn's digits, with hard targets and with
    smoothing ``eps`` (same seed, same steps of full-batch Adam), and compare their test ECE (15 bins).
    "about the same" means within 0.01. The evidence also gives each model's over-confidence (mean
    top-class confidence minus accuracy), so the learner sees on which side of its accuracy each model is."""
    from ..labels.smoothing_experiments import MLP, digits_split, train_classifier

    # the digits shuffled by seed 0: the first `train` to train on, the next `test` to score
    (x_tr, y_tr), (x_te, y_te), _ = digits_split(0, n_train=train, n_val=test)
    eces, accs, over = {}, {}, {}
    for e in (0.0, eps):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = train_classifier(MLP(64, (128,), 10), x_tr, y_tr, eps=e, steps=steps, lr=1e-2)
            with torch.no_grad():
                probs = net(x_te).softmax(-1)
        eces[e] = expected_calibration_error(probs, y_te, 15)
        accs[e] = float((probs.argmax(-1) == y_te).float().mean())
        over[e] = float(probs.max(-1).values.mean()) - accs[e]
    diff = eces[eps] - eces[0.0]
    answer = SMOOTHING_ECE_CHOICES[2] if abs(diff) <= 0.01 else SMOOTHING_ECE_CHOICES[1 if diff > 0 else 0]
    return Measured(answer, f"on {test} held-out digits, hard targets: accuracy {accs[0.0]:.1%}, ECE {eces[0.0]:.3f}, "
                            f"over-confidence {over[0.0]:+.3f}; smoothed (eps = {eps}): accuracy {accs[eps]:.1%}, "
                            f"ECE {eces[eps]:.3f}, over-confidence {over[eps]:+.3f} (over-confidence: mean confidence "
                            f"minus accuracy; negative means under-confident).")


check_smoothing_ece_prediction = prediction_checker(Prediction(
    name="smoothing_ece_prediction",
    title="predict: does label smoothing lower a small digits model's ECE?",
    question="A small MLP trained on 200 of scikit-learn's digits, once with hard targets and once with label "
             "smoothing eps = 0.1. Compared with hard targets, the smoothed model's test ECE is ...",
    choices=SMOOTHING_ECE_CHOICES,
    measure=measure_smoothing_ece,
    why="Smoothing caps the confidence: the loss is lowest when the true class gets 1 - eps + eps/K, not 1. That "
        "helps a model that was overconfident, but a model that was not overconfident, or only slightly, tends to be pushed below "
        "its accuracy, and its ECE grows: whether smoothing improves calibration depends on where the "
        "model started (Müller et al. 2019 measured it on networks that were overconfident).",
))
