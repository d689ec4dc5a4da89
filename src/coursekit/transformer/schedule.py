"""The Transformer's learning-rate schedule: linear warm-up, then inverse square root decay.

Vaswani et al. (2017), https://arxiv.org/abs/1706.03762, Sec. 5.3, Eq. 3:

    lrate = d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)

with step counted from 1 and warmup_steps = 4000 in the paper. The rate grows
linearly for warmup_steps steps, peaks at step = warmup_steps with
``(d_model * warmup_steps)^-0.5``, then decays as 1/sqrt(step).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..utils import check_positive

__all__ = ["warmup_lr", "WarmupSchedule", "warmup_scheduler"]


def warmup_lr(step: int, d_model: int, warmup_steps: int) -> float:
    """Eq. 3 at optimiser step ``step`` (1, 2, ...)."""
    check_positive("step", step)
    check_positive("d_model", d_model)
    check_positive("warmup_steps", warmup_steps)
    return d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)


@dataclass(frozen=True)
class WarmupSchedule:
    """Eq. 3 as a ``torch.optim.lr_scheduler.LambdaLR`` factor (times ``scale``).

    LambdaLR calls it with 0 before the first optimiser step, so ``factor(k)`` is
    Eq. 3 at paper step k + 1. LambdaLR multiplies the optimiser's ``lr`` by the
    factor: give the optimiser ``lr=1.0`` to get the paper's rates. A callable
    object rather than a lambda, so the scheduler's state_dict can save it.
    """

    d_model: int
    warmup_steps: int = 4000  # paper: 4000
    scale: float = 1.0  # paper: 1.0; >1 for the short runs of a toy model

    def __post_init__(self):
        check_positive("d_model", self.d_model)
        check_positive("warmup_steps", self.warmup_steps)
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale!r}")

    def __call__(self, step: int) -> float:
        return self.scale * warmup_lr(step + 1, self.d_model, self.warmup_steps)


def warmup_scheduler(
    optimizer: torch.optim.Optimizer, d_model: int, warmup_steps: int = 4000, scale: float = 1.0
) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR that follows Eq. 3 (times ``scale``), for ``train.fit(scheduler=...)``.

    Every parameter group's ``lr`` is set to 1.0 first, so the rate is exactly the schedule's.
    """
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] = 1.0
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupSchedule(d_model, warmup_steps, scale))
