"""Chapter 11 exercises (what does BERT look at?): the entropy of each query's attention (broad
vs focused heads), word attention from WordPiece attention, a head's accuracy as a dependency
parser assembled from the learner's word attention, the best fixed-offset baseline, attention
rollout, and a "predict, then run" question on rolling out previous-token heads.

Learner functions, as the notebook's stubs declare them::

    def my_attention_entropy(attention)           # (..., T, T) -> (..., T), nats
    def my_word_attention(attention, spans)       # (..., T, T), W' (start, end) -> (..., W', W')
    def my_head_accuracy(attentions, spans, heads) # lists of (T, T), W + 2 spans, (W,) long -> 0-d float
    def my_best_offset(offsets, max_offset)       # (P,) long, int -> int
    def my_rollout(attentions)                    # (L, A, T, T) -> (T, T)
    def my_rollout_prediction()                   # -> one of the choices

References: :func:`coursekit.heads.words.word_attention` (Clark et al. 2019, Sec. 4.1),
:func:`coursekit.heads.syntax.offset_accuracy` and the head scoring of
:func:`coursekit.heads.syntax.arc_table` (Sec. 4.2), :func:`coursekit.heads.limits.attention_rollout`
(Abnar & Zuidema 2020, Eq. 1), and the entropy of Clark et al.'s Sec. 3.3 (as in
:func:`coursekit.heads.patterns.head_patterns`).
Legend: L layers, A heads, T tokens, W words, P arcs.

By the time of these checks the notebook has imported ``torch``.
"""

from __future__ import annotations

import math

import torch

from ..heads.limits import attention_rollout
from ..heads.syntax import offset_accuracy
from ..heads.words import word_attention
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_attention_entropy",
    "check_word_attention",
    "check_head_accuracy",
    "check_best_offset",
    "check_rollout",
    "check_rollout_prediction",
]


def _rows(g: torch.Generator, *shape: int, sharp: float = 1.0, zeros: bool = False) -> torch.Tensor:
    """Random attention maps (..., T, T) whose rows sum to one; ``zeros``: some exact zeros (a
    row that puts everything on one key, as a head on [SEP] does)."""
    a = torch.softmax(sharp * torch.randn(*shape, generator=g), dim=-1)
    if zeros:
        a[..., 0, :] = 0.0
        a[..., 0, -1] = 1.0  # the first query attends only to the last key
        a = torch.where(a < 0.05, torch.zeros_like(a), a)
        a = a / a.sum(-1, keepdim=True)
    return a


# ----------------------------------------------------------------------------- entropy
def _entropy(attention: torch.Tensor) -> torch.Tensor:
    return -torch.special.xlogy(attention, attention).sum(-1)  # (..., T); 0 log 0 = 0


check_attention_entropy = checker(Exercise(
    name="attention_entropy",
    title="the entropy of each query's attention",
    signature="(attention)",
    reference=_entropy,
    reference_name="the entropy of Clark et al.'s Sec. 3.3 (as `coursekit.heads.patterns.head_patterns` computes it)",
    doc="attention (..., T, T) float, rows sum to one -> (..., T): H_i = -sum_j a_ij log a_ij in nats, with "
    "0 log 0 = 0 (a row that is all on one key has entropy 0, not NaN).",
    cases=lambda g: [
        Case("one head (6, 6)", (_rows(g, 6, 6),)),
        Case("layers and heads (2, 3, 5, 5), sharp rows", (_rows(g, 2, 3, 5, 5, sharp=3.0),)),
        Case("(4, 7, 7) with exact zeros (a row all on the last key)", (_rows(g, 4, 7, 7, sharp=2.0, zeros=True),)),
    ],
    outputs=("entropy",),
    mistakes=(
        Mistake(
            what="your entropy is NaN where a weight is exactly 0: 0 * log 0 gave 0 * (-inf) = NaN.",
            hint="Count 0 log 0 as 0: `torch.special.xlogy(a, a)` does, or `a * a.clamp_min(1e-12).log()`. "
            "A head that puts everything on [SEP] has rows like that.",
            test=lambda got, want, case: isinstance(got, torch.Tensor) and bool(torch.isnan(got).any())
            and not bool(torch.isnan(want).any()),
        ),
        Mistake(
            what="your entropy is in bits (log base 2); the chapter measures it in nats (natural log).",
            hint="Use `torch.log` (natural log), not `torch.log2`: a uniform row over T keys has entropy log T.",
            output=lambda a: _entropy(a) / math.log(2),
        ),
        Mistake(
            what="your entropy is negative: the minus sign is missing.",
            hint="H = -sum_j a_ij log a_ij: log a_ij <= 0, so the minus makes it >= 0.",
            output=lambda a: -_entropy(a),
        ),
        Mistake(
            what="you summed over the queries (dim -2), not over each query's keys (dim -1).",
            hint="Each row is one query's distribution over the keys: sum `a * log a` along `dim=-1`.",
            output=lambda a: -torch.special.xlogy(a, a).sum(-2),
        ),
        Mistake(
            what="you averaged over the queries too: the exercise wants one entropy per query (..., T).",
            hint="Stop after the sum over the keys (`.sum(-1)`); the chapter averages over queries later.",
            output=lambda a: _entropy(a).mean(-1),
        ),
    ),
    value_hint="H = -(a * log a).sum(-1), with 0 log 0 = 0: `-torch.special.xlogy(a, a).sum(-1)`.",
))


