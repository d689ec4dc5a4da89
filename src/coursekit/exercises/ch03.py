"""Chapter 3 exercises (attention for classification): attention pooling, sentence vectors by
folding a document, the HAN's document vector assembled from the learner's pooling, the
distances between two attention distributions, and a "predict, then run" question about
permuted attention weights.

Learner functions, as the notebook's stubs declare them::

    def my_attention_pooling(states, mask, W, b, u):   # (B, S, H), (B, S), (A, H), (A,), (A,) -> (B, H), (B, S)
    def my_sentence_vectors(word_states, word_mask):   # (B, N, L, D), (B, N, L) -> (B, N, D)
    def my_document_vector(word_states, word_mask, word_attention, sentence_rnn, sentence_attention):
        # (B, N, L, H), (B, N, L), (W_w, b_w, u_w), BiRNN, (W_s, b_s, u_s) -> (B, H)
    def my_tvd_and_jsd(p, q):                          # (B, K), (B, K) -> (B,), (B,)
    def my_permutation_prediction():                   # -> "never", "rarely" or "often"

References: :class:`coursekit.classification.AttentionPooling`,
:func:`coursekit.classification.pool` (``"mean"``), :meth:`DocumentClassifier.encode_sentences`
and :meth:`DocumentClassifier.document` (with the exercise's weights copied in),
:func:`coursekit.classification.total_variation` and :func:`coursekit.classification.js_divergence`,
:func:`coursekit.classification.permutation_experiment`. Masks: bool, True = a real word / sentence.
Legend: B batch, S steps, H/D width, A attention width, N sentences, L words, K outcomes.

By the time of these checks the notebook has imported ``torch`` and, from the
pooling solution on, ``masked_softmax``; a hint before that says how to import it.
"""

from __future__ import annotations

import functools
import math

import torch

from ..attention import masked_softmax
from ..classification import (
    AttentionPooling,
    BiRNN,
    ClassifierConfig,
    DocumentClassifier,
    js_divergence,
    permutation_experiment,
    pool,
    total_variation,
)
from .compare import same
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_attention_pooling",
    "check_sentence_vectors",
    "check_document_vector",
    "check_tvd_and_jsd",
    "check_permutation_prediction",
]


def _lengths_mask(S: int, lengths: list[int]) -> torch.Tensor:
    return torch.arange(S)[None, :] < torch.tensor(lengths)[:, None]


def _pair(got) -> bool:
    return isinstance(got, (tuple, list)) and len(got) == 2


# ----------------------------------------------------------------------------- attention pooling
def _pooling_reference(states, mask, W, b, u):
    A, H = W.shape
    with torch.random.fork_rng(devices=[]):  # building nn.Linear draws from the global RNG
        module = AttentionPooling(H, A)
    with torch.no_grad():
        module.proj.weight.copy_(W)
        module.proj.bias.copy_(b)
        module.context.copy_(u)
        return module(states, mask)


def _scores(states, W, b, u, *, tanh=True):
    projected = states @ W.T + b
    return (torch.tanh(projected) if tanh else projected) @ u  # (B, S)


def _pool_with(weigh):
    """Attention pooling whose weights are ``weigh(scores, mask)``: the weighted sum of the states."""

    def pooling(states, mask, W, b, u):
        weights = weigh(_scores(states, W, b, u), mask)
        return (weights[:, :, None] * states).sum(1), weights

    return pooling


def _pool_no_tanh(states, mask, W, b, u):
    weights = masked_softmax(_scores(states, W, b, u, tanh=False), mask)
    return (weights[:, :, None] * states).sum(1), weights


def _pool_raw_scores(states, mask, W, b, u):
    scores = _scores(states, W, b, u)
    return (scores.masked_fill(~mask, 0.0)[:, :, None] * states).sum(1), masked_softmax(scores, mask)


def _pooled_over_h(got, expected, case) -> bool:
    B, S, H = case.args[0].shape
    return _pair(got) and isinstance(got[0], torch.Tensor) and got[0].shape == (B, S) != (B, H)


def _uniform_weights(got, expected, case) -> bool:
    states, mask = case.args[:2]
    return _pair(got) and same(got, tuple(pool(states, mask, "mean")))


