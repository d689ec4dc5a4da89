"""BERT: a bidirectional Transformer encoder on the course's shared block, with its
pretraining heads (masked language model, next sentence prediction) and a classifier.

Devlin, Chang, Lee & Toutanova (2019), *BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding*, https://arxiv.org/abs/1810.04805:
- Sec. 3 and Fig. 2: the input is the sum of token, segment and position embeddings
  (learned positions); the released code then applies LayerNorm (eps 1e-12) and dropout.
- Sec. 3: L post-norm blocks (the 2017 encoder layer, GELU FFN), every position sees every
  other; the final hidden state of ``[CLS]`` is the sequence's representation C, which the
  pooler passes through a dense layer and tanh.
- Sec. 3.1, Task #1 (MLM): the final hidden states at the chosen positions go through a
  softmax over the vocabulary, as in a language model; the released head first transforms
  them (dense, GELU, LayerNorm) and its output layer is the token embedding itself (tied)
  plus a bias.
- Sec. 3.1, Task #2 (NSP): a 2-way classifier on C; transformers' labels are 0 = B is the
  next sentence (IsNext), 1 = B is random (NotNext).

Masks follow coursekit's convention (bool, True = may attend): ``key_padding_mask`` (B, T) is
True at real tokens. transformers' ``attention_mask`` (1 = real token, 0 = padding) is the
same mask as integers: pass ``attention_mask.bool()``.

Legend: B batch, T length, V vocab_size, E embedding width, H hidden_size, A heads,
L layers, P max_position_embeddings, G type_vocab_size, N chosen (masked) positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..transformer.ffn import ffn_activation
from ..transformer.norms import LayerNorm
from ..transformer.stack import Embeddings, Stack
from ..utils import check_ids, check_int, check_tensor
from .config import BertConfig

__all__ = [
    "FusedLayerNorm",
    "BertOutput",
    "PreTrainingOutput",
    "SequenceClassificationOutput",
    "BertEmbeddings",
    "BertModel",
    "BertMLMHead",
    "BertForPreTraining",
    "BertForSequenceClassification",
    "mean_pool",
    "mlm_loss",
    "nsp_loss",
    "pretraining_loss",
]


@dataclass(frozen=True)
class BertOutput:
    """``hidden`` (B, T, H), the last layer's states; ``pooled`` (B, H), tanh(dense(hidden[:, 0]))
    (the ``[CLS]`` summary; None for a model without a pooler); ``hidden_states``: L + 1 tensors (B, T, H), the embeddings' output
    then each layer's (transformers' ``output_hidden_states``); ``attentions``: L tensors
    (B, A, T, T) with ``need_weights=True`` (bertviz's format for B = 1), else None."""

    hidden: torch.Tensor
    pooled: torch.Tensor | None
    hidden_states: tuple[torch.Tensor, ...]
    attentions: tuple[torch.Tensor, ...] | None = None


@dataclass(frozen=True)
class PreTrainingOutput:
    """``mlm_logits`` (B, T, V), or (N, V) for the positions chosen by ``mlm_positions``;
    ``nsp_logits`` (B, 2), column 0 = IsNext; ``hidden_states`` and ``attentions`` as in
    :class:`BertOutput`."""

    mlm_logits: torch.Tensor
    nsp_logits: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...]
    attentions: tuple[torch.Tensor, ...] | None = None


@dataclass(frozen=True)
class SequenceClassificationOutput:
    """``logits`` (B, num_labels) from the pooled ``[CLS]`` state; ``hidden_states``,
    ``attentions`` as in :class:`BertOutput`."""

    logits: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...]
    attentions: tuple[torch.Tensor, ...] | None = None


