"""The Transformer (Chapter 5), one module per idea:

- :mod:`.positions`: sinusoidal, learned and rotary positions;
- :mod:`.norms`: LayerNorm and RMSNorm;
- :mod:`.ffn`: the feed-forward network, ReLU / GELU / GLU family (SwiGLU);
- :mod:`.layers`: pre- and post-norm residual blocks, the encoder and decoder layers;
- :mod:`.model`: encoder, decoder, the encoder-decoder model, greedy decoding;
- :mod:`.schedule`: the warm-up learning-rate schedule (Eq. 3);
- :mod:`.config`: :class:`TransformerConfig`, the paper's base/big sizes, the LLaMA-style
  block, and the parameter count from a config alone.

Paper: Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser & Polosukhin (2017),
*Attention Is All You Need*, https://arxiv.org/abs/1706.03762.
Legend: B batch, S source length, T target length, D d_model, H heads, Dh head width,
F d_ff, V vocabulary, L layers. Masks: bool, True = may attend.
"""

from .config import *  # noqa: F401,F403
from .config import __all__ as _config_all
from .ffn import *  # noqa: F401,F403
from .ffn import __all__ as _ffn_all
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers_all
from .model import *  # noqa: F401,F403
from .model import __all__ as _model_all
from .norms import *  # noqa: F401,F403
from .norms import __all__ as _norms_all
from .positions import *  # noqa: F401,F403
from .positions import __all__ as _positions_all
from .schedule import *  # noqa: F401,F403
from .schedule import __all__ as _schedule_all

__all__ = [*_positions_all, *_norms_all, *_ffn_all, *_layers_all, *_model_all, *_schedule_all, *_config_all]
