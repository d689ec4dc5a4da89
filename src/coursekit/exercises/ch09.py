"""Chapter 9 exercises (BERT): the masked-LM corruption (15%, 80/10/10), the next sentence
prediction loss (and its ``ignore_index=0`` trap), BERT's input embeddings, mean pooling over
real tokens, a Sentence-BERT similarity assembled from the learner's mean pooling, and a
"predict, then run" question on the share of BERT-base's parameters in its embeddings.

Learner functions, as the notebook's stubs declare them::

    def my_mask_tokens(input_ids, special_ids, mask_id, vocab_size, seed)
        # (B, T) long, list of ints, int, int, int -> (corrupted ids (B, T), labels (B, T)), both long
    def my_nsp_loss(logits, labels)                          # (B, 2) float, (B,) long -> scalar
    def my_bert_embeddings(word, position, segment, ids, segments)
        # (V, H), (P, H), (2, H) float, (B, T) long, (B, T) long -> (B, T, H)
    def my_mean_pool(hidden, mask)                           # (B, T, H) float, (B, T) bool -> (B, H)
    def my_sentence_similarity(model, ids_a, mask_a, ids_b, mask_b)
        # BertModel, (B, Ta) long, (B, Ta) bool, (B, Tb) long, (B, Tb) bool -> (B,) cosines
    def my_embedding_share_prediction()                      # -> one of the choices below

References: :func:`coursekit.pretraining.mask_tokens` (Devlin et al. 2019, Sec. 3.1 and
Appendix A.1), :func:`coursekit.bert.nsp_loss`, :class:`coursekit.bert.BertEmbeddings` (Sec. 3.2,
Fig. 2), :func:`coursekit.bert.mean_pool` (Reimers & Gurevych 2019, Sec. 3) and the prediction is
measured by :func:`coursekit.bert.sizes.parameter_breakdown`.

``my_mask_tokens`` draws random numbers, so its check is statistical: the learner's output
and coursekit's (each from its own ``torch.Generator().manual_seed(seed)``) are summarised
(which tokens were chosen, how the chosen ones were replaced, what the labels hold), and the
summaries must agree, shares within a few standard deviations of 15% and 80/10/10.

Legend: B batch, T length, V vocabulary, P positions, H width. Masks: bool, True = real token.
By the time of these checks the notebook has imported ``torch`` and ``torch.nn.functional as F``.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..bert.config import BertConfig
from ..bert.model import BertEmbeddings, BertModel, mean_pool, nsp_loss
from ..bert.sizes import bert_base, parameter_breakdown
from ..pretraining import mask_tokens
from .feedback import kind
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_mask_tokens",
    "check_nsp_loss",
    "check_bert_embeddings",
    "check_mean_pool",
    "check_sentence_similarity",
    "check_embedding_share_prediction",
]


# ----------------------------------------------------------------------------- masking (statistical)
MASK_SHARES = dict(chosen=(0.15, 0.02), mask=(0.8, 0.05), random=(0.1, 0.04), kept=(0.1, 0.04))
"""Target share and tolerance of each statistic: with about 2,000 chosen tokens per case the
tolerances are four or more standard deviations, so a correct answer fails about never."""


def _share(x: float, which: str) -> str:
    target, tol = MASK_SHARES[which]
    return f"about {target:.0%}" if abs(x - target) <= tol else f"{x:.1%}"


def masking_summary(args: tuple, out: Any) -> dict[str, Any]:
    """What the check compares for ``my_mask_tokens``: ``out`` (corrupted ids, labels) for the
    call ``args`` = (input_ids, special_ids, mask_id, vocab_size, seed), summarised."""
    ids, special_ids, mask_id = args[0], args[1], args[2]
    if not (isinstance(out, (tuple, list)) and len(out) == 2
            and all(isinstance(t, torch.Tensor) and t.shape == ids.shape for t in out)):
        return {"output": f"{kind(out)}, not a pair (corrupted ids, labels) of {tuple(ids.shape)} tensors"}
    new, labels = (t.detach().cpu().long() for t in out)
    special = torch.zeros_like(ids, dtype=torch.bool)
    for s in special_ids:
        special |= ids == s
    if (labels == ids).all():
        label_kind = "the original id at every position"
    elif (labels == -100).all():
        label_kind = "-100 everywhere"
    elif (labels == 0).float().mean() > 0.5:
        label_kind = "0 where not chosen"
    else:
        chosen = labels != -100
        if (labels[chosen] == ids[chosen]).all():
            label_kind = "the original id where chosen, -100 elsewhere"
        elif (labels[chosen] == new[chosen]).all():
            label_kind = "the corrupted id where chosen"
        else:
            label_kind = "other values"
    summary: dict[str, Any] = {"labels": label_kind}
    chosen = (labels != -100) if label_kind.startswith("the original id where") else (new != ids)
    summary["special tokens chosen or changed"] = int((special & (chosen | (new != ids))).sum())
    summary["tokens changed without a label"] = int(((new != ids) & ~chosen).sum())
    n = int(chosen.sum())
    summary["share of ordinary tokens chosen"] = _share(n / max(1, int((~special).sum())), "chosen")
    if n:
        became_mask = (new == mask_id) & chosen
        kept = (new == ids) & chosen & ~became_mask
        summary["chosen -> [MASK]"] = _share(int(became_mask.sum()) / n, "mask")
        summary["chosen -> a random token"] = _share(int((chosen & ~became_mask & ~kept).sum()) / n, "random")
        summary["chosen -> unchanged"] = _share(int(kept.sum()) / n, "kept")
    return summary


class _Summarised:
    """The learner's function, its output replaced by :func:`masking_summary`. It keeps the
    learner's name, signature and code object, so the feedback names their function and a stub's
    ``NotImplementedError`` reads as "not implemented yet"."""

    def __init__(self, fn: Callable[..., Any], summarise: Callable[[tuple, Any], Any]):
        self._fn, self._summarise = fn, summarise
        self.__name__ = getattr(fn, "__name__", "fn")
        if hasattr(fn, "__code__"):
            self.__code__ = fn.__code__
        try:
            self.__signature__ = inspect.signature(fn)
        except (TypeError, ValueError):
            pass

    def __call__(self, *args: Any) -> Any:
        return self._summarise(args, self._fn(*args))


def _mask_reference(input_ids, special_ids, mask_id, vocab_size, seed):
    m = mask_tokens(input_ids, vocab_size=vocab_size, mask_id=mask_id, special_ids=special_ids,
                    generator=torch.Generator().manual_seed(seed))
    return m.input_ids, m.labels


def _mask_cases(g):
    def batch(B, T, V, pad_rows):
        ids = torch.randint(5, V, (B, T), generator=g)
        ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP]
        lengths = torch.randint(T // 2, T, (pad_rows,), generator=g)
        for r, n in enumerate(lengths.tolist()):  # some rows end early: [SEP] then [PAD] = 0
            ids[r, n - 1], ids[r, n:] = 3, 0
        return ids

    return [
        Case("input_ids (128, 128), V=1000, [PAD]=0 [CLS]=2 [SEP]=3 [MASK]=4, 32 padded rows",
             (batch(128, 128, 1000, 32), [0, 2, 3], 4, 1000, 0)),
        Case("input_ids (64, 256), V=500, no padding, seed 7", (batch(64, 256, 500, 0), [0, 2, 3], 4, 500, 7)),
    ]


def _measured(got: dict, key: str) -> float | None:
    m = re.fullmatch(r"(?:about )?([\d.]+)%", str(got.get(key, "")))
    return float(m.group(1)) / 100 if m else None


_mask_spec = Exercise(
    name="mask_tokens",
    title="BERT's masked-LM corruption (15%, 80/10/10)",
    signature="(input_ids, special_ids, mask_id, vocab_size, seed)",
    reference=lambda *args: masking_summary(args, _mask_reference(*args)),
    reference_name="`coursekit.pretraining.mask_tokens`, statistically",
    doc="Devlin et al. 2019, Sec. 3.1. input_ids (B, T) long -> (corrupted ids, labels), both (B, T) long. "
    "Draw from torch.Generator().manual_seed(seed). Each token whose id is not in special_ids is chosen with "
    "probability 0.15; a chosen token becomes mask_id (80%), a uniformly random id in [0, vocab_size) (10%) or "
    "stays (10%). labels: the original id where chosen, -100 elsewhere. Checked by its statistics.",
    cases=_mask_cases,
    outputs=("the summary of (corrupted ids, labels)",),
    mistakes=(
        Mistake(
            what="your function does not return the pair (corrupted ids, labels) as two (B, T) tensors.",
            hint="Return a tuple `(corrupted, labels)`: a corrupted copy of input_ids and the labels, both the "
            "shape of input_ids.",
            test=lambda got, want, case: "output" in got,
        ),
        Mistake(
            what="special tokens ([CLS], [SEP], [PAD]) were chosen or changed.",
            hint="Never choose a position whose id is in special_ids: build `special = (input_ids == s) | ...` over "
            "them and set the probability of choosing to 0 there, e.g. `probs.masked_fill(special, 0.0)` before "
            "`torch.bernoulli(probs, generator=g)`.",
            test=lambda got, want, case: got.get("special tokens chosen or changed", 0) > 0,
        ),
        Mistake(
            what="your labels hold the original id at every position: the loss would then train on unchosen "
            "tokens too, which the model sees unmasked and can simply copy.",
            hint="Only chosen positions are predicted: `labels = torch.where(chosen, input_ids, -100)`.",
            test=lambda got, want, case: got.get("labels") == "the original id at every position",
        ),
        Mistake(
            what="your labels are 0 where a token was not chosen; 0 is a real token id (here [PAD]).",
            hint="Use -100 where nothing is to be predicted: it is the default `ignore_index` of "
            "`F.cross_entropy`, so those positions drop out of the loss.",
            test=lambda got, want, case: got.get("labels") == "0 where not chosen",
        ),
        Mistake(
            what="your labels hold the corrupted ids ([MASK] or the random token), not the originals.",
            hint="The label is what was there before corruption: take it from input_ids, before replacing anything.",
            test=lambda got, want, case: got.get("labels") == "the corrupted id where chosen",
        ),
        Mistake(
            what="every chosen token became [MASK]: that is the 100% [MASK] of BERT's ablation (Appendix C.2), "
            "not the 80/10/10 rule.",
            hint="Of the chosen tokens, 80% become [MASK], 10% a random id and 10% stay: e.g. draw "
            "`torch.bernoulli(torch.full(shape, 0.8), generator=g)` for [MASK], then among the chosen that were "
            "not masked draw with probability 0.5 (half of the remaining 20%) for a random id.",
            test=lambda got, want, case: (_measured(got, "chosen -> [MASK]") or 0) > 0.95,
        ),
        Mistake(
            what="too few chosen tokens became random and too many stayed unchanged: the random draw among the "
            "chosen tokens left after [MASK] used probability 0.1.",
            hint="The 10% random are 10% of *all* chosen tokens, that is half of the 20% not masked: draw with "
            "probability 0.1 / 0.2 = 0.5 among those.",
            test=lambda got, want, case: got.get("chosen -> [MASK]") == "about 80%"
            and (_measured(got, "chosen -> a random token") or 1) < 0.06,
        ),
        Mistake(
            what="tokens were changed at positions that carry no label.",
            hint="Replace only chosen tokens: combine every replacement mask with `chosen` (`& chosen`).",
            test=lambda got, want, case: got.get("tokens changed without a label", 0) > 0,
        ),
        Mistake(
            what="the share of tokens chosen is not 15%.",
            hint="Choose each ordinary token independently with probability 0.15: "
            "`torch.bernoulli(torch.full(input_ids.shape, 0.15), generator=g).bool() & ~special`.",
            test=lambda got, want, case: got.get("share of ordinary tokens chosen") != "about 15%",
        ),
        Mistake(
            what="your labels are -100 everywhere: no token is marked for prediction.",
            hint="Where a token is chosen, its label is its original id: `labels = torch.where(chosen, input_ids, -100)`.",
            test=lambda got, want, case: got.get("labels") == "-100 everywhere",
        ),
        Mistake(
            what="your labels are neither the original ids (where chosen) nor -100 (elsewhere).",
            hint="`labels = torch.where(chosen, input_ids, -100)`, computed from the unchanged input_ids.",
            test=lambda got, want, case: got.get("labels") == "other values",
        ),
        Mistake(
            what="the share of chosen tokens that became [MASK] is not 80%.",
            hint="Among the chosen tokens, replace each by mask_id with probability 0.8.",
            test=lambda got, want, case: got.get("chosen -> [MASK]") != want.get("chosen -> [MASK]"),
        ),
        Mistake(
            what="the shares of chosen tokens that became a random token or stayed unchanged are not 10% each.",
            hint="Of the chosen tokens not turned into [MASK] (20%), half get a random id in [0, vocab_size) and half "
            "stay as they were.",
            test=lambda got, want, case: True,
        ),
    ),
    value_hint="Choose 15% of the ordinary tokens; of those, 80% -> mask_id, 10% -> a random id in "
    "[0, vocab_size), 10% unchanged; labels = the original id where chosen, -100 elsewhere.",
)


def check_mask_tokens(fn: Any, *, seed: int = 0, time_limit: float | None = 10.0):
    """Check ``my_mask_tokens(input_ids, special_ids, mask_id, vocab_size, seed)``
    (BERT's masked-LM corruption (15%, 80/10/10)) against :func:`coursekit.pretraining.mask_tokens`
    by their statistics (see :func:`masking_summary`). Returns a CheckResult (``✅ Passed`` or ``❌ Not yet`` with a hint);
    never raises. ``seed`` draws other cases; ``time_limit`` is in seconds per call."""
    return _mask_spec.check(_Summarised(fn, masking_summary) if callable(fn) else fn, seed=seed,
                            time_limit=time_limit)


check_mask_tokens.exercise = _mask_spec
check_mask_tokens.__module__ = "coursekit.exercises"


# ----------------------------------------------------------------------------- NSP loss
def _nsp_cases(g):
    def logits(B):
        return torch.randn(B, 2, generator=g) * 2

    return [
        Case("B=8, labels 0 (IsNext) and 1 (NotNext) mixed", (logits(8), torch.tensor([0, 1, 0, 0, 1, 1, 0, 1]))),
        Case("B=5, every pair IsNext (label 0)", (logits(5), torch.zeros(5, dtype=torch.long))),
        Case("B=6, every pair NotNext (label 1)", (logits(6), torch.ones(6, dtype=torch.long))),
    ]


check_nsp_loss = checker(Exercise(
    name="nsp_loss",
    title="the next sentence prediction loss",
    signature="(logits, labels)",
    reference=nsp_loss,
    reference_name="`coursekit.bert.nsp_loss`",
    doc="Devlin et al. 2019, Sec. 3.1, Task #2. logits (B, 2) float from the [CLS] head, labels (B,) long, "
    "0 = IsNext, 1 = NotNext (transformers' convention) -> the mean cross-entropy over all B pairs.",
    cases=_nsp_cases,
    outputs=("loss",),
    mistakes=(
        Mistake(
            what="your loss ignores label 0, so every IsNext pair drops out: `ignore_index=0` is the known trap. "
            "Here 0 is a class (IsNext), not padding; a model that always answers NotNext would score a loss "
            "near 0, and a batch of IsNext pairs gives nan.",
            hint="Drop `ignore_index=0`: use `F.cross_entropy(logits, labels)` (its default ignore index is -100, "
            "which no NSP label takes).",
            output=lambda logits, labels: F.cross_entropy(logits, labels, ignore_index=0),
        ),
        Mistake(
            what="your loss reads the labels the other way round (0 as NotNext).",
            hint="Label 0 means IsNext (B really follows A) and is column 0 of the logits; label 1 means NotNext. "
            "Use the labels as they are: `F.cross_entropy(logits, labels)`.",
            output=lambda logits, labels: F.cross_entropy(logits, 1 - labels),
        ),
        Mistake(
            what="your loss is the sum over the batch, not the mean.",
            hint="Average over the pairs (`reduction='mean'`, the default), so the loss does not grow with B.",
            output=lambda logits, labels: F.cross_entropy(logits, labels, reduction="sum"),
        ),
        Mistake(
            what="you applied a softmax before `F.cross_entropy`, which applies log-softmax itself.",
            hint="Pass the raw logits: `F.cross_entropy(logits, labels)`.",
            output=lambda logits, labels: F.cross_entropy(torch.softmax(logits, -1), labels),
        ),
        Mistake(
            what="you used `F.nll_loss` on raw logits: it expects log-probabilities.",
            hint="Either `F.cross_entropy(logits, labels)` or `F.nll_loss(F.log_softmax(logits, -1), labels)`.",
            output=lambda logits, labels: F.nll_loss(logits, labels),
        ),
        Mistake(
            what="you scored only the NotNext logit with a sigmoid (binary cross-entropy on column 1).",
            hint="The head has two logits, one per class: a softmax over both, `F.cross_entropy(logits, labels)`.",
            output=lambda logits, labels: F.binary_cross_entropy_with_logits(logits[:, 1], labels.float()),
        ),
    ),
    value_hint="loss = mean over the batch of -log softmax(logits)[label], e.g. `F.cross_entropy(logits, labels)`.",
))


# ----------------------------------------------------------------------------- BERT's input embeddings
def _embeddings_reference(word, position, segment, ids, segments):
    V, H = word.shape
    config = BertConfig(vocab_size=V, hidden_size=H, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=H, max_position_embeddings=position.shape[0],
                        type_vocab_size=segment.shape[0], hidden_dropout_prob=0.0)
    with torch.random.fork_rng(devices=[]):
        emb = BertEmbeddings(config).eval()
    with torch.no_grad():
        emb.word_embeddings.weight.copy_(word)
        emb.position_embeddings.weight.copy_(position)
        emb.token_type_embeddings.weight.copy_(segment)
        return emb(ids, token_type_ids=segments)


def _layer_norm(x):
    return F.layer_norm(x, x.shape[-1:], eps=1e-12)


def _embeddings_cases(g):
    def case(V, P, H, B, T, split):
        segments = torch.zeros(B, T, dtype=torch.long)
        segments[:, split:] = 1
        return (torch.randn(V, H, generator=g), torch.randn(P, H, generator=g) * 0.5, torch.randn(2, H, generator=g),
                torch.randint(0, V, (B, T), generator=g), segments)

    return [
        Case("V=10, P=12, H=8; ids (2, 7), segment B from position 4", case(10, 12, 8, 2, 7, 4)),
        Case("V=9, P=6, H=4; ids (1, 6), segment B from position 2", case(9, 6, 4, 1, 6, 2)),
        Case("V=30, P=16, H=6; ids (3, 5), one segment only", case(30, 16, 6, 3, 5, 5)),
    ]


def _positions(T):
    return torch.arange(T)


check_bert_embeddings = checker(Exercise(
    name="bert_embeddings",
    title="BERT's input embeddings",
    signature="(word, position, segment, ids, segments)",
    reference=_embeddings_reference,
    reference_name="`coursekit.bert.BertEmbeddings` (no dropout, LayerNorm without a learned scale or shift)",
    doc="Devlin et al. 2019, Sec. 3.2, Fig. 2. word (V, H), position (P, H), segment (2, H) float tables; ids "
    "(B, T) long, segments (B, T) long in {0, 1} -> LayerNorm(word[ids] + position[0..T-1] + segment[segments]) "
    "over the last dim, eps 1e-12, no scale or shift: (B, T, H).",
    cases=_embeddings_cases,
    outputs=("embeddings",),
    mistakes=(
        Mistake(
            what="your embeddings are not normalised: BERT applies LayerNorm to the sum.",
            hint="Finish with `F.layer_norm(x, x.shape[-1:], eps=1e-12)` over the width.",
            output=lambda w, p, s, ids, seg: w[ids] + p[_positions(ids.shape[1])] + s[seg],
        ),
        Mistake(
            what="the segment embedding is missing: sentence A and sentence B look the same.",
            hint="Add `segment[segments]` (E_A for 0, E_B for 1) to the sum before the LayerNorm.",
            output=lambda w, p, s, ids, seg: _layer_norm(w[ids] + p[_positions(ids.shape[1])]),
        ),
        Mistake(
            what="the position embedding is missing: without it BERT could not tell word order.",
            hint="Add `position[torch.arange(T)]`, one row per position 0 .. T-1, broadcast over the batch.",
            output=lambda w, p, s, ids, seg: _layer_norm(w[ids] + s[seg]),
        ),
        Mistake(
            what="you looked the positions up by token id (`position[ids]`), not by position.",
            hint="Positions are 0, 1, ..., T-1 whatever the tokens are: `position[torch.arange(ids.shape[1])]`.",
            output=lambda w, p, s, ids, seg: _layer_norm(w[ids] + p[ids] + s[seg]),
        ),
        Mistake(
            what="your positions start at 1; BERT's first position (the [CLS] token's) is 0.",
            hint="Use `torch.arange(T)`, which starts at 0.",
            output=lambda w, p, s, ids, seg: _layer_norm(w[ids] + p[_positions(ids.shape[1]) + 1] + s[seg]),
        ),
    ),
    value_hint="x = word[ids] + position[torch.arange(T)] + segment[segments], then "
    "F.layer_norm(x, x.shape[-1:], eps=1e-12).",
))


# ----------------------------------------------------------------------------- mean pooling
def _pool_cases(g):
    def mask(lengths, T):
        return torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]

    return [
        Case("hidden (3, 6, 4); real lengths 6, 3, 1", (torch.randn(3, 6, 4, generator=g), mask([6, 3, 1], 6))),
        Case("hidden (2, 5, 3); real lengths 2, 4", (torch.randn(2, 5, 3, generator=g) + 1, mask([2, 4], 5))),
        Case("hidden (2, 4, 5); no padding", (torch.randn(2, 4, 5, generator=g), mask([4, 4], 4))),
    ]


check_mean_pool = checker(Exercise(
    name="mean_pool",
    title="mean pooling over the real tokens",
    signature="(hidden, mask)",
    reference=mean_pool,
    reference_name="`coursekit.bert.mean_pool`",
    doc="Reimers & Gurevych 2019, Sec. 3 (MEAN). hidden (B, T, H) float, mask (B, T) bool, True at real "
    "tokens -> (B, H): each sequence's mean over its real tokens only.",
    cases=_pool_cases,
    outputs=("pooled",),
    mistakes=(
        Mistake(
            what="you summed the real tokens but divided by T, the padded length, not by the number of real tokens.",
            hint="Divide by each row's count of real tokens: `mask.sum(1, keepdim=True)` (as a float).",
            output=lambda h, m: (h * m[..., None]).sum(1) / h.shape[1],
        ),
        Mistake(
            what="you averaged over every position, padding included.",
            hint="Zero the padded positions first: `(hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)`.",
            output=lambda h, m: h.mean(1),
        ),
        Mistake(
            what="you returned the first token's state ([CLS] pooling), not the mean.",
            hint="Average over the real tokens: `(hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)`.",
            output=lambda h, m: h[:, 0],
        ),
        Mistake(
            what="you took the maximum over the tokens (MAX pooling), not the mean.",
            hint="Sentence-BERT's default is MEAN: sum the real tokens' states and divide by their count.",
            output=lambda h, m: h.masked_fill(~m[..., None], float("-inf")).amax(1),
        ),
        Mistake(
            what="your mask is the wrong way round: you averaged the padding and left out the real tokens.",
            hint="In this course's convention True marks a real token: multiply by `mask`, not `~mask`.",
            output=lambda h, m: (h * (~m)[..., None]).sum(1) / (~m).sum(1, keepdim=True).clamp_min(1),
        ),
    ),
    value_hint="pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).",
))


# ----------------------------------------------------------------------------- sentence similarity (assembling)
SIMILARITY_CONFIG = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=32, max_position_embeddings=16, hidden_dropout_prob=0.0,
                               attention_probs_dropout_prob=0.0)
"""The checker's encoder: a tiny random BERT (eval mode)."""


def _similarity(model, ids_a, mask_a, ids_b, mask_b, *, pool="mean", model_mask=True, score="cosine"):
    def vector(ids, mask):
        hidden = model(ids, key_padding_mask=mask if model_mask else None).hidden
        if pool == "cls":
            return hidden[:, 0]
        return mean_pool(hidden, mask) if pool == "mean" else hidden.mean(1)

    u, v = vector(ids_a, mask_a), vector(ids_b, mask_b)
    if score == "dot":
        return (u * v).sum(-1)
    if score == "distance":
        return (u - v).norm(dim=-1)
    return F.cosine_similarity(u, v, dim=-1)


def _similarity_cases(g):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
        model = BertModel(SIMILARITY_CONFIG).eval()

    def side(B, T, lengths):
        ids = torch.randint(4, 40, (B, T), generator=g)
        mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]
        return ids.masked_fill(~mask, 0), mask

    a1, b1 = side(3, 7, [7, 4, 2]), side(3, 5, [3, 5, 5])
    a2, b2 = side(2, 6, [6, 6]), side(2, 6, [6, 6])
    return [
        Case("3 pairs; sentence A padded to 7, B to 5", (model, *a1, *b1)),
        Case("2 pairs, no padding", (model, *a2, *b2)),
    ]


