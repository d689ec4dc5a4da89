"""Chapter 6 exercises (GPT): the shifted next-token loss, one BPE merge, the top-k and top-p
filters, a sampling loop with a KV cache assembled from the learner's filters, and a
"predict, then run" question on the work of generating without a cache.

Learner functions, as the notebook's stubs declare them::

    def my_lm_loss(logits, ids):                 # (B, T, V) float, (B, T) long -> scalar loss
    def my_bpe_merge(ids, pair, new_id):         # list of ints, (int, int), int -> list of ints
    def my_top_k_filter(logits, k):              # (..., V) float, int -> (..., V), -inf where removed
    def my_top_p_filter(logits, p):              # (..., V) float, float in (0, 1] -> (..., V)
    def my_generate(model, idx, max_new_tokens, temperature, top_k, top_p, seed)
        # GPT, (B, T) long, int, float, int, float, int -> (B, T + max_new_tokens) long
    def my_cache_prediction():                   # -> "about 2x", "about 4x" or "about 8x"

References: the shifted cross-entropy of :func:`coursekit.gpt.lm_loss`; :func:`coursekit.bpe.merge_pair`
(the merge step of Sennrich et al. 2016, Algorithm 1); :func:`coursekit.gpt.top_k_filter` and :func:`coursekit.gpt.top_p_filter`;
:meth:`coursekit.gpt.GPT.generate` with the cache and a generator seeded with ``seed``; the
prediction is measured by :func:`coursekit.gpt.experiments.generation_flops`.
Legend: B batch, T length, V vocabulary.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..bpe import merge_pair
from ..gpt import GPT, GPTConfig, top_k_filter, top_p_filter
from ..gpt.experiments import generation_flops
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_lm_loss",
    "check_bpe_merge",
    "check_top_k_filter",
    "check_top_p_filter",
    "check_generate",
    "check_cache_prediction",
]


# ----------------------------------------------------------------------------- the shifted loss
def _ce(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def _lm_loss_reference(logits, ids):
    return _ce(logits[:, :-1], ids[:, 1:])  # position t predicts token t + 1


def _lm_cases(g):
    def case(B, T, V):
        return (torch.randn(B, T, V, generator=g) * 2, torch.randint(0, V, (B, T), generator=g))

    return [
        Case("B=2, T=6, V=11", case(2, 6, 11)),
        Case("B=1, T=9, V=7", case(1, 9, 7)),
        Case("B=3, T=2, V=5 (one prediction per sequence)", case(3, 2, 5)),
    ]


check_lm_loss = checker(Exercise(
    name="lm_loss",
    title="the next-token loss",
    signature="(logits, ids)",
    reference=_lm_loss_reference,
    reference_name="the shifted cross-entropy of `coursekit.gpt.lm_loss`",
    doc="Radford et al. 2018, Sec. 3.1, Eq. 1. logits (B, T, V), the model's output for ids (B, T) -> the mean "
    "cross-entropy of predicting ids[:, t + 1] from logits[:, t], over t = 0 .. T-2.",
    cases=_lm_cases,
    outputs=("loss",),
    mistakes=(
        Mistake(
            what="you scored each position against its own token: there is no shift, so the model is asked to "
            "copy its input, which attention can do without learning any language.",
            hint="Position t predicts the *next* token: compare `logits[:, :-1]` with `ids[:, 1:]`.",
            output=lambda logits, ids: _ce(logits, ids),
        ),
        Mistake(
            what="you shifted the wrong way: logits[:, 1:] against ids[:, :-1] predicts the previous token.",
            hint="Drop the last position of the logits (nothing follows it) and the first token of the targets: "
            "`logits[:, :-1]` with `ids[:, 1:]`.",
            output=lambda logits, ids: _ce(logits[:, 1:], ids[:, :-1]),
        ),
        Mistake(
            what="you cut the last position but did not shift the targets: logits[:, :-1] against ids[:, :-1].",
            hint="The targets move one step left: `ids[:, 1:]`.",
            output=lambda logits, ids: _ce(logits[:, :-1], ids[:, :-1]),
        ),
        Mistake(
            what="your loss is the sum over positions, not the mean.",
            hint="Average over every predicted token (cross_entropy's default `reduction='mean'`), so the loss does "
            "not grow with B and T and exp(loss) is a perplexity.",
            output=lambda logits, ids: F.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="sum"),
        ),
        Mistake(
            what="you applied a softmax before the cross-entropy, which applies its own log-softmax.",
            hint="`torch.nn.functional.cross_entropy` takes raw logits: pass them without `softmax`.",
            output=lambda logits, ids: _ce(logits[:, :-1].softmax(-1), ids[:, 1:]),
        ),
    ),
    value_hint="F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1)): the mean over all "
    "B (T - 1) predictions.",
))


# ----------------------------------------------------------------------------- one BPE merge
def _merge_right_to_left(ids, pair, new_id):
    return merge_pair(ids[::-1], tuple(pair)[::-1], new_id)[::-1]


def _merge_first_only(ids, pair, new_id):
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == tuple(pair):
            return ids[:i] + [new_id] + ids[i + 2:]
    return list(ids)


def _merge_overlapping(ids, pair, new_id):
    """Every position that starts the pair becomes new_id, and its right neighbour is dropped only
    when that neighbour does not start a pair itself: `a a a` -> `aa aa`."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 1 if (i + 2 < len(ids) and (ids[i + 1], ids[i + 2]) == tuple(pair)) else 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _merge_keep_both(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            out += [new_id, ids[i + 1]]
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


