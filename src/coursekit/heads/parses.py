"""Sentences whose syntax is known, for asking whether attention heads track it (Chapter 11).

Two sources, each a tuple of :class:`Parse` (words, the index of each word's head, the relation
to it, a part-of-speech tag):

- :func:`silver_parses`: a few hundred real English sentences (prose from coursekit's frozen
  docstring corpus) with dependency parses made once, at development time, by spaCy's small
  English model (``en_core_web_sm`` 3.8.0; ``scripts/make_parses.py`` says how it was run and
  ``--check`` verifies the file). These parses are SILVER, not gold: a parser's output with its
  errors (the model's own labelled attachment score on its test set is about 0.9), not a
  treebank's hand annotation. Labels are spaCy's ClearNLP-style dependencies (``nsubj``,
  ``dobj``, ``det``, ``amod``, ``prep``, ``pobj``, ``aux``, ...), close to the Stanford
  Dependencies of Clark et al. (2019), who used the Penn Treebank's WSJ section. Licences: the
  sentences are CPython's docstrings (PSF License); the parser is MIT.
- :func:`grammar_parses`: sentences of the course's translation grammar
  (:mod:`coursekit.translation`, Chapters 2 and 5) with GOLD dependencies by construction: the
  generator knows every phrase it builds, so each word's head is known exactly.

Clark, Khandelwal, Levy & Manning (2019), *What Does BERT Look At? An Analysis of BERT's
Attention*, https://arxiv.org/abs/1906.04341, Sec. 4 (dependency syntax).

Legend: W words in a sentence.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..data import _lengths
from ..translation import (_NP_EXTRA, _PP, _VP, _Generator, _render_source_np, _render_source_vp,
                           _shapes, translation_lengths)
from ..utils import check_int, check_positive

__all__ = ["ROOT", "Parse", "silver_parses", "silver_info", "grammar_parses", "GRAMMAR_RELATIONS"]

ROOT = -1  # the head index of a sentence's root word
_SILVER = "silver_parses.json"
GRAMMAR_RELATIONS = ("det", "amod", "nsubj", "dobj", "prep", "pobj", "aux", "neg", "relcl", "ROOT")


@dataclass(frozen=True)
class Parse:
    """One dependency-parsed sentence: ``words`` (W,), ``heads`` (W,) the 0-based index of each
    word's head (:data:`ROOT` = -1 for the root), ``relations`` (W,) the label of the arc to the
    head (``"ROOT"`` for the root), ``pos`` (W,) Penn Treebank tags. Validated: one root, a tree."""

    words: tuple[str, ...]
    heads: tuple[int, ...]
    relations: tuple[str, ...]
    pos: tuple[str, ...]

    def __post_init__(self):
        W = len(self.words)
        if W == 0:
            raise ValueError("words must hold at least one word, got none")
        for name in ("heads", "relations", "pos"):
            if len(getattr(self, name)) != W:
                raise ValueError(f"{name} must have one entry per word ({W}), got {len(getattr(self, name))}")
        if sum(h == ROOT for h in self.heads) != 1:
            raise ValueError(f"heads must hold exactly one root ({ROOT}), got {list(self.heads)}")
        for j, h in enumerate(self.heads):
            if not isinstance(h, int) or not ROOT <= h < W or h == j:
                raise ValueError(f"heads[{j}] must be -1 or another word's index in 0..{W - 1}, got {h!r}")
        for j in range(W):
            seen, k = set(), j
            while k != ROOT and k not in seen:
                seen.add(k)
                k = self.heads[k]
            if k != ROOT:
                raise ValueError(f"heads must form a tree, got a cycle through word {j}: {list(self.heads)}")

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def arcs(self, relation: str | None = None) -> list[tuple[int, int, str]]:
        """(dependent, head, relation) for every word but the root, or only ``relation``'s."""
        return [(d, h, r) for d, (h, r) in enumerate(zip(self.heads, self.relations))
                if h != ROOT and (relation is None or r == relation)]


@lru_cache(maxsize=1)
def _silver() -> dict:
    return json.loads(resources.files("coursekit").joinpath("corpora", _SILVER).read_text("utf-8"))


def silver_info() -> dict:
    """The silver file's description: ``about``, ``licence``, ``parser`` (spaCy and model versions),
    ``selection`` (how the sentences were chosen)."""
    return {k: v for k, v in _silver().items() if k != "sentences"}


