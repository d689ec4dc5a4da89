"""Chapter 2 exercises (attention in seq2seq): the additive score, the masked softmax, one attention step.

Learner functions, as the notebook's stubs declare them::

    def my_additive_score(query, keys, W_q, W_k, v):     # (B, Dq), (B, S, Dk), (A, Dq), (A, Dk), (A,) -> (B, S)
    def my_masked_softmax(scores, mask):                 # (..., S), bool broadcastable -> (..., S)
    def my_attention_step(query, memory, mask, score_fn):  # (B, H), (B, S, H), (B, S), fn -> (B, H), (B, S)

References: :class:`coursekit.seq2seq.AttentionScore` (``"additive"``),
:func:`coursekit.attention.masked_softmax`. Mask convention: bool, True = may attend.
Legend: B batch, S source length, H hidden width, A attention width.

By the time of these checks the notebook has imported ``torch`` and the learner
has written ``my_masked_softmax``; ``masked_softmax`` comes only with the last
solution, so the hints name the learner's own function or say how to import it.
"""

from __future__ import annotations

import torch

from ..attention import masked_softmax
from ..seq2seq import AttentionScore
from .compare import same
from .spec import Case, Exercise, Mistake, checker

__all__ = ["check_additive_score", "check_masked_softmax", "check_attention_step"]


# ----------------------------------------------------------------------------- additive score
def _additive_reference(query, keys, W_q, W_k, v):
    """Bahdanau's score through coursekit's own module, with its weights set to the given ones."""
    A, Dq = W_q.shape
    Dk = W_k.shape[1]
    with torch.random.fork_rng(devices=[]):  # building nn.Linear draws from the global RNG
        module = AttentionScore("additive", Dq, Dk, A)
    with torch.no_grad():
        module.W_q.weight.copy_(W_q)
        module.W_k.weight.copy_(W_k)
        module.W_k.bias.zero_()
        module.v.weight.copy_(v[None, :])
        return module(query[:, None, :], keys).squeeze(1)  # (B, 1, S) -> (B, S)


def _projected(query, keys, W_q, W_k):
    return query[:, None, :] @ W_q.T + keys @ W_k.T  # (B, 1, A) + (B, S, A) -> (B, S, A)


def _rows_sum_to_one(got, expected, case) -> bool:
    return (
        isinstance(got, torch.Tensor)
        and got.shape == expected.shape
        and got.is_floating_point()
        and bool((got >= 0).all())
        and torch.allclose(got.sum(-1), torch.ones((), dtype=got.dtype), atol=1e-4)
    )


def _additive_cases(g):
    def case(B, S, Dq, Dk, A):
        return (
            torch.randn(B, Dq, generator=g),
            torch.randn(B, S, Dk, generator=g),
            torch.randn(A, Dq, generator=g) / Dq**0.5,
            torch.randn(A, Dk, generator=g) / Dk**0.5,
            torch.randn(A, generator=g),
        )

    return [
        Case("B=2, S=5, Dq=Dk=4, A=3", case(2, 5, 4, 4, 3)),
        Case("B=3, S=4, Dq=6, Dk=5, A=7 (query and keys of different widths)", case(3, 4, 6, 5, 7)),
        Case("B=1, S=1 (a single key)", case(1, 1, 3, 2, 4)),
    ]


