"""Synthetic tasks and batching: copy, reverse and date normalisation.

Every dataset here is generated from a seed, so every chapter runs offline and
every number in the book can be regenerated. Shapes use the course legend:
B batch, S source length, T target length.

Tasks
-----
- ``copy``: ``a c b`` -> ``a c b``. The alignment is the diagonal.
- ``reverse``: ``a c b`` -> ``b c a``. The alignment is the anti-diagonal; a
  toy stand-in for translation between languages with different word order.
- ``date``: ``"Nov 21, 2026"``, ``"21 November 2026"``, ``"11/21/2026"`` ... ->
  ``"2026-11-21"``, character by character. The alignment is known: the
  year digits of the output come from the year in the input.
- ``translation`` (:func:`coursekit.translation.translation_task`): English-like
  sentences -> a verb-final language with agreement, from a small grammar.

Gold alignments. A task that knows which source token each target token
translates stores it in :attr:`Seq2SeqData.alignments` (copy: the diagonal;
reverse: the anti-diagonal; translation: from its grammar; date: None).
:func:`alignment_accuracy` scores a model's attention against it, and
:func:`gold_attention` / :func:`diagonal_attention` turn the gold alignment and
the monotone guess into weights of the model's shape, for heatmaps and for the
baseline.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import random
from dataclasses import dataclass, fields
from typing import Any, Callable, Iterator, Protocol, Sequence, TypeVar

import torch

from .utils import check_positive, check_tensor

__all__ = [
    "PAD",
    "BOS",
    "EOS",
    "UNK",
    "Vocab",
    "Seq2SeqData",
    "TensorBatch",
    "Batch",
    "BatchSampler",
    "copy_task",
    "reverse_task",
    "date_task",
    "translation_task",
    "DATE_FORMATS",
    "format_date",
    "pad_sequences",
    "decoder_io",
    "Alignment",
    "alignment_accuracy",
    "gold_attention",
    "diagonal_attention",
]

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)


class Vocab:
    """Token <-> id mapping with the four specials first: pad=0, bos=1, eos=2, unk=3."""

    def __init__(self, tokens: Sequence[str]):
        seen: dict[str, int] = {}
        for tok in (*SPECIALS, *tokens):
            if tok not in seen:
                seen[tok] = len(seen)
        self._stoi = seen
        self._itos = list(seen)

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: str) -> bool:
        return token in self._stoi

    def __repr__(self) -> str:
        shown = " ".join(self._itos[4:14])
        more = " ..." if len(self) > 14 else ""
        return f"Vocab({len(self)} tokens: 4 specials + {shown}{more})"

    @property
    def tokens(self) -> list[str]:
        return list(self._itos)

    def encode(self, tokens: Sequence[str], *, bos: bool = False, eos: bool = False) -> list[int]:
        ids = [self._stoi.get(t, self.unk_id) for t in tokens]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids: Sequence[int] | torch.Tensor, *, strip: bool = True) -> list[str]:
        """Ids to tokens; with ``strip`` it drops bos/pad and stops at the first eos."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        out = []
        for i in ids:
            if strip and i == self.eos_id:
                break
            if strip and i in (self.pad_id, self.bos_id):
                continue
            out.append(self._itos[i] if 0 <= i < len(self._itos) else UNK)
        return out


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int = 0) -> torch.Tensor:
    """Right-pad lists of ids into a (B, max_len) long tensor."""
    width = max((len(s) for s in seqs), default=0)
    out = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out


