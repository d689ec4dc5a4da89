"""The byte-level BPE tokeniser and its trainer (see :mod:`coursekit.bpe` for the papers and rules).

Sennrich et al., 2016, arXiv:1508.07909, Sec. 3.2; Radford et al., 2019, Sec. 2.2.
Legend: N tokens in an encoded corpus; a *word* is one pre-token, a *symbol* one token
id inside it while training.
"""

from __future__ import annotations

import heapq
import json
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence, TypeVar

import torch

from ..utils import check_int, check_positive
from .pretokenize import EOT, _byte_decoder, _to_symbols, bytes_to_unicode, pretokenize

__all__ = ["ByteBPE", "train_bpe", "encode_corpus", "merge_pair"]

T = TypeVar("T")


class ByteBPE:
    """A byte-level BPE tokeniser: a vocabulary (token -> id) and ranked merges.

    ``vocab`` maps each token, written in :func:`bytes_to_unicode` characters, to its
    id (ids must be 0..len-1; all 256 byte tokens and ``special_tokens`` present);
    ``merges`` lists ``(left, right)`` pairs, rank 0 first, each part and its
    concatenation in ``vocab``. Build one with :func:`train_bpe` or :meth:`load`.
    """

    def __init__(
        self,
        vocab: dict[str, int],
        merges: Sequence[tuple[str, str]],
        special_tokens: Sequence[str] = (EOT,),
    ) -> None:
        if not isinstance(vocab, dict) or sorted(vocab.values()) != list(range(len(vocab))):
            raise ValueError("vocab must be a dict token -> id with ids 0..len(vocab)-1, each once")
        missing = [c for c in bytes_to_unicode().values() if c not in vocab]
        if missing:
            raise ValueError(f"vocab must hold all 256 byte tokens, got {len(missing)} missing (e.g. {missing[0]!r})")
        for s in special_tokens:
            if s not in vocab:
                raise ValueError(f"special_tokens must be in vocab, got {s!r} which is not")
        ranks: dict[tuple[str, str], int] = {}
        for rank, pair in enumerate(merges):
            if len(pair) != 2 or any(p not in vocab for p in pair) or pair[0] + pair[1] not in vocab:
                raise ValueError(f"merges[{rank}] must be a pair of tokens whose parts and join are in vocab, got {pair!r}")
            ranks.setdefault(tuple(pair), rank)
        self.vocab = dict(vocab)
        self.merges = [tuple(p) for p in merges]
        self.special_tokens = tuple(special_tokens)
        self._ranks = ranks
        self._inverse = {i: t for t, i in self.vocab.items()}
        self._cache: dict[str, tuple[int, ...]] = {}
        self.merge_counts: tuple[int, ...] | None = None  # each merge's pair count when trained (train_bpe sets it)
        self._special_re = (
            re.compile("(" + "|".join(re.escape(s) for s in sorted(self.special_tokens, key=len, reverse=True)) + ")")
            if self.special_tokens
            else None
        )

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def eot_id(self) -> int:
        """The id of ``<|endoftext|>``."""
        if EOT not in self.vocab:
            raise ValueError(f"this tokeniser has no {EOT!r} token")
        return self.vocab[EOT]

    def __repr__(self) -> str:
        return f"ByteBPE(vocab_size={self.vocab_size}, merges={len(self.merges)}, special_tokens={self.special_tokens})"

    def _bpe(self, piece: str) -> tuple[int, ...]:
        """The ids of one pre-token: merge the lowest-ranked adjacent pair until none is left."""
        ids = self._cache.get(piece)
        if ids is None:
            ids = self._cache[piece] = tuple(self.vocab[p] for p in self._merge(_to_symbols(piece)))
        return ids

    def _merge(self, symbols: str) -> list[str]:
        """GPT-2's ``bpe``: the tokens of one pre-token written in byte symbols."""
        parts = list(symbols)
        ranks = self._ranks
        while len(parts) > 1:
            pairs = [(ranks.get((a, b)), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            best = min((r for r, _ in pairs if r is not None), default=None)
            if best is None:
                break
            a, b = self.merges[best]
            parts = merge_pair(parts, (a, b), a + b)
        return parts

    def encode(self, text: str, *, allow_special: bool = True) -> list[int]:
        """Token ids of ``text``; with ``allow_special`` a literal ``<|endoftext|>`` in the
        text becomes the special token (as transformers' GPT-2 tokenizer does), else it is
        encoded as ordinary text. Lone surrogates (not Unicode scalar values) raise."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        chunks = self._special_re.split(text) if (allow_special and self._special_re) else [text]
        out: list[int] = []
        for k, chunk in enumerate(chunks):
            if k % 2 == 1:
                out.append(self.vocab[chunk])
                continue
            for piece in pretokenize(chunk):
                out.extend(self._bpe(piece))
        return out

    def token_bytes(self, i: int) -> bytes:
        """The bytes token ``i`` stands for (a special token: its UTF-8 text)."""
        check_int("i", i, min=0, max=self.vocab_size - 1)
        token = self._inverse[int(i)]
        if token in self.special_tokens:
            return token.encode("utf-8")
        return bytes(_byte_decoder()[c] for c in token)

    def decode(self, ids: Iterable[int] | torch.Tensor) -> str:
        """The text of ``ids``; bytes that do not form valid UTF-8 (a sequence cut inside a
        character) become U+FFFD, as GPT-2's ``errors="replace"``."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")

    def tokens(self, text: str) -> list[str]:
        """The readable pieces ``text`` is cut into: each token's bytes as text, with a
        byte that is only part of a character shown as ``\\xNN``."""
        return [self.token_bytes(i).decode("utf-8", errors="backslashreplace") for i in self.encode(text)]

    def save(self, directory: str | Path) -> Path:
        """Write ``vocab.json`` and ``merges.txt`` in GPT-2's format to ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in self.merges]
        (d / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return d

    @classmethod
    def load(cls, directory: str | Path, special_tokens: Sequence[str] = (EOT,)) -> "ByteBPE":
        """Read ``vocab.json`` and ``merges.txt`` (GPT-2's own files load too)."""
        d = Path(directory)
        vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
        merges = []
        for line in (d / "merges.txt").read_text(encoding="utf-8").splitlines():
            if line.startswith("#version") or not line.strip():
                continue
            a, b = line.split(" ")
            merges.append((a, b))
        return cls(vocab, merges, [s for s in special_tokens if s in vocab])


def merge_pair(symbols: Sequence[T], pair: tuple[T, T], new: T) -> list[T]:
    """Replace every occurrence of ``pair`` in ``symbols`` by ``new``, scanning left to right,
    so occurrences never overlap (``a a a`` with the pair ``(a, a)`` becomes ``aa a``): the
    merge step of Sennrich et al.'s Algorithm 1, used by the trainer and the encoder alike."""
    a, b = pair
    out, i, n = [], 0, len(symbols)
    while i < n:
        if i + 1 < n and symbols[i] == a and symbols[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def _as_docs(text_or_docs: str | Sequence[str]) -> list[str]:
    if isinstance(text_or_docs, str):
        return [text_or_docs]
    docs = list(text_or_docs)
    if not all(isinstance(d, str) for d in docs):
        raise ValueError("text_or_docs must be a str or a sequence of str, got a sequence holding non-str items")
    return docs


def _word_counts(docs: list[str]) -> Counter:
    """Pre-token frequencies, each pre-token as its byte symbols."""
    counts: Counter = Counter()
    for doc in docs:
        counts.update(pretokenize(doc))
    symbols: Counter = Counter()
    for piece, c in counts.items():
        symbols[_to_symbols(piece)] += c
    return symbols


def _train(words: list[list[int]], freqs: list[int], n_vocab: int, vocab_size: int, min_frequency: int,
           strings: list[str]) -> tuple[list[tuple[int, int]], list[int]]:
    """The merge loop on words as lists of ids (changed in place); returns the merged
    pairs (as ids) and each one's count when chosen."""
    pair_counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    for wi, (w, f) in enumerate(zip(words, freqs)):
        for p in zip(w, w[1:]):
            pair_counts[p] = pair_counts.get(p, 0) + f
            where.setdefault(p, set()).add(wi)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    vocab = {s: i for i, s in enumerate(strings)}
    merges, counts = [], []
    while n_vocab < vocab_size and heap:
        negc, pair = heapq.heappop(heap)
        c = pair_counts.get(pair, 0)
        if c != -negc:  # stale entry: the pair's count fell since it was pushed
            if c > 0:
                heapq.heappush(heap, (-c, pair))
            continue
        if c < min_frequency:
            break
        a, b = pair
        s = strings[a] + strings[b]
        new = vocab.get(s)
        if new is None:  # two merges can make the same string: one token, as in tokenizers
            new = vocab[s] = len(strings)
            strings.append(s)
            n_vocab += 1
        merges.append(pair)
        counts.append(c)
        delta: dict[tuple[int, int], int] = {}
        for wi in where.pop(pair):
            w, f = words[wi], freqs[wi]
            if len(w) < 2:
                continue
            for p in zip(w, w[1:]):
                delta[p] = delta.get(p, 0) - f
            words[wi] = merged = merge_pair(w, pair, new)
            for p in zip(merged, merged[1:]):
                delta[p] = delta.get(p, 0) + f
                where.setdefault(p, set()).add(wi)
        pair_counts.pop(pair, None)
        for p, d in delta.items():
            if p == pair or d == 0:
                continue
            pair_counts[p] = pair_counts.get(p, 0) + d
            if d > 0:
                heapq.heappush(heap, (-pair_counts[p], p))
    return merges, counts


def train_bpe(
    text_or_docs: str | Sequence[str],
    vocab_size: int,
    *,
    min_frequency: int = 2,
    special_tokens: Sequence[str] = (EOT,),
) -> ByteBPE:
    """Learn a byte-level BPE with ``vocab_size`` tokens (256 bytes + merges + special tokens).

    ``text_or_docs``: one string or a list of documents (pre-tokens never cross a
    document). Merging stops early when no pair occurs ``min_frequency`` times. The
    returned tokeniser carries ``merge_counts``: each merge's pair count when chosen.
    """
    docs = _as_docs(text_or_docs)
    n_special = len(special_tokens)
    check_int("vocab_size", vocab_size, min=256 + n_special)
    check_positive("min_frequency", min_frequency)
    byte_tokens = list(bytes_to_unicode().values())  # GPT-2's id order
    ids = {c: i for i, c in enumerate(byte_tokens)}
    word_counts = _word_counts(docs)
    words = [[ids[c] for c in w] for w in word_counts]
    freqs = list(word_counts.values())
    strings = list(byte_tokens)
    merges, counts = _train(words, freqs, 256 + n_special, vocab_size, min_frequency, strings)
    vocab = {s: i for i, s in enumerate(strings)}
    for s in special_tokens:
        vocab[s] = len(vocab)
    bpe = ByteBPE(vocab, [(strings[a], strings[b]) for a, b in merges], special_tokens)
    bpe.merge_counts = tuple(counts)
    return bpe


def encode_corpus(bpe: ByteBPE, docs: Sequence[str]) -> torch.Tensor:
    """The documents encoded and joined by ``<|endoftext|>``: an (N,) long tensor."""
    if not isinstance(bpe, ByteBPE):
        raise ValueError(f"bpe must be a ByteBPE, got {type(bpe).__name__}")
    docs = _as_docs(docs)
    eot = bpe.eot_id
    out: list[int] = []
    for k, doc in enumerate(docs):
        if k:
            out.append(eot)
        out.extend(bpe.encode(doc, allow_special=False))
    return torch.tensor(out, dtype=torch.long)
