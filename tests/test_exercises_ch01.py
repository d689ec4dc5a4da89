"""Chapter 1's newer checkers (the teacher-forced loss assembled from the learner's pieces, and the
prediction about what survives in the context vector) and the probe that measures the prediction.

Each checker accepts learner-style solutions, rejects the stub, and rejects each plausible mistake
with that mistake's own hint. (The older Chapter 1 checkers are tested in test_exercises.py.)"""

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit.data import Batch, copy_task, decoder_io
from coursekit.decoding import sequence_loss, teacher_forced_loss
from coursekit.exercises import NOT_YET, PASSED, check_bottleneck_prediction, check_teacher_forced_loss
from coursekit.exercises.ch01 import untrained_probe
from coursekit.seq2seq import (
    Seq2Seq,
    Seq2SeqConfig,
    accuracy_by_length,
    context_probe,
    teacher_forced_accuracy,
    untrained_context_probe,
)

from checkresults import assert_not_yet, assert_passed

pytestmark = pytest.mark.usefixtures("one_thread")


# ----------------------------------------------------------------------------- the learner's earlier pieces
def my_decoder_io(targets):
    """The notebook's solution to exercise 1."""
    width = max(len(t) for t in targets) + 1
    tgt_in = torch.zeros(len(targets), width, dtype=torch.long)
    tgt_out = torch.zeros(len(targets), width, dtype=torch.long)
    for i, t in enumerate(targets):
        tgt_in[i, : len(t) + 1] = torch.tensor([1] + list(t))
        tgt_out[i, : len(t) + 1] = torch.tensor(list(t) + [2])
    return tgt_in, tgt_out


def my_masked_loss(logits, targets, pad_id=0):
    """The notebook's solution to exercise 2."""
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    mask = (targets != pad_id).float()
    return (nll * mask).sum() / mask.sum()


# ----------------------------------------------------------------------------- teacher-forced loss
def good_tf_loss(model, src, targets):
    tgt_in, tgt_out = my_decoder_io(targets)
    logits = model(src, tgt_in).logits
    return my_masked_loss(logits, tgt_out)


def tf_loss_cross_entropy(model, src, targets):  # without the learner's loss: F.cross_entropy, ignore_index
    tgt_in, tgt_out = decoder_io(targets)
    logits = model(src, tgt_in, (src != 0).sum(1)).logits
    return F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=0)


def tf_loss_from_a_batch(model, src, targets):  # coursekit's own, through a Batch
    return teacher_forced_loss(model, Batch(src, (src != 0).sum(1), *decoder_io(targets)))


def tf_loss_double(model, src, targets):  # float64 is fine
    return good_tf_loss(model, src, targets).double()


def test_teacher_forced_loss_accepts_a_solution_built_from_the_earlier_exercises():
    assert_passed(check_teacher_forced_loss(good_tf_loss))
    for seed in (1, 2):
        assert_passed(check_teacher_forced_loss(good_tf_loss, seed=seed))


@pytest.mark.parametrize("good", [tf_loss_cross_entropy, tf_loss_from_a_batch, tf_loss_double])
def test_teacher_forced_loss_accepts_other_correct_formulations(good):
    assert_passed(check_teacher_forced_loss(good))


def test_teacher_forced_loss_rejects_the_stub():
    def my_teacher_forced_loss(model, src, targets):
        # YOUR CODE HERE
        raise NotImplementedError("build tgt_in and tgt_out, run the model, score it")

    assert_not_yet(check_teacher_forced_loss(my_teacher_forced_loss), "haven't implemented `my_teacher_forced_loss`")


def test_teacher_forced_loss_calling_an_unfinished_exercise_says_which():
    def my_masked_loss(logits, targets, pad_id=0):
        # YOUR CODE HERE
        raise NotImplementedError("compute the mean cross-entropy over non-pad tokens")

    def my_teacher_forced_loss(model, src, targets):
        tgt_in, tgt_out = my_decoder_io(targets)
        return my_masked_loss(model(src, tgt_in).logits, tgt_out)

    result = check_teacher_forced_loss(my_teacher_forced_loss)
    assert_not_yet(result, "`my_masked_loss`", "not implemented yet", "finish that exercise first")


