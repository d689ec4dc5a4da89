"""Which BERT Chapter 11 reads: all-MiniLM-L6-v2's real weights when available (the optional
extra, a local directory, or the hub), else Chapter 9's tiny BERT pretrained on the spot; the
result says which one ran.

Wang et al. (2020), *MiniLM*, https://arxiv.org/abs/2002.10957 (see
:mod:`coursekit.bert.pretrained`); Devlin et al. (2019), *BERT*, https://arxiv.org/abs/1810.04805
(the tiny model, :mod:`coursekit.bert.experiments.pretrain`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from torch import nn

from ..utils import check_bool, check_int

__all__ = ["AnalysisModel", "analysis_model"]


@dataclass(frozen=True)
class AnalysisModel:
    """``model`` (a :class:`~coursekit.bert.BertModel` for MiniLM, a
    :class:`~coursekit.bert.BertForPreTraining` for the tiny BERT; eval mode), its ``tokenizer``
    (:class:`~coursekit.wordpiece.WordPiece`), ``source`` (in words, for the notebook to print),
    ``name`` ("all-MiniLM-L6-v2" or "tiny BERT (Chapter 9)") and ``has_mlm`` (whether a masked-LM
    head is there, for :func:`~coursekit.heads.mlm_objective`)."""

    model: nn.Module
    tokenizer: object
    source: str
    name: str
    has_mlm: bool


def analysis_model(path: str | os.PathLike | None = None, *, allow_download: bool = True, fallback: bool = True,
                   fallback_steps: int = 800, seed: int = 0) -> AnalysisModel:
    """all-MiniLM-L6-v2 (:func:`coursekit.bert.load_minilm`, sources tried in its order); when it is
    found nowhere and ``fallback``, Chapter 9's tiny BERT (2 layers, 4 heads) pretrained with the
    masked-LM objective for ``fallback_steps`` steps (about a minute on a CPU at 800); otherwise
    the FileNotFoundError naming every source tried."""
    check_bool("fallback", fallback)
    check_int("fallback_steps", fallback_steps, min=1)
    from ..bert.pretrained import load_minilm
    from ..wordpiece import WordPiece

    try:
        pre = load_minilm(path, allow_download=allow_download)
        return AnalysisModel(pre.model.eval(), WordPiece.load(pre.vocab_path), pre.source, "all-MiniLM-L6-v2", False)
    except FileNotFoundError as error:
        if not fallback:
            raise
        why = str(error)
    from ..bert.experiments.pretrain import corpus_wordpiece, pretrain_tiny_bert, tiny_config

    wp = corpus_wordpiece()
    run = pretrain_tiny_bert(tiny_config(wp), tokenizer=wp, steps=fallback_steps, seed=seed, progress=False)
    return AnalysisModel(run.model.eval(), wp, f"tiny BERT pretrained here for {fallback_steps} steps ({why})",
                         "tiny BERT (Chapter 9)", True)
