"""Transformer-XL: the relative shift, relative scores against a loop, memories, causality, the recall task."""

import dataclasses

import pytest
import torch

from coursekit.efficient.transformer_xl import (
    RelativeMultiHeadAttention,
    XLConfig,
    XLModel,
    recall_stream,
    rel_shift,
    relative_scores,
    segment_batches,
    train_xl,
)
from coursekit.transformer.positions import sinusoidal_encoding

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: two threads on a busy machine are far slower

CFG = XLConfig(vocab_size=11, d_model=16, n_heads=2, d_ff=24, n_layers=2, seg_len=4, mem_len=4)


@pytest.mark.parametrize("T,S", [(4, 4), (3, 7), (1, 5), (5, 6)])
def test_rel_shift_puts_each_distance_in_place(T, S):
    x = torch.randn(2, 3, T, S, generator=torch.Generator().manual_seed(T * 10 + S))
    out = rel_shift(x)
    for i in range(T):
        for j in range(i + S - T + 1):  # the causal region
            assert out[..., i, j].equal(x[..., i, j + T - 1 - i])


@pytest.mark.parametrize("M", [0, 3])
def test_relative_scores_equal_the_four_terms_computed_in_a_loop(M):
    torch.manual_seed(M)
    attn = RelativeMultiHeadAttention(8, 2)
    with torch.no_grad():
        attn.u.normal_()
        attn.v_bias.normal_()
    T, D, H, Dh = 4, 8, 2, 4
    x, mem = torch.randn(2, T, D), (torch.randn(2, M, D) if M else None)
    scores, _ = attn.scores(x, mem)
    h = x if mem is None else torch.cat([mem, x], 1)
    S = M + T
    q = attn.q_proj(x).view(2, T, H, Dh)
    k = attn.k_proj(h).view(2, S, H, Dh)
    pe = sinusoidal_encoding(S, D)  # row d = the encoding of distance d
    Wr = attn.r_proj(pe).view(S, H, Dh)
    for i in range(T):
        for j in range(M + i + 1):
            d = M + i - j  # query at position M + i, key at position j
            a = (q[:, i] * k[:, j]).sum(-1)  # (a) content-content
            b = (q[:, i] * Wr[d]).sum(-1)  # (b) content-position
            c = (attn.u * k[:, j]).sum(-1)  # (c) global content bias
            e = (attn.v_bias * Wr[d]).sum(-1)  # (d) global position bias
            torch.testing.assert_close(scores[:, :, i, j], (a + b + c + e) / Dh**0.5)


def test_relative_scores_shapes():
    q, k = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 6, 5)
    assert relative_scores(q, k, torch.randn(3, 6, 5), torch.zeros(3, 5), torch.zeros(3, 5)).shape == (2, 3, 4, 6)


def test_memories_are_detached_and_mem_len_long():
    torch.manual_seed(0)
    model = XLModel(dataclasses.replace(CFG, mem_len=6))
    ids = torch.randint(11, (2, 3, 4))
    logits, mems = model(ids[:, 0])
    assert logits.shape == (2, 4, 11) and len(mems) == 2
    assert [m.shape for m in mems] == [(2, 4, 16)] * 2  # fewer than mem_len positions seen so far
    logits, mems2 = model(ids[:, 1], mems)
    assert [m.shape for m in mems2] == [(2, 6, 16)] * 2
    assert all(not m.requires_grad and m.grad_fn is None for m in mems2)
    # layer 0's memory is the scaled embeddings of the last 6 tokens
    torch.testing.assert_close(mems2[0], model.embed(ids[:, :2].reshape(2, 8)[:, -6:]) * 4.0)
    logits.sum().backward()  # the stop-gradient: no gradient reaches the previous segment's graph
    assert all(m.grad is None for m in mems)


def test_segments_with_memory_equal_one_pass_over_both():
    torch.manual_seed(1)
    model = XLModel(CFG).eval()
    ids = torch.randint(11, (3, 8))
    plain = XLModel(dataclasses.replace(CFG, mem_len=0))
    plain.load_state_dict(model.state_dict())
    full, _ = plain.eval()(ids)  # one causal pass over 8 tokens
    first, mems = model(ids[:, :4])
    second, _ = model(ids[:, 4:], mems)
    torch.testing.assert_close(torch.cat([first, second], 1), full, atol=1e-5, rtol=1e-5)


