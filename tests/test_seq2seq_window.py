"""Chapter 2's Differentiable Window (Nguyen et al. 2020) in coursekit.seq2seq.Attention:
the soft mask is the 0/1 window when the edges are one-hot, the weights stay a distribution
over the real tokens, and the edges learn (gradients reach them)."""

import pytest
import torch

from coursekit.seq2seq import Attention, Seq2Seq, Seq2SeqConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def config(**kw):
    return Seq2SeqConfig(src_vocab_size=12, tgt_vocab_size=9, attention="additive", hidden_size=8,
                         differentiable_window=True, **kw)


def test_one_hot_edges_give_the_hard_window():
    torch.manual_seed(0)
    att = Attention(config())
    S = 6
    memory = torch.eye(S, 8)[None]  # (1, S, H): position j is the basis vector e_j
    query = torch.zeros(1, 1, 8)
    query[0, 0, 0] = 1.0
    with torch.no_grad():  # left edge scores peak at position 1, right edge scores at position 4
        att.W_left.weight.copy_(torch.zeros(8, 8).index_put_((torch.tensor([1]), torch.tensor([0])), torch.tensor(60.0)))
        att.W_right.weight.copy_(torch.zeros(8, 8).index_put_((torch.tensor([4]), torch.tensor([0])), torch.tensor(60.0)))
        m = att.window_mask(query, memory, torch.ones(1, 1, S, dtype=torch.bool))
    torch.testing.assert_close(m[0, 0], torch.tensor([0, 1, 1, 1, 1, 0.0]), atol=1e-6, rtol=0)


def test_weights_are_a_distribution_over_real_tokens_and_the_edges_learn():
    torch.manual_seed(0)
    model = Seq2Seq(config())
    src = torch.randint(4, 12, (3, 7))
    src[1, 5:] = 0
    src[2, 2:] = 0
    tgt = torch.randint(4, 9, (3, 5))
    tgt[:, 0] = 1
    out = model(src, tgt)
    w = out.alignments
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 5))
    assert (w[1, :, 5:] == 0).all() and (w[2, :, 2:] == 0).all() and (w >= 0).all()
    out.logits.logsumexp(-1).sum().backward()
    assert model.attention.W_left.weight.grad.abs().sum() > 0
    assert model.attention.W_right.weight.grad.abs().sum() > 0


def test_greedy_decoding_gives_the_same_weights_as_the_teacher_forced_pass():
    torch.manual_seed(1)
    model = Seq2Seq(config()).eval()
    src = torch.randint(4, 12, (2, 6))
    with torch.no_grad():
        dec = model.greedy(src, max_len=5)
        tf = model(src, torch.cat([torch.ones(2, 1, dtype=torch.long), dec.tokens[:, :4]], dim=1))
    torch.testing.assert_close(tf.alignments[:, :5], dec.alignments[:, :5])


@pytest.mark.parametrize("kw", [dict(window=2), dict(hard=True)])
def test_the_window_is_learned_not_fixed(kw):
    with pytest.raises(ValueError, match="learns its own window"):
        config(**kw)


def test_it_needs_an_attention_score():
    with pytest.raises(ValueError, match="needs an attention score"):
        Seq2SeqConfig(src_vocab_size=12, tgt_vocab_size=9, differentiable_window=True)
