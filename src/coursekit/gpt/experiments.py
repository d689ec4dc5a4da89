"""Chapter 6's experiments: next-token training with a held-out split, "train large, then
compress" at toy scale, the KV cache's speed-up, and the work of generation counted exactly.

- :func:`held_out_loss`: the shifted next-token cross-entropy (:func:`coursekit.gpt.lm_loss`;
  Radford et al. 2018, Sec. 3.1, Eq. 1: maximise sum_i log P(u_i | u_{i-k}, ..., u_{i-1})) on
  fixed, non-overlapping held-out windows.
- :func:`train_lm`: Adam with a short linear warm-up, :func:`coursekit.train.fit` as the loop,
  the held-out loss (and perplexity, exp of it) every ``eval_every`` steps.
- :func:`quantize_weights`, :func:`magnitude_prune`, :func:`weight_bytes`: the two compressions
  of Li, Wallace, Shen, Lin, Keutzer, Klein & Gonzalez (2020), *Train Big, Then Compress:
  Rethinking Model Size for Efficient Training and Inference of Transformers*, ICML, PMLR 119
  (the arXiv version, https://arxiv.org/abs/2002.11794, is titled *Train Large, Then Compress*) (quantisation and magnitude pruning of the large model,
  compared with a small model of the same size), done here on the weight matrices
  with plain torch (fake quantisation: weights rounded to ``bits`` bits, one scale per row).
- :func:`steps_to_reach`: the first logged step at which a curve reaches a loss.
- :func:`unigram_loss`: the held-out loss of a model that ignores the context, add-one smoothed
  token frequencies of the training split (the baseline a language model must beat first).
- :func:`generation_timings`: time per generated token with and without the KV cache, against
  the prompt length (the cache turns each step's forward over the whole prefix into one
  token's forward), with the one pass that fills the cache with the prompt timed separately.
- :func:`generation_flops`: the floating-point operations of the matrix products in generating n
  tokens, counted from the shapes of the forward calls (deterministic, for the predict-then-run
  exercise).

Legend: B batch, T window length (block size), V vocabulary, n generated tokens, t prefix length.
The model is a :class:`coursekit.gpt.GPT`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..corpus import eval_windows as _eval_windows
from ..corpus import lm_batches
from ..train import History, fit
from ..transformer.table1 import interleaved_ms
from ..utils import check_int, check_positive, check_real
from .model import lm_loss
from .sampling import sample_next

__all__ = [
    "held_out_loss",
    "LMRun",
    "train_lm",
    "steps_to_reach",
    "unigram_loss",
    "weight_matrices",
    "weight_bytes",
    "quantize_weights",
    "magnitude_prune",
    "nonzero_weights",
    "generation_timings",
    "generation_flops",
]


def _pair_loss(model: nn.Module, xy: torch.Tensor) -> torch.Tensor:
    """xy (2, B, T) long, inputs and targets stacked (as ``fit`` moves one tensor) -> the loss."""
    return lm_loss(model, xy[0], xy[1])


@torch.no_grad()
def held_out_loss(model: nn.Module, ids: torch.Tensor, block_size: int, *, max_windows: int | None = 64,
                  batch_size: int = 32) -> float:
    """Mean next-token loss (nats per token) on the fixed non-overlapping windows of the 1-d ``ids``
    that :func:`coursekit.corpus.eval_windows` picks (at most ``max_windows``, spread evenly)."""
    check_positive("batch_size", batch_size)
    device = next(model.parameters()).device
    x, y = _eval_windows(ids, block_size, max_windows)  # (W, T) each
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
        total += lm_loss(model, xb.to(device), yb.to(device)).item() * yb.numel()
        count += yb.numel()
    model.train(was_training)
    return total / count


@dataclass(frozen=True)
class LMRun:
    """One training run: the trained ``model``, its :class:`~coursekit.train.History` (train rows hold
    ``loss``; eval rows ``loss`` and ``perplexity`` on the held-out windows) and its parameter count."""

    model: nn.Module
    history: History
    parameters: int

    def records(self, **extra) -> list[dict]:
        """The rows, ready for :func:`coursekit.viz.training_curves` (eval rows as split "held-out")."""
        return [{**r, "split": "held-out" if r["split"] == "eval" else r["split"], **extra} for r in self.history.rows]

    @property
    def final_loss(self) -> float:
        return self.history.last("loss", "eval")


def train_lm(
    model: nn.Module,
    train_ids: torch.Tensor,
    held_ids: torch.Tensor,
    *,
    steps: int,
    block_size: int,
    batch_size: int = 16,
    lr: float = 3e-3,
    warmup: int = 10,
    eval_every: int = 20,
    eval_windows: int = 64,
    seed: int = 0,
    desc: str = "GPT",
) -> LMRun:
    """Train ``model`` on random windows (:func:`coursekit.corpus.lm_batches`) of the 1-d ``train_ids`` for
    ``steps`` Adam steps (lr ramped linearly over ``warmup`` steps, then constant; gradients
    clipped at 1), evaluating the held-out loss on ``eval_windows`` fixed windows of ``held_ids``
    every ``eval_every`` steps and at the end. The batches come from ``torch.Generator(seed)``."""
    for name, value in (("steps", steps), ("block_size", block_size), ("batch_size", batch_size),
                        ("eval_every", eval_every), ("eval_windows", eval_windows)):
        check_positive(name, value)
    check_int("warmup", warmup, min=0)
    check_real("lr", lr, low=0.0, low_open=True)
    for name, ids in (("train_ids", train_ids), ("held_ids", held_ids)):
        if not isinstance(ids, torch.Tensor) or ids.dim() != 1 or ids.dtype != torch.long:
            raise ValueError(f"{name} must be a 1-d long tensor of token ids, got {ids!r:.80}")
    if train_ids.numel() <= block_size + 1:
        raise ValueError(f"train_ids must hold more than block_size + 1 = {block_size + 1} tokens, got {train_ids.numel()}")
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)

    def batches(step: int) -> torch.Tensor:  # fit asks for the steps in order, so the draws repeat with the seed
        return torch.stack(lm_batches(train_ids, block_size, batch_size, generator=gen))  # (2, B, T)

    def evaluate(m: nn.Module) -> dict[str, float]:
        loss = held_out_loss(m, held_ids, block_size, max_windows=eval_windows)
        return {"loss": loss, "perplexity": math.exp(loss)}

    start = evaluate(model)  # step 0: the held-out loss before training, where every curve starts
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.95))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, warmup)))
    history = fit(model, opt, batches, _pair_loss, steps, eval_fn=evaluate, eval_every=eval_every,
                  log_every=max(1, eval_every // 2), scheduler=sched, desc=desc, device=device)
    history.rows.insert(0, {"step": 0, "split": "eval", **start})
    return LMRun(model, history, sum(p.numel() for p in model.parameters()))


def steps_to_reach(run: LMRun, target: float) -> int | None:
    """The first evaluated step at which the held-out loss is <= ``target`` (None if never)."""
    for step, loss in zip(*run.history.curve("loss", "eval")):
        if loss <= target:
            return step
    return None


def unigram_loss(train_ids: torch.Tensor, held_ids: torch.Tensor, vocab_size: int, *, block_size: int | None = None,
                 max_windows: int | None = None) -> float:
    """Held-out loss (nats per token) of the unigram model: every next token is drawn from the
    training split's token frequencies, add-one smoothed, p(v) = (count(v) + 1) / (N + V), whatever
    the context. With ``block_size`` it is scored on the targets of the same held-out windows as
    :func:`held_out_loss` (``max_windows`` as there); without, on every held-out token."""
    check_positive("vocab_size", vocab_size)
    for name, ids in (("train_ids", train_ids), ("held_ids", held_ids)):
        if not isinstance(ids, torch.Tensor) or ids.dim() != 1 or ids.dtype != torch.long or ids.numel() == 0:
            raise ValueError(f"{name} must be a non-empty 1-d long tensor of token ids, got {ids!r:.80}")
        if int(ids.min()) < 0 or int(ids.max()) >= vocab_size:
            raise ValueError(f"{name} must hold ids in [0, vocab_size={vocab_size}), got ids from {int(ids.min())} "
                             f"to {int(ids.max())}")
    counts = torch.bincount(train_ids.cpu(), minlength=vocab_size).double()  # (V,)
    log_p = ((counts + 1) / (counts.sum() + vocab_size)).log()
    targets = held_ids.cpu() if block_size is None else _eval_windows(held_ids.cpu(), block_size, max_windows)[1].flatten()
    return float(-log_p[targets].mean())


# ----------------------------------------------------------------------------- compression
def weight_matrices(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The model's 2-d weight matrices (linear layers, embeddings, position tables), each once
    (a tied embedding and output layer share one matrix). Biases and norm gains are left out."""
    seen, out = set(), []
    for name, p in model.named_parameters():
        if p.dim() == 2 and id(p) not in seen:
            seen.add(id(p))
            out.append((name, p))
    return out