def test_without_memory_it_is_a_plain_causal_transformer():
    torch.manual_seed(2)
    model = XLModel(dataclasses.replace(CFG, mem_len=0)).eval()
    ids = torch.randint(11, (2, 6))
    logits, mems = model(ids)
    assert [m.shape for m in mems] == [(2, 0, 16)] * 2
    again, _ = model(ids, mems)  # an empty memory changes nothing
    torch.testing.assert_close(again, logits)
    changed = ids.clone()
    changed[:, 4:] = (changed[:, 4:] + 1) % 11  # change the future
    after, _ = model(changed)
    torch.testing.assert_close(after[:, :4], logits[:, :4])  # the past's logits stay
    assert not torch.allclose(after[:, 4:], logits[:, 4:])


def test_memory_carries_the_previous_segment():
    torch.manual_seed(3)
    model = XLModel(CFG).eval()
    a, b, seg = torch.randint(11, (1, 4)), torch.randint(11, (1, 4)), torch.randint(11, (1, 4))
    out_a, _ = model(seg, model(a)[1])
    out_b, _ = model(seg, model(b)[1])
    assert not torch.allclose(out_a, out_b)


def test_overfits_one_tiny_batch():
    torch.manual_seed(4)
    model = XLModel(dataclasses.replace(CFG, n_layers=1))
    ids = torch.randint(11, (4, 5))
    ids[:, 0] = torch.arange(4)  # distinct first tokens: every prefix determines its next token
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(40):
        logits, _ = model(ids[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


def test_recall_stream_and_segments():
    s = recall_stream(5, 4, 3, 7, torch.Generator().manual_seed(0))
    assert s.shape == (5, 13) and s.dtype == torch.long and int(s.max()) < 7
    assert torch.equal(s[:, 4:], s[:, :-4])  # period seg_len
    segs = segment_batches(s, 4)
    assert len(segs) == 3
    for n, (inp, tgt, needs) in enumerate(segs):
        assert torch.equal(inp, s[:, 4 * n : 4 * n + 4]) and torch.equal(tgt, s[:, 4 * n + 1 : 4 * n + 5])
        assert needs.tolist() == ([False] * 4 if n == 0 else [True, True, True, False])
    # a target that needs memory is the token seg_len - 1 places back: in the previous segment
    inp0, _, _ = segs[0]
    _, tgt1, needs1 = segs[1]
    assert torch.equal(tgt1[:, needs1], inp0[:, 1:])
    assert recall_stream(5, 4, 3, 7, torch.Generator().manual_seed(0)).equal(s)


def test_train_xl_memory_solves_recall_and_no_memory_is_at_chance():
    r = train_xl(XLConfig(vocab_size=8, d_model=32, d_ff=32, seg_len=4, mem_len=4), steps=40, batch_size=16, n_eval=64)
    assert r.mem_lens == (0, 4) and r.chance == 1 / 8
    assert r.recall_accuracy[1] > 0.7  # 0.95 at this seed; the notebook's longer run reaches 1.0
    assert r.recall_accuracy[0] < 0.25  # chance 0.125 on 192 targets
    assert len(r.losses) == 2 and len(r.losses[0]) == 40


def test_bad_inputs():
    with pytest.raises(ValueError, match="mem_len must be a non-negative int"):
        XLConfig(mem_len=-1)
    with pytest.raises(ValueError, match="d_model must be divisible by n_heads"):
        XLConfig(d_model=10, n_heads=4)
    model = XLModel(CFG)
    with pytest.raises(ValueError, match="mems must be None or a tuple of 2 tensors"):
        model(torch.zeros(1, 4, dtype=torch.long), (torch.zeros(1, 2, 16),))
    with pytest.raises(ValueError, match=r"ids must be in \[0, 11\)"):
        model(torch.full((1, 4), 11))
    with pytest.raises(ValueError, match="n_segments must be an int >= 2"):
        recall_stream(2, 4, 1, 5, torch.Generator())
    with pytest.raises(ValueError, match="cfg must be an XLConfig"):
        train_xl(CFG.block)
