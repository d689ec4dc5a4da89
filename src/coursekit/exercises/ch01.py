"""Chapter 1 exercises (seq2seq and the bottleneck): decoder inputs, the masked loss, the
teacher-forced loss assembled from those two, one beam step, and a prediction about the context vector.

Learner functions, as the notebook's stubs declare them::

    def my_decoder_io(targets):                      # list[list[int]] -> (tgt_in, tgt_out)
    def my_masked_loss(logits, targets, pad_id=0):   # (B, T, V), (B, T) -> scalar
    def my_teacher_forced_loss(model, src, targets): # Seq2Seq, (B, S), list[list[int]] -> scalar
    def my_beam_step(scores, logp, beam_size):       # (B, K), (B, K, V) -> 3 x (B, beam_size)
    def my_bottleneck_prediction():                  # -> "the start", "the end", "both ends" or "everywhere alike"

References: :func:`coursekit.data.decoder_io`, :func:`coursekit.decoding.sequence_loss`,
:func:`coursekit.decoding.teacher_forced_loss`, :func:`coursekit.decoding.beam_step`; the
prediction is measured with :func:`coursekit.seq2seq.untrained_context_probe`.
Legend: B batch, S source length, T target length, V vocabulary, K beams.

By the time of these checks the notebook has imported ``torch`` and no more:
not ``torch.nn.functional as F``, so the hints spell it out. ``my_teacher_forced_loss``
calls the learner's own ``my_decoder_io`` and ``my_masked_loss``, so its hints name those.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..data import Batch, Vocab, copy_task, decoder_io, pad_sequences
from ..decoding import beam_step, sequence_loss, teacher_forced_loss
from ..seq2seq import Seq2Seq, Seq2SeqConfig, untrained_context_probe
from .compare import same
from .predict import Measured, Prediction, prediction_checker
from .spec import Case, Exercise, Mistake, checker

__all__ = [
    "check_decoder_io",
    "check_masked_loss",
    "check_teacher_forced_loss",
    "check_beam_step",
    "check_bottleneck_prediction",
]

BOS, EOS, PAD = Vocab.bos_id, Vocab.eos_id, Vocab.pad_id


# ----------------------------------------------------------------------------- decoder_io
def _pair_of_tensors(got) -> bool:
    return isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(x, torch.Tensor) for x in got)


def _no_shift(got, expected, case) -> bool:
    return _pair_of_tensors(got) and got[0].shape == got[1].shape and torch.equal(got[0], got[1])


def _returns_lists(got, expected, case) -> bool:
    return isinstance(got, (tuple, list)) and len(got) == 2 and any(isinstance(x, (list, tuple)) for x in got)


def _wrong_padding(got, expected, case) -> bool:
    """Right everywhere a real token is, wrong only where the reference holds padding."""
    if not _pair_of_tensors(got) or not _pair_of_tensors(expected):
        return False
    found = False
    for g, w in zip(got, expected):
        if g.shape != w.shape:
            return False
        real = w != PAD
        if not torch.equal(g[real].long(), w[real]):
            return False
        found = found or bool((g[~real] != PAD).any())
    return found


def _padded(x, rows: list[list[int]]) -> bool:
    """Whether ``x`` is exactly ``rows`` right-padded with 0 (to any width that fits them)."""
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.is_floating_point():
        return False
    want = pad_sequences(rows)
    if x.shape[0] != want.shape[0] or x.shape[1] < want.shape[1]:
        return False
    return torch.equal(x[:, : want.shape[1]].long(), want) and not bool(x[:, want.shape[1] :].any())


def _eos_on_input(got, expected, case) -> bool:
    """eos went on tgt_in (after the target) and tgt_out is the bare target."""
    (targets,) = case.args
    return (
        _pair_of_tensors(got)
        and any(_padded(got[0], [[*pre, *t, EOS] for t in targets]) for pre in ([], [BOS]))
        and any(_padded(got[1], [[*pre, *t] for t in targets]) for pre in ([], [BOS]))
    )


def _missing_eos(got, expected, case) -> bool:
    (targets,) = case.args
    return _pair_of_tensors(got) and same(got[0], expected[0]) and _padded(got[1], [list(t) for t in targets])


def _missing_bos(got, expected, case) -> bool:
    (targets,) = case.args
    return _pair_of_tensors(got) and same(got[1], expected[1]) and _padded(got[0], [list(t) for t in targets])


def _decoder_io_cases(g):
    random_targets = [torch.randint(4, 20, (n,), generator=g).tolist() for n in (6, 2, 4, 5, 3)]
    return [
        Case("three targets of lengths 3, 1 and 4", ([[5, 6, 7], [8], [9, 10, 11, 12]],)),
        Case("one target of length 2", ([[7, 4]],)),
        Case("five random targets of lengths 2 to 6", (random_targets,)),
    ]


check_decoder_io = checker(Exercise(
    name="decoder_io",
    title="decoder inputs and outputs (teacher forcing)",
    signature="(targets)",
    reference=decoder_io,
    reference_name="`coursekit.data.decoder_io`",
    doc="""targets: a list of B lists of token ids (different lengths). Both outputs are (B, T+1) long
    tensors padded with 0, T the longest target: tgt_in = bos + target, tgt_out = target + eos.""",
    cases=_decoder_io_cases,
    outputs=("tgt_in", "tgt_out"),
    mistakes=(
        Mistake(
            what="`tgt_in` and `tgt_out` are identical, so the decoder would be asked to predict the very token it "
            "is reading (it could just copy its input).",
            hint="Teacher forcing shifts the targets by one step: `tgt_in` = bos + target (the previous true token "
            "at each step) and `tgt_out` = target + eos (the token to predict there).",
            test=_no_shift,
        ),
        Mistake(
            what="you returned Python lists, not tensors.",
            hint="Pad the rows to one length and make each a (B, T+1) long tensor: start from "
            "`torch.zeros(B, T + 1, dtype=torch.long)` and fill each row, or use "
            "`coursekit.data.pad_sequences(rows)` (after `import coursekit.data`).",
            test=_returns_lists,
        ),
        Mistake(
            what="you returned them in the wrong order: your first output is `tgt_out` and your second is `tgt_in`.",
            hint="Return `tgt_in, tgt_out`: the decoder's input (starting with bos) first, the targets it must "
            "predict (ending with eos) second.",
            output=lambda targets: decoder_io(targets)[::-1],
        ),
        Mistake(
            what="the real tokens are right, but the padding is not 0.",
            hint="Pad with `Vocab.pad_id`, which is 0 (`from coursekit.data import Vocab`): the loss ignores id 0, "
            "and the encoder masks it out. Start from `torch.zeros(...)` (or `torch.full(..., 0)`) and write each "
            "row's tokens at its start.",
            test=_wrong_padding,
        ),
        Mistake(
            what="`tgt_in` contains eos and `tgt_out` does not: eos went on the input instead of the output.",
            hint="The decoder must *predict* eos (that is how it learns to stop), so eos goes at the end of "
            "`tgt_out`; `tgt_in` starts with bos and holds the target tokens, never eos.",
            test=_eos_on_input,
        ),
        Mistake(
            what="`tgt_in` is right, but `tgt_out` has no eos.",
            hint="Append eos (id 2) to each target in `tgt_out`: a decoder that never sees eos as a target never "
            "learns to stop. Both outputs then have width T+1.",
            test=_missing_eos,
        ),
        Mistake(
            what="`tgt_out` is right, but `tgt_in` does not start with bos.",
            hint="Put bos (id 1) in front of each target in `tgt_in`: at the first step the decoder has no previous "
            "token, so it reads bos.",
            test=_missing_bos,
        ),
    ),
    value_hint="Row b of `tgt_in` is `[1, *targets[b]]` (bos first) and row b of `tgt_out` is `[*targets[b], 2]` "
    "(eos last), both right-padded with 0 to width T+1.",
))


# ----------------------------------------------------------------------------- masked loss
def _token_losses(logits, targets):
    B, T, V = logits.shape
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="none").view(B, T)


def _loss_mean_of_sequence_means(logits, targets, pad_id=0):
    real = (targets != pad_id).float()
    per_seq = (_token_losses(logits, targets) * real).sum(1) / real.sum(1)
    return per_seq.mean()


def _target_entry(x, targets, pad_id):
    """The mean over real tokens of minus ``x`` at each target (x: probabilities, or raw logits)."""
    picked = x.gather(-1, targets[..., None])[..., 0]
    return -(picked[targets != pad_id]).mean()


def _loss_ce_of_probs(logits, targets, pad_id=0):  # probabilities passed to cross_entropy, which softmaxes again
    V = logits.shape[-1]
    return F.cross_entropy(logits.softmax(-1).reshape(-1, V), targets.reshape(-1), ignore_index=pad_id)


def _loss_cases(g):
    B, T, V = 3, 6, 7

    def targets(lengths, T, V, pad_id):
        """(B, T) real ids (never ``pad_id``) then padding, one row per length."""
        real_ids = torch.tensor([i for i in range(V) if i != pad_id])
        rows = [real_ids[torch.randint(0, len(real_ids), (n,), generator=g)] for n in lengths]
        return torch.stack([torch.cat([r, torch.full((T - len(r),), pad_id, dtype=torch.long)]) for r in rows])

    logits1 = 2 * torch.randn(B, T, V, generator=g)
    targets1 = targets([6, 2, 4], T, V, pad_id=0)  # different lengths: a per-sequence mean weights differently
    logits2 = 2 * torch.randn(2, 4, 5, generator=g)
    targets2 = targets([4, 4], 4, 5, pad_id=0)  # no padding at all
    logits3 = 2 * torch.randn(B, T, V, generator=g)
    targets3 = targets([3, 6, 5], T, V, pad_id=V - 1)
    targets3[:, 0] = 0  # id 0 is a real token here, so code that hard-codes 0 as padding drops it
    return [
        Case("a batch of 3 sequences of lengths 6, 2 and 4 (pad_id=0)", (logits1, targets1, 0)),
        Case("a batch of 2 sequences with no padding", (logits2, targets2, 0)),
        Case(f"a batch of 3 sequences padded with pad_id={V - 1}", (logits3, targets3, V - 1)),
    ]


_NUMBER_NOT_TENSOR = Mistake(
    what="your loss is a number, not a tensor.",
    hint="Return the tensor itself, without `.item()` or `float(...)`: training calls `loss.backward()`, "
    "which needs a tensor connected to the model's parameters.",
    test=lambda got, expected, case: isinstance(got, (float, int)) and not isinstance(got, bool),
)

_LOG_HINT = (
    "Cross-entropy is the mean of -log p(target), with p = softmax(logits). Use "
    "`torch.log_softmax(logits, dim=-1)` and pick the target's entry with `.gather(-1, targets.unsqueeze(-1))`, "
    "or give the raw logits to `torch.nn.functional.cross_entropy` (it applies log-softmax itself)."
)

check_masked_loss = checker(Exercise(
    name="masked_loss",
    title="masked cross-entropy loss",
    signature="(logits, targets, pad_id=0)",
    reference=lambda logits, targets, pad_id=0: sequence_loss(logits, targets, pad_id=pad_id),
    reference_name="`coursekit.decoding.sequence_loss`",
    doc="""logits (B, T, V) float; targets (B, T) long with ``pad_id`` after each sequence's end.
    The loss is a 0-d tensor: the mean cross-entropy over the non-pad tokens.""",
    cases=_loss_cases,
    outputs=("loss",),
    mistakes=(
        _NUMBER_NOT_TENSOR,
        Mistake(
            what="your loss is not a single number (a 0-d tensor).",
            hint="Reduce the per-token losses to one scalar: the mean over the real (non-pad) tokens (for "
            "example `(losses * real).sum() / real.sum()` with `real = targets != pad_id`).",
            test=lambda got, expected, case: isinstance(got, torch.Tensor) and got.dim() > 0,
        ),
        Mistake(
            what="your loss averages over every position, padding included.",
            hint="Padding is not part of any target, so it must not count: drop the pad positions "
            "(`targets != pad_id`) before averaging, or pass `ignore_index=pad_id` to "
            "`torch.nn.functional.cross_entropy`.",
            output=lambda logits, targets, pad_id=0: _token_losses(logits, targets).mean(),
        ),
        Mistake(
            what="your loss is the sum over real tokens, not the mean.",
            hint="Divide by the number of real tokens, `(targets != pad_id).sum()`: a sum grows with the batch and "
            "the sequence lengths, so the learning rate would have to change with them.",
            output=lambda logits, targets, pad_id=0: (_token_losses(logits, targets) * (targets != pad_id)).sum(),
        ),
        Mistake(
            what="your loss is the average of each sequence's mean, which weights a short sequence's tokens more "
            "than a long one's.",
            hint="Average over all real tokens of the batch at once (total loss / total number of real tokens), not "
            "per sequence first: every token should count the same.",
            output=_loss_mean_of_sequence_means,
        ),
        Mistake(
            what="your loss uses probabilities where it needs log-probabilities (it looks like -p(target)).",
            hint=_LOG_HINT,
            output=lambda logits, targets, pad_id=0: _target_entry(logits.softmax(-1), targets, pad_id),
        ),
        Mistake(
            what="your loss uses the raw logits as if they were log-probabilities (no log-softmax).",
            hint=_LOG_HINT,
            output=lambda logits, targets, pad_id=0: _target_entry(logits, targets, pad_id),
        ),
        Mistake(
            what="your loss passes softmax probabilities to cross-entropy, which applies log-softmax itself.",
            hint="Give `torch.nn.functional.cross_entropy` the raw logits: it computes log-softmax internally, so a "
            "softmax before it squashes the loss towards log(V).",
            output=_loss_ce_of_probs,
        ),
        Mistake(
            what="your loss treats id 0 as padding even when `pad_id` is something else.",
            hint="Use the `pad_id` argument wherever you find the padding (`targets != pad_id`, "
            "`ignore_index=pad_id`) instead of a hard-coded 0.",
            output=lambda logits, targets, pad_id=0: sequence_loss(logits, targets),
        ),
    ),
    value_hint="The loss is the mean over real tokens of -log softmax(logits)[target]; "
    "`torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id)` "
    "computes exactly that.",
))


# ----------------------------------------------------------------------------- beam step
def _top_candidates(scores, logp, beam_size, largest=True):
    """The best (or, with largest=False, worst) ``beam_size`` of all K*V extensions: (scores, flat index, V)."""
    B, K, V = logp.shape
    new_scores, flat = (scores[:, :, None] + logp).reshape(B, K * V).topk(beam_size, dim=1, largest=largest)
    return new_scores, flat, V


def _beam_per_beam_best(scores, logp, beam_size):  # best token of each beam, then the best beams
    best, tokens = (scores[:, :, None] + logp).max(-1)  # (B, K)
    new_scores, parents = best.topk(beam_size, dim=1)
    return new_scores, parents, tokens.gather(1, parents)


def _beam_per_beam_best_unsorted(scores, logp, beam_size):
    best, tokens = (scores[:, :, None] + logp).max(-1)
    parents = torch.arange(scores.shape[1]).expand_as(best)
    return best[:, :beam_size], parents[:, :beam_size], tokens[:, :beam_size]


def _beam_no_parent_scores(scores, logp, beam_size):  # ranks by the step's logp alone
    new_scores, flat, V = _top_candidates(torch.zeros_like(scores), logp, beam_size)
    return new_scores, flat // V, flat % V


def _beam_scores_without_parent(scores, logp, beam_size):  # right picks, but reports only the step's logp
    new_scores, parents, tokens = beam_step(scores, logp, beam_size)
    return logp[torch.arange(logp.shape[0])[:, None], parents, tokens], parents, tokens


def _beam_split(split, *, largest=True):
    """The best candidates (the worst unless ``largest``), the flat index split into (parent, token) by
    ``split(flat, K, V)``."""

    def step(scores, logp, beam_size):
        new_scores, flat, V = _top_candidates(scores, logp, beam_size, largest)
        return (new_scores, *split(flat, scores.shape[1], V))

    return step


def _flat_index(got, expected, case) -> bool:
    """The flat index into the K*V candidates came back where the parent (or token) should be."""
    _, flat, _ = _top_candidates(*case.args)
    if not isinstance(got, (tuple, list)) or len(got) not in (2, 3):
        return False
    return any(isinstance(x, torch.Tensor) and x.shape == flat.shape and torch.equal(x.long(), flat) for x in got[1:])


def _kept_k_not_beam_size(got, expected, case) -> bool:
    scores, logp, beam_size = case.args
    return (
        scores.shape[1] != beam_size
        and isinstance(got, (tuple, list))
        and len(got) == 3
        and all(isinstance(x, torch.Tensor) and x.shape == scores.shape for x in got)
    )


def _float_indices(got, expected, case) -> bool:
    return (
        isinstance(got, (tuple, list))
        and len(got) == 3
        and all(isinstance(x, torch.Tensor) for x in got)
        and any(x.is_floating_point() for x in got[1:])
        and all(torch.equal(x.long(), w) for x, w in zip(got[1:], expected[1:]) if x.shape == w.shape)
    )


def _beam_cases(g):
    B, K, V = 2, 3, 5

    def log_probs(*shape):
        return torch.log_softmax(2 * torch.randn(*shape, generator=g), dim=-1)

    # Beam 0 leads and has two strong next tokens, so the best three extensions are two of beam 0's and
    # beam 1's best: keeping "the best token of each beam" gives a different answer.
    scores1 = torch.tensor([-0.5, -1.5, -2.5]) - 0.1 * torch.rand(B, K, generator=g)
    logp1 = log_probs(B, K, V)
    p0 = 0.05 * torch.softmax(torch.randn(B, V - 2, generator=g), dim=-1)  # the rest share 5%
    strong = torch.full((B, 1), 0.45), torch.full((B, 1), 0.5)
    logp1[:, 0] = torch.cat([p0[:, :1], strong[0], p0[:, 1:2], strong[1], p0[:, 2:]], dim=1).log()  # sums to 1
    first = torch.full((B, K), float("-inf"))
    first[:, 0] = 0.0  # the first step: one live hypothesis per sequence, as in Seq2Seq.beam_search
    return [
        Case(f"B={B}, K={K} live beams, V={V}, beam_size={K}", (scores1, logp1, K)),
        Case(f"the first step (scores [0, -inf, -inf]), V={V}, beam_size={K}", (first, log_probs(B, K, V), K)),
        Case(f"K={K} beams, V=6, beam_size=2", (-torch.rand(B, K, generator=g) * 3, log_probs(B, K, 6), 2)),
    ]


_DIVMOD = (
    "flattening (K, V) to K*V numbers candidate (k, v) as `k * V + v`, so `parent = flat // V` and "
    "`token = flat % V` (V is the vocabulary size, `logp.shape[-1]`)."
)
_DIVMOD_HINT = _DIVMOD[0].upper() + _DIVMOD[1:]

check_beam_step = checker(Exercise(
    name="beam_step",
    title="one step of beam search",
    signature="(scores, logp, beam_size)",
    reference=beam_step,
    reference_name="`coursekit.decoding.beam_step`",
    doc="""scores (B, K) float, logp (B, K, V) float -> (new_scores, parents, tokens), each
    (B, beam_size), best first; ``parents`` and ``tokens`` are long.""",
    cases=_beam_cases,
    outputs=("new_scores", "parents", "tokens"),
    mistakes=(
        Mistake(
            what="you returned the flat index into the K*V candidates instead of (parent, token).",
            hint="Split the flat index: " + _DIVMOD,
            test=_flat_index,
        ),
        Mistake(
            what="you kept K hypotheses, but the step should keep `beam_size` of them (here K != beam_size).",
            hint="Take `topk(beam_size, ...)`: the number of beams to keep is the argument, not the number that "
            "came in.",
            test=_kept_k_not_beam_size,
        ),
        Mistake(
            what="your parents or tokens are right but have a floating dtype.",
            hint="Indices must be integers: `flat / V` gives floats, `flat // V` (or "
            "`torch.div(flat, V, rounding_mode='floor')`) keeps them `torch.long`.",
            test=_float_indices,
        ),
        Mistake(
            what="you kept the best token of each beam, but the best `beam_size` extensions can come from the same "
            "beam.",
            hint="Rank all K*V candidates together: add the scores, reshape `(scores[:, :, None] + logp)` to "
            "(B, K*V), take `topk(beam_size, dim=1)`; then, " + _DIVMOD,
            output=(_beam_per_beam_best, _beam_per_beam_best_unsorted),
        ),
        Mistake(
            what="you ranked the candidates by this step's log-probability alone and forgot the scores of the "
            "hypotheses they extend.",
            hint="A candidate's score is its parent's score plus the new token's log-probability: "
            "`scores[:, :, None] + logp` (log-probabilities add where probabilities multiply).",
            output=_beam_no_parent_scores,
        ),
        Mistake(
            what="your parents and tokens are right, but `new_scores` is only this step's log-probability.",
            hint="Report the total: the parent's score plus the new token's log-probability, "
            "`scores[:, :, None] + logp` at the chosen (parent, token).",
            output=_beam_scores_without_parent,
        ),
        Mistake(
            what="you kept the right candidates, but in ascending order.",
            hint="Return them best first (descending): `topk` already does, while `sort` needs `descending=True`.",
            output=lambda scores, logp, beam_size: tuple(x.flip(1) for x in beam_step(scores, logp, beam_size)),
        ),
        Mistake(
            what="you kept the worst candidates, not the best.",
            hint="Scores are log-probabilities, so higher is better: use `topk(beam_size, dim=1)` (largest by "
            "default), not `largest=False` or an ascending sort.",
            output=_beam_split(lambda flat, K, V: (flat // V, flat % V), largest=False),
        ),
        Mistake(
            what="your parents and tokens are swapped: parent = flat % V and token = flat // V.",
            hint=_DIVMOD_HINT,
            output=_beam_split(lambda flat, K, V: (flat % V, flat // V)),
        ),
        Mistake(
            what="your parent index is computed as flat % V.",
            hint=_DIVMOD_HINT,
            output=_beam_split(lambda flat, K, V: (flat % V, flat % V)),
        ),
        Mistake(
            what="you split the flat index with K instead of V.",
            hint=_DIVMOD_HINT,
            output=_beam_split(lambda flat, K, V: (flat // K, flat % K)),
        ),
    ),
    value_hint="Add each beam's score to its next-token log-probabilities, rank all K*V candidates together "
    "with `topk`; then, " + _DIVMOD,
))


# ----------------------------------------------------------------------------- teacher-forced loss (assembled)
def _tf_reference(model, src, targets):
    """The training loss every encoder-decoder in the course uses, on these targets."""
    tgt_in, tgt_out = decoder_io(targets)
    lengths = (src != PAD).sum(1)
    return teacher_forced_loss(model, Batch(src, lengths, tgt_in, tgt_out))


def _tf_wired(read: str, score: str, *, padding: bool = False):
    """A loss whose decoder reads ``read`` and is scored against ``score`` ("in" or "out")."""

    def loss(model, src, targets):
        views = dict(zip(("in", "out"), decoder_io(targets)))
        logits = model(src, views[read]).logits  # (B, T+1, V)
        if padding:
            return _token_losses(logits, views[score]).mean()
        return sequence_loss(logits, views[score])

    return loss


def _is_logits(got, expected, case) -> bool:
    model, src, targets = case.args
    return isinstance(got, torch.Tensor) and got.dim() == 3 and got.shape[-1] == model.cfg.tgt_vocab_size


def _tf_cases(g):
    def model(cell):
        cfg = Seq2SeqConfig(src_vocab_size=14, tgt_vocab_size=12, emb_dim=6, hidden_size=8, cell=cell)
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (), generator=g)))  # cases(g) runs inside fork_rng
        return Seq2Seq(cfg).eval()

    def ids(n, vocab):
        return torch.randint(4, vocab, (n,), generator=g).tolist()

    src_lengths = (5, 3, 4)
    src = pad_sequences([ids(n, 14) for n in src_lengths])
    targets = [ids(n, 12) for n in (4, 6, 1)]  # not a copy of the source, of other lengths
    copy = [[4, 7, 5], [9, 6]]
    return [
        Case("a GRU encoder-decoder, 3 sources of lengths 5, 3, 4, targets of lengths 4, 6, 1", (model("gru"), src, targets)),
        Case("an LSTM encoder-decoder copying 2 strings", (model("lstm"), pad_sequences(copy), copy)),
    ]


check_teacher_forced_loss = checker(Exercise(
    name="teacher_forced_loss",
    title="the teacher-forced training loss, assembled from your pieces",
    signature="(model, src, targets)",
    reference=_tf_reference,
    reference_name="`coursekit.decoding.teacher_forced_loss`",
    doc="""model: a coursekit ``Seq2Seq``; src (B, S) long, 0-padded; targets: a list of B lists of
    token ids. The loss is a 0-d tensor: the masked cross-entropy of ``model(src, tgt_in).logits``
    against ``tgt_out``, with (tgt_in, tgt_out) built from ``targets``.""",
    cases=_tf_cases,
    outputs=("loss",),
    mistakes=(
        Mistake(
            what="you returned the logits, not the loss.",
            hint="Give the logits and `tgt_out` to your `my_masked_loss`: "
            "`my_masked_loss(model(src, tgt_in).logits, tgt_out)` is the scalar to return.",
            test=_is_logits,
        ),
        _NUMBER_NOT_TENSOR,
        Mistake(
            what="the decoder reads `tgt_out` and is scored against `tgt_in`: the two views are swapped.",
            hint="Build them with `tgt_in, tgt_out = my_decoder_io(targets)`, then feed `tgt_in` (bos + target) "
            "to the model and score its logits against `tgt_out` (target + eos).",
            output=_tf_wired("out", "in"),
        ),
        Mistake(
            what="the decoder reads `tgt_out`, the very tokens it is scored on, so it could learn to copy its input.",
            hint="The decoder reads the *previous* true token at each step: `model(src, tgt_in)` with `tgt_in` = bos "
            "+ target, scored against `tgt_out`.",
            output=_tf_wired("out", "out"),
        ),
        Mistake(
            what="your logits are scored against `tgt_in`, the tokens the decoder reads, not the ones it must predict.",
            hint="Score against `tgt_out` (target + eos): at step t the decoder reads `tgt_in[:, t]` and must "
            "predict `tgt_out[:, t]`, the next token.",
            output=_tf_wired("in", "in"),
        ),
        Mistake(
            what="your loss averages over every position, padding included.",
            hint="Use your `my_masked_loss(logits, tgt_out)`, which averages over the real tokens only: padding is "
            "not part of any target.",
            output=_tf_wired("in", "out", padding=True),
        ),
    ),
    value_hint="tgt_in, tgt_out = my_decoder_io(targets); logits = model(src, tgt_in).logits; "
    "return my_masked_loss(logits, tgt_out).",
))


# ----------------------------------------------------------------------------- predict: what survives in c
# The notebook's probe at CPU scale: its longest training length, its width, its probe strings
# (copy_task(600, lengths=[16], seed=3)) and its seed, so the check and the notebook's untrained
# row measure the same model on the same strings there.
PROBE_LENGTH, PROBE_HIDDEN, PROBE_N, PROBE_DATA_SEED = 16, 64, 600, 3


def untrained_probe(hidden_size: int = PROBE_HIDDEN, length: int = PROBE_LENGTH, n: int = PROBE_N, seed: int = 0) -> list[dict]:
    """:func:`coursekit.seq2seq.untrained_context_probe` (model seed ``seed``) on ``n`` random strings
    of one ``length``: what a bidirectional summary keeps before any training."""
    return untrained_context_probe(copy_task(n, lengths=[length], seed=PROBE_DATA_SEED), hidden_size, seed=seed)


def _measure_probe() -> Measured:
    acc = [r["probe_acc"] for r in untrained_probe()]
    start, end, middle = sum(acc[:3]) / 3, sum(acc[-3:]) / 3, sum(acc[3:-3]) / len(acc[3:-3])
    margin = 0.2  # a difference this large is no accident of 300 held-out strings
    if start > middle + margin and end > middle + margin:
        answer = "both ends"
    elif start > max(middle, end) + margin:
        answer = "the start"
    elif end > max(middle, start) + margin:
        answer = "the end"
    else:
        answer = "everywhere alike"
    evidence = (
        f"from the context vector of an untrained bidirectional GRU encoder (c in R^{PROBE_HIDDEN}), a linear "
        f"read-out recovers {start:.0%} of the first three symbols of held-out strings of length {PROBE_LENGTH}, "
        f"{middle:.0%} of the middle ones (chance is 10%) and {end:.0%} of the last three."
    )
    return Measured(answer, evidence)


check_bottleneck_prediction = prediction_checker(Prediction(
    name="bottleneck_prediction",
    title="predict: which symbols of a long string survive in c?",
    question=f"An untrained bidirectional encoder reads random strings of length {PROBE_LENGTH} into "
    "c = [h_fwd(S); h_bwd(1)]. "
    "A linear read-out then tries to recover each symbol from c alone. Which symbols does it recover best?",
    choices=("the start", "the end", "both ends", "everywhere alike"),
    measure=_measure_probe,
    why="c joins the forward RNN's last state, which has just read the end of the string, and the backward RNN's "
    "last state, which has just read its start. Each step of a recurrence overwrites part of what came before, so "
    "the middle, far from both ends, is what fades. Training can teach the encoder to keep more, but every symbol "
    "must still share the same fixed number of dimensions.",
))

