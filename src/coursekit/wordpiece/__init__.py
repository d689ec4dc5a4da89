"""WordPiece, BERT's tokeniser: a basic tokeniser, then greedy longest-match-first subwords.

Schuster and Nakajima, 2012, "Japanese and Korean Voice Search", ICASSP, Sec. 3.1 (the
word-piece model: a vocabulary of sub-word units grown from characters by the merge
that most increases the training data's likelihood). Wu et al., 2016, "Google's Neural
Machine Translation System", arXiv:1609.08144, Sec. 4.1 (word pieces for translation).
Devlin, Chang, Lee and Toutanova, 2019, "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding", arXiv:1810.04805, Sec. 3 ("Input/Output
Representations": a 30,000-token WordPiece vocabulary, ``[CLS]`` first, ``[SEP]``
between and after the sentences, a learned segment embedding for A and B).

What matches transformers' ``BertTokenizer`` for ``do_lower_case=True``
(tests/test_wordpiece.py checks it on all-MiniLM-L6-v2's vocabulary):

* :func:`normalize`: drop control characters, whitespace to spaces, spaces around CJK
  ideographs, strip accents (NFD, drop Mn), lower-case.
* :func:`split_words`: split on whitespace; every punctuation character (Unicode P*
  or any ASCII symbol) is a word of its own.
* :class:`WordPiece`: each word cut greedily, longest vocabulary piece first,
  continuations written ``##piece``; ``[UNK]`` for a word over 100 characters or with
  no cut. ``[CLS] A [SEP] B [SEP]``, segment ids 0 then 1, truncation as transformers.
  Characters new in recent Unicode versions (which the tokenizers library's tables
  predate) can be classed differently; every other character is treated the same.
  transformers' old pure-Python tokenizer (``BertTokenizerLegacy`` in transformers 5)
  differs only in writing a word-final capital sigma as ``ς`` (Python's ``str.lower``).

:func:`train_wordpiece` learns a vocabulary: merges chosen by the likelihood ratio
``count(ab) / (count(a) count(b))`` or by frequency (which is what the tokenizers
library's ``WordPieceTrainer`` does: BPE with ``##`` prefixes).

Legend: B sequences in a batch, T tokens per sequence; a *word* is one pre-token.
"""

from .basic import basic_tokenize, is_cjk, is_punctuation, normalize, split_words
from .compare import IdComparison, TrainerComparison, bert_tokenizer, compare_ids, compare_with_tokenizers
from .model import SPECIAL_TOKENS, TRUNCATION, Encoded, EncodedBatch, WordPiece, pad_encoded
from .train import SCORES, train_wordpiece, word_counts

__all__ = [
    "normalize",
    "split_words",
    "basic_tokenize",
    "is_cjk",
    "is_punctuation",
    "SPECIAL_TOKENS",
    "TRUNCATION",
    "WordPiece",
    "Encoded",
    "EncodedBatch",
    "pad_encoded",
    "SCORES",
    "train_wordpiece",
    "word_counts",
    "bert_tokenizer",
    "IdComparison",
    "compare_ids",
    "TrainerComparison",
    "compare_with_tokenizers",
]