def weight_bytes(model: nn.Module, bits: int = 32) -> float:
    """Storage in bytes: the 2-d weights at ``bits`` bits each (plus one float32 scale per row when
    bits < 32), every other parameter (biases, norms) in float32; tied matrices counted once."""
    check_int("bits", bits, min=1, max=32)
    matrices = weight_matrices(model)
    in_matrices = {id(p) for _, p in matrices}
    others = {id(p): p.numel() for p in model.parameters() if id(p) not in in_matrices}
    total = sum(p.numel() * bits / 8 + (4 * p.shape[0] if bits < 32 else 0) for _, p in matrices)
    return total + 4 * sum(others.values())


def quantize_weights(model: nn.Module, bits: int) -> nn.Module:
    """A copy of ``model`` whose 2-d weights are rounded to signed ``bits``-bit integers with one
    symmetric scale per row (absmax / (2^(bits-1) - 1)), then stored back as floats
    (fake quantisation: the arithmetic stays float, the information is ``bits`` bits)."""
    check_int("bits", bits, min=2, max=16)
    q = copy.deepcopy(model)
    levels = 2 ** (bits - 1) - 1
    with torch.no_grad():
        for _, w in weight_matrices(q):
            scale = w.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / levels  # (rows, 1)
            w.copy_(torch.round(w / scale).clamp(-levels, levels) * scale)
    return q