def tf_wired(read, score, *, padding=False, logits_only=False, number=False):
    """A learner's loss whose decoder reads ``read`` and is scored against ``score``."""

    def my_teacher_forced_loss(model, src, targets):
        tgt_in, tgt_out = my_decoder_io(targets)
        views = {"in": tgt_in, "out": tgt_out}
        logits = model(src, views[read]).logits
        if logits_only:
            return logits
        if padding:
            B, T, V = logits.shape
            loss = F.cross_entropy(logits.reshape(B * T, V), views[score].reshape(-1))
        else:
            loss = my_masked_loss(logits, views[score])
        return loss.item() if number else loss

    return my_teacher_forced_loss


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (tf_wired("in", "out", logits_only=True), "you returned the logits, not the loss"),
        (tf_wired("in", "out", number=True), "your loss is a number, not a tensor"),
        (tf_wired("out", "in"), "the two views are swapped"),
        (tf_wired("out", "out"), "could learn to copy its input"),
        (tf_wired("in", "in"), "scored against `tgt_in`"),
        (tf_wired("in", "out", padding=True), "padding included"),
    ],
)
def test_teacher_forced_loss_names_the_mistake(wrong, phrase):
    assert_not_yet(check_teacher_forced_loss(wrong), phrase, "Hint:")


def test_teacher_forced_loss_forgetting_logits_is_reported_with_the_line():
    def my_teacher_forced_loss(model, src, targets):
        tgt_in, tgt_out = my_decoder_io(targets)
        return my_masked_loss(model(src, tgt_in), tgt_out)  # a Seq2SeqOutput, not its .logits

    assert_not_yet(check_teacher_forced_loss(my_teacher_forced_loss), "must be Tensor, not Seq2SeqOutput", "line")


def test_teacher_forced_loss_reference_is_coursekits_training_loss():
    spec = check_teacher_forced_loss.exercise
    for case in spec.build_cases(0):
        model, src, targets = case.args
        tgt_in, tgt_out = decoder_io(targets)
        with torch.no_grad():
            want = sequence_loss(model(src, tgt_in).logits, tgt_out)
            assert torch.allclose(spec.reference(*case.args), want)


# ----------------------------------------------------------------------------- the prediction
def test_bottleneck_prediction_passes_the_measured_answer_only():
    result = check_bottleneck_prediction(lambda: "both ends")
    assert_passed(result)
    assert "linear read-out recovers" in repr(result) and "chance is 10%" in repr(result)
    for wrong in ("the start", "the end", "everywhere alike"):
        assert_not_yet(check_bottleneck_prediction(lambda: wrong), 'the experiment shows "both ends"')


def test_bottleneck_prediction_rejects_the_stub_and_other_answers():
    def my_bottleneck_prediction():
        raise NotImplementedError('return "the start", "the end", "both ends" or "everywhere alike"')

    assert_not_yet(check_bottleneck_prediction(my_bottleneck_prediction), "haven't implemented")
    assert_not_yet(check_bottleneck_prediction(lambda: "the middle"), 'Return one of "the start"')


def test_the_measurement_is_quick_deterministic_and_clearly_both_ends():
    start = time.perf_counter()
    rows = untrained_probe()
    assert time.perf_counter() - start < 1.0
    assert rows == untrained_probe()
    acc = [r["probe_acc"] for r in rows]
    assert [r["position"] for r in rows] == list(range(1, 17))
    middle = sum(acc[3:-3]) / len(acc[3:-3])
    assert min(acc[0], acc[-1]) > 0.9 and middle < 0.3  # the ends are kept, the middle is near chance


# ----------------------------------------------------------------------------- the probe itself
def _tiny_model(hidden_size=8, seed=0):
    torch.manual_seed(seed)
    return Seq2Seq(Seq2SeqConfig(src_vocab_size=14, tgt_vocab_size=14, emb_dim=6, hidden_size=hidden_size))


def test_context_probe_is_ridge_regression_fitted_on_the_first_half():
    """Against NumPy: ridge regression as least squares on [X; sqrt(ridge) I], then argmax per position."""
    model, data, ridge = _tiny_model(), copy_task(40, lengths=[5], seed=3), 0.5
    rows = context_probe(model, data, ridge=ridge)
    batch = data.batch()
    with torch.no_grad():
        _, summary, _, _ = model.encode(batch.src)
    X = np.hstack([summary.double().numpy(), np.ones((40, 1))])
    Y = np.eye(14)[batch.src.numpy()].reshape(40, 5 * 14)
    A = np.vstack([X[:20], np.sqrt(ridge) * np.eye(X.shape[1])])
    B = np.vstack([Y[:20], np.zeros((X.shape[1], Y.shape[1]))])
    W = np.linalg.lstsq(A, B, rcond=None)[0]
    pred = (X[20:] @ W).reshape(20, 5, 14).argmax(-1)
    want = (pred == batch.src[20:].numpy()).mean(0)
    assert [r["position"] for r in rows] == [1, 2, 3, 4, 5] and all(r["n"] == 20 for r in rows)
    assert np.allclose([r["probe_acc"] for r in rows], want)


