"""Tests for coursekit.exercises: every checker accepts a learner-style solution,
rejects the stub, and rejects each plausible wrong answer with that mistake's hint.
The framework never raises, escapes HTML, and leaves the global RNG alone."""

import time
from collections import namedtuple

import pytest
import torch
import torch.nn.functional as F

from coursekit.exercises import (
    NOT_YET,
    PASSED,
    CheckResult,
    check_additive_score,
    check_attention_step,
    check_beam_step,
    check_decoder_io,
    check_masked_loss,
    check_masked_softmax,
)

from checkresults import assert_not_yet, assert_passed

NEG_INF = float("-inf")


# ============================================================================ Chapter 1
# ---------------------------------------------------------------------------- decoder_io
def decoder_io_like(in_row, out_row, pad=0, as_lists=False, swap=False):
    """A learner's decoder_io built from two row rules (the right ones by default)."""

    def my_decoder_io(targets):
        ins, outs = [in_row(t) for t in targets], [out_row(t) for t in targets]
        width = max(len(r) for r in ins + outs)
        ins = [r + [pad] * (width - len(r)) for r in ins]
        outs = [r + [pad] * (width - len(r)) for r in outs]
        if not as_lists:
            ins, outs = torch.tensor(ins), torch.tensor(outs)
        return (outs, ins) if swap else (ins, outs)

    return my_decoder_io


def good_decoder_io(targets):
    B, T = len(targets), max(len(t) for t in targets)
    tgt_in = torch.zeros(B, T + 1, dtype=torch.long)
    tgt_out = torch.zeros(B, T + 1, dtype=torch.long)
    for b, t in enumerate(targets):
        tgt_in[b, 0] = 1  # bos
        tgt_in[b, 1 : len(t) + 1] = torch.tensor(t)
        tgt_out[b, : len(t)] = torch.tensor(t)
        tgt_out[b, len(t)] = 2  # eos
    return tgt_in, tgt_out


def stub_decoder_io(targets):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


BOS_T = lambda t: [1, *t]  # noqa: E731
T_EOS = lambda t: [*t, 2]  # noqa: E731
PLAIN = lambda t: list(t)  # noqa: E731


def test_decoder_io_accepts_a_solution():
    assert_passed(check_decoder_io(good_decoder_io))
    assert_passed(check_decoder_io(decoder_io_like(BOS_T, T_EOS)))


def test_decoder_io_rejects_the_stub():
    assert_not_yet(check_decoder_io(stub_decoder_io), "haven't implemented `stub_decoder_io`", "NotImplementedError")


DecoderIO = namedtuple("DecoderIO", "tgt_in tgt_out")


def decoder_io_namedtuple(targets):
    return DecoderIO(*good_decoder_io(targets))


def decoder_io_list(targets):
    return list(good_decoder_io(targets))


def decoder_io_padded_rows(targets):
    from coursekit.data import pad_sequences

    return pad_sequences([[1, *t] for t in targets]), pad_sequences([[*t, 2] for t in targets])


@pytest.mark.parametrize("good", [decoder_io_namedtuple, decoder_io_list, decoder_io_padded_rows])
def test_decoder_io_accepts_other_correct_formulations(good):
    assert_passed(check_decoder_io(good))


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (decoder_io_like(T_EOS, T_EOS), "shifts the targets by one step"),  # no shift: both target + eos
        (decoder_io_like(BOS_T, BOS_T), "shifts the targets by one step"),  # no shift: both bos + target
        (decoder_io_like(PLAIN, PLAIN), "shifts the targets by one step"),  # no shift, no specials
        (decoder_io_like(PLAIN, T_EOS), "at the first step the decoder has no previous token"),  # missing bos
        (decoder_io_like(lambda t: [1, *t, 2], PLAIN), "eos goes at the end of `tgt_out`"),  # eos on the input
        (decoder_io_like(BOS_T, T_EOS, pad=-1), "Pad with `Vocab.pad_id`, which is 0"),
        (decoder_io_like(BOS_T, T_EOS, pad=2), "Pad with `Vocab.pad_id`, which is 0"),
        (decoder_io_like(BOS_T, PLAIN), "never learns to stop"),  # missing eos
        (decoder_io_like(BOS_T, T_EOS, as_lists=True), "coursekit.data.pad_sequences"),
        (decoder_io_like(BOS_T, T_EOS, swap=True), "Return `tgt_in, tgt_out`"),
    ],
)
def test_decoder_io_names_the_mistake(wrong, phrase):
    assert_not_yet(check_decoder_io(wrong), phrase)


