"""Tests for the chapter 2 checkers added for issue 7: the Bahdanau decoder step assembled from the
learner's pieces (checked against coursekit's Seq2Seq.step with copied weights) and the "predict,
then run" question on local-m attention and the translation task's verb. Each accepts learner-style
solutions, rejects the stub, and rejects each plausible wrong answer with that mistake's hint.
(The chapter's first three checkers are tested in tests/test_exercises.py.)"""

import time
from collections import namedtuple

import pytest
import torch

from coursekit.exercises import (
    NOT_YET,
    PASSED,
    CheckResult,
    DecoderWeights,
    check_decoder_step,
    check_local_m_prediction,
)
from coursekit.seq2seq import Seq2Seq, Seq2SeqConfig, local_m_centre_at_verb, verb_alignments
from coursekit.translation import translation_task

from checkresults import assert_not_yet, assert_passed

pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------------------- the learner's earlier pieces
def my_additive_score(query, keys, W_q, W_k, v):
    q = query @ W_q.T  # (B, A)
    k = keys @ W_k.T  # (B, S, A)
    return torch.tanh(q[:, None, :] + k) @ v  # (B, S)


def my_masked_softmax(scores, mask):
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return weights.masked_fill(~mask, 0.0)


def my_attention_step(query, memory, mask, score_fn):
    weights = my_masked_softmax(score_fn(query, memory), mask)
    return (weights[:, :, None] * memory).sum(dim=1), weights


def decoder_step_like(*, cell_input="y,c", readout_from="new", readout_order="s,c", tanh=True, biases=True,
                      readout=True, softmax=False, state="new", luong_context=False, mask=True):
    """A learner's decoder step built from the pieces above, with one thing changed (or none)."""

    def my_decoder_step(y_prev, s_prev, memory, mask_, weights):
        def score_fn(q, m):
            return my_additive_score(q, m, weights.W_q, weights.W_k, weights.v)

        keep = mask_ if mask else torch.ones_like(mask_)
        context, alpha = my_attention_step(s_prev, memory, keep, score_fn)  # query = s_{t-1}
        y = weights.embed[y_prev]
        s = weights.cell(torch.cat([y, context] if cell_input == "y,c" else [context, y], dim=-1), s_prev)
        if luong_context:
            context, alpha = my_attention_step(s, memory, keep, score_fn)
        h = s if readout_from == "new" else s_prev
        if readout:
            pre = torch.cat([h, context] if readout_order == "s,c" else [context, h], dim=-1) @ weights.W_c.T
            pre = pre + weights.b_c if biases else pre
            h = torch.tanh(pre) if tanh else pre
        logits = h @ weights.W_o.T + (weights.b_o if biases else 0.0)
        return (torch.softmax(logits, -1) if softmax else logits), (s if state == "new" else s_prev), alpha

    return my_decoder_step


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


# ---------------------------------------------------------------------------- decoder step
def test_decoder_step_accepts_a_solution_for_several_seeds():
    for seed in (0, 1, 2):
        assert_passed(check_decoder_step(decoder_step_like(), seed=seed))


Step = namedtuple("Step", "logits state weights")


