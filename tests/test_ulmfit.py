"""coursekit.ulmfit: slanted triangular learning rates (== OneCycleLR with the right
settings), discriminative learning rates, gradual unfreezing, and the toy Fig. 3 run."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from coursekit.ulmfit import (
    LSTMClassifier,
    SlantedTriangular,
    discriminative_param_groups,
    onecycle_settings,
    stlr,
    stlr_scheduler,
    unfreeze_top,
)


def _paper_eq3(t, T, cut_frac, ratio):  # Eq. 3, written out again from the paper
    cut = math.floor(T * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return (1 + p * (ratio - 1)) / ratio


def _rates(scheduler_factory, steps, lr=0.01):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    sched = scheduler_factory(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(rates, dtype=torch.float64)


def test_stlr_is_eq3_its_shape():
    T, cut_frac, ratio = 200, 0.1, 32
    f = [stlr(t, T, cut_frac, ratio) for t in range(T + 1)]
    assert f == pytest.approx([_paper_eq3(t, T, cut_frac, ratio) for t in range(T + 1)])
    assert f[0] == pytest.approx(1 / 32) and f[20] == pytest.approx(1.0) and f[T] == pytest.approx(1 / 32)
    assert max(f) == f[20]  # the peak at cut = floor(T * cut_frac)
    assert SlantedTriangular(T, cut_frac, ratio)(37) == stlr(37, T, cut_frac, ratio)


def test_stlr_equals_onecycle_lr_with_total_steps_t_plus_one():
    T, cut_frac, ratio, lr = 100, 0.1, 32.0, 0.01
    ours = _rates(lambda o: stlr_scheduler(o, T, cut_frac, ratio), T + 1, lr)
    theirs = _rates(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=lr, **onecycle_settings(T, cut_frac, ratio)),
                    T + 1, lr)
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-12)
    assert onecycle_settings(T, cut_frac, ratio)["total_steps"] == T + 1


def test_naive_onecycle_settings_are_one_step_early():
    T, cut_frac, ratio, lr = 100, 0.1, 32.0, 0.01
    ours = _rates(lambda o: stlr_scheduler(o, T, cut_frac, ratio), T, lr)
    naive = _rates(lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=lr, total_steps=T, pct_start=cut_frac, anneal_strategy="linear", three_phase=False,
        div_factor=ratio, final_div_factor=1.0, cycle_momentum=False), T, lr)
    assert int(naive.argmax()) == 9 and int(ours.argmax()) == 10  # peak at cut - 1 instead of cut
    # after the peak the naive schedule is Eq. 3 one step later: naive[t] == ours[t + 1]
    torch.testing.assert_close(naive[10:-1], ours[11:], rtol=1e-9, atol=1e-12)
    assert naive[-1] == pytest.approx(lr / ratio) and ours[-1] > lr / ratio


def test_stlr_never_goes_below_eta_max_over_ratio():
    T, cut_frac, ratio = 105, 0.1, 32  # T * cut_frac not an integer: Eq. 3 alone would go negative
    assert _paper_eq3(104, T, cut_frac, ratio) < 0
    f = [stlr(t, T, cut_frac, ratio) for t in range(T + 1)]
    assert min(f) == pytest.approx(1 / ratio)


def test_stlr_rejects_bad_arguments():
    with pytest.raises(ValueError, match="cut_frac must be"):
        stlr(0, 100, cut_frac=1.5)
    with pytest.raises(ValueError, match="total_steps \\* cut_frac must be at least 1"):
        SlantedTriangular(5, 0.1)
    with pytest.raises(ValueError, match="ratio must be"):
        stlr(0, 100, ratio=0.5)
    with pytest.raises(ValueError, match="t must be"):
        stlr(-1, 100)


def test_discriminative_rates_divide_by_2_6_per_layer_and_set_the_step_size():
    layers = [nn.Linear(2, 2) for _ in range(3)]
    groups = discriminative_param_groups(layers, lr=0.1)
    assert [g["lr"] for g in groups] == pytest.approx([0.1 / 2.6**2, 0.1 / 2.6, 0.1])
    opt = torch.optim.SGD(groups, lr=123.0)  # the groups' own rates win
    before = [l.weight.detach().clone() for l in layers]
    for l in layers:
        l.weight.grad = torch.ones_like(l.weight)
        l.bias.grad = torch.zeros_like(l.bias)
    opt.step()
    for l, w0, g in zip(layers, before, groups):
        torch.testing.assert_close(w0 - l.weight.detach(), torch.full_like(w0, g["lr"]))
    with pytest.raises(ValueError, match="layers must hold at least one layer"):
        discriminative_param_groups([], lr=0.1)
    with pytest.raises(ValueError, match="lr must be"):
        discriminative_param_groups(layers, lr=0.0)


def test_discriminative_groups_keep_their_ratios_under_stlr():
    layers = [nn.Linear(2, 2) for _ in range(2)]
    opt = torch.optim.SGD(discriminative_param_groups(layers, lr=0.1), lr=0.1)
    sched = stlr_scheduler(opt, 50)
    for _ in range(7):
        opt.step()
        sched.step()
    lo, hi = (g["lr"] for g in opt.param_groups)
    assert hi / lo == pytest.approx(2.6) and hi == pytest.approx(0.1 * stlr(7, 50))


def test_gradual_unfreezing_trains_only_the_top_groups():
    model = LSTMClassifier(vocab_size=10, n_classes=2, emb_dim=4, hidden=4)
    groups = model.layer_groups
    for k in (1, 2, 3):
        unfreeze_top(groups, k)
        trainable = [all(p.requires_grad for p in g.parameters()) for g in groups]
        frozen = [not any(p.requires_grad for p in g.parameters()) for g in groups]
        assert trainable == [False] * (3 - k) + [True] * k and frozen == [not t for t in trainable]
    with pytest.raises(ValueError, match="n_top must be"):
        unfreeze_top(groups, 0)


def test_classifier_concat_pooling_ignores_padding(one_thread):
    torch.manual_seed(0)
    model = LSTMClassifier(vocab_size=10, n_classes=3, emb_dim=4, hidden=5).eval()
    ids = torch.tensor([[3, 4, 5]])
    padded = torch.tensor([[3, 4, 5, 0, 0]])
    torch.testing.assert_close(model(ids), model(padded))
    assert model.lm_logits(ids).shape == (1, 3, 10)


def test_sample_efficiency_runs_small_and_is_deterministic(one_thread):
    from coursekit.ulmfit import sample_efficiency

    kw = dict(n_labels=(8, 16), lm_steps=3, finetune_steps=10, batch_size=4, emb_dim=4, hidden=4, n_test_per_sense=2)
    a = sample_efficiency(**kw)
    b = sample_efficiency(**kw)
    assert (a.pretrained, a.scratch, a.lm_perplexity) == (b.pretrained, b.scratch, b.lm_perplexity)
    assert a.n_labels == (8, 16) and len(a.pretrained) == len(a.scratch) == 2
    assert a.n_test == 2 * 9 * 2 and a.n_unlabelled == 9 * (55 - 2)  # each test sentence also swapped
    assert all(0.0 <= v <= 1.0 for v in a.pretrained + a.scratch)
    assert sample_efficiency(**{**kw, "task": "sense"}).n_test == 9 * 2
    with pytest.raises(ValueError, match="task must be one of"):
        sample_efficiency(task="topic")
    with pytest.raises(ValueError, match="n_labels must be at most"):
        sample_efficiency(n_labels=(10_000,), lm_steps=1, finetune_steps=1)
