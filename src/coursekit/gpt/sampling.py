"""Choosing the next token: greedy, temperature, top-k and top-p (nucleus) sampling.

- Temperature: sample from softmax(logits / t); t < 1 sharpens, t > 1 flattens, t -> 0 is greedy.
- Top-k: Fan, Lewis & Dauphin (2018), *Hierarchical Neural Story Generation*,
  https://arxiv.org/abs/1805.04833: sample from the k most likely tokens only.
- Top-p: Holtzman, Buys, Du, Forbes & Choi (2020), *The Curious Case of Neural Text
  Degeneration*, https://arxiv.org/abs/1904.09751, Sec. 3.1, Eq. 2-3: sample from the smallest
  set of most likely tokens whose probability mass is at least p.

The filters return logits with ``-inf`` at the removed tokens and the kept logits unchanged,
and agree with transformers' ``TemperatureLogitsWarper``, ``TopKLogitsWarper`` and
``TopPLogitsWarper`` (tests compare them on the same logits), applied in transformers' order:
temperature, then top-k, then top-p. One deliberate difference: where several tokens tie at
top-p's boundary, :func:`top_p_filter` keeps all of them (as top-k does in both libraries);
transformers keeps whichever of the tied tokens its sort happens to place last.

Legend: B batch (any leading dimensions), V vocabulary.
"""

from __future__ import annotations

import torch

from ..utils import check_bool, check_int, check_real

__all__ = ["temperature_scale", "top_k_filter", "top_p_filter", "filter_logits", "sample_next"]


def _check_logits(logits: torch.Tensor) -> None:
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point() or logits.dim() == 0:
        got = f"a {logits.dim()}-d {logits.dtype} tensor" if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a float tensor of shape (..., V), got {got}")


def temperature_scale(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits (..., V) / temperature, temperature > 0 (for t -> 0 use greedy decoding)."""
    _check_logits(logits)
    check_real("temperature", temperature, low=0.0, low_open=True)
    return logits / temperature


def top_k_filter(logits: torch.Tensor, k: int, *, min_tokens_to_keep: int = 1) -> torch.Tensor:
    """Keep the ``max(k, min_tokens_to_keep)`` largest logits of each row (all tokens tied with
    the k-th largest too), set the rest to -inf. k >= V keeps everything."""
    _check_logits(logits)
    check_int("k", k, min=1)
    check_int("min_tokens_to_keep", min_tokens_to_keep, min=1)
    k = min(max(k, min_tokens_to_keep), logits.shape[-1])
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1) the k-th largest logit
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float, *, min_tokens_to_keep: int = 1) -> torch.Tensor:
    """Keep the smallest set of largest logits whose softmax mass is at least ``p`` (at least
    ``min_tokens_to_keep`` of them, and every token tied with the smallest kept one); set the
    rest to -inf. p = 1 keeps every token of nonzero probability; p = 0 keeps the top token(s)."""
    _check_logits(logits)
    check_real("p", p, low=0.0, high=1.0)
    check_int("min_tokens_to_keep", min_tokens_to_keep, min=1)
    V = logits.shape[-1]
    ascending = torch.sort(logits, dim=-1).values  # (..., V), smallest first, as transformers sorts
    mass_below = ascending.softmax(-1).cumsum(-1)  # (..., V): the mass of this token and all smaller ones
    removed = mass_below <= 1 - p  # these tokens can go and the rest still holds >= p
    removed[..., V - min(min_tokens_to_keep, V) :] = False
    # The smallest kept logit of each row: everything >= it stays (ties at the boundary included).
    n_removed = removed.sum(-1, keepdim=True)  # (..., 1); removed tokens are the first n of the sorted row
    threshold = ascending.gather(-1, n_removed)  # (..., 1)
    return logits.masked_fill(logits < threshold, float("-inf"))


def filter_logits(
    logits: torch.Tensor, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """Temperature, then top-k, then top-p (transformers' order): the logits sampling draws from."""
    out = temperature_scale(logits, temperature)
    if top_k is not None:
        out = top_k_filter(out, top_k)
    if top_p is not None:
        out = top_p_filter(out, top_p)
    return out


def sample_next(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One next token per row: logits (B, V) float -> ids (B,) long.

    ``greedy``: the argmax (the first one on ties), ignoring the other options. Otherwise
    a draw from softmax(:func:`filter_logits`), reproducible with a seeded ``generator`` on
    the logits' device.
    """
    _check_logits(logits)
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape (B, V), got {tuple(logits.shape)}")
    check_bool("greedy", greedy)
    if generator is not None and generator.device.type != logits.device.type:
        raise ValueError(f"generator must be on the logits' device ({logits.device}), got one on {generator.device}")
    if greedy:
        return logits.argmax(-1)
    probs = filter_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p).softmax(-1)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (B,)
