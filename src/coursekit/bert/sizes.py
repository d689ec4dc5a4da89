"""BERT-base and BERT-large sizes from their configs: an exact parameter count from a config alone.

A BERT encoder's parameters (E = H for BERT): the embeddings V E + P E + G E, their
LayerNorm 2E (and ALBERT's E x H projection E H + H when E != H), per layer
4 (H^2 + H) for attention, 2 H F + F + H for the FFN and 4H for its two LayerNorms, and the
pooler H^2 + H. The pretraining heads add the MLM transform H E + E + 2E and its output bias
V (the output weight is the token embedding, tied: not counted again) and NSP's 2H + 2.

Published sizes: Devlin et al. (2019), https://arxiv.org/abs/1810.04805, Sec. 3:
BERT-base (L=12, H=768, A=12) "110M", BERT-large (L=24, H=1024, A=16) "340M".
:func:`size_table` counts both with the released uncased vocabulary (30,522 WordPieces),
512 positions and 2 segments: BERT-base's encoder with its pooler has 109,482,240 parameters
and BERT-large's 335,141,888 (the pretraining heads add about 0.6M and 1.1M). Rounded to two
significant figures, as the paper's figures are, these are 110M and 340M, with or without
the heads: the paper's numbers are the exact counts, rounded coarsely (BERT-large is 335M
to three figures, not 340M).

Legend: V vocab_size, P max_position_embeddings, G type_vocab_size, E embedding width,
H hidden_size, L num_hidden_layers, F intermediate_size.
"""

from __future__ import annotations

import math

from ..gpt.sizes import PublishedSize
from ..transformer.block import block_parameters
from ..transformer.norms import norm_parameters
from ..utils import check_choice, check_int
from .config import BertConfig

__all__ = [
    "MODELS",
    "parameter_breakdown",
    "count_parameters",
    "BERT_SIZES",
    "bert_base",
    "bert_large",
    "round_significant",
    "size_table",
]

MODELS = ("encoder", "pretraining", "classification")  # BertModel, BertForPreTraining, BertForSequenceClassification


def parameter_breakdown(config: BertConfig, *, model: str = "encoder", num_labels: int = 2) -> dict[str, int]:
    """Parameters by part of ``BertModel(config)`` (``model="encoder"``, with its pooler),
    ``BertForPreTraining`` (``"pretraining"``) or ``BertForSequenceClassification``
    (``"classification"``, ``num_labels`` classes); tied weights counted once. A variant's
    config (:mod:`coursekit.bert.variants`) is counted through its hooks: no segments when
    ``type_vocab_size`` is 0, no pooler unless ``has_pooler``, shared layers counted once
    (``distinct_sublayers``); ``"pretraining"`` adds its ``sentence_head`` (NSP, ALBERT's SOP:
    the same size) or, for MLM-only pretraining (RoBERTa, DistilBERT), drops the pooler, as
    transformers' ``RobertaForMaskedLM`` and ``DistilBertForMaskedLM`` do."""
    if not isinstance(config, BertConfig):
        raise ValueError(f"config must be a coursekit BertConfig, got {type(config).__name__}")
    check_choice("model", model, MODELS)
    check_int("num_labels", num_labels, min=1)
    c, E, H = config, config.d_embed, config.hidden_size
    block = c.block_config()
    attention = 4 * (H * H + H) + norm_parameters(block.norm, H, block.bias)  # W^Q, W^K, W^V, W^O and its LayerNorm
    ffn = block_parameters(block) - attention  # up, down and the second LayerNorm
    n_attention, n_ffn = c.distinct_sublayers()  # (L, L) unless layers share (ALBERT)
    parts = {
        "word_embeddings": c.vocab_size * E,
        "position_embeddings": c.max_position_embeddings * E,
        "token_type_embeddings": c.type_vocab_size * E,
        "embedding_norm": 2 * E,
        "embedding_projection": 0 if E == H else E * H + H,
        "layers": n_attention * attention + n_ffn * ffn,
        "pooler": H * H + H if c.has_pooler else 0,
    }
    if model == "pretraining":
        parts["mlm_head"] = H * E + E + 2 * E + c.vocab_size  # transform dense, its LayerNorm, output bias
        if c.sentence_head is None:  # MLM only: transformers' *ForMaskedLM build no pooler
            parts["pooler"] = 0
        else:
            parts[f"{c.sentence_head}_head"] = 2 * H + 2
    elif model == "classification":
        parts["classifier"] = num_labels * (H + 1)
    return parts


def count_parameters(config: BertConfig, *, model: str = "encoder", num_labels: int = 2) -> int:
    """How many parameters the coursekit model (and transformers' of the same config) has,
    without building it; see :func:`parameter_breakdown`."""
    return sum(parameter_breakdown(config, model=model, num_labels=num_labels).values())


def bert_base(**kwargs) -> BertConfig:
    """BERT-base, uncased (Devlin et al. 2019, Sec. 3; the released config): L=12, H=768, A=12."""
    fields = dict(
        vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        max_position_embeddings=512, type_vocab_size=2, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
    )
    return BertConfig(**{**fields, **kwargs})


def bert_large(**kwargs) -> BertConfig:
    """BERT-large, uncased: L=24, H=1024, A=16, F=4096."""
    return bert_base(**{**dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096), **kwargs})


BERT_SIZES: dict[str, PublishedSize] = {
    "BERT-base": PublishedSize("BERT-base", bert_base(), 110_000_000, "Devlin et al. 2019, Sec. 3"),
    "BERT-large": PublishedSize("BERT-large", bert_large(), 340_000_000, "Devlin et al. 2019, Sec. 3"),
}


def round_significant(n: int, figures: int = 2) -> int:
    """``n`` rounded to ``figures`` significant figures (335,141,888 -> 340,000,000 for 2)."""
    check_int("n", n, min=1)
    check_int("figures", figures, min=1)
    step = 10 ** (int(math.log10(n)) + 1 - figures)
    return int(round(n / step)) * step


def size_table() -> list[dict]:
    """One row per model of :data:`BERT_SIZES`: its config, our exact counts (encoder with
    pooler; with the pretraining heads), each rounded to two significant figures, and the
    paper's figure."""
    rows = []
    for s in BERT_SIZES.values():
        c = s.config
        encoder, pretraining = count_parameters(c), count_parameters(c, model="pretraining")
        rows.append({
            "model": s.name,
            "L": c.num_hidden_layers,
            "H": c.hidden_size,
            "A": c.num_attention_heads,
            "vocab_size": c.vocab_size,
            "parameters": encoder,
            "with_pretraining_heads": pretraining,
            "rounded": round_significant(encoder),
            "rounded_with_heads": round_significant(pretraining),
            "published": s.published,
            "source": s.source,
        })
    return rows
