"""Encoder-decoder RNNs, with and without attention (Chapters 1 and 2).

Papers, and the part of each this module implements:

- Sutskever, Vinyals & Le (2014), *Sequence to Sequence Learning with Neural
  Networks*, arXiv:1409.3215; Cho et al. (2014), *Learning Phrase
  Representations using RNN Encoder-Decoder*, arXiv:1406.1078: the encoder
  squeezes the source into one fixed-length vector ``c``; the decoder reads
  ``c`` at every step (``attention=None``).
- Bahdanau, Cho & Bengio (2015), *Neural Machine Translation by Jointly
  Learning to Align and Translate*, arXiv:1409.0473, Sec. 3.1 and App. A:
  additive score ``v^T tanh(W s_{t-1} + U h_s)``, the query is the *previous*
  decoder state and the context enters the RNN's input
  (``decoder="bahdanau"``).
- Luong, Pham & Manning (2015), *Effective Approaches to Attention-based
  Neural Machine Translation*, arXiv:1508.04025, Sec. 3: the query is the
  *current* state ``h_t``; scores dot ``h_t^T h_s``, general ``h_t^T W h_s``,
  concat ``v^T tanh(W [h_t; h_s])`` (Eq. 8); attentional state
  ``tanh(W_c [c_t; h_t])`` (Eq. 5); local attention with a monotonic or
  predicted centre ``p_t = S * sigmoid(v_p^T tanh(W_p h_t))`` and a Gaussian of
  sigma = D/2 (Eqs. 9-10) (``decoder="luong"``, ``window=D``).
- Nguyen, Nguyen, Joty & Li (2020), *Differentiable Window for Dynamic Local
  Attention*, ACL 2020, arXiv:2006.13561, Sec. 2: a window whose left and right
  edges are learned, soft distributions over the positions; their cumulative
  sums make a soft mask, ~1 between the edges and ~0 outside
  (``differentiable_window=True``). Here the mask multiplies the attention
  weights, which are then renormalised: the core idea in an RNN decoder, not
  the paper's Transformer variants.
- Xu et al. (2015), *Show, Attend and Tell*, arXiv:1502.03044, Sec. 4: hard
  attention picks one position. Xu et al. train it with REINFORCE; here it is
  trained with the straight-through Gumbel-softmax estimator (Jang et al.
  2017, arXiv:1611.01144), a simpler, lower-variance stand-in.

Legend: B batch, S source length, T target length, E embedding width,
H hidden width, V vocabulary size, K beam size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .attention import masked_softmax
from .data import Seq2SeqData, Vocab
from .decoding import Decodable, Decoded, beam_step, check_source, sequence_loss, strip_special
from .rnn import CELLS, BiRNN, reverse_within_length
from .utils import check_bool, check_choice, check_ids, check_positive, check_real, check_tensor, eval_mode, plain_numbers

__all__ = [
    "SCORES",
    "Seq2SeqConfig",
    "Seq2SeqOutput",
    "Encoder",
    "AttentionScore",
    "Attention",
    "Seq2Seq",
    "evaluate",
    "accuracy_by_length",
    "teacher_forced_accuracy",
    "context_probe",
    "untrained_context_probe",
    "verb_alignments",
    "local_m_centre_at_verb",
    # defined in coursekit.decoding and coursekit.rnn, shared with the Transformer and Chapter 3
    "Decoded",
    "beam_step",
    "sequence_loss",
    "reverse_within_length",
]

SCORES = ("additive", "dot", "general", "concat")


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Everything that defines an encoder-decoder. Vary it with ``dataclasses.replace``."""

    src_vocab_size: int
    tgt_vocab_size: int
    emb_dim: int = 32  # papers: 620 (Bahdanau), 1000 (Luong); 32 is plenty for 10-50 symbols
    hidden_size: int = 64  # decoder width; the bidirectional encoder uses hidden_size/2 per direction
    cell: str = "gru"  # "gru" (Bahdanau) or "lstm" (Sutskever, Luong)
    attention: str | None = None  # None: the fixed context vector (the bottleneck); else one of SCORES
    decoder: str = "luong"  # "luong": query h_t, parallel under teacher forcing; "bahdanau": query s_{t-1}
    window: int | None = None  # local attention half-width D (Luong: D=10); None = global attention
    local: str = "predictive"  # local centre: "monotonic" (p_t = t) or "predictive" (p_t learned)
    hard: bool = False  # hard attention: attend to exactly one source position
    differentiable_window: bool = False  # Nguyen et al. 2020: learned soft left and right window edges
    attn_dim: int = 32  # width of the additive / concat scoring layer (its (B, T, S, A) tanh dominates CPU time)
    dropout: float = 0.0  # on the attentional state before the output layer

    def __post_init__(self):
        plain_numbers(self)
        for name in ("src_vocab_size", "tgt_vocab_size", "emb_dim", "hidden_size", "attn_dim"):
            check_positive(name, getattr(self, name))
        if self.hidden_size % 2:
            raise ValueError(
                f"hidden_size must be even (the bidirectional encoder gives hidden_size/2 per direction), "
                f"got {self.hidden_size}"
            )
        check_choice("cell", self.cell, CELLS)
        check_choice("attention", self.attention, (None, *SCORES))
        check_choice("decoder", self.decoder, ("luong", "bahdanau"))
        check_choice("local", self.local, ("monotonic", "predictive"))
        if self.window is not None:
            check_positive("window", self.window)
        check_bool("hard", self.hard)
        check_bool("differentiable_window", self.differentiable_window)
        if self.differentiable_window and (self.window is not None or self.hard):
            raise ValueError(
                "differentiable_window=True learns its own window: it takes window=None and hard=False, "
                f"got window={self.window!r}, hard={self.hard!r}"
            )
        check_real("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        if self.attention is None and (self.window is not None or self.hard):
            raise ValueError(
                f"window={self.window!r} and hard={self.hard!r} need an attention score; got attention=None"
            )
        if self.attention is None and self.differentiable_window:
            raise ValueError("differentiable_window=True needs an attention score; got attention=None")

    @classmethod
    def for_data(cls, data: Seq2SeqData, **kwargs) -> "Seq2SeqConfig":
        """A config sized for ``data``'s vocabularies."""
        return cls(src_vocab_size=len(data.src_vocab), tgt_vocab_size=len(data.tgt_vocab), **kwargs)


@dataclass(frozen=True)
class Seq2SeqOutput:
    """``logits`` (B, T, V); ``alignments`` (B, T, S) attention weights, None without attention."""

    logits: torch.Tensor
    alignments: torch.Tensor | None


class Encoder(nn.Module):
    """Embedding + :class:`coursekit.rnn.BiRNN` over the real (unpadded) tokens.

    Returns ``memory`` (B, S, H), one annotation per source position (Bahdanau's
    h_j: forward and backward states concatenated), zero at padding; and
    ``summary`` (B, H), the final forward state and final backward state
    concatenated: the fixed-length vector of the plain encoder-decoder.
    Note that even this "plain" encoder is bidirectional, unlike Sutskever et
    al.'s (who reversed the source instead) and Cho et al.'s.
    """

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.embed = nn.Embedding(cfg.src_vocab_size, cfg.emb_dim, padding_idx=Vocab.pad_id)
        self.rnn = BiRNN(cfg.emb_dim, cfg.hidden_size, cfg.cell)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        memory = self.rnn(self.embed(src), src_lengths)  # (B, S, H), zero at padding
        return memory, self.rnn.final_states(memory, src_lengths)  # (B, S, H), (B, H)


class AttentionScore(nn.Module):
    """score(q, k) for every query against every key: (B, T, Dq), (B, S, Dk) -> (B, T, S).

    - ``additive`` (Bahdanau Eq. 6 / App. A.1.2): ``v^T tanh(W_q q + W_k k)``
    - ``dot`` (Luong Eq. 8): ``q^T k`` (needs Dq == Dk)
    - ``general`` (Luong Eq. 8): ``q^T W k``
    - ``concat`` (Luong Eq. 8): ``v^T tanh(W [q; k])``. Splitting W into its
      query and key columns shows this is the additive score again: the two
      papers differ in *which* decoder state is the query, not in the score.
    """

    def __init__(self, score: str, query_dim: int, key_dim: int, attn_dim: int = 32):
        super().__init__()
        check_choice("score", score, SCORES)
        self.score = score
        if score == "dot" and query_dim != key_dim:
            raise ValueError(f"the dot score needs query_dim == key_dim, got {query_dim} and {key_dim}")
        if score == "additive":
            self.W_q = nn.Linear(query_dim, attn_dim, bias=False)
            self.W_k = nn.Linear(key_dim, attn_dim, bias=True)
            self.v = nn.Linear(attn_dim, 1, bias=False)
        elif score == "general":
            self.W = nn.Linear(key_dim, query_dim, bias=False)
        elif score == "concat":
            self.W = nn.Linear(query_dim + key_dim, attn_dim, bias=True)
            self.v = nn.Linear(attn_dim, 1, bias=False)
        self.query_dim, self.key_dim = query_dim, key_dim

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        if self.score == "dot":
            return query @ keys.transpose(1, 2)  # (B, T, S)
        if self.score == "general":
            return query @ self.W(keys).transpose(1, 2)  # (B, T, Dq) @ (B, Dq, S)
        if self.score == "additive":
            q, k = self.W_q(query), self.W_k(keys)  # (B, T, A), (B, S, A)
        else:  # concat: W [q; k] = W[:, :Dq] q + W[:, Dq:] k, without building (B, T, S, Dq+Dk)
            Wq, Wk = self.W.weight[:, : self.query_dim], self.W.weight[:, self.query_dim :]
            q, k = query @ Wq.T, keys @ Wk.T + self.W.bias  # (B, T, A), (B, S, A)
        return self.v(torch.tanh(q.unsqueeze(2) + k.unsqueeze(1))).squeeze(-1)  # (B, T, S, A) -> (B, T, S)


class Attention(nn.Module):
    """Scores -> weights -> context, with the global / local and soft / hard options.

    ``forward(query (B, T, H), memory (B, S, H), src_lengths (B,), positions (T,))``
    returns ``context`` (B, T, H) and ``weights`` (B, T, S). Padding never
    receives weight. ``positions`` are the decoder steps, used by local-monotonic
    attention (p_t = t).
    """

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        H = cfg.hidden_size
        self.cfg = cfg
        self.score = AttentionScore(cfg.attention, H, H, cfg.attn_dim)
        if cfg.window is not None and cfg.local == "predictive":
            self.W_p = nn.Linear(H, cfg.attn_dim, bias=False)  # Luong Eq. 9
            self.v_p = nn.Linear(cfg.attn_dim, 1, bias=False)
        if cfg.differentiable_window:  # one bilinear score per edge: where the window starts, where it ends
            self.W_left = nn.Linear(H, H, bias=False)
            self.W_right = nn.Linear(H, H, bias=False)

    def window_mask(self, query, memory, mask):
        """The Differentiable Window's soft mask (Nguyen et al. 2020, Sec. 2), (B, T, S) in [0, 1].

        Each query gives a distribution over the left edge, ``a_l = softmax(q^T W_l h_j)``, and
        one over the right edge, ``a_r``. Position j is inside the window when the left edge is at
        or before it and the right edge at or after it: ``m_j = (sum_{i<=j} a_l,i)(sum_{i>=j} a_r,i)``.
        With one-hot edges this is exactly the 0/1 window [l, r]; soft edges keep it differentiable.
        """
        left = masked_softmax(self.W_left(query) @ memory.transpose(1, 2), mask)  # (B, T, S)
        right = masked_softmax(self.W_right(query) @ memory.transpose(1, 2), mask)  # (B, T, S)
        return left.cumsum(-1) * right.flip(-1).cumsum(-1).flip(-1)  # P(l <= j) * P(r >= j)

    def forward(self, query, memory, src_lengths, positions):
        B, T, _ = query.shape
        S = memory.shape[1]
        scores = self.score(query, memory)  # (B, T, S)
        s = torch.arange(S, device=memory.device)
        mask = (s < src_lengths[:, None])[:, None, :]  # (B, 1, S) real tokens only; broadcasts over T
        gauss = None
        if self.cfg.window is not None:
            last = (src_lengths - 1).to(query.dtype)[:, None]  # (B, 1) index of the last real token
            if self.cfg.local == "monotonic":
                p = torch.minimum(positions.to(query.dtype)[None, :], last)  # (B, T): p_t = t
            else:
                p = last * torch.sigmoid(self.v_p(torch.tanh(self.W_p(query))).squeeze(-1))  # (B, T) Eq. 9
            dist = s.to(query.dtype)[None, None, :] - p[:, :, None]  # (B, T, S)
            mask = mask & (dist.abs() <= self.cfg.window)
            if self.cfg.local == "predictive":
                sigma = self.cfg.window / 2
                gauss = torch.exp(-(dist**2) / (2 * sigma**2))  # Eq. 10: differentiable in p_t
        if self.cfg.hard:
            logits = scores.masked_fill(~mask, float("-inf"))
            if self.training:  # straight-through: one-hot forward, soft gradient backward
                weights = F.gumbel_softmax(logits, tau=1.0, hard=True, dim=-1)
            else:
                weights = F.one_hot(logits.argmax(-1), S).to(query.dtype)
        else:
            weights = masked_softmax(scores, mask)
            if gauss is not None:
                weights = weights * gauss
            if self.cfg.differentiable_window:
                weights = weights * self.window_mask(query, memory, mask.expand(B, T, S))
                weights = weights / weights.sum(-1, keepdim=True).clamp_min(1e-9)  # renormalise inside the window
        context = weights @ memory  # (B, T, S) @ (B, S, H) -> (B, T, H)
        return context, weights


def _map_state(state, fn):
    """Apply ``fn`` to a GRU state tensor or to both tensors of an LSTM (h, c) state."""
    return tuple(fn(x) for x in state) if isinstance(state, tuple) else fn(state)


class Seq2Seq(Decodable, nn.Module):
    """Encoder-decoder with an optional attention mechanism.

    ``model(src, tgt_in)`` runs the decoder under teacher forcing and returns
    :class:`Seq2SeqOutput`. :meth:`greedy` and :meth:`beam_search`
    (:class:`coursekit.decoding.Decodable`) decode without targets and return
    :class:`Decoded` with the alignments.

    Every output position t is computed the same way in both wirings:
    ``h~_t = tanh(W_c [h_t; c_t])``, ``logits_t = W_o h~_t``, where ``c_t`` is the
    attention context, or the fixed ``summary`` vector when ``attention=None``.
    """

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.cfg = cfg
        H, E = cfg.hidden_size, cfg.emb_dim
        self.encoder = Encoder(cfg)
        self.embed = nn.Embedding(cfg.tgt_vocab_size, E, padding_idx=Vocab.pad_id)
        self.bridge = nn.Linear(H, H)  # summary -> initial decoder state (Bahdanau App. A.2.2)
        if cfg.decoder == "luong":
            self.rnn = (nn.GRU if cfg.cell == "gru" else nn.LSTM)(E, H, batch_first=True)
        else:  # Bahdanau: the context is part of the RNN's input, so steps are sequential
            self.cell = (nn.GRUCell if cfg.cell == "gru" else nn.LSTMCell)(E + H, H)
        self.attention = Attention(cfg) if cfg.attention is not None else None
        self.combine = nn.Linear(2 * H, H)  # W_c (Luong Eq. 5)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(H, cfg.tgt_vocab_size)  # W_o

    # ----------------------------------------------------------------- helpers
    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None):
        """(memory (B, S, H), summary (B, H), initial decoder state, src_lengths (B,))."""
        _, src_lengths = check_source(src, src_lengths, self.cfg.src_vocab_size)
        return self._encode(src, src_lengths)

    def _encode(self, src, src_lengths):
        memory, summary = self.encoder(src, src_lengths)
        h0 = torch.tanh(self.bridge(summary))  # (B, H)
        if self.cfg.decoder == "luong":
            h0 = h0.unsqueeze(0)  # (1, B, H) for nn.GRU / nn.LSTM
        state = (h0, torch.zeros_like(h0)) if self.cfg.cell == "lstm" else h0
        return memory, summary, state, src_lengths

    def _context(self, query, memory, summary, src_lengths, positions):
        """Attention context for queries (B, T, H), or the fixed summary without attention."""
        if self.attention is None:
            B, T, H = query.shape
            return summary[:, None, :].expand(B, T, H), None
        return self.attention(query, memory, src_lengths, positions)

    def _readout(self, h, context):
        h_tilde = torch.tanh(self.combine(torch.cat([h, context], dim=-1)))  # (B, T, H) Luong Eq. 5
        return self.out(self.dropout(h_tilde))  # (B, T, V)

    def step(self, y_prev, state, memory, summary, src_lengths, t: int):
        """One decoder step: previous tokens (B,) -> logits (B, V), new state, weights (B, S) or None."""
        pos = torch.tensor([t], device=memory.device)
        y = self.embed(y_prev)  # (B, E)
        if self.cfg.decoder == "luong":
            h_seq, state = self.rnn(y[:, None, :], state)  # (B, 1, H)
            context, w = self._context(h_seq, memory, summary, src_lengths, pos)  # query = h_t
            logits = self._readout(h_seq, context)[:, 0]
        else:
            s_prev = state[0] if isinstance(state, tuple) else state  # (B, H)
            context, w = self._context(s_prev[:, None, :], memory, summary, src_lengths, pos)  # query = s_{t-1}
            state = self.cell(torch.cat([y, context[:, 0]], dim=-1), state)
            s = state[0] if isinstance(state, tuple) else state
            logits = self._readout(s[:, None, :], context)[:, 0]
        return logits, state, (None if w is None else w[:, 0])

    # ----------------------------------------------------------------- training
    def forward(
        self,
        src: torch.Tensor,
        tgt_in: torch.Tensor,
        src_lengths: torch.Tensor | None = None,
        teacher_forcing: float = 1.0,
    ) -> Seq2SeqOutput:
        """Teacher-forced decoding.

        src (B, S) long, 0-padded; tgt_in (B, T) long, starting with bos;
        src_lengths (B,) long, derived from the padding when None.
        ``teacher_forcing`` < 1 feeds the model's own greedy prediction instead
        of the true previous token with probability ``1 - teacher_forcing``
        (scheduled sampling, Bengio et al. 2015).
        """
        dims, src_lengths = check_source(src, src_lengths, self.cfg.src_vocab_size)
        check_tensor("tgt_in", tgt_in, shape=("B", "T"), dtype=torch.long, dims=dims)
        check_ids("tgt_in ids", tgt_in, self.cfg.tgt_vocab_size)
        check_real("teacher_forcing", teacher_forcing, low=0.0, high=1.0)
        memory, summary, state, src_lengths = self._encode(src, src_lengths)
        B, T = tgt_in.shape
        if self.cfg.decoder == "luong" and teacher_forcing == 1.0:
            # Under teacher forcing the Luong decoder's inputs are all known, and (without
            # Luong's input feeding, which this module leaves out) its states do not depend
            # on attention, so the T steps run in one fused RNN call. The recurrence inside
            # that call is still sequential: step t waits for step t - 1.
            h, _ = self.rnn(self.embed(tgt_in), state)  # (B, T, H)
            positions = torch.arange(T, device=src.device)
            context, weights = self._context(h, memory, summary, src_lengths, positions)
            return Seq2SeqOutput(self._readout(h, context), weights)
        logits, weights, y = [], [], tgt_in[:, 0]
        for t in range(T):
            step_logits, state, w = self.step(y, state, memory, summary, src_lengths, t)
            logits.append(step_logits)
            weights.append(w)
            if t + 1 < T:
                y = tgt_in[:, t + 1]
                if teacher_forcing < 1.0:
                    own = torch.rand(B, device=src.device) >= teacher_forcing
                    y = torch.where(own, step_logits.argmax(-1), y)
        alignments = None if self.attention is None else torch.stack(weights, dim=1)  # (B, T, S)
        return Seq2SeqOutput(torch.stack(logits, dim=1), alignments)

    # ----------------------------------------------------------------- decoding
    def _decoder(self, src, src_lengths, *, repeat: int = 1):
        """Encode once, repeat each row ``repeat`` times (beam search), and return the
        step function :class:`coursekit.decoding.Decodable` drives and the initial state."""
        _, src_lengths = check_source(src, src_lengths, self.cfg.src_vocab_size)
        memory, summary, state, src_lengths = self._encode(src, src_lengths)
        if repeat > 1:
            memory, summary, src_lengths = (x.repeat_interleave(repeat, dim=0) for x in (memory, summary, src_lengths))
            state = _map_state(state, lambda x: x.repeat_interleave(repeat, dim=self._batch_dim))

        def step(y, state, t):
            return self.step(y, state, memory, summary, src_lengths, t)

        return step, state

    @property
    def _batch_dim(self) -> int:
        return 1 if self.cfg.decoder == "luong" else 0  # nn.GRU's state is (1, B, H); GRUCell's (B, H)

    def _reorder(self, state, rows):
        return _map_state(state, lambda x: x.index_select(self._batch_dim, rows))


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: Seq2SeqData,
    batch_size: int = 256,
    decode: str = "greedy",
    beam_size: int = 4,
) -> dict[str, float]:
    """Free-running accuracy on ``data``: ``seq_acc`` (the whole output is right) and
    ``tok_acc`` (position-wise, over the longer of output and target). ``model`` is any
    encoder-decoder with ``greedy`` (and ``beam_search``): :class:`Seq2Seq` or
    :class:`coursekit.transformer.Transformer`."""
    check_choice("decode", decode, ("greedy", "beam"))
    device = next(model.parameters()).device
    seq_ok = tok_ok = tok_n = 0
    with eval_mode(model):
        for batch in data.batches(batch_size):
            batch = batch.to(device)
            if decode == "greedy":
                out = model.greedy(batch.src, batch.src_lengths)
            else:
                out = model.beam_search(batch.src, batch.src_lengths, beam_size=beam_size)
            for pred, gold in zip(out.tokens.tolist(), batch.tgt_out.tolist()):
                p, g = strip_special(pred), strip_special(gold)
                seq_ok += p == g
                tok_ok += sum(a == b for a, b in zip(p, g))
                tok_n += max(len(p), len(g))
    return {"seq_acc": seq_ok / len(data), "tok_acc": tok_ok / max(tok_n, 1)}


