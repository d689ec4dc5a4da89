"""Tests for coursekit.classification: pooling against hand computations, padding that never
matters, overfitting one tiny batch, and the Jain & Wallace counterfactual weights."""

import math

import pytest
import torch
import torch.nn.functional as F

from coursekit.classification import (
    AttentionPooling,
    BiRNN,
    ClassifierConfig,
    ClassifierOutput,
    DocumentClassifier,
    adversarial_weights,
    bag_of_words_accuracy,
    classification_loss,
    evaluate_classifier,
    js_divergence,
    move_mass_off,
    permute_weights,
    pool,
    total_variation,
)
from coursekit.documents import sentiment_documents

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(pooling="attention", **kw):
    torch.manual_seed(0)
    return DocumentClassifier(ClassifierConfig(vocab_size=20, emb_dim=8, hidden_size=12, attn_dim=6, pooling=pooling, **kw))


def ids_example():
    """Two documents: 3 and 2 sentences; word lengths (3, 1, 2) and (2, 3); 0 = padding."""
    return torch.tensor(
        [
            [[5, 6, 7], [8, 0, 0], [9, 10, 0]],
            [[11, 12, 0], [13, 14, 15], [0, 0, 0]],
        ]
    )


# ----------------------------------------------------------------------------- pooling
def test_attention_pooling_equals_a_hand_computation():
    torch.manual_seed(1)
    att = AttentionPooling(4, 3)
    h = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    pooled, weights = att(h, mask)
    for b in range(2):
        n = int(mask[b].sum())
        e = torch.stack([torch.tanh(att.proj.weight @ h[b, t] + att.proj.bias) @ att.context for t in range(n)])
        alpha = torch.exp(e) / torch.exp(e).sum()
        torch.testing.assert_close(weights[b, :n], alpha)
        assert torch.all(weights[b, n:] == 0)
        torch.testing.assert_close(pooled[b], (alpha[:, None] * h[b, :n]).sum(0))


def test_mean_and_max_pooling_equal_hand_computations():
    h = torch.tensor([[[1.0, -2.0], [3.0, 0.0], [100.0, 100.0]]])  # the third step is padding
    mask = torch.tensor([[True, True, False]])
    pooled, weights = pool(h, mask, "mean")
    torch.testing.assert_close(pooled, torch.tensor([[2.0, -1.0]]))
    torch.testing.assert_close(weights, torch.tensor([[0.5, 0.5, 0.0]]))
    pooled, weights = pool(h, mask, "max")
    torch.testing.assert_close(pooled, torch.tensor([[3.0, 0.0]]))
    torch.testing.assert_close(weights, torch.tensor([[0.0, 1.0, 0.0]]))  # both features peak at step 1
    empty = torch.zeros(1, 3, dtype=torch.bool)
    for how in ("mean", "max"):
        p, w = pool(h, empty, how)
        assert torch.all(p == 0) and torch.all(w == 0)  # a padded sentence: zeros, not NaN or -inf


@pytest.mark.parametrize("how", ["attention", "mean", "max"])
def test_pooling_ignores_what_sits_at_padded_steps(how):
    g = torch.Generator().manual_seed(0)
    h, scores = torch.randn(3, 4, 5, generator=g), torch.randn(3, 4, generator=g)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=torch.bool)
    junk_h = torch.where(mask[..., None], h, 1e3 * torch.randn(3, 4, 5, generator=g))  # huge values at padding
    junk_scores = torch.where(mask, scores, 1e3 * torch.ones(3, 4))
    pooled, weights = pool(h, mask, how, scores)
    pooled2, weights2 = pool(junk_h, mask, how, junk_scores)
    torch.testing.assert_close(pooled2, pooled)
    torch.testing.assert_close(weights2, weights)
    assert torch.all(weights[~mask] == 0)


def test_birnn_matches_packed_bidirectional_lstm():
    torch.manual_seed(0)
    rnn = BiRNN(3, 8, "lstm")
    ref = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(ref, name).copy_(getattr(rnn.fwd, name))
            getattr(ref, name + "_reverse").copy_(getattr(rnn.bwd, name))
    x, lengths = torch.randn(3, 5, 3), torch.tensor([5, 2, 3])
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    want, _ = torch.nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=5)
    torch.testing.assert_close(rnn(x, lengths), want)