check_sentence_similarity = checker(Exercise(
    name="sentence_similarity",
    title="Sentence-BERT similarity, from your mean pooling",
    signature="(model, ids_a, mask_a, ids_b, mask_b)",
    reference=_similarity,
    reference_name="coursekit's encoder + `coursekit.bert.mean_pool` + cosine",
    doc="Reimers & Gurevych 2019, Sec. 3 and Fig. 2. model a coursekit BertModel; ids_a (B, Ta) long, mask_a (B, Ta) "
    "bool (True = real token), likewise B -> (B,): for each pair, the cosine of the two sentences' vectors, each "
    "the mean (over real tokens, my_mean_pool) of model(ids, key_padding_mask=mask).hidden.",
    cases=_similarity_cases,
    outputs=("cosines",),
    mistakes=(
        Mistake(
            what="you did not pass the mask to the encoder: real tokens attended to the padding.",
            hint="Call `model(ids, key_padding_mask=mask)`, so that padding is not read, then pool with the same mask.",
            output=lambda *a: _similarity(*a, model_mask=False),
        ),
        Mistake(
            what="your sentence vectors average the padding too.",
            hint="Pool with your `my_mean_pool(hidden, mask)`, which leaves the padded positions out.",
            output=lambda *a: _similarity(*a, pool="all"),
        ),
        Mistake(
            what="you used the [CLS] state as the sentence vector; Sentence-BERT's (and MiniLM's) is the mean.",
            hint="Pool with your `my_mean_pool(hidden, mask)` instead of `hidden[:, 0]`.",
            output=lambda *a: _similarity(*a, pool="cls"),
        ),
        Mistake(
            what="you returned the dot product, not the cosine: it grows with the vectors' lengths.",
            hint="Divide by both norms: `F.cosine_similarity(u, v, dim=-1)`.",
            output=lambda *a: _similarity(*a, score="dot"),
        ),
        Mistake(
            what="you returned the Euclidean distance, not the cosine similarity.",
            hint="Use `F.cosine_similarity(u, v, dim=-1)`: 1 for the same direction, 0 for orthogonal vectors.",
            output=lambda *a: _similarity(*a, score="distance"),
        ),
    ),
    value_hint="u = my_mean_pool(model(ids_a, key_padding_mask=mask_a).hidden, mask_a), v likewise for B, then "
    "F.cosine_similarity(u, v, dim=-1).",
))


