"""Chapter 2 exercises (attention in seq2seq): the additive score, the masked softmax, one attention
step, one Bahdanau decoder step assembled from those three, and a "predict, then run" question on
local-m attention and the translation task's verb.

Learner functions, as the notebook's stubs declare them::

    def my_additive_score(query, keys, W_q, W_k, v):     # (B, Dq), (B, S, Dk), (A, Dq), (A, Dk), (A,) -> (B, S)
    def my_masked_softmax(scores, mask):                 # (..., S), bool broadcastable -> (..., S)
    def my_attention_step(query, memory, mask, score_fn):  # (B, H), (B, S, H), (B, S), fn -> (B, H), (B, S)
    def my_decoder_step(y_prev, s_prev, memory, mask, weights)  # -> logits (B, V), state (B, H), weights (B, S)
    def my_local_m_prediction():                         # -> "the source verb", "the subject" or "the last source word"

References: :class:`coursekit.seq2seq.AttentionScore` (``"additive"``),
:func:`coursekit.attention.masked_softmax`, :meth:`coursekit.seq2seq.Seq2Seq.step` (Bahdanau
wiring), :func:`coursekit.seq2seq.local_m_centre_at_verb`. Mask convention: bool, True = may
attend. Legend: B batch, S source length, H hidden width, A attention width, V vocabulary, E
embedding width.

By the time of these checks the notebook has imported ``torch`` and the learner
has written ``my_masked_softmax``; ``masked_softmax`` comes only with the last
solution, so the hints name the learner's own function or say how to import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..attention import masked_softmax
from ..seq2seq import AttentionScore, Seq2Seq, Seq2SeqConfig, local_m_centre_at_verb
from .compare import same
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_additive_score",
    "check_masked_softmax",
    "check_attention_step",
    "DecoderWeights",
    "check_decoder_step",
    "measure_local_m_at_verb",
    "check_local_m_prediction",
]


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


# ----------------------------------------------------------------------------- decoder step (assembled)
@dataclass(frozen=True, eq=False)
class DecoderWeights:
    """The weights of one Bahdanau decoder step, as plain tensors (and the GRU cell).

    embed (V, E): target embeddings. W_q (A, H), W_k (A, H), v (A,): the additive score
    ``v^T tanh(W_q s + W_k h_j)``. cell: a ``torch.nn.GRUCell(E + H, H)`` whose input is
    ``[embedding; context]``. W_c (H, 2H), b_c (H,): the readout ``tanh(W_c [s; c] + b_c)``.
    W_o (V, H), b_o (V,): the output layer. Legend: V target vocabulary, E embedding width,
    H hidden width, A attention width.
    """

    embed: torch.Tensor
    W_q: torch.Tensor
    W_k: torch.Tensor
    v: torch.Tensor
    cell: torch.nn.GRUCell
    W_c: torch.Tensor
    b_c: torch.Tensor
    W_o: torch.Tensor
    b_o: torch.Tensor

    _TENSORS = ("embed", "W_q", "W_k", "v", "W_c", "b_c", "W_o", "b_o")

    @classmethod
    def from_model(cls, model: Seq2Seq) -> "DecoderWeights":
        """Copies of a ``Seq2Seq(decoder="bahdanau", attention="additive")`` GRU model's decoder weights.
        The model's key projection must have a zero bias (the exercise's score has none)."""
        cfg = model.cfg
        if (cfg.decoder, cfg.attention, cfg.cell) != ("bahdanau", "additive", "gru") or cfg.window or cfg.hard:
            raise ValueError(f"needs a global additive Bahdanau GRU decoder, got {cfg}")
        score = model.attention.score
        if bool(score.W_k.bias.detach().abs().max() > 0):
            raise ValueError("the model's W_k has a non-zero bias, which the exercise's additive score leaves out")
        with torch.random.fork_rng(devices=[]):  # building the cell draws from the global RNG
            cell = torch.nn.GRUCell(cfg.emb_dim + cfg.hidden_size, cfg.hidden_size)
        cell.load_state_dict(model.cell.state_dict())
        c = lambda t: t.detach().clone()  # noqa: E731
        return cls(
            c(model.embed.weight), c(score.W_q.weight), c(score.W_k.weight), c(score.v.weight[0]), cell.requires_grad_(False),
            c(model.combine.weight), c(model.combine.bias), c(model.out.weight), c(model.out.bias),
        )

    @classmethod
    def random(cls, V: int = 7, E: int = 4, H: int = 6, A: int = 3, *, seed: int = 0) -> "DecoderWeights":
        """Random weights of a small decoder (coursekit's initialisation, seeded; the global RNG is left
        alone), for trying a decoder step out."""
        cfg = Seq2SeqConfig(src_vocab_size=5, tgt_vocab_size=V, emb_dim=E, hidden_size=H, attn_dim=A,
                            attention="additive", decoder="bahdanau")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = Seq2Seq(cfg)
        with torch.no_grad():
            model.attention.score.W_k.bias.zero_()
        return cls.from_model(model)

    def to_model(self) -> Seq2Seq:
        """A coursekit ``Seq2Seq`` (Bahdanau wiring, additive score) whose decoder holds these weights."""
        (V, E), (A, H) = self.embed.shape, self.W_q.shape
        cfg = Seq2SeqConfig(src_vocab_size=5, tgt_vocab_size=V, emb_dim=E, hidden_size=H, attn_dim=A,
                            attention="additive", decoder="bahdanau")
        with torch.random.fork_rng(devices=[]):  # building the layers draws from the global RNG
            model = Seq2Seq(cfg).eval()
        with torch.no_grad():
            score = model.attention.score
            for param, value in ((model.embed.weight, self.embed), (score.W_q.weight, self.W_q),
                                 (score.W_k.weight, self.W_k), (score.v.weight, self.v[None, :]),
                                 (model.combine.weight, self.W_c), (model.combine.bias, self.b_c),
                                 (model.out.weight, self.W_o), (model.out.bias, self.b_o)):
                param.copy_(value)
            score.W_k.bias.zero_()
            model.cell.load_state_dict(self.cell.state_dict())
        return model

    def __eq__(self, other: object) -> bool:  # "did the learner change the weights in place?"
        if not isinstance(other, DecoderWeights):
            return NotImplemented
        same_cell = all(torch.equal(a, b) for a, b in zip(self.cell.state_dict().values(), other.cell.state_dict().values()))
        return same_cell and all(torch.equal(getattr(self, n), getattr(other, n)) for n in self._TENSORS)

    __hash__ = None

    def __repr__(self) -> str:
        shapes = ", ".join(f"{n} {tuple(getattr(self, n).shape)}" for n in self._TENSORS)
        return f"DecoderWeights({shapes}, cell {self.cell})"


def _decoder_step_reference(y_prev, s_prev, memory, mask, weights):
    """coursekit's own step: ``Seq2Seq.step`` (Bahdanau wiring) with the given weights."""
    model = weights.to_model()
    lengths = mask.sum(-1)  # the cases' masks are prefixes: True on the first `length` positions
    logits, state, alpha = model.step(y_prev, s_prev, memory, memory[:, 0], lengths, 0)
    return logits, state, alpha


