"""The theory of the GAN game, measured on 1-D densities.

Goodfellow et al. (2014), *Generative Adversarial Nets*, https://arxiv.org/abs/1406.2661, Sec. 4.1:
Proposition 1: for a fixed G, the optimal discriminator is D*_G(x) = p_data(x) / (p_data(x) +
p_g(x)). Theorem 1: the virtual training criterion C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data ||
p_g), so its global minimum -log 4 is reached if and only if p_g = p_data, where D* = 1/2
everywhere.

:func:`optimal_discriminator`, :func:`value_exact` and :func:`jensen_shannon` compute these on a
grid (trapezoid rule); :func:`fit_discriminator` trains a discriminator against a FIXED sample
distribution with :func:`coursekit.train.fit` and returns its curve D(x) on the grid, to be
compared with D*; :func:`value_estimate` is the Monte Carlo V(D, G) of two batches.

Legend: N grid points, B batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..train import History, fit
from ..utils import check_int, check_positive, check_real, check_tensor, eval_mode
from .losses import discriminator_loss

__all__ = [
    "LOG4",
    "optimal_discriminator",
    "value_exact",
    "value_estimate",
    "jensen_shannon",
    "DiscriminatorFit",
    "fit_discriminator",
]

LOG4 = math.log(4.0)  # -V at the global optimum (Theorem 1)


def _check_densities(p_data: torch.Tensor, p_g: torch.Tensor) -> None:
    check_tensor("p_data", p_data, dtype="float")
    check_tensor("p_g", p_g, shape=tuple(p_data.shape), dtype="float")
    if bool((p_data < 0).any()) or bool((p_g < 0).any()):
        raise ValueError("p_data and p_g must be densities (no negative values)")


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data / (p_data + p_g), elementwise (Proposition 1); 1/2 where both are 0
    (any D is optimal there: no example ever lands on such an x)."""
    _check_densities(p_data, p_g)
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(torch.finfo(total.dtype).tiny), 0.5)


def _check_grid(grid: torch.Tensor, n: int) -> None:
    check_tensor("grid", grid, shape=(n,), dtype="float")
    if n < 2 or not bool((grid[1:] > grid[:-1]).all()):
        raise ValueError("grid must be an increasing 1-d tensor of at least 2 points")


def value_exact(p_data: torch.Tensor, p_g: torch.Tensor, grid: torch.Tensor, d: torch.Tensor | None = None) -> float:
    """V(D, G) = integral of p_data log D + p_g log(1 - D) over ``grid`` (trapezoid rule), with
    ``d`` = D on the grid (default: D*, giving C(G) = -log 4 + 2 JSD). All (N,) tensors."""
    _check_densities(p_data, p_g)
    check_tensor("p_data", p_data, shape=("N",))
    _check_grid(grid, p_data.shape[0])
    d = optimal_discriminator(p_data, p_g) if d is None else d
    check_tensor("d", d, shape=tuple(p_data.shape), dtype="float")
    integrand = torch.xlogy(p_data, d) + torch.xlogy(p_g, 1 - d)  # 0 log 0 = 0
    return float(torch.trapezoid(integrand, grid))


def jensen_shannon(p_data: torch.Tensor, p_g: torch.Tensor, grid: torch.Tensor) -> float:
    """JSD(p_data || p_g) in nats on ``grid`` (trapezoid rule): KL to the mixture, averaged."""
    _check_densities(p_data, p_g)
    _check_grid(grid, p_data.shape[0])
    m = (p_data + p_g) / 2
    kl = lambda p: torch.trapezoid(torch.xlogy(p, p) - torch.xlogy(p, m), grid)  # noqa: E731
    return float((kl(p_data) + kl(p_g)) / 2)


def value_estimate(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> float:
    """Monte Carlo V(D, G) = mean log D(real) + mean log(1 - D(fake)) (D in eval mode, no grad)."""
    with eval_mode(discriminator), torch.no_grad():
        return -float(discriminator_loss(discriminator(real), discriminator(fake)))


@dataclass(frozen=True)
class DiscriminatorFit:
    """A discriminator trained against fixed distributions: its probability ``d`` (N,) on ``grid``
    (N,), and the training History (``loss`` = mean BCE real + fake = -V on the batches)."""

    grid: torch.Tensor
    d: torch.Tensor
    history: History


def fit_discriminator(
    discriminator: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    sample_fake: Callable[[int, torch.Generator], torch.Tensor] | nn.Module,
    steps: int,
    *,
    grid: torch.Tensor,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    log_every: int = 50,
    progress: bool | None = False,
) -> DiscriminatorFit:
    """Train ``discriminator`` (1-D inputs (B, 1) -> logits (B,)) for ``steps`` Adam steps to
    tell ``sample_real`` from ``sample_fake`` (each ``(n, generator) -> (n, 1)``; or a FIXED
    generator module fed N(0, I) noise, never updated), and return its curve on ``grid`` (N,).
    Fresh batches every step (no finite training set to overfit): with enough capacity and
    steps the curve approaches D* = p_data / (p_data + p_g)."""
    check_positive("steps", steps)
    check_positive("batch_size", batch_size)
    check_real("lr", lr, low=0.0, low_open=True)
    check_int("seed", seed)
    check_tensor("grid", grid, shape=("N",), dtype="float")
    if not callable(sample_real):
        raise ValueError(f"sample_real must be a function (n, generator) -> (n, 1), got {type(sample_real).__name__}")
    gen = torch.Generator().manual_seed(seed)
    device = next(discriminator.parameters()).device
    if isinstance(sample_fake, nn.Module):
        fixed, nz = sample_fake, getattr(sample_fake, "noise_dim", None)
        if nz is None:
            raise ValueError("sample_fake as a module must have a noise_dim attribute (a generator)")

        def sample_fake(n: int, g: torch.Generator) -> torch.Tensor:
            with eval_mode(fixed), torch.no_grad():
                return fixed(torch.randn(n, nz, generator=g).to(device))
    elif not callable(sample_fake):
        raise ValueError(f"sample_fake must be a function or a generator module, got {type(sample_fake).__name__}")

    def batches(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return sample_real(batch_size, gen).to(device), sample_fake(batch_size, gen).to(device)

    def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return discriminator_loss(model(batch[0]), model(batch[1]))

    optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr)
    history = fit(discriminator, optimizer, batches, loss_fn, steps, log_every=log_every, clip_grad_norm=None,
                  progress=progress, desc="discriminator")
    with eval_mode(discriminator), torch.no_grad():
        d = torch.sigmoid(discriminator(grid.to(device).unsqueeze(1))).cpu()  # (N,)
    return DiscriminatorFit(grid=grid, d=d, history=history)
