"""Chapter 13: label smoothing and label flipping.

- :mod:`.smoothing`: smoothed targets and the smoothed cross-entropy (Szegedy et al. 2016;
  Müller et al. 2019), equal to torch's ``CrossEntropyLoss(label_smoothing=eps)``.
- :mod:`.calibration`: reliability-diagram bins, the expected calibration error and temperature
  scaling (Guo et al. 2017; Naeini et al. 2015).
- :mod:`.smoothing_experiments`: Müller et al.'s (2019) experiments at toy scale: calibration
  with and without smoothing beside temperature scaling, the penultimate-layer picture, the
  distillation penalty (import from the submodule: not re-exported here).
- :mod:`.flipping`: random label flips, the ALFA attack on an SVM (Xiao et al. 2012), k-NN label
  sanitisation (Paudice et al. 2018); :mod:`.flipping_experiments` runs them.

Legend: N examples, K classes, M bins, D penultimate width.
"""

from . import calibration, flipping, smoothing
from .calibration import *  # noqa: F401,F403
from .flipping import *  # noqa: F401,F403
from .smoothing import *  # noqa: F401,F403

__all__ = [name for module in (smoothing, calibration, flipping) for name in module.__all__]