def _attend(s, memory, mask, w, *, use_mask=True):
    """Additive attention of query s (B, H) over memory (B, S, H): context (B, H), weights (B, S)."""
    scores = torch.tanh((s @ w.W_q.T)[:, None, :] + memory @ w.W_k.T) @ w.v  # (B, S)
    alpha = masked_softmax(scores, mask) if use_mask else torch.softmax(scores, dim=-1)
    return (alpha[:, :, None] * memory).sum(1), alpha


def _decoder_step_variant(*, cell_input="y,c", readout_state="new", readout_order="s,c", tanh=True, biases=True,
                          combine=True, probabilities=False, return_state="new", context_for_readout="prev",
                          use_mask=True):
    """A decoder step with one thing changed: the mistakes below."""

    def step(y_prev, s_prev, memory, mask, w):
        context, alpha = _attend(s_prev, memory, mask, w, use_mask=use_mask)  # query = s_{t-1}
        y = w.embed[y_prev]  # (B, E)
        x = torch.cat([y, context] if cell_input == "y,c" else [context, y], dim=-1)
        s = w.cell(x, s_prev)  # (B, H)
        if context_for_readout == "new":  # Luong's readout: attend again with the new state
            context, alpha = _attend(s, memory, mask, w, use_mask=use_mask)
        h = s if readout_state == "new" else s_prev
        if combine:
            both = torch.cat([h, context] if readout_order == "s,c" else [context, h], dim=-1)
            pre = both @ w.W_c.T + (w.b_c if biases else 0)
            h = torch.tanh(pre) if tanh else pre
        logits = h @ w.W_o.T + (w.b_o if biases else 0)
        if probabilities:
            logits = torch.softmax(logits, dim=-1)
        return logits, (s if return_state == "new" else s_prev), alpha

    return step