def decoder_step_functional(y_prev, s_prev, memory, mask, weights):
    """Another correct formulation: torch.nn.functional's GRU pieces by hand, bmm, and F.linear."""
    F = torch.nn.functional
    scores = (torch.tanh(F.linear(s_prev, weights.W_q)[:, None] + F.linear(memory, weights.W_k)) * weights.v).sum(-1)
    alpha = torch.softmax(scores.masked_fill(~mask, -1e30), dim=-1)
    context = torch.bmm(alpha[:, None, :], memory)[:, 0]
    x = torch.cat([F.embedding(y_prev, weights.embed), context], dim=1)
    cell = weights.cell
    r_i, z_i, n_i = F.linear(x, cell.weight_ih, cell.bias_ih).chunk(3, dim=1)
    r_h, z_h, n_h = F.linear(s_prev, cell.weight_hh, cell.bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(r_i + r_h), torch.sigmoid(z_i + z_h)
    s = (1 - z) * torch.tanh(n_i + r * n_h) + z * s_prev  # the GRU update, as torch.nn.GRUCell computes it
    h = torch.tanh(F.linear(torch.cat([s, context], dim=1), weights.W_c, weights.b_c))
    return Step(F.linear(h, weights.W_o, weights.b_o), s, alpha)


def test_decoder_step_accepts_other_correct_formulations():
    assert_passed(check_decoder_step(decoder_step_functional))
    assert_passed(check_decoder_step(lambda *args: tuple(t.double() for t in decoder_step_like()(*args))))


def test_decoder_step_rejects_the_stub():
    assert_not_yet(check_decoder_step(stub), "haven't implemented `stub`")


def test_decoder_step_calling_an_unfinished_exercise_says_which():
    def my_attention_step(query, memory, mask, score_fn):
        # YOUR CODE HERE
        raise NotImplementedError("scores -> masked softmax -> weighted sum of memory")

    def my_decoder_step(y_prev, s_prev, memory, mask, weights):
        context, alpha = my_attention_step(s_prev, memory, mask, None)
        return context, s_prev, alpha

    assert_not_yet(check_decoder_step(my_decoder_step), "`my_attention_step`", "finish that exercise first")


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (decoder_step_like(mask=False), "Pass the mask to your attention step"),
        (decoder_step_like(readout_from="old"), "then read out from `s`"),
        (decoder_step_like(luong_context=True), "In Bahdanau's wiring there is one context per step"),
        (decoder_step_like(cell_input="c,y"), "Concatenate in this order"),
        (decoder_step_like(readout_order="c,s"), "W_c's first H columns weigh the state"),
        (decoder_step_like(tanh=False), "your readout is missing the tanh"),
        (decoder_step_like(readout=False), "Combine the state and the context first"),
        (decoder_step_like(biases=False), "Both linear layers have a bias"),
        (decoder_step_like(softmax=True), "Return the raw scores"),
        (decoder_step_like(state="old"), "the updated state"),
    ],
)
def test_decoder_step_names_the_mistake(wrong, phrase):
    assert_not_yet(check_decoder_step(wrong), phrase)


def test_decoder_step_an_in_place_change_of_the_weights_is_reported():
    def my_decoder_step(y_prev, s_prev, memory, mask, weights):
        weights.W_o.mul_(1.0)  # harmless in value, but in place...
        weights.b_o.add_(1.0)  # ...and this one is not
        return decoder_step_like()(y_prev, s_prev, memory, mask, weights)

    assert_not_yet(check_decoder_step(my_decoder_step), "changed its input `weights` in place")


def test_decoder_weights_round_trip_through_a_model_and_give_its_step():
    torch.manual_seed(0)
    cfg = Seq2SeqConfig(src_vocab_size=9, tgt_vocab_size=7, emb_dim=5, hidden_size=6, attn_dim=4,
                        attention="additive", decoder="bahdanau")
    model = Seq2Seq(cfg).eval()
    with torch.no_grad():
        model.attention.score.W_k.bias.zero_()
    weights = DecoderWeights.from_model(model)
    assert weights == DecoderWeights.from_model(weights.to_model())
    src = torch.tensor([[4, 5, 6, 7], [8, 4, 0, 0]])
    with torch.no_grad():
        memory, summary, state, lengths = model.encode(src)
        want = model.step(torch.tensor([1, 1]), state, memory, summary, lengths, 0)
        got = decoder_step_like()(torch.tensor([1, 1]), state, memory, src != 0, weights)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)
    assert "W_q (4, 6)" in repr(weights)