check_bpe_merge = checker(Exercise(
    name="bpe_merge",
    title="one BPE merge",
    signature="(ids, pair, new_id)",
    reference=lambda ids, pair, new_id: merge_pair(ids, tuple(pair), new_id),
    reference_name="`coursekit.bpe.merge_pair` (the merge step of coursekit's BPE trainer and encoder)",
    doc="Sennrich et al. 2016, Algorithm 1. ids a list of ints, pair (a, b), new_id an int -> a new list with "
    "every non-overlapping occurrence of a followed by b, scanned left to right, replaced by new_id.",
    cases=lambda g: [
        Case("ids [1, 2, 3, 1, 2], pair (1, 2)", ([1, 2, 3, 1, 2], (1, 2), 9)),
        Case("three in a row: ids [5, 5, 5, 7], pair (5, 5)", ([5, 5, 5, 7], (5, 5), 8)),
        Case("four in a row: ids [4, 4, 4, 4], pair (4, 4)", ([4, 4, 4, 4], (4, 4), 6)),
        Case("no occurrence: ids [1, 3, 2], pair (1, 2)", ([1, 3, 2], (1, 2), 9)),
        Case("the pair reversed is not the pair: ids [2, 1, 2, 1], pair (1, 2)", ([2, 1, 2, 1], (1, 2), 7)),
    ],
    outputs=("merged",),
    mistakes=(
        Mistake(
            what="you merged only the first occurrence of the pair.",
            hint="A merge rewrites *every* occurrence: keep scanning after the first one.",
            output=_merge_first_only,
        ),
        Mistake(
            what="your occurrences overlap: in `a a a` both (a, a) pairs were merged, which uses the middle `a` "
            "twice.",
            hint="After a merge, skip *both* symbols of the pair (`i += 2`): `a a a` becomes `aa a`.",
            output=_merge_overlapping,
        ),
        Mistake(
            what="you scanned from the right: `a a a` became `a aa`, but BPE merges left to right.",
            hint="Walk `i` from 0 upwards and merge at the first place the pair starts (`aa a`).",
            output=_merge_right_to_left,
        ),
        Mistake(
            what="you added new_id but kept the pair's second symbol.",
            hint="The new token replaces both symbols of the pair: append `new_id` and move past two positions.",
            output=_merge_keep_both,
        ),
    ),
    value_hint="Walk through ids with an index i: if ids[i], ids[i + 1] is the pair, append new_id and move on by 2, "
    "else append ids[i] and move on by 1.",
))


