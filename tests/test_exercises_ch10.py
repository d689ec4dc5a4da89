"""Chapter 10 checkers: each accepts a learner-style solution and another correct formulation,
rejects the stub with the not-implemented message, and rejects each plausible mistake with that
mistake's own hint; global pruning is assembled from the learner's my_magnitude_mask (an
unfinished one is reported as such); the prediction's measurement is deterministic."""

import pytest
import torch
import torch.nn.functional as F

from coursekit.compression import fake_quantize, magnitude_prune
from coursekit.exercises.ch10 import (
    QUANT_ERROR_CHOICES,
    check_distillation_loss,
    check_fake_quantize,
    check_global_prune,
    check_magnitude_mask,
    check_quantisation_error_prediction,
    check_roberta_positions,
    check_xlnet_query_mask,
    global_prune,
    magnitude_mask,
    measure_quantisation_error,
)

from checkresults import assert_not_yet, assert_passed


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError("Replace this line with your code")


def hint_of(check, mistake_index):
    return check.exercise.mistakes[mistake_index].hint


# ----------------------------------------------------------------------------- RoBERTa positions
def positions_cumsum(input_ids, pad_token_id):
    real = input_ids.ne(pad_token_id).long()
    return torch.cumsum(real, dim=1) * real + pad_token_id


def positions_loop(input_ids, pad_token_id):
    out = torch.full_like(input_ids, pad_token_id)
    for b in range(input_ids.shape[0]):
        n = 0
        for t in range(input_ids.shape[1]):
            if input_ids[b, t] != pad_token_id:
                n += 1
                out[b, t] = pad_token_id + n
    return out


def test_roberta_positions_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_roberta_positions(positions_cumsum))
    assert_passed(check_roberta_positions(positions_loop))
    assert_not_yet(check_roberta_positions(stub), "haven't implemented")


@pytest.mark.parametrize("fn, index", [
    (lambda ids, pad: torch.arange(ids.shape[1]).expand_as(ids) + pad + 1, 0),
    (lambda ids, pad: torch.cumsum(ids.ne(pad).long(), 1) * ids.ne(pad).long(), 1),
    (lambda ids, pad: torch.cumsum(ids.ne(pad).long(), 1) * ids.ne(pad).long() + pad - ids.ne(pad).long(), 2),
])
def test_roberta_positions_names_each_mistake(fn, index):
    assert_not_yet(check_roberta_positions(fn), hint_of(check_roberta_positions, index))


# ----------------------------------------------------------------------------- XLNet query mask
def query_by_ranks(order):
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    return rank[None, :] < rank[:, None]


def query_by_loop(order):
    T = len(order)
    mask = torch.zeros(T, T, dtype=torch.bool)
    for step, i in enumerate(order.tolist()):
        for j in order[:step].tolist():
            mask[i, j] = True
    return mask


def test_xlnet_query_mask_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_xlnet_query_mask(query_by_ranks))
    assert_passed(check_xlnet_query_mask(query_by_loop))
    assert_not_yet(check_xlnet_query_mask(stub), "haven't implemented")


@pytest.mark.parametrize("fn, index", [
    (lambda order: query_by_ranks(order) | torch.eye(len(order), dtype=torch.bool), 0),
    (lambda order: torch.ones(len(order), len(order), dtype=torch.bool).tril(-1), 1),
    (lambda order: query_by_loop(order).T.contiguous(), 2),
    (lambda order: order[None, :] < order[:, None], 3),
])
def test_xlnet_query_mask_names_each_mistake(fn, index):
    assert_not_yet(check_xlnet_query_mask(fn), hint_of(check_xlnet_query_mask, index))


# ----------------------------------------------------------------------------- distillation
def distill_kl_div(student_logits, teacher_logits, temperature):
    s = F.log_softmax(student_logits / temperature, dim=-1)
    t = F.log_softmax(teacher_logits / temperature, dim=-1)
    return F.kl_div(s, t, reduction="batchmean", log_target=True) * temperature ** 2


