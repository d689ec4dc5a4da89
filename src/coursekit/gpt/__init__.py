"""GPT (Chapter 6): a decoder-only language model on the shared Transformer block.

- :mod:`.config`: :class:`GPTConfig`, transformers' GPT-2 names, to/from ``GPT2Config``;
- :mod:`.model`: :class:`GPT` (tied embeddings, GPT-2's initialisation), :func:`lm_loss`,
  generation;
- :mod:`.cache`: :class:`KVCache`, the per-layer key/value cache for decoding;
- :mod:`.sampling`: temperature, top-k, top-p and greedy choice of the next token;
- :mod:`.hf`: weights to and from transformers' ``GPT2LMHeadModel``;
- :mod:`.sizes`: the parameter count from a config, GPT-1 and GPT-2's published sizes.

Papers: Radford, Narasimhan, Salimans & Sutskever (2018), *Improving Language Understanding
by Generative Pre-Training* (GPT-1); Radford, Wu, Child, Luan, Amodei & Sutskever (2019),
*Language Models are Unsupervised Multitask Learners* (GPT-2), Sec. 2.3.
Legend: B batch, T new positions, S keys (cached + new), D n_embd, H n_head, Dh head width,
V vocab_size, L n_layer, P n_positions.
"""

from . import cache, config, hf, model, sampling, sizes

from .cache import *  # noqa: F401,F403
from .config import *  # noqa: F401,F403
from .hf import *  # noqa: F401,F403
from .model import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .sizes import *  # noqa: F401,F403

__all__ = [name for module in (config, model, cache, sampling, hf, sizes) for name in module.__all__]