def _pooling_cases(g):
    def case(B, S, H, A, lengths):
        return (
            torch.randn(B, S, H, generator=g),
            _lengths_mask(S, lengths),
            torch.randn(A, H, generator=g) / H**0.5,
            torch.randn(A, generator=g) / 4,
            2 * torch.randn(A, generator=g),
        )

    return [
        Case("B=3, S=5, H=4, A=3, lengths 5, 3, 2", case(3, 5, 4, 3, [5, 3, 2])),
        Case("B=2, S=4, H=6, A=5, lengths 4, 4 (no padding)", case(2, 4, 6, 5, [4, 4])),
        Case("B=3, S=3, H=2, A=4, lengths 1, 3, 0 (the last row is a padded sentence)", case(3, 3, 2, 4, [1, 3, 0])),
    ]


_IMPORT_MASKED_SOFTMAX = "`from coursekit.attention import masked_softmax`"

check_attention_pooling = checker(Exercise(
    name="attention_pooling",
    title="attention pooling (feed-forward attention with a context vector)",
    signature="(states, mask, W, b, u)",
    reference=_pooling_reference,
    reference_name="`coursekit.classification.AttentionPooling`",
    doc="""Yang et al. 2016, Eqs. 5-7. states (B, S, H), mask (B, S) bool, W (A, H), b (A,), u (A,);
    weights (B, S) = masked_softmax(tanh(states W^T + b) u), pooled (B, H) = sum_s weights[:, s] states[:, s].""",
    cases=_pooling_cases,
    outputs=("pooled", "weights"),
    mistakes=(
        Mistake(
            what="padded steps get weight: the mask is ignored.",
            hint=f"Give the scores and the mask to a masked softmax ({_IMPORT_MASKED_SOFTMAX}, then "
            "`masked_softmax(scores, mask)`), so padding gets exactly zero weight and the real steps share all of it.",
            output=_pool_with(lambda scores, mask: torch.softmax(scores, -1)),
        ),
        Mistake(
            what="you zeroed the padded weights after a plain softmax, so the weights no longer sum to 1.",
            hint="Mask the *scores* before normalising: `masked_softmax(scores, mask)` (after "
            f"{_IMPORT_MASKED_SOFTMAX}) renormalises over the real steps.",
            output=_pool_with(lambda scores, mask: torch.softmax(scores, -1) * mask),
        ),
        Mistake(
            what="your softmax runs over the batch (dim 0): each step's weights sum to 1 across documents.",
            hint="Each sequence pools its own steps: normalise over the step dimension, `dim=-1` (size S).",
            output=_pool_with(lambda scores, mask: masked_softmax(scores, mask, dim=0)),
        ),
        Mistake(
            what="your scores are missing the tanh: u . (W h + b) is linear in h.",
            hint="HAN's Eq. 5: `u_t = tanh(W h_t + b)`, then the score is `u_t . u` (the learned context vector).",
            output=_pool_no_tanh,
        ),
        Mistake(
            what="your weights are right, but the pooled vector weighs the states by the raw scores, not by the "
            "weights.",
            hint="pooled = sum_t alpha_t h_t with the *normalised* weights: `(weights[:, :, None] * states).sum(1)`.",
            output=_pool_raw_scores,
        ),
        Mistake(
            what="a row with no real step (a padded sentence) comes out as NaN; it should pool to zeros.",
            hint="softmax over a row of -inf is 0/0 = NaN. Set the masked weights to 0 after the softmax "
            f"(`weights.masked_fill(~mask, 0.0)`), or use {_IMPORT_MASKED_SOFTMAX}, which does.",
            output=_pool_with(lambda scores, mask: torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)),
        ),
        Mistake(
            what="your pooled output has shape (B, S): you summed over the features H instead of over the steps S.",
            hint="states is (B, S, H) and weights (B, S): `weights[:, :, None] * states` is (B, S, H); sum over "
            "dim 1.",
            test=_pooled_over_h,
        ),
        Mistake(
            what="your weights are uniform over the real steps: that is mean pooling, not attention.",
            hint="Score every step with `torch.tanh(states @ W.T + b) @ u`, then take the masked softmax of the "
            "scores.",
            test=_uniform_weights,
        ),
    ),
    value_hint="scores = `torch.tanh(states @ W.T + b) @ u` (B, S); weights = the masked softmax of the scores; "
    "pooled = `(weights[:, :, None] * states).sum(1)` (B, H).",
))