class FusedLayerNorm(LayerNorm):
    """coursekit's :class:`~coursekit.transformer.LayerNorm` (same parameters, same output)
    computed by torch's fused kernel, ``F.layer_norm``: BERT's post-norm block has 2L + 1 of
    them on the residual stream, and the from-scratch version's five elementwise passes cost
    about a tenth of a CPU training step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (self.d,), self.weight, self.bias, self.eps)


def _check_config(config) -> BertConfig:
    if not isinstance(config, BertConfig):
        raise ValueError(f"config must be a coursekit BertConfig, got {type(config).__name__}")
    return config


class BertEmbeddings(nn.Module):
    """ids (B, T) -> LayerNorm(token + position + segment embeddings), dropout: (B, T, H).

    ``tokens`` is the course's :class:`~coursekit.transformer.Embeddings` (token embedding with
    ``pad_token_id``'s row at zero, learned positions, no sqrt(E) scaling); segments and the
    LayerNorm come on top. With ``embedding_size`` E != H (ALBERT) an E -> H ``projection``
    follows; for BERT it is the identity. Called by :class:`~coursekit.transformer.Stack` as
    ``embed(ids, position_offset=..., token_type_ids=...)``.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        c = _check_config(config)
        E = c.d_embed
        self.tokens = Embeddings(
            c.vocab_size, E, positions="learned", max_len=c.max_position_embeddings, scale=False, dropout=0.0,
            padding_idx=c.pad_token_id,
        )
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, E) if c.type_vocab_size else None
        self.norm = FusedLayerNorm(E, c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.projection = nn.Linear(E, c.hidden_size) if E != c.hidden_size else nn.Identity()

    @property
    def word_embeddings(self) -> nn.Embedding:
        """The token embedding (V, E); also the MLM head's output layer (tied)."""
        return self.tokens.embed

    @property
    def position_embeddings(self) -> nn.Embedding:
        """The learned position embedding (P, E)."""
        return self.tokens.positions.table

    def tokens_and_positions(self, input_ids: torch.Tensor, position_offset: int) -> torch.Tensor:
        """input_ids (B, T) -> token + position embeddings (B, T, E), positions counted from
        ``position_offset``. The hook a variant with another position rule overrides (RoBERTa)."""
        return self.tokens(input_ids, position_offset=position_offset)

    def forward(
        self, input_ids: torch.Tensor, *, position_offset: int = 0, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """input_ids (B, T) long and token_type_ids (B, T) long or None (all segment 0), both
        checked by :class:`BertModel` -> (B, T, H). Without a segment embedding
        (``type_vocab_size=0``, DistilBERT) nothing is added."""
        x = self.tokens_and_positions(input_ids, position_offset)  # (B, T, E): tokens + positions
        if self.token_type_embeddings is None:
            pass
        elif token_type_ids is None:
            x = x + self.token_type_embeddings.weight[0]  # segment A everywhere, (E,) broadcasts
        else:
            x = x + self.token_type_embeddings(token_type_ids)  # (B, T, E)
        return self.projection(self.dropout(self.norm(x)))  # (B, T, H)


class BertModel(nn.Module):
    """The BERT encoder: input_ids (B, T) -> :class:`BertOutput` (states of every layer, pooled).

    Submodules: ``encoder`` (a :class:`~coursekit.transformer.Stack` of L post-norm GELU
    blocks whose ``embed`` is the :class:`BertEmbeddings`, also reachable as ``embeddings``)
    and ``pooler`` (H -> H, tanh on the ``[CLS]`` position). Weights interchange with
    transformers' ``BertModel`` (:mod:`.hf`).
    """

    embeddings_class = BertEmbeddings  # a variant's hook: RoBERTa's positions

    def __init__(self, config: BertConfig = BertConfig()):
        super().__init__()
        self.config = c = _check_config(config)
        self.encoder = Stack(c.block_config(), c.num_hidden_layers, self.embeddings_class(c))
        for block in self.encoder.layers:
            block.self_attn.dropout = c.attention_probs_dropout_prob  # on the attention weights
            block.ffn.dropout = nn.Identity()  # BERT drops the FFN's output (the block does), not its hidden layer
            block.norm1, block.norm2 = (FusedLayerNorm(c.hidden_size, c.layer_norm_eps) for _ in range(2))
        self.pooler = nn.Linear(c.hidden_size, c.hidden_size) if c.has_pooler else None
        self.reset_parameters()

    @property
    def embeddings(self) -> BertEmbeddings:
        return self.encoder.embed

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """BERT's initialisation (its released code, transformers' ``_init_weights``): every
        Linear and Embedding weight ~ N(0, initializer_range^2), biases 0, the padding token's
        embedding row 0, LayerNorm gain 1 and bias 0."""
        _init_bert(self, self.config)

    def forward(
        self,
        input_ids: torch.Tensor,
        *,
        token_type_ids: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = False,
        position_offset: int = 0,
    ) -> BertOutput:
        """input_ids (B, T) long in [0, V); token_type_ids (B, T) long in [0, G), None = all 0
        (segment A); key_padding_mask (B, T) bool, True at real tokens (transformers'
        ``attention_mask.bool()``), None = no padding; need_weights: also return every layer's
        attention weights (the from-scratch attention path; slower). Everything after input_ids
        is keyword-only: transformers' second positional argument is the attention mask, and a
        1/0 mask taken for segment ids would pass every check. ``position_offset``: the position
        of input_ids[:, 0] (0 for BERT; RoBERTa's positions start after its padding id)."""
        c = self.config
        dims = check_tensor("input_ids", input_ids, shape=("B", "T"), dtype=torch.long)
        B, T = dims.values()
        check_int("position_offset", position_offset, min=0)
        if position_offset + T > c.max_position_embeddings:
            raise ValueError(
                f"input_ids must have at most max_position_embeddings={c.max_position_embeddings} positions, got T={T}"
                + (f" from position_offset={position_offset}" if position_offset else "")
            )
        check_ids("input_ids", input_ids, c.vocab_size)
        if token_type_ids is not None and not c.type_vocab_size:
            raise ValueError("token_type_ids must be None for a model without segments (type_vocab_size=0), got a tensor")
        if token_type_ids is not None:
            check_tensor("token_type_ids", token_type_ids, shape=("B", "T"), dtype=torch.long, dims=dims)
            check_ids("token_type_ids", token_type_ids, c.type_vocab_size)
        if key_padding_mask is not None:
            if isinstance(key_padding_mask, torch.Tensor) and key_padding_mask.dtype != torch.bool:
                raise ValueError(
                    "key_padding_mask must be a bool tensor (True = real token, may be attended), "
                    f"got dtype {key_padding_mask.dtype}; for transformers' 1/0 attention_mask pass attention_mask.bool()"
                )
            check_tensor("key_padding_mask", key_padding_mask, shape=("B", "T"), dtype=torch.bool, dims=dims)
        out = self.encoder(
            input_ids, key_padding_mask=key_padding_mask, need_weights=need_weights, need_hidden_states=True,
            position_offset=position_offset, token_type_ids=token_type_ids,
        )
        pooled = None if self.pooler is None else torch.tanh(self.pooler(out.hidden[:, 0]))  # (B, H): the [CLS] position
        return BertOutput(out.hidden, pooled, out.hidden_states, out.attentions)


@torch.no_grad()
def _init_bert(module: nn.Module, config: BertConfig) -> None:
    std = config.initializer_range
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=std)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.Embedding) and m.padding_idx is not None:
            m.weight[m.padding_idx].zero_()
        if isinstance(m, LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        if isinstance(m, BertMLMHead):
            nn.init.zeros_(m.bias)


class BertMLMHead(nn.Module):
    """The masked-LM head: LayerNorm(act(dense(h))) then the tied output layer,
    ``logits = transform(h) W_emb^T + bias``: (..., H) -> (..., V).

    The output weight is the token embedding (V, E), passed in at each call, so the head owns
    only ``dense`` (H -> E), ``norm`` and ``bias`` (V,).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        c = _check_config(config)
        self.dense = nn.Linear(c.hidden_size, c.d_embed)
        self.act = ffn_activation(c.block_config().ffn)
        self.norm = FusedLayerNorm(c.d_embed, c.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))

    def forward(self, hidden: torch.Tensor, output_weight: torch.Tensor) -> torch.Tensor:
        """hidden (..., H), output_weight (V, E) -> logits (..., V)."""
        return F.linear(self.norm(self.act(self.dense(hidden))), output_weight, self.bias)


class BertForPreTraining(nn.Module):
    """BERT with both pretraining heads: ``bert`` (:class:`BertModel`), ``mlm``
    (:class:`BertMLMHead`, tied to ``bert.embeddings.word_embeddings``) and ``nsp``
    (H -> 2 on the pooled ``[CLS]`` state). Weights interchange with transformers'
    ``BertForPreTraining``."""

    model_class = BertModel  # a variant's hook: ALBERT's encoder

    def __init__(self, config: BertConfig = BertConfig()):
        super().__init__()
        self.config = c = _check_config(config)
        self.bert = self.model_class(c)
        self.mlm = BertMLMHead(c)
        self.nsp = nn.Linear(c.hidden_size, 2)
        _init_bert(self.mlm, c)
        _init_bert(self.nsp, c)

    def forward(
        self,
        input_ids: torch.Tensor,
        *,
        token_type_ids: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        mlm_positions: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> PreTrainingOutput:
        """Arguments as for :meth:`BertModel.forward`; ``mlm_positions`` (B, T) bool: compute the
        MLM logits only where True (the N chosen tokens, in row-major order: (N, V), matching
        ``labels[mlm_positions]``), as BERT's own code does, instead of at all B*T positions."""
        out = self.bert(input_ids, token_type_ids=token_type_ids, key_padding_mask=key_padding_mask, need_weights=need_weights)
        hidden = out.hidden  # (B, T, H)
        if mlm_positions is not None:
            check_tensor("mlm_positions", mlm_positions, shape=tuple(input_ids.shape), dtype=torch.bool)
            hidden = hidden[mlm_positions]  # (N, H)
        mlm_logits = self.mlm(hidden, self.bert.embeddings.word_embeddings.weight)  # (B, T, V) or (N, V)
        return PreTrainingOutput(mlm_logits, self.nsp(out.pooled), out.hidden_states, out.attentions)


class BertForSequenceClassification(nn.Module):
    """BERT with a classifier on the pooled ``[CLS]`` state: dropout, then H -> ``num_labels``
    (transformers' ``BertForSequenceClassification``; dropout ``classifier_dropout``, or
    ``hidden_dropout_prob`` when that is None)."""

    def __init__(self, config: BertConfig = BertConfig(), num_labels: int = 2):
        super().__init__()
        self.config = c = _check_config(config)
        check_int("num_labels", num_labels, min=1)
        self.num_labels = num_labels
        self.bert = BertModel(c)
        p = c.hidden_dropout_prob if c.classifier_dropout is None else c.classifier_dropout
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(c.hidden_size, num_labels)
        _init_bert(self.classifier, c)

    def forward(
        self,
        input_ids: torch.Tensor,
        *,
        token_type_ids: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> SequenceClassificationOutput:
        """Arguments as for :meth:`BertModel.forward`; logits (B, num_labels)."""
        out = self.bert(input_ids, token_type_ids=token_type_ids, key_padding_mask=key_padding_mask, need_weights=need_weights)
        return SequenceClassificationOutput(self.classifier(self.dropout(out.pooled)), out.hidden_states, out.attentions)


def mean_pool(hidden: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The mean of each sequence's states over its real tokens: hidden (B, T, H) float,
    key_padding_mask (B, T) bool (True = real token; None = all real) -> (B, H). Sentence-BERT's
    pooling (Reimers & Gurevych 2019, Sec. 3, MEAN), all-MiniLM-L6-v2's sentence vector."""
    dims = check_tensor("hidden", hidden, shape=("B", "T", "H"), dtype="float")
    if key_padding_mask is None:
        return hidden.mean(1)
    check_tensor("key_padding_mask", key_padding_mask, shape=("B", "T"), dtype=torch.bool, dims=dims)
    weights = key_padding_mask.to(hidden.dtype)[..., None]  # (B, T, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)  # a row with no real token: zeros


def mlm_loss(mlm_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the chosen tokens: ``mlm_logits`` (..., V), ``labels`` (...) long,
    the original token at each chosen position and -100 everywhere else (transformers'
    convention; only chosen positions count, Devlin et al. 2019, Sec. 3.1)."""
    if not isinstance(mlm_logits, torch.Tensor) or mlm_logits.dim() < 1 or not mlm_logits.is_floating_point():
        got = f"a {mlm_logits.dim()}-d {mlm_logits.dtype} tensor" if isinstance(mlm_logits, torch.Tensor) else type(mlm_logits).__name__
        raise ValueError(f"mlm_logits must be a float tensor of shape (..., V), got {got}")
    V = mlm_logits.shape[-1]
    check_tensor("labels", labels, shape=tuple(mlm_logits.shape[:-1]), dtype=torch.long)
    bad = (labels != -100) & ((labels < 0) | (labels >= V))
    if bool(bad.any()):
        raise ValueError(f"labels must be token ids in [0, {V}) or -100 (not chosen), got {labels[bad][0].item()}")
    return F.cross_entropy(mlm_logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)


def nsp_loss(nsp_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of next sentence prediction: ``nsp_logits`` (B, 2), ``labels`` (B,)
    long, 0 = IsNext, 1 = NotNext (transformers' convention), -100 = skip this pair.

    The ignored label is -100, never 0: with ``ignore_index=0`` every IsNext pair would silently
    drop out of the loss and a model that always says NotNext would score a perfect 0.
    """
    dims = check_tensor("nsp_logits", nsp_logits, shape=("B", 2), dtype="float")
    check_tensor("labels", labels, shape=("B",), dtype=torch.long, dims=dims)
    bad = (labels != 0) & (labels != 1) & (labels != -100)
    if bool(bad.any()):
        raise ValueError(f"labels must be 0 (IsNext), 1 (NotNext) or -100 (skip), got {labels[bad][0].item()}")
    return F.cross_entropy(nsp_logits, labels, ignore_index=-100)


def pretraining_loss(output: PreTrainingOutput, mlm_labels: torch.Tensor, nsp_labels: torch.Tensor) -> torch.Tensor:
    """BERT's pretraining objective, the sum of the two means (Devlin et al. 2019, Appendix A.2;
    transformers' ``BertForPreTraining`` loss): ``mlm_loss + nsp_loss``."""
    if not isinstance(output, PreTrainingOutput):
        raise ValueError(f"output must be a PreTrainingOutput, got {type(output).__name__}")
    return mlm_loss(output.mlm_logits, mlm_labels) + nsp_loss(output.nsp_logits, nsp_labels)
