"""ALBERT as BERT plus three changes: a factorised embedding, layers that share parameters,
and sentence-order prediction instead of next sentence prediction.

Lan et al. (2020), *ALBERT: A Lite BERT for Self-supervised Learning of Language
Representations*, https://arxiv.org/abs/1909.11942, Sec. 3.1:

- factorised embedding parameterisation: tokens are embedded in a small width E and projected
  to the hidden width H, V E + E H parameters instead of V H (``embedding_size``; the E -> H
  projection is transformers' ``embedding_hidden_mapping_in``; the embedding LayerNorm works
  on E);
- cross-layer parameter sharing: "all" (ALBERT's default), only the attention sublayers, or
  only the FFN sublayers (Table 4). transformers' ``AlbertModel`` shares everything within
  each of ``num_hidden_groups`` groups (layer i uses group ``floor(i G / L)``); coursekit
  implements the three modes with the same grouping;
- inter-sentence coherence loss: sentence-order prediction (SOP), positives two consecutive
  segments in order, negatives the same two swapped (label 0 = in order, 1 = swapped,
  transformers' ``sentence_order_label``). The head has NSP's shape (H -> 2 on the pooled
  ``[CLS]``); only the data differ.

The released models use "gelu_new" (GELU's tanh approximation) and no dropout.

Legend: V vocab_size, E embedding_size, H hidden_size, L num_hidden_layers, G num_hidden_groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..config import BertConfig
from ..hf import _linear, copy_named, load_named
from ..model import BertForPreTraining, BertModel
from ...pretraining import NspPair, _check_generator
from ...utils import check_choice, check_int, check_real

__all__ = ["SHARING", "AlbertConfig", "albert_base", "layer_groups", "share_layers", "AlbertModel",
           "AlbertForPreTraining", "sop_pairs", "albert_hf_names", "to_hf_albert", "from_hf_albert"]

SHARING = ("all", "attention", "ffn")  # what the layers of one group share
_SHARED = {"all": None, "attention": ("self_attn", "norm1"), "ffn": ("ffn", "norm2")}


@dataclass(frozen=True)
class AlbertConfig(BertConfig):
    """BertConfig with ALBERT's fields (transformers' ``AlbertConfig`` names) and ``share``
    (coursekit's: which sublayers the layers of a group share). ALBERT-base's values in the
    comments. ``num_hidden_groups == num_hidden_layers`` means no sharing at all."""

    hidden_act: str = "gelu_new"  # ALBERT: "gelu_new"
    embedding_size: int | None = 16  # ALBERT: 128 (None = hidden_size, no projection)
    classifier_dropout: float | None = 0.1  # ALBERT: 0.1 (transformers' classifier_dropout_prob; SOP head)
    num_hidden_groups: int = 1  # ALBERT: 1 (every layer shares one set of parameters)
    share: str = "all"  # ALBERT: "all"; Table 4 also "attention" (shared-attention), "ffn" (shared-FFN)

    def __post_init__(self):
        super().__post_init__()
        check_int("num_hidden_groups", self.num_hidden_groups, min=1, max=self.num_hidden_layers)
        check_choice("share", self.share, SHARING)

    def distinct_sublayers(self) -> tuple[int, int]:
        G, L = self.num_hidden_groups, self.num_hidden_layers
        return {"all": (G, G), "attention": (G, L), "ffn": (L, G)}[self.share]

    @property
    def sentence_head(self) -> str | None:
        return "sop"

    def to_dict(self) -> dict:
        """transformers' ``AlbertConfig`` fields; refuses what ``AlbertModel`` cannot hold: sharing
        of one sublayer only (unless every group holds one layer) and E = H (its projection is
        always there; coursekit's, like ALBERT's original code, only when E != H)."""
        if self.share != "all" and self.num_hidden_groups != self.num_hidden_layers:
            raise ValueError(
                f"transformers' AlbertModel shares whole layers: share must be 'all' (or num_hidden_groups="
                f"num_hidden_layers), got share={self.share!r} with num_hidden_groups={self.num_hidden_groups}"
            )
        if self.d_embed == self.hidden_size:
            raise ValueError(
                "transformers' AlbertModel always projects E -> H: embedding_size must differ from "
                f"hidden_size={self.hidden_size}, got {self.embedding_size}"
            )
        d = {k: v for k, v in self.describe().items() if k not in ("share", "classifier_dropout")}
        d["inner_group_num"] = 1
        d["classifier_dropout_prob"] = self.hidden_dropout_prob if self.classifier_dropout is None else self.classifier_dropout
        return d

    def to_hf(self):
        """This config as a ``transformers.AlbertConfig`` (transformers imported here only)."""
        from transformers import AlbertConfig as HFAlbertConfig

        return HFAlbertConfig(**self.to_dict())

    @classmethod
    def from_hf(cls, cfg) -> "AlbertConfig":
        """A ``transformers.AlbertConfig`` as a coursekit AlbertConfig (share="all";
        ``inner_group_num`` must be 1)."""
        from transformers import AlbertConfig as HFAlbertConfig

        if not isinstance(cfg, HFAlbertConfig):
            raise ValueError(f"cfg must be a transformers.AlbertConfig, got {type(cfg).__name__}")
        if cfg.inner_group_num != 1:
            raise ValueError(f"inner_group_num must be 1 for coursekit's ALBERT, got {cfg.inner_group_num}")
        d = cfg.to_dict()
        d["classifier_dropout"] = d.get("classifier_dropout_prob")
        return cls.from_dict(d)


def albert_base(**kwargs) -> AlbertConfig:
    """ALBERT-base's released config (v2): L=12, H=768, A=12, E=128, 30,000 SentencePiece tokens."""
    fields = dict(
        vocab_size=30000, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        max_position_embeddings=512, type_vocab_size=2, embedding_size=128, hidden_act="gelu_new",
    )
    return AlbertConfig(**{**fields, **kwargs})


def layer_groups(num_layers: int, num_groups: int) -> list[int]:
    """The group of each layer, ``floor(i G / L)`` (transformers' ``AlbertTransformer``):
    ``layer_groups(6, 2) == [0, 0, 0, 1, 1, 1]``."""
    check_int("num_layers", num_layers, min=1)
    check_int("num_groups", num_groups, min=1, max=num_layers)
    return [i * num_groups // num_layers for i in range(num_layers)]


def share_layers(layers: nn.ModuleList, share: str = "all", num_groups: int = 1) -> nn.ModuleList:
    """Tie the blocks of ``layers`` in place, ALBERT-style: within each group (:func:`layer_groups`)
    every block becomes the group's first block (``share="all"``), or uses its attention sublayer
    and LayerNorm (``"attention"``) or its FFN and LayerNorm (``"ffn"``). Returns ``layers``;
    ``parameters()`` then lists each shared tensor once."""
    if not isinstance(layers, nn.ModuleList) or not all(hasattr(b, "self_attn") and hasattr(b, "ffn") for b in layers):
        raise ValueError(f"layers must be an nn.ModuleList of coursekit Blocks, got {type(layers).__name__}")
    check_choice("share", share, SHARING)
    first: dict[int, nn.Module] = {}
    for i, g in enumerate(layer_groups(len(layers), num_groups)):
        if g not in first:
            first[g] = layers[i]
        elif _SHARED[share] is None:
            layers[i] = first[g]
        else:
            for name in _SHARED[share]:
                setattr(layers[i], name, getattr(first[g], name))
    return layers


def _check_albert(config) -> AlbertConfig:
    if not isinstance(config, AlbertConfig):
        raise ValueError(f"config must be a coursekit AlbertConfig, got {type(config).__name__}")
    return config


class AlbertModel(BertModel):
    """BERT's encoder with an E -> H projection after the embeddings (BertEmbeddings does it when
    E != H) and its layers tied by :func:`share_layers`."""

    def __init__(self, config: AlbertConfig = AlbertConfig()):
        super().__init__(_check_albert(config))
        share_layers(self.encoder.layers, config.share, config.num_hidden_groups)


class _DropoutLinear(nn.Linear):
    """Dropout, then the linear layer (its parameters keep nn.Linear's names)."""

    def __init__(self, d_in: int, d_out: int, p: float):
        super().__init__(d_in, d_out)
        self.dropout = nn.Dropout(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.dropout(x))


class AlbertForPreTraining(BertForPreTraining):
    """ALBERT with its pretraining heads: MLM (H -> E, then the tied E x V embedding) and SOP,
    the ``nsp`` head of BertForPreTraining (also reachable as ``sop``; with dropout
    ``classifier_dropout`` on its input, as transformers' AlbertSOPHead) trained on order labels;
    its logits come back in ``nsp_logits``. Encoder in ``bert`` (an :class:`AlbertModel`)."""

    model_class = AlbertModel

    def __init__(self, config: AlbertConfig = AlbertConfig()):
        super().__init__(_check_albert(config))
        p = config.hidden_dropout_prob if config.classifier_dropout is None else config.classifier_dropout
        sop = _DropoutLinear(config.hidden_size, 2, p)  # transformers' AlbertSOPHead drops the pooled state first
        sop.load_state_dict(self.nsp.state_dict())
        self.nsp = sop

    @property
    def sop(self) -> nn.Linear:
        """The sentence-order head, H -> 2 (column 0 = in order, 1 = swapped)."""
        return self.nsp


def sop_pairs(docs: Sequence[Sequence[str]], generator: torch.Generator, *, swap_prob: float = 0.5) -> list[NspPair]:
    """Sentence-order pairs (Lan et al. 2020, Sec. 3.1), one for every two consecutive sentences
    of a document: with probability ``swap_prob`` the two come swapped (label 1), else in order
    (label 0). Unlike NSP's random B (:func:`coursekit.pretraining.nsp_pairs`), both sentences
    always share a topic, so only their order can tell the labels apart. Deterministic given
    ``generator``; pairs as :class:`~coursekit.pretraining.NspPair` (``a_at``/``b_at`` = (doc, i))."""
    if isinstance(docs, str) or not all(isinstance(d, Sequence) and not isinstance(d, str) for d in docs):
        raise ValueError("docs must be a list of documents, each a list of sentences (str)")
    _check_generator(generator)
    check_real("swap_prob", swap_prob, low=0.0, high=1.0)
    at = [(d, i) for d, doc in enumerate(docs) for i in range(len(doc) - 1)]
    swap = (torch.rand(len(at), generator=generator) < swap_prob).tolist()
    pairs = []
    for (d, i), s in zip(at, swap):
        first, second = (i + 1, i) if s else (i, i + 1)
        pairs.append(NspPair(docs[d][first], docs[d][second], int(s), (d, first), (d, second)))
    return pairs


def albert_hf_names(model: nn.Module) -> dict[str, torch.Tensor]:
    """transformers' ``AlbertModel`` / ``AlbertForPreTraining`` state-dict names -> our parameters
    (one set per group: transformers' ``albert_layer_groups.g.albert_layers.0``)."""
    if isinstance(model, AlbertForPreTraining):
        names = {"albert." + k: v for k, v in albert_hf_names(model.bert).items()}
        m = model.mlm
        _linear(names, "predictions.dense", m.dense)
        _linear(names, "predictions.LayerNorm", m.norm)
        names["predictions.decoder.weight"] = model.bert.embeddings.word_embeddings.weight
        names["predictions.decoder.bias"] = names["predictions.bias"] = m.bias
        _linear(names, "sop_classifier.classifier", model.nsp)
        return names
    if not isinstance(model, AlbertModel):
        raise ValueError(f"model must be a coursekit AlbertModel or AlbertForPreTraining, got {type(model).__name__}")
    c, e = model.config, model.embeddings
    c.to_dict()  # refuses what transformers cannot hold
    names = {"embeddings.word_embeddings.weight": e.word_embeddings.weight,
             "embeddings.position_embeddings.weight": e.position_embeddings.weight,
             "embeddings.token_type_embeddings.weight": e.token_type_embeddings.weight}
    _linear(names, "embeddings.LayerNorm", e.norm)
    _linear(names, "encoder.embedding_hidden_mapping_in", e.projection)
    groups = layer_groups(c.num_hidden_layers, c.num_hidden_groups)
    for g in range(c.num_hidden_groups):
        block, p = model.encoder.layers[groups.index(g)], f"encoder.albert_layer_groups.{g}.albert_layers.0."
        a = block.self_attn
        for hf, ours in (("query", a.q_proj), ("key", a.k_proj), ("value", a.v_proj), ("dense", a.out_proj),
                         ("LayerNorm", block.norm1)):
            _linear(names, p + "attention." + hf, ours)
        for hf, ours in (("ffn", block.ffn.up), ("ffn_output", block.ffn.down), ("full_layer_layer_norm", block.norm2)):
            _linear(names, p + hf, ours)
    _linear(names, "pooler", model.pooler)
    return names


def to_hf_albert(model: nn.Module, *, attn_implementation: str = "sdpa"):
    """The transformers ``AlbertModel`` / ``AlbertForPreTraining`` twin of ``model``, eval mode."""
    names = albert_hf_names(model)  # refuses other types and configs
    import transformers

    cls = transformers.AlbertForPreTraining if isinstance(model, AlbertForPreTraining) else transformers.AlbertModel
    return copy_named(names, cls(model.config.to_hf()), attn_implementation)


def from_hf_albert(hf_model) -> nn.Module:
    """The coursekit twin of a transformers ``AlbertModel`` (with its pooler) or
    ``AlbertForPreTraining``, eval mode."""
    import transformers

    classes = {transformers.AlbertModel: AlbertModel, transformers.AlbertForPreTraining: AlbertForPreTraining}
    ours = classes.get(type(hf_model))
    if ours is None or (ours is AlbertModel and getattr(hf_model, "pooler", None) is None):
        raise ValueError(
            f"hf_model must be a transformers AlbertModel (with its pooler) or AlbertForPreTraining, got {type(hf_model).__name__}"
        )
    model = ours(AlbertConfig.from_hf(hf_model.config))
    return load_named(model, albert_hf_names(model), hf_model.state_dict(), "albert." if ours is AlbertModel else None).eval()
