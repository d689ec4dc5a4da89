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

from __future__ import annotations

import heapq
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import torch

from .utils import check_int, check_positive

__all__ = [
    "EOT",
    "bytes_to_unicode",
    "pretokenize",
    "ByteBPE",
    "train_bpe",
    "encode_corpus",
    "IdComparison",
    "compare_ids",
    "MergeComparison",
    "compare_with_tokenizers",
]

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
            merged, i = [], 0
            while i < len(parts):  # every occurrence, left to right
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
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
            merged, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    merged.append(new)
                    i += 2
                else:
                    merged.append(w[i])
                    i += 1
            words[wi] = merged
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
    bpe.merge_counts = counts
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


# --- Comparisons with the reference implementations (transformers, tokenizers are
# --- test/book extras: imported only inside these functions).


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
    # Both pairs' counts in coursekit's state after the agreed merges.
    vocab = {c: i for i, c in enumerate(bytes_to_unicode().values())}
    for a, b in ours.merges[:prefix]:
        vocab.setdefault(a + b, len(vocab))
    before = ByteBPE(vocab, ours.merges[:prefix], ())
    counts: Counter = Counter()
    for word, f in _word_counts(docs).items():
        parts = before._merge(word)
        for p in zip(parts, parts[1:]):
            counts[p] += f
    return MergeComparison(
        len(ours.merges), len(theirs), prefix, n_common, prefix, mine, other,
        counts[mine] if mine else None, counts[other] if other else None,
    )
