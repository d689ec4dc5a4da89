"""The Transformer (Chapter 5), one module per idea; GPT and BERT build on the same parts:

- :mod:`.positions`: sinusoidal, learned and rotary positions, each from any offset;
- :mod:`.norms`: LayerNorm and RMSNorm;
- :mod:`.ffn`: the feed-forward network, ReLU / GELU / GLU family (SwiGLU);
- :mod:`.block`: :class:`BlockConfig`, the pre-/post-norm residual :class:`Block`
  (bidirectional or causal) and the :class:`CrossAttentionBlock` of the 2017 decoder;
- :mod:`.stack`: :class:`Embeddings` and the :class:`Stack` of blocks over any embeddings
  module, returning every layer's attention weights;
- :mod:`.model`: the encoder-decoder :class:`Transformer`, greedy and beam decoding;
- :mod:`.schedule`: the warm-up learning-rate schedule (Eq. 3);
- :mod:`.config`: :class:`TransformerConfig`, the paper's base/big sizes, the LLaMA-style
  block, and the parameter count from a config alone;
- :mod:`.table1`: Table 1 measured on one self-attention and one recurrent layer (cost per
  layer, sequential operations, path length);
- :mod:`.placement`: post- vs pre-norm at a high learning rate, with and without warm-up;
- :mod:`.smoothing`: what label smoothing does to the predicted distributions.

Paper: Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser & Polosukhin (2017),
*Attention Is All You Need*, https://arxiv.org/abs/1706.03762.
Legend: B batch, S source length, T target length, D d_model, H heads, Dh head width,
F d_ff, V vocabulary, L layers. Masks: bool, True = may attend.
"""

from . import block, config, ffn, model, norms, placement, positions, schedule, smoothing, stack, table1

from .block import *  # noqa: F401,F403
from .config import *  # noqa: F401,F403
from .ffn import *  # noqa: F401,F403
from .model import *  # noqa: F401,F403
from .norms import *  # noqa: F401,F403
from .placement import *  # noqa: F401,F403
from .positions import *  # noqa: F401,F403
from .schedule import *  # noqa: F401,F403
from .smoothing import *  # noqa: F401,F403
from .stack import *  # noqa: F401,F403
from .table1 import *  # noqa: F401,F403

__all__ = [
    name
    for module in (positions, norms, ffn, block, stack, model, schedule, config, table1, placement, smoothing)
    for name in module.__all__
]