# ----------------------------------------------------------------------------- sentence vectors
def _sentence_reference(word_states, word_mask):
    B, N, L, D = word_states.shape
    pooled, _ = pool(word_states.reshape(B * N, L, D), word_mask.reshape(B * N, L), "mean")  # fold: (B*N, D)
    return pooled.view(B, N, D)  # unfold


def _scrambled_fold(word_states, word_mask):
    B, N, L, D = word_states.shape
    folded = word_states.transpose(1, 2).reshape(B * N, L, D)  # (B, L, N, D) read as (B*N, L, D): mixed up
    mask = word_mask.transpose(1, 2).reshape(B * N, L)
    return pool(folded, mask, "mean")[0].view(B, N, D)


def _masked_sum(word_states, word_mask):
    return (word_states * word_mask[..., None]).sum(2)


def _over_sentences(got, expected, case) -> bool:
    B, N, L, D = case.args[0].shape
    return isinstance(got, torch.Tensor) and got.shape == (B, L, D) != (B, N, D)


def _sentence_cases(g):
    def case(lengths, D):
        lengths = torch.tensor(lengths)  # (B, N) words per sentence, 0 = a padded sentence
        B, N = lengths.shape
        L = int(lengths.max()) + 1
        return torch.randn(B, N, L, D, generator=g), torch.arange(L)[None, None, :] < lengths[..., None]

    return [
        Case("B=2, N=3, L=5, D=4: sentence lengths (4, 2, 1) and (3, 3, 0)", case([[4, 2, 1], [3, 3, 0]], 4)),
        Case("B=1, N=2, L=4, D=3: sentence lengths (3, 1)", case([[3, 1]], 3)),
        Case("B=3, N=4, L=3, D=2: some padded sentences", case([[2, 1, 0, 0], [1, 2, 2, 1], [2, 0, 0, 0]], 2)),
    ]


check_sentence_vectors = checker(Exercise(
    name="sentence_vectors",
    title="sentence vectors: fold, mean over each sentence's words, unfold",
    signature="(word_states, word_mask)",
    reference=_sentence_reference,
    reference_name="`coursekit.classification.pool(..., 'mean')` on the folded document",
    doc="""word_states (B, N, L, D), word_mask (B, N, L) bool -> (B, N, D): each sentence's mean over its
    real words; a padded sentence (no real word) gives zeros.""",
    cases=_sentence_cases,
    outputs=("sentence_vectors",),
    mistakes=(
        Mistake(
            what="you averaged over all L word slots, padding included.",
            hint="Average over the real words only: sum `word_states * word_mask[..., None]` over the words and "
            "divide by the number of real words, `word_mask.sum(-1)` (at least 1, so padded sentences give 0, "
            "not NaN).",
            output=lambda word_states, word_mask: word_states.mean(2),
        ),
        Mistake(
            what="you zeroed the padding but divided by L, the padded length, not by each sentence's real length.",
            hint="Divide by `word_mask.sum(-1, keepdim=True).clamp_min(1)`: a 2-word sentence is averaged over 2 "
            "words.",
            output=lambda word_states, word_mask: _masked_sum(word_states, word_mask) / word_states.shape[2],
        ),
        Mistake(
            what="padded sentences (no real words) come out as NaN (0/0); they should be zero vectors.",
            hint="Clamp the count: `word_mask.sum(-1, keepdim=True).clamp_min(1)`, so an empty sentence gives "
            "0/1 = 0.",
            output=lambda word_states, word_mask: _masked_sum(word_states, word_mask)
            / word_mask.sum(2, keepdim=True),
        ),
        Mistake(
            what="the folding mixed up sentences and words: you transposed before reshaping.",
            hint="(B, N, L, D) folds straight into (B*N, L, D) with `x.reshape(B * N, L, D)`: row b*N + n is "
            "sentence n of document b. Unfold with `.view(B, N, D)`. No transpose is needed.",
            output=_scrambled_fold,
        ),
        Mistake(
            what="your output is (B, L, D): you averaged over the sentences (dim 1) instead of over the words.",
            hint="A sentence vector pools its own words: reduce over the word dimension L (dim 2, or -1 of the "
            "mask).",
            test=_over_sentences,
        ),
    ),
    value_hint="Fold to (B*N, L, D), average each row over its real words (mask!), then view as (B, N, D).",
))