# ----------------------------------------------------------------------------- top-k
def _top_k_cases(g):
    tie = torch.tensor([[1.0, 3.0, 2.0, 2.0, 0.5, -1.0]])  # k = 2: the 2.0s tie at the second place
    return [
        Case("logits (2, 10), k=3", (torch.randn(2, 10, generator=g) * 2, 3)),
        Case("logits (4, 7), k=1 (greedy)", (torch.randn(4, 7, generator=g) * 2, 1)),
        Case("a tie at the k-th place: logits [1, 3, 2, 2, 0.5, -1], k=2", (tie, 2)),
        Case("k equal to V keeps everything: logits (2, 5), k=5", (torch.randn(2, 5, generator=g), 5)),
        Case("logits (2, 3, 8) with two leading dimensions, k=2", (torch.randn(2, 3, 8, generator=g), 2)),
    ]


def _top_k_by_index(logits, k):
    """Exactly k tokens per row, by topk's indices: ties at the k-th place are cut."""
    idx = torch.topk(logits, min(k, logits.shape[-1]), dim=-1).indices
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, idx, True)
    return logits.masked_fill(~keep, float("-inf"))


def _top_k_fill(value):
    def fn(logits, k):
        kth = torch.topk(logits, min(k, logits.shape[-1]), dim=-1).values[..., -1:]
        return logits.masked_fill(logits < kth, value)
    return fn


check_top_k_filter = checker(Exercise(
    name="top_k_filter",
    title="the top-k filter",
    signature="(logits, k)",
    reference=lambda logits, k: top_k_filter(logits, k),
    reference_name="`coursekit.gpt.top_k_filter`",
    doc="Fan et al. 2018. logits (..., V) float, k >= 1 -> logits with -inf at every token below the k-th largest "
    "of its row (tokens tied with the k-th largest are kept), the kept logits unchanged.",
    cases=_top_k_cases,
    outputs=("filtered",),
    mistakes=(
        Mistake(
            what="you set the removed logits to 0, not -inf: after the softmax they keep a share of the probability.",
            hint="exp(0) = 1 is not zero probability: fill with `float('-inf')`, whose exp is exactly 0.",
            output=_top_k_fill(0.0),
        ),
        Mistake(
            what="where several tokens tie at the k-th place you kept only some of them.",
            hint="Compare every logit with the k-th largest value, `torch.topk(logits, k, dim=-1).values[..., -1:]`, "
            "and keep all logits >= it: tied tokens are equally good, so all of them stay (as in transformers' "
            "TopKLogitsWarper).",
            output=_top_k_by_index,
        ),
        Mistake(
            what="you kept the k smallest logits instead of the k largest.",
            hint="`torch.topk` returns the largest values by default; keep the logits >= the k-th largest.",
            output=lambda logits, k: -_top_k_fill(float("inf"))(-logits, k),
        ),
        Mistake(
            what="you kept one token too many (k + 1 per row).",
            hint="The k-th largest value is `torch.topk(logits, k, dim=-1).values[..., -1:]` (index k - 1, not k).",
            output=lambda logits, k: top_k_filter(logits, min(k + 1, logits.shape[-1])),
        ),
        Mistake(
            what="you returned probabilities (a softmax) instead of filtered logits.",
            hint="Return the logits themselves with -inf where removed; the sampler applies the softmax later.",
            output=lambda logits, k: top_k_filter(logits, k).softmax(-1),
        ),
    ),
    value_hint="kth = torch.topk(logits, k, dim=-1).values[..., -1:]; return logits.masked_fill(logits < kth, "
    "float('-inf')).",
))


