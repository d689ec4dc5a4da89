"""The encoder-decoder Transformer for the seq2seq tasks of coursekit.data.

Vaswani et al. (2017), *Attention Is All You Need*, https://arxiv.org/abs/1706.03762,
Sec. 3 and Fig. 1: token embeddings scaled by sqrt(d_model) plus positions (Sec. 3.4-3.5),
N encoder blocks, N decoder blocks with masked self-attention and cross-attention,
a linear layer and softmax over the target vocabulary, tied to the decoder's embedding.
Both halves are a :class:`~.stack.Stack` of the shared blocks.

Training data come as :class:`coursekit.data.Batch` (src, tgt_in, tgt_out): the model
reads ``src`` and ``tgt_in`` (bos + target) and is scored on ``tgt_out`` (target + eos)
with :func:`coursekit.decoding.teacher_forced_loss`. The model answers to the same calls as
:class:`coursekit.seq2seq.Seq2Seq` (``model(src, tgt_in).logits``, ``model.greedy(src)``,
``model.beam_search(src)``), so ``seq2seq.evaluate`` and ``seq2seq.teacher_forced_accuracy``
score it unchanged.

Legend: B batch, S source length, T target length, D d_model, H heads, V vocabulary,
L layers. Masks: bool, True = may attend.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data import Vocab
from ..decoding import Decodable, check_source
from ..utils import check_ids, check_tensor
from .config import TransformerConfig
from .stack import Embeddings, Stack, StackOutput

__all__ = ["TransformerOutput", "Transformer"]


@dataclass(frozen=True)
class TransformerOutput:
    """``logits`` (B, T, V); ``cross_attentions``: one (B, H, T, S) tensor per decoder layer
    (with ``need_weights=True``), else None."""

    logits: torch.Tensor
    cross_attentions: tuple[torch.Tensor, ...] | None = None


class Transformer(Decodable, nn.Module):
    """The encoder-decoder Transformer (Vaswani et al. 2017, Fig. 1).

    ``model(src, tgt_in)`` runs teacher-forced and returns :class:`TransformerOutput`;
    :meth:`greedy` and :meth:`beam_search` (:class:`coursekit.decoding.Decodable`) decode
    without targets and return :class:`coursekit.decoding.Decoded`; with ``alignments=True``
    its ``alignments`` are the last decoder layer's cross-attention, averaged over heads,
    (B, T, S), zero after eos. Every decoder position is computed at once in
    training: the causal mask, not a loop, keeps step t from seeing steps after t.
    """

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        if not isinstance(cfg, TransformerConfig):
            raise ValueError(f"cfg must be a TransformerConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        rotary = cfg.positions == "rotary"

        def embeddings(vocab_size: int, embed: nn.Embedding | None = None) -> Embeddings:
            return Embeddings(
                vocab_size, cfg.d_model, positions=cfg.positions, max_len=cfg.max_len, scale=True,
                dropout=cfg.dropout, padding_idx=Vocab.pad_id, embed=embed,
            )

        self.decoder = Stack(cfg.block, cfg.n_layers, embeddings(cfg.tgt_vocab_size), cross_attention=True, rotary=rotary)
        shared = self.decoder.embed.embed if cfg.share_embeddings else None
        self.encoder = Stack(cfg.block, cfg.n_layers, embeddings(cfg.src_vocab_size, shared), rotary=rotary)
        self.out = nn.Linear(cfg.d_model, cfg.tgt_vocab_size, bias=cfg.bias)  # the pre-softmax layer
        if cfg.tie_output:
            self.out.weight = self.decoder.embed.embed.weight  # Sec. 3.4: one matrix, (V, D)
        if cfg.bias:
            nn.init.zeros_(self.out.bias)

    def _source(self, src: torch.Tensor, src_lengths: torch.Tensor | None):
        """Check the source once; return its dims and (B, S) key-padding mask, True at real tokens."""
        dims, lengths = check_source(src, src_lengths, self.cfg.src_vocab_size)
        return dims, torch.arange(dims["S"], device=src.device)[None, :] < lengths[:, None]

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """src (B, S) long, 0-padded -> (memory (B, S, D), src_mask (B, S) bool, True at real tokens).
        The mask comes from ``src_lengths`` when given, else from the padding."""
        _, src_mask = self._source(src, src_lengths)
        return self._encode(src, src_mask), src_mask

    def _encode(self, src, src_mask):
        return self.encoder(src, key_padding_mask=src_mask).hidden  # (B, S, D)

    def decode(
        self,
        tgt_in: torch.Tensor,
        memory: torch.Tensor,
        src_mask: torch.Tensor,
        *,
        need_weights: bool = False,
    ) -> TransformerOutput:
        """tgt_in (B, T) long -> logits (B, T, V) for every position at once; memory (B, S, D);
        src_mask (B, S) bool from :meth:`encode`."""
        out = self._decode(tgt_in, memory, src_mask, need_weights=need_weights)
        return TransformerOutput(self.out(out.hidden), out.cross_attentions)

    def _decode(self, tgt_in, memory, src_mask, *, need_weights=False) -> StackOutput:
        # is_causal: position t sees positions <= t; with no other self-attention mask it reaches
        # F.scaled_dot_product_attention(is_causal=True), so the fused kernels skip the masked half.
        return self.decoder(tgt_in, memory=memory, memory_padding_mask=src_mask, is_causal=True, need_weights=need_weights)

    def forward(
        self, src: torch.Tensor, tgt_in: torch.Tensor, src_lengths: torch.Tensor | None = None, *, need_weights: bool = False
    ) -> TransformerOutput:
        """Teacher-forced: src (B, S) long, tgt_in (B, T) long (bos + target) -> logits (B, T, V)."""
        dims, src_mask = self._source(src, src_lengths)
        check_tensor("tgt_in", tgt_in, shape=("B", "T"), dtype=torch.long, dims={"B": dims["B"]})
        check_ids("tgt_in ids", tgt_in, self.cfg.tgt_vocab_size)
        memory = self._encode(src, src_mask)
        return self.decode(tgt_in, memory, src_mask, need_weights=need_weights)

    # ----------------------------------------------------------------- decoding
    def _decoder(self, src, src_lengths, *, repeat: int = 1, alignments: bool = False):
        """Encode once, repeat each row ``repeat`` times (beam search), and return the step
        function :class:`coursekit.decoding.Decodable` drives and its initial state (the empty prefix).

        The decoder re-reads its whole prefix at each step (no key/value cache: Chapter 6 adds
        one). With ``alignments`` a step also returns the last layer's cross-attention at the
        new position, averaged over heads, (N, S).
        """
        _, src_mask = self._source(src, src_lengths)
        memory = self._encode(src, src_mask)
        if repeat > 1:
            memory, src_mask = memory.repeat_interleave(repeat, dim=0), src_mask.repeat_interleave(repeat, dim=0)

        def step(y, prefix, t):
            prefix = torch.cat([prefix, y[:, None]], dim=1)  # (N, t + 1): bos and the tokens so far
            out = self._decode(prefix, memory, src_mask, need_weights=alignments)
            logits = self.out(out.hidden[:, -1])  # (N, V) for the next token
            weights = out.cross_attentions[-1][:, :, -1].mean(1) if alignments else None  # (N, H, S) -> (N, S)
            return logits, prefix, weights

        empty = torch.zeros(memory.shape[0], 0, dtype=torch.long, device=src.device)
        return step, empty

    def _reorder(self, prefix, rows):
        return prefix.index_select(0, rows)

    @torch.no_grad()
    def load_torch_transformer(self, reference: nn.Transformer) -> "Transformer":
        """Copy every layer and final norm of a ``torch.nn.Transformer`` (batch_first=True) into
        the two stacks; returns self. torch's module holds no embeddings or output layer.

        ``nn.Transformer`` always ends each stack with a LayerNorm; our post-norm stacks end
        without one (their last block already normalises), so a post-norm model loads only a
        reference built with ``custom_encoder`` / ``custom_decoder`` whose ``norm`` is None.
        """
        if not isinstance(reference, nn.Transformer):
            raise ValueError(f"reference must be a torch.nn.Transformer, got {type(reference).__name__}")
        if not reference.batch_first:
            raise ValueError("reference must be built with batch_first=True")
        for name, mine, theirs in (("encoder", self.encoder, reference.encoder), ("decoder", self.decoder, reference.decoder)):
            if len(theirs.layers) != len(mine.layers):
                raise ValueError(f"the {name} has {len(mine.layers)} layers here, {len(theirs.layers)} in the reference")
            if (theirs.norm is not None) != self.cfg.norm_first:
                raise ValueError(
                    f"the reference {name} {'ends with' if theirs.norm is not None else 'has no'} final norm, but "
                    f"this model is {'pre' if self.cfg.norm_first else 'post'}-norm: build the reference with "
                    f"norm_first={self.cfg.norm_first}" + ("" if self.cfg.norm_first else " and custom stacks whose norm is None")
                )
            for ours, ref in zip(mine.layers, theirs.layers):
                ours.load_torch_weights(ref)
            if theirs.norm is not None:
                if theirs.norm.eps != self.cfg.norm_eps:
                    raise ValueError(f"the {name}'s final norm eps differs: {theirs.norm.eps:g} vs {self.cfg.norm_eps:g}")
                mine.norm.weight.copy_(theirs.norm.weight)
                mine.norm.bias.copy_(theirs.norm.bias)
        return self
