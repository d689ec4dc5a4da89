"""Learning a WordPiece vocabulary from text (see :mod:`coursekit.wordpiece` for the rules).

Schuster and Nakajima, 2012, "Japanese and Korean Voice Search", ICASSP, Sec. 3.1 (grow
the inventory by the unit that most increases the training data's likelihood under a
unigram model of the units); Wu et al., 2016, arXiv:1609.08144, Sec. 4.1. Legend: a
*word* is one pre-token, a *symbol* one vocabulary id inside it while training.
"""

from __future__ import annotations

import heapq
from collections import Counter
from typing import Sequence

from ..bpe.model import _as_docs, merge_pair
from ..utils import check_choice, check_int
from .model import SPECIAL_TOKENS, WordPiece

__all__ = ["SCORES", "train_wordpiece", "word_counts"]

SCORES = ("likelihood", "frequency")


def word_counts(docs: Sequence[str], *, lowercase: bool = True) -> Counter:
    """How often each word (pre-token after BERT's normaliser) occurs in ``docs``."""
    probe = WordPiece(list(SPECIAL_TOKENS), lowercase=lowercase)
    counts: Counter = Counter()
    for doc in docs:
        counts.update(probe.words(doc))
    return counts


def train_wordpiece(
    text_or_docs: str | Sequence[str],
    vocab_size: int,
    *,
    score: str = "frequency",
    min_frequency: int = 2,
    lowercase: bool = True,
) -> WordPiece:
    """Learn a WordPiece vocabulary of ``vocab_size`` tokens from documents.

    Start: BERT's five special tokens, every character seen (by code point), and
    ``##c`` for every character seen inside a word. Each word is split into its
    characters (``play`` -> ``p ##l ##a ##y``). Then repeatedly merge the adjacent pair
    ``(a, b)`` with the best score into the new symbol ``a`` + ``b`` without its ``##``:

    * ``score="likelihood"``: ``count(ab) / (count(a) * count(b))``, counts over the
      corpus as currently segmented. Merging ``a b`` raises a unigram model's
      log-likelihood by about ``count(ab) * log(N count(ab) / (count(a) count(b)))``;
      this ratio is the per-merge form Hugging Face's course gives for WordPiece
      (Google never released its trainer). It prefers pairs whose parts seldom occur
      apart, so rare whole words join before frequent pieces: at a few thousand tokens
      common words stay in pieces (``return`` -> ``r ##e ##t ##u ##r ##n`` on the
      course's corpus at 3,000), which is why the chapter's model uses frequency.
    * ``score="frequency"`` (the default): ``count(ab)``: byte-pair encoding with ``##`` prefixes,
      which is exactly what the tokenizers library's ``WordPieceTrainer`` runs (it
      wraps its BPE trainer with ``continuing_subword_prefix="##"``).

    Ties go to the pair with the smaller ids (left, then right). Merging stops when
    no pair occurs ``min_frequency`` times (at least once). The result is a
    :class:`WordPiece` that encodes greedily, longest match first, like any BERT
    vocabulary; its ``merges`` attribute lists ``(a, b, score)`` in the order learned.
    """
    check_choice("score", score, SCORES)
    docs = _as_docs(text_or_docs)
    counts = word_counts(docs, lowercase=lowercase)
    alphabet = sorted({c for w in counts for c in w})
    inner = sorted({c for w in counts for c in w[1:]})
    strings = [*SPECIAL_TOKENS, *alphabet, *("##" + c for c in inner)]
    check_int("vocab_size", vocab_size, min=len(strings))
    check_int("min_frequency", min_frequency, min=0)
    ids = {s: i for i, s in enumerate(strings)}
    words = [[ids[w[0]], *(ids["##" + c] for c in w[1:])] for w in counts]
    freqs = list(counts.values())
    merges = _merge_loop(words, freqs, strings, ids, vocab_size, max(1, min_frequency), score == "likelihood")
    wp = WordPiece(strings, lowercase=lowercase)
    wp.merges = merges
    return wp


def _merge_loop(words: list[list[int]], freqs: list[int], strings: list[str], ids: dict[str, int],
                vocab_size: int, min_count: int, likelihood: bool) -> list[tuple[str, str, float]]:
    """Merge until ``vocab_size`` strings or no pair is frequent enough; ``words`` and
    ``strings`` change in place. Pair counts change only in the words holding the merged
    pair (as :func:`coursekit.bpe.train_bpe`); with the likelihood score, a symbol's count
    changing also changes every pair it is in, so those pairs are pushed again. The heap
    holds (-score, pair); an entry whose score is no longer the pair's is stale."""
    pair_counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    sym_counts: dict[int, int] = {}
    pairs_of: dict[int, set[tuple[int, int]]] = {}

    def tally(w: list[int], f: int, wi: int, syms: dict, pairs: dict) -> None:
        """Add word ``wi``'s symbols and adjacent pairs, ``f`` times each, to the counts;
        when adding (f > 0), note where each pair occurs and which pairs hold each symbol."""
        for s in w:
            syms[s] = syms.get(s, 0) + f
        for p in zip(w, w[1:]):
            pairs[p] = pairs.get(p, 0) + f
            if f > 0:
                where.setdefault(p, set()).add(wi)
                pairs_of.setdefault(p[0], set()).add(p)
                pairs_of.setdefault(p[1], set()).add(p)

    for wi, (w, f) in enumerate(zip(words, freqs)):
        tally(w, f, wi, sym_counts, pair_counts)

    def scored(p: tuple[int, int]) -> float:
        c = pair_counts.get(p, 0)
        return c / (sym_counts[p[0]] * sym_counts[p[1]]) if likelihood and c else float(c)

    heap = [(-scored(p), p) for p in pair_counts]
    heapq.heapify(heap)
    merges: list[tuple[str, str, float]] = []
    while len(ids) < vocab_size and heap:
        neg, pair = heapq.heappop(heap)
        now = scored(pair)
        if now != -neg:  # stale
            if pair_counts.get(pair, 0) > 0:
                heapq.heappush(heap, (-now, pair))
            continue
        if pair_counts.get(pair, 0) < min_count:
            if likelihood:  # a rare pair can score high: skip it, others may still qualify
                continue
            break
        a, b = strings[pair[0]], strings[pair[1]]
        new_string = a + (b[2:] if b.startswith("##") else b)
        new = ids.get(new_string)
        if new is None:  # two merges can make the same string: one token, as in tokenizers
            new = ids[new_string] = len(strings)
            strings.append(new_string)
        merges.append((a, b, now))
        pair_delta: dict[tuple[int, int], int] = {}
        sym_delta: dict[int, int] = {}
        for wi in where.pop(pair):
            w, f = words[wi], freqs[wi]
            merged = merge_pair(w, pair, new)
            if len(merged) == len(w):
                continue
            tally(w, -f, wi, sym_delta, pair_delta)
            words[wi] = merged
            tally(merged, f, wi, sym_delta, pair_delta)
        pair_counts.pop(pair, None)
        touched = set()
        for p, d in pair_delta.items():
            if p == pair or d == 0:
                continue
            pair_counts[p] = pair_counts.get(p, 0) + d
            if d > 0 or likelihood:
                touched.add(p)
        if likelihood:
            for s, d in sym_delta.items():
                if d:
                    sym_counts[s] = sym_counts.get(s, 0) + d
                    touched.update(pairs_of.get(s, ()))
        for p in touched:
            if pair_counts.get(p, 0) > 0:
                heapq.heappush(heap, (-scored(p), p))
    return merges