def magnitude_prune(model: nn.Module, sparsity: float) -> nn.Module:
    """A copy of ``model`` with the ``sparsity`` share of its 2-d weights of smallest magnitude set
    to zero (one global threshold over all matrices, as in Li et al.'s magnitude pruning)."""
    check_real("sparsity", sparsity, low=0.0, high=1.0, high_open=True)
    pruned = copy.deepcopy(model)
    matrices = [w for _, w in weight_matrices(pruned)]
    magnitudes = torch.cat([w.detach().abs().flatten() for w in matrices])
    k = int(sparsity * magnitudes.numel())
    if k == 0:
        return pruned
    threshold = torch.kthvalue(magnitudes.cpu(), k).values.item()
    with torch.no_grad():
        for w in matrices:
            w.masked_fill_(w.abs() <= threshold, 0.0)
    return pruned


def nonzero_weights(model: nn.Module) -> int:
    """Non-zero entries of the 2-d weights plus every other parameter (what a sparse format stores)."""
    matrices = weight_matrices(model)
    ids = {id(p) for _, p in matrices}
    return int(sum((p != 0).sum().item() for _, p in matrices)) + sum(p.numel() for p in model.parameters()
                                                                       if id(p) not in ids)


# ----------------------------------------------------------------------------- generation cost
PROMPT_PASS = "the prompt, into the cache"
CACHED_STEP = "new token, with cache"
UNCACHED_STEP = "new token, without cache"


@torch.no_grad()
def _greedy_cached_steps(model: nn.Module, cache, first: torch.Tensor, n: int) -> torch.Tensor:
    """Feed ``first`` (B, 1) after the positions ``cache`` holds, then each argmax, one token at a time:
    ``n`` one-token forward passes. Returns the n tokens they pick, (B, n)."""
    x, picked = first, []
    for _ in range(n):
        x = sample_next(model(x, cache=cache).logits[:, -1], greedy=True)[:, None]  # (B, 1)
        picked.append(x)
    return torch.cat(picked, dim=1)


