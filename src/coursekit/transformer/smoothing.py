"""What label smoothing does to a model's predictions, measured under teacher forcing.

Szegedy, Vanhoucke, Ioffe, Shlens & Wojna (2016), *Rethinking the Inception Architecture
for Computer Vision*, https://arxiv.org/abs/1512.00567, Sec. 7: train against
``(1 - eps) * one_hot + eps / V``, so the model is never pushed towards infinitely large
logits. Vaswani et al. (2017), https://arxiv.org/abs/1706.03762, Sec. 5.4, use eps = 0.1:
"This hurts perplexity, as the model learns to be more unsure, but improves accuracy and
BLEU score."

:func:`prediction_confidence` reads a trained encoder-decoder's next-token distributions
at every real target position of a dataset (each step handed the true previous token, as
in training) and returns how confident and how right they are.

Legend: B batch, T target length, V target vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data import Seq2SeqData
from ..utils import check_positive, eval_mode

__all__ = ["Confidence", "prediction_confidence"]


@dataclass(frozen=True)
class Confidence:
    """Averages over the real target tokens (eos included) of a dataset, under teacher forcing.

    ``nll``: mean negative log-likelihood of the right token (nats, no smoothing);
    ``perplexity``: exp(nll); ``max_prob``: mean probability of the model's top token;
    ``entropy``: mean entropy of the predicted distribution (nats); ``accuracy``: share of
    tokens whose top prediction is right; ``tokens``: how many tokens were scored."""

    nll: float
    perplexity: float
    max_prob: float
    entropy: float
    accuracy: float
    tokens: int


@torch.no_grad()
def prediction_confidence(model: nn.Module, data: Seq2SeqData, batch_size: int = 256) -> Confidence:
    """Score ``model`` (any encoder-decoder called as ``model(src, tgt_in, src_lengths).logits``)
    on every real target token of ``data``: see :class:`Confidence`."""
    check_positive("batch_size", batch_size)
    if not isinstance(data, Seq2SeqData) or not len(data):
        raise ValueError("data must be a non-empty Seq2SeqData")
    device = next(model.parameters()).device
    nll = top = ent = right = 0.0
    n = 0
    with eval_mode(model):
        for batch in data.batches(batch_size):
            batch = batch.to(device)
            logits = model(batch.src, batch.tgt_in, batch.src_lengths).logits.float()  # (B, T, V)
            real = batch.tgt_mask  # (B, T)
            logp = F.log_softmax(logits, dim=-1)[real]  # (N, V) at the real tokens
            gold = batch.tgt_out[real]  # (N,)
            p = logp.exp()
            nll += float(-logp.gather(1, gold[:, None]).sum())
            top += float(p.max(dim=-1).values.sum())
            ent += float(-(p * logp).sum())
            right += float((logp.argmax(dim=-1) == gold).sum())
            n += int(real.sum())
    return Confidence(nll=nll / n, perplexity=math.exp(nll / n), max_prob=top / n, entropy=ent / n, accuracy=right / n, tokens=n)
