"""Tests for coursekit.attention.masked_softmax."""

import re

import pytest
import torch

from coursekit.attention import masked_softmax


pytestmark = pytest.mark.usefixtures("one_thread")


def test_no_mask_is_plain_softmax():
    torch.manual_seed(0)
    scores = torch.randn(2, 3, 5)
    torch.testing.assert_close(masked_softmax(scores, None), torch.softmax(scores, -1))
    torch.testing.assert_close(masked_softmax(scores, None, dim=1), torch.softmax(scores, 1))


def test_all_true_mask_equals_softmax():
    torch.manual_seed(0)
    scores = torch.randn(2, 3, 5)
    full = torch.ones(2, 3, 5, dtype=torch.bool)
    torch.testing.assert_close(masked_softmax(scores, full), torch.softmax(scores, -1))
    # a broadcast all-True mask, and another dim
    torch.testing.assert_close(masked_softmax(scores, torch.ones(5, dtype=torch.bool)), torch.softmax(scores, -1))
    torch.testing.assert_close(masked_softmax(scores, full, dim=1), torch.softmax(scores, 1))


def test_masked_entries_are_exactly_zero_and_kept_entries_are_softmax_of_the_kept():
    torch.manual_seed(1)
    scores = torch.randn(4, 6) * 3
    mask = torch.rand(4, 6) > 0.4
    mask[:, 0] = True  # every row keeps something
    w = masked_softmax(scores, mask)
    assert torch.all(w[~mask] == 0)
    for i in range(4):
        kept = scores[i][mask[i]]
        torch.testing.assert_close(w[i][mask[i]], torch.softmax(kept, -1))
    torch.testing.assert_close(w.sum(-1), torch.ones(4))


def test_padding_mask_broadcasts_over_queries():
    torch.manual_seed(2)
    scores = torch.randn(2, 3, 4)  # (B, T, S)
    lengths = torch.tensor([4, 2])
    mask = (torch.arange(4)[None, :] < lengths[:, None])[:, None, :]  # (B, 1, S)
    w = masked_softmax(scores, mask)
    assert torch.all(w[1, :, 2:] == 0)
    torch.testing.assert_close(w[1, :, :2], torch.softmax(scores[1, :, :2], -1))
    torch.testing.assert_close(w[0], torch.softmax(scores[0], -1))


def test_fully_masked_row_is_zero_not_nan_and_has_finite_gradients():
    scores = torch.randn(2, 3, requires_grad=True)
    mask = torch.tensor([[True, False, True], [False, False, False]])
    w = masked_softmax(scores, mask)
    torch.testing.assert_close(w[1], torch.zeros(3), atol=0, rtol=0)
    (w * torch.randn(2, 3)).sum().backward()
    assert torch.isfinite(scores.grad).all()
    torch.testing.assert_close(scores.grad[1], torch.zeros(3), atol=0, rtol=0)


def test_gradient_matches_softmax_over_kept_entries():
    torch.manual_seed(3)
    base = torch.randn(5)
    mask = torch.tensor([True, False, True, True, False])
    g = torch.randn(5)
    a = base.clone().requires_grad_(True)
    (masked_softmax(a, mask) * g).sum().backward()
    b = base[mask].clone().requires_grad_(True)
    (torch.softmax(b, -1) * g[mask]).sum().backward()
    torch.testing.assert_close(a.grad[mask], b.grad)
    assert torch.all(a.grad[~mask] == 0)


def test_large_scores_are_stable():
    scores = torch.tensor([[1e4, 1e4 - 1.0, -1e4]])
    w = masked_softmax(scores, torch.tensor([[True, True, False]]))
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w, torch.softmax(torch.tensor([[1.0, 0.0, float("-inf")]]), -1))


@pytest.mark.parametrize("dtype", [torch.long, torch.float32, torch.uint8])
def test_non_bool_mask_is_rejected(dtype):
    with pytest.raises(ValueError, match=rf"mask must be a bool tensor \(True = may attend\), got dtype {dtype}"):
        masked_softmax(torch.zeros(2, 3), torch.ones(2, 3, dtype=dtype))


@pytest.mark.parametrize("mask_shape", [(2, 4), (3, 2, 3), (5,)])
def test_non_broadcastable_mask_is_rejected(mask_shape):
    expected = f"mask of shape {tuple(mask_shape)} does not broadcast to scores of shape (2, 3)"
    with pytest.raises(ValueError, match=re.escape(expected)):
        masked_softmax(torch.zeros(2, 3), torch.ones(mask_shape, dtype=torch.bool))


