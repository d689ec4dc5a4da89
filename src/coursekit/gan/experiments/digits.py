"""A DCGAN (Radford, Metz & Chintala 2015, *Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks*, https://arxiv.org/abs/1511.06434) on
scikit-learn's 8x8 digits: snapshots over training, and the coverage of the ten classes as scored
by a logistic-regression classifier trained on real digits (its held-out accuracy is reported,
and the same measures on real held-out digits are the reference).

Legend: N samples, S snapshots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from ...train import History
from ...utils import at_scale, check_int, check_real, seed_everything
from ..data import load_digits_tensor
from ..models import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from ..training import generate, train_gan

__all__ = ["DigitsResult", "digits_dcgan"]


@dataclass(frozen=True)
class DigitsResult:
    """The DCGAN on digits. ``snapshots``: dicts with ``step``, ``images`` (n_show, 1, 8, 8) (the same
    noise every time), ``classes`` (n_show,) their predicted classes, and, on ``eval_samples`` fresh
    samples, ``histogram`` (10 shares), ``classes_covered`` and ``confident_share``; ``reference``:
    the same measures on real held-out digits; ``classifier_accuracy``: the classifier's held-out
    accuracy on real digits; ``history``: the GAN's History; ``seconds``: the wall time (classifier
    included)."""

    snapshots: list[dict[str, Any]]
    reference: dict[str, Any]
    classifier_accuracy: float
    history: History
    seconds: float


def _class_measures(probs: torch.Tensor, confidence: float, min_share: float) -> dict[str, Any]:
    """Class coverage of samples from the classifier's probabilities (N, 10): a sample is confident
    when its top probability is >= ``confidence``; a class is covered when at least ``min_share``
    of all samples are confidently assigned to it."""
    top, pred = probs.max(dim=1)  # (N,), (N,)
    sure = top >= confidence
    counts = torch.bincount(pred[sure], minlength=10).double()  # (10,)
    n = probs.shape[0]
    return {
        "histogram": [float(c) for c in torch.bincount(pred, minlength=10).double() / n],
        "classes_covered": int((counts >= min_share * n).sum()),
        "confident_share": float(sure.double().mean()),
    }


def digits_dcgan(
    seed: int = 0,
    scale: str = "cpu",
    *,
    steps: int | None = None,
    batch_size: int = 64,
    lr: float = 2e-4,
    config: DCGANConfig | None = None,
    eval_every: int | None = None,
    eval_samples: int = 500,
    n_show: int = 16,
    confidence: float = 0.8,
    min_share: float = 0.02,
    device: torch.device | str | None = None,
    progress: bool | None = False,
) -> DigitsResult:
    """A DCGAN on scikit-learn's digits (all 1,797 images, pixels in [-1, 1]) for ``steps`` (600
    cpu / 5000 gpu) with Adam (``lr``, beta1 0.5); every ``eval_every`` steps (default: a sixth of
    training) a snapshot. A multinomial logistic regression trained on a random 75% of the real
    digits (the rest held out: ``classifier_accuracy``) classifies the samples: a sample counts
    as confident when the classifier gives its class probability >= ``confidence``; a class is
    covered when >= ``min_share`` of the samples are confidently of that class."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    check_int("seed", seed, min=0)
    steps = at_scale(scale, cpu=600, gpu=5000) if steps is None else steps
    check_int("steps", steps, min=1)
    eval_every = max(1, steps // 6) if eval_every is None else eval_every
    for name, v in (("batch_size", batch_size), ("eval_every", eval_every), ("eval_samples", eval_samples),
                    ("n_show", n_show)):
        check_int(name, v, min=1)
    check_real("lr", lr, low=0.0, low_open=True)
    check_real("confidence", confidence, low=0.0, high=1.0)
    check_real("min_share", min_share, low=0.0, high=1.0)
    config = DCGANConfig() if config is None else config
    if not isinstance(config, DCGANConfig):
        raise ValueError(f"config must be a DCGANConfig, got {type(config).__name__}")
    t0 = time.perf_counter()
    images, labels = load_digits_tensor()  # (1797, 1, 8, 8) in [-1, 1], (1797,)
    flat = images.reshape(len(images), 64).numpy()
    x_tr, x_te, y_tr, y_te = train_test_split(flat, labels.numpy(), test_size=0.25, random_state=seed,
                                              stratify=labels.numpy())
    clf = LogisticRegression(max_iter=1000).fit(x_tr, y_tr)
    accuracy = float(clf.score(x_te, y_te))

    def probs_of(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(clf.predict_proba(x.detach().cpu().reshape(len(x), 64).double().numpy()))

    reference = _class_measures(probs_of(torch.from_numpy(x_te)), confidence, min_share)
    seed_everything(seed)
    G, D = DCGANGenerator(config), DCGANDiscriminator(config)
    if device is not None:
        G, D = G.to(device), D.to(device)
    snaps: list[dict[str, Any]] = []

    def measure(gen: torch.nn.Module) -> dict[str, float]:
        shown = generate(gen, n_show, seed=seed + 70_000).cpu()  # (n_show, 1, 8, 8): the same noise every time
        x = generate(gen, eval_samples, seed=seed + 80_000 + len(snaps)).cpu()  # (eval_samples, 1, 8, 8)
        m = _class_measures(probs_of(x), confidence, min_share)
        snaps.append({"images": shown, "classes": probs_of(shown).argmax(1), **m})
        return {"classes_covered": m["classes_covered"], "confident_share": m["confident_share"]}

    measure(G)  # the snapshot before training (generate samples in eval mode, without gradients)

    def sample_real(n: int, g: torch.Generator) -> torch.Tensor:
        return images[torch.randint(len(images), (n,), generator=g)]  # (n, 1, 8, 8)

    history = train_gan(G, D, sample_real, steps, seed=seed, batch_size=batch_size, lr=lr, eval_fn=measure,
                        eval_every=eval_every, log_every=10, progress=progress, desc="DCGAN")
    steps_seen = [0] + [r["step"] for r in history.rows if r["split"] == "eval"]
    snapshots = [dict(s, step=t) for s, t in zip(snaps, steps_seen)]
    return DigitsResult(snapshots=snapshots, reference=reference, classifier_accuracy=accuracy, history=history,
                        seconds=time.perf_counter() - t0)
