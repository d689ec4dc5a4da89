"""Chapter 13 checkers: each accepts a learner-style solution and another correct formulation,
rejects the stub with the not-implemented message, and rejects each plausible mistake with that
mistake's own hint; the smoothed cross-entropy is assembled from the learner's my_smooth_targets
(an unfinished one is reported as such); the references agree with torch, torchmetrics and
scikit-learn; the prediction's measurement is deterministic."""

import pytest
import torch
import torch.nn.functional as F

from coursekit.exercises.ch13 import (
    SMOOTHING_ECE_CHOICES,
    check_ece,
    check_knn_sanitise,
    check_smooth_targets,
    check_smoothed_ce,
    check_smoothing_ece_prediction,
    ece,
    knn_sanitise,
    measure_smoothing_ece,
    smooth_targets,
)

from checkresults import assert_not_yet, assert_passed


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


def hint_of(check, mistake_index):
    return check.exercise.mistakes[mistake_index].hint


# ----------------------------------------------------------------------------- smoothed targets
def targets_one_hot(labels, num_classes, eps):
    return (1 - eps) * F.one_hot(labels, num_classes).float() + eps / num_classes


def targets_scatter(labels, num_classes, eps):
    out = torch.full((len(labels), num_classes), eps / num_classes)
    out[torch.arange(len(labels)), labels] += 1 - eps
    return out


def test_smooth_targets_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_smooth_targets(targets_one_hot))
    assert_passed(check_smooth_targets(targets_scatter))
    assert_not_yet(check_smooth_targets(stub), "haven't implemented")


@pytest.mark.parametrize("fn, index", [
    (lambda y, K, eps: torch.full((len(y), K), eps / (K - 1)).scatter(1, y[:, None], 1 - eps), 0),
    (lambda y, K, eps: torch.full((len(y), K), eps / K).scatter(1, y[:, None], 1 - eps), 1),
    (lambda y, K, eps: F.one_hot(y, K).float() + eps / K, 2),
    (lambda y, K, eps: (1 - eps) * F.one_hot(y, K).float() + eps, 3),
])
def test_smooth_targets_names_each_mistake(fn, index):
    assert_not_yet(check_smooth_targets(fn), hint_of(check_smooth_targets, index))


def test_smooth_targets_reference_is_szegedys():
    q = smooth_targets(torch.tensor([2, 0]), 4, 0.2)
    torch.testing.assert_close(q.sum(-1), torch.ones(2))
    torch.testing.assert_close(q[0], torch.tensor([0.05, 0.05, 0.85, 0.05]))


# ----------------------------------------------------------------------------- smoothed cross-entropy
def make_smoothed_ce(my_smooth_targets):
    def my_smoothed_ce(logits, labels, eps):
        q = my_smooth_targets(labels, logits.shape[-1], eps)
        return -(q * F.log_softmax(logits, dim=-1)).sum(-1).mean()
    return my_smoothed_ce


def ce_by_mixture(logits, labels, eps):
    # the other way to write it: (1 - eps) * the hard loss + eps * the mean of -log p over the classes
    logp = F.log_softmax(logits, dim=-1)
    hard = -logp.gather(1, labels[:, None]).squeeze(1)
    return ((1 - eps) * hard - eps * logp.mean(-1)).mean()


def test_smoothed_ce_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_smoothed_ce(make_smoothed_ce(targets_one_hot)))
    assert_passed(check_smoothed_ce(ce_by_mixture))
    assert_passed(check_smoothed_ce(lambda z, y, eps: torch.nn.CrossEntropyLoss(label_smoothing=eps)(z, y)))
    assert_not_yet(check_smoothed_ce(stub), "haven't implemented")


def test_smoothed_ce_sees_an_unfinished_smooth_targets():
    assert_not_yet(check_smoothed_ce(make_smoothed_ce(stub)), "not implemented yet", "finish that exercise first")


def _targets_k_minus_1(y, K, eps):
    return torch.full((len(y), K), eps / (K - 1)).scatter(1, y[:, None], 1 - eps)