# ----------------------------------------------------------------------------- top-p
def _top_p_cases(g):
    tie = torch.tensor([[2.0, 1.0, 1.0, 0.0, -1.0]])  # p = 0.6: the boundary falls inside the tie of the 1.0s
    return [
        Case("logits (3, 12), p=0.9", (torch.randn(3, 12, generator=g) * 2, 0.9)),
        Case("logits (2, 8), p=0.5", (torch.randn(2, 8, generator=g) * 3, 0.5)),
        Case("a tiny p keeps the most likely token: logits (2, 6), p=0.01", (torch.randn(2, 6, generator=g) * 2, 0.01)),
        Case("p=1 keeps every token: logits (1, 7)", (torch.randn(1, 7, generator=g), 1.0)),
        Case("a tie at the boundary: logits [2, 1, 1, 0, -1], p=0.6", (tie, 0.6)),
        Case("logits (2, 2, 9) with two leading dimensions, p=0.8", (torch.randn(2, 2, 9, generator=g) * 2, 0.8)),
    ]


def _nucleus(logits, p, *, crossing=True, sort=True, by_logit=False, ascending=False, scatter=True, fill=None):
    """Top-p written the way learners write it, with one thing done differently."""
    order = torch.sort(logits, dim=-1, descending=not ascending) if sort else None
    values, idx = order if sort else (logits, torch.arange(logits.shape[-1]).expand_as(logits))
    mass = values if by_logit else values.softmax(-1)
    cum = mass.cumsum(-1)
    remove = (cum - mass >= p) if crossing else (cum >= p)  # crossing: keep the token that crosses p
    out_sorted = values.masked_fill(remove, float("-inf") if fill is None else fill)
    if not scatter:
        return out_sorted
    return torch.empty_like(logits).scatter(-1, idx, out_sorted)


check_top_p_filter = checker(Exercise(
    name="top_p_filter",
    title="the top-p (nucleus) filter",
    signature="(logits, p)",
    reference=lambda logits, p: top_p_filter(logits, p),
    reference_name="`coursekit.gpt.top_p_filter`",
    doc="Holtzman et al. 2020, Sec. 3.1. logits (..., V) float, 0 < p <= 1 -> logits with -inf outside the "
    "smallest set of most probable tokens whose probability reaches p (the token that crosses p is kept, and "
    "tokens tied with the least probable kept token too), the kept logits unchanged, in vocabulary order.",
    cases=_top_p_cases,
    outputs=("filtered",),
    mistakes=(
        Mistake(
            what="you removed the token that crosses p: the kept tokens' mass is below p (and a small p keeps "
            "nothing at all).",
            hint="Keep a token while the mass *before* it is below p: remove where `cumsum - probs >= p` (sorted "
            "descending), not where `cumsum >= p`. The most probable token is then always kept.",
            output=lambda logits, p: _nucleus(logits, p, crossing=False),
        ),
        Mistake(
            what="you accumulated the mass in vocabulary order, without sorting by probability first.",
            hint="Sort each row descending first (`torch.sort(logits, dim=-1, descending=True)`), accumulate, then "
            "put the result back in vocabulary order (`scatter` with the sort's indices).",
            output=lambda logits, p: _nucleus(logits, p, sort=False),
        ),
        Mistake(
            what="you accumulated the logits themselves instead of probabilities.",
            hint="p is a share of probability: take `softmax(-1)` of the sorted logits before the `cumsum`.",
            output=lambda logits, p: _nucleus(logits, p, by_logit=True),
        ),
        Mistake(
            what="you sorted ascending, so the filter kept the least likely tokens.",
            hint="Sort with `descending=True`: the nucleus is made of the *most* probable tokens.",
            output=lambda logits, p: _nucleus(logits, p, ascending=True),
        ),
        Mistake(
            what="your output is in sorted order, not in the vocabulary's order.",
            hint="Put the filtered values back where they came from: `torch.empty_like(logits).scatter(-1, idx, "
            "filtered_sorted)`, with `idx` the indices the sort returned.",
            output=lambda logits, p: _nucleus(logits, p, scatter=False),
        ),
        Mistake(
            what="you set the removed logits to 0, not -inf: after the softmax they keep a share of the probability.",
            hint="Fill with `float('-inf')`, whose exp is exactly 0.",
            output=lambda logits, p: _nucleus(logits, p, fill=0.0),
        ),
        Mistake(
            what="where tokens tie at the boundary you kept only some of them.",
            hint="Tied tokens are equally likely, so keep them all: find the smallest kept logit of each row and "
            "keep every logit >= it, e.g. `logits.masked_fill(logits < threshold, float('-inf'))`.",
            test=lambda got, expected, case: isinstance(got, torch.Tensor) and got.shape == expected.shape
            and torch.isfinite(got).sum() < torch.isfinite(expected).sum()
            and torch.equal(torch.isfinite(got), torch.isfinite(_nucleus(*case.args))),
        ),
    ),
    value_hint="Sort descending, probs = sorted.softmax(-1), remove where probs.cumsum(-1) - probs >= p, put the "
    "-infs back in vocabulary order; keep tokens tied with the last kept one.",
))