def test_decoder_io_other_wrong_answers_get_expected_vs_received():
    def floats(targets):
        a, b = good_decoder_io(targets)
        return a.float(), b.float()

    assert_not_yet(check_decoder_io(floats), "`tgt_in` should have dtype torch.int64 (long)", "torch.float32")
    assert_not_yet(check_decoder_io(lambda targets: good_decoder_io(targets)[0]), "should return a tuple of 2")

    def shifted_ids(targets):
        tgt_in, tgt_out = good_decoder_io(targets)
        return tgt_in, tgt_out + (tgt_out != 0)

    expected_vs_received = "`tgt_out` has the wrong values, at index (0, 0): expected 5, received 6"
    assert_not_yet(check_decoder_io(shifted_ids), expected_vs_received)

    def appends_in_place(targets):
        for t in targets:
            t.append(2)
        return good_decoder_io([t[:-1] for t in targets])

    assert_not_yet(check_decoder_io(appends_in_place), "changed its input `targets` in place")


# ---------------------------------------------------------------------------- masked loss
def _nll(logits, targets):
    return -torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T)


def good_masked_loss(logits, targets, pad_id=0):
    nll = _nll(logits, targets)
    real = targets != pad_id
    return (nll * real).sum() / real.sum()


def good_masked_loss_f(logits, targets, pad_id=0):
    return F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=pad_id)


def stub_masked_loss(logits, targets, pad_id=0):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


def loss_with_padding(logits, targets, pad_id=0):
    return _nll(logits, targets).mean()


def loss_sum(logits, targets, pad_id=0):
    return _nll(logits, targets)[targets != pad_id].sum()


def loss_mean_of_means(logits, targets, pad_id=0):
    real = (targets != pad_id).float()
    return ((_nll(logits, targets) * real).sum(1) / real.sum(1)).mean()


def loss_probabilities(logits, targets, pad_id=0):
    p = torch.softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return -p[targets != pad_id].mean()


def loss_forgot_log_softmax(logits, targets, pad_id=0):
    x = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return -x[targets != pad_id].mean()


def loss_softmax_into_cross_entropy(logits, targets, pad_id=0):
    return F.cross_entropy(torch.softmax(logits, -1).transpose(1, 2), targets, ignore_index=pad_id)


def loss_per_token(logits, targets, pad_id=0):
    return _nll(logits, targets) * (targets != pad_id)


def loss_per_sequence(logits, targets, pad_id=0):
    return (_nll(logits, targets) * (targets != pad_id)).sum(1)


def loss_item(logits, targets, pad_id=0):
    return good_masked_loss(logits, targets, pad_id).item()


def loss_pad_is_always_zero(logits, targets, pad_id=0):
    return good_masked_loss(logits, targets, 0)


def test_masked_loss_accepts_a_solution():
    assert_passed(check_masked_loss(good_masked_loss))
    assert_passed(check_masked_loss(good_masked_loss_f))


def test_masked_loss_rejects_the_stub():
    assert_not_yet(check_masked_loss(stub_masked_loss), "haven't implemented `stub_masked_loss`")


def masked_loss_nll(logits, targets, pad_id=0):
    V = logits.shape[-1]
    logp = torch.nn.functional.log_softmax(logits, dim=-1)
    return torch.nn.functional.nll_loss(logp.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id)


def masked_loss_float64(logits, targets, pad_id=0):
    return good_masked_loss(logits.double(), targets, pad_id)  # "a scalar" asks for no dtype


def masked_loss_boolean_index(logits, targets, pad_id=0):
    real = targets != pad_id
    return _nll(logits, targets)[real].mean()


@pytest.mark.parametrize("good", [masked_loss_nll, masked_loss_float64, masked_loss_boolean_index])
def test_masked_loss_accepts_other_correct_formulations(good):
    assert_passed(check_masked_loss(good))


