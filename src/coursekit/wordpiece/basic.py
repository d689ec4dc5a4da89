"""BERT's "basic" tokenisation: clean, isolate CJK characters, strip accents, lower-case,
then split on whitespace and punctuation (see :mod:`coursekit.wordpiece` for the papers).

Devlin et al., 2019, arXiv:1810.04805, Sec. 3 and google-research/bert ``tokenization.py``
(``BasicTokenizer``); the order and character classes are those of the tokenizers
library's ``BertNormalizer`` + ``BertPreTokenizer``, which transformers' ``BertTokenizer``
runs (tests/test_wordpiece.py checks the words against it).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["normalize", "split_words", "basic_tokenize", "is_cjk", "is_punctuation"]

_CJK = (  # google-research/bert's "Chinese character" blocks (CJK Unified Ideographs and their extensions)
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)
_ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"  # BERT counts every ASCII symbol as punctuation
# ASCII fast path: control characters removed, \t \n \r become spaces
_ASCII_CLEAN = {c: None for c in [*range(0, 9), 11, 12, *range(14, 32), 127]} | {9: 32, 10: 32, 13: 32}
_ASCII_WORDS = re.compile("[^ " + re.escape(_ASCII_PUNCT) + "]+|[" + re.escape(_ASCII_PUNCT) + "]")


def is_cjk(ch: str) -> bool:
    """Is ``ch`` in one of BERT's CJK ideograph blocks (each becomes a word of its own)?
    Hiragana, katakana and Hangul are not: they stay inside words, as in BERT."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK)


@lru_cache(maxsize=4096)
def is_punctuation(ch: str) -> bool:
    """BERT's punctuation: any ASCII symbol (``$``, ``+``, ``^`` too) or a Unicode P* character."""
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def normalize(text: str, *, lowercase: bool = True, strip_accents: bool | None = None, cjk: bool = True) -> str:
    """BERT's normaliser, in the tokenizers library's order:

    1. clean: drop NUL, U+FFFD and control/format characters (categories C*, but not
       tab, newline, carriage return); every whitespace character becomes a space;
    2. put a space on each side of every CJK ideograph (``cjk``);
    3. strip accents (``strip_accents``, which defaults to ``lowercase`` as in the
       original BERT): NFD, then drop nonspacing marks (category Mn), so ``é`` -> ``e``;
    4. lower-case character by character (``Σ`` -> ``σ`` wherever it stands: no
       final-sigma rule, as the tokenizers library; Python's ``str.lower`` has one).
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    strip = lowercase if strip_accents is None else strip_accents
    if text.isascii():  # the common case, in C
        text = text.translate(_ASCII_CLEAN)
        return text.lower() if lowercase else text
    out = []
    for ch in text:
        if ch == "\x00" or ch == "\ufffd" or _is_control(ch):
            continue
        if ch.isspace():  # what is left of str.isspace here is exactly Unicode White_Space
            out.append(" ")
        elif cjk and is_cjk(ch):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = "".join(out)
    if strip:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    if lowercase:
        text = "".join(c.lower() for c in text)
    return text


def split_words(text: str) -> list[str]:
    """BERT's pre-tokeniser on normalised text: split on whitespace, and make every
    punctuation character a word of its own (``"don't"`` -> ``don``, ``'``, ``t``)."""
    if text.isascii():
        return _ASCII_WORDS.findall(text.translate(_ASCII_CLEAN))
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch.isspace() or is_punctuation(ch):
            if current:
                words.append("".join(current))
                current = []
            if not ch.isspace():
                words.append(ch)
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return words


def basic_tokenize(text: str, *, lowercase: bool = True, strip_accents: bool | None = None, cjk: bool = True) -> list[str]:
    """:func:`normalize` then :func:`split_words`: the words WordPiece then cuts into pieces.

    ``"Héllo, World!"`` -> ``['hello', ',', 'world', '!']``.
    """
    return split_words(normalize(text, lowercase=lowercase, strip_accents=strip_accents, cjk=cjk))