# ----------------------------------------------------------------------------- the classifier
@pytest.mark.parametrize("pooling", ["attention", "mean", "max"])
def test_output_shapes_and_weights_are_distributions_with_zero_padding(pooling):
    model = tiny(pooling)
    ids = ids_example()
    out = model(ids)
    assert isinstance(out, ClassifierOutput)
    assert out.logits.shape == (2, 2) and out.word_weights.shape == (2, 3, 3) and out.sentence_weights.shape == (2, 3)
    word_mask, sentence_mask = ids != 0, (ids != 0).any(-1)
    assert torch.all(out.word_weights[~word_mask] == 0) and torch.all(out.sentence_weights[~sentence_mask] == 0)
    torch.testing.assert_close(out.word_weights.sum(-1), sentence_mask.float())
    torch.testing.assert_close(out.sentence_weights.sum(-1), torch.ones(2))


@pytest.mark.parametrize("pooling", ["attention", "mean", "max"])
def test_padding_does_not_change_the_outputs(pooling):
    model = tiny(pooling).eval()
    ids = ids_example()
    out = model(ids)
    # More padding: an extra padded word column and an extra padded sentence.
    wider = F.pad(ids, (0, 1, 0, 1))  # (2, 4, 4)
    out2 = model(wider)
    torch.testing.assert_close(out2.logits, out.logits)
    torch.testing.assert_close(out2.word_weights[:, :3, :3], out.word_weights)
    assert torch.all(out2.word_weights[:, 3] == 0) and torch.all(out2.sentence_weights[:, 3] == 0)
    # The other document in the batch does not matter either.
    alone = model(ids[1:, :2])  # document 1 alone, cropped to its own size
    torch.testing.assert_close(alone.logits, out.logits[1:])
    torch.testing.assert_close(alone.sentence_weights, out.sentence_weights[1:, :2])


def test_classify_with_the_models_own_weights_is_the_forward_pass():
    model = tiny().eval()
    ids = ids_example()
    out = model(ids)
    enc = model.encode(ids)
    torch.testing.assert_close(model.classify(enc, out.sentence_weights), out.logits)
    torch.testing.assert_close(enc.word_weights, out.word_weights)


@pytest.mark.parametrize("pooling", ["attention", "mean", "max"])
def test_overfits_one_tiny_batch(pooling):
    data = sentiment_documents(16, sentences=(2, 3), words=(3, 4), seed=0)
    batch = data.batch()
    torch.manual_seed(0)
    model = DocumentClassifier(ClassifierConfig.for_data(data, emb_dim=16, hidden_size=32, pooling=pooling))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = classification_loss(model, batch).item()
    for _ in range(60):
        loss = classification_loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 < first
    model.eval()
    assert torch.equal(model(batch.ids).logits.argmax(-1), batch.labels)


def test_evaluate_classifier_reports_accuracy_and_attention_mass():
    data = sentiment_documents(12, seed=3)
    model = DocumentClassifier(
        ClassifierConfig.for_data(data, emb_dim=8, hidden_size=8, pooling="mean")
    )
    r = evaluate_classifier(model, data, batch_size=5)
    n = torch.tensor([len(d.sentences) for d in data], dtype=torch.float)
    assert r["key_mass"] == pytest.approx((1 / n).mean().item())  # mean pooling: uniform weights
    assert r["uniform_mass"] == pytest.approx(r["key_mass"])
    assert 0 <= r["acc"] <= 1 and r["loss"] > 0


def test_bag_of_words_reads_a_single_word_but_not_misleading_documents():
    # One sentiment word and no negation: its count decides the label, and a linear model on counts gets it.
    easy = [sentiment_documents(n, key_words=(1,), negation=0.0, seed=s) for n, s in ((300, 0), (200, 1))]
    first = bag_of_words_accuracy(*easy)
    assert first == {"train": 1.0, "test": 1.0}
    assert bag_of_words_accuracy(*easy) == first  # zero init and full-batch L-BFGS: no seed to vary
    # Misleading distractors: the key sentence's words are outnumbered by sentiment about the popcorn.
    hard = [sentiment_documents(n, distractors="misleading", seed=s) for n, s in ((300, 0), (300, 1))]
    assert bag_of_words_accuracy(*hard)["test"] < 0.65


# ----------------------------------------------------------------------------- distances and counterfactuals
def test_total_variation_and_js_divergence():
    p, q = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert total_variation(p, q).item() == pytest.approx(1.0)
    assert js_divergence(p, q).item() == pytest.approx(math.log(2))  # the maximum
    a, b = torch.tensor([[0.2, 0.3, 0.5, 0.0]]), torch.tensor([[0.4, 0.4, 0.1, 0.1]])
    m = (a + b) / 2
    kl = lambda x, y: sum(float(xi) * math.log(float(xi) / float(yi)) for xi, yi in zip(x[0], y[0]) if xi > 0)  # noqa: E731
    assert js_divergence(a, b).item() == pytest.approx(0.5 * kl(a, m) + 0.5 * kl(b, m))
    assert total_variation(a, b).item() == pytest.approx(0.5 * (0.2 + 0.1 + 0.4 + 0.1))
    assert js_divergence(a, a).item() == 0 and not torch.isnan(js_divergence(p, p))


