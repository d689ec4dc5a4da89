"""The Transformer's configuration, the paper's base and big models, the LLaMA-style block,
and a parameter count computed from a config alone.

Vaswani et al. (2017), *Attention Is All You Need*, https://arxiv.org/abs/1706.03762,
Table 3 (base: N=6, d_model=512, d_ff=2048, h=8, 65M parameters; big: d_model=1024,
d_ff=4096, h=16, 213M) and Sec. 3.4 ("we share the same weight matrix between the two
embedding layers and the pre-softmax linear transformation"), with the WMT 2014
English-German shared source-target vocabulary of about 37000 BPE tokens (Sec. 5.1).
Touvron et al. (2023), *LLaMA*, https://arxiv.org/abs/2302.13971, Sec. 2.2: pre-norm
with RMSNorm, SwiGLU, rotary positions; no biases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from ..utils import check_bool, check_choice, check_positive, plain_numbers
from .block import BlockConfig, block_parameters
from .ffn import matched_d_ff
from .norms import norm_parameters
from .stack import POSITIONS

__all__ = [
    "TransformerConfig",
    "ParameterCount",
    "count_parameters",
    "transformer_base",
    "transformer_big",
    "llama_style",
]

@dataclass(frozen=True)
class TransformerConfig:
    """An encoder-decoder Transformer. CPU-sized defaults; the paper's base model in the comments.

    The defaults are the 2017 architecture (post-norm, ReLU, LayerNorm, sinusoidal
    positions, biases); :func:`llama_style` gives the 2023 one. Vary with
    ``dataclasses.replace``.
    """

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 64  # paper base: 512 (big: 1024)
    n_heads: int = 4  # paper base: 8 (big: 16)
    d_ff: int = 128  # paper base: 2048 (big: 4096), i.e. 4 * d_model
    n_layers: int = 2  # paper: 6 encoder layers and 6 decoder layers
    dropout: float = 0.0  # paper base: 0.1 (big, EN-DE: 0.3); our toy runs are too short to overfit
    norm_first: bool = False  # paper: False (post-norm, LayerNorm(x + Sublayer(x))); True = pre-norm
    ffn: str = "relu"  # paper: "relu"; also "gelu" and the GLU family "glu", "reglu", "geglu", "swiglu"
    norm: str = "layernorm"  # paper: "layernorm"; "rmsnorm" (LLaMA)
    positions: str = "sinusoidal"  # paper: "sinusoidal"; "learned", "rotary" (LLaMA), "none"
    max_len: int = 128  # longest sequence for learned positions (paper's learned variant: not stated)
    bias: bool = True  # paper: True (every Linear and LayerNorm has a bias); LLaMA: False
    norm_eps: float = 1e-5  # paper: not stated; torch's LayerNorm default
    share_embeddings: bool = False  # paper: True (one shared source-target BPE vocabulary, one matrix)
    tie_output: bool = True  # paper: True, the decoder's embedding is the pre-softmax weight

    def __post_init__(self):
        plain_numbers(self)
        for name in ("src_vocab_size", "tgt_vocab_size", "n_layers", "max_len"):
            check_positive(name, getattr(self, name))
        _ = self.block  # validates d_model, n_heads, d_ff, ffn, norm, norm_first, bias, norm_eps, dropout
        check_choice("positions", self.positions, POSITIONS)
        check_bool("share_embeddings", self.share_embeddings)
        check_bool("tie_output", self.tie_output)
        if self.positions == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"sinusoidal positions need an even d_model, got {self.d_model}")
        if self.positions == "rotary" and self.d_head % 2:
            raise ValueError(f"rotary positions need an even head width d_model/n_heads, got {self.d_head}")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(
                "share_embeddings=True needs one vocabulary: src_vocab_size == tgt_vocab_size, "
                f"got {self.src_vocab_size} and {self.tgt_vocab_size}"
            )

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def block(self) -> BlockConfig:
        """The part of this config that one block needs (:class:`~.block.BlockConfig`)."""
        return BlockConfig(
            d_model=self.d_model, n_heads=self.n_heads, d_ff=self.d_ff, ffn=self.ffn, norm=self.norm,
            norm_first=self.norm_first, bias=self.bias, norm_eps=self.norm_eps, dropout=self.dropout,
        )

    @classmethod
    def for_data(cls, data, **kwargs) -> "TransformerConfig":
        """A config sized for a :class:`coursekit.data.Seq2SeqData`'s vocabularies."""
        return cls(src_vocab_size=len(data.src_vocab), tgt_vocab_size=len(data.tgt_vocab), **kwargs)

    def describe(self) -> dict:
        """The fields as a plain dict (for printing a table)."""
        return asdict(self)


