"""BERT's pretraining data: masked-language-model targets and next-sentence pairs.

Devlin, Chang, Lee and Toutanova, 2019, "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding", NAACL, arXiv:1810.04805: Sec. 3.1 (Task #1
masked LM: choose 15% of the WordPiece tokens at random; a chosen token is replaced by
``[MASK]`` 80% of the time, by a random token 10% and kept 10%, and the model predicts
the original; Task #2 next sentence prediction: B follows A 50% of the time, else B is
a random sentence from the corpus), Appendix A.1 (the inputs: two spans, ``[CLS] A
[SEP] B [SEP]``, masking applied after WordPiece at a uniform 15%, pieces of a word
treated like any other token) and Appendix C.2 (Table 8: the masking ablation, MASK/SAME/RND
rates). Whole-word masking: google-research/bert's README (2019-05-31 release): choose
words, mask all their pieces. Static vs dynamic masking: Liu et al., 2019, "RoBERTa: A
Robustly Optimized BERT Pretraining Approach", arXiv:1907.11692, Sec. 4.1 (BERT masked
once in preprocessing, duplicating the data 10 times so that each sequence is seen with
10 masks; dynamic masking draws a new mask every time a sequence is fed).

Phrase and entity masking: Sun et al., 2019, "ERNIE: Enhanced Representation through
Knowledge Integration", arXiv:1904.09223, Sec. 3.2 (basic-level, phrase-level and entity-level
masking: a phrase or an entity, several words, is masked as one unit); Cui et al., 2019,
"Pre-Training with Whole Word Masking for Chinese BERT", arXiv:1906.08101 (BERT-wwm: whole
words of Chinese characters, with google-research/bert's code). Both released codes choose a
unit with probability 15% and then draw [MASK]/random/keep per token inside it (ERNIE's
batching.py ``mask``; google-research/bert's create_pretraining_data.py); SpanBERT (Joshi et
al., 2020, arXiv:1907.10529, Sec. 3.1) draws it once per span: :func:`span_mask` does either.

Conventions are transformers': labels -100 where nothing is predicted (the
cross-entropy's ``ignore_index``), ``next_sentence_label`` 0 = B is the next sentence,
1 = B is random (``BertForPreTraining``), ``attention_mask`` 1 = real token. With the
same seed, :func:`mask_tokens` draws exactly what ``DataCollatorForLanguageModeling``
draws (tests/test_pretraining.py checks it), whole-word masking included.

Legend: B sequences in a batch, T tokens per sequence, N examples, V vocabulary size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from .corpus import corpus_docs
from .utils import check_bool, check_choice, check_int, check_positive, check_real, check_tensor
from .wordpiece import WordPiece, pad_encoded

__all__ = [
    "split_sentences",
    "corpus_sentences",
    "MASKING_PRESETS",
    "Masked",
    "mask_tokens",
    "lexicon_spans",
    "merge_units",
    "UNIT_REPLACEMENTS",
    "span_mask",
    "NspPair",
    "nsp_pairs",
    "Examples",
    "encode_examples",
    "PretrainingBatch",
    "MASKINGS",
    "pretraining_batches",
]

# ---------------------------------------------------------------------------------------------
# Sentences

_ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "vs", "cf", "mr", "mrs", "ms", "dr", "no", "fig", "approx", "resp", "al"})
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences by rule, for the docstring corpus.

    Every line (paragraph) is split apart first. Inside a line a sentence ends at
    ``.``, ``!`` or ``?`` (and any closing quotes or brackets) followed by whitespace
    and then a capital letter or a digit (perhaps after an opening quote or bracket),
    unless the word before the full stop is a common abbreviation (``e.g.``, ``i.e.``,
    ``etc.``, ``vs.``, ``cf.``, ``Dr.``, ``No.``, ...) or a single capital letter (an
    initial). So ``os.path.join`` never splits (no space) and ``e.g. Foo`` does not.
    Empty lines give no sentence; each sentence is stripped.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    out: list[str] = []
    for line in text.split("\n"):
        start = 0
        for m in _BOUNDARY.finditer(line):
            before = line[start:m.start()].rsplit(None, 1)
            last = before[-1].lstrip("([\"'") if before else ""
            if last.lower() in _ABBREVIATIONS or (len(last) == 1 and last.isupper()):
                continue
            out.append(line[start:m.end()].strip())
            start = m.end()
        out.append(line[start:].strip())
    return [s for s in out if s]


def corpus_sentences(split: str = "train", val_fraction: float = 0.1, seed: int = 0) -> list[list[str]]:
    """The corpus's documents (:func:`coursekit.corpus.corpus_docs`) as lists of sentences
    (:func:`split_sentences`), documents without a sentence left out."""
    docs = (split_sentences(d) for d in corpus_docs(split, val_fraction, seed))
    return [d for d in docs if d]


# ---------------------------------------------------------------------------------------------
# Masked LM

# BERT's Table 8 (Appendix C.2): (MASK, SAME, RND) shares of the chosen tokens
MASKING_PRESETS: dict[str, tuple[float, float, float]] = {
    "80/10/10": (0.8, 0.1, 0.1),  # BERT's choice
    "100/0/0": (1.0, 0.0, 0.0),  # always [MASK]
    "80/0/20": (0.8, 0.0, 0.2),
    "80/20/0": (0.8, 0.2, 0.0),
    "0/20/80": (0.0, 0.2, 0.8),
    "0/0/100": (0.0, 0.0, 1.0),
}


@dataclass(frozen=True)
class Masked:
    """A masked batch: ``input_ids`` (B, T) long with the replacements made; ``labels``
    (B, T) long, the original id where a token was chosen for prediction, -100 elsewhere."""

    input_ids: torch.Tensor
    labels: torch.Tensor

    @property
    def chosen(self) -> torch.Tensor:
        """(B, T) bool: the tokens the model must predict."""
        return self.labels != -100


def _check_generator(generator: object) -> None:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")


def mask_tokens(
    input_ids: torch.Tensor,
    *,
    vocab_size: int,
    mask_id: int,
    generator: torch.Generator,
    special_mask: torch.Tensor | None = None,
    special_ids: Sequence[int] = (),
    mlm_probability: float = 0.15,
    mask_frac: float = 0.8,
    random_frac: float = 0.1,
    word_ids: torch.Tensor | None = None,
) -> Masked:
    """Choose tokens to predict and corrupt them, as BERT's masked LM (Sec. 3.1).

    ``input_ids`` (B, T) long, left unchanged (a corrupted copy is returned). Tokens
    never chosen: those where ``special_mask`` (B, T; nonzero = special, as
    transformers' ``special_tokens_mask``) is set, and any whose id is in
    ``special_ids`` (pass ``[CLS]``, ``[SEP]`` and ``[PAD]``, so padding is never chosen).

    Each other token is chosen with probability ``mlm_probability``. A chosen token
    becomes ``[MASK]`` with probability ``mask_frac``, else a uniformly random id in
    ``[0, vocab_size)`` with probability ``random_frac / (1 - mask_frac)`` (so
    ``random_frac`` of all chosen), else stays; the label is its original id either
    way. ``MASKING_PRESETS`` holds Table 8's settings.

    Whole-word masking: ``word_ids`` (B, T) long, the word of each token (-1: none; ids
    are compared within a row). Each word is chosen with probability
    ``mlm_probability`` (drawn at its first token) and then all its pieces are chosen;
    the 80/10/10 replacement is still drawn per token, as in google-research/bert.

    The random draws come from ``generator`` (CPU) in transformers'
    ``DataCollatorForLanguageModeling`` order: the choice, then ``[MASK]``, then (unless
    ``mask_frac`` is 1 or ``random_frac`` 0) random-or-keep, then the random ids; so a
    generator seeded as the collator's ``seed=`` gives identical tensors.
    """
    dims = check_tensor("input_ids", input_ids, shape=("B", "T"), dtype=torch.long)
    check_positive("vocab_size", vocab_size)
    check_int("mask_id", mask_id, min=0, max=vocab_size - 1)
    _check_generator(generator)
    check_real("mlm_probability", mlm_probability, low=0.0, high=1.0)
    check_real("mask_frac", mask_frac, low=0.0, high=1.0)
    check_real("random_frac", random_frac, low=0.0, high=1.0)
    if mask_frac + random_frac > 1 + 1e-9:
        raise ValueError(f"mask_frac + random_frac must be at most 1, got {mask_frac} + {random_frac}")
    shape, dev = input_ids.shape, generator.device
    ids = input_ids.to(dev)
    never = torch.zeros(shape, dtype=torch.bool, device=dev)
    if special_mask is not None:
        check_tensor("special_mask", special_mask, shape=("B", "T"), dims=dims)
        never |= special_mask.to(dev).bool()
    for s in special_ids:
        never |= ids == s
    if word_ids is not None:
        check_tensor("word_ids", word_ids, shape=("B", "T"), dtype=torch.long, dims=dims)
        w = word_ids.to(dev)
        never |= w < 0
        first = (w >= 0) & torch.cat([torch.ones_like(w[:, :1], dtype=torch.bool), w[:, 1:] != w[:, :-1]], 1)  # (B, T)
        draw_at = first & ~never
    else:
        draw_at = ~never
    prob = torch.full(shape, float(mlm_probability), device=dev)
    prob.masked_fill_(~draw_at, 0.0)
    chosen = torch.bernoulli(prob, generator=generator).bool()  # (B, T)
    if word_ids is not None:  # a word is chosen when its first token is: spread to all its pieces
        same = (w[:, :, None] == w[:, None, :]) & (w[:, :, None] >= 0)  # (B, T, T)
        chosen = (same & chosen[:, None, :]).any(-1) & ~never
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    out = ids.clone()
    to_mask = torch.bernoulli(torch.full(shape, float(mask_frac), device=dev), generator=generator).bool() & chosen
    out[to_mask] = mask_id
    if mask_frac < 1 and random_frac > 0:
        scaled = min(1.0, float(random_frac) / (1 - float(mask_frac)))  # 0.2 / (1 - 0.8) rounds above 1
        to_random = torch.bernoulli(torch.full(shape, scaled, device=dev), generator=generator).bool() & chosen & ~to_mask
        random_ids = torch.randint(vocab_size, shape, dtype=torch.long, generator=generator, device=dev)
        out[to_random] = random_ids[to_random]
    return Masked(out.to(input_ids.device), labels.to(input_ids.device))


# ---------------------------------------------------------------------------------------------
# Phrase and entity masking (ERNIE), whole words (BERT-wwm): units of several tokens


def lexicon_spans(words: Sequence[str], lexicon: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    """Where the multi-word entries of ``lexicon`` (each a sequence of words, e.g.
    ``("new", "york")``) occur in ``words`` (e.g. ``WordPiece.words(text)``), as (first, last)
    word indices, inclusive; case-insensitive, longest match first, left to right, no overlap.
    ERNIE finds its phrases by lexical analysis and its entities by a named-entity tagger; a
    lexicon is the course's stand-in."""
    if isinstance(words, str) or not all(isinstance(w, str) for w in words):
        raise ValueError("words must be a list of str (e.g. WordPiece.words(text))")
    entries = []
    for entry in lexicon:
        if isinstance(entry, str) or not entry or not all(isinstance(w, str) for w in entry):
            raise ValueError(f"lexicon must hold non-empty sequences of words, got {entry!r}")
        entries.append(tuple(w.lower() for w in entry))
    entries.sort(key=len, reverse=True)
    low = [w.lower() for w in words]
    spans, i = [], 0
    while i < len(low):
        hit = next((e for e in entries if tuple(low[i:i + len(e)]) == e), None)
        if hit is not None and len(hit) > 1:
            spans.append((i, i + len(hit) - 1))
            i += len(hit)
        else:
            i += 1
    return spans


def merge_units(word_ids: torch.Tensor, spans: Sequence[Sequence[tuple[int, int]]]) -> torch.Tensor:
    """Unit ids for :func:`span_mask`: ``word_ids`` (B, T) long (-1: special or padding) with
    the words of each span (``spans[b]``: (first, last) word ids, inclusive, for row b) given
    one id, the span's first word's. Words outside every span stay units of their own
    (whole-word masking); returns a new (B, T) long tensor."""
    dims = check_tensor("word_ids", word_ids, shape=("B", "T"), dtype=torch.long)
    if isinstance(spans, torch.Tensor) or len(spans) != dims["B"]:
        raise ValueError(f"spans must hold one list of (first, last) word spans per row, {dims['B']} rows, got {spans!r:.80}")
    units = word_ids.clone()
    for b, row in enumerate(spans):
        for span in row:
            if (not isinstance(span, (tuple, list)) or len(span) != 2 or not all(isinstance(v, int) for v in span)
                    or not 0 <= span[0] <= span[1]):
                raise ValueError(f"spans[{b}] must hold (first, last) word ids with 0 <= first <= last, got {span!r}")
            inside = (word_ids[b] >= span[0]) & (word_ids[b] <= span[1])
            units[b, inside] = span[0]
    return units


UNIT_REPLACEMENTS = ("token", "unit")


def span_mask(
    input_ids: torch.Tensor,
    unit_ids: torch.Tensor,
    *,
    vocab_size: int,
    mask_id: int,
    generator: torch.Generator,
    special_mask: torch.Tensor | None = None,
    special_ids: Sequence[int] = (),
    mlm_probability: float = 0.15,
    mask_frac: float = 0.8,
    random_frac: float = 0.1,
    replace: str = "token",
) -> Masked:
    """Masked LM over units of several tokens: whole words (BERT-wwm), phrases and entities
    (ERNIE), given as ``unit_ids`` (B, T) long (:func:`merge_units`; -1: never chosen).

    Each unit is chosen with probability ``mlm_probability`` and then all its tokens are
    predicted, so each token is chosen with that probability too: 15% of the tokens on
    average, in runs. ``replace="token"`` (ERNIE's and google-research/bert's code): the
    [MASK]/random/keep choice is drawn per token, exactly :func:`mask_tokens` with
    ``word_ids=unit_ids``; ``"unit"`` (SpanBERT): drawn once per unit, so a chosen unit is
    all [MASK], all random tokens or all kept.
    """
    check_choice("replace", replace, UNIT_REPLACEMENTS)
    common = dict(vocab_size=vocab_size, mask_id=mask_id, generator=generator, special_mask=special_mask,
                  special_ids=special_ids, mlm_probability=mlm_probability, word_ids=unit_ids)
    per_token = mask_tokens(input_ids, mask_frac=mask_frac, random_frac=random_frac, **common)
    if replace == "token":
        return per_token
    chosen = per_token.chosen  # (B, T): whole units; the per-unit draws below replace its per-token ones
    dev = generator.device
    units = unit_ids.to(dev)
    T = units.shape[1]
    same = units[:, :, None] == units[:, None, :]  # (B, T, T)
    first = torch.where(same, torch.arange(T, device=dev), T).min(-1).values  # (B, T): each unit's first token
    u = torch.rand(units.shape, generator=generator, device=dev).gather(1, first)  # one draw per unit
    random_ids = torch.randint(vocab_size, units.shape, dtype=torch.long, generator=generator, device=dev)
    ids = input_ids.to(dev)
    out = torch.where(chosen & (u < mask_frac), mask_id, ids)
    out = torch.where(chosen & (u >= mask_frac) & (u < mask_frac + random_frac), random_ids, out)
    labels = torch.where(chosen, ids, -100)
    return Masked(out.to(input_ids.device), labels.to(input_ids.device))


# ---------------------------------------------------------------------------------------------
# Next sentence prediction


@dataclass(frozen=True)
class NspPair:
    """Segment A, segment B and whether B is random (``label`` 1) or A's next sentence
    (``label`` 0, transformers' ``next_sentence_label``). ``a_at`` and ``b_at``:
    (document, sentence) where each came from."""

    a: str
    b: str
    label: int
    a_at: tuple[int, int]
    b_at: tuple[int, int]


def nsp_pairs(docs: Sequence[Sequence[str]], generator: torch.Generator, *, random_prob: float = 0.5) -> list[NspPair]:
    """One pair for every two consecutive sentences of a document (documents as lists of
    sentences, :func:`corpus_sentences`): A is the first; with probability ``random_prob``
    B is a sentence drawn uniformly from a uniformly drawn *other* document (label 1),
    else B is the sentence after A (label 0). Deterministic given ``generator``."""
    if isinstance(docs, str) or not all(isinstance(d, Sequence) and not isinstance(d, str) for d in docs):
        raise ValueError("docs must be a list of documents, each a list of sentences (str)")
    _check_generator(generator)
    check_real("random_prob", random_prob, low=0.0, high=1.0)
    if any(len(d) == 0 for d in docs):
        raise ValueError("docs must each hold at least one sentence, got an empty document")
    if len(docs) < 2:
        raise ValueError(f"docs must hold at least 2 documents (a random B comes from another), got {len(docs)}")
    at = [(d, i) for d, doc in enumerate(docs) for i in range(len(doc) - 1)]
    n = len(at)
    coin = torch.rand(n, generator=generator) < random_prob
    other = torch.randint(len(docs) - 1, (n,), generator=generator)
    where = torch.rand(n, generator=generator)
    sizes = [len(d) for d in docs]
    pairs = []
    for k, (d, i) in enumerate(at):
        if coin[k]:
            e = int(other[k]) + (int(other[k]) >= d)  # any document but d
            j = min(int(float(where[k]) * sizes[e]), sizes[e] - 1)
            pairs.append(NspPair(docs[d][i], docs[e][j], 1, (d, i), (e, j)))
        else:
            pairs.append(NspPair(docs[d][i], docs[d][i + 1], 0, (d, i), (d, i + 1)))
    return pairs


# ---------------------------------------------------------------------------------------------
# Batches


@dataclass(frozen=True)
class Examples:
    """Tokenised examples, padded to one length T: ``input_ids``, ``token_type_ids``,
    ``attention_mask``, ``word_ids`` (-1: special or padding), ``special_tokens_mask`` (1 at
    ``[CLS]``/``[SEP]``/``[PAD]``), each (N, T) long; ``next_sentence_label`` (N,) long
    or None (single segments, no NSP); the tokeniser's ``vocab_size`` and ``mask_id``."""

    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    attention_mask: torch.Tensor
    word_ids: torch.Tensor
    special_tokens_mask: torch.Tensor
    next_sentence_label: torch.Tensor | None
    vocab_size: int
    mask_id: int

    def __len__(self) -> int:
        return self.input_ids.shape[0]


def encode_examples(tokenizer: WordPiece, items: Sequence[NspPair] | Sequence[str], *, max_length: int = 128) -> Examples:
    """Tokenise NSP pairs (``[CLS] A [SEP] B [SEP]``, cut to ``max_length`` with
    longest-first truncation) or single texts (``[CLS] text [SEP]``, no NSP label)."""
    if not isinstance(tokenizer, WordPiece):
        raise ValueError(f"tokenizer must be a WordPiece, got {type(tokenizer).__name__}")
    check_int("max_length", max_length, min=3)
    items = list(items)
    if not items:
        raise ValueError("items must hold at least one NspPair or text, got none")
    if all(isinstance(x, NspPair) for x in items):
        encs = [tokenizer.encode_pair(x.a, x.b, max_length=max_length) for x in items]
        nsp = torch.tensor([x.label for x in items], dtype=torch.long)
    elif all(isinstance(x, str) for x in items):
        encs = [tokenizer.encode_pair(x, max_length=max_length) for x in items]
        nsp = None
    else:
        raise ValueError("items must be all NspPair or all str, got a mixture or other types")
    b = pad_encoded(encs, tokenizer.pad_id)
    return Examples(b.input_ids, b.token_type_ids, b.attention_mask, b.word_ids, b.special_tokens_mask, nsp,
                    tokenizer.vocab_size, tokenizer.mask_id)


@dataclass(frozen=True)
class PretrainingBatch:
    """One batch for ``BertForPreTraining``-style training; field names are that model's
    arguments. ``input_ids`` (masked), ``token_type_ids``, ``attention_mask``, ``labels``
    (-100 where nothing is predicted): each (B, T) long, T the batch's longest input;
    ``next_sentence_label`` (B,) long, or None without NSP."""

    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    next_sentence_label: torch.Tensor | None

    def to(self, device: torch.device | str) -> "PretrainingBatch":
        return PretrainingBatch(*(None if t is None else t.to(device) for t in (
            self.input_ids, self.token_type_ids, self.attention_mask, self.labels, self.next_sentence_label)))


MASKINGS = ("dynamic", "static")


def pretraining_batches(
    examples: Examples,
    batch_size: int,
    *,
    generator: torch.Generator,
    epochs: int = 1,
    masking: str = "dynamic",
    static_copies: int = 1,
    whole_word: bool = False,
    mlm_probability: float = 0.15,
    mask_frac: float = 0.8,
    random_frac: float = 0.1,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[PretrainingBatch]:
    """Batches of masked examples for ``epochs`` passes over ``examples``.

    ``masking="dynamic"`` (RoBERTa): a new mask every time an example is fed.
    ``"static"`` (BERT's preprocessing): ``static_copies`` masks drawn per example before
    the first batch, epoch ``e`` using copy ``e % static_copies`` (RoBERTa Sec. 4.1
    describes BERT's data duplicated 10 times). Masking as :func:`mask_tokens`, with
    ``[CLS]``, ``[SEP]``, ``[PAD]`` (and a ``[MASK]`` written in the text) never chosen; ``whole_word`` chooses whole words
    (each pre-token, its ``##`` pieces together). Example order is shuffled each epoch
    with ``generator`` (``shuffle=False``: in order); each batch is cut to its longest input.
    """
    if not isinstance(examples, Examples):
        raise ValueError(f"examples must be an Examples (encode_examples), got {type(examples).__name__}")
    check_positive("batch_size", batch_size)
    _check_generator(generator)
    check_positive("epochs", epochs)
    check_choice("masking", masking, MASKINGS)
    check_positive("static_copies", static_copies)
    check_bool("whole_word", whole_word)
    check_bool("shuffle", shuffle)
    check_bool("drop_last", drop_last)
    N = len(examples)
    settings = dict(vocab_size=examples.vocab_size, mask_id=examples.mask_id, mlm_probability=mlm_probability,
                    mask_frac=mask_frac, random_frac=random_frac)

    def draw(rows: torch.Tensor) -> Masked:
        return mask_tokens(
            examples.input_ids[rows], generator=generator, special_mask=examples.special_tokens_mask[rows],
            special_ids=(examples.mask_id,),  # a literal "[MASK]" in the text is never a target
            word_ids=examples.word_ids[rows] if whole_word else None, **settings,
        )

    copies = [draw(torch.arange(N)) for _ in range(static_copies)] if masking == "static" else None
    for epoch in range(epochs):
        order = torch.randperm(N, generator=generator) if shuffle else torch.arange(N)
        for start in range(0, N, batch_size):
            rows = order[start:start + batch_size]
            if drop_last and len(rows) < batch_size:
                break
            masked = draw(rows) if copies is None else copies[epoch % static_copies]
            ids, labels = (masked.input_ids, masked.labels) if copies is None else (masked.input_ids[rows], masked.labels[rows])
            attn = examples.attention_mask[rows]
            T = int(attn.sum(1).max())
            nsp = examples.next_sentence_label
            yield PretrainingBatch(
                ids[:, :T], examples.token_type_ids[rows, :T], attn[:, :T], labels[:, :T],
                None if nsp is None else nsp[rows],
            )
