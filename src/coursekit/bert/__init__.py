"""BERT (Chapter 9): a bidirectional encoder on the shared Transformer block.

- :mod:`.config`: :class:`BertConfig`, transformers' BERT names, to/from ``transformers.BertConfig``;
- :mod:`.model`: :class:`BertEmbeddings`, :class:`BertModel` (every layer's hidden states and
  attentions, the pooler), :class:`BertForPreTraining` (MLM head tied to the token embedding,
  NSP head), :class:`BertForSequenceClassification`, :func:`mlm_loss`, :func:`nsp_loss`;
- :mod:`.hf`: weights to and from transformers' ``BertModel``, ``BertForPreTraining`` and
  ``BertForSequenceClassification``, and from a checkpoint's state dict;
- :mod:`.sizes`: the parameter count from a config; BERT-base and BERT-large beside the paper;
- :mod:`.pretrained`: all-MiniLM-L6-v2's real weights (the optional extra package, a local
  directory, or the hub).

Paper: Devlin, Chang, Lee & Toutanova (2019), *BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding*, https://arxiv.org/abs/1810.04805, Sec. 3.
Legend: B batch, T length, V vocab_size, E embedding width, H hidden_size, A heads,
L layers, P max_position_embeddings, G type_vocab_size. Masks: bool, True = may attend.
"""

from . import config, hf, model, pretrained, sizes

from .config import *  # noqa: F401,F403
from .hf import *  # noqa: F401,F403
from .model import *  # noqa: F401,F403
from .pretrained import *  # noqa: F401,F403
from .sizes import *  # noqa: F401,F403

__all__ = [name for module in (config, model, hf, sizes, pretrained) for name in module.__all__]
