"""What does BERT look at? Measuring attention heads (Chapter 11).

Clark, Khandelwal, Levy & Manning (2019), *What Does BERT Look At? An Analysis of BERT's
Attention*, https://arxiv.org/abs/1906.04341; Htut, Phang, Bordia & Bowman (2019), *Do
Attention Heads in BERT Track Syntactic Dependencies?*, https://arxiv.org/abs/1911.12246; Abnar &
Zuidema (2020), *Quantifying Attention Flow in Transformers*, https://arxiv.org/abs/2005.00928.

- :mod:`.parses`: sentences with known syntax: SILVER parses of real sentences shipped with the
  package (:func:`silver_parses`) and GOLD parses of the course's grammar (:func:`grammar_parses`).
- :mod:`.words`: word-level attention from WordPiece attention (Clark et al. Sec. 4.1) and
  running a BERT over parsed sentences (:func:`sentence_attentions`).
- :mod:`.patterns`: per-head surface measures (Sec. 3): attention to [CLS], [SEP],
  punctuation, the previous/next token, entropy (:func:`head_patterns`).
- :mod:`.syntax`: each head as a dependency classifier against the best fixed offset, chosen on
  one half of the sentences and scored on the other (:func:`syntax_heads`).
- :mod:`.limits`: gradient of the loss with respect to attention weights (Sec. 3.2) and
  attention rollout and flow (Abnar & Zuidema 2020).
- :mod:`.source`: which BERT is read (:func:`analysis_model`).
- :mod:`.experiments`: the chapter's measurements in one call (:func:`analyse_heads`,
  :func:`sep_gradients`).

Legend: L layers, A heads, T tokens, W words.
"""

from .experiments import GradientComparison, HeadAnalysis, analyse_heads, sep_gradients
from .limits import (KINDS, GradientRun, attention_flow, attention_gradients, attention_rollout, importance_by_kind, masked_batch,
                     mlm_objective, sentence_objective)
from .parses import GRAMMAR_RELATIONS, ROOT, Parse, grammar_parses, silver_info, silver_parses
from .patterns import PATTERNS, HeadPatterns, head_patterns, key_kinds
from .source import AnalysisModel, analysis_model
from .syntax import (CLARK_TABLE1, DIRECTIONS, SPACY_TO_STANFORD, compare_with_clark, head_predictions, ArcTable, RelationResult, arc_table, offset_accuracy, split_halves,
                     syntax_heads)
from .words import EncodedSentence, SentenceAttention, encode_words, sentence_attentions, word_attention

__all__ = [
    "ROOT", "Parse", "silver_parses", "silver_info", "grammar_parses", "GRAMMAR_RELATIONS",
    "EncodedSentence", "encode_words", "word_attention", "SentenceAttention", "sentence_attentions",
    "PATTERNS", "HeadPatterns", "key_kinds", "head_patterns",
    "DIRECTIONS", "ArcTable", "arc_table", "split_halves", "offset_accuracy", "RelationResult", "syntax_heads",
    "CLARK_TABLE1", "SPACY_TO_STANFORD", "compare_with_clark", "head_predictions",
    "KINDS", "GradientRun", "masked_batch", "mlm_objective", "sentence_objective", "attention_gradients",
    "importance_by_kind", "attention_rollout", "attention_flow",
    "AnalysisModel", "analysis_model",
    "HeadAnalysis", "analyse_heads", "GradientComparison", "sep_gradients",
]