def test_permute_weights_keeps_values_and_padding():
    w = torch.tensor([[0.1, 0.2, 0.7, 0.0], [0.25, 0.25, 0.25, 0.25]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    seen = set()
    for seed in range(60):
        p = permute_weights(w, mask, torch.Generator().manual_seed(seed))
        assert p[0, 3] == 0
        assert sorted(p[0, :3].tolist()) == pytest.approx([0.1, 0.2, 0.7])
        torch.testing.assert_close(p[1], w[1])
        seen.add(tuple(p[0, :3].tolist()))
    assert len(seen) == 6  # every permutation of three values turns up


def test_move_mass_off_renormalises_the_rest():
    w = torch.tensor([[0.5, 0.3, 0.2, 0.0]])
    mask = torch.tensor([[1, 1, 1, 0]], dtype=torch.bool)
    drop = torch.tensor([[1, 0, 0, 0]], dtype=torch.bool)
    torch.testing.assert_close(move_mass_off(w, drop, mask), torch.tensor([[0.0, 0.6, 0.4, 0.0]]))
    one_hot = torch.tensor([[1.0, 0.0, 0.0, 0.0]])  # the rest had no weight: spread uniformly
    torch.testing.assert_close(move_mass_off(one_hot, drop, mask), torch.tensor([[0.0, 0.5, 0.5, 0.0]]))


def test_adversarial_weights_move_far_while_the_output_stays_put():
    model = tiny().eval()
    ids = ids_example()
    out, enc = model(ids), model.encode(ids)
    adv = adversarial_weights(model, enc, out.sentence_weights.detach(), steps=60, generator=torch.Generator().manual_seed(0))
    assert torch.all(adv[~enc.mask] == 0)
    torch.testing.assert_close(adv.sum(-1), torch.ones(2))
    y, y_adv = torch.softmax(out.logits, -1), torch.softmax(model.classify(enc, adv), -1)
    assert (total_variation(y_adv, y) < 0.03).all()
    assert (js_divergence(adv, out.sentence_weights) > 0.05).all()
    assert all(p.grad is None for p in model.parameters())  # the model is left alone


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        (dict(vocab_size=0), "vocab_size must be a positive int"),
        (dict(vocab_size=10, hidden_size=7), "hidden_size must be even"),
        (dict(vocab_size=10, pooling="sum"), "pooling must be one of"),
        (dict(vocab_size=10, cell="rnn"), "cell must be one of"),
        (dict(vocab_size=10, n_classes=1), "n_classes must be at least 2"),
    ],
)
def test_bad_configs_raise_value_error(kwargs, phrase):
    with pytest.raises(ValueError, match=phrase):
        ClassifierConfig(**kwargs)


def test_bad_inputs_raise_value_error():
    model = tiny()
    with pytest.raises(ValueError, match=r"ids must have shape \(B, N, L\)"):
        model(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="ids must have dtype torch.int64"):
        model(ids_example().float())
    with pytest.raises(ValueError, match=r"ids must be in \[0, 20\)"):
        model(ids_example() + 30)
    with pytest.raises(ValueError, match="all padding"):
        model(torch.zeros(1, 2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="right-padded"):
        model(torch.tensor([[[0, 5, 6]]]))
    with pytest.raises(ValueError, match="right-padded"):
        model(torch.tensor([[[0, 0], [5, 6]]]))
    with pytest.raises(ValueError, match="mask must have dtype torch.bool"):
        pool(torch.randn(2, 3, 4), torch.ones(2, 3), "mean")
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\)"):
        pool(torch.randn(2, 3, 4), torch.ones(2, 4, dtype=torch.bool), "mean")
    with pytest.raises(ValueError, match="needs scores"):
        pool(torch.randn(2, 3, 4), torch.ones(2, 3, dtype=torch.bool), "attention")
    with pytest.raises(ValueError, match="q must have shape"):
        total_variation(torch.rand(2, 3), torch.rand(2, 4))
    enc = tiny("max").encode(ids_example())
    with pytest.raises(ValueError, match="max pooling is no weighted sum"):
        tiny("max").classify(enc, torch.ones(2, 3) / 3)
