"""Head pruning: a gate on every attention head, Michel et al.'s importance scores, and pruning the
least important heads (or random ones) to see how many a fine-tuned model can lose.

Michel, Levy & Neubig (2019), *Are Sixteen Heads Really Better than One?*,
https://arxiv.org/abs/1905.10650:
- Sec. 2.1: each head's output is multiplied by a gate xi_h in {0, 1}; xi_h = 0 removes the head.
- Sec. 4.1: a head's importance is the expected sensitivity of the loss to its gate,
  I_h = E_x |dL(x) / d xi_h|, taken here per example (each example has its own gates, all 1, so one
  backward pass gives every example's gradient) and summed over the data; importance is then
  normalised by its l2 norm within each layer, as the paper does.
- Sec. 4.2: heads pruned in order of importance, accuracy against the share pruned: many heads
  can go before accuracy falls.

transformers 5 has no ``prune_heads`` or ``head_mask``, and coursekit's attention has no gate
argument, so the gates are applied from outside by a forward pre-hook on each layer's
``self_attn.out_proj``: its input is the heads' outputs side by side, (B, T, A * Dh), head h in
columns h * Dh .. (h + 1) * Dh, and multiplying those columns by xi_h is exactly
Concat(xi_1 head_1, ..., xi_A head_A) W^O. No model code changes, and the hook works on any
coursekit encoder built from :class:`~coursekit.attention.MultiHeadAttention`.

Legend: B batch, T tokens, L layers, A heads per layer, Dh head width, N examples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_int, check_tensor
from .pruning import _layers

__all__ = ["HeadGates", "head_importance", "heads_to_prune", "head_gate_values", "pruned_head_parameters"]


class HeadGates:
    """Gates xi (L, A) on every head of a coursekit BERT, applied by forward pre-hooks on each
    layer's attention output projection (see the module docstring). ``values`` is a float tensor
    (L, A), all ones at first (the unpruned model, exactly); set entries to 0 to remove heads.
    A value of shape (L, B, A) gates each example of a batch of B separately. Use as a context
    manager, or call :meth:`remove` to take the hooks off."""

    def __init__(self, model: nn.Module, values: torch.Tensor | None = None):
        layers = _layers(model)
        attn = [block.self_attn for block in layers]
        if len({id(a) for a in attn}) != len(attn):
            raise ValueError("model must not share attention modules between layers (one gate per layer's heads)")
        self.L, self.A, self.Dh = len(attn), attn[0].n_heads, attn[0].d_head
        self.values = torch.ones(self.L, self.A) if values is None else values
        self._handles = [a.out_proj.register_forward_pre_hook(self._hook(i)) for i, a in enumerate(attn)]

    @property
    def values(self) -> torch.Tensor:
        return self._values

    @values.setter
    def values(self, v: torch.Tensor) -> None:
        if not isinstance(v, torch.Tensor) or not v.is_floating_point() or v.dim() not in (2, 3) \
                or v.shape[0] != self.L or v.shape[-1] != self.A:
            got = f"shape {tuple(v.shape)}, dtype {v.dtype}" if isinstance(v, torch.Tensor) else type(v).__name__
            raise ValueError(f"values must be a float tensor (L, A) = ({self.L}, {self.A}) or (L, B, A), got {got}")
        self._values = v

    def _hook(self, layer: int):
        def hook(module, args):
            x = args[0]  # (B, T, A*Dh): the heads' outputs side by side
            B, T, _ = x.shape
            g = self._values[layer].to(x.dtype)  # (A,) or (B, A)
            g = g.view(1, 1, self.A, 1) if g.dim() == 1 else g.view(B, 1, self.A, 1)
            return ((x.view(B, T, self.A, self.Dh) * g).view(B, T, self.A * self.Dh),)  # (B, T, A, Dh) gated
        return hook

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> "HeadGates":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def head_importance(model: nn.Module, input_ids: torch.Tensor, key_padding_mask: torch.Tensor, labels: torch.Tensor,
                    *, batch_size: int = 128, normalize: bool = True) -> torch.Tensor:
    """Michel et al.'s importance (L, A): the sum over the N examples of |dL(x)/d xi_h|, L the
    classifier's cross-entropy on example x, gates at 1 (the model unchanged); with ``normalize``
    each layer's row divided by its l2 norm (Sec. 4.1). The model's weights get no gradient."""
    dims = check_tensor("input_ids", input_ids, shape=("N", "T"), dtype=torch.long)
    check_tensor("key_padding_mask", key_padding_mask, shape=("N", "T"), dtype=torch.bool, dims=dims)
    check_tensor("labels", labels, shape=("N",), dtype=torch.long, dims=dims)
    was = model.training
    model.eval()
    requires = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    total = None
    try:
        with HeadGates(model) as gates:
            for ids, real, y in zip(input_ids.split(batch_size), key_padding_mask.split(batch_size), labels.split(batch_size)):
                T = int(real.sum(1).max())
                xi = torch.ones(gates.L, len(y), gates.A, requires_grad=True)  # (L, B, A): one gate set per example
                gates.values = xi
                logits = model(ids[:, :T], key_padding_mask=real[:, :T]).logits
                loss = F.cross_entropy(logits, y, reduction="sum")  # sum: d loss / d xi[:, b] = d L(x_b) / d xi
                (grad,) = torch.autograd.grad(loss, xi)
                part = grad.abs().sum(1)  # (L, A)
                total = part if total is None else total + part
    finally:
        for p, r in zip(model.parameters(), requires):
            p.requires_grad_(r)
        model.train(was)
    if normalize:
        total = total / total.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return total


def heads_to_prune(importance: torch.Tensor, n: int, *, order: str = "importance",
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Which ``n`` heads to remove, a bool (L, A), True = pruned: those of least ``importance``
    (L, A) over the whole model (``order="importance"``), or ``n`` chosen uniformly at random
    (``order="random"``, from ``generator``)."""
    check_tensor("importance", importance, shape=("L", "A"), dtype="float")
    check_int("n", n, min=0, max=importance.numel())
    if order == "importance":
        idx = importance.reshape(-1).argsort(stable=True)[:n]
    elif order == "random":
        idx = torch.randperm(importance.numel(), generator=generator)[:n]
    else:
        raise ValueError(f"order must be 'importance' or 'random', got {order!r}")
    pruned = torch.zeros(importance.numel(), dtype=torch.bool)
    pruned[idx] = True
    return pruned.view_as(importance)


def head_gate_values(pruned: torch.Tensor) -> torch.Tensor:
    """Gate values (L, A) for :class:`HeadGates`: 0 at pruned heads, 1 elsewhere."""
    check_tensor("pruned", pruned, shape=("L", "A"), dtype=torch.bool)
    return (~pruned).float()


def pruned_head_parameters(model: nn.Module, n_pruned: int) -> int:
    """Parameters that removing ``n_pruned`` heads would delete: each head owns Dh rows of W^Q,
    W^K, W^V (with their biases) and Dh columns of W^O, 4 * Dh * D + 3 * Dh numbers."""
    attn = _layers(model)[0].self_attn
    return n_pruned * (4 * attn.d_head * attn.d_model + (3 * attn.d_head if attn.q_proj.bias is not None else 0))