# Chapter 1 has imported `torch` but not `torch.nn.functional as F` when its loss exercise comes.
ALL_LOSS_MISTAKES = [
    loss_with_padding, loss_sum, loss_mean_of_means, loss_probabilities, loss_forgot_log_softmax,
    loss_softmax_into_cross_entropy, loss_per_token, loss_per_sequence, loss_item, loss_pad_is_always_zero,
    lambda logits, targets, pad_id=0: good_masked_loss(logits, targets, pad_id) + 1,  # the value hint
]


@pytest.mark.parametrize("wrong", ALL_LOSS_MISTAKES)
def test_masked_loss_hints_use_only_names_chapter_1_has(wrong):
    text = repr(check_masked_loss(wrong))
    assert "`F." not in text and " F." not in text, text


def test_masked_loss_hint_for_an_unimported_f_says_how_to_import_it():
    def my_masked_loss(logits, targets, pad_id=0):
        return F_not_imported.cross_entropy(logits.transpose(1, 2), targets, ignore_index=pad_id)  # noqa: F821

    assert_not_yet(check_masked_loss(my_masked_loss), "NameError", "`F_not_imported` is not defined")


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (loss_with_padding, "Padding is not part of any target"),
        (loss_sum, "Divide by the number of real tokens"),
        (loss_mean_of_means, "not per sequence first"),
        (loss_probabilities, "looks like -p(target)"),
        (loss_forgot_log_softmax, "raw logits as if they were log-probabilities"),
        (loss_softmax_into_cross_entropy, "a softmax before it squashes the loss"),
        (loss_per_token, "Reduce the per-token losses to one scalar"),
        (loss_per_sequence, "Reduce the per-token losses to one scalar"),
        (loss_item, "without `.item()`"),
        (loss_pad_is_always_zero, "instead of a hard-coded 0"),
    ],
)
def test_masked_loss_names_the_mistake(wrong, phrase):
    assert_not_yet(check_masked_loss(wrong), phrase)


def test_masked_loss_with_a_signature_other_than_the_stub_says_so():
    def my_masked_loss(logits, targets):
        return good_masked_loss(logits, targets)

    result = check_masked_loss(my_masked_loss)
    assert_not_yet(result, "can't be called", "def my_masked_loss(logits, targets, pad_id=0):")


# ---------------------------------------------------------------------------- beam step
def good_beam_step(scores, logp, beam_size):
    B, K, V = logp.shape
    total = (scores.unsqueeze(-1) + logp).view(B, K * V)
    new_scores, flat = total.topk(beam_size, dim=1)
    return new_scores, flat // V, flat % V


def good_beam_step_sorted(scores, logp, beam_size):
    B, K, V = logp.shape
    total = (scores[:, :, None] + logp).reshape(B, -1)
    order = total.argsort(dim=1, descending=True)[:, :beam_size]
    return total.gather(1, order), torch.div(order, V, rounding_mode="floor"), order % V


def stub_beam_step(scores, logp, beam_size):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


def beam_best_token_per_beam(scores, logp, beam_size):
    best, tokens = (scores.unsqueeze(-1) + logp).max(dim=-1)  # (B, K)
    new_scores, parents = best.sort(dim=1, descending=True)
    return new_scores[:, :beam_size], parents[:, :beam_size], tokens.gather(1, parents)[:, :beam_size]


def beam_best_token_per_beam_unsorted(scores, logp, beam_size):
    best, tokens = (scores.unsqueeze(-1) + logp).max(dim=-1)
    parents = torch.arange(scores.shape[1]).repeat(scores.shape[0], 1)
    return best[:, :beam_size], parents[:, :beam_size], tokens[:, :beam_size]


def beam_forgot_parent_scores(scores, logp, beam_size):
    B, K, V = logp.shape
    new_scores, flat = logp.view(B, K * V).topk(beam_size, dim=1)
    return new_scores, flat // V, flat % V


def beam_flat_index(scores, logp, beam_size):
    B, K, V = logp.shape
    new_scores, flat = (scores.unsqueeze(-1) + logp).view(B, K * V).topk(beam_size, dim=1)
    return new_scores, flat, flat % V


def beam_flat_index_two_outputs(scores, logp, beam_size):
    return beam_flat_index(scores, logp, beam_size)[:2]


def beam_ascending(scores, logp, beam_size):
    new_scores, parents, tokens = good_beam_step(scores, logp, beam_size)
    new_scores, order = new_scores.sort(dim=1)
    return new_scores, parents.gather(1, order), tokens.gather(1, order)