def distill_by_hand(student_logits, teacher_logits, temperature):
    p = torch.softmax(teacher_logits / temperature, -1)
    cross = -(p * torch.log_softmax(student_logits / temperature, -1)).sum(-1)
    entropy = -(p * torch.log(p)).sum(-1)
    return (cross - entropy).mean() * temperature * temperature


def test_distillation_loss_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_distillation_loss(distill_kl_div))
    assert_passed(check_distillation_loss(distill_by_hand))
    assert_not_yet(check_distillation_loss(stub), "haven't implemented")


@pytest.mark.filterwarnings("ignore:reduction")
@pytest.mark.parametrize("fn, index", [
    (lambda s, t, T: distill_kl_div(s, t, T) / T ** 2, 0),
    (lambda s, t, T: F.kl_div(F.log_softmax(t / T, -1), F.log_softmax(s / T, -1), reduction="batchmean",
                              log_target=True) * T ** 2, 1),
    (lambda s, t, T: F.kl_div(F.log_softmax(s / T, -1), F.log_softmax(t / T, -1), reduction="mean",
                              log_target=True) * T ** 2, 2),
    (lambda s, t, T: F.kl_div(F.log_softmax(s / T, -1), F.softmax(t, -1), reduction="batchmean") * T ** 2, 3),
])
def test_distillation_loss_names_each_mistake(fn, index):
    assert_not_yet(check_distillation_loss(fn), hint_of(check_distillation_loss, index))


# ----------------------------------------------------------------------------- fake quantisation
def quantize_rows(weight, bits):
    qmax = 2 ** (bits - 1) - 1
    scale = weight.abs().amax(dim=1, keepdim=True) / qmax
    return torch.clamp(torch.round(weight / scale), -qmax, qmax) * scale


def quantize_loop(weight, bits):
    out = torch.empty_like(weight)
    levels = 2 ** (bits - 1) - 1
    for r, row in enumerate(weight):
        step = row.abs().max() / levels
        out[r] = (row / step).round() * step
    return out


def test_fake_quantize_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_fake_quantize(quantize_rows))
    assert_passed(check_fake_quantize(quantize_loop))
    assert_not_yet(check_fake_quantize(stub), "haven't implemented")


@pytest.mark.parametrize("fn, index", [
    (lambda w, b: torch.round(w / (w.abs().max() / (2 ** (b - 1) - 1))) * (w.abs().max() / (2 ** (b - 1) - 1)), 0),
    (lambda w, b: torch.trunc(w / (w.abs().amax(1, keepdim=True) / (2 ** (b - 1) - 1)))
     * (w.abs().amax(1, keepdim=True) / (2 ** (b - 1) - 1)), 1),
    (lambda w, b: torch.round(w / (w.abs().amax(1, keepdim=True) / 2 ** (b - 1))) * (w.abs().amax(1, keepdim=True)
                                                                                     / 2 ** (b - 1)), 2),
    (lambda w, b: torch.round(w / (w.abs().amax(1, keepdim=True) / (2 ** b - 1))) * (w.abs().amax(1, keepdim=True)
                                                                                     / (2 ** b - 1)), 3),
])
def test_fake_quantize_names_each_mistake(fn, index):
    assert_not_yet(check_fake_quantize(fn), hint_of(check_fake_quantize, index))


# ----------------------------------------------------------------------------- magnitude pruning
def mask_topk(weight, amount):
    k = round(amount * weight.numel())
    keep = torch.ones(weight.numel(), dtype=torch.bool)
    if k > 0:
        keep[torch.topk(weight.abs().flatten(), k, largest=False).indices] = False
    return keep.reshape(weight.shape)


def mask_by_sort(weight, amount):
    k = round(amount * weight.numel())
    order = weight.abs().flatten().argsort()
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel())
    return (rank >= k).view(weight.shape)