def test_decoder_weights_refuse_a_model_they_cannot_describe():
    cfg = Seq2SeqConfig(src_vocab_size=9, tgt_vocab_size=7, hidden_size=6, attention="additive", decoder="luong")
    with pytest.raises(ValueError, match="Bahdanau"):
        DecoderWeights.from_model(Seq2Seq(cfg))
    model = Seq2Seq(Seq2SeqConfig(src_vocab_size=9, tgt_vocab_size=7, hidden_size=6, attention="additive",
                                  decoder="bahdanau"))
    with torch.no_grad():
        model.attention.score.W_k.bias.fill_(0.5)
    with pytest.raises(ValueError, match="non-zero bias"):
        DecoderWeights.from_model(model)


# ---------------------------------------------------------------------------- predict, then run: local-m
def test_the_local_m_prediction_is_measured_fast_and_checked():
    start = time.perf_counter()
    measured = check_local_m_prediction.prediction.measure()
    assert time.perf_counter() - start < 1.0
    assert measured.answer == "the last source word" and "test sentences with an object" in measured.evidence
    assert_passed(check_local_m_prediction(lambda: "the last source word"))
    assert_passed(check_local_m_prediction(lambda: " The Last Source Word "))
    for wrong in ("the source verb", "the subject"):
        assert_not_yet(check_local_m_prediction(lambda: wrong), f'You predicted "{wrong}"', "clipped to the last")
    assert_not_yet(check_local_m_prediction(lambda: "the object"), 'Return one of "the source verb"')


def test_the_local_m_prediction_stub_is_not_implemented():
    def my_local_m_prediction():
        raise NotImplementedError('return "the source verb", "the subject" or "the last source word"')

    assert_not_yet(check_local_m_prediction(my_local_m_prediction), "haven't implemented")


def test_local_m_centre_pair_by_pair():
    data = translation_task(40, lengths=(3, 12), seed=3)
    transitive = [i for i, ((src, _), a) in enumerate(zip(data.pairs, data.alignments)) if a[-1] != len(src) - 1]
    assert 0 < len(transitive) < len(data)  # both kinds are drawn
    for i in transitive[:5]:
        (src, tgt), align = data[i], data.alignments[i]
        shares = local_m_centre_at_verb(data.subset([i]))
        assert shares["n"] == 1 and shares["the last source word"] == 1.0  # the target is never shorter here
        assert shares["verb in window"] == float(abs(min(len(tgt) - 1, len(src) - 1) - align[-1]) <= 2)


def test_verb_alignments_keep_only_the_last_target_token():
    data = translation_task(20, lengths=(3, 9), seed=0)
    for full, verb in zip(data.alignments, verb_alignments(data)):
        assert len(full) == len(verb) and verb[-1] == full[-1] is not None
        assert all(j is None for j in verb[:-1])


def test_verb_alignments_object_only_drops_the_sentences_whose_verb_is_last():
    data = translation_task(40, lengths=(3, 9), seed=0)
    kept = verb_alignments(data, object_only=True)
    for (src, _), verb, only in zip(data.pairs, verb_alignments(data), kept):
        assert only == ((None,) * len(verb) if verb[-1] == len(src) - 1 else verb)
    assert 0 < sum(a[-1] is not None for a in kept) < len(data)  # both kinds are drawn
    n = local_m_centre_at_verb(data)["n"]
    assert sum(a[-1] is not None for a in kept) == n  # the same sentences local-m's measurement counts


def test_the_measurements_refuse_data_without_a_verb_final_alignment():
    from coursekit.data import copy_task, date_task

    with pytest.raises(ValueError, match="no gold alignments"):
        verb_alignments(date_task(5))
    with pytest.raises(ValueError, match="no sentence with an object"):
        local_m_centre_at_verb(copy_task(5))  # the last target token is the last source token


def test_random_decoder_weights_are_seeded_and_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    a, b = DecoderWeights.random(seed=1), DecoderWeights.random(seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert a == b and not a == DecoderWeights.random(seed=2)
    assert a.embed.shape == (7, 4) and a.W_q.shape == (3, 6) and a.W_c.shape == (6, 12)
