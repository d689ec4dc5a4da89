"""Mode collapse on a mixture of Gaussians, measured the usual way.

Srivastava, Valkov, Russell, Gutmann & Sutton (2017), *VEEGAN: Reducing Mode Collapse in GANs
using Implicit Variational Learning*, https://arxiv.org/abs/1705.07761, experiments on the 2D ring
and grid (where VEEGAN's authors also score GAN, ALI and the unrolled GAN of Metz et al. 2017,
https://arxiv.org/abs/1611.02163, the same way): a sample is *high quality* if it lies within three standard deviations of the nearest mode; the
*number of modes captured* is the number of mixture components whose mean is nearest to at least
one high-quality sample; the share of high-quality samples measures sample quality; 2,500
samples per trained model, averaged over five runs.

Here ``min_count`` (default 1, VEEGAN's) raises the bar for a mode to count (some papers ask for
more samples per mode); ``threshold`` is the 3 of "three standard deviations" (Euclidean distance
<= threshold * std; a real 2-D sample passes with probability 1 - exp(-threshold^2 / 2), 98.9% at 3).

Legend: E runs, N samples, K modes, d data dimension.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Callable

import torch
from torch import nn

from ..utils import check_int, check_real, check_tensor
from .training import generate

__all__ = ["ModeCoverage", "mode_coverage", "mode_eval"]


@dataclass(frozen=True)
class ModeCoverage:
    """One run: ``modes`` captured (int), ``high_quality`` share of the samples (in [0, 1]),
    ``counts`` of high-quality samples nearest to each mode (K ints)."""

    modes: int
    high_quality: float
    counts: tuple[int, ...]

    def as_dict(self) -> dict[str, float]:
        """``{"modes": ..., "high_quality": ...}``, e.g. for an ``eval_fn``."""
        return {"modes": self.modes, "high_quality": self.high_quality}


def mode_coverage(
    samples: torch.Tensor,
    centres: torch.Tensor,
    std: float,
    *,
    threshold: float = 3.0,
    min_count: int = 1,
) -> ModeCoverage | list[ModeCoverage]:
    """VEEGAN's metrics for ``samples`` (N, d) against the mode ``centres`` (K, d) of a mixture
    whose components have standard deviation ``std``; samples (E, N, d) give one
    :class:`ModeCoverage` per run (a list)."""
    check_tensor("centres", centres, shape=("K", "d"), dtype="float")
    check_real("std", std, low=0.0, low_open=True)
    check_real("threshold", threshold, low=0.0, low_open=True)
    check_int("min_count", min_count, min=1)
    d = centres.shape[1]
    if isinstance(samples, torch.Tensor) and samples.dim() == 3:
        check_tensor("samples", samples, shape=(None, "N", d), dtype="float")
        return [mode_coverage(s, centres, std, threshold=threshold, min_count=min_count) for s in samples]
    check_tensor("samples", samples, shape=("N", d), dtype="float")
    K = centres.shape[0]
    dist = torch.cdist(samples.detach().double(), centres.to(samples.device).double())  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)  # (N,)
    good = nearest_dist <= threshold * std  # (N,)
    counts = torch.bincount(nearest[good], minlength=K)  # (K,)
    return ModeCoverage(
        modes=int((counts >= min_count).sum()),
        high_quality=float(good.double().mean()) if samples.shape[0] else 0.0,
        counts=tuple(int(c) for c in counts),
    )


def mode_eval(
    centres: torch.Tensor, std: float, *, n: int = 2500, seed: int = 0, threshold: float = 3.0, min_count: int = 1
) -> Callable[[nn.Module], dict[str, float | list[float]]]:
    """An ``eval_fn`` for :func:`coursekit.gan.train_gan` / ``train_gan_seeds``: draws ``n``
    samples (VEEGAN: 2,500) with noise seeded ``seed`` and returns ``{"modes": ...,
    "high_quality": ...}`` (one number each, or E numbers for an ensemble)."""
    check_int("n", n, min=1)
    check_tensor("centres", centres, shape=("K", None), dtype="float")

    def eval_fn(generator: nn.Module) -> dict[str, float | list[float]]:
        result = mode_coverage(generate(generator, n, seed=seed), centres, std, threshold=threshold, min_count=min_count)
        if isinstance(result, ModeCoverage):
            return result.as_dict()
        return {"modes": [r.modes for r in result], "high_quality": [r.high_quality for r in result]}

    return eval_fn
