"""GPT's configuration, with the names of transformers' ``GPT2Config``.

Radford, Wu, Child, Luan, Amodei & Sutskever (2019), *Language Models are Unsupervised
Multitask Learners* (GPT-2), https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf,
Sec. 2.3: the GPT-1 architecture with "Layer normalization ... moved to the input of each
sub-block" (pre-norm), "an additional layer normalization ... after the final self-attention
block", residual weights scaled at initialisation by 1/sqrt(N) (N residual layers), a
50,257-token vocabulary and a 1024-token context.
Radford, Narasimhan, Salimans & Sutskever (2018), *Improving Language Understanding by
Generative Pre-Training* (GPT-1), https://cdn.openai.com/research-covers/language-unsupervised/language_understanding_paper.pdf,
Sec. 4.1: 12 layers, 768 wide, 12 heads, 3072-wide FFN, 512 positions, 40,000 BPE merges,
GELU, learned positions; post-norm (the 2017 block).

Legend: V vocabulary, P positions, D n_embd, L n_layer, H n_head, F n_inner.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..transformer.block import BlockConfig
from ..transformer.ffn import HF_ACTIVATIONS
from ..utils import check_bool, check_choice, check_positive, check_real, plain_numbers

__all__ = ["ACTIVATIONS", "NORM_PLACEMENTS", "GPTConfig"]

ACTIVATIONS = HF_ACTIVATIONS  # transformers' activation names -> coursekit's FeedForward kinds (shared with BERT)
NORM_PLACEMENTS = ("pre", "post")


@dataclass(frozen=True)
class GPTConfig:
    """A decoder-only GPT. CPU-sized defaults; GPT-2 small's values in the comments.

    ``norm_placement="pre"`` is GPT-2 (LayerNorm at each sub-block's input, one more after the
    last block); ``"post"`` is GPT-1 (the 2017 ``LayerNorm(x + Sublayer(x))``, no final norm).
    Input and output embeddings are always tied (both GPTs). Vary with ``dataclasses.replace``.
    """

    vocab_size: int = 512  # GPT-2: 50257 (GPT-1: 40478)
    n_positions: int = 128  # GPT-2: 1024 (GPT-1: 512)
    n_embd: int = 64  # GPT-2 small: 768
    n_layer: int = 2  # GPT-2 small: 12
    n_head: int = 4  # GPT-2 small: 12
    n_inner: int | None = None  # None -> 4 * n_embd, as in GPT-2 (3072 for small)
    activation_function: str = "gelu_new"  # GPT-1, GPT-2: "gelu_new" (GELU's tanh approximation); "gelu" is exact
    layer_norm_epsilon: float = 1e-5  # GPT-2: 1e-5
    resid_pdrop: float = 0.0  # GPT-2: 0.1; dropout on each sub-block's output and the FFN's
    embd_pdrop: float = 0.0  # GPT-2: 0.1; dropout on token + position embeddings
    attn_pdrop: float = 0.0  # GPT-2: 0.1; dropout on the attention weights
    bias: bool = True  # GPT-2: True (every Linear and LayerNorm)
    norm_placement: str = "pre"  # GPT-2: "pre"; GPT-1: "post"
    initializer_range: float = 0.02  # GPT-2: 0.02, the std of every weight at initialisation

    def __post_init__(self):
        plain_numbers(self)
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            check_positive(name, getattr(self, name))
        if self.n_inner is not None:
            check_positive("n_inner", self.n_inner)
        check_choice("activation_function", self.activation_function, tuple(ACTIVATIONS))
        check_real("layer_norm_epsilon", self.layer_norm_epsilon, low=0.0, low_open=True)
        for name in ("resid_pdrop", "embd_pdrop", "attn_pdrop"):
            check_real(name, getattr(self, name), low=0.0, high=1.0, high_open=True)
        check_bool("bias", self.bias)
        check_choice("norm_placement", self.norm_placement, NORM_PLACEMENTS)
        check_real("initializer_range", self.initializer_range, low=0.0, low_open=True)
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd must be divisible by n_head, got n_embd={self.n_embd}, n_head={self.n_head}")

    @property
    def d_ff(self) -> int:
        """The FFN's hidden width: ``n_inner``, or 4 * n_embd when it is None."""
        return 4 * self.n_embd if self.n_inner is None else self.n_inner

    @property
    def d_head(self) -> int:
        return self.n_embd // self.n_head

    def block_config(self) -> BlockConfig:
        """The :class:`~coursekit.transformer.BlockConfig` of one GPT block (LayerNorm, causal
        use is chosen per call). Its single ``dropout`` is ``resid_pdrop``; :class:`~.model.GPT`
        sets the attention-weight dropout to ``attn_pdrop`` itself."""
        return BlockConfig(
            d_model=self.n_embd, n_heads=self.n_head, d_ff=self.d_ff, ffn=ACTIVATIONS[self.activation_function],
            norm="layernorm", norm_first=self.norm_placement == "pre", bias=self.bias,
            norm_eps=self.layer_norm_epsilon, dropout=self.resid_pdrop,
        )

    def describe(self) -> dict:
        """The fields as a plain dict (for printing a table)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_hf(self):
        """This config as a ``transformers.GPT2Config`` (transformers imported here only).

        GPT-2 is pre-norm with biases: a ``"post"`` or bias-free config has no GPT2Config and
        raises ValueError. ``<|endoftext|>`` (bos and eos) is taken to be the last id, as in GPT-2.
        """
        if self.norm_placement != "pre" or not self.bias:
            raise ValueError(
                "to_hf needs a GPT-2 config (norm_placement='pre', bias=True), "
                f"got norm_placement={self.norm_placement!r}, bias={self.bias}"
            )
        from transformers import GPT2Config

        return GPT2Config(
            vocab_size=self.vocab_size, n_positions=self.n_positions, n_embd=self.n_embd, n_layer=self.n_layer,
            n_head=self.n_head, n_inner=self.n_inner, activation_function=self.activation_function,
            layer_norm_epsilon=self.layer_norm_epsilon, resid_pdrop=self.resid_pdrop, embd_pdrop=self.embd_pdrop,
            attn_pdrop=self.attn_pdrop, initializer_range=self.initializer_range,
            bos_token_id=self.vocab_size - 1, eos_token_id=self.vocab_size - 1, tie_word_embeddings=True,
        )

    @classmethod
    def from_hf(cls, cfg) -> "GPTConfig":
        """A ``transformers.GPT2Config`` as a GPTConfig; refuses the options coursekit's GPT does
        not compute (unscaled or layer-scaled attention, cross-attention, untied embeddings)."""
        from transformers import GPT2Config

        if not isinstance(cfg, GPT2Config):
            raise ValueError(f"cfg must be a transformers.GPT2Config, got {type(cfg).__name__}")
        unsupported = {
            "scale_attn_weights": (getattr(cfg, "scale_attn_weights", True), True),
            "scale_attn_by_inverse_layer_idx": (getattr(cfg, "scale_attn_by_inverse_layer_idx", False), False),
            "add_cross_attention": (getattr(cfg, "add_cross_attention", False), False),
            "tie_word_embeddings": (getattr(cfg, "tie_word_embeddings", True), True),
        }
        for name, (got, want) in unsupported.items():
            if bool(got) != want:
                raise ValueError(f"cfg.{name} must be {want} for coursekit's GPT, got {got}")
        return cls(
            vocab_size=cfg.vocab_size, n_positions=cfg.n_positions, n_embd=cfg.n_embd, n_layer=cfg.n_layer,
            n_head=cfg.n_head, n_inner=cfg.n_inner, activation_function=cfg.activation_function,
            layer_norm_epsilon=float(cfg.layer_norm_epsilon), resid_pdrop=float(cfg.resid_pdrop),
            embd_pdrop=float(cfg.embd_pdrop), attn_pdrop=float(cfg.attn_pdrop),
            initializer_range=float(cfg.initializer_range),
        )
