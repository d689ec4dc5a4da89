"""coursekit.elmo: character CNN, the biLM's two causal directions, the scalar mix
(Eq. 1) against its closed form, parameter counts from the config, and training."""

from __future__ import annotations

import math

import pytest
import torch

from coursekit.elmo import (
    PUBLISHED,
    CharCNN,
    CharVocab,
    ELMo,
    ElmoConfig,
    ScalarMix,
    count_parameters,
    elmo_layers,
    train_elmo,
)

TINY = ElmoConfig(filters=((1, 4), (2, 4), (3, 8)), n_highway=1, projection_dim=6, lstm_dim=10, n_layers=2,
                  max_characters=8, vocab_size=20)


def _chars(words, W=8):
    return CharVocab(W).encode(words)


def test_char_vocab_wraps_words_in_begin_and_end_marks_and_cuts_long_ones():
    ids = CharVocab(6).encode(["ab", "<s>", "abcdefgh", "é"])
    assert ids[0].tolist() == [257, ord("a") + 1, ord("b") + 1, 258, 0, 0]
    assert ids[1].tolist() == [257, 259, 258, 0, 0, 0]
    assert ids[2].tolist() == [257, *(ord(c) + 1 for c in "abcd"), 258]  # cut to fit W = 6
    assert ids[3].tolist()[:4] == [257, 0xC3 + 1, 0xA9 + 1, 258]  # UTF-8 bytes
    with pytest.raises(ValueError, match="max_characters must be"):
        CharVocab(2)


def test_char_cnn_shapes_and_one_vector_per_word_whatever_its_position(one_thread):
    torch.manual_seed(0)
    cnn = CharCNN(TINY).eval()  # in training, the batch norm's statistics mix the batch's words
    words = ["the", "duck", "the", "swam"]
    x = _chars(words).view(2, 2, 8)  # (B, T, W)
    out = cnn(x)
    assert out.shape == (2, 2, TINY.projection_dim)
    torch.testing.assert_close(out[0, 0], out[1, 0])  # "the" twice: the same vector
    assert not torch.allclose(out[0, 1], out[1, 1])
    # the same as running each word alone (the distinct-word shortcut changes nothing)
    alone = torch.stack([cnn(_chars([w]).view(1, 1, 8))[0, 0] for w in words]).view(2, 2, -1)
    torch.testing.assert_close(out, alone)


def test_elmo_output_shapes(one_thread):
    torch.manual_seed(0)
    model = ELMo(TINY)
    out = model(_chars(["a", "b", "c", "d", "e", "f"]).view(2, 3, 8))
    assert out.layers.shape == (3, 2, 3, 12)  # (L+1, B, T, 2P)
    assert out.forward_logits.shape == out.backward_logits.shape == (2, 3, 20)
    torch.testing.assert_close(out.layers[0, ..., :6], out.layers[0, ..., 6:])  # layer 0 = [x; x]


def test_forward_lm_is_causal_and_backward_lm_is_anticausal(one_thread):
    torch.manual_seed(0)
    model = ELMo(TINY).eval()
    words = ["the", "duck", "swam", "across", "the", "pond"]
    changed = list(words)
    changed[3] = "under"
    a = model(_chars(words)[None])
    b = model(_chars(changed)[None])
    P = TINY.projection_dim
    for j in (1, 2):
        fa, fb = a.layers[j, 0, :, :P], b.layers[j, 0, :, :P]
        ba, bb = a.layers[j, 0, :, P:], b.layers[j, 0, :, P:]
        torch.testing.assert_close(fa[:3], fb[:3])  # the forward LM has not read position 3 yet
        torch.testing.assert_close(ba[4:], bb[4:])  # the backward LM reads right to left
        assert not torch.allclose(fa[3:], fb[3:]) and not torch.allclose(ba[:4], bb[:4])
    torch.testing.assert_close(a.forward_logits[0, :3], b.forward_logits[0, :3])
    torch.testing.assert_close(a.backward_logits[0, 4:], b.backward_logits[0, 4:])


