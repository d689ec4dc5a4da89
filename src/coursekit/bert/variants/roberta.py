"""RoBERTa as BERT plus one rule: positions count from the padding id + 1, and only real tokens count.

Liu et al. (2019), *RoBERTa: A Robustly Optimized BERT Pretraining Approach*,
https://arxiv.org/abs/1907.11692: the architecture is BERT-base's / BERT-large's (Sec. 2, 3.1);
what changes is the training: dynamic masking (Sec. 4.1), no next sentence prediction and
full-sentence inputs (Sec. 4.2), bigger batches (Sec. 4.3), a byte-level BPE vocabulary of
50K units (Sec. 4.4), longer training on more data. In the model that leaves:

- one segment (``type_vocab_size=1``: without NSP there is no sentence B);
- fairseq's position rule (transformers' ``create_position_ids_from_input_ids``): real tokens
  are numbered ``padding_idx + 1, padding_idx + 2, ...`` and every padding token gets
  ``padding_idx``. With ``<pad>`` = 1, 512 tokens use positions 2 .. 513, which is why
  RoBERTa's config says ``max_position_embeddings=514`` for 512 tokens;
- ``layer_norm_eps`` 1e-5 (fairseq's LayerNorm) in the released configs.

Legend: B batch, T length, E embedding width, P max_position_embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import BertConfig
from ..hf import copy_named, hf_names, load_named
from ..model import BertEmbeddings, BertModel, BertOutput
from ..sizes import bert_base
from ...utils import check_int, check_tensor

__all__ = ["RobertaConfig", "roberta_base", "roberta_position_ids", "RobertaEmbeddings", "RobertaModel",
           "to_hf_roberta", "from_hf_roberta"]


@dataclass(frozen=True)
class RobertaConfig(BertConfig):
    """BertConfig with RoBERTa's defaults (transformers' ``RobertaConfig`` names); released
    roberta-base values in the comments. ``position_offset`` = pad_token_id + 1 is where the
    first real token's position is; ``max_tokens`` how many tokens fit."""

    max_position_embeddings: int = 130  # RoBERTa: 514 = 512 tokens + pad_token_id + 1
    type_vocab_size: int = 1  # RoBERTa: 1 (no NSP, no segment B)
    layer_norm_eps: float = 1e-5  # RoBERTa: 1e-05 (fairseq)
    pad_token_id: int | None = 1  # RoBERTa: 1 (<pad>; 0 is <s>, 2 is </s>)

    def __post_init__(self):
        super().__post_init__()
        if self.pad_token_id is None:
            raise ValueError("pad_token_id must be an int for RoBERTa (its positions count from it), got None")
        check_int("max_position_embeddings", self.max_position_embeddings, min=self.pad_token_id + 2)

    @property
    def position_offset(self) -> int:
        """The first real token's position: pad_token_id + 1."""
        return self.pad_token_id + 1

    @property
    def max_tokens(self) -> int:
        """The longest input: max_position_embeddings - pad_token_id - 1 (512 for roberta-base)."""
        return self.max_position_embeddings - self.position_offset

    @property
    def sentence_head(self) -> str | None:
        return None

    def to_hf(self):
        """This config as a ``transformers.RobertaConfig`` (transformers imported here only)."""
        from transformers import RobertaConfig as HFRobertaConfig

        return HFRobertaConfig(**self.to_dict())

    @classmethod
    def from_hf(cls, cfg) -> "RobertaConfig":
        """A ``transformers.RobertaConfig`` as a coursekit RobertaConfig."""
        from transformers import RobertaConfig as HFRobertaConfig

        if not isinstance(cfg, HFRobertaConfig):
            raise ValueError(f"cfg must be a transformers.RobertaConfig, got {type(cfg).__name__}")
        return cls.from_dict(cfg.to_dict())


def roberta_base(**kwargs) -> RobertaConfig:
    """roberta-base's released config: BERT-base's shape, 50,265 byte-level BPE tokens, 514 positions."""
    base = {**bert_base().describe(), "vocab_size": 50265, "max_position_embeddings": 514, "type_vocab_size": 1,
            "layer_norm_eps": 1e-5, "pad_token_id": 1}
    return RobertaConfig(**{**base, **kwargs})


def roberta_position_ids(input_ids: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """input_ids (B, T) long -> position ids (B, T): each real token's rank among the real tokens
    of its row, plus ``padding_idx``; padding tokens get ``padding_idx`` (fairseq's
    ``make_positions``, transformers' ``create_position_ids_from_input_ids``)."""
    check_tensor("input_ids", input_ids, shape=("B", "T"), dtype=torch.long)
    check_int("padding_idx", padding_idx, min=0)
    real = input_ids.ne(padding_idx).long()  # (B, T) 1 at real tokens
    return torch.cumsum(real, dim=1) * real + padding_idx  # (B, T)


class RobertaEmbeddings(BertEmbeddings):
    """:class:`~coursekit.bert.BertEmbeddings` with RoBERTa's positions (:func:`roberta_position_ids`)."""

    def tokens_and_positions(self, input_ids: torch.Tensor, position_offset: int) -> torch.Tensor:
        positions = roberta_position_ids(input_ids, self.word_embeddings.padding_idx)  # (B, T)
        return self.word_embeddings(input_ids) + self.position_embeddings(positions)  # (B, T, E)


class RobertaModel(BertModel):
    """BERT's encoder with :class:`RobertaEmbeddings`; weights interchange with transformers'
    ``RobertaModel`` under BERT's names (:func:`~coursekit.bert.hf_names`)."""

    embeddings_class = RobertaEmbeddings

    def __init__(self, config: RobertaConfig = RobertaConfig()):
        if not isinstance(config, RobertaConfig):
            raise ValueError(f"config must be a coursekit RobertaConfig, got {type(config).__name__}")
        super().__init__(config)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """BERT's initialisation, and the padding position's row at 0 (transformers' RoBERTa)."""
        super().reset_parameters()
        self.embeddings.position_embeddings.weight[self.config.pad_token_id].zero_()

    def forward(self, input_ids: torch.Tensor, **kwargs) -> BertOutput:
        """As :meth:`coursekit.bert.BertModel.forward` (keyword arguments token_type_ids,
        key_padding_mask, need_weights), with RoBERTa's positions: at most ``config.max_tokens``
        tokens; ``position_offset`` is not an argument (the rule fixes it)."""
        if "position_offset" in kwargs:
            raise ValueError("position_offset must not be given to RobertaModel: its positions start at pad_token_id + 1")
        return super().forward(input_ids, position_offset=self.config.position_offset, **kwargs)


def to_hf_roberta(model: RobertaModel, *, attn_implementation: str = "sdpa"):
    """The transformers ``RobertaModel`` twin of ``model`` (same weights), eval mode."""
    if not isinstance(model, RobertaModel):
        raise ValueError(f"model must be a coursekit RobertaModel, got {type(model).__name__}")
    import transformers

    return copy_named(hf_names(model), transformers.RobertaModel(model.config.to_hf()), attn_implementation)


def from_hf_roberta(hf_model) -> RobertaModel:
    """The coursekit twin of a transformers ``RobertaModel`` (with its pooler), eval mode."""
    import transformers

    if type(hf_model) is not transformers.RobertaModel or getattr(hf_model, "pooler", None) is None:
        raise ValueError(f"hf_model must be a transformers RobertaModel with its pooler, got {type(hf_model).__name__}")
    model = RobertaModel(RobertaConfig.from_hf(hf_model.config))
    return load_named(model, hf_names(model), hf_model.state_dict(), "roberta.").eval()