def _decoder_cases(g):
    def case(B, S, E, H, A, V, lengths):
        cfg = Seq2SeqConfig(src_vocab_size=5, tgt_vocab_size=V, emb_dim=E, hidden_size=H, attn_dim=A,
                            attention="additive", decoder="bahdanau")
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (), generator=g)))  # cases(g) runs inside fork_rng
        model = Seq2Seq(cfg)
        with torch.no_grad():
            model.attention.score.W_k.bias.zero_()
            for p in (model.combine.bias, model.out.bias):
                p.normal_(0.0, 0.5)  # make the biases visible (the default init makes them small)
        return (
            torch.randint(1, V, (B,), generator=g),  # previous tokens (bos = 1 or real ones)
            torch.randn(B, H, generator=g),  # s_{t-1}
            torch.randn(B, S, H, generator=g),  # the annotations h_j
            torch.arange(S)[None, :] < torch.tensor(lengths)[:, None],  # (B, S) prefixes
            DecoderWeights.from_model(model),
        )

    return [
        Case("B=3, S=5, E=H=6, A=4, V=7, source lengths 5, 3, 1", case(3, 5, 6, 6, 4, 7, [5, 3, 1])),
        Case("B=2, S=4, E=5, H=8, A=3, V=6 (embedding and state of different widths), source lengths 4, 2",
             case(2, 4, 5, 8, 3, 6, [4, 2])),
        Case("B=1, S=1 (a single source token)", case(1, 1, 4, 4, 2, 5, [1])),
    ]


