"""Weights to and from transformers' ``GPT2LMHeadModel``, and from its GPT-1
``OpenAIGPTLMHeadModel`` (transformers imported inside the functions only).

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
transformer.ln_f           stack.norm (GPT-1 has none)
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

__all__ = ["from_hf_gpt2", "to_hf_gpt2", "from_hf_openai_gpt"]


def _pairs(model: GPT, wte, wpe, blocks, ln_f) -> list[tuple[torch.Tensor, torch.Tensor, bool]]:
    """(ours, theirs, transposed) for every tensor except c_attn, which splits in three;
    GPT-2 and GPT-1 name their blocks' parts alike (ln_1, attn.c_attn, mlp.c_fc, ...)."""
    pairs = [(model.wte.weight, wte.weight, False), (model.wpe.weight, wpe.weight, False)]
    for ours, theirs in zip(model.stack.layers, blocks):
        attn, ffn = ours.self_attn, ours.ffn
        pairs += [
            (ours.norm1.weight, theirs.ln_1.weight, False), (ours.norm1.bias, theirs.ln_1.bias, False),
            (ours.norm2.weight, theirs.ln_2.weight, False), (ours.norm2.bias, theirs.ln_2.bias, False),
            (attn.out_proj.weight, theirs.attn.c_proj.weight, True), (attn.out_proj.bias, theirs.attn.c_proj.bias, False),
            (ffn.up.weight, theirs.mlp.c_fc.weight, True), (ffn.up.bias, theirs.mlp.c_fc.bias, False),
            (ffn.down.weight, theirs.mlp.c_proj.weight, True), (ffn.down.bias, theirs.mlp.c_proj.bias, False),
        ]
    if ln_f is not None:
        pairs += [(model.stack.norm.weight, ln_f.weight, False), (model.stack.norm.bias, ln_f.bias, False)]
    return pairs


def _gpt2_pairs(model: GPT, hf) -> list[tuple[torch.Tensor, torch.Tensor, bool]]:
    t = hf.transformer
    return _pairs(model, t.wte, t.wpe, t.h, t.ln_f)


def _load(model: GPT, pairs, blocks) -> GPT:
    """Copy transformers' weights into ``model`` (c_attn split into W^Q, W^K, W^V)."""
    for ours, theirs, transposed in pairs:
        ours.copy_(theirs.T if transposed else theirs)
    for ours, theirs in zip(model.stack.layers, blocks):
        a, c_attn = ours.self_attn, theirs.attn.c_attn
        for proj, w, b in zip((a.q_proj, a.k_proj, a.v_proj), c_attn.weight.chunk(3, dim=1), c_attn.bias.chunk(3)):
            proj.weight.copy_(w.T)  # Conv1D (D, D) (in, out) -> Linear (out, in)
            proj.bias.copy_(b)
    return model.eval()


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
    return _load(model, _gpt2_pairs(model, hf_model), hf_model.transformer.h)


@torch.no_grad()
def to_hf_gpt2(model: GPT):
    """A transformers ``GPT2LMHeadModel`` with ``model``'s weights (same logits, to float
    tolerance), in eval mode; needs a GPT-2 config (pre-norm, biases)."""
    if not isinstance(model, GPT):
        raise ValueError(f"model must be a coursekit GPT, got {type(model).__name__}")
    from transformers import GPT2LMHeadModel

    hf = GPT2LMHeadModel(model.config.to_hf()).eval()
    for ours, theirs, transposed in _gpt2_pairs(model, hf):
        theirs.copy_(ours.T if transposed else ours)
    for ours, theirs in zip(model.stack.layers, hf.transformer.h):
        a = ours.self_attn
        theirs.attn.c_attn.weight.copy_(torch.cat([a.q_proj.weight.T, a.k_proj.weight.T, a.v_proj.weight.T], dim=1))  # (D, 3D)
        theirs.attn.c_attn.bias.copy_(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias]))
    return hf


@torch.no_grad()
def from_hf_openai_gpt(hf_model) -> GPT:
    """A coursekit GPT-1 (``norm_placement="post"``, no final norm) with the weights of
    transformers' ``OpenAIGPTLMHeadModel`` (same logits, to float tolerance), in eval mode.
    transformers' GPT-1 ``afn="gelu"`` is GELU's tanh approximation (its ``gelu_new``), as in
    OpenAI's original code; coursekit's config says ``"gelu_new"``."""
    from transformers import OpenAIGPTLMHeadModel

    if not isinstance(hf_model, OpenAIGPTLMHeadModel):
        raise ValueError(f"hf_model must be a transformers.OpenAIGPTLMHeadModel, got {type(hf_model).__name__}")
    c = hf_model.config
    activation = {"gelu": "gelu_new", "relu": "relu"}.get(c.afn)
    if activation is None:
        raise ValueError(f"hf_model.config.afn must be 'gelu' or 'relu', got {c.afn!r}")
    config = GPTConfig(
        vocab_size=c.vocab_size, n_positions=c.n_positions, n_embd=c.n_embd, n_layer=c.n_layer, n_head=c.n_head,
        activation_function=activation, layer_norm_epsilon=float(c.layer_norm_epsilon), resid_pdrop=float(c.resid_pdrop),
        embd_pdrop=float(c.embd_pdrop), attn_pdrop=float(c.attn_pdrop), initializer_range=float(c.initializer_range),
        norm_placement="post",
    )
    model = GPT(config)
    t = hf_model.transformer
    return _load(model, _pairs(model, t.tokens_embed, t.positions_embed, t.h, None), t.h)
