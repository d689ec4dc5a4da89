"""GPT-1 and GPT-2 sizes from their configs: an exact parameter count from a config alone.

A GPT's parameters: the token embedding V x D (also the output layer, tied), the position
embedding P x D, per block 12 D^2 + 13 D with a 4D-wide FFN (attention 4 (D^2 + D), FFN
8 D^2 + 5 D, two LayerNorms 4 D), and GPT-2's final LayerNorm 2 D.

Published sizes: Radford et al. (2019), GPT-2, Table 2: 117M, 345M, 762M and 1542M
parameters for 12/24/36/48 layers of width 768/1024/1280/1600. The released checkpoints
have 124M, 355M, 774M and 1558M: the paper's figures are smaller. :func:`size_table` shows
what the configs give: counted with GPT-1's released vocabulary (40,478 tokens: the vocabulary
file released with GPT-1's weights, and the ``vocab_size`` default of transformers'
``OpenAIGPTConfig``; the GPT-1 paper, Radford et al. 2018, gives only its 40,000 BPE merges)
instead of GPT-2's 50,257, all four rounded counts equal the paper's exactly; leaving out
the position table instead does not (124.4M - 0.8M = 123.7M for small). So the
published figures equal what the same models have with a 40,478-token vocabulary, a
difference of 9,779 x D embedding weights (7.5M for small); the paper does not say how it
counted, and OpenAI's repository (https://github.com/openai/gpt-2, README) later says only
"our original parameter counts were wrong due to an error (in our previous blog posts and
paper)". The agreement is to the nearest million, and GPT-2 large's count lies close to the
rounding edge: a consistent reading of that error, not a confirmed one. GPT-1's own paper gives no total; 117M is the figure usually quoted for it (the
GPT-2 paper: "the smallest model is equivalent to the original GPT").

Legend: V vocab_size, P n_positions, D n_embd, L n_layer, F n_inner.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..transformer.block import block_parameters
from ..transformer.norms import norm_parameters
from .config import GPTConfig

__all__ = [
    "GPT1_VOCAB_SIZE",
    "parameter_breakdown",
    "count_parameters",
    "PublishedSize",
    "GPT_SIZES",
    "size_table",
]

GPT1_VOCAB_SIZE = 40478  # GPT-1's released vocabulary (transformers' OpenAIGPTConfig default); the paper: 40,000 merges


def parameter_breakdown(config: GPTConfig) -> dict[str, int]:
    """Parameters of ``GPT(config)`` by part (token embedding = output layer, counted once)."""
    if not isinstance(config, GPTConfig):
        raise ValueError(f"config must be a GPTConfig, got {type(config).__name__}")
    D = config.n_embd
    return {
        "token_embedding": config.vocab_size * D,
        "position_embedding": config.n_positions * D,
        "blocks": config.n_layer * block_parameters(config.block_config()),
        "final_norm": norm_parameters("layernorm", D, config.bias) if config.norm_placement == "pre" else 0,
    }


def count_parameters(config: GPTConfig) -> int:
    """How many parameters ``GPT(config)`` (and transformers' ``GPT2LMHeadModel`` of the same
    config) has, without building it; tied weights counted once."""
    return sum(parameter_breakdown(config).values())


@dataclass(frozen=True)
class PublishedSize:
    """A model's config and the parameter count its paper gives (None: the paper gives none)."""

    name: str
    config: GPTConfig
    published: int | None
    source: str


def _gpt2(n_embd: int, n_layer: int, n_head: int) -> GPTConfig:
    return GPTConfig(vocab_size=50257, n_positions=1024, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                     resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1)


GPT_SIZES: dict[str, PublishedSize] = {
    "GPT-1": PublishedSize(
        "GPT-1",
        GPTConfig(vocab_size=GPT1_VOCAB_SIZE, n_positions=512, n_embd=768, n_layer=12, n_head=12,
                  activation_function="gelu_new", norm_placement="post", resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1),
        None,
        "Radford et al. 2018, Sec. 4.1 (no total given)",
    ),
    "GPT-2 small": PublishedSize("GPT-2 small", _gpt2(768, 12, 12), 117_000_000, "Radford et al. 2019, Table 2"),
    "GPT-2 medium": PublishedSize("GPT-2 medium", _gpt2(1024, 24, 16), 345_000_000, "Radford et al. 2019, Table 2"),
    "GPT-2 large": PublishedSize("GPT-2 large", _gpt2(1280, 36, 20), 762_000_000, "Radford et al. 2019, Table 2"),
    "GPT-2 XL": PublishedSize("GPT-2 XL", _gpt2(1600, 48, 25), 1_542_000_000, "Radford et al. 2019, Table 2"),
}


def size_table() -> list[dict]:
    """One row per model of :data:`GPT_SIZES`: its config, our exact count, the paper's figure,
    and two recounts that test the explanations of the gap (see the module docstring):
    with GPT-1's 40,478-token vocabulary, and without the position table."""
    rows = []
    for s in GPT_SIZES.values():
        c = s.config
        parts = parameter_breakdown(c)
        exact = sum(parts.values())
        rows.append({
            "model": s.name,
            "n_layer": c.n_layer,
            "n_embd": c.n_embd,
            "n_head": c.n_head,
            "vocab_size": c.vocab_size,
            "n_positions": c.n_positions,
            "parameters": exact,
            "published": s.published,
            "with_gpt1_vocab": count_parameters(replace(c, vocab_size=GPT1_VOCAB_SIZE)),
            "without_positions": exact - parts["position_embedding"],
            "source": s.source,
        })
    return rows
