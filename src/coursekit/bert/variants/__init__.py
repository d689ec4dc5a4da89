"""The BERT family (Chapter 10) as BERT plus a small, visible difference each, not copies:

- :mod:`.roberta`: :class:`RobertaConfig`, :class:`RobertaModel`: BERT's model with positions
  counted from the padding id + 1 (Liu et al. 2019, https://arxiv.org/abs/1907.11692);
- :mod:`.albert`: :class:`AlbertConfig`, :class:`AlbertModel`, :class:`AlbertForPreTraining`:
  factorised embedding, cross-layer sharing (all / attention / FFN), SOP (Lan et al. 2020,
  https://arxiv.org/abs/1909.11942, Sec. 3.1);
- :mod:`.distilbert`: :class:`DistilBertConfig`, :class:`DistilBertModel`, :func:`distil_init`:
  no segments, no pooler, half the layers from every other teacher layer (Sanh et al. 2019,
  https://arxiv.org/abs/1910.01108, Sec. 3);
- :mod:`.compare`: :func:`variant_differences` (the table of differences from BERT),
  :func:`to_hf_variant` / :func:`from_hf_variant` (weights with transformers' models).

Parameter counts from a config: :func:`coursekit.bert.sizes.count_parameters` takes each config.
Legend: B batch, T length, V vocab_size, E embedding_size, H hidden_size, L layers, G groups.
"""

from . import albert, compare, distilbert, roberta

from .albert import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .distilbert import *  # noqa: F401,F403
from .roberta import *  # noqa: F401,F403

__all__ = [name for module in (roberta, albert, distilbert, compare) for name in module.__all__]