def accuracy_by_length(model: nn.Module, data: Seq2SeqData, *, teacher_forced: bool = False, **kwargs) -> list[dict]:
    """:func:`evaluate` (free running) for each source length in ``data``, or with
    ``teacher_forced=True`` :func:`teacher_forced_accuracy` (every step handed the true
    history, so one slip neither compounds nor shifts the rest): rows of
    ``{"length", "seq_acc", "tok_acc", "n"}``, sorted by length (ready for Altair)."""
    check_bool("teacher_forced", teacher_forced)
    measure = teacher_forced_accuracy if teacher_forced else evaluate
    rows = []
    for length in sorted({len(s) for s, _ in data.pairs}):
        part = data.where(lambda s, t, n=length: len(s) == n)
        rows.append({"length": length, **measure(model, part, **kwargs), "n": len(part)})
    return rows


@torch.no_grad()
def teacher_forced_accuracy(model: nn.Module, data: Seq2SeqData, batch_size: int = 256) -> dict[str, float]:
    """Accuracy when every step is handed the true previous token (as in training).

    Compare with :func:`evaluate` (free running) to measure exposure bias:
    ``tok_acc`` is the share of real target tokens (eos included) predicted
    right; ``seq_acc`` the share of sequences with every token right.
    """
    device = next(model.parameters()).device
    seq_ok = tok_ok = tok_n = 0
    with eval_mode(model):
        for batch in data.batches(batch_size):
            batch = batch.to(device)
            pred = model(batch.src, batch.tgt_in, batch.src_lengths).logits.argmax(-1)  # (B, T)
            mask = batch.tgt_mask
            right = (pred == batch.tgt_out) & mask
            tok_ok += int(right.sum())
            tok_n += int(mask.sum())
            seq_ok += int((right | ~mask).all(dim=1).sum())
    return {"seq_acc": seq_ok / len(data), "tok_acc": tok_ok / max(tok_n, 1)}


