"""What each attention head looks at, on average: the surface patterns of Clark et al. (2019).

Clark, Khandelwal, Levy & Manning (2019), *What Does BERT Look At? An Analysis of BERT's
Attention*, https://arxiv.org/abs/1906.04341, Sec. 3: heads that attend to the previous or the
next token (Sec. 3.1), heads that put most of their attention on ``[SEP]``, ``[CLS]`` or on
periods and commas (Sec. 3.2), and broad heads whose attention has high entropy (Sec. 3.3).
Each measure here is the average, over every query token of every sentence (pooled), of the
attention mass a head puts on that kind of key; ``entropy`` is the average entropy (nats) of a
query's attention distribution (0 = all on one token, log T = uniform), and ``cls_entropy`` the
same for the ``[CLS]`` query alone (Clark et al.'s Fig. 4, bottom: in the last layer [CLS]
attends broadly).

Legend: L layers, A heads, T tokens, N sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import torch

from ..wordpiece.basic import is_punctuation
from .words import SentenceAttention

__all__ = ["PATTERNS", "HeadPatterns", "key_kinds", "head_patterns"]

PATTERNS = ("cls", "sep", "punct", "prev", "next", "self", "entropy")


@dataclass(frozen=True)
class HeadPatterns:
    """Per layer and head (each a (L, A) tensor): average attention to ``cls``, ``sep``,
    ``punct`` (tokens that are punctuation: periods, commas, ...), the previous token
    (``prev``), the next token (``next``), itself (``self``), the average ``entropy`` (nats) of
    the attention distributions and ``cls_entropy``, that of [CLS]'s own attention (averaged over
    sentences); ``queries``, how many query tokens were averaged."""

    cls: torch.Tensor
    sep: torch.Tensor
    punct: torch.Tensor
    prev: torch.Tensor
    next: torch.Tensor
    self: torch.Tensor
    entropy: torch.Tensor
    cls_entropy: torch.Tensor
    queries: int

    def records(self) -> list[dict]:
        """One row per (layer, head): ``layer``, ``head`` (both from 0) and each measure, for charts."""
        L, A = self.cls.shape
        return [{"layer": l, "head": a, **{f.name: float(getattr(self, f.name)[l, a]) for f in fields(self) if f.name != "queries"}}
                for l in range(L) for a in range(A)]


def key_kinds(tokens: Sequence[str]) -> dict[str, torch.Tensor]:
    """0/1 masks (T,) over the keys: ``cls``, ``sep``, ``punct`` (a token made only of punctuation)."""
    return {
        "cls": torch.tensor([t == "[CLS]" for t in tokens], dtype=torch.float),
        "sep": torch.tensor([t == "[SEP]" for t in tokens], dtype=torch.float),
        "punct": torch.tensor([bool(t) and all(is_punctuation(c) for c in t) for t in tokens], dtype=torch.float),
    }


def _pattern_sums(att: torch.Tensor, tokens: Sequence[str]) -> dict[str, torch.Tensor]:
    """Sums over the query tokens of one sentence, each (L, A); att (L, A, T, T)."""
    kinds = key_kinds(tokens)
    out = {k: (att @ m).sum(-1) for k, m in kinds.items()}  # (L, A, T) summed over queries
    out["prev"] = att.diagonal(-1, -2, -1).sum(-1)  # query i -> key i - 1
    out["next"] = att.diagonal(1, -2, -1).sum(-1)  # query i -> key i + 1
    out["self"] = att.diagonal(0, -2, -1).sum(-1)
    h = -(att * att.clamp_min(1e-12).log()).sum(-1)  # (L, A, T): each query's entropy
    out["entropy"] = h.sum(-1)
    out["cls_entropy"] = h[..., 0]
    return out


def head_patterns(sentences: Sequence[SentenceAttention]) -> HeadPatterns:
    """Clark et al.'s (2019, Sec. 3) surface measures of every head, averaged over all query
    tokens of ``sentences`` (token level, [CLS] and [SEP] included as queries and keys)."""
    if not sentences:
        raise ValueError("sentences must hold at least one SentenceAttention, got none")
    total, queries = None, 0
    for s in sentences:
        sums = _pattern_sums(s.tokens, s.encoded.tokens)
        total = sums if total is None else {k: total[k] + v for k, v in sums.items()}
        queries += s.tokens.shape[-1]
    return HeadPatterns(**{k: total[k] / queries for k in PATTERNS}, cls_entropy=total["cls_entropy"] / len(sentences),
                        queries=queries)
