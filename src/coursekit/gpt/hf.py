"""Weights to and from transformers' ``GPT2LMHeadModel`` (transformers imported inside the
functions only).

GPT-2's checkpoints store every projection as a ``Conv1D`` whose weight is (in, out), the
transpose of ``nn.Linear``'s (out, in), and the three attention projections as one
``c_attn`` of width 3D (queries, keys, values side by side). The names map one to one:

=========================  ==============================================
GPT2LMHeadModel            coursekit GPT
=========================  ==============================================
transformer.wte            stack.embed.embed (also the output layer)
transformer.wpe            stack.embed.positions.table
h.i.ln_1 / ln_2            stack.layers[i].norm1 / norm2
h.i.attn.c_attn (D, 3D)    self_attn.q_proj, k_proj, v_proj (each D x D, transposed)
h.i.attn.c_proj            self_attn.out_proj (transposed)
h.i.mlp.c_fc / c_proj      ffn.up / ffn.down (transposed)
transformer.ln_f           stack.norm
lm_head                    tied to wte in both
=========================  ==============================================

Karpathy's minGPT (2020, https://github.com/karpathy/minGPT, ``GPT.from_pretrained`` and its
test) loads OpenAI's GPT-2 weights the same way and checks the logits against transformers'.

Legend: D n_embd, V vocab_size, L n_layer.
"""

from __future__ import annotations

import torch

from .config import GPTConfig
from .model import GPT

__all__ = ["from_hf_gpt2", "to_hf_gpt2"]


def _pairs(model: GPT, hf) -> list[tuple[torch.Tensor, torch.Tensor, bool]]:
    """(ours, theirs, transposed) for every tensor except c_attn, which splits in three."""
    t = hf.transformer
    pairs = [(model.wte.weight, t.wte.weight, False), (model.wpe.weight, t.wpe.weight, False)]
    for ours, theirs in zip(model.stack.layers, t.h):
        attn, ffn = ours.self_attn, ours.ffn
        pairs += [
            (ours.norm1.weight, theirs.ln_1.weight, False), (ours.norm1.bias, theirs.ln_1.bias, False),
            (ours.norm2.weight, theirs.ln_2.weight, False), (ours.norm2.bias, theirs.ln_2.bias, False),
            (attn.out_proj.weight, theirs.attn.c_proj.weight, True), (attn.out_proj.bias, theirs.attn.c_proj.bias, False),
            (ffn.up.weight, theirs.mlp.c_fc.weight, True), (ffn.up.bias, theirs.mlp.c_fc.bias, False),
            (ffn.down.weight, theirs.mlp.c_proj.weight, True), (ffn.down.bias, theirs.mlp.c_proj.bias, False),
        ]
    pairs += [(model.stack.norm.weight, t.ln_f.weight, False), (model.stack.norm.bias, t.ln_f.bias, False)]
    return pairs


def _attn_pairs(model: GPT, hf):
    """(q_proj, k_proj, v_proj, c_attn) per layer."""
    for ours, theirs in zip(model.stack.layers, hf.transformer.h):
        a = ours.self_attn
        yield a.q_proj, a.k_proj, a.v_proj, theirs.attn.c_attn


def _check_hf(hf) -> None:
    from transformers import GPT2LMHeadModel

    if not isinstance(hf, GPT2LMHeadModel):
        raise ValueError(f"hf_model must be a transformers.GPT2LMHeadModel, got {type(hf).__name__}")


@torch.no_grad()
def from_hf_gpt2(hf_model) -> GPT:
    """A coursekit :class:`~.model.GPT` with the weights of a ``GPT2LMHeadModel`` (same logits,
    to float tolerance), in eval mode; the config comes from :meth:`GPTConfig.from_hf`.
    Float32, on the CPU."""
    _check_hf(hf_model)
    model = GPT(GPTConfig.from_hf(hf_model.config))
    for ours, theirs, transposed in _pairs(model, hf_model):
        ours.copy_(theirs.T if transposed else theirs)
    for q, k, v, c_attn in _attn_pairs(model, hf_model):
        for proj, w, b in zip((q, k, v), c_attn.weight.chunk(3, dim=1), c_attn.bias.chunk(3)):
            proj.weight.copy_(w.T)  # Conv1D (D, D) (in, out) -> Linear (out, in)
            proj.bias.copy_(b)
    return model.eval()


@torch.no_grad()
def to_hf_gpt2(model: GPT):
    """A transformers ``GPT2LMHeadModel`` with ``model``'s weights (same logits, to float
    tolerance), in eval mode; needs a GPT-2 config (pre-norm, biases)."""
    if not isinstance(model, GPT):
        raise ValueError(f"model must be a coursekit GPT, got {type(model).__name__}")
    from transformers import GPT2LMHeadModel

    hf = GPT2LMHeadModel(model.config.to_hf()).eval()
    for ours, theirs, transposed in _pairs(model, hf):
        theirs.copy_(ours.T if transposed else ours)
    for q, k, v, c_attn in _attn_pairs(model, hf):
        c_attn.weight.copy_(torch.cat([q.weight.T, k.weight.T, v.weight.T], dim=1))  # (D, 3D)
        c_attn.bias.copy_(torch.cat([q.bias, k.bias, v.bias]))
    return hf