check_decoder_step = checker(Exercise(
    name="decoder_step",
    title="one Bahdanau decoder step, assembled from your pieces",
    signature="(y_prev, s_prev, memory, mask, weights)",
    reference=_decoder_step_reference,
    reference_name="`coursekit.seq2seq.Seq2Seq.step` (decoder=\"bahdanau\") with the same weights",
    doc="""Bahdanau et al. 2015, Sec. 3.1, with coursekit's readout. y_prev (B,) long: the previous
    target tokens; s_prev (B, H): the decoder state s_{t-1}; memory (B, S, H): the annotations;
    mask (B, S) bool (True = a real token); weights: a :class:`DecoderWeights`. Returns
    logits (B, V), the new state s_t (B, H) and the attention weights (B, S).""",
    cases=_decoder_cases,
    outputs=("logits", "state", "weights"),
    mistakes=(
        Mistake(
            what="your attention ignores the mask: padded source positions get weight.",
            hint="Pass the mask to your attention step, `my_attention_step(s_prev, memory, mask, score_fn)`, which "
            "gives padding exactly zero weight.",
            output=_decoder_step_variant(use_mask=False),
        ),
        Mistake(
            what="your readout uses the old state s_{t-1}; the logits come from the new state s_t.",
            hint="First update the state, `s = weights.cell(...)`, then read out from `s` (and the context), not "
            "from `s_prev`.",
            output=_decoder_step_variant(readout_state="prev"),
        ),
        Mistake(
            what="you attended a second time with the new state s_t for the readout (Luong's wiring).",
            hint="In Bahdanau's wiring there is one context per step, computed from the query s_{t-1}: the same "
            "context goes into the GRU's input and into the readout, and those are the weights to return.",
            output=_decoder_step_variant(context_for_readout="new"),
        ),
        Mistake(
            what="the GRU's input is [context; embedding]; the cell expects [embedding; context].",
            hint="Concatenate in this order: `torch.cat([weights.embed[y_prev], context], dim=-1)`.",
            output=_decoder_step_variant(cell_input="c,y"),
        ),
        Mistake(
            what="the readout's input is [context; state]; it is [state; context].",
            hint="W_c's first H columns weigh the state, the last H the context: "
            "`torch.cat([s, context], dim=-1) @ weights.W_c.T + weights.b_c`.",
            output=_decoder_step_variant(readout_order="c,s"),
        ),
        Mistake(
            what="your readout is missing the tanh.",
            hint="The attentional state is `torch.tanh(torch.cat([s, context], dim=-1) @ weights.W_c.T + "
            "weights.b_c)`; the logits are that times W_o^T plus b_o.",
            output=_decoder_step_variant(tanh=False),
        ),
        Mistake(
            what="your logits come straight from the state: the readout layer W_c (which mixes in the context) is "
            "missing.",
            hint="Combine the state and the context first, `h = torch.tanh(torch.cat([s, context], dim=-1) @ "
            "weights.W_c.T + weights.b_c)`, then `logits = h @ weights.W_o.T + weights.b_o`.",
            output=_decoder_step_variant(combine=False),
        ),
        Mistake(
            what="your logits leave out the biases b_c and b_o.",
            hint="Both linear layers have a bias: add `weights.b_c` in the readout and `weights.b_o` to the logits.",
            output=_decoder_step_variant(biases=False),
        ),
        Mistake(
            what="you returned probabilities (a softmax over the vocabulary), not logits.",
            hint="Return the raw scores `h @ weights.W_o.T + weights.b_o`: the loss and the decoders take logits "
            "and apply the (log-)softmax themselves.",
            output=_decoder_step_variant(probabilities=True),
        ),
        Mistake(
            what="the state you return is the one you were given, s_{t-1}, not the new one.",
            hint="Return `s = weights.cell(...)`, the updated state: the next step uses it as its query.",
            output=_decoder_step_variant(return_state="prev"),
        ),
    ),
    value_hint="context, alpha = my_attention_step(s_prev, memory, mask, score_fn) with score_fn(q, m) = "
    "my_additive_score(q, m, weights.W_q, weights.W_k, weights.v); s = weights.cell(cat([embed[y_prev], context]), "
    "s_prev); logits = tanh(cat([s, context]) @ W_c.T + b_c) @ W_o.T + b_o. If a case fails, check that exercises "
    "1-3 pass first.",
))


# ----------------------------------------------------------------------------- predict, then run: local-m and the verb
def measure_local_m_at_verb() -> Measured:
    """Where local-m's window is centred when it writes the verb, on 500 test sentences of the
    translation task (deterministic, a few milliseconds; no model needed)."""
    from ..translation import translation_task  # the task's grammar is only needed here

    shares = local_m_centre_at_verb(translation_task(500, lengths=(3, 12), seed=1), window=2)
    places = ("the source verb", "the subject", "the last source word")
    answer = max(places, key=lambda k: shares[k])
    evidence = (
        f"in {shares['n']} test sentences with an object, local-m's window was centred on the last source word in "
        f"{shares['the last source word']:.0%} of them, on the source verb in {shares['the source verb']:.0%}, on the "
        f"subject in {shares['the subject']:.0%}; its ±2 window contained the source verb at all in "
        f"{shares['verb in window']:.0%}."
    )
    return Measured(answer, evidence)


check_local_m_prediction = prediction_checker(Prediction(
    name="local_m_prediction",
    title="predict: where local-m looks when it writes the verb",
    question="On the translation task, local-m attention centres its window at p_t = t. When it writes the target "
    "verb (the last word of the translation), where is its window centred: on the source verb, the subject, or the "
    "last source word?",
    choices=("the source verb", "the subject", "the last source word"),
    measure=measure_local_m_at_verb,
    why="The verb is the last target word, written at step t = T - 1, and the target is at least as long as the "
    "source (articles and the object marker are added), so p_t = t is clipped to the last source position, the "
    "end of the object. The source verb sits right after the subject, far from there in a long sentence. local-m "
    "assumes a monotone alignment; the verb's move to the end is exactly what it cannot follow, while local-p and "
    "global attention can look anywhere.",
))
