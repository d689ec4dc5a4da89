"""From WordPiece attention to word attention, and running a BERT over parsed sentences.

A parse is over words; BERT attends over WordPiece tokens, with ``[CLS]`` first and ``[SEP]``
last. Clark, Khandelwal, Levy & Manning (2019), *What Does BERT Look At? An Analysis of BERT's
Attention*, https://arxiv.org/abs/1906.04341, Sec. 4.1 ("Converting token-token attention maps
to word-word attention maps") turn a token map into a word map so that each row still sums to
one: attention TO a split word is the SUM of the attention to its tokens, attention FROM a
split word is the MEAN of its tokens' attention rows. With a (W, T) 0/1 membership matrix
``M`` whose rows partition the tokens, that is ``word = (M / |span|) @ A @ M^T``.

Legend: L layers, A heads, T tokens (with [CLS] and [SEP]), W words (with [CLS] and [SEP] as
words of their own when kept), N sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..utils import check_int
from .parses import Parse

__all__ = ["EncodedSentence", "encode_words", "word_attention", "SentenceAttention", "sentence_attentions"]


@dataclass(frozen=True)
class EncodedSentence:
    """``ids`` (T,) = [CLS] pieces... [SEP]; ``spans`` (W + 2,) (start, end) token ranges of
    [CLS], each word, [SEP] (a partition of 0..T); ``tokens`` the piece strings."""

    ids: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]
    tokens: tuple[str, ...]


def encode_words(tokenizer, words: Sequence[str]) -> EncodedSentence:
    """Encode pre-split ``words`` with a :class:`coursekit.wordpiece.WordPiece`, keeping which
    tokens belong to which word (a word the basic tokenizer splits, "don't", keeps all its
    pieces; a word that gives no piece at all gets [UNK])."""
    ids, spans = [tokenizer.cls_id], [(0, 1)]
    for w in words:
        pieces = [p for part in tokenizer.words(w) for p in tokenizer.word_pieces(part)] or [tokenizer.unk_id]
        spans.append((len(ids), len(ids) + len(pieces)))
        ids += pieces
    spans.append((len(ids), len(ids) + 1))
    ids.append(tokenizer.sep_id)
    return EncodedSentence(tuple(ids), tuple(spans), tuple(tokenizer.tokens_by_id[i] for i in ids))


def _membership(spans: Sequence[tuple[int, int]], T: int) -> torch.Tensor:
    M = torch.zeros(len(spans), T)
    for w, (s, e) in enumerate(spans):
        if not 0 <= s < e <= T:
            raise ValueError(f"spans must be (start, end) ranges inside 0..{T} with start < end, got {(s, e)}")
        M[w, s:e] = 1.0
    if not torch.equal(M.sum(0), torch.ones(T)):
        raise ValueError(f"spans must partition the {T} tokens (each token in exactly one span), got {list(spans)}")
    return M  # (W, T)


def word_attention(attention: torch.Tensor, spans: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Token attention (..., T, T) -> word attention (..., W, W) after Clark et al. (2019, Sec.
    4.1): columns of a word's tokens summed (attention TO it), rows averaged (attention FROM
    it). ``spans``: W (start, end) token ranges that partition 0..T. Rows that summed to one
    still sum to one."""
    if attention.dim() < 2 or attention.shape[-1] != attention.shape[-2]:
        raise ValueError(f"attention must have shape (..., T, T), got {tuple(attention.shape)}")
    M = _membership(spans, attention.shape[-1]).to(attention)  # (W, T)
    mean = M / M.sum(1, keepdim=True)  # (W, T), rows sum to 1
    return mean @ attention @ M.T  # (..., W, W)


@dataclass(frozen=True)
class SentenceAttention:
    """One sentence through a BERT: its ``parse``, ``encoded`` tokens, ``tokens`` attention
    (L, A, T, T) and ``words`` attention (L, A, W + 2, W + 2), [CLS] at 0 and [SEP] last."""

    parse: Parse
    encoded: EncodedSentence
    tokens: torch.Tensor
    words: torch.Tensor


@torch.no_grad()
def sentence_attentions(model, tokenizer, parses: Sequence[Parse], *, batch_size: int = 64,
                        max_tokens: int = 128) -> list[SentenceAttention]:
    """Every layer's and head's attention on each parsed sentence, token- and word-level.
    ``model``: a coursekit :class:`~coursekit.bert.BertModel` (or anything with ``.bert``, such as
    :class:`~coursekit.bert.BertForPreTraining`), run in eval mode on padded batches of similar
    length (padding is masked out, so each sentence's map is what it gets alone). Sentences
    longer than ``max_tokens`` pieces are left out."""
    check_int("batch_size", batch_size, min=1)
    check_int("max_tokens", max_tokens, min=3)
    bert = getattr(model, "bert", model)
    was_training = bert.training
    bert.eval()
    enc = [(p, encode_words(tokenizer, p.words)) for p in parses]
    enc = [(p, e) for p, e in enc if len(e.ids) <= max_tokens]
    order = sorted(range(len(enc)), key=lambda i: len(enc[i][1].ids))
    out: list[SentenceAttention | None] = [None] * len(enc)
    device = next(bert.parameters()).device
    try:
        for b in range(0, len(order), batch_size):
            chunk = order[b:b + batch_size]
            T = max(len(enc[i][1].ids) for i in chunk)
            ids = torch.zeros(len(chunk), T, dtype=torch.long)
            real = torch.zeros(len(chunk), T, dtype=torch.bool)
            for r, i in enumerate(chunk):
                n = len(enc[i][1].ids)
                ids[r, :n] = torch.tensor(enc[i][1].ids)
                real[r, :n] = True
            att = torch.stack(bert(ids.to(device), key_padding_mask=real.to(device), need_weights=True).attentions, 1)
            att = att.float().cpu()  # (B, L, A, T, T)
            for r, i in enumerate(chunk):
                p, e = enc[i]
                n = len(e.ids)
                tok = att[r, :, :, :n, :n].contiguous()  # (L, A, n, n)
                out[i] = SentenceAttention(p, e, tok, word_attention(tok, e.spans))
    finally:
        bert.train(was_training)
    return out