# --- Chapter 4: scaled dot-product attention, masks, multi-head attention -------------

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from coursekit.attention import (  # noqa: E402
    MultiHeadAttention,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
)


def _pair(d_model=16, n_heads=4, bias=True, seed=0):
    """A torch MultiheadAttention and a coursekit MultiHeadAttention with the same weights."""
    torch.manual_seed(seed)
    ref = nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True).eval()
    with torch.no_grad():  # torch zero-initialises the biases; make them count
        if bias:
            ref.in_proj_bias.normal_()
            ref.out_proj.bias.normal_()
    ours = MultiHeadAttention(d_model, n_heads, bias=bias).load_torch_weights(ref).eval()
    return ref, ours


def test_sdpa_matches_torch_and_the_formula():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 6)
    mask = torch.rand(2, 1, 5, 7) > 0.3
    mask[..., 0] = True
    out, w = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    expected_w = torch.softmax((q @ k.transpose(-2, -1) / 8**0.5).masked_fill(~mask, float("-inf")), -1)
    torch.testing.assert_close(w, expected_w)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5))
    out2, _ = scaled_dot_product_attention(q, k, v, scale=0.3)
    torch.testing.assert_close(out2, F.scaled_dot_product_attention(q, k, v, scale=0.3))


def test_sdpa_fully_masked_row_is_zero():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5, 2)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1] = False
    out, w = scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(w[1] == 0) and torch.all(out[1] == 0)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "shapes, message",
    [
        (((3, 4), (5, 6), (5, 2)), "q and k must have the same width Dh, got q (3, 4) and k (5, 6)"),
        (((3, 4), (5, 4), (6, 2)), "k and v must have the same length S, got k (5, 4) and v (6, 2)"),
        (((4,), (5, 4), (5, 2)), "q must be a floating tensor of shape (..., L, width), got 1-d"),
    ],
)
def test_sdpa_rejects_bad_shapes(shapes, message):
    q, k, v = (torch.zeros(s) for s in shapes)
    with pytest.raises(ValueError, match=re.escape(message)):
        scaled_dot_product_attention(q, k, v)


def test_sdpa_rejects_bad_masks():
    q = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="mask must be a bool tensor"):
        scaled_dot_product_attention(q, q, q, torch.ones(3, 3))
    with pytest.raises(ValueError, match=re.escape("mask of shape (2, 3) does not broadcast to scores of shape (3, 3)")):
        scaled_dot_product_attention(q, q, q, torch.ones(2, 3, dtype=torch.bool))


def test_causal_mask():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    torch.testing.assert_close(m, torch.ones(4, 4).tril().bool())
    m = causal_mask(2, 5)  # two new queries after three cached keys
    torch.testing.assert_close(m, torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]).bool())
    for i in range(2):  # query i sits at absolute position i + 3 and sees keys 0..i+3
        assert m[i].nonzero().max().item() == i + 3
    with pytest.raises(ValueError, match="S must be >= T"):
        causal_mask(5, 3)
    with pytest.raises(ValueError, match="T must be a positive int, got 0"):
        causal_mask(0)


def test_padding_mask_from_ids_and_from_lengths_agree():
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    m = padding_mask(ids)
    assert m.shape == (2, 1, 4) and m.dtype == torch.bool
    torch.testing.assert_close(m, padding_mask(torch.tensor([3, 2]), 4))
    torch.testing.assert_close(padding_mask(torch.tensor([3, 2])), m[..., :3])  # S defaults to the longest
    torch.testing.assert_close(padding_mask(ids + 1, pad_id=1), m)


@pytest.mark.parametrize(
    "args, message",
    [
        ((torch.ones(2, 3),), "ids_or_lengths must be an integer tensor of shape (B, S) ids or (B,) lengths, got a 2-d torch.float32"),
        ((torch.tensor([2, 5]), 4), "lengths must lie in [0, S=4], got [2, 5]"),
        ((torch.ones(2, 3, dtype=torch.long), 4), "S must equal ids.shape[1]=3 when ids are given, got S=4"),
    ],
)
def test_padding_mask_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        padding_mask(*args)