def decoder_io(targets: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher forcing's two views of the targets, each (B, T+1) long, 0-padded.

    ``tgt_in`` = bos + target: what the decoder reads at each step (the true
    previous token). ``tgt_out`` = target + eos: what it must predict there.
    Step t reads ``tgt_in[:, t]`` and is scored against ``tgt_out[:, t]``.
    """
    tgt_in = pad_sequences([[Vocab.bos_id, *t] for t in targets])
    tgt_out = pad_sequences([[*t, Vocab.eos_id] for t in targets])
    return tgt_in, tgt_out


_TB = TypeVar("_TB", bound="TensorBatch")


class TensorBatch:
    """Shared by the frozen dataclasses of batch tensors (:class:`Batch`, and
    :class:`coursekit.documents.DocBatch`): ``.to(device)`` moves every field, and
    ``len()`` is the batch size, the first dimension of the first field."""

    def to(self: _TB, device: torch.device | str) -> _TB:
        return type(self)(*(getattr(self, f.name).to(device) for f in fields(self)))

    def __len__(self) -> int:
        return getattr(self, fields(self)[0].name).shape[0]


@dataclass(frozen=True)
class Batch(TensorBatch):
    """One padded batch. ``src`` (B, S), ``tgt_in`` = bos + target, ``tgt_out`` = target + eos,
    both (B, T); all long, padded with 0. ``src_lengths`` (B,) counts real source tokens."""

    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor

    @property
    def src_mask(self) -> torch.Tensor:
        """(B, S) bool, True where the source holds a real token (may be attended)."""
        return self.src != Vocab.pad_id

    @property
    def tgt_mask(self) -> torch.Tensor:
        """(B, T) bool, True where ``tgt_out`` holds a real token (counts in the loss)."""
        return self.tgt_out != Vocab.pad_id



Alignment = tuple[int | None, ...]
"""One pair's gold alignment: for each target token, the index of the source token it
translates, or None (a token with no source, such as an inserted article)."""


@dataclass(frozen=True)
class Seq2SeqData:
    """A generated seq2seq task: token pairs plus the two vocabularies.

    ``alignments``, when the task knows them, holds one :data:`Alignment` per pair:
    ``alignments[i][t]`` is the index in ``pairs[i][0]`` of the source token that target
    token ``pairs[i][1][t]`` translates, or None. The end-of-sequence token has no entry.
    """

    name: str
    pairs: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
    src_vocab: Vocab
    tgt_vocab: Vocab
    alignments: tuple[Alignment, ...] | None = None

    def __post_init__(self):
        if self.alignments is None:
            return
        if len(self.alignments) != len(self.pairs):
            raise ValueError(
                f"alignments must hold one alignment per pair: {len(self.pairs)} pairs, got {len(self.alignments)}"
            )
        for i, ((src, tgt), align) in enumerate(zip(self.pairs, self.alignments)):
            if len(align) != len(tgt) or any(j is not None and not 0 <= j < len(src) for j in align):
                raise ValueError(
                    f"alignments[{i}] must give, for each of the {len(tgt)} target tokens, a source index in "
                    f"[0, {len(src)}) or None; got {align!r}"
                )

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self.pairs[i]

    def subset(self, indices: Sequence[int]) -> "Seq2SeqData":
        indices = list(indices)
        aligns = None if self.alignments is None else tuple(self.alignments[i] for i in indices)
        return Seq2SeqData(self.name, tuple(self.pairs[i] for i in indices), self.src_vocab, self.tgt_vocab, aligns)

    def where(self, keep: Callable[[tuple[str, ...], tuple[str, ...]], bool]) -> "Seq2SeqData":
        """The pairs for which ``keep(src, tgt)`` is true (e.g. one source length)."""
        return self.subset([i for i, p in enumerate(self.pairs) if keep(*p)])

    def batch(self, indices: Sequence[int] | None = None) -> Batch:
        """Encode and pad the chosen pairs (all of them by default)."""
        pairs = self.pairs if indices is None else [self.pairs[i] for i in indices]
        if not pairs:
            raise ValueError(f"cannot batch an empty selection of the {self.name!r} task")
        src = [self.src_vocab.encode(s) for s, _ in pairs]
        tgt_in, tgt_out = decoder_io([self.tgt_vocab.encode(t) for _, t in pairs])
        return Batch(
            src=pad_sequences(src),
            src_lengths=torch.tensor([len(s) for s in src], dtype=torch.long),
            tgt_in=tgt_in,
            tgt_out=tgt_out,
        )

    def batches(self, batch_size: int) -> Iterator[Batch]:
        """Consecutive batches in stored order (for evaluation)."""
        check_positive("batch_size", batch_size)
        for start in range(0, len(self), batch_size):
            yield self.batch(range(start, min(start + batch_size, len(self))))


class Batchable(Protocol):
    """What :class:`BatchSampler` needs of a dataset: a length, and a batch of chosen indices
    (:class:`Seq2SeqData` here, :class:`coursekit.documents.DocumentData` in Chapter 3)."""

    def __len__(self) -> int: ...

    def batch(self, indices: Sequence[int]) -> Any: ...


class BatchSampler:
    """Shuffled training batches as a pure function of the step number.

    ``sampler(step)`` returns the same batch for the same step on any machine,
    so a run resumed from a checkpoint at step k sees exactly the batches an
    uninterrupted run would have seen. Each epoch is a fresh permutation drawn
    from ``(seed, epoch)``; the last partial batch of an epoch is dropped.
    """

    def __init__(self, data: Batchable, batch_size: int, seed: int = 0):
        check_positive("batch_size", batch_size)
        if len(data) < batch_size:
            raise ValueError(f"batch_size={batch_size} is larger than the dataset ({len(data)} examples)")
        self.data, self.batch_size, self.seed = data, batch_size, seed
        self.batches_per_epoch = len(data) // batch_size
        self._epoch, self._perm = -1, None

    def __call__(self, step: int) -> Any:
        epoch, k = divmod(step, self.batches_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(len(self.data), generator=g).tolist()
        return self.data.batch(self._perm[k * self.batch_size : (k + 1) * self.batch_size])


def _lengths(lengths: tuple[int, int] | Sequence[int], n: int, rng: random.Random) -> list[int]:
    """``(lo, hi)`` draws uniformly from lo..hi inclusive; a list draws from its elements."""
    if isinstance(lengths, tuple) and len(lengths) == 2:
        lo, hi = lengths
        if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
            raise ValueError(f"lengths must be (lo, hi) with 1 <= lo <= hi, got {lengths!r}")
        return [rng.randint(lo, hi) for _ in range(n)]
    choices = list(lengths)
    if not choices or any(not isinstance(x, int) or x < 1 for x in choices):
        raise ValueError(f"lengths must be (lo, hi) or a non-empty list of positive ints, got {lengths!r}")
    return [rng.choice(choices) for _ in range(n)]


def _symbol_task(name, n, lengths, vocab_size, seed, transform, align) -> Seq2SeqData:
    check_positive("n", n)
    if not isinstance(vocab_size, int) or not 2 <= vocab_size <= 26:
        raise ValueError(f"vocab_size must be an int in 2..26 (letters a..z), got {vocab_size!r}")
    rng = random.Random(seed)
    symbols = [chr(ord("a") + i) for i in range(vocab_size)]
    pairs = []
    for length in _lengths(lengths, n, rng):
        src = tuple(rng.choice(symbols) for _ in range(length))
        pairs.append((src, tuple(transform(src))))
    vocab = Vocab(symbols)
    aligns = tuple(tuple(align(len(s))) for s, _ in pairs)
    return Seq2SeqData(name, tuple(pairs), vocab, vocab, aligns)


def copy_task(n: int, lengths: tuple[int, int] | Sequence[int] = (3, 12), vocab_size: int = 10, seed: int = 0) -> Seq2SeqData:
    """``n`` random strings over the first ``vocab_size`` letters; the target is the source.
    Gold alignment: the diagonal (target token t copies source token t)."""
    return _symbol_task("copy", n, lengths, vocab_size, seed, lambda s: s, lambda S: range(S))


def reverse_task(n: int, lengths: tuple[int, int] | Sequence[int] = (3, 12), vocab_size: int = 10, seed: int = 0) -> Seq2SeqData:
    """``n`` random strings; the target is the source reversed. Gold alignment: the
    anti-diagonal (target token t is source token S - 1 - t)."""
    return _symbol_task("reverse", n, lengths, vocab_size, seed, lambda s: s[::-1], lambda S: range(S - 1, -1, -1))


# Surface forms of one date. Slashes are always US order (month/day/year) and
# dots always European order (day.month.year), so no input is ambiguous.
DATE_FORMATS = (
    "{d} {B} {Y}",  # 21 November 2026
    "{d} {b} {Y}",  # 21 Nov 2026
    "{B} {d}, {Y}",  # November 21, 2026
    "{b} {d}, {Y}",  # Nov 21, 2026
    "{m}/{d}/{Y}",  # 11/21/2026
    "{dd}.{mm}.{Y}",  # 21.11.2026
    "{A}, {d} {B} {Y}",  # Saturday, 21 November 2026
    "{d} {b_lower} {Y}",  # 21 nov 2026
    "{Y}/{mm}/{dd}",  # 2026/11/21
)


def format_date(date: _dt.date, fmt: str) -> str:
    """Render ``date`` in one of :data:`DATE_FORMATS` (locale-independent)."""
    fields = {
        "d": str(date.day),
        "dd": f"{date.day:02d}",
        "m": str(date.month),
        "mm": f"{date.month:02d}",
        "Y": f"{date.year:04d}",
        "B": calendar.month_name[date.month],
        "b": calendar.month_abbr[date.month],
        "b_lower": calendar.month_abbr[date.month].lower(),
        "A": calendar.day_name[date.weekday()],
    }
    return fmt.format(**fields)


def date_task(
    n: int,
    years: tuple[int, int] = (1950, 2049),
    formats: Sequence[str] = DATE_FORMATS,
    seed: int = 0,
) -> Seq2SeqData:
    """``n`` dates in random surface forms, character-level, -> ISO ``YYYY-MM-DD``."""
    check_positive("n", n)
    lo, hi = years
    if not (1 <= lo <= hi <= 9999):
        raise ValueError(f"years must be (lo, hi) with 1 <= lo <= hi <= 9999, got {years!r}")
    formats = tuple(formats)
    if not formats:
        raise ValueError("formats must name at least one date format")
    rng = random.Random(seed)
    start, span = _dt.date(lo, 1, 1).toordinal(), _dt.date(hi, 12, 31).toordinal() - _dt.date(lo, 1, 1).toordinal()
    pairs = []
    for _ in range(n):
        date = _dt.date.fromordinal(start + rng.randint(0, span))
        src = format_date(date, rng.choice(formats))
        pairs.append((tuple(src), tuple(date.isoformat())))
    # Vocabularies cover every character any format can produce, not just those drawn.
    src_chars = sorted(
        set("0123456789 ,./")
        | set("".join(calendar.month_name[1:]) + "".join(calendar.month_abbr[1:]).lower() + "".join(calendar.day_name))
    )
    return Seq2SeqData("date", tuple(pairs), Vocab(src_chars), Vocab(list("0123456789-")))


# ------------------------------------------------------------------ gold alignments
def _check_aligned(data: Seq2SeqData) -> tuple[Alignment, ...]:
    if not isinstance(data, Seq2SeqData):
        raise ValueError(f"data must be a Seq2SeqData, got {type(data).__name__}")
    if data.alignments is None:
        raise ValueError(f"the {data.name!r} task has no gold alignments (data.alignments is None)")
    if not len(data):
        raise ValueError(f"data must hold at least one pair, got an empty {data.name!r} task")
    return data.alignments


def _one_hot(data: Seq2SeqData, aligns: Sequence[Sequence[int | None]]) -> torch.Tensor:
    """(B, T, S) float: 1 at (b, t, aligns[b][t]); T = longest target + 1 (the eos step) and
    S = longest source, the widths of ``data.batch()``'s ``tgt_out`` and ``src``."""
    S = max(len(s) for s, _ in data.pairs)
    T = max(len(t) for _, t in data.pairs) + 1
    out = torch.zeros(len(data), T, S)
    rows = [(b, t, j) for b, align in enumerate(aligns) for t, j in enumerate(align) if j is not None]
    if rows:
        b, t, j = torch.tensor(rows).unbind(1)
        out[b, t, j] = 1.0
    return out


def gold_attention(data: Seq2SeqData) -> torch.Tensor:
    """The gold alignment of every pair as attention weights, (B, T, S) float, the shape of a
    model's attention on ``data.batch()``: row t is one-hot on the source token that target
    token t translates, and all zero where it has none (and at eos and padding). For heatmaps."""
    return _one_hot(data, _check_aligned(data))


def diagonal_attention(data: Seq2SeqData) -> torch.Tensor:
    """The monotone guess as attention weights, (B, T, S) float like :func:`gold_attention`:
    target token t of a pair with S source and T target tokens looks at source token
    ``round(t (S - 1) / (T - 1))``, the diagonal stretched to the pair's two lengths. It is the
    baseline an attention map has to beat on a task whose alignment is not a diagonal."""
    _check_aligned(data)
    guess = []
    for src, tgt in data.pairs:
        S, T = len(src), len(tgt)
        guess.append([int(t * (S - 1) / max(T - 1, 1) + 0.5) for t in range(T)])
    return _one_hot(data, guess)


def alignment_accuracy(weights: torch.Tensor, gold: Sequence[Sequence[int | None]]) -> float:
    """The share of target tokens whose attention peaks on the source token they translate.

    weights (B, T, S) float: row t is the attention used to predict target token t
    (``tgt_out[:, t]``), as :class:`coursekit.seq2seq.Seq2Seq` returns it, or one head (or the
    mean of the heads) of a Transformer's cross-attention. gold: one :data:`Alignment` per
    row (``data.alignments``, or the rows of a subset). Only target tokens with a gold
    source token count: None tokens, eos and padding are skipped. Compare with the same score
    of :func:`diagonal_attention` (the monotone guess) and of :func:`gold_attention` (1.0).
    """
    dims = check_tensor("weights", weights, shape=("B", "T", "S"), dtype="float")
    B, T, S = dims["B"], dims["T"], dims["S"]
    if len(gold) != B:
        raise ValueError(f"gold must hold one alignment per row of weights (B={B}), got {len(gold)}")
    peak = weights.argmax(dim=-1).tolist()  # (B, T): one host sync
    hits = total = 0
    for b, align in enumerate(gold):
        if len(align) > T:
            raise ValueError(f"gold[{b}] aligns {len(align)} target tokens, but weights has only T={T} steps")
        for t, j in enumerate(align):
            if j is None:
                continue
            if not 0 <= j < S:
                raise ValueError(f"gold[{b}][{t}] = {j} is not a source position of weights (S={S})")
            total += 1
            hits += peak[b][t] == j
    if total == 0:
        raise ValueError("gold aligns no target token to a source token: there is nothing to score")
    return hits / total


def translation_task(*args, **kwargs) -> Seq2SeqData:
    """The toy translation task, beside the other tasks: :func:`coursekit.translation.translation_task`
    (English-like SVO source, verb-final target with agreement, gold alignments). Defined in its own
    module, which builds on this one; imported here on first call, so both import paths work."""
    from .translation import translation_task as make

    return make(*args, **kwargs)
