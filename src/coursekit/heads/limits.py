"""The limits of reading attention: how much an attention weight matters (its gradient), and
attention that flows through the layers (rollout).

1. Attention to ``[SEP]`` as a no-op. Clark, Khandelwal, Levy & Manning (2019), *What Does BERT
   Look At?*, https://arxiv.org/abs/1906.04341, Sec. 3.2 and Fig. 3: many heads in BERT's middle
   layers put most of their attention on ``[SEP]``, yet "the magnitude of the gradient of the
   loss from BERT's masked language modeling task with respect to each attention weight" is
   small for attention to ``[SEP]``: changing it barely changes the output. What
   :func:`attention_gradients` computes: for each sentence, 15% of its word tokens (seeded) are
   replaced by ``[MASK]``; the loss is ``objective`` (the masked-LM cross-entropy with
   :func:`mlm_objective`, Clark et al.'s measure); every attention weight alpha_ij (after the
   softmax, before the value product) keeps its gradient; :func:`importance_by_kind` then
   averages, per layer, alpha_ij and |dL/d alpha_ij| over all query tokens i and all keys j of
   a kind (``[SEP]``, ``[CLS]``, punctuation, other). A sentence encoder without a masked-LM
   head (all-MiniLM-L6-v2) gets :func:`sentence_objective` instead, our adaptation: 1 - cosine
   between the mean-pooled sentence vector of the masked input and that of the unmasked input
   (how much the weight matters for keeping the sentence's meaning).
2. Attention rollout and flow. Abnar & Zuidema (2020), *Quantifying Attention Flow in
   Transformers*, https://arxiv.org/abs/2005.00928, Sec. 3: the residual connection is modelled
   by adding the identity, A_hat = 0.5 A + 0.5 I (heads averaged); rollout, the attention from
   layer 0's inputs to layer l's outputs, is the product A_hat_l ... A_hat_1; flow treats the
   layers as a graph whose edge (layer l - 1, token j) -> (layer l, token i) has capacity
   A_hat_l[i, j] and takes the maximum flow from each input token to each output token.

Legend: B batch, L layers, A heads, T tokens, H hidden size, V vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ..bert.model import mean_pool
from ..utils import check_int, check_real
from .patterns import key_kinds
from .words import encode_words

__all__ = [
    "KINDS",
    "GradientRun",
    "masked_batch",
    "mlm_objective",
    "sentence_objective",
    "attention_gradients",
    "importance_by_kind",
    "attention_rollout",
    "attention_flow",
]

KINDS = ("sep", "cls", "punct", "other")


@dataclass(frozen=True)
class GradientRun:
    """``attentions`` and ``gradients``: L tensors (B, A, T, T), each weight and dL/d weight;
    ``real`` (B, T) bool; ``tokens`` the token strings of each sentence (unpadded); ``loss``."""

    attentions: tuple[torch.Tensor, ...]
    gradients: tuple[torch.Tensor, ...]
    real: torch.Tensor
    tokens: tuple[tuple[str, ...], ...]
    loss: float


def masked_batch(tokenizer, sentences: Sequence[Sequence[str]], *, mask_prob: float = 0.15, seed: int = 0):
    """(input_ids (B, T) with ``mask_prob`` of the word tokens, at least one per sentence, replaced
    by [MASK]; original ids (B, T); real (B, T) bool; masked (B, T) bool; token strings).
    ``sentences``: lists of words. Sentence b's mask depends only on it, ``seed`` and b."""
    check_real("mask_prob", mask_prob, low=0.0, high=1.0, low_open=True)
    check_int("seed", seed)
    enc = [encode_words(tokenizer, words) for words in sentences]
    B, T = len(enc), max(len(e.ids) for e in enc)
    ids = torch.zeros(B, T, dtype=torch.long)
    real = torch.zeros(B, T, dtype=torch.bool)
    for b, e in enumerate(enc):
        ids[b, :len(e.ids)] = torch.tensor(e.ids)
        real[b, :len(e.ids)] = True
    inner = real.clone()
    inner[:, 0] = False
    inner[torch.arange(B), real.sum(1) - 1] = False  # neither [CLS] nor [SEP]
    draw = torch.ones(B, T)
    for b, e in enumerate(enc):  # each sentence its own stream: its mask does not depend on the others
        draw[b, :len(e.ids)] = torch.rand(len(e.ids), generator=torch.Generator().manual_seed(seed * 1_000_003 + b))
    masked = inner & (draw < mask_prob)
    first = torch.where(inner, draw, 2.0).argmin(1)  # the lowest draw: at least one per sentence
    masked[torch.arange(B), first] = True
    x = ids.masked_fill(masked, tokenizer.vocab["[MASK]"])
    return x, ids, real, masked, tuple(e.tokens for e in enc)