@pytest.mark.parametrize("bias", [True, False])
def test_mha_matches_torch_outputs_and_per_head_weights(bias):
    ref, ours = _pair(bias=bias)
    x = torch.randn(3, 5, 16)
    out, w = ours(x, need_weights=True)
    ref_out, ref_w = ref(x, x, x, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(w, ref_w)  # (B, H, T, S)
    _, ref_avg = ref(x, x, x)  # torch's default averages over heads
    torch.testing.assert_close(w.mean(1), ref_avg)


def test_mha_cross_attention_with_padding_matches_torch():
    """torch's key_padding_mask is True = IGNORE, the opposite of coursekit's convention: pass ~mask."""
    ref, ours = _pair()
    q, kv = torch.randn(2, 4, 16), torch.randn(2, 6, 16)
    mask = padding_mask(torch.tensor([6, 3]), 6)  # (B, 1, S), True = real token
    out, w = ours(q, kv, kv, mask, need_weights=True)
    ref_out, ref_w = ref(q, kv, kv, key_padding_mask=~mask[:, 0], average_attn_weights=False)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(w, ref_w)
    assert torch.all(w[1, :, :, 3:] == 0)


def test_mha_causal_mask_matches_torch():
    """torch's boolean attn_mask is also True = NOT allowed: pass ~causal_mask."""
    ref, ours = _pair()
    x = torch.randn(2, 5, 16)
    out, w = ours(x, mask=causal_mask(5), need_weights=True)
    ref_out, ref_w = ref(x, x, x, attn_mask=~causal_mask(5), average_attn_weights=False)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(w, ref_w)


@pytest.mark.parametrize("mask_kind", ["none", "causal", "padding", "per_head"])
def test_fast_path_equals_from_scratch_path(mask_kind):
    torch.manual_seed(1)
    mha = MultiHeadAttention(16, 4).eval()
    x = torch.randn(2, 5, 16, requires_grad=True)
    mask = {
        "none": None,
        "causal": causal_mask(5),
        "padding": padding_mask(torch.tensor([5, 2]), 5),
        "per_head": torch.rand(2, 4, 5, 5) > 0.5,  # some rows fully masked: both give zeros
    }[mask_kind]
    slow, w = mha(x, mask=mask, need_weights=True)
    fast, none = mha(x, mask=mask)
    assert none is None and w.shape == (2, 4, 5, 5)
    torch.testing.assert_close(fast, slow)
    g_slow = torch.autograd.grad(slow.sum(), x)[0]
    g_fast = torch.autograd.grad(mha(x, mask=mask)[0].sum(), x)[0]
    torch.testing.assert_close(g_fast, g_slow)


def test_rows_sum_to_one_and_weights_are_per_head():
    torch.manual_seed(2)
    mha = MultiHeadAttention(12, 3)
    _, w = mha(torch.randn(2, 4, 12), torch.randn(2, 7, 12), need_weights=True)
    assert w.shape == (2, 3, 4, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 4))
    assert not torch.allclose(w[:, 0], w[:, 1])  # different heads attend differently


def test_self_attention_is_permutation_equivariant():
    torch.manual_seed(3)
    mha = MultiHeadAttention(16, 4)
    x = torch.randn(2, 6, 16)
    perm = torch.randperm(6)
    out, w = mha(x, need_weights=True)
    out_p, w_p = mha(x[:, perm], need_weights=True)
    torch.testing.assert_close(out_p, out[:, perm])
    torch.testing.assert_close(w_p, w[:, :, perm][..., perm])


def test_causal_mask_hides_the_future():
    torch.manual_seed(4)
    mha = MultiHeadAttention(16, 4)
    x = torch.randn(1, 6, 16)
    y = x.clone()
    y[:, 4:] = torch.randn(1, 2, 16)  # change the last two tokens
    for need_weights in (True, False):
        a, _ = mha(x, mask=causal_mask(6), need_weights=need_weights)
        b, _ = mha(y, mask=causal_mask(6), need_weights=need_weights)
        torch.testing.assert_close(a[:, :4], b[:, :4])
        assert not torch.allclose(a[:, 4:], b[:, 4:])
    unmasked_a, _ = mha(x)
    unmasked_b, _ = mha(y)
    assert not torch.allclose(unmasked_a[:, :4], unmasked_b[:, :4])  # without the mask the past sees the future


def test_padding_does_not_change_the_real_positions():
    torch.manual_seed(5)
    mha = MultiHeadAttention(16, 4)
    x = torch.randn(1, 3, 16)
    padded = torch.cat([x, torch.randn(1, 4, 16) * 10], dim=1)  # 4 pad positions holding garbage
    mask = padding_mask(torch.tensor([3]), 7)
    for need_weights in (True, False):
        alone, _ = mha(x, need_weights=need_weights)
        with_pad, _ = mha(padded, mask=mask, need_weights=need_weights)
        torch.testing.assert_close(with_pad[:, :3], alone)


def test_rotary_hook_is_applied_to_q_and_k_in_both_paths():
    torch.manual_seed(6)
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 4, 8)
    seen = []

    def flip(t, offset):  # any (B, H, T, Dh) -> same-shape map, called with the position offset
        seen.append(tuple(t.shape))
        return t.flip(-1) * 2.0

    slow, _ = mha(x, need_weights=True, rotary=flip)
    fast, _ = mha(x, rotary=flip)
    torch.testing.assert_close(fast, slow)
    assert seen == [(2, 2, 4, 4)] * 4
    assert not torch.allclose(slow, mha(x)[0])


def test_dropout_only_when_training():
    torch.manual_seed(7)
    mha = MultiHeadAttention(8, 2, dropout=0.5)
    x = torch.randn(2, 4, 8)
    mha.eval()
    torch.testing.assert_close(mha(x)[0], mha(x)[0])
    mha.train()
    assert not torch.allclose(mha(x)[0], mha(x)[0])
    _, w = mha(x, need_weights=True)
    assert (w == 0).any()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(d_model=10, n_heads=4), "d_model must be divisible by n_heads, got d_model=10, n_heads=4"),
        (dict(d_model=0, n_heads=1), "d_model must be a positive int, got 0"),
        (dict(d_model=8, n_heads=2, dropout=1.0), "dropout must be in [0, 1), got 1.0"),
    ],
)
def test_mha_rejects_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        MultiHeadAttention(**kwargs)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m(torch.zeros(2, 3, 6)), "query must have shape (B, T, 8), got (2, 3, 6) (dim 2 should be 8)"),
        (lambda m: m(torch.zeros(2, 3, 8), torch.zeros(3, 4, 8)), "key must have shape (B, S, 8) with B=2, got (3, 4, 8)"),
        (lambda m: m(torch.zeros(2, 3, 8), torch.zeros(2, 4, 8), torch.zeros(2, 5, 8)), "value must have shape (B, S, 8) with S=4"),
        (lambda m: m(torch.zeros(2, 3, 8), mask=torch.ones(3, 3)), "mask must be a bool tensor (True = may attend), got dtype torch.float32"),
        (lambda m: m(torch.zeros(2, 3, 8), mask=torch.ones(3, 4, dtype=torch.bool)), "mask of shape (3, 4) does not broadcast to attention scores (B, H, T, S) of shape (2, 2, 3, 3)"),
        (lambda m: m(torch.zeros(2, 3, 8), mask=torch.ones(3, dtype=torch.bool)), "mask must have shape (T, S), (B, T, S) or (B, H, T, S), got a 1-d tensor of shape (3,)"),
        (lambda m: m(torch.zeros(2, 3, 8, dtype=torch.long)), "query must have a floating dtype, got torch.int64"),
    ],
)
def test_mha_rejects_bad_inputs(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call(MultiHeadAttention(8, 2))


def test_load_torch_weights_rejects_mismatches():
    with pytest.raises(ValueError, match=re.escape("mha must have embed_dim=8, num_heads=2, got embed_dim=8, num_heads=4")):
        MultiHeadAttention(8, 2).load_torch_weights(nn.MultiheadAttention(8, 4))
    with pytest.raises(ValueError, match=re.escape("mha must have bias=True, got bias=False")):
        MultiHeadAttention(8, 2).load_torch_weights(nn.MultiheadAttention(8, 2, bias=False))
    with pytest.raises(ValueError, match="mha must be a torch.nn.MultiheadAttention, got Linear"):
        MultiHeadAttention(8, 2).load_torch_weights(nn.Linear(8, 8))


# --- the chapter's small self-attention model ---------------------------------------

from coursekit.attention import SelfAttentionConfig, SelfAttentionModel  # noqa: E402


def test_self_attention_model_shapes_and_attentions_are_its_layers_weights():
    torch.manual_seed(8)
    cfg = SelfAttentionConfig(vocab_size=9, max_len=6, d_model=8, n_heads=2, n_layers=3)
    model = SelfAttentionModel(cfg)
    ids = torch.randint(1, 9, (2, 5))
    out = model(ids)
    assert out.logits.shape == (2, 5, 9) and len(out.attentions) == 3
    assert all(a.shape == (2, 2, 5, 5) for a in out.attentions)
    x = model.tok(ids) + model.pos(torch.arange(5))
    _, w0 = model.layers[0](x, need_weights=True)
    torch.testing.assert_close(out.attentions[0], w0)
    causal = model(ids, mask=causal_mask(5)).attentions[1]
    assert torch.all(causal.triu(1) == 0)


def test_self_attention_model_overfits_one_reversal_batch():
    torch.manual_seed(9)
    T = 5
    model = SelfAttentionModel(SelfAttentionConfig(vocab_size=8, max_len=T, d_model=16, n_heads=1))
    ids = torch.randint(1, 8, (16, T))
    target = ids.flip(1)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(60):
        loss = F.cross_entropy(model(ids).logits.reshape(-1, 8), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (model(ids).logits.argmax(-1) == target).all()


def test_self_attention_model_rejects_bad_input():
    model = SelfAttentionModel(SelfAttentionConfig(vocab_size=8, max_len=4, d_model=8, n_heads=2))
    with pytest.raises(ValueError, match=re.escape("ids must have at most max_len=4 positions, got T=5")):
        model(torch.ones(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=re.escape("ids must have dtype torch.int64, got torch.float32")):
        model(torch.ones(1, 3))
    with pytest.raises(ValueError, match=re.escape("n_layers must be a positive int, got 0")):
        SelfAttentionModel(SelfAttentionConfig(n_layers=0))


def test_split_heads_gives_each_head_its_feature_block_and_merge_inverts_it():
    from coursekit.attention import merge_heads, split_heads

    x = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)
    h = split_heads(x, 4)
    assert h.shape == (2, 4, 3, 2)
    for head in range(4):
        torch.testing.assert_close(h[:, head], x[..., 2 * head : 2 * head + 2])
    torch.testing.assert_close(merge_heads(h), x)
    assert h.data_ptr() == x.data_ptr()  # a view, no copy


# ------------------------------------------------------------------ key padding, causal flag, dtypes
def test_key_padding_mask_equals_the_broadcast_padding_mask():
    torch.manual_seed(11)
    mha = MultiHeadAttention(8, 2).eval()
    x = torch.randn(3, 5, 8)
    lengths = torch.tensor([5, 2, 4])
    old = padding_mask(lengths, 5)  # (B, 1, S)
    for need in (False, True):
        a, wa = mha(x, mask=old, need_weights=need)
        b, wb = mha(x, key_padding_mask=old[:, 0], need_weights=need)
        torch.testing.assert_close(a, b)
        if need:
            torch.testing.assert_close(wa, wb)


def test_is_causal_equals_the_causal_mask_and_reaches_the_fused_kernel(monkeypatch):
    torch.manual_seed(12)
    mha = MultiHeadAttention(8, 2).eval()
    x = torch.randn(2, 6, 8)
    want, w = mha(x, mask=causal_mask(6), need_weights=True)
    seen = []
    real_sdpa = F.scaled_dot_product_attention

    def spy(*args, **kwargs):
        seen.append((kwargs.get("attn_mask") is None, kwargs.get("is_causal")))
        return real_sdpa(*args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    got, _ = mha(x, is_causal=True)
    assert seen == [(True, True)]  # no mask tensor built: the kernel gets is_causal=True
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    slow, w2 = mha(x, is_causal=True, need_weights=True)
    torch.testing.assert_close(w2, w)
    # combined with key padding, the two become one boolean mask
    kp = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    both, _ = mha(x, key_padding_mask=kp, is_causal=True)
    ref, _ = mha(x, mask=causal_mask(6)[None] & kp[:, None, :])
    torch.testing.assert_close(both, ref)


def test_a_two_d_mask_always_means_T_by_S_and_a_B_by_S_one_is_refused():
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)  # B=2, T=S=3
    with pytest.raises(ValueError, match=r"a 2-d mask means \(T, S\) = \(3, 3\); for a \(B, S\) key-padding mask pass key_padding_mask="):
        mha(x, mask=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(2, 3\)"):
        mha(x, key_padding_mask=torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must have dtype torch.bool"):
        mha(x, key_padding_mask=torch.ones(2, 3))
    with pytest.raises(ValueError, match="is_causal must be True or False"):
        mha(x, is_causal=1)


def test_query_and_key_of_different_dtypes_are_refused():
    mha = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"query, key and value must have one dtype, got torch.float32, torch.float64"):
        mha(torch.randn(1, 3, 8), torch.randn(1, 4, 8, dtype=torch.float64))