# ----------------------------------------------------------------------------- assembled: a sampling loop
GENERATE_CONFIG = GPTConfig(vocab_size=40, n_positions=96, n_embd=16, n_layer=2, n_head=2, initializer_range=0.5)
"""The small random GPT the generation check runs (weights from a fixed seed, drawn large so that its
next-token distributions are far from uniform and the temperature and filters matter)."""


def _tiny_gpt(seed: int) -> GPT:
    torch.manual_seed(seed)  # inside the checker's fork_rng: the global RNG is restored afterwards
    return GPT(GENERATE_CONFIG).eval()


def _generate_reference(model, idx, max_new_tokens, temperature, top_k, top_p, seed):
    return model.generate(idx, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p, use_cache=True,
                          generator=torch.Generator().manual_seed(seed))


def _loop(*, order="kp", scale="first", position=-1, cache=True, feed="new", pick="sample"):
    """A sampling loop with one thing done differently (the mistakes the check names)."""

    def generate(model, idx, max_new_tokens, temperature, top_k, top_p, seed):
        gen = torch.Generator().manual_seed(seed)
        out, kv = idx, (model.new_cache() if cache else None)
        for step in range(max_new_tokens):
            x = out if (step == 0 or feed == "all") else out[:, -1:]
            logits = model(x, cache=kv).logits[:, position]  # (B, V)
            if scale == "first":
                logits = logits / temperature
            filters = {"k": lambda z: top_k_filter(z, top_k), "p": lambda z: top_p_filter(z, top_p)}
            for f in order:
                logits = filters[f](logits)
            if scale == "last":
                logits = logits / temperature
            if pick == "argmax":
                nxt = logits.argmax(-1)
            else:
                nxt = torch.multinomial(logits.softmax(-1), 1, generator=gen).squeeze(-1)
            out = torch.cat([out, nxt[:, None]], dim=1)
        return out

    return generate


def _generate_cases(g):
    model = _tiny_gpt(0)
    return [
        Case("one prompt of 5 tokens, 6 new tokens, T=0.8, k=10, p=0.9",
             (model, torch.randint(0, 40, (1, 5), generator=g), 6, 0.8, 10, 0.9, 0)),
        Case("two prompts of 3 tokens, 6 new tokens, T=1.5, k=20, p=0.7",
             (model, torch.randint(0, 40, (2, 3), generator=g), 6, 1.5, 20, 0.7, 1)),
        Case("one prompt of 4 tokens, 5 new tokens, T=0.5, k=5, p=0.95",
             (model, torch.randint(0, 40, (1, 4), generator=g), 5, 0.5, 5, 0.95, 2)),
    ]


