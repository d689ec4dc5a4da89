"""Tests for Chapter 5's measurements: Table 1 on one layer (coursekit.transformer.table1),
the post-/pre-norm experiment (placement) and label smoothing's effect (smoothing)."""

import math
import time
from dataclasses import replace
from functools import partial

import pytest
import torch
from torch import nn

from coursekit.data import BatchSampler, copy_task
from coursekit.decoding import teacher_forced_loss
from coursekit.train import fit
from coursekit.transformer import (
    Confidence,
    PlacementConfig,
    ReverseTagger,
    Transformer,
    TransformerConfig,
    forward_backward_ms,
    gru_in_rounds,
    interleaved_ms,
    layer_timings,
    loglog_slope,
    make_layer,
    placement_run,
    prediction_confidence,
    reverse_batch,
    rounds_to_connect,
    sequential_operations,
)

pytestmark = pytest.mark.usefixtures("one_thread")


# ----------------------------------------------------------------------------- Table 1
@pytest.mark.parametrize("kind", ["self-attention", "recurrent"])
def test_layers_map_b_n_d_to_b_n_d(kind):
    layer = make_layer(kind, 8, n_heads=2)
    assert layer(torch.randn(3, 5, 8)).shape == (3, 5, 8)
    with pytest.raises(ValueError, match="kind"):
        make_layer("convolution", 8)


def test_gru_in_rounds_equals_the_gru_after_n_rounds_and_not_before():
    torch.manual_seed(0)
    gru, x = nn.GRU(6, 5, batch_first=True), torch.randn(2, 7, 6)
    want = gru(x)[0]
    torch.testing.assert_close(gru_in_rounds(gru, x, 7), want)
    torch.testing.assert_close(gru_in_rounds(gru, x, 9), want)  # a fixed point: more rounds change nothing
    early = gru_in_rounds(gru, x, 4)
    torch.testing.assert_close(early[:, :4], want[:, :4])  # positions t < r are already exact
    assert not torch.allclose(early[:, 4:], want[:, 4:])
    with pytest.raises(ValueError, match="unidirectional"):
        gru_in_rounds(nn.GRU(6, 5, batch_first=True, bidirectional=True), x, 3)


@pytest.mark.parametrize("n", [3, 8, 13])
def test_path_length_is_one_layer_for_attention_and_n_rounds_for_the_recurrence(n):
    assert rounds_to_connect("self-attention", n) == 1
    assert rounds_to_connect("recurrent", n) == n


def test_rounds_to_connect_says_when_the_budget_is_too_small():
    with pytest.raises(ValueError, match="does not depend"):
        rounds_to_connect("recurrent", 6, max_rounds=3)


def test_sequential_operations_constant_for_attention_linear_for_the_gru():
    def ops(kind, n):
        torch.manual_seed(0)
        return sequential_operations(make_layer(kind, 8, n_heads=2)(torch.randn(1, n, 8, requires_grad=True)))

    att = [ops("self-attention", n) for n in (4, 8, 16)]
    gru = [ops("recurrent", n) for n in (4, 8, 16)]
    assert att[0] == att[1] == att[2]
    assert gru[0] < gru[1] < gru[2]
    assert (gru[2] - gru[1]) / 8 == (gru[1] - gru[0]) / 4  # the same number of operations per extra step


def test_sequential_operations_counts_a_chain():
    x = torch.randn(3, requires_grad=True)
    y = x
    for _ in range(5):
        y = torch.tanh(y)
    assert sequential_operations(y) == 5
    assert sequential_operations(y + x) == 6  # the longest chain, not the shortest
    with pytest.raises(ValueError, match="grad_fn"):
        sequential_operations(torch.randn(3))


