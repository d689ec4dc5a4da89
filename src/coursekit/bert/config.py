"""BERT's configuration, with the names of transformers' ``BertConfig``.

Devlin, Chang, Lee & Toutanova (2019), *BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding*, https://arxiv.org/abs/1810.04805, Sec. 3:
BERT-base has L=12 layers, hidden size H=768, A=12 heads (110M parameters), BERT-large
L=24, H=1024, A=16 (340M); the feed-forward size is 4H, the vocabulary a 30,000-token
WordPiece one (the released uncased models: 30,522), 512 positions, two segments.
Appendix A.2: GELU rather than ReLU, dropout 0.1 on all layers. The block is the 2017
post-norm one (Vaswani et al. 2017); the released code's GELU is the exact (erf) form,
transformers' "gelu", and its LayerNorm eps is 1e-12.

Lan et al. (2020), *ALBERT*, https://arxiv.org/abs/1909.11942, Sec. 3.1: a factorised
embedding of width E < H followed by an E x H projection. ``embedding_size`` keeps that door
open (Chapter 10); left at None it is H, as in BERT.

Legend: V vocab_size, P max_position_embeddings, G type_vocab_size (segments), E embedding
width, H hidden_size, L num_hidden_layers, A num_attention_heads, F intermediate_size.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..transformer.block import BlockConfig
from ..transformer.ffn import HF_ACTIVATIONS
from ..utils import check_choice, check_int, check_positive, check_real, plain_numbers

__all__ = ["BertConfig"]

# transformers' BertConfig options coursekit's BERT does not compute: the value it needs
_UNSUPPORTED = {
    "position_embedding_type": "absolute",
    "is_decoder": False,
    "add_cross_attention": False,
    "tie_word_embeddings": True,
}


@dataclass(frozen=True)
class BertConfig:
    """A BERT encoder. CPU-sized defaults; BERT-base's values in the comments.

    Field names and meanings are transformers' ``BertConfig``'s, plus ``embedding_size``
    (ALBERT's name; None = ``hidden_size``). Vary with ``dataclasses.replace``.
    """

    vocab_size: int = 512  # BERT: 30522 (uncased WordPiece)
    hidden_size: int = 64  # BERT-base: 768 (large: 1024)
    num_hidden_layers: int = 2  # BERT-base: 12 (large: 24)
    num_attention_heads: int = 4  # BERT-base: 12 (large: 16)
    intermediate_size: int = 256  # BERT: 4 * hidden_size (3072 for base)
    hidden_act: str = "gelu"  # BERT: "gelu", the exact (erf) GELU
    hidden_dropout_prob: float = 0.0  # BERT: 0.1; embeddings, each sub-block's output
    attention_probs_dropout_prob: float = 0.0  # BERT: 0.1; the attention weights
    max_position_embeddings: int = 128  # BERT: 512
    type_vocab_size: int = 2  # BERT: 2 (segments A and B); 0 = no segment embedding
    layer_norm_eps: float = 1e-12  # BERT: 1e-12
    initializer_range: float = 0.02  # BERT: 0.02, the std of every weight at initialisation
    pad_token_id: int | None = 0  # BERT: 0 ([PAD]); its embedding row starts at 0, the lookup never trains it
    classifier_dropout: float | None = None  # None -> hidden_dropout_prob (sequence classification head)
    embedding_size: int | None = None  # None -> hidden_size (BERT); ALBERT: 128

    def __post_init__(self):
        plain_numbers(self)
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings"):
            check_positive(name, getattr(self, name))
        check_int("type_vocab_size", self.type_vocab_size, min=0)  # 0: no segment embedding (DistilBERT)
        check_choice("hidden_act", self.hidden_act, tuple(HF_ACTIVATIONS))
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            check_real(name, getattr(self, name), low=0.0, high=1.0, high_open=True)
        if self.classifier_dropout is not None:
            check_real("classifier_dropout", self.classifier_dropout, low=0.0, high=1.0, high_open=True)
        check_real("layer_norm_eps", self.layer_norm_eps, low=0.0, low_open=True)
        check_real("initializer_range", self.initializer_range, low=0.0, low_open=True)
        if self.pad_token_id is not None:
            check_int("pad_token_id", self.pad_token_id, min=0, max=self.vocab_size - 1)
        if self.embedding_size is not None:
            check_positive("embedding_size", self.embedding_size)
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                "hidden_size must be divisible by num_attention_heads, "
                f"got hidden_size={self.hidden_size}, num_attention_heads={self.num_attention_heads}"
            )

    @property
    def d_embed(self) -> int:
        """The embeddings' width E: ``embedding_size``, or ``hidden_size`` when it is None."""
        return self.hidden_size if self.embedding_size is None else self.embedding_size

    @property
    def d_head(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def has_pooler(self) -> bool:
        """Whether the encoder has BERT's pooler (dense + tanh on ``[CLS]``); a variant's hook."""
        return True

    @property
    def sentence_head(self) -> str | None:
        """The pretraining task on the pooled ``[CLS]``: "nsp" for BERT; a variant's hook
        ("sop" for ALBERT, None for RoBERTa and DistilBERT, which pretrain with MLM only)."""
        return "nsp"

    def distinct_sublayers(self) -> tuple[int, int]:
        """How many distinct attention and FFN sublayers the L layers hold: (L, L) for BERT;
        fewer when a variant shares them across layers (ALBERT). A hook for parameter counting."""
        return self.num_hidden_layers, self.num_hidden_layers

    def block_config(self) -> BlockConfig:
        """One encoder layer as a :class:`~coursekit.transformer.BlockConfig`: post-norm, LayerNorm
        with ``layer_norm_eps``, biases; its ``dropout`` is ``hidden_dropout_prob`` (the model sets
        the attention-weight dropout to ``attention_probs_dropout_prob`` itself)."""
        return BlockConfig(
            d_model=self.hidden_size, n_heads=self.num_attention_heads, d_ff=self.intermediate_size,
            ffn=HF_ACTIVATIONS[self.hidden_act], norm="layernorm", norm_first=False, bias=True,
            norm_eps=self.layer_norm_eps, dropout=self.hidden_dropout_prob,
        )

    def describe(self) -> dict:
        """The fields as a plain dict (for printing a table)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_dict(self) -> dict:
        """The fields transformers' ``BertConfig`` knows (all but ``embedding_size``); refuses a
        factorised embedding (``embedding_size != hidden_size``), which BertModel cannot hold."""
        if self.d_embed != self.hidden_size:
            raise ValueError(
                "transformers' BertConfig has no factorised embedding: embedding_size must be None or "
                f"hidden_size={self.hidden_size}, got {self.embedding_size}"
            )
        if not self.type_vocab_size:
            raise ValueError("transformers' BertConfig needs segments: type_vocab_size must be >= 1, got 0")
        return {k: v for k, v in self.describe().items() if k != "embedding_size"}

    @classmethod
    def from_dict(cls, d: dict) -> "BertConfig":
        """A config from a transformers-style dict (e.g. a checkpoint's config.json): the fields
        named above are read, other keys ignored; options coursekit's BERT does not compute
        (relative positions, a decoder, cross-attention, untied output) raise ValueError."""
        if not isinstance(d, dict):
            raise ValueError(f"d must be a dict of BertConfig fields, got {type(d).__name__}")
        for name, want in _UNSUPPORTED.items():
            got = d.get(name, want)
            if got != want:
                raise ValueError(f"{name} must be {want!r} for coursekit's BERT, got {got!r}")
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})

    def to_hf(self):
        """This config as a ``transformers.BertConfig`` (transformers imported here only)."""
        from transformers import BertConfig as HFBertConfig

        return HFBertConfig(**self.to_dict())

    @classmethod
    def from_hf(cls, cfg) -> "BertConfig":
        """A ``transformers.BertConfig`` as a coursekit BertConfig (see :meth:`from_dict`)."""
        from transformers import BertConfig as HFBertConfig

        if not isinstance(cfg, HFBertConfig):
            raise ValueError(f"cfg must be a transformers.BertConfig, got {type(cfg).__name__}")
        return cls.from_dict(cfg.to_dict())
