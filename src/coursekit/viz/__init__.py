"""Charts every chapter reuses, as Altair (Vega-Lite) specs that stay interactive
in the static book, plus bertviz views (bertviz is imported only inside them).

- :mod:`coursekit.viz.alignment`: attention heatmaps and the alignment explorer
  (chapters 2 and 5).
- :mod:`coursekit.viz.curves`: training curves, metric-by-length lines and
  bars (chapters 1-5).
- :mod:`coursekit.viz.headview`: bertviz's head view of cross-attention
  (chapter 2).
- :mod:`coursekit.viz.text`: documents highlighted by word and sentence
  attention (chapter 3).
- :mod:`coursekit.viz.selfattn`: the softmax-temperature explorer and the
  bertviz head view of self-attention (chapter 4).
- :mod:`coursekit.viz.schedules`: positional encodings and the warm-up
  schedule on sliders (chapter 5).

Shared by all of them: ``_inputs`` (tensors, arrays and lists checked and
converted once; a bad shape raises ValueError naming what was expected and
what was received) and ``_style`` (sizes, colours, token axes). Data reach
Altair as lists of dicts (``alt.Data(values=...)``, no pandas) with explicit
encoding types, and no chart calls ``.configure_*``, so a notebook can still
layer or concatenate them. The interactions are Vega-Lite parameters and
selections, which work in the static book with no kernel; the specs validate
with Altair 5.5 (Vega-Lite 5, Colab's) and Altair 6 (Vega-Lite 6).

Import the names from here or from the submodule:
``from coursekit.viz import attention_explorer``.
"""

from . import alignment, curves, headview, schedules, selfattn, text
from .alignment import *  # noqa: F401,F403
from .curves import *  # noqa: F401,F403
from .headview import *  # noqa: F401,F403
from .schedules import *  # noqa: F401,F403
from .selfattn import *  # noqa: F401,F403
from .text import *  # noqa: F401,F403

__all__ = [*alignment.__all__, *curves.__all__, *headview.__all__, *text.__all__, *selfattn.__all__, *schedules.__all__]