# ----------------------------------------------------------------------------- predict: the embeddings' share
EMBEDDING_SHARE_CHOICES = ("under 10%", "about a fifth", "about half", "most of them")


def measure_embedding_share() -> Measured:
    """The share of BERT-base's encoder parameters (with its pooler) in the embedding layer, counted
    from the config by :func:`coursekit.bert.sizes.parameter_breakdown` (no model is built)."""
    parts = parameter_breakdown(bert_base())
    total = sum(parts.values())
    embed = sum(v for k, v in parts.items() if k.startswith(("word_", "position_", "token_type_", "embedding_")))
    share = embed / total
    answer = ("under 10%" if share < 0.10 else "about a fifth" if share < 0.35 else "about half" if share < 0.65
              else "most of them")
    return Measured(
        answer,
        f"BERT-base has {total:,} parameters; its embeddings (token {parts['word_embeddings']:,}, position "
        f"{parts['position_embeddings']:,}, segment {parts['token_type_embeddings']:,}, LayerNorm "
        f"{parts['embedding_norm']:,}) hold {embed:,} of them, {share:.1%}; the {bert_base().num_hidden_layers} "
        f"layers hold {parts['layers']:,}.",
    )


check_embedding_share_prediction = prediction_checker(Prediction(
    name="embedding_share_prediction",
    title="predict: how much of BERT-base is its embedding layer?",
    question="Of BERT-base's parameters (L=12, H=768, a 30,522-WordPiece vocabulary), what share sits in the "
    "embedding layer (token, position and segment tables)?",
    choices=EMBEDDING_SHARE_CHOICES,
    measure=measure_embedding_share,
    why="The token table alone is V x H = 30,522 x 768, about 23M numbers, while each layer holds about 7M "
    "(4H^2 for attention, 8H^2 for the FFN). So the vocabulary costs as much as three or four layers: about a "
    "fifth of the model. ALBERT (next chapter) factorises exactly this table.",
))
