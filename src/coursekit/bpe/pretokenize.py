"""GPT-2's byte map and pre-tokenisation pattern, in pure Python (see :mod:`coursekit.bpe`).

Radford et al., 2019, "Language Models are Unsupervised Multitask Learners", Sec. 2.2.
"""

from __future__ import annotations

import re
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


def _ranges(codepoints: list[int]) -> str:
    """A regex character-class body for a sorted list of code points, as ranges."""
    out, i = [], 0
    while i < len(codepoints):
        j = i
        while j + 1 < len(codepoints) and codepoints[j + 1] == codepoints[j] + 1:
            j += 1
        lo, hi = codepoints[i], codepoints[j]
        out.append(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}")
        i = j + 1
    return "".join(out)


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    """GPT-2's pre-tokenisation pattern, compiled for Python's ``re`` (about 0.2 s, once)."""
    majors = [c[0] for c in map(unicodedata.category, map(chr, range(0x110000)))]
    L = [cp for cp, m in enumerate(majors) if m == "L"]
    N = [cp for cp, m in enumerate(majors) if m == "N"]
    S = sorted({0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85} | {cp for cp, m in enumerate(majors) if m == "Z"})
    l, n, s = _ranges(L), _ranges(N), _ranges(S)
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
