"""Chapter 13: label smoothing and label flipping.

- :mod:`.smoothing`: smoothed targets and the smoothed cross-entropy (Szegedy et al. 2016;
  Müller et al. 2019), equal to torch's ``CrossEntropyLoss(label_smoothing=eps)``.
- :mod:`.calibration`: reliability-diagram bins, the expected calibration error and temperature
  scaling (Guo et al. 2017; Naeini et al. 2015).
- :mod:`.smoothing_experiments`: Müller et al.'s (2019) experiments at toy scale: calibration
  with and without smoothing beside temperature scaling, the penultimate-layer picture, the
  distillation penalty.

Legend: N examples, K classes, M bins, D penultimate width.
"""

from . import calibration, smoothing
from .calibration import *  # noqa: F401,F403
from .smoothing import *  # noqa: F401,F403

__all__ = [name for module in (smoothing, calibration) for name in module.__all__]