@pytest.mark.parametrize("fn, index", [
    (make_smoothed_ce(_targets_k_minus_1), 0),
    (lambda z, y, eps: -F.log_softmax(z, -1).gather(1, y[:, None]).mean(), 1),
    (lambda z, y, eps: -(targets_one_hot(y, z.shape[-1], eps) * F.log_softmax(z, -1)).sum(), 2),
    (lambda z, y, eps: -(targets_one_hot(y, z.shape[-1], eps) * torch.softmax(z, -1)).sum(-1).mean(), 3),
    (lambda z, y, eps: F.kl_div(F.log_softmax(z, -1), targets_one_hot(y, z.shape[-1], eps), reduction="batchmean"), 4),
])
def test_smoothed_ce_names_each_mistake(fn, index):
    assert_not_yet(check_smoothed_ce(fn), hint_of(check_smoothed_ce, index))


# ----------------------------------------------------------------------------- ECE
def ece_loop(probs, labels, n_bins):
    conf, pred = probs.max(dim=-1)
    correct = (pred == labels).float()
    edges = torch.linspace(0, 1, n_bins + 1)
    total = torch.tensor(0.0)
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (conf > lo) & (conf <= hi)
        if in_bin.any():
            total += in_bin.float().mean() * (correct[in_bin].mean() - conf[in_bin].mean()).abs()
    return total


def ece_bucketize(probs, labels, n_bins):
    # bins as [lo, hi) with torch.bucketize (torchmetrics' convention): the same on these cases
    conf, pred = probs.max(-1)
    idx = torch.bucketize(conf, torch.linspace(0, 1, n_bins + 1)[1:-1], right=True)
    gaps = torch.zeros(n_bins).index_add_(0, idx, (pred == labels).float() - conf)  # per-bin sum of (correct - conf)
    return gaps.abs().sum() / len(labels)


def test_ece_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_ece(ece_loop))
    assert_passed(check_ece(ece_bucketize))
    assert_not_yet(check_ece(stub), "haven't implemented")


def _ece_parts(probs, labels, n_bins):
    conf, pred = probs.max(-1)
    correct = (pred == labels).float()
    edges = torch.linspace(0, 1, n_bins + 1)
    parts = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        parts.append((m.float().mean(), (correct[m].mean() - conf[m].mean()) if m.any() else torch.tensor(0.0), m.any()))
    return parts


@pytest.mark.parametrize("fn, index", [
    (lambda p, y, M: torch.stack([g.abs() for w, g, some in _ece_parts(p, y, M) if some]).mean(), 0),
    (lambda p, y, M: torch.stack([g.abs() for w, g, some in _ece_parts(p, y, M)]).mean(), 0),
    (lambda p, y, M: torch.stack([g.abs() for w, g, some in _ece_parts(p, y, M)]).max(), 1),
    (lambda p, y, M: sum(w * g for w, g, some in _ece_parts(p, y, M)), 2),
    (lambda p, y, M: _true_class_ece(p, y, M), 3),
])
def test_ece_names_each_mistake(fn, index):
    assert_not_yet(check_ece(fn), hint_of(check_ece, index))


def _true_class_ece(probs, labels, n_bins):
    conf = probs[torch.arange(len(labels)), labels]
    correct = (probs.argmax(-1) == labels).float()
    edges = torch.linspace(0, 1, n_bins + 1)
    total = torch.tensor(0.0)
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.float().mean() * (correct[m].mean() - conf[m].mean()).abs()
    return total


@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_ece_reference_equals_torchmetrics(n_bins):
    from torchmetrics.functional.classification import multiclass_calibration_error

    g = torch.Generator().manual_seed(n_bins)
    logits = torch.randn(300, 6, generator=g) * 2.5
    labels = torch.randint(0, 6, (300,), generator=g)
    probs = logits.softmax(-1)
    theirs = multiclass_calibration_error(probs, labels, num_classes=6, n_bins=n_bins, norm="l1")
    torch.testing.assert_close(ece(probs, labels, n_bins), theirs)


