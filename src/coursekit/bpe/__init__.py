"""Byte-level byte-pair encoding, as GPT-2 tokenises text, small enough to train in seconds.

Sennrich, Haddow and Birch, 2016, "Neural Machine Translation of Rare Words with Subword
Units", ACL, arXiv:1508.07909, Sec. 3.2 (Algorithm 1): start from single symbols and
repeatedly merge the most frequent adjacent pair into a new symbol. Radford, Wu, Child,
Luan, Amodei and Sutskever, 2019, "Language Models are Unsupervised Multitask Learners",
Sec. 2.2 ("Input Representation"): run BPE on *bytes* (a base vocabulary of 256, so any
Unicode string has an encoding and nothing is unknown) and prevent merges across
character categories by first splitting the text with a regular expression (letters,
numbers, other symbols, whitespace; common English contractions split off).

What matches GPT-2 to the byte (tests/test_bpe.py checks it against transformers'
GPT-2 tokenizer and the tokenizers library):

* :func:`bytes_to_unicode`: the printable stand-in character for each byte, so that
  ``vocab.json`` and ``merges.txt`` are plain text.
* :func:`pretokenize`: GPT-2's pattern ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+|
  ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``. Python's ``re`` has no ``\\p{..}`` classes, so
  the same pattern is compiled with explicit classes built once from
  :mod:`unicodedata`: L = categories L*, N = categories N*, and ``\\s`` = Unicode
  White_Space (categories Z* plus tab, newline, vertical tab, form feed, carriage
  return and U+0085, which is not ``str.isspace``: that also counts U+001C-U+001F).
* Encoding: within one pre-token, repeatedly merge the adjacent pair of lowest merge
  rank (GPT-2's ``encoder.py``), cached per pre-token; ``<|endoftext|>`` in the text is
  the special token, as in transformers' GPT-2 tokenizer.
* Files: ``vocab.json`` (token -> id) and ``merges.txt`` (``#version: 0.2`` then one
  ``left right`` pair per line, by rank), the format GPT-2 was released in.

The trainer (:func:`train_bpe`) counts pre-tokens, then merges the most frequent pair;
pair counts are updated only in the words that contain the merged pair. Ties (equal
counts) go to the pair whose ids are smallest, compared as (left id, right id); ids
are GPT-2's (bytes in the order of :func:`bytes_to_unicode`, which is the order of
their stand-in characters; merged tokens in order of creation), which is the rule and
the id order the tokenizers library's BPE trainer uses. Counts are over every adjacent
position, so ``aaa`` holds the pair ``(a, a)`` twice.

Legend: N tokens in an encoded corpus; a *word* is one pre-token, a *symbol* one
token id inside it while training.
"""

from .compare import IdComparison, MergeComparison, compare_ids, compare_with_tokenizers, pair_counts_after
from .model import ByteBPE, encode_corpus, merge_pair, train_bpe
from .pretokenize import EOT, bytes_to_unicode, pretokenize

__all__ = [
    "EOT",
    "bytes_to_unicode",
    "pretokenize",
    "ByteBPE",
    "train_bpe",
    "merge_pair",
    "encode_corpus",
    "IdComparison",
    "compare_ids",
    "MergeComparison",
    "compare_with_tokenizers",
    "pair_counts_after",
]