@lru_cache(maxsize=1)
def silver_parses() -> tuple[Parse, ...]:
    """The shipped SILVER parses (spaCy ``en_core_web_sm`` 3.8.0 on 300 docstring sentences; see
    the module docstring), in file order. Cached: the same tuple on every call."""
    return tuple(Parse(tuple(s["words"]), tuple(s["heads"]), tuple(s["relations"]), tuple(s["pos"]))
                 for s in _silver()["sentences"])


# ------------------------------------------------------------------ gold parses of the grammar
def _noun_tag(np) -> str:
    return "NNS" if np.plural else "NN"


def _np_arcs(np, arcs: dict) -> None:
    """Arcs inside a rendered noun phrase (its noun's own arc is set by the caller)."""
    if np.i_det is not None:
        arcs[np.i_det] = (np.i_noun, "det", "DT")
    for i in np.i_adjs:
        arcs[i] = (np.i_noun, "amod", "JJ")
    if isinstance(np.mod, _PP):
        arcs[np.mod.i_prep] = (np.i_noun, "prep", "IN")
        inner = np.mod.np
        arcs[inner.i_noun] = (np.mod.i_prep, "pobj", _noun_tag(inner))
        _np_arcs(inner, arcs)
    elif isinstance(np.mod, _VP):
        rc = np.mod
        arcs[rc.i_verb] = (np.i_noun, "relcl", _verb_tag(rc, np.plural))
        arcs[rc.i_rel] = (rc.i_verb, "nsubj", "WDT")  # "that" is the relative clause's subject
        _vp_arcs(rc, np.plural, arcs)


def _verb_tag(vp, plural: bool) -> str:
    if vp.neg:
        return "VB"
    return "VBD" if vp.past else ("VBP" if plural else "VBZ")


def _vp_arcs(vp, plural: bool, arcs: dict) -> None:
    if vp.neg:
        arcs[vp.i_not - 1] = (vp.i_verb, "aux", "VBD" if vp.past else ("VBP" if plural else "VBZ"))
        arcs[vp.i_not] = (vp.i_verb, "neg", "RB")
    if vp.obj is not None:
        arcs[vp.obj.i_noun] = (vp.i_verb, "dobj", _noun_tag(vp.obj))
        _np_arcs(vp.obj, arcs)


def grammar_parses(n: int = 200, seed: int = 0, lengths: tuple[int, int] = (4, 14)) -> tuple[Parse, ...]:
    """``n`` sentences of the translation grammar (:mod:`coursekit.translation`, every option on)
    with GOLD dependencies by construction, in spaCy's labels: ``det``, ``amod`` (adjective ->
    noun), ``nsubj`` (subject noun -> verb; "that" -> its relative clause's verb), ``dobj``,
    ``prep`` (preposition -> the noun it modifies), ``pobj`` (noun -> preposition), ``aux`` and
    ``neg`` ("does", "not" -> the verb), ``relcl`` (relative clause's verb -> the noun), and the
    main verb as ``ROOT``. ``lengths``: (lo, hi) words, inclusive, within
    :func:`coursekit.translation.translation_lengths`. A pure function of its arguments."""
    check_positive("n", n)
    check_int("seed", seed)
    lo_ok, hi_ok = translation_lengths()
    if (not isinstance(lengths, tuple) or len(lengths) != 2 or not all(isinstance(x, int) for x in lengths)
            or not lo_ok <= lengths[0] <= lengths[1] <= hi_ok):
        raise ValueError(f"lengths must be (lo, hi) ints with {lo_ok} <= lo <= hi <= {hi_ok}, got {lengths!r}")
    rng = random.Random(seed)
    shapes = _shapes(True, True)
    gen = _Generator(rng, past_tense=True, ambiguous=True)
    out = []
    for length in _lengths(lengths, n, rng):
        fits = [s for s in shapes if s.fixed + s.nps <= length <= s.fixed + s.nps * (1 + _NP_EXTRA)]
        subj, vp = gen.sentence(rng.choices(fits, [s.weight for s in fits])[0], length)
        words: list[str] = []
        _render_source_np(subj, words)
        _render_source_vp(vp, subj.plural, words)
        arcs = {vp.i_verb: (ROOT, "ROOT", _verb_tag(vp, subj.plural)),
                subj.i_noun: (vp.i_verb, "nsubj", _noun_tag(subj))}
        _np_arcs(subj, arcs)
        _vp_arcs(vp, subj.plural, arcs)
        assert len(arcs) == len(words), (words, arcs)  # every word got its head
        heads, rels, pos = zip(*(arcs[i] for i in range(len(words))))
        out.append(Parse(tuple(words), heads, rels, pos))
    return tuple(out)

