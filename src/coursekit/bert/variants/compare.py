"""Each variant's difference from BERT, computed from the configs and the built modules (for the
table Chapter 10 prints), and one entry point for weights to and from transformers.

A row compares the variant's default (tiny) config and model with BERT's: the config fields
whose values differ or that BERT lacks, the behaviour hooks (``has_pooler``,
``sentence_head``, ``distinct_sublayers``), and the module trees: a module replaced (same
place, another class), added, removed, or shared (one module at several places).

Papers: Liu et al. (2019), https://arxiv.org/abs/1907.11692 (RoBERTa); Lan et al. (2020),
https://arxiv.org/abs/1909.11942 (ALBERT); Sanh et al. (2019), https://arxiv.org/abs/1910.01108
(DistilBERT).

Legend: L num_hidden_layers, E embedding_size, H hidden_size.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

from torch import nn

from ..config import BertConfig
from ..model import BertModel
from ..sizes import count_parameters
from .albert import AlbertConfig, AlbertForPreTraining, AlbertModel, from_hf_albert, to_hf_albert
from .distilbert import DistilBertConfig, DistilBertModel, from_hf_distilbert, to_hf_distilbert
from .roberta import RobertaConfig, RobertaModel, from_hf_roberta, to_hf_roberta

__all__ = ["Variant", "VARIANTS", "variant_differences", "to_hf_variant", "from_hf_variant"]


@dataclass(frozen=True)
class Variant:
    """One member of the family: its config and model classes, its paper, what it is for."""

    name: str
    config: type
    model: type
    paper: str
    change: str


VARIANTS: dict[str, Variant] = {
    "RoBERTa": Variant("RoBERTa", RobertaConfig, RobertaModel, "Liu et al. 2019",
                       "same model, trained longer on more data with dynamic masking and no NSP; positions after the pad id"),
    "ALBERT": Variant("ALBERT", AlbertConfig, AlbertModel, "Lan et al. 2020",
                      "factorised embedding E < H, layers sharing parameters, sentence-order prediction"),
    "DistilBERT": Variant("DistilBERT", DistilBertConfig, DistilBertModel, "Sanh et al. 2019",
                          "half the layers, no segments, no pooler, distilled from BERT"),
}

_HOOKS = ("has_pooler", "sentence_head", "distinct_sublayers")


def _hooks(config: BertConfig) -> dict:
    return {"has_pooler": config.has_pooler, "sentence_head": config.sentence_head,
            "distinct_sublayers": config.distinct_sublayers()}


def _modules(model: nn.Module) -> dict[str, nn.Module]:
    return dict(model.named_modules(remove_duplicate=False))


def _shared(model: nn.Module) -> list[str]:
    """'a is b' for each module reachable under a second name b (its parents not themselves aliases)."""
    first: dict[int, str] = {}
    aliases: dict[str, str] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        if id(module) in first:
            aliases[name] = first[id(module)]
        else:
            first[id(module)] = name
    return [f"{name} is {target}" for name, target in aliases.items() if name.rpartition(".")[0] not in aliases]


def _top(names: list[str]) -> list[str]:
    """Only the outermost of nested module names."""
    return [n for n in names if not any(n.startswith(m + ".") for m in names if m != n)]


def variant_differences() -> list[dict]:
    """One row per :data:`VARIANTS` member, its default (tiny) config and model against
    ``BertConfig()`` and ``BertModel``: ``model``, ``paper``, ``change``; ``config``
    {field: (BERT's value, the variant's)} for every field that differs (BERT's value None when
    BERT has no such field) and every behaviour hook that differs (``has_pooler``,
    ``sentence_head``; ``distinct_sublayers`` when layers share); ``replaced``
    ["place: BertClass -> VariantClass"], ``added`` and ``removed`` [module place], ``shared``
    ["place is other place"]; ``parameters`` (BERT's count, the variant's)."""
    bert = BertConfig()
    base_model = _modules(BertModel(bert))
    rows = []
    for v in VARIANTS.values():
        config = v.config()
        diff = {f.name: (getattr(bert, f.name, None), getattr(config, f.name)) for f in fields(config)
                if not hasattr(bert, f.name) or getattr(bert, f.name) != getattr(config, f.name)}
        mine, theirs = _hooks(config), _hooks(bert)
        theirs["distinct_sublayers"] = (config.num_hidden_layers,) * 2  # sharing, not the layer count
        diff.update({k: (_hooks(bert)[k], mine[k]) for k in _HOOKS if mine[k] != theirs[k]})
        ours = _modules(v.model(config))
        replaced, added, removed = [], [], []
        for name in sorted((set(base_model) | set(ours)) - {""}):  # "" is the model itself
            a, b = base_model.get(name), ours.get(name)
            a = None if isinstance(a, nn.Identity) else a
            b = None if isinstance(b, nn.Identity) else b
            if a is None and b is not None:
                added.append(name)
            elif b is None and a is not None:
                removed.append(name)
            elif a is not None and type(a) is not type(b):
                replaced.append(f"{name}: {type(a).__name__} -> {type(b).__name__}")
        rows.append({
            "model": v.name, "paper": v.paper, "change": v.change, "config": diff, "replaced": replaced,
            "added": _top(added), "removed": _top(removed), "shared": _shared(v.model(config)),
            "parameters": (count_parameters(bert), count_parameters(config)),
        })
    return rows


_TO_HF: dict[type, Callable] = {RobertaModel: to_hf_roberta, AlbertModel: to_hf_albert,
                                AlbertForPreTraining: to_hf_albert, DistilBertModel: to_hf_distilbert}


def to_hf_variant(model: nn.Module, *, attn_implementation: str = "sdpa"):
    """The transformers twin (same weights, eval mode) of a coursekit RobertaModel, AlbertModel,
    AlbertForPreTraining or DistilBertModel."""
    fn = _TO_HF.get(type(model))
    if fn is None:
        raise ValueError(
            f"model must be a coursekit RobertaModel, AlbertModel, AlbertForPreTraining or DistilBertModel, got {type(model).__name__}"
        )
    return fn(model, attn_implementation=attn_implementation)


def from_hf_variant(hf_model) -> nn.Module:
    """The coursekit twin of a transformers RobertaModel, AlbertModel, AlbertForPreTraining or
    DistilBertModel (chosen by its class name; transformers imported by the converter only)."""
    name = type(hf_model).__name__
    fn = {"RobertaModel": from_hf_roberta, "AlbertModel": from_hf_albert, "AlbertForPreTraining": from_hf_albert,
          "DistilBertModel": from_hf_distilbert}.get(name)
    if fn is None:
        raise ValueError(f"hf_model must be a transformers RobertaModel, AlbertModel, AlbertForPreTraining or DistilBertModel, got {name}")
    return fn(hf_model)
