"""Quantisation of weights: symmetric, per output channel, to int8 or int4, simulated
("fake quantisation": quantise, then dequantise back to float, so the arithmetic is unchanged and
only the stored values are), and torch's dynamic int8 for comparison.

Jacob et al. (2018), *Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference*, https://arxiv.org/abs/1712.05877, Sec. 2.1: a real value is
scale * integer; Zafrir, Boudoukh, Izsak & Wasserblat (2019), *Q8BERT: Quantized 8Bit BERT*,
https://arxiv.org/abs/1910.06188: symmetric linear quantisation of BERT's weights,
scale = max|W| / (2^(b-1) - 1), q = clamp(round(W / scale), -(2^(b-1) - 1), 2^(b-1) - 1). Q8BERT
uses one scale per tensor; here each output channel (row) has its own, which costs 4 bytes a row
and copes with rows of different ranges. Every rounding error is at most scale / 2.

Legend: R rows (output channels), C columns.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from ..utils import check_int, check_tensor

__all__ = ["fake_quantize", "quantize_weights", "dynamic_int8"]


def fake_quantize(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric per-row quantise-dequantise of ``weight`` (R, C) (or (R,)) to ``bits`` in [2, 16]:
    each row's scale is its max |w| / (2^(bits-1) - 1) (a row of zeros stays zero); returns
    scale * round(w / scale), clamped to the symmetric integer range, in ``weight``'s dtype."""
    check_tensor("weight", weight, dtype="float")
    check_int("bits", bits, min=2, max=16)
    qmax = 2 ** (bits - 1) - 1
    w = weight.reshape(weight.shape[0], -1) if weight.dim() else weight.reshape(1, 1)  # (R, C)
    scale = w.abs().amax(dim=1, keepdim=True) / qmax  # (R, 1)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.clamp(torch.round(w / scale), -qmax, qmax)
    return (q * scale).reshape(weight.shape).to(weight.dtype)


@torch.no_grad()
def quantize_weights(model: nn.Module, bits: int) -> tuple[nn.Module, dict]:
    """A copy of ``model`` with every weight matrix (each 2-d parameter: the embeddings and all
    Linear weights) fake-quantised to ``bits`` (:func:`fake_quantize`); biases and LayerNorm stay
    float32. Returns (model, bits per quantised parameter) for
    :func:`~coursekit.compression.measure.model_bytes`."""
    check_int("bits", bits, min=2, max=16)
    out = copy.deepcopy(model)
    widths = {}
    for p in out.parameters():
        if p.dim() == 2:
            p.copy_(fake_quantize(p, bits))
            widths[p] = bits
    return out, widths


def dynamic_int8(model: nn.Module) -> tuple[nn.Module, int] | None:
    """torch's dynamic int8 quantisation (``torch.ao.quantization.quantize_dynamic``: int8 weights
    with one scale per tensor, activations quantised on the fly) of ``model``'s Linear layers,
    except the attention's q/k/v projections (coursekit's self-attention concatenates their
    ``weight`` tensors into one matmul, which quantised modules do not expose). Returns (the
    quantised copy, its bytes: 1 per int8 weight, 8 per quantised tensor for scale and zero
    point, 4 per other number), or None where torch no longer has it. torch 2.13 warns that
    ``torch.ao.quantization`` will be removed; that DeprecationWarning (and the one about quantised
    tensor constructors) is silenced here, only inside this call."""
    try:
        from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic
    except ImportError:
        return None
    names = {name for name, m in model.named_modules() if isinstance(m, nn.Linear)
             and not name.endswith(("q_proj", "k_proj", "v_proj"))}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization is deprecated.*")
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*deprecated.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.ao\..*")
        try:
            q = quantize_dynamic(copy.deepcopy(model).eval(), {n: default_dynamic_qconfig for n in names},
                                 dtype=torch.qint8)
        except (RuntimeError, NotImplementedError):
            return None
    size = 0
    for name, m in model.named_modules():
        if name in names:
            size += m.weight.numel() + 8 + (4 * m.bias.numel() if m.bias is not None else 0)
    quantised = {id(m.weight) for n, m in model.named_modules() if n in names}
    quantised |= {id(m.bias) for n, m in model.named_modules() if n in names and m.bias is not None}
    size += sum(4 * p.numel() for p in model.parameters() if id(p) not in quantised)
    return q, size