# ----------------------------------------------------------------------------- the HAN's document vector
def _document_reference(word_states, word_mask, word_attention, sentence_rnn, sentence_attention):
    """DocumentClassifier's own encode_sentences + document, with the exercise's weights copied in."""
    H, A = word_states.shape[-1], word_attention[0].shape[0]
    with torch.random.fork_rng(devices=[]):  # building the model draws from the global RNG
        model = DocumentClassifier(ClassifierConfig(vocab_size=2, emb_dim=H, hidden_size=H, attn_dim=A))
    with torch.no_grad():
        for layer, (W, b, u) in ((model.word_attention, word_attention), (model.sentence_attention, sentence_attention)):
            layer.proj.weight.copy_(W)
            layer.proj.bias.copy_(b)
            layer.context.copy_(u)
        model.sentence_rnn.load_state_dict(sentence_rnn.state_dict())
        document, _ = model.document(model.encode_sentences(word_states, word_mask))
    return document


def _han(word_states, word_mask, word_attention, sentence_rnn, sentence_attention, *, words="attention",
         encoder=True, all_real=False, real_lengths=True, sentence_params=None, scrambled=False):
    """The document vector, with one of the learner's plausible slips switched on."""
    B, N, L, H = word_states.shape
    if scrambled:  # (B, L, N, H) read as (B*N, L, H)
        x, m = word_states.transpose(1, 2).reshape(B * N, L, H), word_mask.transpose(1, 2).reshape(B * N, L)
    else:
        x, m = word_states.reshape(B * N, L, H), word_mask.reshape(B * N, L)
    if words == "attention":
        sentences, _ = _pooling_reference(x, m, *word_attention)
    else:
        sentences, _ = pool(x, m, "mean")
    sentences = sentences.view(B, N, H)
    real = word_mask.any(-1)  # (B, N)
    mask = torch.ones_like(real) if all_real else real
    lengths = real.sum(-1) if real_lengths else torch.full((B,), N)
    states = sentence_rnn(sentences, lengths) if encoder else sentences
    document, _ = _pooling_reference(states, mask, *(sentence_params or sentence_attention))
    return document


def _returned_more(got, expected, case) -> bool:
    return isinstance(got, (tuple, list)) and len(got) > 1 and same(got[0], expected)


def _document_cases(g):
    def case(lengths, H, A):
        lengths = torch.tensor(lengths)  # (B, N) real words per sentence; 0 = a padded sentence
        B, N = lengths.shape
        L = int(lengths.max())
        mask = torch.arange(L)[None, None, :] < lengths[..., None]  # (B, N, L)
        states = torch.randn(B, N, L, H, generator=g) * mask[..., None]  # zero at padding, as the word encoder gives

        def attention():
            return torch.randn(A, H, generator=g) / H**0.5, torch.randn(A, generator=g) / 4, 2 * torch.randn(A, generator=g)

        rnn = BiRNN(H, H)  # its weights are redrawn from g just below, so the case is the same on every call
        with torch.no_grad():
            for param in rnn.parameters():
                param.copy_(torch.randn(param.shape, generator=g) / H**0.5)
        return states, mask, attention(), rnn, attention()

    return [
        Case("B=2, N=3, L=4, H=6, A=5: sentence lengths (4, 2, 1) and (3, 3, 0)", case([[4, 2, 1], [3, 3, 0]], 6, 5)),
        Case("B=1, N=2, L=3, H=4, A=3: sentence lengths (3, 1), no padded sentence", case([[3, 1]], 4, 3)),
        Case("B=3, N=4, L=3, H=4, A=3: documents of 2, 4 and 1 sentences",
             case([[2, 1, 0, 0], [1, 2, 3, 1], [3, 0, 0, 0]], 4, 3)),
    ]


