"""The chapter's data: a 1-D mixture with its exact density, the ring of eight Gaussians, and
scikit-learn's 8x8 digits scaled to [-1, 1].

The ring is the mode-collapse benchmark of Metz, Poole, Pfau & Sohl-Dickstein (2017), *Unrolled
Generative Adversarial Networks*, https://arxiv.org/abs/1611.02163 (their ring figure), reused by
Srivastava, Valkov, Russell, Gutmann & Sutton (2017), *VEEGAN: Reducing Mode Collapse in GANs
using Implicit Variational Learning*, https://arxiv.org/abs/1705.07761 (experiments, "2D Ring"). The
defaults (8 modes, radius 2, standard deviation 0.02, the first mode at angle 0 measured from the
y axis) are those of ``sample_mog(batch_size, n_mixture=8, std=0.02, radius=2.0)`` in public
repositories that say they copied Metz et al.'s reference notebook (poolio/unrolled_gan); the
stored version of that notebook, PacGAN's and GDPP's ring, and a ring snippet by VEEGAN's first
author use radius 1 and std 0.01 instead (the same picture up to scale: what matters is std /
spacing between modes). Which scale VEEGAN's Table 1 used is not known (see
``coursekit.gan.experiments.PUBLISHED_CHECKS``).

The digits (1,797 images, 8x8, 17 grey levels) ship inside scikit-learn (``load_digits``): no
download. Pixels 0..16 are mapped to [-1, 1] to match a tanh generator (Radford et al. 2015).

Legend: N samples, d data dimension, K modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..utils import check_int, check_real

__all__ = ["Mixture1D", "ring_centres", "sample_ring", "ring_sampler", "load_digits_tensor"]


@dataclass(frozen=True)
class Mixture1D:
    """A 1-D mixture of Gaussians with its exact density: ``means``, ``stds`` and ``weights``
    (tuples of the same length; the weights are normalised). The default is the two-bump
    mixture of the D* experiment."""

    means: tuple[float, ...] = (-2.0, 2.0)
    stds: tuple[float, ...] = (0.5, 0.5)
    weights: tuple[float, ...] = (0.5, 0.5)

    def __post_init__(self):
        for name in ("means", "stds", "weights"):
            value = getattr(self, name)
            if not isinstance(value, (tuple, list)) or len(value) == 0:
                raise ValueError(f"{name} must be a non-empty tuple of numbers, got {value!r}")
            object.__setattr__(self, name, tuple(float(v) for v in value))
        if not len(self.means) == len(self.stds) == len(self.weights):
            raise ValueError(
                f"means, stds and weights must have the same length, got {len(self.means)}, "
                f"{len(self.stds)} and {len(self.weights)}"
            )
        for s in self.stds:
            check_real("stds", s, low=0.0, low_open=True)
        for w in self.weights:
            check_real("weights", w, low=0.0)
        total = sum(self.weights)
        if total <= 0:
            raise ValueError(f"weights must sum to a positive number, got {self.weights!r}")
        object.__setattr__(self, "weights", tuple(w / total for w in self.weights))

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """p(x) at every entry of ``x`` (any shape, floating): sum_k w_k N(x; mu_k, sigma_k^2)."""
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValueError(f"x must be a floating torch.Tensor, got {type(x).__name__}")
        p = torch.zeros_like(x)
        for m, s, w in zip(self.means, self.stds, self.weights):
            p = p + w * torch.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        return p

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples, shape (N, 1) float32."""
        check_int("n", n, min=1)
        k = torch.multinomial(torch.tensor(self.weights), n, replacement=True, generator=generator)
        mu, sd = torch.tensor(self.means)[k], torch.tensor(self.stds)[k]
        return (mu + sd * torch.randn(n, generator=generator)).unsqueeze(1)  # (N, 1)


def ring_centres(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The ``modes`` centres (K, 2), equally spaced on a circle of ``radius``, the first at
    (0, radius) (``(radius sin t, radius cos t)`` as in public ``sample_mog`` code, t = 2 pi k / K)."""
    check_int("modes", modes, min=1)
    check_real("radius", radius, low=0.0, low_open=True)
    t = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([torch.sin(t), torch.cos(t)], dim=1)).float()  # (K, 2)


def sample_ring(
    n: int, *, modes: int = 8, radius: float = 2.0, std: float = 0.02, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples of the ring of Gaussians and the index of the mode each came from:
    ((N, 2) float32, (N,) long). Modes are equally likely."""
    check_int("n", n, min=1)
    check_real("std", std, low=0.0, low_open=True)
    centres = ring_centres(modes, radius)
    k = torch.randint(modes, (n,), generator=generator)
    return centres[k] + std * torch.randn(n, 2, generator=generator), k


def ring_sampler(*, modes: int = 8, radius: float = 2.0, std: float = 0.02):
    """``sample_real(n, generator) -> (N, 2)`` for :func:`coursekit.gan.train_gan`."""
    check_real("std", std, low=0.0, low_open=True)
    centres = ring_centres(modes, radius)  # computed once: this runs every training step

    def sample_real(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        k = torch.randint(modes, (n,), generator=generator)
        return centres[k] + std * torch.randn(n, 2, generator=generator)  # the draws of sample_ring

    return sample_real


def load_digits_tensor() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits as ((N, 1, 8, 8) float32 in [-1, 1], (N,) long labels), N = 1797.

    The pixels are 0..16; x / 8 - 1 maps them onto [-1, 1] (0 -> -1, 16 -> 1)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(digits.images.astype(np.float32)) / 8.0 - 1.0  # (N, 8, 8)
    return images.unsqueeze(1), torch.from_numpy(digits.target.astype(np.int64))
