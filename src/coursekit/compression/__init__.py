"""Compression of a fine-tuned BERT, each method a function with its paper (Chapter 10):

- :mod:`.pruning`: magnitude pruning, global or per layer (Han et al. 2015; Gordon et al. 2020).
- :mod:`.heads`: gates on attention heads, Michel et al.'s (2019) importance, pruning heads.
- :mod:`.lowrank`: truncated-SVD factorisation of attention and FFN matrices.
- :mod:`.distill`: DistilBERT's student initialisation and triple loss (Sanh et al. 2019;
  Hinton et al. 2015).
- :mod:`.sharing`: ALBERT's cross-layer sharing (Lan et al. 2020).
- :mod:`.quantize`: symmetric per-channel fake int8 / int4, torch's dynamic int8 (Jacob et al.
  2018; Zafrir et al. 2019).
- :mod:`.measure`: parameters, bytes, accuracy, CPU latency.
- :mod:`.experiments`: the chapter's runs on one tiny fine-tuned BERT, the results table and its
  Pareto front.

Legend: B batch, T tokens, L layers, A heads, H hidden size, N examples.
"""

from . import distill, experiments, heads, lowrank, measure, pruning, quantize, sharing
from .distill import *  # noqa: F401,F403
from .experiments import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .lowrank import *  # noqa: F401,F403
from .measure import *  # noqa: F401,F403
from .pruning import *  # noqa: F401,F403
from .quantize import *  # noqa: F401,F403
from .sharing import *  # noqa: F401,F403

__all__ = [name for module in (pruning, heads, lowrank, distill, sharing, quantize, measure, experiments)
           for name in module.__all__]
