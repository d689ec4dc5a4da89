"""The optimal discriminator measured: Goodfellow et al. (2014), *Generative Adversarial Nets*,
https://arxiv.org/abs/1406.2661, Sec. 4.1: for a fixed generator distribution, a discriminator
trained to convergence matches D*(x) = p_data / (p_data + p_g) (Proposition 1); at p_g = p_data
it is 1/2 everywhere and the value of the game is -log 4 (Theorem 1).

Legend: G grid points, N samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ...utils import at_scale, check_int, check_real
from ..data import Mixture1D
from ..models import MLPDiscriminator, MLPDiscriminatorConfig
from ..theory import fit_discriminator, optimal_discriminator, value_estimate, value_exact

__all__ = ["DStarResult", "dstar_experiment"]


@dataclass(frozen=True)
class DStarResult:
    """The D* experiment. On ``grid`` (G,): the densities ``p_data`` and ``p_g``, the trained
    discriminator ``d_trained`` and the closed form ``d_star``; ``mask`` where p_data + p_g is at
    least ``floor`` times its maximum (elsewhere no example lands and any D is optimal);
    ``max_gap`` = max |d_trained - d_star| on the mask, ``mean_gap`` its average weighted by the
    mixture (p_data + p_g) / 2 over the whole grid; ``value`` the Monte Carlo V(D, G) of the
    trained D on fresh batches and ``value_exact`` = V(D*, G) by quadrature. At p_g = p_data:
    ``d_equal`` (G,) the trained D, ``equal_max_dev`` = max |d_equal - 1/2| on the equal case's
    mask, ``equal_value`` its Monte Carlo V (close to -log 4 = ``-LOG4``) and ``equal_value_exact``
    (V(1/2, G) = -log 4 up to quadrature). ``seconds``: the wall time."""

    grid: torch.Tensor
    p_data: torch.Tensor
    p_g: torch.Tensor
    d_trained: torch.Tensor
    d_star: torch.Tensor
    mask: torch.Tensor
    max_gap: float
    mean_gap: float
    value: float
    value_exact: float
    d_equal: torch.Tensor
    equal_mask: torch.Tensor
    equal_max_dev: float
    equal_value: float
    equal_value_exact: float
    seconds: float


def dstar_experiment(
    scale: str = "cpu",
    *,
    p_data: Mixture1D = Mixture1D(),
    p_g: Mixture1D = Mixture1D((0.0,), (1.25,), (1.0,)),
    steps: int | None = None,
    width: int = 64,
    lr: float = 3e-3,
    points: int = 201,
    span: tuple[float, float] = (-4.0, 4.0),
    floor: float = 0.1,
    value_samples: int = 20000,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> DStarResult:
    """Train a discriminator (an MLP on 1-D inputs, ``width`` units, two hidden layers) to
    convergence against a FIXED generator distribution ``p_g`` (fresh batches every step, so no
    finite training set to overfit), compare it with D* on a grid of ``points`` over ``span``;
    then the same with p_g = p_data. ``steps`` defaults to 600 (cpu) / 4000 (gpu) Adam steps
    (learning rate ``lr``) of batch 256 each; ``value_samples`` fresh samples of each
    distribution estimate V."""
    for m, name in ((p_data, "p_data"), (p_g, "p_g")):
        if not isinstance(m, Mixture1D):
            raise ValueError(f"{name} must be a coursekit.gan.Mixture1D, got {type(m).__name__}")
    steps = at_scale(scale, cpu=600, gpu=4000) if steps is None else steps
    check_int("steps", steps, min=1)
    check_int("width", width, min=1)
    check_int("points", points, min=3)
    check_int("value_samples", value_samples, min=1)
    check_int("seed", seed, min=0)
    check_real("floor", floor, low=0.0, high=1.0, high_open=True)
    check_real("lr", lr, low=0.0, low_open=True)
    if not (isinstance(span, (tuple, list)) and len(span) == 2 and span[0] < span[1]):
        raise ValueError(f"span must be a pair (low, high) with low < high, got {span!r}")
    t0 = time.perf_counter()
    grid = torch.linspace(float(span[0]), float(span[1]), points)  # (G,)

    def one(fake: Mixture1D, run_seed: int):
        torch.manual_seed(run_seed)
        disc = MLPDiscriminator(MLPDiscriminatorConfig(data_dim=1, width=width, depth=2))
        if device is not None:
            disc = disc.to(device)
        fitted = fit_discriminator(disc, p_data.sample, fake.sample, steps, grid=grid, lr=lr, seed=run_seed)
        g = torch.Generator().manual_seed(run_seed + 10_000)
        real, gen = p_data.sample(value_samples, g), fake.sample(value_samples, g)
        dev = next(disc.parameters()).device
        v = value_estimate(disc, real.to(dev), gen.to(dev))
        pd, pg = p_data.density(grid), fake.density(grid)
        total = pd + pg
        mask = total >= floor * total.max()
        return fitted.d, pd, pg, mask, v

    d, pd, pg, mask, v = one(p_g, seed)
    d_star = optimal_discriminator(pd, pg)
    d_eq, _, _, mask_eq, v_eq = one(p_data, seed + 1)
    return DStarResult(
        grid=grid, p_data=pd, p_g=pg, d_trained=d, d_star=d_star, mask=mask,
        max_gap=float((d - d_star).abs()[mask].max()),
        mean_gap=float(torch.trapezoid((d - d_star).abs() * (pd + pg) / 2, grid) / torch.trapezoid((pd + pg) / 2, grid)),
        value=v, value_exact=value_exact(pd, pg, grid),
        d_equal=d_eq, equal_mask=mask_eq, equal_max_dev=float((d_eq - 0.5).abs()[mask_eq].max()),
        equal_value=v_eq, equal_value_exact=value_exact(pd, pd, grid),
        seconds=time.perf_counter() - t0,
    )
