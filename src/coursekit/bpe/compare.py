"""coursekit's BPE against the references: transformers' GPT-2 tokenizers and the tokenizers
library (test/book extras, imported only inside these functions)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .model import ByteBPE, _as_docs, _word_counts, train_bpe
from .pretokenize import EOT, bytes_to_unicode

__all__ = ["IdComparison", "compare_ids", "MergeComparison", "compare_with_tokenizers", "pair_counts_after"]


@dataclass(frozen=True)
class IdComparison:
    """How often coursekit's ids equal the references' on the same vocabulary and merges."""

    n_texts: int
    same_as_gpt2_tokenizer: int  # transformers' GPT2Tokenizer.from_pretrained(saved files)
    same_as_gpt2_tokenizer_fast: int  # transformers' GPT2TokenizerFast.from_pretrained(saved files)
    same_as_tokenizers: int  # a tokenizers BPE model + ByteLevel pre-tokenizer from the same files
    gpt2_tokenizer_kind: str  # GPT2Tokenizer's base class: pure Python before transformers 5, Rust since
    first_difference: str | None  # the first text where any reference disagrees


def _references(directory: Path) -> tuple:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Tokenizer, GPT2TokenizerFast

    tok = Tokenizer(models.BPE.from_file(str(directory / "vocab.json"), str(directory / "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([EOT])
    slow = GPT2Tokenizer.from_pretrained(str(directory))
    fast = GPT2TokenizerFast.from_pretrained(str(directory))
    return (
        lambda t: slow.encode(t, add_special_tokens=False),
        lambda t: fast.encode(t, add_special_tokens=False),
        lambda t: tok.encode(t, add_special_tokens=False).ids,
        type(slow).__mro__[1].__name__,
    )


def compare_ids(bpe: ByteBPE, texts: Sequence[str]) -> IdComparison:
    """Save ``bpe``'s files, load them into transformers' GPT-2 tokenizers (the plain and
    the fast class) and into the tokenizers library, and count the texts on which each
    gives coursekit's ids."""
    import tempfile

    if not isinstance(bpe, ByteBPE):
        raise ValueError(f"bpe must be a ByteBPE, got {type(bpe).__name__}")
    texts = _as_docs(texts)
    with tempfile.TemporaryDirectory() as tmp:
        *refs, kind = _references(bpe.save(tmp))
        same = [0] * len(refs)
        first = None
        for text in texts:
            ours = bpe.encode(text)
            agree = [ours == ref(text) for ref in refs]
            same = [n + a for n, a in zip(same, agree)]
            if not all(agree) and first is None:
                first = text
    return IdComparison(len(texts), *same, kind, first)


@dataclass(frozen=True)
class MergeComparison:
    """coursekit's merges against the tokenizers library's BpeTrainer on the same text."""

    n_ours: int
    n_theirs: int
    agree_prefix: int  # the first this many merges are identical, in order
    n_common: int  # merges found by both, in any order
    first_divergence: int | None  # index of the first differing merge (None: identical lists)
    ours: tuple[str, str] | None  # coursekit's merge there
    theirs: tuple[str, str] | None  # tokenizers' merge there
    ours_count: int | None  # the two pairs' counts at that step (in coursekit's state)
    theirs_count: int | None

    @property
    def tie(self) -> bool | None:
        """Did equal counts decide the first divergence? (None when there is none.)"""
        return None if self.first_divergence is None else self.ours_count == self.theirs_count


def compare_with_tokenizers(
    text_or_docs: str | Sequence[str], vocab_size: int, *, min_frequency: int = 2
) -> MergeComparison:
    """Train coursekit's BPE and the tokenizers library's ``BpeTrainer`` (ByteLevel
    pre-tokenizer without a prefix space, the 256-byte initial alphabet, ``<|endoftext|>``
    the only special token) on the same documents and compare their merge lists."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    docs = _as_docs(text_or_docs)
    ours = train_bpe(docs, vocab_size, min_frequency=min_frequency)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer)
    theirs = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]]
    prefix = 0
    for x, y in zip(ours.merges, theirs):
        if x != y:
            break
        prefix += 1
    n_common = len(set(ours.merges) & set(theirs))
    if prefix == len(ours.merges) == len(theirs):
        return MergeComparison(len(ours.merges), len(theirs), prefix, n_common, None, None, None, None, None)
    mine = ours.merges[prefix] if prefix < len(ours.merges) else None
    other = theirs[prefix] if prefix < len(theirs) else None
    counts = pair_counts_after(docs, ours.merges[:prefix])  # both pairs' counts where the lists part
    return MergeComparison(
        len(ours.merges), len(theirs), prefix, n_common, prefix, mine, other,
        counts[mine] if mine else None, counts[other] if other else None,
    )


def pair_counts_after(text_or_docs: str | Sequence[str], merges: Sequence[tuple[str, str]]) -> Counter:
    """Every adjacent pair's count in the documents' pre-tokens once ``merges`` are applied
    (the state a trainer is in before choosing its next merge)."""
    vocab = {c: i for i, c in enumerate(bytes_to_unicode().values())}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    applied = ByteBPE(vocab, merges, ())
    counts: Counter = Counter()
    for word, f in _word_counts(_as_docs(text_or_docs)).items():
        parts = applied._merge(word)
        for p in zip(parts, parts[1:]):
            counts[p] += f
    return counts