def beam_worst(scores, logp, beam_size):
    B, K, V = logp.shape
    new_scores, flat = (scores.unsqueeze(-1) + logp).view(B, K * V).topk(beam_size, dim=1, largest=False)
    return new_scores, flat // V, flat % V


def beam_off_by_v(scores, logp, beam_size):
    new_scores, parents, tokens = good_beam_step(scores, logp, beam_size)
    V = logp.shape[-1]
    flat = parents * V + tokens
    return new_scores, flat % V, flat // V


def beam_parent_mod_v(scores, logp, beam_size):
    new_scores, parents, tokens = good_beam_step(scores, logp, beam_size)
    V = logp.shape[-1]
    return new_scores, (parents * V + tokens) % V, tokens


def beam_split_by_k(scores, logp, beam_size):
    B, K, V = logp.shape
    new_scores, flat = (scores.unsqueeze(-1) + logp).view(B, K * V).topk(beam_size, dim=1)
    return new_scores, flat // K, flat % K


def beam_keeps_k(scores, logp, beam_size):
    return good_beam_step(scores, logp, scores.shape[1])


def beam_true_division(scores, logp, beam_size):
    B, K, V = logp.shape
    new_scores, flat = (scores.unsqueeze(-1) + logp).view(B, K * V).topk(beam_size, dim=1)
    return new_scores, (flat / V).floor(), flat % V


def beam_reports_only_logp(scores, logp, beam_size):
    new_scores, parents, tokens = good_beam_step(scores, logp, beam_size)
    return logp[torch.arange(logp.shape[0])[:, None], parents, tokens], parents, tokens


def test_beam_step_accepts_a_solution():
    assert_passed(check_beam_step(good_beam_step))
    assert_passed(check_beam_step(good_beam_step_sorted))


def test_beam_step_rejects_the_stub():
    assert_not_yet(check_beam_step(stub_beam_step), "haven't implemented `stub_beam_step`")


BeamStep = namedtuple("BeamStep", "new_scores parents tokens")


def beam_step_namedtuple(scores, logp, beam_size):
    return BeamStep(*good_beam_step(scores, logp, beam_size))


def beam_step_return_types(scores, logp, beam_size):
    V = logp.shape[-1]
    top = (scores[..., None] + logp).flatten(1).topk(beam_size)  # a torch.return_types.topk
    return top.values, top.indices // V, top.indices % V


@pytest.mark.parametrize("good", [beam_step_namedtuple, beam_step_return_types])
def test_beam_step_accepts_other_correct_formulations(good):
    assert_passed(check_beam_step(good))


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (beam_best_token_per_beam, "Rank all K*V candidates together"),
        (beam_best_token_per_beam_unsorted, "Rank all K*V candidates together"),
        (beam_forgot_parent_scores, "A candidate's score is its parent's score plus"),
        (beam_flat_index, "Split the flat index"),
        (beam_flat_index_two_outputs, "Split the flat index"),
        (beam_ascending, "best first (descending)"),
        (beam_worst, "higher is better"),
        (beam_off_by_v, "parents and tokens are swapped"),
        (beam_parent_mod_v, "parent index is computed as flat % V"),
        (beam_split_by_k, "with K instead of V"),
        (beam_keeps_k, "the number of beams to keep is the argument"),
        (beam_true_division, "`flat / V` gives floats"),
        (beam_reports_only_logp, "Report the total: the parent's score plus"),
    ],
)
def test_beam_step_names_the_mistake(wrong, phrase):
    assert_not_yet(check_beam_step(wrong), phrase)


# ============================================================================ Chapter 2
# ---------------------------------------------------------------------------- additive score
def good_additive_score(query, keys, W_q, W_k, v):
    q = query @ W_q.T  # (B, A)
    k = keys @ W_k.T  # (B, S, A)
    return torch.tanh(q.unsqueeze(1) + k) @ v  # (B, S)


def good_additive_score_einsum(query, keys, W_q, W_k, v):
    e = torch.tanh(torch.einsum("ad,bd->ba", W_q, query)[:, None] + torch.einsum("ad,bsd->bsa", W_k, keys))
    return torch.einsum("bsa,a->bs", e, v)


def stub_additive_score(query, keys, W_q, W_k, v):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


