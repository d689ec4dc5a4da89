"""Chapter 11's measurements in one call each: the head patterns and syntax heads of a BERT on the
silver and the grammar sentences, and the attention-versus-gradient comparison.

Clark, Khandelwal, Levy & Manning (2019), *What Does BERT Look At?*,
https://arxiv.org/abs/1906.04341 (Sec. 3: patterns and gradients; Sec. 4: syntax, Table 1).

Legend: L layers, A heads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..utils import check_int
from .limits import attention_gradients, importance_by_kind, mlm_objective, sentence_objective
from .parses import grammar_parses, silver_parses
from .patterns import HeadPatterns, head_patterns
from .source import AnalysisModel
from .syntax import RelationResult, syntax_heads
from .words import SentenceAttention, sentence_attentions

__all__ = ["HeadAnalysis", "analyse_heads", "GradientComparison", "sep_gradients"]


@dataclass(frozen=True)
class HeadAnalysis:
    """``name``/``source`` of the model read; ``silver`` and ``grammar``: each sentence's
    attention (:class:`SentenceAttention`); ``patterns`` (:class:`HeadPatterns` on the silver
    sentences); ``silver_syntax`` and ``grammar_syntax``: held-out syntax heads per relation
    (:func:`syntax_heads`); ``seconds`` of the whole call."""

    name: str
    source: str
    silver: list[SentenceAttention]
    grammar: list[SentenceAttention]
    patterns: HeadPatterns
    silver_syntax: list[RelationResult]
    grammar_syntax: list[RelationResult]
    seconds: float


def analyse_heads(am: AnalysisModel, *, n_silver: int | None = None, n_grammar: int = 200, seed: int = 0,
                  min_arcs: int = 10) -> HeadAnalysis:
    """Run ``am.model`` over the silver sentences (all 300, or the first ``n_silver``) and
    ``n_grammar`` grammar sentences; measure every head's patterns and the syntax heads, chosen on
    one half of the sentences and scored on the other (``seed`` picks the halves)."""
    check_int("n_grammar", n_grammar, min=2)
    if n_silver is not None:
        check_int("n_silver", n_silver, min=2)
    t = time.perf_counter()
    silver = sentence_attentions(am.model, am.tokenizer, silver_parses()[:n_silver])
    grammar = sentence_attentions(am.model, am.tokenizer, grammar_parses(n_grammar, seed))
    return HeadAnalysis(am.name, am.source, silver, grammar, head_patterns(silver),
                        syntax_heads(silver, seed=seed, min_arcs=min_arcs),
                        syntax_heads(grammar, seed=seed, min_arcs=min_arcs), time.perf_counter() - t)


@dataclass(frozen=True)
class GradientComparison:
    """Per layer (each (L,)), for keys that are ``[SEP]``, ``[CLS]``, punctuation or other tokens:
    ``attention`` (mean weight) and ``gradient`` (mean |dL/d weight|), dicts keyed by kind;
    ``mass``, the mean attention mass per query; ``objective`` in words; ``seconds``."""

    attention: dict
    gradient: dict
    mass: dict
    objective: str
    seconds: float


def sep_gradients(am: AnalysisModel, *, n: int = 48, seed: int = 0) -> GradientComparison:
    """Clark et al.'s Sec. 3.2 measurement on the first ``n`` silver sentences: the masked-LM loss
    (:func:`mlm_objective`) where the model has a masked-LM head, else the sentence-vector loss
    (:func:`sentence_objective`); see :mod:`.limits` for exactly what is computed."""
    check_int("n", n, min=1)
    t = time.perf_counter()
    if am.has_mlm:
        objective, words = mlm_objective(am.model), "masked-LM cross-entropy (Clark et al.'s loss)"
    else:
        objective = sentence_objective(am.model)
        words = "1 - cos(sentence vector of the masked input, of the unmasked input) (no masked-LM head)"
    run = attention_gradients(objective, am.tokenizer, [p.words for p in silver_parses()[:n]], seed=seed)
    imp = importance_by_kind(run)
    kinds = ("sep", "cls", "punct", "other")
    return GradientComparison({k: imp[f"attention_{k}"] for k in kinds}, {k: imp[f"gradient_{k}"] for k in kinds},
                              {k: imp[f"mass_{k}"] for k in kinds}, words, time.perf_counter() - t)