def test_loglog_slope_reads_the_exponent():
    xs = [2.0, 4.0, 8.0, 16.0]
    assert loglog_slope(xs, [3 * x**2 for x in xs]) == pytest.approx(2.0)
    assert loglog_slope(xs, [5 * x for x in xs]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        loglog_slope([1.0], [1.0])
    with pytest.raises(ValueError):
        loglog_slope([1.0, 2.0], [0.0, 1.0])


def test_timings_have_one_row_per_layer_and_size():
    rows = layer_timings((4, 8), (8,), n_fixed=4, d_fixed=8, batch=2, n_heads=2, repeats=1)
    assert len(rows) == 6 and {r["layer"] for r in rows} == {"self-attention", "recurrent"}
    assert all(r["ms"] > 0 for r in rows) and [r["sweep"] for r in rows] == ["n"] * 4 + ["d"] * 2
    layer = make_layer("recurrent", 8)
    assert forward_backward_ms(layer, torch.randn(2, 4, 8), repeats=2) > 0
    assert all(p.grad is None for p in layer.parameters())  # the timing leaves no gradients behind


def test_interleaved_ms_times_each_function_in_turn_after_warm_up():
    calls = []
    ms = interleaved_ms({"fast": lambda: calls.append("f"), "slow": lambda: (calls.append("s"), time.sleep(0.003))},
                        warmup=1, rounds=3, calls=2)
    assert set(ms) == {"fast", "slow"} and ms["slow"] > ms["fast"] >= 0 and ms["slow"] >= 2.5
    assert calls[:2] == ["f", "s"] and len(calls) == 2 + 3 * 2 * 2
    assert calls[2:6] == ["f", "f", "s", "s"] and calls[6:10] == ["s", "s", "f", "f"]  # the order alternates
    with pytest.raises(ValueError, match="rounds"):
        interleaved_ms({"a": lambda: None}, rounds=0)


# ----------------------------------------------------------------------------- placement
def test_reverse_batch_and_tagger_shapes():
    cfg = PlacementConfig(n_layers=2, d_model=8, d_ff=16, vocab=4, length=5, batch=3, steps=2)
    src, tgt = reverse_batch(cfg, torch.Generator().manual_seed(0))
    assert src.shape == tgt.shape == (3, 5) and torch.equal(tgt, src.flip(1))
    assert ReverseTagger(cfg, norm_first=True)(src).shape == (3, 5, 4)


def test_placement_run_is_deterministic_and_learns_at_a_gentle_rate():
    cfg = PlacementConfig(n_layers=1, d_model=16, d_ff=32, vocab=4, length=4, batch=32, steps=40, lr=1e-2, warmup_steps=5)
    a, b = placement_run(cfg, True, seed=1), placement_run(cfg, True, seed=1)
    assert a == b and len(a) == 40
    assert sum(a[-5:]) / 5 < a[0] - 0.3  # well below where it started (ln 4 = 1.39)
    assert placement_run(cfg, False, seed=1) != a  # the placement is the only difference


def test_placement_run_records_a_divergence_as_inf():
    cfg = PlacementConfig(n_layers=2, d_model=8, d_ff=16, vocab=4, length=4, batch=4, steps=5, lr=1e30)
    losses = placement_run(cfg, False, seed=0)
    assert len(losses) == 5 and math.isinf(losses[-1])


def test_placement_config_validates():
    with pytest.raises(ValueError, match="divisible"):
        PlacementConfig(d_model=10, n_heads=3)
    with pytest.raises(ValueError, match="lr"):
        PlacementConfig(lr=0.0)


# ----------------------------------------------------------------------------- label smoothing
def test_prediction_confidence_matches_a_hand_computation():
    data = copy_task(20, lengths=(2, 4), seed=0)
    torch.manual_seed(0)
    model = Transformer(TransformerConfig.for_data(data, d_model=16, n_heads=2, d_ff=32, n_layers=1)).eval()
    conf = prediction_confidence(model, data, batch_size=7)
    batch = data.batch()
    with torch.no_grad():
        logp = model(batch.src, batch.tgt_in).logits.log_softmax(-1)[batch.tgt_mask]
    gold = batch.tgt_out[batch.tgt_mask]
    assert isinstance(conf, Confidence) and conf.tokens == int(batch.tgt_mask.sum())
    assert conf.nll == pytest.approx(float(-logp.gather(1, gold[:, None]).mean()), rel=1e-5)
    assert conf.perplexity == pytest.approx(math.exp(conf.nll))
    assert conf.max_prob == pytest.approx(float(logp.exp().max(-1).values.mean()), rel=1e-5)
    assert conf.entropy == pytest.approx(float(-(logp.exp() * logp).sum(-1).mean()), rel=1e-5)
    assert conf.accuracy == pytest.approx(float((logp.argmax(-1) == gold).float().mean()))


def test_label_smoothing_makes_the_same_model_less_confident():
    data = copy_task(256, lengths=(3, 4), vocab_size=5, seed=0)
    cfg = TransformerConfig.for_data(data, d_model=16, n_heads=2, d_ff=32, n_layers=1, norm_first=True)
    conf = {}
    for eps in (0.0, 0.3):
        torch.manual_seed(0)
        model = Transformer(cfg)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        fit(model, opt, BatchSampler(data, 32, seed=0), partial(teacher_forced_loss, label_smoothing=eps), steps=40,
            progress=False)
        conf[eps] = prediction_confidence(model, data)
    assert conf[0.3].max_prob < conf[0.0].max_prob - 0.05
    assert conf[0.3].entropy > conf[0.0].entropy