# ----------------------------------------------------------------------------- word attention
def _spans_from_lengths(lengths) -> list[tuple[int, int]]:
    spans, start = [], 0
    for n in lengths:
        spans.append((start, start + n))
        start += n
    return spans


def _members(spans, T) -> torch.Tensor:
    M = torch.zeros(len(spans), T)
    for w, (s, e) in enumerate(spans):
        M[w, s:e] = 1.0
    return M  # (W', T)


def _word_with(attention, spans, *, rows="mean", cols="sum"):
    """Word attention with rows (attending) and columns (attended) pooled by "mean", "sum" or "first"."""
    M = _members(spans, attention.shape[-1]).to(attention)
    first = torch.zeros_like(M)
    for w, (s, _) in enumerate(spans):
        first[w, s] = 1.0
    pool = {"sum": M, "mean": M / M.sum(1, keepdim=True), "first": first}
    return pool[rows] @ attention @ pool[cols].T


WORD_CASES_LENGTHS = ((1, 1, 2, 1, 3, 1), (1, 2, 1, 2, 1), (1, 1, 1, 1))  # [CLS], words..., [SEP] in pieces


def _word_cases(g):
    out = []
    for lengths, lead in zip(WORD_CASES_LENGTHS, ((), (2, 3), (1,))):
        T = sum(lengths)
        desc = " + ".join(map(str, lengths))
        out.append(Case(f"attention {(*lead, T, T)}, spans of {desc} pieces", (_rows(g, *lead, T, T),
                                                                               _spans_from_lengths(lengths))))
    return out


check_word_attention = checker(Exercise(
    name="word_attention",
    title="word attention from WordPiece attention",
    signature="(attention, spans)",
    reference=word_attention,
    reference_name="`coursekit.heads.words.word_attention`",
    doc="Clark et al. 2019, Sec. 4.1. attention (..., T, T) float, rows sum to one; spans: W' (start, end) "
    "token ranges that partition 0..T ([CLS] and [SEP] are spans of their own) -> (..., W', W'): attention TO a "
    "word is the SUM over its pieces (columns), attention FROM a word the MEAN over its pieces (rows), so rows "
    "still sum to one.",
    cases=_word_cases,
    outputs=("word attention",),
    mistakes=(
        Mistake(
            what="you averaged the attended word's pieces too: attention TO a word is the sum over its pieces, so "
            "your rows no longer sum to one.",
            hint="Columns (the attended word): add its pieces' weights, `A[..., :, s:e].sum(-1)`. Rows (the "
            "attending word): average its pieces' rows, `.mean(-2)`.",
            output=lambda a, spans: _word_with(a, spans, rows="mean", cols="mean"),
        ),
        Mistake(
            what="you added the attending word's rows too: a word of three pieces now has a row that sums to three.",
            hint="Rows (the attending word) are averaged, `A[..., s:e, :].mean(-2)`; only the columns (the attended "
            "word) are summed.",
            output=lambda a, spans: _word_with(a, spans, rows="sum", cols="sum"),
        ),
        Mistake(
            what="you swapped the two: averaged the attended word's pieces and summed the attending word's rows.",
            hint="Sum over the pieces of the word being attended TO (the columns, last dim); mean over the pieces "
            "of the word attending FROM (the rows, dim -2).",
            output=lambda a, spans: _word_with(a, spans, rows="sum", cols="mean"),
        ),
        Mistake(
            what="you kept only each word's first piece, as its row and its column.",
            hint="Every piece counts: a word's row is the mean of all its pieces' rows, and attention to it is "
            "the sum over all its pieces' columns.",
            output=lambda a, spans: _word_with(a, spans, rows="first", cols="first"),
        ),
        Mistake(
            what="your word map is transposed: rows must be the attending words, columns the attended ones.",
            hint="Keep the token map's layout: pool the rows (dim -2) by the attending word and the columns "
            "(dim -1) by the attended word.",
            output=lambda a, spans: word_attention(a, spans).transpose(-1, -2),
        ),
    ),
    value_hint="For words v, w with pieces s_v..e_v and s_w..e_w: out[v, w] = mean over i in v of the sum over "
    "j in w of A[i, j].",
))


