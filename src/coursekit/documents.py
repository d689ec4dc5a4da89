"""Synthetic documents whose label is decided by one key sentence (Chapter 3).

A document is ``N`` sentences of ``L`` words or fewer. All but one sentence are
*distractors* made of a neutral vocabulary ("the camera moves past a window").
One sentence, at a random position, is the **key sentence**: it also holds one
or more sentiment words (``good``, ``awful`` ...), each possibly negated by a
``not`` right before it ("not good" is negative). The label is the majority
polarity of the key sentence's (negated) sentiment words, so it is known where
a classifier *should* look: each example records the key sentence's index and
the positions of its key words (the sentiment words and their ``not``).

With ``distractors="misleading"`` the distractors are no longer neutral: each
talks about an irrelevant aspect of the evening ("the popcorn ... not good",
"the seats ... awful") with sentiment words of its own, drawn with random
polarity independent of the label, and the key sentence is the one that
starts with ``overall``. Counting sentiment words over the whole document then
says little about the label: a classifier has to *find* the key sentence.

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

from .data import TensorBatch, Vocab
from .utils import check_choice, check_positive

__all__ = [
    "NEUTRAL_WORDS",
    "POSITIVE_WORDS",
    "NEGATIVE_WORDS",
    "NEGATOR",
    "ASPECT_WORDS",
    "KEY_MARKER",
    "DISTRACTORS",
    "LABELS",
    "Document",
    "DocBatch",
    "DocumentData",
    "sentiment_documents",
    "label_of",
    "vote_accuracy",
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
ASPECT_WORDS = ("popcorn", "seats", "parking", "tickets", "queue", "snacks", "lobby", "usher")  # misleading distractors
KEY_MARKER = "overall"  # the key sentence's first word, in misleading documents
DISTRACTORS = ("neutral", "misleading")
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


def vote_accuracy(data: "DocumentData") -> float:
    """The share of documents whose label is :func:`label_of` the whole document read as one
    sentence (every sentiment word a vote, each flipped by its ``not``); a tie counts 1/2, a
    coin flip. What counting sentiment, without finding the key sentence, achieves: 1.0 when
    the distractors are neutral."""
    hits = 0.0
    for d in data.docs:
        vote = label_of([w for s in d.sentences for w in s])
        hits += 0.5 if vote is None else float(vote == d.label)
    return hits / len(data)


@dataclass(frozen=True)
class DocBatch(TensorBatch):
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
    # Pad as Python lists and convert once: a tensor write per sentence would cost more than the model's step.
    empty = [0] * L
    ids = [[vocab.encode(list(s)) + [0] * (L - len(s)) for s in d] + [empty] * (N - len(d)) for d in docs]
    lengths = [[len(s) for s in d] + [0] * (N - len(d)) for d in docs]
    return torch.tensor(ids, dtype=torch.long), torch.tensor(lengths, dtype=torch.long)


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
        where = [(b, d.key_sentence, p) for b, d in enumerate(docs) for p in d.key_positions]
        if where:  # one write for the whole batch
            key_words[tuple(torch.tensor(where, dtype=torch.long).T)] = True
        return DocBatch(
            ids=ids,
            labels=torch.tensor([d.label for d in docs], dtype=torch.long),
            key_sentence=torch.tensor([d.key_sentence for d in docs], dtype=torch.long),
            key_words=key_words,
        )

    def word_counts(self) -> torch.Tensor:
        """(D, V) float: how often each vocabulary word occurs in each document. A bag of
        words: word order and sentence boundaries are forgotten."""
        counts = torch.zeros(len(self), len(self.vocab))
        for b, d in enumerate(self.docs):
            ids = torch.tensor([i for s in d.sentences for i in self.vocab.encode(list(s))])
            counts[b].index_add_(0, ids, torch.ones(len(ids)))
        return counts

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
    distractors: str = "neutral",
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

    ``distractors="neutral"`` (the default): every other sentence is made of
    :data:`NEUTRAL_WORDS` only. ``"misleading"``: every other sentence is
    ``the <aspect>`` (an :data:`ASPECT_WORDS` word) followed by a sentence made
    like a key sentence, with its own sentiment words (a count drawn from
    ``key_words``, each polarity a fair coin, so its label is independent of
    the document's), and the key sentence starts with :data:`KEY_MARKER`
    (``key_positions`` skip the marker: they still point at the sentiment words
    and their ``not``). The vocabulary then holds these extra words too.
    """
    check_positive("n", n)
    lo_n, hi_n = _range("sentences", sentences)
    lo_w, hi_w = _range("words", words)
    key_words = tuple(key_words)
    if not key_words or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 or k % 2 == 0 for k in key_words):
        raise ValueError(f"key_words must list odd positive ints (no ties), got {key_words!r}")
    if not (isinstance(negation, (int, float)) and 0.0 <= negation <= 1.0):
        raise ValueError(f"negation must be a probability in [0, 1], got {negation!r}")
    check_choice("distractors", distractors, DISTRACTORS)
    misleading = distractors == "misleading"
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        want = i % 2  # balanced labels; the order is shuffled below
        N = rng.randint(lo_n, hi_n)
        if misleading:  # "the popcorn ... not good": sentiment about something else, polarity a fair coin
            sents = []
            for _ in range(N):
                aspect = rng.choice(ASPECT_WORDS)
                body, _ = _key_sentence(rng, rng.randint(lo_w, hi_w), rng.choice(key_words), negation)
                sents.append(("the", aspect, *body))
        else:
            sents = [tuple(rng.choice(NEUTRAL_WORDS) for _ in range(rng.randint(lo_w, hi_w))) for _ in range(N)]
        key = rng.randrange(N)
        while True:
            words_k, keys = _key_sentence(rng, rng.randint(lo_w, hi_w), rng.choice(key_words), negation)
            if label_of(words_k) == want:
                break
        if misleading:
            words_k, keys = (KEY_MARKER, *words_k), tuple(k + 1 for k in keys)
        sents[key] = words_k
        docs.append(Document(tuple(sents), want, key, keys))
    rng.shuffle(docs)
    extra = [*ASPECT_WORDS, KEY_MARKER] if misleading else []  # the default vocabulary stays as it was
    return DocumentData(tuple(docs), Vocab([*NEUTRAL_WORDS, *POSITIVE_WORDS, *NEGATIVE_WORDS, NEGATOR, *extra]))