def transformer_base(vocab_size: int = 37000, **kwargs) -> TransformerConfig:
    """Vaswani et al. (2017) Table 3, "base", with the EN-DE shared vocabulary (Sec. 5.1, 3.4)."""
    cfg = TransformerConfig(
        vocab_size, vocab_size, d_model=512, n_heads=8, d_ff=2048, n_layers=6, dropout=0.1,
        share_embeddings=True, tie_output=True,
    )
    return replace(cfg, **kwargs)


def transformer_big(vocab_size: int = 37000, **kwargs) -> TransformerConfig:
    """Vaswani et al. (2017) Table 3, "big" (dropout 0.3 on EN-DE)."""
    return transformer_base(vocab_size, d_model=1024, n_heads=16, d_ff=4096, dropout=0.3, **kwargs)


def llama_style(cfg: TransformerConfig) -> TransformerConfig:
    """The same sizes with LLaMA's block (Touvron et al. 2023): pre-norm, RMSNorm, SwiGLU with
    d_ff scaled by 2/3 (same parameter count, Shazeer 2020), rotary positions, no biases."""
    return replace(
        cfg, norm_first=True, norm="rmsnorm", ffn="swiglu", d_ff=matched_d_ff(cfg.d_ff, "swiglu"),
        positions="rotary", bias=False,
    )


@dataclass(frozen=True)
class ParameterCount:
    """Parameters of an encoder-decoder :class:`~coursekit.transformer.Transformer`, by part.
    ``embeddings`` counts each distinct token-embedding matrix once; ``output`` is the
    pre-softmax layer (its bias only, when tied)."""

    embeddings: int
    positions: int
    encoder: int
    decoder: int
    output: int

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def rows(self) -> list[dict]:
        """One row per part plus the total, ready to print or chart."""
        return [{"part": f.name, "parameters": getattr(self, f.name)} for f in fields(self)] + [
            {"part": "total", "parameters": self.total}
        ]


def count_parameters(cfg: TransformerConfig) -> ParameterCount:
    """Count the parameters ``Transformer(cfg)`` will have, from the config alone (no model built).

    A test checks it equals ``sum(p.numel() for p in Transformer(cfg).parameters())``.
    """
    if not isinstance(cfg, TransformerConfig):
        raise ValueError(f"cfg must be a TransformerConfig, got {type(cfg).__name__}")
    D, b = cfg.d_model, cfg.bias
    final = norm_parameters(cfg.norm, D, b) if cfg.norm_first else 0  # pre-norm stacks end with one more norm
    V_src, V_tgt = cfg.src_vocab_size, cfg.tgt_vocab_size
    return ParameterCount(
        embeddings=V_tgt * D if cfg.share_embeddings else (V_src + V_tgt) * D,
        positions=2 * cfg.max_len * D if cfg.positions == "learned" else 0,  # one table each side
        encoder=cfg.n_layers * block_parameters(cfg.block) + final,
        decoder=cfg.n_layers * block_parameters(cfg.block, cross_attention=True) + final,  # self- and cross-attention
        output=(0 if cfg.tie_output else D * V_tgt) + (V_tgt if b else 0),
    )
