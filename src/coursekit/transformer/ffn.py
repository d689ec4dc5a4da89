"""The position-wise feed-forward network, from ReLU to GELU to the GLU family.

- Vaswani et al. (2017), https://arxiv.org/abs/1706.03762, Sec. 3.3, Eq. 2:
  ``FFN(x) = max(0, x W1 + b1) W2 + b2``, applied to every position separately.
- Hendrycks & Gimpel (2016), *Gaussian Error Linear Units*, https://arxiv.org/abs/1606.08415:
  GELU (BERT, GPT) instead of ReLU; ``"gelu_tanh"`` is its tanh approximation, which GPT-2
  uses (transformers' ``"gelu_new"``).
- Dauphin et al. (2017), *Language Modeling with Gated Convolutional Networks*,
  https://arxiv.org/abs/1612.08083: the gated linear unit ``sigmoid(x W) * (x V)``.
- Shazeer (2020), *GLU Variants Improve Transformer*, https://arxiv.org/abs/2002.05202, Eqs. 5-6:
  ``FFN_act-GLU(x) = (act(x W) * x V) W2`` with act = sigmoid (GLU), ReLU (ReGLU),
  GELU (GEGLU), Swish (SwiGLU). Three matrices instead of two, so d_ff shrinks by 2/3
  to keep the parameter count (:func:`matched_d_ff`). LLaMA (Touvron et al. 2023) uses SwiGLU.

Legend: B batch, T length, D d_model, F d_ff.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_choice, check_positive

__all__ = ["FFNS", "GATED", "HF_ACTIVATIONS", "FeedForward", "matched_d_ff", "ffn_activation"]

def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU's tanh approximation (Hendrycks & Gimpel 2016, Sec. 2), GPT-2's activation ("gelu_new")."""
    return F.gelu(x, approximate="tanh")


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "gelu_tanh": _gelu_tanh, "glu": torch.sigmoid, "reglu": F.relu, "geglu": F.gelu, "swiglu": F.silu}
FFNS = tuple(_ACTIVATIONS)
GATED = ("glu", "reglu", "geglu", "swiglu")
# transformers' activation names (GPT-2's activation_function, BERT's hidden_act) -> FFN kinds
HF_ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu", "relu": "relu"}


def ffn_activation(kind: str):
    """The elementwise function of FFN kind ``kind`` (for a gated kind, the one on its gate),
    e.g. ``ffn_activation("gelu")`` is ``F.gelu`` (exact, erf), BERT's and its MLM head's."""
    check_choice("ffn", kind, FFNS)
    return _ACTIVATIONS[kind]


def matched_d_ff(d_ff: int, kind: str) -> int:
    """The hidden width that gives ``kind`` the parameter count of a plain FFN of width ``d_ff``
    (Shazeer 2020: gated variants use 2/3 of it, since they have three matrices, not two)."""
    check_positive("d_ff", d_ff)
    check_choice("ffn", kind, FFNS)
    return max(1, round(2 * d_ff / 3)) if kind in GATED else d_ff


class FeedForward(nn.Module):
    """The FFN sublayer: (B, T, D) -> (B, T, D), the same function at every position.

    Plain kinds (``relu``, ``gelu``, ``gelu_tanh``): ``down(act(up(x)))``. Gated kinds:
    ``down(act(gate(x)) * up(x))``. ``up``/``down`` match torch's
    ``TransformerEncoderLayer.linear1``/``linear2``; dropout sits on the hidden
    layer, as there.
    """

    def __init__(self, d_model: int, d_ff: int, kind: str = "relu", *, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        check_positive("d_model", d_model)
        check_positive("d_ff", d_ff)
        check_choice("ffn", kind, FFNS)
        self.kind, self.act = kind, _ACTIVATIONS[kind]
        self.gate = nn.Linear(d_model, d_ff, bias=bias) if kind in GATED else None
        self.up = nn.Linear(d_model, d_ff, bias=bias)
        self.down = nn.Linear(d_ff, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate is None:
            hidden = self.act(self.up(x))  # (B, T, F)
        else:
            hidden = self.act(self.gate(x)) * self.up(x)  # (B, T, F): the gate decides how much of up(x) passes
        return self.down(self.dropout(hidden))  # (B, T, D)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


def ffn_parameters(d_model: int, d_ff: int, kind: str, bias: bool = True) -> int:
    """How many parameters ``FeedForward(d_model, d_ff, kind, bias=bias)`` has, without building it."""
    n_in = 2 if kind in GATED else 1  # matrices that read x: up (and gate)
    return n_in * (d_model * d_ff + (d_ff if bias else 0)) + d_ff * d_model + (d_model if bias else 0)
