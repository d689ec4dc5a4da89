"""Synthetic documents whose label is decided by one key sentence (Chapter 3).

A document is ``N`` sentences of ``L`` words or fewer. All but one sentence are
*distractors* made of a neutral vocabulary ("the camera moves past a window").
One sentence, at a random position, is the **key sentence**: it also holds one
or more sentiment words (``good``, ``awful`` ...), each possibly negated by a
``not`` right before it ("not good" is negative). The label is the majority
polarity of the key sentence's (negated) sentiment words, so it is known where
a classifier *should* look: each example records the key sentence's index and
the positions of its key words (the sentiment words and their ``not``).

Everything is generated from a seed, offline; it lives beside
:mod:`coursekit.data` (whose :class:`~coursekit.data.Vocab` and
:class:`~coursekit.data.BatchSampler` it reuses) rather than in it, to keep
each module short.

Legend: B batch (documents), N sentences per document, L words per sentence.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from .data import Vocab
from .utils import check_positive

__all__ = [
    "NEUTRAL_WORDS",
    "POSITIVE_WORDS",
    "NEGATIVE_WORDS",
    "NEGATOR",
    "LABELS",
    "Document",
    "DocBatch",
    "DocumentData",
    "sentiment_documents",
    "label_of",
    "encode_documents",
]

NEUTRAL_WORDS = (
    "the a this that film movie story plot scene scenes actor actors camera music score script director "
    "cast ending opening dialogue light window street city house night morning character characters "
    "moves walks opens looks talks waits runs shows follows turns is was has had and then with of in "
    "on at after before from"
).split()
POSITIVE_WORDS = ("good", "great", "superb", "moving", "brilliant", "charming")
NEGATIVE_WORDS = ("bad", "awful", "dull", "boring", "clumsy", "tedious")
NEGATOR = "not"
LABELS = ("negative", "positive")  # label id 0, 1


@dataclass(frozen=True)
class Document:
    """One document: its sentences (tuples of words), its label (0 negative, 1 positive),
    the index of the key sentence, and the word positions of the key words in it."""

    sentences: tuple[tuple[str, ...], ...]
    label: int
    key_sentence: int
    key_positions: tuple[int, ...]

    @property
    def text(self) -> str:
        return " ".join(" ".join(s) + " ." for s in self.sentences)


def label_of(words: Sequence[str]) -> int | None:
    """The label a sentence decides: the majority polarity of its sentiment words, each flipped
    by a ``not`` right before it. None when it has no sentiment words (a neutral sentence)
    or a tie."""
    votes = 0
    for i, w in enumerate(words):
        polarity = 1 if w in POSITIVE_WORDS else -1 if w in NEGATIVE_WORDS else 0
        if polarity and i > 0 and words[i - 1] == NEGATOR:
            polarity = -polarity
        votes += polarity
    return None if votes == 0 else int(votes > 0)


@dataclass(frozen=True)
class DocBatch:
    """A padded batch of documents.

    ``ids`` (B, N, L) long, 0 = padding (padded words and whole padded
    sentences); ``labels`` (B,) long; ``key_sentence`` (B,) long;
    ``key_words`` (B, N, L) bool, True at the key words.
    """

    ids: torch.Tensor
    labels: torch.Tensor
    key_sentence: torch.Tensor
    key_words: torch.Tensor

    @property
    def word_mask(self) -> torch.Tensor:
        """(B, N, L) bool, True at real words (may be attended)."""
        return self.ids != Vocab.pad_id

    @property
    def sentence_mask(self) -> torch.Tensor:
        """(B, N) bool, True at real (non-empty) sentences."""
        return self.word_mask.any(-1)

    def to(self, device: torch.device | str) -> "DocBatch":
        return DocBatch(*(t.to(device) for t in (self.ids, self.labels, self.key_sentence, self.key_words)))

    def __len__(self) -> int:
        return self.ids.shape[0]


def encode_documents(
    docs: Sequence[Sequence[Sequence[str]]], vocab: Vocab
) -> tuple[torch.Tensor, torch.Tensor]:
    """Word lists -> ``ids`` (B, N, L) long, 0-padded to the longest document and sentence,
    and ``lengths`` (B, N) long (0 for padded sentences). Unknown words become ``<unk>``."""
    if not docs or any(not d for d in docs):
        raise ValueError("docs must be a non-empty list of documents, each with at least one sentence")
    if any(not s for d in docs for s in d):
        raise ValueError("every sentence must have at least one word (an empty sentence is padding)")
    N = max(len(d) for d in docs)
    L = max(len(s) for d in docs for s in d)
    ids = torch.zeros(len(docs), N, L, dtype=torch.long)
    lengths = torch.zeros(len(docs), N, dtype=torch.long)
    for b, doc in enumerate(docs):
        for n, sentence in enumerate(doc):
            ids[b, n, : len(sentence)] = torch.tensor(vocab.encode(list(sentence)))
            lengths[b, n] = len(sentence)
    return ids, lengths


@dataclass(frozen=True)
class DocumentData:
    """A generated document-classification task: documents plus the word vocabulary."""

    docs: tuple[Document, ...]
    vocab: Vocab

    def __len__(self) -> int:
        return len(self.docs)

    def __getitem__(self, i: int) -> Document:
        return self.docs[i]

    def subset(self, indices: Sequence[int]) -> "DocumentData":
        return DocumentData(tuple(self.docs[i] for i in indices), self.vocab)

    def batch(self, indices: Sequence[int] | None = None) -> DocBatch:
        """Encode and pad the chosen documents (all of them by default)."""
        docs = self.docs if indices is None else [self.docs[i] for i in indices]
        if not docs:
            raise ValueError("cannot batch an empty selection of documents")
        ids, _ = encode_documents([d.sentences for d in docs], self.vocab)
        key_words = torch.zeros_like(ids, dtype=torch.bool)
        for b, d in enumerate(docs):
            key_words[b, d.key_sentence, list(d.key_positions)] = True
        return DocBatch(
            ids=ids,
            labels=torch.tensor([d.label for d in docs], dtype=torch.long),
            key_sentence=torch.tensor([d.key_sentence for d in docs], dtype=torch.long),
            key_words=key_words,
        )

    def batches(self, batch_size: int) -> Iterator[DocBatch]:
        """Consecutive batches in stored order (for evaluation)."""
        check_positive("batch_size", batch_size)
        for start in range(0, len(self), batch_size):
            yield self.batch(range(start, min(start + batch_size, len(self))))


def _range(name: str, value: object, lo_min: int = 1) -> tuple[int, int]:
    if not (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and lo_min <= value[0] <= value[1]
    ):
        raise ValueError(f"{name} must be a tuple (lo, hi) of ints with {lo_min} <= lo <= hi, got {value!r}")
    return value


def _key_sentence(rng: random.Random, length: int, n_key: int, negation: float) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """A neutral sentence of ``length`` words with ``n_key`` (possibly negated) sentiment words put in."""
    phrases = []
    for _ in range(n_key):
        word = rng.choice(POSITIVE_WORDS if rng.random() < 0.5 else NEGATIVE_WORDS)
        phrases.append((NEGATOR, word) if rng.random() < negation else (word,))
    filler = [rng.choice(NEUTRAL_WORDS) for _ in range(max(0, length - sum(map(len, phrases))))]
    # Put each phrase in front of a random filler word (or at the end); phrases never split.
    slots = sorted(rng.randint(0, len(filler)) for _ in phrases)
    words: list[str] = []
    keys: list[int] = []
    k = 0
    for i in range(len(filler) + 1):
        while k < len(slots) and slots[k] == i:
            keys.extend(range(len(words), len(words) + len(phrases[k])))
            words.extend(phrases[k])
            k += 1
        if i < len(filler):
            words.append(filler[i])
    return tuple(words), tuple(keys)


def sentiment_documents(
    n: int,
    *,
    sentences: tuple[int, int] = (4, 8),
    words: tuple[int, int] = (4, 8),
    key_words: Sequence[int] = (1, 3),
    negation: float = 0.3,
    seed: int = 0,
) -> DocumentData:
    """``n`` documents, balanced labels, deterministic in ``seed``.

    Each document has a number of sentences drawn from ``sentences`` (lo, hi)
    and each sentence a number of words drawn from ``words`` (lo, hi). The key
    sentence, at a uniformly random index, holds a number of sentiment words
    drawn from ``key_words`` (odd counts, so the majority is never a tie),
    each preceded by ``not`` with probability ``negation``; it may be longer
    than ``words[1]`` by the ``not``s and sentiment words it holds. The label is
    :func:`label_of` the key sentence. Labels are balanced by redrawing the
    key sentence until its label is the one this document needs.
    """
    check_positive("n", n)
    lo_n, hi_n = _range("sentences", sentences)
    lo_w, hi_w = _range("words", words)
    key_words = tuple(key_words)
    if not key_words or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 or k % 2 == 0 for k in key_words):
        raise ValueError(f"key_words must list odd positive ints (no ties), got {key_words!r}")
    if not (isinstance(negation, (int, float)) and 0.0 <= negation <= 1.0):
        raise ValueError(f"negation must be a probability in [0, 1], got {negation!r}")
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        want = i % 2  # balanced labels; the order is shuffled below
        N = rng.randint(lo_n, hi_n)
        sents = [tuple(rng.choice(NEUTRAL_WORDS) for _ in range(rng.randint(lo_w, hi_w))) for _ in range(N)]
        key = rng.randrange(N)
        while True:
            words_k, keys = _key_sentence(rng, rng.randint(lo_w, hi_w), rng.choice(key_words), negation)
            if label_of(words_k) == want:
                break
        sents[key] = words_k
        docs.append(Document(tuple(sents), want, key, keys))
    rng.shuffle(docs)
    return DocumentData(tuple(docs), Vocab([*NEUTRAL_WORDS, *POSITIVE_WORDS, *NEGATIVE_WORDS, NEGATOR]))
