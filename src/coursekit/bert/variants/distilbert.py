"""DistilBERT as BERT minus parts: no segments, no pooler, half the layers, each initialised
from every other layer of a BERT teacher.

Sanh, Debut, Chaumond & Wolf (2019), *DistilBERT, a distilled version of BERT: smaller, faster,
cheaper and lighter*, https://arxiv.org/abs/1910.01108, Sec. 3: "the token-type embeddings and
the pooler are removed while the number of layers is reduced by a factor of 2"; the student is
initialised "from the teacher by taking one layer out of two"; trained with the triple loss
(soft-target cross-entropy at a temperature, MLM, cosine between hidden states; the loss is
Chapter 10's compression code). The released distillation script took teacher layers
0, 2, 4, 7, 9, 11 of BERT-base; :func:`distil_init` takes any list, every other one by default.

transformers' ``DistilBertConfig`` renames BERT's fields (dim, n_layers, n_heads, hidden_dim,
dropout, attention_dropout, activation; its LayerNorm eps is fixed at 1e-12) and its
``DistilBertModel`` its modules (``transformer.layer.i.attention.q_lin``, ``sa_layer_norm``,
``ffn.lin1``, ``output_layer_norm``, ...): :data:`HF_FIELDS` and :func:`distilbert_hf_names`.
``sinusoidal_pos_embds=True`` fixes the position table to the 2017 sinusoids (not trained).

Legend: V vocab_size, P max_position_embeddings, H hidden_size (transformers' dim), L layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..config import BertConfig
from ..hf import _linear, copy_named, load_named
from ..model import BertModel
from ..sizes import bert_base
from ...transformer.positions import sinusoidal_encoding
from ...utils import check_bool, check_int

__all__ = ["HF_FIELDS", "DistilBertConfig", "distilbert_base", "DistilBertModel", "distil_init",
           "distilbert_hf_names", "to_hf_distilbert", "from_hf_distilbert"]

# coursekit (BERT) field -> transformers' DistilBertConfig field
HF_FIELDS = {
    "vocab_size": "vocab_size", "max_position_embeddings": "max_position_embeddings", "hidden_size": "dim",
    "num_hidden_layers": "n_layers", "num_attention_heads": "n_heads", "intermediate_size": "hidden_dim",
    "hidden_dropout_prob": "dropout", "attention_probs_dropout_prob": "attention_dropout", "hidden_act": "activation",
    "initializer_range": "initializer_range", "pad_token_id": "pad_token_id", "sinusoidal_pos_embds": "sinusoidal_pos_embds",
}


@dataclass(frozen=True)
class DistilBertConfig(BertConfig):
    """BertConfig (BERT's field names; :data:`HF_FIELDS` maps them to transformers') with no
    segments and no pooler; half BertConfig's default layers. DistilBERT's values in the comments."""

    num_hidden_layers: int = 1  # DistilBERT: 6 (BERT-base: 12)
    type_vocab_size: int = 0  # DistilBERT: none (must be 0)
    sinusoidal_pos_embds: bool = False  # DistilBERT: False (learned positions)

    def __post_init__(self):
        super().__post_init__()
        if self.type_vocab_size != 0:
            raise ValueError(f"type_vocab_size must be 0 for DistilBERT (no segments), got {self.type_vocab_size}")
        if self.embedding_size not in (None, self.hidden_size):
            raise ValueError(f"embedding_size must be None for DistilBERT, got {self.embedding_size}")
        check_bool("sinusoidal_pos_embds", self.sinusoidal_pos_embds)
        if self.sinusoidal_pos_embds and self.hidden_size % 2:
            raise ValueError(f"hidden_size must be even for sinusoidal positions, got {self.hidden_size}")

    @property
    def has_pooler(self) -> bool:
        return False

    @property
    def sentence_head(self) -> str | None:
        return None

    def to_dict(self) -> dict:
        """transformers' ``DistilBertConfig`` fields (:data:`HF_FIELDS`); refuses a
        ``layer_norm_eps`` other than 1e-12, which transformers fixes."""
        if self.layer_norm_eps != 1e-12:
            raise ValueError(f"layer_norm_eps must be 1e-12 for transformers' DistilBERT, got {self.layer_norm_eps}")
        d = {hf: getattr(self, ours) for ours, hf in HF_FIELDS.items()}
        if self.classifier_dropout is not None:
            d["seq_classif_dropout"] = self.classifier_dropout
        return d

    def to_hf(self):
        """This config as a ``transformers.DistilBertConfig`` (transformers imported here only)."""
        from transformers import DistilBertConfig as HFDistilBertConfig

        return HFDistilBertConfig(**self.to_dict())

    @classmethod
    def from_hf(cls, cfg) -> "DistilBertConfig":
        """A ``transformers.DistilBertConfig`` as a coursekit DistilBertConfig."""
        from transformers import DistilBertConfig as HFDistilBertConfig

        if not isinstance(cfg, HFDistilBertConfig):
            raise ValueError(f"cfg must be a transformers.DistilBertConfig, got {type(cfg).__name__}")
        d = cfg.to_dict()
        return cls(**{ours: d[hf] for ours, hf in HF_FIELDS.items()})


def distilbert_base(**kwargs) -> DistilBertConfig:
    """distilbert-base-uncased: BERT-base with 6 layers, no segments, no pooler."""
    base = {k: v for k, v in bert_base().describe().items() if k != "type_vocab_size"}
    return DistilBertConfig(**{**base, "num_hidden_layers": 6, **kwargs})


class DistilBertModel(BertModel):
    """BERT's encoder built from a :class:`DistilBertConfig`: no segment embedding, no pooler
    (``pooled`` is None); sinusoidal, frozen positions if the config asks for them."""

    def __init__(self, config: DistilBertConfig = DistilBertConfig()):
        if not isinstance(config, DistilBertConfig):
            raise ValueError(f"config must be a coursekit DistilBertConfig, got {type(config).__name__}")
        super().__init__(config)
        if config.sinusoidal_pos_embds:
            self.embeddings.position_embeddings.weight.requires_grad_(False)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """BERT's initialisation; the position table set to the sinusoids when asked."""
        super().reset_parameters()
        c = self.config
        if c.sinusoidal_pos_embds:
            self.embeddings.position_embeddings.weight.copy_(sinusoidal_encoding(c.max_position_embeddings, c.hidden_size))