def test_magnitude_mask_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_magnitude_mask(mask_topk))
    assert_passed(check_magnitude_mask(mask_by_sort))
    assert_not_yet(check_magnitude_mask(stub), "haven't implemented")


@pytest.mark.parametrize("fn, index", [
    (lambda w, a: ~mask_topk(w, a), 0),
    (lambda w, a: mask_by_sort(w - w.min(), a), 1),
    (lambda w, a: mask_topk(w, int(a * w.numel()) / w.numel()), 2),
])
def test_magnitude_mask_names_each_mistake(fn, index):
    assert_not_yet(check_magnitude_mask(fn), hint_of(check_magnitude_mask, index))


def test_magnitude_mask_is_magnitude_prunes_rule():
    from coursekit.bert import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(num_hidden_layers=1))
    for scope in ("global", "layer"):
        pruned = magnitude_prune(model, 0.4, scope=scope)
        weights = [p for n, p in model.encoder.layers.named_parameters() if p.dim() == 2]
        ours = global_prune(weights, 0.4) if scope == "global" else [w * magnitude_mask(w, 0.4) for w in weights]
        theirs = [p for n, p in pruned.encoder.layers.named_parameters() if p.dim() == 2]
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b)


def make_global_prune(my_magnitude_mask):
    def my_global_prune(weights, amount):
        flat = torch.cat([w.flatten() for w in weights])
        keep = my_magnitude_mask(flat, amount)
        return [w * k.reshape(w.shape) for w, k in zip(weights, keep.split([w.numel() for w in weights]))]
    return my_global_prune


def global_by_threshold(weights, amount):
    flat = torch.cat([w.abs().flatten() for w in weights])
    k = round(amount * flat.numel())
    if k == 0:
        return [w.clone() for w in weights]
    threshold = flat.sort().values[k - 1]
    return [torch.where(w.abs() > threshold, w, torch.zeros_like(w)) for w in weights]


def test_global_prune_accepts_solutions_and_rejects_the_stub():
    assert_passed(check_global_prune(make_global_prune(mask_topk)))
    assert_passed(check_global_prune(global_by_threshold))
    assert_not_yet(check_global_prune(stub), "haven't implemented")


def test_global_prune_sees_an_unfinished_magnitude_mask():
    assert_not_yet(check_global_prune(make_global_prune(stub)), "not implemented yet", "finish that exercise first")


@pytest.mark.parametrize("fn, index", [
    (lambda ws, a: [w * mask_topk(w, a) for w in ws], 0),
    (lambda ws, a: [k.reshape(w.shape) for w, k in zip(ws, mask_topk(torch.cat([w.flatten() for w in ws]), a)
                                                         .split([w.numel() for w in ws]))], 1),
])
def test_global_prune_names_each_mistake(fn, index):
    assert_not_yet(check_global_prune(fn), hint_of(check_global_prune, index))


# ----------------------------------------------------------------------------- prediction
def test_quantisation_error_is_measured():
    m = measure_quantisation_error()
    assert m == measure_quantisation_error() and m.answer in QUANT_ERROR_CHOICES
    w = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    worst = float(((fake_quantize(w, 8) - w).abs().amax(1) / w.abs().amax(1)).max())
    assert worst <= 0.5 / 127 + 1e-6  # half a step at most
    assert m.answer == ("under 1%" if worst < 0.01 else "1% to 10%")
    assert measure_quantisation_error(4).answer != m.answer  # int4's step is 18 times wider


def test_quantisation_error_prediction_checker():
    answer = measure_quantisation_error().answer
    assert_passed(check_quantisation_error_prediction(lambda: answer))
    for wrong in set(QUANT_ERROR_CHOICES) - {answer}:
        assert_not_yet(check_quantisation_error_prediction(lambda w=wrong: w), "experiment shows")
    assert_not_yet(check_quantisation_error_prediction(lambda: "small"), "not one of the answers")
    assert_not_yet(check_quantisation_error_prediction(stub), "haven't implemented")