check_additive_score = checker(Exercise(
    name="additive_score",
    title="additive (Bahdanau) attention score",
    signature="(query, keys, W_q, W_k, v)",
    reference=_additive_reference,
    reference_name="`coursekit.seq2seq.AttentionScore('additive', ...)`",
    doc="""Bahdanau et al. 2015, App. A.1.2. query (B, Dq), keys (B, S, Dk), W_q (A, Dq), W_k (A, Dk),
    v (A,) -> scores (B, S) with ``scores[b, s] = v^T tanh(W_q query[b] + W_k keys[b, s])``.""",
    cases=_additive_cases,
    outputs=("scores",),
    mistakes=(
        Mistake(
            what="your scores have a trailing dimension of size 1: shape (B, S, 1) instead of (B, S).",
            hint="Multiplying by v as a (A, 1) matrix (or a `torch.nn.Linear(A, 1)`) leaves a last dimension of 1: "
            "`.squeeze(-1)` it, or use `@ v` with v of shape (A,).",
            test=lambda got, expected, case: isinstance(got, torch.Tensor) and got.shape == (*expected.shape, 1),
        ),
        Mistake(
            what="your scores are missing the tanh.",
            hint="Without the tanh, v^T (W_q q + W_k k) is linear: the score of every key shifts by the same "
            "amount as q changes, so the ranking of the keys can't depend on the query. Apply `torch.tanh` to "
            "W_q q + W_k k_s before the dot product with v.",
            output=lambda query, keys, W_q, W_k, v: _projected(query, keys, W_q, W_k) @ v,
        ),
        Mistake(
            what="you computed the dot product of the query and each key (Luong's dot score), not the additive "
            "score.",
            hint="The additive score projects both into the attention space, adds them, applies tanh and weighs "
            "the A results with v: `torch.tanh(q @ W_q.T + keys @ W_k.T) @ v` (with q broadcast over the keys).",
            output=lambda query, keys, W_q, W_k, v: (keys @ query[:, :, None]).squeeze(-1),  # q . k_s
        ),
        Mistake(
            what="you computed the dot product of the projected query and keys, not the additive score.",
            hint="Add the projections, don't multiply them: `torch.tanh(W_q q + W_k k_s)`, then weigh the A "
            "entries with v (`@ v`).",
            output=lambda query, keys, W_q, W_k, v: ((keys @ W_k.T) @ (query @ W_q.T)[:, :, None]).squeeze(-1),
        ),
        Mistake(
            what="you summed the A entries of tanh(W_q q + W_k k_s) instead of weighing them with v.",
            hint="The score is v^T tanh(...): multiply by v and sum, i.e. `torch.tanh(...) @ v`. The vector v is a "
            "learned parameter that says which attention features matter.",
            output=lambda query, keys, W_q, W_k, v: torch.tanh(_projected(query, keys, W_q, W_k)).sum(-1),
        ),
        Mistake(
            what="your output is attention weights (a softmax over the keys), not scores.",
            hint="This function returns the raw scores e_s = v^T tanh(W_q q + W_k k_s); the softmax (with the "
            "mask) comes next, in a separate step. Remove the softmax.",
            output=lambda *args: torch.softmax(_additive_reference(*args), dim=-1),
        ),
        Mistake(
            what="every row of your output sums to 1: these look like attention weights, not scores.",
            hint="Return the scores before any softmax; normalising them is the next step's job.",
            test=_rows_sum_to_one,
        ),
    ),
    value_hint="scores[b, s] = v · tanh(W_q @ query[b] + W_k @ keys[b, s]). With batches: "
    "`query @ W_q.T` is (B, A), `keys @ W_k.T` is (B, S, A); add them with the query unsqueezed to (B, 1, A).",
))


# ----------------------------------------------------------------------------- masked softmax
def _softmax_filled(scores, mask, fill, *, keep=None):
    """softmax with the scores where ``keep`` is False (default: where ``mask`` is False) set to ``fill``."""
    keep = mask if keep is None else keep
    return torch.softmax(scores.masked_fill(~keep, fill), dim=-1)


def _wrong_dim(got, expected, case) -> bool:
    scores, mask = case.args
    for dim in range(scores.dim() - 1):
        for wrong in (
            masked_softmax(scores, mask, dim=dim),
            torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=dim),
        ):
            if same(got, wrong, equal_nan=True):
                return True
    return False


def _masked_softmax_cases(g):
    scores1 = 2 * torch.randn(2, 3, 5, generator=g)
    mask1 = torch.tensor(
        [
            [[1, 1, 1, 0, 0], [1, 0, 1, 1, 0], [1, 1, 1, 1, 1]],
            [[0, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 1, 0, 1]],
        ],
        dtype=torch.bool,
    )
    scores2 = 2 * torch.randn(3, 2, 4, generator=g)
    lengths = torch.tensor([4, 2, 0])  # the third source is empty: all of its positions are padding
    mask2 = (torch.arange(4)[None, :] < lengths[:, None])[:, None, :]  # (3, 1, 4): broadcasts over the queries
    scores3 = 2 * torch.randn(4, 6, generator=g)
    mask3 = torch.arange(6)[None, :] < torch.tensor([6, 3, 1, 5])[:, None]  # (4, 6)
    return [
        Case("scores (2, 3, 5) with a mask of the same shape", (scores1, mask1)),
        Case("scores (3, 2, 4) with a padding mask (3, 1, 4); the third row is fully masked", (scores2, mask2)),
        Case("scores (4, 6) with a padding mask (4, 6)", (scores3, mask3)),
    ]


_INVERTED_HINT = (
    "In coursekit, `True` means *may attend* (as in `torch.nn.functional.scaled_dot_product_attention`). Fill "
    "the positions where the mask is False, i.e. use `~mask` in `masked_fill`."
)