@torch.no_grad()
def context_probe(model: nn.Module, data: Seq2SeqData, *, ridge: float = 1.0, direction: str = "both") -> list[dict]:
    """How much of each source position a linear read-out recovers from the fixed context vector
    (Chapter 1's probe of the bottleneck).

    Every source in ``data`` must have the same length L. The encoder maps each to its summary
    ``c`` (B, H), the vector the plain decoder sees. On the first half of ``data``, one ridge
    regression per position (closed form, float64) maps ``[c; 1]`` to the one-hot source symbol
    there; on the held-out second half, the read-out's argmax is scored. Returns rows
    ``{"position": 1..L, "probe_acc", "n"}`` (``n`` held-out strings), ready for a chart. A linear
    read-out is a lower bound on what ``c`` holds: the decoder reads it non-linearly.
    ``direction="forward"`` probes only the forward RNN's final state (the first H/2 of ``c``):
    what a unidirectional encoder of width H/2 would hand over.
    """
    check_real("ridge", ridge, low=0.0)
    check_choice("direction", direction, ("both", "forward"))
    lengths = {len(s) for s, _ in data.pairs}
    if len(lengths) != 1 or len(data) < 4:
        raise ValueError(f"context_probe needs >= 4 sources of one length, got {len(data)} of lengths {sorted(lengths)}")
    device = next(model.parameters()).device
    batch = data.batch().to(device)
    with eval_mode(model):
        _, summary, _, _ = model.encode(batch.src, batch.src_lengths)  # (B, H)
    if direction == "forward":
        summary = summary[:, : summary.shape[1] // 2]  # (B, H/2): the forward RNN's last state
    N, L = batch.src.shape
    V = model.cfg.src_vocab_size
    X = torch.cat([summary.double().cpu(), torch.ones(N, 1, dtype=torch.float64)], dim=1)  # (N, H+1)
    Y = F.one_hot(batch.src.cpu(), V).double().reshape(N, L * V)  # (N, L*V): every position at once
    n = N // 2
    gram = X[:n].T @ X[:n] + ridge * torch.eye(X.shape[1], dtype=torch.float64)
    W = torch.linalg.solve(gram, X[:n].T @ Y[:n])  # (H+1, L*V)
    pred = (X[n:] @ W).reshape(N - n, L, V).argmax(-1)  # (N-n, L)
    acc = (pred == batch.src[n:].cpu()).double().mean(0)  # (L,)
    return [{"position": i + 1, "probe_acc": float(a), "n": N - n} for i, a in enumerate(acc)]


def untrained_context_probe(
    data: Seq2SeqData, hidden_size: int = 64, *, unidirectional: bool = False, cell: str = "gru", seed: int = 0
) -> list[dict]:
    """:func:`context_probe` of an untrained plain encoder-decoder built under its own ``seed``
    (the global random state is left alone): what a recurrent summary keeps before any training.

    The bidirectional encoder hands over ``c`` in R^hidden_size. ``unidirectional=True`` probes a
    unidirectional RNN whose final state is just as wide: the forward RNN of an encoder twice as
    wide, read alone.
    """
    check_positive("hidden_size", hidden_size)
    check_bool("unidirectional", unidirectional)
    width = 2 * hidden_size if unidirectional else hidden_size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Seq2Seq(Seq2SeqConfig.for_data(data, attention=None, hidden_size=width, cell=cell))
    return context_probe(model, data, direction="forward" if unidirectional else "both")


# ----------------------------------------------------------------- Chapter 2: the translation task's verb
def _verb_final(data: Seq2SeqData) -> None:
    if data.alignments is None:
        raise ValueError(f"the {data.name!r} task has no gold alignments (data.alignments is None)")
    if any(len(a) < 2 or a[-1] is None for a in data.alignments):
        raise ValueError("every target must end with a word aligned to a source word (a verb-final translation)")


def verb_alignments(data: Seq2SeqData, *, object_only: bool = False) -> tuple[tuple[int | None, ...], ...]:
    """``data.alignments`` with every entry but the last target token's set to None.

    On :func:`coursekit.translation.translation_task` the target is verb-final, so its last
    token translates the main verb: ``alignment_accuracy(weights, verb_alignments(data))`` is the
    share of sentences whose attention, when writing the verb, peaks on the source verb.
    ``object_only=True`` also drops the sentences whose source verb is the last source word
    (no object follows it, so finding it takes no jump back); the same sentences
    :func:`local_m_centre_at_verb` skips.
    """
    _verb_final(data)
    check_bool("object_only", object_only)
    return tuple((None,) * len(a) if object_only and a[-1] == len(src) - 1 else (None,) * (len(a) - 1) + (a[-1],)
                 for (src, _), a in zip(data.pairs, data.alignments))


def local_m_centre_at_verb(data: Seq2SeqData, window: int = 2) -> dict[str, float]:
    """Where Luong et al.'s local-m attention (p_t = t, Sec. 3.2) centres its window at the step that
    writes the verb, on :func:`coursekit.translation.translation_task` sentences with an object.

    The target is verb-final, so the verb is written at step ``t = len(target) - 1`` (the
    centre is clipped to the last source position, as :class:`Attention` does); the gold
    alignment gives the source verb (the last target token's) and the subject (target token 1,
    the noun after the subject's article). Only sentences where the source verb is not the last
    source word count (an object follows it), so the three places differ. Returns the share of
    those sentences whose centre is on ``"the source verb"``, ``"the subject"``, ``"the last
    source word"`` or ``"elsewhere"``; ``"verb in window"``, the share whose window
    [p_t - window, p_t + window] contains the source verb at all; and ``"n"``, their number. No
    model is needed: local-m's centre depends only on the step.
    """
    _verb_final(data)
    check_positive("window", window)
    counts = dict.fromkeys(("the source verb", "the subject", "the last source word", "elsewhere", "verb in window"), 0)
    n = 0
    for (src, tgt), align in zip(data.pairs, data.alignments):
        verb, subject, last = align[-1], align[1], len(src) - 1
        if verb == last:
            continue  # no object: the verb is the last source word
        n += 1
        centre = min(len(tgt) - 1, last)
        place = ("the source verb" if centre == verb else "the subject" if centre == subject
                 else "the last source word" if centre == last else "elsewhere")
        counts[place] += 1
        counts["verb in window"] += abs(centre - verb) <= window
    if n == 0:
        raise ValueError("no sentence with an object in data: every verb is the last source word")
    return {**{k: c / n for k, c in counts.items()}, "n": n}