def additive_no_tanh(query, keys, W_q, W_k, v):
    return ((query @ W_q.T).unsqueeze(1) + keys @ W_k.T) @ v


def additive_dot(query, keys, W_q, W_k, v):
    return torch.einsum("bd,bsd->bs", query, keys)


def additive_projected_dot(query, keys, W_q, W_k, v):
    return torch.einsum("ba,bsa->bs", query @ W_q.T, keys @ W_k.T)


def additive_sum_over_a(query, keys, W_q, W_k, v):
    return torch.tanh((query @ W_q.T).unsqueeze(1) + keys @ W_k.T).sum(-1)


def additive_trailing_dim(query, keys, W_q, W_k, v):
    return torch.tanh((query @ W_q.T).unsqueeze(1) + keys @ W_k.T) @ v.unsqueeze(-1)  # (B, S, 1)


def additive_softmax(query, keys, W_q, W_k, v):
    return torch.softmax(good_additive_score(query, keys, W_q, W_k, v), dim=-1)


def additive_softmax_of_wrong_scores(query, keys, W_q, W_k, v):
    return torch.softmax(additive_no_tanh(query, keys, W_q, W_k, v), dim=-1)


def test_additive_score_accepts_a_solution():
    assert_passed(check_additive_score(good_additive_score))
    assert_passed(check_additive_score(good_additive_score_einsum))


def test_additive_score_rejects_the_stub():
    assert_not_yet(check_additive_score(stub_additive_score), "haven't implemented `stub_additive_score`")


def additive_score_float64(query, keys, W_q, W_k, v):
    return good_additive_score(*(x.double() for x in (query, keys, W_q, W_k, v)))


def additive_score_loop(query, keys, W_q, W_k, v):
    B, S, _ = keys.shape
    out = torch.zeros(B, S)
    for b in range(B):
        for s in range(S):
            out[b, s] = v @ torch.tanh(W_q @ query[b] + W_k @ keys[b, s])
    return out


@pytest.mark.parametrize("good", [additive_score_float64, additive_score_loop])
def test_additive_score_accepts_other_correct_formulations(good):
    assert_passed(check_additive_score(good))


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (additive_no_tanh, "Without the tanh"),
        (additive_dot, "Luong's dot score"),
        (additive_projected_dot, "Add the projections, don't multiply them"),
        (additive_sum_over_a, "instead of weighing them with v"),
        (additive_trailing_dim, "`.squeeze(-1)`"),
        (additive_softmax, "Remove the softmax"),
        (additive_softmax_of_wrong_scores, "Return the scores before any softmax"),
    ],
)
def test_additive_score_names_the_mistake(wrong, phrase):
    assert_not_yet(check_additive_score(wrong), phrase)


# ---------------------------------------------------------------------------- masked softmax
def good_masked_softmax(scores, mask):
    weights = torch.softmax(scores.masked_fill(~mask, NEG_INF), dim=-1)
    return weights.masked_fill(~mask, 0.0)  # a fully masked row: NaN -> 0


def good_masked_softmax_where(scores, mask):
    e = torch.where(mask, torch.exp(scores - scores.max(dim=-1, keepdim=True).values), 0.0)
    return e / e.sum(dim=-1, keepdim=True).clamp(min=1e-30)


def stub_masked_softmax(scores, mask):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


def softmax_ignores_mask(scores, mask):
    return torch.softmax(scores, dim=-1)


def softmax_inverted_mask(scores, mask):
    return torch.softmax(scores.masked_fill(mask, NEG_INF), dim=-1).nan_to_num(0.0)


def softmax_fill_zero(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, 0.0), dim=-1)


def softmax_multiply_by_mask(scores, mask):
    return torch.softmax(scores * mask, dim=-1)


def softmax_zero_afterwards(scores, mask):
    return torch.softmax(scores, dim=-1).masked_fill(~mask, 0.0)


def softmax_nan_rows(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, NEG_INF), dim=-1)


def softmax_big_negative(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, -1e9), dim=-1)


def softmax_dim_1(scores, mask):
    return good_masked_softmax_dim(scores, mask, 1)


def softmax_dim_0(scores, mask):
    return good_masked_softmax_dim(scores, mask, 0)


def good_masked_softmax_dim(scores, mask, dim):
    return torch.softmax(scores.masked_fill(~mask, NEG_INF), dim=dim).masked_fill(~mask, 0.0)


