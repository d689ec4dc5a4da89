"""coursekit.compression: each method's defining property on tiny random BERTs."""

import warnings

import pytest
import torch
import torch.nn.functional as F

from coursekit.bert import BertConfig, BertForSequenceClassification
from coursekit.compression import (DISTILBERT_WEIGHTS, HeadGates, LowRankLinear, distillation_loss, dynamic_int8,
                                   fake_quantize, head_gate_values, head_importance, heads_to_prune, low_rank,
                                   magnitude_prune, model_bytes, pareto_front, parameter_count, prunable_weights,
                                   pruned_head_parameters, quantize_weights, share_all_layers, sparsity,
                                   student_from_teacher, svd_linear)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: one thread is fastest on a busy machine

CFG = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
                 max_position_embeddings=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def _model(seed=0, layers=2):
    torch.manual_seed(seed)
    cfg = BertConfig(**{**CFG.__dict__, "num_hidden_layers": layers})
    return BertForSequenceClassification(cfg, num_labels=3).eval()


def _batch(seed=1, B=5, T=7):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 50, (B, T), generator=g)
    real = torch.ones(B, T, dtype=torch.bool)
    real[0, 5:] = False
    return ids, real, torch.randint(0, 3, (B,), generator=g)


def test_magnitude_prune_exact_fraction_and_smallest():
    m = _model()
    for scope in ("global", "layer"):
        p = magnitude_prune(m, 0.4, scope=scope)
        ws = list(prunable_weights(p).values())
        n = sum(w.numel() for w in ws)
        zeros = sum(int((w == 0).sum()) for w in ws)
        if scope == "global":
            assert zeros == round(0.4 * n)
            orig = torch.cat([w.abs().reshape(-1) for w in prunable_weights(m).values()])
            kept = torch.cat([w.reshape(-1) for w in ws]) != 0
            assert orig[~kept].max() <= orig[kept].min()  # only the smallest went
        else:
            for w in ws:
                assert int((w == 0).sum()) == round(0.4 * w.numel())
        assert sparsity(p) == pytest.approx(zeros / n)
    assert sparsity(m) == 0.0  # the original is untouched
    assert parameter_count(magnitude_prune(m, 0.5), nonzero=True) < parameter_count(m)


def test_magnitude_prune_bad_input():
    with pytest.raises(ValueError, match="amount"):
        magnitude_prune(_model(), 1.5)
    with pytest.raises(ValueError, match="scope"):
        magnitude_prune(_model(), 0.5, scope="row")


def test_gates_at_one_change_nothing_and_zero_gate_removes_head():
    m = _model()
    ids, real, _ = _batch()
    ref = m(ids, key_padding_mask=real).logits
    with HeadGates(m) as g:
        torch.testing.assert_close(m(ids, key_padding_mask=real).logits, ref, rtol=0, atol=0)
        g.values = torch.zeros(2, 4)
        off = m(ids, key_padding_mask=real).logits
    assert not torch.allclose(off, ref)
    # all heads of a layer off == that layer's attention output is only out_proj's bias
    with torch.no_grad():
        for block in m.bert.encoder.layers:
            block.self_attn.v_proj.weight.zero_()
            block.self_attn.v_proj.bias.zero_()
    torch.testing.assert_close(m(ids, key_padding_mask=real).logits, off)
    torch.testing.assert_close(_model()(ids, key_padding_mask=real).logits, ref)  # hooks removed


def test_head_importance_matches_finite_difference_sign_and_per_example():
    m = _model()
    ids, real, y = _batch()
    imp = head_importance(m, ids, real, y, normalize=False, batch_size=2)
    assert imp.shape == (2, 4) and bool((imp >= 0).all())
    # per-example |grad|: one example at a time gives the same sum
    one = sum(head_importance(m, ids[i:i + 1], real[i:i + 1], y[i:i + 1], normalize=False) for i in range(5))
    torch.testing.assert_close(imp, one)
    # the gradient of one example's loss w.r.t. one gate, by finite differences
    eps = 1e-3
    def loss(v):
        with HeadGates(m, v), torch.no_grad():
            return float(F.cross_entropy(m(ids[:1], key_padding_mask=real[:1]).logits, y[:1]))
    v = torch.ones(2, 4, dtype=torch.float64)
    v[1, 2] += eps
    w = torch.ones(2, 4, dtype=torch.float64)
    w[1, 2] -= eps
    fd = (loss(v.float()) - loss(w.float())) / (2 * eps)
    single = head_importance(m, ids[:1], real[:1], y[:1], normalize=False)
    assert single[1, 2].item() == pytest.approx(abs(fd), rel=2e-2, abs=1e-4)
    normed = head_importance(m, ids, real, y)
    torch.testing.assert_close(normed.norm(dim=1), torch.ones(2))
    assert all(p.grad is None for p in m.parameters())