# ----------------------------------------------------------------------------- a head as a parser (assembling)
def _head_accuracy(attentions, spans, heads, *, keep_specials=False, columns=False, pool=None, with_root=False,
                   with_self=False):
    """The share of non-root words, over all the sentences, whose most-attended other word is their gold
    head (Clark et al.'s dep->head; as in their code, a word never predicts itself)."""
    right, total = 0, 0
    for attention, sp, h in zip(attentions, spans, heads):
        word = word_attention(attention, sp) if pool is None else _word_with(attention, sp, rows=pool[0], cols=pool[1])
        if keep_specials:
            pred = word[1:-1].argmax(-1) - 1  # [CLS] and [SEP] stay candidates
        else:
            w = word[1:-1, 1:-1].clone()
            if not with_self:
                w.fill_diagonal_(0)  # a word never predicts itself
            pred = w.argmax(-2) if columns else w.argmax(-1)  # (W,)
        h = torch.as_tensor(h)
        has_head = torch.ones_like(h, dtype=torch.bool) if with_root else h >= 0
        right += int((pred[has_head] == h[has_head]).sum())
        total += int(has_head.sum())
    return torch.tensor(right / total)


def _parsed_case(g, words):
    """One head's attention over [CLS] words... [SEP] (words of 1 to 3 pieces, random gold heads, one
    root) whose most-attended word is the gold head for about half of the words."""
    lengths = [1] + [int(n) for n in torch.randint(1, 4, (words,), generator=g)] + [1]
    root = int(torch.randint(words, (), generator=g))
    heads = []
    for d in range(words):
        h = int(torch.randint(words - 1, (), generator=g))
        heads.append(-1 if d == root else h + (h >= d))  # any other word
    spans = _spans_from_lengths(lengths)
    T = sum(lengths)
    scores = torch.randn(T, T, generator=g)
    scores[:, 0] += 1.5  # much attention to [CLS] and [SEP], as in BERT
    scores[:, -1] += 1.5
    for d, h in enumerate(heads):
        if h >= 0 and torch.rand((), generator=g) < 0.5:
            s, e = spans[h + 1]
            ds, de = spans[d + 1]
            scores[ds:de, s:e] += 3.0
            if torch.rand((), generator=g) < 0.4:
                scores[ds:de, ds:de] += 5.0  # the word itself first, its head second: excluding itself matters
    return torch.softmax(scores, -1), spans, torch.tensor(heads)


def _corpus_case(g, sizes):
    sentences = [_parsed_case(g, words) for words in sizes]
    att, spans, heads = (list(x) for x in zip(*sentences))
    return Case(f"{len(sizes)} sentences of {min(sizes)} to {max(sizes)} words", (att, spans, heads))