def test_masked_softmax_accepts_a_solution():
    assert_passed(check_masked_softmax(good_masked_softmax))
    assert_passed(check_masked_softmax(good_masked_softmax_where))


def test_masked_softmax_rejects_the_stub():
    assert_not_yet(check_masked_softmax(stub_masked_softmax), "haven't implemented `stub_masked_softmax`")


def masked_softmax_nan_to_num(scores, mask):
    return torch.softmax(scores.masked_fill(~mask, NEG_INF), dim=-1).nan_to_num(0.0)


def test_masked_softmax_accepts_other_correct_formulations():
    assert_passed(check_masked_softmax(masked_softmax_nan_to_num))


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (softmax_ignores_mask, "the mask has no effect"),
        (softmax_inverted_mask, "`True` means *may attend*"),
        (softmax_fill_zero, "A score of 0 is an ordinary score"),
        (softmax_multiply_by_mask, "A score of 0 is an ordinary score"),
        (softmax_zero_afterwards, "Mask the *scores* before the softmax"),
        (softmax_nan_rows, "0 / 0 = NaN"),
        (softmax_big_negative, "large negative number instead of -inf"),
        (softmax_dim_1, "Use `dim=-1`"),
        (softmax_dim_0, "Use `dim=-1`"),
    ],
)
def test_masked_softmax_names_the_mistake(wrong, phrase):
    assert_not_yet(check_masked_softmax(wrong), phrase)


def test_masked_softmax_in_place_fill_is_reported():
    def fills_in_place(scores, mask):
        scores.masked_fill_(~mask, NEG_INF)
        return torch.softmax(scores, dim=-1).nan_to_num(0.0)

    assert_not_yet(check_masked_softmax(fills_in_place), "changed its input `scores` in place", "masked_fill_")


# ---------------------------------------------------------------------------- attention step
def good_attention_step(query, memory, mask, score_fn):
    scores = score_fn(query, memory)  # (B, S)
    weights = torch.softmax(scores.masked_fill(~mask, NEG_INF), dim=-1)
    context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, 1, S) @ (B, S, H) -> (B, H)
    return context, weights


def stub_attention_step(query, memory, mask, score_fn):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


def _weights(query, memory, mask, score_fn, dim=-1):
    return torch.softmax(score_fn(query, memory).masked_fill(~mask, NEG_INF), dim=dim)


def attention_unnormalised_context(query, memory, mask, score_fn):
    scores = score_fn(query, memory)
    return (scores.unsqueeze(-1) * memory).sum(1), _weights(query, memory, mask, score_fn)


def attention_softmax_over_batch(query, memory, mask, score_fn):
    w = _weights(query, memory, mask, score_fn, dim=0)
    return (w.unsqueeze(-1) * memory).sum(1), w


def attention_ignores_mask(query, memory, mask, score_fn):
    w = torch.softmax(score_fn(query, memory), dim=-1)
    return (w.unsqueeze(-1) * memory).sum(1), w


def attention_mean_of_memory(query, memory, mask, score_fn):
    return memory.mean(dim=1), _weights(query, memory, mask, score_fn)


def attention_sum_over_h(query, memory, mask, score_fn):
    w = _weights(query, memory, mask, score_fn)
    return (w.unsqueeze(-1) * memory).sum(-1), w  # (B, S): summed over H, not S


def attention_matmul_broadcast(query, memory, mask, score_fn):
    w = _weights(query, memory, mask, score_fn)
    return w @ memory, w  # (B, S) @ (B, S, H) -> (B, B, H)


def attention_hardcoded_dot(query, memory, mask, score_fn):
    scores = torch.einsum("bh,bsh->bs", query, memory)
    weights = torch.softmax(scores.masked_fill(~mask, NEG_INF), dim=-1)
    return (weights.unsqueeze(-1) * memory).sum(1), weights


def test_attention_step_accepts_a_solution():
    assert_passed(check_attention_step(good_attention_step))


def test_attention_step_rejects_the_stub():
    assert_not_yet(check_attention_step(stub_attention_step), "haven't implemented `stub_attention_step`")


AttentionStep = namedtuple("AttentionStep", "context weights")


def attention_step_namedtuple(query, memory, mask, score_fn):
    return AttentionStep(*good_attention_step(query, memory, mask, score_fn))


