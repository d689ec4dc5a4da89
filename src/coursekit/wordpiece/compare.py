"""coursekit's WordPiece against the references: transformers' ``BertTokenizer`` (in
transformers 5 the same class as ``BertTokenizerFast``, backed by the tokenizers library)
and the tokenizers library's ``WordPieceTrainer``. Test/book extras, imported only here."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..bpe.model import _as_docs
from .model import SPECIAL_TOKENS, WordPiece
from .train import train_wordpiece

__all__ = ["bert_tokenizer", "IdComparison", "compare_ids", "TrainerComparison", "compare_with_tokenizers"]


def bert_tokenizer(directory: str | Path):
    """transformers' BERT tokenizer from a folder holding ``vocab.txt`` (and, if there,
    ``tokenizer.json``/``tokenizer_config.json``). In transformers 5 load it from the
    folder (or pass ``vocab=path``): ``BertTokenizerFast(vocab_file=path)`` silently
    ignores the file and keeps only the five special tokens."""
    from transformers import BertTokenizerFast

    return BertTokenizerFast.from_pretrained(str(directory))


@dataclass(frozen=True)
class IdComparison:
    """How often coursekit's ``encode_pair`` equals transformers' BERT tokenizer."""

    n_inputs: int
    same_input_ids: int
    same_token_type_ids: int  # among all inputs
    first_difference: str | None  # the first input where the ids differ (pairs shown as "A ||| B")


def compare_ids(
    wp: WordPiece,
    texts: Sequence[str],
    pairs: Sequence[tuple[str, str]] = (),
    *,
    directory: str | Path | None = None,
) -> IdComparison:
    """Encode every text alone and every pair ``(a, b)`` with coursekit and with transformers'
    BERT tokenizer, ``[CLS]``/``[SEP]`` included. ``directory``: the folder the reference
    loads from (a released model's, so its own configuration is used); by default
    ``wp``'s vocabulary is saved to a temporary folder and loaded from there."""
    if not isinstance(wp, WordPiece):
        raise ValueError(f"wp must be a WordPiece, got {type(wp).__name__}")
    texts = _as_docs(texts)
    with tempfile.TemporaryDirectory() as tmp:
        ref = bert_tokenizer(directory if directory is not None else wp.save(tmp).parent)
    inputs = [(t, None) for t in texts] + [tuple(p) for p in pairs]
    same_ids = same_types = 0
    first = None
    for a, b in inputs:
        ours = wp.encode_pair(a, b)
        theirs = ref(a, b) if b is not None else ref(a)
        ok_ids = ours.input_ids == theirs["input_ids"]
        same_ids += ok_ids
        same_types += ours.token_type_ids == theirs["token_type_ids"]
        if not ok_ids and first is None:
            first = a if b is None else f"{a} ||| {b}"
    return IdComparison(len(inputs), same_ids, same_types, first)


@dataclass(frozen=True)
class TrainerComparison:
    """coursekit's ``train_wordpiece(score="frequency")`` against tokenizers' ``WordPieceTrainer``."""

    vocab_size: int
    same_vocabulary: bool  # the same set of tokens
    n_common: int  # tokens in both
    n_merges: int  # coursekit's merges
    agree_prefix: int  # the first this many merges make the same tokens, in order
    tie_at_divergence: bool | None  # did equal counts decide the first differing merge? (None: none differs)


def compare_with_tokenizers(
    text_or_docs: str | Sequence[str], vocab_size: int, *, min_frequency: int = 0
) -> TrainerComparison:
    """Train both on the same documents (BERT's normaliser with lower-casing and its
    pre-tokeniser; the five special tokens first) and compare the vocabularies. The
    tokenizers library numbers the ``##c`` alphabet in hash-map order (it changes from
    run to run), and ties between equal counts follow those ids, so the merge order can
    differ at a tie; the comparison reports whether the first difference is one."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    docs = _as_docs(text_or_docs)
    ours = train_wordpiece(docs, vocab_size, score="frequency", min_frequency=min_frequency)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(SPECIAL_TOKENS), show_progress=False
    )
    tok.train_from_iterator(docs, trainer=trainer)
    vocab = json.loads(tok.to_str())["model"]["vocab"]
    theirs = sorted(vocab, key=vocab.__getitem__)
    n_base = ours.vocab_size - len(ours.merges)
    made = ours.tokens_by_id[n_base:]
    prefix = 0
    for x, y in zip(made, theirs[n_base:]):
        if x != y:
            break
        prefix += 1
    tie = None
    if prefix < len(made):
        # their token at the divergence is a later merge of ours (or none): a tie if both counts are equal
        later = {t: m for t, m in zip(made, ours.merges)}
        other = theirs[n_base + prefix] if n_base + prefix < len(theirs) else None
        tie = other in later and later[other][2] == ours.merges[prefix][2]
    common = len(set(ours.tokens_by_id) & set(theirs))
    return TrainerComparison(
        ours.vocab_size, set(ours.tokens_by_id) == set(theirs), common, len(ours.merges), prefix, tie,
    )