# ----------------------------------------------------------------------------- kNN sanitisation
def sanitise_cdist(X, y, k, eta):
    d = torch.cdist(X, X)
    d.fill_diagonal_(float("inf"))
    neighbours = d.topk(k, largest=False).indices           # (N, k)
    votes = F.one_hot(y[neighbours], int(y.max()) + 1).sum(1)  # (N, C)
    top, label = votes.max(-1)
    return torch.where(top / k >= eta, label, y)


def sanitise_loop(X, y, k, eta):
    out = y.clone()
    for i in range(len(y)):
        d = ((X - X[i]) ** 2).sum(-1)
        d[i] = float("inf")
        labels = y[d.argsort()[:k]]
        counts = torch.bincount(labels)
        if counts.max().item() / k >= eta:
            out[i] = counts.argmax()
    return out


def test_knn_sanitise_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_knn_sanitise(sanitise_cdist))
    assert_passed(check_knn_sanitise(sanitise_loop))
    assert_not_yet(check_knn_sanitise(stub), "haven't implemented")


def _self_included(X, y, k, eta):
    neighbours = torch.cdist(X, X).topk(k, largest=False).indices
    votes = F.one_hot(y[neighbours], int(y.max()) + 1).sum(1)
    top, label = votes.max(-1)
    return torch.where(top / k >= eta, label, y)


def _strictly_above(X, y, k, eta):
    d = torch.cdist(X, X)
    d.fill_diagonal_(float("inf"))
    votes = F.one_hot(y[d.topk(k, largest=False).indices], int(y.max()) + 1).sum(1)
    top, label = votes.max(-1)
    return torch.where(top / k > eta, label, y)


def _in_place(X, y, k, eta):
    y = y.clone()
    for i in range(len(y)):
        d = ((X - X[i]) ** 2).sum(-1)
        d[i] = float("inf")
        counts = torch.bincount(y[d.argsort()[:k]])
        if counts.max().item() / k >= eta:
            y[i] = counts.argmax()
    return y


@pytest.mark.parametrize("fn, index", [
    (_self_included, 0),
    (_strictly_above, 1),
    (lambda X, y, k, eta: sanitise_cdist(X, y, k, 0.0), 2),
    (_in_place, 3),
    (lambda X, y, k, eta: _farthest_loop(X, y, k, eta), 4),
])
def test_knn_sanitise_names_each_mistake(fn, index):
    assert_not_yet(check_knn_sanitise(fn), hint_of(check_knn_sanitise, index))


def _farthest_loop(X, y, k, eta):
    out = y.clone()
    for i in range(len(y)):
        d = ((X - X[i]) ** 2).sum(-1)
        d[i] = -1.0
        counts = torch.bincount(y[d.argsort(descending=True)[:k]])
        if counts.max().item() / k >= eta:
            out[i] = counts.argmax()
    return out


def test_knn_reference_is_the_learners_rule_on_tensors():
    g = torch.Generator().manual_seed(3)
    X = torch.randn(50, 3, generator=g)
    y = torch.randint(0, 3, (50,), generator=g)
    for k, eta in ((5, 0.6), (3, 0.66), (4, 0.75)):
        torch.testing.assert_close(knn_sanitise(X, y, k, eta), sanitise_loop(X, y, k, eta))


# ----------------------------------------------------------------------------- prediction
def test_smoothing_ece_is_measured():
    m = measure_smoothing_ece()
    assert m == measure_smoothing_ece() and m.answer in SMOOTHING_ECE_CHOICES
    assert "ECE" in m.evidence and "smoothed (eps = 0.1)" in m.evidence
    assert m.evidence.count("over-confidence ") == 2  # each model's mean confidence minus accuracy, signed


def test_smoothing_ece_prediction_checker():
    answer = measure_smoothing_ece().answer
    assert_passed(check_smoothing_ece_prediction(lambda: answer))
    for wrong in set(SMOOTHING_ECE_CHOICES) - {answer}:
        assert_not_yet(check_smoothing_ece_prediction(lambda w=wrong: w), "experiment shows")
    assert_not_yet(check_smoothing_ece_prediction(lambda: "better"), "not one of the answers")
    assert_not_yet(check_smoothing_ece_prediction(stub), "haven't implemented")