def test_context_probe_leaves_the_model_as_it_was_and_needs_one_length():
    model = _tiny_model().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    context_probe(model, copy_task(12, lengths=[4], seed=0))
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="one length"):
        context_probe(model, copy_task(12, lengths=(3, 6), seed=0))
    with pytest.raises(ValueError, match="ridge"):
        context_probe(model, copy_task(12, lengths=[4], seed=0), ridge=-1.0)


def test_a_context_that_holds_the_string_is_read_back_perfectly():
    """A wide encoder on very short strings keeps everything: the probe recovers every symbol."""
    rows = context_probe(_tiny_model(hidden_size=64), copy_task(400, lengths=[2], seed=1))
    assert all(r["probe_acc"] > 0.95 for r in rows)


def test_untrained_probe_uses_its_own_seed_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    untrained_probe(hidden_size=8, length=4, n=20)
    assert torch.equal(state, torch.get_rng_state())


def test_the_check_probes_the_notebooks_cpu_probe():
    """At CPU scale the notebook's untrained row, untrained_context_probe(copy_task(600, lengths=[16],
    seed=3), 64), is the very measurement the prediction's check reports."""
    assert untrained_probe() == untrained_context_probe(copy_task(600, lengths=[16], seed=3), 64)


def test_forward_direction_probes_the_first_half_of_c():
    model, data = _tiny_model(), copy_task(40, lengths=[5], seed=3)
    rows = context_probe(model, data, direction="forward")
    batch = data.batch()
    with torch.no_grad():
        _, summary, _, _ = model.encode(batch.src)
    X = torch.cat([summary[:, :4].double(), torch.ones(40, 1, dtype=torch.float64)], 1)
    Y = F.one_hot(batch.src, 14).double().reshape(40, 5 * 14)
    W = torch.linalg.solve(X[:20].T @ X[:20] + torch.eye(5, dtype=torch.float64), X[:20].T @ Y[:20])
    want = ((X[20:] @ W).reshape(20, 5, 14).argmax(-1) == batch.src[20:]).double().mean(0)
    assert np.allclose([r["probe_acc"] for r in rows], want.numpy())
    with pytest.raises(ValueError, match="direction"):
        context_probe(model, data, direction="backward-only")


def test_a_unidirectional_summary_keeps_the_end_only():
    """The forward GRU alone (as wide as the bidirectional c) has just read the end; the start is lost."""
    acc = [r["probe_acc"] for r in untrained_context_probe(copy_task(600, lengths=[16], seed=3), 64, unidirectional=True)]
    assert acc[-1] > 0.9 and sum(acc[:3]) / 3 < 0.2


def test_untrained_context_probe_is_seeded_and_leaves_the_global_rng_alone():
    data = copy_task(20, lengths=[4], seed=0)
    state = torch.get_rng_state()
    first = untrained_context_probe(data, 8, unidirectional=True, seed=1)
    assert torch.equal(state, torch.get_rng_state())
    assert first == untrained_context_probe(data, 8, unidirectional=True, seed=1)
    with pytest.raises(ValueError, match="unidirectional"):
        untrained_context_probe(data, 8, unidirectional="yes")


# ----------------------------------------------------------------------------- accuracy by length, teacher forced
def test_accuracy_by_length_teacher_forced_is_teacher_forced_accuracy_per_length():
    data = copy_task(30, lengths=[2, 5, 3], seed=4)
    model = _tiny_model()
    rows = accuracy_by_length(model, data, teacher_forced=True)
    assert [r["length"] for r in rows] == [2, 3, 5] and sum(r["n"] for r in rows) == 30
    for r in rows:
        part = data.where(lambda s, t, n=r["length"]: len(s) == n)
        assert {k: r[k] for k in ("seq_acc", "tok_acc")} == teacher_forced_accuracy(model, part)
    with pytest.raises(ValueError, match="teacher_forced"):
        accuracy_by_length(model, data, teacher_forced=1)