check_masked_softmax = checker(Exercise(
    name="masked_softmax",
    title="masked softmax",
    signature="(scores, mask)",
    reference=masked_softmax,
    reference_name="`coursekit.attention.masked_softmax`",
    doc="""scores (..., S) float; mask bool, same shape or broadcastable to it, True = may attend.
    Weights: softmax over the last dimension with masked positions exactly 0; a fully masked
    row is all zeros (not NaN).""",
    cases=_masked_softmax_cases,
    outputs=("weights",),
    mistakes=(
        Mistake(
            what="your weights are a plain softmax: the mask has no effect.",
            hint="Before the softmax, set the scores at masked positions (where `mask` is False) to -inf: "
            "`scores.masked_fill(~mask, float('-inf'))`. exp(-inf) = 0, so they get no weight.",
            output=lambda scores, mask: torch.softmax(scores, dim=-1),
        ),
        Mistake(
            what="your mask is inverted: the weight goes to the positions where `mask` is False.",
            hint=_INVERTED_HINT,
            output=(
                lambda scores, mask: masked_softmax(scores, ~mask),
                lambda scores, mask: _softmax_filled(scores, mask, float("-inf"), keep=~mask),
            ),
        ),
        Mistake(
            what="the masked positions still get weight: you set their scores to 0, not -inf.",
            hint="A score of 0 is an ordinary score (exp(0) = 1), not \"no weight\". Fill the masked scores with "
            "`float('-inf')` so that exp gives exactly 0.",
            output=lambda scores, mask: _softmax_filled(scores, mask, 0.0),
        ),
        Mistake(
            what="you zeroed the masked weights after the softmax, so the rows no longer sum to 1.",
            hint="Mask the *scores* before the softmax (fill them with -inf), so the remaining weights are "
            "renormalised among the positions that may be attended.",
            output=lambda scores, mask: torch.softmax(scores, dim=-1) * mask,
        ),
        Mistake(
            what="a row in which every position is masked comes out as NaN; the reference gives zeros there.",
            hint="In a row where every position is masked, every score becomes -inf, and softmax computes "
            "exp(-inf) / sum(exp(-inf)) = 0 / 0 = NaN. Such rows (a padded query, an empty source) must get zero "
            "weight everywhere: after the softmax, set the masked positions to 0 with "
            "`weights.masked_fill(~mask, 0.0)` (or `torch.nan_to_num(weights, nan=0.0)`).",
            output=lambda scores, mask: _softmax_filled(scores, mask, float("-inf")),
        ),
        Mistake(
            what="a row in which every position is masked comes out uniform (1/S each); the reference gives zeros.",
            hint="Filling with a large negative number instead of -inf makes a fully masked row all equal, so "
            "softmax spreads the weight evenly over positions nobody may attend. After the softmax, set masked "
            "positions to 0: `weights.masked_fill(~mask, 0.0)`.",
            output=lambda scores, mask: _softmax_filled(scores, mask, -1e9),
        ),
        Mistake(
            what="your softmax runs over the wrong dimension: the weights should sum to 1 along the last one (the "
            "keys).",
            hint="Use `dim=-1`: the last dimension indexes the keys, whatever the number of leading (batch, head, "
            "query) dimensions.",
            test=_wrong_dim,
        ),
    ),
    value_hint="Fill the masked scores with -inf, take the softmax over the last dimension, then set the masked "
    "positions to 0 (which also turns a fully masked row's NaNs into zeros).",
))


# ----------------------------------------------------------------------------- attention step
def _checked_scores(query, memory, scores):
    if not (isinstance(query, torch.Tensor) and query.dim() == 2 and isinstance(memory, torch.Tensor)
            and memory.dim() == 3 and memory.shape[0] == query.shape[0] and memory.shape[2] == query.shape[1]):
        shapes = [tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__ for x in (query, memory)]
        raise ValueError(
            f"score_fn(query, memory) expects query (B, H) and memory (B, S, H), got {shapes[0]} and {shapes[1]}"
        )
    return scores()


