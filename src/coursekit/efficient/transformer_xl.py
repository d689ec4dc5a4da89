"""Transformer-XL: segment-level recurrence with a memory, and relative positional encodings.

Zihang Dai, Zhilin Yang, Yiming Yang, Jaime Carbonell, Quoc V. Le, Ruslan Salakhutdinov (2019),
"Transformer-XL: Attentive Language Models Beyond a Fixed-Length Context", ACL,
https://arxiv.org/abs/1901.02860, Sec. 3.2 (segment-level recurrence with state reuse: each layer also
attends to the previous segment's hidden states, cached with a stop-gradient) and Sec. 3.3 (relative
positional encodings: the score of query i and key j is
  (a) q_i . k_j  +  (b) q_i . W_R R_{i-j}  +  (c) u . k_j  +  (d) v . W_R R_{i-j},
with R the sinusoid of the distance i - j, W_R its own projection, u and v learned per head; computed
as (q_i + u) . k_j + (q_i + v) . r_{i-j}, the second term for all distances at once and then moved into
place by :func:`rel_shift`, the paper's appendix B).

Legend: B batch, T segment (query) length, M memory length, S = M + T key length, D model width,
H heads, Dh = D / H head width, V vocabulary size, L layers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..attention import MultiHeadAttention, causal_mask, masked_softmax, merge_heads, split_heads
from ..transformer.block import Block, BlockConfig
from ..transformer.norms import make_norm
from ..transformer.positions import sinusoidal_encoding
from ..utils import check_bool, check_int, check_positive, check_real, check_tensor, plain_numbers

__all__ = [
    "rel_shift",
    "relative_scores",
    "XLConfig",
    "RelativeMultiHeadAttention",
    "XLLayer",
    "XLModel",
    "recall_stream",
    "segment_batches",
    "XLRecall",
    "train_xl",
]


def rel_shift(x: torch.Tensor) -> torch.Tensor:
    """Move scores computed per distance into per-key places (Dai et al. 2019, appendix B).

    x (..., T, S): column c holds the score for distance S - 1 - c (distances S-1 .. 0). Returns
    (..., T, S) with out[i, j] = x[i, j + T - 1 - i], the score for distance i + (S - T) - j between
    query i (the last T of S positions) and key j. Valid where j <= i + S - T, the causal region; the
    rest holds leftovers that the causal mask removes. One pad and two views, no gather.
    """
    *lead, T, S = x.shape
    padded = F.pad(x, (1, 0))  # (..., T, S + 1): a zero column in front
    padded = padded.reshape(*lead, S + 1, T)  # the same numbers read in rows of T: each row slides by one
    return padded[..., 1:, :].reshape(*lead, T, S)  # drop the first row and read back in rows of S


def relative_scores(
    q: torch.Tensor, k: torch.Tensor, r: torch.Tensor, u: torch.Tensor, v: torch.Tensor
) -> torch.Tensor:
    """Unscaled, unmasked relative attention scores, terms (a)+(b)+(c)+(d) of Sec. 3.3.

    q (B, H, T, Dh) queries of the segment; k (B, H, S, Dh) keys of memory + segment; r (H, S, Dh) the
    projected encodings W_R R_d for distances d = S-1 .. 0; u, v (H, Dh). Returns (B, H, T, S), valid in
    the causal region (key j <= query i + S - T).
    """
    ac = (q + u[:, None, :]) @ k.transpose(-2, -1)  # (B, H, T, S): content terms (a) + (c)
    bd = (q + v[:, None, :]) @ r.transpose(-2, -1)  # (B, H, T, S) per distance S-1-c: terms (b) + (d)
    return ac + rel_shift(bd)


@dataclass(frozen=True)
class XLConfig:
    """A token-level Transformer-XL language model. CPU-sized defaults; the paper's WikiText-103 base
    model in the comments."""

    vocab_size: int = 16  # paper: 267k (WikiText-103)
    d_model: int = 32  # paper: 410
    n_heads: int = 2  # paper: 10
    d_ff: int = 64  # paper: 2100
    n_layers: int = 1  # paper: 16
    seg_len: int = 8  # paper: 150 at training
    mem_len: int = 8  # paper: 150 at training (longer at evaluation); 0 = no memory
    norm_first: bool = True  # the paper's code defaults to post-norm; pre-norm trains faster here
    dropout: float = 0.0  # paper: 0.1

    def __post_init__(self):
        plain_numbers(self)
        for name in ("vocab_size", "d_model", "n_heads", "d_ff", "n_layers", "seg_len"):
            check_positive(name, getattr(self, name))
        check_positive("mem_len", self.mem_len, allow_zero=True)
        check_bool("norm_first", self.norm_first)
        check_real("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got d_model={self.d_model}, n_heads={self.n_heads}")
        if self.d_model % 2:
            raise ValueError(f"d_model must be even (sinusoidal encodings), got {self.d_model}")

    @property
    def block(self) -> BlockConfig:
        """The shared block's config: ReLU FFN and LayerNorm, as in the paper's code (the relative attention
        itself has no biases, also as there)."""
        return BlockConfig(
            d_model=self.d_model, n_heads=self.n_heads, d_ff=self.d_ff, ffn="relu", norm_first=self.norm_first,
            dropout=self.dropout,
        )


class RelativeMultiHeadAttention(MultiHeadAttention):
    """Multi-head attention over [memory; segment] with relative positions (Sec. 3.3).

    The projections of :class:`coursekit.attention.MultiHeadAttention` (``q_proj``, ``k_proj``,
    ``v_proj``, ``out_proj``), plus ``r_proj`` (W_R, no bias) for the distance encodings and the
    per-head biases ``u`` and ``v_bias`` (the paper's u and v). No absolute positions anywhere.
    """

    def __init__(self, d_model: int, n_heads: int, *, dropout: float = 0.0):
        super().__init__(d_model, n_heads, dropout=dropout, bias=False)
        self.r_proj = nn.Linear(d_model, d_model, bias=False)
        self.u = nn.Parameter(torch.zeros(n_heads, self.d_head))
        self.v_bias = nn.Parameter(torch.zeros(n_heads, self.d_head))

    def scores(self, x: torch.Tensor, mem: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, D) the segment, mem (B, M, D) or None. Returns (scaled scores (B, H, T, S) valid in the
        causal region, values (B, H, S, Dh))."""
        B, T, D = x.size()
        h = x if mem is None else torch.cat([mem, x], dim=1)  # (B, S, D): memory first, then the segment
        S = h.shape[1]
        q = split_heads(self.q_proj(x), self.n_heads)  # (B, H, T, Dh)
        k = split_heads(self.k_proj(h), self.n_heads)  # (B, H, S, Dh)
        v = split_heads(self.v_proj(h), self.n_heads)  # (B, H, S, Dh)
        R = sinusoidal_encoding(S, D, device=x.device, dtype=x.dtype).flip(0)  # (S, D): distances S-1 .. 0
        r = self.r_proj(R).view(S, self.n_heads, self.d_head).transpose(0, 1)  # (H, S, Dh)
        return relative_scores(q, k, r, self.u, self.v_bias) / math.sqrt(self.d_head), v

    def forward(
        self, x: torch.Tensor, mem: torch.Tensor | None = None, *, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D), mem (B, M, D) or None -> (out (B, T, D), weights (B, H, T, S) or None).
        Causal: query i (position M + i) sees keys 0 .. M + i, all of the memory and the segment up to itself."""
        dims = check_tensor("x", x, shape=("B", "T", self.d_model), dtype="float")
        if mem is not None:
            check_tensor("mem", mem, shape=(dims["B"], "M", self.d_model), dtype="float")
        scores, v = self.scores(x, mem)
        T, S = scores.shape[-2:]
        weights = masked_softmax(scores, causal_mask(T, S, device=x.device))  # (B, H, T, S)
        p = self.dropout if self.training else 0.0
        out = F.dropout(weights, p) @ v  # (B, H, T, Dh)
        return self.out_proj(merge_heads(out)), (weights if need_weights else None)  # (B, T, D)


class XLLayer(Block):
    """The shared :class:`coursekit.transformer.Block` (residuals, norms, FFN) with its self-attention
    replaced by :class:`RelativeMultiHeadAttention` over [memory; segment]."""

    def __init__(self, cfg: BlockConfig):
        super().__init__(cfg)
        self.self_attn = RelativeMultiHeadAttention(cfg.d_model, cfg.n_heads, dropout=cfg.dropout)

    def forward(  # type: ignore[override]
        self, x: torch.Tensor, mem: torch.Tensor | None = None, *, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D), mem (B, M, D) or None -> (x (B, T, D), weights (B, H, T, M + T) or None).

        Pre-norm normalises the memory as it normalises the segment (the memory holds this layer's
        inputs from the previous segment)."""
        weights = None

        def attend(h: torch.Tensor) -> torch.Tensor:
            nonlocal weights
            m = mem if mem is None or not self.cfg.norm_first else self.norm1(mem)
            out, weights = self.self_attn(h, m, need_weights=need_weights)
            return out

        x = self._residual(x, attend, self.norm1)
        return self._residual(x, self.ffn, self.norm2), weights


class XLModel(nn.Module):
    """A Transformer-XL token language model: ids (B, T) and the memories -> (logits (B, T, V), new memories).

    ``mems``: None (no memory yet) or a tuple of L tensors (B, M, D), layer l's inputs over the last M
    positions. The new memories are [mems; this segment's layer inputs], the last ``mem_len`` positions,
    detached (Sec. 3.2: SG, the stop-gradient: training never backpropagates into earlier segments).
    With mem_len = 0 they are empty (B, 0, D) tensors and the model is a plain causal Transformer over
    the segment (with relative positions).
    """

    def __init__(self, cfg: XLConfig = XLConfig()):
        super().__init__()
        if not isinstance(cfg, XLConfig):
            raise ValueError(f"cfg must be an XLConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(XLLayer(cfg.block) for _ in range(cfg.n_layers))
        self.norm = make_norm("layernorm", cfg.d_model) if cfg.norm_first else nn.Identity()  # pre-norm's final norm
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size)

    def forward(
        self, ids: torch.Tensor, mems: tuple[torch.Tensor, ...] | None = None, *, need_weights: bool = False
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]] | tuple[torch.Tensor, tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        """ids (B, T) long (any T; training uses seg_len); mems as above.
        Returns (logits (B, T, V), new_mems), plus the attention weights per layer with ``need_weights``."""
        B, T = check_tensor("ids", ids, shape=("B", "T"), dtype=torch.long).values()
        if ids.numel() and bool(((ids < 0) | (ids >= self.cfg.vocab_size)).any()):
            raise ValueError(f"ids must be in [0, {self.cfg.vocab_size}), got values in [{int(ids.min())}, {int(ids.max())}]")
        L = self.cfg.n_layers
        if mems is not None:
            if not isinstance(mems, (tuple, list)) or len(mems) != L:
                raise ValueError(f"mems must be None or a tuple of {L} tensors (one per layer), got {type(mems).__name__}"
                                 + (f" of length {len(mems)}" if isinstance(mems, (tuple, list)) else ""))
            for l, m in enumerate(mems):
                check_tensor(f"mems[{l}]", m, shape=(B, None, self.cfg.d_model), dtype="float")
        x = self.embed(ids) * math.sqrt(self.cfg.d_model)  # (B, T, D), scaled as in the paper's code
        new_mems, attentions = [], []
        for l, layer in enumerate(self.layers):
            mem = None if mems is None or mems[l].shape[1] == 0 else mems[l]
            new_mems.append(self._update(mem, x))
            x, w = layer(x, mem, need_weights=need_weights)
            attentions.append(w)
        logits = self.lm_head(self.norm(x))  # (B, T, V)
        if need_weights:
            return logits, tuple(new_mems), tuple(attentions)
        return logits, tuple(new_mems)

    def _update(self, mem: torch.Tensor | None, h: torch.Tensor) -> torch.Tensor:
        """The last mem_len positions of [mem; h], detached: (B, min(mem_len, M + T), D)."""
        with torch.no_grad():
            cat = h if mem is None else torch.cat([mem, h], dim=1)
            return cat[:, cat.shape[1] - min(self.cfg.mem_len, cat.shape[1]):].detach()


# ----------------------------------------------------------------------------- a task that needs the previous segment
def recall_stream(n: int, seg_len: int, n_segments: int, vocab_size: int, generator: torch.Generator) -> torch.Tensor:
    """(n, n_segments * seg_len + 1) long token streams that repeat with period ``seg_len``: the first
    ``seg_len`` tokens are uniform over [0, vocab_size), drawn from ``generator``; every later token
    copies the one ``seg_len`` places back.

    Cut into segments of ``seg_len``, predicting the next token at position i < seg_len - 1 of segment
    s >= 1 means recalling token i + 1 of segment s - 1: the previous segment, which only a memory
    holds. Those targets are uniform and independent of everything in their own segment, so a model
    without memory can do no better than chance, 1 / vocab_size. (The last position's target repeats
    the segment's first token, visible to every model.)
    """
    check_positive("n", n)
    check_int("seg_len", seg_len, min=2)
    check_int("n_segments", n_segments, min=2)
    check_int("vocab_size", vocab_size, min=2)
    period = torch.randint(vocab_size, (n, seg_len), generator=generator)
    reps = n_segments + 1
    return period.repeat(1, reps)[:, : n_segments * seg_len + 1]


def segment_batches(stream: torch.Tensor, seg_len: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Cut (n, n_segments * seg_len + 1) streams into per-segment (inputs (n, seg_len), targets (n, seg_len),
    needs_memory (seg_len,) bool) triples, in order; needs_memory marks the targets that only the
    previous segment holds (positions 0 .. seg_len - 2 of segments 1, 2, ...)."""
    check_tensor("stream", stream, shape=("n", None), dtype=torch.long)
    check_int("seg_len", seg_len, min=2)
    n_seg = (stream.shape[1] - 1) // seg_len
    if n_seg < 1 or stream.shape[1] != n_seg * seg_len + 1:
        raise ValueError(f"stream must have n_segments * seg_len + 1 columns, got {stream.shape[1]} for seg_len={seg_len}")
    out = []
    for s in range(n_seg):
        a = s * seg_len
        needs = torch.zeros(seg_len, dtype=torch.bool)
        if s > 0:
            needs[:-1] = True
        out.append((stream[:, a : a + seg_len], stream[:, a + 1 : a + seg_len + 1], needs))
    return out


@dataclass(frozen=True)
class XLRecall:
    """What :func:`train_xl` measured: for each mem_len, the held-out next-token accuracy on the targets
    that need the previous segment, and on the other targets of segments >= 1; chance = 1 / V; losses
    per training step (mean over segments); wall time of everything."""

    mem_lens: tuple[int, ...]
    recall_accuracy: tuple[float, ...]
    other_accuracy: tuple[float, ...]
    chance: float
    losses: tuple[tuple[float, ...], ...]
    seconds: float


def _run_segments(model: XLModel, stream: torch.Tensor, seg_len: int):
    """Feed the segments in order, carrying the memories; yield (logits, targets, needs_memory)."""
    mems = None
    for inputs, targets, needs in segment_batches(stream, seg_len):
        logits, mems = model(inputs, mems)
        yield logits, targets, needs


def train_xl(
    cfg: XLConfig = XLConfig(), *, steps: int = 60, batch_size: int = 32, n_segments: int = 2, lr: float = 1e-2,
    n_eval: int = 256, seed: int = 0,
) -> XLRecall:
    """Train the same model (same seed, same batches) with mem_len = 0 and mem_len = cfg.seg_len on
    :func:`recall_stream` and measure held-out accuracy on the targets that need the previous segment.

    Each step draws ``batch_size`` streams of ``n_segments`` segments and feeds the segments in order,
    carrying the (detached) memories; the loss is the mean next-token cross-entropy over all segments.
    Held-out streams come from seed + 1. Seeded, CPU, Adam.
    """
    if not isinstance(cfg, XLConfig):
        raise ValueError(f"cfg must be an XLConfig, got {type(cfg).__name__}")
    check_positive("steps", steps)
    check_positive("batch_size", batch_size)
    check_int("n_segments", n_segments, min=2)
    check_real("lr", lr, low=0.0, low_open=True)
    check_positive("n_eval", n_eval)
    t0 = time.perf_counter()
    L, V = cfg.seg_len, cfg.vocab_size
    held_out = recall_stream(n_eval, L, n_segments, V, torch.Generator().manual_seed(seed + 1))
    mem_lens, recall, other, losses = (0, L), [], [], []
    for mem_len in mem_lens:
        torch.manual_seed(seed)
        model = XLModel(XLConfig(**{**cfg.__dict__, "mem_len": mem_len}))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        curve = []
        model.train()
        for _ in range(steps):
            stream = recall_stream(batch_size, L, n_segments, V, gen)
            loss = sum(F.cross_entropy(lg.reshape(-1, V), tg.reshape(-1)) for lg, tg, _ in _run_segments(model, stream, L))
            loss = loss / n_segments
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            curve.append(loss.item())
        model.eval()
        hits_r = hits_o = n_r = n_o = 0
        with torch.no_grad():
            for s, (lg, tg, needs) in enumerate(_run_segments(model, held_out, L)):
                if s == 0:
                    continue
                correct = lg.argmax(-1) == tg  # (n, T)
                hits_r += int(correct[:, needs].sum())
                n_r += int(correct[:, needs].numel())
                hits_o += int(correct[:, ~needs].sum())
                n_o += int(correct[:, ~needs].numel())
        recall.append(hits_r / n_r)
        other.append(hits_o / n_o)
        losses.append(tuple(curve))
    return XLRecall(mem_lens, tuple(recall), tuple(other), 1.0 / V, tuple(losses), time.perf_counter() - t0)
