"""Chapter 13's label-flipping runs: an SVM's accuracy against the flip rate under random flips and
under ALFA, each with and without k-NN sanitisation; and how much random label noise a small network
absorbs on the ten digit classes.

- Xiao, Xiao & Eckert (2012), *Adversarial Label Flips Attack on Support Vector Machines*, ECAI 2012,
  pp. 870-875: ALFA against random flips of the same budget (:func:`flip_rate_curves`; our synthetic
  set: :func:`xiao_synthetic`; our real pair: two classes of scikit-learn's digits, :func:`digits_pair`).
- Paudice, Munoz-Gonzalez & Lupu (2018), *Label Sanitization against Label Flipping Poisoning
  Attacks*, https://arxiv.org/abs/1803.00992: the k-NN relabelling defence (the "knn" rows).
- Random label noise on a multiclass task (:func:`noise_absorption`): with symmetric noise at rate r
  over K classes, the true class keeps the plurality of a point's labels in expectation while
  1 - r > r / (K - 1), i.e. r < (K - 1) / K (0.9 for the 10 digits).

Every run uses data scikit-learn ships (``load_digits``) or makes; nothing is downloaded.

Legend: N training points, D features, K classes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..utils import at_scale, check_choice, check_int, check_real
from .flipping import alfa, knn_sanitise, random_flips, svm
from .smoothing import smoothed_cross_entropy
from .smoothing_experiments import MLP, _digits, _to, digits_split

__all__ = ["xiao_synthetic", "digits_pair", "flip_rate_curves", "noise_absorption", "PUBLISHED_XIAO2012",
           "PUBLISHED_PAUDICE2018", "VALUE_KEYS"]

PATTERNS = ("linear", "parabolic")
DATASETS = ("synthetic", "digits")

# What the papers report, for the chapter's runs to stand beside. Only what could be read in the papers'
# own text goes in "quote"; "claim" paraphrases it. Checked 2026-11-30 through the search tools: for both
# papers only the abstract (and the opening of the introduction) could be read, not the experimental
# sections, so no data set, flip rate, k, eta, figure or table value is transcribed: ``values`` stays an
# empty list rather than a guess. Each entry of ``values``, if one is ever added, is a dict with the
# keys VALUE_KEYS (``where`` names the table/figure and section; ``approximate`` is True for anything
# read from a plot).
VALUE_KEYS = ("where", "dataset", "kernel", "attack", "defence", "rate", "metric", "value", "approximate")

PUBLISHED_XIAO2012: dict = {
    "source": ("Xiao, Xiao & Eckert 2012, Adversarial Label Flips Attack on Support Vector Machines, "
               "ECAI 2012 (Frontiers in Artificial Intelligence and Applications 242, IOS Press), pp. 870-875"),
    # Abstract, last sentence: the paper's text as copied at https://www.aipaper.cc/paper/6909d7b34d0fb96d11dd73d2
    # and the TUM research portal (portal.fis.tum.de); the TUM chair's page carries an earlier wording
    # ("the performance of SVMs is significantly degraded").
    "quote": "Experiments demonstrate that the accuracy of classifiers is significantly degraded under the attack.",
    "claim": ("ALFA, the label-flip attack the paper derives for SVMs, significantly degrades the classifiers' "
              "accuracy in the authors' experiments (abstract)"),
    "verified": "abstract only",
    "not_verified": ("Section on experiments: data sets, flip rates, kernels, the baselines and the error rates "
                     "of ALFA vs random flips (no figure or table could be read)"),
    # Not the ECAI paper: the authors' released MATLAB library (github.com/feuerchop/ALFASVMLib), written for
    # the 2015 Neurocomputing follow-up (Xiao, Biggio, Nelson, Xiao, Eckert & Roli, "Support vector machines
    # under adversarial label contamination"), read in its scripts paper_exp1.m / paper_exp2.m.
    "released_code": {
        "toy_sets": "linear.mat and parabolic.mat (2-D), C=1, gamma=0.5, 20% train / 80% test hold-out",
        "real_sets": ("flip rates linspace(0, 0.2, 10) of the training set; 5 random train/test splits; "
                      "C, gamma by 5-fold CV over 2^[-7, 10] x 2^[-7, 5]; test error mean/min/max"),
        "baselines": ("ALFA, ALFA-Cr, ALFA-Tilt, far-first, near-first, random, correlated clusters, "
                      "and the SVM without flips"),
    },
    "values": [],
}
PUBLISHED_PAUDICE2018: dict = {
    "source": ("Paudice, Munoz-Gonzalez & Lupu 2018, Label Sanitization against Label Flipping Poisoning "
               "Attacks, arXiv:1803.00992 (v2, 2 Oct 2018); ECML PKDD 2018 Workshops, pp. 5-15"),
    # Abstract, last sentence, from the arXiv abstract page (v2) and the groundai.com copy of the paper.
    # Venue and pages as several citing works give them (not read in the paper itself).
    "quote": ("In this paper we propose an efficient algorithm to perform optimal label flipping poisoning "
              "attacks and a mechanism to detect and relabel suspicious data points, mitigating the effect "
              "of such poisoning attacks."),
    "claim": ("detecting and relabelling suspicious training points mitigates label-flipping poisoning; the "
              "paper also proposes its own optimal label-flipping attack, which is not ALFA (abstract)"),
    "verified": "abstract only",
    "not_verified": ("Algorithm 1's exact rule (>= or > eta, the point itself among its neighbours or not), the "
                     "k and eta used, the data sets, and the error/accuracy curves with and without "
                     "sanitisation vs the fraction of poisoned points (no figure or table could be read)"),
    "values": [],
}


def xiao_synthetic(n: int, *, pattern: str = "linear", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D binary set in the spirit of Xiao et al.'s synthetic "linear" and "parabolic" patterns
    (their generator is not published; this one is ours): points uniform in [-1, 1]^2, labelled +1
    above the line x2 = -x1 (``"linear"``) or above the parabola x2 = x1^2 - 0.5 (``"parabolic"``),
    else -1. Noise-free labels, so a linear SVM can separate the linear pattern. Returns
    X (n, 2) float64 and y (n,) int64 in {-1, +1}."""
    check_int("n", n, min=2)
    check_choice("pattern", pattern, PATTERNS)
    check_int("seed", seed)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    boundary = -X[:, 0] if pattern == "linear" else X[:, 0] ** 2 - 0.5
    return X, np.where(X[:, 1] > boundary, 1, -1).astype(np.int64)