def dot_score(query: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
    """The dot score: query (B, H), memory (B, S, H) -> (B, S)."""
    return _checked_scores(query, memory, lambda: (memory @ query[:, :, None]).squeeze(-1))


class BilinearScore:
    """Luong's general score ``q^T W m_s`` with a fixed W: query (B, H), memory (B, S, H) -> (B, S)."""

    def __init__(self, W: torch.Tensor):
        self.W = W

    def __call__(self, query: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        return _checked_scores(query, memory, lambda: (memory @ self.W.T @ query[:, :, None]).squeeze(-1))

    def __repr__(self) -> str:
        return f"BilinearScore(W of shape {tuple(self.W.shape)})"


def _step(weights, memory):
    return (weights[:, :, None] * memory).sum(1), weights  # (B, S, 1) * (B, S, H) -> (B, H)


def _attention_reference(query, memory, mask, score_fn):
    weights = masked_softmax(score_fn(query, memory), mask)  # (B, S)
    return _step(weights, memory)


def _attention_raw_scores(query, memory, mask, score_fn, *, zero_masked=False):
    scores = score_fn(query, memory)
    weights = masked_softmax(scores, mask)
    scores = scores.masked_fill(~mask, 0.0) if zero_masked else scores
    return (scores[:, :, None] * memory).sum(1), weights


def _mean_of_memory(got, expected, case) -> bool:
    query, memory, mask, score_fn = case.args
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return False
    means = (memory.mean(1), (memory * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True))
    return any(same(got[0], m) for m in means)


def _wrong_axis(got, expected, case) -> bool:
    """The weights are right, but the context is not a (B, H) sum over the keys."""
    query, memory, mask, score_fn = case.args
    if not isinstance(got, (tuple, list)) or len(got) != 2 or not same(got[1], expected[1]):
        return False
    B, S, H = memory.shape
    return isinstance(got[0], torch.Tensor) and got[0].shape != (B, H)


def _ignores_score_fn(got, expected, case) -> bool:
    query, memory, mask, score_fn = case.args
    if score_fn is dot_score:
        return False
    return same(got, _attention_reference(query, memory, mask, dot_score))


def _attention_cases(g):
    B, S, H = 3, 5, 4

    def case(B, S, H, lengths):
        return (
            torch.randn(B, H, generator=g),
            torch.randn(B, S, H, generator=g),
            torch.arange(S)[None, :] < torch.tensor(lengths)[:, None],
        )

    W = torch.randn(H + 2, H + 2, generator=g) / (H + 2) ** 0.5
    return [
        Case(
            f"B={B}, S={S}, H={H}, source lengths 5, 3, 2, with the dot score", (*case(B, S, H, [5, 3, 2]), dot_score)
        ),
        Case(
            f"B=2, S=3, H={H + 2}, source lengths 3, 1, with a general score q^T W m",
            (*case(2, 3, H + 2, [3, 1]), BilinearScore(W)),
        ),
        Case("B=1, S=1, H=3 (a single key, so all the weight goes to it)", (*case(1, 1, 3, [1]), dot_score)),
    ]


check_attention_step = checker(Exercise(
    name="attention_step",
    title="one attention step: scores, weights, context",
    signature="(query, memory, mask, score_fn)",
    reference=_attention_reference,
    reference_name="score_fn + `coursekit.attention.masked_softmax` + a weighted sum",
    doc="""query (B, H), memory (B, S, H), mask (B, S) bool (True = a real token), and
    ``score_fn(query, memory) -> (B, S)``. context (B, H), weights (B, S).""",
    cases=_attention_cases,
    outputs=("context", "weights"),
    mistakes=(
        Mistake(
            what="your weights are right, but the context weighs the memory by the raw scores, not by the weights.",
            hint="The context is the weighted average of the memory with the *normalised* weights: "
            "`context = (weights.unsqueeze(-1) * memory).sum(1)` (or `torch.bmm(weights.unsqueeze(1), memory)"
            ".squeeze(1)`).",
            output=(_attention_raw_scores, lambda *args: _attention_raw_scores(*args, zero_masked=True)),
        ),
        Mistake(
            what="your softmax normalises over the batch (dim 0), so each key's weights sum to 1 across sequences.",
            hint="Each sequence attends over its own keys: take the softmax over the key dimension, `dim=-1` "
            "(size S).",
            output=lambda query, memory, mask, score_fn: _step(
                masked_softmax(score_fn(query, memory), mask, dim=0), memory
            ),
        ),
        Mistake(
            what="the padded positions get weight: the mask is ignored.",
            hint="Give the scores and the mask to your masked softmax from the exercise above "
            "(`my_masked_softmax(scores, mask)`), or fill the scores where `~mask` with -inf before "
            "`torch.softmax`, so padding gets exactly zero weight.",
            output=lambda query, memory, mask, score_fn: _step(torch.softmax(score_fn(query, memory), -1), memory),
        ),
        Mistake(
            what="your context is the plain mean of the memory: uniform weights, whatever the query.",
            hint="The context is an average weighted by the attention weights, so it changes with the query: "
            "`(weights.unsqueeze(-1) * memory).sum(1)`.",
            test=_mean_of_memory,
        ),
        Mistake(
            what="your weights are right, but the context does not sum the weighted memory over the keys: it "
            "should be (B, H), the sum over S.",
            hint="memory is (B, S, H) and weights (B, S): line the weights up with the key axis, "
            "`weights.unsqueeze(-1) * memory` is (B, S, H), then sum over dim 1 (S), not dim -1 (H). "
            "(`weights @ memory` multiplies a (B, S) matrix by each memory and gives (B, B, H).)",
            test=_wrong_axis,
        ),
        Mistake(
            what="your answer is right for the dot score but not for the `score_fn` this case passes.",
            hint="Compute the scores with the function you're given, `scores = score_fn(query, memory)`, instead "
            "of a fixed formula: the same step then works for dot, general and additive scores.",
            test=_ignores_score_fn,
        ),
    ),
    value_hint="scores = score_fn(query, memory) (B, S); weights = masked softmax over S; "
    "context = sum over s of weights[:, s] * memory[:, s] (B, H).",
))