@torch.no_grad()
def distil_init(teacher: BertModel, student: DistilBertModel, layers: Sequence[int] | None = None) -> DistilBertModel:
    """Initialise ``student`` from ``teacher`` (Sanh et al. 2019, Sec. 3): token and position
    embeddings and their LayerNorm copied (the segment embedding and pooler have no place to
    go), and student layer j set to teacher layer ``layers[j]``; by default every other one,
    0, 2, 4, ... (the released script used 0, 2, 4, 7, 9, 11 of 12). Returns the student."""
    if not isinstance(teacher, BertModel) or isinstance(teacher, DistilBertModel):
        raise ValueError(f"teacher must be a coursekit BertModel, got {type(teacher).__name__}")
    if not isinstance(student, DistilBertModel):
        raise ValueError(f"student must be a coursekit DistilBertModel, got {type(student).__name__}")
    t, s = teacher.config, student.config
    for name in ("vocab_size", "hidden_size", "num_attention_heads", "intermediate_size", "hidden_act", "layer_norm_eps"):
        if getattr(t, name) != getattr(s, name):
            raise ValueError(f"student's {name} must equal the teacher's {getattr(t, name)!r}, got {getattr(s, name)!r}")
    if t.d_embed != t.hidden_size:
        raise ValueError(f"teacher must not factorise its embedding, got embedding_size={t.embedding_size}")
    check_int("student max_position_embeddings", s.max_position_embeddings, max=t.max_position_embeddings)
    Lt, Ls = t.num_hidden_layers, s.num_hidden_layers
    layers = list(range(0, 2 * Ls, 2)) if layers is None else list(layers)
    if len(layers) != Ls or any(not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < Lt for i in layers):
        raise ValueError(f"layers must be {Ls} teacher layer indices in [0, {Lt}), got {layers}")
    te, se = teacher.embeddings, student.embeddings
    se.word_embeddings.weight.copy_(te.word_embeddings.weight)
    se.position_embeddings.weight.copy_(te.position_embeddings.weight[: s.max_position_embeddings])
    se.norm.load_state_dict(te.norm.state_dict())
    for j, i in enumerate(layers):
        student.encoder.layers[j].load_state_dict(teacher.encoder.layers[i].state_dict())
    return student


def distilbert_hf_names(model: DistilBertModel) -> dict[str, torch.Tensor]:
    """transformers' ``DistilBertModel`` state-dict names -> our parameters."""
    if not isinstance(model, DistilBertModel):
        raise ValueError(f"model must be a coursekit DistilBertModel, got {type(model).__name__}")
    e = model.embeddings
    names = {"embeddings.word_embeddings.weight": e.word_embeddings.weight,
             "embeddings.position_embeddings.weight": e.position_embeddings.weight}
    _linear(names, "embeddings.LayerNorm", e.norm)
    for i, block in enumerate(model.encoder.layers):
        p, a = f"transformer.layer.{i}.", block.self_attn
        for hf, ours in (("attention.q_lin", a.q_proj), ("attention.k_lin", a.k_proj), ("attention.v_lin", a.v_proj),
                         ("attention.out_lin", a.out_proj), ("sa_layer_norm", block.norm1), ("ffn.lin1", block.ffn.up),
                         ("ffn.lin2", block.ffn.down), ("output_layer_norm", block.norm2)):
            _linear(names, p + hf, ours)
    return names


def to_hf_distilbert(model: DistilBertModel, *, attn_implementation: str = "sdpa"):
    """The transformers ``DistilBertModel`` twin of ``model`` (same weights), eval mode."""
    names = distilbert_hf_names(model)
    import transformers

    return copy_named(names, transformers.DistilBertModel(model.config.to_hf()), attn_implementation)


def from_hf_distilbert(hf_model) -> DistilBertModel:
    """The coursekit twin of a transformers ``DistilBertModel``, eval mode."""
    import transformers

    if type(hf_model) is not transformers.DistilBertModel:
        raise ValueError(f"hf_model must be a transformers DistilBertModel, got {type(hf_model).__name__}")
    model = DistilBertModel(DistilBertConfig.from_hf(hf_model.config))
    return load_named(model, distilbert_hf_names(model), hf_model.state_dict(), "distilbert.").eval()
