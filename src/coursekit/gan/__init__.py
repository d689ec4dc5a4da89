"""Generative adversarial networks (Chapter 12), each part with its paper:

- :mod:`.data`: a 1-D mixture with its exact density, the ring of eight Gaussians (Metz et al.
  2017; Srivastava et al. 2017), scikit-learn's 8x8 digits in [-1, 1].
- :mod:`.models`: MLP generator / discriminator for 1-D and 2-D data, a small DCGAN for 8x8
  digits (Radford et al. 2015), ensembles of seeds (:func:`stack_models`, :func:`member`).
- :mod:`.losses`: D's loss with one-sided label smoothing and label flipping (Salimans et al.
  2016), G's minimax and non-saturating losses (Goodfellow et al. 2014).
- :mod:`.tricks`: minibatch standard deviation (Karras et al. 2018), minibatch discrimination
  (Salimans et al. 2016), the per-seed layers.
- :mod:`.training`: ``train_gan`` / ``train_gan_seeds`` on coursekit.train's conventions.
- :mod:`.theory`: D* = p_data / (p_data + p_g), the value of the game, -log 4 (Goodfellow et al. 2014).
- :mod:`.metrics`: modes captured and the share of high-quality samples (VEEGAN's definition).

Legend: E members (seeds), B batch, Z noise dimension, d data dimension, K modes, N samples.
"""

from . import data, losses, metrics, models, theory, training, tricks
from .data import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .theory import *  # noqa: F401,F403
from .training import *  # noqa: F401,F403
from .tricks import *  # noqa: F401,F403

__all__ = [name for module in (data, models, losses, tricks, training, theory, metrics) for name in module.__all__]
