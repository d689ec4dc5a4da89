"""The WordPiece tokeniser: greedy longest-match-first over a vocabulary (see
:mod:`coursekit.wordpiece` for the papers and the rules).

Wu et al., 2016, arXiv:1609.08144, Sec. 4.1; Devlin et al., 2019, arXiv:1810.04805, Sec. 3
("Input/Output Representations"). Legend: B sequences in a batch, T tokens per sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from ..utils import check_bool, check_choice, check_int, check_positive
from .basic import normalize, split_words

__all__ = ["SPECIAL_TOKENS", "WordPiece", "Encoded", "EncodedBatch", "TRUNCATION", "pad_encoded"]

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # BERT's, in the ids a trained vocabulary gives them
TRUNCATION = ("longest_first", "only_first", "only_second")


@dataclass(frozen=True)
class Encoded:
    """One input as BERT sees it: ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``.

    ``token_type_ids``: 0 for ``[CLS]``, A and the first ``[SEP]``; 1 for B and the
    last ``[SEP]`` (the segment embedding). ``attention_mask``: 1 for every token (the
    batch form pads with 0). ``word_ids``: the word each token belongs to, counted over
    A then B (so unique in the input), -1 for ``[CLS]``/``[SEP]``; a word is one
    pre-token, so all pieces of ``playing`` = ``play ##ing`` share one id.
    ``special_tokens_mask``: 1 for the added ``[CLS]``/``[SEP]``.
    """

    input_ids: list[int]
    token_type_ids: list[int]
    attention_mask: list[int]
    word_ids: list[int]
    special_tokens_mask: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True)
class EncodedBatch:
    """Inputs padded to one length. Each field (B, T) long; ``attention_mask`` 1 = real
    token, 0 = padding (transformers' convention); ``word_ids`` -1 at specials and padding;
    ``special_tokens_mask`` 1 at ``[CLS]``, ``[SEP]`` and ``[PAD]``."""

    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    attention_mask: torch.Tensor
    word_ids: torch.Tensor
    special_tokens_mask: torch.Tensor


class WordPiece:
    """BERT's tokeniser: :func:`~coursekit.wordpiece.basic.normalize` and
    :func:`~coursekit.wordpiece.basic.split_words`, then each word cut greedily into the
    longest vocabulary pieces from the left, continuations written ``##piece``.

    ``vocab``: the tokens in id order (a list) or token -> id (ids 0..len-1); it must hold
    the five special tokens. A word longer than ``max_input_chars_per_word`` characters,
    or one that has no cut into vocabulary pieces, becomes the single token ``[UNK]``.
    The special tokens written literally in the text (``"the [MASK] sat"``) are those
    tokens, as in transformers' ``BertTokenizer``; ``allow_special=False`` reads them
    as text.
    """

    def __init__(
        self,
        vocab: Sequence[str] | dict[str, int],
        *,
        lowercase: bool = True,
        strip_accents: bool | None = None,
        cjk: bool = True,
        max_input_chars_per_word: int = 100,
        prefix: str = "##",
    ) -> None:
        if isinstance(vocab, dict):
            if sorted(vocab.values()) != list(range(len(vocab))):
                raise ValueError("vocab must map tokens to the ids 0..len(vocab)-1, each once")
            tokens = sorted(vocab, key=vocab.__getitem__)
        elif isinstance(vocab, (list, tuple)) and all(isinstance(t, str) for t in vocab):
            tokens = list(vocab)
        else:
            raise ValueError(f"vocab must be a list of tokens or a dict token -> id, got {type(vocab).__name__}")
        missing = [s for s in SPECIAL_TOKENS if s not in tokens]
        if missing:
            raise ValueError(f"vocab must hold BERT's special tokens {SPECIAL_TOKENS}, got none of {missing}")
        check_bool("lowercase", lowercase)
        if strip_accents is not None:
            check_bool("strip_accents", strip_accents)
        check_bool("cjk", cjk)
        check_positive("max_input_chars_per_word", max_input_chars_per_word)
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty str, got {prefix!r}")
        self.tokens_by_id = tokens
        self.vocab = {}
        for i, t in enumerate(tokens):
            self.vocab.setdefault(t, i)  # a duplicated line keeps its first id, as transformers
        self.lowercase, self.strip_accents, self.cjk = lowercase, strip_accents, cjk
        self.max_input_chars_per_word = max_input_chars_per_word
        self.prefix = prefix
        self._special_re = re.compile("(" + "|".join(re.escape(s) for s in SPECIAL_TOKENS) + ")")
        self._cache: dict[str, tuple[int, ...]] = {}  # word -> ids
        self._text_cache: dict[tuple[str, bool], tuple[tuple[int, ...], tuple[int, ...]]] = {}

    # ---- ids of the special tokens
    @property
    def vocab_size(self) -> int:
        return len(self.tokens_by_id)

    pad_id = property(lambda self: self.vocab["[PAD]"])
    unk_id = property(lambda self: self.vocab["[UNK]"])
    cls_id = property(lambda self: self.vocab["[CLS]"])
    sep_id = property(lambda self: self.vocab["[SEP]"])
    mask_id = property(lambda self: self.vocab["[MASK]"])

    @property
    def special_ids(self) -> tuple[int, ...]:
        """The ids of ``[PAD]``, ``[UNK]``, ``[CLS]``, ``[SEP]``, ``[MASK]``."""
        return tuple(self.vocab[s] for s in SPECIAL_TOKENS)

    def __repr__(self) -> str:
        return f"WordPiece(vocab_size={self.vocab_size}, lowercase={self.lowercase})"

    # ---- files
    @classmethod
    def load(cls, vocab_txt: str | Path, **kwargs) -> "WordPiece":
        """Read a ``vocab.txt`` (one token per line, the line number its id), as BERT ships."""
        lines = Path(vocab_txt).read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls(lines, **kwargs)

    def save(self, path: str | Path) -> Path:
        """Write ``vocab.txt`` (a folder is given ``vocab.txt`` inside it)."""
        p = Path(path)
        if p.is_dir() or p.suffix == "":
            p.mkdir(parents=True, exist_ok=True)
            p = p / "vocab.txt"
        p.write_text("\n".join(self.tokens_by_id) + "\n", encoding="utf-8")
        return p

    # ---- the algorithm
    def words(self, text: str) -> list[str]:
        """The words (pre-tokens) of ``text``: normalised and split on spaces and punctuation."""
        return split_words(normalize(text, lowercase=self.lowercase, strip_accents=self.strip_accents, cjk=self.cjk))

    def word_pieces(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first (Wu et al. 2016; google-research/bert's
        ``WordpieceTokenizer``): from the word's start, take the longest vocabulary piece,
        then the longest ``##`` piece from where it ended, and so on. If some position
        has no piece, or the word is too long, the whole word is ``[UNK]``."""
        ids = self._cache.get(word)
        if ids is not None:
            return ids
        if len(word) > self.max_input_chars_per_word:
            ids = (self.unk_id,)
        else:
            out, start, n, vocab = [], 0, len(word), self.vocab
            while start < n:
                end = n
                while end > start:
                    piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                    if piece in vocab:
                        out.append(vocab[piece])
                        break
                    end -= 1
                if end == start:  # nothing matched at this position
                    out = [self.unk_id]
                    break
                start = end
            ids = tuple(out)
        self._cache[word] = ids
        return ids

    def _encode_words(self, text: str, allow_special: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Ids and each id's word index (counted from 0 in ``text``), remembered per text
        (a sentence is encoded once as segment A and again as B)."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        check_bool("allow_special", allow_special)
        key = (text, bool(allow_special))
        hit = self._text_cache.get(key)
        if hit is None:
            if len(self._text_cache) >= 100_000:
                self._text_cache.clear()
            hit = self._text_cache[key] = self._encode_text(text, allow_special)
        return hit

    def _encode_text(self, text: str, allow_special: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
        chunks = self._special_re.split(text) if allow_special and "[" in text else [text]
        ids: list[int] = []
        words: list[int] = []
        w = 0
        cache, pieces_of = self._cache, self.word_pieces
        for k, chunk in enumerate(chunks):
            if k % 2 == 1:
                ids.append(self.vocab[chunk])
                words.append(w)
                w += 1
                continue
            for word in self.words(chunk):
                pieces = cache.get(word) or pieces_of(word)
                ids += pieces
                words += [w] * len(pieces)
                w += 1
        return tuple(ids), tuple(words)

    def encode(self, text: str, *, allow_special: bool = True) -> list[int]:
        """The ids of ``text``, without ``[CLS]``/``[SEP]``."""
        return list(self._encode_words(text, allow_special)[0])

    def tokens(self, text: str, *, allow_special: bool = True) -> list[str]:
        """The pieces of ``text`` as strings: ``['the', 'token', '##iser']``."""
        return [self.tokens_by_id[i] for i in self.encode(text, allow_special=allow_special)]

    def decode(self, ids: Iterable[int] | torch.Tensor, *, skip_special: bool = True) -> str:
        """Pieces joined with spaces, ``##`` continuations glued to the piece before
        (transformers' ``decode`` without its clean-up of spaces before punctuation).
        ``skip_special`` drops the structural tokens ``[PAD]``, ``[CLS]`` and ``[SEP]``;
        ``[MASK]`` and ``[UNK]`` stay, since they stand for a word. Lower-casing and
        stripped accents do not come back."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        special = {self.pad_id, self.cls_id, self.sep_id}
        out: list[str] = []
        for i in ids:
            check_int("ids", i, min=0, max=self.vocab_size - 1)
            if skip_special and i in special:
                continue
            t = self.tokens_by_id[i]
            if t.startswith(self.prefix) and out:
                out[-1] += t[len(self.prefix):]
            else:
                out.append(t)
        return " ".join(out)

    def encode_pair(
        self,
        a: str,
        b: str | None = None,
        *,
        max_length: int | None = None,
        truncation: str = "longest_first",
        allow_special: bool = True,
    ) -> Encoded:
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]`` with segment ids and word ids.

        ``max_length`` (None: no limit) counts the added tokens. ``truncation`` cuts
        tokens off the end, as transformers' ``truncation=``: ``"longest_first"`` (if
        both are too long, A keeps ``m // 2`` and B ``m - m // 2`` of the ``m`` places,
        the extra one going to the longer; else only the longer is cut), ``"only_first"``
        or ``"only_second"`` (raises if that one would be cut to nothing). ``b=""`` is an
        empty segment B (``[CLS] A [SEP] [SEP]``); transformers reads an empty string
        as "no pair".
        """
        check_choice("truncation", truncation, TRUNCATION)
        ids_a, words_a = self._encode_words(a, allow_special)
        ids_b, words_b = self._encode_words(b, allow_special) if b is not None else (None, None)
        n_added = 2 if b is None else 3
        if max_length is not None:
            check_int("max_length", max_length, min=n_added)
            m = max_length - n_added
            na, nb = len(ids_a), len(ids_b) if ids_b is not None else 0
            if na + nb > m:
                if ids_b is None:
                    na = m
                elif truncation == "only_first":
                    if nb >= m:  # the tokenizers library refuses to cut a sequence to nothing
                        raise ValueError(f"max_length={max_length} leaves no room for A once B ({nb} tokens) is kept; "
                                         "use truncation='longest_first'")
                    na = m - nb
                elif truncation == "only_second":
                    if na >= m:
                        raise ValueError(f"max_length={max_length} leaves no room for B once A ({na} tokens) is kept; "
                                         "use truncation='longest_first'")
                    nb = m - na
                else:  # the tokenizers library's LongestFirst
                    short, long_ = sorted((na, nb))
                    long_ = max(short, m - short) if short <= m else short
                    if short + long_ > m:
                        short, long_ = m // 2, m // 2 + m % 2
                    na, nb = (long_, short) if na > nb else (short, long_)
                ids_a, words_a = ids_a[:na], words_a[:na]
                if ids_b is not None:
                    ids_b, words_b = ids_b[:nb], words_b[:nb]
        cls, sep = self.cls_id, self.sep_id
        input_ids = [cls, *ids_a, sep]
        types = [0] * len(input_ids)
        word_ids = [-1, *words_a, -1]
        special = [1] + [0] * len(ids_a) + [1]
        if ids_b is not None:
            shift = (max(words_a) + 1) if words_a else 0
            input_ids += [*ids_b, sep]
            types += [1] * (len(ids_b) + 1)
            word_ids += [w + shift for w in words_b] + [-1]
            special += [0] * len(ids_b) + [1]
        return Encoded(input_ids, types, [1] * len(input_ids), word_ids, special)

    def encode_batch(
        self,
        texts: Sequence[str],
        texts_b: Sequence[str] | None = None,
        *,
        max_length: int | None = None,
        truncation: str = "longest_first",
        pad_to_max_length: bool = False,
    ) -> EncodedBatch:
        """:meth:`encode_pair` for each text (and its partner in ``texts_b``), padded on the
        right with ``[PAD]`` to the longest input (or to ``max_length``)."""
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise ValueError(f"texts must be a list of str, got {type(texts).__name__}")
        if texts_b is not None and len(texts_b) != len(texts):
            raise ValueError(f"texts_b must have one text per text ({len(texts)}), got {len(texts_b)}")
        check_bool("pad_to_max_length", pad_to_max_length)
        if pad_to_max_length and max_length is None:
            raise ValueError("max_length must be given when pad_to_max_length=True, got None")
        encs = [
            self.encode_pair(t, texts_b[k] if texts_b is not None else None, max_length=max_length, truncation=truncation)
            for k, t in enumerate(texts)
        ]
        return pad_encoded(encs, self.pad_id, max_length if pad_to_max_length else None)


def pad_encoded(encs: Sequence[Encoded], pad_id: int, length: int | None = None) -> EncodedBatch:
    """Stack :class:`Encoded` inputs into an :class:`EncodedBatch`, right-padded to the
    longest (or to ``length``)."""
    if not encs:
        raise ValueError("encs must hold at least one Encoded input, got none")
    T = max(len(e) for e in encs) if length is None else length
    if any(len(e) > T for e in encs):
        raise ValueError(f"length must be at least the longest input ({max(len(e) for e in encs)}), got {T}")

    def stack(field: str, fill: int) -> torch.Tensor:
        flat: list[int] = []
        for e in encs:
            flat += getattr(e, field)
            flat += [fill] * (T - len(e))
        return torch.from_numpy(np.array(flat, dtype=np.int64)).view(len(encs), T)  # (B, T); faster than torch.tensor(list)

    return EncodedBatch(
        stack("input_ids", pad_id), stack("token_type_ids", 0), stack("attention_mask", 0),
        stack("word_ids", -1), stack("special_tokens_mask", 1),
    )
