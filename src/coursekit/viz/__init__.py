"""Charts every chapter reuses, as Altair (Vega-Lite) specs that stay interactive
in the static book, plus bertviz views (bertviz is imported only inside them).

- :mod:`coursekit.viz.core`: attention heatmaps and explorers, training curves,
  metric-by-length lines, bars, bertviz cross-attention (chapters 1-2 onwards).
- :mod:`coursekit.viz.text`: documents highlighted by word and sentence
  attention (chapter 3).
- :mod:`coursekit.viz.selfattn`: the softmax-temperature explorer and the
  bertviz head view of self-attention (chapter 4).
- :mod:`coursekit.viz.schedules`: positional encodings and the warm-up
  schedule on sliders (chapter 5).

Import the names from here or from the submodule:
``from coursekit.viz import attention_explorer``.
"""

from . import core, schedules, selfattn, text
from .core import *  # noqa: F401,F403
from .schedules import *  # noqa: F401,F403
from .selfattn import *  # noqa: F401,F403
from .text import *  # noqa: F401,F403

__all__ = [*core.__all__, *text.__all__, *selfattn.__all__, *schedules.__all__]
