"""Chapter 12's experiments, each a function of its seeds and a ``scale`` ("cpu" or "gpu", see
:func:`coursekit.utils.at_scale`): the optimal discriminator measured, mode collapse on the ring,
the training tricks ablated over seeds, and a DCGAN on scikit-learn's digits. One module per
experiment: :mod:`.dstar`, :mod:`.ring` (with the ablation and the live trainer's
:func:`ring_run`), :mod:`.digits`, :mod:`.published`; this package re-exports them all.

- :func:`dstar_experiment`: Goodfellow et al. (2014), *Generative Adversarial Nets*,
  https://arxiv.org/abs/1406.2661, Sec. 4.1: for a fixed generator distribution, a discriminator
  trained to convergence matches D*(x) = p_data / (p_data + p_g) (Proposition 1); at p_g = p_data
  it is 1/2 everywhere and the value of the game is -log 4 (Theorem 1).
- :func:`ring_experiment`: a plain GAN on the ring of eight Gaussians (Metz et al. 2017, *Unrolled
  Generative Adversarial Networks*, https://arxiv.org/abs/1611.02163, their ring figure), per seed, with
  the minimax and the non-saturating generator loss; snapshots of the samples for the slider and
  VEEGAN's measures (Srivastava et al. 2017, https://arxiv.org/abs/1705.07761, experiments on synthetic data): modes
  captured and the share of high-quality samples (:func:`coursekit.gan.mode_coverage`).
- :func:`tricks_ablation`: label flipping, one-sided label smoothing (Salimans et al. 2016,
  *Improved Techniques for Training GANs*, https://arxiv.org/abs/1606.03498, Sec. 3.4), batch norm
  (Radford et al. 2015), the minibatch standard-deviation feature (Karras et al. 2018, *Progressive
  Growing of GANs*, https://arxiv.org/abs/1710.10196, Sec. 3) or minibatch discrimination
  (Salimans et al. 2016, Sec. 3.2), each against the plain GAN on the same seeds; per seed the
  modes covered, the high-quality share AND the discriminator's steadiness (the standard deviation
  of its logged loss, and of D(real) - D(fake), over the last quarter of training), so that a
  trick that only steadies D is told from one that cures collapse.
- :func:`digits_dcgan`: a DCGAN (Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434)
  on scikit-learn's 8x8 digits: snapshots over training, and the coverage of the ten classes as
  scored by a logistic-regression classifier trained on real digits (its held-out accuracy is
  reported, and the same measures on real held-out digits are the reference).
- :data:`PUBLISHED`: the ring and grid numbers of VEEGAN's Table 1 (typed from memory, NOT re-read:
  every row carries ``verified`` False), with the metric definitions (verified) and
  :data:`PUBLISHED_CHECKS`, what was checked where.

Seeds: run e of an arm builds its networks after ``torch.manual_seed(seeds[e])`` and draws its
batches from a generator seeded ``seeds[e]``; the seeds of one arm train together as one ensemble
(:func:`coursekit.gan.train_gan_seeds`), so every arm sees the same initial weights per seed.

Legend: E seeds, N samples, K modes, G grid points, S snapshots.
"""

from __future__ import annotations

from . import digits, dstar, published, ring
from ._common import _check_seeds, _steadiness  # noqa: F401 (tests use them)
from .digits import *  # noqa: F401,F403
from .digits import _class_measures  # noqa: F401 (tests use it)
from .dstar import *  # noqa: F401,F403
from .published import *  # noqa: F401,F403
from .ring import *  # noqa: F401,F403

__all__ = [
    "PUBLISHED",
    "PUBLISHED_METRICS",
    "PUBLISHED_CHECKS",
    "published_reference",
    "TRICKS",
    "COLLAPSE_MAX_MODES",
    "REACH_MIN_HQ",
    "VEEGAN_MIN_COUNT",
    "run_outcome",
    "DStarResult",
    "dstar_experiment",
    "RingSettings",
    "RingResult",
    "ring_experiment",
    "AblationResult",
    "tricks_ablation",
    "ring_run",
    "DigitsResult",
    "digits_dcgan",
]
