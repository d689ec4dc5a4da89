"""The encoder-decoder Transformer for the seq2seq tasks of coursekit.data, and greedy decoding.

Vaswani et al. (2017), *Attention Is All You Need*, https://arxiv.org/abs/1706.03762,
Sec. 3 and Fig. 1: token embeddings scaled by sqrt(d_model) plus positions (Sec. 3.4-3.5),
N encoder layers, N decoder layers with masked self-attention and cross-attention,
a linear layer and softmax over the target vocabulary, tied to the decoder's embedding.

Training data come as :class:`coursekit.data.Batch` (src, tgt_in, tgt_out): the model
reads ``src`` and ``tgt_in`` (bos + target) and is scored on ``tgt_out`` (target + eos)
with :func:`coursekit.seq2seq.sequence_loss`. The model answers to the same calls as
:class:`coursekit.seq2seq.Seq2Seq` (``model(src, tgt_in).logits``, ``model.greedy(src)``),
so ``seq2seq.evaluate`` and ``seq2seq.teacher_forced_accuracy`` score it unchanged.

Legend: B batch, S source length, T target length, D d_model, H heads, V vocabulary,
L layers. Masks: bool, True = may attend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..attention import causal_mask, padding_mask
from ..data import Vocab
from ..seq2seq import Decoded, sequence_loss
from ..utils import check_positive, check_tensor
from .config import TransformerConfig
from .layers import DecoderLayer, EncoderLayer
from .norms import make_norm
from .positions import LearnedPositions, SinusoidalPositions

__all__ = ["TransformerOutput", "Embeddings", "Encoder", "Decoder", "Transformer", "transformer_loss"]


@dataclass(frozen=True)
class TransformerOutput:
    """``logits`` (B, T, V); ``cross_attentions``: one (B, H, T, S) tensor per decoder layer
    (with ``need_weights=True``), else None."""

    logits: torch.Tensor
    cross_attentions: tuple[torch.Tensor, ...] | None = None


class Embeddings(nn.Module):
    """Token ids (B, T) -> vectors (B, T, D): ``embed(ids) * sqrt(D)`` plus positions (Sec. 3.4-3.5).

    ``embed`` may be shared with another Embeddings (one vocabulary) and with the output layer.
    Initialised N(0, 1/D), so the scaled embedding has unit variance, like the positions.
    """

    def __init__(self, cfg: TransformerConfig, vocab_size: int, embed: nn.Embedding | None = None):
        super().__init__()
        if embed is None:
            embed = nn.Embedding(vocab_size, cfg.d_model, padding_idx=Vocab.pad_id)
            nn.init.normal_(embed.weight, std=cfg.d_model**-0.5)
            with torch.no_grad():
                embed.weight[Vocab.pad_id].zero_()
        self.embed, self.scale = embed, math.sqrt(cfg.d_model)
        if cfg.positions == "sinusoidal":
            self.positions = SinusoidalPositions(cfg.d_model)
        elif cfg.positions == "learned":
            self.positions = LearnedPositions(cfg.d_model, cfg.max_len)
        else:  # rotary positions live inside attention; "none" has no positions at all
            self.positions = nn.Identity()
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.positions(self.embed(ids) * self.scale))  # (B, T, D)


def _final_norm(cfg: TransformerConfig) -> nn.Module:
    """Pre-norm leaves the residual stream un-normalised: a stack ends with one more norm."""
    return make_norm(cfg.norm, cfg.d_model, cfg.norm_eps, cfg.bias) if cfg.norm_first else nn.Identity()


class Encoder(nn.Module):
    """Embeddings, L encoder layers, and a final norm when the blocks are pre-norm."""

    def __init__(self, cfg: TransformerConfig, embed: nn.Embedding | None = None):
        super().__init__()
        self.embed = Embeddings(cfg, cfg.src_vocab_size, embed)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_layers))
        self.norm = _final_norm(cfg)

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """src (B, S) long; src_mask (B, 1, S) bool -> memory (B, S, D)."""
        x = self.embed(src)
        for layer in self.layers:
            x, _ = layer(x, src_mask)
        return self.norm(x)


class Decoder(nn.Module):
    """Embeddings, L decoder layers (causal self-attention, cross-attention, FFN), final norm if pre-norm."""

    def __init__(self, cfg: TransformerConfig, embed: nn.Embedding | None = None):
        super().__init__()
        self.embed = Embeddings(cfg, cfg.tgt_vocab_size, embed)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_layers))
        self.norm = _final_norm(cfg)

    def forward(
        self, tgt_in: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor, *, need_weights: bool = False
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """tgt_in (B, T) long; memory (B, S, D); memory_mask (B, 1, S) bool.
        Returns hidden states (B, T, D) and, with need_weights, the per-layer cross-attention."""
        x = self.embed(tgt_in)
        future = causal_mask(tgt_in.shape[1], device=tgt_in.device)  # (T, T): step t sees steps <= t
        weights = []
        for layer in self.layers:
            x, w = layer(x, memory, future, memory_mask, need_weights=need_weights)
            weights.append(w)
        return self.norm(x), (tuple(weights) if need_weights else None)


class Transformer(nn.Module):
    """The encoder-decoder Transformer (Vaswani et al. 2017, Fig. 1).

    ``model(src, tgt_in)`` runs teacher-forced and returns :class:`TransformerOutput`;
    :meth:`greedy` decodes without targets and returns :class:`coursekit.seq2seq.Decoded`.
    Every decoder position is computed at once in training: the causal mask, not a
    loop, keeps step t from seeing steps after t.
    """

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        if not isinstance(cfg, TransformerConfig):
            raise ValueError(f"cfg must be a TransformerConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.decoder = Decoder(cfg)
        shared = self.decoder.embed.embed if cfg.share_embeddings else None
        self.encoder = Encoder(cfg, shared)
        self.out = nn.Linear(cfg.d_model, cfg.tgt_vocab_size, bias=cfg.bias)  # the pre-softmax layer
        if cfg.tie_output:
            self.out.weight = self.decoder.embed.embed.weight  # Sec. 3.4: one matrix, (V, D)
        if cfg.bias:
            nn.init.zeros_(self.out.bias)

    def _check(self, src: torch.Tensor, src_lengths: torch.Tensor | None):
        dims = check_tensor("src", src, shape=("B", "S"), dtype=torch.long)
        if src.numel() and (src.min() < 0 or src.max() >= self.cfg.src_vocab_size):
            raise ValueError(
                f"src ids must be in [0, {self.cfg.src_vocab_size}), got values in [{int(src.min())}, {int(src.max())}]"
            )
        if src_lengths is None:
            return dims, padding_mask(src, pad_id=Vocab.pad_id)
        check_tensor("src_lengths", src_lengths, shape=("B",), dtype=torch.long, dims=dims)
        return dims, padding_mask(src_lengths, dims["S"])

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """src (B, S) long, 0-padded -> (memory (B, S, D), src_mask (B, 1, S) bool).
        The mask comes from ``src_lengths`` when given, else from the padding."""
        _, src_mask = self._check(src, src_lengths)
        return self.encoder(src, src_mask), src_mask

    def decode(
        self, tgt_in: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor, *, need_weights: bool = False
    ) -> TransformerOutput:
        """tgt_in (B, T) long -> logits (B, T, V) for every position at once."""
        hidden, weights = self.decoder(tgt_in, memory, src_mask, need_weights=need_weights)
        return TransformerOutput(self.out(hidden), weights)

    def forward(
        self, src: torch.Tensor, tgt_in: torch.Tensor, src_lengths: torch.Tensor | None = None, *, need_weights: bool = False
    ) -> TransformerOutput:
        """Teacher-forced: src (B, S) long, tgt_in (B, T) long (bos + target) -> logits (B, T, V)."""
        dims, _ = self._check(src, src_lengths)
        check_tensor("tgt_in", tgt_in, shape=("B", "T"), dtype=torch.long, dims={"B": dims["B"]})
        if tgt_in.numel() and (tgt_in.min() < 0 or tgt_in.max() >= self.cfg.tgt_vocab_size):
            raise ValueError(
                f"tgt_in ids must be in [0, {self.cfg.tgt_vocab_size}), got values in "
                f"[{int(tgt_in.min())}, {int(tgt_in.max())}]"
            )
        memory, src_mask = self.encode(src, src_lengths)
        return self.decode(tgt_in, memory, src_mask, need_weights=need_weights)

    @torch.no_grad()
    def greedy(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor | None = None,
        max_len: int | None = None,
        *,
        alignments: bool = False,
    ) -> Decoded:
        """Most likely token at every step, until every sequence has emitted eos.

        The encoder runs once; the decoder re-reads its whole prefix at each step
        (no key/value cache: Chapter 6 adds one). ``alignments=True`` returns the last
        decoder layer's cross-attention, averaged over heads, as (B, T, S).
        """
        dims, _ = self._check(src, src_lengths)
        max_len = max_len or 2 * dims["S"] + 5
        check_positive("max_len", max_len)
        memory, src_mask = self.encode(src, src_lengths)
        B = dims["B"]
        ys = torch.full((B, 1), Vocab.bos_id, dtype=torch.long, device=src.device)  # (B, 1) the prefix
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        score = torch.zeros(B, device=src.device)
        for _ in range(max_len):
            logp = torch.log_softmax(self.decode(ys, memory, src_mask).logits[:, -1], dim=-1)  # (B, V) last step
            y = logp.argmax(-1)
            score += torch.where(done, 0.0, logp.gather(1, y[:, None])[:, 0])
            y = y.masked_fill(done, Vocab.pad_id)  # finished sequences emit padding
            ys = torch.cat([ys, y[:, None]], dim=1)
            done |= y == Vocab.eos_id
            if done.all():
                break
        tokens = ys[:, 1:]  # (B, T) without bos
        aligned = None
        if alignments:
            cross = self.decode(ys[:, :-1], memory, src_mask, need_weights=True).cross_attentions[-1]  # (B, H, T, S)
            aligned = cross.mean(1) * (tokens != Vocab.pad_id)[..., None]  # (B, T, S), zero after eos
        return Decoded(tokens, aligned, score)


def transformer_loss(model: Transformer, batch, label_smoothing: float = 0.0) -> torch.Tensor:
    """Teacher-forced token cross-entropy of ``model`` on a :class:`coursekit.data.Batch`
    (:func:`coursekit.seq2seq.sequence_loss`; ``label_smoothing`` as Vaswani et al. Sec. 5.4: 0.1)."""
    return sequence_loss(model(batch.src, batch.tgt_in, batch.src_lengths).logits, batch.tgt_out, label_smoothing)