def attention_step_einsum(query, memory, mask, score_fn):
    from coursekit.attention import masked_softmax

    weights = masked_softmax(score_fn(query, memory), mask)
    return torch.einsum("bs,bsh->bh", weights, memory), weights


@pytest.mark.parametrize("good", [attention_step_namedtuple, attention_step_einsum])
def test_attention_step_accepts_other_correct_formulations(good):
    assert_passed(check_attention_step(good))


def test_attention_step_calling_an_unfinished_exercise_says_which():
    def my_masked_softmax(scores, mask):
        # YOUR CODE HERE
        raise NotImplementedError("softmax over the last dim, with exact zeros where mask is False")

    def my_attention_step(query, memory, mask, score_fn):
        weights = my_masked_softmax(score_fn(query, memory), mask)
        return (weights[:, :, None] * memory).sum(1), weights

    result = check_attention_step(my_attention_step)
    assert_not_yet(result, "`my_masked_softmax`", "not implemented yet", "finish that exercise first")
    assert "haven't implemented `my_attention_step`" not in repr(result)
    assert "Print the shape" not in repr(result)


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (attention_unnormalised_context, "with the *normalised* weights"),
        (attention_softmax_over_batch, "Each sequence attends over its own keys"),
        (attention_ignores_mask, "so padding gets exactly zero weight"),
        (attention_mean_of_memory, "so it changes with the query"),
        (attention_sum_over_h, "then sum over dim 1 (S), not dim -1 (H)"),
        (attention_matmul_broadcast, "then sum over dim 1 (S), not dim -1 (H)"),
        (attention_hardcoded_dot, "Compute the scores with the function you're given"),
    ],
)
def test_attention_step_names_the_mistake(wrong, phrase):
    assert_not_yet(check_attention_step(wrong), phrase)


def test_attention_step_score_fn_called_the_wrong_way_round_gets_a_clear_error():
    def swapped(query, memory, mask, score_fn):
        return good_attention_step(memory, query, mask, lambda q, m: score_fn(q, m))

    assert_not_yet(check_attention_step(swapped), "ValueError", "score_fn(query, memory) expects query (B, H)")


# ============================================================================ the framework
CHECKS = [
    (check_decoder_io, good_decoder_io),
    (check_masked_loss, good_masked_loss),
    (check_beam_step, good_beam_step),
    (check_additive_score, good_additive_score),
    (check_masked_softmax, good_masked_softmax),
    (check_attention_step, good_attention_step),
]
IDS = [check.__name__ for check, _ in CHECKS]


@pytest.mark.parametrize("check, good", CHECKS, ids=IDS)
def test_checkers_accept_the_solution_for_other_seeds(check, good):
    for seed in (1, 2, 3):
        assert_passed(check(good, seed=seed))


@pytest.mark.parametrize("check, good", CHECKS, ids=IDS)
def test_checkers_leave_the_global_rng_alone(check, good):
    def noisy(*args):  # a learner function that draws from (and reseeds) the global RNG
        torch.manual_seed(1234)
        torch.randn(3)
        return good(*args)

    torch.manual_seed(0)
    before = torch.get_rng_state()
    for fn in (good, noisy, stub_decoder_io):
        check(fn)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("check, good", CHECKS, ids=IDS)
def test_checkers_are_deterministic(check, good):
    wrong = lambda *args: None  # noqa: E731
    assert repr(check(wrong, seed=5)) == repr(check(wrong, seed=5))
    assert_not_yet(check(wrong), "None", "Did you forget the `return` statement?")


@pytest.mark.parametrize("check, good", CHECKS, ids=IDS)
def test_an_exception_in_the_learner_code_is_feedback_with_its_line(check, good):
    def my_function(*args):
        items = [1, 2, 3]
        return items[10]

    result = check(my_function)
    assert_not_yet(result, "raised IndexError", "list index out of range", "`my_function`", "return items[10]")
    assert "Hint:" in repr(result)


def test_a_torch_error_points_at_the_learners_line_not_at_torch():
    def my_additive_score(query, keys, W_q, W_k, v):
        q = query @ W_q  # should be W_q.T
        return torch.tanh(q.unsqueeze(1) + keys @ W_k.T) @ v

    result = check_additive_score(my_additive_score)
    assert_not_yet(result, "raised RuntimeError", "q = query @ W_q  # should be W_q.T")
    assert "Print the shape" in repr(result)  # a shape error gets the shape hint


