"""Chapter 8's measurements: one word vector per token from each kind of model, and the
nearest sense per layer (Chapter 8).

The chapter compares three kinds of word vectors on the same sentences, each returned in
the form of :func:`coursekit.elmo.elmo_layers` (one ``(L+1, T, D)`` tensor per sentence),
so :func:`coursekit.senses.at_positions` and :func:`coursekit.senses.all_tokens` read all
three alike:

- static vectors (:func:`static_layers`): one layer, the same vector for a word in every
  sentence (GloVe, Pennington et al. 2014, or the corpus's PPMI+SVD vectors);
- the chapter's biLM (:func:`coursekit.elmo.elmo_layers`, Peters et al. 2018,
  "Deep contextualized word representations", https://arxiv.org/abs/1802.05365, Sec. 3);
- a real BERT (:func:`bert_word_layers`): all-MiniLM-L6-v2's embedding output and its six
  layers, each word the mean of its WordPiece vectors (a word-level reading, as in the
  probing studies that followed ELMo; Peters et al. used the biLM's word-level states).

:class:`SenseCentroids` holds the class means of each layer's vectors and names the nearest
sense of a new occurrence layer by layer (the chapter's live widget): nearest centroid by
cosine, as :func:`coursekit.senses.nearest_centroid_accuracy` scores it.

Legend: N sentences (or occurrences), T words of a sentence, D vector width, L+1 layers,
C senses, P WordPiece tokens of a sentence (with ``[CLS]`` and ``[SEP]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from .utils import eval_mode
from .wordvectors import WordVectors

__all__ = ["static_layers", "bert_word_layers", "SenseCentroids"]


def _token_lists(sentences: Sequence) -> list[list[str]]:
    """Sentences as lists of words: ``SenseSentence`` (its ``tokens``) or a list of words."""
    if isinstance(sentences, str) or not len(sentences):
        raise ValueError("sentences must be a non-empty sequence of SenseSentence or lists of words")
    out = []
    for s in sentences:
        tokens = getattr(s, "tokens", s)
        if isinstance(tokens, str) or not len(tokens) or not all(isinstance(w, str) for w in tokens):
            raise ValueError(f"each sentence must be a SenseSentence or a non-empty list of words, got {s!r}")
        out.append(list(tokens))
    return out


def static_layers(vectors: WordVectors, sentences: Sequence) -> list[torch.Tensor]:
    """One ``(1, T, D)`` tensor per sentence: each word's static vector (zeros for a word the
    vectors do not hold), whatever the sentence around it."""
    if not isinstance(vectors, WordVectors):
        raise ValueError(f"vectors must be a WordVectors, got {type(vectors).__name__}")
    zero = torch.zeros(vectors.dim)
    return [
        torch.stack([vectors.vector(w) if w in vectors else zero for w in words])[None]  # (1, T, D)
        for words in _token_lists(sentences)
    ]


@torch.no_grad()
def bert_word_layers(model, wordpiece, sentences: Sequence, *, batch_size: int = 64) -> list[torch.Tensor]:
    """Every layer's vector for every word: one ``(L+1, T, H)`` tensor per sentence, layer 0
    the embeddings' output, layer j the j-th block's; a word split into several WordPieces
    gets the mean of their vectors. ``model`` a coursekit ``BertModel`` (e.g.
    ``load_minilm().model``), ``wordpiece`` its :class:`coursekit.wordpiece.WordPiece`.
    The words are joined by spaces and must come back as the same words from BERT's
    pre-tokenisation (true for :func:`coursekit.wordvectors.tokenize`'s output)."""
    from .bert.model import BertModel
    from .wordpiece import WordPiece

    if not isinstance(model, BertModel):
        raise ValueError(f"model must be a coursekit BertModel, got {type(model).__name__}")
    if not isinstance(wordpiece, WordPiece):
        raise ValueError(f"wordpiece must be a WordPiece, got {type(wordpiece).__name__}")
    toks = _token_lists(sentences)
    texts = [" ".join(t) for t in toks]
    for words, text in zip(toks, texts):
        if wordpiece.words(text) != [w.lower() if wordpiece.lowercase else w for w in words]:
            raise ValueError(f"sentences must split into the same words under BERT's pre-tokenisation, got {words!r}")
    device = next(model.parameters()).device
    out: list[torch.Tensor] = []
    with eval_mode(model):
        for start in range(0, len(texts), batch_size):
            batch = wordpiece.encode_batch(texts[start : start + batch_size])
            hidden = model(batch.input_ids.to(device), token_type_ids=batch.token_type_ids.to(device),
                           key_padding_mask=batch.attention_mask.bool().to(device)).hidden_states
            layers = torch.stack(hidden).cpu()  # (L+1, B, P, H)
            for i, words in enumerate(toks[start : start + batch_size]):
                word_ids = batch.word_ids[i]  # (P,), -1 at [CLS], [SEP] and padding
                onehot = (word_ids[None, :] == torch.arange(len(words))[:, None]).float()  # (T, P)
                mean = onehot / onehot.sum(1, keepdim=True)  # each word: the mean of its pieces
                out.append(torch.einsum("tp,lph->lth", mean, layers[:, i]))  # (L+1, T, H)
    return out


@dataclass(frozen=True, eq=False)
class SenseCentroids:
    """Unit-length class means of each layer's vectors: ``centroids`` (L+1, C, D), one row
    per sense in ``classes``; :meth:`nearest` names the nearest sense of a new occurrence in
    every layer."""

    centroids: torch.Tensor
    classes: tuple[str, ...]

    @classmethod
    def fit(cls, features: torch.Tensor, labels: Sequence[str]) -> "SenseCentroids":
        """``features`` (L+1, N, D), ``labels`` N senses -> the centroids of the unit vectors."""
        if not isinstance(features, torch.Tensor) or features.dim() != 3 or features.shape[1] != len(labels):
            got = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
            raise ValueError(f"features must be an (L+1, N, D) tensor with N = len(labels) = {len(labels)}, got {got}")
        classes = tuple(sorted(set(labels)))
        if len(classes) < 2:
            raise ValueError(f"labels must hold at least two senses, got {classes!r}")
        y = torch.tensor([classes.index(lab) for lab in labels])  # (N,)
        x = F.normalize(features.float(), dim=-1)  # (L+1, N, D)
        sums = torch.zeros(x.shape[0], len(classes), x.shape[2]).index_add_(1, y, x)  # (L+1, C, D)
        return cls(F.normalize(sums, dim=-1), classes)

    def nearest(self, vectors: torch.Tensor) -> list[tuple[str, float]]:
        """``vectors`` (L+1, D), one occurrence's vector in every layer -> (sense, cosine)
        of the nearest centroid, layer by layer."""
        if not isinstance(vectors, torch.Tensor) or tuple(vectors.shape) != (self.centroids.shape[0], self.centroids.shape[2]):
            got = tuple(vectors.shape) if isinstance(vectors, torch.Tensor) else type(vectors).__name__
            raise ValueError(f"vectors must have shape {(self.centroids.shape[0], self.centroids.shape[2])}, got {got}")
        sims = torch.einsum("lcd,ld->lc", self.centroids, F.normalize(vectors.float(), dim=-1))  # (L+1, C)
        best = sims.max(dim=1)
        return [(self.classes[i], float(s)) for s, i in zip(best.values.tolist(), best.indices.tolist())]
