"""Chapter 9's experiments: a tiny BERT pretrained on the course's corpus and the sense grammar
(:mod:`.pretrain`), fine-tuned against the same model from scratch and two ablations of the BERT
paper at toy scale (:mod:`.transfer`), a small Sentence-BERT fine-tune, the fill-the-mask
predictions the chapter's explorer draws and MiniLM's similarity matrix (:mod:`.sentences`).

Devlin, Chang, Lee & Toutanova (2019), *BERT: Pre-training of Deep Bidirectional Transformers
for Language Understanding*, https://arxiv.org/abs/1810.04805:
- Sec. 3.1, Task #1: the masked LM (15% of the tokens chosen, 80/10/10) that
  :func:`pretrain_tiny_bert` trains, with :mod:`coursekit.pretraining`'s data; Appendix A.2:
  Adam, warm-up then linear decay of the learning rate.
- Sec. 5.1, Table 5: "LTR & No NSP", the same encoder trained as a left-to-right language
  model, with the left-only constraint kept at fine-tuning (``objective="ltr"``); the paper's
  SQuAD drop is explained by token-level states having no right-side context, which
  :func:`direction_probe` measures on sentences whose deciding words all lie to the right.
- Appendix C.2, Table 8: the masking ablation (MASK/SAME/RND shares); :func:`masking_probe`
  scores each arm where the input token was [MASK], kept or replaced, and reads frozen features
  of unmasked input (the paper's feature-based NER) with a linear probe.

Reimers & Gurevych (2019), *Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks*,
https://arxiv.org/abs/1908.10084, Sec. 3: mean pooling (their default), the classification
objective softmax(W_t [u; v; |u - v|]) with cross-entropy (how they train on NLI) and the
regression objective, the cosine of u and v against the gold score with mean squared error;
:func:`sbert_finetune` trains either, siamese (one encoder for both sentences).

Legend: B batch, T tokens (with [CLS] and [SEP]), V vocabulary, H hidden size, N sentences or
examples, K top predictions, L layers.
"""

from . import pretrain, sentences, transfer

from .pretrain import *  # noqa: F401,F403
from .sentences import *  # noqa: F401,F403
from .transfer import *  # noqa: F401,F403

__all__ = [name for module in (pretrain, transfer, sentences) for name in module.__all__]