check_document_vector = checker(Exercise(
    name="document_vector",
    title="the HAN's document vector, assembled from your attention pooling",
    signature="(word_states, word_mask, word_attention, sentence_rnn, sentence_attention)",
    reference=_document_reference,
    reference_name="`coursekit.classification.DocumentClassifier` (its `encode_sentences` and `document`, "
    "with the same weights)",
    doc="""Yang et al. 2016, Eqs. 5-10. word_states (B, N, L, H) float (zero at padding), word_mask (B, N, L)
    bool, word_attention and sentence_attention = (W (A, H), b (A,), u (A,)), sentence_rnn a
    coursekit BiRNN(H, H): (x (B, N, H), lengths (B,) long) -> (B, N, H). Returns the document vector (B, H):
    word attention over each sentence (folded to (B*N, L, H)), unfold, sentence_rnn over each document's real
    sentences, sentence attention.""",
    cases=_document_cases,
    outputs=("document",),
    mistakes=(
        Mistake(
            what="the sentence level pooled with the word level's attention parameters.",
            hint="Each level has its own context vector: pool the sentence states with `*sentence_attention` "
            "(W_s, b_s, u_s); `word_attention` (W_w, b_w, u_w) is for the words only.",
            output=lambda *args: _han(*args, sentence_params=args[2]),
        ),
        Mistake(
            what="your document vector pools the sentence vectors themselves: the sentence encoder was skipped.",
            hint="Between the two poolings comes the sentence encoder: "
            "`states = sentence_rnn(sentences, lengths)`, with lengths the number of real sentences of each "
            "document; then pool `states`.",
            output=lambda *args: _han(*args, encoder=False),
        ),
        Mistake(
            what="your sentence vectors are plain means of their words: the word level is mean pooling, not "
            "attention.",
            hint="The HAN attends at both levels: pool each sentence's words with "
            "`my_attention_pooling(..., *word_attention)` on the folded (B*N, L, H) batch, not with a mean.",
            output=lambda *args: _han(*args, words="mean"),
        ),
        Mistake(
            what="padded sentences (no real word) count as real sentences at the sentence level.",
            hint="A sentence is real when it has a real word: `sentence_mask = word_mask.any(-1)` (B, N). Give "
            "`sentence_rnn` the lengths `sentence_mask.sum(-1)` and the sentence pooling that mask.",
            output=(
                lambda *args: _han(*args, all_real=True, real_lengths=False),
                lambda *args: _han(*args, all_real=True),
                lambda *args: _han(*args, real_lengths=False),
            ),
        ),
        Mistake(
            what="the folding mixed up sentences and words: you transposed before reshaping.",
            hint="(B, N, L, H) folds straight into (B*N, L, H) with `word_states.reshape(B * N, L, H)` (and the "
            "mask into (B*N, L)); unfold the pooled sentences with `.view(B, N, H)`.",
            output=lambda *args: _han(*args, scrambled=True),
        ),
        Mistake(
            what="you returned more than the document vector.",
            hint="Return only the document vector (B, H), the first output of the sentence-level pooling.",
            test=_returned_more,
        ),
    ),
    value_hint="Fold to (B*N, L, H) and pool words with `my_attention_pooling(..., *word_attention)`; unfold to "
    "(B, N, H); run `sentence_rnn(sentences, word_mask.any(-1).sum(-1))`; pool the states with "
    "`my_attention_pooling(states, word_mask.any(-1), *sentence_attention)`.",
))


# ----------------------------------------------------------------------------- TVD and JSD
def _distances_reference(p, q):
    return total_variation(p, q), js_divergence(p, q)


def _jsd_nan(p, q):
    m = (p + q) / 2
    return total_variation(p, q), 0.5 * (p * (p / m).log()).sum(-1) + 0.5 * (q * (q / m).log()).sum(-1)


def _kl_not_js(got, expected, case) -> bool:
    p, q = case.args
    if not _pair(got):
        return False
    kl = (p * (p / q).log()).sum(-1)
    return any(same(got[1], x, equal_nan=True) for x in (kl, torch.nan_to_num(kl, nan=0.0, posinf=float("inf"))))


