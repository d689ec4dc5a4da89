"""GPT-2's byte map and pre-tokenisation pattern, in pure Python (see :mod:`coursekit.bpe`).

Radford et al., 2019, "Language Models are Unsupervised Multitask Learners", Sec. 2.2.
"""

from __future__ import annotations

import array
import re
import sys
import unicodedata
from functools import lru_cache

__all__ = ["EOT", "bytes_to_unicode", "pretokenize"]

EOT = "<|endoftext|>"  # GPT-2's one special token, between documents


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte (0-255) to a printable stand-in character.

    Bytes that are printable Latin-1 characters (``!`` to ``~``, ``¡`` to ``¬``, ``®``
    to ``ÿ``) stand for themselves; the other 68 (control characters, space, U+00AD
    soft hyphen) are shifted to U+0100 onwards, so a space byte is ``Ġ`` and a newline
    ``Ċ``. The dict's order (printable bytes first) is the order of GPT-2's first 256 ids.
    """
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


def _class(ranges: list[tuple[int, int]]) -> str:
    """A regex character-class body for sorted, disjoint (first, last) code-point ranges."""
    merged: list[list[int]] = []
    for lo, hi in ranges:
        if merged and lo == merged[-1][1] + 1:
            merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    return "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in merged)


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    """GPT-2's pre-tokenisation pattern, compiled for Python's ``re`` (a fraction of a
    second, once). Letters (categories L*) are exactly ``str.isalpha``; numbers
    (categories N*) lie among ``re``'s ``\\w`` characters that are not letters; Unicode
    White_Space lies among ``re``'s ``\\s``. ``re`` finds the candidate runs in C, and
    ``unicodedata.category`` settles only the characters a run's test leaves open."""
    codes = array.array("I", range(0x110000))
    codes[0xD800:0xE000] = array.array("I", bytes(4 * 0x800))  # surrogates: NUL, neither letter, number nor space
    every = codes.tobytes().decode(f"utf-32-{sys.byteorder[0]}e")  # all code points, built in C
    letters: list[tuple[int, int]] = []
    numbers: list[tuple[int, int]] = []
    for m in re.finditer(r"[^\W_]+", every):  # letters and numbers, in runs
        run, start = m.group(), m.start()
        if run.isalpha():
            letters.append((start, m.end() - 1))
            continue
        for i, ch in enumerate(run, start):
            major = unicodedata.category(ch)[0]
            if major == "L":
                letters.append((i, i))
            elif major == "N":
                numbers.append((i, i))
    spaces = [(m.start(), m.start()) for m in re.finditer(r"\s", every)
              if unicodedata.category(m.group())[0] == "Z" or m.group() in "\t\n\x0b\x0c\r\x85"]
    l, n, s = _class(letters), _class(numbers), _class(spaces)
    return re.compile(
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{l}]+| ?[{n}]+| ?[^{s}{l}{n}]+|[{s}]+(?![^{s}])|[{s}]+"
    )


def pretokenize(text: str) -> list[str]:
    """Split ``text`` into GPT-2's pre-tokens (the pieces BPE never merges across).

    ``"Hello world's 2024!!"`` -> ``['Hello', ' world', "'s", ' 2024', '!!']``: a word
    keeps the one space before it; runs of whitespace leave their last space to the
    next word. The pieces concatenate back to ``text``.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    return _pattern().findall(text)


def _to_symbols(piece: str) -> str:
    """A pre-token as the stand-in characters of its UTF-8 bytes."""
    table = bytes_to_unicode()
    return "".join(table[b] for b in piece.encode("utf-8"))
