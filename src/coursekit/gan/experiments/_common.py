"""Helpers shared by the ring experiments of :mod:`coursekit.gan.experiments`: the seeds check
and the discriminator's steadiness over the last part of training (the measure
:func:`~coursekit.gan.experiments.tricks_ablation` reports beside VEEGAN's mode counts,
Srivastava et al. 2017, *VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational
Learning*, https://arxiv.org/abs/1705.07761).

Legend: E seeds.
"""

from __future__ import annotations

import math
import statistics

from ...train import History
from ...utils import check_int

__all__: list[str] = []  # private helpers only


def _check_seeds(seeds: object) -> list[int]:
    if not isinstance(seeds, (list, tuple, range)) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty list of ints, got {seeds!r}")
    for s in seeds:
        check_int("seeds", s, min=0)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {list(seeds)}")
    return [int(s) for s in seeds]


def _steadiness(history: History, tail: float) -> dict[str, float]:
    """How much D's logged loss, and D(real) - D(fake), move over the last ``tail`` of training
    (population standard deviations of the logged means), and their mean values there."""
    rows = [r for r in history.rows if r["split"] == "train"]
    late = rows[-max(2, math.ceil(tail * len(rows))):]
    gap = [r["d_real"] - r["d_fake"] for r in late]
    return {
        "d_std": statistics.pstdev([r["d_loss"] for r in late]),
        "d_gap_std": statistics.pstdev(gap),
        "d_loss": statistics.fmean([r["d_loss"] for r in late]),
        "d_gap": statistics.fmean(gap),
    }