check_head_accuracy = checker(Exercise(
    name="head_accuracy",
    title="a head's accuracy as a dependency parser, from your word attention",
    signature="(attentions, spans, heads)",
    reference=_head_accuracy,
    reference_name="the dep->head prediction of `coursekit.heads.syntax.arc_table` (which, unlike this "
    "exercise, also leaves out punct arcs)",
    doc="Clark et al. 2019, Sec. 4.2. Three lists, one entry per sentence: attentions, one head's (T, T) map; "
    "spans, W + 2 (start, end) token ranges ([CLS], the W words, [SEP]); heads, (W,) long, each word's gold "
    "head (a word index, -1 for the root) -> a 0-d float tensor: over all the sentences, the share of the "
    "words that have a head (not the root) whose most-attended other word, among their sentence's W words "
    "([CLS] and [SEP] dropped, and the word itself excluded as in Clark et al.'s code), is their gold head.",
    cases=lambda g: [_corpus_case(g, (9, 14, 5, 17, 11, 8)), _corpus_case(g, (12, 6, 15, 20)),
                     _corpus_case(g, (4, 7, 10, 13, 16, 19, 22))],
    outputs=("accuracy",),
    mistakes=(
        Mistake(
            what="your argmax can land on [CLS] or [SEP]: drop them from the word map before predicting.",
            hint="After `my_word_attention`, keep the words only, `word[1:-1, 1:-1]`; then word i's prediction is "
            "`word[1:-1, 1:-1][i].argmax()`, a word index.",
            output=lambda a, spans, heads: _head_accuracy(a, spans, heads, keep_specials=True),
        ),
        Mistake(
            what="you took the argmax down the columns: the word that attends most TO the dependent, not the "
            "word the dependent attends to.",
            hint="Row i of the word map is where word i looks: `argmax(-1)` (along the keys).",
            output=lambda a, spans, heads: _head_accuracy(a, spans, heads, columns=True),
        ),
        Mistake(
            what="a word can predict itself: Clark et al. take the most-attended OTHER word (their code zeroes "
            "the diagonal before the argmax).",
            hint="After dropping [CLS] and [SEP], zero each word's attention to itself, e.g. "
            "`words.fill_diagonal_(0)` on a copy, then take `argmax(-1)`.",
            output=lambda a, spans, heads: _head_accuracy(a, spans, heads, with_self=True),
        ),
        Mistake(
            what="you counted the root too: it has no head (-1), so it can never be right.",
            hint="Score only the words with a head: `has = h >= 0` for each sentence's heads h; count "
            "`(pred[has] == h[has]).sum()` and divide by the number of such words over all sentences.",
            output=lambda a, spans, heads: _head_accuracy(a, spans, heads, with_root=True),
        ),
        Mistake(
            what="your word map is not Clark et al.'s: check your `my_word_attention` (sum over the attended "
            "word's pieces, mean over the attending word's).",
            hint="Build the word map with your checked `my_word_attention(attention, spans)`, then predict from "
            "it; don't pool the pieces another way here.",
            output=(
                lambda a, spans, heads: _head_accuracy(a, spans, heads, pool=("mean", "mean")),
                lambda a, spans, heads: _head_accuracy(a, spans, heads, pool=("first", "first")),
            ),
        ),
        Mistake(
            what="you averaged the sentences' accuracies: a long sentence should count for more arcs than a "
            "short one.",
            hint="Pool the arcs: add up the right predictions and the scored words over all sentences, then "
            "divide once.",
            output=lambda a, spans, heads: torch.stack([_head_accuracy([x], [s], [h])
                                                        for x, s, h in zip(a, spans, heads)]).mean(),
        ),
        Mistake(
            what="you returned a percentage: the accuracy is a share between 0 and 1.",
            hint="Leave out the `* 100`.",
            output=lambda a, spans, heads: 100 * _head_accuracy(a, spans, heads),
        ),
    ),
    value_hint="for each sentence: word = my_word_attention(a, s)[1:-1, 1:-1].clone(); word.fill_diagonal_(0); "
    "pred = word.argmax(-1); "
    "has = h >= 0; add (pred[has] == h[has]).sum() to the right answers and has.sum() to the total; return "
    "torch.tensor(right / total).",
))


# ----------------------------------------------------------------------------- the fixed-offset baseline
def _best_offset(offsets, max_offset, *, candidates=None, flip=False):
    offsets = torch.as_tensor(offsets)
    if flip:
        offsets = -offsets
    ks = candidates if candidates is not None else [k for k in range(-max_offset, max_offset + 1) if k != 0]
    return max(ks, key=lambda k: offset_accuracy(offsets, k))  # ties: the first (most negative) wins


def _offset_case(g, counts, max_offset):
    """Arcs whose (head - dependent) offsets occur ``counts`` times each, shuffled."""
    values = torch.tensor([k for k, n in counts.items() for _ in range(n)])
    values = values[torch.randperm(len(values), generator=g)]
    desc = ", ".join(f"{k:+d}: {n}" for k, n in counts.items())
    return Case(f"offsets ({desc}), max_offset={max_offset}", (values, max_offset))