def test_padding_changes_no_real_position(one_thread):
    torch.manual_seed(0)
    model = ELMo(TINY).eval()
    short = _chars(["a", "duck", "flew"])
    long = _chars(["the", "bank", "lent", "money", "today"])
    batch = torch.zeros(2, 5, 8, dtype=torch.long)
    batch[0, :3], batch[1] = short, long
    both = model(batch, torch.tensor([3, 5])).layers
    torch.testing.assert_close(both[:, 0, :3], model(short[None]).layers[:, 0])
    torch.testing.assert_close(both[:, 1], model(long[None]).layers[:, 0])


def test_residual_connection_between_lstm_layers(one_thread):
    torch.manual_seed(0)
    model = ELMo(TINY).eval()
    x = _chars(["a", "b", "c"])[None]
    token = model.token(x)
    h1 = model.forward_lstms[0](token)[0]
    h2 = model.forward_lstms[1](h1)[0] + h1  # the second layer adds its input
    out = model(x).layers
    torch.testing.assert_close(out[1, ..., :6], h1)
    torch.testing.assert_close(out[2, ..., :6], h2)


def test_scalar_mix_equals_its_closed_form():
    torch.manual_seed(0)
    layers = torch.randn(3, 2, 4, 5)
    mix = ScalarMix(3)
    torch.testing.assert_close(mix(layers), layers.mean(0))  # s = 0, gamma = 1: the plain mean
    with torch.no_grad():
        mix.scalars.copy_(torch.tensor([0.5, -1.0, 2.0]))
        mix.gamma.fill_(1.7)
    e = [math.exp(0.5), math.exp(-1.0), math.exp(2.0)]
    s = [v / sum(e) for v in e]
    expected = 1.7 * (s[0] * layers[0] + s[1] * layers[1] + s[2] * layers[2])
    torch.testing.assert_close(mix(layers), expected)
    torch.testing.assert_close(mix.weights.sum(), torch.tensor(1.0))
    with pytest.raises(ValueError, match="layers must be a tensor of shape \\(3, ..., D\\)"):
        mix(torch.randn(2, 4, 5))


@pytest.mark.parametrize("config", [
    TINY,
    ElmoConfig(filters=((1, 4), (3, 8)), n_highway=2, projection_dim=8, lstm_dim=8, n_layers=1, vocab_size=7),
    ElmoConfig(filters=((2, 5),), n_highway=0, projection_dim=4, lstm_dim=12, n_layers=3, vocab_size=9),
])
def test_parameter_count_from_the_config_equals_numel(config):
    model = ELMo(config)
    count = count_parameters(config)
    assert count.total == sum(p.numel() for p in model.parameters())
    assert count.char_cnn == sum(p.numel() for p in model.token.parameters())
    assert count.softmax == sum(p.numel() for p in model.softmax.parameters())
    assert count_parameters(config, softmax=False).total == count.total - count.softmax


def test_published_elmo_has_93_6_million_parameters_without_its_softmax():
    count = count_parameters(PUBLISHED, softmax=False, lstm_biases=1)
    assert count.total == 93_600_864  # AllenNLP's table: 93.6M for the original ELMo
    assert PUBLISHED.n_filters == 2048
    assert count.softmax == 793_471 * 512 + 793_471  # not in the 93.6M
    # torch's LSTM has two bias vectors: 4 x 4096 more per LSTM, 4 LSTMs
    assert count_parameters(PUBLISHED, softmax=False).total == count.total + 4 * 4 * 4096
    assert PUBLISHED.char_norm is False and count.char_cnn == count_parameters(
        ElmoConfig(**{**PUBLISHED.__dict__, "char_norm": True}), softmax=False, lstm_biases=1).char_cnn - 2 * 2048


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="lstm_dim must be >= projection_dim"):
        ElmoConfig(projection_dim=32, lstm_dim=16)
    with pytest.raises(ValueError, match="filters must be a non-empty tuple"):
        ElmoConfig(filters=())
    with pytest.raises(ValueError, match="max_characters must be"):
        ElmoConfig(filters=((7, 4),), max_characters=5)
    with pytest.raises(ValueError, match="n_characters must be"):
        ElmoConfig(n_characters=100)
    with pytest.raises(ValueError, match="config must be an ElmoConfig"):
        ELMo({"n_layers": 2})
    with pytest.raises(ValueError, match="chars must have shape"):
        ELMo(TINY)(torch.zeros(2, 3, 5, dtype=torch.long))


