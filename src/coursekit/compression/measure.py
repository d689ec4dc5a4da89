"""Size and speed of a model: parameters, bytes as stored, CPU latency and accuracy of a classifier.

Bytes are computed, not read from a file: 4 per float32 number, ``bits / 8`` per quantised
weight plus a float32 scale per output channel (:mod:`.quantize`), and for a sparse matrix only
its non-zero values plus one bit per position saying which they are (:mod:`.pruning`).

Legend: B batch, T tokens, N examples.
"""

from __future__ import annotations

import torch
from torch import nn

from ..transformer.table1 import interleaved_ms
from ..utils import check_positive, check_tensor

__all__ = ["parameter_count", "model_bytes", "classify", "accuracy", "latency_ms"]


def parameter_count(model: nn.Module, *, nonzero: bool = False) -> int:
    """Distinct parameters of ``model`` (a shared module counts once); ``nonzero``: only those
    that are not exactly 0 (what a pruned model must store)."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    params = list(model.parameters())  # deduplicated by torch: tied and shared weights once
    return int(sum(int((p != 0).sum()) if nonzero else p.numel() for p in params))


def model_bytes(model: nn.Module, *, sparse: bool = False, bits: dict | None = None) -> int:
    """Bytes to store ``model``'s parameters: 4 per float32 number. ``sparse``: every 2-d weight
    stored as its non-zero values (4 bytes each) plus a bitmap of its positions (one bit each);
    ``bits``: parameter -> bit width for quantised weights (from :func:`~.quantize.quantize_weights`),
    each stored as ``bits / 8`` bytes per value plus a 4-byte scale per row (output channel)."""
    bits = bits or {}
    total = 0.0
    for p in model.parameters():
        b = bits.get(p)
        if b is not None:
            total += p.numel() * b / 8 + 4 * p.shape[0]
        elif sparse and p.dim() == 2:
            total += 4 * int((p != 0).sum()) + p.numel() / 8
        else:
            total += 4 * p.numel()
    return int(round(total))


@torch.no_grad()
def classify(model: nn.Module, input_ids: torch.Tensor, key_padding_mask: torch.Tensor, *,
             batch_size: int = 512) -> torch.Tensor:
    """Predicted labels (N,) of a sequence classifier (``model(ids, key_padding_mask=...).logits``),
    in eval mode, batches of ``batch_size`` cut to their longest real length."""
    check_tensor("input_ids", input_ids, shape=("N", "T"), dtype=torch.long)
    check_tensor("key_padding_mask", key_padding_mask, shape=tuple(input_ids.shape), dtype=torch.bool)
    check_positive("batch_size", batch_size)
    was = model.training
    model.eval()
    out = []
    for ids, real in zip(input_ids.split(batch_size), key_padding_mask.split(batch_size)):
        T = int(real.sum(1).max())
        out.append(model(ids[:, :T], key_padding_mask=real[:, :T]).logits.argmax(-1))
    model.train(was)
    return torch.cat(out)


def accuracy(model: nn.Module, input_ids: torch.Tensor, key_padding_mask: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``labels`` (N,) that :func:`classify` gets right."""
    check_tensor("labels", labels, shape=(input_ids.shape[0],), dtype=torch.long)
    return float((classify(model, input_ids, key_padding_mask) == labels).float().mean())


def latency_ms(models: dict, input_ids: torch.Tensor, key_padding_mask: torch.Tensor, *, rounds: int = 5) -> dict:
    """CPU milliseconds of one forward pass over the whole batch (no gradients), for each model of
    ``models`` (name -> module): ``rounds`` rounds of :func:`coursekit.transformer.interleaved_ms`
    (every model once per round, in turn, so that a change in the machine's load falls on all
    alike), and each model's fastest round. The minimum, not the median: a pass of a few ms is
    either interrupted by another process or not, and on a shared machine the median can land on
    either side; the fastest run is what the model itself costs (the advice of Python's
    ``timeit``)."""
    if not isinstance(models, dict) or not models:
        raise ValueError(f"models must be a non-empty dict name -> model, got {type(models).__name__}")
    T = int(key_padding_mask.sum(1).max())
    ids, real = input_ids[:, :T], key_padding_mask[:, :T]

    def run(m):
        def fn():
            with torch.no_grad():
                m(ids, key_padding_mask=real)
        return fn

    for m in models.values():
        m.eval()
    check_positive("rounds", rounds)
    steps = {name: run(m) for name, m in models.items()}
    times = [interleaved_ms(steps, warmup=1 if r == 0 else 0, rounds=1) for r in range(rounds)]
    return {name: min(t[name] for t in times) for name in steps}