def mlm_objective(model) -> Callable:
    """Clark et al.'s loss: masked-LM cross-entropy at the masked positions, summed over the
    sentences of a batch of each sentence's mean (so a sentence's gradients do not depend on the
    others'). ``model``: a :class:`~coursekit.bert.BertForPreTraining`."""
    def objective(x, ids, real, masked):
        out = model(x, key_padding_mask=real, need_weights=True)
        nll = F.cross_entropy(out.mlm_logits.transpose(1, 2), ids, reduction="none")  # (B, T)
        per = (nll * masked).sum(1) / masked.sum(1)
        return per.sum(), out.attentions
    return objective


def sentence_objective(model) -> Callable:
    """For a sentence encoder (a :class:`~coursekit.bert.BertModel` such as all-MiniLM-L6-v2):
    1 - cos(mean-pooled vector of the masked input, that of the unmasked input, held fixed),
    summed over the batch."""
    def objective(x, ids, real, masked):
        with torch.no_grad():
            target = mean_pool(model(ids, key_padding_mask=real).hidden, real)  # (B, H)
        out = model(x, key_padding_mask=real, need_weights=True)
        v = mean_pool(out.hidden, real)
        return (1 - F.cosine_similarity(v, target, dim=-1)).sum(), out.attentions
    return objective


def attention_gradients(objective: Callable, tokenizer, sentences: Sequence[Sequence[str]], *,
                        mask_prob: float = 0.15, seed: int = 0) -> GradientRun:
    """Every attention weight and the gradient of ``objective``'s loss with respect to it (see
    the module docstring), on one padded batch of ``sentences`` (lists of words). The model
    inside ``objective`` should be in eval mode (no dropout)."""
    x, ids, real, masked, tokens = masked_batch(tokenizer, sentences, mask_prob=mask_prob, seed=seed)
    with torch.enable_grad():
        loss, attentions = objective(x, ids, real, masked)
        grads = torch.autograd.grad(loss, attentions)
    return GradientRun(tuple(a.detach() for a in attentions), tuple(g.detach() for g in grads), real, tokens, float(loss.detach()))


def importance_by_kind(run: GradientRun) -> dict[str, torch.Tensor]:
    """Per layer (L,) for each key kind of :data:`KINDS`: ``attention_<kind>``, the mean weight
    alpha_ij, and ``gradient_<kind>``, the mean |dL/d alpha_ij|, over all heads, all real
    query tokens i and all keys j of that kind; plus ``mass_<kind>``, the mean attention mass
    per query (sum over that kind's keys)."""
    L = len(run.attentions)
    sums = {f"{w}_{k}": torch.zeros(L) for w in ("attention", "gradient", "mass") for k in KINDS}
    counts = {k: 0.0 for k in KINDS}
    queries = 0.0
    for b, tokens in enumerate(run.tokens):
        n = len(tokens)
        kinds = key_kinds(tokens)
        kinds["other"] = 1 - kinds["cls"] - kinds["sep"] - kinds["punct"]
        A = run.attentions[0].shape[1]
        queries += A * n
        for k in KINDS:
            counts[k] += A * n * float(kinds[k].sum())
        for l in range(L):
            a = run.attentions[l][b, :, :n, :n]  # (A, n, n)
            g = run.gradients[l][b, :, :n, :n].abs()
            for k in KINDS:
                m = kinds[k]
                sums[f"attention_{k}"][l] += float((a * m).sum())
                sums[f"gradient_{k}"][l] += float((g * m).sum())
                sums[f"mass_{k}"][l] += float((a * m).sum())
    out = {}
    for key, v in sums.items():
        kind = key.split("_", 1)[1]
        out[key] = v / (queries if key.startswith("mass") else max(counts[kind], 1.0))
    return out


def _residual_heads_mean(att: torch.Tensor, residual: float) -> torch.Tensor:
    T = att.shape[-1]
    a = att.mean(-3)  # (L, ..., T, T): heads averaged
    a_hat = residual * torch.eye(T, dtype=a.dtype) + (1 - residual) * a
    return a_hat / a_hat.sum(-1, keepdim=True)


def attention_rollout(attentions: Sequence[torch.Tensor] | torch.Tensor, *, residual: float = 0.5) -> torch.Tensor:
    """Abnar & Zuidema's (2020, Eq. 1) rollout: ``attentions`` L tensors (..., A, T, T) (or one
    (L, ..., A, T, T)); heads averaged, A_hat = residual * I + (1 - residual) * A (rows still sum to
    one), then cumulative products. Returns (L, ..., T, T): entry l is A_hat_l ... A_hat_1, how
    much each input token reaches each position after layer l."""
    check_real("residual", residual, low=0.0, high=1.0)
    att = torch.stack(list(attentions)) if not isinstance(attentions, torch.Tensor) else attentions
    if att.dim() < 4 or att.shape[-1] != att.shape[-2]:
        raise ValueError(f"attentions must be L tensors (..., A, T, T), got shape {tuple(att.shape)}")
    a_hat = _residual_heads_mean(att, residual)
    out, r = [], None
    for layer in a_hat:
        r = layer if r is None else layer @ r
        out.append(r)
    return torch.stack(out)


def attention_flow(attentions: Sequence[torch.Tensor] | torch.Tensor, *, residual: float = 0.5,
                   outputs: Sequence[int] | None = None) -> torch.Tensor:
    """Abnar & Zuidema's (2020, Sec. 3) attention flow for ONE sentence: ``attentions`` L tensors
    (A, T, T) (or one (L, A, T, T)); A_hat as in :func:`attention_rollout`; entry [i, j] of the
    result (T, T) is the maximum flow from input token j to token i after the last layer, through
    the layered graph with capacities A_hat. ``outputs``: only these rows (the rest are 0); the
    flow costs one max-flow problem per (i, j) (networkx), so keep sentences short."""
    import networkx as nx

    check_real("residual", residual, low=0.0, high=1.0)
    att = torch.stack(list(attentions)) if not isinstance(attentions, torch.Tensor) else attentions
    if att.dim() != 4 or att.shape[-1] != att.shape[-2]:
        raise ValueError(f"attentions must be L tensors (A, T, T) of one sentence, got shape {tuple(att.shape)}")
    L, _, T, _ = att.shape
    a_hat = _residual_heads_mean(att, residual).double()  # (L, T, T)
    rows = range(T) if outputs is None else outputs
    for i in rows:
        check_int("outputs", i, min=0, max=T - 1)
    g = nx.DiGraph()
    for l in range(L):
        for i in range(T):
            for j in range(T):
                if a_hat[l, i, j] > 0:
                    g.add_edge((l, j), (l + 1, i), capacity=float(a_hat[l, i, j]))
    out = torch.zeros(T, T, dtype=torch.float64)
    for i in rows:
        for j in range(T):
            out[i, j] = nx.maximum_flow_value(g, (0, j), (L, i))
    return out.to(att.dtype)