@pytest.mark.parametrize(
    "name, phrases",
    [
        ("F", ["`F` is not defined", "`import torch.nn.functional as F`"]),
        ("nn", ["`nn` is not defined", "`from torch import nn`"]),
        ("math", ["`math` is not defined", "`import math`"]),
        ("masked_softmax", ["`masked_softmax` is not defined", "`from coursekit.attention import masked_softmax`"]),
        ("my_masked_softmax", ["`my_masked_softmax` is not defined", "run the cell"]),
        ("scroes", ["`scroes` is not defined", "spelling"]),
    ],
)
def test_a_name_error_gets_a_hint_about_that_name(name, phrases):
    def my_masked_softmax(scores, mask):
        raise NameError(f"name {name!r} is not defined", name=name)

    result = check_masked_softmax(my_masked_softmax)
    assert_not_yet(result, "raised NameError", *phrases)
    assert "Print the shape" not in repr(result)


def test_a_real_name_error_is_explained():
    def my_masked_softmax(scores, mask):
        return torch.softmax(scroes, dim=-1)  # noqa: F821

    assert_not_yet(check_masked_softmax(my_masked_softmax), "`scroes` is not defined", "spelling")


def test_a_variable_used_before_it_is_assigned_is_explained():
    def my_masked_softmax(scores, mask):
        if False:
            weights = scores
        return weights  # noqa: F821

    result = check_masked_softmax(my_masked_softmax)
    assert_not_yet(result, "UnboundLocalError", "`weights` is used before")


def test_the_ambiguous_boolean_of_a_tensor_gets_its_own_hint():
    def my_masked_softmax(scores, mask):
        weights = torch.softmax(scores, dim=-1)
        return weights if mask else weights * 0  # `if` on a tensor of many values

    result = check_masked_softmax(my_masked_softmax)
    assert_not_yet(result, "Boolean value of Tensor", "`torch.where(cond, a, b)`", "`&`")
    assert "Print the shape" not in repr(result)


def test_a_dtype_error_gets_the_dtype_hint():
    def my_masked_softmax(scores, mask):
        return torch.softmax(scores.masked_fill(mask.float() == 0, NEG_INF), dim=-1).masked_fill(mask.long(), 0.0)

    assert_not_yet(check_masked_softmax(my_masked_softmax), "raised RuntimeError", "`torch.bool`")


def test_a_slow_function_is_stopped_and_reported():
    def my_masked_softmax(scores, mask):
        time.sleep(5)
        return good_masked_softmax(scores, mask)

    start = time.perf_counter()
    result = check_masked_softmax(my_masked_softmax, time_limit=0.2)
    assert time.perf_counter() - start < 2
    assert_not_yet(result, "still running after 0.2 s")


def test_passing_the_result_instead_of_the_function_is_explained():
    assert_not_yet(check_masked_softmax(torch.zeros(2)), "needs your function itself", "without calling it")


def test_check_result_text_and_html():
    ok = CheckResult(True, "masked softmax", "All good.", None)
    bad = CheckResult(False, "masked softmax", "got <script>alert('x')</script>", "use `dim=-1` & <b>")
    assert bool(ok) and not bool(bad)
    assert repr(ok).splitlines()[0] == f"{PASSED}: masked softmax" and PASSED == "✅ Passed"
    assert repr(bad).splitlines()[0] == f"{NOT_YET}: masked softmax" and NOT_YET == "❌ Not yet"
    assert str(bad) == repr(bad) and "Hint: use `dim=-1` & <b>" in repr(bad)
    page = bad._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>" not in page and "&amp;" in page and "<code>dim=-1</code>" in page
    assert NOT_YET in page and "#c62828" in page
    assert PASSED in ok._repr_html_() and "#2e7d32" in ok._repr_html_()
    with pytest.raises(Exception):
        ok.passed = False  # frozen


def test_learner_text_in_feedback_is_escaped_in_html():
    def my_masked_softmax(scores, mask):
        raise ValueError("<script>alert(1)</script>")

    result = check_masked_softmax(my_masked_softmax)
    assert_not_yet(result, "ValueError", "<script>alert(1)</script>")
    page = result._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
