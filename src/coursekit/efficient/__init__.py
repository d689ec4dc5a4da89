"""Efficient and sparse attention (Chapter 7), one small module per method:

- :mod:`.patterns`: attention patterns as boolean masks (full, causal, Sparse Transformer
  strided and fixed, sliding-window, LSH buckets) and :func:`pattern_mask` for the gallery;
- :mod:`.local`: blocked local (sliding-window) attention, memory O(n * w);
- :mod:`.lsh`: Reformer's angular LSH, multi-round LSH attention, and its recall;
- :mod:`.linear`: linear attention ("Transformers are RNNs"), parallel and recurrent;
- :mod:`.scaling`: time and peak memory against length, the crossover, the O(n^2) wall;
- :mod:`.transformer_xl`, :mod:`.pkm`, :mod:`.sparsemax`: see their section below.

Each module's docstring cites its paper. Masks: bool, True = may attend.
Legend: B batch, H heads, n (or T) length, Dh head width, Dv value width, w window.
"""

from . import linear, local, lsh, patterns, scaling

from .linear import *  # noqa: F401,F403
from .local import *  # noqa: F401,F403
from .lsh import *  # noqa: F401,F403
from .patterns import *  # noqa: F401,F403
from .scaling import *  # noqa: F401,F403

_MODULES = [patterns, local, lsh, linear, scaling]

# --- Transformer-XL, product-key memory, sparsemax/entmax ---
from . import pkm, sparsemax, transformer_xl  # noqa: E402

_MODULES += [transformer_xl, pkm, sparsemax]  # before the star imports: the function sparsemax replaces the module's name

from .pkm import *  # noqa: F401,F403,E402
from .sparsemax import *  # noqa: F401,F403,E402
from .transformer_xl import *  # noqa: F401,F403,E402
# --- end of that section ---

__all__ = [name for module in _MODULES for name in module.__all__]