check_best_offset = checker(Exercise(
    name="best_offset",
    title="the best fixed-offset baseline",
    signature="(offsets, max_offset)",
    reference=_best_offset,
    reference_name="the baseline of `coursekit.heads.syntax.syntax_heads` (with `offset_accuracy`)",
    doc="Clark et al. 2019, Sec. 4.2. offsets (P,) long: head index minus dependent index of each arc of one "
    "relation; max_offset int -> int: the nonzero offset k in -max_offset..max_offset whose baseline 'the head "
    "is the word at dependent + k' is right most often (a tie goes to the smallest k).",
    cases=lambda g: [
        _offset_case(g, {-2: 5, 1: 9, 3: 2, -1: 4}, 3),
        _offset_case(g, {-1: 7, 2: 4, 1: 1}, 4),
        _offset_case(g, {5: 7, 3: 3, -3: 1, 1: 2}, 3),
        _offset_case(g, {-2: 4, 2: 4, 1: 1}, 2),
    ],
    outputs=("offset",),
    mistakes=(
        Mistake(
            what="your offset has the wrong sign: the offsets are head minus dependent, and the baseline "
            "predicts the head at dependent + k.",
            hint="Count how often each k appears in `offsets` itself (`(offsets == k).float().mean()`), and "
            "return that k, not -k.",
            output=lambda offsets, m: _best_offset(offsets, m, flip=True),
        ),
        Mistake(
            what="on a tie you kept the larger offset; the chapter's rule keeps the smallest (most negative) k.",
            hint="Go through k in increasing order and replace the best only on a strictly higher count (`>`, "
            "not `>=`), or use `max(candidates, key=...)`, which keeps the first.",
            output=lambda offsets, m: _best_offset(offsets, m, candidates=[k for k in range(m, -m - 1, -1)
                                                                            if k != 0]),
        ),
        Mistake(
            what="you tried only positive offsets (heads to the right); heads to the left count too.",
            hint="Try every nonzero k from -max_offset to +max_offset: `[k for k in range(-m, m + 1) if k != 0]`.",
            output=lambda offsets, m: _best_offset(offsets, m, candidates=list(range(1, m + 1))),
        ),
        Mistake(
            what="your range stops one short: max_offset itself is a candidate too.",
            hint="`range(-max_offset, max_offset + 1)`: Python's range leaves out its end.",
            output=lambda offsets, m: _best_offset(offsets, m, candidates=[k for k in range(-m, m) if k != 0]),
        ),
        Mistake(
            what="you returned the most common offset among the arcs, without the -max_offset..max_offset limit.",
            hint="Only offsets with 1 <= |k| <= max_offset are candidates.",
            output=lambda offsets, m: int(torch.as_tensor(offsets).mode().values),
        ),
    ),
    value_hint="return max([k for k in range(-m, m + 1) if k != 0], key=lambda k: (offsets == k).sum()) "
    "with m = max_offset, an int.",
))


# ----------------------------------------------------------------------------- rollout
def _rollout_with(attentions, *, residual=0.5, reverse=False, last_only=False, mean_layers=False):
    a = attentions.mean(-3)  # (L, T, T)
    a_hat = residual * torch.eye(a.shape[-1], dtype=a.dtype) + (1 - residual) * a
    if last_only:
        return a_hat[-1]
    if mean_layers:
        return a_hat.mean(0)
    r = a_hat[0]
    for layer in a_hat[1:]:
        r = r @ layer if reverse else layer @ r
    return r