check_generate = checker(Exercise(
    name="generate",
    title="a sampling loop with a KV cache, assembled from your filters",
    signature="(model, idx, max_new_tokens, temperature, top_k, top_p, seed)",
    reference=_generate_reference,
    reference_name="`GPT.generate(..., use_cache=True)` with a generator seeded the same way",
    doc="""model a coursekit GPT; idx (B, T) long; -> (B, T + max_new_tokens) long. Each step: logits of the last
    position / temperature, then top-k, then top-p (transformers' order), a draw with
    torch.multinomial(softmax, 1, generator=torch.Generator().manual_seed(seed)); the first step feeds the prompt
    into model.new_cache(), later steps only the newest token.""",
    cases=_generate_cases,
    outputs=("ids",),
    mistakes=(
        Mistake(
            what="you applied top-p before top-k.",
            hint="The order is temperature, then top-k, then top-p (transformers' and coursekit's): top-p's mass is "
            "measured on what top-k kept.",
            output=_loop(order="pk"),
        ),
        Mistake(
            what="you divided by the temperature after the filters: top-p then measured the mass of the "
            "unscaled distribution.",
            hint="Scale first: `logits / temperature`, then `my_top_k_filter`, then `my_top_p_filter`.",
            output=_loop(scale="last"),
        ),
        Mistake(
            what="you left out the temperature.",
            hint="Divide the last position's logits by `temperature` before the filters.",
            output=_loop(scale="none"),
        ),
        Mistake(
            what="you sampled from the first position's logits, not the last one's.",
            hint="The next token is predicted by the last position: `model(x, cache=cache).logits[:, -1]`.",
            output=_loop(position=0),
        ),
        Mistake(
            what="you fed the whole sequence again at every step while also passing the cache: the cached "
            "positions were counted twice.",
            hint="With a cache, feed the prompt once, then only the newest token each step: `out[:, -1:]`.",
            output=_loop(feed="all"),
        ),
        Mistake(
            what="after the first step you fed only the newest token but without the cache, so the model saw "
            "one token and no context.",
            hint="Create `cache = model.new_cache()` once and pass it to every call: `model(x, cache=cache)`.",
            output=_loop(cache=False),
        ),
        Mistake(
            what="you took the argmax (greedy decoding) instead of sampling.",
            hint="Draw with `torch.multinomial(logits.softmax(-1), 1, generator=generator)`.",
            output=_loop(pick="argmax"),
        ),
    ),
    value_hint="generator = torch.Generator().manual_seed(seed); cache = model.new_cache(); each step: logits = "
    "model(x, cache=cache).logits[:, -1] / temperature, then my_top_k_filter, then my_top_p_filter, then "
    "torch.multinomial(logits.softmax(-1), 1, generator=generator); x = the new token.",
))


# ----------------------------------------------------------------------------- predict: generation without a cache
PREDICTION_CONFIG = GPTConfig(vocab_size=64, n_positions=64, n_embd=32, n_layer=2, n_head=4)
"""The model whose generation work the prediction counts (its weights do not change the count)."""


def measure_cache_work(short: int = 6) -> Measured:
    """Count the work of generating ``short`` and ``2 * short`` tokens after a one-token prompt,
    without and with the cache (:func:`coursekit.gpt.experiments.generation_flops`)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = GPT(PREDICTION_CONFIG).eval()
        work = {c: (generation_flops(model, short, use_cache=c), generation_flops(model, 2 * short, use_cache=c))
                for c in (False, True)}
    ratio = {c: b / a for c, (a, b) in work.items()}
    answer = min(("about 2x", 2), ("about 4x", 4), ("about 8x", 8), key=lambda c: abs(math.log(ratio[False] / c[1])))[0]
    return Measured(
        answer,
        f"without the cache, {2 * short} tokens took {ratio[False]:.1f} times the floating-point operations of {short} "
        f"({work[False][0]:,} -> {work[False][1]:,}); with the cache, {ratio[True]:.1f} times.",
    )


check_cache_prediction = prediction_checker(Prediction(
    name="cache_prediction",
    title="predict: the work of generating without a KV cache",
    question="Without a KV cache, generating twice as many tokens (after a one-token prompt) takes about how many "
    "times the work: 2x, 4x or 8x?",
    choices=("about 2x", "about 4x", "about 8x"),
    measure=measure_cache_work,
    why="Without a cache, step t runs the model over all t tokens of the prefix again, so n steps cost about "
    "1 + 2 + ... + n = n(n + 1)/2 token-passes: doubling n about quadruples the work. With the cache each step "
    "processes one new token (plus attention over the t cached keys, small at this length), so the work about "
    "doubles.",
))
