"""Charts every chapter reuses, as Altair (Vega-Lite) specs that stay interactive
in the static book, plus bertviz views.

- :mod:`coursekit.viz.core`: attention heatmaps and explorers, training curves,
  metric-by-length lines, bars, bertviz cross-attention (chapters 1-2 onwards).

Import the names from here: ``from coursekit.viz import attention_explorer``.
"""

from .core import *  # noqa: F401,F403
from .core import __all__ as _core_all

__all__ = [*_core_all]