def generation_timings(
    model: nn.Module,
    prompt_lengths: Sequence[int],
    *,
    new_tokens: int = 8,
    rounds: int = 3,
    vocab_size: int | None = None,
    seed: int = 0,
) -> list[dict]:
    """Time (ms) of the steps of greedy generation with and without the KV cache, per prompt length.

    For each length t a random prompt (1, t) is extended by ``new_tokens`` tokens, and three
    things are timed in alternation (:func:`coursekit.transformer.interleaved_ms`, median of
    ``rounds``) so that a change in the machine's load falls on all of them:

    - ``"new token, without cache"``: ``model.generate(..., use_cache=False)``, whose every step runs
      the whole prefix again; its time divided by ``new_tokens``;
    - ``"new token, with cache"``: the cache already holds the prompt's keys and values (filled once,
      untimed), and only the ``new_tokens`` one-token steps are timed, divided by ``new_tokens``;
    - ``"the prompt, into the cache"``: the one full pass over the prompt that fills the cache
      (paid once per generation, not per token).

    Rows: ``{"prompt": t, "kind": one of the three, "ms": ...}``. ``prompt + new_tokens`` must fit
    the model's positions."""
    check_positive("new_tokens", new_tokens)
    check_positive("rounds", rounds)
    device = next(model.parameters()).device
    V = vocab_size or model.config.vocab_size
    gen = torch.Generator().manual_seed(seed)
    rows = []
    model.eval()
    for t in prompt_lengths:
        check_positive("prompt length", t)
        prompt = torch.randint(0, V, (1, t), generator=gen).to(device)
        steps_cache, prompt_cache = model.new_cache(), model.new_cache()
        with torch.no_grad():
            first = sample_next(model(prompt, cache=steps_cache).logits[:, -1], greedy=True)[:, None]  # (1, 1)

        def uncached(prompt=prompt):
            with torch.no_grad():
                return model.generate(prompt, new_tokens, greedy=True, use_cache=False)

        def cached(cache=steps_cache, first=first, t=t):
            return _greedy_cached_steps(model, cache.crop(t), first, new_tokens)

        def prompt_pass(cache=prompt_cache, prompt=prompt):
            with torch.no_grad():
                return model(prompt, cache=cache.crop(0)).logits

        ms = interleaved_ms({UNCACHED_STEP: uncached, CACHED_STEP: cached, PROMPT_PASS: prompt_pass}, warmup=1,
                            rounds=rounds, cuda=device.type == "cuda")
        per_call = {UNCACHED_STEP: new_tokens, CACHED_STEP: new_tokens, PROMPT_PASS: 1}
        rows += [{"prompt": int(t), "kind": name, "ms": v / per_call[name]} for name, v in ms.items()]
    return rows


def generation_flops(model: nn.Module, new_tokens: int, *, use_cache: bool, prompt_length: int = 1,
                     seed: int = 0) -> int:
    """Floating-point operations of the matrix products in generating ``new_tokens`` tokens greedily
    after a random prompt of ``prompt_length`` tokens, counted from the shape of every forward call
    (a hook records each call's new positions T and cached positions S0): per layer, each new
    position costs 2 (4 D^2 + 2 D F) (projections and FFN) and each (query, key) pair 4 D (scores
    and the weighted sum of values); each position's output layer costs 2 D V. Norms, softmax and
    GELU are left out. Exact for those products and deterministic: it depends on the shapes only."""
    check_positive("new_tokens", new_tokens)
    check_positive("prompt_length", prompt_length)
    cfg = model.config
    D, F_, L, V = cfg.n_embd, cfg.d_ff, cfg.n_layer, cfg.vocab_size
    calls: list[tuple[int, int]] = []

    def record(module, args, kwargs):
        cache = kwargs.get("cache")
        calls.append((args[0].shape[1], 0 if cache is None else cache.length))  # (T new, S0 cached)

    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    prompt = torch.randint(0, V, (1, prompt_length), generator=gen).to(device)
    handle = model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        model.generate(prompt, new_tokens, greedy=True, use_cache=use_cache)
    finally:
        handle.remove()
    flops = 0
    for T, S0 in calls:
        pairs = T * S0 + T * (T + 1) // 2  # causal: query i reads S0 + i + 1 keys
        flops += L * (2 * T * (4 * D * D + 2 * D * F_) + 4 * D * pairs) + 2 * T * D * V
    return flops