def test_one_batch_is_overfit(one_thread):
    torch.manual_seed(0)
    model = ELMo(TINY)
    x = _chars(["a", "b", "c", "d", "e", "f"]).view(1, 6, 8)
    y = torch.tensor([[1, 2, 3, 4, 5, 6]])
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        out = model(x)
        loss = torch.nn.functional.cross_entropy(out.forward_logits[0, :-1], y[0, 1:]) + \
            torch.nn.functional.cross_entropy(out.backward_logits[0, 1:], y[0, :-1])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_train_elmo_runs_and_reads_sentences(one_thread):
    train = [s.split() for s in ["the duck swam across the pond", "a bat flew out of the cave"] * 3]
    val = [s.split() for s in ["the bat swam", "a duck flew out"]]
    run = train_elmo(TINY, steps=2, batch_size=2, block_size=4, val_windows=2, sentences=(train, val))
    assert run.vocab[:3] == ("<unk>", "the", "<s>") and len(run.vocab) == 13  # 11 words, <s>, <unk>; by frequency
    assert len(run.losses) == 1 and run.seconds > 0
    assert math.isfinite(run.val_perplexity) and run.val_perplexity > 1
    layers = elmo_layers(run, ["The duck swam.", ["a", "bank"]])
    assert [l.shape for l in layers] == [(3, 4, 12), (3, 2, 12)]
    with pytest.raises(ValueError, match="sentences must be a non-empty sequence"):
        elmo_layers(run, "one string")
    torch.testing.assert_close(elmo_layers(run.model, [["a", "bank"]])[0], layers[1])  # the model alone works too
    with pytest.raises(ValueError, match="model must be an ELMo or an ElmoRun"):
        elmo_layers(run.model.token, ["a"])
    with pytest.raises(ValueError, match="the validation text must hold more than"):
        train_elmo(TINY, steps=1, block_size=4, sentences=(train, [["a"]]))


def test_bilm_learns_more_than_word_frequencies_and_char_norm_is_why(one_thread):
    from collections import Counter

    from coursekit.senses import sense_sentences

    data = [list(s.tokens) for s in sense_sentences(40)]
    train = data[::2]
    seen = {w for s in train for w in s}
    val = [s for s in data[1::2] if set(s) <= seen]  # no unknown words: the unigram model below needs no smoothing
    config = ElmoConfig(filters=((1, 8), (2, 8), (3, 16)), n_highway=1, projection_dim=16, lstm_dim=16, n_layers=2,
                        max_characters=12, vocab_size=200)
    kw = dict(steps=60, batch_size=8, block_size=12, lr=1e-2, sentences=(train, val), val_windows=32)
    normed = train_elmo(config, **kw).val_perplexity
    plain = train_elmo(ElmoConfig(**{**config.__dict__, "char_norm": False}), **kw).val_perplexity
    stream = ["<s>"] + [w for s in train for w in (*s, "<s>")]
    held = ["<s>"] + [w for s in val for w in (*s, "<s>")]
    counts, n = Counter(stream), len(stream)
    unigram = math.exp(-sum(math.log(counts[w] / n) for w in held) / len(held))
    assert normed < 0.7 * unigram  # it reads context
    assert normed < 0.8 * plain  # without the batch norm the same run learns far less