check_rollout = checker(Exercise(
    name="rollout",
    title="attention rollout across the layers",
    signature="(attentions)",
    reference=lambda attentions: attention_rollout(attentions)[-1],
    reference_name="`coursekit.heads.limits.attention_rollout` (its last layer)",
    doc="Abnar & Zuidema 2020, Eq. 1. attentions (L, A, T, T) float, rows sum to one -> (T, T): average the "
    "heads, A_hat_l = 0.5 A_l + 0.5 I (the residual), and R = A_hat_L ... A_hat_2 A_hat_1 (layer 1 applied "
    "first, so it is the rightmost factor).",
    cases=lambda g: [
        Case("attentions (3, 2, 5, 5)", (_rows(g, 3, 2, 5, 5, sharp=2.0),)),
        Case("attentions (4, 3, 6, 6)", (_rows(g, 4, 3, 6, 6, sharp=3.0),)),
        Case("attentions (1, 4, 4, 4): one layer", (_rows(g, 1, 4, 4, 4),)),
    ],
    outputs=("rollout",),
    mistakes=(
        Mistake(
            what="there is no residual: you multiplied the raw attention maps.",
            hint="Model the residual connection: A_hat = 0.5 * A + 0.5 * torch.eye(T) for each layer, then "
            "multiply those.",
            output=lambda att: _rollout_with(att, residual=0.0),
        ),
        Mistake(
            what="you multiplied in the wrong order (A_hat_1 A_hat_2 ... A_hat_L).",
            hint="Layer 1 acts first, so it is the rightmost factor: start with r = A_hat_1 and update "
            "`r = A_hat_l @ r` for l = 2..L.",
            output=lambda att: _rollout_with(att, reverse=True),
        ),
        Mistake(
            what="you returned only the last layer's A_hat: rollout multiplies through all the layers.",
            hint="Loop over the layers: `r = a_hat[0]`, then `for l in a_hat[1:]: r = l @ r`.",
            output=lambda att: _rollout_with(att, last_only=True),
        ),
        Mistake(
            what="you averaged the layers instead of multiplying them.",
            hint="Attention flows through the layers one after another: that is a product of the A_hat matrices, "
            "not a mean.",
            output=lambda att: _rollout_with(att, mean_layers=True),
        ),
        Mistake(
            what="you added the identity without halving: each A_hat row sums to 2, so R's rows sum to 2^L.",
            hint="Use A_hat = 0.5 * A + 0.5 * I (or divide A + I by 2): its rows sum to one like A's.",
            output=lambda att: 2 ** att.shape[0] * _rollout_with(att),
        ),
    ),
    value_hint="a = attentions.mean(1); a_hat = 0.5 * a + 0.5 * torch.eye(T); r = a_hat[0]; then r = a_hat[l] @ r "
    "for l = 1..L-1.",
))


# ----------------------------------------------------------------------------- predict: previous-token heads rolled out
ROLLOUT_PROBE = dict(layers=6, tokens=12)
"""The prediction's experiment: six layers whose every head attends to the previous token."""

ROLLOUT_CHOICES = ("on itself", "on the previous token", "three tokens back", "on the first token")


def previous_token_attentions(layers: int = ROLLOUT_PROBE["layers"], tokens: int = ROLLOUT_PROBE["tokens"]) -> torch.Tensor:
    """(layers, 1, T, T): one head per layer, each token attending only to the token before it (the
    first token to itself), like Clark et al.'s previous-token heads taken to the limit."""
    a = torch.zeros(tokens, tokens)
    a[0, 0] = 1.0
    a[torch.arange(1, tokens), torch.arange(tokens - 1)] = 1.0
    return a.expand(layers, 1, tokens, tokens).clone()


def measure_previous_token_rollout(layers: int = ROLLOUT_PROBE["layers"], tokens: int = ROLLOUT_PROBE["tokens"]) -> Measured:
    """Roll out :func:`previous_token_attentions` with :func:`coursekit.heads.limits.attention_rollout`
    and say where the last token's row peaks."""
    r = attention_rollout(previous_token_attentions(layers, tokens))[-1, -1]  # (T,): the last token's row
    back = tokens - 1 - int(r.argmax())
    answer = {0: "on itself", 1: "on the previous token", 3: "three tokens back"}.get(back, "on the first token")
    shares = ", ".join(f"{k} back {float(r[tokens - 1 - k]):.3f}" for k in range(min(layers, tokens - 1) + 1))
    return Measured(answer, f"after {layers} layers the last token's rollout row is: {shares}; its peak is "
                    f"{back} token{'s' if back != 1 else ''} back.")


check_rollout_prediction = prediction_checker(Prediction(
    name="rollout_prediction",
    title="predict: rolling out previous-token heads",
    question=f"Every head of a {ROLLOUT_PROBE['layers']}-layer model attends only to the previous token. After "
    "rollout (A_hat = 0.5 A + 0.5 I, multiplied through the layers), where does the last token's row peak?",
    choices=ROLLOUT_CHOICES,
    measure=measure_previous_token_rollout,
    why="Each layer keeps half of a token's flow where it is (the residual) and moves half one step back. After "
    "six layers the number of steps back is a sum of six fair coin flips: binomial, peaked at three, with only "
    "1/64 left on the token itself. Every layer's raw map says 'the previous token'; the rollout says "
    "'a blur around three back'.",
))
