"""Decoding and the teacher-forced loss, shared by every sequence model in the course
(the RNN encoder-decoders of Chapters 1-2, the Transformer of Chapter 5).

- Greedy and beam search over a *step function*: any model that can say, given the
  previous token of each row and its own decoder state, how likely each next token is.
  Sutskever, Vinyals & Le (2014), https://arxiv.org/abs/1409.3215, Sec. 3.1 (a
  left-to-right beam search decoder); Wu et al. (2016), *Google's Neural Machine
  Translation System*, https://arxiv.org/abs/1609.08144, Sec. 7 (length normalisation).
- One check of an encoder-decoder's source batch (ids in range, lengths in [1, S]).
- The teacher-forced token cross-entropy with padding ignored, optionally with label
  smoothing (Szegedy et al. 2016, https://arxiv.org/abs/1512.00567, Sec. 7; Vaswani et
  al. 2017, Sec. 5.4).

A step function has the signature ``step(y_prev, state, t) -> (logits, state, weights)``:
``y_prev`` (N,) long, the previous token of each of N rows; ``state`` whatever the model
carries from step to step (an RNN's hidden state, a Transformer's prefix); ``t`` the step
index; ``logits`` (N, V) float; ``weights`` (N, S) attention over the source, or None.
Beam search also needs ``reorder(state, rows) -> state``, which keeps the rows ``rows``
(N,) long of every tensor in the state, in that order.

Legend: B batch, K beam size, N = B * K rows, S source length, T output length,
V vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F

from .data import Vocab
from .utils import check_ids, check_int, check_positive, check_real, check_tensor

__all__ = [
    "Decoded",
    "StepFn",
    "Decodable",
    "beam_step",
    "greedy_search",
    "beam_search",
    "sequence_loss",
    "teacher_forced_loss",
    "strip_special",
    "check_source",
]

StepFn = Callable[[torch.Tensor, Any, int], tuple[torch.Tensor, Any, "torch.Tensor | None"]]


@dataclass(frozen=True)
class Decoded:
    """Decoder output. ``tokens`` (B, T) long, padded with 0 after each sequence's eos (eos
    included); ``alignments`` (B, T, S) or None; ``scores`` (B,) total log-probability."""

    tokens: torch.Tensor
    alignments: torch.Tensor | None
    scores: torch.Tensor


def beam_step(scores: torch.Tensor, logp: torch.Tensor, beam_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of beam search: extend every hypothesis by every token, keep the best ``beam_size``.

    scores (B, K) float: log-probability of each live hypothesis so far;
    logp (B, K, V) float: log-probability of each next token under each one.
    Returns ``new_scores`` (B, beam_size) in descending order, ``parents``
    (B, beam_size) long (which hypothesis each came from) and ``tokens``
    (B, beam_size) long (which token extended it). The best K extensions are
    chosen over all K*V candidates together, not the best token of each beam.
    """
    dims = check_tensor("scores", scores, shape=("B", "K"), dtype="float")
    dims = check_tensor("logp", logp, shape=("B", "K", "V"), dtype="float", dims=dims)
    check_positive("beam_size", beam_size)
    B, K, V = logp.shape
    total = (scores[:, :, None] + logp).reshape(B, K * V)  # (B, K*V) every extension
    new_scores, flat = total.topk(beam_size, dim=1)  # (B, beam_size), descending
    return new_scores, flat // V, flat % V


def _check_search(max_len: int, bos_id: int, eos_id: int, pad_id: int) -> None:
    check_positive("max_len", max_len)
    for name, value in (("bos_id", bos_id), ("eos_id", eos_id), ("pad_id", pad_id)):
        check_int(name, value, min=0)


