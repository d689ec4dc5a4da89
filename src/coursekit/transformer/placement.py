"""Post-norm vs pre-norm at a high learning rate, with and without warm-up (Xiong et al. 2020).

Xiong, Yang, He, Zheng, Zheng, Xing, Zhang, Lan, Wang & Liu (2020), *On Layer Normalization
in the Transformer Architecture*, https://arxiv.org/abs/2002.04745: at initialisation the
post-norm Transformer's gradients near the output are large, so a large learning rate from
the first step makes training unstable and the warm-up stage is needed (their Figure 2); the
pre-norm Transformer's gradients are well-behaved and it trains without warm-up (Figure 4).

:func:`placement_run` trains one stack of :class:`~.block.Block` layers on a small
synthetic task, reversing a sequence of symbols (every output position must find its
mirror position through attention), with Adam and no gradient clipping, and returns the
training losses. Everything (data, batches, initial weights) is drawn from ``seed``, so
the runs of one comparison differ only in the norm placement and the schedule.

Legend: B batch, T length, D d_model, V vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_bool, check_positive, check_real
from .block import BlockConfig
from .stack import Embeddings, Stack

__all__ = ["PlacementConfig", "ReverseTagger", "reverse_batch", "placement_run"]


@dataclass(frozen=True)
class PlacementConfig:
    """One run of the placement experiment. CPU-sized defaults."""

    n_layers: int = 6  # Xiong et al.: 6 encoder + 6 decoder layers (IWSLT/WMT), 12 or 24 (BERT)
    d_model: int = 32
    n_heads: int = 2
    d_ff: int = 64
    vocab: int = 10  # symbols to reverse
    length: int = 8  # T: every sequence has this many symbols
    batch: int = 32
    steps: int = 60
    lr: float = 1e-2  # peak learning rate; "high" for a model this size (Adam's usual default is 1e-3)
    warmup_steps: int = 0  # 0: the full rate from step 1; else a linear ramp to lr over this many steps

    def __post_init__(self):
        for name in ("n_layers", "d_model", "n_heads", "d_ff", "vocab", "length", "batch", "steps"):
            check_positive(name, getattr(self, name))
        check_positive("warmup_steps", self.warmup_steps, allow_zero=True)
        check_real("lr", self.lr, low=0.0, low_open=True)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got {self.d_model} and {self.n_heads}")


class ReverseTagger(nn.Module):
    """Embeddings (sinusoidal positions), a :class:`~.stack.Stack` of blocks, a linear output:
    ids (B, T) -> logits (B, T, V), one prediction per position (no decoder)."""

    def __init__(self, cfg: PlacementConfig, norm_first: bool):
        super().__init__()
        check_bool("norm_first", norm_first)
        block = BlockConfig(d_model=cfg.d_model, n_heads=cfg.n_heads, d_ff=cfg.d_ff, norm_first=norm_first)
        embed = Embeddings(cfg.vocab, cfg.d_model, padding_idx=None)
        self.stack = Stack(block, cfg.n_layers, embed)
        self.out = nn.Linear(cfg.d_model, cfg.vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.stack(ids).hidden)  # (B, T, V)


def reverse_batch(cfg: PlacementConfig, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of the task: random symbols (B, T) and their reversal (B, T), both long."""
    ids = torch.randint(cfg.vocab, (cfg.batch, cfg.length), generator=generator)
    return ids, ids.flip(1)


def placement_run(cfg: PlacementConfig, norm_first: bool, *, seed: int = 0, device: torch.device | str | None = None) -> list[float]:
    """Train a :class:`ReverseTagger` with Adam (betas 0.9, 0.98 as in Vaswani et al.) at
    ``cfg.lr``, after a linear warm-up of ``cfg.warmup_steps`` (none when 0), no gradient
    clipping; return the training loss of every step. A loss that becomes NaN or infinite
    ends the run: the remaining steps are recorded as ``inf`` (a divergence)."""
    if not isinstance(cfg, PlacementConfig):
        raise ValueError(f"cfg must be a PlacementConfig, got {type(cfg).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ReverseTagger(cfg, norm_first).to(device)
    data = torch.Generator().manual_seed(seed + 1)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-9)
    ramp = (lambda step: min(1.0, (step + 1) / cfg.warmup_steps)) if cfg.warmup_steps else (lambda step: 1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, ramp)
    losses: list[float] = []
    model.train()
    for _ in range(cfg.steps):
        src, tgt = (t.to(device) for t in reverse_batch(cfg, data))
        loss = F.cross_entropy(model(src).flatten(0, 1), tgt.flatten())
        if not torch.isfinite(loss):
            return losses + [math.inf] * (cfg.steps - len(losses))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses
