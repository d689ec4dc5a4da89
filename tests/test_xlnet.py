"""coursekit.xlnet: factorisation orders, the content and query stream masks (against their
definitions, GPT's causal mask for the identity order, and transformers'
DataCollatorForPermutationLanguageModeling perm_mask), and the two-stream layer: the query
stream at a position never depends on that position's token."""

from __future__ import annotations

import pytest
import torch

from coursekit.xlnet import (
    TwoStreamAttention, TwoStreamConfig, TwoStreamMasks, order_ranks, partial_targets, permutation_masks, plm_loss,
    sample_orders, to_hf_perm_mask,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_sample_orders_are_seeded_permutations():
    a = sample_orders(6, 4, generator=torch.Generator().manual_seed(0))
    b = sample_orders(6, 4, generator=torch.Generator().manual_seed(0))
    assert a.shape == (4, 6) and a.dtype == torch.long and torch.equal(a, b)
    assert torch.equal(a.sort(-1).values, torch.arange(6).expand(4, 6))
    assert len({tuple(r) for r in sample_orders(4, 50, generator=torch.Generator().manual_seed(1)).tolist()}) > 10


def test_ranks_invert_the_order():
    order = torch.tensor([2, 0, 3, 1])
    assert order_ranks(order).tolist() == [1, 3, 0, 2]
    orders = sample_orders(5, 3, generator=torch.Generator().manual_seed(2))
    ranks = order_ranks(orders)
    assert torch.equal(orders.gather(1, ranks), torch.arange(5).expand(3, 5))


def test_masks_of_a_printed_order():
    m = permutation_masks(torch.tensor([2, 0, 3, 1]))  # predict x2, then x0, x3, x1
    assert m.content.tolist()[0] == [True, False, True, False]  # x0 (2nd) sees x2 and itself
    assert m.query.tolist()[0] == [False, False, True, False]  # its query stream sees x2 only
    assert m.query.tolist()[2] == [False] * 4  # x2 comes first: its query stream sees nothing
    assert m.content.tolist()[1] == [True] * 4  # x1 comes last: its content stream sees everything
    assert torch.equal(m.content, m.query | torch.eye(4, dtype=torch.bool))


def test_identity_order_is_gpts_causal_mask():
    m = permutation_masks(torch.arange(5))
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    assert torch.equal(m.content, causal) and torch.equal(m.query, causal.tril(-1))


def test_partial_prediction_context_is_seen_by_all_and_sees_no_target():
    order = torch.tensor([[3, 1, 4, 0, 2, 5]])
    targets = partial_targets(order, 2)  # the last two in the order: positions 2 and 5
    assert targets.tolist() == [[False, False, True, False, False, True]]
    m = permutation_masks(order, targets)
    ctx = ~targets[0]
    assert m.query[0][:, ctx].all() and m.content[0][:, ctx].all()  # every position sees the context
    assert not m.query[0][ctx][:, ~ctx].any()  # context sees no target
    assert m.query[0, 5, 2] and not m.query[0, 2, 5] and not m.query[0, 2, 2]  # 2 before 5 in the order


def _plm_collator():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import DataCollatorForPermutationLanguageModeling, PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[MASK]": 1, **{w: i + 2 for i, w in enumerate("a b c d e f g h".split())}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[PAD]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", mask_token="[MASK]")
    return DataCollatorForPermutationLanguageModeling(fast, plm_probability=1 / 3, max_span_length=2)


def test_query_mask_is_transformers_perm_mask():
    collator = _plm_collator()
    torch.manual_seed(0)
    batch = collator([[2 + (i * 3 + k) % 8 for k in range(12)] for i in range(4)])
    perm = batch["perm_mask"]  # (B, T, T) float, 1 = may not attend
    targets = batch["labels"] != -100  # (B, T)
    assert targets.any(1).all()
    for b in range(perm.shape[0]):
        t = targets[b]
        # a target's rank among targets = how many targets it may see; context comes first
        seen = ((perm[b] == 0) & t[None, :]).sum(1)
        key = torch.where(t, seen, -1) * 100 + torch.arange(len(t))
        order = key.argsort()
        masks = permutation_masks(order, t)
        assert torch.equal(to_hf_perm_mask(masks), perm[b])
        # XLNetModel's content stream: perm_mask with each position seeing itself
        hf_content = (perm[b] - torch.eye(len(t))) > 0
        assert torch.equal(masks.content, ~hf_content)


def _model(seed=0):
    torch.manual_seed(seed)
    return TwoStreamAttention(TwoStreamConfig(vocab_size=12, d_model=8, n_heads=2, max_len=8))


def test_query_stream_never_sees_its_own_token():
    model = _model()
    ids = torch.tensor([[3, 5, 7, 1, 9, 2]])
    order = torch.tensor([4, 1, 5, 0, 3, 2])
    out = model(ids, order)
    for i in range(6):
        changed = ids.clone()
        changed[0, i] = (ids[0, i] + 1) % 12
        again = model(changed, order)
        torch.testing.assert_close(again.query[0, i], out.query[0, i])  # its own token: no effect
        assert not torch.allclose(again.content[0, i], out.content[0, i])  # the content stream does see it
        later = order_ranks(order) > order_ranks(order)[i]
        if later.any():
            assert not torch.allclose(again.query[0, later], out.query[0, later])  # positions after it do


def test_query_stream_gradient_to_own_embedding_is_zero():
    model = _model(1)
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    order = torch.tensor([2, 4, 0, 1, 3])
    emb = model.tok(ids).detach().requires_grad_(True)  # (1, T, D)
    p = model.pos(torch.arange(5))
    m = permutation_masks(order)
    h = emb + p
    g = model.w.expand(1, 5, -1) + p
    g1 = g + model.attn(g, h, h, mask=m.query)[0]
    ranks = order_ranks(order)
    for i in range(5):
        (grad,) = torch.autograd.grad(g1[0, i].sum(), emb, retain_graph=True)
        assert grad[0, i].abs().max() == 0
        earlier = ranks < ranks[i]
        assert (grad[0, earlier].abs().sum(-1) > 0).all()  # it does read every earlier token
        assert grad[0, ~earlier].abs().max() == 0


def test_model_output_shapes_weights_and_first_row():
    model = _model()
    ids = torch.tensor([[3, 5, 7, 1], [2, 2, 4, 6]])
    orders = sample_orders(4, 2, generator=torch.Generator().manual_seed(3))
    out = model(ids, orders)
    assert out.logits.shape == (2, 4, 12) and out.query_weights.shape == (2, 2, 4, 4)
    m = permutation_masks(orders)
    assert (out.query_weights.masked_select(~m.query[:, None]) == 0).all()
    torch.testing.assert_close(out.content_weights.sum(-1), torch.ones(2, 2, 4))
    first = orders[:, 0]
    g0 = model.w + model.pos(first)  # the first position of each order predicts from w and its position alone
    torch.testing.assert_close(out.query[torch.arange(2), first], g0)


def test_plm_trains_on_one_batch():
    model = _model(2)
    ids = torch.tensor([[3, 5, 7, 1, 9, 2]] * 4)
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(30):
        order = sample_orders(6, 4, generator=gen)
        targets = partial_targets(order, 3)
        loss = plm_loss(model(ids, order, targets).logits, ids, targets)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first / 2


@pytest.mark.parametrize("order, match", [
    (torch.tensor([0, 0, 1]), "exactly once"),
    (torch.tensor([0.0, 1.0]), "long tensor"),
    (torch.zeros(2, 2, 2, dtype=torch.long), "long tensor"),
])
def test_bad_orders(order, match):
    with pytest.raises(ValueError, match=match):
        permutation_masks(order)


def test_bad_arguments():
    with pytest.raises(ValueError, match="generator"):
        sample_orders(3, 2, generator=0)
    with pytest.raises(ValueError, match="num_predict"):
        partial_targets(torch.arange(3), 4)
    with pytest.raises(ValueError, match="targets"):
        permutation_masks(torch.arange(3), torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="masks"):
        to_hf_perm_mask(torch.ones(2, 2))
    with pytest.raises(ValueError, match="d_model must be divisible"):
        TwoStreamConfig(d_model=6, n_heads=4)
    with pytest.raises(ValueError, match="order must have T=3"):
        _model()(torch.tensor([[1, 2, 3]]), torch.arange(4))
    assert isinstance(permutation_masks(torch.arange(2)), TwoStreamMasks)