def _distance_cases(g):
    p1, q1 = torch.softmax(torch.randn(3, 5, generator=g), -1), torch.softmax(torch.randn(3, 5, generator=g), -1)
    mask = _lengths_mask(6, [6, 4, 2, 1])  # padded attention rows: exact zeros
    p2 = masked_softmax(2 * torch.randn(4, 6, generator=g), mask)
    q2 = masked_softmax(2 * torch.randn(4, 6, generator=g), mask)
    p3, q3 = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]), torch.tensor([[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    return [
        Case("B=3, K=5, no zeros", (p1, q1)),
        Case("B=4, K=6, masked attention rows with exact zeros", (p2, q2)),
        Case("B=2, K=3: disjoint one-hots (TVD 1, JSD ln 2) and two equal rows (0, 0)", (p3, q3)),
    ]


check_tvd_and_jsd = checker(Exercise(
    name="tvd_and_jsd",
    title="total variation and Jensen-Shannon divergence",
    signature="(p, q)",
    reference=_distances_reference,
    reference_name="`coursekit.classification.total_variation` and `js_divergence`",
    doc="""p, q (B, K) distributions over the last dim (entries may be exactly 0) -> tvd (B,), jsd (B,),
    the JSD in nats (natural log).""",
    cases=_distance_cases,
    outputs=("tvd", "jsd"),
    mistakes=(
        Mistake(
            what="your total variation is twice too large: it lies in [0, 2].",
            hint="TVD(p, q) = 1/2 sum_i |p_i - q_i|, so that it lies in [0, 1] (1 = no overlap at all).",
            output=lambda p, q: ((p - q).abs().sum(-1), js_divergence(p, q)),
        ),
        Mistake(
            what="your JSD is in bits (log base 2); the reference uses natural logs (nats), so its maximum is ln 2.",
            hint="Use `torch.log` (natural log), not `torch.log2`.",
            output=lambda p, q: (total_variation(p, q), js_divergence(p, q) / math.log(2)),
        ),
        Mistake(
            what="your JSD is twice too large: you added KL(p||m) and KL(q||m) without the halves.",
            hint="JSD = 1/2 KL(p || m) + 1/2 KL(q || m), with m = (p + q) / 2.",
            output=lambda p, q: (total_variation(p, q), 2 * js_divergence(p, q)),
        ),
        Mistake(
            what="your JSD is NaN where a probability is 0: 0 * log(0 / m) = 0 * -inf = NaN.",
            hint="By convention 0 log 0 = 0: compute the terms only where p > 0, e.g. "
            "`torch.where(p > 0, p * (p / m).log(), 0.0)` (or `torch.xlogy`).",
            output=_jsd_nan,
        ),
        Mistake(
            what="your second output is KL(p || q), not the Jensen-Shannon divergence.",
            hint="JSD compares both with their average m = (p + q)/2: symmetric, finite even where q = 0, at most "
            "ln 2.",
            test=_kl_not_js,
        ),
        Mistake(
            what="your output is a single number: you summed over the batch too.",
            hint="Reduce over the last dimension only (`.sum(-1)`), so each of the B pairs gets its own distance.",
            test=lambda got, expected, case: isinstance(got, (tuple, list))
            and any(isinstance(x, torch.Tensor) and x.dim() == 0 for x in got),
        ),
    ),
    value_hint="tvd = 0.5 * |p - q|.sum(-1); m = (p + q)/2; jsd = 0.5 * KL(p||m) + 0.5 * KL(q||m), natural log, "
    "0 log 0 = 0.",
))


# ----------------------------------------------------------------------------- predict: permuted weights
RARELY = 0.10  # "rarely": fewer than this share of decisions change; "never": none does


@functools.lru_cache(maxsize=1)  # deterministic: a second check need not train again
def _measure_permutation() -> Measured:
    r = permutation_experiment()
    answer = "never" if r.changed == 0 else "rarely" if r.changed < RARELY else "often"
    return Measured(answer, (
        f"a small HAN (attention pooling at both levels, no BiLSTMs, so that it trains in a fraction of a "
        f"second) reached {r.accuracy:.0%} accuracy on {r.n_test} new documents, with {r.key_mass:.0%} of its "
        f"sentence weight on the key sentence; with its sentence weights shuffled, {r.changed:.0%} of its "
        f"decisions changed (\"rarely\" means under {RARELY:.0%})."
    ))


check_permutation_prediction = prediction_checker(Prediction(
    name="permutation_prediction",
    title="predict, then run: shuffled sentence weights",
    question="A small HAN is trained on documents like the ones above (one sentiment word, no `not`). Then each "
    "document's sentence weights are shuffled among its sentences, everything else kept. How often does its "
    "decision change?",
    choices=("never", "rarely", "often"),
    measure=_measure_permutation,
    why="Here one sentence decides the label and the model learned to put its weight there. Shuffling hands "
    "that weight to a sentence without sentiment, so the document vector loses the evidence, unless an encoder "
    "has already copied it into the other sentences' states (this small model has none). Jain and Wallace saw "
    "small output changes under permutation on many of their real tasks, but not on all of them: whether the "
    "weights matter depends on the task and the model.",
))