def digits_pair(a: int = 1, b: int = 7, *, seed: int = 0, test_share: float = 0.5
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two classes of scikit-learn's 8x8 digits (bundled, 1,797 images): pixels / 16 in [0, 1],
    ``a`` -> -1 and ``b`` -> +1, split at random (``seed``) into train and test (``test_share``).
    Returns X_train (N, 64), y_train (N,), X_test, y_test."""
    check_int("a", a, min=0, max=9)
    check_int("b", b, min=0, max=9)
    if a == b:
        raise ValueError(f"a and b must be different digits, got {a} and {b}")
    check_int("seed", seed)
    check_real("test_share", test_share, low=0.0, high=1.0, low_open=True, high_open=True)
    data, target = _digits()
    keep = np.isin(target, (a, b))
    X = data[keep] / 16.0
    y = np.where(target[keep] == b, 1, -1).astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_share * len(y)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def _grid(name: str, values: object, *, real: bool = False, low: int | None = None) -> list:
    """A non-empty sequence of numbers in [0, 1] (``real``) or of ints >= ``low``, as a list; else ValueError."""
    try:
        values = list(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if not values:
        raise ValueError(f"{name} must be non-empty, got {values!r}")
    for v in values:
        check_real(name, v, low=0.0, high=1.0) if real else check_int(name, v, min=low)
    return [float(v) for v in values] if real else [int(v) for v in values]


def _task(dataset: str, n_train: int, n_test: int, seed: int):
    if dataset == "synthetic":
        X, y = xiao_synthetic(n_train, seed=seed)
        Xt, yt = xiao_synthetic(n_test, seed=10_000 + seed)
        return X, y, Xt, yt
    X, y, Xt, yt = digits_pair(1, 7, seed=seed)
    return X[:n_train], y[:n_train], Xt, yt


def flip_rate_curves(
    rates: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3),
    seeds: Sequence[int] | None = None,
    scale: str = "cpu",
    *,
    dataset: str = "digits",
    kernel: str = "linear",
    C: float = 1.0,
    gamma: float | str = "scale",
    k: int = 10,
    eta: float = 0.5,
    n_train: int | None = None,
) -> list[dict]:
    """Accuracy of an SVM (scikit-learn's SVC, ``kernel``, ``C``, ``gamma``) trained on labels flipped
    at each of ``rates``, by random flips and by ALFA with the same number of flips
    (round(rate * N)), each with and without k-NN sanitisation (``k``, ``eta``), measured on clean
    test labels; one training set per seed (``seeds``: default ``at_scale(scale, cpu=range(5),
    gpu=range(20))``).

    ``dataset``: ``"digits"`` (:func:`digits_pair` 1 vs 7, a new random half for training per seed;
    N = ``n_train`` or all of that half, about 180) or ``"synthetic"`` (:func:`xiao_synthetic`'s linear
    pattern; N = ``n_train`` or ``at_scale(scale, cpu=100, gpu=300)``, 2,000 test points). Rows:
    ``{"dataset", "attack": "random"|"alfa", "defence": "none"|"knn", "rate", "seed", "flips",
    "wrong_labels" (training labels still wrong after the defence), "accuracy", "error"}``.
    """
    check_choice("scale", scale, ("cpu", "gpu"))
    seeds = at_scale(scale, cpu=range(5), gpu=range(20)) if seeds is None else seeds
    rates, seeds = _grid("rates", rates, real=True), _grid("seeds", seeds)
    check_choice("dataset", dataset, DATASETS)
    if n_train is None:
        n_train = at_scale(scale, cpu=100, gpu=300) if dataset == "synthetic" else 10_000
    check_int("n_train", n_train, min=k + 1)
    svm(kernel, C, gamma)  # validates the SVM's settings once
    rows = []
    for seed in seeds:
        X, y, Xt, yt = _task(dataset, n_train, 2000, seed)
        for rate in rates:
            flips = int(round(rate * len(y)))
            attacked = {"random": random_flips(y, rate, seed),
                        "alfa": alfa(X, y, flips, kernel=kernel, C=C, gamma=gamma, seed=seed)}
            for attack, labels in attacked.items():
                for defence in ("none", "knn"):
                    used = labels if defence == "none" else knn_sanitise(X, labels, k, eta)
                    acc = float((svm(kernel, C, gamma).fit(X, used).predict(Xt) == yt).mean()) \
                        if len(np.unique(used)) == 2 else float((yt == used[0]).mean())  # one class left
                    rows.append({"dataset": dataset, "attack": attack, "defence": defence, "rate": rate,
                                 "seed": seed, "flips": flips, "wrong_labels": int((used != y).sum()),
                                 "accuracy": acc, "error": 1.0 - acc})
    return rows


def noise_absorption(
    rates: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9),
    seeds: Sequence[int] | None = None,
    scale: str = "cpu",
    *,
    smoothing: Sequence[float] = (0.0, 0.1),
    checkpoints: Sequence[int] | None = None,
    hidden: int = 64,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    device: str | torch.device | None = None,
) -> list[dict]:
    """How much random label noise a small network absorbs on the ten digit classes, early in
    training and after it has had time to memorise.

    For each seed (default ``at_scale(scale, cpu=(0,), gpu=(0, 1, 2, 3, 4))``): a random half of
    scikit-learn's digits (pixels / 16) for training, the rest for
    testing; the training labels get :func:`~.flipping.random_flips` at each of ``rates`` (each flipped
    label uniformly one of the 9 others); an MLP 64 -> ``hidden`` -> 10 is trained full-batch with Adam
    (``lr``, ``weight_decay``) on the label-smoothed cross-entropy
    (:func:`~.smoothing.smoothed_cross_entropy`) for each eps in ``smoothing`` (0: the plain
    cross-entropy), and measured after each number of steps in ``checkpoints`` (default
    ``at_scale(scale, cpu=(30, 150), gpu=(60, 400))``). Rows ``{"rate", "seed", "smoothing",
    "steps", "accuracy" (clean test labels), "fits_noise" (share of the flipped training labels the
    model reproduces: memorised noise; NaN at rate 0)}``. Runs on ``device`` (default CPU); seeded."""
    check_choice("scale", scale, ("cpu", "gpu"))
    seeds = at_scale(scale, cpu=(0,), gpu=(0, 1, 2, 3, 4)) if seeds is None else seeds
    rates, seeds = _grid("rates", rates, real=True), _grid("seeds", seeds)
    smoothing = _grid("smoothing", smoothing, real=True)
    checkpoints = sorted(_grid("checkpoints", at_scale(scale, cpu=(30, 150), gpu=(60, 400))
                               if checkpoints is None else checkpoints, low=1))
    check_int("hidden", hidden, min=1)
    check_real("lr", lr, low=0.0, low_open=True)
    check_real("weight_decay", weight_decay, low=0.0)
    device = torch.device("cpu" if device is None else device)
    half = len(_digits()[1]) // 2
    rows = []
    for seed in seeds:
        (X, y), _, (Xt, yt) = _to(device, *digits_split(seed, n_train=half, n_val=0))  # a random half to train on
        for rate in rates:
            noisy = random_flips(y, rate, seed, num_classes=10)
            flipped = noisy != y
            for eps in smoothing:
                torch.manual_seed(seed)
                model = MLP(64, (hidden,), 10).to(device)
                opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
                for step in range(1, checkpoints[-1] + 1):
                    opt.zero_grad()
                    logits = model(X)
                    loss = smoothed_cross_entropy(logits, noisy, eps)  # eps = 0: the plain cross-entropy
                    loss.backward()
                    opt.step()
                    if step in checkpoints:
                        with torch.no_grad():
                            acc = float((model(Xt).argmax(1) == yt).float().mean())
                            pred = model(X).argmax(1)
                        fits = float((pred[flipped] == noisy[flipped]).float().mean()) if bool(flipped.any()) else float("nan")
                        rows.append({"rate": rate, "seed": seed, "smoothing": eps, "steps": step, "accuracy": acc,
                                     "fits_noise": fits})
    return rows