def greedy_search(
    step: StepFn,
    state: Any,
    batch_size: int,
    max_len: int,
    *,
    device: torch.device | str | None = None,
    bos_id: int = Vocab.bos_id,
    eos_id: int = Vocab.eos_id,
    pad_id: int = Vocab.pad_id,
) -> Decoded:
    """Pick the most likely token at every step until every row has emitted eos (or ``max_len``).

    Rows that have finished emit ``pad_id`` and add nothing to their score; their
    attention weights are zero. Returns :class:`Decoded` with ``alignments`` (B, T, S)
    when the step function returns weights, else None.
    """
    check_positive("batch_size", batch_size)
    _check_search(max_len, bos_id, eos_id, pad_id)
    B = batch_size
    y = torch.full((B,), bos_id, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    score = torch.zeros(B, device=device)
    tokens, weights = [], []
    for t in range(max_len):
        logits, state, w = step(y, state, t)
        logp = torch.log_softmax(logits.float(), dim=-1)  # (B, V)
        y = logp.argmax(-1)
        score = score + torch.where(done, 0.0, logp.gather(1, y[:, None])[:, 0])
        y = y.masked_fill(done, pad_id)  # finished sequences emit padding
        tokens.append(y)
        weights.append(None if w is None else w.masked_fill(done[:, None], 0.0))
        done = done | (y == eos_id)
        if bool(done.all()):
            break
    alignments = None if weights[0] is None else torch.stack(weights, dim=1)  # (B, T, S)
    return Decoded(torch.stack(tokens, dim=1), alignments, score)


def beam_search(
    step: StepFn,
    state: Any,
    reorder: Callable[[Any, torch.Tensor], Any],
    batch_size: int,
    beam_size: int,
    max_len: int,
    *,
    length_penalty: float = 1.0,
    device: torch.device | str | None = None,
    bos_id: int = Vocab.bos_id,
    eos_id: int = Vocab.eos_id,
    pad_id: int = Vocab.pad_id,
) -> Decoded:
    """Keep the ``beam_size`` best partial outputs of each of ``batch_size`` sources at every step.

    ``state`` holds B * K rows, hypothesis k of source b in row b * K + k (repeat each
    source's state K times with ``repeat_interleave``). Finished hypotheses are ranked by
    ``log p / length ** length_penalty`` (0 = raw log-probability, which favours short
    outputs; 1 = per-token average). Each source decides for itself: if any of its
    hypotheses has finished, the best finished one wins; if none has (``max_len`` ran out),
    the best unfinished one does. With ``beam_size=1`` this is :func:`greedy_search`.
    """
    check_positive("batch_size", batch_size)
    check_positive("beam_size", beam_size)
    _check_search(max_len, bos_id, eos_id, pad_id)
    check_real("length_penalty", length_penalty)
    B, K = batch_size, beam_size
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # start from one live hypothesis per source, not K copies
    y = torch.full((B * K,), bos_id, dtype=torch.long, device=device)
    done = torch.zeros(B, K, dtype=torch.bool, device=device)
    lengths = torch.zeros(B, K, device=device)
    tokens = torch.zeros(B, K, 0, dtype=torch.long, device=device)
    aligns = None
    offsets = torch.arange(B, device=device)[:, None] * K  # (B, 1) first row of each source

    def pick(x: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:  # (B, K, ...) rows reordered by parent
        return x.gather(1, parents.view(B, K, *[1] * (x.dim() - 2)).expand(B, K, *x.shape[2:]))

    for t in range(max_len):
        logits, state, w = step(y, state, t)
        V = logits.shape[-1]
        logp = torch.log_softmax(logits.float(), dim=-1).view(B, K, V)
        # A finished hypothesis may only be extended by padding, at no cost.
        frozen = torch.full((V,), float("-inf"), device=logp.device)
        frozen[pad_id] = 0.0
        logp = torch.where(done[:, :, None], frozen, logp)
        scores, parents, y2 = beam_step(scores, logp, K)  # (B, K) each: score, parent, token
        tokens = torch.cat([pick(tokens, parents), y2[:, :, None]], dim=2)
        if w is not None:
            w = pick(w.view(B, K, -1), parents)[:, :, None, :]  # (B, K, 1, S)
            aligns = w if aligns is None else torch.cat([pick(aligns, parents), w], dim=2)
        was_done = pick(done, parents)
        lengths = pick(lengths, parents) + (~was_done).float()
        done = was_done | (y2 == eos_id)
        state = reorder(state, (parents + offsets).view(-1))  # parents in the flat batch
        y = y2.view(-1)
        if bool(done.all()):
            break
    normalised = scores / lengths.clamp(min=1) ** length_penalty
    # Per source: once any hypothesis has finished, unfinished ones may not win.
    normalised = normalised.masked_fill(done.any(1, keepdim=True) & ~done, float("-inf"))
    best = normalised.argmax(dim=1)  # (B,)
    idx = torch.arange(B, device=device)
    out_tokens = tokens[idx, best]
    out_aligns = None if aligns is None else aligns[idx, best] * (out_tokens != pad_id)[..., None]
    return Decoded(out_tokens, out_aligns, scores[idx, best])


class Decodable:
    """Greedy and beam search for an encoder-decoder module (a mixin for ``nn.Module`` subclasses).

    The model provides ``_decoder(src, src_lengths, *, repeat=1, **options)``, which checks
    and encodes the source once, repeats each row ``repeat`` times (beam search), and returns
    ``(step, state)``; and ``_reorder(state, rows)``. ``**options`` are the model's own (the
    Transformer's ``alignments``). ``max_len`` defaults to 2 S + 5 output tokens.
    """

    @staticmethod
    def _max_len(src: torch.Tensor, max_len: int | None) -> int:
        max_len = 2 * src.shape[-1] + 5 if max_len is None else max_len
        check_positive("max_len", max_len)
        return max_len

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None, max_len: int | None = None, **options) -> Decoded:
        """Pick the most likely token at every step until every sequence has emitted eos
        (:func:`greedy_search`). src (B, S) long; src_lengths (B,) long or None (from the padding)."""
        step, state = self._decoder(src, src_lengths, **options)  # checks src first
        max_len = self._max_len(src, max_len)
        return greedy_search(step, state, src.shape[0], max_len, device=src.device)

    @torch.no_grad()
    def beam_search(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor | None = None,
        beam_size: int = 4,
        max_len: int | None = None,
        length_penalty: float = 1.0,
        **options,
    ) -> Decoded:
        """Keep the ``beam_size`` best partial outputs at every step, all sequences in parallel
        (:func:`beam_search`). With ``beam_size=1`` this is :meth:`greedy`."""
        check_positive("beam_size", beam_size)
        step, state = self._decoder(src, src_lengths, repeat=beam_size, **options)  # checks src first
        max_len = self._max_len(src, max_len)
        return beam_search(
            step, state, self._reorder, src.shape[0], beam_size, max_len, length_penalty=length_penalty, device=src.device
        )


def sequence_loss(
    logits: torch.Tensor, tgt_out: torch.Tensor, *, pad_id: int = Vocab.pad_id, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Mean token cross-entropy over the real (non-pad) target tokens.

    logits (B, T, V) float; tgt_out (B, T) long, ``pad_id`` at padding (ignored);
    ``label_smoothing`` in [0, 1) as in ``F.cross_entropy``.
    """
    dims = check_tensor("logits", logits, shape=("B", "T", "V"), dtype="float")
    check_tensor("tgt_out", tgt_out, shape=("B", "T"), dtype=torch.long, dims=dims)
    check_int("pad_id", pad_id, min=0)
    check_real("label_smoothing", label_smoothing, low=0.0, high=1.0, high_open=True)
    return F.cross_entropy(
        logits.reshape(-1, dims["V"]), tgt_out.reshape(-1), ignore_index=pad_id, label_smoothing=label_smoothing
    )


def teacher_forced_loss(
    model: torch.nn.Module, batch, *, pad_id: int = Vocab.pad_id, label_smoothing: float = 0.0
) -> torch.Tensor:
    """:func:`sequence_loss` of ``model(batch.src, batch.tgt_in, batch.src_lengths).logits`` against
    ``batch.tgt_out``: the training loss of every encoder-decoder in the course (a
    :class:`coursekit.data.Batch`; the model reads bos + target and is scored on target + eos)."""
    logits = model(batch.src, batch.tgt_in, batch.src_lengths).logits
    return sequence_loss(logits, batch.tgt_out, pad_id=pad_id, label_smoothing=label_smoothing)


def strip_special(row: list[int], *, eos_id: int = Vocab.eos_id, pad_id: int = Vocab.pad_id) -> list[int]:
    """Token ids up to (not including) the first eos, without padding."""
    out = []
    for i in row:
        if i == eos_id:
            break
        if i != pad_id:
            out.append(i)
    return out


def check_source(
    src: torch.Tensor, src_lengths: torch.Tensor | None, vocab_size: int, *, pad_id: int = Vocab.pad_id
) -> tuple[dict[str, int], torch.Tensor]:
    """Validate an encoder-decoder's source batch once per call; return its dims and lengths.

    src (B, S) long with ids in [0, vocab_size), ``pad_id``-padded at the end; src_lengths (B,)
    long in [1, S], derived from the padding when None. An empty source (length 0) is an error:
    there would be nothing to attend to.
    """
    dims = check_tensor("src", src, shape=("B", "S"), dtype=torch.long)
    check_ids("src ids", src, vocab_size)
    if src_lengths is None:
        src_lengths = (src != pad_id).sum(dim=1)
    check_tensor("src_lengths", src_lengths, shape=("B",), dtype=torch.long, dims=dims)
    if src_lengths.numel() and bool(((src_lengths < 1) | (src_lengths > dims["S"])).any()):
        raise ValueError(
            f"src_lengths must be in [1, S={dims['S']}], got values in "
            f"[{int(src_lengths.min())}, {int(src_lengths.max())}] (is a source sequence empty?)"
        )
    return dims, src_lengths
