"""Weights to and from transformers' ``BertModel``, ``BertForPreTraining`` and
``BertForSequenceClassification`` (transformers imported inside the functions only), and
from a checkpoint's state dict (e.g. a ``model.safetensors`` read without transformers).

BERT's projections are ``nn.Linear`` as ours are (no transposes); the names map one to one:

==============================================  =========================================
transformers (``bert.`` prefix in the heads)    coursekit
==============================================  =========================================
embeddings.word_embeddings                      embeddings.word_embeddings (= MLM output)
embeddings.position_embeddings                  embeddings.position_embeddings
embeddings.token_type_embeddings                embeddings.token_type_embeddings
embeddings.LayerNorm                            embeddings.norm
encoder.layer.i.attention.self.query/key/value  encoder.layers[i].self_attn.q/k/v_proj
encoder.layer.i.attention.output.dense          encoder.layers[i].self_attn.out_proj
encoder.layer.i.attention.output.LayerNorm      encoder.layers[i].norm1
encoder.layer.i.intermediate.dense              encoder.layers[i].ffn.up
encoder.layer.i.output.dense                    encoder.layers[i].ffn.down
encoder.layer.i.output.LayerNorm                encoder.layers[i].norm2
pooler.dense                                    pooler
cls.predictions.transform.dense / LayerNorm     mlm.dense / mlm.norm
cls.predictions.decoder.weight / bias           tied: word_embeddings / mlm.bias
cls.predictions.bias                            mlm.bias (transformers ties the two biases)
cls.seq_relationship                            nsp
classifier                                      classifier
==============================================  =========================================

Legend: V vocab_size, H hidden_size, L num_hidden_layers.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from .config import BertConfig
from .model import BertForPreTraining, BertForSequenceClassification, BertModel

__all__ = ["hf_names", "load_hf_state_dict", "load_named", "copy_named", "from_hf_bert", "to_hf_bert"]

# checkpoint entries that are not parameters (buffers older transformers versions saved)
_IGNORED = ("embeddings.position_ids", "embeddings.token_type_ids")


def _linear(names: dict, prefix: str, layer: nn.Linear) -> None:
    names[prefix + ".weight"], names[prefix + ".bias"] = layer.weight, layer.bias


def _encoder_names(model: BertModel, prefix: str) -> dict[str, torch.Tensor]:
    e, p = model.embeddings, prefix
    names = {
        p + "embeddings.word_embeddings.weight": e.word_embeddings.weight,
        p + "embeddings.position_embeddings.weight": e.position_embeddings.weight,
    }
    if e.token_type_embeddings is not None:
        names[p + "embeddings.token_type_embeddings.weight"] = e.token_type_embeddings.weight
    _linear(names, p + "embeddings.LayerNorm", e.norm)
    if isinstance(e.projection, nn.Linear):  # ALBERT's name for the E -> H projection
        _linear(names, p + "encoder.embedding_hidden_mapping_in", e.projection)
    for i, block in enumerate(model.encoder.layers):
        q, a = f"{p}encoder.layer.{i}.", block.self_attn
        for hf, ours in (("query", a.q_proj), ("key", a.k_proj), ("value", a.v_proj)):
            _linear(names, q + "attention.self." + hf, ours)
        _linear(names, q + "attention.output.dense", a.out_proj)
        _linear(names, q + "attention.output.LayerNorm", block.norm1)
        _linear(names, q + "intermediate.dense", block.ffn.up)
        _linear(names, q + "output.dense", block.ffn.down)
        _linear(names, q + "output.LayerNorm", block.norm2)
    if model.pooler is not None:
        _linear(names, p + "pooler.dense", model.pooler)
    return names


def hf_names(model: nn.Module) -> dict[str, torch.Tensor]:
    """transformers' state-dict name -> the coursekit parameter it is, for a :class:`BertModel`,
    :class:`BertForPreTraining` or :class:`BertForSequenceClassification` (tied weights appear
    under each of their transformers names)."""
    if isinstance(model, BertModel):
        return _encoder_names(model, "")
    if isinstance(model, BertForPreTraining):
        names = _encoder_names(model.bert, "bert.")
        _linear(names, "cls.predictions.transform.dense", model.mlm.dense)
        _linear(names, "cls.predictions.transform.LayerNorm", model.mlm.norm)
        names["cls.predictions.decoder.weight"] = model.bert.embeddings.word_embeddings.weight
        names["cls.predictions.decoder.bias"] = names["cls.predictions.bias"] = model.mlm.bias
        _linear(names, "cls.seq_relationship", model.nsp)
        return names
    if isinstance(model, BertForSequenceClassification):
        names = _encoder_names(model.bert, "bert.")
        _linear(names, "classifier", model.classifier)
        return names
    raise ValueError(
        "model must be a coursekit BertModel, BertForPreTraining or BertForSequenceClassification, "
        f"got {type(model).__name__}"
    )


@torch.no_grad()
def load_hf_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """Copy a transformers-named state dict into ``model`` (see :func:`hf_names`); returns model.

    A :class:`BertModel` also takes a pretraining or classification checkpoint (its ``bert.``
    entries; the heads are left out). Every parameter must be present with its shape under
    at least one of its names (a tied weight's other names, such as
    ``cls.predictions.decoder.bias``, may be absent, as in older checkpoints), and nothing
    else may be (apart from the ``position_ids`` buffer): otherwise ValueError.
    """
    return load_named(model, hf_names(model), state_dict, "bert." if isinstance(model, BertModel) else None)


@torch.no_grad()
def load_named(
    model: nn.Module, names: dict[str, torch.Tensor], state_dict: Mapping[str, torch.Tensor], prefix: str | None = None
) -> nn.Module:
    """Copy ``state_dict`` into the parameters ``names`` maps its keys to (as :func:`hf_names`
    gives them; the BERT variants have their own maps); returns model. With ``prefix``
    (e.g. ``"bert."``) a checkpoint with a head is read for its encoder's entries only. Raises
    ValueError as :func:`load_hf_state_dict` describes."""
    sd = dict(state_dict)
    if prefix and any(k.startswith(prefix) for k in sd):
        sd = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    sd = {k: v for k, v in sd.items() if not k.endswith(_IGNORED)}
    present = {id(t) for k, t in names.items() if k in sd}
    missing = sorted(k for k, t in names.items() if id(t) not in present)
    unexpected = sorted(set(sd) - set(names))
    if missing or unexpected:
        raise ValueError(
            f"state_dict does not fit {type(model).__name__}: missing {missing[:5]}{' ...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}"
        )
    for name, ours in names.items():
        if name not in sd:
            continue  # a tied weight, loaded under its other name
        theirs = sd[name]
        if tuple(theirs.shape) != tuple(ours.shape):
            raise ValueError(f"state_dict[{name!r}] must have shape {tuple(ours.shape)}, got {tuple(theirs.shape)}")
        ours.copy_(theirs)
    return model


def _hf_classes():
    import transformers

    return {
        BertModel: transformers.BertModel,
        BertForPreTraining: transformers.BertForPreTraining,
        BertForSequenceClassification: transformers.BertForSequenceClassification,
    }


def from_hf_bert(hf_model) -> nn.Module:
    """The coursekit twin of a transformers ``BertModel`` (with its pooler),
    ``BertForPreTraining`` or ``BertForSequenceClassification``: same config
    (:meth:`BertConfig.from_hf`), same weights, same outputs to float tolerance; eval mode."""
    classes = _hf_classes()
    ours_cls = next((ours for ours, theirs in classes.items() if type(hf_model) is theirs), None)
    if ours_cls is None:
        raise ValueError(
            "hf_model must be a transformers BertModel, BertForPreTraining or BertForSequenceClassification, "
            f"got {type(hf_model).__name__}"
        )
    if ours_cls is BertModel and getattr(hf_model, "pooler", None) is None:
        raise ValueError("hf_model must have its pooler (BertModel(config, add_pooling_layer=True))")
    config = BertConfig.from_hf(hf_model.config)
    extra = {"num_labels": hf_model.config.num_labels} if ours_cls is BertForSequenceClassification else {}
    model = ours_cls(config, **extra)
    return load_hf_state_dict(model, hf_model.state_dict()).eval()


@torch.no_grad()
def to_hf_bert(model: nn.Module, *, attn_implementation: str = "sdpa"):
    """The transformers twin of a coursekit :class:`BertModel`, :class:`BertForPreTraining` or
    :class:`BertForSequenceClassification` (same weights, same outputs to float tolerance), in
    eval mode; ``attn_implementation="eager"`` for one that returns attention weights."""
    names = hf_names(model)  # refuses other types
    hf_config = model.config.to_hf()
    if isinstance(model, BertForSequenceClassification):
        hf_config.num_labels = model.num_labels
    hf = _hf_classes()[type(model)](hf_config).eval()
    return copy_named(names, hf, attn_implementation)


@torch.no_grad()
def copy_named(names: dict[str, torch.Tensor], hf_model, attn_implementation: str = "sdpa"):
    """Copy our parameters into a transformers model by its state-dict names (``names`` as
    :func:`hf_names` gives them); set its attention implementation; returns it in eval mode."""
    hf_model.set_attn_implementation(attn_implementation)
    theirs = hf_model.state_dict()  # tensors sharing the parameters' storage
    for name, ours in names.items():
        theirs[name].copy_(ours)
    return hf_model.eval()