def test_heads_to_prune_orders():
    imp = torch.tensor([[0.5, 0.1, 0.9], [0.2, 0.8, 0.3]])
    p = heads_to_prune(imp, 2)
    assert p.tolist() == [[False, True, False], [True, False, False]]
    r = heads_to_prune(imp, 4, order="random", generator=torch.Generator().manual_seed(0))
    assert int(r.sum()) == 4
    assert head_gate_values(p).tolist() == [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="n"):
        heads_to_prune(imp, 7)
    assert pruned_head_parameters(_model(), 1) == 4 * 4 * 16 + 3 * 4


def test_svd_full_rank_is_the_original_and_truncation_is_eckart_young():
    torch.manual_seed(0)
    lin = torch.nn.Linear(6, 4)
    x = torch.randn(3, 6)
    full = svd_linear(lin, 4)
    torch.testing.assert_close(full(x), lin(x), rtol=1e-5, atol=1e-5)
    two = svd_linear(lin, 2)
    assert isinstance(two, LowRankLinear) and sum(p.numel() for p in two.parameters()) == 2 * (6 + 4) + 4
    S = torch.linalg.svdvals(lin.weight.detach())
    err = torch.linalg.matrix_norm(lin.weight.detach() - two.weight.detach())
    assert err.item() == pytest.approx(float(S[2:].norm()), rel=1e-4)
    assert torch.linalg.matrix_rank(two.weight.detach()) == 2
    with pytest.raises(ValueError, match="rank"):
        svd_linear(lin, 5)


def test_low_rank_model_full_rank_same_outputs_and_fewer_params_low():
    m = _model()
    ids, real, _ = _batch()
    # 16x16 attention matrices are kept at rank 16; FFN (32x16) too: the same model
    same = low_rank(m, 16)
    torch.testing.assert_close(same(ids, key_padding_mask=real).logits, m(ids, key_padding_mask=real).logits,
                               rtol=1e-4, atol=1e-5)
    small = low_rank(m, 2)
    assert parameter_count(small) < parameter_count(m)
    assert isinstance(small.bert.encoder.layers[0].self_attn.q_proj, LowRankLinear)
    ffn_only = low_rank(m, 2, parts=("ffn",))
    assert isinstance(ffn_only.bert.encoder.layers[0].self_attn.q_proj, torch.nn.Linear)
    with pytest.raises(ValueError, match="parts"):
        low_rank(m, 2, parts=("embeddings",))


def test_distillation_loss_hand_formula_and_zero_kl_at_teacher():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    y = torch.tensor([0, 2, 1, 1])
    sh, th = torch.randn(4, 5, 8, generator=g), torch.randn(4, 5, 8, generator=g)
    mask = torch.ones(4, 5, dtype=torch.bool)
    mask[1, 3:] = False
    T = 3.0
    out = distillation_loss(s, t, y, student_hidden=sh, teacher_hidden=th, hidden_mask=mask, temperature=T)
    pt, ps = F.softmax(t / T, -1), F.softmax(s / T, -1)
    kl = (pt * (pt.log() - ps.log())).sum(-1).mean() * T * T
    ce = -F.log_softmax(s, -1)[torch.arange(4), y].mean()
    cos = torch.stack([1 - F.cosine_similarity(sh[b, i], th[b, i], dim=0)
                       for b in range(4) for i in range(5) if mask[b, i]]).mean()
    torch.testing.assert_close(out.soft, kl)
    torch.testing.assert_close(out.hard, ce)
    torch.testing.assert_close(out.cosine, cos)
    ws, wh, wc = DISTILBERT_WEIGHTS
    torch.testing.assert_close(out.total, ws * kl + wh * ce + wc * cos)
    # torch's CosineEmbeddingLoss with target 1 is the same cosine term
    ref = torch.nn.CosineEmbeddingLoss()(sh[mask], th[mask], torch.ones(int(mask.sum())))
    torch.testing.assert_close(out.cosine, ref)
    same = distillation_loss(s, s.clone(), student_hidden=sh, teacher_hidden=sh.clone())
    assert abs(float(same.soft)) < 1e-6 and abs(float(same.cosine)) < 1e-6 and float(same.hard) == 0.0
    with pytest.raises(ValueError, match="teacher_logits"):
        distillation_loss(s, t[:2])


def test_student_from_teacher_copies_every_other_layer():
    teacher = _model(layers=4)
    student = student_from_teacher(teacher)
    assert student.config.num_hidden_layers == 2
    for j, i in enumerate((0, 2)):
        for (_, a), (_, b) in zip(student.bert.encoder.layers[j].named_parameters(),
                                  teacher.bert.encoder.layers[i].named_parameters()):
            torch.testing.assert_close(a, b)
    torch.testing.assert_close(student.classifier.weight, teacher.classifier.weight)
    torch.testing.assert_close(student.bert.embeddings.word_embeddings.weight,
                               teacher.bert.embeddings.word_embeddings.weight)
    scratch = student_from_teacher(teacher, copy_weights=False)
    assert not torch.allclose(scratch.classifier.weight, teacher.classifier.weight)
    # a 2-layer teacher keeping both layers is the teacher
    t2 = _model()
    ids, real, _ = _batch()
    torch.testing.assert_close(student_from_teacher(t2, (0, 1))(ids, key_padding_mask=real).logits,
                               t2(ids, key_padding_mask=real).logits)
    with pytest.raises(ValueError, match="layers"):
        student_from_teacher(teacher, (4,))


def test_share_all_layers_counts_one_block():
    m = _model(layers=3)
    s = share_all_layers(m)
    block = sum(p.numel() for p in m.bert.encoder.layers[0].parameters())
    assert parameter_count(s) == parameter_count(m) - 2 * block
    layers = s.bert.encoder.layers
    assert layers[0] is layers[1] is layers[2]
    mean = torch.stack([b.ffn.up.weight for b in m.bert.encoder.layers]).mean(0)
    torch.testing.assert_close(layers[0].ffn.up.weight, mean)
    src = share_all_layers(m, source=1)
    torch.testing.assert_close(src.bert.encoder.layers[2].ffn.up.weight, m.bert.encoder.layers[1].ffn.up.weight)


def test_fake_quantize_error_bound_and_levels():
    torch.manual_seed(0)
    w = torch.randn(5, 9)
    w[3] = 0.0
    for bits in (8, 4):
        q = fake_quantize(w, bits)
        qmax = 2 ** (bits - 1) - 1
        scale = w.abs().amax(1, keepdim=True) / qmax
        assert bool(((q - w).abs() <= scale / 2 + 1e-7).all())
        levels = torch.where(scale > 0, q / torch.where(scale > 0, scale, 1), 0)
        torch.testing.assert_close(levels, levels.round(), rtol=0, atol=1e-4)
        assert int(levels.abs().max()) == qmax  # each non-zero row's extreme is exactly representable
        assert bool((q[3] == 0).all())
    assert fake_quantize(w, 16).sub(w).abs().max() < 1e-4
    with pytest.raises(ValueError, match="bits"):
        fake_quantize(w, 1)


def test_quantize_weights_bytes_and_dynamic_int8():
    m = _model()
    q, widths = quantize_weights(m, 4)
    mats = [p for p in m.parameters() if p.dim() == 2]
    other = sum(p.numel() for p in m.parameters() if p.dim() != 2)
    expected = sum(p.numel() * 4 / 8 + 4 * p.shape[0] for p in mats) + 4 * other
    assert model_bytes(q, bits=widths) == round(expected)
    assert model_bytes(m) == 4 * parameter_count(m)
    ids, real, _ = _batch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning escapes
        out = dynamic_int8(m)
    if out is not None:
        dq, size = out
        assert size < model_bytes(m)
        torch.testing.assert_close(dq(ids, key_padding_mask=real).logits, m(ids, key_padding_mask=real).logits,
                                   rtol=0.1, atol=0.05)


def test_pareto_front():
    rows = [dict(bytes=10, accuracy=0.9), dict(bytes=5, accuracy=0.8), dict(bytes=6, accuracy=0.7),
            dict(bytes=5, accuracy=0.8), dict(bytes=20, accuracy=0.9)]
    front = pareto_front(rows)
    assert [(r["bytes"], r["accuracy"]) for r in front] == [(5, 0.8), (5, 0.8), (10, 0.9)]
    with pytest.raises(ValueError, match="rows"):
        pareto_front([dict(bytes=1)])


def test_gates_refuse_shared_layers_and_bad_values():
    with pytest.raises(ValueError, match="share attention"):
        HeadGates(share_all_layers(_model()))
    g = HeadGates(_model())
    with pytest.raises(ValueError, match=r"values must be a float tensor \(L, A\) = \(2, 4\)"):
        g.values = torch.ones(2, 3)
    g.remove()


def test_latency_and_accuracy_measure_the_given_models():
    from coursekit.compression import classify, latency_ms
    m = _model()
    ids, real, _ = _batch()
    ms = latency_ms({"a": m, "b": low_rank(m, 2)}, ids, real, rounds=1)
    assert set(ms) == {"a", "b"} and all(v > 0 for v in ms.values())
    pred = classify(m, ids, real)
    torch.testing.assert_close(pred, m(ids, key_padding_mask=real).logits.argmax(-1))
    with pytest.raises(ValueError, match="models"):
        latency_ms({}, ids, real)
